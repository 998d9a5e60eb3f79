"""What every decoder shares: the result type, turning user input into a constraint,
a vocabulary and prompts, and sampling a token from masked logits.

The decoders (:mod:`.autoregressive`, and the ones to come) import from here; the
transformers plug-in (:mod:`structgen.hf`) too.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import StructgenError

class IncompleteGenerationError(StructgenError, ValueError):
    """The generation stopped (at ``max_tokens``) before the constraint was satisfied,
    so its text is not a valid output."""


@dataclass
class GenerationResult:
    """One generated output.

    ``text``/``data``: the generated text (without the prompt and without EOS), as
    ``str`` and as the exact bytes the constraint saw (a text cut off by ``max_tokens``
    may end inside a UTF-8 character; ``text`` then shows U+FFFD).  ``tokens``: the
    generated token ids, EOS excluded.  ``stop_reason``: ``"eos"`` (the text is
    complete: EOS was chosen, nothing but EOS could follow, or ``max_tokens`` text
    tokens were written and the text is in the language), ``"budget"`` (the text is
    complete, and the token budget changed the model's choice at least once to get
    there: ``budget_steered`` tokens) or ``"length"`` (``max_tokens`` reached before
    the text was complete; with ``fit_budget`` only when no completion within
    ``max_tokens`` was known: then ``budget_fits`` is False).  ``forced_tokens``: how
    many of ``tokens`` were appended by jump-forward.  With ``draft=``
    (speculative decoding): ``drafted`` tokens proposed, ``accepted`` of them kept, and
    ``forward_passes`` counts the target's passes.  Timings in seconds: ``ttft`` (call to first generated
    token, prompt processing and compilation included), ``elapsed`` (whole call),
    ``mask_time`` (computing masks and advancing matchers).  In a batch the timings
    are those of the whole batch."""

    text: str
    data: bytes
    tokens: list[int]
    stop_reason: str
    prompt_tokens: int
    forced_tokens: int = 0
    ttft: float = 0.0
    elapsed: float = 0.0
    mask_time: float = 0.0
    forward_passes: int = 0
    constrained: bool = True
    schema_model: Any = field(default=None, repr=False)
    budget_steered: int = 0
    budget_fits: bool | None = None
    drafted: int = 0
    accepted: int = 0

    @property
    def finished(self) -> bool:
        """True when the output is complete (``stop_reason`` ``"eos"`` or ``"budget"``)."""
        return self.stop_reason in ("eos", "budget")

    @property
    def tokens_per_s(self) -> float:
        """Generated tokens per second over the whole call (prompt processing included)."""
        return len(self.tokens) / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def decode_tokens_per_s(self) -> float:
        """Tokens per second after the first one (the decoding rate, without prefill)."""
        span = self.elapsed - self.ttft
        return (len(self.tokens) - 1) / span if len(self.tokens) > 1 and span > 0 else 0.0

    def _require_finished(self, what: str) -> None:
        if not self.finished:
            raise IncompleteGenerationError(
                f"cannot give {what}: generation stopped at max_tokens ({len(self.tokens)} tokens) before the "
                f"constraint was satisfied; the partial text is {self.text[:120]!r}")

    @property
    def json(self) -> Any:
        """The text parsed as JSON (with a ``schema``, a valid instance of it).

        Raises :class:`IncompleteGenerationError` when the generation did not finish,
        and ``json.JSONDecodeError`` when the constraint was not JSON."""
        self._require_finished("JSON")
        return json.loads(self.text)

    @property
    def value(self) -> Any:
        """The validated pydantic instance, when ``schema`` was a pydantic model class.

        Raises :class:`IncompleteGenerationError` when the generation did not finish,
        ``ValueError`` when no pydantic class was given, and pydantic's
        ``ValidationError`` if the model's own validators reject the text."""
        if self.schema_model is None:
            raise ValueError("no pydantic model class was given as schema; use .json for the parsed value")
        self._require_finished("a pydantic value")
        return self.schema_model.model_validate_json(self.text)


# ---------------------------------------------------------------------- constraints


