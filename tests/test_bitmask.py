"""Bitmask helpers and mask-apply kernels (CPU numba, torch fallback) against the reference.

The CUDA kernels are tested in ``tests/test_bitmask_cuda.py``: on a GPU when there is
one, and always under numba's CUDA simulator through :func:`test_cuda_kernels_in_simulator`
here, which runs that module in a subprocess so the simulator setting never reaches
this test session.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import structgen.bitmask as bm
from structgen.kernels import bitmask_cpu

ROOT = Path(__file__).resolve().parent.parent

TORCH_DTYPES = [torch.float32, torch.float16, torch.bfloat16]
NUMPY_DTYPES = [np.float32, np.float16]

# (rows, V, W, indices): odd vocabularies, padded vocabularies (32 * W < V), bitmasks
# wider than the logits, batch 1 and 512, several parallel tasks per row, and indices.
CASES = [
    pytest.param(1, 1000, 32, None, id="b1-V1000"),
    pytest.param(3, 77, 2, None, id="b3-V77-padded"),
    pytest.param(2, 50, 4, None, id="b2-V50-wide-mask"),
    pytest.param(4, 4133, 130, [3, 0], id="b4-V4133-indices"),
    pytest.param(512, 97, 4, None, id="b512-V97"),
    pytest.param(512, 97, 4, list(range(511, -1, -2)), id="b512-V97-indices"),
    pytest.param(5, 70001, 2188, None, id="b5-V70001-parallel"),
    pytest.param(3, 70001, 2100, [2, 1, 0], id="b3-V70001-padded-parallel-indices"),
]


def random_bitmask(rng: np.random.Generator, rows: int, width: int) -> np.ndarray:
    """Random bits, plus rows/blocks that hit the kernels' all-zero and all-one fast paths."""
    mask = rng.integers(-(2**31), 2**31, size=(rows, width), dtype=np.int64).astype(np.int32)
    block = bitmask_cpu.BLOCK_WORDS
    for r in range(rows):
        kind = r % 4
        if kind == 1:
            mask[r, block : 3 * block] = 0
        elif kind == 2:
            mask[r, : 2 * block] = -1
        elif kind == 3 and r % 8 == 3:
            mask[r] = 0 if r % 16 == 3 else -1
    return mask


def random_logits(rng: np.random.Generator, rows: int, vocab: int) -> np.ndarray:
    x = rng.standard_normal((rows, vocab)).astype(np.float32) * 4
    x[rng.random((rows, vocab)) < 0.01] = -np.inf
    return x


def oracle_allowed(mask: np.ndarray, row: int, token: int) -> bool:
    """The layout, spelled out bit by bit (for small inputs)."""
    word = token // 32
    return word < mask.shape[1] and (int(mask[row, word]) >> (token % 32)) & 1 == 1


# ----------------------------------------------------------------------------------------
# Layout helpers and the reference itself.


def test_bitmask_to_bool_matches_bit_by_bit_oracle() -> None:
    rng = np.random.default_rng(0)
    mask = random_bitmask(rng, 3, 5)
    vocab = 170  # beyond 32 * 5 = 160: padded
    expected = np.array([[oracle_allowed(mask, r, i) for i in range(vocab)] for r in range(3)])
    assert np.array_equal(bm.bitmask_to_bool(mask, vocab), expected)
    assert torch.equal(bm.bitmask_to_bool(torch.from_numpy(mask), vocab), torch.from_numpy(expected))
    assert np.array_equal(bm.bitmask_to_bool(mask[1], 40), expected[1, :40])


def test_reference_matches_bit_by_bit_oracle() -> None:
    rng = np.random.default_rng(1)
    mask = random_bitmask(rng, 2, 3)
    logits = random_logits(rng, 4, 101)
    out = bm.apply_bitmask_reference(logits, mask, indices=[3, 1])
    for r in range(4):
        for i in range(101):
            k = {3: 0, 1: 1}.get(r)
            masked = k is not None and not oracle_allowed(mask, k, i)
            assert out[r, i] == (-np.inf if masked else logits[r, i])


