"""numba kernels of the engine: lazy lexer DFA, Earley parser, trie walk.

Everything here is module-level ``@njit(cache=True, nogil=True)`` code over plain
numpy arrays, grouped into tuples so signatures stay readable:

``G`` — the compiled grammar (immutable):
    0  item_next   int32[n_items]   symbol after the dot, -1 if the item is complete
    1  item_lhs    int32[n_items]   left-hand side symbol of the item's rule
    2  pred_off    int32[n_syms+1]  prediction closure of each nonterminal ...
    3  pred_items  int32[...]       ... as item ids to add with origin = current set
    4  nullable    uint8[n_syms]
    5  term_start  int32[n_terms]   base-DFA start state of each terminal
    6  ignore      int32[n_ignore]  ignored terminals (Lark ``%ignore``)
    7  is_ignore   uint8[n_terms]
    8  bs_term     int32[n_base]    terminal owning each base DFA state
    9  bs_accept   uint8[n_base]
    10 bs_rowoff   int32[n_base]    row offset of each base state in bs_trans
    11 bs_trans    int32[...]       base transitions by byte class (-1 dead)
    12 term_cls    uint8[n_terms*256]  byte -> class, per terminal
    13 meta        int64[4]         n_terms, n_syms, accepting item, start symbol

``L`` — the lexer cache (shared by every matcher of a grammar, grown lazily).  A
lexer state is the set of base DFA states still alive (at most one per terminal,
sorted), interned into an id.  State ``-1`` is dead.
    0  trans    int32[cap, 256]  next lexer state, -1 dead, -2 not computed yet
    1  eoff     int32[cap+1]     elements of state s: elems[eoff[s]:eoff[s+1]]
    2  elems    int32[...]
    3  aoff     int32[cap+1]     accepting (non-ignored) terminals of s
    4  acc      int32[...]
    5  flags    uint8[cap]       bit 0: a non-ignored terminal accepts;
                                 bit 1: an ignored terminal accepts
    6  ht       int32[hcap]      open-addressing hash table of state ids
    7  meta     int64[4]         n_states, n_elems, n_acc, frozen (1: may not grow)
    8  slice_ok int8[cap, n_slices]  -1 unknown, 0/1: state absorbs the slice

``E`` — one matcher's Earley sets (sets above the committed count are scratch):
    0  item  int32[icap]   1 orig int32[icap]
    2  off   int32[scap+1] set k is item[off[k]:off[k+1]]
    3  lex   int32[scap]   lexer start state of set k (its allowed terminals)
    4  acc   uint8[scap]   set k contains the accepting item
    5  ver   int32[scap]   bumped whenever scratch set k is rewritten (walk memo)

``S`` — scratch of one thread:
    0  hkey  int64[hcap]  1 hgen int32[hcap]  (generation-stamped hash set)
    2  pstamp int32[n_syms]  3 tflag uint8[n_terms]  4 buf int32[n_terms+1]
    5  meta  int64[2] (generation counter)
    6  st_ls int32[D]  7 st_k int32[D]  8 memo_start int32[D]  9 memo_k int32[D]
    10 memo_ver int32[D]

Negative return codes below ``NEED_*`` ask the Python caller to grow a table and
call again; the kernels never leave committed state half-updated.
"""

from __future__ import annotations

import numpy as np
from numba import njit

DEAD = -1
UNKNOWN = -2
NEED_LEXER = -100  # lexer cache arrays are full
NEED_EARLEY = -200  # matcher's Earley arrays are full
NEED_SCRATCH = -300  # scratch hash table is full
LEXER_FROZEN = -400  # a transition must be computed but the cache may not grow now

FLAG_REAL = 1
FLAG_IGNORE = 2

_M_N_STATES = 0
_M_N_ELEMS = 1
_M_N_ACC = 2
_M_FROZEN = 3


# --------------------------------------------------------------------------- lexer


@njit(cache=True, nogil=True)
def _hash_elems(buf, n):
    h = np.uint64(1469598103934665603)
    for i in range(n):
        h = (h ^ np.uint64(buf[i])) * np.uint64(1099511628211)
    return h


