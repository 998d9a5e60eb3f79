"""Sequential Monte Carlo over AWRS proposals: weighted samples of
``P(text | text in the language)``.

Each of ``n`` particles is a text under construction with its own matcher.  A step
draws every live particle's next token with :func:`.awrs.awrs_step` (the model's
distribution restricted to what the constraint allows) and multiplies its weight by
the step's estimate of the local normaliser ``Z``.  The product of the ``Z`` of a
text is ``P(text) / q(text)`` for the locally constrained proposal ``q``, so the
weighted particles target the model's distribution conditioned on the language;
the estimates being unbiased keeps that true (random-weight importance sampling).
When the effective sample size ``(sum w)^2 / sum w^2`` falls below
``ess_threshold * n``, the particles are resampled (systematic resampling): copies of
the heavy ones replace the light ones, matchers forked, weights reset to their mean.

The model runs once per step for all particles (:class:`.lm.Batch`: one forward
pass of ``n`` new tokens for a Hugging Face model).  A text ends with EOS; one that
has not ended after ``max_tokens`` tokens gets weight 0 (the target is the texts of
at most ``max_tokens`` tokens, EOS not counted).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .awrs import awrs_step
from .lm import make_batch

__all__ = ["Particle", "SMCResult", "smc", "sample_smc"]


@dataclass
class Particle:
    """One weighted sample: ``tokens`` (EOS excluded), its bytes ``data``,
    ``log_weight`` (-inf: dead, or unfinished at ``max_tokens``) and ``finished``."""

    tokens: list[int]
    data: bytes
    log_weight: float
    finished: bool


@dataclass
class SMCResult:
    """Weighted particles and the estimate of the normaliser
    ``log_normalizer`` = log sum over texts t of the language of P(t EOS).

    ``checks``: :meth:`Matcher.accepts` calls, ``masks``: full masks computed,
    ``steps``: token draws, ``resamples``: resampling events, ``ess``: the effective
    sample size before each step.  ``elapsed``: seconds of the whole call,
    ``constraint_time``: of them, drawing tokens under the constraint (checks, masks,
    advancing matchers; not the model)."""

    particles: list[Particle]
    log_normalizer: float
    checks: int = 0
    masks: int = 0
    steps: int = 0
    resamples: int = 0
    ess: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    constraint_time: float = 0.0

    def posterior(self) -> dict[bytes, float]:
        """{text bytes: normalised weight} of the finished particles."""
        w = _relative(np.array([p.log_weight for p in self.particles]))
        if w is None:
            return {}
        w /= w.sum()
        out: dict[bytes, float] = {}
        for p, wi in zip(self.particles, w):
            if wi > 0:
                out[p.data] = out.get(p.data, 0.0) + float(wi)
        return out


def _relative(lw: np.ndarray) -> np.ndarray | None:
    """Weights divided by the largest (None when every weight is 0)."""
    finite = np.isfinite(lw)
    return np.exp(lw - lw[finite].max()) if finite.any() else None


def _ess(lw: np.ndarray) -> float:
    w = _relative(lw)
    return 0.0 if w is None else float(w.sum() ** 2 / (w * w).sum())


def _logmeanexp(lw: np.ndarray) -> float:
    w = _relative(lw)
    return -np.inf if w is None else float(lw[np.isfinite(lw)].max() + np.log(w.mean()))


def _systematic(lw: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    w = _relative(lw)
    cdf = np.cumsum(w / w.sum())
    n = lw.shape[0]
    u = (rng.random() + np.arange(n)) / n
    return np.minimum(np.searchsorted(cdf, u, side="right"), n - 1)


def _copies(matchers: list, idx: np.ndarray) -> list:
    """``matchers[idx]`` as independent matchers: the first copy of each keeps the
    original, the others fork it."""
    out, kept = [], set()
    for i in idx.tolist():
        out.append(matchers[i].fork() if i in kept else matchers[i])
        kept.add(i)
    return out


def smc(lm: Any, grammar: Any, n_particles: int, *, max_tokens: int, ess_threshold: float = 0.5,
        mask_after: int = 16, seed: int = 0) -> SMCResult:
    """Run SMC with AWRS proposals (see the module).

    ``lm``: a :class:`.lm.LanguageModel` (or :class:`.lm.HFModel`); ``grammar``: a
    compiled :class:`structgen.Grammar` of the same vocabulary.  ``mask_after``: a
    particle whose last step needed more than this many checks draws its next step
    from the full mask (0: always mask; a large number: never).  Deterministic for a
    given ``seed``."""
    if isinstance(n_particles, bool) or not isinstance(n_particles, int) or n_particles < 1:
        raise ValueError(f"n_particles must be a positive int, got {n_particles!r}")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValueError(f"max_tokens must be a positive int, got {max_tokens!r}")
    if not 0.0 <= ess_threshold <= 1.0:
        raise ValueError(f"ess_threshold must be in [0, 1], got {ess_threshold!r}")
    t_start = time.perf_counter()
    rng = np.random.default_rng(seed)
    n = n_particles
    matchers = [grammar.matcher() for _ in range(n)]
    tokens: list[list[int]] = [[] for _ in range(n)]
    lw = np.zeros(n)
    done = np.zeros(n, dtype=bool)
    last_checks = np.zeros(n, dtype=np.int64)
    batch = make_batch(lm, n)
    eos = set(int(e) for e in grammar.eos_ids)
    fill = int(grammar.eos_ids[0])
    eos_ids = np.array(sorted(eos), dtype=np.int64)
    res = SMCResult([], 0.0)
    log_z = 0.0
    for step in range(max_tokens + 1):
        live = ~done & np.isfinite(lw)
        if not live.any():
            break
        res.ess.append(_ess(lw))
        if step and res.ess[-1] < ess_threshold * n:
            log_z += _logmeanexp(lw)
            idx = _systematic(lw, rng)
            matchers = _copies(matchers, idx)
            tokens = [list(tokens[i]) for i in idx]
            done, last_checks = done[idx], last_checks[idx]
            batch.select(idx)
            lw = np.zeros(n)
            res.resamples += 1
            live = ~done
        logp = batch.logprobs()
        t0 = time.perf_counter()
        chosen = np.full(n, fill, dtype=np.int64)
        for i in np.flatnonzero(live):
            m = matchers[i]
            if step == max_tokens:  # only EOS may come now
                lp = logp[i, eos_ids[eos_ids < logp.shape[1]]]
                ok = m.is_accepting() and lp.shape[0] and lp.max() > -np.inf
                lw[i] += float(np.logaddexp.reduce(lp)) if ok else -np.inf
                done[i] = True
                continue
            s = awrs_step(logp[i], m, rng, use_mask=mask_after == 0 or bool(last_checks[i] > mask_after))
            res.checks += s.checks
            res.masks += s.masked
            res.steps += 1
            last_checks[i] = s.checks if not s.masked else 0
            lw[i] += s.log_z
            if s.token < 0:
                done[i] = True
                continue
            chosen[i] = s.token
            if s.token in eos:
                done[i] = True
            else:
                if not m.advance(s.token):  # accepts() said yes: a refusal here is a bug
                    raise RuntimeError(f"the matcher refused token {s.token} after accepting it")
                tokens[i].append(s.token)
        res.constraint_time += time.perf_counter() - t0
        if step < max_tokens and (~done & np.isfinite(lw)).any():
            batch.append(chosen)
    log_z += _logmeanexp(lw)
    vocab = grammar.vocab
    res.particles = [Particle(t, vocab.decode_bytes(t), float(w), bool(d and np.isfinite(w)))
                     for t, w, d in zip(tokens, lw, done)]
    res.log_normalizer = log_z
    res.elapsed = time.perf_counter() - t_start
    return res


def sample_smc(model: Any, tokenizer: Any, prompt: Any, constraint: Any = None, *, n_particles: int = 8,
               max_tokens: int = 256, temperature: float = 1.0, ess_threshold: float = 0.5, mask_after: int = 16,
               seed: int = 0, **constraint_kw: Any) -> SMCResult:
    """:func:`smc` with a Hugging Face ``model`` and ``tokenizer``: ``prompt`` (a str,
    or chat messages) and the constraint as :func:`structgen.generate` takes it
    (positional, or ``schema=``/``regex=``/``grammar=``).  Returns the weighted
    particles; ``max(result.particles, key=lambda p: p.log_weight)`` is the single
    most credible one, and :meth:`SMCResult.posterior` the distribution over texts."""
    from ..api import as_constraint, as_vocabulary, compile as sg_compile
    from .common import encode_prompts
    from .lm import HFModel

    vocab = as_vocabulary(tokenizer)
    grammar = sg_compile(as_constraint(constraint, **constraint_kw), vocab)
    ids, batched = encode_prompts(tokenizer, prompt)
    if batched:
        raise ValueError("sample_smc takes one prompt (its particles are the batch)")
    return smc(HFModel(model, ids[0], temperature=temperature), grammar, n_particles, max_tokens=max_tokens,
               ess_threshold=ess_threshold, mask_after=mask_after, seed=seed)
