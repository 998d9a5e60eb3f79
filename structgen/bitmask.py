"""Token bitmasks: allocate, convert, and apply them to logits (CPU, CUDA, torch).

Layout (the one XGrammar and llguidance use, so their bitmasks work here and ours there):
a bitmask is an ``int32`` array of shape ``(batch, ceil(V / 32))``; token ``i`` is allowed
when bit ``i % 32`` of word ``i // 32`` is set.  Logits may be longer than the bitmask
covers (padded vocabulary): tokens at or beyond ``32 * bitmask.shape[-1]`` are always
masked.  Bits past the end of the logits are ignored.

Entry points:

* :func:`apply_bitmask_` masks logits in place (``-inf`` where the bit is clear).
* :func:`masked_log_softmax` (sampling) and :func:`masked_argmax` (greedy) fuse the mask
  with the next step, without writing the masked logits back.
* :func:`apply_bitmask_reference` is the executable statement of the semantics (numpy
  ``unpackbits``, out of place); tests hold every backend to it.
* :func:`allocate_bitmask`, :func:`bitmask_width`, :func:`bitmask_to_bool`,
  :func:`bool_to_bitmask` are vectorised helpers.

Inputs: logits are a ``torch.Tensor`` (CPU or CUDA; float32, float16 or bfloat16) or a
``numpy.ndarray`` (float32 or float16), 1-D ``(V,)`` or 2-D ``(rows, V)``, contiguous
along the vocabulary axis (rows may be strided, e.g. ``out.logits[:, -1, :]``).  A
bitmask is an int32 ``numpy.ndarray`` or ``torch.Tensor`` on any device, 1-D or 2-D,
contiguous along its last axis.  ``indices``, when given, is a 1-D sequence of distinct
logits rows, one per bitmask row: bitmask row ``k`` applies to logits row ``indices[k]``
(speculative decoding: one bitmask row per draft position; mixed batches: only the
constrained rows), and the other logits rows are left alone.

Backends (``backend=``):

* ``"cpu"``: numba kernels on host memory (numpy arrays, CPU tensors through zero-copy
  ``.numpy()`` views; float16/bfloat16 are handled as their 16-bit patterns).
* ``"cuda"``: numba-cuda kernels.  Torch CUDA tensors are used in place through
  ``__cuda_array_interface__`` on torch's current stream; host arrays are copied to the
  GPU and back (useful for testing, e.g. under ``NUMBA_ENABLE_CUDASIM=1``).
  ``numba.cuda`` is imported only when this backend is used, so importing structgen
  never initialises CUDA.
* ``"torch"``: plain torch operations, any device torch supports.
* ``"auto"`` (default): ``"cpu"`` for host memory (numpy arrays, CPU tensors, every
  dtype) and ``"torch"`` for tensors on any other device, CUDA included.  Measured on
  an H100 (``docs/kernels.md``), the numba-cuda path spends about 180-450 µs per call on the
  host (building numba device arrays and launching through numba's dispatcher), which
  is more than the torch path's few launches cost at every batch size measured (1 to
  128 rows of 128k-152k logits); the GPU work itself is a few microseconds.

Errors: ``TypeError`` when logits or bitmask is not an array/tensor; ``ValueError`` with
the offending shape, dtype, stride or index for everything else (checked before any
write, so a failed call leaves the logits untouched); ``RuntimeError`` when the
``"cuda"`` backend is forced and no GPU (or simulator) is usable.  Logits must not hold
NaN: where they do, which tokens come out masked is still exact but fused results are
unspecified.
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

import numpy as np

from .kernels import bitmask_cpu as _cpu

__all__ = [
    "BACKENDS",
    "allocate_bitmask",
    "apply_bitmask_",
    "apply_bitmask_reference",
    "bitmask_to_bool",
    "bitmask_width",
    "bool_to_bitmask",
    "masked_argmax",
    "masked_log_softmax",
]

BACKENDS = ("auto", "cpu", "cuda", "torch")

# Float dtype name -> (integer view dtype, bit pattern of -inf in that view).
_BITS = {
    "float32": (np.int32, np.int32(-8388608)),  # 0xFF800000
    "float16": (np.int16, np.int16(-1024)),  # 0xFC00
    "bfloat16": (np.int16, np.int16(-128)),  # 0xFF80
}
# Below this many tokens (rows x vocabulary) the single-threaded CPU apply is used: a
# parallel launch costs more than it saves.
_PARALLEL_MIN_TOKENS = 1 << 18

_cuda_state: dict[str, Any] = {}


# ----------------------------------------------------------------------------------------
# Helpers for other modules.


def bitmask_width(vocab_size: int) -> int:
    """Number of int32 words that hold ``vocab_size`` bits: ``ceil(vocab_size / 32)``.

    Raises ``ValueError`` if ``vocab_size`` is negative.
    """
    if vocab_size < 0:
        raise ValueError(f"vocab_size must be >= 0, got {vocab_size}")
    return (int(vocab_size) + 31) // 32


def allocate_bitmask(batch: int, vocab_size: int) -> np.ndarray:
    """A C-contiguous int32 bitmask of shape ``(batch, ceil(vocab_size / 32))`` (numpy, on
    the host: the matchers fill it there) in which every token ``< vocab_size`` is allowed
    and the padding bits of the last word are clear, so logits longer than
    ``vocab_size`` get their extra tokens masked.

    Raises ``ValueError`` if ``batch`` or ``vocab_size`` is negative.
    """
    if batch < 0:
        raise ValueError(f"batch must be >= 0, got {batch}")
    width = bitmask_width(vocab_size)
    mask = np.full((batch, width), -1, dtype=np.int32)
    tail = vocab_size % 32
    if tail and width:
        mask[:, -1] = np.int32(np.uint32((1 << tail) - 1).view(np.int32))
    return mask


def bitmask_to_bool(bitmask: Any, vocab_size: int) -> Any:
    """Unpack ``bitmask`` (int32, ``(..., W)``) into booleans of shape ``(..., vocab_size)``
    (True = allowed); tokens at or beyond ``32 * W`` come out False.

    Returns a numpy array for a numpy input and a torch tensor on the same device for a
    tensor.  Raises ``TypeError``/``ValueError`` for a bitmask that is not int32 or
    ``ValueError`` for a negative ``vocab_size``.
    """
    if vocab_size < 0:
        raise ValueError(f"vocab_size must be >= 0, got {vocab_size}")
    _check_int32(bitmask, "bitmask")
    width = bitmask.shape[-1]
    keep = min(width, bitmask_width(vocab_size))
    if _is_tensor(bitmask):
        torch = sys.modules["torch"]
        shifts = torch.arange(32, dtype=torch.int32, device=bitmask.device)
        bits = (bitmask[..., :keep, None] >> shifts) & 1
        bits = bits.reshape(*bitmask.shape[:-1], 32 * keep)[..., :vocab_size].bool()
        if bits.shape[-1] < vocab_size:
            pad = torch.zeros(*bits.shape[:-1], vocab_size - bits.shape[-1], dtype=torch.bool, device=bits.device)
            bits = torch.cat([bits, pad], dim=-1)
        return bits
    words = np.ascontiguousarray(bitmask[..., :keep], dtype="<i4")
    bits = np.unpackbits(words.view(np.uint8), axis=-1, bitorder="little").view(bool)
    bits = bits[..., :vocab_size]
    if bits.shape[-1] < vocab_size:
        pad = np.zeros(bits.shape[:-1] + (vocab_size - bits.shape[-1],), dtype=bool)
        bits = np.concatenate([bits, pad], axis=-1)
    return bits


def bool_to_bitmask(mask: Any) -> Any:
    """Pack booleans ``(..., V)`` (True = allowed) into an int32 bitmask ``(..., ceil(V/32))``.

    Returns a numpy array for a numpy input (any dtype, nonzero = allowed) and a torch
    tensor on the same device for a tensor.  Raises ``TypeError`` for anything else.
    """
    if _is_tensor(mask):
        torch = sys.modules["torch"]
        n_tokens = mask.shape[-1]
        width = bitmask_width(n_tokens)
        bits = mask.bool().to(torch.int64)
        if 32 * width != n_tokens:
            pad = torch.zeros(*mask.shape[:-1], 32 * width - n_tokens, dtype=torch.int64, device=mask.device)
            bits = torch.cat([bits, pad], dim=-1)
        shifts = torch.arange(32, dtype=torch.int64, device=mask.device)
        words = (bits.reshape(*mask.shape[:-1], width, 32) << shifts).sum(dim=-1)
        return torch.where(words >= 2**31, words - 2**32, words).to(torch.int32)
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"mask must be a numpy.ndarray or torch.Tensor, got {type(mask).__name__}")
    n_tokens = mask.shape[-1]
    width = bitmask_width(n_tokens)
    packed = np.packbits(mask.astype(bool, copy=False), axis=-1, bitorder="little")
    padded = np.zeros(mask.shape[:-1] + (4 * width,), dtype=np.uint8)
    padded[..., : packed.shape[-1]] = packed
    return padded.view("<i4").astype(np.int32, copy=False)


# ----------------------------------------------------------------------------------------
# Public operations.


def apply_bitmask_(logits: Any, bitmask: Any, indices: Sequence[int] | Any | None = None, *, backend: str = "auto") -> None:
    """Mask ``logits`` in place: ``-inf`` wherever the token's bit is clear.

    ``logits``: ``(rows, V)`` or ``(V,)``; ``bitmask``: int32 ``(n, W)`` or ``(W,)``.
    Without ``indices`` bitmask row ``k`` masks logits row ``k`` (``n == rows``); with
    ``indices`` (``n`` distinct row numbers) it masks logits row ``indices[k]``.  Tokens
    ``>= 32 * W`` are masked.  See the module docstring for inputs and backends.

    Raises ``TypeError``/``ValueError`` on bad input (nothing is written then) and
    ``RuntimeError`` if ``backend="cuda"`` is forced without a usable GPU.
    """
    lg, _ = _check_logits(logits, writable=True)
    bm = _check_bitmask(bitmask)
    rows = _pair_rows(indices, lg.shape[0], bm.shape[0])
    chosen = _choose_backend(backend, lg)
    if chosen == "torch":
        torch = _import_torch()
        target = lg if _is_tensor(lg) else torch.from_numpy(lg)
        target.masked_fill_(_masked_torch(bm, rows, lg.shape, target.device), float("-inf"))
    elif chosen == "cpu":
        bits = _host_bits(lg)
        n_rows = bm.shape[0]
        row_ids = np.arange(n_rows, dtype=np.int64) if rows is None else rows
        kernel = _cpu.apply_bitmask_parallel if n_rows * lg.shape[1] >= _PARALLEL_MIN_TOKENS else _cpu.apply_bitmask_serial
        kernel(bits, _host_bitmask(bm), row_ids, _BITS[_dtype_name(lg)][1])
    else:
        _apply_cuda(lg, bm, rows)


def masked_log_softmax(
    logits: Any,
    bitmask: Any,
    temperature: float | Sequence[float] | Any = 1.0,
    indices: Sequence[int] | Any | None = None,
    *,
    backend: str = "auto",
) -> Any:
    """Fused ``log_softmax(masked(logits) / temperature)`` for sampling, as a new float32
    array (numpy in, numpy out; tensor in, tensor on the same device out) of the logits'
    shape.  ``logits`` is not modified.

    ``temperature`` is a positive float or one positive float per logits row.  Rows
    named by ``indices`` (all rows when ``indices`` is None) are masked by their bitmask
    row; other rows are not masked.  A row whose allowed tokens all have logit -inf (or
    that allows none) comes out all -inf rather than NaN.

    Raises as :func:`apply_bitmask_`, and ``ValueError`` for a temperature that is not
    positive and finite or has the wrong length.
    """
    lg, one_d = _check_logits(logits, writable=False)
    bm = _check_bitmask(bitmask)
    rows = _pair_rows(indices, lg.shape[0], bm.shape[0])
    inv_temp = _inverse_temperatures(temperature, lg.shape[0])
    chosen = _choose_backend(backend, lg)
    if chosen == "torch":
        torch = _import_torch()
        x = (lg if _is_tensor(lg) else torch.from_numpy(lg)).to(torch.float32, copy=True)
        if np.all(inv_temp == inv_temp[:1]):
            x.mul_(float(inv_temp[0]) if len(inv_temp) else 1.0)
        else:
            x.mul_(torch.from_numpy(inv_temp).to(x.device)[:, None])
        x.masked_fill_(_masked_torch(bm, rows, lg.shape, x.device), float("-inf"))
        out = torch.log_softmax(x, dim=-1)
        out.masked_fill_(~(x.amax(dim=-1, keepdim=True) > float("-inf")), float("-inf"))
        out = out if _is_tensor(lg) else out.numpy()
    elif chosen == "cpu":
        src = _host_float32(lg)
        dst = np.empty(src.shape, dtype=np.float32)
        _cpu.masked_log_softmax_parallel(src, dst, _host_bitmask(bm), _mask_rows(rows, lg.shape[0], bm.shape[0]), inv_temp)
        out = sys.modules["torch"].from_numpy(dst) if _is_tensor(lg) else dst
    else:
        out = _fused_cuda("log_softmax", lg, bm, rows, inv_temp)
    return out[0] if one_d else out


def masked_argmax(logits: Any, bitmask: Any, indices: Sequence[int] | Any | None = None, *, backend: str = "auto") -> Any:
    """Fused greedy choice: for each logits row, the allowed token with the largest logit
    (the smallest such index on ties), or -1 when the row allows no token.

    Returns int64 of shape ``(rows,)`` (a 0-d result for 1-D logits), numpy for numpy
    input and a tensor on the logits' device for a tensor.  Rows not named by
    ``indices`` are not masked.  ``logits`` is not modified.  Raises as
    :func:`apply_bitmask_`.
    """
    lg, one_d = _check_logits(logits, writable=False)
    bm = _check_bitmask(bitmask)
    rows = _pair_rows(indices, lg.shape[0], bm.shape[0])
    chosen = _choose_backend(backend, lg)
    if chosen == "torch":
        torch = _import_torch()
        x = (lg if _is_tensor(lg) else torch.from_numpy(lg)).float()
        masked = _masked_torch(bm, rows, lg.shape, x.device)
        best = x.masked_fill(masked, float("-inf")).amax(dim=-1, keepdim=True)
        hit = (x == best).logical_and_(~masked)  # the allowed tokens holding the maximum
        out = torch.where(hit.any(dim=-1), hit.to(torch.uint8).argmax(dim=-1), -1)
        out = out if _is_tensor(lg) else out.numpy()
    elif chosen == "cpu":
        src = _host_float32(lg)
        out = np.empty(src.shape[0], dtype=np.int64)
        _cpu.masked_argmax_parallel(src, _host_bitmask(bm), _mask_rows(rows, lg.shape[0], bm.shape[0]), out)
        out = sys.modules["torch"].from_numpy(out) if _is_tensor(lg) else out
    else:
        out = _fused_cuda("argmax", lg, bm, rows, None)
    return out[0] if one_d else out


def apply_bitmask_reference(logits: Any, bitmask: Any, indices: Sequence[int] | Any | None = None) -> Any:
    """The semantics of :func:`apply_bitmask_`, computed plainly and out of place: returns
    a new array/tensor of the logits' type, dtype and device in which logits row
    ``r = indices[k]`` (or ``k``) token ``i`` is ``-inf`` unless ``i < 32 * W`` and bit
    ``i % 32`` of ``bitmask[k, i // 32]`` is set; other values are copied unchanged.

    Uses numpy ``unpackbits`` on the host (slow, independent of every backend).  Raises
    as :func:`apply_bitmask_`.
    """
    lg, one_d = _check_logits(logits, writable=False)
    bm = _check_bitmask(bitmask)
    rows = _pair_rows(indices, lg.shape[0], bm.shape[0])
    allowed = np.ones(lg.shape, dtype=bool)
    allowed[slice(None) if rows is None else rows] = bitmask_to_bool(_host_bitmask(bm), lg.shape[1])
    if _is_tensor(lg):
        torch = sys.modules["torch"]
        neg_inf = torch.tensor(float("-inf"), dtype=lg.dtype, device=lg.device)
        out = torch.where(torch.from_numpy(allowed).to(lg.device), lg.detach(), neg_inf)
    else:
        out = np.where(allowed, lg, lg.dtype.type(-np.inf))
    return out[0] if one_d else out


# ----------------------------------------------------------------------------------------
# Input checks.


def _is_tensor(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _import_torch() -> Any:
    import torch

    return torch


def _dtype_name(x: Any) -> str:
    return str(x.dtype).removeprefix("torch.") if _is_tensor(x) else np.dtype(x.dtype).name


def _check_logits(logits: Any, *, writable: bool) -> tuple[Any, bool]:
    """Validate logits; return a 2-D view and whether the input was 1-D."""
    if not (_is_tensor(logits) or isinstance(logits, np.ndarray)):
        raise TypeError(f"logits must be a torch.Tensor or numpy.ndarray, got {type(logits).__name__}")
    name = _dtype_name(logits)
    if name not in _BITS:
        allowed = "float32, float16, bfloat16" if _is_tensor(logits) else "float32, float16"
        raise ValueError(f"logits dtype must be one of {allowed}; got {name}")
    if logits.ndim not in (1, 2):
        raise ValueError(f"logits must be 1-D (V,) or 2-D (rows, V); got shape {tuple(logits.shape)}")
    lg = logits[None, :] if logits.ndim == 1 else logits
    if _is_tensor(lg):
        if lg.shape[1] > 1 and lg.stride(1) != 1:
            raise ValueError(
                f"logits must be contiguous along the vocabulary axis; got strides {tuple(lg.stride())} "
                "(elements): call .contiguous() first"
            )
    else:
        if lg.shape[1] > 1 and lg.strides[1] != lg.itemsize:
            raise ValueError(
                f"logits must be contiguous along the vocabulary axis; got strides {lg.strides} (bytes) "
                f"for itemsize {lg.itemsize}: use np.ascontiguousarray first"
            )
        if writable and not lg.flags.writeable:
            raise ValueError("logits is a read-only numpy array; apply_bitmask_ writes in place")
    return lg, logits.ndim == 1


def _check_int32(bitmask: Any, what: str) -> None:
    if not (_is_tensor(bitmask) or isinstance(bitmask, np.ndarray)):
        raise TypeError(f"{what} must be a numpy.ndarray or torch.Tensor of int32, got {type(bitmask).__name__}")
    if _dtype_name(bitmask) != "int32":
        raise ValueError(f"{what} dtype must be int32; got {_dtype_name(bitmask)}")


def _check_bitmask(bitmask: Any) -> Any:
    """Validate a bitmask; return it as a 2-D view."""
    _check_int32(bitmask, "bitmask")
    if bitmask.ndim not in (1, 2):
        raise ValueError(f"bitmask must be 1-D (W,) or 2-D (rows, W); got shape {tuple(bitmask.shape)}")
    bm = bitmask[None, :] if bitmask.ndim == 1 else bitmask
    last_stride = bm.stride(1) if _is_tensor(bm) else bm.strides[1] // 4
    if bm.shape[1] > 1 and last_stride != 1:
        raise ValueError(f"bitmask must be contiguous along its last axis; got a stride of {last_stride} words")
    return bm


def _pair_rows(indices: Any, n_logits: int, n_masks: int) -> np.ndarray | None:
    """Logits row for each bitmask row as int64, or None for the identity pairing."""
    if indices is None:
        if n_logits != n_masks:
            raise ValueError(
                f"logits has {n_logits} rows but bitmask has {n_masks}; pass indices to say which "
                "logits row each bitmask row masks"
            )
        return None
    if _is_tensor(indices):
        indices = indices.detach().cpu().numpy()
    idx = np.asarray(indices)
    if idx.size == 0:
        idx = idx.astype(np.int64).reshape(0)
    if idx.ndim != 1 or idx.dtype.kind not in "iu":
        raise ValueError(f"indices must be a 1-D sequence of integers; got shape {idx.shape}, dtype {idx.dtype}")
    if idx.shape[0] != n_masks:
        raise ValueError(
            f"indices has {idx.shape[0]} entries but bitmask has {n_masks} rows; "
            "indices[k] is the logits row that bitmask row k masks"
        )
    bad = np.flatnonzero((idx < 0) | (idx >= n_logits))
    if bad.size:
        k = int(bad[0])
        raise ValueError(f"indices[{k}] = {int(idx[k])} is out of range for logits with {n_logits} rows")
    if np.unique(idx).size != idx.size:
        _, first = np.unique(idx, return_index=True)
        k = int(np.setdiff1d(np.arange(idx.size), first)[0])
        raise ValueError(f"indices[{k}] = {int(idx[k])} repeats an earlier entry; indices must be distinct")
    return idx.astype(np.int64)


def _mask_rows(rows: np.ndarray | None, n_logits: int, n_masks: int) -> np.ndarray:
    """Bitmask row for each logits row, -1 for rows left unmasked."""
    if rows is None:
        return np.arange(n_logits, dtype=np.int64)
    out = np.full(n_logits, -1, dtype=np.int64)
    out[rows] = np.arange(n_masks, dtype=np.int64)
    return out


def _inverse_temperatures(temperature: Any, n_rows: int) -> np.ndarray:
    if _is_tensor(temperature):
        temperature = temperature.detach().cpu().numpy()
    t = np.asarray(temperature, dtype=np.float64)
    if t.ndim == 0:
        t = np.full(n_rows, float(t))
    elif t.shape != (n_rows,):
        raise ValueError(f"temperature must be a float or one per logits row ({n_rows}); got shape {t.shape}")
    bad = np.flatnonzero(~(np.isfinite(t) & (t > 0)))
    if bad.size:
        raise ValueError(
            f"temperature must be positive and finite; got {t[bad[0]]} for row {int(bad[0])} "
            "(use masked_argmax for greedy decoding)"
        )
    return (1.0 / t).astype(np.float32)


def _choose_backend(backend: str, lg: Any) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}")
    device = lg.device.type if _is_tensor(lg) else "cpu"
    if backend == "auto":
        return "cpu" if device == "cpu" else "torch"
    if backend == "cpu" and device != "cpu":
        raise ValueError(f"backend='cpu' needs logits in host memory; got a tensor on {lg.device}")
    if backend == "cuda":
        if device not in ("cpu", "cuda"):
            raise ValueError(f"backend='cuda' needs host or CUDA logits; got a tensor on {lg.device}")
        _require_numba_cuda()
    return backend


# ----------------------------------------------------------------------------------------
# Host plumbing.


def _host_bits(lg: Any) -> np.ndarray:
    """Integer view (no copy) of host logits."""
    view = _BITS[_dtype_name(lg)][0]
    if _is_tensor(lg):
        torch = sys.modules["torch"]
        return lg.detach().view(torch.int32 if view is np.int32 else torch.int16).numpy()
    return lg.view(view)


def _host_bitmask(bm: Any) -> np.ndarray:
    return bm.detach().cpu().numpy() if _is_tensor(bm) else bm


def _host_float32(lg: Any) -> np.ndarray:
    """Host float32 logits, contiguous along rows' last axis (a view when already so)."""
    if _is_tensor(lg):
        lg = lg.detach()
        lg = (lg if lg.dtype == sys.modules["torch"].float32 else lg.float()).numpy()
    return lg.astype(np.float32, copy=False)


def _masked_torch(bm: Any, rows: np.ndarray | None, shape: tuple[int, int], device: Any) -> Any:
    """Boolean tensor of ``shape`` on ``device``: True where a logit is to be masked.

    Three elementwise kernels (and-with-bit-values, compare, and a pad when the vocabulary
    outgrows the bitmask), plus a scatter with ``indices``: launches dominate on a GPU.
    """
    torch = sys.modules["torch"]
    n_rows, n_tokens = shape
    words = (bm if _is_tensor(bm) else torch.from_numpy(bm)).to(device, non_blocking=True)
    covered = min(32 * words.shape[1], n_tokens)
    width = bitmask_width(covered)
    key = ("bits", str(device))
    bit_values = _cuda_state.get(key)
    if bit_values is None:
        one_bits = (np.uint32(1) << np.arange(32, dtype=np.uint32)).view(np.int32)
        bit_values = _cuda_state[key] = torch.from_numpy(one_bits).to(device)
    masked = (words[:, :width, None] & bit_values) == 0
    masked = masked.reshape(words.shape[0], 32 * width)[:, :covered]
    if covered < n_tokens:
        tail = torch.ones((words.shape[0], n_tokens - covered), dtype=torch.bool, device=device)
        masked = torch.cat([masked, tail], dim=1)
    if rows is None:
        return masked
    full = torch.zeros(shape, dtype=torch.bool, device=device)
    full[torch.from_numpy(rows).to(device)] = masked
    return full


# ----------------------------------------------------------------------------------------
# CUDA plumbing (numba.cuda imported lazily).


def _require_numba_cuda() -> None:
    """Raise ``RuntimeError`` unless numba-cuda imports and sees a GPU (or its simulator)."""
    if "usable" not in _cuda_state:
        try:
            from numba import cuda

            _cuda_state["usable"] = bool(cuda.is_available())
            _cuda_state["why"] = "numba-cuda finds no usable CUDA driver or GPU"
        except ImportError as exc:  # numba-cuda missing
            _cuda_state["usable"] = False
            _cuda_state["why"] = f"numba.cuda cannot be imported ({exc}); install numba-cuda"
    if not _cuda_state["usable"]:
        raise RuntimeError(f"backend='cuda' was requested but {_cuda_state['why']}")


def _cuda_kernels() -> Any:
    from .kernels import bitmask_cuda

    return bitmask_cuda


def _on_cuda_device(lg: Any) -> bool:
    return _is_tensor(lg) and lg.device.type == "cuda"


def _torch_on(x: Any, device: Any) -> Any:
    torch = sys.modules["torch"]
    t = x if _is_tensor(x) else torch.from_numpy(np.ascontiguousarray(x))
    return t.to(device, non_blocking=True)


def _device_arange(n: int, device: Any) -> Any:
    """``torch.arange(n)`` on ``device``, cached (read-only use): saves a launch per call.
    Created once and synchronised, so any stream may read it afterwards."""
    key = ("arange", str(device), n)
    cached = _cuda_state.get(key)
    if cached is None:
        if len(_cuda_state) > 256:
            for old in [k for k in _cuda_state if isinstance(k, tuple)]:
                del _cuda_state[old]
        torch = sys.modules["torch"]
        cached = torch.arange(n, device=device)
        torch.cuda.current_stream(device).synchronize()
        _cuda_state[key] = cached
    return cached


def _apply_cuda(lg: Any, bm: Any, rows: np.ndarray | None) -> None:
    kc = _cuda_kernels()
    view, neg_inf = _BITS[_dtype_name(lg)]
    if _on_cuda_device(lg):
        torch = sys.modules["torch"]
        dev = lg.device
        bits = lg.detach().view(torch.int32 if view is np.int32 else torch.int16)
        d_bm = _torch_on(bm, dev)
        d_rows = _device_arange(bm.shape[0], dev) if rows is None else _torch_on(rows, dev)
        with kc.torch_stream(dev) as stream:
            kc.launch_apply(kc.as_device_array(bits), kc.as_device_array(d_bm), kc.as_device_array(d_rows), neg_inf, stream)
        return
    bits = _host_bits(lg)
    stream = kc.host_stream()
    d_bits = kc.to_device(bits, stream)
    row_ids = np.arange(bm.shape[0], dtype=np.int64) if rows is None else rows
    kc.launch_apply(d_bits, kc.to_device(_host_bitmask(bm), stream), kc.to_device(row_ids, stream), neg_inf, stream)
    bits[...] = d_bits.copy_to_host(stream=stream)
    stream.synchronize()


def _fused_cuda(op: str, lg: Any, bm: Any, rows: np.ndarray | None, inv_temp: np.ndarray | None) -> Any:
    kc = _cuda_kernels()
    n_rows, n_tokens = lg.shape
    if _on_cuda_device(lg):
        torch = sys.modules["torch"]
        dev = lg.device
        src = lg.detach() if lg.dtype == torch.float32 else lg.detach().float()
        d_bm = _torch_on(bm, dev)
        if rows is None:
            mask_rows = _device_arange(n_rows, dev)
        else:
            mask_rows = _torch_on(_mask_rows(rows, n_rows, bm.shape[0]), dev)
        with kc.torch_stream(dev) as stream:
            if op == "log_softmax":
                out = torch.empty((n_rows, n_tokens), dtype=torch.float32, device=dev)
                if np.all(inv_temp == inv_temp[:1]):  # one temperature: no host-to-device copy
                    d_t = torch.full((n_rows,), float(inv_temp[0]) if n_rows else 1.0, dtype=torch.float32, device=dev)
                else:
                    d_t = _torch_on(inv_temp, dev)
                kc.launch_log_softmax(*map(kc.as_device_array, (src, out, d_bm, mask_rows, d_t)), stream)
            else:
                out = torch.empty(n_rows, dtype=torch.int64, device=dev)
                kc.launch_argmax(*map(kc.as_device_array, (src, d_bm, mask_rows, out)), stream)
        return out
    stream = kc.host_stream()
    d_src = kc.to_device(_host_float32(lg), stream)
    d_bm = kc.to_device(_host_bitmask(bm), stream)
    d_rows = kc.to_device(_mask_rows(rows, n_rows, bm.shape[0]), stream)
    if op == "log_softmax":
        d_out = kc.device_empty((n_rows, n_tokens), np.float32, stream)
        kc.launch_log_softmax(d_src, d_out, d_bm, d_rows, kc.to_device(inv_temp, stream), stream)
    else:
        d_out = kc.device_empty((n_rows,), np.int64, stream)
        kc.launch_argmax(d_src, d_bm, d_rows, d_out, stream)
    out = d_out.copy_to_host(stream=stream)
    stream.synchronize()
    return sys.modules["torch"].from_numpy(out) if _is_tensor(lg) else out
