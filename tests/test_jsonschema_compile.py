"""JSON Schema → grammar: keyword semantics checked end to end.

Each schema is compiled for a byte vocabulary (one token per byte) and instances
are fed byte by byte; acceptance must agree with jsonschema (soundness always;
completeness for instances serialized by ``json.dumps`` in declared key order).
"""

from __future__ import annotations

import json
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structgen.errors import CompileError
from structgen.jsonschema import JsonSchema, SchemaRelaxedWarning
from tests.conformance._common import accepts_text, compile_bytes, is_valid, reference_validator


def check(schema, valid=(), invalid=(), *, texts_ok=(), texts_bad=(), **options):
    """Assert acceptance of ``json.dumps`` of each instance; ``valid`` instances
    must validate, ``invalid`` must not (checks the test itself too)."""
    g = compile_bytes(schema, **options)
    v = reference_validator(schema)
    for inst in valid:
        assert is_valid(v, inst), f"test bug: {inst!r} is not valid"
        for text in {json.dumps(inst), json.dumps(inst, ensure_ascii=False),
                     json.dumps(inst, separators=(",", ":"))}:
            assert accepts_text(g, text), f"rejected valid {text}"
    for inst in invalid:
        assert not is_valid(v, inst), f"test bug: {inst!r} is valid"
        for text in {json.dumps(inst), json.dumps(inst, ensure_ascii=False)}:
            assert not accepts_text(g, text), f"accepted invalid {text}"
    for text in texts_ok:
        assert accepts_text(g, text), f"rejected {text!r}"
    for text in texts_bad:
        assert not accepts_text(g, text), f"accepted {text!r}"
    return g


# -- scalars ------------------------------------------------------------------

def test_types() -> None:
    check({"type": "null"}, [None], [0, False, "", [], {}])
    check({"type": "boolean"}, [True, False], [0, None, "true"])
    check({"type": ["string", "null"]}, ["", "a", None], [1, [], {}])
    check({"type": "integer"}, [0, -5, 10 ** 30, 1.0], [1.5, "1", True])
    check({"type": "number"}, [0, -5, 1.5, -1e-7, 1e300], ["1", None],
          texts_ok=["-0", "1E5", "1.5e-3", "0.0"], texts_bad=["01", "1.", ".5", "+1", "NaN", "Infinity"])
    check(True, [None, 1, "x", [1, {"a": []}], {"b": {"c": None}}])


def test_number_bounds() -> None:
    check({"type": "number", "minimum": -1.5, "exclusiveMaximum": 10},
          [-1.5, 0, 9.999, -1, 9], [-1.6, 10, 10.0, 11, 1e10])
    check({"type": "integer", "exclusiveMinimum": 0, "maximum": 100}, [1, 100, 50], [0, -1, 101, 0.5])
    check({"type": "number", "exclusiveMinimum": 0}, [1e-300, 5e-324, 0.1], [0, -0.0, -1e-300],
          texts_bad=["1e-400", "0.0e5"])
    # draft 4 boolean exclusiveMinimum
    check({"$schema": "http://json-schema.org/draft-04/schema#", "type": "number", "minimum": 5,
           "exclusiveMinimum": True}, [5.5, 6], [5, 4])


def test_multiple_of() -> None:
    check({"type": "integer", "multipleOf": 5}, [0, 5, -10, 1000], [3, 7, 2.5])
    check({"type": "integer", "multipleOf": 3, "minimum": 0, "maximum": 30}, [0, 3, 30], [31, 1, -3])
    with pytest.raises(CompileError, match="multipleOf"):
        JsonSchema({"type": "number", "multipleOf": 0.3}).to_ir()


