"""JSON Schema → Grammar IR: numbers and strings, ``const`` and ``enum`` values.

``type: number/integer`` with ``minimum``/``maximum``/``exclusive*``/``multipleOf``
becomes one number terminal (``numbers``); ``type: string`` with
``minLength``/``maxLength``/``pattern``/``format`` one string terminal (``strings``,
``formats``), its length capped where the automaton would grow too large (a note
says so).  ``const`` and ``enum`` values are emitted literally, objects in them in
their own key order (or any order with ``property_order="any"``).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

from ..errors import CompileError
from ..ir import TerminalDef
from . import numbers as _num
from ._common import _Def, _number_like
from ._facts import Facts, canonical_value_key
from .strings import check_pattern, literal_terminal, long_string_rules, value_terminal, with_length


class ScalarsMixin:
    """Methods of ``_Compiler`` (see ``compiler``)."""

    def _num_constraint(self, f: Facts, kind: str) -> _num.NumberConstraint:
        nc = f.num
        if kind == "integer":
            nc = replace(nc, integer=True)
        return nc

    def _number_terminal(self, d: _Def, kind: str) -> str | None:
        f = d.facts
        nc = self._num_constraint(f, kind)
        try:
            parts = _num.number_terminal_parts(nc)
        except CompileError as exc:
            self.unsupported("multipleOf", f.num_path or d.path, str(exc))
            parts = _num.number_terminal_parts(replace(nc, multiple_of=()))
        if parts is None:
            return None
        excl: list[TerminalDef] = []
        for v in f.not_values:
            if _number_like(v) and (not isinstance(v, float) or math.isfinite(v)):
                excl.append(TerminalDef(_num.value_pattern(v)))
        for m in f.not_multiple:
            try:
                mp = _num.number_terminal_parts(_num.NumberConstraint(multiple_of=(m,)))
            except CompileError as exc:
                self.unsupported("not", f.num_path or d.path, f"multipleOf {m!r}: {exc}")
                continue
            # multiples: int-form literals in all the patterns
            if mp is not None:
                excl.append(TerminalDef(mp[0], intersect=tuple(TerminalDef(p) for p in mp[1:])))
        inter = [TerminalDef(p) for p in parts[1:]]
        if f.int_forms_only or (kind == "integer" and self.draft <= 4):
            # draft 4 validators: "integer" excludes 1.0
            inter.append(TerminalDef(_num.JSON_INTEGER))
        if f.non_integer:
            if kind == "integer":
                return None
            inter.append(TerminalDef(_num.non_integer_pattern()))
        if nc.integer or nc.multiple_of:  # literals are I or I.0+ spellings
            ib = _num.integer_bounds(nc)
            if ib is not None and ib[0] is not None and ib[1] is not None:
                cap = self._number_cap(len(str(ib[0])), len(str(ib[1])))
                if cap is not None:
                    inter.append(cap)
        return self.b.add_terminal(TerminalDef(parts[0], intersect=tuple(inter), exclude=tuple(excl)),
                                   origin=f.num_path or d.path)

    def _number_cap(self, *plain_lengths: int) -> TerminalDef | None:
        """The length limit on literals of a bounded number (``max_number_padding``)."""
        pad = self.opts.max_number_padding
        if pad is None:
            return None
        return TerminalDef(f"[-+.0-9eE]{{1,{max(plain_lengths) + pad}}}")

    def _value_terminal(self, pattern: str, values: list) -> TerminalDef:
        """Terminal of the literals equal to one of the numbers ``values``."""
        cap = self._number_cap(*(len(json.dumps(v)) for v in values))
        return TerminalDef(pattern, intersect=() if cap is None else (cap,))

    def _string_symbol(self, d: _Def) -> str | None:
        f = d.facts
        for p, where in f.patterns + f.not_patterns:
            err = check_pattern(p)
            if err is not None:
                self.unsupported("pattern", where, err)
        value = value_terminal(patterns=[p for p, _ in f.patterns if check_pattern(p) is None],
                               not_patterns=[p for p, _ in f.not_patterns if check_pattern(p) is None],
                               formats=[n for n, _ in f.formats], not_formats=[n for n, _ in f.not_formats],
                               not_values=f.not_values, pydantic=self.pydantic)
        lo, hi = f.min_len, f.max_len
        if hi is not None and lo > hi:
            return None
        limit = self.opts.max_string_dfa_length
        if value is None:
            if (hi is not None and hi > limit) or lo > limit:
                key = ("longstr", lo, hi)
                hit = self._count_nts.get(key)
                if hit is None:
                    hit = long_string_rules(self.b, lo, hi, self._count_rules, origin=d.path)
                    self._count_nts[key] = hit
                return hit
            return self.b.add_terminal(with_length(None, lo, hi), origin=d.path)
        if (hi is not None and hi > limit) or lo > limit:
            raw = value_terminal(formats=[n for n, _ in f.formats], pydantic=self.pydantic, prefer_raw=True) \
                if f.formats and not (f.patterns or f.not_patterns or f.not_formats) else None
            if raw is not None and not raw.json_string:
                value = raw
            hi = self._cap_length(value, lo, hi, d)
            if hi is not None and lo > hi:
                return None
        term = with_length(value, lo, hi)
        return None if term is None else self.b.add_terminal(term, origin=d.path)

    def _cap_length(self, value: TerminalDef, lo: int, hi: int | None, d: _Def) -> int | None:
        """A ``maxLength`` for which ``value`` ∩ length stays a small automaton.

        The automaton grows with (states of ``value``) × (bound); when that is too
        large the bound is lowered (the language shrinks: still sound) and a note
        says so; a ``minLength`` that cannot be counted is unsupported."""
        from ..dfa import compile_terminal

        try:
            states = compile_terminal(value).n_states
        except CompileError as exc:
            self.unsupported("pattern", d.path, str(exc))
            return hi
        budget = max(16, 24000 // max(states, 1))
        if lo > budget:
            self.unsupported("minLength", f"{d.path}/minLength", f"minLength {lo} with this pattern/format needs too large "
                                                  "an automaton")
            return hi
        if hi is not None and hi > budget:
            self.note(f"maxLength {hi} lowered to {budget} (the pattern/format automaton has {states} states)",
                      d.path)
            return budget
        return hi

    def _value_nt(self, v, depth) -> str:
        key = (canonical_value_key(v), type(v).__name__, depth)
        hit = self._value_nts.get(key)
        if hit is not None:
            return hit
        b = self.b
        if v is None:
            sym = b.literal("null")
        elif v is True:
            sym = b.literal("true")
        elif v is False:
            sym = b.literal("false")
        elif _number_like(v):
            sym = b.add_terminal(self._value_terminal(_num.value_pattern(v), [v]))
        elif isinstance(v, str):
            sym = b.add_terminal(literal_terminal(v))
        elif isinstance(v, list):
            sym = b.fresh("lit")
            if not v:
                b.rule(sym, [self.layout.empty("[]", depth)])
            else:
                inner = None if depth is None else depth + 1
                seq = [self.layout.open("[", depth)]
                for i, x in enumerate(v):
                    if i:
                        seq.append(self.layout.comma(depth))
                    seq.append(self._value_nt(x, inner))
                seq.append(self.layout.close("]", depth))
                b.rule(sym, seq)
        elif isinstance(v, dict):
            sym = b.fresh("lit")
            if not v:
                b.rule(sym, [self.layout.empty("{}", depth)])
            else:
                inner = None if depth is None else depth + 1
                members = []
                for k, x in v.items():
                    e = b.fresh("litm")
                    b.rule(e, [b.add_terminal(literal_terminal(k)), self.layout.colon(),
                               self._value_nt(x, inner)])
                    members.append(e)
                self._any_order(sym, members, depth)

        else:
            raise CompileError(f"not a JSON value in enum/const: {v!r}")
        self._value_nts[key] = sym
        return sym

    def _any_order(self, sym: str, members: list[str], depth) -> None:
        """``sym`` → an object with all ``members`` (``key: value`` nonterminals) in
        any order (a set-of-written-members state each; declared order only beyond
        5 members)."""
        b = self.b
        open_t = self.layout.open("{", depth)
        close_t = self.layout.close("}", depth)
        comma = self.layout.comma(depth)
        n = len(members)
        if n > 5:
            seq = [open_t]
            for i, e in enumerate(members):
                if i:
                    seq.append(comma)
                seq.append(e)
            b.rule(sym, seq + [close_t])
            return
        full = (1 << n) - 1
        memo: dict[int, str] = {}

        def state(done: int) -> str:
            if done in memo:
                return memo[done]
            s = b.fresh("lits")
            memo[done] = s
            if done == full:
                b.rule(s, [close_t])
            for i in range(n):
                if not done >> i & 1:
                    b.rule(s, [comma, members[i], state(done | 1 << i)])
            return s

        for i in range(n):
            b.rule(sym, [open_t, members[i], state(1 << i)])
