"""Decoders over the compiled constraint: each one file over the same ``Matcher``.

* :mod:`.autoregressive` -- :func:`generate`, batched constrained decoding with any
  Hugging Face causal LM (jump-forward, the token budget);
* :mod:`.common` -- what they share: :class:`GenerationResult`, turning user input
  into a constraint, a vocabulary and prompts, sampling from masked logits.
"""

from __future__ import annotations

from .autoregressive import generate
from .common import GenerationResult, IncompleteGenerationError

__all__ = ["GenerationResult", "IncompleteGenerationError", "generate"]
