"""SQL generation under the SELECT grammar shipped with structgen (``grammars/sql.lark``).

    python examples/sql.py [--random | --model DIR]   (default: SmolLM2-135M-Instruct)

``structgen.constraints.Lark("sql")`` loads the shipped grammar; every output the
model finishes is a syntactically valid query.  A real model knows when a query is
done; the tiny random model (--random) does not, so for it the example adds a
large ``logit_bias`` on EOS: the mask still allows EOS only where the query is
complete, so it stops at the first point where the query may end.  Identifiers and
comments are unbounded in SQL, so some random runs still reach --max-tokens; they are
reported as incomplete, never printed as valid SQL.
"""

from __future__ import annotations

from _common import chat_or_text, load, parse_args, report

from structgen.constraints import Lark
from structgen import generate


def main() -> None:
    args = parse_args(__doc__, max_tokens=48)
    model, tokenizer, is_random = load(args)
    sql = Lark("sql")
    prompt = ("-- SQLite. Table users(id, name, age, city).\n-- all users older than 30\n" if is_random else
              chat_or_text(tokenizer, "Table users(id, name, age, city). Write an SQLite query that selects "
                                      "the names of all users older than 30.", "You write SQL queries."))
    bias = {tokenizer.eos_token_id: 30.0} if is_random else None
    found = 0
    for seed in range(args.seed, args.seed + 10):
        r = generate(model, tokenizer, prompt, grammar=sql, temperature=1.0 if is_random else 0.0, seed=seed, max_tokens=args.max_tokens,
                     logit_bias=bias)
        if r.finished:
            found += 1
            print(f"seed {seed}: {r.text.strip()!r}  ({report(r)})")
        else:
            # the grammar ignores comments and whitespace after the query, so a model may
            # go on writing "-- ..." past the ';' until --max-tokens
            print(f"seed {seed}: incomplete after {len(r.tokens)} tokens: {r.text!r}")
        if found == 2 or not is_random:
            break
    if is_random:
        print("note: random weights with an EOS bias: valid SQL syntax, meaningless content.")


if __name__ == "__main__":
    main()
