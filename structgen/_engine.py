"""numba kernels of the engine: lazy lexer DFA, Earley parser, trie walk.

Everything here is module-level ``@njit(cache=True, nogil=True)`` code over plain
numpy arrays, reached through pointer tables so signatures stay short.  The tables (``G`` the compiled grammar, ``L`` a grammar's lexer cache, ``T`` the
vocabulary's token tries, ``X`` slices and token bytes, ``E`` a matcher's Earley sets,
``S`` a thread's scratch) are laid out in one place, "table layout" below: each array
is named once there, and kernels reach it by that name (``_i32(gt, G.bs_term)``).
A lexer state is the set of base DFA states still alive (at most one per terminal,
sorted), interned into an id; state ``-1`` is dead.

Negative return codes below ``NEED_*`` ask the Python caller to grow a table and
call again; the kernels never leave committed state half-updated.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import carray, get_thread_id, njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

# Explicit signatures for the helpers that many call sites reach with different
# argument types (int32/int64 scalars, literal table indices): without them numba
# compiles one specialization per distinct argument type -- 28 of ``_i32``, three of
# ``_close_set`` -- which was most of a fresh install's first-mask time.
_P = types.int64[::1]  # a pointer table (see below)
_I = types.int64
_A32 = types.int32[::1]
_A64 = types.int64[::1]

DEAD = -1
UNKNOWN = -2
NEED_LEXER = -100  # lexer cache arrays are full
NEED_EARLEY = -200  # matcher's Earley arrays are full
NEED_SCRATCH = -300  # scratch hash table is full
LEXER_FROZEN = -400  # a transition must be computed but the cache may not grow now
OUT_OF_FUEL = -500  # the call did more parser work than the matcher's fuel (Limits.mask_fuel)
NO_SCAN = -3  # E.scan_from: set not known to come from a scan

FLAG_REAL = 1
FLAG_IGNORE = 2

# ------------------------------------------------------------------ table layout
#
# Every array a kernel reads is named once, here: one list per table of (name, type,
# meaning).  ``_layout`` turns a list into a namedtuple class that Python fills with
# the arrays (``GrammarArrays(item_next=..., ...)``) and an index (``G``) whose fields
# are the arrays' rows in the pointer table the kernels receive (``_i32(gt,
# G.bs_term)``).  Adding an array is one line here and one where Python builds it.
# The layout lives in this file so that editing it invalidates numba's cached
# machine code (the cache is keyed by this file), which bakes the rows in.

GRAMMAR_FIELDS = (  # G: the compiled grammar (immutable), built by structgen.compiler
    ("item_next", "int32[n_items]", "symbol after the dot, -1 if the item is complete"),
    ("item_lhs", "int32[n_items]", "left-hand side symbol of the item's rule"),
    ("pred_off", "int32[n_syms+1]", "prediction closure of each nonterminal ..."),
    ("pred_nts", "int32[...]", "... as the nonterminals it predicts (itself included)"),
    ("nullable", "uint8[n_syms]", "the symbol derives the empty string"),
    ("term_start", "int32[n_terms]", "base-DFA start state of each terminal"),
    ("ignore", "int32[n_ignore]", "ignored terminals (Lark `%ignore`)"),
    ("is_ignore", "uint8[n_terms]", "1 for an ignored terminal"),
    ("bs_term", "int32[n_base]", "terminal owning each base DFA state"),
    ("bs_accept", "uint8[n_base]", "the base state accepts"),
    ("bs_rowoff", "int32[n_base]", "row offset of each base state in bs_trans"),
    ("bs_trans", "int32[...]", "base transitions by byte class (-1 dead)"),
    ("term_cls", "uint8[n_terms*256]", "byte -> class, per terminal"),
    ("meta", "int64[4]", "n_terms, n_syms, accepting item, start symbol (GM_*)"),
    ("own_off", "int32[n_syms+1]", "items a prediction of each nonterminal adds ..."),
    ("own_items", "int32[...]", "... (dot 0, and past nullable prefixes)"),
)
LEXER_FIELDS = (  # L: the lexer cache of a grammar (structgen.compiler.LexerCache)
    ("trans", "int32[cap, 256]", "next lexer state, -1 dead, -2 not computed yet"),
    ("eoff", "int32[cap+1]", "elements of state s: elems[eoff[s]:eoff[s+1]]"),
    ("elems", "int32[...]", "base DFA states, at most one per terminal, sorted"),
    ("aoff", "int32[cap+1]", "accepting (non-ignored) terminals of s: acc[aoff[s]:aoff[s+1]]"),
    ("acc", "int32[...]", "terminal ids"),
    ("flags", "uint8[cap]", "bit 0: a non-ignored terminal accepts; bit 1: an ignored one does"),
    ("ht", "int32[hcap]", "open-addressing hash table of state ids"),
    ("meta", "int64[8]", "n_states, n_elems, n_acc, frozen (1: may not grow), statistics (LM_*)"),
    ("slice_ok", "int8[cap, n_slices]", "-1 unknown, 0/1: the state absorbs the slice"),
)
FOREST_FIELDS = (  # T: the vocabulary's token tries, one per slice and one for the rest
    ("node", "int64[N]", "packed: end (bits 0-31), byte (32-39), depth (40-55), has tokens (56)"),
    ("tok_off", "int32[N+1]", "token ids ending at node n: toks[tok_off[n]:tok_off[n+1]]"),
    ("toks", "int32[...]", "token ids"),
    ("rootkids", "int32[n_tries*256]", "node of each root child by byte, -1 if none"),
)
SLICE_FIELDS = (  # X: slices (vocabulary), the grammar's slice checks, token bytes
    ("roots", "int32[n_slices+2]", "trie i spans nodes [roots[i], roots[i+1])"),
    ("sl_trans", "int32[...]", "slice DFAs, 256 columns per state (-1 dead)"),
    ("sl_start", "int32[n_slices]", "start state of each slice DFA"),
    ("absorb", "int8[n_base*n_slices]", "cache: the base state stays alive on the whole slice"),
    ("tok_bytes_off", "int64[V+1]", "bytes of token t: tok_data[tok_bytes_off[t]:tok_bytes_off[t+1]]"),
    ("tok_data", "uint8[...]", "token bytes"),
    ("eos", "int32[...]", "EOS ids"),
    ("combo", "uint32[2**n_slices, n_words]", "union of the masks of each combination of slices (read-only)"),
)
EARLEY_FIELDS = (  # E: one matcher's Earley sets (sets above the committed count are scratch)
    ("item", "int32[icap]", "items of all sets"),
    ("orig", "int32[icap]", "origin set of each item"),
    ("off", "int32[scap+1]", "set k is item[off[k]:off[k+1]]"),
    ("lex", "int32[scap]", "lexer start state of set k (its allowed terminals)"),
    ("acc", "uint8[scap]", "set k contains the accepting item"),
    ("ver", "int32[scap]", "bumped whenever set k is rewritten"),
    ("scan_from", "int32[scap]", "set k was built by scanning this lexer state over set k-1 (NO_SCAN)"),
    ("pver", "int32[scap]", "... when set k-1 had this version: a scan with the same inputs reuses it"),
    ("ix_start", "int32[scap]", "completion index of set k (see _waiting): first pool entry"),
    ("ix_len", "int32[scap]", "... its length"),
    ("ix_ver", "int32[scap]", "... the set version it indexes"),
    ("ix_sym", "int32[icap]", "index pool: next symbol"),
    ("ix_pos", "int32[icap]", "index pool: item position"),
    ("ix_top", "int32[1]", "pool fill"),
    ("fuel", "int64[1]", "parser work one call may do (Limits.mask_fuel), in item additions"),
)
SCRATCH_FIELDS = (  # S: scratch of one thread
    ("hkey", "int64[hcap]", "generation-stamped hash set: keys"),
    ("hgen", "int32[hcap]", "... generations"),
    ("pstamp", "int32[n_syms]", "predicted-in-this-set stamps"),
    ("tflag", "uint8[n_terms]", "terminal flags"),
    ("buf", "int32[n_terms+1]", "lexer-state elements being built"),
    ("meta", "int64[5]", "Earley hash generation and count, slice-check generation and count, fuel left (SM_FUEL)"),
    ("st_ls", "int32[D]", "walk stack: lexer state per depth"),
    ("st_k", "int32[D]", "walk stack: top set per depth"),
    ("abs_stack", "int32[65536]", "slice checks: DFS stack"),
    ("abs_hkey", "int64[32768]", "slice checks: hash set keys"),
    ("abs_hgen", "int32[32768]", "slice checks: hash set generations"),
)

# the meta arrays' entries
GM_N_TERMS, GM_N_SYMS, GM_ACC_ITEM, GM_START = 0, 1, 2, 3  # G.meta
LM_N_STATES, LM_N_ELEMS, LM_N_ACC, LM_FROZEN = 0, 1, 2, 3  # L.meta
LM_N_TRANS = 4  # statistics: lexer transitions computed
LM_N_ABSORB = 5  # statistics: slice checks of base states computed
SM_FUEL = 4  # S.meta: item additions the running call may still make


def _layout(name: str, fields: tuple, base: int = 0):
    """(namedtuple class of the arrays, index of their rows from ``base``)."""
    names = [f[0] for f in fields]
    return namedtuple(name, names), namedtuple(name + "Rows", names)(*range(base, base + len(names)))


# The three pointer tables: gt (grammar) = G + L + T + X, mt (matcher) = E, st = S.
GrammarArrays, G = _layout("GrammarArrays", GRAMMAR_FIELDS)
LexerArrays, L = _layout("LexerArrays", LEXER_FIELDS, len(G))
ForestArrays, T = _layout("ForestArrays", FOREST_FIELDS, len(G) + len(L))
SliceArrays, X = _layout("SliceArrays", SLICE_FIELDS, len(G) + len(L) + len(T))
EarleyArrays, E = _layout("EarleyArrays", EARLEY_FIELDS)
ScratchArrays, S = _layout("ScratchArrays", SCRATCH_FIELDS)
TABLES = (("G", "grammar", GRAMMAR_FIELDS), ("L", "lexer cache", LEXER_FIELDS), ("T", "token tries", FOREST_FIELDS),
          ("X", "slices and token bytes", SLICE_FIELDS), ("E", "Earley sets", EARLEY_FIELDS),
          ("S", "thread scratch", SCRATCH_FIELDS))


def layout_markdown() -> str:
    """The tables as markdown (docs/architecture.md holds this text; a test compares)."""
    out = []
    for key, title, fields in TABLES:
        out.append(f"**{key}** ({title})\n\n| field | type | meaning |\n|---|---|---|")
        out += [f"| `{key}.{n}` | `{t}` | {d} |" for n, t, d in fields]
        out.append("")
    return "\n".join(out)


# ------------------------------------------------------------ pointer-table entries
#
# Python calls the kernels through the ``k_*`` entry points below, passing three
# int64 "pointer tables" instead of ~45 arrays: numba's dispatcher spends ~60-200 ns
# per array argument, which would dominate a ~10 µs mask.  A table row is
# (address, shape0, shape1) of one C-contiguous array; the owner keeps the arrays
# alive (see ``structgen.matcher``) and rebuilds the table when an array is replaced.
#
#   gt (grammar): G, L, T, X one after another      mt (matcher): E      st (scratch): S


@intrinsic
def _voidptr(typingctx, addr):
    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(types.int64), codegen


@njit((_P, _I), cache=True)
def _i32(t, i):
    return carray(_voidptr(t[3 * i]), (t[3 * i + 1],), np.int32)


@njit((_P, _I), cache=True)
def _i64(t, i):
    return carray(_voidptr(t[3 * i]), (t[3 * i + 1],), np.int64)


@njit((_P, _I), cache=True)
def _u8(t, i):
    return carray(_voidptr(t[3 * i]), (t[3 * i + 1],), np.uint8)


@njit((_P, _I), cache=True)
def _i8(t, i):
    return carray(_voidptr(t[3 * i]), (t[3 * i + 1],), np.int8)


@njit((_P, _I), cache=True)
def _i32_2d(t, i):
    return carray(_voidptr(t[3 * i]), (t[3 * i + 1], t[3 * i + 2]), np.int32)


@njit((_P, _I), cache=True)
def _i8_2d(t, i):
    return carray(_voidptr(t[3 * i]), (t[3 * i + 1], t[3 * i + 2]), np.int8)


@njit((_P, _I), cache=True)
def _u32_2d(t, i):
    return carray(_voidptr(t[3 * i]), (t[3 * i + 1], t[3 * i + 2]), np.uint32)


# --------------------------------------------------------------------------- lexer


@njit((_A32, _I), cache=True, nogil=True)
def _hash_elems(buf, n):
    h = np.uint64(1469598103934665603)
    for i in range(n):
        h = (h ^ np.uint64(buf[i])) * np.uint64(1099511628211)
    return h


@njit((_P, _P, _P, _I), cache=True, nogil=True)
def lexer_intern(gt, mt, st, n):
    """Id of the lexer state whose element set is ``buf[:n]`` (sorted), creating it.

    Returns ``NEED_LEXER`` when the cache is full, ``LEXER_FROZEN`` when it may not
    grow; ``-1`` for the empty set.
    """
    is_ignore = _u8(gt, G.is_ignore)
    bs_term = _i32(gt, G.bs_term)
    bs_accept = _u8(gt, G.bs_accept)
    trans = _i32_2d(gt, L.trans)
    eoff = _i32(gt, L.eoff)
    elems = _i32(gt, L.elems)
    aoff = _i32(gt, L.aoff)
    acc = _i32(gt, L.acc)
    flags = _u8(gt, L.flags)
    ht = _i32(gt, L.ht)
    meta = _i64(gt, L.meta)
    buf = _i32(st, S.buf)
    if n == 0:
        return DEAD
    mask = np.uint64(ht.shape[0] - 1)
    slot = _hash_elems(buf, n) & mask
    while True:
        sid = ht[slot]
        if sid < 0:
            break
        a = eoff[sid]
        if eoff[sid + 1] - a == n:
            same = True
            for i in range(n):
                if elems[a + i] != buf[i]:
                    same = False
                    break
            if same:
                return sid
        slot = (slot + np.uint64(1)) & mask
    if meta[LM_FROZEN] != 0:
        return LEXER_FROZEN
    ns = meta[LM_N_STATES]
    ne = meta[LM_N_ELEMS]
    na = meta[LM_N_ACC]
    if ns + 1 >= trans.shape[0] or ne + n > elems.shape[0] or na + n > acc.shape[0] or 2 * (ns + 1) > ht.shape[0]:
        return NEED_LEXER
    f = 0
    for i in range(n):
        s = buf[i]
        elems[ne + i] = s
        if bs_accept[s]:
            t = bs_term[s]
            if is_ignore[t]:
                f |= FLAG_IGNORE
            else:
                f |= FLAG_REAL
                acc[na] = t
                na += 1
    eoff[ns + 1] = ne + n
    aoff[ns + 1] = na
    flags[ns] = f
    ht[slot] = ns
    meta[LM_N_STATES] = ns + 1
    meta[LM_N_ELEMS] = ne + n
    meta[LM_N_ACC] = na
    return ns


@njit(cache=True, nogil=True)
def lexer_rehash(eoff, elems, ht, meta):
    """Rebuild the hash table ``L.ht`` (after the caller enlarged it)."""
    ht[:] = -1
    mask = np.uint64(ht.shape[0] - 1)
    for sid in range(meta[LM_N_STATES]):
        a = eoff[sid]
        slot = _hash_elems(elems[a:eoff[sid + 1]], eoff[sid + 1] - a) & mask
        while ht[slot] >= 0:
            slot = (slot + np.uint64(1)) & mask
        ht[slot] = sid


@njit((_P, _P, _P, _I, _I), cache=True, nogil=True)
def lexer_step(gt, mt, st, ls, b):
    """Lexer state after byte ``b`` from state ``ls`` (-1 dead, or a NEED code)."""
    bs_term = _i32(gt, G.bs_term)
    bs_rowoff = _i32(gt, G.bs_rowoff)
    bs_trans = _i32(gt, G.bs_trans)
    term_cls = _u8(gt, G.term_cls)
    trans = _i32_2d(gt, L.trans)
    eoff = _i32(gt, L.eoff)
    elems = _i32(gt, L.elems)
    buf = _i32(st, S.buf)
    if ls < 0:
        return DEAD
    t = trans[ls, b]
    if t != UNKNOWN:
        return t
    n = 0
    for e in range(eoff[ls], eoff[ls + 1]):
        s = elems[e]
        ns = bs_trans[bs_rowoff[s] + term_cls[bs_term[s] * 256 + b]]
        if ns >= 0:
            buf[n] = ns  # base states of distinct terminals stay sorted
            n += 1
    r = lexer_intern(gt, mt, st, n)
    if r >= DEAD:
        trans[ls, b] = r  # frozen (batched): an existing state, the same for every thread
        meta = _i64(gt, L.meta)
        if meta[LM_FROZEN] == 0:
            meta[LM_N_TRANS] += 1
    return r


# -------------------------------------------------------------------------- earley


@njit((_A64, _A32, _A64, _I), cache=True, nogil=True)
def _hs_insert(hkey, hgen, smeta, key):
    """Insert ``key`` in the scratch hash set; 1 if new, 0 if present, -1 if full."""
    gen = np.int32(smeta[0])
    mask = hkey.shape[0] - 1
    h = (np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(20)
    slot = np.int64(h & np.uint64(mask))
    probes = 0
    while hgen[slot] == gen:
        if hkey[slot] == key:
            return 0
        slot = (slot + 1) & mask
        probes += 1
        if probes > 64:
            return -1
    if smeta[1] * 2 >= hkey.shape[0]:
        return -1
    hgen[slot] = gen
    hkey[slot] = key
    smeta[1] += 1
    return 1


@njit((_A64, _A32, _A32), cache=True, nogil=True)
def _new_generation(smeta, hgen, pstamp):
    """Start a new set: empties the scratch hash set and the prediction stamps."""
    smeta[0] += 1
    smeta[1] = 0
    if smeta[0] >= 2147483000:
        hgen[:] = 0
        pstamp[:] = 0
        smeta[0] = 1


@njit((_A32, _A32, _A64, _A32, _A64, _I, _I, _I), cache=True, nogil=True)
def _add_item(e_item, e_orig, hkey, hgen, smeta, end, item, orig):
    """Append (item, orig) to the set being built if new. New end, or a NEED code
    (``OUT_OF_FUEL`` when the call has used up its fuel: every attempt costs one)."""
    smeta[SM_FUEL] -= 1
    if smeta[SM_FUEL] < 0:
        return OUT_OF_FUEL
    r = _hs_insert(hkey, hgen, smeta, (np.int64(item) << 32) | np.int64(orig))
    if r == 0:
        return end
    if r < 0:
        return NEED_SCRATCH
    if end >= e_item.shape[0]:
        return NEED_EARLEY
    e_item[end] = item
    e_orig[end] = orig
    return end + 1


INDEX_MIN_SET = 24  # sets at least this large get a completion index when used


@njit((_P, _P, _I, _I), cache=True, nogil=True)
def _waiting(gt, mt, o, a):
    """Positions (into the index pool) of set o's items waiting on nonterminal a.

    Completions look up the items of an origin set whose next symbol is the
    completed nonterminal; for large sets (expression grammars predict hundreds of
    items) a per-set index sorted by next symbol is built on first use and kept
    while the set is unchanged (``ver``).  Returns (lo, hi), or (-1, -1) when the
    set is small or the pool is full (then the caller scans the set).
    """
    e_item = _i32(mt, E.item)
    e_off = _i32(mt, E.off)
    ver = _i32(mt, E.ver)
    ix_start = _i32(mt, E.ix_start)
    ix_len = _i32(mt, E.ix_len)
    ix_ver = _i32(mt, E.ix_ver)
    ix_sym = _i32(mt, E.ix_sym)
    ix_pos = _i32(mt, E.ix_pos)
    ix_top = _i32(mt, E.ix_top)
    item_next = _i32(gt, G.item_next)
    _gmeta = _i64(gt, G.meta)
    size = e_off[o + 1] - e_off[o]
    if size < INDEX_MIN_SET:
        return -1, -1
    if ix_ver[o] != ver[o]:
        n_terms = _gmeta[GM_N_TERMS]
        top = ix_top[0]
        if top + size > ix_sym.shape[0]:
            if size > ix_sym.shape[0]:
                return -1, -1
            ix_ver[:] = -1  # pool full: drop every index, rebuild on demand
            top = 0
        n = 0
        for q in range(e_off[o], e_off[o + 1]):
            nx = item_next[e_item[q]]
            if nx >= n_terms:
                # insertion into the sorted run (sets are built once, looked up often)
                p = top + n
                while p > top and ix_sym[p - 1] > nx:
                    ix_sym[p] = ix_sym[p - 1]
                    ix_pos[p] = ix_pos[p - 1]
                    p -= 1
                ix_sym[p] = nx
                ix_pos[p] = q
                n += 1
        ix_start[o] = top
        ix_len[o] = n
        ix_ver[o] = ver[o]
        ix_top[0] = top + n
    start = ix_start[o]
    lo = start
    hi = start + ix_len[o]
    while lo < hi:  # lower bound of a
        mid = (lo + hi) >> 1
        if ix_sym[mid] < a:
            lo = mid + 1
        else:
            hi = mid
    first = lo
    hi = start + ix_len[o]
    while lo < hi and ix_sym[lo] == a:
        lo += 1
    return first, lo


@njit((_P, _P, _P, _I, _I), cache=True, nogil=True)
def _close_set(gt, mt, st, k1, end):
    """Complete and predict set ``k1`` whose kernel items are item[off[k1]:end].

    Computes the set's allowed-terminal lexer start state and accepting flag.
    Returns 0, or a NEED code.
    """
    _e_item = _i32(mt, E.item)
    _e_orig = _i32(mt, E.orig)
    _e_off = _i32(mt, E.off)
    _e_lex = _i32(mt, E.lex)
    _e_acc = _u8(mt, E.acc)
    ix_pos = _i32(mt, E.ix_pos)
    item_next = _i32(gt, G.item_next)
    item_lhs = _i32(gt, G.item_lhs)
    pred_off = _i32(gt, G.pred_off)
    pred_nts = _i32(gt, G.pred_nts)
    nullable = _u8(gt, G.nullable)
    term_start = _i32(gt, G.term_start)
    ignore = _i32(gt, G.ignore)
    _gmeta = _i64(gt, G.meta)
    own_off = _i32(gt, G.own_off)
    own_items = _i32(gt, G.own_items)
    _s_hkey = _i64(st, S.hkey)
    _s_hgen = _i32(st, S.hgen)
    _s_pstamp = _i32(st, S.pstamp)
    tflag = _u8(st, S.tflag)
    buf = _i32(st, S.buf)
    _s_meta = _i64(st, S.meta)
    hkey, hgen, smeta, pstamp = _s_hkey, _s_hgen, _s_meta, _s_pstamp
    e_item, e_orig = _e_item, _e_orig
    n_terms = _gmeta[GM_N_TERMS]
    acc_item = _gmeta[GM_ACC_ITEM]
    e_item, e_orig, e_off = _e_item, _e_orig, _e_off
    pstamp = _s_pstamp
    gen = np.int32(_s_meta[0])
    ptr = e_off[k1]
    accepting = 0
    while ptr < end:
        i = e_item[ptr]
        o = e_orig[ptr]
        ptr += 1
        nx = item_next[i]
        if nx < 0:
            if i == acc_item and o == 0:
                accepting = 1
            if o == k1:
                continue  # empty completion: handled by the nullable rule below
            a = item_lhs[i]
            r = _hs_insert(hkey, hgen, smeta, ~((np.int64(a) << 32) | np.int64(o)))
            if r < 0:
                return NEED_SCRATCH
            if r == 0:
                continue
            lo, hi = _waiting(gt, mt, o, a)
            if lo >= 0:  # indexed origin: only the items waiting on a
                for p in range(lo, hi):
                    q = ix_pos[p]
                    end = _add_item(e_item, e_orig, hkey, hgen, smeta, end, e_item[q] + 1, e_orig[q])
                    if end < 0:
                        return end
            else:
                for q in range(e_off[o], e_off[o + 1]):
                    j = e_item[q]
                    if item_next[j] == a:
                        end = _add_item(e_item, e_orig, hkey, hgen, smeta, end, j + 1, e_orig[q])
                        if end < 0:
                            return end
        elif nx >= n_terms:
            if pstamp[nx] != gen:
                for p in range(pred_off[nx], pred_off[nx + 1]):
                    y = pred_nts[p]
                    if pstamp[y] == gen:
                        continue
                    pstamp[y] = gen
                    for p2 in range(own_off[y], own_off[y + 1]):
                        end = _add_item(e_item, e_orig, hkey, hgen, smeta, end, own_items[p2], k1)
                        if end < 0:
                            return end
            if nullable[nx]:
                end = _add_item(e_item, e_orig, hkey, hgen, smeta, end, i + 1, o)
                if end < 0:
                    return end
    if k1 + 2 > e_off.shape[0]:
        return NEED_EARLEY
    e_off[k1 + 1] = end
    _e_acc[k1] = accepting
    # allowed terminals -> lexer start state
    n = 0
    for q in range(e_off[k1], end):
        nx = item_next[e_item[q]]
        if 0 <= nx < n_terms and tflag[nx] == 0:
            tflag[nx] = 1
            buf[n] = nx
            n += 1
    for q in range(ignore.shape[0]):
        t = ignore[q]
        if tflag[t] == 0:
            tflag[t] = 1
            buf[n] = t
            n += 1
    if n <= 16:  # sort the terminal ids: insertion sort, or a sweep of the flags
        for q in range(n):
            tflag[buf[q]] = 0
        for q in range(1, n):
            v = buf[q]
            r2 = q - 1
            while r2 >= 0 and buf[r2] > v:
                buf[r2 + 1] = buf[r2]
                r2 -= 1
            buf[r2 + 1] = v
    else:
        n = 0
        for t in range(n_terms):
            if tflag[t]:
                tflag[t] = 0
                buf[n] = t
                n += 1
    for q in range(n):  # start states are monotone in the terminal id
        buf[q] = term_start[buf[q]]
    ls = lexer_intern(gt, mt, st, n)
    if ls < DEAD:
        return ls
    _e_lex[k1] = ls
    return 0


@njit(cache=True, nogil=True)
def earley_init(gt, mt, st):
    """Build set 0 (prediction of the start symbol). Returns 0 or a NEED code."""
    e_item = _i32(mt, E.item)
    e_orig = _i32(mt, E.orig)
    _e_off = _i32(mt, E.off)
    _e_ver = _i32(mt, E.ver)
    _e_from = _i32(mt, E.scan_from)
    _gmeta = _i64(gt, G.meta)
    _own_off = _i32(gt, G.own_off)
    _own_items = _i32(gt, G.own_items)
    hkey = _i64(st, S.hkey)
    hgen = _i32(st, S.hgen)
    pstamp = _i32(st, S.pstamp)
    smeta = _i64(st, S.meta)
    start_sym = _gmeta[GM_START]
    _new_generation(smeta, hgen, pstamp)
    _e_off[0] = 0
    _e_ver[0] += 1
    _e_from[0] = NO_SCAN
    end = 0
    for p in range(_own_off[start_sym], _own_off[start_sym + 1]):
        end = _add_item(e_item, e_orig, hkey, hgen, smeta, end, _own_items[p], 0)
        if end < 0:
            return end
    return _close_set(gt, mt, st, 0, end)


@njit((_P, _P, _P, _I, _I), cache=True, nogil=True)
def earley_scan(gt, mt, st, k, ls):
    """Build set k+1 by scanning every non-ignored terminal that accepts in lexer
    state ``ls``.  Returns 0, 1 if the new set is empty, or a NEED code."""
    _e_item = _i32(mt, E.item)
    _e_orig = _i32(mt, E.orig)
    _e_off = _i32(mt, E.off)
    ver = _i32(mt, E.ver)
    efrom = _i32(mt, E.scan_from)
    pver = _i32(mt, E.pver)
    item_next = _i32(gt, G.item_next)
    _gmeta = _i64(gt, G.meta)
    aoff = _i32(gt, L.aoff)
    acc = _i32(gt, L.acc)
    hkey = _i64(st, S.hkey)
    hgen = _i32(st, S.hgen)
    pstamp = _i32(st, S.pstamp)
    tflag = _u8(st, S.tflag)
    smeta = _i64(st, S.meta)
    e_item, e_orig = _e_item, _e_orig
    n_terms = _gmeta[GM_N_TERMS]
    e_item, e_orig, e_off = _e_item, _e_orig, _e_off
    if k + 2 >= e_off.shape[0]:
        return NEED_EARLEY
    k1 = k + 1
    if efrom[k1] == ls and pver[k1] == ver[k]:
        return 0  # set k+1 already holds this very scan (same set k, same lexeme)
    ver[k1] += 1
    efrom[k1] = NO_SCAN
    for q in range(aoff[ls], aoff[ls + 1]):
        tflag[acc[q]] = 1
    _new_generation(smeta, hgen, pstamp)
    end = e_off[k1]
    for q in range(e_off[k], e_off[k1]):
        j = e_item[q]
        nx = item_next[j]
        if 0 <= nx < n_terms and tflag[nx]:
            end = _add_item(e_item, e_orig, hkey, hgen, smeta, end, j + 1, e_orig[q])
            if end < 0:
                break
    for q in range(aoff[ls], aoff[ls + 1]):
        tflag[acc[q]] = 0
    if end < 0:
        return end
    if end == e_off[k1]:
        return 1
    r = _close_set(gt, mt, st, k1, end)
    if r == 0:
        efrom[k1] = ls
        pver[k1] = ver[k]
    return r


# ------------------------------------------------------------------ byte stepping


@njit((_P, _P, _P, _I, _I, _I), cache=True, nogil=True)
def step_byte(gt, mt, st, k, ls, b):
    """One byte of text from (top set k, lexer state ls), maximal munch.

    Returns (code, k', ls'): code 0 ok, 1 dead, or a NEED code.
    """
    _e_lex = _i32(mt, E.lex)
    _lx_flags = _u8(gt, L.flags)
    nxt = lexer_step(gt, mt, st, ls, b)
    if nxt >= 0:
        return 0, k, nxt
    if nxt < DEAD:
        return nxt, k, ls
    # the lexeme cannot extend: it must end here
    f = _lx_flags[ls]
    if f & FLAG_REAL:
        r = earley_scan(gt, mt, st, k, ls)
        if r != 0:
            return r, k, ls
        k2 = k + 1
    elif f & FLAG_IGNORE:
        k2 = k
    else:
        return 1, k, ls
    nxt = lexer_step(gt, mt, st, _e_lex[k2], b)
    if nxt >= 0:
        return 0, k2, nxt
    if nxt < DEAD:
        return nxt, k, ls
    return 1, k, ls


@njit(cache=True, nogil=True)
def step_bytes(gt, mt, st, k, ls, data, start, stop):
    """Feed data[start:stop]; returns (code, k', ls') like :func:`step_byte`."""
    for p in range(start, stop):
        code, k, ls = step_byte(gt, mt, st, k, ls, data[p])
        if code != 0:
            return code, k, ls
    return 0, k, ls


@njit(cache=True, nogil=True)
def accepting(gt, mt, st, k, ls):
    """Can the text end here?  Returns 1/0 or a NEED code.  May write set k+1."""
    _e_lex = _i32(mt, E.lex)
    _e_acc = _u8(mt, E.acc)
    _lx_flags = _u8(gt, L.flags)
    if ls == _e_lex[k]:
        return np.int64(_e_acc[k])
    f = _lx_flags[ls]
    if f & FLAG_REAL:
        r = earley_scan(gt, mt, st, k, ls)
        if r < 0:
            return r
        if r == 0 and _e_acc[k + 1]:
            return 1
    if f & FLAG_IGNORE:
        return np.int64(_e_acc[k])
    return 0


# ----------------------------------------------------------------------- slices


@njit(cache=True, nogil=True)
def _ps_insert(hkey, hgen, smeta, key):
    """Generation-stamped hash set of pairs for the slice check (generation smeta[2])."""
    gen = np.int32(smeta[2])
    mask = hkey.shape[0] - 1
    h = (np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(20)
    slot = np.int64(h & np.uint64(mask))
    while hgen[slot] == gen:
        if hkey[slot] == key:
            return 0
        slot = (slot + 1) & mask
    if smeta[3] * 2 >= hkey.shape[0]:
        return -1
    hgen[slot] = gen
    hkey[slot] = key
    smeta[3] += 1
    return 1


@njit(cache=True, nogil=True)
def _base_absorbs(gt, mt, st, s, sl):
    """Does base state ``s`` stay alive on every string of slice ``sl``?

    A search over the product of the terminal's DFA and the slice's DFA (cached per
    base state in ``X[4]``).  Uses the scratch hash set (no Earley work is running).
    """
    bs_term = _i32(gt, G.bs_term)
    bs_rowoff = _i32(gt, G.bs_rowoff)
    bs_trans = _i32(gt, G.bs_trans)
    term_cls = _u8(gt, G.term_cls)
    smeta = _i64(st, S.meta)
    stack = _i32(st, S.abs_stack)
    hkey = _i64(st, S.abs_hkey)
    hgen = _i32(st, S.abs_hgen)
    _x_roots = _i32(gt, X.roots)
    sl_trans = _i32(gt, X.sl_trans)
    sl_start = _i32(gt, X.sl_start)
    cache = _i8(gt, X.absorb)
    n_sl = _x_roots.shape[0] - 2
    c = cache[s * n_sl + sl]
    if c >= 0:
        return c
    smeta[2] += 1
    smeta[3] = 0
    if smeta[2] >= 2147483000:
        hgen[:] = 0
        smeta[2] = 1
    q0 = sl_start[sl]
    stack[0] = s
    stack[1] = q0
    top = 2
    _ps_insert(hkey, hgen, smeta, (np.int64(s) << 32) | np.int64(q0))
    ok = 1
    while top > 0 and ok:
        top -= 2
        bs = stack[top]
        q = stack[top + 1]
        row = bs_rowoff[bs]
        tb = bs_term[bs] * 256
        for b in range(256):
            q2 = sl_trans[q * 256 + b]
            if q2 < 0:
                continue
            s2 = bs_trans[row + term_cls[tb + b]]
            if s2 < 0:
                ok = 0
                break
            r = _ps_insert(hkey, hgen, smeta, (np.int64(s2) << 32) | np.int64(q2))
            if r < 0:  # too many pairs for the scratch table: answer "no", uncached
                return 0
            if r == 1:
                if top + 2 > stack.shape[0]:
                    return 0
                stack[top] = s2
                stack[top + 1] = q2
                top += 2
    cache[s * n_sl + sl] = ok  # a fact about s: every thread would store the same
    meta = _i64(gt, L.meta)
    if meta[LM_FROZEN] == 0:
        meta[LM_N_ABSORB] += 1
    return ok


@njit(cache=True, nogil=True)
def _absorbs(gt, mt, st, ls, sl):
    """Does lexer state ``ls`` stay alive (without a lexeme boundary) on every string of
    slice ``sl``?  True when one of its terminals does (cached per state)."""
    eoff = _i32(gt, L.eoff)
    elems = _i32(gt, L.elems)
    _lx_meta = _i64(gt, L.meta)
    slice_ok = _i8_2d(gt, L.slice_ok)
    if ls < 0:
        return 0
    c = slice_ok[ls, sl]
    if c >= 0:
        return c
    ok = 0
    for e in range(eoff[ls], eoff[ls + 1]):
        if _base_absorbs(gt, mt, st, elems[e], sl):
            ok = 1
            break
    if _lx_meta[LM_FROZEN] == 0:
        slice_ok[ls, sl] = ok
    return ok


# ----------------------------------------------------------------------- the walk


@njit(cache=True, nogil=True)
def _walk(gt, mt, st, trie, k, ls, out):
    """DFS over trie number ``trie`` of the forest from (set k, lexer state ls).

    Node words (``T[0]``): bits 0-31 one past the subtree, 32-39 the byte, 40-55
    the depth, bit 56 "tokens end here" (then ``T[2][T[1][n]:T[1][n+1]]``).  The
    root's children are found through ``T[3]`` (256 entries per trie), so children
    whose byte is dead are never touched (they lie far apart in memory).
    """
    _e_off = _i32(mt, E.off)
    e_lex = _i32(mt, E.lex)
    e_ver = _i32(mt, E.ver)
    e_from = _i32(mt, E.scan_from)
    e_pver = _i32(mt, E.pver)
    trans = _i32_2d(gt, L.trans)
    flags = _u8(gt, L.flags)
    st_ls = _i32(st, S.st_ls)
    st_k = _i32(st, S.st_k)
    node = _i64(gt, T.node)
    t_off = _i32(gt, T.tok_off)
    t_toks = _i32(gt, T.toks)
    rootkids = _i32(gt, T.rootkids)
    n_sets_cap = _e_off.shape[0]
    st_ls[0] = ls
    st_k[0] = k
    root_dead_ok = ls >= 0 and flags[ls] == 0  # a dead byte at the root prunes at once
    for rb in range(256):
        n = rootkids[trie * 256 + rb]
        if n < 0 or (root_dead_ok and trans[ls, rb] == DEAD):
            continue
        hi = node[n] & 0xFFFFFFFF
        while n < hi:
            v = node[n]
            b = (v >> 32) & 0xFF
            d = (v >> 40) & 0xFFFF
            pls = st_ls[d - 1]
            pk = st_k[d - 1]
            nk = pk
            nxt = trans[pls, b] if pls >= 0 else DEAD
            if nxt == UNKNOWN:
                nxt = lexer_step(gt, mt, st, pls, b)
                if nxt < DEAD:
                    return nxt
            if nxt == DEAD:
                # the lexeme must end before this byte
                f = flags[pls] if pls >= 0 else 0
                if f & FLAG_REAL:
                    # the same lexeme end as a sibling or cousin met before: reuse its set
                    if not (pk + 2 < n_sets_cap and e_from[pk + 1] == pls and e_pver[pk + 1] == e_ver[pk]):
                        r = earley_scan(gt, mt, st, pk, pls)
                        if r < 0:
                            return r
                        if r != 0:
                            n = v & 0xFFFFFFFF
                            continue
                    nk = pk + 1
                elif f & FLAG_IGNORE:
                    nk = pk
                else:
                    n = v & 0xFFFFFFFF
                    continue
                start = e_lex[nk]
                nxt = trans[start, b] if start >= 0 else DEAD
                if nxt == UNKNOWN:
                    nxt = lexer_step(gt, mt, st, start, b)
                    if nxt < DEAD:
                        return nxt
                if nxt == DEAD:
                    n = v & 0xFFFFFFFF
                    continue
            st_ls[d] = nxt
            st_k[d] = nk
            if v >> 56:
                for q in range(t_off[n], t_off[n + 1]):
                    tok = t_toks[q]
                    out[tok >> 5] |= np.uint32(1) << np.uint32(tok & 31)
            n += 1
    return 0


@njit(cache=True, nogil=True)
def fill_mask(gt, mt, st, k, ls, out, check_eos):
    """Set in ``out`` (uint32 words) the bit of every token allowed after the state
    (top set k, lexer state ls): a DFS over the token trie carrying the lexer state
    down each path, pruning dead subtrees, pushing Earley sets where a lexeme ends
    inside a token.  The vocabulary is split into slices (``X``): a slice whose
    strings all keep the lexer alive is OR-ed in from its precomputed mask instead of
    walked.  EOS ids get their bit when the text may end here (if ``check_eos``).
    Returns 0 or a NEED code.
    """
    roots = _i32(gt, X.roots)
    eos = _i32(gt, X.eos)
    combo = _u32_2d(gt, X.combo)
    n_sl = roots.shape[0] - 2
    absorbed = 0
    for sl in range(n_sl):
        if _absorbs(gt, mt, st, ls, sl):
            absorbed |= 1 << sl
    out[:] = combo[absorbed]  # row 0 is all zeros
    for sl in range(n_sl + 1):
        if sl < n_sl and (absorbed >> sl) & 1:
            continue
        r = _walk(gt, mt, st, sl, k, ls, out)
        if r != 0:
            return r
    if check_eos:
        r = accepting(gt, mt, st, k, ls)
        if r < 0:
            return r
        if r == 1:
            for q in range(eos.shape[0]):
                tok = eos[q]
                out[tok >> 5] |= np.uint32(1) << np.uint32(tok & 31)
    return 0


@njit(cache=True, nogil=True)
def forced_bytes(gt, mt, st, k, ls, out):
    """Bytes every continuation must start with: follow the state while exactly one
    byte is possible and the text may not end.  Writes them to ``out`` and returns
    their count, or a NEED code.  Uses sets above k as scratch only.  Each byte has
    the matcher's fuel; when one runs out, the bytes found so far are the answer
    (jump-forward is an optimisation).
    """
    n = 0
    while n < out.shape[0]:
        _refuel(mt, st)
        r = accepting(gt, mt, st, k, ls)
        if r == OUT_OF_FUEL:
            return n
        if r < 0:
            return r
        if r == 1:
            break
        only = -1
        count = 0
        for b in range(256):
            code, k2, ls2 = step_byte(gt, mt, st, k, ls, b)
            if code == OUT_OF_FUEL:
                return n
            if code < 0:
                return code
            if code == 0:
                count += 1
                only = b
                if count > 1:
                    break
        if count != 1:
            break
        code, k, ls = step_byte(gt, mt, st, k, ls, only)
        if code == OUT_OF_FUEL:
            return n
        if code < 0:
            return code
        out[n] = only
        n += 1
    return n


@njit((_P, _P), cache=True, nogil=True)
def _refuel(mt, st):
    """Give the call about to run the matcher's fuel (``E.fuel``)."""
    _i64(st, S.meta)[SM_FUEL] = _i64(mt, E.fuel)[0]


