"""Regular expressions -> minimized, trimmed byte-level DFAs (the lexer's terminals).

Pipeline (one terminal):

1. :mod:`structgen.regex_syntax` parses the pattern into an AST over code-point
   sets and resolves anchors (fullmatch or search mode).
2. Each code-point set becomes a small acyclic byte automaton over its UTF-8
   encodings (Rust ``regex-syntax``'s ``Utf8Sequences`` range splitting, then
   prefix/suffix sharing as in its ``Utf8Compiler``); only valid, shortest-form
   UTF-8 is ever accepted, surrogates never.  These fragments are cached per set.
3. A Thompson NFA is built from the AST; bounded repetitions are unrolled by
   replicating the compiled body with numpy (``x{0,n}`` as ``(x(x(...)?)?)?``
   so epsilon closures stay small).
4. Subset construction over byte equivalence classes (numba), counting states and
   stopping at once past ``max_states``.
5. Valmari's O(m log n) partition refinement (numba) minimizes and trims (no dead
   state, every state can still reach acceptance), then states are numbered in BFS
   order and identical byte classes are merged.  The result is canonical: two
   terminals with the same language give equal :class:`ByteDFA` objects.

``intersect``/``exclude`` of a :class:`~structgen.ir.TerminalDef` are product
constructions; ``json_string`` composes the value DFA with a JSON-string decoder.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
from numba import njit, types

from .errors import CompileError
from .ir import TerminalDef
from .regex_syntax import Alt, Chars, Node, Ranges, Repeat, Seq, alt, literal_ast, parse_flags, regex_ast

DEFAULT_MAX_STATES = 50_000
# The unrolled NFA may be larger than the DFA it determinizes to (each character
# class is a small automaton), but not without bound.
_NFA_STATES_PER_DFA_STATE = 40
# The JSON-string composition may hold this many times max_states before minimizing.
_COMPOSE_SLACK = 8


# ---------------------------------------------------------------------------
# the DFA


class ByteDFA:
    """An immutable, minimized, trimmed DFA over bytes.

    ``trans[s, classmap[b]]`` is the state after byte ``b`` in state ``s``, or -1
    (dead).  The start state is 0.  Every state can reach an accepting state, except
    in the DFA of the empty language (one non-accepting state without transitions).
    States are numbered in BFS order from the start and byte classes by their first
    byte, so equal languages give equal objects (``==`` and ``hash`` compare arrays).

    These invariants hold for every DFA this module produces.  The constructor
    copies and checks the arrays' shapes and ranges (``ValueError``) but does not
    minimize them.
    """

    __slots__ = ("trans", "accept", "classmap", "n_states", "n_classes", "_hash")
    start = 0

    def __init__(self, trans: np.ndarray, accept: np.ndarray, classmap: np.ndarray):
        trans = np.array(trans, dtype=np.int32, order="C")
        accept = np.array(accept, dtype=np.bool_, order="C")
        classmap = np.array(classmap, dtype=np.uint8, order="C")
        if (trans.ndim != 2 or accept.shape != (trans.shape[0],) or classmap.shape != (256,)
                or int(classmap.max()) >= trans.shape[1] or int(trans.max(initial=-1)) >= trans.shape[0]
                or int(trans.min(initial=-1)) < -1):
            raise ValueError(f"inconsistent DFA arrays: trans {trans.shape}, accept {accept.shape}, "
                             f"classmap {classmap.shape} (classes < {trans.shape[1]}, targets -1..n-1 expected)")
        self._set(trans, accept, classmap)

    def _set(self, trans: np.ndarray, accept: np.ndarray, classmap: np.ndarray) -> None:
        for arr in (trans, accept, classmap):
            arr.flags.writeable = False
        setter = object.__setattr__
        setter(self, "trans", trans)
        setter(self, "accept", accept)
        setter(self, "classmap", classmap)
        setter(self, "n_states", trans.shape[0])
        setter(self, "n_classes", trans.shape[1])
        setter(self, "_hash", None)

    @classmethod
    def _trusted(cls, trans: np.ndarray, accept: np.ndarray, classmap: np.ndarray) -> ByteDFA:
        """Wrap arrays known to be consistent (int32/bool/uint8, C order) without checks."""
        self = cls.__new__(cls)
        self._set(trans, accept, classmap)
        return self

    def __setattr__(self, name, value):
        raise AttributeError("ByteDFA is immutable")

    def __reduce__(self):
        return ByteDFA._trusted, (np.array(self.trans), np.array(self.accept), np.array(self.classmap))

    def walk(self, data: bytes, state: int = 0) -> int:
        """The state after reading ``data`` from ``state``, or -1 once dead.

        Raises ``ValueError`` for a state number out of range.
        """
        if state < 0:
            return -1
        if state >= self.n_states:
            raise ValueError(f"state {state} out of range (the DFA has {self.n_states} states)")
        return int(_walk(self.trans, self.classmap, np.frombuffer(bytes(data), dtype=np.uint8), state))

    def fullmatch(self, data: bytes) -> bool:
        """Is ``data`` (bytes, e.g. UTF-8 text) in the language?"""
        s = self.walk(data)
        return s >= 0 and bool(self.accept[s])

    def matches_empty(self) -> bool:
        """Is the empty string in the language?"""
        return bool(self.accept[0])

    def is_empty(self) -> bool:
        """Is the language empty?"""
        return not self.accept.any()  # trimmed: a non-empty language has an accepting state

    def without_empty(self) -> ByteDFA:
        """The language minus the empty string (minimized and trimmed)."""
        if not self.accept[0]:
            return self
        n, k = self.trans.shape
        trans = np.empty((n + 1, k), dtype=np.int32)
        shifted = np.where(self.trans >= 0, self.trans + 1, -1)
        trans[0] = shifted[0]
        trans[1:] = shifted
        accept = np.concatenate(([False], self.accept))
        return _finish(trans, accept, self.classmap.astype(np.int32))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ByteDFA):
            return NotImplemented
        return (self.trans.shape == other.trans.shape and np.array_equal(self.classmap, other.classmap)
                and np.array_equal(self.accept, other.accept) and np.array_equal(self.trans, other.trans))

    def __hash__(self) -> int:
        if self._hash is None:
            object.__setattr__(self, "_hash", hash((self.trans.shape, self.trans.tobytes(), self.accept.tobytes(),
                                                    self.classmap.tobytes())))
        return self._hash

    def __repr__(self) -> str:
        return f"ByteDFA(n_states={self.n_states}, n_classes={self.n_classes}, accepting={int(self.accept.sum())})"


def _finish(trans: np.ndarray, accept: np.ndarray, cls_of_byte: np.ndarray) -> ByteDFA:
    """Minimize, trim and canonicalize a raw DFA whose start state is 0."""
    t, a, cm = _minimize(np.ascontiguousarray(trans, dtype=np.int32), np.ascontiguousarray(accept, dtype=np.bool_),
                         np.ascontiguousarray(cls_of_byte, dtype=np.int32))
    return ByteDFA._trusted(t, a, cm)


# ---------------------------------------------------------------------------
# UTF-8 fragments of code-point sets


def utf8_sequences(ranges: Ranges) -> list[tuple[tuple[int, int], ...]]:
    """The UTF-8 byte-range sequences matching exactly the code points in ``ranges``.

    Each sequence is a tuple of inclusive byte ranges, one per byte; the sequences
    are sorted, disjoint, and never match a surrogate or an overlong form.
    """
    out: list[tuple[tuple[int, int], ...]] = []
    for lo, hi in ranges:
        stack = [(lo, hi)]
        while stack:
            s, e = stack.pop()
            while True:
                if s < 0xE000 and e > 0xD7FF:  # surrogates are never encoded
                    stack.append((0xE000, e))
                    e = 0xD7FF
                if s > e:
                    break
                if s <= 0x7F < e:
                    stack.append((0x80, e))
                    e = 0x7F
                    continue
                if s <= 0x7FF < e:
                    stack.append((0x800, e))
                    e = 0x7FF
                    continue
                if s <= 0xFFFF < e:
                    stack.append((0x10000, e))
                    e = 0xFFFF
                    continue
                if e <= 0x7F:
                    out.append(((s, e),))
                    break
                split = False
                for i in (1, 2, 3):
                    m = (1 << (6 * i)) - 1
                    if (s & ~m) != (e & ~m):
                        if s & m:
                            stack.append(((s | m) + 1, e))
                            e = s | m
                            split = True
                            break
                        if (e & m) != m:
                            stack.append((e & ~m, e))
                            e = (e & ~m) - 1
                            split = True
                            break
                if split:
                    continue
                out.append(tuple(zip(chr(s).encode("utf-8"), chr(e).encode("utf-8"))))
                break
    return out


@functools.lru_cache(maxsize=4096)
def _char_fragment(ranges: Ranges) -> tuple[int, tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """A deterministic acyclic byte automaton for one character of ``ranges``.

    Returns ``(n_states, src, lo, hi, dst)``: local state 0 is the entry, 1 the exit.
    Built from the sorted UTF-8 sequences with shared prefixes (a trie path per
    sequence) and shared suffixes (identical nodes are merged bottom-up), i.e. the
    minimal automaton, as Rust's ``Utf8Compiler`` does.
    """
    seqs = utf8_sequences(ranges)
    if all(len(sq) == 1 for sq in seqs):  # ASCII only: one edge per range
        n = len(seqs)
        return 2, (0,) * n, tuple(sq[0][0] for sq in seqs), tuple(sq[0][1] for sq in seqs), (1,) * n
    cache: dict[tuple, int] = {(): 1}
    edges: list[tuple[int, int, int, int]] = []
    counter = [2]

    def compile_node(trans: list[tuple[int, int, int]]) -> int:
        key = tuple(trans)
        got = cache.get(key)
        if got is None:
            got = counter[0]
            counter[0] += 1
            cache[key] = got
            edges.extend((got, lo, hi, dst) for lo, hi, dst in trans)
        return got

    # uncompiled[i] = (frozen transitions, pending last range or None)
    uncompiled: list[tuple[list[tuple[int, int, int]], tuple[int, int] | None]] = [([], None)]
    prev: tuple[tuple[int, int], ...] = ()
    for sq in seqs:
        p = 0
        while p < len(sq) and p < len(uncompiled) and uncompiled[p][1] == sq[p]:
            p += 1
        if p < len(prev) and p < len(sq) and not prev[p][1] < sq[p][0]:
            raise AssertionError(f"UTF-8 sequences out of order: {prev} then {sq}")  # pragma: no cover
        prev = sq
        # compile the nodes deeper than the shared prefix
        nxt = 1
        while len(uncompiled) > p + 1:
            trans, last = uncompiled.pop()
            if last is not None:
                trans.append((last[0], last[1], nxt))
            nxt = compile_node(trans)
        trans, last = uncompiled[p]
        if last is not None:
            trans.append((last[0], last[1], nxt))
        uncompiled[p] = (trans, sq[p])
        for r in sq[p + 1:]:
            uncompiled.append(([], r))
    nxt = 1
    while len(uncompiled) > 1:
        trans, last = uncompiled.pop()
        if last is not None:
            trans.append((last[0], last[1], nxt))
        nxt = compile_node(trans)
    trans, last = uncompiled[0]
    if last is not None:
        trans.append((last[0], last[1], nxt))
    edges.extend((0, lo, hi, dst) for lo, hi, dst in trans)  # the entry is never shared
    return (counter[0], tuple(e[0] for e in edges), tuple(e[1] for e in edges), tuple(e[2] for e in edges),
            tuple(e[3] for e in edges))


@functools.lru_cache(maxsize=256)
def _char_fragment_arrays(ranges: Ranges) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_char_fragment`'s edges as int32 arrays (src, lo, hi, dst)."""
    _, src, lo, hi, dst = _char_fragment(ranges)
    return tuple(np.asarray(x, dtype=np.int32) for x in (src, lo, hi, dst))  # type: ignore[return-value]


