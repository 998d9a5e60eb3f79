"""MaskBench side by side: mask speed and correctness of structgen against its peers.

For every schema of MaskBench (``../shared/maskbench/dev.jsonl``) and every selected
engine, in that engine's own single-threaded worker process:

* compile the schema for the Llama-3 tokenizer and time it: TTFM (time to first mask)
  = compile + new matcher + first mask;
* for each test instance, serialize it with ``json.dumps(data, ensure_ascii=False)``,
  tokenize it once with ``structgen.Vocabulary.encode`` (the same ids go to every
  engine) and walk it: before every token fill the bitmask (timed: TBM, time between
  masks) and check the token's bit, then ``advance``; after the last token fill once
  more (also timed) and check the EOS bit;
* classify: a valid instance must be accepted token by token with EOS allowed at the
  end, an invalid one rejected (a token refused, or EOS not allowed at the end).

Counted per engine on the schemas every selected engine was run on: passing schemas
(every instance classified right), compile errors, timeouts, other failures (crash,
memory limit, engine exception), validation errors (valid instances rejected) and
invalidation errors (invalid instances accepted); TBM p50/p90/p99/p99.9/max/mean (µs)
over all masks; TTFM p50/p90/p99 (ms) over compiled schemas (compile timeouts count as
the limit); ratios structgen ÷ each peer; cold figures (worker setup, first compile in a
fresh process) apart from warm ones; peak RSS per worker.

    python benchmarks/maskbench.py --sample 200 --seed 0                 # quick, structgen only
    python benchmarks/maskbench.py --sample 200 --engines structgen,llguidance,xgrammar,xgrammar-compliant
    python benchmarks/maskbench.py --engines all --limit-s 60 --json out.json   # everything

Workers: ``multiprocessing`` with spawn, one long-lived worker per engine fed schema by
schema; a schema that exceeds ``--limit-s`` (compile + all its instances) or
``--mem-limit-mb`` is a timeout / memory failure and its worker is killed and restarted.
Every fresh worker first compiles and walks a trivial warm-up schema (numba loads its
cached kernels, JIT-compiles on a cold cache; its TTFM is the "cold" figure), and the
first real schema after each (re)start of an engine's worker is left out of that
engine's TTFM percentiles and reported apart (in the pairwise ratios, the union of
both engines' such schemas is left out).
structgen's in-memory grammar memo is cleared before each compile (``--keep-caches``
keeps it), and XGrammar's compiler cache is off, so repeated schemas are compiled again.

Peers are optional (the ``bench`` extra: ``llguidance``, ``xgrammar``, ``outlines-core``)
and never runtime dependencies.  See ``docs/performance.md`` for results and method.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import multiprocessing
import os
import platform
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable (here and in spawned workers)
    sys.path.insert(0, str(ROOT))

from benchmarks import _engines

DEFAULT_DATA = ROOT.parent / "shared" / "maskbench" / "dev.jsonl"
DEFAULT_TOKENIZER = ROOT.parent / "shared" / "tokenizers" / "llama3"
STATUSES = ("ok", "compile_error", "timeout", "crash", "memout", "exception")


# ---------------------------------------------------------------------- data

def split_of(record_id: str) -> str:
    """Stratum of a MaskBench record, from its id: ``Github_hard---o1234.json`` ->
    ``Github_hard``, ``BFCL_java_12`` -> ``BFCL_java``, ``Glaiveai2K_7`` -> ``Glaiveai2K``."""
    return record_id.split("---")[0] if "---" in record_id else record_id.rsplit("_", 1)[0]


def load_records(path: Path) -> list[dict[str, Any]]:
    """MaskBench records (one JSON object per line).  Raises ``FileNotFoundError``."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def stratified_sample(records: list[dict[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` records drawn without replacement, proportionally to the size of each stratum
    (:func:`split_of`), at least one per stratum when ``n`` allows; largest remainders
    take the rounding.  Deterministic for a given ``seed``; keeps the dataset's order.
    Raises ``ValueError`` for ``n < 1``."""
    if n < 1:
        raise ValueError(f"--sample must be at least 1, got {n}")
    if n >= len(records):
        return list(records)
    groups: dict[str, list[int]] = collections.defaultdict(list)
    for i, rec in enumerate(records):
        groups[split_of(rec["id"])].append(i)
    names = sorted(groups)
    exact = {k: n * len(groups[k]) / len(records) for k in names}
    quota = {k: math.floor(exact[k]) for k in names}
    if n >= len(names):
        for k in names:
            quota[k] = max(quota[k], 1)
    # Fix the total: add by largest remainder, remove from the largest quotas.
    by_rem = sorted(names, key=lambda k: (-(exact[k] - math.floor(exact[k])), k))
    i = 0
    while sum(quota.values()) < n:
        k = by_rem[i % len(by_rem)]
        if quota[k] < len(groups[k]):
            quota[k] += 1
        i += 1
    while sum(quota.values()) > n:
        k = max(names, key=lambda k: (quota[k], k))
        quota[k] -= 1
    rng = random.Random(seed)
    chosen: list[int] = []
    for k in names:
        chosen.extend(rng.sample(groups[k], quota[k]))
    return [records[i] for i in sorted(chosen)]


def tokenize_jobs(records: list[dict[str, Any]], vocab: Any) -> list[dict[str, Any]]:
    """One job per record: ``{"id", "schema", "tests": [{"valid", "ids"}]}``, each instance
    serialized with ``json.dumps(data, ensure_ascii=False)`` and tokenized with
    ``vocab.encode`` (canonical mid-text tokens)."""
    jobs = []
    for rec in records:
        tests = [{"valid": bool(t["valid"]), "ids": vocab.encode(json.dumps(t["data"], ensure_ascii=False))}
                 for t in rec.get("tests", [])]
        jobs.append({"id": rec["id"], "schema": rec["schema"], "tests": tests})
    return jobs


# ---------------------------------------------------------------------- driving workers

class EngineRun:
    """Drives one engine's worker through the jobs; collects results and worker facts."""

    def __init__(self, name: str, tokenizer_dir: str, options: dict[str, Any], *, limit_s: float,
                 mem_limit_mb: float, startup_limit_s: float, budget_s: float, log_dir: str, quiet: bool):
        self.name = name
        self.tokenizer_dir = tokenizer_dir
        self.options = options
        self.limit_s = limit_s
        self.mem_limit_mb = mem_limit_mb
        self.startup_limit_s = startup_limit_s
        self.budget_s = budget_s
        self.log_path = os.path.join(log_dir, f"{name}.log") if log_dir else ""
        self.quiet = quiet
        self.results: dict[int, dict[str, Any]] = {}
        self.workers: list[dict[str, Any]] = []  # the info each (re)started worker reported
        self.fatal = ""
        self.wall_s = 0.0
        self._proc: Any = None
        self._conn: Any = None
        self._peak_seen_mb = 0.0

    # -- process management
    def _start(self) -> dict[str, Any]:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        saved = {k: os.environ.get(k) for k in _engines.SINGLE_THREAD_ENV}
        os.environ.update(_engines.SINGLE_THREAD_ENV)
        try:
            proc = ctx.Process(target=_engines.worker_main, name=f"maskbench-{self.name}",
                               args=(self.name, self.tokenizer_dir, self.options, child, self.log_path), daemon=True)
            proc.start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        child.close()
        self._proc, self._conn = proc, parent
        deadline = time.monotonic() + self.startup_limit_s
        while time.monotonic() < deadline:
            if parent.poll(0.5):
                try:
                    kind, payload = parent.recv()
                except EOFError:
                    break
                if kind == "ready":
                    self.workers.append(payload)
                    return payload
                self._kill()
                raise RuntimeError(f"{self.name} worker failed to start:\n{payload}")
            if not proc.is_alive():
                break
        alive = proc.is_alive()
        self._kill()
        why = (f"did not start within {self.startup_limit_s:g} s" if alive
               else f"exited with code {proc.exitcode} before it was ready")
        raise RuntimeError(f"{self.name} worker {why} (log: {self.log_path or 'none'}){self._log_tail()}")

    def _log_tail(self, n: int = 1500) -> str:
        """The end of the worker log, indented, or empty."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - n))
                tail = fh.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""
        return ("\n    " + tail.replace("\n", "\n    ")) if tail else ""

    def _kill(self) -> None:
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join(10)
            self._peak_seen_mb = 0.0
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def close(self) -> None:
        """Stop the worker (politely, then by force)."""
        if self._conn is not None and self._proc is not None and self._proc.is_alive():
            try:
                self._conn.send(None)
                self._proc.join(5)
            except (OSError, BrokenPipeError):
                pass
        self._kill()

    # -- one schema
    def _run_one(self, index: int, job: dict[str, Any], first: bool) -> dict[str, Any]:
        conn, proc = self._conn, self._proc
        t0 = time.monotonic()
        try:
            conn.send((index, job))
        except (BrokenPipeError, OSError):
            return self._failed(job, "crash", f"worker gone (exit code {proc.exitcode})", None)
        deadline = t0 + self.limit_s
        ttfm_us = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return self._failed(job, "timeout", f"over the {self.limit_s:g} s limit", ttfm_us)
            try:
                ready = conn.poll(min(left, 0.25))
            except (EOFError, OSError):
                ready = False
            if ready:
                try:
                    kind, idx, payload = conn.recv()
                except (EOFError, OSError):
                    return self._failed(job, "crash", f"worker died (exit code {proc.exitcode})", ttfm_us)
                if idx != index:
                    raise RuntimeError(f"{self.name}: answer for job {idx} while waiting for {index}")
                if kind == "ttfm":
                    ttfm_us = payload
                    continue
                payload["wall_s"] = time.monotonic() - t0
                return payload
            if not proc.is_alive():
                return self._failed(job, "crash", f"worker died (exit code {proc.exitcode})", ttfm_us)
            rss = _engines.current_rss_mb(proc.pid)
            self._peak_seen_mb = max(self._peak_seen_mb, rss)
            if self.mem_limit_mb and rss > self.mem_limit_mb:
                return self._failed(job, "memout", f"RSS {rss:.0f} MiB over the {self.mem_limit_mb:g} MiB limit", ttfm_us)

    def _failed(self, job: dict[str, Any], status: str, why: str, ttfm_us: float | None) -> dict[str, Any]:
        peak = self._peak_seen_mb
        self._kill()
        res = {"id": job["id"], "status": status, "error": why, "compile_us": 0.0,
               "ttfm_us": ttfm_us or 0.0, "compiled": ttfm_us is not None, "tests": [],
               "peak_rss_mb": peak, "restarted": True}
        return res

    # -- all schemas
    def run(self, jobs: list[dict[str, Any]]) -> None:
        """Run every job (stops early when the engine's time budget is spent, or the
        worker cannot start).  Fills :attr:`results`."""
        t_start = time.monotonic()
        n = len(jobs)
        first = True
        try:
            for index, job in enumerate(jobs):
                if self.budget_s and time.monotonic() - t_start > self.budget_s:
                    self._log(f"budget of {self.budget_s:g} s spent after {index}/{n} schemas")
                    break
                if self._proc is None:
                    try:
                        self._start()
                    except RuntimeError as exc:
                        self.fatal = str(exc)
                        self._log(self.fatal)
                        break
                    first = True
                res = self._run_one(index, job, first)
                res["first_in_worker"] = first
                first = False
                self.results[index] = res
                if res["status"] in ("timeout", "crash", "memout"):
                    self._log(f"{job['id']}: {res['status']} ({res['error']}); restarting the worker")
                if (index + 1) % 50 == 0 or index + 1 == n:
                    self._log(f"{index + 1}/{n} schemas, {time.monotonic() - t_start:.0f} s")
        finally:
            self.close()
            self.wall_s = time.monotonic() - t_start

    def _log(self, text: str) -> None:
        if not self.quiet:
            print(f"[{self.name}] {text}", file=sys.stderr, flush=True)


def run_engines(names: list[str], jobs: list[dict[str, Any]], *, jobs_at_once: int, **kw: Any) -> dict[str, EngineRun]:
    """Run each engine over ``jobs`` (``jobs_at_once`` engines concurrently, each in its
    own worker process)."""
    runs = {name: EngineRun(name, **kw) for name in names}
    pending = list(names)
    lock = threading.Lock()

    def loop() -> None:
        while True:
            with lock:
                if not pending:
                    return
                name = pending.pop(0)
            runs[name].run(jobs)

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(max(1, min(jobs_at_once, len(names))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return runs


# ---------------------------------------------------------------------- summary

def percentiles(values: np.ndarray, qs: Iterable[float]) -> list[float]:
    """Percentiles (linear interpolation); NaN for an empty array."""
    if values.size == 0:
        return [float("nan") for _ in qs]
    return [float(v) for v in np.percentile(values, list(qs))]


def test_outcomes(res: dict[str, Any]) -> collections.Counter:
    """Counter of ``valid_ok``, ``invalid_ok``, ``validation_error``, ``invalidation_error``,
    ``exception`` and ``mismatch`` over the instances of one schema result."""
    c: collections.Counter = collections.Counter()
    for t in res.get("tests", []):
        if t.get("exception"):
            c["exception"] += 1
        elif t["valid"]:
            c["valid_ok" if t["accepted"] else "validation_error"] += 1
        else:
            c["invalidation_error" if t["accepted"] else "invalid_ok"] += 1
        if t.get("mismatch"):
            c["mismatch"] += 1
    return c


def is_passing(res: dict[str, Any]) -> bool:
    """Compiled, finished, and every instance classified right."""
    if res["status"] != "ok":
        return False
    c = test_outcomes(res)
    return not (c["validation_error"] or c["invalidation_error"] or c["exception"])


def summarize(runs: dict[str, EngineRun], jobs: list[dict[str, Any]], limit_s: float) -> dict[str, Any]:
    """Per-engine counts and latency figures on the schemas every engine was run on."""
    names = list(runs)
    common = sorted(set.intersection(*(set(r.results) for r in runs.values()))) if runs else []
    firsts = {name: {i for i, res in r.results.items() if res.get("first_in_worker")} for name, r in runs.items()}
    out: dict[str, Any] = {"common": len(common), "engines": {}}
    for name in names:
        r = runs[name]
        excluded_first = firsts[name]
        rows = [r.results[i] for i in common]
        status = collections.Counter(res["status"] for res in rows)
        tests: collections.Counter = collections.Counter()
        for res in rows:
            tests.update(test_outcomes(res))
        masks = [res["mask_ns"] for res in rows if "mask_ns" in res]
        adv = [res["advance_ns"] for res in rows if "advance_ns" in res]
        mask_us = np.concatenate(masks) / 1e3 if masks else np.zeros(0)
        adv_us = np.concatenate(adv) / 1e3 if adv else np.zeros(0)
        ttfm = []
        for i in common:
            res = r.results[i]
            if i in excluded_first:
                continue
            if res["status"] in ("ok", "exception") or (res["status"] == "timeout" and res.get("compiled")):
                ttfm.append(res["ttfm_us"] / 1e3)
            elif res["status"] == "timeout":
                ttfm.append(limit_s * 1e3)  # a compile timeout: at least the limit
        ttfm_ms = np.asarray(ttfm)
        first = [r.results[i] for i in sorted(r.results) if r.results[i].get("first_in_worker")]
        e: dict[str, Any] = {
            "schemas": len(rows),
            "passing": sum(is_passing(res) for res in rows),
            "compile_errors": status["compile_error"],
            "timeouts": status["timeout"],
            "timeouts_in_compile": sum(1 for res in rows if res["status"] == "timeout" and not res.get("compiled")),
            "crashes": status["crash"],
            "memouts": status["memout"],
            "exceptions": status["exception"],
            "instances": sum(len(res.get("tests", [])) for res in rows),
            "validation_errors": tests["validation_error"],
            "invalidation_errors": tests["invalidation_error"],
            "instance_exceptions": tests["exception"],
            "mask_mismatches": tests["mismatch"],
            "masks": int(mask_us.size),
        }
        for q, v in zip(("p50", "p90", "p99", "p99.9", "max"), percentiles(mask_us, (50, 90, 99, 99.9, 100))):
            e[f"tbm_us_{q}"] = v
        e["tbm_us_mean"] = float(mask_us.mean()) if mask_us.size else float("nan")
        for q, v in zip(("p50", "p99"), percentiles(adv_us, (50, 99))):
            e[f"advance_us_{q}"] = v
        e["ttfm_n"] = int(ttfm_ms.size)
        e["ttfm_excluded"] = [jobs[i]["id"] for i in sorted(excluded_first)]
        for q, v in zip(("p50", "p90", "p99", "max"), percentiles(ttfm_ms, (50, 90, 99, 100))):
            e[f"ttfm_ms_{q}"] = v
        e["compile_ms_p50"] = percentiles(np.asarray([res["compile_us"] / 1e3 for res in rows if res["status"] == "ok"]), (50,))[0]
        workers = r.workers
        e["workers_started"] = len(workers)
        e["setup_s"] = workers[0]["setup_s"] if workers else float("nan")
        e["cold_ttfm_ms"] = workers[0]["warmup_ttfm_us"] / 1e3 if workers else float("nan")
        e["restart_cold_ttfm_ms_max"] = max((w["warmup_ttfm_us"] / 1e3 for w in workers[1:]), default=float("nan"))
        e["first_schema_ttfm_ms"] = [res["ttfm_us"] / 1e3 for res in first if res["status"] == "ok"]
        e["rss_start_mb"] = workers[0]["rss_start_mb"] if workers else float("nan")
        e["rss_setup_mb"] = workers[0]["rss_setup_mb"] if workers else float("nan")
        e["peak_rss_mb"] = max((res.get("peak_rss_mb", 0.0) for res in r.results.values()), default=float("nan"))
        e["version"] = workers[0]["version"] if workers else ""
        e["wall_s"] = r.wall_s
        e["fatal"] = r.fatal
        out["engines"][name] = e
    # ratios structgen / peer: on the common set, and on the schemas both ran cleanly
    if "structgen" in runs:
        ours = runs["structgen"]
        out["ratios"] = {}
        for name in names:
            if name == "structgen":
                continue
            peer = runs[name]
            both = [i for i in common if ours.results[i]["status"] == "ok" and peer.results[i]["status"] == "ok"]
            excluded_first = firsts["structgen"] | firsts[name]
            pair: dict[str, Any] = {"schemas_both_ok": len(both)}
            for who, run in (("structgen", ours), (name, peer)):
                m = [run.results[i]["mask_ns"] for i in both]
                mu = np.concatenate(m) / 1e3 if m else np.zeros(0)
                pair[who] = dict(zip(("tbm_us_p50", "tbm_us_p99", "tbm_us_p99.9"), percentiles(mu, (50, 99, 99.9))))
                tt = np.asarray([run.results[i]["ttfm_us"] / 1e3 for i in both if i not in excluded_first])
                pair[who]["ttfm_ms_p50"] = percentiles(tt, (50,))[0]
            a, b = out["engines"]["structgen"], out["engines"][name]
            out["ratios"][name] = {
                "common": {k: _ratio(a[k], b[k]) for k in ("tbm_us_p50", "tbm_us_p99", "tbm_us_p99.9", "ttfm_ms_p50")},
                "both_ok": {k: _ratio(pair["structgen"][k], pair[name][k])
                            for k in ("tbm_us_p50", "tbm_us_p99", "tbm_us_p99.9", "ttfm_ms_p50")},
                "both_ok_schemas": len(both),
            }
    return out


def _ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else float("nan")


def by_split(runs: dict[str, EngineRun], jobs: list[dict[str, Any]], common: list[int]) -> dict[str, dict[str, str]]:
    """``{split: {engine: "passing/total"}}`` on the common schemas."""
    out: dict[str, dict[str, list[int]]] = collections.defaultdict(lambda: collections.defaultdict(lambda: [0, 0]))
    for i in common:
        s = split_of(jobs[i]["id"])
        for name, r in runs.items():
            out[s][name][0] += is_passing(r.results[i])
            out[s][name][1] += 1
    return {s: {n: f"{v[0]}/{v[1]}" for n, v in d.items()} for s, d in sorted(out.items())}


# ---------------------------------------------------------------------- printing

def _f(x: float, nd: int = 1) -> str:
    if isinstance(x, float) and math.isnan(x):
        return "-"
    return f"{x:,.{nd}f}"


_SPEED_HEAD = ("| engine | masks | TBM p50 µs | p90 | p99 | p99.9 | max | mean | advance p50 µs | "
               "TTFM p50 ms | p90 | p99 | compiled schemas |")
_RATIO_NOTE = ("Ratios structgen ÷ peer (below 1: structgen is faster). `common`: every mask/compile of each "
               "engine on the common schemas; `both ok`: only schemas both engines compiled and walked without "
               "timeout or failure.")
_RATIO_HEAD = ("| peer | TBM p50 | TBM p99 | TBM p99.9 | TTFM p50 | both ok: schemas | TBM p50 | TBM p99 | "
               "TBM p99.9 | TTFM p50 |")
_COLD_NOTE = "Cold vs warm, memory (per worker process; setup = imports, tokenizer and the engine's vocabulary):"
_COLD_HEAD = ("| engine | version | setup s | cold TTFM ms (warm-up schema, fresh process) | first real schema TTFM ms | "
              "warm TTFM p50 ms | workers started | RSS at start MiB | RSS after setup MiB | peak RSS MiB | wall s |")


def format_report(summary: dict[str, Any], header: str) -> str:
    """The printed tables (markdown, so they can be pasted into docs)."""
    eng = summary["engines"]
    lines = [header, ""]
    lines.append("| engine | passing | compile errors | timeouts | other failures | validation errors | "
                 "invalidation errors | mask/advance mismatches |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, e in eng.items():
        other = e["crashes"] + e["memouts"] + e["exceptions"]
        lines.append(f"| {name} | {e['passing']}/{e['schemas']} | {e['compile_errors']} | {e['timeouts']} "
                     f"({e['timeouts_in_compile']} in compile) | {other} | {e['validation_errors']} | "
                     f"{e['invalidation_errors']} | {e['mask_mismatches']} |")
    lines += ["", _SPEED_HEAD, "|---|" + "---:|" * 12]
    for name, e in eng.items():
        lines.append(f"| {name} | {e['masks']:,} | {_f(e['tbm_us_p50'])} | {_f(e['tbm_us_p90'])} | {_f(e['tbm_us_p99'])} | "
                     f"{_f(e['tbm_us_p99.9'])} | {_f(e['tbm_us_max'], 0)} | {_f(e['tbm_us_mean'])} | "
                     f"{_f(e['advance_us_p50'])} | {_f(e['ttfm_ms_p50'], 2)} | {_f(e['ttfm_ms_p90'], 2)} | "
                     f"{_f(e['ttfm_ms_p99'], 1)} | {e['ttfm_n']} |")
    if summary.get("ratios"):
        lines += ["", _RATIO_NOTE, "", _RATIO_HEAD, "|---|" + "---:|" * 9]
        for name, r in summary["ratios"].items():
            c, b = r["common"], r["both_ok"]
            lines.append(f"| {name} | {_f(c['tbm_us_p50'], 2)} | {_f(c['tbm_us_p99'], 2)} | {_f(c['tbm_us_p99.9'], 2)} | "
                         f"{_f(c['ttfm_ms_p50'], 2)} | {r['both_ok_schemas']} | {_f(b['tbm_us_p50'], 2)} | "
                         f"{_f(b['tbm_us_p99'], 2)} | {_f(b['tbm_us_p99.9'], 2)} | {_f(b['ttfm_ms_p50'], 2)} |")
    lines += ["", _COLD_NOTE, "", _COLD_HEAD, "|---|---|" + "---:|" * 9]
    for name, e in eng.items():
        first = e["first_schema_ttfm_ms"]
        lines.append(f"| {name} | {e['version']} | {_f(e['setup_s'], 1)} | {_f(e['cold_ttfm_ms'], 1)} | "
                     f"{', '.join(_f(x, 1) for x in first[:3]) or '-'} | {_f(e['ttfm_ms_p50'], 2)} | "
                     f"{e['workers_started']} | {_f(e['rss_start_mb'], 0)} | {_f(e['rss_setup_mb'], 0)} | "
                     f"{_f(e['peak_rss_mb'], 0)} | {_f(e['wall_s'], 0)} |")
    for name, e in eng.items():
        if e["fatal"]:
            lines.append(f"\n{name}: stopped early: {e['fatal']}")
    return "\n".join(lines)


def structgen_failures(run: EngineRun, jobs: list[dict[str, Any]]) -> dict[str, list[str]]:
    """structgen's non-passing schemas grouped by kind (ids with a short reason)."""
    groups: dict[str, list[str]] = collections.defaultdict(list)
    for i, res in sorted(run.results.items()):
        jid = jobs[i]["id"]
        st = res["status"]
        if st == "compile_error":
            groups["compile error: " + _error_class(res["error"])].append(jid)
        elif st != "ok":
            groups[st].append(f"{jid}: {res['error'][:160]}")
        c = test_outcomes(res)
        for kind in ("validation_error", "invalidation_error", "mismatch"):
            if c[kind]:
                idx = [k for k, t in enumerate(res["tests"])
                       if (kind == "mismatch" and t.get("mismatch"))
                       or (kind == "validation_error" and t["valid"] and not t["accepted"] and not t.get("exception"))
                       or (kind == "invalidation_error" and not t["valid"] and t["accepted"])]
                groups[kind].append(f"{jid} tests {idx}")
    return dict(groups)


