"""Run the hostile corpus, each input in its own process with a time and memory limit.

    python -m tests.hostile.run [--all] [--timeout 20] [--mem-gib 6] [--only NAME,...] [--json out.json]

Prints one line per case and the counts: inputs, results, clear errors, foreign
exceptions, wrong results, hangs, crashes (see ``corpus.py`` for what each means).
Without ``--all`` only the fast cases run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from .corpus import CASES, PRELUDE, Case

ROOT = Path(__file__).resolve().parents[2]
OUTCOMES = ("result", "clear error", "foreign exception", "wrong result", "hang", "crash")

_CHILD = r'''
import builtins, json, sys
code = sys.stdin.read()
try:
    exec(builtins.compile(code, "<case>", "exec"), {"__name__": "__case__"})
    out = {"outcome": "result"}
except AssertionError as e:
    out = {"outcome": "wrong result", "detail": str(e)[:300]}
except BaseException as e:
    from structgen.errors import StructgenError
    clear = isinstance(e, StructgenError) or (type(e) in (ValueError, TypeError) and str(e))
    out = {"outcome": "clear error" if clear else "foreign exception",
           "detail": f"{type(e).__module__}.{type(e).__qualname__}: {str(e)[:300]}"}
sys.stdout.flush()
print("\n@@HOSTILE@@" + json.dumps(out))
'''


def run_case(case: Case, timeout: float = 20.0, mem_gib: float = 6.0, *, prelude: str = PRELUDE,
             child: str = _CHILD) -> dict:
    """One case in a fresh interpreter: ``{"name", "category", "outcome", "detail", "seconds"}``.
    ``prelude``/``child``: what runs before the case and how its end is classified
    (another engine's harness passes its own)."""
    def limits() -> None:
        if mem_gib > 0:
            cap = int(mem_gib * (1 << 30))
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-c", child], input=prelude + case.code, capture_output=True,
                              text=True, timeout=timeout, preexec_fn=limits, env=env, cwd=str(ROOT))
    except subprocess.TimeoutExpired:
        return {"name": case.name, "category": case.category, "outcome": "hang",
                "detail": f"no answer in {timeout:g} s", "seconds": timeout}
    dt = time.perf_counter() - t0
    marker = proc.stdout.rfind("@@HOSTILE@@")
    if proc.returncode != 0 or marker < 0:
        tail = (proc.stderr or proc.stdout)[-300:]
        return {"name": case.name, "category": case.category, "outcome": "crash",
                "detail": f"exit {proc.returncode}: {tail}", "seconds": dt}
    out = json.loads(proc.stdout[marker + len("@@HOSTILE@@"):])
    return {"name": case.name, "category": case.category, "detail": "", **out, "seconds": round(dt, 2)}


def parse_args(argv: list[str] | None, doc: str | None, extra=()) -> tuple[argparse.Namespace, list[Case]]:
    """The runners' common options (``--all --timeout --mem-gib --only`` and ``extra``
    flag names taking a string) and the cases they select."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--all", action="store_true", help="also the slow cases")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--mem-gib", type=float, default=6.0)
    ap.add_argument("--only", default="", help="comma-separated case names")
    for flag in extra:
        ap.add_argument(flag, default="")
    args = ap.parse_args(argv)
    only = set(filter(None, args.only.split(",")))
    return args, [c for c in CASES if (args.all or c.fast) and (not only or c.name in only)]


def main(argv: list[str] | None = None) -> dict:
    args, cases = parse_args(argv, __doc__, extra=("--json",))
    rows = []
    for c in cases:
        r = run_case(c, args.timeout, args.mem_gib)
        rows.append(r)
        print(f"{r['outcome']:>17}  {c.category:>15}  {c.name:<36} {r['seconds']:>6.1f} s  {r['detail'][:110]}",
              flush=True)
    counts = {k: sum(r["outcome"] == k for r in rows) for k in OUTCOMES}
    print()
    print("| inputs | " + " | ".join(OUTCOMES) + " |")
    print("|---:|" + "---:|" * len(OUTCOMES))
    print(f"| {len(rows)} | " + " | ".join(str(counts[k]) for k in OUTCOMES) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return counts


if __name__ == "__main__":
    main()