# ---------------------------------------------------------------------------
# Thompson NFA


class _NFA:
    """An epsilon-NFA under construction: byte-range edges and epsilon edges.

    Invariant of :meth:`emit`: compiling a node from state ``s`` never adds an edge
    *into* ``s``, so fragments can start at shared states and be replicated.
    """

    __slots__ = ("n", "bs", "bl", "bh", "bd", "es", "ed", "chunks", "limit", "name")

    def __init__(self, limit: int, name: str):
        self.n = 1
        self.bs: list[int] = []
        self.bl: list[int] = []
        self.bh: list[int] = []
        self.bd: list[int] = []
        self.es: list[int] = []
        self.ed: list[int] = []
        self.chunks: list[tuple[np.ndarray, ...]] = []  # (bs, bl, bh, bd, es, ed) blocks
        self.limit = limit
        self.name = name

    def new(self) -> int:
        self.n += 1
        return self.n - 1

    def grow(self, k: int) -> int:
        """Reserve ``k`` states; return the first."""
        if self.n + k > self.limit:
            raise CompileError(f"regex {self.name} unrolls to more than {self.limit} NFA states "
                               f"(bounded repetitions too large for max_states)")
        base = self.n
        self.n += k
        return base

    def arrays(self) -> tuple[np.ndarray, ...]:
        """(bs, bl, bh, bd, es, ed) as int32 arrays."""
        parts = [tuple(np.asarray(x, dtype=np.int32) for x in (self.bs, self.bl, self.bh, self.bd, self.es, self.ed))]
        parts.extend(self.chunks)
        if len(parts) == 1:
            return parts[0]
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(6))

    def emit(self, node: Node, s: int) -> int:
        """Add ``node`` starting at state ``s``; return its end state."""
        if isinstance(node, Chars):
            if not node.ranges:
                return self.new()  # unreachable end: the empty language
            frag = node.fragment
            if frag is None:
                frag = node.fragment = _char_fragment(node.ranges)
            n, src, lo, hi, dst = frag
            e = self.new()
            base = self.grow(n - 2) - 2 if n > 2 else 0
            if len(src) > 64:  # large Unicode classes: remap with numpy
                a_src, a_lo, a_hi, a_dst = _char_fragment_arrays(node.ranges)
                empty = np.zeros(0, dtype=np.int32)

                def remap(a: np.ndarray) -> np.ndarray:
                    return np.where(a == 0, s, np.where(a == 1, e, a + base)).astype(np.int32)

                self.chunks.append((remap(a_src), a_lo, a_hi, remap(a_dst), empty, empty))
                return e
            if n == 2:
                k = len(src)
                self.bs.extend([s] * k)
                self.bl.extend(lo)
                self.bh.extend(hi)
                self.bd.extend([e] * k)
                return e
            m = {0: s, 1: e}
            for a, x, y, d in zip(src, lo, hi, dst):
                self.bs.append(m[a] if a < 2 else a + base)
                self.bl.append(x)
                self.bh.append(y)
                self.bd.append(m[d] if d < 2 else d + base)
            return e
        if isinstance(node, Seq):
            for it in node.items:
                s = self.emit(it, s)
            return s
        if isinstance(node, Alt):
            e = self.new()
            for it in node.items:
                t = self.emit(it, s)
                self.es.append(t)
                self.ed.append(e)
            return e
        if isinstance(node, Repeat):
            return self.emit_repeat(node, s)
        raise ValueError(f"unexpected regex AST node {node!r}")

    def emit_repeat(self, node: Repeat, s: int) -> int:
        lo, hi = node.lo, node.hi
        if hi == 0:
            return s
        if lo == 0 and hi is None:
            loop = self.new()
            self.es.append(s)
            self.ed.append(loop)
            end = self.emit(node.item, loop)
            self.es.append(end)
            self.ed.append(loop)
            return loop
        if lo <= 1 and hi == 1:
            end = self.emit(node.item, s)
            if lo == 1:
                return end
            e = self.new()
            self.es.extend((s, end))
            self.ed.extend((e, e))
            return e
        # x{lo,hi} chains hi copies with exits after copies lo..hi; x{lo,} chains
        # lo-1 copies, then x+ (one copy looping back)
        chain = lo - 1 if hi is None else hi
        frag = None
        if isinstance(node.item, Chars) and chain <= 32:  # small: emit the copies directly
            junctions = [s]
            for _ in range(chain):
                junctions.append(self.emit(node.item, junctions[-1]))
        else:
            frag = _NFA(self.limit, self.name)
            fe = frag.emit(node.item, 0)
            if fe == 0:  # the body matches only the empty string
                return s
            junctions = self.replicate(frag, fe, chain, s)
        if hi is None:
            loop = self.new()
            self.es.append(junctions[-1])
            self.ed.append(loop)
            end = self.emit(node.item, loop) if frag is None else self.replicate(frag, fe, 1, loop)[-1]
            self.es.append(end)
            self.ed.append(loop)
            return end
        if hi == lo:
            return junctions[-1]
        e = self.new()
        self.es.extend(junctions[lo:])
        self.ed.extend([e] * (hi - lo + 1))
        return e

    def replicate(self, frag: _NFA, fe: int, copies: int, s: int) -> list[int]:
        """Chain ``copies`` copies of ``frag`` (entry 0, exit ``fe``) from ``s``.

        Returns the junction states: ``[s, end of copy 1, ..., end of copy n]``.
        """
        k = frag.n - 1
        base = self.grow(copies * k)
        m_edges = len(frag.bs) + len(frag.es)
        if not frag.chunks and copies * m_edges <= 512:
            junctions = [s]
            for i in range(copies):
                off = base + i * k - 1
                j = junctions[-1]
                self.bs.extend([j if a == 0 else a + off for a in frag.bs])
                self.bl.extend(frag.bl)
                self.bh.extend(frag.bh)
                self.bd.extend([j if d == 0 else d + off for d in frag.bd])
                self.es.extend([j if a == 0 else a + off for a in frag.es])
                self.ed.extend([j if d == 0 else d + off for d in frag.ed])
                junctions.append(fe + off)
            return junctions
        bs, bl, bh, bd, es, ed = frag.arrays()
        off = (base - 1 + np.arange(copies, dtype=np.int64) * k)[:, None]
        junc = np.empty(copies + 1, dtype=np.int64)
        junc[0] = s
        junc[1:] = off[:, 0] + fe
        jcol = junc[:-1, None]

        def remap(a: np.ndarray) -> np.ndarray:
            return np.where(a[None, :] == 0, jcol, a[None, :] + off).astype(np.int32).ravel()

        self.chunks.append((remap(bs), np.tile(bl, copies), np.tile(bh, copies), remap(bd), remap(es), remap(ed)))
        return junc.tolist()


