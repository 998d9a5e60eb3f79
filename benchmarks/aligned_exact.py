"""Distribution-faithful decoding against exact distributions on toy LMs.

    python benchmarks/aligned_exact.py [--seeds 1,2,3,4] [--particles 10000] [--svg docs/asap_kl.svg]

The toy (as tests/test_aligned.py): six text tokens over ``a b c`` with several
tokenizations of a text, an EOS, the language ``(ab|ba|c)(a|bc){0,2}`` (21 texts, at
most 6 tokens), and :class:`structgen.decoders.lm.ToyLM` with each seed (a
pseudo-random next-token distribution per context).  For each LM:

1. **ASAp**: KL(P(text | language) || the distribution of ASAp's next sample),
   computed exactly from its trie after 1 ... 3,000 samples, against masked
   sampling's (which does not move).  Written as a table and as an SVG plot.
2. **AWRS**: the mean of 20,000 normaliser estimates at the start state, against the
   exact Z, in standard errors; constraint checks per draw against the allowed
   tokens a mask would have to decide.
3. **SMC** with AWRS proposals: total variation of the weighted particles from the
   exact distribution at ``--particles``, and the normaliser estimate, against the
   total variation of as many independent exact draws (median, for scale).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import structgen  # noqa: E402
from structgen.decoders.asap import ASAp  # noqa: E402
from structgen.decoders.awrs import awrs_step  # noqa: E402
from structgen.decoders.lm import ToyLM  # noqa: E402
from structgen.decoders.smc import smc  # noqa: E402
from structgen.vocab import Vocabulary  # noqa: E402
from tests._exact_lm import asap_distribution, conditional, kl, masked, tv  # noqa: E402

V = Vocabulary.from_bytes([b"a", b"b", b"c", b"ab", b"bc", b"ca", None], eos_ids=6)
LANG = structgen.Regex("(ab|ba|c)(a|bc){0,2}")
STEPS = [1, 3, 10, 30, 100, 300, 1000, 3000]


def asap_curve(lm, grammar, exact) -> list[float]:
    a = ASAp(lm, V, LANG, max_tokens=6, seed=0)
    out, done = [], 0
    for n in STEPS:
        a.sample(None, n - done)
        done = n
        out.append(kl(exact, asap_distribution(a, lm)))
    return out


def svg(curves: dict[str, list[float]], flat: dict[str, float], path: Path) -> None:
    """A log-log plot of KL against samples: ASAp curves, masking as dashed lines."""
    w, h, left, bottom, top, right = 640, 400, 70, 50, 20, 150
    lo, hi = -4.0, 1.0  # log10 KL
    x0, x1 = 0.0, math.log10(STEPS[-1])
    px = lambda n: left + (math.log10(n) - x0) / (x1 - x0) * (w - left - right)  # noqa: E731
    py = lambda v: top + (hi - min(max(math.log10(max(v, 1e-12)), lo), hi)) / (hi - lo) * (h - top - bottom)  # noqa: E731
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" '
             f'font-size="12"><rect width="{w}" height="{h}" fill="white"/>']
    for e in range(int(lo), int(hi) + 1):
        y = py(10.0 ** e)
        parts.append(f'<line x1="{left}" x2="{w - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">1e{e}</text>')
    for n in STEPS:
        x = px(n)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{h - bottom}" stroke="#eee"/>'
                     f'<text x="{x:.1f}" y="{h - bottom + 16}" text-anchor="middle">{n}</text>')
    parts.append(f'<text x="{(left + w - right) / 2}" y="{h - 12}" text-anchor="middle">samples drawn by ASAp</text>'
                 f'<text x="16" y="{(top + h - bottom) / 2}" transform="rotate(-90 16 {(top + h - bottom) / 2})" '
                 f'text-anchor="middle">KL(exact || sampler), nats</text>')
    for i, (name, ys) in enumerate(curves.items()):
        c = colors[i % len(colors)]
        pts = " ".join(f"{px(n):.1f},{py(v):.1f}" for n, v in zip(STEPS, ys))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{c}" stroke-width="2"/>')
        y = py(flat[name])
        parts.append(f'<line x1="{left}" x2="{w - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{c}" '
                     f'stroke-dasharray="6,4"/>')
        parts.append(f'<text x="{w - right + 8}" y="{top + 16 + 18 * i}" fill="{c}">{name}</text>')
    parts.append(f'<text x="{w - right + 8}" y="{top + 30 + 18 * len(curves)}">solid: ASAp</text>'
                 f'<text x="{w - right + 8}" y="{top + 46 + 18 * len(curves)}">dashed: masking</text></svg>')
    path.write_text("\n".join(parts) + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="1,2,3,4", help="ToyLM seeds")
    ap.add_argument("--particles", type=int, default=10_000)
    ap.add_argument("--svg", default="", help="write the ASAp plot here (e.g. docs/asap_kl.svg)")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    g = structgen.compile(LANG, V)
    curves, flat, rows_awrs, rows_smc = {}, {}, [], []
    for seed in seeds:
        lm = ToyLM(7, seed=seed, sharpness=2.0)
        exact, z = conditional(lm, g, 6)
        name = f"LM seed {seed}"
        flat[name] = kl(exact, masked(lm, g, 6))
        curves[name] = asap_curve(lm, g, exact)
        m = g.matcher()
        logp = lm.next_logprobs([[]])[0]
        z0 = float(np.exp(logp[m.allowed_tokens()]).sum())
        rng = np.random.default_rng(0)
        steps = [awrs_step(logp, m, rng) for _ in range(20_000)]
        zs = np.exp([s.log_z for s in steps])
        se = zs.std() / math.sqrt(len(zs))
        rows_awrs.append((name, z0, zs.mean(), (zs.mean() - z0) / se, np.mean([s.checks for s in steps]),
                          len(m.allowed_tokens())))
        t = time.perf_counter()
        r = smc(lm, g, args.particles, max_tokens=6, seed=0)
        dt = time.perf_counter() - t
        keys = list(exact)
        p = np.array([exact[k] for k in keys])
        draws = np.random.default_rng(1).multinomial(args.particles, p, size=1000) / args.particles
        iid = float(np.median(0.5 * np.abs(draws - p).sum(axis=1)))
        rows_smc.append((name, len(exact), z, tv(exact, masked(lm, g, 6)), tv(exact, r.posterior()), iid,
                         r.log_normalizer, math.log(z), r.resamples, r.checks / max(r.steps, 1), dt))
    print("## ASAp: KL(exact || next-sample distribution), nats\n")
    print("| LM | masking | " + " | ".join(f"{n} samples" for n in STEPS) + " |")
    print("|---|---:|" + "---:|" * len(STEPS))
    for name, ys in curves.items():
        print(f"| {name} | {flat[name]:.4f} | " + " | ".join(f"{v:.4f}" for v in ys) + " |")
    print("\n## AWRS at the start state, 20,000 draws\n")
    print("| LM | exact Z | mean estimate | (mean - Z) / s.e. | checks per draw | tokens a mask decides |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, z0, mean, dev, checks, n_allowed in rows_awrs:
        print(f"| {name} | {z0:.4f} | {mean:.4f} | {dev:+.2f} | {checks:.2f} | {V.size} ({n_allowed} allowed) |")
    print(f"\n## SMC over AWRS, {args.particles:,} particles\n")
    print("| LM | texts | P(language) | masking TV | SMC TV | TV of iid exact draws (median) | "
          "log Z estimate | log Z | resamples | checks per token | s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows_smc:
        name, n, z, mtv, stv, iid, lz_hat, lz, res, checks, dt = row
        print(f"| {name} | {n} | {z:.3f} | {mtv:.3f} | {stv:.4f} | {iid:.4f} | {lz_hat:.3f} | {lz:.3f} | {res} | "
              f"{checks:.2f} | {dt:.1f} |")
    if args.svg:
        svg(curves, flat, Path(args.svg))
        print(f"\nplot: {args.svg}")


if __name__ == "__main__":
    main()