def test_bool_to_bitmask_roundtrip_numpy_and_torch() -> None:
    rng = np.random.default_rng(2)
    for vocab in (1, 31, 32, 33, 1000):
        allowed = rng.random((3, vocab)) < 0.5
        packed = bm.bool_to_bitmask(allowed)
        assert packed.dtype == np.int32 and packed.shape == (3, bm.bitmask_width(vocab))
        assert np.array_equal(bm.bitmask_to_bool(packed, vocab), allowed)
        packed_t = bm.bool_to_bitmask(torch.from_numpy(allowed))
        assert packed_t.dtype == torch.int32 and np.array_equal(packed_t.numpy(), packed)
        # Bits past the vocabulary stay clear, so a padded vocabulary stays masked.
        assert not bm.bitmask_to_bool(packed, 32 * packed.shape[1])[:, vocab:].any()


def test_allocate_bitmask_allows_exactly_the_vocabulary() -> None:
    for vocab in (1, 32, 70, 128257):
        mask = bm.allocate_bitmask(2, vocab)
        assert mask.dtype == np.int32 and mask.shape == (2, (vocab + 31) // 32) and mask.flags.c_contiguous
        allowed = bm.bitmask_to_bool(mask, 32 * mask.shape[1])
        assert allowed[:, :vocab].all() and not allowed[:, vocab:].any()
    assert bm.allocate_bitmask(0, 10).shape == (0, 1)
    with pytest.raises(ValueError, match="batch must be >= 0"):
        bm.allocate_bitmask(-1, 10)
    with pytest.raises(ValueError, match="vocab_size must be >= 0"):
        bm.allocate_bitmask(1, -5)


# ----------------------------------------------------------------------------------------
# apply_bitmask_ on every host backend.


@pytest.mark.parametrize("backend", ["cpu", "torch", "auto"])
@pytest.mark.parametrize("dtype", TORCH_DTYPES, ids=str)
@pytest.mark.parametrize("rows,vocab,width,indices", CASES)
def test_apply_torch_tensors_equal_reference(backend, dtype, rows, vocab, width, indices) -> None:
    rng = np.random.default_rng(rows * 1000 + vocab)
    n_masks = rows if indices is None else len(indices)
    mask = random_bitmask(rng, n_masks, width)
    logits = torch.from_numpy(random_logits(rng, rows, vocab)).to(dtype)
    expected = bm.apply_bitmask_reference(logits, mask, indices)
    out = logits.clone()
    bm.apply_bitmask_(out, torch.from_numpy(mask), indices, backend=backend)
    assert torch.equal(out, expected)


@pytest.mark.parametrize("backend", ["cpu", "torch"])
@pytest.mark.parametrize("dtype", NUMPY_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("rows,vocab,width,indices", CASES)
def test_apply_numpy_arrays_equal_reference(backend, dtype, rows, vocab, width, indices) -> None:
    rng = np.random.default_rng(rows * 7 + vocab)
    n_masks = rows if indices is None else len(indices)
    mask = random_bitmask(rng, n_masks, width)
    logits = random_logits(rng, rows, vocab).astype(dtype)
    expected = bm.apply_bitmask_reference(logits, mask, indices)
    assert expected.dtype == dtype
    out = logits.copy()
    bm.apply_bitmask_(out, mask, np.array(indices) if indices is not None else None, backend=backend)
    assert np.array_equal(out, expected)


@pytest.mark.parametrize("backend", ["cpu", "torch"])
def test_apply_strided_rows_and_1d_inputs(backend) -> None:
    rng = np.random.default_rng(5)
    full = torch.from_numpy(random_logits(rng, 4 * 3, 333)).reshape(4, 3, 333)
    mask = random_bitmask(rng, 4, 11)
    last = full[:, -1, :]  # the usual `outputs.logits[:, -1, :]`: rows 3 * 333 apart
    expected = bm.apply_bitmask_reference(last, mask)
    untouched = full[:, :-1, :].clone()
    bm.apply_bitmask_(last, mask, backend=backend)
    assert torch.equal(full[:, -1, :], expected)
    assert torch.equal(full[:, :-1, :], untouched)

    row = torch.from_numpy(random_logits(rng, 1, 333))[0]
    expected = bm.apply_bitmask_reference(row, mask[2])
    assert expected.shape == (333,)
    bm.apply_bitmask_(row, mask[2], backend=backend)
    assert torch.equal(row, expected)


def test_apply_leaves_unselected_rows_alone_and_is_idempotent() -> None:
    rng = np.random.default_rng(6)
    logits = random_logits(rng, 6, 300)
    mask = random_bitmask(rng, 2, 10)
    out = logits.copy()
    bm.apply_bitmask_(out, mask, [5, 2])
    assert np.array_equal(out[[0, 1, 3, 4]], logits[[0, 1, 3, 4]])
    once = out.copy()
    bm.apply_bitmask_(out, mask, [5, 2])
    assert np.array_equal(out, once)


def test_auto_backend_choice() -> None:
    assert bm._choose_backend("auto", np.zeros((1, 4), np.float32)) == "cpu"
    assert bm._choose_backend("auto", torch.zeros(1, 4)) == "cpu"
    # A device that is neither host nor CUDA ("meta" stands in for mps/xpu) goes to torch.
    logits = torch.empty(2, 64, device="meta")
    assert bm._choose_backend("auto", logits) == "torch"
    with pytest.raises(ValueError, match="backend='cpu' needs logits in host memory"):
        bm._choose_backend("cpu", logits)


# ----------------------------------------------------------------------------------------
# Fused ops.


def allowed_matrix(mask: np.ndarray, shape: tuple[int, int], indices) -> np.ndarray:
    allowed = np.ones(shape, dtype=bool)
    allowed[slice(None) if indices is None else indices] = bm.bitmask_to_bool(mask, shape[1])
    return allowed


def expected_log_softmax(logits: np.ndarray, mask: np.ndarray, inv_temp: np.ndarray, indices) -> np.ndarray:
    """float64 torch log-softmax of the masked, scaled logits; all -inf rows stay -inf."""
    allowed = allowed_matrix(mask, logits.shape, indices)
    masked = np.where(allowed, logits.astype(np.float64), -np.inf) * inv_temp[:, None]
    out = torch.log_softmax(torch.from_numpy(masked), dim=-1).numpy()
    out[~(masked.max(axis=1) > -np.inf)] = -np.inf
    return out


def expected_argmax(logits: np.ndarray, mask: np.ndarray, indices) -> np.ndarray:
    rows, vocab = logits.shape
    allowed = allowed_matrix(mask, logits.shape, indices)
    out = np.full(rows, -1, dtype=np.int64)
    for r in range(rows):
        ids = np.flatnonzero(allowed[r])
        if ids.size:
            out[r] = ids[np.argmax(logits[r, ids])]  # first among ties
    return out


FUSED_CASES = [c for c in CASES if c.values[0] * c.values[1] <= 100_000 or c.values[0] == 5]


@pytest.mark.parametrize("backend", ["cpu", "torch"])
@pytest.mark.parametrize("dtype", TORCH_DTYPES, ids=str)
@pytest.mark.parametrize("rows,vocab,width,indices", FUSED_CASES)
def test_fused_ops_equal_reference(backend, dtype, rows, vocab, width, indices) -> None:
    rng = np.random.default_rng(rows + vocab)
    n_masks = rows if indices is None else len(indices)
    mask = random_bitmask(rng, n_masks, width)
    logits_t = torch.from_numpy(random_logits(rng, rows, vocab)).to(dtype)
    logits = logits_t.float().numpy()  # the values the kernels see
    logits_t[0, :7] = 100.0  # ties at the top: the first allowed one wins
    logits[0, :7] = 100.0
    temperature = rng.uniform(0.3, 2.0, size=rows)
    before = logits_t.clone()

    lsm = bm.masked_log_softmax(logits_t, torch.from_numpy(mask), temperature, indices, backend=backend)
    assert lsm.dtype == torch.float32 and lsm.shape == (rows, vocab)
    want = expected_log_softmax(logits, mask, 1.0 / temperature, indices)
    assert torch.equal(torch.isinf(lsm), torch.from_numpy(np.isinf(want)))
    finite = np.isfinite(want)
    assert np.allclose(lsm.numpy()[finite], want[finite], rtol=1e-5, atol=2e-5)

    arg = bm.masked_argmax(logits_t, mask, indices, backend=backend)
    assert arg.dtype == torch.int64
    assert np.array_equal(arg.numpy(), expected_argmax(logits, mask, indices))
    assert torch.equal(logits_t, before)


@pytest.mark.parametrize("backend", ["cpu", "torch"])
def test_fused_ops_on_numpy_and_edge_rows(backend) -> None:
    logits = np.array(
        [
            [1.0, 2.0, 3.0, 4.0, 5.0],
            [1.0, -np.inf, 3.0, 9.0, 5.0],
            [-np.inf, -np.inf, -np.inf, 0.0, 0.0],
        ],
        dtype=np.float16,
    )
    mask = bm.bool_to_bitmask(
        np.array([[0, 0, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0]], dtype=bool)
    )
    lsm = bm.masked_log_softmax(logits, mask, 2.0, backend=backend)
    assert isinstance(lsm, np.ndarray) and lsm.dtype == np.float32
    assert np.all(lsm[0] == -np.inf)  # nothing allowed: -inf, not NaN
    assert np.allclose(lsm[1, :2], [0.0, -np.inf]) and np.all(lsm[1, 2:] == -np.inf)
    assert np.all(lsm[2] == -np.inf)  # allowed tokens all -inf
    arg = bm.masked_argmax(logits, mask, backend=backend)
    assert arg.tolist() == [-1, 0, 0]  # row 2: the first allowed token, although -inf
    assert bm.masked_argmax(logits[1], mask[1], backend=backend) == 0
    assert bm.masked_log_softmax(logits[1], mask[1], backend=backend).shape == (5,)


# ----------------------------------------------------------------------------------------
# Errors: precise, and raised before anything is written.


@pytest.mark.parametrize(
    "logits,mask,indices,error,match",
    [
        ([[0.0]], np.zeros((1, 1), np.int32), None, TypeError, "logits must be a torch.Tensor or numpy.ndarray, got list"),
        (np.zeros((2, 40), np.float64), np.zeros((2, 2), np.int32), None, ValueError, "logits dtype must be one of float32, float16; got float64"),
        (torch.zeros(2, 40, dtype=torch.int64), np.zeros((2, 2), np.int32), None, ValueError, "got int64"),
        (np.zeros((2, 3, 40), np.float32), np.zeros((2, 2), np.int32), None, ValueError, r"1-D \(V,\) or 2-D \(rows, V\); got shape \(2, 3, 40\)"),
        (np.zeros((40, 2), np.float32).T, np.zeros((2, 2), np.int32), None, ValueError, "contiguous along the vocabulary axis"),
        (torch.zeros(40, 2).T, np.zeros((2, 2), np.int32), None, ValueError, r"got strides \(1, 2\)"),
        (np.zeros((2, 40), np.float32), np.zeros((2, 2), np.uint32), None, ValueError, "bitmask dtype must be int32; got uint32"),
        (np.zeros((2, 40), np.float32), [[1, 2]], None, TypeError, "bitmask must be a numpy.ndarray or torch.Tensor"),
        (np.zeros((2, 40), np.float32), np.zeros((2, 4), np.int32)[:, ::2], None, ValueError, "stride of 2 words"),
        (np.zeros((2, 40), np.float32), np.zeros((3, 2), np.int32), None, ValueError, "logits has 2 rows but bitmask has 3"),
        (np.zeros((2, 40), np.float32), np.zeros((1, 2), np.int32), [0, 1], ValueError, "indices has 2 entries but bitmask has 1 rows"),
        (np.zeros((2, 40), np.float32), np.zeros((2, 2), np.int32), [0, 2], ValueError, r"indices\[1\] = 2 is out of range for logits with 2 rows"),
        (np.zeros((2, 40), np.float32), np.zeros((2, 2), np.int32), [-1, 0], ValueError, r"indices\[0\] = -1 is out of range"),
        (np.zeros((3, 40), np.float32), np.zeros((2, 2), np.int32), [1, 1], ValueError, r"indices\[1\] = 1 repeats an earlier entry"),
        (np.zeros((2, 40), np.float32), np.zeros((2, 2), np.int32), [[0, 1]], ValueError, "indices must be a 1-D sequence of integers"),
        (np.zeros((2, 40), np.float32), np.zeros((2, 2), np.int32), [0.0, 1.0], ValueError, "indices must be a 1-D sequence of integers"),
    ],
)
def test_apply_rejects_bad_input_precisely(logits, mask, indices, error, match) -> None:
    before = logits.copy() if isinstance(logits, np.ndarray) else None
    with pytest.raises(error, match=match):
        bm.apply_bitmask_(logits, mask, indices)
    if before is not None:
        assert np.array_equal(logits, before)


def test_other_errors() -> None:
    logits = np.zeros((2, 40), np.float32)
    mask = np.zeros((2, 2), np.int32)
    with pytest.raises(ValueError, match=r"backend must be one of \('auto', 'cpu', 'cuda', 'torch'\); got 'gpu'"):
        bm.apply_bitmask_(logits, mask, backend="gpu")
    logits.flags.writeable = False
    with pytest.raises(ValueError, match="read-only numpy array"):
        bm.apply_bitmask_(logits, mask)
    # The fused ops read only, so read-only logits are fine there.
    assert bm.masked_argmax(logits, mask).tolist() == [-1, -1]
    for bad, match in [(0.0, "got 0.0 for row 0"), ([1.0, -2.0], "got -2.0 for row 1"), ([1.0], r"one per logits row \(2\)")]:
        with pytest.raises(ValueError, match=match):
            bm.masked_log_softmax(logits, mask, bad)
    with pytest.raises(ValueError, match="temperature must be positive and finite; got inf"):
        bm.masked_log_softmax(logits, mask, float("inf"))


def test_import_does_not_touch_cuda_and_forced_cuda_needs_a_gpu() -> None:
    code = (
        "import sys, numpy as np, structgen, structgen.bitmask as bm\n"
        "x = np.zeros((2, 100), np.float32); m = bm.allocate_bitmask(2, 100)\n"
        "bm.apply_bitmask_(x, m); bm.masked_log_softmax(x, m); bm.masked_argmax(x, m)\n"
        "loaded = [n for n in sys.modules if n.startswith(('numba.cuda', 'numba_cuda'))]\n"
        "assert not loaded, loaded\n"
        "try:\n"
        "    bm.apply_bitmask_(x, m, backend='cuda')\n"
        "except RuntimeError as exc:\n"
        "    assert \"backend='cuda' was requested but numba-cuda finds no usable\" in str(exc), exc\n"
        "else:\n"
        "    raise AssertionError('no RuntimeError without a GPU')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env["CUDA_VISIBLE_DEVICES"] = ""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120, env=env)


def test_cuda_kernels_in_simulator() -> None:
    """Run tests/test_bitmask_cuda.py under NUMBA_ENABLE_CUDASIM=1 in a fresh process."""
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_bitmask_cuda.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 16 and "failed" not in summary and "error" not in summary, summary
