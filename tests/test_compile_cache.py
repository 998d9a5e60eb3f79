"""The compiled-grammar caches: in memory, and on disk when a folder is set."""

from __future__ import annotations

import numpy as np
import pytest

import structgen
from structgen import api
from tests._tokenizers import load_vocab


@pytest.fixture
def disk_cache(tmp_path):
    api.set_cache_dir(tmp_path)
    api.clear_memory_caches()
    yield tmp_path
    api.set_cache_dir(None)
    api.clear_memory_caches()


def _masks(grammar, text: str) -> list[np.ndarray]:
    m = grammar.matcher()
    out = []
    for tid in grammar.vocab.encode(text):
        row = grammar.allocate_bitmask()
        m.fill_bitmask(row)
        out.append(row)
        assert m.advance(tid)
    return out


def test_memory_cache_returns_the_same_grammar() -> None:
    vocab = load_vocab("gpt2")
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}}
    assert structgen.compile(schema, vocab) is structgen.compile(dict(schema), vocab)


def test_disk_cache_skips_compilation_in_a_fresh_cache(disk_cache, monkeypatch) -> None:
    vocab = load_vocab("gpt2")
    schema = {"type": "object", "properties": {"when": {"type": "string", "format": "date"},
                                               "n": {"type": "integer", "minimum": 1, "maximum": 9}},
              "required": ["when", "n"]}
    first = structgen.compile(schema, vocab)
    files = list(disk_cache.glob("*.tables"))
    assert len(files) == 1
    text = '{"when": "2024-02-29", "n": 7}'
    expected = _masks(first, text)

    api.clear_memory_caches()

    def no_compile(*args, **kwargs):
        raise AssertionError("compiled again despite the disk cache")

    monkeypatch.setattr(api, "compile_ir", no_compile)
    second = structgen.compile(schema, vocab)
    assert second is not first
    for a, b in zip(expected, _masks(second, text)):
        np.testing.assert_array_equal(a, b)


def test_damaged_disk_entry_is_rebuilt(disk_cache) -> None:
    vocab = load_vocab("gpt2")
    structgen.compile(structgen.Regex("[a-c]{2,4}"), vocab)
    (path,) = disk_cache.glob("*.tables")
    path.write_bytes(b"not a pickle")
    api.clear_memory_caches()
    g = structgen.compile(structgen.Regex("[a-c]{2,4}"), vocab)
    m = g.matcher()
    assert m.consume_bytes(b"abc") and m.is_accepting()
    assert not g.matcher().consume_bytes(b"abd")
    assert path.read_bytes() != b"not a pickle"


_NOTED = {"type": "object", "frobnicate": 1, "properties": {"tags": {"type": "array", "items": {"type": "string"},
                                                                   "uniqueItems": True}}}


def _compile_noted(vocab):
    js = structgen.JsonSchema(_NOTED, lenient=True)
    with pytest.warns(structgen.SchemaRelaxedWarning, match="uniqueItems"):
        grammar = structgen.compile(js, vocab)
    assert js.relaxed and "uniqueItems" in js.relaxed[0], js.relaxed
    assert any("frobnicate" in n for n in js.notes), js.notes
    return js, grammar


def test_a_cached_compile_reports_what_the_first_reported(disk_cache) -> None:
    """Notes and relaxation warnings come back from the memory caches (the grammar's
    and the tables') and from the disk cache."""
    vocab = load_vocab("gpt2")
    first, g1 = _compile_noted(vocab)
    again, g2 = _compile_noted(vocab)  # the grammar cache
    assert g2 is g1 and again.notes == first.notes and again.relaxed == first.relaxed
    _compile_noted(load_vocab("llama2"))  # the tables cache, another vocabulary
    api.clear_memory_caches()
    disk, _ = _compile_noted(vocab)  # the disk cache
    assert disk.notes == first.notes and disk.relaxed == first.relaxed
