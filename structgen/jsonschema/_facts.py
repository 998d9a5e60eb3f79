"""Schema atoms and their facts: the shallow meaning of one schema object.

An :class:`Atom` is one schema object in context (its ``referencing`` resolver, its
JSON pointer), or the negation of another atom.  :func:`Parser.facts` reads the
keywords of an atom into :class:`Facts`: constraints per instance type, plus the
atoms it is conjoined with (``allOf``, ``$ref``, ``not``) and the disjunctions it
holds (``anyOf``, ``oneOf``, ``if``/``then``/``else``, dependencies).  Facts are
*shallow*: subschemas (property values, items ...) stay atoms, so recursive schemas
are fine.  :meth:`Parser.negate` gives the facts of ``not X`` as a disjunction of
simpler schemas, for every keyword where that is expressible.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable

from ..errors import CompileError
from .formats import format_pattern
from .numbers import NumberConstraint

NON_NUMERIC = frozenset({"null", "boolean", "object", "array", "string"})
ALL_TYPES = NON_NUMERIC | {"number"}
NUMERIC = frozenset({"number", "integer"})

#: Keywords that never constrain an instance (annotations and structure).
ANNOTATIONS = frozenset({
    "$schema", "$id", "id", "$anchor", "$dynamicAnchor", "$recursiveAnchor", "$vocabulary", "$comment",
    "$defs", "definitions", "title", "description", "default", "examples", "example", "deprecated",
    "readOnly", "writeOnly", "contentMediaType", "contentEncoding", "contentSchema",
})

#: Formats the installed ``jsonschema`` format checker decides exactly like our regex
#: (so ``not: {format: f}`` can be enforced by excluding the regex).
EXACT_CHECKED_FORMATS = frozenset({"date", "ipv4", "ipv6", "uuid"})
#: Formats the default ``jsonschema`` checker asserts (others always pass).
CHECKED_FORMATS = frozenset({"date", "email", "idn-email", "idn-hostname", "ipv4", "ipv6", "regex", "uuid"})


class Unsupported(Exception):
    """A constraint that cannot be enforced (caught and turned into a CompileError
    or a lenient relaxation by the compiler)."""

    def __init__(self, keyword: str, path: str, reason: str):
        self.keyword = keyword
        self.path = path
        self.reason = reason
        super().__init__(f"{keyword}: {reason} (at {path})")


class Atom:
    """One schema object in context, or the negation of one (``neg``)."""

    __slots__ = ("aid", "schema", "resolver", "path", "neg", "evaluates", "_facts", "_hash")

    def __init__(self, aid: int, schema, resolver, path: str, neg: "Atom | tuple | None" = None,
                 evaluates: bool = True):
        self.aid = aid
        self.schema = schema
        self.resolver = resolver
        self.path = path
        self.neg = neg
        self.evaluates = evaluates
        self._facts: Facts | None = None

    def __repr__(self) -> str:
        if self.neg is not None:
            return f"Atom#{self.aid}(not {self.neg!r})"
        return f"Atom#{self.aid}({self.path})"


@dataclass(frozen=True)
class ArrClause:
    """``prefixItems``/``items`` of one schema: the schema of each index."""

    prefix: tuple[Atom, ...]
    items: Atom | None  # None: unconstrained beyond the prefix
    evaluates: bool = True
    owner: int = -1     # aid of the schema holding the keywords

    def at(self, i: int) -> Atom | None:
        return self.prefix[i] if i < len(self.prefix) else self.items


@dataclass(frozen=True)
class ObjClause:
    """``properties``/``patternProperties``/``additionalProperties`` of one schema."""

    props: tuple[tuple[str, Atom], ...]
    patterns: tuple[tuple[str, Atom], ...]
    additional: Atom | None  # None: keyword absent
    evaluates: bool = True
    owner: int = -1

    def prop(self, key: str) -> Atom | None:
        for k, a in self.props:
            if k == key:
                return a
        return None


@dataclass(frozen=True)
class Disj:
    """A disjunction: the instance satisfies the atoms of one branch (``kind="any"``)
    or of exactly one branch (``kind="one"``, ``oneOf``)."""

    did: int
    branches: tuple[tuple[Atom, ...], ...]
    kind: str
    path: str


@dataclass(frozen=True)
class Facts:
    """The constraints of one atom (or a conjunction of atoms).

    ``types`` holds the allowed JSON types (``"number"`` includes integers,
    ``"integer"`` alone means integral numbers only).  Per-type constraints apply
    only to instances of that type, as in JSON Schema.
    """

    types: frozenset = ALL_TYPES
    enums: tuple[tuple, ...] = ()          # each: a tuple of allowed values
    not_values: tuple = ()                 # values that must not be taken
    # strings
    min_len: int = 0
    max_len: int | None = None
    patterns: tuple[tuple[str, str], ...] = ()      # (pattern, path)
    not_patterns: tuple[tuple[str, str], ...] = ()
    formats: tuple[tuple[str, str], ...] = ()       # (format, path)
    not_formats: tuple[tuple[str, str], ...] = ()
    # numbers
    num: NumberConstraint = NumberConstraint()
    not_multiple: tuple = ()
    int_forms_only: bool = False
    non_integer: bool = False              # numbers with a fractional part only
    num_path: str = ""
    # arrays
    arr: tuple[ArrClause, ...] = ()
    min_items: int = 0
    max_items: int | None = None
    contains: tuple[tuple[Atom, int, int | None, str], ...] = ()
    unique: str | None = None              # path of uniqueItems: true
    unevaluated_items: tuple[tuple[Atom, int], ...] = ()   # (schema, owner aid)
    # objects
    obj: tuple[ObjClause, ...] = ()
    required: tuple = ()                   # ordered, distinct
    forbidden: frozenset = frozenset()
    min_props: int = 0
    max_props: int | None = None
    property_names: tuple[Atom, ...] = ()
    unevaluated_props: tuple[tuple[Atom, int], ...] = ()  # (schema, owner aid)
    closed: bool = False                   # additional_properties_default=False
    # combinators
    conj: tuple[Atom, ...] = ()
    disj: tuple[Disj, ...] = ()
    paths: tuple[tuple[str, str], ...] = ()  # (keyword, pointer) for messages

    def is_trivial(self) -> bool:
        """True when the facts add no constraint of their own (conj/disj aside)."""
        for name in _FIELDS:
            if getattr(self, name) != getattr(_TRIVIAL, name):
                return False
        return True


_TRIVIAL = Facts()


def merge_all(items: list) -> "Facts":
    """The conjunction of many facts (without their conj/disj/paths), in one pass."""
    nontrivial = [f for f in items if not f.is_trivial()]
    if not nontrivial:
        return _TRIVIAL
    if len(nontrivial) == 1:
        f = nontrivial[0]
        return replace(f, conj=(), disj=(), paths=()) if (f.conj or f.disj or f.paths) else f
    types = ALL_TYPES
    num = NumberConstraint()
    max_len = max_items = max_props = None
    tup: dict[str, tuple] = {k: () for k in _TUPLE_FIELDS}
    required: dict = {}
    forbidden: set = set()
    min_len = min_items = min_props = 0
    int_forms_only = non_integer = closed = False
    unique = None
    num_path = ""
    for f in nontrivial:
        if f.types != ALL_TYPES:
            types = intersect_types(types, f.types)
        if f.num != _TRIVIAL.num:
            num = num.tighten(f.num)
        for k in _TUPLE_FIELDS:
            v = getattr(f, k)
            if v:
                tup[k] = tup[k] + v
        for k in f.required:
            required[k] = None
        forbidden |= f.forbidden
        min_len = max(min_len, f.min_len)
        min_items = max(min_items, f.min_items)
        min_props = max(min_props, f.min_props)
        max_len = _min_opt(max_len, f.max_len)
        max_items = _min_opt(max_items, f.max_items)
        max_props = _min_opt(max_props, f.max_props)
        int_forms_only = int_forms_only or f.int_forms_only
        non_integer = non_integer or f.non_integer
        closed = closed or f.closed
        unique = unique or f.unique
        num_path = num_path or f.num_path
    return Facts(types=types, num=num, max_len=max_len, max_items=max_items, max_props=max_props,
                 min_len=min_len, min_items=min_items, min_props=min_props, required=tuple(required),
                 forbidden=frozenset(forbidden), int_forms_only=int_forms_only, non_integer=non_integer,
                 closed=closed, unique=unique, num_path=num_path, **tup)


_TUPLE_FIELDS = ("enums", "not_values", "patterns", "not_patterns", "formats", "not_formats", "not_multiple",
                 "arr", "contains", "unevaluated_items", "obj", "property_names", "unevaluated_props")
_FIELDS = tuple(f.name for f in fields(Facts) if f.name not in ("conj", "disj", "paths"))
EMPTY_FACTS = Facts(types=frozenset())


def _min_opt(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def numeric_kind(types) -> str | None:
    if "number" in types:
        return "number"
    if "integer" in types:
        return "integer"
    return None


def intersect_types(a: frozenset, b: frozenset) -> frozenset:
    out = set((a & b) & NON_NUMERIC)
    ka, kb = numeric_kind(a), numeric_kind(b)
    if ka and kb:
        out.add("integer" if "integer" in (ka, kb) else "number")
    return frozenset(out)


def subtract_types(a: frozenset, b: frozenset) -> frozenset | None:
    """``a - b`` as a type set; None when the difference is "numbers that are not
    integers" (not a JSON Schema type)."""
    out = set((a - b) & NON_NUMERIC)
    ka, kb = numeric_kind(a), numeric_kind(b)
    if ka == "number" and kb is None:
        out.add("number")
    elif ka == "integer" and kb is None:
        out.add("integer")
    elif ka == "number" and kb == "integer":
        return None
    return frozenset(out)