# ---------------------------------------------------------------------------
# numba kernels


@njit(cache=True)
def _walk(trans, classmap, data, state):  # pragma: no cover - numba
    s = state
    for i in range(data.shape[0]):
        s = trans[s, classmap[data[i]]]
        if s < 0:
            return -1
    return s


@njit(cache=True)
def _sort_i32(a, n):  # pragma: no cover - numba
    """Shell sort of ``a[:n]`` in place (small code, quick to compile)."""
    gap = 1
    while gap < n // 3:
        gap = 3 * gap + 1
    while gap > 0:
        for i in range(gap, n):
            x = a[i]
            j = i
            while j >= gap and a[j - gap] > x:
                a[j] = a[j - gap]
                j -= gap
            a[j] = x
        gap //= 3


@njit(cache=True)
def _closure(seeds, s0, s1, eoff, eto, important, final, mark, stamp, stack, out):  # pragma: no cover - numba
    """Epsilon closure of ``seeds[s0:s1]``: its important states, sorted, into ``out``.

    Returns ``(count, contains final)``.
    """
    top = 0
    for i in range(s0, s1):
        q = seeds[i]
        if mark[q] != stamp:
            mark[q] = stamp
            stack[top] = q
            top += 1
    cnt = 0
    acc = False
    while top > 0:
        top -= 1
        q = stack[top]
        if important[q]:
            out[cnt] = q
            cnt += 1
            if q == final:
                acc = True
        for j in range(eoff[q], eoff[q + 1]):
            r = eto[j]
            if mark[r] != stamp:
                mark[r] = stamp
                stack[top] = r
                top += 1
    _sort_i32(out, cnt)
    return cnt, acc


@njit(cache=True)
def _determinize(n, final, bsrc, bclo, bchi, bdst, esrc, edst, n_cls, max_states):  # pragma: no cover
    """Subset construction from NFA state 0 over byte classes ``0..n_cls-1``.

    Epsilon closures keep only "important" states (with byte edges, or final).
    Returns ``(status, trans, accept)`` with ``trans`` flat (``n_dfa * n_cls``);
    status 1 means the DFA would exceed ``max_states`` (arrays then partial).
    """
    m = bsrc.shape[0]
    toff = np.zeros(n + 1, np.int64)
    order = np.empty(m, np.int64)
    _make_adjacent(bsrc, m, n, order, toff)
    tclo = bclo[order]
    tchi = bchi[order]
    tdst = bdst[order]
    me = esrc.shape[0]
    eoff = np.zeros(n + 1, np.int64)
    order = np.empty(me, np.int64)
    _make_adjacent(esrc, me, n, order, eoff)
    eto = edst[order]
    important = np.zeros(n, np.bool_)
    for q in range(n):
        important[q] = toff[q + 1] > toff[q] or q == final

    mark = np.zeros(n, np.int64)
    stack = np.empty(n, np.int32)
    cbuf = np.empty(n, np.int32)
    trans = np.full(16 * n_cls, -1, np.int32)
    accept = np.zeros(16, np.bool_)
    set_off = np.zeros(17, np.int64)
    set_hash = np.zeros(16, np.int64)
    sets = np.empty(256, np.int32)
    hcap = 64
    htab = np.full(hcap, -1, np.int32)
    cnt = np.zeros(n_cls + 1, np.int64)
    pos = np.zeros(n_cls + 1, np.int64)
    buf = np.zeros(256, np.int32)  # buf[0] = 0 seeds the start state
    n_dfa = 0
    stamp = 0
    d = -1  # -1: creating the start state from {0}
    while d < n_dfa:
        if d >= 0:
            a0 = set_off[d]
            a1 = set_off[d + 1]
            for c in range(n_cls + 1):
                cnt[c] = 0
            for i in range(a0, a1):
                q = sets[i]
                for t in range(toff[q], toff[q + 1]):
                    for c in range(tclo[t], tchi[t] + 1):
                        cnt[c] += 1
            pos[0] = 0
            for c in range(n_cls):
                pos[c + 1] = pos[c] + cnt[c]
            if pos[n_cls] > buf.shape[0]:
                buf = np.empty(2 * pos[n_cls], np.int32)
            for c in range(n_cls):
                cnt[c] = pos[c]
            for i in range(a0, a1):
                q = sets[i]
                for t in range(toff[q], toff[q + 1]):
                    r = tdst[t]
                    for c in range(tclo[t], tchi[t] + 1):
                        buf[cnt[c]] = r
                        cnt[c] += 1
            c_lo = 0
            c_hi = n_cls
        else:
            pos[0] = 0
            pos[1] = 1
            c_lo = 0
            c_hi = 1
        for c in range(c_lo, c_hi):
            b0 = pos[c]
            b1 = pos[c + 1]
            if b0 == b1:
                continue
            if d >= 0 and c > 0 and pos[c] - pos[c - 1] == b1 - b0:
                same = True
                off = pos[c - 1]
                for i in range(b1 - b0):
                    if buf[off + i] != buf[b0 + i]:
                        same = False
                        break
                if same:
                    trans[d * n_cls + c] = trans[d * n_cls + c - 1]
                    continue
            stamp += 1
            k, acc = _closure(buf, b0, b1, eoff, eto, important, final, mark, stamp, stack, cbuf)
            if k == 0 and d >= 0:
                continue
            h = 1469598103934665603
            for i in range(k):
                h = (h ^ cbuf[i]) * 1099511628211
            slot = h & (hcap - 1)
            found = -1
            while htab[slot] >= 0:
                e = htab[slot]
                if set_hash[e] == h and set_off[e + 1] - set_off[e] == k:
                    base = set_off[e]
                    eq = True
                    for i in range(k):
                        if sets[base + i] != cbuf[i]:
                            eq = False
                            break
                    if eq:
                        found = e
                        break
                slot = (slot + 1) & (hcap - 1)
            if found < 0:
                if n_dfa >= max_states:
                    return 1, trans, accept
                if n_dfa == set_hash.shape[0]:
                    trans = _grow_i32(trans, 2 * n_dfa * n_cls)
                    accept = _grow_bool(accept, 2 * n_dfa)
                    set_off = _grow_i64(set_off, 2 * n_dfa + 1)
                    set_hash = _grow_i64(set_hash, 2 * n_dfa)
                base = set_off[n_dfa]
                if base + k > sets.shape[0]:
                    sets = _grow_i32(sets, 2 * (base + k))
                for i in range(k):
                    sets[base + i] = cbuf[i]
                set_off[n_dfa + 1] = base + k
                set_hash[n_dfa] = h
                accept[n_dfa] = acc
                htab[slot] = n_dfa
                found = n_dfa
                n_dfa += 1
                if 2 * n_dfa > hcap:
                    hcap *= 4
                    htab = np.full(hcap, -1, np.int32)
                    for e in range(n_dfa):
                        sl = set_hash[e] & (hcap - 1)
                        while htab[sl] >= 0:
                            sl = (sl + 1) & (hcap - 1)
                        htab[sl] = e
            if d >= 0:
                trans[d * n_cls + c] = found
        d += 1
    return 0, trans[:n_dfa * n_cls].copy(), accept[:n_dfa].copy()


