"""Property-based fuzzing of the JSON Schema compiler.

Random schemas (types with bounds, enums, patterns, arrays, objects with required and
closed properties, anyOf/allOf/not, nested) either compile or raise a CompileError,
never anything else.  For those that compile, on the byte vocabulary:

* sound: random walks under the mask end in texts that parse as JSON and validate
  (jsonschema, format checking on);
* exact on given instances: random JSON values are accepted exactly when jsonschema
  says they are valid.

Derandomized in CI (tests/conftest.py), so a failure here is reproducible.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structgen.errors import CompileError

from ._walks import random_walks
from .conformance._common import accepts_text, compile_bytes, is_valid, reference_validator

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-20, 20), st.sampled_from([0.5, -1.25, 3.0]),
                     st.sampled_from(["", "a", "ab", "abc", "é", "0"]))
_json = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), inner, max_size=3)),
    max_leaves=6)

_leaf = st.one_of(
    st.just({}),
    st.just({"type": "string"}),
    st.builds(lambda lo, w: {"type": "string", "minLength": lo, "maxLength": lo + w},
              st.integers(0, 2), st.integers(0, 3)),
    st.builds(lambda p: {"type": "string", "pattern": p}, st.sampled_from(["^a+$", "^[a-c]{1,3}$", "b", "^é?$"])),
    st.builds(lambda lo, w: {"type": "integer", "minimum": lo, "maximum": lo + w},
              st.integers(-20, 20), st.integers(0, 40)),
    st.builds(lambda lo: {"type": "number", "exclusiveMinimum": lo}, st.integers(-5, 5)),
    st.builds(lambda m: {"type": "integer", "multipleOf": m}, st.integers(2, 5)),
    st.sampled_from([{"type": "boolean"}, {"type": "null"}, {"type": ["integer", "null"]}]),
    st.builds(lambda vals: {"enum": vals}, st.lists(_scalars, min_size=1, max_size=4)),
    st.builds(lambda v: {"const": v}, _scalars),
)


def _object(props: dict, req: set, closed: bool) -> dict:
    out: dict = {"type": "object", "properties": props, "required": sorted(k for k in props if k in req)}
    if closed:
        out["additionalProperties"] = False
    return out


def _extend(inner):
    keys = st.sampled_from(["a", "b", "c"])
    return st.one_of(
        st.builds(lambda it, lo, w: {"type": "array", "items": it, "minItems": lo, "maxItems": lo + w},
                  inner, st.integers(0, 2), st.integers(0, 2)),
        st.builds(_object, st.dictionaries(keys, inner, max_size=3), st.sets(keys), st.booleans()),
        st.builds(lambda xs: {"anyOf": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"allOf": xs}, st.lists(inner, min_size=1, max_size=2)),
        st.builds(lambda x, y: {"allOf": [x, {"not": y}]}, inner, _leaf),
    )


_schemas = st.recursive(_leaf, _extend, max_leaves=5)


@given(schema=_schemas, instances=st.lists(_json, min_size=1, max_size=6), seed=st.integers(0, 2**16))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_schemas_are_sound_and_exact_on_instances(schema, instances, seed) -> None:
    try:
        grammar = compile_bytes(schema)
    except CompileError:
        return  # a clear refusal (an unenforceable or empty schema) is an answer
    v = reference_validator(schema)
    for inst in instances:
        text = json.dumps(inst)
        assert accepts_text(grammar, text) == is_valid(v, inst), (schema, text)
    stats = random_walks(grammar, n_walks=4, max_tokens=120, seed=seed)
    for data in stats.finished:
        value = json.loads(data)
        assert is_valid(v, value), (schema, data)
