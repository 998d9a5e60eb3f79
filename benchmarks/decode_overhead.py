"""Constrained vs unconstrained decoding: time per token with a small model on CPU.

    python benchmarks/decode_overhead.py                       # defaults below
    python benchmarks/decode_overhead.py --tokenizer llama3 --layers 4 --hidden 256

A Llama-architecture model with random weights (``structgen.models.tiny_random_model``
with the sizes given) over one of the committed test tokenizers decodes with
:func:`structgen.generate` twice per constraint, from the same prompt and seed:
unconstrained, and under the constraint.  Jump-forward is off, so every token costs one
forward pass in both runs and the difference is the constraint's own cost: filling the
bitmask, masking and sampling over the masked logits, advancing the matcher.  Each
figure is the median over ``--repeats`` runs of the decode cost per token, prompt
processing and compilation excluded, measured two ways:

* CPU: process CPU time (all threads) of a ``--tokens`` run minus that of a one-token
  run, divided by the extra tokens.  This is the robust figure on a shared machine,
  where wall time mostly measures the neighbours.
* wall: ``(elapsed - ttft) / (tokens - 1)`` from the result's own timings.

Printed per constraint: ms/token unconstrained and constrained (CPU and wall), the
overhead ratio (constrained / unconstrained), the share of the constrained wall time
spent in structgen (``mask_time``: filling masks, advancing matchers, jump-forward),
and, with jump-forward on, forward passes per generated token.

The random model's outputs do not end by themselves under unbounded constraints; each
run is cut at ``--tokens`` (and the constrained run may end earlier on EOS: the figure
is per token either way).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONSTRAINTS = {
    "json-schema user_profile": ("schema", "user_profile"),
    "json-schema k8s_deployment": ("schema", "k8s_deployment"),
    "regex date+phone": ("regex", r"(19|20)[0-9]{2}-[01][0-9]-[0-3][0-9]( \+[0-9]{1,3} [0-9]{3}-[0-9]{4})+"),
    "lark json": ("grammar", "json"),
    "lark sql": ("grammar", "sql"),
}


def _schema(name: str) -> dict:
    return json.loads((ROOT / "schemas" / f"{name}.json").read_text(encoding="utf-8"))


def _per_token(result) -> float:
    n = len(result.tokens)
    return (result.elapsed - result.ttft) / (n - 1) if n > 1 else float("nan")


def _cpu(fn, **kw):
    """(result, process CPU seconds) of ``fn(**kw)``."""
    c0 = time.process_time()
    r = fn(**kw)
    return r, time.process_time() - c0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokenizer", default="llama2", help="committed test tokenizer (gpt2, llama2, llama3, ...)")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--tokens", type=int, default=64, help="tokens per run")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--device", default="cpu", help="torch device for the model (default cpu; e.g. cuda)")
    p.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    p.add_argument("--only", nargs="*", default=None, help="constraint names to run (default: all)")
    args = p.parse_args()

    import torch

    from structgen.models import tiny_random_model
    from structgen.decoders import generate
    from tests._tokenizers import load_tokenizer

    torch.set_num_threads(args.threads)
    tok = load_tokenizer(args.tokenizer)
    heads = max(1, args.hidden // 64)
    model = tiny_random_model(tok, num_hidden_layers=args.layers, hidden_size=args.hidden,
                              intermediate_size=4 * args.hidden, num_attention_heads=heads,
                              num_key_value_heads=max(1, heads // 2))
    model.to(device=args.device, dtype=getattr(torch, args.dtype))
    n_params = sum(q.numel() for q in model.parameters()) / 1e6
    prompt = "Here is the answer, in the required format:\n"
    print(f"model: {args.layers} layers, hidden {args.hidden}, {n_params:.1f}M parameters, random weights; "
          f"tokenizer {args.tokenizer} ({len(tok)} ids); {args.device} {args.dtype}; torch threads {args.threads}; "
          f"{args.tokens} tokens x {args.repeats} runs; load average {os.getloadavg()[0]:.1f}")

    def run(max_tokens=args.tokens, **kw):
        return generate(model, tok, prompt, max_tokens=max_tokens, temperature=1.0, seed=0, **kw)

    def cpu_per_token(**kw):
        r1, c1 = _cpu(run, max_tokens=1, **kw)
        r, c = _cpu(run, **kw)
        return (c - c1) / max(len(r.tokens) - len(r1.tokens), 1), r

    run()  # warm-up (model, kernels)
    rows = []
    names = args.only or list(CONSTRAINTS)
    for name in names:
        kind, spec = CONSTRAINTS[name]
        kw = {kind: _schema(spec) if kind == "schema" else spec}
        t0 = time.perf_counter()
        run(jump_forward=False, **kw)  # compile + warm-up
        compile_s = time.perf_counter() - t0
        cpu_u, cpu_c, wall_u, wall_c, share = [], [], [], [], []
        for _ in range(args.repeats):
            cu, u = cpu_per_token()
            cc, c = cpu_per_token(jump_forward=False, **kw)
            cpu_u.append(cu)
            cpu_c.append(cc)
            wall_u.append(_per_token(u))
            wall_c.append(_per_token(c))
            share.append(c.mask_time / c.elapsed if c.elapsed else 0.0)
        jf = run(jump_forward=True, **kw)
        med = statistics.median
        rows.append((name, med(cpu_u) * 1e3, med(cpu_c) * 1e3, med(wall_u) * 1e3, med(wall_c) * 1e3, med(share),
                     jf.forward_passes / max(len(jf.tokens), 1), compile_s))
    print()
    print("| constraint | CPU ms/token: unconstrained | constrained | overhead ratio | wall ms/token: unconstrained "
          "| constrained | overhead ratio | structgen share of wall | forward passes per token (jump-forward) "
          "| first run incl. compile, s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, cu, cc, wu, wc, s_, fpt, comp in rows:
        print(f"| {name} | {cu:.2f} | {cc:.2f} | {cc / cu:.2f} | {wu:.2f} | {wc:.2f} | {wc / wu:.2f} | "
              f"{100 * s_:.1f}% | {fpt:.2f} | {comp:.2f} |")

if __name__ == "__main__":
    main()
