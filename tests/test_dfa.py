"""Byte-level DFAs (structgen.dfa): UTF-8 validity, minimality and trimming,
set operations, TerminalDef features (literal, search, intersect/exclude,
json_string) and the state limit."""

from __future__ import annotations

import itertools
import json
import re
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structgen.dfa import (ByteDFA, compile_regex, compile_terminal, difference, intersection, json_string_dfa, union,
                           utf8_sequences)
from structgen.errors import CompileError
from structgen.ir import TerminalDef

_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _valid_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")  # strict: no overlongs, no surrogates, nothing past U+10FFFF
    except UnicodeDecodeError:
        return False
    return True


# ---------------------------------------------------------------------------
# UTF-8


def _run_all(dfa: ByteDFA, strings: np.ndarray) -> np.ndarray:
    """Vectorized fullmatch of equal-length byte strings (rows of a uint8 array)."""
    state = np.zeros(len(strings), dtype=np.int64)
    for col in strings.T:
        live = state >= 0
        state[live] = dfa.trans[state[live], dfa.classmap[col[live]]]
    return (state >= 0) & dfa.accept[np.maximum(state, 0)]


def test_any_text_accepts_exactly_valid_utf8_up_to_three_bytes() -> None:
    dfa = compile_regex(r"(?s).*")
    assert dfa.fullmatch(b"")
    for n in (1, 2, 3):
        grid = np.array(list(itertools.product(range(256), repeat=n)) if n < 3 else
                        [(a, b, c) for a in range(0xC0, 0x100) for b in range(0x70, 0xD0) for c in (0x3F, 0x80, 0xBF)],
                        dtype=np.uint8)
        got = _run_all(dfa, grid)
        want = np.array([_valid_utf8(bytes(row)) for row in grid])
        assert np.array_equal(got, want), [bytes(r) for r in grid[got != want][:5]]


def test_any_text_accepts_exactly_valid_utf8_longer_samples() -> None:
    dfa = compile_regex(r"(?s).*")
    rng = np.random.default_rng(1)
    for n in range(4, 9):
        kind = rng.integers(0, 3, size=(4000, n))
        grid = np.where(kind == 0, rng.integers(0x80, 0xC0, size=kind.shape),
                        np.where(kind == 1, rng.integers(0xC0, 0x100, size=kind.shape),
                                 rng.integers(0, 0x100, size=kind.shape))).astype(np.uint8)
        got = _run_all(dfa, grid)
        want = np.array([_valid_utf8(bytes(row)) for row in grid])
        assert np.array_equal(got, want), [bytes(r) for r in grid[got != want][:5]]


