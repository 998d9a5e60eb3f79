"""Constrained speculative decoding, lossless: :func:`generate_speculative`, reached
through ``structgen.generate(..., draft=...)``.

One prompt at a time (a batch runs prompt by prompt).  Each step:

1. **Draft** ``k`` tokens from the current state, each under the constraint's mask at
   its position (a forked matcher advanced along the draft): a token the mask leaves
   as the single choice is taken as it is (forced text is a free draft); otherwise the
   drafter proposes: ``"ngram"`` looks the last tokens up in the prompt and the output
   so far and proposes what followed their latest earlier occurrence (a point mass),
   a small Hugging Face model sharing the tokenizer samples from its own masked,
   renormalised distribution ``q`` (greedy: its masked argmax).
2. **Verify** with one forward pass of the target over the pending token and the ``k``
   drafts: ``k + 1`` distributions, each masked at its position and renormalised
   (``p``).  Sampling: draft ``d_j`` is accepted with probability ``min(1, p(d_j) /
   q(d_j))``; at the first rejection a token is drawn from ``norm(max(0, p - q))`` (the
   allowed tokens only, since ``p`` is masked) and the step ends; when every draft is
   accepted, a bonus token is drawn from the last ``p``.  This is Leviathan et al.
   (2023)'s rule on the masked distributions, so the output is distributed exactly as
   constrained sampling from the target (``tests/test_speculative.py`` checks it
   against the enumerated distribution).  Greedy: drafts are accepted while they equal
   the target's masked argmax, whose token ends the step.
3. **Commit**: the matcher advances over the accepted drafts and the new token; the
   target's KV cache drops the rejected drafts (``crop``).

``speculate_k``: a fixed number of drafts, or ``"adaptive"`` (start at 4, one more
after a step that accepts every draft, one fewer after a step that accepts fewer than
half, between 1 and 8).  The token budget (``fit_budget``) works as in
:func:`~structgen.generate` once the row comes within ``k + 9`` tokens of it: steps
are then ordinary single-token steps with the budget's refusal and resampling.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..budget import STEER_TRIES
from ..errors import StructgenError
from .common import GenerationResult, forward_kwargs, only_token

__all__ = ["NgramDrafter", "ModelDrafter", "generate_speculative"]

_K_ADAPTIVE = (4, 1, 8)  # start, min, max
_BUDGET_ZONE = 9


class NgramDrafter:
    """Prompt and output lookup: the tokens that followed the latest earlier occurrence
    of the last ``n`` tokens (``n`` from ``max_n`` down to 1).  No model."""

    def __init__(self, max_n: int = 3):
        self.max_n = max_n

    def reset(self, history: list[int]) -> None:
        pass

    def propose(self, history: list[int], drafted: list[int]) -> int | None:
        """The next draft token after ``history + drafted``, or None."""
        seq = history + drafted
        n_seq = len(seq)
        for n in range(min(self.max_n, n_seq - 1), 0, -1):
            tail = seq[n_seq - n:]
            for start in range(n_seq - n - 1, -1, -1):
                if seq[start:start + n] == tail:
                    return seq[start + n]
        return None


class ModelDrafter:
    """A small causal LM that shares the target's tokenizer, with its own KV cache."""

    def __init__(self, model: Any):
        self.model = model
        self.cache = None
        self.fed: list[int] = []  # tokens in the cache
        self._kwargs = forward_kwargs(model)

    def reset(self, history: list[int]) -> None:
        self.cache = None
        self.fed = []

    def logits(self, seq: list[int]) -> Any:
        """Next-token logits after ``seq`` (feeding what the cache lacks)."""
        import torch

        common = 0
        for a, b in zip(self.fed, seq):
            if a != b:
                break
            common += 1
        if common == len(seq):  # the last token must be fed to get its logits
            common -= 1
        if self.cache is not None and common < len(self.fed):
            _crop(self.cache, common)
            self.fed = self.fed[:common]
        new = seq[common:]
        cache_name, use_keep = self._kwargs
        kw = {"input_ids": torch.tensor([new]), cache_name: self.cache, "use_cache": True}
        if use_keep:
            kw["logits_to_keep"] = 1
        out = self.model(**kw)
        self.cache = out.get("cache") if out.get("cache") is not None else out.get("past_key_values")
        self.fed = seq[:]
        return out.logits[0, -1].float()


def _crop(cache: Any, keep: int) -> None:
    """Keep the first ``keep`` positions of a transformers cache (``crop`` with a
    negative count removes that many tokens, in transformers 4 and 5 alike)."""
    remove = int(cache.get_seq_length()) - keep
    if remove > 0:
        cache.crop(-remove)


