"""A slow, independent reference of the engine's semantics, for small grammars.

Grammars here have *literal* terminals only (plain byte strings), so the lexer is
trivial to write without any DFA: a lexeme may extend while some allowed literal
starts with it (maximal munch); when the next byte cannot extend it, every allowed
literal equal to the lexeme is scanned.  The parser is a textbook Earley recognizer
over lexemes (no Aycock–Horspool tricks, nullable completion done the slow way).

``viable(text)`` says whether ``text`` can still be extended to a string of the
language; ``complete(text)`` whether it is one.  Token masks follow directly.
"""

from __future__ import annotations


class RefGrammar:
    def __init__(self, rules: dict[str, list[tuple[str, ...]]], terminals: dict[str, bytes], start: str,
                 ignore: tuple[str, ...] = ()):
        self.rules = rules
        self.terminals = terminals
        self.start = start
        self.ignore = ignore
        self._productive = self._compute_productive()

    def _compute_productive(self):
        prod = set(self.terminals)
        changed = True
        while changed:
            changed = False
            for lhs, alts in self.rules.items():
                if lhs not in prod and any(all(s in prod for s in alt) for alt in alts):
                    prod.add(lhs)
                    changed = True
        return prod

    # ---- Earley over lexemes --------------------------------------------------
    def _closure(self, items, sets, k):
        """items: set of (lhs, alt_index, dot, origin). Completes and predicts in set k."""
        items = set(items)
        changed = True
        while changed:
            changed = False
            for (lhs, ai, dot, orig) in list(items):
                alt = self.rules[lhs][ai]
                if dot == len(alt):
                    src = items if orig == k else sets[orig]
                    for (l2, a2, d2, o2) in list(src):
                        alt2 = self.rules[l2][a2]
                        if d2 < len(alt2) and alt2[d2] == lhs:
                            it = (l2, a2, d2 + 1, o2)
                            if it not in items:
                                items.add(it)
                                changed = True
                else:
                    sym = alt[dot]
                    if sym in self.rules and sym in self._productive:
                        for a3, alt3 in enumerate(self.rules[sym]):
                            if all(s in self._productive for s in alt3):
                                it = (sym, a3, 0, k)
                                if it not in items:
                                    items.add(it)
                                    changed = True
        return frozenset(items)

    def _expected(self, items):
        out = set()
        for (lhs, ai, dot, _) in items:
            alt = self.rules[lhs][ai]
            if dot < len(alt) and alt[dot] in self.terminals:
                out.add(alt[dot])
        return out | set(self.ignore)

    def _accepting(self, items):
        return any(lhs == self.start and dot == len(self.rules[lhs][ai]) and orig == 0
                   for (lhs, ai, dot, orig) in items)

    def _initial(self):
        init = {(self.start, a, 0, 0) for a, alt in enumerate(self.rules[self.start])
                if all(s in self._productive for s in alt)}
        return [self._closure(init, [], 0)]

    def _scan(self, sets, lexeme: bytes):
        k = len(sets) - 1
        allowed = self._expected(sets[k])
        matched = [t for t in allowed if self.terminals[t] == lexeme and t not in self.ignore]
        if not matched:
            if any(self.terminals[t] == lexeme for t in self.ignore if t in allowed):
                return sets
            return None
        kernel = set()
        for (lhs, ai, dot, orig) in sets[k]:
            alt = self.rules[lhs][ai]
            if dot < len(alt) and alt[dot] in matched:
                kernel.add((lhs, ai, dot + 1, orig))
        return sets + [self._closure(kernel, sets, k + 1)]

    # ---- byte-level semantics -------------------------------------------------
    def run(self, text: bytes):
        """(sets, pending lexeme) after ``text``, or None if it is dead."""
        sets = self._initial()
        lex = b""
        for b in text:
            c = bytes([b])
            allowed = self._expected(sets[-1])
            if any(self.terminals[t].startswith(lex + c) for t in allowed):
                lex += c
                continue
            if not lex:
                return None
            sets = self._scan(sets, lex)
            if sets is None:
                return None
            allowed = self._expected(sets[-1])
            if not any(self.terminals[t].startswith(c) for t in allowed):
                return None
            lex = c
        return sets, lex

    def viable(self, text: bytes) -> bool:
        return self.run(text) is not None

    def complete(self, text: bytes) -> bool:
        st = self.run(text)
        if st is None:
            return False
        sets, lex = st
        if lex:
            sets = self._scan(sets, lex)
            if sets is None:
                return False
        return self._accepting(sets[-1])


def reference_mask(ref: RefGrammar, prefix: bytes, tokens: list[bytes | None], eos_ids) -> set[int]:
    """Token ids allowed after ``prefix`` by the reference."""
    allowed = set()
    for i, t in enumerate(tokens):
        if t is None or not t:
            continue
        if ref.viable(prefix + t):
            allowed.add(i)
    if ref.complete(prefix):
        allowed.update(eos_ids)
    return allowed