# Entry points: each call (a mask, a token, a byte of consume_bytes, a query) starts
# with the matcher's full fuel, so that the budget bounds one step, not a generation.


@njit(cache=True, nogil=True)
def k_init(gt, mt, st):
    _refuel(mt, st)
    return earley_init(gt, mt, st)


@njit(cache=True, nogil=True)
def k_fill(gt, mt, st, k, ls, out, check_eos):
    """``out`` is the caller's int32 bitmask row."""
    _refuel(mt, st)
    return fill_mask(gt, mt, st, k, ls, out.view(np.uint32), check_eos)


@njit(cache=True, nogil=True)
def k_step_token(gt, mt, st, k, ls, token):
    """Feed one token's bytes.  (code, k', ls'); code 1 also for non-text ids."""
    tok_off = _i64(gt, X.tok_bytes_off)
    tok_data = _u8(gt, X.tok_data)
    if token < 0 or token + 1 >= tok_off.shape[0] or tok_off[token] == tok_off[token + 1]:  # not text
        return 1, k, ls
    _refuel(mt, st)
    return step_bytes(gt, mt, st, k, ls, tok_data, tok_off[token], tok_off[token + 1])


@njit(cache=True, nogil=True)
def k_step_bytes(gt, mt, st, k, ls, data):
    """Feed ``data``, each byte with the full fuel."""
    for p in range(data.shape[0]):
        _refuel(mt, st)
        code, k, ls = step_byte(gt, mt, st, k, ls, data[p])
        if code != 0:
            return code, k, ls
    return 0, k, ls


