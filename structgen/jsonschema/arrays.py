"""JSON Schema → Grammar IR: arrays (``prefixItems``, ``items``, ``contains`` with
``minContains``/``maxContains``, ``minItems``/``maxItems``, ``uniqueItems`` over
finite item languages, ``unevaluatedItems``).

Positions are counted up to what the bounds need; past the longest prefix a counted
repetition (``_count_rules``) of the item definition.  ``uniqueItems`` is exact when
the items take finitely many values (each subset in order); otherwise it cannot be
enforced token by token and raises (``lenient=True``: dropped with a warning).
"""

from __future__ import annotations

from ..ir import GrammarBuilder
from ._common import _Def
from ._facts import Atom, Facts, Unsupported, canonical_value_key


class ArraysMixin:
    """Methods of ``_Compiler`` (see ``compiler``)."""

    def _count_rules(self, b: GrammarBuilder, unit: str, lo: int, hi: int | None) -> str:
        """A nonterminal for ``unit`` repeated between ``lo`` and ``hi`` times
        (``hi=None``: unbounded), in O(log) rules for large bounds."""
        key = ("count", unit, lo, hi)
        hit = self._count_nts.get(key)
        if hit is not None:
            return hit
        name = b.fresh("rep")
        self._count_nts[key] = name
        if hi is not None and hi < lo:
            return name
        if hi is None:
            star = b.fresh("star")
            b.rule(star, [])
            b.rule(star, [unit, star])
            if lo == 0:
                b.rule(name, [star])
            else:
                b.rule(name, [self._exactly(b, unit, lo), star])
            return name
        if hi <= 64:
            # chain: name -> unit^lo (unit (unit ...)?)?
            opt = None
            for _ in range(hi - lo):
                nxt = b.fresh("opt")
                b.rule(nxt, [])
                b.rule(nxt, [unit] + ([opt] if opt else []))
                opt = nxt
            b.rule(name, [unit] * lo + ([opt] if opt else []))
            return name
        # digit DP in base 16: count c in [lo, hi], emitted as blocks of 16^j units
        base = 16
        blocks = [unit]
        while base ** len(blocks) <= hi:
            prev = blocks[-1]
            blk = b.fresh("blk")
            b.rule(blk, [prev] * base)
            blocks.append(blk)
        nd = len(blocks)
        hid = [(hi // base ** j) % base for j in range(nd)]
        lod = [(lo // base ** j) % base for j in range(nd)]
        memo: dict[tuple[int, bool, bool], str] = {}

        def state(j: int, tlo: bool, thi: bool) -> str:
            k = (j, tlo, thi)
            if k in memo:
                return memo[k]
            s = b.fresh("cnt")
            memo[k] = s
            if j < 0:
                b.rule(s, [])
                return s
            dlo = lod[j] if tlo else 0
            dhi = hid[j] if thi else base - 1
            for digit in range(dlo, dhi + 1):
                b.rule(s, [blocks[j]] * digit + [state(j - 1, tlo and digit == dlo, thi and digit == dhi)])
            return s

        b.rule(name, [state(nd - 1, True, True)])
        return name

    def _exactly(self, b: GrammarBuilder, unit: str, n: int) -> str:
        return self._count_rules(b, unit, n, n)

    def _elem_def(self, f: Facts, i: int, extra: tuple[Atom, ...] = ()) -> _Def:
        atoms = []
        owners: set = set()
        for c in f.arr:
            a = c.at(i)
            if a is not None:
                atoms.append(a)
                if c.evaluates:
                    owners.add(c.owner)
        if f.unevaluated_items:
            more, _ = self._uncovered(f, owners, f.unevaluated_items)
            atoms.extend(more)
        return self.make_def(atoms + list(extra))

    def _emit_array(self, d: _Def, depth, name: str) -> None:
        f = d.facts
        b = self.b
        lo, hi = f.min_items, f.max_items
        if hi is not None and lo > hi:
            return
        P = max((len(c.prefix) for c in f.arr), default=0)
        inner = None if depth is None else depth + 1
        # uniqueItems
        if f.unique and (hi is None or hi > 1):
            if self._emit_unique_array(d, depth, name):
                return
        if f.unevaluated_items and f.contains:
            self.unsupported("unevaluatedItems", d.path, "together with contains (items evaluated by contains)")
        contains = [(self.make_def([c]), cmin, cmax, where, c) for c, cmin, cmax, where in f.contains]
        caps = []
        for cdef, cmin, cmax, where, c in contains:
            if cmax is not None and cmin > cmax:
                return
            caps.append(cmax + 1 if cmax is not None else cmin)
        # positions beyond K are equivalent (when hi is None)
        K = max(P, lo)
        rest_def = self._elem_def(f, P)
        rest_empty = self.is_empty(rest_def)
        if rest_empty:
            hi = P if hi is None else min(hi, P)
            if lo > hi:
                return
        if hi is not None:
            K = hi
        if not contains and ((hi is not None and hi - P > 64) or lo - P > 64):
            return self._emit_long_array(d, depth, name, P, lo, hi)
        if K > self.opts.max_items_unrolled + P:
            self.unsupported("maxItems", d.path, f"{K} positions exceed max_items_unrolled")
            hi = None
            K = max(P, lo)
        open_t = self.layout.open("[", depth)
        close_t = self.layout.close("]", depth)
        comma = self.layout.comma(depth)
        n_c = len(contains)
        init = tuple(0 for _ in contains)
        memo: dict[tuple, str | None] = {}

        def implied(p: int, j: int) -> bool:
            """Every element allowed at ``p`` matches contains clause ``j``."""
            cdef, cmin, cmax, where, c = contains[j]
            if cmax is not None:
                return False
            na = self.parser.not_atom((c,))
            try:
                self.parser.facts(na)
            except Unsupported:
                return False
            base = self._elem_def(f, p)
            return self.is_empty(self.make_def(base.atoms + (na,)))

        def variants(p: int):
            """(element symbol, contains increments) alternatives at position p."""
            out = []
            always = {j for j in range(n_c) if implied(p, j)}
            for mask in range(1 << n_c):
                if any(not mask >> j & 1 for j in always):
                    continue
                extra = []
                inc = []
                ok = True
                for j, (cdef, cmin, cmax, where, c) in enumerate(contains):
                    if j in always:
                        inc.append(1)
                        continue
                    if mask >> j & 1:
                        extra.append(c)
                        inc.append(1)
                    else:
                        inc.append(0)
                        if cmax is not None:
                            na = self.parser.not_atom((c,))
                            try:
                                self.parser.facts(na)
                            except Unsupported as exc:
                                self.unsupported("maxContains", where,
                                                 f"needs the negation of contains: {exc.reason} ({exc.path})")
                                ok = False
                                break
                            extra.append(na)
                if not ok:
                    continue
                el = self._elem_def(f, p, tuple(extra))
                if self.is_empty(el):
                    continue
                out.append((self.nt(el, inner), tuple(inc)))
            return out

        var_cache: dict[int, list] = {}

        def var(p: int):
            pp = min(p, P)
            if pp not in var_cache:
                var_cache[pp] = variants(pp)
            return var_cache[pp]

        def done(cs) -> bool:
            return all(cs[j] >= contains[j][1] for j in range(n_c))

        def bump(cs, inc) -> tuple | None:
            """The contains-counts after an element (capped), None past a maxContains."""
            out = []
            for j in range(n_c):
                v = cs[j] + inc[j]
                cmax = contains[j][2]
                if cmax is not None and v > cmax:
                    return None
                out.append(min(v, caps[j]))
            return tuple(out)

        todo: list[tuple[int, tuple, str]] = []

        def state(p: int, cs: tuple) -> str:
            k = (p, cs)
            s = memo.get(k)
            if s is None:
                s = b.fresh("arr", origin=d.path)
                memo[k] = s
                todo.append((p, cs, s))
            return s

        def fill(p: int, cs: tuple, s: str) -> None:
            if p >= lo and done(cs):
                b.rule(s, [close_t])
            if hi is None or p < hi:
                np_ = p + 1 if (hi is not None or p < K) else p
                for sym, inc in var(p):
                    ncs = bump(cs, inc)
                    if ncs is not None:
                        b.rule(s, [comma, sym, state(np_, ncs)])

        if lo == 0 and done(init):
            b.rule(name, [self.layout.empty("[]", depth)])
        if hi is None or hi >= 1:
            for sym, inc in var(0):
                ncs = bump((0,) * n_c, inc)
                if ncs is not None:
                    np_ = 1 if (hi is not None or 0 < K) else 0
                    b.rule(name, [open_t, sym, state(np_, ncs)])
        while todo:
            fill(*todo.pop())

    def _emit_long_array(self, d: _Def, depth, name: str, P: int, lo: int, hi: int | None) -> None:
        """Arrays with large ``minItems``/``maxItems``: prefix positions, then the rest
        counted by O(log n) rules."""
        f = d.facts
        b = self.b
        inner = None if depth is None else depth + 1
        open_t = self.layout.open("[", depth)
        close_t = self.layout.close("]", depth)
        comma = self.layout.comma(depth)
        rest = self.nt(self._elem_def(f, P), inner)
        unit = b.fresh("item")
        b.rule(unit, [comma, rest])
        if lo == 0:
            b.rule(name, [self.layout.empty("[]", depth)])
        # first element (position 0)
        syms = [self.nt(self._elem_def(f, i), inner) for i in range(P)]
        # tail(i): elements i.. after element i-1 was written
        tails: dict[int, str] = {}

        def tail(i: int) -> str:
            if i in tails:
                return tails[i]
            s = b.fresh("arr", origin=d.path)
            tails[i] = s
            if i >= lo:
                b.rule(s, [close_t])
            if i < P:
                b.rule(s, [comma, syms[i], tail(i + 1)])
            else:
                if hi is None or hi > i:
                    cnt = self._count_rules(b, unit, max(0, lo - i - 1), None if hi is None else hi - i - 1)
                    b.rule(s, [comma, rest, cnt, close_t])
            return s

        if hi is None or hi >= 1:
            first = syms[0] if P > 0 else rest
            b.rule(name, [open_t, first, tail(1)])

    def _emit_unique_array(self, d: _Def, depth, name: str) -> bool:
        """``uniqueItems`` over a small finite set of values: track the used set."""
        f = d.facts
        P = max((len(c.prefix) for c in f.arr), default=0)
        values = None
        if P == 0 and not f.contains:
            el = self._elem_def(f, 0)
            values = self._finite_values(el)
        if values is None or len(values) > 8:
            self.unsupported("uniqueItems", f.unique, "items are not from a small finite set of values")
            return False
        b = self.b
        inner = None if depth is None else depth + 1
        lo, hi = f.min_items, f.max_items
        open_t = self.layout.open("[", depth)
        close_t = self.layout.close("]", depth)
        comma = self.layout.comma(depth)
        syms = [self._value_nt(v, inner) for v in values]
        memo: dict[int, str] = {}

        def state(used: int) -> str:
            if used in memo:
                return memo[used]
            s = b.fresh("uniq", origin=d.path)
            memo[used] = s
            n = bin(used).count("1")
            if n >= lo:
                b.rule(s, [close_t])
            if hi is None or n < hi:
                for i, sym in enumerate(syms):
                    if not used >> i & 1:
                        b.rule(s, [comma, sym, state(used | 1 << i)])
            return s

        if lo == 0:
            b.rule(name, [self.layout.empty("[]", depth)])
        if hi is None or hi >= 1:
            for i, sym in enumerate(syms):
                b.rule(name, [open_t, sym, state(1 << i)])
        return True

    def _finite_values(self, d: _Def) -> list | None:
        """The values of a definition when it is a small finite set (enum, const,
        booleans, null), distinct under JSON Schema equality; else None."""
        if d.pending:
            out = []
            for branch in d.pending[0].branches:
                sub = self.make_def(d.atoms + branch, self._resolved_of(d) | {d.pending[0].did})
                if self.is_empty(sub):
                    continue
                vals = self._finite_values(sub)
                if vals is None:
                    return None
                out.extend(vals)
        else:
            f = d.facts
            if f.enums:
                out = self._enum_values(d)
            elif f.types and f.types <= {"null", "boolean"}:
                out = [v for v in ([None] if "null" in f.types else []) + ([True, False] if "boolean" in f.types else [])
                       if all(self.validate(a, v) for a in d.atoms)]
            else:
                return None
        uniq = []
        keys = set()
        for v in out:
            k = canonical_value_key(v)
            if k not in keys:
                keys.add(k)
                uniq.append(v)
        return uniq