def json_type_of(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise CompileError(f"not a JSON value: {value!r}")


_DRAFT_ORDER = {"draft3": 3, "draft4": 4, "draft6": 6, "draft7": 7, "draft2019-09": 8, "draft2020-12": 9}


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _nonneg_int(v, kw: str, path: str) -> int:
    if _is_int(v) and v >= 0:
        return v
    if isinstance(v, float) and v.is_integer() and v >= 0:
        return int(v)
    raise CompileError(f"{kw} must be a non-negative integer, not {v!r}", where=path)


def _ptr(path: str, *parts) -> str:
    out = path
    for p in parts:
        out += "/" + str(p).replace("~", "~0").replace("/", "~1")
    return out


class Parser:
    """Reads atoms into facts; owns the atom table (ids are stable per compile).

    ``ctx`` provides: ``lookup(ref, atom) -> Atom`` (``$ref`` resolution),
    ``subatom(schema, parent, *path) -> Atom``, ``draft`` (the dialect number,
    ``_DRAFT_ORDER``), ``closed_default`` and ``pydantic`` flags, and
    ``unsupported(keyword, path, reason)`` (raise or warn).
    """

    def __init__(self, ctx):
        self.ctx = ctx
        self._not: dict[tuple[int, ...], Atom] = {}
        self._disj_counter = 0
        self.true_atom = ctx.synthetic(True, "#/true")
        self.false_atom = ctx.synthetic(False, "#/false")

    # -- atoms --------------------------------------------------------------

    def not_atom(self, atoms: tuple[Atom, ...]) -> Atom:
        """The atom ``not (a1 and a2 ...)`` (memoized)."""
        key = tuple(sorted(a.aid for a in atoms))
        hit = self._not.get(key)
        if hit is None:
            inner = atoms[0] if len(atoms) == 1 else atoms
            path = atoms[0].path + "/not" if len(atoms) == 1 else "(" + " & ".join(a.path for a in atoms) + ")/not"
            hit = self.ctx.synthetic(None, path, neg=inner)
            self._not[key] = hit
        return hit

    def _disj(self, branches, kind: str, path: str) -> Disj:
        self._disj_counter += 1
        return Disj(self._disj_counter, tuple(tuple(b) for b in branches), kind, path)

    def facts(self, atom: Atom) -> Facts:
        if atom._facts is None:
            if atom.neg is not None:
                atom._facts = self.negate(atom)
            else:
                atom._facts = self._parse(atom)
        return atom._facts

    # -- parsing ------------------------------------------------------------

    def _parse(self, atom: Atom) -> Facts:
        s = atom.schema
        path = atom.path
        if s is True:
            return _TRIVIAL
        if s is False:
            return EMPTY_FACTS
        if not isinstance(s, dict):
            raise CompileError(f"a schema must be an object or a boolean, not {type(s).__name__}", where=path)
        ctx = self.ctx
        draft = ctx.draft
        if "$ref" in s and draft <= 7:
            # drafts 4-7: siblings of $ref are ignored
            return Facts(conj=(ctx.lookup(s["$ref"], atom, "$ref"),))
        f: dict[str, Any] = {}
        conj: list[Atom] = []
        disj: list[Disj] = []
        paths: list[tuple[str, str]] = []
        types = ALL_TYPES
        ev = atom.evaluates

        def sub(value, *parts) -> Atom:
            return ctx.subatom(value, atom, *parts)

        for kw, v in s.items():
            kp = _ptr(path, kw)
            if kw in ANNOTATIONS:
                continue
            if kw == "$ref":
                conj.append(ctx.lookup(v, atom, "$ref"))
            elif kw == "$dynamicRef":
                conj.append(ctx.lookup(v, atom, "$dynamicRef"))
            elif kw == "$recursiveRef":
                conj.append(ctx.lookup(v, atom, "$recursiveRef"))
            elif kw == "type":
                types = intersect_types(types, _parse_type(v, kp))
            elif kw == "enum":
                if not isinstance(v, list):
                    raise CompileError("enum must be an array", where=kp)
                f["enums"] = f.get("enums", ()) + (tuple(v),)
            elif kw == "const":
                f["enums"] = f.get("enums", ()) + ((v,),)
            elif kw == "minLength":
                f["min_len"] = _nonneg_int(v, kw, kp)
            elif kw == "maxLength":
                f["max_len"] = _nonneg_int(v, kw, kp)
            elif kw == "pattern":
                if not isinstance(v, str):
                    raise CompileError("pattern must be a string", where=kp)
                f["patterns"] = ((v, kp),)
            elif kw == "format":
                if not isinstance(v, str):
                    continue
                if format_pattern(v, pydantic=ctx.pydantic) is None:
                    ctx.note(f"unknown format {v!r} ignored (an annotation)", kp)
                    continue
                f["formats"] = ((v, kp),)
            elif kw in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                continue  # below, together
            elif kw == "multipleOf":
                if not _is_num(v) or v <= 0:
                    raise CompileError(f"multipleOf must be a positive number, not {v!r}", where=kp)
                f["num_mult"] = (v,)
                f["num_path"] = kp
            elif kw == "prefixItems":
                continue
            elif kw == "items":
                continue
            elif kw == "additionalItems":
                continue
            elif kw == "minItems":
                f["min_items"] = _nonneg_int(v, kw, kp)
            elif kw == "maxItems":
                f["max_items"] = _nonneg_int(v, kw, kp)
            elif kw == "contains":
                continue
            elif kw in ("minContains", "maxContains"):
                continue
            elif kw == "uniqueItems":
                if v is True:
                    f["unique"] = kp
            elif kw == "unevaluatedItems":
                f["unevaluated_items"] = ((sub(v, kw), atom.aid),)
            elif kw in ("properties", "patternProperties", "additionalProperties"):
                continue
            elif kw == "required":
                if isinstance(v, list):
                    if not all(isinstance(k, str) for k in v):
                        raise CompileError("required must list strings", where=kp)
                    f["required"] = tuple(dict.fromkeys(v))
                elif isinstance(v, bool):  # draft 3's per-property flag: not this dialect's keyword
                    ctx.note(f"required: {str(v).lower()} (draft 3's form) ignored: list required names in the "
                             f"parent object's required array", kp)
                else:
                    raise CompileError(f"required must be an array of property names, not {v!r}", where=kp)
            elif kw == "minProperties":
                f["min_props"] = _nonneg_int(v, kw, kp)
            elif kw == "maxProperties":
                f["max_props"] = _nonneg_int(v, kw, kp)
            elif kw == "propertyNames":
                f["property_names"] = (sub(v, kw),)
            elif kw == "unevaluatedProperties":
                f["unevaluated_props"] = ((sub(v, kw), atom.aid),)
            elif kw in ("dependentRequired", "dependentSchemas", "dependencies"):
                if not isinstance(v, dict):
                    raise CompileError(f"{kw} must be an object", where=kp)
                for k, dep in v.items():
                    dp = _ptr(kp, k)
                    if isinstance(dep, list):
                        if not dep:
                            continue
                        absent = ctx.synthetic({"properties": {k: False}}, dp, base=atom)
                        present = ctx.synthetic({"required": [k] + list(dep)}, dp, base=atom)
                        disj.append(self._disj([(absent,), (present,)], "any", dp))
                    else:
                        absent = ctx.synthetic({"properties": {k: False}}, dp, base=atom)
                        present = ctx.synthetic({"required": [k]}, dp, base=atom)
                        disj.append(self._disj([(absent,), (present, sub(dep, kw, k))], "any", dp))
            elif kw == "allOf":
                for i, a in enumerate(_as_list(v, kw, kp)):
                    conj.append(sub(a, kw, i))
            elif kw == "anyOf":
                branches = [(sub(a, kw, i),) for i, a in enumerate(_as_list(v, kw, kp))]
                disj.append(self._disj(branches, "any", kp))
            elif kw == "oneOf":
                branches = [(sub(a, kw, i),) for i, a in enumerate(_as_list(v, kw, kp))]
                disj.append(self._disj(branches, "one", kp))
            elif kw == "not":
                prim = self._primitive_not(v, atom, kp)
                if prim is not None:
                    f = _merge_dict(f, prim)
                    if "types" in prim:
                        types = intersect_types(types, prim["types"])
                else:
                    conj.append(self.not_atom((sub(v, kw),)))
            elif kw == "if":
                cond = sub(v, kw)
                then = sub(s["then"], "then") if "then" in s else None
                els = sub(s["else"], "else") if "else" in s else None
                if then is None and els is None:
                    continue
                b1 = (cond,) + ((then,) if then is not None else ())
                b2 = (self.not_atom((cond,)),) + ((els,) if els is not None else ())
                disj.append(self._disj([b1, b2], "any", kp))
            elif kw in ("then", "else"):
                continue
            elif kw == "$dynamicAnchor":
                continue
            else:
                ctx.note(f"unknown keyword {kw!r} ignored", kp)
                continue
            paths.append((kw, kp))

        # numbers: bounds with draft-4 boolean exclusives
        num = _parse_bounds(s, path, draft)
        if "num_mult" in f:
            num = replace(num, multiple_of=f.pop("num_mult"))
        # arrays
        arr = self._parse_items(s, atom, ev)
        contains = ()
        if "contains" in s:
            cmin = _nonneg_int(s.get("minContains", 1), "minContains", _ptr(path, "minContains"))
            cmax = s.get("maxContains")
            if cmax is not None:
                cmax = _nonneg_int(cmax, "maxContains", _ptr(path, "maxContains"))
            contains = ((sub(s["contains"], "contains"), cmin, cmax, _ptr(path, "contains")),)
        # objects
        obj = ()
        if any(k in s for k in ("properties", "patternProperties", "additionalProperties")):
            props = s.get("properties", {})
            if not isinstance(props, dict):
                raise CompileError("properties must be an object", where=_ptr(path, "properties"))
            pats = s.get("patternProperties", {})
            if not isinstance(pats, dict):
                raise CompileError("patternProperties must be an object", where=_ptr(path, "patternProperties"))
            add = s.get("additionalProperties")
            clause = ObjClause(
                tuple((k, sub(pv, "properties", k)) for k, pv in props.items()),
                tuple((p, sub(pv, "patternProperties", p)) for p, pv in pats.items()),
                None if add is None else sub(add, "additionalProperties"),
                ev,
                atom.aid,
            )
            obj = (clause,)
            if add is None and ctx.closed_default and (props or pats):
                f["closed"] = True
        return Facts(types=types, num=num, arr=arr, contains=contains, obj=obj,
                     conj=tuple(conj), disj=tuple(disj), paths=tuple(paths), **f)

    def _parse_items(self, s: dict, atom: Atom, ev: bool) -> tuple[ArrClause, ...]:
        ctx = self.ctx
        items = s.get("items")
        prefix: tuple[Atom, ...] = ()
        rest = None
        if "prefixItems" in s:
            pi = _as_list(s["prefixItems"], "prefixItems", _ptr(atom.path, "prefixItems"))
            prefix = tuple(ctx.subatom(x, atom, "prefixItems", i) for i, x in enumerate(pi))
            if items is not None:
                rest = ctx.subatom(items, atom, "items")
        elif isinstance(items, list):
            prefix = tuple(ctx.subatom(x, atom, "items", i) for i, x in enumerate(items))
            if "additionalItems" in s:
                rest = ctx.subatom(s["additionalItems"], atom, "additionalItems")
        elif items is not None:
            rest = ctx.subatom(items, atom, "items")
        if not prefix and rest is None:
            return ()
        return (ArrClause(prefix, rest, ev, atom.aid),)

    def _primitive_not(self, v, atom: Atom, kp: str) -> dict | None:
        """Facts of ``not: v`` when ``v`` is one simple keyword (pattern, format,
        multipleOf, const, enum), else None."""
        if not isinstance(v, dict):
            return None
        keys = [k for k in v if k not in ANNOTATIONS]
        if len(keys) != 1:
            return None
        k = keys[0]
        x = v[k]
        if k == "pattern" and isinstance(x, str):
            return {"types": frozenset({"string"}), "not_patterns": ((x, _ptr(kp, k)),)}
        if k == "type":
            t = _parse_type(x, _ptr(kp, k))
            rest = subtract_types(ALL_TYPES, t)
            if rest is None:  # numbers that are not integers, plus the other types
                return {"types": (ALL_TYPES - t) | {"number"}, "non_integer": True}
            return {"types": rest}
        if k == "const":
            return {"not_values": (x,)}
        if k == "enum" and isinstance(x, list):
            return {"not_values": tuple(x)}
        if k == "multipleOf" and _is_num(x) and x > 0:
            return {"types": frozenset({"integer"}), "not_multiple": (x,), "int_forms_only": True,
                    "num_path": _ptr(kp, k)}
        if k == "format" and isinstance(x, str):
            if x in EXACT_CHECKED_FORMATS:
                return {"types": frozenset({"string"}), "not_formats": ((x, _ptr(kp, k)),)}
            # through a `not` atom: its negation (every string passes an unchecked
            # format, so nothing passes `not`) and double negation stay exact
            return None
        return None

    # -- negation -----------------------------------------------------------

    def negate(self, natom: Atom) -> Facts:
        """Facts of ``not X`` (``natom.neg`` is X, or a tuple of atoms meaning their
        conjunction): a disjunction of simpler schemas.  Raises
        :class:`Unsupported` for keywords whose negation is not enforceable."""
        inner = natom.neg
        if isinstance(inner, Atom) and inner.neg is not None and not isinstance(inner.neg, tuple):
            return Facts(conj=(inner.neg,))  # not not X = X
        if isinstance(inner, tuple):
            branches = [(self.not_atom((a,)),) for a in inner]
            return Facts(disj=(self._disj(branches, "any", natom.path),))
        x = inner
        fx = self.facts(x)
        path = x.path
        ctx = self.ctx
        branches: list[tuple[Atom, ...]] = []

        def frag(schema: dict, where: str) -> tuple[Atom, ...]:
            return (ctx.synthetic(schema, where, base=x, evaluates=False),)

        if fx.types == frozenset() and not fx.conj and not fx.disj:
            return _TRIVIAL
        for a in fx.conj:
            branches.append((self.not_atom((a,)),))
        for d in fx.disj:
            if d.kind == "any":
                branches.append(tuple(self.not_atom(b) for b in d.branches))
            else:
                branches.append(tuple(self.not_atom(b) for b in d.branches))
                n = len(d.branches)
                for i in range(n):
                    for j in range(i + 1, n):
                        branches.append(d.branches[i] + d.branches[j])
        if fx.types != ALL_TYPES:
            if fx.non_integer:
                raise Unsupported("not", path, "negating non-integral numbers is not enforceable")
            if fx.types:
                branches.append(frag({"not": {"type": sorted(fx.types)}}, _ptr(path, "type")))
            else:
                branches.append(frag({}, _ptr(path, "type")))
        for values in fx.enums:
            branches.append(frag({"not": {"enum": list(values)}}, _ptr(path, "enum")))
        if fx.not_values:
            branches.append(frag({"enum": list(fx.not_values)}, _ptr(path, "not")))
        if fx.min_len > 0:
            branches.append(frag({"type": "string", "maxLength": fx.min_len - 1}, _ptr(path, "minLength")))
        if fx.max_len is not None:
            branches.append(frag({"type": "string", "minLength": fx.max_len + 1}, _ptr(path, "maxLength")))
        for p, where in fx.patterns:
            branches.append(frag({"type": "string", "not": {"pattern": p}}, where))
        for p, where in fx.not_patterns:
            branches.append(frag({"type": "string", "pattern": p}, where))
        for name, where in fx.formats:
            if name not in CHECKED_FORMATS:
                # the validator accepts every string: not(format) rejects every string
                continue
            if name not in EXACT_CHECKED_FORMATS:
                raise Unsupported("format", where, f"format {name!r} is checked by the validator with "
                                  "another rule than its regex here, so its negation is not enforceable")
            branches.append(frag({"type": "string", "not": {"format": name}}, where))
        for name, where in fx.not_formats:
            branches.append(frag({"type": "string", "format": name}, where))
        nc = fx.num
        if nc.minimum is not None:
            b, ex = nc.minimum
            branches.append(frag({"type": "number", ("maximum" if ex else "exclusiveMaximum"): b},
                                 _ptr(path, "minimum")))
        if nc.maximum is not None:
            b, ex = nc.maximum
            branches.append(frag({"type": "number", ("minimum" if ex else "exclusiveMinimum"): b},
                                 _ptr(path, "maximum")))
        for d in nc.multiple_of:
            branches.append(frag({"not": {"multipleOf": d}}, fx.num_path or _ptr(path, "multipleOf")))
        for d in fx.not_multiple:
            branches.append(frag({"type": "number", "multipleOf": d}, fx.num_path or path))
        if fx.int_forms_only:
            raise Unsupported("not", path, "negating a negated multipleOf is not enforceable")
        if fx.min_items > 0:
            branches.append(frag({"type": "array", "maxItems": fx.min_items - 1}, _ptr(path, "minItems")))
        if fx.max_items is not None:
            branches.append(frag({"type": "array", "minItems": fx.max_items + 1}, _ptr(path, "maxItems")))
        for clause in fx.arr:
            for i, a in enumerate(clause.prefix):
                if ctx.is_true(a):
                    continue
                na = self.not_atom((a,))
                pre = (self.true_atom,) * i + (na,)
                branches.append((ctx.fact_atom(
                    Facts(types=frozenset({"array"}), min_items=i + 1, arr=(ArrClause(pre, None, False),)),
                    lambda v, i=i, a=a: isinstance(v, list) and len(v) > i and not ctx.validate(a, v[i]),
                    _ptr(path, "prefixItems", i)),))
            if clause.items is not None and not ctx.is_true(clause.items):
                if clause.prefix:
                    raise Unsupported("items", _ptr(path, "items"),
                                      "negating items after prefixItems is not enforceable")
                it = clause.items
                branches.append((ctx.fact_atom(
                    Facts(types=frozenset({"array"}),
                          contains=((self.not_atom((it,)), 1, None, _ptr(path, "items")),)),
                    lambda v, it=it: isinstance(v, list) and any(not ctx.validate(it, e) for e in v),
                    _ptr(path, "items")),))
        for c_atom, cmin, cmax, where in fx.contains:
            def count(v, c_atom=c_atom):
                return sum(1 for e in v if ctx.validate(c_atom, e))
            if cmin > 0:
                branches.append((ctx.fact_atom(
                    Facts(types=frozenset({"array"}), contains=((c_atom, 0, cmin - 1, where),)),
                    lambda v, cmin=cmin, count=count: isinstance(v, list) and count(v) <= cmin - 1, where),))
            if cmax is not None:
                branches.append((ctx.fact_atom(
                    Facts(types=frozenset({"array"}), contains=((c_atom, cmax + 1, None, where),)),
                    lambda v, cmax=cmax, count=count: isinstance(v, list) and count(v) >= cmax + 1, where),))
        if fx.unique:
            raise Unsupported("uniqueItems", fx.unique, "its negation (some item repeats) is not enforceable")
        if fx.unevaluated_items:
            raise Unsupported("unevaluatedItems", path, "negation is not enforceable")
        for k in fx.required:
            branches.append(frag({"type": "object", "properties": {k: False}}, _ptr(path, "required")))
        for k in sorted(fx.forbidden):
            branches.append(frag({"type": "object", "required": [k]}, _ptr(path, "properties", k)))
        if fx.min_props > 0:
            branches.append(frag({"type": "object", "maxProperties": fx.min_props - 1}, _ptr(path, "minProperties")))
        if fx.max_props is not None:
            branches.append(frag({"type": "object", "minProperties": fx.max_props + 1}, _ptr(path, "maxProperties")))
        for clause in fx.obj:
            if clause.patterns:
                raise Unsupported("patternProperties", _ptr(path, "patternProperties"),
                                  "its negation (some matching property is invalid) is not enforceable")
            if clause.additional is not None and not ctx.is_true(clause.additional):
                raise Unsupported("additionalProperties", _ptr(path, "additionalProperties"),
                                  "its negation (some additional property is invalid) is not enforceable")
            for k, a in clause.props:
                if ctx.is_true(a):
                    continue
                na = self.not_atom((a,))
                branches.append((ctx.fact_atom(
                    Facts(types=frozenset({"object"}), required=(k,),
                          obj=(ObjClause(((k, na),), (), None, False),)),
                    lambda v, k=k, a=a: isinstance(v, dict) and k in v and not ctx.validate(a, v[k]),
                    _ptr(path, "properties", k)),))
        # fx.closed (additional_properties_default=False) is not negated: not(X open)
        # is a subset of not(X closed), so the result stays sound
        if fx.property_names:
            raise Unsupported("propertyNames", _ptr(path, "propertyNames"), "negation is not enforceable")
        if fx.unevaluated_props:
            raise Unsupported("unevaluatedProperties", path, "negation is not enforceable")
        if not branches:
            return EMPTY_FACTS  # not true
        return Facts(disj=(self._disj(branches, "any", natom.path),))


def _merge_dict(f: dict, prim: dict) -> dict:
    out = dict(f)
    for k, v in prim.items():
        if k == "types":
            continue
        if k in out and isinstance(v, tuple):
            out[k] = out[k] + v
        else:
            out[k] = v
    return out


def _as_list(v, kw: str, path: str) -> list:
    if not isinstance(v, list) or not v:
        raise CompileError(f"{kw} must be a non-empty array", where=path)
    return v


def _parse_type(v, path: str) -> frozenset:
    names = [v] if isinstance(v, str) else v
    if not isinstance(names, list) or not all(isinstance(t, str) for t in names):
        raise CompileError(f"type must be a string or an array of strings, not {v!r}", where=path)
    out = set()
    for t in names:
        if t == "any":
            return ALL_TYPES
        if t not in ALL_TYPES | {"integer"}:
            raise CompileError(f"unknown type {t!r}", where=path)
        out.add(t)
    if "number" in out:
        out.discard("integer")
    return frozenset(out)


def _parse_bounds(s: dict, path: str, draft: int) -> NumberConstraint:
    lo = hi = None
    mn, mx = s.get("minimum"), s.get("maximum")
    emn, emx = s.get("exclusiveMinimum"), s.get("exclusiveMaximum")
    if draft > 4:  # booleans are draft 4's form; later drafts' validators read them as 0 / 1
        for name, v in (("exclusiveMinimum", emn), ("exclusiveMaximum", emx)):
            if isinstance(v, bool):
                raise CompileError(f"{name} must be a number in draft 6 and later, not {v!r} (the boolean form "
                                   "is draft 4's: declare \"$schema\": "
                                   "\"http://json-schema.org/draft-04/schema#\")", where=_ptr(path, name))
    for name, v in (("minimum", mn), ("maximum", mx)):
        if v is not None and not _is_num(v):
            raise CompileError(f"{name} must be a number, not {v!r}", where=_ptr(path, name))
    if mn is not None:
        lo = (mn, emn is True)
    if mx is not None:
        hi = (mx, emx is True)
    if _is_num(emn):
        lo = NumberConstraint(minimum=lo).tighten(NumberConstraint(minimum=(emn, True))).minimum
    elif emn not in (None, True, False):
        raise CompileError(f"exclusiveMinimum must be a number, not {emn!r}", where=_ptr(path, "exclusiveMinimum"))
    if _is_num(emx):
        hi = NumberConstraint(maximum=hi).tighten(NumberConstraint(maximum=(emx, True))).maximum
    elif emx not in (None, True, False):
        raise CompileError(f"exclusiveMaximum must be a number, not {emx!r}", where=_ptr(path, "exclusiveMaximum"))
    return NumberConstraint(minimum=lo, maximum=hi)


def canonical_value_key(v) -> str:
    """A key identifying a JSON value up to jsonschema equality (1 == 1.0, but
    True != 1)."""
    def norm(x):
        if isinstance(x, bool) or x is None or isinstance(x, str):
            return x
        if isinstance(x, (int, float)):
            return ["#num", repr(float(x)) if isinstance(x, float) and not x.is_integer() else str(int(x))]
        if isinstance(x, list):
            return [norm(y) for y in x]
        if isinstance(x, dict):
            return {k: norm(y) for k, y in sorted(x.items())}
        return repr(x)
    return json.dumps(norm(v), sort_keys=True)


ValidatorFn = Callable[[object], bool]
__all__ = ["Atom", "Facts", "Parser", "merge_all", "Unsupported", "ArrClause", "ObjClause", "Disj", "ALL_TYPES",
           "intersect_types", "numeric_kind", "json_type_of", "canonical_value_key", "EMPTY_FACTS", "field"]