def eos_ids_for(model: Any, tokenizer: Any, eos_token_id: int | Sequence[int] | None = None) -> list[int]:
    """The EOS ids: ``eos_token_id`` when given, else the model's
    ``generation_config.eos_token_id`` (one id or several), else the tokenizer's.
    Raises ``ValueError`` when there is none."""
    if eos_token_id is None:
        gc = getattr(model, "generation_config", None)
        eos_token_id = getattr(gc, "eos_token_id", None) if gc is not None else None
    if eos_token_id is None:
        eos_token_id = getattr(tokenizer, "eos_token_id", None)
    if eos_token_id is None:
        raise ValueError("no EOS token: neither the model's generation_config nor the tokenizer names one; "
                         "pass eos_token_id=")
    ids = [eos_token_id] if isinstance(eos_token_id, (int, np.integer)) else list(eos_token_id)
    if not ids:
        raise ValueError("eos_token_id is an empty list")
    return sorted({int(i) for i in ids})


def check_logits_width(vocab: Any, width: int) -> None:
    """Check that logits of ``width`` columns fit ``vocab``.

    Wider logits (padded vocabulary) are fine: the ids past the vocabulary are always
    masked.  Narrower logits are fine only when every id cut off is neither text nor
    EOS (e.g. a tokenizer with one more special token than the model); otherwise
    ``ValueError``."""
    if width >= vocab.size:
        return
    cut_text = np.flatnonzero(vocab.is_text[width:])
    if cut_text.size:
        i = int(cut_text[0]) + width
        raise ValueError(f"the model's logits have {width} columns but the tokenizer's text token {i} "
                         f"({vocab.token_bytes[i]!r}) lies beyond them")
    if (vocab.eos_ids >= width).any():
        raise ValueError(f"the model's logits have {width} columns but EOS id {int(vocab.eos_ids.max())} lies beyond them")


# ---------------------------------------------------------------------- prompts


def _is_messages(x: Any) -> bool:
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(m, dict) for m in x)


def encode_prompts(tokenizer: Any, prompt: Any) -> tuple[list[list[int]], bool]:
    """Token ids of each prompt, and whether ``prompt`` was a batch.

    ``prompt``: a ``str`` (tokenized with the tokenizer's special tokens, e.g. BOS), a
    chat (a list of ``{"role", "content"}`` dicts, rendered with the tokenizer's chat
    template and ``add_generation_prompt=True``), or a list of those (a batch).  Raises
    ``ValueError`` for an empty prompt or batch, or a chat with a tokenizer that has no
    ``chat_template``, and ``TypeError`` for anything else."""
    if isinstance(prompt, str) or _is_messages(prompt):
        items, batch = [prompt], False
    elif isinstance(prompt, (list, tuple)):
        if not prompt:
            raise ValueError("empty batch of prompts")
        items, batch = list(prompt), True
    else:
        raise TypeError(f"prompt must be a str, a list of chat messages, or a list of those, "
                        f"not {type(prompt).__name__}")
    out = []
    for i, p in enumerate(items):
        if isinstance(p, str):
            ids = list(tokenizer(p, add_special_tokens=True)["input_ids"])
        elif _is_messages(p):
            if not getattr(tokenizer, "chat_template", None):
                raise ValueError("prompt is a list of chat messages but the tokenizer has no chat_template; "
                                 "set tokenizer.chat_template or pass the prompt as a str")
            text = tokenizer.apply_chat_template(list(p), add_generation_prompt=True, tokenize=False)
            ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        else:
            raise TypeError(f"prompt[{i}] must be a str or a list of chat messages, not {type(p).__name__}")
        if not ids:
            raise ValueError(f"prompt[{i}] is empty (no tokens); give at least one token of context")
        out.append([int(t) for t in ids])
    return out, batch


# ---------------------------------------------------------------------- sampling


