"""structgen.Limits: every limit is enforced, named in its refusal, overridable per
call and for the process, and a cached grammar is served whatever the limits."""

from __future__ import annotations

import math

import pytest

import structgen
from structgen import Limits, LimitExceeded
from structgen.vocab import Vocabulary

V = Vocabulary.from_token_bytes([bytes([i]) for i in range(256)] + [None], eos_ids=[256])


@pytest.mark.parametrize("limit,value,constraint", [
    ("max_terminals", 50, {"enum": [{"k": i} for i in range(100)]}),
    ("max_rules", 20, {"type": "object", "properties": {f"p{i}": {"type": "integer"} for i in range(30)}}),
    ("max_dfa_states", 100, structgen.Regex("[a-z]{0,500}")),
    ("max_nesting", 10, {"items": {"items": {"items": {"items": {"items": {"items": {"items": {"items": {
        "items": {"items": {"items": {"type": "string"}}}}}}}}}}}}),
    ("compile_seconds", 1e-9, {"type": "object", "properties": {"a": {"type": "string", "maxLength": 50}}}),
])
def test_each_limit_is_enforced_and_named(limit, value, constraint) -> None:
    structgen.api.clear_memory_caches()
    with pytest.raises(LimitExceeded, match=rf"Limits\.{limit}=") as info:
        structgen.compile(constraint, V, limits=Limits(**{limit: value}))
    assert info.value.limit == limit
    assert isinstance(info.value, structgen.CompileError)
    structgen.api.clear_memory_caches()
    structgen.compile(constraint, V)  # the defaults allow it


def test_process_default_and_cache() -> None:
    schema = {"enum": [{"k": i} for i in range(60)]}
    structgen.api.clear_memory_caches()
    try:
        structgen.set_limits(Limits(max_terminals=20))
        assert structgen.get_limits().max_terminals == 20
        with pytest.raises(LimitExceeded, match="max_terminals"):
            structgen.compile(schema, V)
        g = structgen.compile(schema, V, limits=Limits.unlimited())  # per call beats the default
    finally:
        structgen.set_limits(None)
    assert structgen.get_limits() == Limits()
    assert structgen.compile(schema, V, limits=Limits(max_terminals=1)) is g  # served from the cache


def test_limits_are_checked() -> None:
    assert Limits.unlimited().max_rules == math.inf
    for bad in ({"max_rules": 0}, {"max_terminals": 1.5}, {"compile_seconds": -1}, {"max_nesting": True}):
        with pytest.raises(ValueError, match="Limits"):
            Limits(**bad)
    with pytest.raises(TypeError):
        structgen.set_limits({"max_rules": 5})
