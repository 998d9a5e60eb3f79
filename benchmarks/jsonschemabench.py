"""JSONSchemaBench's own metrics for structgen, per split.

JSONSchemaBench (Geng et al. 2025, guidance-ai/jsonschemabench) scores a constrained
decoder on real JSON Schemas with:

* **declared coverage**: the share of schemas the engine compiles;
* **empirical coverage**: the share of schemas for which the generated output is
  valid (parses and validates with jsonschema, format checking on);
* **compliance**: empirical over declared coverage (outputs of compiled schemas that
  validate);
* **compile time** (ms, per compiled schema) and **time per output token** (TPOT,
  ms, model forward + masking, over all generated tokens).

The splits come from the record ids of ``../shared/maskbench/dev.jsonl`` (MaskBench
is the development half of JSONSchemaBench): GlaiveAI, Github trivial / easy / medium
/ hard / ultra, Kubernetes, Snowplow, WashingtonPost, JsonSchemaStore (and the
MaskBench-only ones under "other").  Any local Hugging Face causal LM can be used
(``--model DIR``); without one, a tiny random-weight Llama over the Llama-3 tokenizer
runs offline: its text is meaningless, but every output must still validate, which is
exactly what empirical coverage measures for the engine.

    python benchmarks/jsonschemabench.py --per-split 20                 # tiny random model
    python benchmarks/jsonschemabench.py --model /path/to/model --per-split 50 --json out.json
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPLITS = {
    "Glaiveai2K": "GlaiveAI",
    "Github_trivial": "Github_trivial",
    "Github_easy": "Github_easy",
    "Github_medium": "Github_medium",
    "Github_hard": "Github_hard",
    "Github_ultra": "Github_ultra",
    "Kubernetes": "Kubernetes",
    "Snowplow": "Snowplow",
    "WashingtonPost": "WashingtonPost",
    "JsonSchemaStore": "JsonSchemaStore",
}
ORDER = list(SPLITS.values()) + ["other"]


def split_name(record_id: str) -> str:
    from tests.conformance._common import split_of

    return SPLITS.get(split_of(record_id), "other")


def load_records(path: str | None):
    from tests.conformance._common import maskbench_full, maskbench_sample

    if path:
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    recs = maskbench_full()
    if recs is None:
        print("../shared/maskbench not found: using the committed sample", file=sys.stderr)
        recs = maskbench_sample()
    return recs


def prompt_for(schema) -> str:
    text = json.dumps(schema, ensure_ascii=False)
    if len(text) > 2000:
        text = text[:2000] + "..."
    return f"Produce a JSON value that follows this JSON Schema.\nSchema: {text}\nJSON:"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="a local HF causal-LM directory (default: tiny random Llama)")
    ap.add_argument("--tokenizer", default="llama3", help="bundled tokenizer for the random model")
    ap.add_argument("--data", help="JSONL of records (default: ../shared/maskbench/dev.jsonl)")
    ap.add_argument("--per-split", type=int, default=20, help="schemas per split (0: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--json", help="write per-schema results here")
    ap.add_argument("--option", action="append", default=[], metavar="KEY=JSON", help="a JsonSchema option")
    args = ap.parse_args(argv)

    from structgen.models import load_model_and_tokenizer
    from structgen.api import compile as sg_compile
    from structgen.errors import CompileError, StructgenError
    from structgen.decoding import generate
    from structgen.jsonschema import JsonSchema
    from tests.conformance._common import is_valid, reference_validator

    options = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.option)}
    if args.model:
        model, tok, desc = load_model_and_tokenizer(args.model)
    else:
        from tests._tokenizers import tokenizer_dir

        model, tok, desc = load_model_and_tokenizer(tokenizer_dir=str(tokenizer_dir(args.tokenizer)),
                                                    seed=args.seed)
    print(f"model: {desc}", file=sys.stderr)
    records = load_records(args.data)
    by_split: dict[str, list] = collections.defaultdict(list)
    for r in records:
        by_split[split_name(r["id"])].append(r)
    rng = random.Random(args.seed)
    chosen = []
    for name in ORDER:
        recs = by_split.get(name, [])
        if args.per_split and len(recs) > args.per_split:
            recs = rng.sample(recs, args.per_split)
        chosen.extend((name, r) for r in recs)

    rows = []
    for i, (split, rec) in enumerate(chosen):
        row = {"id": rec["id"], "split": split, "compiled": False, "valid": False, "compile_ms": None,
               "tokens": 0, "gen_s": 0.0, "stop": None, "error": ""}
        constraint = JsonSchema(rec["schema"], **options)
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sg_compile(constraint, tok)  # compile (memoized: generate reuses it)
        except CompileError as exc:
            row["error"] = str(exc)[:200]
            rows.append(row)
            continue
        row["compiled"] = True
        row["compile_ms"] = 1e3 * (time.perf_counter() - t0)
        try:
            res = generate(model, tok, prompt_for(rec["schema"]), schema=constraint, max_tokens=args.max_tokens,
                           temperature=args.temperature, seed=args.seed + i)
        except StructgenError as exc:
            row["error"] = f"generation: {exc}"[:200]
            rows.append(row)
            continue
        row["tokens"] = len(res.tokens)
        row["gen_s"] = res.elapsed
        row["stop"] = res.stop_reason
        if res.stop_reason == "eos":
            try:
                value = json.loads(res.text)
            except ValueError:
                value = None
                row["error"] = "output is not JSON"
            if value is not None or res.text.strip() == "null":
                row["valid"] = is_valid(reference_validator(rec["schema"]), value)
                if not row["valid"]:
                    row["error"] = f"invalid output: {res.text[:200]}"
        else:
            row["error"] = "max_tokens reached"
        rows.append(row)
        if (i + 1) % 20 == 0:
            print(f"  {i + 1}/{len(chosen)}", file=sys.stderr, flush=True)

    print(f"{'split':16s} {'n':>4s} {'declared':>9s} {'empirical':>10s} {'compliance':>11s} "
          f"{'compile ms p50':>15s} {'TPOT ms':>8s} {'unfinished':>10s}")
    for name in ORDER + ["all"]:
        rs = [r for r in rows if name == "all" or r["split"] == name]
        if not rs:
            continue
        n = len(rs)
        comp = [r for r in rs if r["compiled"]]
        valid = [r for r in rs if r["valid"]]
        unfinished = sum(1 for r in comp if r["stop"] == "length")
        ct = sorted(r["compile_ms"] for r in comp)
        toks = sum(r["tokens"] for r in comp)
        secs = sum(r["gen_s"] for r in comp)
        print(f"{name:16s} {n:4d} {len(comp) / n:9.1%} {len(valid) / n:10.1%} "
              f"{(len(valid) / len(comp) if comp else 0):11.1%} {(ct[len(ct) // 2] if ct else 0):15.1f} "
              f"{(1e3 * secs / toks if toks else 0):8.2f} {unfinished:10d}")
    bad = [r for r in rows if r["compiled"] and r["stop"] == "eos" and not r["valid"]]
    print(f"finished outputs that do not validate: {len(bad)}")
    for r in bad[:20]:
        print("  ", r["id"], r["error"])
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