def check_sampling(max_tokens: int, temperature: float, top_p: float, top_k: int) -> None:
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, (int, np.integer)) or max_tokens < 1:
        raise ValueError(f"max_tokens must be a positive int, got {max_tokens!r}")
    if not (isinstance(temperature, (int, float)) and np.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    if not (isinstance(top_p, (int, float)) and 0 < top_p <= 1):
        raise ValueError(f"top_p must be in (0, 1], got {top_p!r}")
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 0:
        raise ValueError(f"top_k must be an int >= 0 (0: off), got {top_k!r}")


def filter_top_k_top_p(logp: Any, top_k: int, top_p: float) -> Any:
    """Set the log-probabilities outside the top-k / top-p nucleus to -inf (rows of a
    masked, normalised (n, V) float32 tensor; the most likely token always stays)."""
    import torch

    if 0 < top_k < logp.shape[-1]:
        kth = torch.topk(logp, top_k, dim=-1).values[:, -1:]
        logp = logp.masked_fill(logp < kth, float("-inf"))
    if top_p < 1.0:
        sorted_lp, order = torch.sort(logp, dim=-1, descending=True)
        probs = sorted_lp.exp()
        before = probs.cumsum(dim=-1) - probs  # mass of the tokens ranked above
        drop_sorted = before >= top_p
        drop_sorted[:, 0] = False
        drop = torch.zeros_like(drop_sorted).scatter_(-1, order, drop_sorted)
        logp = logp.masked_fill(drop, float("-inf"))
    return logp


def sample_rows(logp: Any, generator: Any) -> Any:
    """One draw from ``softmax(logp)`` per row of a (n, k) tensor with a finite entry
    in every row, by inverse CDF (one exp, one cumsum and a binary search per row)."""
    import torch

    cdf = logp.exp().cumsum_(dim=-1)
    total = cdf[:, -1:].contiguous()
    u = torch.rand(total.shape, generator=generator, device=logp.device) * total
    ids = torch.searchsorted(cdf, u, right=True)
    # u rounded up to the total: take the token that completes the total (prob > 0).
    return torch.where(ids >= logp.shape[-1], torch.searchsorted(cdf, total, right=False), ids)[:, 0]


def choose(logits: Any, bitmask: np.ndarray | None, temperature: float, top_k: int, top_p: float,
            generator: Any) -> np.ndarray:
    """Next token per row of ``logits`` (n, V) under ``bitmask`` (n, W) or no mask.

    Returns int64[n]; -1 where the mask allows no token."""
    import torch

    from ..bitmask import masked_argmax, masked_log_softmax

    if bitmask is None:
        if temperature == 0:
            return logits.argmax(dim=-1).cpu().numpy().astype(np.int64)
        logp = torch.log_softmax(logits.float() / temperature, dim=-1)
    elif temperature == 0:
        out = masked_argmax(logits, bitmask)
        return np.asarray(out.cpu().numpy() if hasattr(out, "cpu") else out, dtype=np.int64)
    else:
        logp = masked_log_softmax(logits, bitmask, temperature)
    # Per row, only over the tokens still possible: masks usually leave a few, and
    # top-k/top-p (a sort) and the inverse-CDF draw then cost next to nothing.
    ids = np.full(logp.shape[0], -1, dtype=np.int64)
    host = logp.numpy() if logp.device.type == "cpu" else None
    for r in range(logp.shape[0]):
        if host is not None:  # numpy finds the finite entries several times faster
            idx = np.flatnonzero(host[r] > -np.inf)
            sub = torch.from_numpy(host[r, idx])[None, :]
        else:
            idx = torch.nonzero(logp[r] > float("-inf")).squeeze(1)
            sub = logp[r, idx][None, :]
        if idx.shape[0] == 0:
            continue
        if top_k or top_p < 1.0:
            sub = filter_top_k_top_p(sub, top_k, top_p)
        ids[r] = int(idx[int(sample_rows(sub, generator)[0])])
    return ids


def only_token(words: np.ndarray) -> int:
    """The one token a bitmask row allows, or -1 when it allows none or several."""
    nz = np.flatnonzero(words)
    if nz.shape[0] != 1:
        return -1
    w = int(words[nz[0]]) & 0xFFFFFFFF
    if w & (w - 1):
        return -1
    return int(nz[0]) * 32 + w.bit_length() - 1


def forward_kwargs(model: Any) -> tuple[str, bool]:
    """The name of the model's KV-cache argument (``cache`` in transformers 5.2x,
    ``past_key_values`` before) and whether it takes ``logits_to_keep``."""
    params = inspect.signature(model.forward).parameters
    cache_name = "cache" if "cache" in params else "past_key_values"
    return cache_name, "logits_to_keep" in params
