"""Random-walk soundness: sample under the mask, validate what comes out.

From the start state, repeatedly fill the bitmask, pick an allowed token at random
(uniform over allowed ids, i.e. random logits; EOS, when allowed, with probability
``p_eos``) and advance, up to ``max_tokens``.  Checked:

* no dead end: the mask is never empty before EOS is taken;
* every finished output (EOS taken) parses with ``json.loads`` and validates with
  jsonschema (the draft the schema declares, 2020-12 by default, with format
  checking); pydantic models also round-trip through ``model_validate_json``.

    python -m tests.conformance.randomwalk --maskbench [--walks 5]   # slow
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np


@dataclass
class WalkReport:
    finished: int = 0
    unfinished: int = 0
    dead_ends: list = field(default_factory=list)
    invalid: list = field(default_factory=list)


def _allowed(row: np.ndarray, vocab_size: int) -> np.ndarray:
    bits = np.unpackbits(row.view(np.uint8), bitorder="little")[:vocab_size]
    return np.flatnonzero(bits)


_WEIGHTS: dict[int, np.ndarray] = {}


def token_weights(vocab) -> np.ndarray:
    """Sampling weights per token id: the walk is random, but whitespace-only tokens
    are rare (else walks drift in whitespace) and tokens that close strings and
    containers are common (else few walks finish)."""
    w = _WEIGHTS.get(id(vocab))
    if w is None:
        w = np.ones(vocab.size, dtype=np.float64)
        for i in range(vocab.size):
            try:
                b = vocab.decode_bytes([i])
            except Exception:
                continue
            if b and not b.strip():
                w[i] = 0.02
            elif any(c in b for c in b'}]'):
                w[i] = 60.0
            elif b'"' in b:
                w[i] = 30.0
        _WEIGHTS[id(vocab)] = w
    return w


def walk_once(grammar, rng: random.Random, *, max_tokens: int = 96, p_eos: float = 0.5) -> tuple[str, bytes | None]:
    """('finished'|'unfinished'|'dead end', output bytes or the prefix)."""
    m = grammar.matcher()
    row = grammar.allocate_bitmask()
    eos = set(int(e) for e in grammar.eos_ids)
    ids: list[int] = []
    vocab = grammar.vocab
    weights = token_weights(vocab)
    nprng = np.random.default_rng(rng.randrange(2 ** 32))
    for _ in range(max_tokens):
        m.fill_bitmask(row)
        allowed = _allowed(row, grammar.vocab_size)
        if len(allowed) == 0:
            return "dead end", vocab.decode_bytes(ids)
        eos_ok = [t for t in allowed if int(t) in eos]
        if eos_ok and rng.random() < p_eos:
            return "finished", vocab.decode_bytes(ids)
        choices = np.array([int(t) for t in allowed if int(t) not in eos], dtype=np.int64)
        if len(choices) == 0:
            return "finished", vocab.decode_bytes(ids)
        p = weights[choices]
        t = int(nprng.choice(choices, p=p / p.sum()))
        if not m.advance(t):
            return "dead end", vocab.decode_bytes(ids + [t])
        ids.append(t)
    return "unfinished", vocab.decode_bytes(ids)


def check_walks(grammar, validate, *, walks: int, seed: int = 0, max_tokens: int = 96,
                label: str = "") -> WalkReport:
    """Run ``walks`` random walks; ``validate(text) -> bool`` judges finished ones."""
    rng = random.Random(seed)
    rep = WalkReport()
    for _ in range(walks):
        status, out = walk_once(grammar, rng, max_tokens=max_tokens)
        if status == "dead end":
            rep.dead_ends.append((label, out))
        elif status == "unfinished":
            rep.unfinished += 1
        else:
            rep.finished += 1
            text = out.decode("utf-8", "replace")
            if not validate(text):
                rep.invalid.append((label, text))
    return rep


def schema_validator(schema):
    from tests.conformance._common import is_valid, reference_validator

    v = reference_validator(schema)

    def validate(text: str) -> bool:
        try:
            inst = json.loads(text)
        except ValueError:
            return False
        return is_valid(v, inst)

    return validate


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--maskbench", action="store_true", help="all of ../shared MaskBench (else the sample)")
    ap.add_argument("--walks", type=int, default=5)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--tokenizer", default="llama3")
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args(argv)
    from structgen.api import compile as sg_compile
    from structgen.errors import CompileError
    from structgen.jsonschema import JsonSchema
    from tests._tokenizers import load_vocab
    from tests.conformance._common import maskbench_full, maskbench_sample

    vocab = load_vocab(args.tokenizer)
    records = maskbench_full() if args.maskbench else maskbench_sample()
    if records is None:
        sys.exit("../shared/maskbench/dev.jsonl not found")
    if args.limit:
        records = records[:args.limit]
    total = WalkReport()
    compiled = 0
    for i, rec in enumerate(records):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                g = sg_compile(JsonSchema(rec["schema"]), vocab)
        except CompileError:
            continue
        compiled += 1
        rep = check_walks(g, schema_validator(rec["schema"]), walks=args.walks, seed=i,
                          max_tokens=args.max_tokens, label=rec["id"])
        total.finished += rep.finished
        total.unfinished += rep.unfinished
        total.dead_ends += rep.dead_ends
        total.invalid += rep.invalid
        for lab, text in rep.invalid:
            print("INVALID", lab, text[:300], flush=True)
        for lab, text in rep.dead_ends:
            print("DEAD END", lab, text[-200:], flush=True)
        if (i + 1) % 200 == 0:
            print(f"  {i + 1}/{len(records)}", file=sys.stderr, flush=True)
    print(json.dumps({"schemas": len(records), "compiled": compiled, "finished": total.finished,
                      "unfinished": total.unfinished, "dead_ends": len(total.dead_ends),
                      "invalid": len(total.invalid)}))


if __name__ == "__main__":
    main()
