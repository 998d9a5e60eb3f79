"""Time per mask on a Lark grammar, and batched filling (``fill_bitmasks``) scaling.

Part 1: the shipped ``grammars/json.lark`` (or ``--grammar``) on the Llama-3 tokenizer
(or ``--tokenizer``): the JSON documents of ``tests/data/grammars/json`` are tokenized
canonically and walked (the ``valid`` documents); before every token ``Matcher.fill_bitmask`` is timed
(``perf_counter_ns``, after one warm-up pass over the corpus so numba and the lazy
lexer states are warm).  Prints p50/p90/p99/max µs over all masks.

Part 2: ``structgen.fill_bitmasks(matchers, bitmask_2d, threads=N)`` on a batch of
``--batch`` matchers placed at different positions of those documents (a mix of
states, as a server batch has), for N = 1 .. ``--max-threads``: median wall time per
batch and the speed-up over N = 1 (and over a Python loop of ``fill_bitmask``).

    python benchmarks/fill_masks.py
    python benchmarks/fill_masks.py --grammar sql --batch 64 --max-threads 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def corpus(name: str) -> list[str]:
    folder = ROOT / "tests" / "data" / "grammars" / name / "valid"
    texts = []
    for p in sorted(folder.glob("*")):
        if p.is_file():
            texts.append(p.read_text(encoding="utf-8"))
    if not texts:
        raise SystemExit(f"no corpus files in {folder}")
    return texts


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--grammar", default="json", help="shipped grammar name (json, sql, c, arithmetic)")
    ap.add_argument("--tokenizer", default="llama3", help="committed test tokenizer name")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args(argv)

    import numba

    import structgen
    from tests._tokenizers import load_vocab

    vocab = load_vocab(args.tokenizer)
    t0 = time.perf_counter()
    grammar = structgen.compile(structgen.Lark(args.grammar), vocab)
    compile_ms = (time.perf_counter() - t0) * 1e3
    docs = [vocab.encode(t) for t in corpus(args.grammar)]
    out = grammar.allocate_bitmask()

    def walk(record: list[float] | None) -> None:
        for ids in docs:
            m = grammar.matcher()
            for tid in ids:
                t = time.perf_counter_ns()
                m.fill_bitmask(out)
                if record is not None:
                    record.append((time.perf_counter_ns() - t) / 1e3)
                if not m.advance(tid):
                    raise SystemExit("corpus document rejected: the grammar and corpus disagree")

    walk(None)
    times: list[float] = []
    walk(times)
    a = np.asarray(times)
    print(f"{args.grammar}.lark on {args.tokenizer} ({vocab.size} ids): compile {compile_ms:.0f} ms, "
          f"{len(docs)} documents, {len(a)} masks")
    print(f"fill_bitmask µs: p50 {np.percentile(a, 50):.1f}  p90 {np.percentile(a, 90):.1f}  "
          f"p99 {np.percentile(a, 99):.1f}  max {a.max():.1f}  mean {a.mean():.1f}")

    # part 2: a batch of matchers at assorted positions
    rng = np.random.default_rng(0)
    matchers = []
    for i in range(args.batch):
        ids = docs[i % len(docs)]
        m = grammar.matcher()
        for tid in ids[: int(rng.integers(0, len(ids)))]:
            m.advance(tid)
        matchers.append(m)
    masks = np.zeros((len(matchers), grammar.n_words), dtype=np.int32)

    def timed(fn) -> float:
        fn()
        samples = []
        for _ in range(args.repeats):
            t = time.perf_counter_ns()
            fn()
            samples.append((time.perf_counter_ns() - t) / 1e3)
        return statistics.median(samples)

    loop = timed(lambda: [m.fill_bitmask(masks[i]) for i, m in enumerate(matchers)])
    print(f"\nbatch of {len(matchers)}: Python loop of fill_bitmask {loop:.0f} µs "
          f"({loop / len(matchers):.1f} µs/row); numba threads available {numba.config.NUMBA_NUM_THREADS}")
    print("| threads | µs per batch (median) | µs per row | speed-up vs 1 thread | vs Python loop |")
    print("|---:|---:|---:|---:|---:|")
    base = None
    for n in range(1, args.max_threads + 1):
        us = timed(lambda n=n: structgen.fill_bitmasks(matchers, masks, threads=n))
        base = base or us
        print(f"| {n} | {us:.0f} | {us / len(matchers):.1f} | {base / us:.2f} | {loop / us:.2f} |")


if __name__ == "__main__":
    main()
