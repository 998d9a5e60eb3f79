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


# ------------------------------------------------------------------ mask fuel

AMBIG = structgen.Lark('start: x\nx: x x | "a"')  # Catalan-ambiguous: work per step grows with the text
VA = Vocabulary.from_bytes([b"a", b"aa", b"b", None], eos_ids=3)


def _walked(n: int, limits: Limits | None = None) -> structgen.Matcher:
    m = structgen.compile(AMBIG, VA).matcher(limits=limits)
    for _ in range(n):
        assert m.advance(0)
    return m


def test_mask_fuel_stops_a_call_and_leaves_the_matcher_unchanged() -> None:
    g = structgen.compile(AMBIG, VA)
    # 60 tokens in, a token costs about 1,780 item additions and a mask about 1,900
    m = _walked(60, Limits(mask_fuel=1_800))
    out = g.allocate_bitmask()
    with pytest.raises(structgen.FuelExhausted, match=r"Limits\.mask_fuel=1,800") as info:
        m.fill_bitmask(out)
    assert info.value.limit == "mask_fuel" and isinstance(info.value, (structgen.StructgenError, RuntimeError))
    with pytest.raises(structgen.FuelExhausted):
        m.advance(0)  # the 61st token: about 1,830
    with pytest.raises(structgen.FuelExhausted):
        structgen.fill_bitmasks([m], g.allocate_bitmask(1))
    assert m.num_steps == 60
    m.rollback(50)  # ten tokens in: cheap again, and the same state as a fresh walk
    m.fill_bitmask(out)
    ref = g.allocate_bitmask()
    _walked(10).fill_bitmask(ref)
    assert (out == ref).all()
    assert m.fork().advance(0)  # a fork keeps the fuel
    assert m.forced_bytes() == b""  # jump-forward never raises: it stops early


def test_mask_fuel_default_and_process_setting() -> None:
    m = _walked(60)  # the default is far above this
    m.fill_bitmask(m.grammar.allocate_bitmask())
    try:
        structgen.set_limits(Limits(mask_fuel=100))
        with pytest.raises(structgen.FuelExhausted):
            _walked(60)
        m.fill_bitmask(m.grammar.allocate_bitmask())  # a matcher keeps the fuel it was made with
    finally:
        structgen.set_limits(None)
    assert _walked(60, Limits.unlimited()).advance(0)
    with pytest.raises(TypeError, match="Limits"):
        structgen.compile(AMBIG, VA).matcher(limits={"mask_fuel": 5})


def test_consume_bytes_has_the_fuel_per_byte() -> None:
    m = structgen.compile(AMBIG, VA).matcher(limits=Limits(mask_fuel=3_000))
    assert m.consume_bytes(b"a" * 40)  # 40 bytes at once: more than 3,000 units in all, fewer each
    with pytest.raises(structgen.FuelExhausted):
        m.consume_bytes(b"a" * 100)
    assert m.num_steps == 1
