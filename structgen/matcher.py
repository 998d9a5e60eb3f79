"""Compiled grammars bound to a vocabulary, and the per-sequence Matcher.

:class:`Grammar` is immutable and shareable; its lexer cache grows lazily behind a
lock.  :class:`Matcher` is a cheap cursor over it: the Earley sets of one sequence,
the current lexer state and a history for ``rollback``.

The kernels are called through int64 "pointer tables" (see ``_engine``): the
grammar's table points at its tables, the lexer cache and the vocabulary's tries;
each matcher's at its Earley arrays; each thread's at its scratch.  Whoever owns an
array keeps it alive; arrays replaced by growth are kept until the grammar dies, so
a kernel still running on another thread never reads freed memory.

Raising policy: ``advance``, ``accepts``, ``consume_bytes`` never raise for a token
or text that the constraint rejects (an id outside the vocabulary included); they
return ``False`` and leave the state unchanged.  They raise ``TypeError`` for what is
not a token id (a float, a bool, None) or not bytes.  ``fill_bitmask`` raises
``TypeError`` for what is not a numpy array and ``ValueError`` for an array of the
wrong dtype or shape, or a read-only one; ``rollback`` raises ``ValueError`` when asked
to undo more steps than were taken.  A call that needs more parser work than the
matcher's ``Limits.mask_fuel`` raises :class:`~structgen.FuelExhausted` and leaves the
state unchanged (``forced_bytes`` instead returns the bytes found so far).

Threads: one matcher must not be used by two threads at once.  Different matchers of
one grammar may be used from different threads; their kernel calls are serialized by
the grammar's lock (use :func:`structgen.fill_bitmasks` to fill many rows in
parallel).
"""

from __future__ import annotations

import operator
import threading

import numpy as np

from . import _engine
from .compiler import GrammarTables
from .limits import FuelExhausted, Limits, get_limits
from .slices import vocab_slices

_INT32 = np.dtype(np.int32)
_MAX_ID = (1 << 31) - 1  # ids past this are in no vocabulary (the kernels take int64)
_MAX_FUEL = 1 << 62  # Limits.mask_fuel = math.inf
_CALLS = {"k_fill": "one mask (fill_bitmask)", "k_step_token": "one token (advance/accepts)",
          "k_step_bytes": "one byte of consume_bytes", "k_init": "the start state",
          "k_accepting": "is_accepting", "k_step_byte": "one byte"}


def _token_id(token_id) -> int:
    """``token_id`` as a Python int; ``TypeError`` for what is not an integer (a float
    would be truncated to another token).  Out-of-range ids come back as -1 (no
    vocabulary has them: the constraint refuses them)."""
    if isinstance(token_id, (bool, np.bool_)):
        raise TypeError("a token id must be an integer, not a bool")
    try:
        t = operator.index(token_id)
    except TypeError:
        raise TypeError(f"a token id must be an integer, not {type(token_id).__name__}") from None
    return t if 0 <= t <= _MAX_ID else -1


