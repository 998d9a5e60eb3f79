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

This module holds the core (references, definitions, emptiness, dispatch by type);
each part of the spec is a mixin of :class:`_Compiler` in a module of its own:
``combinators`` (``anyOf``/``oneOf``/``if``/dependencies), ``scalars`` (numbers,
strings, ``const``/``enum``), ``arrays`` and ``objects``; ``_common`` holds what they
share (``_Def``, the whitespace ``_Layout``, limits).
"""

from __future__ import annotations

import hashlib
import json
import warnings

from referencing.exceptions import Unresolvable

from ..errors import CompileError
from ..limits import LimitExceeded, check_deadline, get_limits
from ..ir import GrammarBuilder, GrammarIR
from . import numbers as _num
from ._common import _ENUM_CHUNK, _MAX_DEFS, _ROOT_URI, _document_depth, _Def, _Layout, _number_like, _pattern_literal
from ._facts import Atom, Disj, Facts, Parser, Unsupported, canonical_value_key, merge_all, numeric_kind
from .arrays import ArraysMixin
from .combinators import CombinatorsMixin
from .objects import ObjectsMixin
from .options import JsonSchemaOptions, SchemaRelaxedWarning
from .scalars import ScalarsMixin
from .strings import check_pattern, literals_terminal, value_terminal, with_length

__all__ = ["JsonSchema", "compile_schema"]
__all__ = ["JsonSchema", "compile_schema"]


class _Compiler(ScalarsMixin, CombinatorsMixin, ArraysMixin, ObjectsMixin):
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

    def validate(self, atom: Atom, value, schema=None) -> bool:
        """Exact validity of a JSON value against one atom (against ``schema`` in the
        atom's scope, when given: the atom's schema less keywords already checked)."""
        if atom.neg is not None:
            inner = atom.neg
            if isinstance(inner, tuple):
                return not all(self.validate(a, value) for a in inner)
            return not self.validate(inner, value)
        if callable(atom.schema):
            return bool(atom.schema(value))
        v = self._validator.evolve(schema=atom.schema if schema is None else schema,
                                   _resolver=atom.resolver or self.resolver)
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
        limits = get_limits()
        while self._todo:
            d, dep = self._todo.pop()
            self._emit(d, dep)
            check_deadline("compiling the JSON Schema")
            limits.check("max_terminals", len(self.b.terminals),
                         f"the schema needs {len(self.b.terminals)}+ terminals", where=d.path)
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
        """The values of the first enum that satisfy every atom.  Membership in the
        other enums is a set look-up, and each atom is checked without its own
        ``enum`` (the validator's enum check is a linear scan: 10,000 values would
        cost 10^8 comparisons)."""
        f = d.facts
        others = [frozenset(canonical_value_key(x) for x in vals) for vals in f.enums[1:]]
        checks = []
        for a in d.atoms:
            schema = a.schema
            if (a.neg is None and isinstance(schema, dict) and isinstance(schema.get("enum"), list)
                    and tuple(schema["enum"]) in self.facts_of(a).enums):
                schema = {k: x for k, x in schema.items() if k != "enum"}
                if not schema:
                    continue
                checks.append((a, schema))
            else:
                checks.append((a, None))
        out = []
        seen = set()
        for v in f.enums[0]:
            ck = canonical_value_key(v)
            key = ck + "|" + type(v).__name__
            if key in seen:
                continue
            seen.add(key)
            if all(ck in s for s in others) and all(self.validate(a, v, sch) for a, sch in checks):
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
            if len(nums) > 1:  # a terminal per chunk: one of 10,000 numbers would be a huge DFA
                for i in range(0, len(nums), _ENUM_CHUNK):
                    chunk = nums[i:i + _ENUM_CHUNK]
                    pat = "|".join(f"(?:{_num.value_pattern(v)})" for v in chunk)
                    self.b.rule(name, [self.b.add_terminal(self._value_terminal(pat, chunk), origin=d.path)])
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
            except RecursionError:
                raise LimitExceeded("max_nesting", get_limits().max_nesting,
                                    "the schema's JSON nests too deeply to read") from None
        if not isinstance(schema, (dict, bool)):
            raise CompileError(f"a JSON Schema must be an object or a boolean, not {type(schema).__name__}")
        limits = get_limits()
        depth = _document_depth(schema, limits.max_nesting)
        limits.check("max_nesting", depth, f"the schema nests {depth}+ levels deep (objects and arrays)")
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
