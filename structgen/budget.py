"""How far a matcher is from the end: the shortest completion of the text so far.

A decoder with a token budget (``max_tokens``) can keep its output valid whenever a
valid completion still fits: before it takes a token, it asks whether the text with
that token can still be completed within the tokens left, and otherwise takes another
one (:func:`structgen.generate` and :class:`structgen.LogitsProcessor` do this; see
docs/generate.md, "Token budget").

:func:`shortest_completion` answers for a matcher's state with the *shortest
completing text* (in bytes) found on the compiled automaton:

* per grammar, once (:class:`CompletionTables`): the fewest bytes each terminal's DFA
  needs from each of its states to accept (a backward breadth-first search, with the
  byte that gets there), and the fewest bytes each nonterminal derives (a fixed point
  over the rules, with the rule that achieves it);
* per Earley set (cached while the set is unchanged): ``Q(A, j)``, the fewest bytes
  that complete the whole text after a nonterminal ``A`` started in set ``j`` has been
  completed: the minimum, over the items of set ``j`` waiting for ``A``, of the rest of
  the item's rule plus ``Q`` of the item's own left-hand side at its origin (a
  shortest-path relaxation inside each set, whose items may wait on each other);
* for the state: the minimum, over the terminal states alive in the current lexeme, of
  the bytes that finish the lexeme plus the rest of an item that scans it.

The text is rebuilt along the minimising choices and checked by consuming it on a fork
of the matcher (the lexer is maximal munch: two shortest lexemes side by side may lex
as one, which the check catches; the answer is then ``None``, "unknown").  Its token
count is that of its fewest-tokens tokenization, an upper bound on the tokens needed
to complete (any tokenization of a valid text is allowed by the mask, which works on
bytes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["BudgetGuard", "CompletionTables", "completion_tables", "shortest_completion"]

_INF = 1 << 60

#: Token choices a decoder checks against the budget in one step before it takes the
#: shortest completion instead (``generate``, the speculative decoder, the processor).
STEER_TRIES = 16


def _byte_rank() -> np.ndarray:
    """Preference among the bytes of one class for a witness: lowercase letters and
    digits, other printable ASCII, space, then the rest by value."""
    rank = np.arange(256, dtype=np.int64) + 1000
    order = list(range(ord("a"), ord("z") + 1)) + list(range(ord("0"), ord("9") + 1))
    order += [b for b in range(0x21, 0x7F) if b not in order] + [0x20]
    for r, b in enumerate(order):
        rank[b] = r
    return rank


_RANK = _byte_rank()


class CompletionTables:
    """Per-grammar tables for :func:`shortest_completion` (see the module docstring)."""

    def __init__(self, tables: Any):
        G = tables.G
        self._G = G
        self.item_next = G.item_next.tolist()
        self.item_lhs = G.item_lhs.tolist()
        n_terms, n_syms, acc_item, aug = (int(x) for x in G.meta)  # GM_N_TERMS .. GM_START
        self.n_terms, self.n_syms, self.acc_item, self.aug = n_terms, n_syms, acc_item, aug
        self.is_ignore = G.is_ignore.tolist()
        self.bs_term = G.bs_term
        self._dfa(G)
        self._nonterminals()
        self._sym_text: dict[int, tuple[bytes, ...]] = {}

    # ------------------------------------------------------------ terminals
    def _dfa(self, G) -> None:
        """dist[s]: fewest bytes from base state s to an accepting state; step[s]: the
        (byte, next state) of a shortest path."""
        bs_term, bs_accept, bs_rowoff, bs_trans, term_cls = G.bs_term, G.bs_accept, G.bs_rowoff, G.bs_trans, G.term_cls
        n_base = int(bs_term.shape[0])
        n_t = self.n_terms
        dist = np.full(n_base, _INF, dtype=np.int64)
        self.step_byte = np.full(n_base, -1, dtype=np.int64)
        self.step_next = np.full(n_base, -1, dtype=np.int64)
        if n_base == 0:
            self.dist = dist
            self.term_min = []
            return
        cls = term_cls[: n_t * 256].reshape(n_t, 256).astype(np.int64)
        width = cls.max(axis=1) + 1
        # best byte of each (terminal, class): lowest rank
        best_rank = np.full((n_t, int(width.max())), _INF, dtype=np.int64)
        np.minimum.at(best_rank, (np.repeat(np.arange(n_t), 256), cls.reshape(-1)), np.tile(_RANK, n_t))
        byte_of_rank = np.zeros(int(_RANK.max()) + 1, dtype=np.int64)
        byte_of_rank[_RANK] = np.arange(256)
        best = np.where(best_rank < _INF, byte_of_rank[np.minimum(best_rank, _RANK.max())], -1)
        w_of = width[bs_term]
        src = np.repeat(np.arange(n_base, dtype=np.int64), w_of)
        start = np.repeat(bs_rowoff.astype(np.int64), w_of)
        col = np.arange(src.shape[0], dtype=np.int64) - np.repeat(np.cumsum(w_of) - w_of, w_of)
        dst = bs_trans[start + col].astype(np.int64)
        keep = dst >= 0
        src, col, dst = src[keep], col[keep], dst[keep]
        # reverse adjacency by destination
        by_dst = np.argsort(dst, kind="stable")
        r_src, r_col = src[by_dst], col[by_dst]
        r_off = np.searchsorted(dst[by_dst], np.arange(n_base + 1))
        frontier = np.flatnonzero(bs_accept)
        dist[frontier] = 0
        d = 0
        while frontier.shape[0]:
            d += 1
            lo, hi = r_off[frontier], r_off[frontier + 1]
            n = hi - lo
            if not n.sum():
                break
            idx = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum()))
            to = np.repeat(frontier, n)
            pred, pcol = r_src[idx], r_col[idx]
            new = dist[pred] == _INF
            pred, pcol, to = pred[new], pcol[new], to[new]
            # one step per predecessor: the one whose byte ranks best
            byte = best[bs_term[pred], pcol]
            o = np.lexsort((_RANK[byte], pred))
            pred, to, byte = pred[o], to[o], byte[o]
            pred, first = np.unique(pred, return_index=True)
            dist[pred] = d
            self.step_next[pred] = to[first]
            self.step_byte[pred] = byte[first]
            frontier = pred
        self.dist = dist
        term_start = G.term_start
        self.term_min = [int(dist[term_start[t]]) for t in range(n_t)]
        self.term_start = term_start.tolist()

    def text_from(self, s: int) -> bytes:
        """Shortest bytes that take base state ``s`` to acceptance."""
        out = bytearray()
        while self.dist[s] > 0:
            out.append(int(self.step_byte[s]))
            s = int(self.step_next[s])
        return bytes(out)

    # ------------------------------------------------------------ nonterminals
    def _nonterminals(self) -> None:
        nxt = self.item_next
        n_terms, n_syms = self.n_terms, self.n_syms
        rules: list[tuple[int, int]] = []  # (lhs, first item)
        first = 0
        for i, x in enumerate(nxt):
            if x < 0:
                rules.append((self.item_lhs[i], first))
                first = i + 1
        minlen = [_INF] * n_syms
        for t in range(n_terms):
            minlen[t] = self.term_min[t]
        best_rule = [-1] * n_syms
        changed = True
        while changed:
            changed = False
            for lhs, f in rules:
                total = 0
                i = f
                while nxt[i] >= 0:
                    total += minlen[nxt[i]]
                    i += 1
                if total < minlen[lhs]:
                    minlen[lhs] = total
                    best_rule[lhs] = f
                    changed = True
        self.minlen = minlen
        self.best_rule = best_rule
        # rest[i]: fewest bytes for the symbols from item i to the end of its rule
        rest = [0] * len(nxt)
        for i in range(len(nxt) - 1, -1, -1):
            rest[i] = 0 if nxt[i] < 0 else min(_INF, minlen[nxt[i]] + rest[i + 1])
        self.rest = rest

    def sym_lexemes(self, sym: int) -> tuple[bytes, ...]:
        """The lexemes of a shortest text that ``sym`` derives."""
        memo = self._sym_text
        if sym in memo:
            return memo[sym]
        stack = [(sym, False)]
        while stack:
            x, expanded = stack.pop()
            if x in memo:
                continue
            if x < self.n_terms:
                memo[x] = (self.text_from(self.term_start[x]),)
                continue
            kids = []
            i = self.best_rule[x]
            while self.item_next[i] >= 0:
                kids.append(self.item_next[i])
                i += 1
            if expanded:
                memo[x] = tuple(lx for c in kids for lx in memo[c])
            else:
                stack.append((x, True))
                stack.extend((c, False) for c in kids if c not in memo)
        return memo[sym]

    def rest_lexemes(self, item: int) -> list[bytes]:
        out: list[bytes] = []
        while self.item_next[item] >= 0:
            out.extend(self.sym_lexemes(self.item_next[item]))
            item += 1
        return out

    @property
    def separator(self) -> bytes | None:
        """The text put between lexemes that would otherwise lex as one: a space when an
        ignored terminal accepts one, else the shortest text of an ignored terminal;
        None without ignored terminals."""
        if not hasattr(self, "_sep"):
            sep = None
            for t in range(self.n_terms):
                if not self.is_ignore[t]:
                    continue
                if self._accepts(t, b" "):
                    sep = b" "
                    break
                text = self.text_from(self.term_start[t])
                if text and self.dist[self.term_start[t]] < _INF and (sep is None or len(text) < len(sep)):
                    sep = text
            self._sep = sep
        return self._sep

    def _accepts(self, t: int, data: bytes) -> bool:
        """Whether terminal ``t`` accepts ``data`` exactly."""
        G = self._G
        s = int(G.term_start[t])
        for b in data:
            c = int(G.term_cls[t * 256 + b])
            s = int(G.bs_trans[int(G.bs_rowoff[s]) + c])
            if s < 0:
                return False
        return bool(G.bs_accept[s])


def completion_tables(grammar: Any) -> CompletionTables:
    """The grammar's :class:`CompletionTables`, built on first use and kept."""
    ct = getattr(grammar, "_completion_tables", None)
    if ct is None:
        with grammar.lock:
            ct = getattr(grammar, "_completion_tables", None)
            if ct is None:
                ct = CompletionTables(grammar.tables)
                grammar._completion_tables = ct
    return ct


