"""The shipped Lark grammars (``grammars/*.lark``) against their corpora and oracles.

Three acceptors are compared on every sample of ``tests/data/grammars/<name>/``:

* ``in_language``: Lark's Earley parser with its ``dynamic`` lexer;
* ``in_munch_language``: an Earley recognizer fed by a maximal-munch contextual lexer,
  the exact semantics of structgen's engine;
* ``in_lalr_munch_language``: Lark's LALR(1) tables with the same maximal-munch lexer.

Valid samples must pass all three, invalid ones must fail all three, except the
invalid samples listed in ``DYNAMIC_ACCEPTS``: there Lark's dynamic lexer splits a
lexeme that a maximal-munch lexer keeps whole, so only the two munch acceptors reject.
Valid samples longer than ``DYNAMIC_FAST_CHARS[name]`` go through Lark's dynamic Earley
parser only in the slow suite (``pytest -m slow``): it needs about a millisecond per
character of C here.
"""

from __future__ import annotations

import importlib.resources
import io
import logging
import re

import lark
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._grammar_oracle import (
    GRAMMAR_NAMES,
    LexemeTie,
    MunchLexer,
    corpus_files,
    earley_parser,
    expected_identifier_pattern,
    grammar_identifier_pattern,
    grammar_keywords,
    grammar_text,
    identifier_regex,
    in_lalr_munch_language,
    in_language,
    in_munch_language,
    load_corpus,
    munch_recognizer,
)

# Longest valid sample (characters) that Lark's dynamic Earley parser checks in the default suite.
DYNAMIC_FAST_CHARS = {"json": 4000, "arithmetic": 4000, "sql": 4000, "c": 700}

# Invalid samples that Lark's dynamic lexer accepts by splitting a lexeme.
DYNAMIC_ACCEPTS = {
    # "SELECT fro m FROM t": IDENT matches "fro" (the longest non-keyword prefix of
    # "from"), then "m" is an alias without AS.
    ("sql", "10_keyword_as_column.txt"): "keyword split into identifier + alias",
}

# Shift/reduce conflicts that Lark's LALR(1) construction resolves by shifting.
EXPECTED_SHIFT_REDUCE = {
    "json": set(),
    "arithmetic": set(),
    "sql": set(),
    "c": {"ELSE"},  # the dangling else: shifting binds it to the nearest if, as C does
}

MIN_VALID, MIN_INVALID = 20, 10


def _samples(valid: bool) -> list:
    params = []
    for name in GRAMMAR_NAMES:
        for path in corpus_files(name, valid):
            params.append(pytest.param(name, path, id=f"{name}/{path.name}"))
    return params


def _read(path) -> str:
    return path.read_bytes().decode("utf-8")


# ---------------------------------------------------------------- the grammar files


@pytest.mark.parametrize("name", GRAMMAR_NAMES)
def test_grammar_ships_in_package(name: str) -> None:
    shipped = importlib.resources.files("structgen.grammars") / f"{name}.lark"
    assert shipped.read_text(encoding="utf-8") == grammar_text(name)


