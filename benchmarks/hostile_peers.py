"""The hostile corpus (tests/hostile) through llguidance, in the same harness.

    python benchmarks/hostile_peers.py [--all] [--timeout 20] [--mem-gib 6] [--only NAME,...]

Every case runs in its own process with the same time and memory limits as for
structgen, after a prelude that gives it a stand-in ``structgen``: ``compile(c)``
builds llguidance's ``LLMatcher`` for the shipped GPT-2 tokenizer from a JSON Schema
(dict, bool or JSON text), ``structgen.Regex(pattern)`` or ``structgen.Lark(text)``.
A case that needs anything else before its compile (``Limits``, a decoder, a file
path of a grammar) is "n/a": only constraints given as data apply to both engines,
and of those only the compile is compared (a case that compiles and then walks a
matcher is a result for llguidance once it compiled; its matcher is not checked).  A grammar that
llguidance refuses (``ValueError``, or a matcher in its error state) is a clear error.
The categories that misuse structgen's own API (matchers, decoders, the command line)
are left out.  Prints both engines' counts over the cases that apply to llguidance,
and each case where the two differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hostile.run import OUTCOMES, parse_args, run_case  # noqa: E402

PRELUDE_LLG = r'''
import json, types
import numpy as np
import llguidance, llguidance.hf
from structgen.models import bundled_tokenizer


class NotApplicable(Exception):
    pass


_tok = llguidance.hf.from_tokenizer(bundled_tokenizer("gpt2"))


def _regex(pattern, **kw):
    if kw or not isinstance(pattern, str):
        raise NotApplicable("Regex options")
    return ("regex", pattern)


def _lark(text, **kw):
    if kw or not isinstance(text, str) or text.endswith(".lark"):
        raise NotApplicable("Lark options or files")
    return ("lark", text)


class _Shim(types.ModuleType):
    def __getattr__(self, name):
        raise NotApplicable(f"structgen.{name}")


structgen = _Shim("structgen")
structgen.Regex = _regex
structgen.Lark = _lark
v = None


def compile(c, **kw):
    if kw:
        raise NotApplicable("compile options")
    if isinstance(c, tuple) and c[0] == "regex":
        g = llguidance.LLMatcher.grammar_from_regex(c[1])
    elif isinstance(c, tuple) and c[0] == "lark":
        g = llguidance.LLMatcher.grammar_from_lark(c[1])
    elif isinstance(c, (dict, bool, str)):
        g = llguidance.LLMatcher.grammar_from_json_schema(c)
    else:
        raise NotApplicable(type(c).__name__)
    m = llguidance.LLMatcher(_tok, g, log_level=0)
    if m.is_error():
        raise ValueError(m.get_error())
    COMPILED.append(True)
    return _Compiled()


COMPILED = []


class _Compiled:
    def __getattr__(self, name):
        raise NotApplicable(f"Grammar.{name}")
'''

CHILD_LLG = r'''
import builtins, json, sys
code = sys.stdin.read()
ns = {"__name__": "__case__"}
try:
    exec(builtins.compile(code, "<case>", "exec"), ns)
    out = {"outcome": "result"}
except AssertionError as e:
    out = {"outcome": "wrong result", "detail": str(e)[:300]}
except BaseException as e:
    na = ns.get("NotApplicable")
    if na is not None and isinstance(e, na) or isinstance(e, (AttributeError, NameError, ImportError)):
        # compiled, then asked for what the stand-in lacks: the compile's result counts
        out = {"outcome": "result" if ns.get("COMPILED") else "n/a", "detail": f"{type(e).__name__}: {str(e)[:200]}"}
    else:
        clear = type(e) in (ValueError, TypeError) and str(e)
        out = {"outcome": "clear error" if clear else "foreign exception",
               "detail": f"{type(e).__module__}.{type(e).__qualname__}: {str(e)[:300]}"}
sys.stdout.flush()
print("\n@@HOSTILE@@" + json.dumps(out))
'''


# misuse of structgen's own API (matchers, decoders, its command line): nothing to compare
API_CATEGORIES = {"matcher misuse", "decoding misuse", "cli"}


def main(argv: list[str] | None = None) -> dict:
    args, cases = parse_args(argv, __doc__)
    cases = [c for c in cases if c.category not in API_CATEGORIES]
    rows = []
    for c in cases:
        peer = run_case(c, args.timeout, args.mem_gib, prelude=PRELUDE_LLG, child=CHILD_LLG)
        if peer["outcome"] == "n/a":
            continue
        ours = run_case(c, args.timeout, args.mem_gib)
        rows.append((c, ours, peer))
        mark = "" if ours["outcome"] == peer["outcome"] else "  <- differs"
        print(f"{c.name:<34} structgen: {ours['outcome']:<17} llguidance: {peer['outcome']:<17}{mark} "
              f"{peer['detail'][:90] if mark else ''}", flush=True)
    print(f"\n{len(rows)} of {len(cases)} constraint inputs apply to llguidance (given as data; compile only; "
          f"the {len(API_CATEGORIES)} categories of structgen API misuse left out)\n")
    print("| engine | inputs | " + " | ".join(OUTCOMES) + " |")
    print("|---|---:|" + "---:|" * len(OUTCOMES))
    for name, k in (("structgen", 1), ("llguidance", 2)):
        counts = {o: sum(r[k]["outcome"] == o for r in rows) for o in OUTCOMES}
        print(f"| {name} | {len(rows)} | " + " | ".join(str(counts[o]) for o in OUTCOMES) + " |")
    return {"rows": len(rows)}


if __name__ == "__main__":
    main()
