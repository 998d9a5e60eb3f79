"""Vocabulary slices: large token classes whose mask is precomputed.

Inside a JSON string (or any free-text context) nearly every token is allowed, and
walking the whole trie (~275k nodes for Llama-3) costs milliseconds.  Following
llguidance's "slicer", the vocabulary is partitioned by a few regular expressions
into slices plus a remainder, each with its own token trie and bitmask.  When the
lexer state stays alive on *every* string of a slice (checked once per lexer state,
see ``_engine._absorbs``), the slice's mask is OR-ed in and its trie is skipped; only
the remainder (tokens with quotes, backslashes, control bytes, partial UTF-8 ...) is
walked.

The slices here are JSON string content of increasing length (1–10, 11–30 and 31+
characters), so bounded strings (``maxLength``) still profit from the short ones.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
from numba import njit

from ._engine import ForestArrays

#: Slice definitions, in claim order (a token belongs to the first that matches it).
#: All are JSON string content; the first three catch the words and numbers that
#: identifier-like patterns (``^[a-z0-9-]+$``, ``\w+``, hex, digits) allow, the last
#: three the rest, by length, so bounded strings (``maxLength``) still use them.
SLICE_PATTERNS: tuple[str, ...] = (
    r"[a-z]{1,10}",
    r"[0-9]{1,10}",
    r"[A-Za-z0-9_]{1,10}",
    r'[^"\\\x00-\x1f\x7f]{1,10}',
    r'[^"\\\x00-\x1f\x7f]{11,30}',
    r'[^"\\\x00-\x1f\x7f]{31,}',
)


@dataclass(frozen=True)
class VocabSlices:
    """Per-vocabulary slice data (see ``X`` and ``T`` in ``_engine``).

    Shared by every grammar compiled for the vocabulary, whose kernels run under
    different locks: every array is complete when built and read-only after (the
    union of each combination of slices, 2**n rows, is computed here, not by the
    kernels on first use, which let one grammar's thread read a row another was
    rewriting)."""

    roots: np.ndarray  # int32[n+2]
    masks: np.ndarray  # uint32[n, n_words]
    combo: np.ndarray  # uint32[2**n, n_words]: the union of the masks of each combination
    forest: ForestArrays  # all tries, concatenated (``T`` in _engine's layout)
    sl_trans: np.ndarray  # int32[n_states*256]
    sl_start: np.ndarray  # int32[n]
    counts: tuple[int, ...]  # tokens per slice, then the remainder

    @property
    def n_slices(self) -> int:
        return len(self.sl_start)


@njit(cache=True)
def _classify(data, off, is_text, trans, starts, accept, out):
    """out[t] = index of the first slice DFA that fullmatches token t, else n."""
    n_sl = starts.shape[0]
    for t in range(off.shape[0] - 1):
        out[t] = n_sl
        if not is_text[t]:
            continue
        for sl in range(n_sl):
            s = starts[sl]
            for p in range(off[t], off[t + 1]):
                s = trans[s * 256 + data[p]]
                if s < 0:
                    break
            if s >= 0 and accept[s]:
                out[t] = sl
                break


def _dense_dfas(patterns):
    from .dfa import compile_regex

    trans_parts, acc_parts, starts = [], [], []
    base = 0
    for pat in patterns:
        dfa = compile_regex(pat)
        t = np.asarray(dfa.trans, dtype=np.int64)[:, np.asarray(dfa.classmap, dtype=np.int64)]
        t = np.where(t >= 0, t + base, -1).astype(np.int32)
        trans_parts.append(t.reshape(-1))
        acc_parts.append(np.asarray(dfa.accept, dtype=np.uint8))
        starts.append(base)
        base += t.shape[0]
    return (np.concatenate(trans_parts), np.concatenate(acc_parts), np.asarray(starts, dtype=np.int32))


def _concat_forest(tries):
    """One forest of packed node words (see ``_engine``) from several tries."""
    nodes, offs, toks_all = [], [], []
    rootkids = np.full((len(tries), 256), -1, dtype=np.int32)
    roots = [0]
    node_base = 0
    tok_base = 0
    for (byte, end, depth, tok_off, toks) in tries:
        if depth.max(initial=0) >= 1 << 16:
            raise ValueError("token longer than 65535 bytes")
        has = (np.diff(tok_off) > 0).astype(np.int64)
        word = ((end.astype(np.int64) + node_base) | (byte.astype(np.int64) << 32)
                | (depth.astype(np.int64) << 40) | (has << 56))
        kids = np.flatnonzero(depth == 1)
        rootkids[len(nodes), byte[kids]] = kids + node_base
        nodes.append(word)
        offs.append(tok_off[:-1].astype(np.int64) + tok_base)
        toks_all.append(toks)
        node_base += byte.shape[0]
        tok_base += toks.shape[0]
        roots.append(node_base)
    if node_base >= 1 << 32:
        raise ValueError("token trie too large")
    node = np.ascontiguousarray(np.concatenate(nodes), dtype=np.int64)
    tok_off = np.ascontiguousarray(np.concatenate(offs + [np.array([tok_base])]), dtype=np.int32)
    toks = np.ascontiguousarray(np.concatenate(toks_all), dtype=np.int32)
    forest = ForestArrays(node=node, tok_off=tok_off, toks=toks, rootkids=rootkids.reshape(-1))
    return forest, np.asarray(roots, dtype=np.int32)


_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def vocab_slices(vocab, patterns: tuple[str, ...] = SLICE_PATTERNS) -> VocabSlices:
    """The slices of ``vocab`` (computed once per vocabulary and cached)."""
    try:
        per_vocab = _cache.setdefault(vocab, {})
    except TypeError:  # unhashable / not weak-referenceable: no caching
        per_vocab = {}
    hit = per_vocab.get(patterns)
    if hit is not None:
        return hit
    trans, accept, starts = _dense_dfas(patterns)
    is_text = np.asarray(vocab.is_text, dtype=np.bool_)
    data = np.asarray(vocab.token_data, dtype=np.uint8)
    off = np.asarray(vocab.token_offsets, dtype=np.int64)
    cls = np.empty(vocab.size, dtype=np.int32)
    _classify(data, off, is_text, trans, starts, accept, cls)
    n = len(patterns)
    n_words = (vocab.size + 31) // 32
    masks = np.zeros((n, n_words), dtype=np.uint32)
    tries = []
    counts = []
    for sl in range(n + 1):
        sel = (cls == sl) & is_text
        counts.append(int(sel.sum()))
        if sl < n:
            ids = np.flatnonzero(sel)
            np.bitwise_or.at(masks[sl], ids >> 5, (np.uint32(1) << (ids & 31).astype(np.uint32)))
        tries.append(vocab.sub_trie(sel))
    forest, roots = _concat_forest(tries)
    combo = np.zeros((1 << n, n_words), dtype=np.uint32)
    for c in range(1, 1 << n):  # row c = row (c without its lowest bit) | that slice
        low = (c & -c).bit_length() - 1
        np.bitwise_or(combo[c & (c - 1)], masks[low], out=combo[c])
    for a in (roots, masks, combo, trans, starts, *forest):
        a.flags.writeable = False
    out = VocabSlices(roots, masks, combo, forest, trans, starts, tuple(counts))
    per_vocab[patterns] = out
    return out
