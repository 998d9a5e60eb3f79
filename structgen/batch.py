"""Filling the bitmasks of many matchers at once, in parallel.

:func:`fill_bitmasks` runs the mask kernel for a batch of matchers on numba's worker
threads with the GIL released.  While a batch runs, each grammar's lexer cache is
frozen: no thread adds lexer states or counts statistics, and the only shared writes
are cache entries that every thread computes alike (a transition to an existing
lexer state, a terminal state's slice check), one aligned store each.  A row that
needs a lexer state nobody computed yet is redone afterwards on the calling thread.
After a short warm-up that is rare.
"""

from __future__ import annotations

import numba
import numpy as np

from . import _engine
from .matcher import Matcher, _alloc_scratch, check_bitmask


def _batch_scratch(grammar, n_threads: int) -> np.ndarray:
    """Per-worker scratch tables of a grammar, (n_threads, table) int64."""
    cache = grammar._batch_scratch
    have = cache.get("tables")
    if have is None or have.shape[0] < n_threads:
        arrays, tables = [], []
        for _ in range(n_threads):
            a, t = _alloc_scratch(grammar, 1 << 12)
            arrays.append(a)
            tables.append(t)
        cache["arrays"] = arrays  # keep them alive
        cache["tables"] = have = np.ascontiguousarray(np.stack(tables))
    return have


def fill_bitmasks(matchers: list[Matcher], bitmask: np.ndarray, threads: int | None = None) -> None:
    """Fill row ``i`` of ``bitmask`` for ``matchers[i]``, in parallel.

    ``bitmask`` is a C-contiguous ``int32`` array of shape ``(len(matchers),
    n_words)``; ``threads`` defaults to numba's thread count.  Equivalent to calling
    ``matchers[i].fill_bitmask(bitmask[i])`` for every i (a matcher given in several
    rows is filled once and copied).  Raises ``TypeError`` for what is not a Matcher or
    a numpy array, ``ValueError`` for a bitmask of the wrong shape or dtype or a
    read-only one, or matchers of vocabularies of different sizes.
    """
    matchers = list(matchers)
    n = len(matchers)
    for m in matchers:
        if not isinstance(m, Matcher):
            raise TypeError(f"fill_bitmasks takes Matchers, got {type(m).__name__}")
    if n == 0:
        return
    n_words = matchers[0].grammar.n_words
    check_bitmask(bitmask, (n, n_words))
    if any(m.grammar.n_words != n_words for m in matchers):
        raise ValueError("all matchers must use vocabularies of the same size")
    if n == 1:  # a parallel region would only add its start-up
        matchers[0].fill_bitmask(bitmask[0])
        return
    # a matcher's Earley arrays are its fill's scratch: one matcher in two rows would
    # be filled twice at once.  Fill it once, copy the row.
    first: dict[int, int] = {}
    copies = [(i, first.setdefault(id(m), i)) for i, m in enumerate(matchers)]
    copies = [(i, j) for i, j in copies if i != j]
    if copies:
        rows = sorted(set(first.values()))
        sub = np.zeros((len(rows), n_words), dtype=np.int32)
        fill_bitmasks([matchers[i] for i in rows], sub, threads)
        bitmask[rows] = sub
        for i, j in copies:
            bitmask[i] = bitmask[j]
        return
    words = bitmask.view(np.uint32)
    threads = numba.get_num_threads() if threads is None else max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
    groups: dict[int, list[int]] = {}
    for i, m in enumerate(matchers):
        if m._finished:
            m.fill_bitmask(bitmask[i])
        else:
            groups.setdefault(id(m.grammar), []).append(i)
    redo: list[int] = []
    for rows in groups.values():
        grammar = matchers[rows[0]].grammar
        mts = np.stack([matchers[i]._mt for i in rows])
        ks = np.array([matchers[i]._k for i in rows], dtype=np.int64)
        lss = np.array([matchers[i]._ls for i in rows], dtype=np.int64)
        status = np.zeros(len(rows), dtype=np.int64)
        out = words[rows] if rows != list(range(n)) else words
        with grammar.lock:
            sts = _batch_scratch(grammar, numba.config.NUMBA_NUM_THREADS)
            meta = grammar.lexer.L.meta
            meta[_engine.LM_FROZEN] = 1
            previous = numba.get_num_threads()
            try:
                numba.set_num_threads(threads)
                _engine.k_fill_batch(grammar._gt, mts, sts, ks, lss, out, status)
            finally:
                numba.set_num_threads(previous)
                meta[_engine.LM_FROZEN] = 0
        if out is not words:
            words[rows] = out
        redo.extend(rows[j] for j in np.flatnonzero(status != 0))
    for i in redo:  # rows that needed a new lexer state or a bigger table
        matchers[i].fill_bitmask(bitmask[i])


def fill_tree_bitmasks(matcher: Matcher, tokens, parents, bitmask: np.ndarray,
                       threads: int | None = None) -> np.ndarray:
    """Masks of every node of a draft tree (speculative decoding), in one call.

    The tree hangs below ``matcher``'s current state: node ``i`` carries the token
    ``tokens[i]`` and continues node ``parents[i]`` (``-1``: the matcher's state
    itself); parents come before their children (``parents[i] < i``).  Row 0 of
    ``bitmask`` (a C-contiguous ``int32`` array of shape ``(len(tokens) + 1,
    n_words)``) receives the mask at the matcher's state, which checks the first
    token of every path; row ``i + 1`` the mask after the path to node ``i``, which
    checks its children and the token the target model samples after it.  A chain
    (``parents = [-1, 0, 1, ...]``) is an ordinary speculative draft.

    Returns ``bool[len(tokens)]``: whether the constraint allows the path to each
    node (its token after its parent's path, and the parent's path).  The rows of
    nodes it does not allow are zero.  The matcher itself does not move (each node's
    state is a fork of its parent's, filled in parallel like :func:`fill_bitmasks`).
    Raises ``ValueError`` for mismatched shapes or parents that do not come first.
    """
    toks = np.asarray(tokens)
    pars = np.asarray(parents)
    n = toks.shape[0]
    n_words = matcher.grammar.n_words
    if toks.ndim != 1 or pars.shape != (n,):
        raise ValueError(f"tokens and parents must be 1-d of one length, got {toks.shape} and {pars.shape}")
    if n and not (np.issubdtype(toks.dtype, np.integer) and np.issubdtype(pars.dtype, np.integer)):
        raise ValueError("tokens and parents must be integer arrays")
    check_bitmask(bitmask, (n + 1, n_words))
    parent_list = pars.tolist()
    for i, p in enumerate(parent_list):
        if not -1 <= p < i:
            raise ValueError(f"parents[{i}] = {p}: a node's parent must be -1 or an earlier node")
    valid = np.zeros(n, dtype=bool)
    states: list[Matcher | None] = [None] * n
    vocab_size = matcher.grammar.vocab_size
    for i, (t, p) in enumerate(zip(toks.tolist(), parent_list)):
        base = matcher if p < 0 else states[p]
        if base is None or not 0 <= t < vocab_size:
            continue
        if not base.accepts(t):
            continue
        m = base.fork()
        m.advance(t)
        states[i] = m
        valid[i] = True
    rows = [0] + [i + 1 for i in range(n) if valid[i]]
    live = [matcher] + [states[i] for i in range(n) if valid[i]]
    if len(rows) == n + 1:
        fill_bitmasks(live, bitmask, threads)
    else:
        filled = np.zeros((len(rows), n_words), dtype=np.int32)
        fill_bitmasks(live, filled, threads)
        bitmask[:] = 0
        bitmask[rows] = filled
    return valid
