"""CUDA kernels (numba-cuda) against the reference.

Runs in one of two modes, and is skipped otherwise:

* on a real GPU (torch sees CUDA): torch CUDA tensors in place, host arrays through
  ``backend="cuda"``, vocabularies up to 152k;
* under numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1`` set before numba.cuda is
  imported): host arrays through ``backend="cuda"``, small sizes, smaller blocks.
  ``tests/test_bitmask.py::test_cuda_kernels_in_simulator`` runs this module so in a
  subprocess; the setting never reaches the main test session.
"""

from __future__ import annotations

import os
import sys
from typing import Iterator

import numpy as np
import pytest
import torch

import structgen.bitmask as bm
from tests.test_bitmask import expected_argmax, expected_log_softmax, random_bitmask, random_logits

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
GPU = not SIMULATOR and torch.cuda.is_available()
if not (SIMULATOR or GPU):
    pytest.skip(
        "no GPU; the CUDA kernels run under the simulator via test_bitmask.py::test_cuda_kernels_in_simulator",
        allow_module_level=True,
    )

from structgen.kernels import bitmask_cuda  # noqa: E402  (imports numba.cuda)

TORCH_DTYPES = [torch.float32, torch.float16, torch.bfloat16]

if SIMULATOR:
    # (rows, V, W, indices); the simulator runs each GPU thread as a Python thread.
    CASES = [
        pytest.param(1, 100, 4, None, id="b1-V100"),
        pytest.param(3, 77, 2, None, id="b3-V77-padded"),
        pytest.param(2, 50, 4, None, id="b2-V50-wide-mask"),
        pytest.param(5, 131, 5, [4, 0, 2], id="b5-V131-indices"),
        pytest.param(512, 9, 1, None, id="b512-V9"),
    ]
else:
    CASES = [
        pytest.param(1, 128256, 4008, None, id="b1-V128256"),
        pytest.param(3, 77, 2, None, id="b3-V77-padded"),
        pytest.param(2, 50, 4, None, id="b2-V50-wide-mask"),
        pytest.param(16, 151937, 4748, None, id="b16-V151937-padded"),
        pytest.param(7, 4133, 130, [6, 0, 3], id="b7-V4133-indices"),
        pytest.param(512, 1001, 32, None, id="b512-V1001"),
        pytest.param(512, 1001, 32, list(range(511, -1, -2)), id="b512-V1001-indices"),
    ]