@njit(cache=True, nogil=True)
def lexer_intern(G, L, buf, n):
    """Id of the lexer state whose element set is ``buf[:n]`` (sorted), creating it.

    Returns ``NEED_LEXER`` when the cache is full, ``LEXER_FROZEN`` when it may not
    grow; ``-1`` for the empty set.
    """
    if n == 0:
        return DEAD
    trans, eoff, elems, aoff, acc, flags, ht, meta = L[0], L[1], L[2], L[3], L[4], L[5], L[6], L[7]
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
    if meta[_M_FROZEN] != 0:
        return LEXER_FROZEN
    ns = meta[_M_N_STATES]
    ne = meta[_M_N_ELEMS]
    na = meta[_M_N_ACC]
    if ns + 1 >= trans.shape[0] or ne + n > elems.shape[0] or na + n > acc.shape[0] or 2 * (ns + 1) > ht.shape[0]:
        return NEED_LEXER
    bs_term, bs_accept, is_ignore = G[8], G[9], G[7]
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
    meta[_M_N_STATES] = ns + 1
    meta[_M_N_ELEMS] = ne + n
    meta[_M_N_ACC] = na
    return ns


@njit(cache=True, nogil=True)
def lexer_rehash(L):
    """Rebuild the hash table ``L[6]`` (after the caller enlarged it)."""
    eoff, elems, ht, meta = L[1], L[2], L[6], L[7]
    ht[:] = -1
    mask = np.uint64(ht.shape[0] - 1)
    for sid in range(meta[_M_N_STATES]):
        a = eoff[sid]
        slot = _hash_elems(elems[a:eoff[sid + 1]], eoff[sid + 1] - a) & mask
        while ht[slot] >= 0:
            slot = (slot + np.uint64(1)) & mask
        ht[slot] = sid


@njit(cache=True, nogil=True)
def lexer_step(G, L, S, ls, b):
    """Lexer state after byte ``b`` from state ``ls`` (-1 dead, or a NEED code)."""
    if ls < 0:
        return DEAD
    trans = L[0]
    t = trans[ls, b]
    if t != UNKNOWN:
        return t
    eoff, elems = L[1], L[2]
    bs_term, bs_rowoff, bs_trans, term_cls = G[8], G[10], G[11], G[12]
    buf = S[4]
    n = 0
    for e in range(eoff[ls], eoff[ls + 1]):
        s = elems[e]
        ns = bs_trans[bs_rowoff[s] + term_cls[bs_term[s] * 256 + b]]
        if ns >= 0:
            buf[n] = ns  # base states of distinct terminals stay sorted
            n += 1
    r = lexer_intern(G, L, buf, n)
    if r >= DEAD:
        trans[ls, b] = r
    return r


# -------------------------------------------------------------------------- earley


@njit(cache=True, nogil=True)
def _hs_insert(S, key):
    """Insert ``key`` in the scratch hash set; 1 if new, 0 if present, -1 if full."""
    hkey, hgen, smeta = S[0], S[1], S[5]
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


@njit(cache=True, nogil=True)
def _new_generation(S):
    smeta = S[5]
    smeta[0] += 1
    smeta[1] = 0
    if smeta[0] >= 2147483000:
        S[1][:] = 0
        S[2][:] = 0
        smeta[0] = 1


@njit(cache=True, nogil=True)
def _add_item(E, S, end, item, orig):
    """Append (item, orig) to the set being built if new. New end, or a NEED code."""
    r = _hs_insert(S, (np.int64(item) << 32) | np.int64(orig))
    if r == 0:
        return end
    if r < 0:
        return NEED_SCRATCH
    e_item = E[0]
    if end >= e_item.shape[0]:
        return NEED_EARLEY
    e_item[end] = item
    E[1][end] = orig
    return end + 1