def test_strings() -> None:
    check({"type": "string", "minLength": 2, "maxLength": 4}, ["ab", "abcd", "é😀", "\"\\\n"],
          ["a", "abcde", "", 5])
    check({"type": "string", "pattern": "^[a-z]+[0-9]?$"}, ["abc", "x1"], ["", "1", "abc12", "ABC"])
    check({"type": "string", "pattern": "b"}, ["abc", "b"], ["", "ac"])  # unanchored
    check({"type": "string", "format": "date"}, ["2024-02-29", "2001-12-31"], ["2023-02-29", "x"])
    check({"type": "string", "format": "email", "maxLength": 10}, ["a@b.c"], ["a@b.cdefghij", "abc"])


def test_long_strings_are_counted_by_rules() -> None:
    g = check({"type": "string", "minLength": 70, "maxLength": 130}, ["x" * 70, "é" * 130, "\n" * 100],
              ["x" * 69, "x" * 131, "é" * 131])
    ir = g.source.to_ir()
    assert not any(".{70" in t.pattern for t in ir.terminals.values())
    check({"type": "string", "maxLength": 100000}, ["", "abc" * 1000])
    check({"type": "string", "minLength": 200}, ["a" * 200, "ab" * 500], ["a" * 199])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=12), st.integers(0, 6), st.integers(0, 8))
def test_string_lengths_property(s: str, lo: int, width: int) -> None:
    schema = {"type": "string", "minLength": lo, "maxLength": lo + width}
    g = _cached(json.dumps(schema))
    ok = lo <= len(s) <= lo + width
    for text in (json.dumps(s), json.dumps(s, ensure_ascii=False)):
        assert accepts_text(g, text) == ok


_GRAMMARS: dict[str, object] = {}


def _cached(schema_text: str):
    if schema_text not in _GRAMMARS:
        _GRAMMARS[schema_text] = compile_bytes(json.loads(schema_text))
    return _GRAMMARS[schema_text]


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(st.none(), st.booleans(), st.integers(-100, 100), st.floats(-1e3, 1e3, allow_nan=False),
                 st.text(max_size=4), st.lists(st.integers(0, 3), max_size=3)))
def test_enum_and_const(value) -> None:
    schema = {"enum": [None, 1, "a", "é\n", [1, 2], {"k": [True]}, 2.5, False]}
    g = _cached(json.dumps(schema))
    v = reference_validator(schema)
    assert accepts_text(g, json.dumps(value)) == is_valid(v, value)


def test_enum_equality_rules() -> None:
    check({"enum": [1]}, [1, 1.0], [True, "1"], texts_ok=["1.00", "1e0"])
    check({"const": False}, [False], [0, None])
    check({"const": {"a": 1, "b": [None]}}, [{"a": 1, "b": [None]}, {"b": [None], "a": 1.0}], [{"a": 1}])
    check({"enum": ["a", "b"], "minLength": 1, "pattern": "a"}, ["a"], ["b"])


# -- objects ------------------------------------------------------------------

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}, "tags": {
        "type": "array", "items": {"type": "string"}}},
    "required": ["name"],
}


def test_required_must_be_an_array() -> None:
    for bad in ("a", 3, {"a": 1}):
        with pytest.raises(CompileError, match="required must be an array"):
            compile_bytes({"type": "object", "required": bad})
    # draft 3's per-property flag is not this dialect's keyword: ignored, with a note
    check({"type": "object", "properties": {"a": {"required": True}}}, [{}, {"a": 1}])


def test_object_required_and_additional() -> None:
    check(PERSON, [{"name": "a"}, {"name": "a", "age": 3}, {"name": "a", "extra": [1, {}]},
                   {"name": "b", "age": 2, "tags": [], "x": 1, "y": None}],
          [{}, {"age": 3}, {"name": 1}, {"name": "a", "age": -1}, {"name": "a", "tags": [1]}],
          texts_bad=['{"name":"a",}', '{"name": "a" "age": 1}',
                     # additional properties come after the declared ones (extra_properties_last)
                     '{"name": "b", "x": 1, "age": 2}', '{"x": 1, "name": "b"}'])
    check(PERSON, [{"name": "b", "x": 1, "age": 2, "y": None, "tags": []}, {"x": 1, "name": "b"}],
          extra_properties_last=False)
    closed = dict(PERSON, additionalProperties=False)
    check(closed, [{"name": "a", "age": 1}], [{"name": "a", "x": 1}])
    check(PERSON, [{"name": "a"}], texts_bad=['{"name": "a", "x": 1}'], additional_properties_default=False)