@pytest.mark.parametrize("bad", [b"\x80", b"\xbf", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf",
                                 b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf",
                                 b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xff", b"\xe2\x82", b"\xf0\x9f\x98"])
@pytest.mark.parametrize("pattern", [r"(?s).*", r"[^a]*", r"\W*", r"\D*", r"[\x00-\U0010ffff]*"])
def test_invalid_utf8_rejected(pattern: str, bad: bytes) -> None:
    assert not compile_regex(pattern).fullmatch(bad)


def test_partial_characters_are_live_states() -> None:
    dfa = compile_regex(r"(?s).")
    for ch in ["é", "€", "😀", "\U0010ffff", "\u0800", "\ud7ff", "\ue000", "\U00010000"]:
        b = ch.encode()
        for k in range(1, len(b)):
            s = dfa.walk(b[:k])
            assert s >= 0 and not dfa.accept[s], (ch, k)
        assert dfa.fullmatch(b)
    assert dfa.walk(b"\xed\xa0") == -1  # a surrogate's prefix is already dead
    assert dfa.walk(b"\xc0") == -1


@given(lo=st.integers(0, 0x10FFFF), width=st.integers(0, 3000), probe=st.lists(st.integers(0, 0x10FFFF), max_size=20))
@settings(max_examples=200, deadline=None)
def test_utf8_sequences_cover_exactly_the_range(lo: int, width: int, probe: list[int]) -> None:
    hi = min(lo + width, 0x10FFFF)
    seqs = utf8_sequences(((lo, hi),))
    for a, b in zip(seqs, seqs[1:]):  # sorted and disjoint
        assert a < b

    def covered(cp: int) -> bool:
        if 0xD800 <= cp <= 0xDFFF:
            return False
        enc = chr(cp).encode()
        return any(len(sq) == len(enc) and all(x <= y <= z for (x, z), y in zip(sq, enc)) for sq in seqs)

    for cp in probe + [lo, hi, lo - 1, hi + 1, (lo + hi) // 2]:
        if 0 <= cp <= 0x10FFFF:
            assert covered(cp) == (lo <= cp <= hi and not 0xD800 <= cp <= 0xDFFF), hex(cp)


# ---------------------------------------------------------------------------
# minimality, trimming, canonical form


def _check_trimmed(dfa: ByteDFA) -> None:
    n = dfa.n_states
    reach = {0}
    stack = [0]
    while stack:
        s = stack.pop()
        for t in dfa.trans[s]:
            if t >= 0 and t not in reach:
                reach.add(int(t))
                stack.append(int(t))
    assert reach == set(range(n))
    live = {s for s in range(n) if dfa.accept[s]}
    changed = True
    while changed:
        changed = False
        for s in range(n):
            if s not in live and any(t in live for t in dfa.trans[s] if t >= 0):
                live.add(s)
                changed = True
    assert live == set(range(n)) or dfa.is_empty()


def _check_minimal(dfa: ByteDFA) -> None:
    """No two states are equivalent (naive Moore refinement as the oracle)."""
    block = [int(a) for a in dfa.accept]
    while True:
        sig = {s: (block[s], tuple(block[t] if t >= 0 else -1 for t in dfa.trans[s])) for s in range(dfa.n_states)}
        ids: dict = {}
        new = [ids.setdefault(sig[s], len(ids)) for s in range(dfa.n_states)]
        if len(ids) == len(set(block)):
            break
        block = new
    assert len(set(block)) == dfa.n_states
    # classes are distinct columns
    cols = {tuple(dfa.trans[:, c]) for c in range(dfa.n_classes)}
    assert len(cols) == dfa.n_classes


@pytest.mark.parametrize("pattern,n", [("a*", 1), ("(a|b)*abb", 4), ("[a-z]{0,5}", 6), ("abc|abd", 4), ("(ab)*", 2),
                                       ("(?s).", 9), ("(?s).*", 8), ("", 1), (r"\d{2}", 3)])
def test_known_minimal_sizes(pattern: str, n: int) -> None:
    dfa = compile_regex(pattern, flags="a" if "\\d" in pattern else "")
    assert dfa.n_states == n
    _check_trimmed(dfa)
    _check_minimal(dfa)


@pytest.mark.parametrize("a,b", [("a|b", "[ab]"), ("(a|b)*", "[ab]*"), ("a{2,3}", "aaa?"), ("(?:a*)*", "a*"),
                                 ("x(?:y|z)", "xy|xz"), ("(?i)k", "[kK\u212a]"), ("a+", "aa*"), ("(a|)b", "a?b"),
                                 (r"[\s\S]", "(?s)."), ("(?:ab|a)(?:c|bc)", "abc|abbc|ac")])
def test_equal_languages_give_equal_dfas(a: str, b: str) -> None:
    da, db = compile_regex(a), compile_regex(b)
    assert da == db and hash(da) == hash(db)


def _regexes(alphabet: str = "abc"):
    atoms = st.sampled_from(list(alphabet) + ["[ab]", "[^a]", ".", "(?:)"])

    def extend(inner):
        return st.one_of(
            st.tuples(inner, inner).map(lambda t: f"(?:{t[0]}{t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"(?:{t[0]}|{t[1]})"),
            inner.map(lambda x: f"(?:{x})*"),
            inner.map(lambda x: f"(?:{x})?"),
            st.tuples(inner, st.integers(0, 2), st.integers(0, 2)).map(
                lambda t: f"(?:{t[0]}){{{t[1]},{t[1] + t[2]}}}"),
        )

    return st.recursive(atoms, extend, max_leaves=6)


_SHORT = ["".join(p) for n in range(6) for p in itertools.product("abc", repeat=n)]


_ORACLE_STRINGS = _SHORT + ["é", "aé", "\n", "a\nb", "€c", "ab\U0001F600"]


@given(pattern=_regexes("abcé"))
@_settings
def test_random_regexes_agree_with_interegular(pattern: str) -> None:
    """An independent implementation as the oracle: interegular's FSM (from its own
    regex parser) and our byte DFA accept the same strings, non-ASCII included."""
    import interegular

    fsm = interegular.parse_pattern(pattern).to_fsm()
    dfa = compile_regex(pattern)
    for s in _ORACLE_STRINGS:
        assert dfa.fullmatch(s.encode()) == fsm.accepts(s), (pattern, s)


@given(pattern=_regexes())
@_settings
def test_random_regexes_minimal_trimmed_and_correct(pattern: str) -> None:
    dfa = compile_regex(pattern)
    _check_trimmed(dfa)
    _check_minimal(dfa)
    rx = re.compile(pattern)
    for s in _SHORT:
        assert dfa.fullmatch(s.encode()) == bool(rx.fullmatch(s)), (pattern, s)


@given(pattern=_regexes())
@_settings
def test_without_empty(pattern: str) -> None:
    dfa = compile_regex(pattern)
    ne = dfa.without_empty()
    assert not ne.matches_empty()
    _check_trimmed(ne)
    _check_minimal(ne)
    for s in _SHORT:
        assert ne.fullmatch(s.encode()) == (bool(s) and dfa.fullmatch(s.encode())), (pattern, s)
    if not dfa.matches_empty():
        assert ne is dfa


def test_without_empty_examples() -> None:
    assert compile_regex("a*").without_empty() == compile_regex("a+")
    assert compile_regex("(?:)").without_empty().is_empty()
    assert compile_regex("a?b?").without_empty() == compile_regex("ab?|b")


@given(p=_regexes(), q=_regexes())
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_set_operations_against_brute_force(p: str, q: str) -> None:
    a, b = compile_regex(p), compile_regex(q)
    inter, diff, uni = intersection(a, b), difference(a, b), union(a, b)
    for d in (inter, diff, uni):
        _check_trimmed(d)
        _check_minimal(d)
    for s in _SHORT:
        x, y = a.fullmatch(s.encode()), b.fullmatch(s.encode())
        assert inter.fullmatch(s.encode()) == (x and y)
        assert diff.fullmatch(s.encode()) == (x and not y)
        assert uni.fullmatch(s.encode()) == (x or y)


def test_set_operations_canonical() -> None:
    assert intersection(compile_regex("[a-c]+"), compile_regex("[b-d]+")) == compile_regex("[bc]+")
    assert difference(compile_regex("[a-z]+"), compile_regex("if|in")) == compile_regex(
        "[a-hj-z][a-z]*|i(?:[a-eg-mo-z][a-z]*)?|i[fn][a-z]+")
    assert union(compile_regex("a"), compile_regex("b")) == compile_regex("[ab]")
    assert intersection(compile_regex("a+"), compile_regex("b+")).is_empty()


# ---------------------------------------------------------------------------
# TerminalDef


def test_terminal_literal() -> None:
    d = compile_terminal(TerminalDef('"name"', literal=True))
    assert d.fullmatch(b'"name"') and not d.fullmatch(b'"nam"') and d.n_states == 7
    assert compile_terminal(TerminalDef("a.b", literal=True)) == compile_regex(r"a\.b")
    assert compile_terminal(TerminalDef("é😀", literal=True)).fullmatch("é😀".encode())
    assert compile_terminal(TerminalDef("", literal=True)).matches_empty()
    assert compile_terminal(TerminalDef("ab\ud800", literal=True)).is_empty()
    assert compile_terminal(TerminalDef("Straße", literal=True, flags="i")).fullmatch(b"STRASSE") is False
    assert compile_terminal(TerminalDef("Strasse", literal=True, flags="i")) == compile_regex("(?i)strasse")
    assert compile_terminal(TerminalDef("a.b", literal=True, search=True)) == compile_regex(r"a\.b", search=True)
    with pytest.raises(CompileError):
        compile_terminal(TerminalDef("a", literal=True, flags="q"))


@given(text=st.text(max_size=12))
@_settings
def test_literal_fast_path_is_canonical(text: str) -> None:
    got = compile_terminal(TerminalDef(text, literal=True))
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        assert got.is_empty()
    else:
        assert got == compile_regex(re.escape(text)) and got.fullmatch(text.encode())


def test_terminal_memoized() -> None:
    t1 = TerminalDef(r"[a-z]+\d", flags="a")
    t2 = TerminalDef(r"[a-z]+\d", flags="a")
    assert compile_terminal(t1) is compile_terminal(t2)


def test_terminal_intersect_exclude() -> None:
    key = TerminalDef(r'"[a-z]+"', exclude=(TerminalDef('"if"', literal=True), TerminalDef('"in"', literal=True)))
    d = compile_terminal(key)
    assert d.fullmatch(b'"ab"') and d.fullmatch(b'"i"') and d.fullmatch(b'"int"')
    assert not d.fullmatch(b'"if"') and not d.fullmatch(b'"in"')
    bounded = TerminalDef(r"[0-9]+", intersect=(TerminalDef(r"(?s).{2,4}"),), exclude=(TerminalDef(r"0.*"),))
    d = compile_terminal(bounded)
    assert d == compile_regex(r"[1-9][0-9]{1,3}")
    nested = TerminalDef(r"[a-z]+", exclude=(TerminalDef("a", literal=True), TerminalDef("b+", flags="i"),
                                              TerminalDef("x+", exclude=(TerminalDef("xx", literal=True),))))
    d = compile_terminal(nested)
    assert d.fullmatch(b"xx") and d.fullmatch(b"ab") and d.fullmatch(b"c")
    assert not d.fullmatch(b"a") and not d.fullmatch(b"bb") and not d.fullmatch(b"x") and not d.fullmatch(b"xxx")
    pattern_and_length = TerminalDef(r"^a", dialect="ecma", search=True,
                                      intersect=(TerminalDef(r"^.{0,3}$", dialect="ecma", search=True),))
    d = compile_terminal(pattern_and_length)
    assert d.fullmatch(b"a") and d.fullmatch(b"abc") and not d.fullmatch(b"abcd") and not d.fullmatch(b"ba")


def test_terminal_dialect_and_flags_errors_name_terminal() -> None:
    with pytest.raises(CompileError, match="dialect"):
        compile_terminal(TerminalDef("a", dialect="pcre"))
    with pytest.raises(CompileError, match="offset 1"):
        compile_terminal(TerminalDef(r"a\1"))


# ---------------------------------------------------------------------------
# json_string

_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _json_oracle(text: bytes, value_rx: re.Pattern) -> bool:
    try:
        s = text.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if len(s) < 2 or s[0] != '"' or s[-1] != '"':
        return False
    try:
        v = json.loads(s)
    except ValueError:
        return False
    return isinstance(v, str) and all(not 0xD800 <= ord(c) <= 0xDFFF for c in v) and bool(value_rx.fullmatch(v))


@st.composite
def _json_spelling(draw, value: str) -> str:
    """One of the many JSON spellings of ``value``."""
    out = ['"']
    for ch in value:
        cp = ord(ch)
        forced = ch in '"\\' or cp < 0x20
        how = draw(st.sampled_from(["raw", "short", "u", "U"]))
        if how == "short" and ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif how in ("u", "U") or (forced and ch not in _ESCAPES):
            units = [cp] if cp < 0x10000 else [0xD800 + ((cp - 0x10000) >> 10), 0xDC00 + ((cp - 0x10000) & 0x3FF)]
            for u in units:
                h = f"{u:04x}"
                out.append("\\u" + (h.upper() if how == "U" else h))
        elif forced:
            out.append(_ESCAPES[ch])
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


JSON_VALUE_PATTERNS = [r"[a-z]*", r"(?s).*", r"(?s).{0,3}", r"a\nb|\\|\"|/", r"[\x00-\x1f]+", r"é|😀|\u0800|\uffff",
                       r"[^\x00-\x7f]{1,2}", r"\d{2,3}"]


@pytest.mark.parametrize("pattern", JSON_VALUE_PATTERNS)
@_settings
@given(data=st.data())
def test_json_string_against_json_loads(pattern: str, data) -> None:
    rx = re.compile(pattern)
    dfa = compile_terminal(TerminalDef(pattern, json_string=True))
    value = data.draw(st.from_regex(rx, fullmatch=True).filter(
        lambda v: all(not 0xD800 <= ord(c) <= 0xDFFF for c in v)), label="value")
    text = data.draw(_json_spelling(value), label="spelling").encode()
    assert dfa.fullmatch(text), (pattern, text)
    # mutate the encoded text: agree with the oracle both ways
    b = bytearray(text)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(b)))
        op = data.draw(st.sampled_from(["ins", "del", "rep"]))
        byte = data.draw(st.sampled_from(list(b'"\\/ubfnrtDdc0aA9\x01\x7f') + [0xC3, 0xA9, 0xED, 0xF0, 0x9F]))
        if op == "ins":
            b[i:i] = bytes([byte])
        elif op == "del" and i < len(b):
            del b[i]
        elif i < len(b):
            b[i] = byte
    assert dfa.fullmatch(bytes(b)) == _json_oracle(bytes(b), rx), (pattern, bytes(b))


def test_json_string_examples() -> None:
    d = compile_terminal(TerminalDef("é😀", literal=True, json_string=True))
    for ok in ['"é😀"', '"\\u00e9\\ud83d\\ude00"', '"\\u00E9\\uD83D\\uDE00"', '"é\\uD83D\\udE00"']:
        assert d.fullmatch(ok.encode()), ok
    for bad in ['"é😀', 'é😀', '"\\u00e9\\ud83d"', '"\\u00e9\\ude00\\ud83d"', '"\\u00e9\\ud83d\\u0041"']:
        assert not d.fullmatch(bad.encode()), bad
    lone = compile_terminal(TerminalDef(r"(?s).*", json_string=True))
    assert not lone.fullmatch(b'"\\ud800"') and not lone.fullmatch(b'"\\udc00"')
    assert lone.fullmatch(b'"\\ud800\\udc00"') and lone.fullmatch(b'"\\u0000\\/"')
    assert not lone.fullmatch(b'"\x01"') and not lone.fullmatch(b'"\\x"')
    keys = compile_terminal(TerminalDef(r"[a-z]+", json_string=True,
                                        exclude=(TerminalDef("if", literal=True, json_string=True),)))
    assert keys.fullmatch(b'"ab"') and not keys.fullmatch(b'"if"') and not keys.fullmatch(b'"\\u0069f"')
    assert json_string_dfa(compile_regex("a")) == compile_terminal(TerminalDef("a", json_string=True))


def test_json_string_long_max_length() -> None:
    """The raw composition exceeds max_states for maxLength 300; the minimal DFA does not."""
    d = compile_terminal(TerminalDef(r"(?s).{0,300}", json_string=True), max_states=20_000)
    assert d.n_states <= 20_000
    assert d.fullmatch(('"' + "\\u00e9\\n" * 150 + '"').encode())
    assert not d.fullmatch(('"' + "é" * 301 + '"').encode())
    with pytest.raises(CompileError, match="max_states=2000"):
        compile_terminal(TerminalDef(r"(?s).{0,300}", json_string=True), max_states=2000)


# ---------------------------------------------------------------------------
# state limit, large repetitions, misc


def test_state_limit_fails_fast() -> None:
    t = time.perf_counter()
    with pytest.raises(CompileError, match=r"max_states=50000") as info:
        compile_regex(r"(a|b)*a(a|b){30}")
    assert time.perf_counter() - t < 10
    assert "(a|b)*a(a|b){30}" in str(info.value)
    with pytest.raises(CompileError, match=r"max_states=100"):
        compile_regex(r"(a|b)*a(a|b){10}", max_states=100)
    assert compile_regex(r"(a|b)*a(a|b){5}").n_states == 64


def test_nfa_limit_fails_fast() -> None:
    t = time.perf_counter()
    with pytest.raises(CompileError, match="exceeds max_states"):  # counted: (100000 + 1) * 1000 states
        compile_regex(r"(?:a{1000}){100000}")
    with pytest.raises(CompileError, match="NFA states"):  # not prefix-free: subset construction
        compile_regex(r"(?:a{1000}b?){100000}")
    with pytest.raises(CompileError):
        compile_regex(r"x{4294967294}")
    assert time.perf_counter() - t < 10
    assert compile_regex(r"(?:){1000000000}").matches_empty()


def test_product_limit() -> None:
    a = compile_regex(r"(?s).*a.{8}")
    b = compile_regex(r"(?s).*b.{8}")
    with pytest.raises(CompileError, match="max_states=300"):
        intersection(a, b, max_states=300)


def test_long_bounded_repetitions() -> None:
    d = compile_regex(r"[a-z]{0,5000}")
    assert d.n_states == 5001 and d.fullmatch(b"a" * 5000) and not d.fullmatch(b"a" * 5001)
    d = compile_regex(r'"[^"]{0,2000}"')
    assert d.fullmatch(('"' + "é" * 1000 + "😀" * 1000 + '"').encode())
    assert not d.fullmatch(('"' + "x" * 2001 + '"').encode())
    assert d.n_states < 20000


def test_bytedfa_is_immutable() -> None:
    d = compile_regex("ab")
    with pytest.raises(AttributeError):
        d.n_states = 3
    with pytest.raises(ValueError):
        d.trans[0, 0] = 5
    assert d.trans.dtype == np.int32 and d.classmap.dtype == np.uint8 and d.accept.dtype == np.bool_
    assert d.start == 0 and d.trans.shape == (d.n_states, d.n_classes)
    assert int(d.classmap.max()) == d.n_classes - 1
    with pytest.raises(ValueError, match="out of range"):
        d.walk(b"a", 3)
    assert d.walk(b"a", -1) == -1 and d.walk(b"a") == 1 and d.walk(b"b", 1) == 2
    with pytest.raises(ValueError, match="inconsistent"):
        ByteDFA(np.array([[1]], dtype=np.int32), np.array([True]), np.zeros(256, dtype=np.uint8))


def test_bytedfa_pickles() -> None:
    import copy
    import pickle

    d = compile_regex(r"[a-z]+é")
    for back in (pickle.loads(pickle.dumps(d)), copy.deepcopy(d)):
        assert back == d and back.fullmatch("abé".encode()) and not back.trans.flags.writeable


def test_empty_language() -> None:
    for d in (compile_regex("[]", dialect="ecma"), compile_regex(r"a[^\s\S]"), compile_regex(r"\ud800")):
        assert d.is_empty() and not d.matches_empty() and d.n_states == 1
    assert not compile_regex("").is_empty() and compile_regex("").matches_empty()


@pytest.mark.slow
def test_stored_unicode_tables_match_this_python() -> None:
    """The stored tables equal what this interpreter's unicodedata/_sre give."""
    import unicodedata

    from structgen import _unicode

    if unicodedata.unidata_version != _unicode.UNIDATA_VERSION:
        pytest.skip("stored tables are for another Unicode version (they are recomputed at run time)")
    fresh = _unicode._compute()
    stored = _unicode._tables()
    for key, value in fresh.items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(value, stored[key]), key
        else:
            assert value == stored[key], key


def _terminal_from_json(obj) -> "TerminalDef":
    from structgen.ir import TerminalDef

    return TerminalDef(obj["p"], literal=obj.get("l", False), dialect=obj.get("d", "python"),
                       flags=obj.get("f", ""), search=obj.get("s", False), json_string=obj.get("j", False),
                       intersect=tuple(_terminal_from_json(m) for m in obj.get("i", ())),
                       exclude=tuple(_terminal_from_json(m) for m in obj.get("x", ())))


def test_terminal_dfas_match_reference_digests() -> None:
    """The terminals of a MaskBench sample compile to the same minimized DFAs (SHA-256 of
    the arrays) as the compiler wrote before its caches and fast paths existed
    (``benchmarks/terminal_compile.py --write-reference``), or to the same error."""
    import gzip
    import hashlib
    import json
    from pathlib import Path

    from structgen import dfa as _dfa

    path = Path(__file__).parent / "fixtures" / "dfa_reference.jsonl.gz"
    rows = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
    assert len(rows) > 2000
    bad = []
    for rec in rows:
        t = _terminal_from_json(rec["t"])
        try:
            d = _dfa.compile_terminal(t)
        except CompileError as exc:
            if "error" not in rec:
                bad.append((rec["t"]["p"][:80], f"error {exc}"))
            continue
        h = hashlib.sha256(np.array(d.trans.shape, dtype=np.int64).tobytes())
        for arr in (d.trans, d.accept, d.classmap):
            h.update(np.ascontiguousarray(arr).tobytes())
        if rec.get("sha") != h.hexdigest()[:24]:
            bad.append((rec["t"]["p"][:80], d.n_states, rec.get("n"), rec.get("error")))
    assert not bad, bad[:5]


_JSON_CHAR = (r'(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u(?:[0-9a-cA-CefEF][0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2})'
              r'|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})')


@pytest.mark.parametrize("pattern, counted", [
    ('"' + _JSON_CHAR + '{0,40}"', True), (_JSON_CHAR + "{17}", True), (_JSON_CHAR + "{20,}", True),
    ('"' + _JSON_CHAR + "{3,33}", True), (r"[ \t\n\r]{0,20}\}", True), (r"x[αβγ]{5,30}y{0,3}", True),
    (r"(?:ab|c){0,18}d", True), (r"(?:[0-9]{2}-){17,19}", True),
    (r"a{0,17}a", False), (r"(?:a|ab){0,20}", False), (r"(?:a{0,2}){20}", False), (r"[a-z]{0,30}[a-f]{0,20}", False),
])
def test_counted_repetitions_equal_subset_construction(pattern: str, counted: bool) -> None:
    """Long repetitions built by counting give the canonical DFA of subset construction;
    items that are not prefix-free and parts that do not join deterministically are left
    to subset construction."""
    from structgen import dfa as _dfa
    from structgen.regex_syntax import regex_ast

    ast = regex_ast(pattern)
    fast = _dfa._counted(ast, _dfa.DEFAULT_MAX_STATES, "t")
    assert (fast is not None) == counted
    assert _dfa.dfa_from_ast(ast) == _dfa._subset_dfa(ast, _dfa.DEFAULT_MAX_STATES, "t")
    if fast is not None:
        assert fast == _dfa._subset_dfa(ast, _dfa.DEFAULT_MAX_STATES, "t")