@pytest.mark.parametrize("name", GRAMMAR_NAMES)
def test_grammar_is_lalr1(name: str) -> None:
    """Every grammar is LALR(1); the only shift/reduce conflicts are the expected ones."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    old_level = lark.logger.level
    lark.logger.addHandler(handler)
    lark.logger.setLevel(logging.DEBUG)
    try:
        lark.Lark(grammar_text(name), parser="lalr", lexer=MunchLexer, start="start")
    finally:
        lark.logger.removeHandler(handler)
        lark.logger.setLevel(old_level)
    conflicts = set(re.findall(r"Shift/Reduce conflict for terminal (\w+)", stream.getvalue()))
    assert conflicts == EXPECTED_SHIFT_REDUCE[name]


@pytest.mark.parametrize("name", GRAMMAR_NAMES)
def test_corpus_size(name: str) -> None:
    assert len(load_corpus(name, valid=True)) >= MIN_VALID
    assert len(load_corpus(name, valid=False)) >= MIN_INVALID


@pytest.mark.parametrize("name", ["c", "sql"])
def test_identifier_terminal_is_current(name: str) -> None:
    """IDENT is exactly the generated "identifier minus this grammar's keywords" regex."""
    assert grammar_identifier_pattern(name) == expected_identifier_pattern(name), (
        f"IDENT in grammars/{name}.lark is stale: run `python tests/_grammar_oracle.py identifier {name}`"
    )


@pytest.mark.parametrize("name", ["c", "sql"])
def test_identifier_terminal_excludes_exactly_the_keywords(name: str) -> None:
    keywords, case_insensitive = grammar_keywords(name)
    ident = re.compile(grammar_identifier_pattern(name))
    base = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
    reserved = {k.lower() if case_insensitive else k for k in keywords}
    words = set()
    for k in keywords:
        words.update({k, k.upper(), k.capitalize(), k + "x", k + "_", k + "1", "x" + k, k[:-1], k[1:]})
    words.update({"x", "_", "a1", "A", "Z9_", "_0"})
    for word in sorted(words - {""}):
        expected = bool(base.fullmatch(word)) and (word.lower() if case_insensitive else word) not in reserved
        assert bool(ident.fullmatch(word)) == expected, word


def test_identifier_regex_small_example() -> None:
    regex = re.compile(identifier_regex(["if", "in", "int"]))
    for word in ["i", "if_", "iff", "inn", "into", "integer", "x", "_if", "IF", "In"]:
        assert regex.fullmatch(word), word
    for word in ["if", "in", "int", "1x", ""]:
        assert not regex.fullmatch(word), word
    insensitive = re.compile(identifier_regex(["select"], case_insensitive=True))
    assert not insensitive.fullmatch("SeLeCt") and insensitive.fullmatch("selects")
    with pytest.raises(ValueError, match="not an identifier"):
        identifier_regex(["a-b"])


def _regex_terminals() -> list:
    params = []
    for name in GRAMMAR_NAMES:
        for term in earley_parser(name).terminals:
            if isinstance(term.pattern, lark.lexer.PatternRE):
                params.append(pytest.param(term.pattern.to_regexp(), id=f"{name}/{term.name}"))
    return params


@pytest.mark.parametrize("pattern", _regex_terminals())
def test_leftmost_first_match_is_longest(pattern: str) -> None:
    """Python's match of each regex terminal is its longest match.

    That is what makes Lark's dynamic lexer (which takes ``re.match``) accept every
    lexeme a maximal-munch lexer finds.
    """
    compiled = re.compile(pattern)
    suffix_chars = list("aZ_09 .eE+-xXpP'\"\\*/\n\r#u8L%`é")

    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.from_regex(compiled, fullmatch=True), st.text(alphabet=st.sampled_from(suffix_chars), max_size=6))
    def check(head: str, tail: str) -> None:
        text = head + tail
        match = compiled.match(text)
        longest = max(j for j in range(len(text) + 1) if compiled.fullmatch(text, 0, j))
        assert match is not None and match.end() == longest, (text, match)

    check()


# ---------------------------------------------------------------- the corpora


@pytest.mark.parametrize(
    ("name", "path"),
    [
        pytest.param(
            *p.values,
            id=p.id,
            marks=[pytest.mark.slow] if len(_read(p.values[1])) > DYNAMIC_FAST_CHARS[p.values[0]] else [],
        )
        for p in _samples(valid=True)
    ],
)
def test_valid_sample_earley_dynamic(name: str, path) -> None:
    assert in_language(name, _read(path))


@pytest.mark.parametrize(("name", "path"), _samples(valid=True))
def test_valid_sample_maximal_munch(name: str, path) -> None:
    text = _read(path)
    assert in_munch_language(name, text), munch_recognizer(name).lexemes(text)
    assert in_lalr_munch_language(name, text)


@pytest.mark.parametrize(("name", "path"), _samples(valid=False))
def test_invalid_sample(name: str, path) -> None:
    text = _read(path)
    assert not in_munch_language(name, text)
    assert not in_lalr_munch_language(name, text)
    assert in_language(name, text) == ((name, path.name) in DYNAMIC_ACCEPTS)


@pytest.mark.parametrize("name", ["json", "arithmetic"])
def test_lark_contextual_lexer_agrees(name: str) -> None:
    """Where no terminal is a prefix-trap for another, Lark's own contextual lexer agrees.

    Lark's standard lexers take the first terminal (by priority, then width) that
    matches, not the longest lexeme; with the reserved-word IDENT of c.lark and
    sql.lark that splits keywords ("int" lexes as IDENT "in"), so those two grammars
    are checked with the maximal-munch lexer only.
    """
    parser = lark.Lark(grammar_text(name), parser="lalr", lexer="contextual", start="start")
    for valid in (True, False):
        for path in corpus_files(name, valid):
            try:
                parser.parse(_read(path))
                accepted = True
            except lark.exceptions.UnexpectedInput:
                accepted = False
            assert accepted == valid, path.name


# ---------------------------------------------------------------- the oracle itself


def test_munch_has_no_backtracking() -> None:
    grammar = 'start: "a" "b" | "ab" "c"\n'
    assert in_language(grammar, "ab")  # Earley may split "ab" as "a" "b"
    assert not in_munch_language(grammar, "ab")  # the engine lexes "ab" whole
    assert in_munch_language(grammar, "abc")


def test_munch_is_contextual() -> None:
    grammar = 'start: "a" NAME\nNAME: /[a-z]+/\n'
    # Only "a" is allowed first, so the lexeme stops there although NAME could go on.
    assert in_munch_language(grammar, "ab")
    assert munch_recognizer(grammar).lexemes("ab") == [("a", ("A",)), ("b", ("NAME",))]


def test_munch_keeps_ties() -> None:
    grammar = 'start: KW "!" | NAME "?"\nKW: "if"\nNAME: /[a-z]+/\n'
    assert in_munch_language(grammar, "if!")
    assert in_munch_language(grammar, "if?")
    assert not in_munch_language(grammar, "iff!")
    with pytest.raises(LexemeTie):
        in_lalr_munch_language(grammar, "if!")


def test_munch_ignore_and_token_tie_forks() -> None:
    grammar = 'start: "x" HASH | "x" "y"\nHASH: "#"\nCOMMENT: /#/\n%ignore COMMENT\n'
    assert in_munch_language(grammar, "x#")  # HASH as a token
    assert in_munch_language(grammar, "x#y")  # "#" ignored
    assert not in_munch_language(grammar, "x#z")


def test_munch_c_operators() -> None:
    lexemes = munch_recognizer("c").lexemes("int f(void) { return a+++b; }")
    assert lexemes is not None
    assert [text for text, _ in lexemes if text.strip()][-6:] == ["a", "++", "+", "b", ";", "}"]
    # a contextual lexer lets a keyword run into an identifier where none is allowed
    assert in_munch_language("sql", "SELECTx FROM t")
    assert not in_munch_language("sql", "SELECT x FROM")
