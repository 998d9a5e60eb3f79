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
    5  ver   int32[scap]   bumped whenever set k is rewritten
    6  from  int32[scap]   set k was built by scanning lexer state from[k] over set
    7  pver  int32[scap]   k-1 when set k-1 had version pver[k]; a scan with the same
                           inputs reuses it (the walk meets the same lexeme end often)

``S`` — scratch of one thread:
    0  hkey  int64[hcap]  1 hgen int32[hcap]  (generation-stamped hash set)
    2  pstamp int32[n_syms]  3 tflag uint8[n_terms]  4 buf int32[n_terms+1]
    5  meta  int64[4] (Earley hash generation and count, slice-check generation and count)
    6  st_ls int32[D]  7 st_k int32[D]  (walk stack: lexer state, top set per depth)
    8-10 unused
    11 abs_stack int32, 12 abs_hkey int64, 13 abs_hgen int32 (slice checks; S[5][2:4])

``T`` — the vocabulary's token tries, one after another (a forest): one trie per
slice and one for the remaining tokens, each starting with its root node:
    0 node int64[N]  packed: end (bits 0-31), byte (32-39), depth (40-55), has tokens (56)
    1 tok_off int32[N+1]  2 toks int32  (token ids ending at each node)
    3 rootkids int32[n_tries*256]  node of each root child by byte, -1 if none

``X`` — slices and token bytes (vocabulary + grammar):
    0 roots int32[n_slices+2]   trie i spans nodes [roots[i], roots[i+1])
    1 masks uint32[n_slices, n_words]  tokens of each slice
    2 sl_trans int32[...]       slice DFAs, 256 columns per state (-1 dead)
    3 sl_start int32[n_slices]
    4 absorb int8[n_base*n_slices]  cache: base state stays alive on the whole slice
    5 tok_off int64[V+1]  6 tok_data uint8[...]  token bytes
    7 eos int32[...]

