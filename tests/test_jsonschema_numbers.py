"""Number-range regexes (structgen.jsonschema.numbers) against jsonschema's semantics.

The regexes are Python syntax, so ``re.fullmatch`` checks them directly; a few are
also compiled to byte DFAs.  The oracle is :meth:`NumberConstraint.contains`, which
mirrors ``jsonschema`` (checked against the real validator below).
"""

from __future__ import annotations

import json
import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from structgen.errors import CompileError
from structgen.jsonschema.numbers import (
    NumberConstraint,
    integer_range_pattern,
    non_integer_pattern,
    number_pattern,
    number_terminal_parts,
    value_pattern,
)

# -- literal generators -------------------------------------------------------

_digits = st.text("0123456789", min_size=1, max_size=6)


@st.composite
def literals(draw) -> str:
    """JSON number literals of every form (int, decimal, exponent, -0, long)."""
    sign = draw(st.sampled_from(["", "-"]))
    ip = draw(st.one_of(st.just("0"), st.integers(1, 9).map(str), st.integers(10, 10 ** 20).map(str)))
    frac = draw(st.one_of(st.just(""), _digits.map(lambda d: "." + d)))
    exp = draw(st.one_of(st.just(""), st.just(""),
                         st.tuples(st.sampled_from("eE"), st.sampled_from(["", "+", "-"]),
                                   st.integers(0, 400).map(str)).map("".join)))
    return sign + ip + frac + exp


BOUNDS = [None, (0, False), (0, True), (1, False), (1, True), (-3, False), (-2.5, True), (2.5, False), (0.1, False),
          (10, True), (100, False), (1e-5, False), (1.5, True), (-0.5, False), (9007199254740993, False),
          (1e300, False), (7, False), (3.14, True), (-1e-300, True)]
CONSTRAINTS = [NumberConstraint(minimum=lo, maximum=hi, integer=i)
               for lo in BOUNDS[::2] for hi in BOUNDS[1::2] for i in (False, True)]


def _validator(c: NumberConstraint) -> Draft202012Validator:
    schema: dict = {"type": "integer" if c.integer else "number"}
    if c.minimum is not None:
        schema["exclusiveMinimum" if c.minimum[1] else "minimum"] = c.minimum[0]
    if c.maximum is not None:
        schema["exclusiveMaximum" if c.maximum[1] else "maximum"] = c.maximum[0]
    if c.multiple_of:
        schema["multipleOf"] = c.multiple_of[0]
    return Draft202012Validator(schema)


def _accepts(parts: list[str] | None, text: str) -> bool:
    return parts is not None and all(re.fullmatch(p, text) for p in parts)


FIXED = ["0", "-0", "0.0", "-0.0", "0e5", "1e2", "1E+2", "1e-2", "1.5e1", "1e400", "1e-400", "-1e400", "12e1",
         "0.1e1", "1.0", "2.50", "100.000", "1e-05", "9.99", "10.01", "-10.5", "3.14159", "0.000001", "5e-324",
         "2e-324", "1.0000000000000002", "0.9999999999999999", "0.99999999999999999", "1.00000000000000001",
         "9007199254740993", "9007199254740993.0", "1e308", "1.7976931348623157e308", "1.8e308", "-5.5",
         "7.5e-1", "2.5E0", "99.99e0", "3.1400000000000001", "-1e-300", "-1e-301"]


def test_contains_matches_jsonschema() -> None:
    for c in CONSTRAINTS:
        v = _validator(c)
        for text in FIXED:
            x = json.loads(text)
            assert c.contains(x) == v.is_valid(x), (c, text)


@pytest.mark.parametrize("c", CONSTRAINTS, ids=lambda c: f"{c.minimum}-{c.maximum}-{'int' if c.integer else 'num'}")
def test_bounds_fixed_literals(c: NumberConstraint) -> None:
    pat = number_pattern(c)
    for text in FIXED:
        x = json.loads(text)
        ok = pat is not None and re.fullmatch(pat, text) is not None
        if ok:
            assert c.contains(x), f"accepted invalid {text} for {c}"
        elif c.contains(x) and "e" not in text.lower() and len(text.replace("-", "").replace(".", "")) < 16 \
                and not (c.integer and "." in text):
            pytest.fail(f"rejected valid plain literal {text} for {c}")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(literals(), st.sampled_from(CONSTRAINTS))
