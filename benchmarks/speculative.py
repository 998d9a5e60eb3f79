"""Speculative decoding on a real model: acceptance, tokens per target pass, time per
token, as ratios against constrained autoregressive decoding in the same run.

Target: SmolLM2-135M-Instruct (``structgen.models``), greedy, its chat template, JSON
Schemas whose outputs repeat themselves (arrays of similar objects) and one without
repetition.  Engines, each on every prompt, alternating:

* ``ar``: ``generate(..., jump_forward="exact")`` (the tokens every drafter must match);
* ``ngram``: ``draft="ngram"`` (prompt and output lookup; forced text is drafted too);
* ``layers-N``: a copy of the target truncated to its first N layers as the draft model.

Every speculative output must equal the ``ar`` one token for token (greedy is
lossless); the script checks it.

    python benchmarks/speculative.py [--layers 8] [--max-tokens 160] [--json out.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

OBJ = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                                        "department": {"type": "string"}},
       "required": ["name", "age", "department"]}
TASKS = [
    ("staff", {"type": "array", "items": OBJ, "minItems": 4, "maxItems": 6},
     "List the staff: Ann (34, sales), Bob (41, sales), Cid (29, support), Dee (52, support), Eve (38, sales)."),
    ("inventory", {"type": "array", "items": {"type": "object", "properties": {
        "sku": {"type": "string"}, "qty": {"type": "integer"}, "warehouse": {"enum": ["north", "south"]}},
        "required": ["sku", "qty", "warehouse"]}, "minItems": 4, "maxItems": 6},
     "Stock: A-100 12 north, A-101 7 north, A-102 0 south, B-200 31 south, B-201 5 north."),
    ("person", OBJ, "Maria Lopez is a 34-year-old nurse in the emergency department."),
]


def truncated(model, n_layers: int):
    """A copy of a Llama-family model that keeps its first ``n_layers`` layers."""
    small = copy.deepcopy(model)
    small.model.layers = small.model.layers[:n_layers]
    small.config.num_hidden_layers = n_layers
    if getattr(small.config, "layer_types", None):
        small.config.layer_types = small.config.layer_types[:n_layers]
    return small


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", type=int, default=8, help="layers of the truncated draft model")
    ap.add_argument("--max-tokens", type=int, default=160)
    ap.add_argument("--k", default="adaptive", help="speculate_k: an int or 'adaptive'")
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args(argv)
    import torch

    import structgen
    from structgen.models import smollm2

    torch.set_num_threads(1)
    model, tok = smollm2()
    k = args.k if args.k == "adaptive" else int(args.k)
    engines = {"ar": None, "ngram": "ngram", f"layers-{args.layers}": truncated(model, args.layers)}
    rows = []
    for name, schema, text in TASKS:
        chat = [{"role": "system", "content": f"Answer in JSON following this schema: {json.dumps(schema)}"},
                {"role": "user", "content": text}]
        ref = None
        for eng, draft in engines.items():
            t0 = time.perf_counter()
            if draft is None:
                r = structgen.generate(model, tok, chat, schema=schema, max_tokens=args.max_tokens,
                                       jump_forward="exact")
            else:
                r = structgen.generate(model, tok, chat, schema=schema, max_tokens=args.max_tokens, draft=draft,
                                       speculate_k=k)
            wall = time.perf_counter() - t0
            if ref is None:
                ref = r
            same = r.tokens == ref.tokens
            rows.append({"task": name, "engine": eng, "tokens": len(r.tokens), "passes": r.forward_passes,
                         "drafted": r.drafted, "accepted": r.accepted, "wall_s": wall, "same_as_ar": same,
                         "stop": r.stop_reason})
            print(f"  {name} {eng}: {len(r.tokens)} tokens, {r.forward_passes} target passes, "
                  f"{r.accepted}/{r.drafted} drafts kept, {wall:.1f} s, same as ar: {same}", file=sys.stderr)
    print(f"\nSmolLM2-135M-Instruct, greedy, {len(TASKS)} prompts, max {args.max_tokens} tokens, speculate_k={k}\n")
    print("| engine | acceptance | tokens per target pass | s per token | ÷ ar, s per token (median over prompts) | identical to ar |")
    print("|---|---:|---:|---:|---:|---|")
    for eng in engines:
        rs = [x for x in rows if x["engine"] == eng]
        toks = sum(x["tokens"] for x in rs)
        acc = sum(x["accepted"] for x in rs) / max(1, sum(x["drafted"] for x in rs)) if eng != "ar" else None
        ratio = statistics.median(
            (x["wall_s"] / x["tokens"]) / (a["wall_s"] / a["tokens"])
            for x, a in zip(rs, [y for y in rows if y["engine"] == "ar"]))
        print(f"| {eng} | {'–' if acc is None else f'{acc:.0%}'} | {toks / sum(x['passes'] for x in rs):.2f} | "
              f"{sum(x['wall_s'] for x in rs) / toks:.3f} | {ratio:.2f} | {all(x['same_as_ar'] for x in rs)} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return {"rows": rows}


if __name__ == "__main__":
    main()
