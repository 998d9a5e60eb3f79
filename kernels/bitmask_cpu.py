"""numba CPU kernels for token bitmasks: apply in place, fused masked log-softmax and argmax.

Layout (shared with XGrammar and llguidance): a bitmask row is an ``int32`` array of
``W`` words; token ``i`` is allowed when bit ``i % 32`` of word ``i // 32`` is set.
Tokens at or beyond ``32 * W`` (padded vocabulary) are never allowed.

The kernels see only plain numpy arrays; :mod:`structgen.bitmask` checks dtypes, shapes
and contiguity and raises ``ValueError`` before calling them.

* Apply works on the *bit pattern* of the logits: an ``int32`` view of float32 logits, an
  ``int16`` view of float16 / bfloat16 logits (numpy has no bfloat16).  A masked logit
  gets the pattern of ``-inf`` of its float type (``0xFF800000``, ``0xFC00``, ``0xFF80``)
  and every other logit keeps its bits exactly, so one kernel serves every float type.
* Bits are expanded 8 at a time through a 256-entry table (one ``uint64`` of eight
  0x00/0xFF bytes per byte value) into a small ``int8`` buffer, and the logits are then
  rewritten in one branch-free loop that LLVM vectorises (select through xor/and, which
  keeps it from turning into masked stores, which are slow on AMD).  Blocks whose words
  are all ones are skipped; blocks whose words are all zeros are filled.
* The parallel apply splits the work into (row, span of the vocabulary) tasks over
  ``prange``, so one long row still uses every core; small inputs take the serial one.
  The fused ops are parallel over rows only (one row is a few hundred microseconds of
  work at most; a second, serial compilation of them would cost more start-up than it
  saves).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

# Words per parallel task (32768 tokens: 128 KiB of float32 logits).
TASK_WORDS = 1024
# Words expanded at once into the int8 keep buffer (2048 tokens, stays in L1).
BLOCK_WORDS = 64

# _BYTE_LUT[b] holds eight bytes; byte j is 0xFF when bit j of b is set, else 0x00.
_BYTE_LUT = (
    np.where((np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1, -1, 0)
    .astype(np.int8)
    .view(np.uint64)
    .ravel()
    .copy()
)

_ALL_ONES = np.uint32(0xFFFFFFFF)


@njit(cache=True, nogil=True, boundscheck=False)
def _expand_block(words, w0, w1, keep):
    """Write one int8 per token of words ``[w0, w1)`` into ``keep``: -1 if allowed, 0 if not.

    Returns ``(all_ones, all_zero)`` for the block.  ``words`` must cover ``w1``.
    """
    k64 = keep.view(np.uint64)
    all_ones = True
    all_zero = True
    o = np.uint64(0)
    for w in range(w0, w1):
        m = np.uint32(words[w])
        all_ones &= m == _ALL_ONES
        all_zero &= m == np.uint32(0)
        k64[o] = _BYTE_LUT[m & np.uint32(255)]
        k64[o + np.uint64(1)] = _BYTE_LUT[(m >> np.uint32(8)) & np.uint32(255)]
        k64[o + np.uint64(2)] = _BYTE_LUT[(m >> np.uint32(16)) & np.uint32(255)]
        k64[o + np.uint64(3)] = _BYTE_LUT[m >> np.uint32(24)]
        o += np.uint64(4)
    return all_ones, all_zero


@njit(cache=True, nogil=True, boundscheck=False)
def _apply_span(row, words, w0, w1, neg_inf, keep):
    """Mask tokens ``[32*w0, min(32*w1, len(row)))`` of one row in place.

    ``row`` is the integer view of one logits row, ``words`` the bitmask row (any
    length: words past its end count as zero), ``neg_inf`` the -inf bit pattern of the
    row's float type, ``keep`` a scratch int8 buffer of ``32 * BLOCK_WORDS`` entries.
    """
    n_tokens = row.shape[0]
    full_end = min(w1, words.shape[0], n_tokens // 32)
    w = w0
    while w < full_end:
        wend = min(w + BLOCK_WORDS, full_end)
        all_ones, all_zero = _expand_block(words, w, wend, keep)
        base = np.uint64(w) * np.uint64(32)
        n = np.uint64(wend - w) * np.uint64(32)
        if all_zero:
            for j in range(n):
                row[base + j] = neg_inf
        elif not all_ones:
            for j in range(n):
                x = row[base + j]
                k = row.dtype.type(keep[j])
                row[base + j] = x ^ ((x ^ neg_inf) & ~k)
        w = wend
    # Partial last word, and words beyond the bitmask (padded vocabulary).
    n_words = words.shape[0]
    for i in range(32 * max(full_end, w0), min(32 * w1, n_tokens)):
        q = i >> 5
        if q >= n_words or ((words[q] >> (i & 31)) & 1) == 0:
            row[i] = neg_inf


@njit(cache=True, nogil=True, boundscheck=False)
def apply_bitmask_serial(logits, bitmask, rows, neg_inf):
    """Single-threaded :func:`apply_bitmask_parallel` (for small batches and vocabularies)."""
    n_words = (logits.shape[1] + 31) // 32
    keep = np.empty(32 * BLOCK_WORDS, dtype=np.int8)
    for k in range(rows.shape[0]):
        _apply_span(logits[rows[k]], bitmask[k], 0, n_words, neg_inf, keep)


@njit(parallel=True, cache=True, nogil=True, boundscheck=False)
def apply_bitmask_parallel(logits, bitmask, rows, neg_inf):
    """Mask ``logits`` in place: row ``rows[k]`` with bitmask row ``k``, for every ``k``.

    ``logits``: ``(R, V)`` int16/int32 view of float logits, last axis contiguous;
    ``bitmask``: ``(len(rows), W)`` int32; ``rows``: int64 logits row per bitmask row;
    ``neg_inf``: -inf bit pattern of the logits' float type, typed like ``logits``.
    Token ``i`` of row ``rows[k]`` becomes ``neg_inf`` unless ``i < 32*W`` and bit
    ``i % 32`` of ``bitmask[k, i // 32]`` is set.  Raises nothing (inputs are checked by
    the caller).
    """
    n_words = (logits.shape[1] + 31) // 32
    per_row = (n_words + TASK_WORDS - 1) // TASK_WORDS
    for t in prange(rows.shape[0] * per_row):
        k = t // per_row
        c = t - k * per_row
        keep = np.empty(32 * BLOCK_WORDS, dtype=np.int8)
        w0 = c * TASK_WORDS
        _apply_span(logits[rows[k]], bitmask[k], w0, min(w0 + TASK_WORDS, n_words), neg_inf, keep)


# ----------------------------------------------------------------------------------------
# Fused ops on float32 logits.


@intrinsic
def _int32_bits_as_float32(typingctx, x):
    """Reinterpret the bits of an int32 as a float32 (free; keeps loops vectorisable)."""
    if x != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float32))

    return types.float32(types.int32), codegen


@intrinsic
def _float32_bits(typingctx, x):
    """Reinterpret the bits of a float32 as an int32."""
    if x != types.float32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int32))

    return types.int32(types.float32), codegen


_F32_NEG_INF = np.float32(-np.inf)
_F32_NEG_INF_BITS = np.int32(-8388608)  # 0xFF800000
_I32_MIN = np.int32(-(2**31))
_I32_LOW31 = np.int32(0x7FFFFFFF)
_EXP_LO = np.float32(-87.0)  # exp(-87) ~ 1.6e-38, still a normal float32
_LOG2E = np.float32(1.4426950408889634)
_LN2_HI = np.float32(0.693359375)
_LN2_LO = np.float32(-2.12194440e-4)
_P0 = np.float32(1.9875691500e-4)
_P1 = np.float32(1.3981999507e-3)
_P2 = np.float32(8.3334519073e-3)
_P3 = np.float32(4.1665795894e-2)
_P4 = np.float32(1.6666665459e-1)
_P5 = np.float32(5.0000001201e-1)
_HALF = np.float32(0.5)
_ONE = np.float32(1.0)


@njit(cache=True, nogil=True, fastmath={"contract"})
def _exp_nonpositive(x):
    """``exp(x)`` for float32 ``x <= 0`` (Cephes expf: Cody-Waite reduction, degree-6
    polynomial, exponent built from bits), within 1e-7 relative; inputs below -87 give
    ``exp(-87)`` (callers only add such terms to a sum that is at least 1).  Written with
    plain arithmetic so that loops calling it vectorise (numba has no vector libm here)."""
    x = max(x, _EXP_LO)
    n = np.float32(np.floor(x * _LOG2E + _HALF))
    r = x - n * _LN2_HI - n * _LN2_LO
    p = ((((_P0 * r + _P1) * r + _P2) * r + _P3) * r + _P4) * r + _P5
    p = p * r * r + r + _ONE
    return p * _int32_bits_as_float32(np.int32((np.int32(n) + np.int32(127)) << np.int32(23)))


@njit(cache=True, nogil=True)
def _order_key(bits):
    """Map float32 bits to an int32 that orders like the float (an involution)."""
    return np.int32(bits ^ ((bits >> np.int32(31)) & _I32_LOW31))


@njit(cache=True, nogil=True, boundscheck=False)
def _expand_row(words, n_tokens, keep):
    """Fill ``keep[:n_tokens]`` with -1 (allowed) or 0 (masked) for one bitmask row."""
    n_words = words.shape[0]
    full = min(n_words, n_tokens // 32)
    _expand_block(words, 0, full, keep)
    for i in range(32 * full, n_tokens):
        q = i >> 5
        keep[i] = -1 if q < n_words and ((words[q] >> (i & 31)) & 1) != 0 else 0


@njit(cache=True, nogil=True, boundscheck=False)
def _masked_max(x, keep, masked):
    """Largest ``x[i]`` over allowed tokens (all tokens when not ``masked``); -inf if none.

    Reduces over integer order keys: an integer max vectorises where a float one needs
    fast-math flags numba cannot put on a select.
    """
    m = _I32_MIN
    if masked:
        for i in range(x.shape[0]):
            k = np.int32(keep[i])
            key = np.int32((_order_key(_float32_bits(x[i])) & k) | (_I32_MIN & ~k))
            m = key if key > m else m
    else:
        for i in range(x.shape[0]):
            key = _order_key(_float32_bits(x[i]))
            m = key if key > m else m
    if m == _I32_MIN:
        return _F32_NEG_INF
    return _int32_bits_as_float32(_order_key(m))


@njit(cache=True, nogil=True, boundscheck=False, fastmath={"reassoc", "contract", "nsz"})
def _sum_exp(x, keep, masked, m, inv_t):
    """``sum(exp((x[i] - m) * inv_t))`` over allowed tokens; ``m`` is their (finite) max."""
    s = np.float32(0.0)
    if masked:
        mb = _float32_bits(m)
        for i in range(x.shape[0]):
            k = np.int32(keep[i])
            v = _int32_bits_as_float32(np.int32((_float32_bits(x[i]) & k) | (mb & ~k)))
            e = _exp_nonpositive((v - m) * inv_t)
            s += _int32_bits_as_float32(np.int32(_float32_bits(e) & k))
    else:
        for i in range(x.shape[0]):
            s += _exp_nonpositive((x[i] - m) * inv_t)
    return s


@njit(cache=True, nogil=True, boundscheck=False)
def _log_softmax_row(x, out, words, masked, inv_t, keep):
    """One row of :func:`masked_log_softmax_parallel`; ``keep`` is scratch of >= len(x)
    (rounded up to 32) int8 entries."""
    n_tokens = x.shape[0]
    if masked:
        _expand_row(words, n_tokens, keep)
    m = _masked_max(x, keep, masked)
    if m == _F32_NEG_INF:
        for i in range(n_tokens):
            out[i] = _F32_NEG_INF
        return
    lse = np.float32(np.log(_sum_exp(x, keep, masked, m, inv_t)))
    if masked:
        for i in range(n_tokens):
            k = np.int32(keep[i])
            y = _float32_bits((x[i] - m) * inv_t - lse)
            out[i] = _int32_bits_as_float32(np.int32((y & k) | (_F32_NEG_INF_BITS & ~k)))
    else:
        for i in range(n_tokens):
            out[i] = (x[i] - m) * inv_t - lse


@njit(cache=True, nogil=True, boundscheck=False)
def _argmax_row(x, words, masked, keep):
    """One row of :func:`masked_argmax_parallel`."""
    n_tokens = x.shape[0]
    if masked:
        _expand_row(words, n_tokens, keep)
    m = _masked_max(x, keep, masked)
    for i in range(n_tokens):
        if x[i] == m and (not masked or keep[i] != 0):
            return i
    return -1


@njit(parallel=True, cache=True, nogil=True, boundscheck=False)
def masked_log_softmax_parallel(src, dst, bitmask, mask_rows, inv_temp):
    """``dst[r] = log_softmax(where(allowed, src[r], -inf) * inv_temp[r])`` for every row.

    ``src``, ``dst``: float32 ``(R, V)``, last axis contiguous (``dst`` may be ``src``);
    ``bitmask``: int32 ``(n, W)``; ``mask_rows[r]``: the bitmask row of logits row ``r``,
    or -1 when the row is not masked; ``inv_temp``: float32 ``(R,)``, positive.  A row
    whose allowed tokens all have logit -inf (or that allows none) becomes all -inf, not
    NaN.  Parallel over rows.
    """
    n_keep = 32 * ((src.shape[1] + 31) // 32)
    for r in prange(src.shape[0]):
        keep = np.empty(n_keep, dtype=np.int8)
        k = mask_rows[r]
        _log_softmax_row(src[r], dst[r], bitmask[max(k, 0)], k >= 0, inv_temp[r], keep)


@njit(parallel=True, cache=True, nogil=True, boundscheck=False)
def masked_argmax_parallel(src, bitmask, mask_rows, out):
    """``out[r]`` = the allowed token of ``src[r]`` with the largest logit (smallest index
    among ties), or -1 when row ``r`` allows no token.

    ``src``: float32 ``(R, V)``, last axis contiguous; ``bitmask``, ``mask_rows`` as in
    :func:`masked_log_softmax_parallel`; ``out``: int64 ``(R,)``.  Parallel over rows.
    """
    n_keep = 32 * ((src.shape[1] + 31) // 32)
    for r in prange(src.shape[0]):
        keep = np.empty(n_keep, dtype=np.int8)
        k = mask_rows[r]
        out[r] = _argmax_row(src[r], bitmask[max(k, 0)], k >= 0, keep)