def check_bitmask(out, shape: tuple[int, ...]) -> None:
    """``TypeError`` unless ``out`` is a numpy array; ``ValueError`` unless it is a
    writeable C-contiguous int32 array of ``shape`` (a row, or rows, of words)."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"bitmask must be a numpy int32 array, not {type(out).__name__}")
    if out.dtype != _INT32 or out.shape != shape or not out.flags.c_contiguous:
        raise ValueError(f"bitmask must be a C-contiguous int32 array of shape {shape} ({shape[-1]} words per "
                         f"row), got {out.dtype} {out.shape}")
    if not out.flags.writeable:
        raise ValueError("bitmask is read-only")


def _table(arrays) -> np.ndarray:
    """int64[3n] pointer table: (address, shape0, shape1) per C-contiguous array."""
    t = np.zeros(3 * len(arrays), dtype=np.int64)
    for i, a in enumerate(arrays):
        if not a.flags.c_contiguous:
            raise ValueError("kernel arrays must be C-contiguous")
        t[3 * i] = a.ctypes.data
        t[3 * i + 1] = a.shape[0]
        t[3 * i + 2] = a.shape[1] if a.ndim == 2 else 0
    return t


class LexerCache:
    """The lazily built lexer DFA of one grammar, shared by all its matchers.

    Arrays grow by doubling when a kernel asks (``NEED_LEXER``); growth replaces the
    arrays, so kernels always receive ``self.L`` afresh.  Growth happens under a
    lock; kernels running in parallel (``fill_bitmasks``) run with the cache frozen
    and fall back to a serial call when they meet an uncomputed transition.
    """

    def __init__(self, n_slices: int = 0, capacity: int = 256):
        self.lock = threading.Lock()
        self.n_slices = n_slices
        cap = capacity
        trans = np.full((cap, 256), _engine.UNKNOWN, dtype=np.int32)
        eoff = np.zeros(cap + 1, dtype=np.int32)
        elems = np.zeros(cap * 4, dtype=np.int32)
        aoff = np.zeros(cap + 1, dtype=np.int32)
        acc = np.zeros(cap * 2, dtype=np.int32)
        flags = np.zeros(cap, dtype=np.uint8)
        ht = np.full(cap * 4, -1, dtype=np.int32)
        meta = np.zeros(8, dtype=np.int64)
        slice_ok = np.full((cap, max(n_slices, 1)), -1, dtype=np.int8)
        self.L = _engine.LexerArrays(trans=trans, eoff=eoff, elems=elems, aoff=aoff, acc=acc, flags=flags, ht=ht,
                                     meta=meta, slice_ok=slice_ok)
        self.version = 0
        self._retired: list = []  # replaced arrays, kept alive (see matcher.py)

    @property
    def n_states(self) -> int:
        return int(self.L.meta[_engine.LM_N_STATES])

    def grow(self) -> None:
        """Double every array that is at least half full (called on NEED_LEXER)."""
        trans, eoff, elems, aoff, acc, flags, ht, meta, slice_ok = self.L
        ns, ne, na = (int(meta[i]) for i in (_engine.LM_N_STATES, _engine.LM_N_ELEMS, _engine.LM_N_ACC))
        cap = trans.shape[0]
        new_cap = cap * 2 if ns + 2 >= cap // 2 else cap
        if new_cap != cap:
            t2 = np.full((new_cap, 256), _engine.UNKNOWN, dtype=np.int32)
            t2[:cap] = trans
            trans = t2
            eoff = np.concatenate([eoff, np.zeros(new_cap - cap, dtype=np.int32)])
            aoff = np.concatenate([aoff, np.zeros(new_cap - cap, dtype=np.int32)])
            flags = np.concatenate([flags, np.zeros(new_cap - cap, dtype=np.uint8)])
            s2 = np.full((new_cap, slice_ok.shape[1]), -1, dtype=np.int8)
            s2[:cap] = slice_ok
            slice_ok = s2
        if ne * 2 + 1024 >= elems.shape[0]:
            elems = np.concatenate([elems, np.zeros(max(elems.shape[0], 1024), dtype=np.int32)])
        if na * 2 + 1024 >= acc.shape[0]:
            acc = np.concatenate([acc, np.zeros(max(acc.shape[0], 1024), dtype=np.int32)])
        rehash = False
        if 4 * (ns + 2) >= ht.shape[0]:
            ht = np.full(ht.shape[0] * 2, -1, dtype=np.int32)
            rehash = True
        self._retired.append(self.L)
        self.L = _engine.LexerArrays(trans, eoff, elems, aoff, acc, flags, ht, meta, slice_ok)
        self.version += 1
        if rehash:
            _engine.lexer_rehash(eoff, elems, ht, meta)


class Grammar:
    """A constraint compiled for one vocabulary.  Create with :func:`structgen.compile`.

    ``grammar.matcher()`` gives a fresh :class:`Matcher`.  A Grammar can be shared by
    any number of matchers.
    """

    def __init__(self, tables: GrammarTables, vocab, *, source: object = None):
        self.tables = tables
        self.vocab = vocab
        self.source = source
        self.vocab_size = int(vocab.size)
        self.n_words = (self.vocab_size + 31) // 32
        self.eos_ids = np.ascontiguousarray(vocab.eos_ids, dtype=np.int32)
        self._eos_set = frozenset(int(e) for e in self.eos_ids)
        self.max_token_len = int(vocab.max_token_len)
        self.slices = vocab_slices(vocab)
        n_sl = self.slices.n_slices
        self.lexer = LexerCache(n_slices=n_sl)
        self.lock = self.lexer.lock
        n_base = int(tables.G.bs_term.shape[0])
        self._absorb = np.full(max(n_base * n_sl, 1), -1, dtype=np.int8)
        self._tok_off = np.ascontiguousarray(vocab.token_offsets, dtype=np.int64)
        self._tok_data = np.ascontiguousarray(vocab.token_data, dtype=np.uint8)
        if self._tok_data.shape[0] == 0:
            self._tok_data = np.zeros(1, dtype=np.uint8)
        self._local = threading.local()
        self._batch_scratch: dict = {}
        self._gt = self._build_gt()

    def _build_gt(self) -> np.ndarray:
        lx = self.lexer
        sl = self.slices
        x = _engine.SliceArrays(roots=sl.roots, sl_trans=sl.sl_trans, sl_start=sl.sl_start, absorb=self._absorb,
                                tok_bytes_off=self._tok_off, tok_data=self._tok_data, eos=self.eos_ids,
                                combo=sl.combo)
        return _table((*self.tables.G, *lx.L, *sl.forest, *x))  # G, L, T, X: the layout's order

    def _grow_lexer(self) -> None:
        """Enlarge the lexer cache (caller holds the lock) and refresh the table."""
        self.lexer.grow()
        self._gt = self._build_gt()

    def _st(self) -> np.ndarray:
        """This thread's scratch pointer table (allocated on first use)."""
        try:
            return self._local.st
        except AttributeError:
            self._local.scratch, self._local.st = _alloc_scratch(self, 1024)
            return self._local.st

    def _grow_scratch(self) -> None:
        self._st()
        self._local.scratch, self._local.st = _alloc_scratch(self, self._local.scratch.hkey.shape[0] * 2)

    def matcher(self, *, limits: Limits | None = None) -> "Matcher":
        """A new matcher at the start of the language; its per-call fuel is
        ``limits.mask_fuel`` (default: the limits in force, :func:`structgen.get_limits`)."""
        return Matcher(self, limits=limits)

    def allocate_bitmask(self, batch: int | None = None) -> np.ndarray:
        """An ``int32`` bitmask of shape ``(n_words,)`` or ``(batch, n_words)`` in which
        every token of the vocabulary is allowed (padding bits clear), as
        :func:`structgen.allocate_bitmask` returns: fill rows with
        :meth:`Matcher.fill_bitmask` or :func:`structgen.fill_bitmasks`."""
        from .bitmask import allocate_bitmask

        mask = allocate_bitmask(1 if batch is None else batch, self.vocab_size)
        return mask[0].copy() if batch is None else mask

    def fill_eos_only(self, out: np.ndarray) -> None:
        """Write into the bitmask row ``out`` the mask that allows only the EOS ids (the
        mask after EOS)."""
        out[:] = 0
        words = out.view(np.uint32)
        for e in self.eos_ids:
            words[e >> 5] |= np.uint32(1 << (int(e) & 31))

    def __repr__(self) -> str:
        t = self.tables
        return (f"<structgen.Grammar: {len(t.terminal_names)} terminals, {t.n_rules} rules, "
                f"vocab {self.vocab_size}>")