@njit(cache=True)
def _make_adjacent(key, mm, nn, adj, aoff):  # pragma: no cover - numba
    """Counting sort of transitions ``0..mm-1`` by ``key``: ``adj[aoff[q]:aoff[q+1]]``."""
    for q in range(nn + 1):
        aoff[q] = 0
    for t in range(mm):
        aoff[key[t] + 1] += 1
    for q in range(nn):
        aoff[q + 1] += aoff[q]
    fill = aoff[:nn].copy()
    for t in range(mm):
        adj[fill[key[t]]] = t
        fill[key[t]] += 1


@njit((types.int64, types.int64[::1], types.int64[::1], types.int64), cache=True)  # one compile, not three
def _reach(q, E, Lc, rr):  # pragma: no cover - numba
    i = Lc[q]
    if i >= rr:
        E[i] = E[rr]
        Lc[E[i]] = i
        E[rr] = q
        Lc[q] = rr
        rr += 1
    return rr


@njit(cache=True)
def _mark(e, E, Lc, S, F, M, W, wz):  # pragma: no cover - numba
    s = S[e]
    i = Lc[e]
    j = F[s] + M[s]
    E[i] = E[j]
    Lc[E[i]] = i
    E[j] = e
    Lc[e] = j
    if M[s] == 0:
        W[wz[0]] = s
        wz[0] += 1
    M[s] += 1


@njit(cache=True)
def _split(E, S, F, P, M, W, wz):  # pragma: no cover - numba
    """Split every marked set; wz = [worklist size, number of sets]."""
    while wz[0] > 0:
        wz[0] -= 1
        s = W[wz[0]]
        j = F[s] + M[s]
        if j == P[s]:
            M[s] = 0
            continue
        z = wz[1]
        if M[s] <= P[s] - j:
            F[z] = F[s]
            P[z] = j
            F[s] = j
        else:
            P[z] = P[s]
            F[z] = j
            P[s] = j
        for i in range(F[z], P[z]):
            S[E[i]] = z
        M[s] = 0
        M[z] = 0
        wz[1] = z + 1


