"""The ``structgen`` command line: ``structgen generate`` and ``structgen validate``.

Run ``structgen --help`` (or ``python -m structgen.cli --help``) for the usage.
Exit codes: 0 success; 1 an error (a constraint that does not compile, a missing file);
2 bad usage (argparse); 3 ``generate`` stopped at ``--max-tokens`` before the
constraint was satisfied (the partial text is still printed, marked incomplete).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

EXIT_ERROR = 1
EXIT_INCOMPLETE = 3

_DESCRIPTION = """\
Structured generation with structgen: constrain a language model's output to a JSON
Schema, a regular expression or a Lark grammar.

commands:
  generate   generate text that satisfies a constraint, with a local Hugging Face model
             (or, without --model, a tiny random-weight model that runs anywhere)
  validate   compile constraints for a tokenizer and report what is supported

Run `structgen COMMAND --help` for the options of each command."""

_GENERATE_EPILOG = """\
examples:
  structgen generate --schema schemas/get_weather.json --prompt "Weather in Paris?"
  structgen generate --model ./my-model --schema person.json --prompt "Alice, 31" --temperature 0.7 --seed 1
  structgen generate --regex "[0-9]{4}-[0-9]{2}-[0-9]{2}" --prompt "Today's date:"
  structgen generate --grammar sql --prompt "List all users:" --max-tokens 64

Without --model a tiny 2-layer Llama with random weights is built over a tokenizer
shipped with structgen: the output obeys the constraint but means nothing.
The generated text goes to stdout; a summary (stop reason, tokens, timings) to stderr.
Exit code 3 means --max-tokens was reached before the constraint was satisfied."""

_VALIDATE_EPILOG = """\
examples:
  structgen validate --schema schemas/                 # every *.json in the folder
  structgen validate --schema a.json b.json --tokenizer ./my-model
  structgen validate --grammar my.lark --regex "[a-z]+@[a-z]+\\.com"