@njit(cache=True, nogil=True)
def _close_set(G, L, E, S, k1, end):
    """Complete and predict set ``k1`` whose kernel items are item[off[k1]:end].

    Computes the set's allowed-terminal lexer start state and accepting flag.
    Returns 0, or a NEED code.
    """
    item_next, item_lhs, pred_off, pred_items, nullable = G[0], G[1], G[2], G[3], G[4]
    n_terms = G[13][0]
    acc_item = G[13][2]
    e_item, e_orig, e_off = E[0], E[1], E[2]
    pstamp = S[2]
    gen = np.int32(S[5][0])
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
            r = _hs_insert(S, ~((np.int64(a) << 32) | np.int64(o)))
            if r < 0:
                return NEED_SCRATCH
            if r == 0:
                continue
            for q in range(e_off[o], e_off[o + 1]):
                j = e_item[q]
                if item_next[j] == a:
                    end = _add_item(E, S, end, j + 1, e_orig[q])
                    if end < 0:
                        return end
        elif nx >= n_terms:
            if pstamp[nx] != gen:
                pstamp[nx] = gen
                for p in range(pred_off[nx], pred_off[nx + 1]):
                    end = _add_item(E, S, end, pred_items[p], k1)
                    if end < 0:
                        return end
            if nullable[nx]:
                end = _add_item(E, S, end, i + 1, o)
                if end < 0:
                    return end
    if k1 + 2 > e_off.shape[0]:
        return NEED_EARLEY
    e_off[k1 + 1] = end
    E[4][k1] = accepting
    # allowed terminals -> lexer start state
    tflag, buf = S[3], S[4]
    term_start, ignore = G[5], G[6]
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
    for q in range(n):
        tflag[buf[q]] = 0
    # insertion sort of terminal ids, then map to (monotone) start states
    for q in range(1, n):
        v = buf[q]
        r2 = q - 1
        while r2 >= 0 and buf[r2] > v:
            buf[r2 + 1] = buf[r2]
            r2 -= 1
        buf[r2 + 1] = v
    for q in range(n):
        buf[q] = term_start[buf[q]]
    ls = lexer_intern(G, L, buf, n)
    if ls < DEAD:
        return ls
    E[3][k1] = ls
    return 0


@njit(cache=True, nogil=True)
def earley_init(G, L, E, S):
    """Build set 0 (prediction of the start symbol). Returns 0 or a NEED code."""
    pred_off, pred_items = G[2], G[3]
    start_sym = G[13][3]
    _new_generation(S)
    E[2][0] = 0
    end = 0
    for p in range(pred_off[start_sym], pred_off[start_sym + 1]):
        end = _add_item(E, S, end, pred_items[p], 0)
        if end < 0:
            return end
    return _close_set(G, L, E, S, 0, end)


@njit(cache=True, nogil=True)
def earley_scan(G, L, E, S, k, ls):
    """Build set k+1 by scanning every non-ignored terminal that accepts in lexer
    state ``ls``.  Returns 0, 1 if the new set is empty, or a NEED code."""
    aoff, acc = L[3], L[4]
    item_next = G[0]
    n_terms = G[13][0]
    tflag = S[3]
    e_item, e_orig, e_off = E[0], E[1], E[2]
    if k + 2 >= e_off.shape[0]:
        return NEED_EARLEY
    for q in range(aoff[ls], aoff[ls + 1]):
        tflag[acc[q]] = 1
    _new_generation(S)
    k1 = k + 1
    end = e_off[k1]
    for q in range(e_off[k], e_off[k1]):
        j = e_item[q]
        nx = item_next[j]
        if 0 <= nx < n_terms and tflag[nx]:
            end = _add_item(E, S, end, j + 1, e_orig[q])
            if end < 0:
                break
    for q in range(aoff[ls], aoff[ls + 1]):
        tflag[acc[q]] = 0
    if end < 0:
        return end
    if end == e_off[k1]:
        return 1
    return _close_set(G, L, E, S, k1, end)


# ------------------------------------------------------------------ byte stepping


@njit(cache=True, nogil=True)
def step_byte(G, L, E, S, k, ls, b):
    """One byte of text from (top set k, lexer state ls), maximal munch.

    Returns (code, k', ls'): code 0 ok, 1 dead, or a NEED code.
    """
    nxt = lexer_step(G, L, S, ls, b)
    if nxt >= 0:
        return 0, k, nxt
    if nxt < DEAD:
        return nxt, k, ls
    # the lexeme cannot extend: it must end here
    f = L[5][ls]
    if f & FLAG_REAL:
        r = earley_scan(G, L, E, S, k, ls)
        if r != 0:
            return r, k, ls
        k2 = k + 1
    elif f & FLAG_IGNORE:
        k2 = k
    else:
        return 1, k, ls
    nxt = lexer_step(G, L, S, E[3][k2], b)
    if nxt >= 0:
        return 0, k2, nxt
    if nxt < DEAD:
        return nxt, k, ls
    return 1, k, ls


@njit(cache=True, nogil=True)
def step_bytes(G, L, E, S, k, ls, data, start, stop):
    """Feed data[start:stop]; returns (code, k', ls') like :func:`step_byte`."""
    for p in range(start, stop):
        code, k, ls = step_byte(G, L, E, S, k, ls, data[p])
        if code != 0:
            return code, k, ls
    return 0, k, ls