@njit(cache=True)
def _minimize(trans, accept, cls_of_byte):  # pragma: no cover - numba
    """Trim, minimize (Valmari 2012), BFS-number and merge byte classes.

    Returns ``(trans, accept, classmap)`` of the canonical minimal DFA.
    """
    nn, kk = trans.shape
    mm = np.int64(0)
    for q in range(nn):
        for c in range(kk):
            if trans[q, c] >= 0:
                mm += 1
    T = np.empty(mm, np.int64)
    Lb = np.empty(mm, np.int64)
    H = np.empty(mm, np.int64)
    t = 0
    for q in range(nn):
        for c in range(kk):
            if trans[q, c] >= 0:
                T[t] = q
                Lb[t] = c
                H[t] = trans[q, c]
                t += 1
    BE = np.empty(nn, np.int64)
    BL = np.empty(nn, np.int64)
    for q in range(nn):
        BE[q] = q
        BL[q] = q
    BS = np.zeros(nn, np.int64)
    BF = np.zeros(nn + 1, np.int64)
    BP = np.zeros(nn + 1, np.int64)
    BP[0] = nn
    adj = np.empty(mm, np.int64)
    aoff = np.zeros(nn + 1, np.int64)
    # forward reachability from 0 (already at position 0)
    rr = 1
    _make_adjacent(T, mm, nn, adj, aoff)
    i = 0
    while i < rr:
        q = BE[i]
        for j in range(aoff[q], aoff[q + 1]):
            rr = _reach(H[adj[j]], BE, BL, rr)
        i += 1
    j = 0
    for t in range(mm):
        if BL[T[t]] < rr:
            H[j] = H[t]
            Lb[j] = Lb[t]
            T[j] = T[t]
            j += 1
    mm = np.int64(j)
    BP[0] = rr
    # backward reachability from accepting states
    rr = 0
    for q in range(nn):
        if accept[q] and BL[q] < BP[0]:
            rr = _reach(q, BE, BL, rr)
    ff = rr
    _make_adjacent(H, mm, nn, adj, aoff)
    i = 0
    while i < rr:
        q = BE[i]
        for j in range(aoff[q], aoff[q + 1]):
            rr = _reach(T[adj[j]], BE, BL, rr)
        i += 1
    j = 0
    for t in range(mm):
        if BL[H[t]] < rr:
            H[j] = H[t]
            Lb[j] = Lb[t]
            T[j] = T[t]
            j += 1
    mm = np.int64(j)
    useful = rr
    BP[0] = useful
    if useful == 0 or BL[0] >= useful:
        return np.full(1, -1, np.int32).reshape((1, 1)), np.zeros(1, np.bool_), np.zeros(256, np.uint8)
    # initial partition: accepting / not
    big = max(nn, mm) + 1
    BM = np.zeros(big, np.int64)
    BW = np.zeros(big, np.int64)
    bwz = np.zeros(2, np.int64)
    bwz[1] = 1
    BM[0] = ff
    if ff > 0:
        BW[0] = 0
        bwz[0] = 1
        _split(BE, BS, BF, BP, BM, BW, bwz)
    # transition partition by label (counting sort: labels are < kk)
    CE = np.empty(mm, np.int64)
    loff = np.zeros(kk + 1, np.int64)
    for t in range(mm):
        loff[Lb[t] + 1] += 1
    for c in range(kk):
        loff[c + 1] += loff[c]
    for t in range(mm):
        CE[loff[Lb[t]]] = t
        loff[Lb[t]] += 1
    CS = np.zeros(max(mm, 1), np.int64)
    CL = np.zeros(max(mm, 1), np.int64)
    CF = np.zeros(mm + 1, np.int64)
    CP = np.zeros(mm + 1, np.int64)
    CM = np.zeros(big, np.int64)
    CW = np.zeros(big, np.int64)
    cwz = np.zeros(2, np.int64)
    if mm > 0:
        z = 0
        a = Lb[CE[0]]
        for i in range(mm):
            t = CE[i]
            if Lb[t] != a:
                a = Lb[t]
                CP[z] = i
                z += 1
                CF[z] = i
            CS[t] = z
            CL[t] = i
        CP[z] = mm
        cwz[1] = z + 1
    _make_adjacent(H, mm, nn, adj, aoff)
    b = 1
    c = 0
    while c < cwz[1]:
        for i in range(CF[c], CP[c]):
            _mark(T[CE[i]], BE, BL, BS, BF, BM, BW, bwz)
        _split(BE, BS, BF, BP, BM, BW, bwz)
        c += 1
        while b < bwz[1]:
            for i in range(BF[b], BP[b]):
                q = BE[i]
                for j in range(aoff[q], aoff[q + 1]):
                    _mark(adj[j], CE, CL, CS, CF, CM, CW, cwz)
            _split(CE, CS, CF, CP, CM, CW, cwz)
            b += 1
    nb = bwz[1]
    tmin = np.full(nb * kk, -1, np.int32).reshape((nb, kk))
    amin = np.zeros(nb, np.bool_)
    for t in range(mm):
        tmin[BS[T[t]], Lb[t]] = BS[H[t]]
    for i in range(useful):
        q = BE[i]
        if accept[q]:
            amin[BS[q]] = True
    # BFS numbering
    newid = np.full(nb, -1, np.int64)
    queue = np.empty(nb, np.int64)
    b0 = BS[0]
    newid[b0] = 0
    queue[0] = b0
    head = 0
    tail = 1
    while head < tail:
        x = queue[head]
        head += 1
        for c in range(kk):
            y = tmin[x, c]
            if y >= 0 and newid[y] < 0:
                newid[y] = tail
                queue[tail] = y
                tail += 1
    canon = np.full(tail * kk, -1, np.int32).reshape((tail, kk))
    acc_out = np.zeros(tail, np.bool_)
    for i in range(tail):
        x = queue[i]
        acc_out[i] = amin[x]
        for c in range(kk):
            y = tmin[x, c]
            if y >= 0:
                canon[i, c] = newid[y]
    # merge identical columns; number classes by first byte
    hcol = np.empty(kk, np.int64)
    for c in range(kk):
        h = 1469598103934665603
        for i in range(tail):
            h = (h ^ (canon[i, c] + 1)) * 1099511628211
        hcol[c] = h
    colid = np.full(kk, -1, np.int64)
    rep = np.empty(kk, np.int64)
    nk = 0
    classmap = np.empty(256, np.uint8)
    for byte in range(256):
        c = cls_of_byte[byte]
        if colid[c] < 0:
            found = -1
            for j in range(nk):
                r = rep[j]
                if hcol[r] == hcol[c]:
                    same = True
                    for i in range(tail):
                        if canon[i, r] != canon[i, c]:
                            same = False
                            break
                    if same:
                        found = j
                        break
            if found < 0:
                found = nk
                rep[nk] = c
                nk += 1
            colid[c] = found
        classmap[byte] = colid[c]
    out = np.empty((tail, nk), np.int32)
    for j in range(nk):
        r = rep[j]
        for i in range(tail):
            out[i, j] = canon[i, r]
    return out, acc_out, classmap


@njit(cache=True)
def _nfa_to_dfa(n, final, bs, bl, bh, bd, es, ed, max_states):  # pragma: no cover - numba
    """Byte classes, subset construction from state 0, then :func:`_minimize`.

    Returns ``(status, trans, accept, classmap)``; status 1: over ``max_states``.
    """
    marks = np.zeros(257, np.bool_)
    marks[0] = True
    for t in range(bl.shape[0]):
        marks[bl[t]] = True
        marks[bh[t] + 1] = True
    cls = np.empty(256, np.int32)
    c = -1
    for b in range(256):
        if marks[b]:
            c += 1
        cls[b] = c
    n_cls = c + 1
    clo = np.empty(bl.shape[0], np.int32)
    chi = np.empty(bl.shape[0], np.int32)
    for t in range(bl.shape[0]):
        clo[t] = cls[bl[t]]
        chi[t] = cls[bh[t]]
    status, flat, accept = _determinize(n, final, bs, clo, chi, bd, es, ed, n_cls, max_states)
    if status:
        return status, np.full(1, -1, np.int32).reshape((1, 1)), accept, np.zeros(256, np.uint8)
    t2, a2, cm = _minimize(flat.reshape((accept.shape[0], n_cls)), accept, cls)
    return 0, t2, a2, cm


# Growth helpers copy with loops: an array-to-array slice assignment would pull in
# numba's shape-mismatch error formatting, seconds of extra compile time.


@njit(cache=True)
def _grow_i32(a, n):  # pragma: no cover - numba
    """A copy of ``a`` extended to length ``n`` with -1."""
    b = np.full(n, -1, np.int32)
    for i in range(a.shape[0]):
        b[i] = a[i]
    return b


@njit(cache=True)
def _grow_i64(a, n):  # pragma: no cover - numba
    """A copy of ``a`` extended to length ``n`` (new entries undefined)."""
    b = np.empty(n, np.int64)
    for i in range(a.shape[0]):
        b[i] = a[i]
    return b


@njit(cache=True)
def _grow_bool(a, n):  # pragma: no cover - numba
    """A copy of ``a`` extended to length ``n`` with False."""
    b = np.zeros(n, np.bool_)
    for i in range(a.shape[0]):
        b[i] = a[i]
    return b


@njit(cache=True)
def _pair_id(key, p, q, P, Q, K, hkey, hval, n, limit):  # pragma: no cover - numba
    """Intern the state pair ``(p, q)`` whose unique integer code is ``key``.

    Pairs are numbered in order of first appearance (``P``, ``Q``, ``K`` hold them,
    ``hkey``/``hval`` is an open-addressing table).  Returns
    ``(id, n, P, Q, K, hkey, hval)``; ``id`` is -1 when a new pair would be the
    ``limit``-th plus one.
    """
    hcap = hkey.shape[0]
    slot = (key * 2654435761) & (hcap - 1)
    while hkey[slot] >= 0:
        if hkey[slot] == key:
            return hval[slot], n, P, Q, K, hkey, hval
        slot = (slot + 1) & (hcap - 1)
    if n >= limit:
        return -1, n, P, Q, K, hkey, hval
    if n == P.shape[0]:
        P = _grow_i64(P, 2 * n)
        Q = _grow_i64(Q, 2 * n)
        K = _grow_i64(K, 2 * n)
    P[n] = p
    Q[n] = q
    K[n] = key
    hkey[slot] = key
    hval[slot] = n
    n += 1
    if 2 * n > hcap:
        hcap *= 4
        hkey = np.full(hcap, -1, np.int64)
        hval = np.empty(hcap, np.int64)
        for e in range(n):
            sl = (K[e] * 2654435761) & (hcap - 1)
            while hkey[sl] >= 0:
                sl = (sl + 1) & (hcap - 1)
            hkey[sl] = K[e]
            hval[sl] = e
    return n - 1, n, P, Q, K, hkey, hval


