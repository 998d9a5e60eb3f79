"""The shipped Lark grammars through the engine, on every test tokenizer.

Completeness: every sample of each grammar's corpus is accepted token by token under
its canonical tokenization and byte by byte.  Soundness: random walks under the mask
never meet a dead end, and every finished text is in the language (Lark's Earley
parser, and the exact maximal-munch reference of tests/_grammar_oracle.py).
Invalid samples are rejected exactly when the maximal-munch reference rejects them.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import structgen

from ._grammar_oracle import in_language, in_munch_language, load_corpus
from ._tokenizers import TOKENIZER_NAMES, load_vocab
from ._walks import byte_tokens, random_walks, walk

GRAMMARS = ["json", "arithmetic", "sql", "c"]


def _grammar(name: str, tok: str) -> structgen.Grammar:
    return structgen.compile(structgen.Lark(name), load_vocab(tok))


SMALL_VOCABS = ("gpt2", "llama2", "phi3", "deepseek-coder")


@pytest.mark.parametrize("tok", TOKENIZER_NAMES)
@pytest.mark.parametrize("name", GRAMMARS)
def test_corpus_accepted_canonical_and_bytewise(name, tok):
    """Every sample, canonical tokens and single bytes.  The mask is checked at every
    step of the canonical walks (on the big vocabularies for the first samples; the
    rest advance only, to keep the suite fast: see the slow variant)."""
    g = _grammar(name, tok)
    vocab = g.vocab
    single = byte_tokens(vocab)
    for i, text in enumerate(load_corpus(name)):
        data = text.encode("utf-8")
        ok, n = walk(g, vocab.encode(text), check_mask=tok in SMALL_VOCABS or i < 3)
        assert ok, f"{name}/{tok}: canonical tokens rejected after {n}: {text[:80]!r}"
        ok, n = walk(g, [single[b] for b in data], check_mask=i == 0 and len(data) < 400)
        assert ok, f"{name}/{tok}: byte {n} rejected: {data[max(0, n - 20):n + 1]!r}"


@pytest.mark.slow
@pytest.mark.parametrize("tok", TOKENIZER_NAMES)
@pytest.mark.parametrize("name", GRAMMARS)
def test_corpus_masks_everywhere(name, tok):
    g = _grammar(name, tok)
    single = byte_tokens(g.vocab)
    for text in load_corpus(name):
        assert walk(g, g.vocab.encode(text))[0]
        assert walk(g, [single[b] for b in text.encode("utf-8")])[0]


@pytest.mark.parametrize("name", GRAMMARS)
def test_invalid_samples_rejected(name):
    g = _grammar(name, "gpt2")
    for text in load_corpus(name, valid=False):
        ok, _ = walk(g, g.vocab.encode(text))
        assert ok == in_munch_language(name, text), f"{name}: {text[:80]!r}"
        if ok:  # the only kind of invalid sample we accept: one Lark's Earley also takes
            assert in_language(name, text)


@pytest.mark.parametrize("tok", TOKENIZER_NAMES)
@pytest.mark.parametrize("name", GRAMMARS)
def test_random_walks_are_sound(name, tok):
    g = _grammar(name, tok)
    stats = random_walks(g, n_walks=12, max_tokens=120, seed=zlib.crc32(f"{name}-{tok}".encode()))
    for data in stats.finished:
        text = data.decode("utf-8")  # finished texts are whole UTF-8 by construction
        assert in_munch_language(name, text), f"{name}/{tok}: {text!r}"
        assert in_language(name, text), f"{name}/{tok}: {text!r}"
    if name in ("json", "arithmetic"):
        assert len(stats.finished) >= 3, stats


@pytest.mark.slow
@pytest.mark.parametrize("tok", TOKENIZER_NAMES)
@pytest.mark.parametrize("name", GRAMMARS)
def test_random_walks_are_sound_long(name, tok):
    g = _grammar(name, tok)
    stats = random_walks(g, n_walks=100, max_tokens=400, seed=7 + zlib.crc32(f"{name}-{tok}".encode()))
    for data in stats.finished:
        text = data.decode("utf-8")
        assert in_munch_language(name, text) and in_language(name, text), f"{name}/{tok}: {text!r}"
    assert stats.finished, stats


@pytest.mark.parametrize("tok", ["gpt2", "llama2"])
@pytest.mark.parametrize("name", GRAMMARS)
def test_mask_equals_per_token_reference(name, tok):
    """The trie walk's mask equals checking every token of the vocabulary on its own
    (a fresh fork per token), at a handful of states along a corpus sample."""
    g = _grammar(name, tok)
    vocab = g.vocab
    text = load_corpus(name)[0]
    ids = vocab.encode(text)
    m = g.matcher()
    rng = np.random.default_rng(0)
    checkpoints = {0, len(ids) // 3, len(ids) // 2, len(ids)}
    for step in range(len(ids) + 1):
        if step in checkpoints:
            mask = set(int(t) for t in m.allowed_tokens())
            ref = {t for t in range(vocab.size) if m.accepts(t)}
            assert mask == ref, (name, tok, step, sorted(mask ^ ref)[:10])
            for t in rng.choice(vocab.size, 300, replace=False):  # accepts() == a fresh fork's advance()
                assert m.fork().advance(int(t)) == (int(t) in ref)
        if step < len(ids):
            assert m.advance(ids[step])
