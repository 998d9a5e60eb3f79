"""Shared command-line handling for the examples (not part of structgen's API).

Every example runs offline: without ``--model`` it builds a tiny 2-layer Llama with
random weights over a real tokenizer shipped in the source tree, and says so.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def parse_args(description: str, **defaults: Any) -> argparse.Namespace:
    """The options every example takes: --model, --tokenizer, --seed, --max-tokens."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model", metavar="DIR", help="a local Hugging Face causal LM (default: a tiny random model)")
    p.add_argument("--tokenizer", metavar="DIR", help="tokenizer directory (default: the model's, or shipped GPT-2)")
    p.add_argument("--seed", type=int, default=defaults.get("seed", 0), help="sampling seed")
    p.add_argument("--max-tokens", type=int, default=defaults.get("max_tokens", 200), help="token budget per output")
    return p.parse_args()


def load(args: argparse.Namespace) -> tuple[Any, Any, bool]:
    """``(model, tokenizer, is_random)``; prints which model is used."""
    import torch

    from structgen._models import load_model_and_tokenizer

    if args.model is None:
        torch.set_num_threads(1)  # a tiny model gains nothing from more threads
    model, tokenizer, desc = load_model_and_tokenizer(args.model, tokenizer_dir=args.tokenizer, seed=0)
    if args.model is not None and torch.cuda.is_available():
        model.to("cuda")
    print(f"[model] {desc}", file=sys.stderr)
    return model, tokenizer, args.model is None


def report(result: Any) -> str:
    """One line about a GenerationResult: stop reason, tokens, forced tokens, speed."""
    return (f"{result.stop_reason}, {len(result.tokens)} tokens ({result.forced_tokens} forced by jump-forward), "
            f"{result.tokens_per_s:.0f} tokens/s")