Negative return codes below ``NEED_*`` ask the Python caller to grow a table and
call again; the kernels never leave committed state half-updated.
"""

from __future__ import annotations

import numpy as np
from numba import carray, njit, types
from numba.core import cgutils
from numba.extending import intrinsic

DEAD = -1
UNKNOWN = -2
NEED_LEXER = -100  # lexer cache arrays are full
NEED_EARLEY = -200  # matcher's Earley arrays are full
NEED_SCRATCH = -300  # scratch hash table is full
LEXER_FROZEN = -400  # a transition must be computed but the cache may not grow now
NO_SCAN = -3  # E[6]: set not known to come from a scan

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
    E[5][0] += 1
    E[6][0] = NO_SCAN
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
    ver, efrom, pver = E[5], E[6], E[7]
    if k + 2 >= e_off.shape[0]:
        return NEED_EARLEY
    k1 = k + 1
    if efrom[k1] == ls and pver[k1] == ver[k]:
        return 0  # set k+1 already holds this very scan (same set k, same lexeme)
    ver[k1] += 1
    efrom[k1] = NO_SCAN
    for q in range(aoff[ls], aoff[ls + 1]):
        tflag[acc[q]] = 1
    _new_generation(S)
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
    r = _close_set(G, L, E, S, k1, end)
    if r == 0:
        efrom[k1] = ls
        pver[k1] = ver[k]
    return r


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
def _base_absorbs(G, L, S, X, s, sl):
    """Does base state ``s`` stay alive on every string of slice ``sl``?

    A search over the product of the terminal's DFA and the slice's DFA (cached per
    base state in ``X[4]``).  Uses the scratch hash set (no Earley work is running).
    """
    cache = X[4]
    n_sl = X[0].shape[0] - 2
    c = cache[s * n_sl + sl]
    if c >= 0:
        return c
    sl_trans, sl_start = X[2], X[3]
    bs_term, bs_rowoff, bs_trans, term_cls = G[8], G[10], G[11], G[12]
    stack, hkey, hgen, smeta = S[11], S[12], S[13], S[5]
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
    cache[s * n_sl + sl] = ok
    return ok


@njit(cache=True, nogil=True)
def _absorbs(G, L, S, X, ls, sl):
    """Does lexer state ``ls`` stay alive (without a lexeme boundary) on every string of
    slice ``sl``?  True when one of its terminals does (cached per state)."""
    if ls < 0:
        return 0
    slice_ok = L[8]
    c = slice_ok[ls, sl]
    if c >= 0:
        return c
    eoff, elems = L[1], L[2]
    ok = 0
    for e in range(eoff[ls], eoff[ls + 1]):
        if _base_absorbs(G, L, S, X, elems[e], sl):
            ok = 1
            break
    if L[7][_M_FROZEN] == 0:
        slice_ok[ls, sl] = ok
    return ok


# ----------------------------------------------------------------------- the walk


@njit(cache=True, nogil=True)
def _walk(G, L, E, S, T, trie, k, ls, out):
    """DFS over trie number ``trie`` of the forest from (set k, lexer state ls).

    Node words (``T[0]``): bits 0-31 one past the subtree, 32-39 the byte, 40-55
    the depth, bit 56 "tokens end here" (then ``T[2][T[1][n]:T[1][n+1]]``).  The
    root's children are found through ``T[3]`` (256 entries per trie), so children
    whose byte is dead are never touched (they lie far apart in memory).
    """
    node, t_off, t_toks, rootkids = T[0], T[1], T[2], T[3]
    st_ls, st_k = S[6], S[7]
    e_lex, e_ver, e_from, e_pver = E[3], E[5], E[6], E[7]
    n_sets_cap = E[2].shape[0]
    flags = L[5]
    trans = L[0]
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
                nxt = lexer_step(G, L, S, pls, b)
                if nxt < DEAD:
                    return nxt
            if nxt == DEAD:
                # the lexeme must end before this byte
                f = flags[pls] if pls >= 0 else 0
                if f & FLAG_REAL:
                    # the same lexeme end as a sibling or cousin met before: reuse its set
                    if not (pk + 2 < n_sets_cap and e_from[pk + 1] == pls and e_pver[pk + 1] == e_ver[pk]):
                        r = earley_scan(G, L, E, S, pk, pls)
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
                    nxt = lexer_step(G, L, S, start, b)
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
def fill_mask(G, L, E, S, T, X, k, ls, out, check_eos):
    """Set in ``out`` (uint32 words) the bit of every token allowed after the state
    (top set k, lexer state ls): a DFS over the token trie carrying the lexer state
    down each path, pruning dead subtrees, pushing Earley sets where a lexeme ends
    inside a token.  The vocabulary is split into slices (``X``): a slice whose
    strings all keep the lexer alive is OR-ed in from its precomputed mask instead of
    walked.  EOS ids get their bit when the text may end here (if ``check_eos``).
    Returns 0 or a NEED code.
    """
    roots, masks, eos = X[0], X[1], X[7]
    n_sl = roots.shape[0] - 2
    out[:] = 0
    for sl in range(n_sl + 1):
        if sl < n_sl and _absorbs(G, L, S, X, ls, sl):
            m = masks[sl]
            for w in range(out.shape[0]):
                out[w] |= m[w]
            continue
        r = _walk(G, L, E, S, T, sl, k, ls, out)
        if r != 0:
            return r
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


# ------------------------------------------------------------ pointer-table entries
#
# Python calls the kernels through the ``k_*`` entry points below, passing three
# int64 "pointer tables" instead of ~45 arrays: numba's dispatcher spends ~60-200 ns
# per array argument, which would dominate a ~10 µs mask.  A table row is
# (address, shape0, shape1) of one C-contiguous array; the owner keeps the arrays
# alive (see ``structgen.matcher``) and rebuilds the table when an array is replaced.
#
#   gt (grammar): G[0:14] L[14:23] T[23:27] X[27:35]      mt (matcher): E[0:8]
#   st (thread scratch): S[0:14]


@intrinsic
def _voidptr(typingctx, addr):
    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(types.int64), codegen


@njit(cache=True, inline="always")
def _i32(t, i):
    return carray(_voidptr(t[3 * i]), (t[3 * i + 1],), np.int32)


@njit(cache=True, inline="always")
def _i64(t, i):
    return carray(_voidptr(t[3 * i]), (t[3 * i + 1],), np.int64)


@njit(cache=True, inline="always")
def _u8(t, i):
    return carray(_voidptr(t[3 * i]), (t[3 * i + 1],), np.uint8)


@njit(cache=True, inline="always")
def _i8(t, i):
    return carray(_voidptr(t[3 * i]), (t[3 * i + 1],), np.int8)


@njit(cache=True, inline="always")
def _i32_2d(t, i):
    return carray(_voidptr(t[3 * i]), (t[3 * i + 1], t[3 * i + 2]), np.int32)


@njit(cache=True, inline="always")
def _i8_2d(t, i):
    return carray(_voidptr(t[3 * i]), (t[3 * i + 1], t[3 * i + 2]), np.int8)


@njit(cache=True, inline="always")
def _u32_2d(t, i):
    return carray(_voidptr(t[3 * i]), (t[3 * i + 1], t[3 * i + 2]), np.uint32)


@njit(cache=True, inline="always")
def _unpack(gt, mt, st):
    G = (_i32(gt, 0), _i32(gt, 1), _i32(gt, 2), _i32(gt, 3), _u8(gt, 4), _i32(gt, 5), _i32(gt, 6),
         _u8(gt, 7), _i32(gt, 8), _u8(gt, 9), _i32(gt, 10), _i32(gt, 11), _u8(gt, 12), _i64(gt, 13))
    L = (_i32_2d(gt, 14), _i32(gt, 15), _i32(gt, 16), _i32(gt, 17), _i32(gt, 18), _u8(gt, 19),
         _i32(gt, 20), _i64(gt, 21), _i8_2d(gt, 22))
    T = (_i64(gt, 23), _i32(gt, 24), _i32(gt, 25), _i32(gt, 26))
    X = (_i32(gt, 27), _u32_2d(gt, 28), _i32(gt, 29), _i32(gt, 30), _i8(gt, 31), _i64(gt, 32), _u8(gt, 33),
         _i32(gt, 34))
    E = (_i32(mt, 0), _i32(mt, 1), _i32(mt, 2), _i32(mt, 3), _u8(mt, 4), _i32(mt, 5), _i32(mt, 6), _i32(mt, 7))
    S = (_i64(st, 0), _i32(st, 1), _i32(st, 2), _u8(st, 3), _i32(st, 4), _i64(st, 5), _i32(st, 6),
         _i32(st, 7), _i32(st, 8), _i32(st, 9), _i32(st, 10), _i32(st, 11), _i64(st, 12), _i32(st, 13))
    return G, L, T, X, E, S


@njit(cache=True, nogil=True)
def k_init(gt, mt, st):
    G, L, T, X, E, S = _unpack(gt, mt, st)
    return earley_init(G, L, E, S)


@njit(cache=True, nogil=True)
def k_fill(gt, mt, st, k, ls, out, check_eos):
    """``out`` is the caller's int32 bitmask row."""
    G, L, T, X, E, S = _unpack(gt, mt, st)
    return fill_mask(G, L, E, S, T, X, k, ls, out.view(np.uint32), check_eos)