@njit(cache=True, nogil=True)
def k_step_byte(gt, mt, st, k, ls, b):
    _refuel(mt, st)
    return step_byte(gt, mt, st, k, ls, b)


@njit(cache=True, nogil=True)
def k_accepting(gt, mt, st, k, ls):
    _refuel(mt, st)
    return accepting(gt, mt, st, k, ls)


@njit(cache=True, nogil=True)
def k_forced(gt, mt, st, k, ls, out):
    return forced_bytes(gt, mt, st, k, ls, out)


@njit(cache=True, nogil=True, parallel=True)
def k_fill_batch(gt, mts, sts, ks, lss, out, status):
    """Fill many rows of one grammar in parallel (numba threads, GIL released).

    Row i uses matcher table ``mts[i]`` and the scratch of the worker thread running
    it (``sts[numba.get_thread_id()]``).  The caller freezes the lexer cache first, so
    no thread writes shared state; a row that needs a new lexer state reports
    ``LEXER_FROZEN`` in ``status`` and is redone serially.
    """
    for i in prange(ks.shape[0]):
        tid = get_thread_id()
        _refuel(mts[i], sts[tid])
        status[i] = fill_mask(gt, mts[i], sts[tid], ks[i], lss[i], out[i], True)


def kernels_cached() -> bool | None:
    """Whether numba's on-disk cache holds the kernels a first mask needs (``k_init``,
    ``k_fill`` and the DFA builder).  False in the first process after an install or an
    upgrade, which JIT-compiles them (about a minute on a 2-core machine; see
    ``benchmarks/first_process.py``); None when numba's cache cannot be read."""
    from . import dfa

    try:
        for fn in (k_init, k_fill, dfa._nfa_to_dfa):
            if not fn._cache._cache_file._load_index():  # empty when missing or stale
                return False
    except Exception:  # noqa: BLE001 - numba internals; the answer is only advice
        return None
    return True