def test_declared_key_is_not_an_additional_key() -> None:
    # "age" must satisfy its own schema, also when spelled with an escape
    check(PERSON, [], [{"name": "a", "age": "old"}], texts_bad=['{"name": "a", "\\u0061ge": "old"}'])


def test_property_order_options() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
              "required": ["b"], "additionalProperties": False}
    check(schema, [{"a": 1, "b": 2}, {"b": 2}], texts_bad=['{"b": 2, "a": 1}'])
    check(schema, [{"b": 2, "a": 1}], texts_bad=['{"a": 1, "b": 2}'], property_order="required_first")
    check(schema, [{"b": 2, "a": 1}, {"a": 1, "b": 2}, {"b": 2}], [{"a": 1}],
          texts_bad=['{"a": 1, "a": 1, "b": 2}', '{"b": 2, "b": 2}'], property_order="any")
    # additional properties in "any" order: after the declared ones, once the required are written
    open_schema = dict(schema, additionalProperties=True)
    check(open_schema, [{"b": 2, "a": 1, "x": 0}, {"a": 1, "b": 2, "x": 0, "y": 1}, {"b": 2, "x": 0}],
          texts_bad=['{"x": 0, "b": 2}', '{"b": 2, "x": 0, "a": 1}'], property_order="any")
    check(open_schema, [{"x": 0, "b": 2}, {"b": 2, "x": 0, "a": 1}], property_order="any",
          extra_properties_last=False)


def test_pattern_properties_and_property_names() -> None:
    schema = {"type": "object", "properties": {"foo": {"type": "array", "maxItems": 3}},
              "patternProperties": {"^f": {"type": "array", "minItems": 2}, "^x-": {"type": "string"}},
              "additionalProperties": {"type": "integer"}}
    check(schema, [{"foo": [1, 2]}, {"x-a": "s", "b": 1}, {"fa": [1, 2, 3, 4]}],
          [{"foo": [1]}, {"foo": [1, 2, 3, 4]}, {"x-a": 1}, {"b": "s"}, {"fa": [1]}])
    check({"type": "object", "propertyNames": {"pattern": "^[a-z]+$", "maxLength": 3}},
          [{}, {"ab": 1}, {"abc": None}], [{"abcd": 1}, {"A": 1}])


def test_min_max_properties_and_dependencies() -> None:
    check({"type": "object", "minProperties": 1, "maxProperties": 2}, [{"a": 1}, {"a": 1, "b": 2}],
          [{}, {"a": 1, "b": 2, "c": 3}])
    check({"type": "object", "properties": {"a": {}, "b": {}}, "dependentRequired": {"a": ["b"]}},
          [{}, {"b": 1}, {"a": 1, "b": 2}], [{"a": 1}])
    check({"type": "object", "properties": {"a": {}, "b": {}},
           "dependentSchemas": {"a": {"properties": {"b": {"type": "string"}}, "required": ["b"]}}},
          [{"a": 1, "b": "x"}, {"b": 3}], [{"a": 1}, {"a": 1, "b": 3}])


# -- arrays -------------------------------------------------------------------