class Matcher:
    """Per-sequence state of a :class:`Grammar` (see the module docstring)."""

    __slots__ = ("grammar", "_E", "_mt", "_k", "_ls", "_hist", "_finished", "_fb")

    def __init__(self, grammar: Grammar, _copy_from: "Matcher | None" = None, *, limits: Limits | None = None):
        self.grammar = grammar
        self._fb = None
        if _copy_from is None:
            if limits is not None and not isinstance(limits, Limits):
                raise TypeError(f"limits must be structgen.Limits, got {type(limits).__name__}")
            fuel = (limits or get_limits()).mask_fuel
            E = _alloc_earley(64, 2048)
            E.fuel[0] = min(fuel, _MAX_FUEL)
            self._set_earley(E)
            self._hist: list[tuple[int, int, bool]] = []
            self._finished = False
            self._init()
        else:
            src = _copy_from
            k = src._k
            old = src._E
            used = int(old.off[k + 1])
            E = _alloc_earley(old.lex.shape[0], old.item.shape[0])
            E.item[:used] = old.item[:used]
            E.orig[:used] = old.orig[:used]
            E.off[:k + 2] = old.off[:k + 2]
            E.fuel[0] = old.fuel[0]
            for name in ("lex", "acc", "ver", "scan_from", "pver"):
                getattr(E, name)[:k + 1] = getattr(old, name)[:k + 1]
            # the completion indexes are rebuilt on demand (E.ix_ver stays -1)
            self._set_earley(E)
            self._k = k
            self._ls = src._ls
            self._hist = list(src._hist)
            self._finished = src._finished

    # ------------------------------------------------------------------ plumbing
    def _set_earley(self, E) -> None:
        self._E = E
        self._mt = _table(E)

    def _init(self) -> None:
        self._run(_engine.k_init)
        self._k = 0
        self._ls = int(self._E.lex[0])

    def _run(self, fn, *args):
        """Call a kernel under the grammar's lock, growing tables on NEED codes."""
        g = self.grammar
        with g.lock:
            while True:
                r = fn(g._gt, self._mt, g._st(), *args)
                code = r[0] if isinstance(r, tuple) else r
                if code >= _engine.DEAD:
                    return r
                if code == _engine.OUT_OF_FUEL:
                    raise FuelExhausted(int(self._E.fuel[0]), _CALLS.get(fn.__name__, "this matcher call"))
                self._grow(code)

    def _grow(self, code: int) -> None:
        """Enlarge what a kernel asked for (caller holds the grammar's lock)."""
        g = self.grammar
        if code == _engine.NEED_LEXER:
            g._grow_lexer()
        elif code == _engine.NEED_EARLEY:
            self._set_earley(_grow_earley(self._E))
        elif code == _engine.NEED_SCRATCH:
            g._grow_scratch()
        else:  # pragma: no cover - LEXER_FROZEN only happens in batched filling
            raise RuntimeError(f"unexpected kernel status {code}")

    # ------------------------------------------------------------------ queries
    def fill_bitmask(self, out: np.ndarray) -> None:
        """Write the allowed-token bitmask into ``out`` (int32, ``ceil(V/32)`` words).

        Token ``i`` is bit ``i % 32`` of word ``i // 32``.  EOS ids are set only when
        the text may end here; after EOS only EOS is allowed.
        """
        g = self.grammar
        check_bitmask(out, (g.n_words,))
        if self._finished:
            g.fill_eos_only(out)
            return
        with g.lock:
            r = _engine.k_fill(g._gt, self._mt, g._st(), self._k, self._ls, out, True)
        if r != 0:
            self._run(_engine.k_fill, self._k, self._ls, out, True)

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
        return self._run(_engine.k_accepting, self._k, self._ls) == 1

    def is_finished(self) -> bool:
        """True after EOS was accepted, or when nothing but EOS can follow."""
        if self._finished:
            return True
        if not self.is_accepting():
            return False
        return not any(self._run(_engine.k_step_byte, self._k, self._ls, b)[0] == 0 for b in range(256))

    def forced_bytes(self) -> bytes:
        """Bytes every continuation must start with (jump-forward); empty if none."""
        if self._finished:
            return b""
        size = 256
        while True:
            out = np.zeros(size, dtype=np.uint8)
            n = self._run(_engine.k_forced, self._k, self._ls, out)
            if n < size or size >= 1 << 16:
                return bytes(out[:n])
            size *= 4

    # ------------------------------------------------------------------ moves
    def advance(self, token_id: int) -> bool:
        """Consume one token.  False (state unchanged) if the token is not allowed."""
        token_id = _token_id(token_id)
        if token_id in self.grammar._eos_set:
            if not self._finished:
                if not self.is_accepting():
                    return False
                self._hist.append((self._k, self._ls, False))
                self._finished = True
            return True
        if self._finished:
            return False
        g = self.grammar
        with g.lock:
            code, k, ls = _engine.k_step_token(g._gt, self._mt, g._st(), self._k, self._ls, token_id)
        if code < 0:
            code, k, ls = self._run(_engine.k_step_token, self._k, self._ls, token_id)
        if code != 0:
            return False
        self._hist.append((self._k, self._ls, False))
        self._k = k
        self._ls = ls
        return True

    def accepts(self, token_id: int) -> bool:
        """Would :meth:`advance` accept this token?  The state does not change."""
        token_id = _token_id(token_id)
        if token_id in self.grammar._eos_set:
            return self.is_accepting()
        if self._finished:
            return False
        return self._run(_engine.k_step_token, self._k, self._ls, token_id)[0] == 0

    def consume_bytes(self, data: bytes) -> bool:
        """Consume raw text (e.g. forced bytes) as one step of history."""
        if isinstance(data, str):
            raise TypeError("consume_bytes takes bytes; encode the text first (e.g. text.encode())")
        try:
            data = bytes(memoryview(data))
        except TypeError:
            raise TypeError(f"consume_bytes takes bytes, not {type(data).__name__}") from None
        if self._finished:
            return not data
        arr = np.frombuffer(data, dtype=np.uint8)
        code, k, ls = self._run(_engine.k_step_bytes, self._k, self._ls, arr)
        if code != 0:
            return False
        self._hist.append((self._k, self._ls, False))
        self._k = k
        self._ls = ls
        return True

    def rollback(self, n: int = 1) -> None:
        """Undo the last ``n`` successful ``advance``/``consume_bytes`` calls."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"rollback takes a number of steps (an int), not {type(n).__name__}")
        n = int(n)
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


def _alloc_earley(scap: int, icap: int) -> _engine.EarleyArrays:
    """Earley arrays (``E`` in ``_engine``'s layout) for ``scap`` sets, ``icap`` items."""
    per_item = dict(dtype=np.int32)
    return _engine.EarleyArrays(
        item=np.zeros(icap, **per_item), orig=np.zeros(icap, **per_item),
        off=np.zeros(scap + 1, dtype=np.int32), lex=np.zeros(scap, dtype=np.int32),
        acc=np.zeros(scap, dtype=np.uint8), ver=np.zeros(scap, dtype=np.int32),
        scan_from=np.full(scap, _engine.NO_SCAN, dtype=np.int32), pver=np.zeros(scap, dtype=np.int32),
        ix_start=np.zeros(scap, dtype=np.int32), ix_len=np.zeros(scap, dtype=np.int32),
        ix_ver=np.full(scap, -1, dtype=np.int32),
        ix_sym=np.zeros(icap, **per_item), ix_pos=np.zeros(icap, **per_item),
        ix_top=np.zeros(1, dtype=np.int32),
        fuel=np.full(1, _MAX_FUEL, dtype=np.int64),
    )


def _grow_earley(E: _engine.EarleyArrays) -> _engine.EarleyArrays:
    """Twice the capacity, same content (new sets are marked as not-a-scan)."""
    new = _alloc_earley(2 * E.lex.shape[0], 2 * E.item.shape[0])
    for old, grown in zip(E, new):
        grown[:old.shape[0]] = old
    return new


def _alloc_scratch(grammar: Grammar, hcap: int):
    """A thread's scratch (``S`` in ``_engine``'s layout) and its pointer table."""
    meta = grammar.tables.G.meta
    n_syms = int(meta[_engine.GM_N_SYMS])
    n_terms = max(int(meta[_engine.GM_N_TERMS]), 1)
    depth = grammar.max_token_len + 2
    arrays = _engine.ScratchArrays(
        hkey=np.zeros(hcap, dtype=np.int64),
        hgen=np.zeros(hcap, dtype=np.int32),
        pstamp=np.zeros(n_syms, dtype=np.int32),
        tflag=np.zeros(n_terms, dtype=np.uint8),
        buf=np.zeros(n_terms + 1, dtype=np.int32),
        meta=np.array([1, 0, 1, 0, 0], dtype=np.int64),
        st_ls=np.zeros(depth, dtype=np.int32),
        st_k=np.zeros(depth, dtype=np.int32),
        abs_stack=np.zeros(1 << 16, dtype=np.int32),
        abs_hkey=np.zeros(1 << 15, dtype=np.int64),
        abs_hgen=np.zeros(1 << 15, dtype=np.int32),
    )
    return arrays, _table(arrays)