@njit(cache=True, nogil=True)
def k_step_token(gt, mt, st, k, ls, token):
    """Feed one token's bytes.  (code, k', ls'); code 1 also for non-text ids."""
    G, L, T, X, E, S = _unpack(gt, mt, st)
    tok_off, tok_data = X[5], X[6]
    if token < 0 or token + 1 >= tok_off.shape[0] or tok_off[token] == tok_off[token + 1]:  # not text
        return 1, k, ls
    return step_bytes(G, L, E, S, k, ls, tok_data, tok_off[token], tok_off[token + 1])


@njit(cache=True, nogil=True)
def k_step_bytes(gt, mt, st, k, ls, data):
    G, L, T, X, E, S = _unpack(gt, mt, st)
    return step_bytes(G, L, E, S, k, ls, data, 0, data.shape[0])


@njit(cache=True, nogil=True)
def k_step_byte(gt, mt, st, k, ls, b):
    G, L, T, X, E, S = _unpack(gt, mt, st)
    return step_byte(G, L, E, S, k, ls, b)


@njit(cache=True, nogil=True)
def k_accepting(gt, mt, st, k, ls):
    G, L, T, X, E, S = _unpack(gt, mt, st)
    return accepting(G, L, E, S, k, ls)


@njit(cache=True, nogil=True)
def k_forced(gt, mt, st, k, ls, out):
    G, L, T, X, E, S = _unpack(gt, mt, st)
    return forced_bytes(G, L, E, S, k, ls, out)
