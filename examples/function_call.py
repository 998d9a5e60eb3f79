"""Function calling: pick a tool, then generate its arguments against its JSON Schema.

    python examples/function_call.py [--random | --model DIR]   (default: SmolLM2-135M-Instruct)

The tool schemas are the ones shipped in ``schemas/`` (installed as
``structgen.schemas``).  Step 1 constrains the answer to one of the tool names (a
regex); step 2 constrains the arguments to that tool's schema.  The same constraint
also works inside ``model.generate`` through ``structgen.hf.LogitsProcessor``, shown
last.
"""

from __future__ import annotations

import json
import re
from importlib import resources

from _common import load, parse_args, report

from structgen import generate
from structgen.hf import LogitsProcessor
from structgen.jsonschema import JsonSchema

TOOLS = ("get_weather", "web_search")


def tool_schema(name: str) -> dict:
    return json.loads((resources.files("structgen.schemas") / f"{name}.json").read_text(encoding="utf-8"))


def main() -> None:
    args = parse_args(__doc__, max_tokens=120)
    model, tokenizer, is_random = load(args)
    question = "What's the weather like in Lisbon this week?"
    catalogue = "\n".join(f"- {t}: {tool_schema(t).get('description', '')}" for t in TOOLS)
    prompt = f"Tools:\n{catalogue}\n\nUser: {question}\nTool to call:"

    choice = generate(model, tokenizer, prompt, regex="|".join(map(re.escape, TOOLS)), temperature=0.0)
    tool = choice.text
    print(f"tool: {tool}  ({report(choice)})")

    schema = JsonSchema(tool_schema(tool), whitespace="compact")
    call = generate(model, tokenizer, f"{prompt} {tool}\nArguments (JSON):", schema=schema, temperature=0.8,
                    seed=args.seed, max_tokens=args.max_tokens)
    if call.finished:
        print(f"arguments: {json.dumps(call.json)}  ({report(call)})")
    else:
        print(f"arguments incomplete at --max-tokens: {call.text!r}")

    # The same schema as a transformers logits processor (greedy, beam search, sampling ...).
    processor = LogitsProcessor(schema, tokenizer)
    enc = tokenizer(f"{prompt} {tool}\nArguments (JSON):", return_tensors="pt").to(model.device)
    out = model.generate(**enc, logits_processor=[processor], max_new_tokens=args.max_tokens, num_beams=2,
                         do_sample=False, pad_token_id=tokenizer.eos_token_id)
    text = tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    print(f"model.generate + LogitsProcessor (beam search): {text}")
    if is_random:
        print("note: random weights: the arguments are nonsense but always match the tool's schema.")


if __name__ == "__main__":
    main()
