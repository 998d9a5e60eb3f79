"""JSON Schema → Grammar IR.

The compiler works on *definitions*: a definition is a set of schema atoms that an
instance must satisfy together (an ``allOf``, a ``$ref`` with siblings, a branch of
an ``anyOf`` conjoined with its context ...) plus the disjunctions already decided
for it.  Each definition becomes one nonterminal; its rules are made on demand, so
recursive schemas (``$ref`` cycles) give recursive rules and unreachable parts of a
schema are never compiled.

A definition's nonterminal is

* an alternation over the branches of its first undecided disjunction (``anyOf``;
  ``oneOf`` when its branches are provably disjoint, else each branch conjoined with
  the negation of the overlapping ones; ``if``/``then``/``else``; dependencies), or
* for a definition without disjunctions, an alternation over the JSON types it
  allows: ``null``/``true``/``false`` literals, one number terminal (digit-range
  regexes), one ``json_string`` terminal, or array/object rules.

Objects use the declared property order; required properties cannot be skipped,
additional properties come after the declared ones (between them with
``extra_properties_last=False``), and ``min/maxProperties`` count with O(n·k) rules.  Arrays count positions up to what the bounds need.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import warnings
from dataclasses import replace

from referencing.exceptions import Unresolvable

from ..errors import CompileError
from ..ir import GrammarBuilder, GrammarIR, TerminalDef
from . import numbers as _num
from ._facts import (
    ArrClause,
    Atom,
    Disj,
    Facts,
    Parser,
    Unsupported,
    canonical_value_key,
    merge_all,
    numeric_kind,
)
from .options import JsonSchemaOptions, SchemaRelaxedWarning
from .strings import (
    check_pattern,
    generic_key_terminal,
    literal_terminal,
    literals_terminal,
    long_string_rules,
    pattern_defs,
    string_terminal,
    value_terminal,
    with_length,
)

__all__ = ["JsonSchema", "compile_schema"]

_ROOT_URI = "urn:structgen:schema"
_MAX_DEFS = 20_000
_MAX_PATTERN_CLASSES = 16
_MAX_ONEOF_COMBOS = 512
_MAX_COMBINATIONS = 4096
_MAX_ANY_ORDER = 8  # property_order="any": up to 2^8 states per object


class _Def:
    """A conjunction of atoms with some disjunctions decided."""

    __slots__ = ("key", "atoms", "facts", "pending", "name", "empty", "path")

    def __init__(self, key, atoms: tuple[Atom, ...], facts: Facts, pending: tuple[Disj, ...], path: str):
        self.key = key
        self.atoms = atoms
        self.facts = facts
        self.pending = pending
        self.name: dict[int | None, str] = {}
        self.empty: bool | None = None
        self.path = path


def _esc_literal(text: str) -> str:
    return re.escape(text)


class _Layout:
    """Punctuation terminals for one whitespace mode."""

    def __init__(self, b: GrammarBuilder, opts: JsonSchemaOptions):
        self.b = b
        self.opts = opts
        self.indent = opts.indent
        self.ws = self.outer_ws = None
        if opts.indent is None and opts.whitespace == "any":
            ws = opts.whitespace_pattern or f"[ \\t\\n\\r]{{0,{opts.max_whitespace}}}"
            self.ws = self.outer_ws = f"(?:{ws})"
        elif opts.indent is None and opts.whitespace == "flexible":
            # What models write between JSON tokens: nothing, one space, or a line break
            # and an indentation -- not a long run of blanks they can spend tokens on.
            ws = opts.whitespace_pattern or f"(?: |\\r?\\n[ \\t]{{0,{opts.max_whitespace}}})?"
            self.ws = f"(?:{ws})"

    def _t(self, pattern: str) -> str:
        return self.b.add_terminal(TerminalDef(pattern))

    def _lit(self, text: str) -> str:
        return self.b.add_terminal(TerminalDef(text, literal=True))

    def open(self, ch: str, depth: int | None) -> str:
        """``{`` or ``[`` of a non-empty container."""
        if self.indent is not None:
            return self._lit(ch + "\n" + " " * (self.indent * (depth + 1)))
        if self.ws is not None:
            return self._t(re.escape(ch) + self.ws)
        return self._lit(ch)

    def close(self, ch: str, depth: int | None) -> str:
        if self.indent is not None:
            return self._lit("\n" + " " * (self.indent * depth) + ch)
        if self.ws is not None:
            return self._t(self.ws + re.escape(ch))
        return self._lit(ch)

    def empty(self, pair: str, depth: int | None) -> str:
        if self.ws is not None:
            return self._t(re.escape(pair[0]) + self.ws + re.escape(pair[1]))
        return self._lit(pair)

    def comma(self, depth: int | None) -> str:
        if self.indent is not None:
            return self._lit(",\n" + " " * (self.indent * (depth + 1)))
        if self.ws is not None:
            return self._t(self.ws + "," + self.ws)
        return self._lit(",")

    def colon(self) -> str:
        if self.indent is not None:
            return self._lit(": ")
        if self.ws is not None:
            return self._t(self.ws + ":" + self.ws)
        return self._lit(":")

    def outer(self) -> str | None:
        """Optional whitespace around the whole value (``whitespace="any"`` only: a
        complete value otherwise ends at once, as in the peers)."""
        if self.outer_ws is None:
            return None
        return self._t(self.outer_ws)


_LITERAL_PATTERN = re.compile(r"\^((?:[A-Za-z0-9_ \-:/@#%&=,;'<>~`!]|\\[.\\/+*?()\[\]{}|^$-])*)\$")


def _pattern_literal(pattern: str) -> str | None:
    """The one string an anchored literal pattern (``^Foo\\.bar$``) matches; None
    for any other pattern."""
    m = _LITERAL_PATTERN.fullmatch(pattern)
    if m is None:
        return None
    return re.sub(r"\\(.)", r"\1", m.group(1))


def _number_like(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class _Compiler:
    def __init__(self, schema, opts: JsonSchemaOptions, *, pydantic: bool = False,
                 remotes: dict | None = None):
        import referencing
        import referencing.jsonschema as rj
        from jsonschema import validators as jv

        self.opts = opts
        self.pydantic = pydantic
        self.notes: list[str] = []
        self.relaxed: list[str] = []
        self.closed_default = (opts.additional_properties_default is False
                               or (opts.additional_properties_default is None and pydantic))
        dialect = schema.get("$schema") if isinstance(schema, dict) else None
        try:
            spec = rj.specification_with(dialect) if isinstance(dialect, str) else rj.DRAFT202012
        except rj.UnknownDialect:  # read as 2020-12
            spec = rj.DRAFT202012
            self.notes.append(f"unknown $schema {dialect!r}: read as draft 2020-12")
        self.spec = spec
        name = getattr(spec, "name", "draft2020-12").replace("-0", "")
        self.draft = {"draft3": 3, "draft4": 4, "draft6": 6, "draft7": 7, "draft2019-9": 8,
                      "draft2019-09": 8, "draft2020-12": 9}.get(name, 9)
        if self.draft == 3:
            raise CompileError("draft 3 schemas are not supported", where="#/$schema")
        resource = spec.create_resource(schema)
        root_id = resource.id() if isinstance(schema, dict) else None
        self.root_uri = root_id.rstrip("#") if root_id else _ROOT_URI
        registry = referencing.Registry()
        for uri, remote in (remotes or {}).items():
            registry = registry.with_resource(uri, referencing.Resource.from_contents(remote, default_specification=spec))
        registry = registry.with_resource(self.root_uri, resource)
        try:
            self.registry = registry.crawl()
        except (AttributeError, TypeError, ValueError):  # a subschema that is neither object nor boolean, a bad $id
            # (e.g. a list where a schema belongs): references resolve by JSON pointer
            # without the crawl; embedded $id bases are then unknown
            self.registry = registry
            self.notes.append("malformed subschemas: embedded $id resources were not indexed")
        self.resolver = self.registry.resolver(base_uri=self.root_uri)
        cls = jv.validator_for(schema, default=jv.Draft202012Validator) if isinstance(schema, dict) \
            else jv.Draft202012Validator
        self._validator = cls(schema, registry=self.registry, format_checker=cls.FORMAT_CHECKER)
        self._atoms: dict[tuple, Atom] = {}
        self._atom_list: list[Atom] = []
        self.parser = Parser(self)
        self.root = self._atom(schema, self.resolver, "#")
        self.b = GrammarBuilder()
        self.layout = _Layout(self.b, opts)
        self._defs: dict[tuple, _Def] = {}
        self._todo: list[tuple[_Def, int | None]] = []
        self._value_nts: dict[tuple, str] = {}
        self._count_nts: dict[tuple, str] = {}
        self._pattern_match_cache: dict[tuple[str, str], bool] = {}
        self._valid_cache: dict[tuple[int, str], bool] = {}
        self._emptiness_stack: set = set()
        self._dynamic_anchors = None
        self._scopes: dict[int, frozenset] = {}
        self._trivial_cache: dict[int, bool] = {}
        self._enum_cache: dict[tuple, list] = {}
        self._make_cache: dict[tuple, _Def] = {}

    # -- ctx interface for the parser ---------------------------------------

    def note(self, text: str, where: str) -> None:
        self.notes.append(f"{text} (at {where})")

    def _atom(self, schema, resolver, path: str, *, evaluates: bool = True) -> Atom:
        base = resolver._base_uri if resolver is not None else ""
        key = (id(schema) if isinstance(schema, (dict, list)) else repr(schema), base, evaluates)
        hit = self._atoms.get(key)
        if hit is not None:
            return hit
        a = Atom(len(self._atom_list), schema, resolver, path, evaluates=evaluates)
        self._atoms[key] = a
        self._atom_list.append(a)
        return a

    def subatom(self, schema, parent: Atom, *parts) -> Atom:
        path = parent.path
        for p in parts:
            path += "/" + str(p).replace("~", "~0").replace("/", "~1")
        resolver = parent.resolver
        if isinstance(schema, dict) and resolver is not None:
            try:
                resolver = resolver.in_subresource(self.spec.create_resource(schema))
            except (AttributeError, TypeError, ValueError):  # what referencing raises for one
                raise CompileError(f"invalid $id {schema.get('$id')!r}: not a URI reference",
                                   where=path + "/$id") from None
        return self._atom(schema, resolver, path, evaluates=parent.evaluates)

    def synthetic(self, schema, path: str, *, neg=None, base: Atom | None = None, evaluates: bool = True) -> Atom:
        """A schema made by the compiler (kept alive in the atom table)."""
        resolver = base.resolver if base is not None else self.resolver
        a = Atom(len(self._atom_list), schema, resolver, path, neg=neg,
                 evaluates=evaluates and (base.evaluates if base is not None else True))
        self._atom_list.append(a)
        return a

    def fact_atom(self, facts: Facts, validate, path: str) -> Atom:
        """An atom given by its facts and a Python validator."""
        a = Atom(len(self._atom_list), None, None, path, evaluates=False)
        a._facts = facts
        a.schema = validate  # the validator stands in for the schema
        self._atom_list.append(a)
        return a

    def lookup(self, ref, atom: Atom, kw: str) -> Atom:
        if not isinstance(ref, str):
            raise CompileError(f"{kw} must be a string", where=atom.path + "/" + kw)
        resolver = atom.resolver or self.resolver
        if kw == "$dynamicRef":
            self._check_dynamic(ref, atom)
        try:
            resolved = resolver.lookup(ref)
        except (Unresolvable, LookupError, ValueError) as exc:  # ValueError: a malformed URI
            raise CompileError(f"cannot resolve {kw} {ref!r}: {type(exc).__name__}: {exc}",
                               where=atom.path + "/" + kw) from None
        frag = ref.split("#", 1)[1] if "#" in ref else ""
        path = ("#" + frag) if (frag.startswith("/") or frag == "") and not ref.split("#", 1)[0] \
            else ref
        return self._atom(resolved.contents, resolved.resolver, path, evaluates=atom.evaluates)

    def _check_dynamic(self, ref: str, atom: Atom) -> None:
        """``$dynamicRef`` is compiled as ``$ref``; that is exact when only one
        ``$dynamicAnchor`` of that name exists anywhere."""
        name = ref.split("#", 1)[1] if "#" in ref else ""
        if not name or name.startswith("/"):
            return
        if self._dynamic_anchors is None:
            counts: dict[str, int] = {}

            def walk(x):
                if isinstance(x, dict):
                    a = x.get("$dynamicAnchor")
                    if isinstance(a, str):
                        counts[a] = counts.get(a, 0) + 1
                    for v in x.values():
                        walk(v)
                elif isinstance(x, list):
                    for v in x:
                        walk(v)

            for uri in list(self.registry):
                walk(self.registry[uri].contents)
            self._dynamic_anchors = counts
        if self._dynamic_anchors.get(name, 0) > 1:
            raise Unsupported("$dynamicRef", atom.path + "/$dynamicRef",
                              f"several $dynamicAnchor {name!r}: the target depends on the dynamic scope")

    def facts_of(self, atom: Atom) -> Facts:
        try:
            return self.parser.facts(atom)
        except Unsupported as exc:
            self.unsupported(exc.keyword, exc.path, exc.reason)
            atom._facts = Facts()
            return atom._facts

    def is_true(self, atom: Atom) -> bool:
        f = self.facts_of(atom)
        return f.is_trivial() and not f.disj and all(self.is_true(a) for a in f.conj)

    def validate(self, atom: Atom, value) -> bool:
        """Exact validity of a JSON value against one atom."""
        if atom.neg is not None:
            inner = atom.neg
            if isinstance(inner, tuple):
                return not all(self.validate(a, value) for a in inner)
            return not self.validate(inner, value)
        if callable(atom.schema):
            return bool(atom.schema(value))
        v = self._validator.evolve(schema=atom.schema, _resolver=atom.resolver or self.resolver)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return v.is_valid(value)
            except (Unresolvable, LookupError) as exc:
                raise CompileError(f"cannot check a value against this subschema: {type(exc).__name__}: {exc}",
                                   where=atom.path) from None

    def unsupported(self, keyword: str, path: str, reason: str) -> None:
        """Raise :class:`CompileError`, or (lenient) record and warn."""
        msg = f"{keyword} cannot be enforced: {reason}"
        if not self.opts.lenient:
            raise CompileError(msg, where=path)
        self.relaxed.append(f"{msg} (at {path})")
        warnings.warn(SchemaRelaxedWarning(f"relaxed {msg} (at {path})"), stacklevel=4)

    # -- definitions --------------------------------------------------------

    def _trivial(self, a: Atom) -> bool:
        """True when the atom's own facts constrain nothing (conj/disj aside)."""
        t = self._trivial_cache.get(a.aid)
        if t is None:
            t = self._trivial_cache[a.aid] = self.facts_of(a).is_trivial()
        return t

    def make_def(self, atoms, resolved: frozenset = frozenset()) -> _Def:
        """The definition of the conjunction of ``atoms`` (closure over ``allOf``,
        ``$ref``, ``not``) with the disjunctions in ``resolved`` already decided."""
        in_key = (frozenset(a.aid for a in atoms), resolved)
        hit = self._make_cache.get(in_key)
        if hit is not None:
            return hit
        # the closure in schema order (depth first, allOf members and $ref targets where
        # they are written), which is the order the merged properties are declared in
        closure: list[Atom] = []
        seen: set[int] = set()
        stack = list(reversed(atoms))
        while stack:
            a = stack.pop()
            if a.aid in seen:
                continue
            seen.add(a.aid)
            closure.append(a)
            stack.extend(reversed(self.facts_of(a).conj))
        keep: list[Atom] = []
        used: set[int] = set()
        for a in closure:
            f = self.facts_of(a)
            has_open = False
            for dj in f.disj:
                if dj.did in resolved:
                    used.add(dj.did)
                else:
                    has_open = True
            if has_open or not self._trivial(a):
                keep.append(a)
        # the decided disjunctions of every atom in the closure stay decided, also those
        # of atoms left out of ``keep`` (trivial once decided, e.g. an allOf member holding
        # only an if/then): forgetting them would reopen the choice below and make a
        # cycle, which the emptiness check reads as "empty"
        key = (frozenset(a.aid for a in keep), frozenset(used))
        d = self._defs.get(key)
        if d is None:
            if len(self._defs) > _MAX_DEFS:
                raise CompileError(f"schema too large: more than {_MAX_DEFS} distinct subschema combinations "
                                   "(nested anyOf/allOf)", where=keep[0].path if keep else "#")
            pending: list[Disj] = []
            for a in keep:
                pending.extend(dj for dj in self.facts_of(a).disj if dj.did not in resolved)
            facts = merge_all([self.facts_of(a) for a in keep])
            d = _Def(key, tuple(keep), facts, tuple(pending), keep[0].path if keep else "#")
            self._defs[key] = d
        self._make_cache[in_key] = d
        return d

    def nt(self, d: _Def, depth: int | None) -> str:
        name = d.name.get(depth)
        if name is None:
            name = self.b.fresh("s", origin=d.path)
            d.name[depth] = name
            self._todo.append((d, depth))
        return name

    def run(self) -> GrammarIR:
        root = self.make_def([self.root])
        depth = 0 if self.opts.indent is not None else None
        top = self.nt(root, depth)
        while self._todo:
            d, dep = self._todo.pop()
            self._emit(d, dep)
        start = self.b.fresh("start", origin="#")
        ws = self.layout.outer()
        if ws is not None:
            self.b.rule(start, [ws, top, ws])
        else:
            self.b.rule(start, [top])
        return self.b.build(start)

    # -- emptiness ----------------------------------------------------------

    def is_empty(self, d: _Def) -> bool:
        """True when no instance satisfies ``d`` (a sound under-approximation of
        emptiness: False may still be an empty language, e.g. contradictory
        patterns)."""
        if d.empty is not None:
            return d.empty
        if d.key in self._emptiness_stack:
            return True  # least fixpoint: a cycle alone produces nothing
        self._emptiness_stack.add(d.key)
        try:
            result = self._compute_empty(d)
        finally:
            self._emptiness_stack.discard(d.key)
        # "non-empty" found while assuming the definitions being checked are empty is
        # true regardless; "empty" is only final outside any such assumption
        if not result or not self._emptiness_stack:
            d.empty = result
        return result

    def _compute_empty(self, d: _Def) -> bool:
        f = d.facts
        if not f.types:
            return True
        # the facts alone first: disjunctions only add constraints
        if self._facts_empty(d):
            return True
        if d.pending:
            self._check_combinations(d)
            dj = d.pending[0]
            for branch in dj.branches:
                sub = self.make_def(d.atoms + branch, self._resolved_of(d) | {dj.did})
                if not self.is_empty(sub):
                    return False
            return True
        return False

    def _facts_empty(self, d: _Def) -> bool:
        """True when the facts of ``d`` (disjunctions aside) admit no instance."""
        f = d.facts
        if f.enums:
            if d.pending:
                return False  # enum values are validated against the whole def
            return not self._enum_values(d)
        for t in self._types_of(f):
            if t in ("null", "boolean"):
                if t == "null" and None in f.not_values:
                    continue
                return False
            if t in ("number", "integer"):
                if f.non_integer and t == "integer":
                    continue
                try:
                    if _num.number_pattern(self._num_constraint(f, t)) is not None:
                        return False
                except CompileError:
                    return False
                continue
            if t == "string":
                if f.max_len is not None and f.min_len > f.max_len:
                    continue
                if self._string_possible(f):
                    return False
                continue
            if t == "array":
                if self._array_possible(d):
                    return False
                continue
            if t == "object":
                if self._object_possible(d):
                    return False
                continue
        return True

    def _string_possible(self, f: Facts) -> bool:
        """False when the string constraints certainly admit no string: decided on
        the automaton when several patterns/formats or exclusions meet (cheap
        enough: terminal DFAs are memoized and reused by the grammar compiler)."""
        n_pos = len(f.patterns) + len(f.formats)
        n_neg = len(f.not_patterns) + len(f.not_formats) + sum(isinstance(v, str) for v in f.not_values)
        if n_pos + n_neg < 2 and not (n_neg and f.max_len is not None and f.max_len <= 2):
            return True
        if any(check_pattern(p) is not None for p, _ in f.patterns + f.not_patterns):
            return True
        lits = {_pattern_literal(p) for p, _ in f.patterns} - {None}
        if len(lits) > 1:
            return False  # two different exact literals (^Foo$ and ^Bar$)
        from ..dfa import compile_terminal

        value = value_terminal(patterns=[p for p, _ in f.patterns], not_patterns=[p for p, _ in f.not_patterns],
                               formats=[n for n, _ in f.formats], not_formats=[n for n, _ in f.not_formats],
                               not_values=f.not_values, pydantic=self.pydantic)
        if value is None:
            return True
        hi = f.max_len if f.max_len is not None and f.max_len <= self.opts.max_string_dfa_length else None
        lo = f.min_len if f.min_len <= self.opts.max_string_dfa_length else 0
        try:
            return not compile_terminal(with_length(value, lo, hi)).is_empty()
        except CompileError:
            return True

    def _resolved_of(self, d: _Def) -> frozenset:
        return d.key[1]

    def _types_of(self, f: Facts) -> list[str]:
        out = [t for t in ("null", "boolean", "object", "array", "string") if t in f.types]
        k = numeric_kind(f.types)
        if k:
            out.append(k)
        return out

    def _array_possible(self, d: _Def) -> bool:
        f = d.facts
        if f.max_items is not None and f.min_items > f.max_items:
            return False
        for i in range(f.min_items):
            el = self._elem_def(f, i)
            if self.is_empty(el):
                return False
            if i > 64:
                break
        for c_atom, cmin, cmax, _ in f.contains:
            if cmax is not None and cmin > cmax:
                return False
            if cmin > 0 and self.is_empty(self.make_def([c_atom])):
                return False
        return True

    def _object_possible(self, d: _Def) -> bool:
        f = d.facts
        if f.max_props is not None and (len(f.required) > f.max_props or f.min_props > f.max_props):
            return False
        if set(f.required) & f.forbidden:
            return False
        for k in f.required:
            vd = self._key_def(d, k)
            if vd is None or self.is_empty(vd):
                return False
        return True

    # -- enums --------------------------------------------------------------

    def _enum_values(self, d: _Def) -> list:
        hit = self._enum_cache.get(d.key)
        if hit is None:
            hit = self._enum_cache[d.key] = self._compute_enum_values(d)
        return hit

    def _compute_enum_values(self, d: _Def) -> list:
        f = d.facts
        out = []
        seen = set()
        for v in f.enums[0]:
            key = canonical_value_key(v) + "|" + type(v).__name__
            if key in seen:
                continue
            seen.add(key)
            if all(self.validate(a, v) for a in d.atoms):
                out.append(v)
        return out

    # -- emission -----------------------------------------------------------

    def _emit(self, d: _Def, depth: int | None) -> None:
        name = d.name[depth]
        if self.opts.indent is not None and depth is not None and depth > self.opts.max_indent_depth:
            return  # nesting too deep for indent mode: no alternatives
        f = d.facts
        if not f.types:
            return
        if d.pending:
            self._emit_disjunction(d, depth, name)
            return
        if f.enums:
            values = self._enum_values(d)
            strings = [v for v in values if isinstance(v, str)]
            nums = [v for v in values if _number_like(v)]
            if len(strings) > 1:
                self.b.rule(name, [self.b.add_terminal(literals_terminal(strings), origin=d.path)])
            if len(nums) > 1:
                pat = "|".join(f"(?:{_num.value_pattern(v)})" for v in nums)
                self.b.rule(name, [self.b.add_terminal(self._value_terminal(pat, nums), origin=d.path)])
            for v in values:
                if (len(strings) > 1 and isinstance(v, str)) or (len(nums) > 1 and _number_like(v)):
                    continue
                self.b.rule(name, [self._value_nt(v, depth)])
            return
        for t in self._types_of(f):
            if t == "null":
                if not any(v is None for v in f.not_values):
                    self.b.rule(name, [self.b.literal("null")])
            elif t == "boolean":
                for lit, val in (("true", True), ("false", False)):
                    if not any(x is val for x in f.not_values):
                        self.b.rule(name, [self.b.literal(lit)])
            elif t in ("number", "integer"):
                term = self._number_terminal(d, t)
                if term is not None:
                    self.b.rule(name, [term])
            elif t == "string":
                sym = self._string_symbol(d)
                if sym is not None:
                    self.b.rule(name, [sym])
            elif t == "array":
                self._emit_array(d, depth, name)
            elif t == "object":
                self._emit_object(d, depth, name)

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
                        nf = self.parser.facts(na)
                    except Unsupported as exc:
                        self.unsupported("oneOf", dj.path, f"branches {i} and {j} may overlap and the "
                                         f"negation of branch {j} is not enforceable ({exc.keyword}: "
                                         f"{exc.reason} at {exc.path})")
                        continue
                    del nf
                    combos *= self._neg_size(na)
                    extra.append(na)
            if combos > _MAX_ONEOF_COMBOS:
                self.unsupported("oneOf", dj.path, f"branch {i} overlaps {len(extra)} others; excluding them "
                                 f"needs about {combos} combinations")
                extra = []
            out.append(tuple(dj.branches[i]) + tuple(extra))
        return out

    # numbers

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

    # strings

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

    # literal values (enum/const)

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

    # counting

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

    # arrays

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
                    ncs = []
                    bad = False
                    for j in range(n_c):
                        v = cs[j] + inc[j]
                        cmax = contains[j][2]
                        if cmax is not None and v > cmax:
                            bad = True
                            break
                        ncs.append(min(v, caps[j]))
                    if bad:
                        continue
                    b.rule(s, [comma, sym, state(np_, tuple(ncs))])

        if lo == 0 and done(init):
            b.rule(name, [self.layout.empty("[]", depth)])
        if hi is None or hi >= 1:
            for sym, inc in var(0):
                ncs = []
                bad = False
                for j in range(n_c):
                    v = inc[j]
                    cmax = contains[j][2]
                    if cmax is not None and v > cmax:
                        bad = True
                        break
                    ncs.append(min(v, caps[j]))
                if bad:
                    continue
                np_ = 1 if (hi is not None or 0 < K) else 0
                b.rule(name, [open_t, sym, state(np_, tuple(ncs))])
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

    # objects

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

    def _key_atoms(self, d: _Def, key: str) -> list[Atom] | None:
        """The atoms a property value must satisfy; None when the key is forbidden."""
        f = d.facts
        if key in f.forbidden:
            return None
        atoms: list[Atom] = []
        owners: set = set()
        for c in f.obj:
            hit = False
            a = c.prop(key)
            if a is not None:
                atoms.append(a)
                hit = True
            for p, pa in c.patterns:
                if check_pattern(p) is None and self._pattern_matches(p, key):
                    atoms.append(pa)
                    hit = True
            if not hit and c.additional is not None:
                atoms.append(c.additional)
                hit = True
            if hit and c.evaluates:
                owners.add(c.owner)
        extra, forbidden = self._uncovered(f, owners, f.unevaluated_props)
        if forbidden:
            return None
        atoms.extend(extra)
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
        X: dict[tuple[int, int], str] = {}
        Z: dict[tuple[int, int], str] = {}
        todo: list[tuple[str, int, int, str]] = []

        def sep(c: int) -> list[str]:
            return [comma] if c > 0 else []

        def x_state(i: int, c: int) -> str:
            s = X.get((i, c))
            if s is None:
                s = X[(i, c)] = b.fresh("obj", origin=d.path)
                todo.append(("x", i, c, s))
            return s

        def z_state(i: int, c: int) -> str:
            s = Z.get((i, c))
            if s is None:
                s = Z[(i, c)] = b.fresh("obj", origin=d.path)
                todo.append(("z", i, c, s))
            return s

        def fill(kind: str, i: int, c: int, s: str) -> None:
            if kind == "x":
                if i < n:
                    if not ent_syms[i][1]:
                        b.rule(s, [x_state(i + 1, c)])
                    b.rule(s, [z_state(i, c)])
                else:
                    if can_close(c):
                        b.rule(s, [close_t])
                    if gen_sym is not None:
                        c2 = nxt(c)
                        if c2 is not None:
                            b.rule(s, sep(c) + [gen_sym, x_state(n, c2)])
                return
            c2 = nxt(c)
            if c2 is not None:
                if gen_sym is not None and not extras_last:
                    b.rule(s, sep(c) + [gen_sym, z_state(i, c2)])
                b.rule(s, sep(c) + [ent_syms[i][0], x_state(i + 1, c2)])

        if n_req == 0 and cmin == 0:
            b.rule(name, [self.layout.empty("{}", depth)])
        if self.opts.property_order == "any" and 1 < n <= _MAX_ANY_ORDER:
            self._any_order_object(name, ent_syms, gen_sym, open_t, close_t, comma, nxt, can_close, d.path)
            return
        b.rule(name, [open_t, x_state(0, 0)])
        while todo:
            fill(*todo.pop())

    def _any_order_object(self, name, ent_syms, gen_sym, open_t, close_t, comma, nxt, can_close, origin) -> None:
        """Declared properties in any order: a state per (set written, count, and --
        with ``extra_properties_last`` -- whether the additional ones have begun, after
        which no declared property follows)."""
        b = self.b
        n = len(ent_syms)
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
            atoms: list[Atom] = []
            owners: set = set()
            for c in f.obj:
                mine = [(p, a) for p, a in c.patterns if p in patterns and patterns.index(p) in S]
                hit = False
                if mine:
                    atoms.extend(a for _, a in mine)
                    hit = True
                elif c.additional is not None:
                    atoms.append(c.additional)
                    hit = True
                if hit and c.evaluates:
                    owners.add(c.owner)
            extra, forbidden = self._uncovered(f, owners, f.unevaluated_props)
            if forbidden:
                continue
            atoms.extend(extra)
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


class JsonSchema:
    """A JSON Schema (draft 2020-12; drafts 4, 6, 7 and 2019-09 too) or a pydantic
    model class, as a constraint for :func:`structgen.compile`.

    ``schema`` is a dict, a boolean, a JSON string, or a pydantic ``BaseModel``
    subclass (objects are then closed unless the model allows extra fields).  See
    :class:`~structgen.jsonschema.options.JsonSchemaOptions` for the options;
    ``remotes`` maps URIs to schemas for remote ``$ref``\\ s.

    :meth:`to_ir` raises :class:`~structgen.CompileError` for invalid schemas and
    for constraints that cannot be enforced (naming the keyword and its JSON
    pointer), unless ``lenient=True``: then each such constraint is dropped with a
    :class:`SchemaRelaxedWarning` and listed in :attr:`relaxed`.  :attr:`notes`
    lists what was ignored because it does not constrain (unknown keywords and
    formats).
    """

    def __init__(self, schema, *, remotes: dict | None = None, **options):
        self.model = None
        pydantic = False
        if isinstance(schema, type):
            self.model = schema
            schema, pydantic = _pydantic_schema(schema), True
        elif isinstance(schema, (str, bytes)):
            try:
                schema = json.loads(schema)
            except ValueError as exc:
                raise CompileError(f"schema is not valid JSON: {exc}") from None
        if not isinstance(schema, (dict, bool)):
            raise CompileError(f"a JSON Schema must be an object or a boolean, not {type(schema).__name__}")
        self.schema = schema
        self.options = JsonSchemaOptions(**options)
        self.pydantic = pydantic
        self.remotes = dict(remotes or {})
        self.relaxed: list[str] = []
        self.notes: list[str] = []
        self._ir: GrammarIR | None = None

    def to_ir(self) -> GrammarIR:
        """The grammar (memoized).  Raises :class:`CompileError`."""
        if self._ir is None:
            comp = _Compiler(self.schema, self.options, pydantic=self.pydantic, remotes=self.remotes)
            try:
                ir = comp.run()
            except Unsupported as exc:  # pragma: no cover - the compiler converts them
                raise CompileError(f"{exc.keyword} cannot be enforced: {exc.reason}", where=exc.path) from None
            except RecursionError:
                raise CompileError("schema nesting too deep to compile") from None
            self.relaxed = comp.relaxed
            self.notes = comp.notes
            self._ir = ir
        return self._ir

    def cache_key(self) -> str:
        """A stable key of the schema and options (for compile caches)."""
        h = hashlib.sha256()
        h.update(json.dumps(self.schema, sort_keys=True, default=repr).encode())
        h.update(self.options.key().encode())
        h.update(json.dumps(self.remotes, sort_keys=True, default=repr).encode())
        h.update(b"pydantic" if self.pydantic else b"schema")
        return "jsonschema:" + h.hexdigest()

    def __repr__(self) -> str:
        text = json.dumps(self.schema, default=repr)
        return f"JsonSchema({text[:60]}{'...' if len(text) > 60 else ''})"


def _pydantic_schema(model) -> dict:
    try:
        from pydantic import BaseModel
    except ImportError:  # pragma: no cover - pydantic is a dependency
        raise CompileError("pydantic is not installed") from None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise CompileError(f"expected a pydantic BaseModel subclass, got {model!r}")
    return model.model_json_schema()


def compile_schema(schema, **options) -> GrammarIR:
    """Shorthand for ``JsonSchema(schema, **options).to_ir()``."""
    return JsonSchema(schema, **options).to_ir()
