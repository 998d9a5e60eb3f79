"""The first process after install: import → first mask, each step timed, with numba's
cache empty and then warm.

A fresh install has no numba cache: its first process JIT-compiles every kernel it
calls (``@njit(cache=True)`` writes the machine code to disk for later processes).
This script runs the same steps in child processes that share one empty
``NUMBA_CACHE_DIR``: first cold (nothing cached), then warm (what the cold run wrote):

    import structgen | load a tokenizer, build its Vocabulary | compile a JSON Schema |
    new matcher + first fill_bitmask | 20 more fill/advance steps | generate() on a tiny
    random model (8 tokens)

    python benchmarks/first_process.py [--tokenizer llama3] [--runs 1]

Nothing here reads or writes structgen's own compile cache (``STRUCTGEN_CACHE_DIR`` is
unset in the children).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
marks = {}
def mark(name):
    marks[name] = time.perf_counter() - t0 - sum(marks.values())
import structgen
mark("import structgen")
from structgen.models import bundled_tokenizer
tok = bundled_tokenizer(sys.argv[1])
vocab = structgen.Vocabulary.from_tokenizer(tok)
mark("tokenizer + Vocabulary")
schema = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20},
          "age": {"type": "integer", "minimum": 0, "maximum": 150},
          "tags": {"type": "array", "items": {"type": "string"}}}, "required": ["name", "age"]}
g = structgen.compile(schema, vocab)
mark("compile")
m = g.matcher()
bits = g.allocate_bitmask()
m.fill_bitmask(bits)
mark("first mask")
for t in vocab.encode('{"name": "Ada", "age": 36, "tags": ["x", "y"]}')[:20]:
    assert m.advance(t)
    m.fill_bitmask(bits)
mark("20 more masks")
import torch
torch.set_num_threads(1)
from structgen.models import tiny_random_model
model = tiny_random_model(tok)
r = structgen.generate(model, tok, "Person:", schema=schema, max_tokens=8)
mark("generate, 8 tokens")
print(json.dumps(marks))
"""


def run_child(tokenizer: str, cache_dir: str) -> dict[str, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    env.pop("STRUCTGEN_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", CHILD, tokenizer], env=env, capture_output=True, text=True,
                         check=True, cwd=tempfile.gettempdir())
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", default="llama3", help="a bundled tokenizer (gpt2, llama3, ...)")
    ap.add_argument("--runs", type=int, default=1, help="cold/warm pairs, each with a new empty cache")
    args = ap.parse_args(argv)
    rows = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="structgen-numba-") as cache:
            for kind in ("cold", "warm"):
                marks = run_child(args.tokenizer, cache)
                rows.append({"run": i, "kind": kind, **marks})
                print(f"run {i} {kind}: " + ", ".join(f"{k} {v:.2f} s" for k, v in marks.items())
                      + f"; import to first mask {sum(list(marks.values())[:4]):.2f} s", flush=True)
    steps = [k for k in rows[0] if k not in ("run", "kind")]
    print(f"\n| process | {' | '.join(steps)} | import → first mask |")
    print("|---|" + "---:|" * (len(steps) + 1))
    for r in rows:
        vals = [r[k] for k in steps]
        print(f"| {r['kind']} | " + " | ".join(f"{v:.2f}" for v in vals) + f" | {sum(vals[:4]):.2f} |")
    return rows


if __name__ == "__main__":
    main()
