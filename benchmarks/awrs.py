"""AWRS against full masks on a real model (SmolLM2-135M-Instruct, CPU, one thread).

    python benchmarks/awrs.py [--max-tokens 96] [--particles 1,4] [--repeats 2]

The same sampler runs twice per task and particle count, in the same process (after
one unmeasured run per task, which builds the lazy lexer DFA):
``structgen.decoders.smc.smc`` with AWRS proposals (each step draws from the model's
unconstrained distribution and checks only the drawn tokens with
``Matcher.accepts``; a full mask only after a step that needed more than 16 checks),
and with ``mask_after=0`` (a full mask at every step: what masked decoding computes).
Same model passes (one forward pass of all particles per token, KV cache), same seeds.
Reported per token: constraint checks (AWRS) against the tokens a mask decides (the
vocabulary), masks computed, the constraint's time, and the whole step's time, with
AWRS ÷ masks ratios.  Tasks: two JSON Schemas and a regex.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TASKS = [
    ("person (JSON Schema)", {"type": "object", "properties": {
        "name": {"type": "string", "maxLength": 40}, "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "city": {"type": "string", "maxLength": 40}}, "required": ["name", "age", "city"],
        "additionalProperties": False},
     "Invent a person who lives in a big city: give their name, age and city."),
    ("inventory (JSON Schema)", {"type": "object", "properties": {
        "items": {"type": "array", "maxItems": 4, "items": {"type": "object", "properties": {
            "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{3}$"},
            "count": {"type": "integer", "minimum": 0}}, "required": ["sku", "count"],
            "additionalProperties": False}}}, "required": ["items"], "additionalProperties": False},
     "List three products in stock, each with a SKU like ABC-123 and a count."),
    ("date and time (regex)", r"(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):[0-5][0-9]",
     "When did the first person walk on the moon? Answer with the date and time as YYYY-MM-DD HH:MM."),
]


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--particles", default="1,4", help="particle counts")
    ap.add_argument("--repeats", type=int, default=2, help="seeds per task")
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args(argv)
    import torch

    import structgen
    from structgen.decoders.common import encode_prompts
    from structgen.decoders.lm import HFModel
    from structgen.decoders.smc import smc
    from structgen.models import smollm2

    torch.set_num_threads(1)
    model, tok = smollm2()
    vocab = structgen.api.as_vocabulary(tok)
    rows = []
    for name, constraint, text in TASKS:
        c = structgen.Regex(constraint) if isinstance(constraint, str) else constraint
        g = structgen.compile(c, vocab)
        system = "Answer with the requested text only." if isinstance(constraint, str) else \
            f"Answer in JSON following this schema: {json.dumps(constraint)}"
        ids, _ = encode_prompts(tok, [{"role": "system", "content": system}, {"role": "user", "content": text}])
        lm = HFModel(model, ids[0])
        smc(lm, g, 2, max_tokens=args.max_tokens, seed=99, mask_after=0)  # warm: the lexer DFA of the task
        for n in (int(x) for x in args.particles.split(",")):
            for seed in range(args.repeats):
                for mode, mask_after in (("awrs", 16), ("masks", 0)):
                    r = smc(lm, g, n, max_tokens=args.max_tokens, seed=seed, mask_after=mask_after)
                    best = max(r.particles, key=lambda p: p.log_weight)
                    rows.append({"task": name, "particles": n, "seed": seed, "mode": mode, "steps": r.steps,
                                 "checks": r.checks, "masks": r.masks, "constraint_s": r.constraint_time,
                                 "elapsed_s": r.elapsed, "finished": sum(p.finished for p in r.particles),
                                 "text": best.data.decode("utf-8", "replace")})
                    print(f"  {name} n={n} seed={seed} {mode}: {r.steps} draws, {r.checks} checks, {r.masks} masks, "
                          f"{r.constraint_time:.2f} s constraint / {r.elapsed:.2f} s; {best.data[:60]!r}",
                          file=sys.stderr, flush=True)
    print(f"\nSmolLM2-135M-Instruct, CPU (1 thread), max {args.max_tokens} tokens, {args.repeats} seeds; "
          f"V = {vocab.size:,} tokens a mask decides\n")
    print("| task | particles | AWRS checks per token | AWRS masks per token | constraint ms per token: AWRS | "
          "masks | ÷ | ms per step of all particles (model included): AWRS | masks | ÷ |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, _c, _t in TASKS:
        for n in sorted({r["particles"] for r in rows}):
            a = [r for r in rows if r["task"] == name and r["particles"] == n and r["mode"] == "awrs"]
            m = [r for r in rows if r["task"] == name and r["particles"] == n and r["mode"] == "masks"]
            if not a:
                continue
            steps_a = sum(r["steps"] for r in a)
            steps_m = sum(r["steps"] for r in m)
            ca = 1e3 * sum(r["constraint_s"] for r in a) / steps_a
            cm = 1e3 * sum(r["constraint_s"] for r in m) / steps_m
            ea = 1e3 * sum(r["elapsed_s"] for r in a) / steps_a * n
            em = 1e3 * sum(r["elapsed_s"] for r in m) / steps_m * n
            print(f"| {name} | {n} | {sum(r['checks'] for r in a) / steps_a:.2f} | "
                  f"{sum(r['masks'] for r in a) / steps_a:.3f} | {ca:.3f} | {cm:.3f} | {ca / cm:.2f} | "
                  f"{ea:.1f} | {em:.1f} | {ea / em:.2f} |")
    # what one check and one mask cost, at the first step of each task
    import time

    import numpy as np

    from structgen.decoders.awrs import masked_step

    print("\n| task | µs per accepts() check | µs per full-mask draw (fill, unpack, sample) | checks per mask |")
    print("|---|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for name, constraint, _t in TASKS:
        c = structgen.Regex(constraint) if isinstance(constraint, str) else constraint
        m = structgen.compile(c, vocab).matcher()
        toks = rng.integers(0, vocab.size, 2000).tolist()
        t0 = time.perf_counter()
        for t in toks:
            m.accepts(t)
        check = (time.perf_counter() - t0) / len(toks)
        logp = np.log(np.full(vocab.size, 1.0 / vocab.size))
        t0 = time.perf_counter()
        for _ in range(200):
            masked_step(logp, m, rng)
        mask = (time.perf_counter() - t0) / 200
        print(f"| {name} | {check * 1e6:.1f} | {mask * 1e6:.1f} | {mask / check:.1f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
