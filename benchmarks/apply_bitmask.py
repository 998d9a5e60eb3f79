"""Benchmark: applying a token bitmask to logits, structgen against XGrammar and llguidance.

CPU (default): torch CPU tensors, our numba kernel (``structgen.bitmask.apply_bitmask_``,
backend ``"cpu"``) and our torch fallback against ``xgrammar.apply_token_bitmask_inplace``
(its C++ CPU kernel) and ``llguidance.torch.apply_token_bitmask_inplace`` (torch.compile).

GPU (``--device cuda``): torch CUDA tensors with the bitmask on the GPU, our numba-cuda
kernel and torch fallback against XGrammar's Triton kernel (its default on CUDA) and,
with ``--xgrammar-cuda``, its CUDA C++ kernel (compiled on first use through torch's
cpp_extension, which takes a minute).

Every implementation is first checked to give exactly the same logits as ours on fresh
inputs.  Timing goes in ``--rounds`` rounds; in each round every implementation gets a
few warm-up calls and then ``--reps / --rounds`` calls timed one by one (with
``torch.cuda.synchronize()`` inside the timed region on GPU).  Alternating blocks
spread background load (a shared machine) evenly over the implementations, while each
block still runs alone, so one library's idle OpenMP threads do not sit in another's
calls.  Reported: p50 and p90 per call in microseconds, and ours / peer ratios of the
p50s (below 1: ours is faster), all from the same run.  Bitmasks are uniformly random
bits (the worst case: no all-allowed or all-masked words to skip).

    python benchmarks/apply_bitmask.py                      # CPU table
    python benchmarks/apply_bitmask.py --device cuda        # GPU table
    python benchmarks/apply_bitmask.py --json out.json      # also write raw numbers
    python benchmarks/apply_bitmask.py --fused              # fused ops against mask-then-torch
    python benchmarks/apply_bitmask.py --threads 1          # one thread for torch and numba

Peers are optional (``pip install llguidance xgrammar``; the ``bench`` extra): a missing
one is reported as skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from typing import Callable

import numpy as np
import torch

import structgen.bitmask as bm

VOCABS = (128256, 151936)  # Llama-3, Qwen2
BATCHES = (1, 16, 128)
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def peers(device: str, xgrammar_cuda: bool) -> dict[str, Callable[[torch.Tensor, torch.Tensor], None] | str]:
    """Name -> apply function, or the reason the peer is unavailable."""
    out: dict[str, Callable[[torch.Tensor, torch.Tensor], None] | str] = {}
    try:
        import xgrammar as xgr

        if device == "cpu":
            out["xgrammar"] = lambda x, m: xgr.apply_token_bitmask_inplace(x, m, backend="cpu")
        else:
            out["xgrammar-triton"] = lambda x, m: xgr.apply_token_bitmask_inplace(x, m, backend="triton")
            if xgrammar_cuda:
                out["xgrammar-cuda"] = lambda x, m: xgr.apply_token_bitmask_inplace(x, m, backend="cuda")
    except ImportError as exc:
        out["xgrammar"] = f"not installed ({exc})"
    if device == "cpu":
        try:
            import llguidance.torch as llg

            out["llguidance"] = llg.apply_token_bitmask_inplace
        except ImportError as exc:
            out["llguidance"] = f"not installed ({exc})"
    return out


def time_calls(fn: Callable[[], None], reps: int, warmup: int, cuda: bool) -> list[float]:
    """Seconds per call, each call timed on its own (synchronised on GPU)."""
    for _ in range(warmup):
        fn()
    if cuda:
        torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return times


def run(device: str, dtypes: list[str], reps: int, rounds: int, warmup: int, xgrammar_cuda: bool) -> list[dict]:
    impls: dict[str, Callable | str] = {
        "structgen": lambda x, m: bm.apply_bitmask_(x, m, backend="cuda" if device == "cuda" else "cpu"),
        "structgen-torch": lambda x, m: bm.apply_bitmask_(x, m, backend="torch"),
    }
    impls.update(peers(device, xgrammar_cuda))
    for name, impl in impls.items():
        if isinstance(impl, str):
            print(f"skipping {name}: {impl}")
    rng = np.random.default_rng(0)
    rows = []
    for dtype_name in dtypes:
        for vocab in VOCABS:
            for batch in BATCHES:
                width = (vocab + 31) // 32
                mask = torch.from_numpy(rng.integers(-(2**31), 2**31, size=(batch, width), dtype=np.int64).astype(np.int32))
                logits = torch.from_numpy(rng.standard_normal((batch, vocab)).astype(np.float32)).to(DTYPES[dtype_name])
                mask, logits = mask.to(device), logits.to(device)
                expected = logits.clone()
                bm.apply_bitmask_(expected, mask, backend="cuda" if device == "cuda" else "cpu")
                assert torch.equal(expected.cpu(), bm.apply_bitmask_reference(logits.cpu(), mask.cpu()))
                row = {"device": device, "dtype": dtype_name, "vocab": vocab, "batch": batch}
                live = {name: impl for name, impl in impls.items() if not isinstance(impl, str)}
                inputs = {}
                for name, impl in live.items():
                    x = logits.clone()
                    impl(x, mask)
                    if not torch.equal(x, expected):
                        raise AssertionError(f"{name} disagrees with structgen at {row}")
                    inputs[name] = x
                times: dict[str, list[float]] = {name: [] for name in live}
                for _ in range(rounds):
                    for name, impl in live.items():
                        x = inputs[name]
                        times[name] += time_calls(lambda: impl(x, mask), max(1, reps // rounds), warmup, device == "cuda")
                for name, t in times.items():
                    us = np.array(t) * 1e6
                    row[name] = {"p50_us": float(np.percentile(us, 50)), "p90_us": float(np.percentile(us, 90))}
                rows.append(row)
                print(format_row(row, impls), flush=True)
    return rows


def run_fused(device: str, dtypes: list[str], reps: int, rounds: int, warmup: int) -> list[dict]:
    """``masked_log_softmax`` / ``masked_argmax`` against our apply followed by torch."""
    backend = "cuda" if device == "cuda" else "cpu"

    def unfused_log_softmax(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        y = x.float()  # a new tensor for half types; clone float32 so x stays intact
        y = y.clone() if y is x else y
        bm.apply_bitmask_(y, m, backend=backend)
        return torch.log_softmax(y / 0.7, dim=-1)

    def unfused_argmax(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        y = x.clone()
        bm.apply_bitmask_(y, m, backend=backend)
        return y.argmax(dim=-1)

    impls = {
        "log_softmax fused": lambda x, m: bm.masked_log_softmax(x, m, 0.7, backend=backend),
        "log_softmax apply+torch": unfused_log_softmax,
        "argmax fused": lambda x, m: bm.masked_argmax(x, m, backend=backend),
        "argmax apply+torch": unfused_argmax,
    }
    rng = np.random.default_rng(1)
    rows = []
    print("| dtype | V | batch | " + " | ".join(f"{n} p50/p90 µs" for n in impls) + " |")
    print("|" + "---|" * (3 + len(impls)))
    for dtype_name in dtypes:
        for vocab in VOCABS:
            for batch in BATCHES:
                width = (vocab + 31) // 32
                mask = torch.from_numpy(rng.integers(-(2**31), 2**31, size=(batch, width), dtype=np.int64).astype(np.int32))
                logits = torch.from_numpy(rng.standard_normal((batch, vocab)).astype(np.float32)).to(DTYPES[dtype_name])
                mask, logits = mask.to(device), logits.to(device)
                got = impls["log_softmax fused"](logits, mask)
                want = impls["log_softmax apply+torch"](logits, mask)
                assert torch.allclose(got, want, atol=1e-4, rtol=1e-5), "fused log-softmax disagrees"
                assert torch.equal(impls["argmax fused"](logits, mask), impls["argmax apply+torch"](logits, mask))
                times: dict[str, list[float]] = {name: [] for name in impls}
                for _ in range(rounds):
                    for name, impl in impls.items():
                        times[name] += time_calls(lambda: impl(logits, mask), max(1, reps // rounds), warmup, device == "cuda")
                row = {"device": device, "dtype": dtype_name, "vocab": vocab, "batch": batch}
                cells = [dtype_name, str(vocab), str(batch)]
                for name, t in times.items():
                    us = np.array(t) * 1e6
                    row[name] = {"p50_us": float(np.percentile(us, 50)), "p90_us": float(np.percentile(us, 90))}
                    cells.append(f"{row[name]['p50_us']:.1f} / {row[name]['p90_us']:.1f}")
                print("| " + " | ".join(cells) + " |", flush=True)
                rows.append(row)
    return rows


def format_row(row: dict, impls: dict) -> str:
    names = [n for n, f in impls.items() if not isinstance(f, str)]
    cells = [f"{row['dtype']}", f"{row['vocab']}", f"{row['batch']}"]
    for n in names:
        cells.append(f"{row[n]['p50_us']:.1f} / {row[n]['p90_us']:.1f}")
    ours = row["structgen"]["p50_us"]
    peer_names = [n for n in names if not n.startswith("structgen")]
    for n in peer_names:
        cells.append(f"{ours / row[n]['p50_us']:.2f}")
    if peer_names:
        cells.append(f"{ours / min(row[n]['p50_us'] for n in peer_names):.2f}")
    return "| " + " | ".join(cells) + " |"


def header(impls: dict) -> str:
    names = [n for n, f in impls.items() if not isinstance(f, str)]
    peer_names = [n for n in names if not n.startswith("structgen")]
    cols = ["dtype", "V", "batch"] + [f"{n} p50/p90 µs" for n in names] + [f"ours/{n}" for n in peer_names]
    if peer_names:
        cols.append("ours/best peer")
    return "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--dtypes", default="float32", help="comma-separated: float32,bfloat16,float16")
    ap.add_argument("--reps", type=int, default=200, help="timed calls per implementation and size")
    ap.add_argument("--rounds", type=int, default=5, help="alternating timing blocks per size")
    ap.add_argument("--warmup", type=int, default=3, help="untimed calls before each block")
    ap.add_argument("--xgrammar-cuda", action="store_true", help="also time XGrammar's CUDA C++ kernel (compiles on first use)")
    ap.add_argument("--threads", type=int, help="CPU threads for torch and numba (default: theirs)")
    ap.add_argument("--fused", action="store_true", help="time the fused ops instead of apply")
    ap.add_argument("--json", help="write the raw numbers here")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no GPU")
    if args.threads:
        import numba

        torch.set_num_threads(args.threads)
        numba.set_num_threads(args.threads)
    impls = {"structgen": None, "structgen-torch": None}
    impls.update(peers(args.device, args.xgrammar_cuda))
    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "gpu": torch.cuda.get_device_name() if args.device == "cuda" else None,
        "loadavg_1min_at_start": os.getloadavg()[0],
    }
    try:
        import numba

        env["numba"] = numba.__version__
        env["numba_threads"] = numba.get_num_threads()
    except ImportError:
        pass
    print(json.dumps(env))
    if args.fused:
        rows = run_fused(args.device, args.dtypes.split(","), args.reps, args.rounds, args.warmup)
    else:
        print(header(impls), flush=True)
        rows = run(args.device, args.dtypes.split(","), args.reps, args.rounds, args.warmup, args.xgrammar_cuda)
    env["loadavg_1min_at_end"] = os.getloadavg()[0]
    print(f"load average (1 min) at start {env['loadavg_1min_at_start']:.2f}, at end {env['loadavg_1min_at_end']:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"env": env, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