def test_arrays() -> None:
    check({"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3},
          [[1], [1, 2, 3]], [[], [1, 2, 3, 4], ["a"]])
    check({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
          [[], ["a"], ["a", 1]], [["a", 1, 2], [1]])
    check({"type": "array", "contains": {"type": "string"}, "minContains": 2, "maxContains": 3},
          [["a", 1, "b"], ["a", "b", "c"]], [["a"], ["a", "b", "c", "d"], [1, 2]])
    check({"type": "array", "items": {"enum": ["x", "y", "z"]}, "uniqueItems": True},
          [[], ["x", "z"], ["z", "y", "x"]], [["x", "x"], ["y", "z", "y"]])
    check({"type": "array", "maxItems": 5000, "items": {"type": "integer"}}, [list(range(100)), []],
          [list(range(5001))])


def test_unique_items_unenforceable() -> None:
    schema = {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
    with pytest.raises(CompileError, match=r"uniqueItems.*#/uniqueItems"):
        JsonSchema(schema).to_ir()
    js = JsonSchema(schema, lenient=True)
    with pytest.warns(SchemaRelaxedWarning, match="uniqueItems"):
        js.to_ir()
    assert js.relaxed and "uniqueItems" in js.relaxed[0]


# -- combinators --------------------------------------------------------------

def test_any_all_one_of() -> None:
    check({"anyOf": [{"type": "string", "maxLength": 2}, {"type": "integer", "minimum": 5}]},
          ["ab", 5, 100], ["abc", 4, None])
    check({"allOf": [{"properties": {"a": {"type": "integer"}}, "required": ["a"]},
                     {"properties": {"a": {"minimum": 3}, "b": {"type": "string"}}}]},
          [{"a": 3}, {"a": 4, "b": "x"}], [{"a": 2}, {"b": "x"}, {"a": 3, "b": 1}])
    # overlapping oneOf: exclusive by negation
    check({"oneOf": [{"type": "integer"}, {"minimum": 2}]}, [1, 2.5, "x"], [2, 3])
    check({"oneOf": [{"type": "string", "pattern": "^a"}, {"type": "string", "pattern": "b$"}]},
          ["ax", "xb"], ["ab", "x"])


def test_not_and_if_then_else() -> None:
    check({"not": {"type": "string"}}, [1, None, []], ["x"])
    check({"type": "number", "not": {"type": "integer"}}, [1.5, -0.25], [1, 2.0])
    check({"type": "string", "not": {"pattern": "^a"}}, ["b", ""], ["abc"])
    check({"type": "object", "properties": {"kind": {"enum": ["a", "b"]}, "n": {}},
           "if": {"properties": {"kind": {"const": "a"}}},
           "then": {"properties": {"n": {"type": "integer"}}},
           "else": {"properties": {"n": {"type": "string"}}}},
          [{"kind": "a", "n": 1}, {"kind": "b", "n": "x"}, {"n": 1}],
          [{"kind": "a", "n": "x"}, {"kind": "b", "n": 1}, {"n": "y"}])
    with pytest.raises(CompileError, match="patternProperties"):
        JsonSchema({"not": {"patternProperties": {"a": {"type": "string"}}}}).to_ir()


def test_refs_and_recursion() -> None:
    tree = {"$defs": {"node": {"type": "object", "properties": {
        "value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
        "required": ["value"], "additionalProperties": False}}, "$ref": "#/$defs/node"}
    check(tree, [{"value": 1}, {"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]}],
          [{"value": 1, "children": [{}]}, {"value": "x"}])
    check({"$id": "http://example.com/root.json", "$defs": {"a": {"$anchor": "A", "type": "string"}},
           "properties": {"x": {"$ref": "#A"}, "y": {"$ref": "root.json#/$defs/a"}}},
          [{"x": "s", "y": "t"}], [{"x": 1}, {"y": 2}])
    check({"definitions": {"b": {"type": "boolean"}}, "items": {"$ref": "#/definitions/b"}}, [[True]], [[1]])


def test_ref_siblings_by_draft() -> None:
    schema = {"$defs": {"s": {"type": "string"}}, "$ref": "#/$defs/s", "maxLength": 2}
    check(schema, ["ab"], ["abc", 1])
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"s": {"type": "string"}},
              "$ref": "#/definitions/s", "maxLength": 2}
    check(draft7, ["ab", "abc"], [1])


def test_unevaluated_properties() -> None:
    schema = {"type": "object", "properties": {"a": {}}, "allOf": [{"properties": {"b": {}}}],
              "unevaluatedProperties": False}
    check(schema, [{"a": 1}, {"a": 1, "b": 2}], [{"c": 1}])


# -- whitespace ---------------------------------------------------------------

def test_whitespace_modes() -> None:
    inst = {"a": [1, {"b": None}], "c": "x"}
    schema = {"type": "object"}
    dumps = json.dumps(inst)
    # flexible (the default): what models write -- one space, or a line break and an
    # indentation -- and nothing around the value, so a complete value ends at once
    check(schema, [inst], texts_ok=[json.dumps(inst, indent=2), json.dumps(inst, indent=4),
                                    json.dumps(inst, indent="\t"), json.dumps(inst, indent=2).replace("\n", "\r\n"), "{ }"],
          texts_bad=[" " + dumps, dumps + "\n", dumps + " ", "{" + " " * 30 + "}", '{  "a": [1]}', '{"a":\n\n[1]}',
                     '{"a": [1,\n' + " " * 21 + "2]}"])
    check({"type": "array"}, texts_ok=["[ 1 ]", "[\n" + " " * 20 + "1]"])
    # any: the behaviour before 2026-12, bounded runs everywhere and around the value
    check(schema, [inst], texts_ok=[json.dumps(inst, indent=2), " " + dumps + "\n", '{  "a":\n\n[1]}'],
          texts_bad=["{" + " " * 30 + "}", dumps + " " * 21], whitespace="any")
    check(schema, texts_ok=[json.dumps(inst, separators=(",", ":"))], texts_bad=[json.dumps(inst)],
          whitespace="compact")
    check(schema, texts_ok=[json.dumps(inst, indent=2), "{}"],
          texts_bad=[json.dumps(inst), json.dumps(inst, indent=4)], indent=2)


def test_ir_structure_and_cache_key() -> None:
    js = JsonSchema(PERSON)
    ir = js.to_ir()
    ir.validate()
    assert js.cache_key() == JsonSchema(json.dumps(PERSON)).cache_key()
    assert js.cache_key() != JsonSchema(PERSON, whitespace="compact").cache_key()
    # identical terminals are shared
    defs = list(ir.terminals.values())
    assert len(defs) == len(set(defs))


def test_errors_name_keyword_and_pointer() -> None:
    with pytest.raises(CompileError, match=r"#/properties/x/\$ref"):
        JsonSchema({"properties": {"x": {"$ref": "#/$defs/missing"}}}).to_ir()
    with pytest.raises(CompileError, match="minimum"):
        JsonSchema({"minimum": "3"}).to_ir()
    with pytest.raises(CompileError, match="not valid JSON"):
        JsonSchema("{nope")
    js = JsonSchema({"type": "string", "x-custom": 1, "format": "color"})
    js.to_ir()
    assert any("x-custom" in n for n in js.notes) and any("color" in n for n in js.notes)


# -- pydantic -----------------------------------------------------------------

def test_pydantic_model_round_trip() -> None:
    from typing import Literal, Optional

    from pydantic import BaseModel, Field

    class Item(BaseModel):
        name: str = Field(max_length=10)
        qty: int = Field(ge=1)

    class Order(BaseModel):
        id: int
        kind: Literal["a", "b"]
        items: list[Item]
        note: Optional[str] = None

    g = compile_bytes(Order)
    good = Order(id=1, kind="a", items=[Item(name="x", qty=2)])
    assert accepts_text(g, good.model_dump_json())
    assert accepts_text(g, json.dumps(good.model_dump(), ensure_ascii=False))
    assert not accepts_text(g, '{"id": 1, "kind": "a", "items": [], "extra": 1}')  # closed
    assert not accepts_text(g, '{"id": 1, "kind": "c", "items": []}')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        JsonSchema(Order).to_ir()


def test_bounded_number_literals_are_capped_in_length() -> None:
    """``max_number_padding``: equal spellings of bounded numbers stay finite."""
    long_zeros = "7." + "0" * 40
    schema = {"type": "integer", "minimum": 0, "maximum": 100}
    check(schema, [0, 7, 100, 7.0], [101, 7.5], texts_ok=["7.0000000000"],
          texts_bad=[long_zeros, "7e" + "0" * 40])
    check(schema, texts_ok=[long_zeros], max_number_padding=None)
    check({"enum": [1, 2, 3]}, [1, 3.0], [4], texts_ok=["3.000"], texts_bad=["3." + "0" * 30])
    check({"const": 2.5}, [2.5], [2.4], texts_ok=["2.50"], texts_bad=["2.5" + "0" * 30])
    # unbounded numbers keep every spelling
    check({"type": "integer", "minimum": 0}, texts_ok=[long_zeros])


def test_boolean_exclusive_bounds_are_draft4_only() -> None:
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "number",
              "minimum": 1, "exclusiveMinimum": True}
    check(draft4, [1.5, 2], [1, 0])
    with pytest.raises(CompileError, match="exclusiveMinimum must be a number in draft 6"):
        compile_bytes({"type": "number", "minimum": 1, "exclusiveMinimum": True})


def test_multiple_of_accepts_float_spellings_of_integers() -> None:
    check({"type": "number", "multipleOf": 5}, [10, 10.0, -5.0, 0.0], [7, 7.0, 2.5], texts_ok=["15.000"])
    cents = {"type": "number", "multipleOf": 0.01, "minimum": -1e8, "maximum": 1e8}
    check(cents, [10000, 10000.0, -3.0], [1e9], texts_ok=["7.00"], texts_bad=["7." + "0" * 40])


def test_if_then_inside_all_of_keeps_the_else_side() -> None:
    """A decided if/then of an allOf member stays decided while the negation of its
    condition is unfolded (MaskBench shopware-project-schema: it used to reopen and be
    read as empty, rejecting every ``type`` but the one the condition names)."""
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"type": {"type": "string", "enum": ["equals", "multi"]}, "field": {"type": "string"},
                             "queries": {"type": "array"}},
              "required": ["type", "field"],
              "allOf": [{"if": {"properties": {"type": {"const": "multi"}}}, "then": {"required": ["type", "queries"]}}]}
    check(schema, [{"type": "equals", "field": "x"}, {"type": "multi", "field": "x", "queries": []}],
          [{"type": "multi", "field": "x"}, {"type": "other", "field": "x"}])


def test_malformed_unused_subschema_does_not_crash() -> None:
    """A list where a schema belongs (JsonSchemaStore's tmlanguage has one) made the
    reference crawl raise AttributeError; unused, it must not stop compilation."""
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"bad": [1, 2]},
              "type": "object", "properties": {"n": {"type": "integer"}}}
    check(schema, [{"n": 5}, {}], [{"n": "x"}])