def _masked_probs(logits: Any, masks: np.ndarray, temperature: float) -> Any:
    """Rows of masked, renormalised probabilities (float64) at ``temperature``."""
    import torch

    from ..bitmask import masked_log_softmax

    return torch.exp(masked_log_softmax(logits.float(), masks, temperature).double())


def _draw(probs: Any, generator: Any) -> int:
    """One draw from an (unnormalised) probability row."""
    import torch

    total = float(probs.sum())
    if total <= 0:
        return -1
    return int(torch.multinomial(probs / total, 1, generator=generator)[0])


def verify(p: Any, q: list[Any | None], drafts: list[int], temperature: float, generator: Any) -> tuple[int, int]:
    """Leviathan et al.'s acceptance on masked distributions.

    ``p``: (k+1, V) target probabilities (masked, renormalised; greedy: any scores
    whose argmax is the target's choice); ``q[j]``: the draft's distribution at
    position j (a tensor), or None for a point mass on ``drafts[j]``.  Returns (drafts
    accepted, the next token)."""
    import torch

    k = len(drafts)
    if temperature == 0:
        for j, d in enumerate(drafts):
            best = int(torch.argmax(p[j]))
            if best != d:
                return j, best
        return k, int(torch.argmax(p[k]))
    u = torch.rand(k, generator=generator, dtype=torch.float64) if k else None
    for j, d in enumerate(drafts):
        pj = float(p[j, d])
        qj = 1.0 if q[j] is None else float(q[j][d])
        if float(u[j]) * qj < pj:
            continue
        if q[j] is None:
            residual = p[j].clone()
            residual[d] = 0.0
        else:
            residual = torch.clamp(p[j] - q[j], min=0.0)
        x = _draw(residual, generator)
        if x < 0:  # p == q: the residual is empty (probability 0); draw from p
            x = _draw(p[j], generator)
        return j, x
    return k, _draw(p[k], generator)


