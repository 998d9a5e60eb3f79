"""Helpers that drive a Matcher over real vocabularies: token-by-token walks of known
texts (completeness) and random walks under the mask (soundness)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import structgen


def byte_tokens(vocab) -> list[int]:
    """For each byte value, a token id whose bytes are exactly that byte."""
    found: dict[int, int] = {}
    for i, b in enumerate(vocab.token_bytes):
        if len(b) == 1 and vocab.is_text[i] and b[0] not in found:
            found[b[0]] = i
    missing = [b for b in range(256) if b not in found]
    if missing:
        raise AssertionError(f"vocabulary has no single-byte token for {len(missing)} byte values")
    return [found[b] for b in range(256)]


def walk(grammar: structgen.Grammar, ids: list[int], check_mask: bool = True) -> tuple[bool, int]:
    """Feed ``ids``; each must advance and, with ``check_mask``, be in the mask.
    Returns (accepted at the end with EOS in the mask, tokens consumed before a
    rejection)."""
    m = grammar.matcher()
    row = grammar.allocate_bitmask()
    for n, t in enumerate(ids):
        if check_mask:
            m.fill_bitmask(row)
            in_mask = bool((int(row[t >> 5]) >> (t & 31)) & 1)
        ok = m.advance(t)
        if check_mask and in_mask != ok:
            raise AssertionError(f"mask and advance disagree on token {t} at step {n}: mask={in_mask}")
        if not ok:
            return False, n
    m.fill_bitmask(row)
    eos = int(grammar.eos_ids[0])
    eos_in_mask = bool((int(row[eos >> 5]) >> (eos & 31)) & 1)
    if eos_in_mask != m.is_accepting():
        raise AssertionError("EOS bit disagrees with is_accepting()")
    return eos_in_mask, len(ids)


@dataclass
class WalkStats:
    finished: list[bytes] = field(default_factory=list)
    unfinished: int = 0
    steps: int = 0


def random_walks(grammar: structgen.Grammar, n_walks: int, max_tokens: int, seed: int,
                 length_bias: float = 1.5, stop_prob: float = 0.5) -> WalkStats:
    """Sample ``n_walks`` texts under the mask with random logits.

    Logits are Gumbel noise minus ``length_bias`` times the token length (short
    tokens make code-like grammars finish more often); where EOS is allowed it is
    taken with probability ``stop_prob``.  Every step asserts that the mask is not
    empty (no dead end) and that the chosen token advances.
    """
    vocab = grammar.vocab
    lens = np.asarray(vocab.token_lens, dtype=np.float64)
    eos = set(int(e) for e in grammar.eos_ids)
    rng = np.random.default_rng(seed)
    stats = WalkStats()
    for _ in range(n_walks):
        m = grammar.matcher()
        ids: list[int] = []
        for _step in range(max_tokens):
            allowed = m.allowed_tokens()
            if allowed.size == 0:
                raise AssertionError(f"dead end after {vocab.decode_bytes(ids)!r}")
            is_eos = np.isin(allowed, list(eos))
            can_stop = bool(is_eos.any())
            if can_stop != m.is_accepting():
                raise AssertionError("EOS in the mask disagrees with is_accepting()")
            choices = allowed[~is_eos]
            if can_stop and (choices.size == 0 or rng.random() < stop_prob):
                assert m.advance(next(iter(eos)))
                stats.finished.append(vocab.decode_bytes(ids))
                break
            logits = rng.gumbel(size=choices.size) - length_bias * lens[choices]
            t = int(choices[int(np.argmax(logits))])
            if not m.advance(t):
                raise AssertionError(f"token {t} in the mask but advance() refused it")
            ids.append(t)
            stats.steps += 1
        else:
            stats.unfinished += 1
    return stats
