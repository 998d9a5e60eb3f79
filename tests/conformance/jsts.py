"""JSON-Schema-Test-Suite conformance runner (draft 2020-12 and optional/format).

For each test group the schema is compiled (a CompileError makes every test of the
group *unsupported*); each instance is serialized with ``json.dumps(data,
ensure_ascii=False)``, tokenized (Llama-3 by default; ``--bytes`` feeds single
bytes) and walked through the matcher.  A valid instance must be accepted with EOS
allowed at the end, an invalid one rejected at some token or by EOS.  Outcomes:
``correct``, ``wrong_accept``, ``wrong_reject``, ``unsupported``.

    python -m tests.conformance.jsts                  # totals and per-keyword table
    python -m tests.conformance.jsts --update         # rewrite the expected results
    python -m tests.conformance.jsts --peers          # also llguidance and XGrammar

``tests/conformance/jsts_expected.json`` holds the committed outcome of every test;
``tests/test_jsonschema_conformance.py`` fails on any regression (a test that was
correct is not any more, or a new wrong accept) and asks for ``--update`` after an
improvement.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import warnings
from pathlib import Path

from tests.conformance._common import jsts

EXPECTED = Path(__file__).resolve().parent / "jsts_expected.json"
OUTCOMES = ("correct", "wrong_accept", "wrong_reject", "unsupported")


def ours(tokenizer: str = "llama3"):
    """(compile(schema, remotes) -> grammar, walk(grammar, text) -> bool)."""
    from structgen.api import compile as sg_compile
    from structgen.jsonschema import JsonSchema

    if tokenizer == "bytes":
        from tests.conformance._common import byte_vocab

        vocab = byte_vocab()

        def encode(text: str) -> list[int]:
            return list(text.encode())
    else:
        from tests._tokenizers import load_tokenizer, load_vocab

        vocab = load_vocab(tokenizer)
        tok = load_tokenizer(tokenizer)

        def encode(text: str) -> list[int]:
            return tok.encode(text, add_special_tokens=False)

    def compile_(schema, remotes):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return sg_compile(JsonSchema(schema, remotes=remotes), vocab)

    def walk(grammar, text: str) -> bool:
        m = grammar.matcher()
        for t in encode(text):
            if not m.advance(int(t)):
                return False
        return m.is_accepting()

    return compile_, walk


def run(compile_, walk, *, files: list[str] | None = None) -> dict[str, str]:
    """Outcome per test id ``file#group#test``."""
    from structgen.errors import CompileError

    data = jsts()
    remotes = data["remotes"]
    out: dict[str, str] = {}
    for fname, groups in sorted(data["groups"].items()):
        if files and not any(f in fname for f in files):
            continue
        for gi, group in enumerate(groups):
            try:
                g = compile_(group["schema"], remotes)
            except CompileError:
                g = None
            except Exception as exc:  # a crash is a bug; count it as unsupported, loudly
                print(f"CRASH {fname}#{gi}: {type(exc).__name__}: {exc}", file=sys.stderr)
                g = None
            for ti, test in enumerate(group["tests"]):
                tid = f"{fname}#{gi}#{ti}"
                if g is None:
                    out[tid] = "unsupported"
                    continue
                ok = walk(g, json.dumps(test["data"], ensure_ascii=False))
                out[tid] = "correct" if ok == test["valid"] else ("wrong_accept" if ok else "wrong_reject")
    return out


def per_keyword(results: dict[str, str]) -> dict[str, dict[str, int]]:
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for tid, outcome in results.items():
        table[tid.split("#")[0]][outcome] += 1
    return {k: {o: v[o] for o in OUTCOMES if v[o]} for k, v in sorted(table.items())}


def totals(results: dict[str, str]) -> dict[str, int]:
    c = collections.Counter(results.values())
    return {o: c[o] for o in OUTCOMES}


def compare(expected: dict[str, str], got: dict[str, str]) -> tuple[list[str], list[str]]:
    """(regressions, improvements) between two result maps."""
    regressions, improvements = [], []
    for tid, old in expected.items():
        new = got.get(tid)
        if new is None or new == old:
            continue
        if old == "correct" or new == "wrong_accept":
            regressions.append(f"{tid}: {old} -> {new}")
        elif new == "correct":
            improvements.append(f"{tid}: {old} -> {new}")
    return regressions, improvements


def load_expected() -> dict[str, str]:
    return json.loads(EXPECTED.read_text())["results"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", default="llama3", help='a test tokenizer name, or "bytes"')
    ap.add_argument("--update", action="store_true", help="rewrite jsts_expected.json")
    ap.add_argument("--peers", action="store_true", help="also run llguidance and XGrammar")
    ap.add_argument("--show", choices=OUTCOMES, help="list the tests with this outcome")
    ap.add_argument("files", nargs="*", help="only these test files (substring match)")
    args = ap.parse_args(argv)
    compile_, walk = ours(args.tokenizer)
    res = run(compile_, walk, files=args.files or None)
    print("structgen:", json.dumps(totals(res)))
    for k, v in per_keyword(res).items():
        print(f"  {k:45s} {v}")
    if args.show:
        for tid, o in sorted(res.items()):
            if o == args.show:
                print(" ", tid)
    if args.update:
        if args.files:
            sys.exit("--update needs a full run (no file filter)")
        EXPECTED.write_text(json.dumps({
            "tokenizer": args.tokenizer, "totals": totals(res), "per_keyword": per_keyword(res),
            "results": dict(sorted(res.items()))}, indent=1) + "\n")
        print(f"wrote {EXPECTED}")
    elif EXPECTED.is_file() and not args.files:
        reg, imp = compare(load_expected(), res)
        print(f"vs expected: {len(reg)} regressions, {len(imp)} improvements")
        for r in reg:
            print("  REGRESSION", r)
    if args.peers:
        from tests.conformance import peers

        for name, (pc, pw) in peers.engines(schema_remotes=True).items():
            pres = run(pc, pw, files=args.files or None)
            print(f"{name}:", json.dumps(totals(pres)))


if __name__ == "__main__":
    main()
