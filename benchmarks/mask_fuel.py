"""How much of ``Limits.mask_fuel`` real matcher calls use, and what the fuel costs.

    python benchmarks/mask_fuel.py [--sample 200] [--seed 0] [--ambiguous 2000]

1. MaskBench (``../shared/maskbench/dev.jsonl``, Llama-3 tokenizer): every valid
   instance of a stratified sample of schemas is walked token by token; the parser
   work (Earley item additions: the fuel's unit) of each mask and each token is
   recorded.  Prints the largest call and the tail percentiles against the default.
2. A highly ambiguous grammar (``x: x x | "a"``) fed ``a`` after ``a``: work per call
   grows with the text, so this measures what one unit of fuel costs in time and where
   the default stops a call.

The fuel a call used is read from the calling thread's scratch (an internal of this
version); everything else is public API.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import structgen  # noqa: E402
from structgen import _engine  # noqa: E402


def used(m: structgen.Matcher) -> int:
    """Fuel the matcher's last call used (calling thread)."""
    return int(m._E.fuel[0] - m.grammar._local.scratch.meta[_engine.SM_FUEL])


def maskbench(sample: int, seed: int) -> None:
    from maskbench import DEFAULT_DATA, default_tokenizer_dir, load_records, stratified_sample, tokenize_jobs
    from _engines import load_structgen_vocab

    if not Path(DEFAULT_DATA).is_file():
        print(f"(no {DEFAULT_DATA}: MaskBench part skipped)")
        return
    vocab = load_structgen_vocab(default_tokenizer_dir())
    jobs = tokenize_jobs(stratified_sample(load_records(Path(DEFAULT_DATA)), sample, seed), vocab)
    masks, tokens, worst = [], [], (0, "", 0.0)
    compiled = 0
    for job in jobs:
        try:
            g = structgen.compile(job["schema"], vocab)
        except structgen.CompileError:
            continue
        compiled += 1
        out = g.allocate_bitmask()
        for t in job["tests"]:
            if not t["valid"]:
                continue
            m = g.matcher()
            for tok in t["ids"]:
                t0 = time.perf_counter()
                m.fill_bitmask(out)
                dt = time.perf_counter() - t0
                masks.append(used(m))
                if masks[-1] > worst[0]:
                    worst = (masks[-1], job["id"], dt)
                if not m.advance(tok):
                    break
                tokens.append(used(m))
    fuel = structgen.Limits().mask_fuel
    print(f"MaskBench: {len(jobs)} schemas sampled (seed {seed}), {compiled} compiled, {len(masks):,} masks, "
          f"{len(tokens):,} tokens")
    print("| call | p50 | p99 | p99.9 | max | max / default fuel |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, xs in (("mask", masks), ("token", tokens)):
        a = np.array(xs or [0])
        p = np.percentile(a, [50, 99, 99.9])
        print(f"| {name} | {p[0]:,.0f} | {p[1]:,.0f} | {p[2]:,.0f} | {a.max():,} | {a.max() / fuel:.4f} |")
    print(f"largest mask: {worst[0]:,} units in {worst[1]} ({worst[2] * 1e3:.2f} ms)")


C_TEXT = """#include <stdio.h>
static int table[64];
struct node { int key; struct node *next; };
int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
int main(void) {
    int i, total = 0;
    for (i = 0; i < 64; i++) { table[i] = fib(i % 20) * (i + 1) - (i << 2); total += table[i]; }
    while (total > 1000) { total = total / 3 + ((total & 7) ^ 5); if (total % 2) continue; else break; }
    printf("%d %s\\n", total, total > 10 ? "big" : "small");
    return ((((total + 1) * 2) - 3) / 4) % 5;
}
"""
SAMPLES = [
    ("c", C_TEXT),
    ("arithmetic", " + ".join(f"f({i}, x{i} ^ -2) * ((({i} + y) / 3) - z)" for i in range(40))),
    ("sql", "WITH t AS (SELECT a, b FROM x WHERE a > 1) SELECT DISTINCT t.a, count(*) AS n FROM t "
            "LEFT JOIN y ON t.a = y.a AND (y.b IS NULL OR y.b IN (1, 2, 3)) WHERE t.b LIKE 'a%' "
            "GROUP BY t.a HAVING count(*) > 2 ORDER BY n DESC LIMIT 10;"),
    ("json", json.dumps({"items": [{"id": i, "tags": ["x", "y"], "v": [1.5, None, True]} for i in range(40)]})),
]


def grammars() -> None:
    from maskbench import default_tokenizer_dir
    from _engines import load_structgen_vocab

    vocab = load_structgen_vocab(default_tokenizer_dir())
    print("\nThe built-in Lark grammars (grammars/), a sample text each, Llama-3 tokens:")
    print("| grammar | tokens | largest mask | largest token | its ms |")
    print("|---|---:|---:|---:|---:|")
    for name, text in SAMPLES:
        g = structgen.compile(structgen.Lark(structgen.builtin_grammar(name)), vocab)
        m = g.matcher()
        out = g.allocate_bitmask()
        worst_mask = worst_tok = 0
        worst_ms = 0.0
        ids = vocab.encode(text)
        for tok in ids:
            t0 = time.perf_counter()
            m.fill_bitmask(out)
            dt = time.perf_counter() - t0
            if used(m) > worst_mask:
                worst_mask, worst_ms = used(m), dt * 1e3
            if not m.advance(tok):
                raise SystemExit(f"{name}: sample text refused at token {tok}")
            worst_tok = max(worst_tok, used(m))
        print(f"| {name} | {len(ids)} | {worst_mask:,} | {worst_tok:,} | {worst_ms:.2f} |")


def ambiguous(n: int) -> None:
    vocab = structgen.Vocabulary.from_bytes([b"a", b"aa", b"b", None], eos_ids=3)
    g = structgen.compile(structgen.Lark('start: x\nx: x x | "a"'), vocab)
    m = g.matcher(limits=structgen.Limits(mask_fuel=10 ** 15))
    out = g.allocate_bitmask()
    m.fill_bitmask(out)  # kernels loaded
    print(f"\nAmbiguous grammar `x: x x | \"a\"`, after n tokens `a` (default fuel "
          f"{structgen.Limits().mask_fuel:,}):")
    print("| n | mask units | mask ms | ns per unit | default stops it |")
    print("|---:|---:|---:|---:|---|")
    step = max(1, n // 8)
    for i in range(1, n + 1):
        assert m.advance(0)
        if i % step == 0:
            t0 = time.perf_counter()
            m.fill_bitmask(out)
            dt = time.perf_counter() - t0
            u = used(m)
            print(f"| {i:,} | {u:,} | {dt * 1e3:.1f} | {dt * 1e9 / u:.0f} | "
                  f"{'yes' if u > structgen.Limits().mask_fuel else 'no'} |", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=int, default=200, help="MaskBench schemas (stratified sample; 0 skips)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ambiguous", type=int, default=2000, help="tokens fed to the ambiguous grammar (0 skips)")
    args = ap.parse_args(argv)
    if args.sample:
        maskbench(args.sample, args.seed)
    grammars()
    if args.ambiguous:
        ambiguous(args.ambiguous)


if __name__ == "__main__":
    main()
