"""Helpers shared by the JSON Schema tests and conformance runners.

* :func:`jsts` / :func:`maskbench_sample`: the committed fixtures
  (``tests/conformance/data``, see ``make_fixtures.py``); :func:`maskbench_full`
  reads ``../shared/maskbench/dev.jsonl`` when present.
* :data:`BYTE_VOCAB`: a vocabulary of the 256 single bytes plus EOS, for checking
  languages without a tokenizer (``accepts_text``).
* :func:`walk_tokens`: feed a token sequence to a matcher, then check EOS.
* :func:`reference_validator`: the jsonschema validator (the draft the schema
  declares, 2020-12 by default) with format checking, the oracle of soundness.
"""

from __future__ import annotations

import functools
import json
import lzma
import os
import warnings
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
SHARED = Path(os.environ.get("STRUCTGEN_SHARED", Path(__file__).resolve().parents[3] / "shared"))


@functools.lru_cache(maxsize=1)
def jsts() -> dict:
    """``{"groups": {file: [group, ...]}, "remotes": {uri: schema}}``."""
    return json.loads(lzma.decompress((DATA / "jsts-draft2020-12.json.xz").read_bytes()))


@functools.lru_cache(maxsize=1)
def maskbench_sample() -> list[dict]:
    text = lzma.decompress((DATA / "maskbench-sample.jsonl.xz").read_bytes()).decode()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def maskbench_full() -> list[dict] | None:
    path = SHARED / "maskbench" / "dev.jsonl"
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def split_of(record_id: str) -> str:
    return record_id.split("---")[0] if "---" in record_id else record_id.rsplit("_", 1)[0]


@functools.lru_cache(maxsize=1)
def byte_vocab():
    from structgen.vocab import Vocabulary

    return Vocabulary.from_token_bytes([bytes([i]) for i in range(256)] + [None], eos_ids=[256])


def compile_bytes(schema, **options):
    """The constraint compiled for the byte vocabulary."""
    from structgen.api import compile as sg_compile
    from structgen.jsonschema import JsonSchema

    c = schema if hasattr(schema, "to_ir") else JsonSchema(schema, **options)
    return sg_compile(c, byte_vocab())


def accepts_text(grammar, text: str | bytes) -> bool:
    """Is ``text`` a complete sentence of the grammar (bytes fed one by one)?"""
    data = text.encode() if isinstance(text, str) else text
    m = grammar.matcher()
    for b in data:
        if not m.advance(b):
            return False
    return m.is_accepting() and m.accepts(256)


def walk_tokens(grammar, ids: list[int]) -> tuple[bool, int]:
    """(accepted with EOS at the end, index of the first rejected token or -1)."""
    m = grammar.matcher()
    for i, t in enumerate(ids):
        if not m.advance(int(t)):
            return False, i
    return m.is_accepting(), -1


def reference_validator(schema, remotes: dict | None = None):
    """jsonschema's validator for ``schema`` (draft from ``$schema``, 2020-12 by
    default) with format checking, resolving ``remotes``."""
    import referencing
    import referencing.jsonschema as rj
    from jsonschema import validators

    cls = validators.validator_for(schema, default=validators.Draft202012Validator) \
        if isinstance(schema, dict) else validators.Draft202012Validator
    registry = referencing.Registry()
    for uri, s in (remotes or {}).items():
        registry = registry.with_resource(uri, referencing.Resource.from_contents(
            s, default_specification=rj.DRAFT202012))
    return cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)


def is_valid(validator, instance) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return validator.is_valid(instance)
