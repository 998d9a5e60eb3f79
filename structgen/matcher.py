"""Compiled grammars bound to a vocabulary, and the per-sequence Matcher.

:class:`Grammar` is immutable and shareable (its lexer cache grows behind a lock);
:class:`Matcher` is a cheap cursor over it: the Earley sets of one sequence, the
current lexer state and a history for ``rollback``.

Raising policy: ``advance``, ``accepts``, ``consume_bytes`` and ``rollback`` never
raise for a token or text that the constraint rejects; they return ``False`` and
leave the state unchanged.  ``fill_bitmask`` raises ``ValueError`` only for a
buffer of the wrong dtype or shape.
"""

from __future__ import annotations

import numpy as np

from . import _engine
from .compiler import GrammarTables, LexerCache

_NEED = (_engine.NEED_LEXER, _engine.NEED_EARLEY, _engine.NEED_SCRATCH, _engine.LEXER_FROZEN)


def _token_bytes_flat(vocab) -> tuple[np.ndarray, np.ndarray]:
    """All token bytes concatenated, with offsets (cached on the vocabulary)."""
    cached = getattr(vocab, "_structgen_flat_bytes", None)
    if cached is not None:
        return cached
    lens = np.fromiter((len(b) for b in vocab.token_bytes), dtype=np.int64, count=len(vocab.token_bytes))
    off = np.zeros(len(lens) + 1, dtype=np.int64)
    np.cumsum(lens, out=off[1:])
    data = np.frombuffer(b"".join(vocab.token_bytes), dtype=np.uint8)
    flat = (data, off)
    try:
        object.__setattr__(vocab, "_structgen_flat_bytes", flat)
    except (AttributeError, TypeError):
        pass
    return flat


class Grammar:
    """A constraint compiled for one vocabulary.  Create with :func:`structgen.compile`.

    ``grammar.matcher()`` gives a fresh :class:`Matcher`.  A Grammar can be shared by
    any number of matchers and threads.
    """

    def __init__(self, tables: GrammarTables, vocab, *, source: object = None):
        self.tables = tables
        self.vocab = vocab
        self.source = source
        self.lexer = LexerCache()
        self.vocab_size = int(vocab.size)
        self.n_words = (self.vocab_size + 31) // 32
        self.eos_ids = np.asarray(vocab.eos_ids, dtype=np.int32)
        self._eos_set = frozenset(int(e) for e in self.eos_ids)
        self.trie = tuple(vocab.trie)
        self.tok_data, self.tok_off = _token_bytes_flat(vocab)
        self.is_text = np.asarray(vocab.is_text, dtype=bool)
        self.max_token_len = int(vocab.max_token_len)

    def matcher(self) -> "Matcher":
        """A new matcher at the start of the language."""
        return Matcher(self)

    def allocate_bitmask(self, batch: int | None = None) -> np.ndarray:
        """A zeroed ``int32`` bitmask: shape ``(n_words,)`` or ``(batch, n_words)``."""
        shape = (self.n_words,) if batch is None else (batch, self.n_words)
        return np.zeros(shape, dtype=np.int32)

    def __repr__(self) -> str:
        t = self.tables
        return (f"<structgen.Grammar: {len(t.terminal_names)} terminals, {t.n_rules} rules, "
                f"vocab {self.vocab_size}>")


