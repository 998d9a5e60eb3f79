"""Bad input raises CompileError naming the problem and its place."""

from __future__ import annotations

import pytest

import structgen
from structgen import CompileError, StructgenError

from ._tokenizers import load_vocab


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("(ab", ["(ab"]),
        ("a)b", [")"]),
        ("[z-a]", ["z-a"]),
        ("*a", ["*"]),
        ("(?=a)b", ["lookahead", "(?="]),
        ("(?<!a)b", ["lookbehind"]),
        (r"(a)\1", ["backreference", r"\1"]),
        (r"\bword\b", [r"\b"]),
    ],
)
def test_bad_regex(pattern, words):
    with pytest.raises(CompileError) as err:
        structgen.Regex(pattern)
    msg = str(err.value)
    for w in words:
        assert w.lower() in msg.lower(), msg
    assert isinstance(err.value, ValueError) and isinstance(err.value, StructgenError)


def test_state_limit_is_a_compile_error():
    with pytest.raises(CompileError, match="state"):
        structgen.Regex("(a|b)*a(a|b){30}")


def test_unknown_lark_rule_names_rule_and_line():
    with pytest.raises(CompileError) as err:
        structgen.Lark('start: item+\nitem: "a" | missing\n')
    msg = str(err.value)
    assert "missing" in msg and ":2" in msg, msg


def test_lark_syntax_error_has_line_and_column():
    with pytest.raises(CompileError, match=r"<grammar>:2:\d+"):
        structgen.Lark('start: "a"\nbad syntax ::: here\n')


def test_lark_declare_is_unsupported():
    with pytest.raises(CompileError, match="declare"):
        structgen.Lark('%declare FOO\nstart: FOO "a"\n')


def test_lark_terminal_with_lookaround_names_the_terminal():
    with pytest.raises(CompileError) as err:
        structgen.Lark('start: WORD\nWORD: /a(?!b)/\n')
    assert "WORD" in str(err.value) and ":2" in str(err.value)


def test_empty_language():
    with pytest.raises(CompileError, match="accepts no string"):
        structgen.compile(structgen.Lark('start: a\na: "x" a\n'), load_vocab("gpt2"))


def test_missing_start_and_missing_file(tmp_path):
    with pytest.raises(CompileError, match="start"):
        structgen.Lark('other: "a"\n')
    with pytest.raises(CompileError, match="not found"):
        structgen.Lark(tmp_path / "nope.lark")
    with pytest.raises(CompileError, match="shipped grammar"):
        structgen.builtin_grammar("cobol")


def test_compile_rejects_plain_text_as_schema():
    with pytest.raises(CompileError, match="Regex"):
        structgen.compile("[a-z]+", load_vocab("gpt2"))
