"""Quickstart: make a language model's output a valid instance of a pydantic model.

    python examples/quickstart.py               # offline: a tiny random-weight model
    python examples/quickstart.py --model DIR   # any local Hugging Face causal LM

Without --model, the model is a 2-layer Llama with random weights over the GPT-2
tokenizer shipped in this repository: what it writes is meaningless, but it is always
a valid ``Character``, which is the point of structgen.  (The first run JIT-compiles
structgen's kernels, about a minute; later runs reuse numba's on-disk cache.)
"""

from __future__ import annotations

from typing import Literal

from _common import load, parse_args, report
from pydantic import BaseModel, Field

from structgen import generate


class Character(BaseModel):
    name: str = Field(min_length=1, max_length=16)
    role: Literal["wizard", "knight", "thief", "bard"]
    level: int = Field(ge=1, le=20)
    alive: bool


def main() -> None:
    args = parse_args(__doc__)
    model, tokenizer, is_random = load(args)
    prompts = ["Invent a fantasy character, as JSON:", "A brave knight of level 12, as JSON:"]
    # One batched call; sampling is applied after the mask, so every output parses.
    results = generate(model, tokenizer, prompts, schema=Character, whitespace="compact",
                       temperature=0.8, seed=args.seed, max_tokens=args.max_tokens)
    for prompt, result in zip(prompts, results):
        print(f"prompt: {prompt}")
        print(f"  text:  {result.text}")
        if result.finished:
            print(f"  value: {result.value!r}")  # a validated Character
        else:
            print("  (stopped at --max-tokens before the JSON was complete: not a valid output)")
        print(f"  {report(result)}")
    if is_random:
        print("note: random weights, so the content is nonsense; the structure is guaranteed. "
              "Try --model DIR with a real model.")


if __name__ == "__main__":
    main()
