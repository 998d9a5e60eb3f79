"""The front door: :func:`compile` any constraint for a vocabulary."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

from .compiler import GrammarTables, compile_ir
from .errors import CompileError
from .ir import GrammarIR
from .matcher import Grammar

_CACHE_SIZE = 256
_tables_cache: "OrderedDict[str, GrammarTables]" = OrderedDict()
_grammar_cache: "OrderedDict[tuple[str, str], Grammar]" = OrderedDict()
_cache_lock = threading.Lock()


def as_constraint(constraint, **options):
    """Normalise what users pass to :func:`compile` into a constraint object.

    Accepted: a constraint object (``Regex``, ``Lark``, ``JsonSchema``), a
    :class:`GrammarIR`, a JSON Schema as a dict, a bool or a JSON string, or a
    pydantic model class.  ``options`` go to ``JsonSchema`` for schema inputs.
    """
    if hasattr(constraint, "to_ir") or isinstance(constraint, GrammarIR):
        if options:
            raise TypeError(f"options {sorted(options)} apply to JSON Schema inputs only")
        return constraint
    from .jsonschema import JsonSchema

    if isinstance(constraint, (dict, bool)):
        return JsonSchema(constraint, **options)
    if isinstance(constraint, str):
        try:
            json.loads(constraint)
        except ValueError:
            raise CompileError("a str constraint is read as a JSON Schema, but this is not JSON; "
                               "use structgen.Regex(...) or structgen.Lark(...) for patterns and grammars"
                               ) from None
        return JsonSchema(constraint, **options)
    if isinstance(constraint, type):
        return JsonSchema(constraint, **options)
    raise TypeError(f"cannot compile a constraint of type {type(constraint).__name__}")


def _as_vocab(vocab):
    from .vocab import Vocabulary

    if isinstance(vocab, Vocabulary):
        return vocab
    if hasattr(vocab, "convert_ids_to_tokens"):  # a Hugging Face tokenizer
        cached = getattr(vocab, "_structgen_vocab", None)
        if cached is None:
            cached = Vocabulary.from_tokenizer(vocab)
            try:
                vocab._structgen_vocab = cached
            except AttributeError:
                pass
        return cached
    if all(hasattr(vocab, a) for a in ("trie", "token_bytes", "eos_ids", "size")):
        return vocab
    raise TypeError(f"expected a structgen.Vocabulary or a Hugging Face tokenizer, got {type(vocab).__name__}")


def _vocab_key(vocab) -> str:
    fp = getattr(vocab, "fingerprint", None)
    return fp() if callable(fp) else f"id:{id(vocab)}"


def compile_tables(constraint) -> GrammarTables:
    """Vocabulary-independent tables of a constraint (memoised by its cache key)."""
    if isinstance(constraint, GrammarIR):
        return compile_ir(constraint)
    key = constraint.cache_key()
    with _cache_lock:
        hit = _tables_cache.get(key)
        if hit is not None:
            _tables_cache.move_to_end(key)
            return hit
    tables = compile_ir(constraint.to_ir())
    with _cache_lock:
        _tables_cache[key] = tables
        while len(_tables_cache) > _CACHE_SIZE:
            _tables_cache.popitem(last=False)
    return tables


def compile(constraint, vocab, **options) -> Grammar:  # noqa: A001 - the public verb
    """Compile ``constraint`` for ``vocab`` into a :class:`Grammar`.

    ``vocab`` is a :class:`~structgen.Vocabulary` or a Hugging Face tokenizer.
    Compiled grammars are memoised (by the constraint's cache key and the
    vocabulary's fingerprint), so compiling the same constraint twice is cheap and
    shares the lazily built lexer DFA.  Raises :class:`CompileError`.
    """
    vocab = _as_vocab(vocab)
    if isinstance(constraint, Grammar):
        if constraint.vocab is not vocab and _vocab_key(constraint.vocab) != _vocab_key(vocab):
            raise CompileError("this Grammar was compiled for another vocabulary")
        return constraint
    constraint = as_constraint(constraint, **options)
    if isinstance(constraint, GrammarIR):
        return Grammar(compile_ir(constraint), vocab, source=constraint)
    gkey = (constraint.cache_key(), _vocab_key(vocab))
    with _cache_lock:
        hit = _grammar_cache.get(gkey)
        if hit is not None:
            _grammar_cache.move_to_end(gkey)
            return hit
    grammar = Grammar(compile_tables(constraint), vocab, source=constraint)
    with _cache_lock:
        _grammar_cache[gkey] = grammar
        while len(_grammar_cache) > _CACHE_SIZE:
            _grammar_cache.popitem(last=False)
    return grammar