def _error_class(msg: str) -> str:
    head = msg.split(":")[0] if ":" in msg[:80] else msg[:60]
    for key in ("cannot be enforced", "max_states", "cannot resolve", "accepts no string", "not supported", "unsupported"):
        if key in msg:
            return f"{head[:60]} … {key}" if key not in head else head[:80]
    return head[:80]


# ---------------------------------------------------------------------- main

def default_tokenizer_dir() -> str:
    """``../shared/tokenizers/llama3``, else the committed test fixture of the same tokenizer."""
    if (DEFAULT_TOKENIZER / "tokenizer.json").is_file():
        return str(DEFAULT_TOKENIZER)
    from tests._tokenizers import tokenizer_dir

    return str(tokenizer_dir("llama3"))


def parse_engines(text: str) -> list[str]:
    """``--engines`` value -> engine names (``all`` = every known engine).  ``ValueError``
    names an unknown one."""
    names = list(_engines.ENGINE_NAMES) if text.strip() == "all" else [s.strip() for s in text.split(",") if s.strip()]
    for n in names:
        if n not in _engines.ENGINE_NAMES:
            raise ValueError(f"unknown engine {n!r}; known: {', '.join(_engines.ENGINE_NAMES)} (or 'all')")
    if len(set(names)) != len(names) or not names:
        raise ValueError(f"--engines needs distinct engine names, got {text!r}")
    return names


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="MaskBench JSONL (default: ../shared/maskbench/dev.jsonl)")
    ap.add_argument("--tokenizer", default=None, help="HF tokenizer directory (default: ../shared/tokenizers/llama3)")
    ap.add_argument("--engines", default="structgen",
                    help=f"comma-separated, from {', '.join(_engines.ENGINE_NAMES)}; or 'all' (default: structgen)")
    ap.add_argument("--sample", type=int, default=0, help="stratified sample of N schemas (0: all)")
    ap.add_argument("--seed", type=int, default=0, help="seed of --sample")
    ap.add_argument("--ids", default="", help="only these record ids (comma-separated), e.g. to rerun failures")
    ap.add_argument("--limit-s", type=float, default=30.0, help="time limit per schema, compile + all instances (default 30)")
    ap.add_argument("--mem-limit-mb", type=float, default=8192.0, help="RSS limit per worker (default 8192; 0: none)")
    ap.add_argument("--budget-s", type=float, default=0.0,
                    help="stop an engine after this many seconds; its remaining schemas drop out of the common set")
    ap.add_argument("--startup-limit-s", type=float, default=900.0, help="time allowed for a worker to start (cold JIT)")
    ap.add_argument("--jobs", type=int, default=1, help="engines run at once (default 1: one after another)")
    ap.add_argument("--keep-caches", action="store_true", help="keep structgen's compiled-grammar memo between schemas")
    ap.add_argument("--json", default="", help="write every raw result (per schema, per instance, every mask time) here")
    ap.add_argument("--details", action="store_true", help="print structgen's failures grouped, and passing by split")
    ap.add_argument("--log-dir", default="", help="worker stdout/stderr go here (default: a temporary directory)")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return ap


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print the report; return the summary."""
    args = build_parser().parse_args(argv)
    try:
        names = parse_engines(args.engines)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    tokenizer_dir = args.tokenizer or default_tokenizer_dir()
    records = load_records(Path(args.data))
    n_all = len(records)
    if args.ids:
        wanted = set(args.ids.split(","))
        records = [r for r in records if r["id"] in wanted]
    if args.sample:
        records = stratified_sample(records, args.sample, args.seed)
    load_before = os.getloadavg()

    t0 = time.perf_counter()
    vocab = _engines.load_structgen_vocab(tokenizer_dir)
    jobs = tokenize_jobs(records, vocab)
    warmup_ids = vocab.encode(json.dumps(_engines.WARMUP_INSTANCE, ensure_ascii=False))
    n_inst = sum(len(j["tests"]) for j in jobs)
    n_tok = sum(len(t["ids"]) for j in jobs for t in j["tests"])
    if not args.quiet:
        print(f"{len(jobs)} schemas, {n_inst} instances, {n_tok} tokens (tokenized in {time.perf_counter() - t0:.1f} s); "
              f"engines: {', '.join(names)}", file=sys.stderr, flush=True)

    log_dir = args.log_dir or tempfile.mkdtemp(prefix="maskbench-logs-")
    os.makedirs(log_dir, exist_ok=True)
    runs = run_engines(
        names, jobs, jobs_at_once=args.jobs, tokenizer_dir=tokenizer_dir,
        options={"keep_caches": args.keep_caches, "warmup_ids": warmup_ids},
        limit_s=args.limit_s, mem_limit_mb=args.mem_limit_mb, startup_limit_s=args.startup_limit_s,
        budget_s=args.budget_s, log_dir=log_dir, quiet=args.quiet,
    )
    load_after = os.getloadavg()
    summary = summarize(runs, jobs, args.limit_s)
    what = (f"stratified sample of {len(jobs)} (seed {args.seed})" if args.sample else f"{len(jobs)} schemas") + \
        f" of {n_all} in {Path(args.data).name}"
    header = (f"MaskBench: {what}; {summary['common']} schemas run by every engine; {n_inst} instances, {n_tok:,} tokens; "
              f"tokenizer {Path(tokenizer_dir).name}; limit {args.limit_s:g} s/schema; engines run "
              f"{'one at a time' if args.jobs <= 1 else f'{args.jobs} at a time'}, each single-threaded; "
              f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}); load average "
              f"{load_before[0]:.2f} before, {load_after[0]:.2f} after.")
    print(format_report(summary, header))
    common = sorted(set.intersection(*(set(r.results) for r in runs.values())))
    splits = by_split(runs, jobs, common)
    summary["by_split"] = splits
    summary["load_average"] = {"before": load_before, "after": load_after}
    if args.details:
        print("\nPassing by split:")
        for s, d in splits.items():
            print(f"  {s:24s} " + "  ".join(f"{n}={v}" for n, v in d.items()))
        if "structgen" in runs:
            print("\nstructgen failures:")
            for kind, items in sorted(structgen_failures(runs["structgen"], jobs).items()):
                print(f"  {kind} ({len(items)}):")
                for it in items[:40]:
                    print(f"    {it}")
    if args.json:
        raw = {
            "args": vars(args), "header": header, "summary": summary, "log_dir": log_dir,
            "engines": {name: {"workers": r.workers, "fatal": r.fatal, "wall_s": r.wall_s,
                               "results": [_jsonable(r.results[i], jobs[i]["id"]) for i in sorted(r.results)]}
                        for name, r in runs.items()},
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(raw, fh, default=_json_default)
        if not args.quiet:
            print(f"raw results: {args.json}", file=sys.stderr)
    return summary


def _jsonable(res: dict[str, Any], jid: str) -> dict[str, Any]:
    out = dict(res)
    out["id"] = jid
    for k in ("mask_ns", "advance_ns"):
        if k in out:
            out[k] = out[k].tolist()
    return out


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"not JSON serializable: {type(x).__name__}")


if __name__ == "__main__":
    main()