@njit(cache=True, nogil=True)
def accepting(G, L, E, S, k, ls):
    """Can the text end here?  Returns 1/0 or a NEED code.  May write set k+1."""
    if ls == E[3][k]:
        return np.int64(E[4][k])
    f = L[5][ls]
    if f & FLAG_REAL:
        r = earley_scan(G, L, E, S, k, ls)
        if r < 0:
            return r
        if r == 0 and E[4][k + 1]:
            return 1
    if f & FLAG_IGNORE:
        return np.int64(E[4][k])
    return 0


# ----------------------------------------------------------------------- the walk


@njit(cache=True, nogil=True)
def fill_mask(G, L, E, S, T, k, ls, out, eos, check_eos):
    """Set in ``out`` (uint32 words) the bit of every token allowed after the state
    (top set k, lexer state ls): a DFS over the token trie ``T`` carrying the lexer
    state down each path, pruning dead subtrees.  EOS ids get their bit when the
    text may end here (if ``check_eos``).  Returns 0 or a NEED code.
    """
    t_byte, t_end, t_depth, t_off, t_toks = T[0], T[1], T[2], T[3], T[4]
    st_ls, st_k, memo_start, memo_k, memo_ver = S[6], S[7], S[8], S[9], S[10]
    set_ver = E[5]
    e_lex = E[3]
    flags = L[5]
    out[:] = 0
    st_ls[0] = ls
    st_k[0] = k
    memo_start[0] = UNKNOWN
    n_nodes = t_byte.shape[0]
    n = 1
    while n < n_nodes:
        d = t_depth[n]
        b = t_byte[n]
        pls = st_ls[d - 1]
        pk = st_k[d - 1]
        nk = pk
        nxt = lexer_step(G, L, S, pls, b)
        if nxt < DEAD:
            return nxt
        if nxt == DEAD:
            ms = memo_start[d - 1]
            if ms != UNKNOWN and ms >= 0 and set_ver[memo_k[d - 1]] != memo_ver[d - 1]:
                ms = UNKNOWN
            if ms == UNKNOWN:
                f = flags[pls]
                if f & FLAG_REAL:
                    r = earley_scan(G, L, E, S, pk, pls)
                    if r < 0:
                        return r
                    if r == 0:
                        mk = pk + 1
                        set_ver[mk] += 1
                        ms = e_lex[mk]
                    else:
                        mk = pk
                        ms = DEAD
                elif f & FLAG_IGNORE:
                    mk = pk
                    ms = e_lex[pk]
                else:
                    mk = pk
                    ms = DEAD
                memo_start[d - 1] = ms
                memo_k[d - 1] = mk
                memo_ver[d - 1] = set_ver[mk]
            if ms < 0:
                n = t_end[n]
                continue
            nk = memo_k[d - 1]
            nxt = lexer_step(G, L, S, ms, b)
            if nxt < DEAD:
                return nxt
            if nxt == DEAD:
                n = t_end[n]
                continue
        st_ls[d] = nxt
        st_k[d] = nk
        memo_start[d] = UNKNOWN
        for q in range(t_off[n], t_off[n + 1]):
            tok = t_toks[q]
            out[tok >> 5] |= np.uint32(1) << np.uint32(tok & 31)
        n += 1
    if check_eos:
        r = accepting(G, L, E, S, k, ls)
        if r < 0:
            return r
        if r == 1:
            for q in range(eos.shape[0]):
                tok = eos[q]
                out[tok >> 5] |= np.uint32(1) << np.uint32(tok & 31)
    return 0


@njit(cache=True, nogil=True)
def forced_bytes(G, L, E, S, k, ls, out):
    """Bytes every continuation must start with: follow the state while exactly one
    byte is possible and the text may not end.  Writes them to ``out`` and returns
    their count, or a NEED code.  Uses sets above k as scratch only.
    """
    n = 0
    while n < out.shape[0]:
        r = accepting(G, L, E, S, k, ls)
        if r < 0:
            return r
        if r == 1:
            break
        only = -1
        count = 0
        for b in range(256):
            code, k2, ls2 = step_byte(G, L, E, S, k, ls, b)
            if code < 0:
                return code
            if code == 0:
                count += 1
                only = b
                if count > 1:
                    break
        if count != 1:
            break
        code, k, ls = step_byte(G, L, E, S, k, ls, only)
        if code < 0:
            return code
        out[n] = only
        n += 1
    return n