def test_bounds_sound_and_complete_on_plain_forms(text: str, c: NumberConstraint) -> None:
    x = json.loads(text)
    ok = re.fullmatch(number_pattern(c) or "(?!)", text) is not None
    if ok:
        assert c.contains(x), f"accepted invalid {text} for {c}"
    # completeness: plain literals (no exponent, < 16 significant digits), and
    # normalised scientific ones as json.dumps writes floats
    plain = "e" not in text.lower() and len(text.replace("-", "").replace(".", "")) < 16
    if c.contains(x) and plain and not (c.integer and "." in text):
        assert ok, f"rejected valid {text} for {c}"


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(CONSTRAINTS))
def test_bounds_on_json_dumps_of_floats(x: float, c: NumberConstraint) -> None:
    text = json.dumps(x)
    ok = re.fullmatch(number_pattern(c) or "(?!)", text) is not None
    assert ok == c.contains(x) or (not ok and c.integer), (text, c)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(-10 ** 30, 10 ** 30), st.integers(-10 ** 6, 10 ** 6), st.integers(0, 10 ** 6))
def test_integer_range_exact(x: int, lo: int, width: int) -> None:
    hi = lo + width
    p = integer_range_pattern(lo, hi)
    assert (re.fullmatch(p, str(x)) is not None) == (lo <= x <= hi)
    p_open = integer_range_pattern(lo, None)
    assert (re.fullmatch(p_open, str(x)) is not None) == (x >= lo)


def test_integer_range_minus_zero_and_empty() -> None:
    assert re.fullmatch(integer_range_pattern(0, 0), "-0")
    assert integer_range_pattern(5, 4) is None
    assert not re.fullmatch(integer_range_pattern(0, None), "-1")


@pytest.mark.parametrize("d", [2, 3, 5, 10, 4, 25, 12, 6, 2.0, 3.0, 0.5, 1.5, 0.01, 1e-8, 7])
def test_multiple_of(d) -> None:
    c = NumberConstraint(minimum=(-60, False), maximum=(2000, False), multiple_of=(d,))
    parts = number_terminal_parts(c)
    v = _validator(c)
    for x in list(range(-70, 2010)) + [0.5, 1.5, 4.5, 3.0, -0.0]:
        text = json.dumps(x)
        if _accepts(parts, text):
            assert v.is_valid(x), (d, text)
        elif isinstance(x, int) and v.is_valid(x):
            pytest.fail(f"multipleOf {d}: rejected valid {text}")


@pytest.mark.parametrize("d", [0.123456789, 0.3, 11, 13])
def test_multiple_of_unenforceable(d) -> None:
    with pytest.raises(CompileError, match="multipleOf"):
        number_terminal_parts(NumberConstraint(multiple_of=(d,)))


@pytest.mark.parametrize("value", [0, 1, -1, 1.0, 0.5, -2.5, 1e-5, 123456789012345678901234567890, 1e300, 0.1, -0.0])
def test_value_pattern(value) -> None:
    p = value_pattern(value)
    for text in FIXED + [json.dumps(value), str(value), "1.00", "10E-1", "0.10"]:
        try:
            x = json.loads(text)
        except ValueError:
            continue
        if re.fullmatch(p, text):
            assert x == value and not isinstance(x, bool), (value, text)
    assert re.fullmatch(p, json.dumps(value))


def test_value_pattern_rejects_non_numbers() -> None:
    with pytest.raises(CompileError):
        value_pattern(True)
    with pytest.raises(CompileError):
        value_pattern(math.inf)


