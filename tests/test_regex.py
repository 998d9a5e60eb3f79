"""Regex front-end (structgen.regex_syntax) through its DFAs: agreement with Python's
``re`` (fullmatch and search), ECMA-262 semantics, anchors and error reporting."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import warnings

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from structgen.dfa import compile_regex
from structgen.errors import CompileError
from structgen.regex_syntax import Anchor, Chars, parse_regex, regex_ast

# Python regexes whose DFAs are checked against ``re``.
PY_CORPUS = [
    r"abc",
    r"a|b|cd",
    r"(ab)*c",
    r"a{2,5}",
    r"(?:ab|c){0,3}d",
    r"x{3}y{2,}",
    r"a{,3}b",
    r"[a-z]+[0-9]?",
    r"[^a-z]*",
    r"\d+(\.\d{1,2})?",
    r"\w+",
    r"\s*\S+",
    r"\D\W\S",
    r".*",
    r"(?s).*x",
    r"(?i)hello",
    r"(?i)[a-z]+",
    r"(?i)straße",
    r"(?i)[^k]s",
    r"(?i)ſ|K|µ",
    r"(?i)[ΣσςA]+",
    r"(?i)\w",
    r"(?a)\w+\s\d",
    r"(?ai)k",
    r"é+ü?",
    r"[à-ÿ]+",
    r"😀+|🙏",
    r"[😀-🙏]{1,2}",
    r"[\u0100-\uffff]",
    r"x[\U00010000-\U000100ff\U0001f300-\U0001f6ff\U0010fff0-\U0010ffff]y",
    r"(?x) a b # comment\n c",
    r"a*?b+?c??",
    r"(?P<n>a)b",
    r"\x41\u00e9\N{EM DASH}",
    r"\0\07\101",
    r"[\d\s]+",
    r"[\w-]+",
    r"[]a]|[^]a]",
    r"^abc$",
    r"^(a|b)$",
    r"(^a|b$)",
    r"\Aa\Z",
    r"(?m)^a$",
    r"(?i:a)b(?-i:C)",
    r"[\x00-\x7f]+",
    r"[^\x00-\x7f]+",
    r"(?:)",
    r"(a|)+b",
    r"((a|b)c)*",
    r"(?i)ǅ|[İı]|ﬀ",
    r"[^\w\s]",
    r"\S+@\S+\.\w{2,}",
    r"[0-9]{1,3}(\.[0-9]{1,3}){3}",
    r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?",
    r"\d{4}-\d{2}-\d{2}",
]

# Characters that exercise the corpus: ASCII, case pairs and re's special cases,
# Unicode digits/spaces, multi-byte and astral characters, line terminators.
ALPHABET = "abcdehklosxyzKSABCH019 _-.@\n\t\r\x0b\x1céÉüßẞſ\u212aµμΣσςǅǆǄİıﬀ٣\u00a0\u2028\u3000€😀🙏𝒜"

_settings = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                             HealthCheck.filter_too_much])


def _compiled(pattern: str) -> re.Pattern:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return re.compile(pattern)


def _encodable(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@st.composite
def _mutated(draw, base: str) -> str:
    """``base`` with a few random edits (insert, delete, replace, duplicate, cut)."""
    s = base
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["ins", "del", "rep", "dup", "cut"]))
        i = draw(st.integers(0, len(s)))
        ch = draw(st.sampled_from(ALPHABET))
        if op == "ins":
            s = s[:i] + ch + s[i:]
        elif op == "del" and s:
            s = s[:i] + s[i + 1:]
        elif op == "rep" and s:
            s = s[:i] + ch + s[i + 1:]
        elif op == "dup":
            s = s[:i] + s[i:] + s[i:]
        elif op == "cut":
            s = s[:i]
    return s


@pytest.mark.parametrize("pattern", PY_CORPUS)
@_settings
@given(data=st.data())
def test_python_fullmatch_agrees_with_re(pattern: str, data) -> None:
    rx = _compiled(pattern)
    dfa = compile_regex(pattern)
    s = data.draw(st.from_regex(rx, fullmatch=True), label="generated")
    assume(_encodable(s))
    assert bool(rx.fullmatch(s)) and dfa.fullmatch(s.encode("utf-8")), (pattern, s)
    m = data.draw(_mutated(s), label="mutated")
    if _encodable(m):
        assert dfa.fullmatch(m.encode("utf-8")) == bool(rx.fullmatch(m)), (pattern, m)
    r = data.draw(st.text(alphabet=ALPHABET, max_size=8), label="random")
    assert dfa.fullmatch(r.encode("utf-8")) == bool(rx.fullmatch(r)), (pattern, r)


@pytest.mark.parametrize("pattern", PY_CORPUS)
@_settings
@given(data=st.data())
def test_python_search_agrees_with_re(pattern: str, data) -> None:
    rx = _compiled(pattern)
    dfa = compile_regex(pattern, search=True)
    inner = data.draw(st.from_regex(rx, fullmatch=True), label="match")
    left = data.draw(st.text(alphabet=ALPHABET, max_size=3), label="left")
    right = data.draw(st.text(alphabet=ALPHABET, max_size=3), label="right")
    for s in (left + inner + right, data.draw(st.text(alphabet=ALPHABET, max_size=8), label="random")):
        if _encodable(s):
            assert dfa.fullmatch(s.encode("utf-8")) == bool(rx.search(s)), (pattern, s)


@pytest.mark.parametrize("pattern,flags", [("abc", "i"), ("a.c", "s"), ("^a$", "m"), ("a b", "x"), (r"\w", "a"),
                                           (r"(?i)k", "a"), ("x$", "")])
@_settings
@given(s=st.text(alphabet=ALPHABET, max_size=5))
def test_python_flags_argument(pattern: str, flags: str, s: str) -> None:
    bits = 0
    for ch in flags:
        bits |= {"i": re.I, "s": re.S, "m": re.M, "x": re.X, "a": re.A}[ch]
    for search in (False, True):
        dfa = compile_regex(pattern, flags=flags, search=search)
        rx = re.compile(pattern, bits)
        assert dfa.fullmatch(s.encode()) == bool(rx.search(s) if search else rx.fullmatch(s)), (pattern, s)


def test_python_unicode_classes_exhaustive_bmp() -> None:
    """``\\d \\w \\s`` and ``.`` agree with re on every BMP character (no surrogates)."""
    chars = [chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]
    for pattern in (r"\d", r"\w", r"\s", r".", r"(?i)[a-zß]", r"(?i)[^\W\d]"):
        rx = _compiled(pattern)
        dfa = compile_regex(pattern)
        wrong = [c for c in chars if dfa.fullmatch(c.encode()) != bool(rx.fullmatch(c))]
        assert not wrong, (pattern, [hex(ord(c)) for c in wrong[:10]])


def test_python_case_insensitive_exhaustive() -> None:
    """Every cased letter of the first planes: ``(?i)<c>`` matches what re matches."""
    # an uncased character can only match itself, so the universe is the cased ones
    cased = [chr(c) for c in range(0x2200) if chr(c).lower() != chr(c) or chr(c).upper() != chr(c)]
    universe = cased + ["\u0345", "\u212a", "\u2126", "\ufb05", "\ufb06", "\U00010400", "\U00010428"]
    for c in cased[::11] + ["k", "s", "i", "\u0345", "\u03b9", "\U00010400"]:
        pattern = "(?i)" + re.escape(c)
        rx = re.compile(pattern)
        dfa = compile_regex(pattern)
        got = {u for u in universe if dfa.fullmatch(u.encode())}
        want = {u for u in universe if rx.fullmatch(u)}
        assert got == want, (c, got ^ want)


# ---------------------------------------------------------------------------
# anchors


@pytest.mark.parametrize("pattern,search,yes,no", [
    ("^ab|cd", True, ["ab", "abx", "cd", "xcdx"], ["xab", "c"]),
    ("ab$", True, ["ab", "xab", "ab\n"], ["abx", "ab\n\n"]),
    (r"ab\Z", True, ["ab", "xab"], ["ab\n"]),
    (r"ab\z", True, ["ab", "xab"], ["ab\n"]),
    ("(?m)^ab$", True, ["ab", "x\nab\ny", "ab\n"], ["xab", "abx"]),
    ("^$", True, ["", "\n"], ["a", "\n\n"]),
    ("(^a|b$)", True, ["a", "ax", "xb", "b"], ["xa", "bx"]),
    ("^(a|b)$", False, ["a", "b"], ["ab", "a\n"]),
    ("^^a$$", False, ["a"], ["", "aa"]),
    ("a|^", False, ["a", ""], ["b"]),
])
def test_anchors(pattern: str, search: bool, yes: list[str], no: list[str]) -> None:
    dfa = compile_regex(pattern, search=search)
    rx = re.compile(pattern.replace("\\z", "\\Z"))
    for s in yes:
        assert dfa.fullmatch(s.encode()), s
        assert bool(rx.search(s) if search else rx.fullmatch(s)), s
    for s in no:
        assert not dfa.fullmatch(s.encode()), s
        assert not (rx.search(s) if search else rx.fullmatch(s)), s


def test_anchor_nodes_in_raw_ast() -> None:
    node = parse_regex(r"^a$")
    assert isinstance(node.items[0], Anchor) and node.items[0].side == "start"
    assert isinstance(node.items[-1], Anchor) and node.items[-1].rank == 1  # Python's $: optional final \n
    assert isinstance(regex_ast(r"^a$"), Chars)  # fullmatch: anchors are no-ops
    assert not isinstance(regex_ast(r"^a$", search=True), Chars)  # search: "\n?" follows


# ---------------------------------------------------------------------------
# ECMA-262


def _ecma(pattern: str, flags: str = "", search: bool = False):
    return compile_regex(pattern, dialect="ecma", flags=flags, search=search)


@pytest.mark.parametrize("pattern,flags,yes,no", [
    (r"\d", "", ["0", "9"], ["٣", "a", "²"]),
    (r"\D", "", ["٣", "a"], ["5"]),
    (r"\w", "", ["a", "Z", "_", "0"], ["é", "ſ", "\u212a", "-"]),
    (r"\w", "i", ["a", "ſ", "\u212a"], ["é"]),
    (r"\W", "i", ["é", "-"], ["S", "s", "ſ", "\u212a"]),
    (r"\s", "", [" ", "\t", "\n", "\r", "\u000b", "\u00a0", "\ufeff", "\u2028", "\u2029", "\u3000", "\u1680"],
     ["\x1c", "\x85", "a"]),
    (r".", "", ["a", "é", "😀", "\x00"], ["\n", "\r", "\u2028", "\u2029"]),
    (r".", "s", ["\n", "\r", "\u2028"], [""]),
    (r"\p{L}", "", ["a", "é", "ж", "ǅ", "中"], ["1", "-", "😀"]),
    (r"\p{Lu}", "", ["A", "Ж"], ["a", "ǅ"]),
    (r"\p{Letter}", "", ["a"], ["1"]),
    (r"\p{General_Category=Decimal_Number}", "", ["1", "٣"], ["²", "a"]),
    (r"\p{gc=Nd}", "", ["٣"], ["a"]),
    (r"\P{L}", "", ["1", "😀"], ["a"]),
    (r"[\p{N}\p{Pd}]+", "", ["1²-", "٣"], ["a"]),
    (r"\p{Any}", "", ["a", "\U0010ffff"], [""]),
    (r"\p{ASCII}+", "", ["a\x7f"], ["é"]),
    (r"\p{So}", "", ["😀", "©"], ["a"]),
    (r"\cJ\cj", "", ["\n\n"], ["cJ"]),
    (r"\u{1F600}\u00e9", "", ["😀é"], []),
    (r"\uD83D\uDE00", "", ["😀"], []),
    (r"\x41\0", "", ["A\x00"], []),
    (r"[^]", "", ["\n", "a", "😀"], ["", "ab"]),
    (r"a[]", "", [], ["a", "a]"]),
    (r"[\b]", "", ["\x08"], ["b"]),
    (r"[\-\]]+", "", ["-]"], ["\\"]),
    (r"\-\_\:\@", "", ["-_:@"], []),  # Annex B identity escapes (Python's jsonschema accepts them)
    (r"a{", "", ["a{"], ["a"]),
    (r"a}", "", ["a}"], []),
    (r"ß", "i", ["ß", "ẞ"], ["ss", "SS"]),
    (r"[a-z]+", "i", ["ABC", "\u212a", "ſ"], ["é"]),
    (r"(?i:a)B", "", ["AB", "aB"], ["ab"]),
    (r"(?<year>\d{4})-(?:\d\d)", "", ["2024-01"], ["24-01"]),
    (r"^\d+$", "m", ["12"], ["1a"]),
])
def test_ecma_semantics(pattern: str, flags: str, yes: list[str], no: list[str]) -> None:
    dfa = _ecma(pattern, flags)
    for s in yes:
        assert dfa.fullmatch(s.encode()), (pattern, s)
    for s in no:
        assert not dfa.fullmatch(s.encode()), (pattern, s)


@pytest.mark.parametrize("pattern,flags,yes,no", [
    ("a", "", ["xay", "a"], ["b", ""]),
    ("^a", "", ["ab"], ["ba"]),
    ("a$", "", ["ba"], ["a\n", "ab"]),  # unlike Python, ECMA's $ is the end of input
    ("^a$", "m", ["x\na\ry", "a\u2028"], ["xa", "ab"]),
    ("^[a-z]+$", "", ["abc"], ["ab1", "ab\n"]),
    ("", "", ["", "anything"], []),
    ("^list|date|time|long$", "", ["lists", "update", "times", "long", "belong"], ["alist", "longer", "x"]),
])
def test_ecma_search(pattern: str, flags: str, yes: list[str], no: list[str]) -> None:
    dfa = _ecma(pattern, flags, search=True)
    for s in yes:
        assert dfa.fullmatch(s.encode()), (pattern, s)
    for s in no:
        assert not dfa.fullmatch(s.encode()), (pattern, s)


@pytest.mark.parametrize("pattern,python", [
    (r"[a-z]+\d*", r"[a-z]+[0-9]*"),
    (r"(ab|c)+", r"(ab|c)+"),
    (r"x\s?y", r"x[\t\n\x0b\x0c\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]?y"),
    (r"[^a-c]{2}", r"[^a-c]{2}"),
    (r"a.b", r"a[^\n\r\u2028\u2029]b"),
    (r"[\w.-]+@\w+", r"[A-Za-z0-9_.-]+@[A-Za-z0-9_]+"),
])
@_settings
@given(s=st.text(alphabet="abcdxy019 .-@_\n\r\t\u00a0\u2028é٣", max_size=8))
def test_ecma_matches_python_written_out(pattern: str, python: str, s: str) -> None:
    """ECMA classes agree with their Python spelling."""
    assert _ecma(pattern).fullmatch(s.encode()) == bool(re.fullmatch(python, s)), (pattern, s)


_NODE_ORACLE = r"""
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(cases.map(([p, flags, strs]) => {
  let full, srch;
  try {
    full = new RegExp('(?:' + p + ')(?![\\s\\S])', 'uy' + flags);
    srch = new RegExp(p, 'u' + flags);
  } catch (e) { return null; }
  return strs.map(s => { full.lastIndex = 0; return [full.test(s), srch.test(s)]; });
})));
"""


def _random_ecma_pattern(rng: random.Random, depth: int = 0) -> str:
    atoms = ["a", "b", "k", "K", "s", "ſ", "é", "É", "😀", ".", r"\d", r"\w", r"\s", r"\D", r"\W", r"\S", "[a-c]",
             "[^ab]", r"[\w-]", "[k-s]", r"[^\d\s]", r"\x41", r"\u00e9", r"\u{1F600}", r"\n", r"\.", r"[\]]",
             "(?:)", " ", "ß", "ẞ", "İ", "ı", "µ", "Σ", "ς", r"\p{L}", r"\p{Lu}", r"\P{Ll}", r"\p{N}", r"[\p{P}a]",
             "[^]", r"\cJ", r"\uD83D\uDE00", "\u2028", "\r", r"[\s\S]", "\u00a0", "\ufeff", "\u212a"]
    r = rng.random()
    if depth > 3 or r < 0.35:
        return rng.choice(atoms)
    a, b = _random_ecma_pattern(rng, depth + 1), _random_ecma_pattern(rng, depth + 1)
    if r < 0.55:
        return a + b
    if r < 0.7:
        return f"(?:{a}|{b})"
    if r < 0.85:
        return f"(?:{a})" + rng.choice(["*", "+", "?", "{2}", "{1,3}", "{2,}", "*?"])
    return f"({a})"


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node (ECMAScript's own RegExp as the oracle)")
def test_ecma_agrees_with_node() -> None:
    """Random ECMA patterns and strings: fullmatch and search agree with V8 (``u`` flag)."""
    rng = random.Random(7)
    alphabet = "abkKsSſéÉ😀 \n\r\t.Aß0İiıµμΣσς_-]x\u2028\u00a0\ufeff\u212aẞ٣Ж"
    cases = []
    for _ in range(300):
        p = ("^" if rng.random() < 0.2 else "") + _random_ecma_pattern(rng) + ("$" if rng.random() < 0.2 else "")
        flags = "".join(f for f in "ims" if rng.random() < 0.3)
        strs = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 5))) for _ in range(30)]
        cases.append((p, flags, strs))
    proc = subprocess.run(["node", "-e", _NODE_ORACLE], input=json.dumps(cases), capture_output=True, text=True,
                          check=True, timeout=120)
    for (p, flags, strs), expected in zip(cases, json.loads(proc.stdout)):
        assert expected is not None, p  # every generated pattern is valid ECMAScript
        full, search = _ecma(p, flags), _ecma(p, flags, search=True)
        for s, (f, sr) in zip(strs, expected):
            assert full.fullmatch(s.encode()) == f, (p, flags, s)
            assert search.fullmatch(s.encode()) == sr, (p, flags, "search", s)


def test_ecma_rejects_python_only_syntax() -> None:
    for pattern in [r"(?i)a", r"\Aa", r"a\Z", r"(?P<x>a)", r"a{,3}", r"a*+", r"\p{Script=Latin}", r"\p{sc=Grek}",
                    r"\p{Emoji}", r"\p{Foo}", r"\k<x>", r"(?<x>a)\k<x>", r"\1", r"[\d-z]", r"\x4", r"\u12", r"\e",
                    r"\c1", r"\07"]:
        with pytest.raises(CompileError):
            _ecma(pattern)


def test_script_property_error_names_it() -> None:
    with pytest.raises(CompileError, match=r"\\p\{Script=\.\.\.\}.*offset 1"):
        _ecma(r"a\p{Script=Greek}")


# ---------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("pattern,construct,fragment,offset", [
    (r"(a)\1", "backreference", r"'\\1'", 3),
    (r"(?P<x>a)(?P=x)", "backreference", "'(?P=x)'", 8),
    (r"x(?=a)", "lookahead", "'(?='", 1),
    (r"(?!a)", "lookahead", "'(?!'", 0),
    (r"b(?<=a)", "lookbehind", "'(?<='", 1),
    (r"(?<!a)b", "lookbehind", "'(?<!'", 0),
    (r"foo\b", "word boundary", r"'\\b'", 3),
    (r"\Bx", "word boundary", r"'\\B'", 0),
    (r"(a)(?(1)b|c)", "conditional", "'(?(1)'", 3),
    (r"ab*+", "possessive", "'*+'", 2),
    (r"a{2}+", "possessive", "'{2}+'", 1),
    (r"(?>ab)", "atomic group", "'(?>'", 0),
    (r"a(?R)", "recursion", "'(?R)'", 1),
    (r"(?1)", "recursion", "'(?1)'", 0),
    (r"(ab", "unterminated subpattern", "'(ab'", 0),
    (r"ab)", "unbalanced parenthesis", "')'", 2),
    (r"[z-a]", "bad character range", "'z-a'", 1),
    (r"*a", "nothing to repeat", "'*'", 0),
    (r"a**", "multiple repeat", "'*'", 2),
    (r"\q", "bad escape", r"'\\q'", 0),
    (r"[ab", "unterminated character set", "'[ab'", 0),
    (r"a{3,2}", "min repeat greater than max repeat", "'{3,2}'", 1),
    (r"a^b", "anchor not at the start", "'^'", 1),
    (r"a$b", "anchor not at the end", "'$'", 1),
    (r"(^a)+", "anchor inside a repetition", "'^'", 1),
    (r"a(?i)b", "global flags not at the start", "'(?i)'", 1),
    (r"\N{NO SUCH NAME}", "undefined character name", "NO SUCH NAME", 0),
])
def test_error_names_construct_fragment_and_offset(pattern: str, construct: str, fragment: str, offset: int) -> None:
    with pytest.raises(CompileError) as info:
        compile_regex(pattern)
    msg = str(info.value)
    assert construct in msg and fragment in msg and f"offset {offset}" in msg, msg


def test_syntax_errors_agree_with_re() -> None:
    """Patterns that re rejects are rejected, and vice versa (over a varied sample)."""
    samples = [r"a{", r"{", r"a{1", r"a{1,", r"x{}", r"a{,}", r"[]]", r"[^]]", r"[a-]", r"[-a]", r"\$", r"\-", r"\_",
               r"\é", r"(?#c)a", r"a(?#c)*", r"(?x)a #c", r"(?x)a{1, 2}", r"(?i)(?x)a", r"(?a-i:a)", r"(?u)a",
               r"(?au)a", r"(?-a:a)", r"(?i-i:a)", r"\08", r"\123", r"\400", r"[\400]", r"\U00110000",
               r"(?P<a>x)(?P<a>y)", r"(?P<1a>x)", r"a|*", r"()", r"(|)", r"a{2}?", r"a??", r"\N", r"\N{}",
               r"[\A]", r"[\z]", "a\\", r"[a-\d]", r"[\w-]", r"(?#a\)", r"(?#a\)b)", "(?x)a#b\\"]
    for p in samples:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                re.compile(p)
                ok = True
            except re.error:
                ok = False
        try:
            compile_regex(p)
            ours = True
        except CompileError:
            ours = False
        assert ours == ok, (p, ok)


def test_comments_read_escapes_as_re_does() -> None:
    """In comments a backslash escapes the next character (even ``)`` or a newline)."""
    for pattern in ["(?x)a # c \\\nb", "(?x)a # c\nb", r"(?#a\)b)c", "(?#ab)c", "(?x)a[ #]b"]:
        rx = re.compile(pattern)
        for s in ["ab", "c", "a b", "a#b", "a"]:
            assert compile_regex(pattern).fullmatch(s.encode()) == bool(rx.fullmatch(s)), (pattern, s)


def test_unknown_dialect_and_flags() -> None:
    with pytest.raises(CompileError, match="dialect"):
        compile_regex("a", dialect="perl")
    with pytest.raises(CompileError, match="flag"):
        compile_regex("a", flags="q")
    with pytest.raises(CompileError, match="flag"):
        compile_regex("a", dialect="ecma", flags="x")
    with pytest.raises(CompileError, match="LOCALE"):
        compile_regex("a", flags="L")


def test_python_extensions() -> None:
    """``(?<name>...)`` and ``\\z`` (Python 3.14 syntax) are accepted."""
    assert compile_regex(r"(?<y>\d{2})x\z").fullmatch(b"12x")
    assert compile_regex(r"ab\z", search=True).fullmatch(b"xab")
    assert not compile_regex(r"ab\z", search=True).fullmatch(b"xab\n")


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(CompileError, match="nested too deeply"):
        compile_regex("(" * 2000 + "a" + ")" * 2000)
    assert compile_regex("(" * 100 + "a" + ")" * 100).fullmatch(b"a")


def test_lone_surrogates_never_match() -> None:
    assert compile_regex("\ud800").is_empty()
    assert compile_regex(r"\ud800|a").fullmatch(b"a")
    assert compile_regex(r"[\ud800-\udfff]").is_empty()
    assert _ecma(r"\uD800").is_empty()