@pytest.fixture(autouse=True)
def small_launches_in_simulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The kernels work for any power-of-two block size and walk the rows with a grid
    stride; the simulator (a Python thread per GPU thread, a barrier per syncthreads) is
    much faster with small blocks, few of them and quick thread switches, which also
    exercises the strided loops on small inputs."""
    if not SIMULATOR:
        yield
        return
    monkeypatch.setattr(bitmask_cuda, "apply_threads", 32)
    monkeypatch.setattr(bitmask_cuda, "row_threads", 8)
    monkeypatch.setattr(bitmask_cuda, "MAX_GRID_Y", 3)
    monkeypatch.setattr(bitmask_cuda, "MAX_GRID_X", 2)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def make_inputs(seed: int, rows: int, vocab: int, width: int, indices):
    rng = np.random.default_rng(seed)
    n_masks = rows if indices is None else len(indices)
    mask = random_bitmask(rng, n_masks, width)
    logits = random_logits(rng, rows, vocab)
    logits[0, : min(7, vocab)] = 100.0  # ties at the top
    return mask, logits, rng.uniform(0.3, 2.0, size=rows)


def check_fused(lsm: np.ndarray, arg: np.ndarray, logits: np.ndarray, mask, temperature, indices) -> None:
    want = expected_log_softmax(logits, mask, 1.0 / temperature, indices)
    assert np.array_equal(np.isinf(lsm), np.isinf(want))
    finite = np.isfinite(want)
    assert np.allclose(lsm[finite], want[finite], rtol=1e-5, atol=2e-5)
    assert np.array_equal(arg, expected_argmax(logits, mask, indices))


@pytest.mark.parametrize("dtype", TORCH_DTYPES, ids=str)
@pytest.mark.parametrize("rows,vocab,width,indices", CASES)
def test_host_arrays_through_cuda_backend(dtype, rows, vocab, width, indices) -> None:
    """Host tensors copied to the device and back (bfloat16 through its int16 view)."""
    if SIMULATOR and rows == 512 and dtype != torch.float32:
        pytest.skip("simulator time: batch 512 runs for float32; the 16-bit paths run at every other size")
    mask, logits_np, temperature = make_inputs(rows + vocab, rows, vocab, width, indices)
    logits = torch.from_numpy(logits_np).to(dtype)
    out = logits.clone()
    bm.apply_bitmask_(out, torch.from_numpy(mask), indices, backend="cuda")
    assert torch.equal(out, bm.apply_bitmask_reference(logits, mask, indices))

    seen = logits.float().numpy()
    lsm = bm.masked_log_softmax(logits, mask, temperature, indices, backend="cuda")
    arg = bm.masked_argmax(logits, mask, indices, backend="cuda")
    assert isinstance(lsm, torch.Tensor) and lsm.dtype == torch.float32 and arg.dtype == torch.int64
    check_fused(lsm.numpy(), arg.numpy(), seen, mask, temperature, indices)


@pytest.mark.parametrize("rows,vocab,width,indices", CASES[:2])
def test_numpy_float16_through_cuda_backend(rows, vocab, width, indices) -> None:
    mask, logits32, temperature = make_inputs(3, rows, vocab, width, indices)
    logits = logits32.astype(np.float16)
    out = logits.copy()
    bm.apply_bitmask_(out, mask, indices, backend="cuda")
    assert np.array_equal(out, bm.apply_bitmask_reference(logits, mask, indices))
    lsm = bm.masked_log_softmax(logits, mask, temperature, indices, backend="cuda")
    arg = bm.masked_argmax(logits, mask, indices, backend="cuda")
    assert isinstance(lsm, np.ndarray) and isinstance(arg, np.ndarray)
    check_fused(lsm, arg, logits.astype(np.float32), mask, temperature, indices)


def test_edge_rows_through_cuda_backend() -> None:
    logits = np.array(
        [[1.0, 2.0, 3.0, 4.0, 5.0], [1.0, -np.inf, 3.0, 9.0, 5.0], [-np.inf, -np.inf, -np.inf, 0.0, 0.0]],
        dtype=np.float32,
    )
    mask = bm.bool_to_bitmask(np.array([[0, 0, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0]], dtype=bool))
    lsm = bm.masked_log_softmax(logits, mask, 2.0, backend="cuda")
    assert np.all(lsm[0] == -np.inf) and np.all(lsm[2] == -np.inf)
    assert np.allclose(lsm[1, :2], [0.0, -np.inf]) and np.all(lsm[1, 2:] == -np.inf)
    assert bm.masked_argmax(logits, mask, backend="cuda").tolist() == [-1, 0, 0]


# ----------------------------------------------------------------------------------------
# Real GPU only: torch CUDA tensors in place, on torch's current stream.


@pytest.mark.skipif(not GPU, reason="needs a GPU (torch CUDA tensors)")
@pytest.mark.parametrize("mask_on_gpu", [True, False], ids=["mask-cuda", "mask-host"])
@pytest.mark.parametrize("dtype", TORCH_DTYPES, ids=str)
@pytest.mark.parametrize("rows,vocab,width,indices", CASES)
def test_cuda_tensors_in_place(dtype, rows, vocab, width, indices, mask_on_gpu) -> None:
    mask, logits_np, temperature = make_inputs(rows * 3 + vocab, rows, vocab, width, indices)
    logits = torch.from_numpy(logits_np).to(dtype)
    expected = bm.apply_bitmask_reference(logits, mask, indices)
    gpu_mask = torch.from_numpy(mask).cuda() if mask_on_gpu else mask
    for backend in ("cuda", "auto"):  # auto: the torch path (see structgen.bitmask)
        out = logits.cuda()
        ptr = out.data_ptr()
        bm.apply_bitmask_(out, gpu_mask, indices, backend=backend)
        assert out.data_ptr() == ptr
        assert torch.equal(out.cpu(), expected)

        lsm = bm.masked_log_softmax(logits.cuda(), gpu_mask, temperature, indices, backend=backend)
        arg = bm.masked_argmax(logits.cuda(), gpu_mask, indices, backend=backend)
        assert lsm.is_cuda and arg.is_cuda
        check_fused(lsm.cpu().numpy(), arg.cpu().numpy(), logits.float().numpy(), mask, temperature, indices)


@pytest.mark.skipif(not GPU, reason="needs a GPU (torch CUDA tensors)")
def test_cuda_strided_rows_and_side_stream() -> None:
    """Rows of `outputs.logits[:, -1, :]`, launched on a non-default torch stream."""
    mask, logits_np, _ = make_inputs(9, 4 * 3, 5000, 157, None)
    full = torch.from_numpy(logits_np).reshape(4, 3, 5000).cuda()
    mask = mask[:4]
    expected = bm.apply_bitmask_reference(full[:, -1, :].cpu(), mask)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        last = full[:, -1, :]
        bm.apply_bitmask_(last, torch.from_numpy(mask).cuda(), backend="cuda")
        result = last.cpu()
    assert torch.equal(result, expected)
    assert torch.equal(full[:, :-1, :].cpu(), torch.from_numpy(logits_np).reshape(4, 3, 5000)[:, :-1, :])
