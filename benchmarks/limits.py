"""What each default of structgen.Limits allows: an input that just fits each limit,
compiled in a fresh process (numba's cache warm), with its wall time and peak memory.

    python benchmarks/limits.py [--scale 1.0]

``--scale`` shrinks the inputs (0.1: a quick look).  Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r'''
import json, resource, sys, time
import structgen
from structgen.vocab import Vocabulary
v = Vocabulary.from_token_bytes([bytes([i]) for i in range(256)] + [None], eos_ids=[256])
structgen.compile({"type": "string"}, v)  # imports and cached kernels loaded
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
ns = {"structgen": structgen}
code = sys.stdin.read()
t = time.perf_counter()
try:
    exec(code, ns)  # a Regex or Lark compiles its terminals as it is made
    g = structgen.compile(ns["constraint"], v)
    out = f"{len(g.tables.terminal_names)} terminals, {g.tables.n_rules} rules"
except structgen.CompileError as e:
    out = f"refused: {str(e)[:80]}"
dt = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": dt, "rss_mib": peak / 1024, "rss_before_mib": before / 1024, "out": out}))
'''


def cases(scale: float) -> list[tuple[str, str, str]]:
    n = lambda x: max(1, int(x * scale))  # noqa: E731
    return [
        ("max_terminals = 4,000", f"an enum of {n(3990):,} objects {{\"k\": i}}",
         f'constraint = {{"enum": [{{"k": i}} for i in range({n(3990)})]}}'),
        ("max_rules = 200,000", f"an object of {n(1500):,} optional properties",
         f'constraint = {{"type": "object", "properties": {{f"p{{i}}": {{"type": "integer"}} '
         f'for i in range({n(1500)})}}}}'),
        ("max_dfa_states = 50,000", "a regex whose DFA has 2^15 states, (a|b)*a(a|b){14}",
         'constraint = structgen.Regex("(a|b)*a(a|b){14}")'),
        ("max_dfa_states = 50,000", "the same with {15}: 2^16 states",
         'constraint = structgen.Regex("(a|b)*a(a|b){15}")'),
        ("max_nesting = 256", f"arrays nested {n(250)} deep",
         f'constraint = {{"type": "string"}}\nfor _ in range({n(250)}):\n'
         f'    constraint = {{"type": "array", "items": constraint}}'),
        ("(no limit hit)", "an enum of 10,000 integers",
         'constraint = {"enum": list(range(10000))}'),
    ]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args(argv)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    print("| limit (default) | input | compile s | peak RSS MiB (process after imports) | result |")
    print("|---|---|---:|---:|---|")
    for limit, what, code in cases(args.scale):
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _CHILD], input=code, text=True, capture_output=True, env=env,
                              timeout=900)
        if proc.returncode != 0:
            print(f"| {limit} | {what} | – | – | failed: {proc.stderr[-200:]!r} |")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"| {limit} | {what} | {r['seconds']:.2f} | {r['rss_mib']:.0f} ({r['rss_before_mib']:.0f}) "
              f"| {r['out']} |", flush=True)
        del t


if __name__ == "__main__":
    main()