class _SetCosts:
    """``Q(A, j)`` per Earley set of one matcher, cached by (set, version)."""

    def __init__(self, ct: CompletionTables):
        self.ct = ct
        self.memo: dict[int, tuple[int, dict[int, tuple[int, int, int]]]] = {}

    def get(self, E, j: int) -> dict[int, tuple[int, int, int]]:
        ver = E.ver
        hit = self.memo.get(j)
        if hit is not None and hit[0] == int(ver[j]):
            return hit[1]
        # sets this one needs, oldest first (explicit stack: origins chain far back)
        need = []
        todo = [j]
        seen = {j}
        while todo:
            x = todo.pop()
            h = self.memo.get(x)
            if h is not None and h[0] == int(ver[x]):
                continue
            need.append(x)
            for o in set(E.orig[E.off[x]:E.off[x + 1]].tolist()):
                if o < x and o not in seen:
                    seen.add(o)
                    todo.append(o)
        for x in sorted(need):  # one entry per set index: as many as the text has sets
            self.memo[x] = (int(ver[x]), self._compute(E, x))
        return self.memo[j][1]

    def _compute(self, E, j: int) -> dict[int, tuple[int, int, int]]:
        ct = self.ct
        nxt, lhs_of, rest, n_terms, aug = ct.item_next, ct.item_lhs, ct.rest, ct.n_terms, ct.aug
        lo, hi = int(E.off[j]), int(E.off[j + 1])
        items = E.item[lo:hi].tolist()
        origs = E.orig[lo:hi].tolist()
        Q: dict[int, tuple[int, int, int]] = {}
        local = []
        for it, o in zip(items, origs):
            a = nxt[it]
            if a < n_terms:
                continue
            lhs = lhs_of[it]
            if lhs == aug:
                up = 0
            elif o < j:
                q = self.memo[o][1].get(lhs)
                if q is None:
                    continue
                up = q[0]
            else:
                local.append((a, it, lhs))
                continue
            c = rest[it + 1] + up
            if c < Q.get(a, (_INF,))[0]:
                Q[a] = (c, it, o)
        changed = bool(local)
        while changed:  # items predicted in this set wait on each other
            changed = False
            for a, it, lhs in local:
                q = Q.get(lhs)
                if q is None:
                    continue
                c = rest[it + 1] + q[0]
                if c < Q.get(a, (_INF,))[0]:
                    Q[a] = (c, it, j)
                    changed = True
        return Q


