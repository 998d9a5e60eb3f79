"""Regex constraints through the engine on real vocabularies.

Completeness: strings hypothesis generates for each pattern are accepted token by
token, canonically and byte by byte.  Soundness: random walks under the mask never
dead-end and every finished text matches the pattern in full (``re.fullmatch``).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import structgen

from ._tokenizers import load_vocab
from ._walks import byte_tokens, random_walks, walk

PATTERNS = [
    r"\d{4}-\d{2}-\d{2}",
    r"\(?\d{3}\)?[ -]?\d{3}-\d{4}",
    r"[A-Za-z0-9._%+-]{1,20}@[A-Za-z0-9-]{1,15}(\.[A-Za-z]{2,6}){1,2}",
    r"-?(0|[1-9]\d{0,6})(\.\d{1,4})?([eE][+-]?\d{1,2})?",
    r"(true|false|null|maybe)",
    r"[a-z]{1,8}( [a-z]{1,8}){0,5}\.",
    r"(?i)select \* from [a-z_]{1,12}( where [a-z]{1,8} = \d{1,3})?;",
    r"[\u00c0-\u024f\u4e00-\u4fff]{1,8}",  # accented Latin and CJK: multi-byte characters
    r"\w{2,10} \w{2,10}",  # Unicode \w, as re has it
    r"(ab|a)(bc|c)?d",
    r"[^\n\"\\]{0,30}",
    r"\U0001F600|\U0001F601\U0001F602{1,3}",  # emoji: 4-byte UTF-8
]

TOKENIZERS = ["gpt2", "llama2", "llama3", "qwen2", "phi3", "deepseek-coder"]


def _grammar(pattern: str, tok: str) -> structgen.Grammar:
    return structgen.compile(structgen.Regex(pattern), load_vocab(tok))


@pytest.mark.parametrize("pattern", PATTERNS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_strings_are_accepted(pattern, data):
    text = data.draw(st.from_regex(pattern, fullmatch=True).filter(
        lambda s: "\ud800" > s or all(not 0xD800 <= ord(c) <= 0xDFFF for c in s)))
    tok = data.draw(st.sampled_from(TOKENIZERS))
    g = _grammar(pattern, tok)
    ok, n = walk(g, g.vocab.encode(text), check_mask=len(text) < 40)
    assert ok, (pattern, text, n)
    single = byte_tokens(g.vocab)
    ok, n = walk(g, [single[b] for b in text.encode("utf-8")], check_mask=False)
    assert ok, (pattern, text, n)


@pytest.mark.parametrize("tok", TOKENIZERS)
@pytest.mark.parametrize("pattern", PATTERNS)
def test_random_walks_match_the_pattern(pattern, tok):
    g = _grammar(pattern, tok)
    stats = random_walks(g, n_walks=10, max_tokens=60, seed=len(pattern) + len(tok))
    for data in stats.finished:
        text = data.decode("utf-8")
        assert re.fullmatch(pattern, text), (pattern, text)
    assert stats.finished, stats


def test_rejects_what_the_pattern_rejects():
    g = _grammar(r"\d{4}-\d{2}-\d{2}", "llama3")
    for bad in ["2024-1-01", "2024-01-011", "20240101", "２０２４-01-01"[:0] + "x024-01-01"]:
        ok, _ = walk(g, g.vocab.encode(bad))
        assert not ok, bad