def test_non_integer_pattern() -> None:
    p = non_integer_pattern()
    for text in ["0.5", "-1.25", "123456789012.5", "1.50", "3.0", "4", "1e-3", "0.00000000000000001",
                 "12345678901234.56"]:
        x = json.loads(text)
        if re.fullmatch(p, text):
            assert isinstance(x, float) and not x.is_integer(), text
    assert re.fullmatch(p, "0.5") and re.fullmatch(p, "-2.75") and not re.fullmatch(p, "3.0")


def test_number_terminals_compile_to_dfas() -> None:
    from structgen.dfa import compile_terminal
    from structgen.ir import TerminalDef

    c = NumberConstraint(minimum=(-2.5, True), maximum=(1e3, False))
    dfa = compile_terminal(TerminalDef(number_pattern(c)))
    for text in FIXED:
        assert dfa.fullmatch(text.encode()) == (re.fullmatch(number_pattern(c), text) is not None)


def test_long_bounds_split_in_halves_match_the_nested_form(monkeypatch) -> None:
    """The split form of long digit ranges (1e308 has 309 digits) against plain
    comparison, on short ranges with the thresholds lowered so that it is used."""
    import random

    from structgen.jsonschema import numbers

    monkeypatch.setattr(numbers, "_SPLIT_DIGITS", 3)
    monkeypatch.setattr(numbers, "_SPLIT_BASE", 2)
    rnd = random.Random(0)
    for _ in range(1500):
        n = rnd.randint(1, 30)
        x, y = sorted(rnd.randrange(0, 10 ** n) for _ in range(2))
        x = 0 if rnd.random() < 0.2 else x
        y = 10 ** n - 1 if rnd.random() < 0.2 else y
        a, b = str(x).zfill(n), str(y).zfill(n)
        p = re.compile(numbers._fixed_range(a, b))
        probes = [a, b, str(max(x - 1, 0)).zfill(n), str(min(y + 1, 10 ** n - 1)).zfill(n)]
        probes += [s[:k] + str(rnd.randrange(10 ** (n - k))).zfill(n - k) for s in (a, b) for k in range(n)]
        for z in probes:
            assert (p.fullmatch(z) is not None) == (a <= z <= b), (a, b, z)


_MAX = 1.7976931348623157e308
_E308 = str(int(1e308))  # the exact value of the double 1e308: 309 digits


@pytest.mark.parametrize("c", [
    NumberConstraint(minimum=(1e308, False)), NumberConstraint(maximum=(-1e308, False)),
    NumberConstraint(minimum=(-1e308, False), maximum=(1e308, False)),
    NumberConstraint(minimum=(-_MAX, True), maximum=(_MAX, True)),
    NumberConstraint(minimum=(-10 ** 300 - 7, False), maximum=(10 ** 299 + 3, False), integer=True),
], ids=["min 1e308", "max -1e308", "+-1e308", "+-max float exclusive", "integers +-1e300"])
def test_extreme_bounds_compile_and_are_exact(c: NumberConstraint) -> None:
    from structgen.dfa import compile_terminal
    from structgen.ir import TerminalDef

    dfas = [compile_terminal(TerminalDef(p)) for p in number_terminal_parts(c)]
    big = [_E308, str(int(_E308) + 1), str(int(_E308) - 1), "1" + "0" * 308, "9" * 309, "1" + "0" * 309,
           str(int(_MAX)), str(int(_MAX) + 1), str(10 ** 299 + 3), str(10 ** 299 + 4), str(10 ** 300 + 7),
           str(10 ** 300 + 8)]
    texts = big + ["-" + t for t in big] + ["1e308", "1e309", "-1e308", "1.0000000000000001e308", "2e308", "0",
                                             "1.5", "-7", "1e307", _E308 + ".5", "-" + _E308 + ".0"]
    for text in texts:
        ok = all(d.fullmatch(text.encode()) for d in dfas)
        if ok:
            assert c.contains(json.loads(text)), f"accepted invalid {text[:40]}… for {c}"
        elif "e" not in text and "." not in text:
            assert not c.contains(json.loads(text)), f"rejected valid {text[:40]}… for {c}"