def _plan(ct: CompletionTables, sc: _SetCosts, E, k: int, L, ls: int) -> list[bytes] | None:
    """A shortest completion from (set k, lexer state ls): the rest of the current
    lexeme, then the lexemes that follow."""
    nxt, lhs_of, rest = ct.item_next, ct.item_lhs, ct.rest
    Qk = sc.get(E, k)
    lo, hi = int(E.off[k]), int(E.off[k + 1])
    items = E.item[lo:hi].tolist()
    origs = E.orig[lo:hi].tolist()
    # after(T): fewest bytes once terminal T is scanned from set k
    after: dict[int, tuple[int, int, int]] = {}
    for it, o in zip(items, origs):
        t = nxt[it]
        if not 0 <= t < ct.n_terms:
            continue
        lhs = lhs_of[it]
        if lhs == ct.aug:
            up = 0
        else:
            q = (Qk if o == k else sc.memo[o][1]).get(lhs)
            if q is None:
                continue
            up = q[0]
        c = rest[it + 1] + up
        if c < after.get(t, (_INF,))[0]:
            after[t] = (c, it, o)
    boundary = min(((ct.term_min[t] + v[0], t) for t, v in after.items()), default=(_INF, -1))
    eoff, elems = L.eoff, L.elems
    best = (_INF, -1, -1)
    for s in elems[eoff[ls]:eoff[ls + 1]].tolist():
        d = int(ct.dist[s])
        if d >= _INF:
            continue
        t = int(ct.bs_term[s])
        if ct.is_ignore[t]:
            c = d + (0 if E.acc[k] else boundary[0])
        else:
            a = after.get(t)
            if a is None:
                continue
            c = d + a[0]
        if c < best[0]:
            best = (c, s, t)
    if best[0] >= _INF:
        return None
    c, s, t = best
    parts = [ct.text_from(s)]
    if ct.is_ignore[t]:
        if E.acc[k]:
            return parts
        t = boundary[1]
        parts.extend(ct.sym_lexemes(t))
    _, it, o = after[t]
    while True:
        parts.extend(ct.rest_lexemes(it + 1))
        lhs = lhs_of[it]
        if lhs == ct.aug:
            break
        _, it, o = (Qk if o == k else sc.memo[o][1])[lhs]
    return parts


