"""Smoke tests of the MaskBench harness (``benchmarks/maskbench.py``): structgen only, a
few tiny schemas, one real spawned worker; plus the sampling, the summary and the
worker-failure paths (timeout, crash, memory limit) on stand-in processes."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from pathlib import Path

import sys
import tempfile

import numpy as np
import pytest

from tests._tokenizers import tokenizer_dir


def _benchmarks_importable() -> None:
    """``benchmarks/`` is a folder of scripts, not an installed package, and the suite
    never puts the checkout's root on ``sys.path`` (docs/architecture.md, "Layout and
    import names").  Expose that one folder, as ``benchmarks``, through a directory
    that holds nothing else; spawned workers inherit ``sys.path``."""
    root = Path(__file__).resolve().parent.parent
    shim = Path(tempfile.gettempdir()) / f"structgen-benchpath-{hashlib.sha256(bytes(root)).hexdigest()[:12]}"
    shim.mkdir(exist_ok=True)
    try:
        (shim / "benchmarks").symlink_to(root / "benchmarks", target_is_directory=True)
    except FileExistsError:  # an earlier run, or the other xdist worker
        pass
    sys.path.append(str(shim))


_benchmarks_importable()
from benchmarks import maskbench  # noqa: E402

TINY = [
    {"id": "Tiny_object_1", "schema": {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
     "tests": [{"valid": True, "data": {"a": 12}}, {"valid": False, "data": {"a": "x"}}, {"valid": False, "data": {}}]},
    {"id": "Tiny_string_1", "schema": {"type": "string", "maxLength": 3},
     "tests": [{"valid": True, "data": "héé"}, {"valid": False, "data": "abcd"}]},
    {"id": "Tiny_enum_1", "schema": {"enum": ["x", 1, None]},
     "tests": [{"valid": True, "data": None}, {"valid": True, "data": "x"}, {"valid": False, "data": "y"}]},
    {"id": "Tiny_array_1", "schema": {"type": "array", "items": {"type": "boolean"}, "minItems": 1},
     "tests": [{"valid": True, "data": [True, False]}, {"valid": False, "data": []}]},
    # uniqueItems cannot be enforced token by token: a clean CompileError.
    {"id": "Other_unique_1", "schema": {"type": "array", "uniqueItems": True},
     "tests": [{"valid": True, "data": [1, 2]}]},
]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("maskbench") / "tiny.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in TINY), encoding="utf-8")
    return path


def test_structgen_end_to_end(tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "raw.json"
    summary = maskbench.main(["--data", str(tiny_data), "--tokenizer", str(tokenizer_dir("llama3")),
                              "--engines", "structgen", "--limit-s", "120", "--json", str(out), "--quiet",
                              "--log-dir", str(tmp_path)])
    e = summary["engines"]["structgen"]
    assert summary["common"] == 5
    assert (e["passing"], e["compile_errors"], e["timeouts"], e["validation_errors"], e["invalidation_errors"]) == (4, 1, 0, 0, 0)
    assert e["instances"] == 10  # the compile error's instance is not walked
    assert e["workers_started"] == 1 and e["mask_mismatches"] == 0
    # one mask per token plus the final (EOS) mask of each accepted instance, at least
    assert e["masks"] > 10 and 0 < e["tbm_us_p50"] <= e["tbm_us_p99"] <= e["tbm_us_max"]
    # the first schema of the fresh worker is left out of the TTFM percentiles
    assert e["ttfm_n"] == 3 and e["ttfm_excluded"] == ["Tiny_object_1"]
    assert e["peak_rss_mb"] > e["rss_start_mb"] > 0
    printed = capsys.readouterr().out
    assert "| structgen | 4/5 | 1 |" in printed
    raw = json.loads(out.read_text())
    res = {r["id"]: r for r in raw["engines"]["structgen"]["results"]}
    assert res["Other_unique_1"]["status"] == "compile_error" and "uniqueItems" in res["Other_unique_1"]["error"]
    obj = res["Tiny_object_1"]
    assert [t["accepted"] for t in obj["tests"]] == [True, False, False]
    assert obj["tests"][2]["reject_at"] == 0  # '{}' is one Llama-3 token, refused where "a" is required
    assert len(obj["mask_ns"]) == sum(t["n_tokens"] + 1 for t in obj["tests"] if t["accepted"]) + \
        sum(t["reject_at"] + 1 for t in obj["tests"] if not t["accepted"])


def test_stratified_sample() -> None:
    recs = [{"id": f"A_{i}"} for i in range(80)] + [{"id": f"B---{i}"} for i in range(15)] + [{"id": "C_1"}] * 5
    s = maskbench.stratified_sample(recs, 20, seed=3)
    assert len(s) == 20
    counts = {k: sum(maskbench.split_of(r["id"]) == k for r in s) for k in ("A", "B", "C")}
    assert counts == {"A": 16, "B": 3, "C": 1}
    assert s == maskbench.stratified_sample(recs, 20, seed=3)
    assert s != maskbench.stratified_sample(recs, 20, seed=4)
    assert [recs.index(r) for r in s if r["id"] != "C_1"] == sorted(recs.index(r) for r in s if r["id"] != "C_1")
    # every stratum is represented once n allows it, and the total stays n
    assert {maskbench.split_of(r["id"]) for r in maskbench.stratified_sample(recs, 3, seed=0)} == {"A", "B", "C"}
    assert maskbench.stratified_sample(recs, 500, seed=0) == recs
    with pytest.raises(ValueError, match="--sample"):
        maskbench.stratified_sample(recs, 0, seed=0)


def test_parse_engines() -> None:
    assert maskbench.parse_engines("all")[0] == "structgen"
    assert maskbench.parse_engines("structgen, llguidance") == ["structgen", "llguidance"]
    with pytest.raises(ValueError, match="unknown engine 'xgr'"):
        maskbench.parse_engines("structgen,xgr")
    with pytest.raises(ValueError, match="distinct"):
        maskbench.parse_engines("structgen,structgen")


def _stand_in(target, args) -> tuple:
    """A spawned process that never answers; the caller keeps the pipe's other end open."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=target, args=args, daemon=True)
    proc.start()
    return proc, parent, child