def generate_speculative(model: Any, prompt_ids: list[int], grammar: Any, vocab: Any, *, drafter: Any,
                         speculate_k: int | str, max_tokens: int, temperature: float, generator: Any,
                         eos: frozenset, fit_budget: bool, jump_forward: bool) -> GenerationResult:
    """One prompt, decoded speculatively (see the module docstring)."""
    import torch

    from ..budget import BudgetGuard

    t0 = time.perf_counter()
    adaptive = speculate_k == "adaptive"
    k_now = _K_ADAPTIVE[0] if adaptive else int(speculate_k)
    m = grammar.matcher()
    guard = BudgetGuard(m, vocab) if fit_budget else None
    fits = None
    if guard is not None:
        need = guard.tokens_to_finish()
        fits = need is not None and need <= max_tokens
        if not fits:
            guard = None
    cache_name, use_keep = forward_kwargs(model)
    cache = None
    pending = list(prompt_ids)
    n_cached = 0
    out: list[int] = []
    drafter.reset(list(prompt_ids))
    stop = ""
    steered = drafted = accepted = forced = forwards = 0
    mask_time = 0.0
    ttft = None
    n_words = grammar.n_words
    with torch.inference_mode():
        while True:
            if m.is_accepting() and m.is_finished():
                stop = "budget" if steered else "eos"
                break
            left = max_tokens - len(out)
            if left <= 0:
                stop = ("budget" if steered else "eos") if m.is_accepting() else "length"
                break
            k = min(k_now, left - 1)
            near = False
            if guard is not None:
                need = guard.tokens_to_finish()
                near = need is not None and left - need <= k + _BUDGET_ZONE
                if near:
                    k = 0
            # 1. draft under the mask
            ts = time.perf_counter()
            masks = np.zeros((k + 1, n_words), dtype=np.int32)
            drafts: list[int] = []
            qs: list[Any] = []
            is_forced: list[bool] = []
            dm = m.fork()
            history = prompt_ids + out
            for j in range(k + 1):
                dm.fill_bitmask(masks[j])
                if j == k:
                    break
                only = only_token(masks[j]) if jump_forward else -1
                if only in eos:
                    break
                if only >= 0:
                    d, qd = only, None
                elif isinstance(drafter, NgramDrafter):
                    d = drafter.propose(history, drafts)
                    if d is None or d in eos or not dm.accepts(d):
                        break
                    qd = None
                else:
                    mask_time += time.perf_counter() - ts
                    logits = drafter.logits(history + drafts)
                    ts = time.perf_counter()
                    qd = _masked_probs(logits[None, :], masks[j:j + 1], temperature if temperature > 0 else 1.0)[0]
                    d = int(torch.argmax(qd)) if temperature == 0 else _draw(qd, generator)
                    if temperature == 0:
                        qd = None
                    if d < 0:
                        break
                    if d in eos:  # a drawn EOS is a draft like any other (dropping it
                        drafts.append(d)  # would bias the step), and the last one
                        qs.append(qd)
                        is_forced.append(False)
                        break
                if not dm.advance(d):
                    raise StructgenError(f"engine inconsistency: draft token {d} allowed by the mask was refused")
                drafts.append(d)
                qs.append(qd)
                is_forced.append(only >= 0)
            k = len(drafts)
            masks = np.ascontiguousarray(masks[:k + 1])
            mask_time += time.perf_counter() - ts
            # 2. verify: one target pass over the pending tokens and the drafts
            feed = pending + drafts
            kw = {"input_ids": torch.tensor([feed]), cache_name: cache, "use_cache": True}
            if use_keep:
                kw["logits_to_keep"] = k + 1
            res = model(**kw)
            forwards += 1
            cache = res.get("cache") if res.get("cache") is not None else res.get("past_key_values")
            logits = res.logits[0, -(k + 1):].float()
            ts = time.perf_counter()
            if temperature == 0:
                from ..bitmask import masked_log_softmax

                p = masked_log_softmax(logits, masks, 1.0)
            else:
                p = _masked_probs(logits, masks, temperature)
            if near:
                a, x, refused = _budget_choice(m, guard, p, masks, left, temperature, generator, eos)
                steered += refused
            else:
                a, x = verify(p, qs, drafts, temperature, generator)
            if ttft is None:
                ttft = time.perf_counter() - t0
            drafted += k
            accepted += a
            forced += sum(is_forced[:a])
            if a and drafts[a - 1] in eos:  # the draft's EOS was accepted
                for d in drafts[:a - 1]:
                    m.advance(d)
                out += drafts[:a - 1]
                stop = "budget" if steered else "eos"
                break
            for d in drafts[:a]:
                m.advance(d)
            out += drafts[:a]
            n_cached += len(pending) + a
            _crop(cache, n_cached)
            if adaptive and k:
                if a == k:
                    k_now = min(k_now + 1, _K_ADAPTIVE[2])
                elif a < k / 2:
                    k_now = max(k_now - 1, _K_ADAPTIVE[1])
            mask_time += time.perf_counter() - ts
            if isinstance(x, list):  # the budget's own completion
                for t in x:
                    m.advance(t)
                out += x
                stop = "budget" if m.is_accepting() else "length"
                break
            if x < 0:
                raise StructgenError("the constraint allows no token in an unfinished state: an engine bug")
            if x in eos:
                stop = "budget" if steered else "eos"
                break
            if not m.advance(x):
                raise StructgenError(f"engine inconsistency: token {x} allowed by the mask was refused")
            out.append(x)
            pending = [x]
    elapsed = time.perf_counter() - t0
    data = vocab.decode_bytes(out)
    return GenerationResult(text=data.decode("utf-8", errors="replace"), data=data, tokens=out, stop_reason=stop,
                            prompt_tokens=len(prompt_ids), forced_tokens=forced, ttft=ttft if ttft else elapsed,
                            elapsed=elapsed, mask_time=mask_time, forward_passes=forwards, constrained=True,
                            budget_steered=steered, budget_fits=fits, drafted=drafted, accepted=accepted)


def _budget_choice(m: Any, guard: Any, p: Any, masks: np.ndarray, left: int, temperature: float,
                   generator: Any, eos: frozenset) -> tuple[int, Any, int]:
    """A single-token step near the budget: the target's choice under the mask, refused
    and drawn again while no completion fits after it (as ``generate`` does); after
    16 refusals the budget's own completion (a list of tokens).  Returns (0, token or
    list, refusals)."""
    import torch

    row = p[0].clone()
    refused = 0
    while True:
        x = int(torch.argmax(row)) if temperature == 0 else _draw(row, generator)
        if x < 0 or x in eos:
            return 0, x, refused
        m.advance(x)
        need = guard.tokens_to_finish()
        m.rollback(1)
        if need is None or need <= left - 1:
            return 0, x, refused
        refused += 1
        row[x] = -float("inf") if temperature == 0 else 0.0
        if refused > STEER_TRIES:
            guard.tokens_to_finish()
            return 0, list(guard.plan or [])[:left], refused
