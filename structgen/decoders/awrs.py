"""Adaptive weighted rejection sampling of one token (Lipkin et al. 2025, "Fast
Controlled Generation from Language Models with Adaptive Weighted Rejection
Sampling").

Masking computes, at every step, which of the V tokens the constraint allows.  AWRS
asks about one token at a time: draw a token from the model's *unconstrained*
distribution ``p``, check only that token (:meth:`Matcher.accepts`), and on a
rejection remove it and draw again from what is left.  The accepted token is an exact
draw from the locally constrained distribution ``p(t) c(t) / Z`` (removing rejected
tokens never changes the odds between allowed ones).  When the model mostly agrees
with the constraint, one check replaces a mask.

The same draws estimate the local normaliser ``Z = sum_t p(t) c(t)`` without bias:
a second round of rejection sampling continues with the first round's rejected
tokens removed and the accepted one put back, and with ``R1`` the first round's
rejected mass and ``N`` the rejections of both rounds,

    Z_hat = (1 - p(R1)) / (N + 1),       E[Z_hat] = Z.

SMC (:mod:`.smc`) multiplies the particles' weights by ``Z_hat``: that turns local
constrained sampling into importance sampling of ``P(text | text in the language)``.

A step is drawn by masking instead (exact token and exact ``Z``) when the caller asks
(``use_mask``: SMC asks when the particle's previous step needed more than
``mask_after`` checks), and when the text may end here: the model often wants to go
on where the constraint allows little but EOS (a regex matched in full), and every
token it prefers would be a rejection.  The decision must not look at this step's own
draws: cutting a rejection loop short where it runs long would bias the estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["AWRSStep", "awrs_step", "masked_step"]


@dataclass
class AWRSStep:
    """One token drawn by :func:`awrs_step`.

    ``token``: the token (-1 when the constraint allows no token of positive
    probability).  ``log_z``: log of the unbiased estimate of the local normaliser
    (exact when ``masked``).  ``checks``: :meth:`Matcher.accepts` calls made.
    ``rejections``: tokens refused over both rounds.  ``masked``: the step computed a
    full mask instead."""

    token: int
    log_z: float
    checks: int
    rejections: int
    masked: bool


class _Remover:
    """Draws from ``p`` restricted to the tokens not removed, by inverse CDF in two
    levels: blocks of 256 tokens, then a token within the drawn block.  Setting up
    costs one pass over ``p`` (the block sums); a draw or a removal costs a block's
    width, not the vocabulary's."""

    B = 256

    def __init__(self, p: np.ndarray, rng: np.random.Generator):
        self.p = p
        self.rng = rng
        self.blocks = np.add.reduceat(p, np.arange(0, p.shape[0], self.B), dtype=np.float64)
        self.cum = np.cumsum(self.blocks)
        self.removed: dict[int, list[int]] = {}

    def draw(self) -> int:
        """A token from the remaining mass; -1 when none is left."""
        total = float(self.cum[-1])
        if not total > 0.0:
            return -1
        u = self.rng.random() * total
        b = min(int(np.searchsorted(self.cum, u, side="right")), self.cum.shape[0] - 1)
        while self.blocks[b] <= 0.0 and b > 0:  # rounding at a block edge
            b -= 1
        lo = b * self.B
        q = self.p[lo:lo + self.B].astype(np.float64)
        for t in self.removed.get(b, ()):
            q[t - lo] = 0.0
        c = np.cumsum(q)
        if not c[-1] > 0.0:
            return -1
        i = min(int(np.searchsorted(c, self.rng.random() * c[-1], side="right")), c.shape[0] - 1)
        while q[i] <= 0.0 and i > 0:
            i -= 1
        return lo + i

    def remove(self, t: int) -> None:
        b = t // self.B
        self.removed.setdefault(b, []).append(t)
        lo = b * self.B
        rest = self.p[lo:lo + self.B].astype(np.float64)
        rest[[x - lo for x in self.removed[b]]] = 0.0
        self.blocks[b] = max(float(rest.sum()), 0.0)
        self.cum = np.cumsum(self.blocks)


def masked_step(logp: np.ndarray, matcher, rng: np.random.Generator) -> AWRSStep:
    """The token drawn from the full mask: exact draw, exact ``Z``."""
    idx = matcher.allowed_tokens()
    idx = idx[idx < logp.shape[0]]
    lp = logp[idx]
    if idx.shape[0] == 0 or lp.max() == -np.inf:
        return AWRSStep(-1, -np.inf, 0, 0, True)
    top = lp.max()
    w = np.exp(lp - top)
    s = w.sum()
    t = int(idx[min(int(np.searchsorted(np.cumsum(w), rng.random() * s, side="right")), idx.shape[0] - 1)])
    return AWRSStep(t, float(top + np.log(s)), 0, 0, True)


def awrs_step(logp: np.ndarray, matcher, rng: np.random.Generator, *, use_mask: bool = False) -> AWRSStep:
    """Draw the next token of ``matcher``'s text from ``exp(logp)`` (the model's
    normalised next-token log-probabilities, one per token of the model's width) restricted
    to what the constraint allows, and estimate the normaliser (see the module).

    ``use_mask``: draw from the full mask instead (exact), as also where the text may
    end.  The matcher is not advanced."""
    if use_mask or matcher.is_accepting():
        return masked_step(logp, matcher, rng)
    p = np.exp(logp - logp.max())
    p /= p.sum(dtype=np.float64)
    pool = _Remover(p, rng)
    known: dict[int, bool] = {}
    checks = 0
    token = -1
    rejected_first = 0.0
    n_rej = 0
    for round_ in (1, 2):
        while True:
            t = pool.draw()
            if t < 0:
                break
            ok = known.get(t)
            if ok is None:
                ok = matcher.accepts(t)
                known[t] = ok
                checks += 1
            if ok:
                if token < 0:
                    token = t
                break
            n_rej += 1
            pool.remove(t)
            if round_ == 1:
                rejected_first += float(p[t])
        if token < 0:  # nothing allowed has positive probability
            return AWRSStep(-1, -np.inf, checks, n_rej, False)
    z = max(1.0 - rejected_first, 0.0) / (n_rej + 1)
    return AWRSStep(token, float(np.log(z)) if z > 0 else -np.inf, checks, n_rej, False)