@pytest.mark.parametrize("target,args,mem,status", [
    (time.sleep, (60,), 0.0, "timeout"),
    (os._exit, (3,), 0.0, "crash"),
    (time.sleep, (60,), 0.5, "memout"),
])
def test_worker_failures_kill_and_report(target, args, mem: float, status: str) -> None:
    run = maskbench.EngineRun("structgen", tokenizer_dir="", options={}, limit_s=1.5, mem_limit_mb=mem,
                              startup_limit_s=1.0, budget_s=0.0, log_dir="", quiet=True)
    run._proc, run._conn, other_end = _stand_in(target, args)
    proc = run._proc
    t0 = time.monotonic()
    res = run._run_one(0, {"id": "x", "schema": {}, "tests": []}, first=True)
    assert res["status"] == status and res["id"] == "x" and not res["compiled"]
    assert time.monotonic() - t0 < 10
    assert run._proc is None and not proc.is_alive()
    other_end.close()


def test_summary_on_synthetic_results() -> None:
    class Fake:
        def __init__(self, results, workers):
            self.results, self.workers, self.wall_s, self.fatal = results, workers, 1.0, ""

    w = [{"setup_s": 1.0, "warmup_ttfm_us": 5e3, "rss_start_mb": 100.0, "rss_setup_mb": 150.0, "version": "x"}]

    def ok(ttfm_ms, masks_us, tests, first=False):
        return {"status": "ok", "ttfm_us": ttfm_ms * 1e3, "compile_us": ttfm_ms * 1e3, "first_in_worker": first,
                "mask_ns": np.asarray(masks_us, dtype=np.int64) * 1000, "advance_ns": np.ones(1, dtype=np.int64),
                "tests": tests, "peak_rss_mb": 200.0}

    good = [{"valid": True, "accepted": True}, {"valid": False, "accepted": False}]
    ours = Fake({0: ok(1, [10, 20], good, first=True), 1: ok(2, [30], good), 2: ok(4, [40], [{"valid": False, "accepted": True}]),
                 3: {"status": "timeout", "ttfm_us": 0.0, "compiled": False, "tests": [], "compile_us": 0.0}}, w)
    peer = Fake({0: ok(1, [5], good, first=True), 1: ok(1, [10], good), 2: {"status": "compile_error", "ttfm_us": 0.0,
                 "compile_us": 1.0, "tests": [], "error": "no"}, 3: ok(3, [20], good)}, w)
    jobs = [{"id": f"S_{i}"} for i in range(4)]
    s = maskbench.summarize({"structgen": ours, "peer": peer}, jobs, limit_s=10.0)
    a, b = s["engines"]["structgen"], s["engines"]["peer"]
    assert (a["passing"], a["timeouts"], a["invalidation_errors"], a["masks"]) == (2, 1, 1, 4)
    assert (b["passing"], b["compile_errors"], b["masks"]) == (3, 1, 3)
    # TTFM: schema 0 left out (first in a worker); the compile timeout counts as the limit
    assert a["ttfm_n"] == 3 and a["ttfm_ms_max"] == 10_000.0 and a["ttfm_ms_p50"] == 4.0
    assert b["ttfm_n"] == 2 and b["ttfm_ms_p50"] == 2.0
    assert a["tbm_us_p50"] == 25.0 and b["tbm_us_p50"] == 10.0
    r = s["ratios"]["peer"]
    assert r["common"]["tbm_us_p50"] == 2.5 and r["both_ok_schemas"] == 2
    assert r["both_ok"]["tbm_us_p50"] == pytest.approx(20.0 / 7.5) and r["both_ok"]["ttfm_ms_p50"] == 2.0
    text = maskbench.format_report(s, "title")
    assert "| structgen | 2/4 | 0 | 1 (1 in compile) |" in text and "| peer | 2.50 |" in text