@njit(cache=True)
def _product(ta, aa, tb, ab, ja, jb, mode, max_states):  # pragma: no cover - numba
    """Product of two DFAs over joint classes ``(ja[j], jb[j])``, breadth first.

    ``mode`` 0: intersection, 1: difference (A minus B), 2: union.  A side may be
    dead (-1) where the mode allows.  Returns ``(status, trans, accept)``, ``trans``
    flat; status 1: more than ``max_states`` states.
    """
    nj = ja.shape[0]
    nb1 = tb.shape[0] + 1
    trans = np.full(64 * nj, -1, np.int32)
    P = np.zeros(64, np.int64)
    Q = np.zeros(64, np.int64)
    K = np.zeros(64, np.int64)
    hkey = np.full(256, -1, np.int64)
    hval = np.zeros(256, np.int64)
    zero = np.int64(0)
    _, n, P, Q, K, hkey, hval = _pair_id(zero + nb1 + 1, zero, zero, P, Q, K, hkey, hval, zero, max_states)
    d = 0
    while d < n:
        p = P[d]
        q = Q[d]
        for j in range(nj):
            p2 = ta[p, ja[j]] if p >= 0 else -1
            q2 = tb[q, jb[j]] if q >= 0 else -1
            if mode == 0:
                dead = p2 < 0 or q2 < 0
            elif mode == 1:
                dead = p2 < 0
            else:
                dead = p2 < 0 and q2 < 0
            if dead:
                continue
            found, n, P, Q, K, hkey, hval = _pair_id((p2 + 1) * nb1 + q2 + 1, p2, q2, P, Q, K, hkey, hval, n,
                                                     max_states)
            if found < 0:
                return 1, trans, np.zeros(n, np.bool_)
            if n * nj > trans.shape[0]:
                trans = _grow_i32(trans, 2 * n * nj)
            trans[d * nj + j] = found
        d += 1
    accept = np.zeros(n, np.bool_)
    for d in range(n):
        pa = P[d] >= 0 and aa[P[d]]
        qa = Q[d] >= 0 and ab[Q[d]]
        accept[d] = (pa and qa) if mode == 0 else (pa and not qa) if mode == 1 else (pa or qa)
    return 0, trans[:n * nj].copy(), accept


@njit(cache=True)
def _compose(tv, av, cv, dnext, dlen, dout, jrep, end_state, max_states):  # pragma: no cover - numba
    """Run a byte transducer (decoder) into a DFA: states are (decoder, value) pairs.

    Input symbols are the joint byte classes with representative bytes ``jrep``.
    ``dnext[d, b]`` is the decoder's next state (-1: invalid byte), emitting the
    ``dlen[d, b]`` bytes ``dout[d, b, :]`` (-1: the input byte itself) into the value
    DFA ``(tv, av, cv)``.  A pair accepts when the decoder is in ``end_state`` and the
    value DFA accepts.  Returns ``(status, trans, accept)`` as :func:`_product`.
    """
    nv = tv.shape[0]
    nj = jrep.shape[0]
    trans = np.full(64 * nj, -1, np.int32)
    D = np.zeros(64, np.int64)
    V = np.zeros(64, np.int64)
    K = np.zeros(64, np.int64)
    hkey = np.full(256, -1, np.int64)
    hval = np.zeros(256, np.int64)
    zero = np.int64(0)
    _, n, D, V, K, hkey, hval = _pair_id(zero, zero, zero, D, V, K, hkey, hval, zero, max_states)
    d = 0
    while d < n:
        ds = D[d]
        vs = V[d]
        for j in range(nj):
            b = jrep[j]
            d2 = dnext[ds, b]
            if d2 < 0:
                continue
            v2 = vs
            for i in range(dlen[ds, b]):
                o = dout[ds, b, i]
                v2 = tv[v2, cv[b if o < 0 else o]]
                if v2 < 0:
                    break
            if v2 < 0:
                continue
            d2 = np.int64(d2)
            found, n, D, V, K, hkey, hval = _pair_id(d2 * nv + v2, d2, v2, D, V, K, hkey, hval, n, max_states)
            if found < 0:
                return 1, trans, np.zeros(n, np.bool_)
            if n * nj > trans.shape[0]:
                trans = _grow_i32(trans, 2 * n * nj)
            trans[d * nj + j] = found
        d += 1
    accept = np.zeros(n, np.bool_)
    for d in range(n):
        accept[d] = D[d] == end_state and av[V[d]]
    return 0, trans[:n * nj].copy(), accept


# ---------------------------------------------------------------------------
# building DFAs


def _limit_error(name: str, max_states: int, what: str) -> CompileError:
    from .limits import LimitExceeded

    return LimitExceeded("max_dfa_states", max_states, f"{what} for {name} exceeds max_states={max_states} states "
                         f"(the language needs a larger automaton; simplify the pattern)")


def dfa_from_ast(node: Node, *, max_states: int = DEFAULT_MAX_STATES, name: str = "regex") -> ByteDFA:
    """Compile an anchor-free AST (see :mod:`structgen.regex_syntax`) to a :class:`ByteDFA`.

    Long counted repetitions of a prefix-free item (``(?:json char){0,500}``) are
    built directly by counting (:func:`_counted`), the rest by subset construction.
    Raises :class:`CompileError` when the NFA or the DFA would exceed the limits.
    """
    fast = _counted(node, max_states, name)
    if fast is not None:
        return fast
    return _subset_dfa(node, max_states, name)


# Repetitions with a bound above this are built by counting when their item allows it.
_COUNT_FROM = 16


def _is_long_repeat(node: Node) -> bool:
    return isinstance(node, Repeat) and max(node.lo, node.hi or 0) > _COUNT_FROM


def _counted(node: Node, max_states: int, name: str) -> ByteDFA | None:
    """The DFA of ``node`` when it is a long repetition of a prefix-free item, or a
    concatenation holding such repetitions whose parts join deterministically
    (:func:`_concat`); None otherwise (the caller falls back to subset construction)."""
    raw = _counted_raw(node, max_states, name)
    return None if raw is None else _finish(*raw)


_Raw = tuple  # (trans int32[n, k], accept bool[n], classmap int32[256]): start 0, maybe not minimal


def _counted_raw(node: Node, max_states: int, name: str) -> _Raw | None:
    """:func:`_counted` before minimization."""
    if isinstance(node, Repeat):
        if not _is_long_repeat(node):
            return None
        return _repeat_dfa(dfa_from_ast(node.item, max_states=max_states, name=name), node.lo, node.hi,
                           max_states, name)
    if not isinstance(node, Seq) or not any(_is_long_repeat(it) for it in node.items):
        return None
    parts: list[_Raw] = []
    run: list[Node] = []
    for it in node.items + (None,):
        if it is None or _is_long_repeat(it):
            if run:
                d = dfa_from_ast(run[0] if len(run) == 1 else Seq(tuple(run)), max_states=max_states, name=name)
                parts.append((d.trans, d.accept, d.classmap))
                run = []
            if it is not None:
                part = _counted_raw(it, max_states, name)
                if part is None:
                    return None
                parts.append(part)
        else:
            run.append(it)
    out = parts[0]
    for part in parts[1:]:
        out = _concat(out, part, max_states, name)
        if out is None:
            return None
    return out


def _repeat_dfa(item: ByteDFA, lo: int, hi: int | None, max_states: int, name: str) -> _Raw | None:
    """``item{lo,hi}`` by counting, when ``item`` is prefix-free (one accepting state,
    without transitions, not the start): state ``(k, q)`` is "``k`` items read, then
    item state ``q``".  None when ``item`` is not prefix-free.  Not trimmed: with a
    finite ``hi``, the states ``(hi, q)`` inside an item are dead."""
    acc = np.flatnonzero(item.accept)
    if len(acc) != 1 or acc[0] == 0 or (item.trans[acc[0]] >= 0).any():
        return None
    f = int(acc[0])
    n, c = item.trans.shape
    m = n - 1  # item states without the final one
    top = hi if hi is not None else lo  # counts 0..top
    if (top + 1) * m > max_states:
        raise _limit_error(name, max_states, "DFA")
    idx = np.arange(n, dtype=np.int64)
    idx[f + 1:] -= 1
    inner = np.delete(item.trans, f, axis=0).astype(np.int64)  # m x c
    k = np.arange(top + 1, dtype=np.int64)[:, None, None]
    nxt = k + 1 if hi is not None else np.minimum(k + 1, top)
    same = k * m + idx[np.maximum(inner, 0)][None]  # (k, t)
    done = np.where(nxt <= top, nxt * m, -1) + np.zeros_like(same)  # (k + 1, start)
    trans = np.where(inner[None] < 0, -1, np.where(inner[None] == f, done, same))
    accept = np.zeros((top + 1, m), dtype=np.bool_)
    accept[lo:, 0] = True
    if hi is not None:  # trim: no item may start at the top count
        trans[top, 0, :] = -1
    return trans.reshape((top + 1) * m, c).astype(np.int32), accept.reshape(-1), item.classmap.astype(np.int32)