class Matcher:
    """Per-sequence state of a :class:`Grammar` (see the module docstring)."""

    __slots__ = ("grammar", "_E", "_S", "_k", "_ls", "_hist", "_finished", "_fb")

    def __init__(self, grammar: Grammar, _copy_from: "Matcher | None" = None):
        self.grammar = grammar
        if _copy_from is None:
            self._E = _alloc_earley(256, 8192)
            self._S = _alloc_scratch(grammar, 1024)
            self._fb = np.zeros(1024, dtype=np.uint8)
            self._hist: list[tuple[int, int, bool]] = []
            self._finished = False
            self._init()
        else:
            src = _copy_from
            k = src._k
            used = int(src._E[2][k + 1])
            scap = src._E[2].shape[0]
            icap = src._E[0].shape[0]
            E = _alloc_earley(scap - 1, icap)
            E[0][:used] = src._E[0][:used]
            E[1][:used] = src._E[1][:used]
            E[2][:k + 2] = src._E[2][:k + 2]
            E[3][:k + 1] = src._E[3][:k + 1]
            E[4][:k + 1] = src._E[4][:k + 1]
            self._E = E
            self._S = _alloc_scratch(grammar, src._S[0].shape[0])
            self._fb = np.zeros(1024, dtype=np.uint8)
            self._k = k
            self._ls = src._ls
            self._hist = list(src._hist)
            self._finished = src._finished

    # ------------------------------------------------------------------ plumbing
    def _init(self) -> None:
        self._run(_engine.earley_init)
        self._k = 0
        self._ls = int(self._E[3][0])

    def _run(self, fn, *args):
        """Call a kernel, growing tables and retrying on NEED codes."""
        g = self.grammar
        while True:
            r = fn(g.tables.G, g.lexer.L, self._E, self._S, *args)
            code = r[0] if isinstance(r, tuple) else r
            if code >= 0 or code == _engine.DEAD:
                return r
            if code == _engine.NEED_LEXER:
                with g.lexer.lock:
                    g.lexer.grow()
            elif code == _engine.NEED_EARLEY:
                self._E = _grow_earley(self._E)
            elif code == _engine.NEED_SCRATCH:
                self._S = _alloc_scratch(g, self._S[0].shape[0] * 2)
            elif code == _engine.LEXER_FROZEN:
                raise RuntimeError("lexer cache frozen")  # only in batched mode
            else:
                return r

    # ------------------------------------------------------------------ queries
    def fill_bitmask(self, out: np.ndarray) -> None:
        """Write the allowed-token bitmask into ``out`` (int32, ``ceil(V/32)`` words).

        Token ``i`` is bit ``i % 32`` of word ``i // 32``.  EOS ids are set only when
        the text may end here; after EOS only EOS is allowed.
        """
        g = self.grammar
        if out.dtype != np.int32 or out.ndim != 1 or out.shape[0] < g.n_words or not out.flags.c_contiguous:
            raise ValueError(f"bitmask row must be a contiguous int32 array of {g.n_words} words, "
                             f"got {out.dtype} {out.shape}")
        words = out[:g.n_words].view(np.uint32)
        if self._finished:
            words[:] = 0
            for e in g.eos_ids:
                words[e >> 5] |= np.uint32(1 << (int(e) & 31))
            return
        self._run(_engine.fill_mask, g.trie, self._k, self._ls, words, g.eos_ids, True)

    def allowed_tokens(self) -> np.ndarray:
        """Ids of the allowed tokens (convenience; uses :meth:`fill_bitmask`)."""
        g = self.grammar
        out = np.zeros(g.n_words, dtype=np.int32)
        self.fill_bitmask(out)
        bits = np.unpackbits(out.view(np.uint8), bitorder="little")[: g.vocab_size]
        return np.flatnonzero(bits).astype(np.int64)

    def is_accepting(self) -> bool:
        """True when the text so far is a complete string of the language (EOS allowed)."""
        if self._finished:
            return True
        return self._run(_engine.accepting, self._k, self._ls) == 1

    def is_finished(self) -> bool:
        """True after EOS was accepted, or when nothing but EOS can follow."""
        if self._finished:
            return True
        if not self.is_accepting():
            return False
        return not self._any_byte_possible()

    def _any_byte_possible(self) -> bool:
        for b in range(256):
            code, _, _ = self._run(_engine.step_byte, self._k, self._ls, b)
            if code == 0:
                return True
        return False

    def forced_bytes(self) -> bytes:
        """Bytes every continuation must start with (jump-forward); empty if none."""
        if self._finished:
            return b""
        out = self._fb
        while True:
            n = self._run(_engine.forced_bytes, self._k, self._ls, out)
            if n < out.shape[0]:
                return bytes(out[:n])
            if out.shape[0] >= 1 << 16:
                return bytes(out[:n])
            out = self._fb = np.zeros(out.shape[0] * 2, dtype=np.uint8)

    # ------------------------------------------------------------------ moves
    def _token_range(self, token_id: int):
        g = self.grammar
        if not 0 <= token_id < g.vocab_size or token_id >= len(g.tok_off) - 1 or not g.is_text[token_id]:
            return None
        return int(g.tok_off[token_id]), int(g.tok_off[token_id + 1])

    def advance(self, token_id: int) -> bool:
        """Consume one token.  False (state unchanged) if the token is not allowed."""
        token_id = int(token_id)
        g = self.grammar
        if token_id in g._eos_set:
            if self._finished:
                return True
            if not self.is_accepting():
                return False
            self._hist.append((self._k, self._ls, self._finished))
            self._finished = True
            return True
        if self._finished:
            return False
        rng = self._token_range(token_id)
        if rng is None:
            return False
        code, k, ls = self._run(_engine.step_bytes, self._k, self._ls, g.tok_data, rng[0], rng[1])
        if code != 0:
            return False
        self._hist.append((self._k, self._ls, self._finished))
        self._k, self._ls = int(k), int(ls)
        return True

    def accepts(self, token_id: int) -> bool:
        """Would :meth:`advance` accept this token?  The state does not change."""
        token_id = int(token_id)
        g = self.grammar
        if token_id in g._eos_set:
            return self.is_accepting()
        if self._finished:
            return False
        rng = self._token_range(token_id)
        if rng is None:
            return False
        code, _, _ = self._run(_engine.step_bytes, self._k, self._ls, g.tok_data, rng[0], rng[1])
        return code == 0

    def consume_bytes(self, data: bytes) -> bool:
        """Consume raw text (e.g. forced bytes) as one step of history."""
        if self._finished:
            return not data
        arr = np.frombuffer(bytes(data), dtype=np.uint8)
        code, k, ls = self._run(_engine.step_bytes, self._k, self._ls, arr, 0, arr.shape[0])
        if code != 0:
            return False
        self._hist.append((self._k, self._ls, self._finished))
        self._k, self._ls = int(k), int(ls)
        return True

    def rollback(self, n: int = 1) -> None:
        """Undo the last ``n`` successful ``advance``/``consume_bytes`` calls."""
        if n < 0 or n > len(self._hist):
            raise ValueError(f"cannot roll back {n} steps: history holds {len(self._hist)}")
        if n == 0:
            return
        k, ls, finished = self._hist[-n]
        del self._hist[-n:]
        self._k, self._ls, self._finished = k, ls, finished

    def reset(self) -> None:
        """Back to the start of the language."""
        self._hist.clear()
        self._finished = False
        self._init()

    def fork(self) -> "Matcher":
        """An independent copy of this matcher (copies the Earley sets in use)."""
        return Matcher(self.grammar, _copy_from=self)

    @property
    def num_steps(self) -> int:
        """Number of steps in the history (tokens and consumed texts)."""
        return len(self._hist)


