"""Terminal DFA compilation time on MaskBench schemas (a part of time to first mask).

Collects every distinct :class:`~structgen.ir.TerminalDef` that
``JsonSchema(schema).to_ir()`` produces over a MaskBench sample (schemas whose
``to_ir`` raises :class:`~structgen.errors.CompileError` are skipped), warms numba
up, then times :func:`structgen.dfa.compile_terminal` on each terminal with the
memo cleared (``compile_terminal.cache_clear()`` before every terminal, so its
``intersect``/``exclude`` members are compiled again too).  Caches of sub-parts
(UTF-8 fragments of character classes, case-folding closures ...) stay as a warm
process has them; ``--cold`` clears every cache of ``structgen.dfa`` and
``structgen.regex_syntax`` before each terminal as well.

Each terminal is timed ``--repeat`` times (memo cleared each time) and its median
is kept.  Reports, per kind of terminal (literal, plain regex, search, intersect,
exclude, json_string: the first that applies, in reverse order), the count and
the p50/p90/p99/max/total time, the slowest terminals, and per schema the total
over its distinct terminals (p50/p90/p99/max).

```sh
. .venv/bin/activate
python benchmarks/terminal_compile.py --sample 300 --seed 0
python benchmarks/terminal_compile.py --sample 300 --seed 0 --cold --top 20
```

``--write-reference FILE`` instead writes the sample's distinct terminals with a digest
of each one's DFA (or its error) as gzipped JSON lines: the fixture
``tests/fixtures/dfa_reference.jsonl.gz`` that ``tests/test_dfa.py`` compares the
compiler against (it was written by the compiler before the fast paths existed).
"""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(ROOT))

from benchmarks.maskbench import DEFAULT_DATA, load_records, stratified_sample  # noqa: E402
from structgen import dfa as _dfa  # noqa: E402
from structgen import regex_syntax as _rx  # noqa: E402
from structgen.errors import CompileError  # noqa: E402
from structgen.ir import TerminalDef  # noqa: E402
from structgen.jsonschema import JsonSchema  # noqa: E402

KINDS = ("literal", "regex", "search", "intersect", "exclude", "json_string")


def kind_of(t: TerminalDef) -> str:
    """The kind a terminal is reported under (the most expensive feature it uses)."""
    if t.json_string:
        return "json_string"
    if t.exclude:
        return "exclude"
    if t.intersect:
        return "intersect"
    if t.search:
        return "search"
    if t.literal:
        return "literal"
    return "regex"


def collect(records: list[dict[str, Any]]) -> tuple[list[list[TerminalDef]], list[str], int]:
    """Per schema, its distinct terminals (schemas that fail to compile are left out);
    the ids of the kept schemas; the number skipped."""
    per_schema: list[list[TerminalDef]] = []
    ids: list[str] = []
    skipped = 0
    for rec in records:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ir = JsonSchema(rec["schema"]).to_ir()
        except (CompileError, RecursionError):
            skipped += 1
            continue
        per_schema.append(list(dict.fromkeys(ir.terminals.values())))
        ids.append(rec["id"])
    return per_schema, ids, skipped


def clear_all_caches() -> None:
    """Clear the memo and every ``functools`` cache of the DFA compiler and the regex parser."""
    for mod in (_dfa, _rx):
        for name in dir(mod):
            fn = getattr(mod, name)
            if callable(fn) and hasattr(fn, "cache_clear") and getattr(fn, "__module__", None) == mod.__name__:
                fn.cache_clear()


def warm_up() -> float:
    """Compile (and so JIT-load) every kernel once on terminals of every kind; seconds taken."""
    t0 = time.perf_counter()
    samples = [
        TerminalDef("abc", literal=True),
        TerminalDef(r"[a-z]+\d{2,4}"),
        TerminalDef(r"^x", dialect="ecma", search=True),
        TerminalDef(r"[0-9]+", intersect=(TerminalDef(r"(?s).{2,4}"),)),
        TerminalDef(r'"[a-z]*"', exclude=(TerminalDef('"ab"', literal=True),)),
        TerminalDef(r"[a-z]{1,3}", json_string=True),
    ]
    for t in samples:
        _dfa.compile_terminal(t)
    _dfa.compile_terminal.cache_clear()
    return time.perf_counter() - t0


def time_terminal(t: TerminalDef, repeat: int, cold: bool) -> tuple[float, str | None]:
    """Median seconds of ``compile_terminal(t)`` with the memo cleared; an error message
    instead when it raises :class:`CompileError`."""
    times = []
    for _ in range(repeat):
        if cold:
            clear_all_caches()
        _dfa.compile_terminal.cache_clear()
        t0 = time.perf_counter()
        try:
            _dfa.compile_terminal(t)
        except CompileError as exc:
            return time.perf_counter() - t0, str(exc)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), None


