"""JSON Schema → Grammar IR: disjunctions (``anyOf``, ``oneOf``, ``if``/``then``/``else``,
dependencies, ``not`` inside them).

A definition with an undecided disjunction becomes an alternation over its branches,
each conjoined with the definition.  ``oneOf`` needs exactly one branch: provably
disjoint branches (a discriminating ``const``/``enum`` property, or disjoint types)
are used as they are; otherwise each branch is conjoined with the negation of the
branches it overlaps.  Number of branch combinations bounded by ``_MAX_ONEOF_COMBOS``
and ``_MAX_COMBINATIONS``.
"""

from __future__ import annotations

from ._common import _MAX_COMBINATIONS, _MAX_ONEOF_COMBOS, _Def
from ._facts import Atom, Disj, Unsupported


class CombinatorsMixin:
    """Methods of ``_Compiler`` (see ``compiler``)."""

    def _check_combinations(self, d: _Def) -> None:
        """Refuse early when the undecided disjunctions of ``d`` multiply into too many
        combinations (e.g. a dozen ``dependencies`` with schemas)."""
        total = 1
        for i, dj in enumerate(d.pending):
            total *= max(1, len(dj.branches))
            if total > _MAX_COMBINATIONS:
                kw = dj.path.rsplit("/", 2)
                keyword = kw[-2] if len(kw) >= 2 and kw[-2] in ("dependencies", "dependentRequired",
                                                                  "dependentSchemas") else kw[-1]
                self.unsupported(keyword if not keyword.isdigit() else "anyOf", dj.path,
                                 f"{len(d.pending)} alternatives here combine into more than "
                                 f"{_MAX_COMBINATIONS} cases")
                d.pending = d.pending[:i]  # lenient: the rest is dropped
                return

    def _emit_disjunction(self, d: _Def, depth, name: str) -> None:
        self._check_combinations(d)
        dj = d.pending[0]
        resolved = self._resolved_of(d) | {dj.did}
        branches = list(dj.branches)
        if dj.kind == "one" and len(branches) > 1:
            branches = self._exclusive_branches(d, dj, resolved)
        for branch in branches:
            sub = self.make_def(d.atoms + tuple(branch), resolved)
            if self.is_empty(sub):
                continue
            self.b.rule(name, [self.nt(sub, depth)])

    def _overlaps(self, d: _Def, dj: Disj, resolved: frozenset, extra: tuple = ()) -> list[list[bool]]:
        n = len(dj.branches)
        overlap = [[False] * n for _ in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                both = self.make_def(d.atoms + dj.branches[i] + dj.branches[j] + extra, resolved)
                if not self.is_empty(both):
                    overlap[i][j] = overlap[j][i] = True
        return overlap

    def _discriminator(self, d: _Def, dj: Disj, resolved: frozenset) -> Atom | None:
        """A property, declared by every branch, whose presence makes the branches
        pairwise disjoint (a tag like ``"kind": {"const": ...}``); as a
        ``required`` atom, or None."""
        names = None
        for br in dj.branches:
            bd = self.make_def(d.atoms + br, resolved)
            keys = {k for c in bd.facts.obj for k, _ in c.props}
            for sub in bd.pending[:1]:
                for b2 in sub.branches:
                    bd2 = self.make_def(bd.atoms + b2, resolved | {sub.did})
                    keys |= {k for c in bd2.facts.obj for k, _ in c.props}
            names = keys if names is None else names & keys
            if not names:
                return None
        for k in sorted(names):
            req = self.synthetic({"required": [k]}, dj.path + f"/(required {k})")
            ov = self._overlaps(d, dj, resolved, (req,))
            if not any(any(row) for row in ov):
                return req
        return None

    def _neg_size(self, atom: Atom, depth: int = 0) -> int:
        """Rough number of branches of a negation once distributed."""
        f = self.facts_of(atom)
        if depth > 3:
            return 1
        total = 0
        for dj in f.disj:
            for br in dj.branches:
                prod = 1
                for a in br:
                    prod *= self._neg_size(a, depth + 1) if a.neg is not None else 1
                total += prod
        for a in f.conj:
            total = max(total, 1) * (self._neg_size(a, depth + 1) if a.neg is not None else 1)
        return max(total, 1)

    def _exclusive_branches(self, d: _Def, dj: Disj, resolved: frozenset) -> list[tuple[Atom, ...]]:
        """``oneOf``: branches made exclusive.  Provably disjoint branches stay as
        they are; else a tag property that separates them is required (a note says
        so); else each branch is conjoined with the negation of the branches it may
        overlap."""
        n = len(dj.branches)
        overlap = self._overlaps(d, dj, resolved)
        if not any(any(row) for row in overlap):
            return list(dj.branches)
        req = self._discriminator(d, dj, resolved)
        if req is not None:
            self.note(f"oneOf branches overlap unless {req.schema['required'][0]!r} is present: it is required",
                      dj.path)
            return [tuple(br) + (req,) for br in dj.branches]
        out = []
        for i in range(n):
            extra = []
            combos = 1
            for j in range(n):
                if overlap[i][j]:
                    na = self.parser.not_atom(dj.branches[j])
                    try:
                        self.parser.facts(na)  # is the negation enforceable?
                    except Unsupported as exc:
                        self.unsupported("oneOf", dj.path, f"branches {i} and {j} may overlap and the "
                                         f"negation of branch {j} is not enforceable ({exc.keyword}: "
                                         f"{exc.reason} at {exc.path})")
                        continue
                    combos *= self._neg_size(na)
                    extra.append(na)
            if combos > _MAX_ONEOF_COMBOS:
                self.unsupported("oneOf", dj.path, f"branch {i} overlaps {len(extra)} others; excluding them "
                                 f"needs about {combos} combinations")
                extra = []
            out.append(tuple(dj.branches[i]) + tuple(extra))
        return out
