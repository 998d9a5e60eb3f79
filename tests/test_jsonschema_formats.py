"""Format regexes: the JSON-Schema-Test-Suite format cases, soundness against the
installed ``jsonschema`` format checker, and their byte DFAs."""

from __future__ import annotations

import json
import re
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from structgen.dfa import compile_terminal
from structgen.ir import TerminalDef
from structgen.jsonschema.formats import FORMATS, format_pattern
from tests.conformance._common import jsts

# Known deviations from the test suite: always stricter (a valid string rejected)
# except where listed in WRONG_ACCEPTS.  See the module docstring of formats.py.
WRONG_ACCEPTS = {("hostname", "exceeds maximum overall length (256)")}


def _cases():
    out = []
    for name, groups in jsts()["groups"].items():
        if not name.startswith("optional/format/"):
            continue
        fmt = name.split("/")[-1]
        if fmt not in FORMATS:
            continue
        for g in groups:
            for t in g["tests"]:
                if isinstance(t["data"], str):
                    out.append((fmt, t["description"], t["data"], t["valid"]))
    return out


CASES = _cases()


def test_suite_format_cases() -> None:
    wrong_accepts = set()
    wrong_rejects = []
    for fmt, desc, data, valid in CASES:
        ok = re.fullmatch(FORMATS[fmt], data) is not None
        if ok and not valid:
            wrong_accepts.add((fmt, desc))
        elif valid and not ok:
            wrong_rejects.append((fmt, desc))
    assert wrong_accepts == WRONG_ACCEPTS
    # rejections: non-ASCII/punycode host names, leap seconds with offsets
    assert {f for f, _ in wrong_rejects} <= {"hostname", "idn-hostname", "time", "date-time"}
    assert len(wrong_rejects) <= 45
    assert len(CASES) > 550


# (email and idn-email are checked for "@" only: every string our regex accepts has one)
CHECKED = ["ipv4", "ipv6", "date", "uuid", "idn-hostname", "regex"]


@pytest.mark.parametrize("fmt", CHECKED)
def test_checked_formats_are_sound(fmt: str) -> None:
    """Every string our regex accepts passes jsonschema's checker for that format."""
    checker = Draft202012Validator.FORMAT_CHECKER

    @settings(max_examples=40 if fmt == "regex" else 150, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.from_regex(re.compile(FORMATS[fmt]), fullmatch=True))
    def check(s: str) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert checker.conforms(s, fmt), s

    check()


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_format_dfa_matches_regex(fmt: str) -> None:
    dfa = compile_terminal(TerminalDef(FORMATS[fmt], json_string=True))
    for f2, _, data, _ in CASES:
        if f2 != fmt:
            continue
        expect = re.fullmatch(FORMATS[fmt], data) is not None
        for ensure_ascii in (False, True):
            assert dfa.fullmatch(json.dumps(data, ensure_ascii=ensure_ascii).encode()) == expect, data


def test_email_needs_at() -> None:
    for fmt in ("email", "idn-email"):
        assert "@" in FORMATS[fmt] and re.fullmatch(FORMATS[fmt], "a.b@c.d")
        assert not re.fullmatch(FORMATS[fmt], "abc")


def test_unknown_format_is_none() -> None:
    assert format_pattern("int32") is None
    assert format_pattern("date-time") is not None
    # pydantic parses datetimes itself and rejects leap seconds
    assert re.fullmatch(format_pattern("date-time", pydantic=True), "1998-12-31T23:59:60Z") is None
    assert re.fullmatch(format_pattern("date-time"), "1998-12-31T23:59:60Z") is not None


@pytest.mark.parametrize("text,ok", [
    ("2024-02-29", True), ("2023-02-29", False), ("1900-02-29", False), ("2000-02-29", True),
    ("0000-01-01", False), ("0001-01-01", True), ("2024-04-31", False), ("2024-12-31", True)])
def test_dates(text: str, ok: bool) -> None:
    assert (re.fullmatch(FORMATS["date"], text) is not None) == ok


def test_regex_format_compiles_exhaustively_on_short_strings() -> None:
    """Every string of up to 4 characters, over the characters that make Python's
    ``re`` parser refuse or warn, that the ``regex`` format accepts compiles without
    error or warning (``[^]`` was once drawn by the property test above)."""
    from structgen.jsonschema.formats import REGEX

    dfa = compile_terminal(TerminalDef(REGEX))
    alphabet = [bytes([b]) for b in b"a^[]\\-&|~(){}?*+1,.$:d"]
    frontier, accepted = [(b"", dfa.start)], []
    for _ in range(4):
        frontier = [(s + c, t) for s, q in frontier for c in alphabet if (t := dfa.walk(c, q)) >= 0]
        accepted += [s.decode() for s, q in frontier if dfa.accept[q]]
    assert len(accepted) > 10_000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for s in accepted:
            re.compile(s)
    for refused in ("[^]", "[a&&b]", "[a--b]", "[a||b]", "[[a]", "a{2,1}", "a**", "(?<x"):
        assert re.fullmatch(REGEX, refused) is None, refused
