"""The six committed test tokenizers, loadable offline from ``tests/fixtures/tokenizers``.

Importable from tests and benchmarks (``from tests._tokenizers import load_vocab``); no
pytest needed.  Each fixture is ``tokenizer.json.xz`` (the shared ``tokenizer.json``,
xz-compressed) plus ``tokenizer_config.json``.  It is decompressed once into a cache
directory keyed by the compressed file's content hash (``$STRUCTGEN_TOKENIZER_CACHE``, or
``<tmp>/structgen-tokenizers``), so repeated runs and parallel workers share it, and
loaded with ``AutoTokenizer.from_pretrained(dir)``.  Loaded tokenizers and vocabularies
are cached per process.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from structgen.models import _decompress

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "tokenizers"

#: The six tokenizers every tokenizer-parametrised test runs over.
TOKENIZER_NAMES: tuple[str, ...] = ("gpt2", "llama2", "llama3", "qwen2", "phi3", "deepseek-coder")

#: Kind of each, as :attr:`structgen.vocab.Vocabulary.kind` reports it.
TOKENIZER_KINDS: dict[str, str] = {
    "gpt2": "byte_level",
    "llama2": "sentencepiece",
    "llama3": "byte_level",
    "qwen2": "byte_level",
    "phi3": "sentencepiece",
    "deepseek-coder": "byte_level",
}


@functools.lru_cache(maxsize=None)
def tokenizer_dir(name: str) -> Path:
    """Directory holding the decompressed tokenizer ``name`` (created on first use).

    Raises ``ValueError`` for an unknown name and ``FileNotFoundError`` if the fixture
    is missing."""
    if name not in TOKENIZER_NAMES:
        raise ValueError(f"unknown test tokenizer {name!r}; known: {', '.join(TOKENIZER_NAMES)}")
    src = FIXTURES / name
    return _decompress(name, src / "tokenizer.json.xz", src / "tokenizer_config.json")


@functools.lru_cache(maxsize=None)
def load_tokenizer(name: str) -> Any:
    """The HF tokenizer ``name`` (one of :data:`TOKENIZER_NAMES`), loaded once per process."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tokenizer_dir(name)))


@functools.lru_cache(maxsize=None)
def load_vocab(name: str) -> Any:
    """The :class:`structgen.vocab.Vocabulary` of tokenizer ``name`` with default
    arguments (vocab size = tokenizer length, EOS = the tokenizer's eos), built once per
    process."""
    from structgen.vocab import Vocabulary

    return Vocabulary.from_tokenizer(load_tokenizer(name))