def test_merged_properties_follow_schema_order() -> None:
    """allOf [$ref base, extension]: the base's properties come first, as written (the
    $ref target used to follow the extension, being resolved later)."""
    base = {"type": "object", "properties": {"id": {"type": "string"}, "type": {"enum": ["atomic", "compound"]}},
            "required": ["id", "type"]}
    ext = {"properties": {"type": {"pattern": "compound"}, "states": {"type": "object"}}, "required": ["states"]}
    schema = {"$defs": {"base": base}, "allOf": [{"$ref": "#/$defs/base"}, ext]}
    check(schema, [{"id": "a", "type": "compound", "states": {}}],
          texts_bad=['{"type": "compound", "id": "a", "states": {}}'])


def test_invalid_id_and_unknown_dialect() -> None:
    """Errors of the $id machinery are named, not swallowed."""
    for bad in (5, "http://[bad"):
        with pytest.raises(CompileError, match=r"invalid \$id.*#/properties/a/\$id"):
            JsonSchema({"properties": {"a": {"$id": bad, "type": "string"}}}).to_ir()
    with pytest.raises(CompileError, match=r"cannot resolve \$ref 'http://\[bad'"):
        JsonSchema({"$ref": "http://[bad"}).to_ir()
    js = JsonSchema({"$schema": "https://example.com/my-dialect", "type": "integer"})
    js.to_ir()
    assert any("unknown $schema" in n for n in js.notes), js.notes
