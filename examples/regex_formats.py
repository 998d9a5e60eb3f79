"""Regular-expression constraints: dates and phone numbers.

    python examples/regex_formats.py [--random | --model DIR]   (default: SmolLM2-135M-Instruct)

Patterns use Python ``re`` syntax and must match the whole output.  Forced text (the
literal parts of a pattern) is appended by jump-forward without asking the model,
which the forced-token counts show.
"""

from __future__ import annotations

import re

from _common import load, parse_args, report

from structgen import generate

PATTERNS = {
    "ISO date": r"(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])",
    "US phone": r"\([2-9][0-9]{2}\) [2-9][0-9]{2}-[0-9]{4}",
    "international phone": r"\+[1-9][0-9]{0,2} [0-9]{2,4}( [0-9]{2,4}){1,3}",
    "date and time": r"Date: (0[1-9]|[12][0-9]|3[01])/(0[1-9]|1[0-2])/20[0-9]{2}, time: ([01][0-9]|2[0-3]):[0-5][0-9]",
}


def main() -> None:
    args = parse_args(__doc__, max_tokens=40)
    model, tokenizer, is_random = load(args)
    for name, pattern in PATTERNS.items():
        r = generate(model, tokenizer, f"Write a {name}:", regex=pattern, temperature=1.0, seed=args.seed,
                     max_tokens=args.max_tokens)
        ok = "matches" if r.finished and re.fullmatch(pattern, r.text) else "INCOMPLETE"
        print(f"{name:20} {r.text:52} {ok:10} {report(r)}")
    if is_random:
        print("note: random weights: arbitrary digits, always in the required format.")


if __name__ == "__main__":
    main()