Each constraint is compiled for the tokenizer's vocabulary; the report says whether it
compiled (with its size and compile time), what was ignored as non-constraining, and,
for a CompileError, the message naming the keyword and its place. Exit code 1 when
any constraint failed."""


def _constraint_args(p: argparse.ArgumentParser, *, many: bool) -> None:
    g = p.add_argument_group("constraint" if not many else "constraints (any number, at least one)")
    if many:
        g.add_argument("--schema", nargs="+", default=[], metavar="FILE",
                       help="JSON Schema files, folders of *.json files, or names of schemas shipped with structgen")
        g.add_argument("--regex", nargs="+", default=[], metavar="PATTERN", help="regular expressions (Python syntax)")
        g.add_argument("--grammar", nargs="+", default=[], metavar="FILE",
                       help="Lark grammar files, or shipped grammar names (json, sql, arithmetic, c)")
    else:
        x = g.add_mutually_exclusive_group()
        x.add_argument("--schema", metavar="FILE",
                       help="a JSON Schema file (or the name of a schema shipped with structgen, e.g. get_weather)")
        x.add_argument("--regex", metavar="PATTERN", help="a regular expression the whole output must match")
        x.add_argument("--grammar", metavar="FILE",
                       help="a Lark grammar file, or a shipped grammar name: json, sql, arithmetic, c")
    s = p.add_argument_group("JSON Schema options")
    s.add_argument("--whitespace", choices=("flexible", "compact", "any"), default=None,
                   help="whitespace between JSON tokens: flexible (a space or a line break and indentation, "
                        "the default), compact (none) or any (bounded runs, also around the value)")
    s.add_argument("--indent", type=int, default=None, metavar="N", help="force json.dumps(..., indent=N) layout")
    s.add_argument("--lenient", action="store_true",
                   help="drop constraints that cannot be enforced (with a warning) instead of failing")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="structgen", description=_DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    from . import __version__

    parser.add_argument("--version", action="version", version=f"structgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gen = sub.add_parser("generate", help="generate text that satisfies a constraint",
                         description="Generate text that satisfies a JSON Schema, a regex or a Lark grammar.",
                         epilog=_GENERATE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    m = gen.add_argument_group("model")
    m.add_argument("--model", metavar="DIR",
                   help="a local Hugging Face causal-LM directory (default: a tiny random-weight model)")
    m.add_argument("--tokenizer", metavar="DIR", help="tokenizer directory (default: the model's, or a shipped one)")
    m.add_argument("--device", default=None, help="torch device for --model (default: cuda if available, else cpu)")
    _constraint_args(gen, many=False)
    d = gen.add_argument_group("decoding")
    d.add_argument("--prompt", required=True, help="the prompt text (see --chat)")
    d.add_argument("--chat", action="store_true",
                   help="send the prompt as a user message through the tokenizer's chat template")
    d.add_argument("--system", default=None, metavar="TEXT", help="a system message (with --chat)")
    d.add_argument("--max-tokens", type=int, default=256, metavar="N", help="most tokens to generate (default 256)")
    d.add_argument("--temperature", type=float, default=0.0, metavar="T",
                   help="sampling temperature; 0 is greedy (default 0)")
    d.add_argument("--top-p", type=float, default=1.0, metavar="P", help="nucleus sampling (default 1: off)")
    d.add_argument("--top-k", type=int, default=0, metavar="K", help="top-k sampling (default 0: off)")
    d.add_argument("--seed", type=int, default=None, help="random seed (sampling, and the random model's weights)")
    d.add_argument("--no-jump-forward", dest="jump_forward", action="store_false",
                   help="sample forced text token by token instead of appending it canonically")
    o = gen.add_argument_group("output")
    o.add_argument("--json-output", action="store_true",
                   help="print one JSON record (text, stop_reason, tokens, timings) instead of the bare text")
    o.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="show a progress bar (default: when stderr is a terminal)")
    o.add_argument("--no-progress", dest="progress", action="store_false", help="never show a progress bar")
    gen.set_defaults(func=_cmd_generate)

    val = sub.add_parser("validate", help="compile constraints and report what is supported",
                         description="Compile constraints for a tokenizer and report, for each, whether it is "
                                     "supported.",
                         epilog=_VALIDATE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    val.add_argument("--tokenizer", metavar="DIR",
                     help="a local tokenizer (or model) directory (default: the shipped GPT-2 tokenizer)")
    _constraint_args(val, many=True)
    val.set_defaults(func=_cmd_validate)
    return parser


def _schema_options(args: argparse.Namespace) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if args.whitespace is not None:
        opts["whitespace"] = args.whitespace
    if args.indent is not None:
        opts["indent"] = args.indent
    if args.lenient:
        opts["lenient"] = True
    return opts


def _read_schema(spec: str) -> tuple[Any, str]:
    """A schema from a file, or from a schema shipped in ``structgen.schemas``."""
    path = Path(spec)
    if not path.is_file():
        from importlib import resources

        shipped = resources.files("structgen.schemas") / (spec if spec.endswith(".json") else f"{spec}.json")
        if os.sep not in spec and "/" not in spec and shipped.is_file():
            return json.loads(shipped.read_text(encoding="utf-8")), f"structgen.schemas/{shipped.name}"
        raise FileNotFoundError(f"schema file not found: {spec}")
    try:
        return json.loads(path.read_text(encoding="utf-8")), str(path)
    except ValueError as exc:
        from .errors import CompileError

        raise CompileError(f"{path}: not valid JSON: {exc}") from None


def _err(msg: str) -> None:
    print(f"structgen: error: {msg}", file=sys.stderr)


# ---------------------------------------------------------------------- generate


def _cmd_generate(args: argparse.Namespace) -> int:
    import torch

    from .models import load_model_and_tokenizer
    from .errors import StructgenError
    from .decoders import generate

    if args.schema is None and args.regex is None and args.grammar is None:
        _err("give a constraint: --schema FILE, --regex PATTERN or --grammar FILE")
        return EXIT_ERROR
    opts = _schema_options(args)
    if opts and args.schema is None:
        _err("--whitespace, --indent and --lenient apply to --schema only")
        return EXIT_ERROR
    kwargs: dict[str, Any] = {}
    try:
        if args.schema is not None:
            kwargs["schema"], _ = _read_schema(args.schema)
            kwargs.update(opts)
        elif args.regex is not None:
            kwargs["regex"] = args.regex
        else:
            kwargs["grammar"] = args.grammar
        model, tokenizer, desc = load_model_and_tokenizer(
            args.model, tokenizer_dir=args.tokenizer, seed=args.seed if args.seed is not None else 0)
    except (OSError, StructgenError, ValueError) as exc:
        _err(str(exc))
        return EXIT_ERROR
    if args.model is not None:
        device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
        model.to(device)
    print(f"structgen: using {desc}", file=sys.stderr)
    prompt: Any = args.prompt
    if args.chat:
        prompt = ([{"role": "system", "content": args.system}] if args.system else []) + [
            {"role": "user", "content": args.prompt}]
    elif args.system:
        _err("--system needs --chat")
        return EXIT_ERROR
    progress = args.progress if args.progress is not None else sys.stderr.isatty()
    from ._engine import kernels_cached

    if kernels_cached() is False:
        print("structgen: first run after install: compiling the kernels (about a minute, once; later runs load "
              "them from numba's cache)", file=sys.stderr)
    try:
        result = generate(model, tokenizer, prompt, max_tokens=args.max_tokens, temperature=args.temperature,
                          top_p=args.top_p, top_k=args.top_k, seed=args.seed, jump_forward=args.jump_forward,
                          progress=progress, **kwargs)
    except (StructgenError, ValueError, TypeError) as exc:
        _err(str(exc))
        return EXIT_ERROR
    if args.json_output:
        record = {"text": result.text, "finished": result.finished, "stop_reason": result.stop_reason,
                  "tokens": len(result.tokens), "forced_tokens": result.forced_tokens,
                  "prompt_tokens": result.prompt_tokens, "ttft_s": round(result.ttft, 4),
                  "elapsed_s": round(result.elapsed, 4), "tokens_per_s": round(result.tokens_per_s, 2)}
        print(json.dumps(record, ensure_ascii=False))
    else:
        print(result.text)
    n = len(result.tokens)
    per_token = 1000 * (result.elapsed - result.ttft) / (n - 1) if n > 1 else 1000 * result.elapsed
    summary = (f"stop: {result.stop_reason}; {n} tokens ({result.forced_tokens} forced) in "
               f"{result.elapsed:.2f} s: first token after {result.ttft:.2f} s (compilation included), "
               f"then {per_token:.1f} ms/token")
    print(f"structgen: {summary}", file=sys.stderr)
    if not result.finished:
        print(f"structgen: INCOMPLETE: --max-tokens {args.max_tokens} was reached before the constraint was "
              f"satisfied; the text above is not a valid output", file=sys.stderr)
        return EXIT_INCOMPLETE
    return 0


# ---------------------------------------------------------------------- validate


def _expand_schema_specs(specs: Sequence[str]) -> list[str]:
    out: list[str] = []
    for spec in specs:
        p = Path(spec)
        if p.is_dir():
            files = sorted(str(f) for f in p.glob("*.json"))
            if not files:
                raise FileNotFoundError(f"no *.json files in {spec}")
            out.extend(files)
        else:
            out.append(spec)
    return out


def _cmd_validate(args: argparse.Namespace) -> int:
    from .models import bundled_tokenizer
    from .api import compile as compile_constraint
    from .constraints import Lark, Regex
    from .errors import CompileError
    from .jsonschema import JsonSchema

    if not (args.schema or args.regex or args.grammar):
        _err("give at least one constraint: --schema, --regex or --grammar")
        return EXIT_ERROR
    opts = _schema_options(args)
    try:
        schema_specs = _expand_schema_specs(args.schema)
        if args.tokenizer is not None:
            from transformers import AutoTokenizer

            if not Path(args.tokenizer).is_dir():
                raise FileNotFoundError(f"tokenizer directory not found: {args.tokenizer}")
            tokenizer = AutoTokenizer.from_pretrained(args.tokenizer, local_files_only=True)
            where = args.tokenizer
        else:
            tokenizer = bundled_tokenizer("gpt2")
            where = "the shipped GPT-2 tokenizer"
    except (OSError, ValueError) as exc:
        _err(str(exc))
        return EXIT_ERROR
    print(f"tokenizer: {where} ({len(tokenizer)} ids)")

    jobs: list[tuple[str, Any]] = []
    for spec in schema_specs:
        jobs.append((spec, ("schema", spec)))
    for pattern in args.regex:
        jobs.append((f"regex /{pattern}/", ("regex", pattern)))
    for g in args.grammar:
        jobs.append((f"grammar {g}", ("grammar", g)))

    n_fail = 0
    for label, (kind, spec) in jobs:
        notes: list[str] = []
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if kind == "schema":
                    schema, label = _read_schema(spec)
                    constraint: Any = JsonSchema(schema, **opts)
                elif kind == "regex":
                    constraint = Regex(spec)
                else:
                    constraint = Lark(spec)
                grammar = compile_constraint(constraint, tokenizer)
                n_start = int(grammar.matcher().allowed_tokens().size)
            notes += [f"warning: {w.message}" for w in caught]
            notes += [f"note: {n}" for n in getattr(constraint, "notes", [])]
        except CompileError as exc:
            n_fail += 1
            print(f"FAIL  {label}: CompileError: {exc}")
            continue
        except (OSError, ValueError) as exc:
            n_fail += 1
            print(f"FAIL  {label}: {type(exc).__name__}: {exc}")
            continue
        dt = time.perf_counter() - t0
        t = grammar.tables
        print(f"ok    {label}: {len(t.terminal_names)} terminals, {t.n_rules} rules, compiled in {dt:.2f} s; "
              f"{n_start} tokens allowed first")
        for n in notes:
            print(f"        {n}")
    n_ok = len(jobs) - n_fail
    print(f"{n_ok} supported, {n_fail} failed")
    return EXIT_ERROR if n_fail else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
