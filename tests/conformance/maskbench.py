"""MaskBench conformance runner.

Protocol (issue 3): each instance is serialized with ``json.dumps(data,
ensure_ascii=False)``, tokenized with the Llama-3 tokenizer and walked through the
matcher token by token; a valid instance must be accepted with EOS allowed at the
end, an invalid one rejected (at some token or by EOS).  Counted per schema:
compiled or not (with the CompileError), passing (every instance classified right),
validation errors (valid rejected) and invalidation errors (invalid accepted).

    python -m tests.conformance.maskbench            # full run (../shared)
    python -m tests.conformance.maskbench --sample   # committed sample
    python -m tests.conformance.maskbench --peers    # also llguidance and XGrammar

``run(records, ...)`` is the library entry used by ``tests/test_jsonschema_maskbench.py``.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
import time
import warnings
from dataclasses import dataclass, field

from tests.conformance._common import maskbench_full, maskbench_sample, split_of


@dataclass
class SchemaResult:
    id: str
    compiled: bool
    error: str = ""
    compile_s: float = 0.0
    validation_errors: list = field(default_factory=list)     # valid instance rejected
    invalidation_errors: list = field(default_factory=list)   # invalid instance accepted
    n_tests: int = 0

    @property
    def passing(self) -> bool:
        return self.compiled and not self.validation_errors and not self.invalidation_errors


def error_class(msg: str) -> str:
    """A short category for a CompileError message."""
    m = re.match(r"([A-Za-z$]+) cannot be enforced", msg)
    if m:
        return f"unenforceable {m.group(1)}"
    if "exceeds max_states" in msg:
        return "automaton too large"
    if "cannot resolve" in msg:
        return "unresolvable $ref"
    if "accepts no string" in msg:
        return "empty language"
    if "draft 3" in msg:
        return "draft 3"
    return msg.split(":")[0][:60]


def ours(tokenizer_name: str = "llama3", **options):
    """(compile(schema) -> grammar, walk(grammar, text) -> bool); ``options`` go to
    :class:`~structgen.jsonschema.JsonSchema`."""
    from structgen.api import compile as sg_compile
    from structgen.jsonschema import JsonSchema
    from tests._tokenizers import load_tokenizer, load_vocab

    vocab = load_vocab(tokenizer_name)
    tok = load_tokenizer(tokenizer_name)

    def compile_(schema):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return sg_compile(JsonSchema(schema, **options), vocab)

    def walk(grammar, text: str) -> bool:
        m = grammar.matcher()
        for t in tok.encode(text, add_special_tokens=False):
            if not m.advance(int(t)):
                return False
        return m.is_accepting()

    return compile_, walk


def run(records, compile_, walk, *, progress: bool = False) -> list[SchemaResult]:
    from structgen.errors import CompileError

    out = []
    for i, rec in enumerate(records):
        t0 = time.perf_counter()
        try:
            g = compile_(rec["schema"])
        except CompileError as exc:
            out.append(SchemaResult(rec["id"], False, str(exc), time.perf_counter() - t0, n_tests=len(rec["tests"])))
            continue
        except Exception as exc:  # a crash is a bug: report it as such
            out.append(SchemaResult(rec["id"], False, f"CRASH {type(exc).__name__}: {exc}",
                                    time.perf_counter() - t0, n_tests=len(rec["tests"])))
            continue
        r = SchemaResult(rec["id"], True, compile_s=time.perf_counter() - t0, n_tests=len(rec["tests"]))
        for j, t in enumerate(rec["tests"]):
            text = json.dumps(t["data"], ensure_ascii=False)
            ok = walk(g, text)
            if t["valid"] and not ok:
                r.validation_errors.append(j)
            elif ok and not t["valid"]:
                r.invalidation_errors.append(j)
        out.append(r)
        if progress and (i + 1) % 200 == 0:
            print(f"  {i + 1}/{len(records)}", file=sys.stderr, flush=True)
    return out


def summarize(results: list[SchemaResult], title: str) -> dict:
    n = len(results)
    s = {
        "schemas": n,
        "compiled": sum(r.compiled for r in results),
        "passing": sum(r.passing for r in results),
        "validation_errors": sum(len(r.validation_errors) for r in results),
        "invalidation_errors": sum(len(r.invalidation_errors) for r in results),
        "schemas_with_validation_errors": sum(bool(r.validation_errors) for r in results),
        "tests": sum(r.n_tests for r in results),
    }
    times = sorted(r.compile_s for r in results if r.compiled)
    if times:
        s["compile_ms_p50"] = round(1e3 * times[len(times) // 2], 2)
        s["compile_ms_p90"] = round(1e3 * times[int(0.9 * (len(times) - 1))], 2)
        s["compile_ms_max"] = round(1e3 * times[-1], 1)
    print(f"== {title}: " + json.dumps(s))
    return s


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", action="store_true", help="the committed stratified sample")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--peers", action="store_true", help="also run llguidance and XGrammar")
    ap.add_argument("--json", help="write per-schema results here")
    ap.add_argument("--details", action="store_true")
    ap.add_argument("--option", action="append", default=[], metavar="KEY=JSON",
                    help='a JsonSchema option, e.g. --option property_order=\'"any"\'')
    args = ap.parse_args(argv)
    records = maskbench_sample() if args.sample else maskbench_full()
    if records is None:
        sys.exit("../shared/maskbench/dev.jsonl not found (use --sample)")
    if args.limit:
        records = records[:args.limit]
    options = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.option)}
    compile_, walk = ours(**options)
    res = run(records, compile_, walk, progress=True)
    summary = {"structgen": summarize(res, "structgen")}
    errs = collections.Counter(error_class(r.error) for r in res if not r.compiled)
    print("compile errors:", json.dumps(errs.most_common(), indent=0))
    by_split = collections.defaultdict(lambda: [0, 0])
    for r in res:
        by_split[split_of(r.id)][0] += 1
        by_split[split_of(r.id)][1] += r.passing
    print("passing by split:", {k: f"{v[1]}/{v[0]}" for k, v in sorted(by_split.items())})
    if args.details:
        for r in res:
            if r.compiled and not r.passing:
                print("FAIL", r.id, "valid rejected", r.validation_errors, "invalid accepted", r.invalidation_errors)
            elif not r.compiled:
                print("ERR", r.id, r.error[:160])
    if args.peers:
        from tests.conformance import peers

        for name, (pc, pw) in peers.engines().items():
            pres = run(records, pc, pw, progress=True)
            summary[name] = summarize(pres, name)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"summary": summary, "structgen": [r.__dict__ for r in res]}, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
