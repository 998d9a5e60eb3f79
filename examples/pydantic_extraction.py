"""Information extraction into a pydantic model, several documents in one batch.

    python examples/pydantic_extraction.py [--random | --model DIR]   (default: SmolLM2-135M-Instruct)

Each document is read by the model and the answer is constrained to the ``Contact``
schema: emails must match the e-mail format, dates the ISO date format, the phone
number a pattern.  With the tiny random model (--random) the values are nonsense
but always well-formed and always validate.
"""

from __future__ import annotations

import datetime as dt

from _common import chat_or_text, load, parse_args, report
from pydantic import BaseModel, Field

from structgen import generate

DOCUMENTS = [
    "Hi, I'm Dana Whitfield (dana.w@example.org), call me on 555-0142. Met you on 2024-03-18.",
    "From: Li Wei <li.wei@example.com>\nPhone 555-0199\nFollow-up meeting: 2025-01-07",
]


class Contact(BaseModel):
    name: str = Field(min_length=1, max_length=24)
    email: str = Field(pattern=r"^[a-z0-9._]{1,16}@[a-z0-9]{1,12}\.(com|org|net)$")
    phone: str = Field(pattern=r"^555-[0-9]{4}$")
    met_on: dt.date


def main() -> None:
    args = parse_args(__doc__, max_tokens=160)
    model, tokenizer, is_random = load(args)
    prompts = [chat_or_text(tokenizer, f"{doc}\n\nGive the contact's name, email, phone and the date we met.",
                            "You extract facts from text and answer in JSON.") for doc in DOCUMENTS]
    # Greedy, in the layout of json.dumps(value, indent=2), which small models know best.
    results = generate(model, tokenizer, prompts, schema=Contact, indent=2, seed=args.seed,
                       max_tokens=args.max_tokens)
    for doc, result in zip(DOCUMENTS, results):
        print(f"document: {doc!r}")
        if result.finished:
            contact = result.value  # Contact.model_validate_json(result.text)
            print(f"  {contact!r}")
        else:
            print(f"  incomplete at --max-tokens: {result.text!r}")
        print(f"  {report(result)}")
    if is_random:
        print("note: random weights: the fields are well-formed nonsense. Drop --random for a real model.")


if __name__ == "__main__":
    main()
