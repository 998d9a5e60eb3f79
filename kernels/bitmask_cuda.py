"""numba-cuda kernels for token bitmasks: apply in place, fused masked log-softmax and argmax.

Importing this module imports :mod:`numba.cuda`; :mod:`structgen.bitmask` imports it only
when the ``"cuda"`` backend is asked for, so ``import structgen`` never initialises CUDA.  Under ``NUMBA_ENABLE_CUDASIM=1`` (set before the first import of
``numba.cuda``) the same kernels run in numba's CUDA simulator; the test suite does this
in a subprocess.

Semantics are those of :mod:`structgen.kernels.bitmask_cpu`: bit ``i % 32`` of word
``i // 32`` set means token ``i`` allowed; tokens at or beyond ``32 * W`` are masked.
The apply kernel writes the -inf *bit pattern* into an integer view of the logits
(``int32`` for float32, ``int16`` for float16 / bfloat16), so one kernel serves every
float type and bfloat16 needs no device support.  Torch tensors are used in place
through ``__cuda_array_interface__`` and kernels run on torch's current stream.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from typing import Any, Iterator

import numpy as np
from numba import cuda
from numba import float32 as nb_float32
from numba import int32 as nb_int32

try:
    from numba.cuda.core.errors import NumbaPerformanceWarning as _PerformanceWarning
except ImportError:  # older numba-cuda shares numba's warning classes
    from numba.core.errors import NumbaPerformanceWarning as _PerformanceWarning

# Apply: a block of ``apply_threads`` threads covers apply_threads * APPLY_ITEMS tokens
# of one row; grid y walks the rows (grid-stride beyond MAX_GRID_Y).  The kernel works
# for any block size; tests under the slow simulator lower ``apply_threads``.
apply_threads = 256
APPLY_ITEMS = 4
MAX_GRID_Y = 65535
# Fused ops: one block per row (grid-stride beyond MAX_GRID_X), 8 bytes of dynamic shared
# memory per thread.  The kernels work for any power-of-two block size; launches use
# ``row_threads`` (tests under the slow simulator lower it).
row_threads = 256
MAX_GRID_X = 65535


@cuda.jit(cache=True)
def _apply_kernel(logits, bitmask, rows, neg_inf):
    """Token ``i`` of logits row ``rows[k]`` becomes ``neg_inf`` unless bit ``i % 32`` of
    ``bitmask[k, i // 32]`` is set (words past the bitmask's end count as zero)."""
    n_tokens = logits.shape[1]
    n_words = bitmask.shape[1]
    n_threads = cuda.blockDim.x
    start = cuda.blockIdx.x * (n_threads * APPLY_ITEMS) + cuda.threadIdx.x
    for k in range(cuda.blockIdx.y, rows.shape[0], cuda.gridDim.y):
        r = rows[k]
        for it in range(APPLY_ITEMS):
            i = start + it * n_threads
            if i < n_tokens:
                w = i >> 5
                if w >= n_words or ((bitmask[k, w] >> (i & 31)) & 1) == 0:
                    logits[r, i] = neg_inf


@cuda.jit(device=True, cache=True)
def _is_allowed(bitmask, k, n_words, i):
    """Whether token ``i`` is allowed by bitmask row ``k`` (every token when ``k < 0``)."""
    if k < 0:
        return True
    w = i >> 5
    return w < n_words and ((bitmask[k, w] >> (i & 31)) & 1) != 0


@cuda.jit(cache=True)
def _log_softmax_kernel(src, dst, bitmask, mask_rows, inv_temp):
    """``dst[r] = log_softmax(where(allowed, src[r], -inf) * inv_temp[r])``; a row with no
    allowed token of finite logit becomes all -inf.  One block per row: each thread keeps
    an online (max, sum of exp) over its tokens, the block merges them in shared memory,
    then writes the row."""
    shared = cuda.shared.array(0, nb_float32)  # [max per thread | sum per thread]
    tid = cuda.threadIdx.x
    n_threads = cuda.blockDim.x
    n_tokens = src.shape[1]
    n_words = bitmask.shape[1]
    neg_inf = np.float32(-math.inf)
    for r in range(cuda.blockIdx.x, src.shape[0], cuda.gridDim.x):
        k = mask_rows[r]
        t = inv_temp[r]
        m = neg_inf
        s = np.float32(0.0)
        for i in range(tid, n_tokens, n_threads):
            if _is_allowed(bitmask, k, n_words, i):
                x = np.float32(src[r, i] * t)
                if x > m:
                    s = np.float32(s * math.exp(m - x) + np.float32(1.0))
                    m = x
                elif x > neg_inf:
                    s = np.float32(s + math.exp(x - m))
        shared[tid] = m
        shared[n_threads + tid] = s
        cuda.syncthreads()
        step = n_threads // 2
        while step > 0:
            if tid < step:
                m1 = shared[tid]
                m2 = shared[tid + step]
                mm = max(m1, m2)
                if mm > neg_inf:
                    shared[n_threads + tid] = np.float32(
                        shared[n_threads + tid] * math.exp(m1 - mm)
                        + shared[n_threads + tid + step] * math.exp(m2 - mm)
                    )
                shared[tid] = mm
            cuda.syncthreads()
            step //= 2
        row_max = shared[0]
        lse = np.float32(row_max + math.log(shared[n_threads])) if row_max > neg_inf else neg_inf
        cuda.syncthreads()  # everyone has read the totals before the next row overwrites them
        for i in range(tid, n_tokens, n_threads):
            if row_max > neg_inf and _is_allowed(bitmask, k, n_words, i):
                dst[r, i] = np.float32(src[r, i] * t) - lse
            else:
                dst[r, i] = neg_inf


@cuda.jit(cache=True)
def _argmax_kernel(src, bitmask, mask_rows, out):
    """``out[r]`` = the allowed token of ``src[r]`` with the largest logit (smallest index
    among ties), or -1 when the row allows no token.  One block per row."""
    # Dynamic shared memory seen twice: values at [0, n_threads), indices (int32, the
    # same size) at [n_threads, 2 * n_threads).
    sval = cuda.shared.array(0, nb_float32)
    sidx = cuda.shared.array(0, nb_int32)
    tid = cuda.threadIdx.x
    n_threads = cuda.blockDim.x
    n_tokens = src.shape[1]
    n_words = bitmask.shape[1]
    for r in range(cuda.blockIdx.x, src.shape[0], cuda.gridDim.x):
        k = mask_rows[r]
        best = np.float32(-math.inf)
        best_i = np.int32(-1)
        for i in range(tid, n_tokens, n_threads):
            if _is_allowed(bitmask, k, n_words, i):
                x = src[r, i]
                if best_i < 0 or x > best:
                    best = x
                    best_i = np.int32(i)
        sval[tid] = best
        sidx[n_threads + tid] = best_i
        cuda.syncthreads()
        step = n_threads // 2
        while step > 0:
            if tid < step:
                i2 = sidx[n_threads + tid + step]
                if i2 >= 0:
                    i1 = sidx[n_threads + tid]
                    v1 = sval[tid]
                    v2 = sval[tid + step]
                    if i1 < 0 or v2 > v1 or (v2 == v1 and i2 < i1):
                        sval[tid] = v2
                        sidx[n_threads + tid] = i2
            cuda.syncthreads()
            step //= 2
        if tid == 0:
            out[r] = sidx[n_threads]
        cuda.syncthreads()


# Launch configurations and stream wrappers for torch streams, reused across calls: making
# them costs more host time than the kernels take on the GPU.  Keyed by the torch stream's
# handle; cleared when large (a process rarely uses more than a few streams and shapes).
_launchers: dict[tuple, Any] = {}
_streams: dict[tuple[int, int], Any] = {}
_stream_ids: set[int] = set()  # ids of the streams in _streams (kept alive there)
_CACHE_LIMIT = 1024


def _configured(kernel: Any, grid: Any, block: int, stream: Any, shared_bytes: int = 0) -> Any:
    """``kernel[grid, block, stream, shared_bytes]`` without numba-cuda's low-occupancy
    warning: small grids (one block per row, a short vocabulary) are intended here, and
    the warning would fire on every small batch.  Configurations on streams from
    :func:`torch_stream` are cached."""
    reusable = id(stream) in _stream_ids
    key = (kernel, grid, block, id(stream), shared_bytes)
    cached = _launchers.get(key) if reusable else None
    if cached is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", _PerformanceWarning)
            cached = kernel[grid, block, stream, shared_bytes]
        if reusable:
            if len(_launchers) >= _CACHE_LIMIT:
                _launchers.clear()
            _launchers[key] = cached
    return cached


def launch_apply(logits: Any, bitmask: Any, rows: Any, neg_inf: np.integer, stream: Any) -> None:
    """Launch the apply kernel on device arrays: ``logits`` ``(R, V)`` int16/int32 view,
    ``bitmask`` ``(n, W)`` int32, ``rows`` ``(n,)`` int64, ``neg_inf`` typed like
    ``logits``.  Returns without waiting for the stream."""
    n, n_tokens = rows.shape[0], logits.shape[1]
    if n == 0 or n_tokens == 0:
        return
    span = apply_threads * APPLY_ITEMS
    grid = ((n_tokens + span - 1) // span, min(n, MAX_GRID_Y))
    _configured(_apply_kernel, grid, apply_threads, stream)(logits, bitmask, rows, neg_inf)


def launch_log_softmax(src: Any, dst: Any, bitmask: Any, mask_rows: Any, inv_temp: Any, stream: Any) -> None:
    """Launch the fused masked log-softmax on device arrays (float32 ``src``/``dst``
    ``(R, V)``, int32 ``bitmask``, int64 ``mask_rows`` with -1 for unmasked rows, float32
    ``inv_temp``)."""
    if src.shape[0] == 0:
        return
    grid = min(src.shape[0], MAX_GRID_X)
    _configured(_log_softmax_kernel, grid, row_threads, stream, 8 * row_threads)(src, dst, bitmask, mask_rows, inv_temp)


def launch_argmax(src: Any, bitmask: Any, mask_rows: Any, out: Any, stream: Any) -> None:
    """Launch the fused masked argmax on device arrays (``out``: int64 ``(R,)``)."""
    if src.shape[0] == 0:
        return
    grid = min(src.shape[0], MAX_GRID_X)
    _configured(_argmax_kernel, grid, row_threads, stream, 8 * row_threads)(src, bitmask, mask_rows, out)


@contextlib.contextmanager
def torch_stream(device: Any) -> Iterator[Any]:
    """Yield a numba stream that wraps torch's current stream on CUDA ``device``, so
    kernels order with torch's own work; with several GPUs, numba's context for that
    device is active meanwhile (with one, numba's default context is that device's)."""
    import torch

    index = device.index if device.index is not None else torch.cuda.current_device()
    handle = torch.cuda.current_stream(device).cuda_stream
    stream = _streams.get((index, handle))
    if stream is None:
        if len(_streams) >= _CACHE_LIMIT:
            _launchers.clear()
            _stream_ids.clear()
            _streams.clear()
        with cuda.gpus[index]:
            stream = cuda.external_stream(handle)
        _streams[(index, handle)] = stream
        _stream_ids.add(id(stream))
    if len(cuda.gpus) == 1:
        yield stream
    else:
        with cuda.gpus[index]:
            yield stream


def as_device_array(tensor: Any) -> Any:
    """A numba device array sharing memory with a torch CUDA tensor (no copy, no sync:
    the caller launches on the tensor's current stream)."""
    return cuda.as_cuda_array(tensor, sync=False)


def host_stream() -> Any:
    """A fresh numba stream for running the kernels on host arrays (copy in, run, copy out)."""
    return cuda.stream()


def to_device(array: np.ndarray, stream: Any) -> Any:
    """Copy a host array to the GPU on ``stream``."""
    return cuda.to_device(np.ascontiguousarray(array), stream=stream)


def device_empty(shape: tuple[int, ...], dtype: Any, stream: Any) -> Any:
    """An uninitialised device array."""
    return cuda.device_array(shape, dtype=dtype, stream=stream)
