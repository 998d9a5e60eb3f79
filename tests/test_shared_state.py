"""What the grammars of one vocabulary share is safe to share across threads.

Every grammar compiled for a vocabulary shares that vocabulary's slice data
(``structgen.slices.vocab_slices``), but each grammar's kernels run under the
grammar's own lock.  Slice data written on first use (the union mask of each
combination of absorbed slices used to be filled lazily by the mask kernel) can be
read half-written by another grammar's thread: a mask missing tokens.  Here grammars
of one fresh vocabulary fill masks from two threads at once, and every mask is
compared with the single-threaded one.
"""

from __future__ import annotations

import threading

import numpy as np

import structgen
from structgen.matcher import Grammar
from structgen.slices import vocab_slices
from structgen.vocab import Vocabulary

from ._tokenizers import load_vocab

# String contexts that absorb different combinations of slices (free strings all
# six, bounded strings the short ones, patterns the word-like ones).
_SCHEMAS = [
    {"type": "string"},
    {"type": "string", "maxLength": 12},
    {"type": "string", "maxLength": 40},
    {"type": "string", "pattern": "^[a-z0-9]*$"},
    {"type": "string", "pattern": "^[A-Za-z_]*$"},
    {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string", "maxLength": 25}}},
]
ROUNDS = 30
_PREFIXES = ['"', '"a', '"ab', '"Ab_', '"0', '{"a": "', '{"a": "x', '{"b": "', '{"b": "yy']


def _states(grammar):
    out = []
    for p in _PREFIXES:
        m = grammar.matcher()
        if all(m.advance(t) for t in grammar.vocab.encode(p)) and not m.is_finished():
            out.append((p, m))
    return out


def _fresh_vocab() -> Vocabulary:
    """A new vocabulary object (so its slice data is new) with GPT-2's tokens, padded
    to 2M ids: long mask rows widen any window in which a row is half-written."""
    base = load_vocab("gpt2")
    return Vocabulary.from_token_bytes([b or None for b in base.token_bytes], list(base.eos_ids),
                                       vocab_size=1 << 21)


def test_grammars_of_one_vocabulary_fill_masks_from_many_threads():
    """Twin grammars (one compiled grammar's tables, two Grammar objects, so two
    locks) of a fresh vocabulary walk the same states in the same order from two
    threads released together: the twins reach each new slice combination at the
    same moment.  Before the slice data was read-only this found wrong masks (6 of
    362 in 40 rounds on a quiet 2-core machine)."""
    tables = [structgen.compile(structgen.JsonSchema(s), load_vocab("gpt2")).tables for s in _SCHEMAS]
    checked = 0
    for r in range(ROUNDS):
        vocab = _fresh_vocab()
        twins = [Grammar(tables[r % len(tables)], vocab) for _ in range(2)]
        work = [_states(g) for g in twins]
        barrier = threading.Barrier(2)
        got: dict = {}
        errors: list = []

        def run(i: int) -> None:
            try:
                barrier.wait()
                for p, m in work[i]:
                    row = np.zeros(vocab.n_words, dtype=np.int32)
                    m.fill_bitmask(row)
                    got[(i, p)] = row
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        for i, g in enumerate(twins):
            for p, m in _states(g):
                want = np.zeros(vocab.n_words, dtype=np.int32)
                m.fill_bitmask(want)
                row = got[(i, p)]
                missing = int(np.unpackbits((want & ~row).view(np.uint8)).sum())
                extra = int(np.unpackbits((row & ~want).view(np.uint8)).sum())
                assert missing == 0 and extra == 0, (r, _SCHEMAS[r % len(tables)], p, missing, extra)
                checked += 1
    assert checked > 100


def test_slice_data_is_read_only():
    """Nothing writes the slice data after construction (so grammars may share it)."""
    sl = vocab_slices(load_vocab("gpt2"))
    for name in ("roots", "masks", "combo", "sl_trans", "sl_start"):
        assert not getattr(sl, name).flags.writeable, name
    for a in sl.forest:
        assert not a.flags.writeable