def _concat(a: _Raw, b: _Raw, max_states: int, name: str) -> _Raw | None:
    """``a`` then ``b``, when no accepting state of ``a`` can read a byte that ``b``
    can start with (so the DFA knows where ``a`` ends); None otherwise.  Both must be
    trimmed (every transition leads to a state that can reach acceptance)."""
    a_trans, a_acc, a_cm = a
    b_trans, b_acc, b_cm = b
    nb_cls = b_trans.shape[1]
    pairs = a_cm.astype(np.int64) * nb_cls + b_cm
    joint, first, cm = np.unique(pairs, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # classes numbered by their first byte (canonical BFS)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    joint, cm = joint[order], rank[cm.reshape(-1)]
    ta = a_trans[:, joint // nb_cls]
    tb = b_trans[:, joint % nb_cls]
    b_first = tb[0] >= 0
    if (ta[a_acc] >= 0)[:, b_first].any():
        return None
    na = len(a_acc)
    if na + len(b_acc) > max_states:
        raise _limit_error(name, max_states, "DFA")
    jump = np.where(b_first, tb[0] + na, -1)
    top = np.where(a_acc[:, None] & (ta < 0), jump[None, :], ta)
    trans = np.concatenate([top, np.where(tb >= 0, tb + na, -1)]).astype(np.int32)
    accept = np.concatenate([a_acc & bool(b_acc[0]), b_acc])
    return trans, accept, cm.astype(np.int32)


def _subset_dfa(node: Node, max_states: int, name: str) -> ByteDFA:
    """Thompson NFA of ``node``, then subset construction and minimization."""
    nfa = _NFA(max(max_states, 1000) * _NFA_STATES_PER_DFA_STATE, name)
    try:
        final = nfa.emit(node, 0)
    except RecursionError:
        raise CompileError(f"regex {name} is nested too deeply") from None
    bs, bl, bh, bd, es, ed = nfa.arrays()
    status, trans, accept, classmap = _nfa_to_dfa(nfa.n, final, bs, bl, bh, bd, es, ed, max_states)
    if status:
        raise _limit_error(name, max_states, "DFA")
    return ByteDFA._trusted(trans, accept, classmap)


def _literal_dfa(text: str) -> ByteDFA:
    """The canonical DFA of one literal string, built directly (no NFA)."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 text contains it
        return _EMPTY
    # The chain is minimal and BFS-ordered already.  Canonical classes: one per
    # distinct byte, one for all other bytes, numbered by their first byte.
    distinct = sorted(set(data))
    first_dead = 0
    for b in distinct:  # valid UTF-8 never uses every byte
        if b != first_dead:
            break
        first_dead += 1
    table = bytearray([first_dead]) * 256  # bytes 0..first_dead-1 are classes 0.., then the dead class
    for i, b in enumerate(distinct):
        table[b] = i + (b > first_dead)
    classmap = np.frombuffer(bytes(table), dtype=np.uint8)
    n = len(data) + 1
    trans = np.full((n, len(distinct) + 1), -1, dtype=np.int32)
    trans[np.arange(n - 1), classmap[np.frombuffer(data, dtype=np.uint8)]] = np.arange(1, n, dtype=np.int32)
    accept = np.zeros(n, dtype=np.bool_)
    accept[-1] = True
    return ByteDFA._trusted(trans, accept, classmap.copy())


def _combine(a: ByteDFA, b: ByteDFA, mode: int, max_states: int, name: str) -> ByteDFA:
    key = a.classmap.astype(np.int64) * b.n_classes + b.classmap
    uniq, joint = np.unique(key, return_inverse=True)
    ja = (uniq // b.n_classes).astype(np.int32)
    jb = (uniq % b.n_classes).astype(np.int32)
    status, flat, accept = _product(a.trans, a.accept, b.trans, b.accept, ja, jb, mode, max_states)
    if status:
        raise _limit_error(name, max_states, "product DFA")
    return _finish(flat.reshape(len(accept), len(ja)), accept, joint.astype(np.int32))


def intersection(a: ByteDFA, b: ByteDFA, *, max_states: int = DEFAULT_MAX_STATES) -> ByteDFA:
    """DFA of ``L(a) ∩ L(b)``; raises :class:`CompileError` past ``max_states``."""
    return _combine(a, b, 0, max_states, "intersection")


def difference(a: ByteDFA, b: ByteDFA, *, max_states: int = DEFAULT_MAX_STATES) -> ByteDFA:
    """DFA of ``L(a) - L(b)``; raises :class:`CompileError` past ``max_states``."""
    return _combine(a, b, 1, max_states, "difference")


def union(a: ByteDFA, b: ByteDFA, *, max_states: int = DEFAULT_MAX_STATES) -> ByteDFA:
    """DFA of ``L(a) ∪ L(b)``; raises :class:`CompileError` past ``max_states``."""
    return _combine(a, b, 2, max_states, "union")


# JSON string decoder: reads the text of a JSON string literal, emits the UTF-8
# bytes of its decoded value as soon as they are determined.
_HEXVAL = {**{ord(c): int(c, 16) for c in "0123456789abcdef"}, **{ord(c): int(c, 16) for c in "ABCDEF"}}


@functools.lru_cache(maxsize=1)
def _json_decoder() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """``(dnext, dlen, dout, byte_class, END)`` of the JSON string decoder transducer."""
    names: dict[object, int] = {}

    def st(key: object) -> int:
        if key not in names:
            names[key] = len(names)
        return names[key]

    START, BETWEEN, END, ESC, U0, A0, B, D1 = (st(k) for k in ("start", "between", "end", "esc", "u0", "a0", "b", "d1"))
    rows: dict[int, dict[int, tuple[int, tuple[int, ...]]]] = {}

    def edge(d: int, byte: int, nxt: int, out: tuple[int, ...] = ()) -> None:
        rows.setdefault(d, {})[byte] = (nxt, out)

    def hexes(d: int, fn) -> None:
        for byte, v in _HEXVAL.items():
            got = fn(v)
            if got is not None:
                edge(d, byte, *got)

    edge(START, 0x22, BETWEEN)
    for byte in range(0x20, 256):
        if byte not in (0x22, 0x5C):
            edge(BETWEEN, byte, BETWEEN, (-1,))  # -1: the input byte itself
    edge(BETWEEN, 0x22, END)
    edge(BETWEEN, 0x5C, ESC)
    for ch, val in (('"', 0x22), ("\\", 0x5C), ("/", 0x2F), ("b", 8), ("f", 12), ("n", 10), ("r", 13), ("t", 9)):
        edge(ESC, ord(ch), BETWEEN, (val,))
    edge(ESC, ord("u"), U0)
    # first hex digit: 0 -> maybe 1/2/3 bytes; D -> maybe a surrogate; else 3 bytes
    hexes(U0, lambda h: (A0, ()) if h == 0 else (D1, ()) if h == 0xD else (B, (0xE0 | h,)))
    hexes(B, lambda h: (st(("b2", h)), ()))
    for h2 in range(16):
        hexes(st(("b2", h2)), lambda h3, h2=h2: (st(("b3", h3 & 3)), (0x80 | (h2 << 2) | (h3 >> 2),)))
    for x in range(4):
        hexes(st(("b3", x)), lambda h4, x=x: (BETWEEN, (0x80 | (x << 4) | h4,)))
    hexes(A0, lambda h2: (st(("b2", h2)), (0xE0,)) if h2 >= 8 else (st(("a1", h2)), ()))
    for h2 in range(8):
        hexes(st(("a1", h2)), lambda h3, h2=h2: (st(("a2", h3)), ()) if h2 == 0 and h3 < 8
              else (st(("b3", h3 & 3)), (0xC0 | (h2 << 2) | (h3 >> 2),)))
    for h3 in range(8):
        hexes(st(("a2", h3)), lambda h4, h3=h3: (BETWEEN, ((h3 << 4) | h4,)))
    hexes(D1, lambda h2: (st(("b2", h2)), (0xED,)) if h2 < 8 else (st(("h2", h2 - 8)), ()) if h2 < 0xC else None)
    # high surrogate D800 + (a<<8 | h3<<4 | h4): cp = 0x10000 + (hi10 << 10) + lo10
    for a in range(4):
        hexes(st(("h2", a)), lambda h3, a=a: (st(("h3", h3)), (0xF0 | (a + (1 if h3 >= 0xC else 0)),)))
    for h3 in range(16):
        hexes(st(("h3", h3)), lambda h4, h3=h3: (st(("l0", (((h3 << 4) | h4) + 0x40) & 3)),
                                                  (0x80 | (((((h3 << 4) | h4) + 0x40) & 0xFF) >> 2),)))
    for bits in range(4):
        edge(st(("l0", bits)), 0x5C, st(("l1", bits)))
        edge(st(("l1", bits)), ord("u"), st(("l2", bits)))
        edge(st(("l2", bits)), ord("d"), st(("l3", bits)))
        edge(st(("l2", bits)), ord("D"), st(("l3", bits)))
        hexes(st(("l3", bits)), lambda h2, bits=bits: (st(("l4", bits, h2 - 0xC)), ()) if h2 >= 0xC else None)
        for c in range(4):
            hexes(st(("l4", bits, c)),
                  lambda h3, bits=bits, c=c: (st(("b3", h3 & 3)), (0x80 | (bits << 4) | (c << 2) | (h3 >> 2),)))
    n = len(names)
    dnext = np.full((n, 256), -1, dtype=np.int32)
    dlen = np.zeros((n, 256), dtype=np.int32)
    dout = np.zeros((n, 256, 2), dtype=np.int32)
    for d, row in rows.items():
        for byte, (nxt, out) in row.items():
            dnext[d, byte] = nxt
            dlen[d, byte] = len(out)
            dout[d, byte, :len(out)] = out
    # bytes the decoder treats alike (same next states and outputs in every state)
    columns = np.concatenate([dnext, dlen, dout.reshape(n, -1)[:, 0::2], dout.reshape(n, -1)[:, 1::2]]).T
    _, dec_cls = np.unique(columns, axis=0, return_inverse=True)
    return dnext, dlen, dout, dec_cls.astype(np.int64).ravel(), END


def json_string_dfa(value: ByteDFA, *, max_states: int = DEFAULT_MAX_STATES, name: str = "json string") -> ByteDFA:
    """DFA of the JSON string literals (quotes included, any escape spelling) whose
    decoded value is in ``L(value)``.  Lone surrogate escapes never match."""
    dnext, dlen, dout, dec_cls, end = _json_decoder()
    uniq, joint = np.unique(dec_cls * value.n_classes + value.classmap, return_inverse=True)
    jrep = np.zeros(len(uniq), dtype=np.int64)
    jrep[joint] = np.arange(256)  # any member byte represents its joint class
    # The raw composition repeats the \uXXXX decoding states for every value state;
    # minimization merges most of them, so it may grow past the limit by a bounded factor.
    status, flat, accept = _compose(value.trans, value.accept, value.classmap.astype(np.int32), dnext, dlen, dout,
                                    jrep, end, _COMPOSE_SLACK * max_states)
    if status:
        raise _limit_error(name, max_states, "JSON-string DFA")
    dfa = _finish(flat.reshape(len(accept), len(uniq)), accept, joint.astype(np.int32))
    if dfa.n_states > max_states:
        raise _limit_error(name, max_states, "JSON-string DFA")
    return dfa


def compile_regex(pattern: str, *, dialect: str = "python", flags: str = "", search: bool = False,
                  max_states: int = DEFAULT_MAX_STATES) -> ByteDFA:
    """The :class:`ByteDFA` of a regular expression (see :mod:`structgen.regex_syntax`).

    Memoized.  Raises :class:`CompileError` for syntax errors, unsupported
    constructs (with fragment and offset) and when the DFA exceeds ``max_states``.
    """
    return compile_terminal(TerminalDef(pattern, False, dialect, flags, search), max_states=max_states)


@functools.lru_cache(maxsize=1024)
def compile_terminal(defn: TerminalDef, *, max_states: int = DEFAULT_MAX_STATES) -> ByteDFA:
    """The :class:`ByteDFA` of a terminal: pattern or literal, search mode,
    ``intersect``/``exclude`` members (products), ``json_string`` (the JSON string
    literals whose decoded value is in the rest of the definition; members are then
    value languages too).  Memoized on the (frozen, hashable) definition.

    Raises :class:`CompileError` for bad patterns, unknown dialects or flags, and
    automata past ``max_states``.
    """
    name = defn.describe()
    if defn.dialect not in ("python", "ecma"):
        raise CompileError(f"unknown regex dialect {defn.dialect!r} in terminal {name}")
    if defn.literal and not defn.search and "i" not in defn.flags:
        parse_flags(defn.flags, defn.dialect)  # validate the letters
        dfa = _literal_dfa(defn.pattern)
    else:
        dfa = dfa_from_ast(_base_ast(defn), max_states=max_states, name=name)
    members = defn.intersect + defn.exclude
    if defn.json_string:  # members describe decoded values too
        members = tuple(dataclasses.replace(m, json_string=False) for m in members)
    for member in members[:len(defn.intersect)]:
        dfa = _combine(dfa, compile_terminal(member, max_states=max_states), 0, max_states, name)
    excluded = members[len(defn.intersect):]
    plain = [m for m in excluded if not (m.intersect or m.exclude or m.json_string)]
    if len(plain) > 1:  # one automaton for the union of plain members (e.g. many property names)
        union_dfa = dfa_from_ast(alt([_base_ast(m) for m in plain]), max_states=max_states, name=name)
        dfa = _combine(dfa, union_dfa, 1, max_states, name)
        excluded = tuple(m for m in excluded if m not in plain)
    for member in excluded:
        dfa = _combine(dfa, compile_terminal(member, max_states=max_states), 1, max_states, name)
    if defn.json_string:
        dfa = json_string_dfa(dfa, max_states=max_states, name=name)
    return dfa


def _base_ast(defn: TerminalDef) -> Node:
    """The AST of a terminal's own pattern or literal (members not included)."""
    if defn.dialect not in ("python", "ecma"):
        raise CompileError(f"unknown regex dialect {defn.dialect!r} in terminal {defn.describe()}")
    if defn.literal:
        return literal_ast(defn.pattern, dialect=defn.dialect, flags=defn.flags, search=defn.search)
    return regex_ast(defn.pattern, dialect=defn.dialect, flags=defn.flags, search=defn.search)


_EMPTY = ByteDFA(np.full((1, 1), -1, dtype=np.int32), np.zeros(1, dtype=np.bool_), np.zeros(256, dtype=np.uint8))

__all__ = [
    "ByteDFA",
    "DEFAULT_MAX_STATES",
    "compile_regex",
    "compile_terminal",
    "dfa_from_ast",
    "difference",
    "intersection",
    "json_string_dfa",
    "union",
    "utf8_sequences",
]
