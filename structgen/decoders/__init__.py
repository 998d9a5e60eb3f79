"""Decoders over the compiled constraint: each one file over the same ``Matcher``.

* :mod:`.autoregressive` -- :func:`generate`, batched constrained decoding with any
  Hugging Face causal LM (jump-forward, the token budget);
* :mod:`.asap` -- :class:`~.asap.ASAp`, grammar-aligned sampling: samples that
  converge to ``P(text | text in the language)`` as an EFG trie fills;
* :mod:`.smc` -- :func:`~.smc.smc`, sequential Monte Carlo whose weighted particles
  target ``P(text | text in the language)``, over :mod:`.awrs` proposals (adaptive
  weighted rejection sampling: one constraint check per draw instead of a mask, and
  an unbiased estimate of the local normaliser);
* :mod:`.lm` -- the next-token distributions those decoders read (a Hugging Face
  model behind a prompt, or a toy LM for exact tests);
* :mod:`.common` -- what they share: :class:`GenerationResult`, turning user input
  into a constraint, a vocabulary and prompts, sampling from masked logits.
"""

from __future__ import annotations

from .autoregressive import generate
from .common import GenerationResult, IncompleteGenerationError

__all__ = ["GenerationResult", "IncompleteGenerationError", "generate"]
