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

The result, :class:`GrammarTables`, is vocabulary-independent and immutable; the
lexer cache (:class:`LexerCache`) grows lazily and is shared by all matchers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from . import _engine
from .errors import CompileError
from .ir import GrammarIR, TerminalDef


DEFAULT_MAX_DFA_STATES = 50_000


def check_terminal(defn: TerminalDef, name: str, where: str | None,
                   max_states: int = DEFAULT_MAX_DFA_STATES):
    """The terminal's DFA; a :class:`CompileError` names the terminal and its place."""
    from .dfa import compile_terminal

    try:
        return compile_terminal(defn, max_states=max_states)
    except CompileError as exc:
        raise CompileError(f"terminal {name} {defn.describe()}: {exc}", where=where) from None


@dataclass(frozen=True)
class GrammarTables:
    """The compiled, vocabulary-independent grammar (see ``_engine`` for ``G``)."""

    G: tuple
    terminal_names: tuple[str, ...]
    symbol_names: tuple[str, ...]
    n_rules: int
    max_set_hint: int

    @property
    def n_terminals(self) -> int:
        return len(self.terminal_names)


class LexerCache:
    """The lazily built lexer DFA of one grammar, shared by all its matchers.

    Arrays grow by doubling when a kernel asks (``NEED_LEXER``); growth replaces the
    arrays, so kernels always receive ``self.L`` afresh.  Growth happens under a
    lock; kernels running in parallel (``fill_bitmasks``) run with the cache frozen
    and fall back to a serial call when they meet an uncomputed transition.
    """

    def __init__(self, n_slices: int = 0, capacity: int = 256):
        self.lock = threading.Lock()
        self.n_slices = n_slices
        cap = capacity
        trans = np.full((cap, 256), _engine.UNKNOWN, dtype=np.int32)
        eoff = np.zeros(cap + 1, dtype=np.int32)
        elems = np.zeros(cap * 4, dtype=np.int32)
        aoff = np.zeros(cap + 1, dtype=np.int32)
        acc = np.zeros(cap * 2, dtype=np.int32)
        flags = np.zeros(cap, dtype=np.uint8)
        ht = np.full(cap * 4, -1, dtype=np.int32)
        meta = np.zeros(8, dtype=np.int64)  # see _engine: L[7]
        slice_ok = np.full((cap, max(n_slices, 1)), -1, dtype=np.int8)
        self.L = (trans, eoff, elems, aoff, acc, flags, ht, meta, slice_ok)
        self.version = 0
        self._retired: list[tuple] = []  # replaced arrays, kept alive (see matcher.py)

    @property
    def n_states(self) -> int:
        return int(self.L[7][0])

    def grow(self) -> None:
        """Double every array that is at least half full (called on NEED_LEXER)."""
        trans, eoff, elems, aoff, acc, flags, ht, meta, slice_ok = self.L
        ns, ne, na = int(meta[0]), int(meta[1]), int(meta[2])
        cap = trans.shape[0]
        new_cap = cap * 2 if ns + 2 >= cap // 2 else cap
        if new_cap != cap:
            t2 = np.full((new_cap, 256), _engine.UNKNOWN, dtype=np.int32)
            t2[:cap] = trans
            trans = t2
            eoff = np.concatenate([eoff, np.zeros(new_cap - cap, dtype=np.int32)])
            aoff = np.concatenate([aoff, np.zeros(new_cap - cap, dtype=np.int32)])
            flags = np.concatenate([flags, np.zeros(new_cap - cap, dtype=np.uint8)])
            s2 = np.full((new_cap, slice_ok.shape[1]), -1, dtype=np.int8)
            s2[:cap] = slice_ok
            slice_ok = s2
        if ne * 2 + 1024 >= elems.shape[0]:
            elems = np.concatenate([elems, np.zeros(max(elems.shape[0], 1024), dtype=np.int32)])
        if na * 2 + 1024 >= acc.shape[0]:
            acc = np.concatenate([acc, np.zeros(max(acc.shape[0], 1024), dtype=np.int32)])
        rehash = False
        if 4 * (ns + 2) >= ht.shape[0]:
            ht = np.full(ht.shape[0] * 2, -1, dtype=np.int32)
            rehash = True
        self._retired.append(self.L)
        self.L = (trans, eoff, elems, aoff, acc, flags, ht, meta, slice_ok)
        self.version += 1
        if rehash:
            _engine.lexer_rehash(self.L)


# ----------------------------------------------------------------------------------


