"""Total variation of speculative sampling from the exact constrained distribution.

The toy LM, toy BPE vocabulary and regex constraints of ``tests/test_sampling_exact.py``
(the distribution of masked sampling is enumerated there), a draft model that
disagrees with the target (``tests/test_speculative.py``) or the n-gram drafter;
``--n`` samples per case at a fixed seed, no budget steering.  Prints the total
variation, and the median and 99.9% quantile of the total variation between the exact
distribution and ``--n`` draws from it (what a perfect sampler gets: the noise floor).

    python benchmarks/speculative_exact.py --n 10000 [--drafters model,ngram] [--cases 1,2]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--drafters", default="model,ngram")
    ap.add_argument("--cases", default="1,2", help="indices into tests.test_sampling_exact.CASES")
    ap.add_argument("--k", type=int, default=2)
    args = ap.parse_args(argv)
    import torch

    from structgen import generate
    from tests.test_sampling_exact import CASES, PROMPT, exact_distribution, noise_bound, toy, tv
    from tests.test_speculative import _toy_draft

    torch.set_num_threads(1)
    model, tok = toy()
    rows = []
    print("| drafter | regex | max_tokens | outcomes | samples | drafts kept | total variation "
          "| exact sampler's TV, median | 99.9% noise bound |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for drafter in args.drafters.split(","):
        for i in (int(x) for x in args.cases.split(",")):
            regex, max_tokens = CASES[i]
            prompt = "abcbacab" if drafter == "ngram" else PROMPT
            exact = exact_distribution(model, tok, regex, max_tokens, prompt_text=prompt)
            draft = "ngram" if drafter == "ngram" else _toy_draft()
            results = generate(model, tok, [prompt] * args.n, regex=regex, temperature=1.0, seed=0,
                               max_tokens=max_tokens, draft=draft, speculate_k=args.k, fit_budget=False)
            counts: dict = defaultdict(float)
            for r in results:
                counts[(r.data, r.finished)] += 1 / args.n
            d, a = sum(r.drafted for r in results), sum(r.accepted for r in results)
            row = {"drafter": drafter, "regex": regex, "max_tokens": max_tokens, "n": args.n,
                   "kept": a / max(d, 1), "tv": tv(counts, exact), "outcomes": len(exact),
                   "median": noise_bound(exact, args.n, 0.5), "bound": noise_bound(exact, args.n)}
            rows.append(row)
            print(f"| {drafter} | `{regex}` | {max_tokens} | {row['outcomes']} | {args.n} | {row['kept']:.0%} "
                  f"| {row['tv']:.4f} | {row['median']:.4f} | {row['bound']:.4f} |", flush=True)
    return rows


if __name__ == "__main__":
    main()
