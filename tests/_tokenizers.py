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
import hashlib
import lzma
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

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


def _cache_root() -> Path:
    root = os.environ.get("STRUCTGEN_TOKENIZER_CACHE")
    return Path(root) if root else Path(tempfile.gettempdir()) / "structgen-tokenizers"


@functools.lru_cache(maxsize=None)
def tokenizer_dir(name: str) -> Path:
    """Directory holding the decompressed tokenizer ``name`` (created on first use).

    Raises ``ValueError`` for an unknown name and ``FileNotFoundError`` if the fixture
    is missing."""
    if name not in TOKENIZER_NAMES:
        raise ValueError(f"unknown test tokenizer {name!r}; known: {', '.join(TOKENIZER_NAMES)}")
    src = FIXTURES / name
    packed = src / "tokenizer.json.xz"
    data = packed.read_bytes()
    config = (src / "tokenizer_config.json").read_bytes()
    digest = hashlib.sha256(data + b"\0" + config).hexdigest()[:16]
    dest = _cache_root() / f"{name}-{digest}"
    if (dest / "tokenizer.json").is_file() and (dest / "tokenizer_config.json").is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Decompress into a private directory, then rename: concurrent runs never see a
    # half-written tokenizer.
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=dest.parent))
    try:
        (work / "tokenizer.json").write_bytes(lzma.decompress(data))
        (work / "tokenizer_config.json").write_bytes(config)
        try:
            os.rename(work, dest)
        except OSError:
            if not (dest / "tokenizer.json").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


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
