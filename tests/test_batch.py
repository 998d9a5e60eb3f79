"""fill_bitmasks equals filling each row on its own, for mixed states and grammars."""

from __future__ import annotations

import numpy as np
import pytest

import structgen
from structgen.batch import fill_bitmasks

from ._grammar_oracle import load_corpus
from ._tokenizers import load_vocab


def _matchers_along(grammar, text, every=3):
    ids = grammar.vocab.encode(text)
    out = []
    m = grammar.matcher()
    for i, t in enumerate(ids):
        if i % every == 0:
            out.append(m.fork())
        assert m.advance(t)
    out.append(m)
    return out


@pytest.mark.parametrize("threads", [1, 2])
def test_batch_equals_rows(threads):
    vocab = load_vocab("llama2")
    # fresh grammars: the first batch meets uncomputed lexer states (redone serially)
    gj = structgen.compile(structgen.Lark(structgen.builtin_grammar("json").read_text() + "\n// " + str(threads)),
                           vocab)
    ga = structgen.compile(structgen.Regex(r"[a-z]{1,5}(, [a-z]{1,5}){0,8}" + "x" * threads), vocab)
    matchers = _matchers_along(gj, load_corpus("json")[2])[:20] + _matchers_along(ga, "ab, cd, efg")
    done = ga.matcher()
    for t in vocab.encode("ab" + "x" * threads):
        assert done.advance(t)
    assert done.advance(int(vocab.eos_ids[0]))
    matchers.append(done)
    for _round in range(2):
        batch = np.zeros((len(matchers), vocab.n_words), dtype=np.int32)
        fill_bitmasks(matchers, batch, threads=threads)
        for i, m in enumerate(matchers):
            row = m.grammar.allocate_bitmask()
            m.fill_bitmask(row)
            assert np.array_equal(row, batch[i]), i


def test_batch_checks_shape():
    vocab = load_vocab("gpt2")
    g = structgen.compile(structgen.Regex("a+"), vocab)
    with pytest.raises(ValueError, match="shape"):
        fill_bitmasks([g.matcher()], np.zeros((2, vocab.n_words), dtype=np.int32))
