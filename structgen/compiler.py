"""Grammar IR → compiled tables (lexer base DFAs + Earley tables).

:func:`compile_ir` is the compiler proper.  It

1. compiles every terminal to a minimized byte-level DFA (``structgen.dfa``); a
   terminal that matches the empty string is split into ``T'`` (its non-empty part)
   plus an optional occurrence in the rules, and a terminal with an empty language
   removes the alternatives that use it;
2. removes unproductive and unreachable rules (raising :class:`CompileError` when
   the whole language is empty);
3. numbers symbols (terminals first), adds the augmented start rule, computes
   nullability and the prediction closure of each nonterminal (Aycock–Horspool:
   predicted items already skip nullable prefixes, so empty completions never need
   to be looked up);
4. lays the terminal DFAs out as one table of "base states" with a fresh start
   state per terminal (no incoming edges, so "no byte of the current lexeme read
   yet" is recognisable from the lexer state alone).

The result, :class:`GrammarTables`, is vocabulary-independent and immutable.  What
grows at run time (the lazily built lexer DFA, ``structgen.matcher.LexerCache``)
lives with the matcher.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import _engine
from .errors import CompileError
from .limits import check_deadline, get_limits
from .ir import GrammarIR, TerminalDef


DEFAULT_MAX_DFA_STATES = 50_000


def check_terminal(defn: TerminalDef, name: str, where: str | None,
                   max_states: int | None = None):
    """The terminal's DFA; a :class:`CompileError` names the terminal and its place.
    ``max_states`` defaults to the compile's ``Limits.max_dfa_states``."""
    from .dfa import compile_terminal

    if max_states is None:
        max_states = get_limits().max_dfa_states
    try:
        return compile_terminal(defn, max_states=max_states)
    except CompileError as exc:
        err = CompileError.__new__(type(exc))  # a LimitExceeded stays one
        CompileError.__init__(err, f"terminal {name} {defn.describe()}: {exc}", where=where)
        err.limit = getattr(exc, "limit", None)
        raise err from None


@dataclass(frozen=True)
class GrammarTables:
    """The compiled, vocabulary-independent grammar: ``G`` holds its arrays
    (``_engine.GrammarArrays``, named in ``_engine``'s table layout).

    ``notes`` and ``relaxed``: what the front-end reported while building the grammar
    (a JSON Schema's ignored keywords, and the constraints lenient mode dropped), kept
    with the tables so that a compile served from a cache reports them too."""

    G: _engine.GrammarArrays
    terminal_names: tuple[str, ...]
    symbol_names: tuple[str, ...]
    n_rules: int
    notes: tuple[str, ...] = ()
    relaxed: tuple[str, ...] = ()

    @property
    def n_terminals(self) -> int:
        return len(self.terminal_names)

    @property
    def n_symbols(self) -> int:
        return int(self.G.meta[_engine.GM_N_SYMS])


# ----------------------------------------------------------------------------------


def _prune(rules: dict[str, list[tuple[str, ...]]], terminals: set[str], start: str, where):
    """Drop unproductive alternatives and unreachable rules (worklist algorithms)."""
    # productive: an alternative becomes productive when its last unproductive symbol does
    waiting: dict[str, list[tuple[str, int]]] = {}
    missing: list[int] = []
    alt_lhs: list[str] = []
    productive: set[str] = set(terminals)
    todo: list[str] = []
    for lhs, alts in rules.items():
        for alt in alts:
            need = {sym for sym in alt if sym not in productive}
            if not need:
                if lhs not in productive:
                    productive.add(lhs)
                    todo.append(lhs)
                continue
            idx = len(missing)
            missing.append(len(need))
            alt_lhs.append(lhs)
            for sym in need:
                waiting.setdefault(sym, []).append((lhs, idx))
    while todo:
        sym = todo.pop()
        for lhs, idx in waiting.pop(sym, ()):
            missing[idx] -= 1
            if missing[idx] == 0 and lhs not in productive:
                productive.add(lhs)
                todo.append(lhs)
    if start not in productive:
        raise CompileError("the grammar accepts no string at all (its start symbol derives nothing)",
                           where=where)
    kept: dict[str, list[tuple[str, ...]]] = {}
    reach = {start}
    todo = [start]
    while todo:
        sym = todo.pop()
        alts = rules.get(sym)
        if alts is None:
            continue
        good = [alt for alt in alts if all(x in productive for x in alt)]
        kept[sym] = good
        for alt in good:
            for x in alt:
                if x not in reach:
                    reach.add(x)
                    todo.append(x)
    return kept, reach


@lru_cache(maxsize=4096)
def _classify(dfa):
    """("empty" | "epsilon" | "nullable" | "plain", the DFA without ε)."""
    if dfa.matches_empty():
        nonempty = dfa.without_empty()
        return ("epsilon" if nonempty.is_empty() else "nullable"), nonempty
    return ("empty" if dfa.is_empty() else "plain"), dfa


