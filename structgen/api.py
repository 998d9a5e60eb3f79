"""The front door: :func:`compile` any constraint for a vocabulary."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import threading
import warnings
from collections import OrderedDict
from pathlib import Path

from .compiler import GrammarTables, compile_ir
from .errors import CompileError
from .ir import GrammarIR
from .limits import Limits, compiling
from .matcher import Grammar

_CACHE_SIZE = 256
_tables_cache: "OrderedDict[str, GrammarTables]" = OrderedDict()
_grammar_cache: "OrderedDict[tuple[str, str], Grammar]" = OrderedDict()
_cache_lock = threading.Lock()
# On-disk cache of compiled tables (off unless set): STRUCTGEN_CACHE_DIR or set_cache_dir().
_disk_dir: Path | None = Path(os.environ["STRUCTGEN_CACHE_DIR"]) if os.environ.get("STRUCTGEN_CACHE_DIR") else None
_DISK_FORMAT = 3  # 2: tables carry the front-end's notes; 3: G is a GrammarArrays


def clear_memory_caches() -> None:
    """Forget the compiled tables and grammars memoised in this process (the disk
    cache, if any, is kept): the next ``compile`` of a constraint pays its full cost,
    as benchmarks of compile time need."""
    with _cache_lock:
        _tables_cache.clear()
        _grammar_cache.clear()


def set_cache_dir(path: str | os.PathLike | None) -> None:
    """Keep compiled grammars on disk in ``path`` (None: no disk cache, the default
    unless the ``STRUCTGEN_CACHE_DIR`` environment variable names a folder).

    What is stored is the vocabulary-independent part of a compilation (the parser
    tables and terminal automata, see :func:`compile_tables`), keyed by the
    constraint's cache key and the structgen version, so a new process compiles a
    known constraint without running the front-end and the automaton construction.
    A damaged or unreadable entry is ignored and rewritten.
    """
    global _disk_dir
    _disk_dir = None if path is None else Path(path)


def _disk_path(key: str) -> Path | None:
    if _disk_dir is None:
        return None
    from . import __version__

    digest = hashlib.sha256(f"{_DISK_FORMAT}\0{__version__}\0{key}".encode()).hexdigest()[:40]
    return _disk_dir / f"{digest}.tables"


def _disk_load(key: str) -> GrammarTables | None:
    path = _disk_path(key)
    if path is None:
        return None
    try:
        with open(path, "rb") as fh:
            stored_key, tables = pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError, ImportError):
        return None
    return tables if stored_key == key and isinstance(tables, GrammarTables) else None


def _disk_store(key: str, tables: GrammarTables) -> None:
    path = _disk_path(key)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "wb") as fh:
            pickle.dump((key, tables), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only or full disk only loses the cache


def as_constraint(constraint=None, *, schema=None, regex=None, grammar=None, **options):
    """Normalise what users pass into a constraint object: the one place that does.

    Positional (what :func:`compile` takes): a constraint object (``Regex``, ``Lark``,
    ``JsonSchema``, or anything with ``to_ir`` and ``cache_key``), a
    :class:`GrammarIR`, a compiled :class:`Grammar`, a JSON Schema as a dict, a bool
    or JSON text, or a pydantic model class.  Or by keyword (what :func:`generate`
    takes): ``schema`` (a dict, JSON text, a pydantic class or a ``JsonSchema``),
    ``regex`` (pattern text or a ``Regex``), ``grammar`` (Lark text, a ``.lark`` path,
    a shipped grammar name, a ``Lark``, a ``GrammarIR`` or a ``Grammar``).  At most
    one may be given; none gives None (unconstrained).  ``options`` go to
    ``JsonSchema`` for schema inputs.  A pydantic class stays reachable as the
    result's ``model``.

    Raises ``ValueError`` for several constraints, or options without a schema to
    apply them to; ``TypeError`` for a value of the wrong kind; :class:`CompileError`
    for a str that should be JSON and is not, and from the front-ends.
    """
    from .constraints import Lark, Regex
    from .jsonschema import JsonSchema

    given = [n for n, v in (("constraint", constraint), ("schema", schema), ("regex", regex),
                            ("grammar", grammar)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"give at most one constraint, got {' and '.join(given)}")
    if schema is not None:
        if isinstance(schema, JsonSchema):
            if options:
                raise ValueError("pass options to JsonSchema(...) itself when giving a JsonSchema")
            return schema
        if isinstance(schema, (dict, bool, str, bytes, type)):
            return JsonSchema(schema, **options)
        raise TypeError(f"schema must be a dict, JSON text, a pydantic class or a JsonSchema, "
                        f"not {type(schema).__name__}")
    if options and constraint is None:
        raise ValueError(f"options {sorted(options)} apply to schema= only")
    if regex is not None:
        if isinstance(regex, Regex):
            return regex
        if isinstance(regex, str):
            return Regex(regex)
        raise TypeError(f"regex must be a str or structgen.Regex, not {type(regex).__name__}")
    if grammar is not None:
        if isinstance(grammar, (Lark, Grammar, GrammarIR)) or hasattr(grammar, "to_ir"):
            return grammar
        if isinstance(grammar, (str, os.PathLike)):
            return Lark(grammar)
        raise TypeError(f"grammar must be Lark text, a .lark path, a shipped grammar name, a Lark or a Grammar, "
                        f"not {type(grammar).__name__}")
    if constraint is None:
        return None
    if hasattr(constraint, "to_ir") or isinstance(constraint, (GrammarIR, Grammar)):
        if options:
            raise TypeError(f"options {sorted(options)} apply to JSON Schema inputs only")
        return constraint
    if isinstance(constraint, (dict, bool)):
        return JsonSchema(constraint, **options)
    if isinstance(constraint, str):
        try:
            json.loads(constraint)
        except RecursionError:
            pass  # JSON too deep for Python's parser: JsonSchema says so
        except ValueError:
            raise CompileError("a str constraint is read as a JSON Schema, but this is not JSON; "
                               "use structgen.Regex(...) or structgen.Lark(...) for patterns and grammars"
                               ) from None
        return JsonSchema(constraint, **options)
    if isinstance(constraint, type):
        return JsonSchema(constraint, **options)
    raise TypeError(f"cannot compile a constraint of type {type(constraint).__name__}")


def as_vocabulary(vocab, eos_ids=None, *, explicit: bool = True):
    """The :class:`~structgen.Vocabulary` of ``vocab`` (a Vocabulary, a Hugging Face
    tokenizer, or an object with the Vocabulary interface), ending on ``eos_ids``
    (None: the tokenizer's own).

    A tokenizer's default vocabulary is built once and cached on it; other EOS sets
    are built once and cached on it too.  EOS ids are never text: when ``explicit`` is
    false (the ids came from a model's configuration, not from the caller) an id that
    is a text token raises ``ValueError``, because making it EOS would silently remove
    that text from the language.  Raises ``TypeError`` for anything else."""
    from .vocab import Vocabulary

    if isinstance(vocab, Vocabulary):
        base = vocab
    elif hasattr(vocab, "convert_ids_to_tokens"):  # a Hugging Face tokenizer
        base = getattr(vocab, "_structgen_vocab", None)
        if base is None:
            base = Vocabulary.from_tokenizer(vocab)
            try:
                vocab._structgen_vocab = base
            except AttributeError:
                pass
    elif all(hasattr(vocab, a) for a in ("trie", "token_bytes", "eos_ids", "size")):
        base = vocab
    else:
        raise TypeError(f"expected a structgen.Vocabulary or a Hugging Face tokenizer, got {type(vocab).__name__}")
    if eos_ids is None or sorted(int(e) for e in base.eos_ids) == sorted(int(e) for e in eos_ids):
        return base
    if not hasattr(vocab, "convert_ids_to_tokens"):
        raise ValueError("other EOS ids than the vocabulary's own need a tokenizer to rebuild it from")
    key = tuple(sorted(int(e) for e in eos_ids))
    if not explicit:
        for e in key:
            if 0 <= e < base.size and base.is_text[e]:
                raise ValueError(
                    f"the model's eos_token_id {e} is the text token {base.token_bytes[e]!r} of this tokenizer; "
                    f"the model and tokenizer disagree (pass eos_token_id= explicitly to end on it anyway)")
    cache = getattr(vocab, "_structgen_vocabs", None)
    if cache is None:
        cache = {}
        try:
            vocab._structgen_vocabs = cache
        except AttributeError:
            pass
    hit = cache.get(key)
    if hit is None:
        hit = cache[key] = Vocabulary.from_tokenizer(vocab, eos_token_ids=list(key))
    return hit


def _vocab_key(vocab) -> str:
    fp = getattr(vocab, "fingerprint", None)
    return fp() if callable(fp) else f"id:{id(vocab)}"


def _with_notes(tables: GrammarTables, constraint) -> GrammarTables:
    """``tables`` carrying what the constraint's front-end reported."""
    notes = tuple(getattr(constraint, "notes", ()) or ())
    relaxed = tuple(getattr(constraint, "relaxed", ()) or ())
    return dataclasses.replace(tables, notes=notes, relaxed=relaxed) if notes or relaxed else tables


def _replay_notes(constraint, tables: GrammarTables, stacklevel: int) -> None:
    """A constraint served from a cache reports what its first compile reported: its
    ``notes`` and ``relaxed`` lists are filled and each relaxation warns again."""
    if getattr(constraint, "notes", None) or getattr(constraint, "relaxed", None):
        return  # this object reported them when it was compiled
    if hasattr(constraint, "notes"):
        constraint.notes = list(tables.notes)
    if hasattr(constraint, "relaxed"):
        constraint.relaxed = list(tables.relaxed)
        if tables.relaxed:
            from .jsonschema import SchemaRelaxedWarning

            for msg in tables.relaxed:
                warnings.warn(SchemaRelaxedWarning(f"relaxed {msg}"), stacklevel=stacklevel + 1)


def compile_tables(constraint, *, limits: Limits | None = None) -> GrammarTables:
    """Vocabulary-independent tables of a constraint, memoised by its cache key in
    memory and, when a cache folder is set (:func:`set_cache_dir`), on disk.  A
    constraint served from a cache gets the notes (and warnings) of its first
    compile.
    ``limits``: the compile's :class:`~structgen.Limits` (default: :func:`structgen.set_limits`'s).
    """
    with compiling(limits):
        if isinstance(constraint, GrammarIR):
            return compile_ir(constraint)
        key = constraint.cache_key()
        with _cache_lock:
            hit = _tables_cache.get(key)
            if hit is not None:
                _tables_cache.move_to_end(key)
        if hit is not None:
            _replay_notes(constraint, hit, 3)
            return hit
        tables = _disk_load(key)
        if tables is None:
            tables = _with_notes(compile_ir(constraint.to_ir()), constraint)
            _disk_store(key, tables)
        else:
            _replay_notes(constraint, tables, 3)
        with _cache_lock:
            _tables_cache[key] = tables
            while len(_tables_cache) > _CACHE_SIZE:
                _tables_cache.popitem(last=False)
        return tables


def compile(constraint, vocab, *, limits: Limits | None = None, **options) -> Grammar:  # noqa: A001
    """Compile ``constraint`` for ``vocab`` into a :class:`Grammar`.

    ``vocab`` is a :class:`~structgen.Vocabulary` or a Hugging Face tokenizer.
    Compiled grammars are memoised (by the constraint's cache key and the
    vocabulary's fingerprint), so compiling the same constraint twice is cheap and
    shares the lazily built lexer DFA.  Raises :class:`CompileError`.

    ``limits`` bounds what the compile may cost (:class:`~structgen.Limits`; default:
    the process's, :func:`structgen.set_limits`); past one, :class:`~structgen.LimitExceeded`.
    A grammar already in a cache is served whatever the limits.
    """
    with compiling(limits):
        vocab = as_vocabulary(vocab)
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
        if hit is not None:
            _replay_notes(constraint, hit.tables, 2)
            return hit
        grammar = Grammar(compile_tables(constraint), vocab, source=constraint)
        with _cache_lock:
            _grammar_cache[gkey] = grammar
            while len(_grammar_cache) > _CACHE_SIZE:
                _grammar_cache.popitem(last=False)
        return grammar