def pct(values: list[float] | np.ndarray, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def terminal_to_json(t: TerminalDef) -> dict[str, Any]:
    """A JSON form of a terminal (default fields left out)."""
    out: dict[str, Any] = {"p": t.pattern}
    for key, value, default in (("l", t.literal, False), ("d", t.dialect, "python"), ("f", t.flags, ""),
                                ("s", t.search, False), ("j", t.json_string, False)):
        if value != default:
            out[key] = value
    if t.intersect:
        out["i"] = [terminal_to_json(m) for m in t.intersect]
    if t.exclude:
        out["x"] = [terminal_to_json(m) for m in t.exclude]
    return out


def dfa_digest(d: _dfa.ByteDFA) -> str:
    """SHA-256 (first 96 bits, hex) of a DFA's shape and arrays: equal canonical DFAs, equal digests."""
    h = hashlib.sha256(np.array(d.trans.shape, dtype=np.int64).tobytes())
    for arr in (d.trans, d.accept, d.classmap):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()[:24]


def write_reference(path: Path, terminals: list[TerminalDef], max_ms: float) -> int:
    """Write each terminal with its DFA digest (or error) as gzipped JSON lines; terminals
    that take longer than ``max_ms`` to compile, and plain literals past the first 200,
    are left out.  Returns the count written."""
    n = 0
    literals = 0
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for t in terminals:
            if kind_of(t) == "literal":
                literals += 1
                if literals > 200:
                    continue
            _dfa.compile_terminal.cache_clear()
            t0 = time.perf_counter()
            rec = {"t": terminal_to_json(t)}
            try:
                d = _dfa.compile_terminal(t)
                rec["sha"] = dfa_digest(d)
                rec["n"] = d.n_states
            except CompileError as exc:
                rec["error"] = str(exc)
            if (time.perf_counter() - t0) * 1e3 > max_ms:
                continue
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    return n


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MaskBench JSONL file")
    p.add_argument("--sample", type=int, default=300, help="schemas, stratified by split (default 300)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=3, help="timings per terminal; the median is kept (default 3)")
    p.add_argument("--cold", action="store_true", help="also clear the sub-part caches before every terminal")
    p.add_argument("--top", type=int, default=10, help="list the N slowest terminals (default 10)")
    p.add_argument("--json", type=Path, help="write per-terminal and per-schema times here")
    p.add_argument("--write-reference", type=Path, metavar="FILE",
                   help="write the terminals and their DFA digests (gzipped JSON lines) and stop")
    p.add_argument("--reference-max-ms", type=float, default=50.0,
                   help="leave terminals slower than this out of the reference (default 50)")
    return p


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = build_parser().parse_args(argv)
    records = stratified_sample(load_records(args.data), args.sample, args.seed)
    t0 = time.perf_counter()
    per_schema, ids, skipped = collect(records)
    t_ir = time.perf_counter() - t0
    distinct = list(dict.fromkeys(t for ts in per_schema for t in ts))
    if args.write_reference:
        n = write_reference(args.write_reference, distinct, args.reference_max_ms)
        print(f"wrote {n} of {len(distinct)} terminals to {args.write_reference}")
        return {}
    print(f"{len(records)} schemas ({skipped} skipped: CompileError), {len(distinct)} distinct terminals; "
          f"to_ir {t_ir:.1f} s")
    print(f"warm-up {warm_up() * 1e3:.0f} ms; memo cleared per terminal, median of {args.repeat}"
          f"{', all caches cleared (--cold)' if args.cold else ', sub-part caches warm'}")
    times: dict[TerminalDef, float] = {}
    errors: dict[TerminalDef, str] = {}
    for t in distinct:
        times[t], err = time_terminal(t, args.repeat, args.cold)
        if err is not None:
            errors[t] = err
    by_kind: dict[str, list[float]] = collections.defaultdict(list)
    for t, s in times.items():
        by_kind[kind_of(t)].append(s)
    print()
    print(f"{'kind':<12} {'count':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'total ms':>9}")
    for k in KINDS + ("all",):
        v = list(times.values()) if k == "all" else by_kind.get(k, [])
        if not v:
            continue
        print(f"{k:<12} {len(v):>6} {pct(v, 50) * 1e3:>8.3f} {pct(v, 90) * 1e3:>8.3f} {pct(v, 99) * 1e3:>8.3f} "
              f"{max(v) * 1e3:>8.2f} {sum(v) * 1e3:>9.1f}")
    totals = [sum(times[t] for t in ts) for ts in per_schema]
    print()
    print(f"per schema ({len(totals)}): p50 {pct(totals, 50) * 1e3:.3f} ms, p90 {pct(totals, 90) * 1e3:.3f} ms, "
          f"p99 {pct(totals, 99) * 1e3:.3f} ms, max {max(totals, default=0) * 1e3:.1f} ms, "
          f"mean {float(np.mean(totals)) * 1e3:.3f} ms")
    if errors:
        print(f"\n{len(errors)} terminals raise CompileError (timed until the error)")
    if args.top:
        print(f"\nslowest {args.top}:")
        for t in sorted(times, key=times.get, reverse=True)[:args.top]:
            text = t.describe()
            print(f"  {times[t] * 1e3:8.2f} ms  {kind_of(t):<11} {text[:140]}{'...' if len(text) > 140 else ''}")
    out = {"per_terminal": [{"kind": kind_of(t), "describe": t.describe(), "s": s} for t, s in times.items()],
           "per_schema": [{"id": i, "s": s, "terminals": len(ts)} for i, s, ts in zip(ids, totals, per_schema)]}
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