def _alloc_earley(scap: int, icap: int):
    return (
        np.zeros(icap, dtype=np.int32),
        np.zeros(icap, dtype=np.int32),
        np.zeros(scap + 1, dtype=np.int32),
        np.zeros(scap, dtype=np.int32),
        np.zeros(scap, dtype=np.uint8),
        np.zeros(scap, dtype=np.int32),
    )


def _grow_earley(E):
    item, orig, off, lex, acc, ver = E
    icap = item.shape[0]
    scap = lex.shape[0]
    grow_i = icap * 2
    grow_s = scap * 2
    return (
        np.concatenate([item, np.zeros(grow_i - icap, dtype=np.int32)]),
        np.concatenate([orig, np.zeros(grow_i - icap, dtype=np.int32)]),
        np.concatenate([off, np.zeros(grow_s - scap, dtype=np.int32)]),
        np.concatenate([lex, np.zeros(grow_s - scap, dtype=np.int32)]),
        np.concatenate([acc, np.zeros(grow_s - scap, dtype=np.uint8)]),
        np.concatenate([ver, np.zeros(grow_s - scap, dtype=np.int32)]),
    )


def _alloc_scratch(grammar: Grammar, hcap: int):
    t = grammar.tables
    n_syms = int(t.G[13][1])
    n_terms = max(int(t.G[13][0]), 1)
    depth = grammar.max_token_len + 2
    return (
        np.zeros(hcap, dtype=np.int64),
        np.zeros(hcap, dtype=np.int32),
        np.zeros(n_syms, dtype=np.int32),
        np.zeros(n_terms, dtype=np.uint8),
        np.zeros(n_terms + 1, dtype=np.int32),
        np.array([1, 0], dtype=np.int64),
        np.zeros(depth, dtype=np.int32),
        np.zeros(depth, dtype=np.int32),
        np.zeros(depth, dtype=np.int32),
        np.zeros(depth, dtype=np.int32),
        np.zeros(depth, dtype=np.int32),
    )