@lru_cache(maxsize=4096)
def _base_block(dfa):
    """A terminal DFA as base states: a fresh start state (a copy of state 0, not
    accepting, no incoming edges) followed by the DFA's states; transitions relative
    to the block (-1 dead), accepting flags, class map."""
    trans = np.asarray(dfa.trans, dtype=np.int32)
    n, c = trans.shape
    full = np.empty((n + 1, c), dtype=np.int32)
    full[0] = trans[0]
    full[1:] = trans
    full = np.where(full >= 0, full + 1, -1).astype(np.int32)
    acc = np.concatenate([[0], np.asarray(dfa.accept, dtype=np.uint8)]).astype(np.uint8)
    return full, acc, np.asarray(dfa.classmap, dtype=np.uint8)


def compile_ir(ir: GrammarIR, *, max_dfa_states: int | None = None) -> GrammarTables:
    """Compile a :class:`GrammarIR` into :class:`GrammarTables`.

    Raises :class:`CompileError` for undefined symbols, terminals the regex compiler
    rejects (with the terminal's name and place), and grammars with an empty
    language; :class:`~structgen.limits.LimitExceeded` past the compile's
    :class:`~structgen.Limits` (grammar size, DFA states, time).
    """
    limits = get_limits()
    if max_dfa_states is None:
        max_dfa_states = limits.max_dfa_states
    limits.check("max_terminals", len(ir.terminals), f"the grammar has {len(ir.terminals)} terminals")
    n_alts = sum(len(alts) for alts in ir.rules.values())
    limits.check("max_rules", n_alts, f"the grammar has {n_alts} rule alternatives")
    ir.validate()
    rules = ir.rules
    start = ir.start
    terminals = ir.terminals
    if start in terminals:  # a bare terminal as the whole grammar
        start = "<start>"
        while start in rules or start in terminals:
            start += "'"
        rules = dict(rules)
        rules[start] = [(ir.start,)]

    # terminals actually used (plus ignored ones)
    used: set[str] = set(ir.ignore)
    for alts in rules.values():
        for alt in alts:
            for sym in alt:
                if sym in terminals:
                    used.add(sym)

    dfas: dict[str, object] = {}
    empty_lang: set[str] = set()
    optional: dict[str, str] = {}
    for name in sorted(used):
        check_deadline("building the terminals' automata")
        dfa = check_terminal(terminals[name], name, ir.origin.get(name), max_dfa_states)
        kind, nonempty = _classify(dfa)
        if kind == "empty":
            empty_lang.add(name)
        elif kind == "epsilon":
            if name not in ir.ignore:
                optional[name] = ""  # matches only the empty string
        elif kind == "nullable":
            dfas[name] = nonempty
            if name not in ir.ignore:
                optional[name] = name
        else:
            dfas[name] = dfa

    # rewrite rules: empty-language terminals kill alternatives, empty-matching ones
    # become optional nonterminals
    if optional or empty_lang:
        opt_nt: dict[str, str] = {}
        for name in optional:
            nt = f"{name}?"
            while nt in rules or nt in terminals:
                nt += "?"
            opt_nt[name] = nt
        touched = opt_nt.keys() | empty_lang
        new_rules: dict[str, list[tuple[str, ...]]] = {}
        for lhs, alts in rules.items():
            if any(not touched.isdisjoint(alt) for alt in alts):
                alts = [tuple(opt_nt.get(x, x) for x in alt) for alt in alts
                        if empty_lang.isdisjoint(alt)]
            new_rules[lhs] = alts
        for name, nt in opt_nt.items():
            keep = optional[name]
            new_rules[nt] = [(keep,), ()] if keep else [()]
        rules = new_rules
    pruned, reach = _prune(rules, set(dfas), start, ir.origin.get(ir.start))

    ignore = [t for t in ir.ignore if t in dfas]
    term_names = sorted(t for t in dfas if t in reach or t in ignore)
    n_terms = len(term_names)
    nt_names = sorted(pruned)
    aug = "<augmented-start>"
    sym_names = term_names + nt_names + [aug]
    sym_id = {sym: i for i, sym in enumerate(sym_names)}
    n_syms = len(sym_names)
    aug_id = n_syms - 1

    rule_lhs: list[int] = []
    rule_rhs: list[list[int]] = []
    for lhs in nt_names:
        lid = sym_id[lhs]
        for alt in pruned[lhs]:
            rule_lhs.append(lid)
            rule_rhs.append([sym_id[x] for x in alt])
    rule_lhs.append(aug_id)
    rule_rhs.append([sym_id[start]])
    n_rules = len(rule_lhs)

    # items: the right-hand sides one after another, each followed by its end
    item_first: list[int] = []
    item_next: list[int] = []
    item_lhs: list[int] = []
    for lhs, rhs in zip(rule_lhs, rule_rhs):
        item_first.append(len(item_next))
        item_next.extend(rhs)
        item_next.append(-1)
        item_lhs.extend([lhs] * (len(rhs) + 1))
    acc_item = item_first[-1] + 1

    # nullable (worklist)
    nullable = [False] * n_syms
    rules_of: list[list[int]] = [[] for _ in range(n_syms)]
    uses: list[list[int]] = [[] for _ in range(n_syms)]
    left = [len(rhs) for rhs in rule_rhs]
    todo_n: list[int] = []
    for r, (lhs, rhs) in enumerate(zip(rule_lhs, rule_rhs)):
        rules_of[lhs].append(r)
        for x in rhs:
            uses[x].append(r)
        if not rhs and not nullable[lhs]:
            nullable[lhs] = True
            todo_n.append(lhs)
    while todo_n:
        x = todo_n.pop()
        for r in uses[x]:
            left[r] -= 1  # (a symbol used twice in a rule is counted twice, as it should)
            if left[r] == 0 and not nullable[rule_lhs[r]]:
                nullable[rule_lhs[r]] = True
                todo_n.append(rule_lhs[r])

    # prediction: nonterminals each nonterminal predicts (closure), and the items a
    # prediction of each nonterminal adds (dot 0 and past nullable prefixes)
    direct: list[list[int]] = [[] for _ in range(n_syms)]
    own: list[list[int]] = [[] for _ in range(n_syms)]
    for nt in range(n_terms, n_syms):
        ds = set()
        for r in rules_of[nt]:
            rhs = rule_rhs[r]
            first = item_first[r]
            for d, x in enumerate(rhs):
                own[nt].append(first + d)
                if x >= n_terms:
                    ds.add(x)
                if not nullable[x]:
                    break
            else:
                if r == n_rules - 1:  # the accepting item, when start is nullable
                    own[nt].append(first + len(rhs))
        direct[nt] = sorted(ds)
    pred_off = [0] * (n_syms + 1)
    pred_nts: list[int] = []
    own_off = [0] * (n_syms + 1)
    own_items: list[int] = []
    for nt in range(n_syms):
        pred_off[nt] = len(pred_nts)
        own_off[nt] = len(own_items)
        if nt < n_terms:
            continue
        own_items.extend(own[nt])
        seen = {nt}
        stack = [nt]
        while stack:
            for y in direct[stack.pop()]:
                if y not in seen:
                    seen.add(y)
                    stack.append(y)
        pred_nts.extend(sorted(seen))
    pred_off[n_syms] = len(pred_nts)
    own_off[n_syms] = len(own_items)

    # base DFA layout
    blocks = [_base_block(dfas[name]) for name in term_names]
    sizes = np.array([b[0].shape[0] for b in blocks], dtype=np.int64)
    widths = np.array([b[0].shape[1] for b in blocks], dtype=np.int64)
    term_start = np.zeros(max(n_terms, 1), dtype=np.int32)
    if n_terms:
        base = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        row0 = np.concatenate([[0], np.cumsum(sizes * widths)[:-1]])
        if int((sizes * widths).sum()) >= 2**31:
            raise CompileError("terminal DFAs too large in total (over 2^31 transitions)")
        term_start[:] = base
        bs_term = np.repeat(np.arange(n_terms, dtype=np.int32), sizes)
        bs_rowoff = (np.repeat(row0, sizes)
                     + (np.arange(int(sizes.sum())) - np.repeat(base, sizes)) * np.repeat(widths, sizes))
        flat = np.concatenate([b[0].reshape(-1) for b in blocks])
        bs_trans = np.where(flat >= 0, flat + np.repeat(base, sizes * widths), -1).astype(np.int32)
        bs_accept = np.concatenate([b[1] for b in blocks]).astype(np.uint8)
        term_cls = np.concatenate([b[2] for b in blocks]).astype(np.uint8)
    else:
        bs_term = bs_rowoff = bs_trans = np.zeros(0, dtype=np.int32)
        bs_accept = np.zeros(0, dtype=np.uint8)
        term_cls = np.zeros(256, dtype=np.uint8)

    term_id = {t: i for i, t in enumerate(term_names)}
    is_ignore = np.zeros(max(n_terms, 1), dtype=np.uint8)
    for t in ignore:
        is_ignore[term_id[t]] = 1
    meta = np.array([n_terms, n_syms, acc_item, aug_id], dtype=np.int64)
    G = _engine.GrammarArrays(
        item_next=np.asarray(item_next, dtype=np.int32),
        item_lhs=np.asarray(item_lhs, dtype=np.int32),
        pred_off=np.asarray(pred_off, dtype=np.int32),
        pred_nts=np.asarray(pred_nts, dtype=np.int32),
        nullable=np.asarray(nullable, dtype=np.uint8),
        term_start=term_start,
        ignore=np.asarray([term_id[t] for t in ignore], dtype=np.int32),
        is_ignore=is_ignore,
        bs_term=np.ascontiguousarray(bs_term, dtype=np.int32),
        bs_accept=bs_accept,
        bs_rowoff=np.ascontiguousarray(bs_rowoff, dtype=np.int32),
        bs_trans=bs_trans,
        term_cls=term_cls,
        meta=meta,
        own_off=np.asarray(own_off, dtype=np.int32),
        own_items=np.asarray(own_items, dtype=np.int32),
    )
    return GrammarTables(G, tuple(term_names), tuple(sym_names), n_rules)