def _prune(rules: dict[str, list[tuple[str, ...]]], terminals: set[str], start: str, where) -> dict:
    """Drop unproductive alternatives and unreachable rules."""
    productive: set[str] = set(terminals)
    changed = True
    while changed:
        changed = False
        for lhs, alts in rules.items():
            if lhs in productive:
                continue
            if any(all(s in productive for s in alt) for alt in alts):
                productive.add(lhs)
                changed = True
    if start not in productive:
        raise CompileError("the grammar accepts no string at all (its start symbol derives nothing)",
                           where=where)
    kept = {lhs: [alt for alt in alts if all(s in productive for s in alt)]
            for lhs, alts in rules.items() if lhs in productive}
    reach = {start}
    todo = [start]
    while todo:
        sym = todo.pop()
        for alt in kept.get(sym, ()):
            for s in alt:
                if s not in reach:
                    reach.add(s)
                    todo.append(s)
    return {lhs: alts for lhs, alts in kept.items() if lhs in reach}, reach


def compile_ir(ir: GrammarIR, *, max_dfa_states: int = DEFAULT_MAX_DFA_STATES) -> GrammarTables:
    """Compile a :class:`GrammarIR` into :class:`GrammarTables`.

    Raises :class:`CompileError` for undefined symbols, terminals the regex compiler
    rejects (with the terminal's name and place), and grammars with an empty
    language.
    """
    ir.validate()
    rules = {lhs: list(alts) for lhs, alts in ir.rules.items()}
    start = ir.start
    if start in ir.terminals:  # a bare terminal as the whole grammar
        start = "<start>"
        while start in rules or start in ir.terminals:
            start += "'"
        rules[start] = [(ir.start,)]

    # terminals actually used (plus ignored ones)
    used: set[str] = set(ir.ignore)
    for alts in rules.values():
        for alt in alts:
            used.update(s for s in alt if s in ir.terminals)

    dfas: dict[str, object] = {}
    empty_lang: set[str] = set()
    optional: dict[str, str] = {}
    for name in sorted(used):
        defn = ir.terminals[name]
        dfa = check_terminal(defn, name, ir.origin.get(name), max_dfa_states)
        if dfa.matches_empty():
            nonempty = dfa.without_empty()
            if nonempty.is_empty():
                if name in ir.ignore:
                    continue
                optional[name] = ""  # matches only the empty string
            else:
                dfas[name] = nonempty
                if name not in ir.ignore:
                    optional[name] = name
        elif dfa.is_empty():
            empty_lang.add(name)
        else:
            dfas[name] = dfa

    # rewrite rules: empty-language terminals kill alternatives, empty-matching ones
    # become optional nonterminals
    opt_nt: dict[str, str] = {}
    for name, keep in optional.items():
        nt = f"{name}?"
        while nt in rules or nt in ir.terminals:
            nt += "?"
        opt_nt[name] = nt
        rules[nt] = [(keep,), ()] if keep else [()]
    new_rules: dict[str, list[tuple[str, ...]]] = {}
    for lhs, alts in rules.items():
        out = []
        for alt in alts:
            if any(s in empty_lang for s in alt):
                continue
            if lhs in opt_nt.values():
                out.append(alt)
            else:
                out.append(tuple(opt_nt.get(s, s) for s in alt))
        new_rules[lhs] = out
    term_set = set(dfas)
    pruned, reach = _prune(new_rules, term_set, start, ir.origin.get(ir.start))

    ignore = [t for t in ir.ignore if t in dfas]
    term_names = sorted((t for t in dfas if t in reach or t in ignore), key=lambda t: t)
    term_id = {t: i for i, t in enumerate(term_names)}
    n_terms = len(term_names)
    nt_names = sorted(pruned)
    aug = "<augmented-start>"
    sym_names = term_names + nt_names + [aug]
    sym_id = {s: i for i, s in enumerate(sym_names)}
    n_syms = len(sym_names)
    aug_id = sym_id[aug]

    rule_lhs: list[int] = []
    rule_rhs: list[list[int]] = []
    for lhs in nt_names:
        for alt in pruned[lhs]:
            rule_lhs.append(sym_id[lhs])
            rule_rhs.append([sym_id[s] for s in alt])
    rule_lhs.append(aug_id)
    rule_rhs.append([sym_id[start]])
    n_rules = len(rule_lhs)

    # items
    item_first = []
    item_next: list[int] = []
    item_lhs: list[int] = []
    for lhs, rhs in zip(rule_lhs, rule_rhs):
        item_first.append(len(item_next))
        for s in rhs:
            item_next.append(s)
            item_lhs.append(lhs)
        item_next.append(-1)
        item_lhs.append(lhs)
    acc_item = item_first[-1] + 1

    # nullable
    nullable = np.zeros(n_syms, dtype=np.uint8)
    changed = True
    while changed:
        changed = False
        for lhs, rhs in zip(rule_lhs, rule_rhs):
            if not nullable[lhs] and all(nullable[s] for s in rhs):
                nullable[lhs] = 1
                changed = True

    # prediction closure per nonterminal
    rules_of: dict[int, list[int]] = {}
    for r, lhs in enumerate(rule_lhs):
        rules_of.setdefault(lhs, []).append(r)
    direct: dict[int, set[int]] = {}
    for nt in range(n_terms, n_syms):
        ds: set[int] = set()
        for r in rules_of.get(nt, ()):
            for s in rule_rhs[r]:
                if s >= n_terms:
                    ds.add(s)
                if not nullable[s]:
                    break
        direct[nt] = ds
    pred_off = np.zeros(n_syms + 1, dtype=np.int32)  # closure of each nonterminal ...
    pred_nts: list[int] = []  # ... as the nonterminals to predict
    own_off = np.zeros(n_syms + 1, dtype=np.int32)  # each nonterminal's own items:
    own_items: list[int] = []  # dot 0, and past any nullable prefix
    for nt in range(n_syms):
        pred_off[nt] = len(pred_nts)
        own_off[nt] = len(own_items)
        if nt < n_terms:
            continue
        seen = {nt}
        todo = [nt]
        while todo:
            x = todo.pop()
            for y in direct[x]:
                if y not in seen:
                    seen.add(y)
                    todo.append(y)
        pred_nts.extend(sorted(seen))
        for r in rules_of.get(nt, ()):
            rhs = rule_rhs[r]
            for d in range(len(rhs)):
                own_items.append(item_first[r] + d)
                if not nullable[rhs[d]]:
                    break
            else:
                if r == n_rules - 1:  # the accepting item, when start is nullable
                    own_items.append(item_first[r] + len(rhs))
    pred_off[n_syms] = len(pred_nts)
    own_off[n_syms] = len(own_items)
    pred_items_arr = np.asarray(pred_nts, dtype=np.int32)

    # base DFA layout
    bs_term: list[np.ndarray] = []
    bs_accept: list[np.ndarray] = []
    bs_rowoff: list[np.ndarray] = []
    bs_trans: list[np.ndarray] = []
    term_cls = np.zeros(max(n_terms, 1) * 256, dtype=np.uint8)
    term_start = np.zeros(max(n_terms, 1), dtype=np.int32)
    base = 0
    row = 0
    for t, name in enumerate(term_names):
        dfa = dfas[name]
        trans = np.asarray(dfa.trans, dtype=np.int32)
        acc = np.asarray(dfa.accept, dtype=np.uint8)
        n, c = trans.shape
        # fresh start state (copy of state 0, non-accepting, no incoming edges)
        full = np.empty((n + 1, c), dtype=np.int32)
        full[0] = trans[0]
        full[1:] = trans
        full = np.where(full >= 0, full + 1 + base, -1).astype(np.int32)
        acc_full = np.concatenate([[0], acc]).astype(np.uint8)
        bs_term.append(np.full(n + 1, t, dtype=np.int32))
        bs_accept.append(acc_full)
        bs_rowoff.append((row + np.arange(n + 1, dtype=np.int64) * c).astype(np.int32))
        bs_trans.append(full.reshape(-1))
        term_cls[t * 256:(t + 1) * 256] = np.asarray(dfa.classmap, dtype=np.uint8)
        term_start[t] = base
        base += n + 1
        row += (n + 1) * c
    if row >= 2**31:
        raise CompileError("terminal DFAs too large in total (over 2^31 transitions)")

    def cat(parts, dtype):
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    is_ignore = np.zeros(max(n_terms, 1), dtype=np.uint8)
    for t in ignore:
        is_ignore[term_id[t]] = 1
    meta = np.array([n_terms, n_syms, acc_item, aug_id], dtype=np.int64)
    G = (
        np.asarray(item_next, dtype=np.int32),
        np.asarray(item_lhs, dtype=np.int32),
        pred_off,
        pred_items_arr,
        nullable,
        term_start,
        np.asarray([term_id[t] for t in ignore], dtype=np.int32),
        is_ignore,
        cat(bs_term, np.int32),
        cat(bs_accept, np.uint8),
        cat(bs_rowoff, np.int32),
        cat(bs_trans, np.int32),
        term_cls,
        meta,
        own_off,
        np.asarray(own_items, dtype=np.int32),
    )
    max_pred = int(np.max(np.diff(own_off))) if n_syms else 0
    return GrammarTables(G, tuple(term_names), tuple(sym_names), n_rules, max(64, 4 * max_pred))
