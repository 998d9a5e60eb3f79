"""JSON Schema → Grammar IR: objects (``properties``, ``required``,
``patternProperties``, ``additionalProperties``, ``propertyNames``,
``minProperties``/``maxProperties``, ``dependentRequired``/``dependentSchemas`` as
decided disjunctions, ``unevaluatedProperties``).

Declared properties come in declaration order (any order with
``property_order="any"``, up to ``_MAX_ANY_ORDER`` of them); required ones cannot be
skipped; other keys come after them from the generic entries, whose key terminals
exclude the declared names and split overlapping ``patternProperties`` into classes
(at most ``_MAX_PATTERN_CLASSES``).
"""

from __future__ import annotations

import re

from ..errors import CompileError
from ..ir import TerminalDef
from ._common import _MAX_ANY_ORDER, _MAX_PATTERN_CLASSES, _Def
from ._facts import Atom, Facts
from .strings import check_pattern, generic_key_terminal, literal_terminal, pattern_defs, string_terminal


class ObjectsMixin:
    """Methods of ``_Compiler`` (see ``compiler``)."""

    def _pattern_matches(self, pattern: str, key: str) -> bool:
        ck = (pattern, key)
        hit = self._pattern_match_cache.get(ck)
        if hit is None:
            from ..dfa import compile_terminal

            ok = True
            for td in pattern_defs(pattern):
                if not compile_terminal(td).fullmatch(key.encode("utf-8", "surrogatepass")):
                    ok = False
                    break
            hit = ok
            self._pattern_match_cache[ck] = hit
        return hit

    def _scope(self, aid: int) -> frozenset:
        """Atoms whose annotations an ``unevaluated*`` keyword of atom ``aid`` sees:
        the atom and what it reaches through in-place applicators."""
        hit = self._scopes.get(aid)
        if hit is not None:
            return hit
        out = set()
        stack = [self._atom_list[aid]]
        while stack:
            a = stack.pop()
            if a.aid in out or a.neg is not None:
                continue
            out.add(a.aid)
            f = self.facts_of(a)
            stack.extend(f.conj)
            for dj in f.disj:
                for br in dj.branches:
                    stack.extend(br)
        hit = frozenset(out)
        self._scopes[aid] = hit
        return hit

    def _uncovered(self, f: Facts, owners: set, unevaluated) -> tuple[list[Atom], bool]:
        """(atoms of the ``unevaluated*`` keywords that apply, forbidden) for a key or
        position covered by the clauses of ``owners``."""
        atoms = []
        for u, owner in unevaluated:
            if not owners & self._scope(owner):
                atoms.append(u)
        return atoms, (f.closed and not owners)

    def _value_atoms(self, f: Facts, matching) -> list[Atom] | None:
        """The atoms a property's value must satisfy: of each object clause ``c``, the
        atoms ``matching(c)`` gives (its ``properties``/``patternProperties`` that name
        the key), or its ``additionalProperties`` when none; then what
        ``unevaluatedProperties`` adds.  None when the key is forbidden there."""
        atoms: list[Atom] = []
        owners: set = set()
        for c in f.obj:
            mine = matching(c)
            if mine:
                atoms.extend(mine)
            elif c.additional is not None:
                atoms.append(c.additional)
            else:
                continue
            if c.evaluates:
                owners.add(c.owner)
        extra, forbidden = self._uncovered(f, owners, f.unevaluated_props)
        return None if forbidden else atoms + extra

    def _key_atoms(self, d: _Def, key: str) -> list[Atom] | None:
        """The atoms a property value must satisfy; None when the key is forbidden."""
        f = d.facts
        if key in f.forbidden:
            return None
        def matching(c) -> list[Atom]:
            a = c.prop(key)
            return ([a] if a is not None else []) + [
                pa for p, pa in c.patterns if check_pattern(p) is None and self._pattern_matches(p, key)]

        atoms = self._value_atoms(f, matching)
        if atoms is None:
            return None
        for pn in f.property_names:
            if not self.validate(pn, key):
                return None
        return atoms

    def _key_def(self, d: _Def, key: str) -> _Def | None:
        atoms = self._key_atoms(d, key)
        if atoms is None:
            return None
        return self.make_def(atoms)

    def _property_name_parts(self, d: _Def) -> tuple[list[TerminalDef], bool]:
        """(JSON-level terminals every generic key must match, possible) from
        ``propertyNames``."""
        f = d.facts
        out: list[TerminalDef] = []
        for pn in f.property_names:
            pd = self.make_def([pn])
            if self.is_empty(pd):
                return [], False
            if pd.pending:
                self.unsupported("propertyNames", pn.path, "combinators in propertyNames")
                continue
            pf = pd.facts
            if "string" not in pf.types:
                return [], False
            if pf.enums:
                vals = [v for v in self._enum_values(pd) if isinstance(v, str)]
                if not vals:
                    return [], False
                out.append(TerminalDef("|".join(re.escape(v) for v in vals), json_string=True))
                continue
            t = string_terminal(min_len=pf.min_len, max_len=pf.max_len,
                                patterns=[p for p, _ in pf.patterns if check_pattern(p) is None],
                                not_patterns=[p for p, _ in pf.not_patterns if check_pattern(p) is None],
                                formats=[n for n, _ in pf.formats], not_formats=[n for n, _ in pf.not_formats],
                                not_values=pf.not_values, pydantic=self.pydantic)
            if t is None:
                return [], False
            out.append(t)
        return out, True

    def _emit_object(self, d: _Def, depth, name: str) -> None:
        f = d.facts
        b = self.b
        inner = None if depth is None else depth + 1
        if f.max_props is not None and f.min_props > f.max_props:
            return
        # declared keys, in order
        declared: list[str] = []
        seen = set()
        for c in f.obj:
            for k, _ in c.props:
                if k not in seen:
                    seen.add(k)
                    declared.append(k)
        for k in f.required:
            if k not in seen:
                seen.add(k)
                declared.append(k)
        entries = []  # (key, value def, required)
        for k in declared:
            vd = self._key_def(d, k)
            if vd is None or self.is_empty(vd):
                if k in f.required:
                    return  # a required key cannot appear: no object
                continue
            entries.append((k, vd, k in f.required))
        if self.opts.property_order == "required_first":
            entries = [e for e in entries if e[2]] + [e for e in entries if not e[2]]
        excluded_names = sorted(seen | set(f.forbidden))
        generic = self._generic_entries(d, excluded_names, inner)
        colon = self.layout.colon()
        ent_syms = []
        for k, vd, req in entries:
            key_t = b.add_terminal(literal_terminal(k), origin=d.path)
            e = b.fresh("prop", origin=d.path)
            b.rule(e, [key_t, colon, self.nt(vd, inner)])
            ent_syms.append((e, req))
        gen_sym = None
        if generic:
            gen_sym = b.fresh("extra", origin=d.path)
            for key_t, vd in generic:
                b.rule(gen_sym, [key_t, colon, self.nt(vd, inner)])
        n = len(ent_syms)
        n_req = sum(1 for _, r in ent_syms if r)
        cmin, cmax = f.min_props, f.max_props
        if cmax is not None and n_req > cmax:
            return
        if gen_sym is None and cmin > n:
            return
        track = cmax is not None or cmin > n_req
        if track:
            cap = cmax if cmax is not None else cmin
            if cap > self.opts.max_items_unrolled:
                self.unsupported("maxProperties" if cmax is not None else "minProperties", d.path,
                                 "bound too large to count")
                track = False
                cap = 1
        else:
            cap = 1

        def nxt(c: int) -> int | None:
            if track:
                if cmax is not None:
                    return c + 1 if c + 1 <= cmax else None
                return min(c + 1, cap)
            return 1

        def can_close(c: int) -> bool:
            return c >= 1 and (not track or c >= cmin)

        extras_last = self.opts.extra_properties_last
        open_t = self.layout.open("{", depth)
        close_t = self.layout.close("}", depth)
        comma = self.layout.comma(depth)
        states: dict[tuple[str, int, int], str] = {}  # (kind "x" or "z", i, c) -> symbol
        todo: list[tuple[str, int, int, str]] = []

        def sep(c: int) -> list[str]:
            return [comma] if c > 0 else []

        def state(kind: str, i: int, c: int) -> str:
            s = states.get((kind, i, c))
            if s is None:
                s = states[(kind, i, c)] = b.fresh("obj", origin=d.path)
                todo.append((kind, i, c, s))
            return s

        def fill(kind: str, i: int, c: int, s: str) -> None:
            if kind == "x":
                if i < n:
                    if not ent_syms[i][1]:
                        b.rule(s, [state("x", i + 1, c)])
                    b.rule(s, [state("z", i, c)])
                else:
                    if can_close(c):
                        b.rule(s, [close_t])
                    if gen_sym is not None:
                        c2 = nxt(c)
                        if c2 is not None:
                            b.rule(s, sep(c) + [gen_sym, state("x", n, c2)])
                return
            c2 = nxt(c)
            if c2 is not None:
                if gen_sym is not None and not extras_last:
                    b.rule(s, sep(c) + [gen_sym, state("z", i, c2)])
                b.rule(s, sep(c) + [ent_syms[i][0], state("x", i + 1, c2)])

        if n_req == 0 and cmin == 0:
            b.rule(name, [self.layout.empty("{}", depth)])
        if self.opts.property_order == "any" and 1 < n <= _MAX_ANY_ORDER:
            self._any_order_object(name, ent_syms, gen_sym, open_t, close_t, comma, nxt, can_close, d.path)
            return
        b.rule(name, [open_t, state("x", 0, 0)])
        while todo:
            fill(*todo.pop())

    def _any_order_object(self, name, ent_syms, gen_sym, open_t, close_t, comma, nxt, can_close, origin) -> None:
        """Declared properties in any order: a state per (set written, count, and --
        with ``extra_properties_last`` -- whether the additional ones have begun, after
        which no declared property follows)."""
        b = self.b
        req = sum(1 << i for i, (_, r) in enumerate(ent_syms) if r)
        extras_last = self.opts.extra_properties_last
        memo: dict[tuple[int, int, bool], str] = {}
        todo: list[tuple[int, int, bool, str]] = []

        def st(done: int, c: int, tail: bool = False) -> str:
            s = memo.get((done, c, tail))
            if s is None:
                s = memo[(done, c, tail)] = b.fresh("obj", origin=origin)
                todo.append((done, c, tail, s))
            return s

        b.rule(name, [open_t, st(0, 0)])
        while todo:
            done, c, tail, s = todo.pop()
            sep = [comma] if c > 0 else []
            if done & req == req and can_close(c):
                b.rule(s, [close_t])
            c2 = nxt(c)
            if c2 is None:
                continue
            if not tail:
                for i, (e, _) in enumerate(ent_syms):
                    if not done >> i & 1:
                        b.rule(s, sep + [e, st(done | 1 << i, c2)])
            if gen_sym is not None and (not extras_last or done & req == req):
                b.rule(s, sep + [gen_sym, st(done, c2, extras_last)])

    def _generic_entries(self, d: _Def, excluded_names: list[str], inner) -> list[tuple[str, _Def]]:
        """(key terminal, value def) for the keys that are not declared."""
        f = d.facts
        patterns: list[str] = []
        for c in f.obj:
            for p, _ in c.patterns:
                if check_pattern(p) is None and p not in patterns:
                    patterns.append(p)
                elif check_pattern(p) is not None:
                    self.unsupported("patternProperties", d.path, f"pattern {p!r}: {check_pattern(p)}")
        pn_parts, possible = self._property_name_parts(d)
        if not possible:
            return []
        if len(patterns) > 4:
            subsets = self._overlapping_subsets(patterns)
        else:
            subsets = [frozenset(i for i in range(len(patterns)) if m >> i & 1) for m in range(1 << len(patterns))]
        key_base = generic_key_terminal(excluded_names)
        out = []
        for S in subsets:
            atoms = self._value_atoms(
                f, lambda c: [a for p, a in c.patterns if p in patterns and patterns.index(p) in S])
            if atoms is None:
                continue
            vd = self.make_def(atoms)
            if self.is_empty(vd):
                continue
            inter: list[TerminalDef] = []
            excl: list[TerminalDef] = []
            for i, p in enumerate(patterns):
                if i in S:
                    inter.extend(pattern_defs(p))
                else:
                    excl.extend(pattern_defs(p, negated=True))
            members: list[TerminalDef] = list(pn_parts)
            if inter or excl:
                main = inter[0] if inter else TerminalDef(".*", flags="s")
                members.append(TerminalDef(main.pattern, main.literal, main.dialect, main.flags, main.search, True,
                                           tuple(inter[1:]), tuple(excl)))
            term = TerminalDef(key_base.pattern, intersect=tuple(members), exclude=key_base.exclude)
            out.append((self.b.add_terminal(term, origin=d.path), vd))
        return out

    def _overlapping_subsets(self, patterns: list[str]) -> list[frozenset]:
        """Subsets of patterns that can match one key together (pairwise overlap
        checked on the automata), for many patternProperties."""
        from ..dfa import compile_terminal

        n = len(patterns)
        if n > 24:
            raise CompileError(f"too many patternProperties ({n})")
        adj = [[False] * n for _ in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                t = TerminalDef(patterns[i], dialect="ecma", search=True,
                                intersect=(TerminalDef(patterns[j], dialect="ecma", search=True),))
                try:
                    ov = not compile_terminal(t).is_empty()
                except CompileError:
                    ov = True
                adj[i][j] = adj[j][i] = ov
        out = [frozenset()]

        def extend(cur: list[int], start: int):
            for k in range(start, n):
                if all(adj[k][x] for x in cur):
                    s = cur + [k]
                    out.append(frozenset(s))
                    if len(out) > 4 * _MAX_PATTERN_CLASSES * n:
                        raise CompileError("too many overlapping patternProperties")
                    extend(s, k + 1)

        extend([], 0)
        return out