def shortest_completion(matcher: Any, _costs: _SetCosts | None = None) -> bytes | None:
    """The shortest text found that completes ``matcher``'s text (``b""`` when it is
    complete already), checked on a fork; ``None`` when the matcher has finished (EOS)
    or no completion is known."""
    if matcher._finished:
        return None
    if matcher.is_accepting():
        return b""
    g = matcher.grammar
    ct = completion_tables(g)
    sc = _costs if _costs is not None else _SetCosts(ct)
    with g.lock:
        plan = _plan(ct, sc, matcher._E, matcher._k, g.lexer.L, matcher._ls)
    if plan is None:
        return None
    texts = [b"".join(plan)]
    sep = ct.separator
    if sep is not None and len(plan) > 1:
        texts.append(sep.join(plan))
        # a lexeme that runs to the end of the line (a comment) ends only there
        texts.append(plan[0] + b"\n" + sep.join(plan[1:]))
    for text in texts:
        probe = matcher.fork()
        if probe.consume_bytes(text) and probe.is_accepting():
            return text
    return None


class BudgetGuard:
    """Keeps one matcher's text completable within a token budget.

    ``tokens_to_finish()``: an upper bound on the text tokens that complete the text
    (0 when it is complete; ``None`` when no completion is known), with the tokens of
    such a completion kept in :attr:`plan` (its fewest-tokens tokenization).
    ``fits(token, left)``: whether, after ``token``, a completion of at most ``left``
    tokens is known (the matcher is left unchanged)."""

    def __init__(self, matcher: Any, vocab: Any):
        self.matcher = matcher
        self.vocab = vocab
        self.costs = _SetCosts(completion_tables(matcher.grammar))
        self.plan: list[int] | None = None

    def tokens_to_finish(self) -> int | None:
        text = shortest_completion(self.matcher, self.costs)
        if text is None:
            self.plan = None
            return None
        try:
            self.plan = self.vocab._encode_min_tokens(text) if text else []
        except ValueError:  # a byte no text token spells
            self.plan = None
            return None
        return len(self.plan)

    def fits(self, token: int, left: int) -> bool:
        m = self.matcher
        if not m.advance(token):
            return False
        try:
            n = self.tokens_to_finish()
            return n is not None and n <= left
        finally:
            m.rollback(1)
