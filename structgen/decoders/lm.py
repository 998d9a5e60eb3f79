"""Next-token distributions for the distribution-faithful decoders (ASAp, AWRS, SMC).

Those decoders need the model's *unconstrained* next-token log-probabilities of many
contexts, not a logits processor in a generation loop.  Two kinds of source give
them:

* a :class:`LanguageModel`: anything with ``vocab_size`` and
  ``next_logprobs(contexts) -> float[len(contexts), vocab_size]`` (normalised
  log-probabilities of the token after each context, a list of token ids).
  :class:`ToyLM` is one over a small vocabulary, used where the exact distribution
  must be enumerable (tests, ``benchmarks/aligned_exact.py``);
* a Hugging Face causal LM and a prompt, through :class:`HFModel` (the prompt is
  prepended to every context; ``temperature`` divides the logits).

A :class:`Batch` is the lock-step view SMC uses: ``n`` sequences that each take one
token per step, rows selected again on resampling.  For an :class:`HFModel` it keeps
one KV cache for the batch, so a step costs one forward pass of ``n`` new tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["LanguageModel", "ToyLM", "HFModel", "Batch", "as_language_model"]


@runtime_checkable
class LanguageModel(Protocol):
    vocab_size: int

    def next_logprobs(self, contexts: Sequence[Sequence[int]]) -> np.ndarray:
        """float (len(contexts), vocab_size): log P(next token | context)."""


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


class ToyLM:
    """A language model over ``vocab_size`` tokens whose next-token distribution is a
    fixed pseudo-random function of the context: logits ``sharpness * N(0, 1)`` drawn
    from a generator seeded by ``seed`` and the context, so every context has its own
    distribution and the same one on every call.  ``bias`` (a dict ``{token: logit}``)
    is added to every context's logits (to make an LM that, say, likes a token the
    constraint seldom allows after it)."""

    def __init__(self, vocab_size: int, *, seed: int = 0, sharpness: float = 2.0, bias: dict | None = None):
        self.vocab_size = int(vocab_size)
        self.seed = int(seed)
        self.sharpness = float(sharpness)
        self.bias = np.zeros(self.vocab_size)
        for t, b in (bias or {}).items():
            self.bias[int(t)] = float(b)
        self._memo: dict[tuple[int, ...], np.ndarray] = {}

    def _one(self, ctx: tuple[int, ...]) -> np.ndarray:
        lp = self._memo.get(ctx)
        if lp is None:
            rng = np.random.default_rng([self.seed, len(ctx), *ctx])
            lp = _log_softmax(self.sharpness * rng.standard_normal(self.vocab_size) + self.bias)
            self._memo[ctx] = lp
        return lp

    def next_logprobs(self, contexts: Sequence[Sequence[int]]) -> np.ndarray:
        return np.stack([self._one(tuple(int(t) for t in c)) for c in contexts]) if len(contexts) else \
            np.zeros((0, self.vocab_size))


class HFModel:
    """A Hugging Face causal LM behind ``prompt_ids`` as a :class:`LanguageModel`.

    ``next_logprobs`` runs the prompt and each context through the model (contexts
    right-padded to one length, one forward pass); :meth:`batch` gives the cached
    lock-step view.  ``temperature`` divides the logits.  The width of the model's
    output (its padded vocabulary) is ``vocab_size``."""

    def __init__(self, model: Any, prompt_ids: Sequence[int], *, temperature: float = 1.0):
        import torch

        self.model = model
        self.prompt = [int(t) for t in prompt_ids]
        if not self.prompt:
            raise ValueError("the prompt must have at least one token")
        if not (np.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
        self.temperature = float(temperature)
        self.device = next(model.parameters()).device
        self._torch = torch
        with torch.no_grad():
            out = model(torch.tensor([self.prompt], device=self.device))
        self.vocab_size = int(out.logits.shape[-1])

    def _logprobs(self, logits: Any) -> np.ndarray:
        """float32 log-probabilities (a float64 pass over a 49k vocabulary costs a few
        times as much, and the decoders only sample from them)."""
        torch = self._torch
        return torch.log_softmax(logits.float() / self.temperature, dim=-1).cpu().numpy()

    def next_logprobs(self, contexts: Sequence[Sequence[int]]) -> np.ndarray:
        torch = self._torch
        if not len(contexts):
            return np.zeros((0, self.vocab_size))
        rows = [self.prompt + [int(t) for t in c] for c in contexts]
        width = max(len(r) for r in rows)
        ids = torch.zeros((len(rows), width), dtype=torch.long, device=self.device)
        attn = torch.zeros_like(ids)
        for i, r in enumerate(rows):
            ids[i, :len(r)] = torch.tensor(r)
            attn[i, :len(r)] = 1
        with torch.no_grad():
            logits = self.model(ids, attention_mask=attn).logits
        last = torch.tensor([len(r) - 1 for r in rows], device=self.device)
        return self._logprobs(logits[torch.arange(len(rows), device=self.device), last])

    def batch(self, n: int) -> "Batch":
        return _HFBatch(self, n)


def as_language_model(model: Any, prompt_ids: Sequence[int] | None = None, *, temperature: float = 1.0):
    """``model`` if it is a :class:`LanguageModel`, else an :class:`HFModel` of it
    behind ``prompt_ids``."""
    if isinstance(model, LanguageModel):
        if temperature != 1.0:
            raise ValueError("temperature applies to a Hugging Face model; a LanguageModel gives its own log-probs")
        return model
    if prompt_ids is None:
        raise ValueError("a Hugging Face model needs a prompt")
    return HFModel(model, prompt_ids, temperature=temperature)


class Batch:
    """``n`` contexts that grow by one token per step (the SMC view of an LM).

    ``logprobs()`` gives float64 (n, V) for the current contexts; ``append(tokens)``
    adds one token per row; ``select(idx)`` makes row i a copy of row ``idx[i]``."""

    def __init__(self, lm: LanguageModel, n: int):
        self.lm = lm
        self.contexts: list[list[int]] = [[] for _ in range(n)]

    def logprobs(self) -> np.ndarray:
        return self.lm.next_logprobs(self.contexts)

    def append(self, tokens: Sequence[int]) -> None:
        for c, t in zip(self.contexts, tokens):
            c.append(int(t))

    def select(self, idx: Sequence[int]) -> None:
        self.contexts = [list(self.contexts[int(i)]) for i in idx]


def _cache_of(out: Any) -> Any:
    """The KV cache a forward pass returned (``cache`` in transformers 5.2x,
    ``past_key_values`` before)."""
    return out.get("cache") if out.get("cache") is not None else out.get("past_key_values")


def make_batch(lm: Any, n: int) -> Batch:
    """The lock-step view of ``lm`` (cached for an :class:`HFModel`)."""
    return lm.batch(n) if hasattr(lm, "batch") else Batch(lm, n)


class _HFBatch(Batch):
    """:class:`Batch` over one KV cache: the prompt runs once, each step is one forward
    pass of ``n`` new tokens, and ``select`` reorders the cache's batch rows."""

    def __init__(self, hf: HFModel, n: int):
        super().__init__(hf, n)
        torch = hf._torch
        from .common import forward_kwargs

        self.hf = hf
        self._cache_name, _ = forward_kwargs(hf.model)
        with torch.no_grad():
            out = hf.model(torch.tensor([hf.prompt] * n, device=hf.device), use_cache=True)
        self._cache = _cache_of(out)
        self._next = hf._logprobs(out.logits[:, -1])

    def logprobs(self) -> np.ndarray:
        return self._next

    def append(self, tokens: Sequence[int]) -> None:
        torch = self.hf._torch
        super().append(tokens)
        ids = torch.tensor([[int(t)] for t in tokens], device=self.hf.device)
        with torch.no_grad():
            out = self.hf.model(ids, use_cache=True, **{self._cache_name: self._cache})
        self._cache = _cache_of(out)
        self._next = self.hf._logprobs(out.logits[:, -1])

    def select(self, idx: Sequence[int]) -> None:
        torch = self.hf._torch
        super().select(idx)
        self._cache.reorder_cache(torch.tensor([int(i) for i in idx], device=self.hf.device))
        self._next = self._next[np.asarray(idx, dtype=np.int64)]
