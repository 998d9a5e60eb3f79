"""Engine adapters and the worker process of ``benchmarks/maskbench.py``.

Each engine is driven through the same five verbs, so one walk loop serves all:

``setup(tokenizer_dir)``   load the tokenizer and build the engine's vocabulary; allocate
                           the worker's single bitmask buffer with the engine's own helper.
``compile(schema)``        the compiled constraint; raises :class:`EngineCompileError` for
                           a schema the engine refuses (any other exception is a crash).
``matcher(compiled)``      a fresh per-sequence matcher at the start of the text.
``fill(m)``                write the allowed-token mask of ``m`` into the buffer.
``advance(m, token)``      consume one token; False if the engine refuses it.

``allowed(token)`` reads one bit of the buffer (not timed).  ``accepts(m, token)`` and
``accepting(m)`` are optional non-mutating checks used only to detect a mask that
disagrees with ``advance`` (an engine bug); they return ``None`` where an engine has
no such call.

:func:`worker_main` is the body of a worker process: one engine, single-threaded,
schemas one by one from a pipe.  The parent (``maskbench.py``) enforces the time limit
by killing the worker and starting a new one.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import numpy as np

#: Environment every worker runs under: one thread for every library that would start more.
SINGLE_THREAD_ENV: dict[str, str] = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "RAYON_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
}

#: Warm-up constraint compiled once in every fresh worker before the first real schema
#: (it pays numba's cache loading / JIT and the peers' lazy initialisation).
WARMUP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "n": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["name"],
}
WARMUP_INSTANCE: dict[str, Any] = {"name": "warm-up", "n": -12, "tags": ["a", "b"]}


class EngineCompileError(Exception):
    """The engine refused the schema cleanly (counted as a compile error)."""


@functools.cache
def _load_hf_tokenizer(tokenizer_dir: str) -> Any:
    """The HF tokenizer in ``tokenizer_dir``, loaded once per process."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tokenizer_dir)


@functools.cache
def load_structgen_vocab(tokenizer_dir: str) -> Any:
    """structgen's :class:`~structgen.Vocabulary` of the tokenizer in ``tokenizer_dir``.

    Built from the raw ``tokenizers.Tokenizer`` (``tokenizer.json``) with the EOS named by
    ``tokenizer_config.json``: the same vocabulary (same fingerprint) as from
    ``AutoTokenizer``, without importing transformers and torch (seconds per process).
    Raises ``ValueError`` when the config names no EOS token the tokenizer knows."""
    from tokenizers import Tokenizer

    import structgen

    d = Path(tokenizer_dir)
    raw = Tokenizer.from_file(str(d / "tokenizer.json"))
    config = json.loads((d / "tokenizer_config.json").read_text(encoding="utf-8"))
    eos = config.get("eos_token")
    if isinstance(eos, dict):
        eos = eos.get("content")
    eos_id = raw.token_to_id(eos) if isinstance(eos, str) else None
    if eos_id is None:
        raise ValueError(f"{d / 'tokenizer_config.json'}: no eos_token the tokenizer knows (got {eos!r})")
    return structgen.Vocabulary.from_tokenizer(raw, eos_token_ids=[eos_id])


class Engine:
    """Base adapter: holds the bitmask buffer and reads bits from it."""

    name = "engine"
    package = ""

    def __init__(self) -> None:
        self.eos = -1
        self.vocab_size = 0
        self._words: np.ndarray = np.zeros(1, dtype=np.int32)

    def setup(self, tokenizer_dir: str) -> dict[str, Any]:
        """Load the tokenizer and build the engine's vocabulary; return facts to report."""
        raise NotImplementedError

    def compile(self, schema: Any) -> Any:
        """Compile ``schema``; raises :class:`EngineCompileError` when the engine refuses it."""
        raise NotImplementedError

    def matcher(self, compiled: Any) -> Any:
        """A fresh matcher of ``compiled``."""
        raise NotImplementedError

    def fill(self, m: Any) -> None:
        """Write the mask of ``m`` into the worker's bitmask buffer."""
        raise NotImplementedError

    def advance(self, m: Any, token: int) -> bool:
        """Consume ``token``; False when refused."""
        raise NotImplementedError

    def accepts(self, m: Any, token: int) -> bool | None:
        """Would ``advance`` take ``token``, without changing ``m``?  ``None`` if unknown."""
        return None

    def accepting(self, m: Any) -> bool | None:
        """May the text end here (independently of the mask)?  ``None`` if unknown."""
        return None

    def allowed(self, token: int) -> bool:
        """Is ``token`` set in the last filled mask?"""
        return bool((int(self._words[token >> 5]) >> (token & 31)) & 1)

    def version(self) -> str:
        """Installed version of the engine's package."""
        from importlib.metadata import version

        return version(self.package)


class StructgenEngine(Engine):
    """structgen: ``structgen.compile(schema, vocab)``, ``Matcher.fill_bitmask`` / ``advance``."""

    name = "structgen"
    package = "structgen"

    def __init__(self, keep_caches: bool = False) -> None:
        super().__init__()
        self.keep_caches = keep_caches

    def setup(self, tokenizer_dir: str) -> dict[str, Any]:
        import structgen

        self.sg = structgen
        self.vocab = load_structgen_vocab(tokenizer_dir)
        self.vocab_size = int(self.vocab.size)
        self.eos = int(self.vocab.eos_ids[0])
        self.row = structgen.allocate_bitmask(1, self.vocab_size)[0]
        self._words = self.row
        return {"vocab_size": self.vocab_size, "eos": self.eos}

    def clear_caches(self) -> None:
        """Forget memoised compiled grammars, so each schema pays its own compile (the
        dataset repeats some schemas; a repeat would otherwise be a cache hit)."""
        if self.keep_caches:
            return
        from structgen.api import clear_memory_caches

        clear_memory_caches()

    def compile(self, schema: Any) -> Any:
        self.clear_caches()
        try:
            return self.sg.compile(schema, self.vocab)
        except self.sg.CompileError as exc:
            raise EngineCompileError(str(exc)) from None

    def matcher(self, compiled: Any) -> Any:
        return compiled.matcher()

    def fill(self, m: Any) -> None:
        m.fill_bitmask(self.row)

    def advance(self, m: Any, token: int) -> bool:
        return m.advance(token)

    def accepts(self, m: Any, token: int) -> bool | None:
        return m.accepts(token)

    def accepting(self, m: Any) -> bool | None:
        return m.is_accepting()

    def version(self) -> str:
        return self.sg.__version__


def llguidance_matcher(lltok: Any, schema: Any) -> Any:
    """llguidance's ``LLMatcher`` for a JSON Schema (its defaults); raises
    :class:`EngineCompileError` for a schema it refuses."""
    import llguidance

    try:
        grammar = llguidance.LLMatcher.grammar_from_json_schema(schema)
    except ValueError as exc:
        raise EngineCompileError(str(exc)) from None
    m = llguidance.LLMatcher(lltok, grammar, log_level=0)
    if m.is_error():
        raise EngineCompileError(m.get_error())
    return m


class LlguidanceEngine(Engine):
    """llguidance: ``LLMatcher(tokenizer, grammar_from_json_schema(schema))``; each instance
    walks a ``deep_copy`` of the compiled (pristine) matcher."""

    name = "llguidance"
    package = "llguidance"

    def setup(self, tokenizer_dir: str) -> dict[str, Any]:
        import llguidance
        import llguidance.hf
        import llguidance.numpy

        self.llg = llguidance
        self.fill_next = llguidance.numpy.fill_next_token_bitmask
        self.tok = llguidance.hf.from_tokenizer(_load_hf_tokenizer(tokenizer_dir))
        self.vocab_size = int(self.tok.vocab_size)
        self.eos = int(self.tok.eos_token)
        self.bitmask = llguidance.numpy.allocate_token_bitmask(1, self.vocab_size)
        self._words = self.bitmask[0]
        return {"vocab_size": self.vocab_size, "eos": self.eos}

    def compile(self, schema: Any) -> Any:
        return llguidance_matcher(self.tok, schema)

    def matcher(self, compiled: Any) -> Any:
        return compiled.deep_copy()

    def fill(self, m: Any) -> None:
        self.fill_next(m, self.bitmask, 0)

    def advance(self, m: Any, token: int) -> bool:
        return m.consume_token(token)

    def accepts(self, m: Any, token: int) -> bool | None:
        return m.validate_tokens([token]) == 1

    def accepting(self, m: Any) -> bool | None:
        return m.is_accepting()


class XgrammarEngine(Engine):
    """XGrammar: ``GrammarCompiler(max_threads=1, cache_enabled=False).compile_json_schema``,
    ``GrammarMatcher.fill_next_token_bitmask`` / ``accept_token``.

    ``compliant=False`` calls ``compile_json_schema(schema)`` with the library's defaults
    (in 0.2.8: ``any_whitespace=True, strict_mode=True``); ``compliant=True`` passes
    ``any_whitespace=True, strict_mode=False`` (JSON Schema semantics for unlisted
    properties and items)."""

    package = "xgrammar"

    def __init__(self, compliant: bool = False) -> None:
        super().__init__()
        self.compliant = compliant
        self.name = "xgrammar-compliant" if compliant else "xgrammar"

    def setup(self, tokenizer_dir: str) -> dict[str, Any]:
        import torch
        import xgrammar as xgr

        torch.set_num_threads(1)
        self.xgr = xgr
        info = xgr.TokenizerInfo.from_huggingface(_load_hf_tokenizer(tokenizer_dir))
        self.vocab_size = int(info.vocab_size)
        self.eos = int(info.stop_token_ids[0])
        self.compiler = xgr.GrammarCompiler(info, max_threads=1, cache_enabled=False)
        self.bitmask = xgr.allocate_token_bitmask(1, self.vocab_size)
        self._words = self.bitmask.numpy()[0]
        return {"vocab_size": self.vocab_size, "eos": self.eos, "stop_token_ids": list(info.stop_token_ids)}

    def compile(self, schema: Any) -> Any:
        text = json.dumps(schema)
        try:
            if self.compliant:
                return self.compiler.compile_json_schema(text, any_whitespace=True, strict_mode=False)
            return self.compiler.compile_json_schema(text)
        except Exception as exc:  # noqa: BLE001 - XGrammar reports refusals as RuntimeError/ValueError
            raise EngineCompileError(f"{type(exc).__name__}: {exc}") from None

    def matcher(self, compiled: Any) -> Any:
        return self.xgr.GrammarMatcher(compiled)

    def fill(self, m: Any) -> None:
        m.fill_next_token_bitmask(self.bitmask)

    def advance(self, m: Any, token: int) -> bool:
        return m.accept_token(token)


class OutlinesEngine(Engine):
    """outlines-core: ``build_regex_from_schema`` then ``Index(regex, vocabulary)`` (the
    whole token-level automaton is built at compile time) and a ``Guide`` per instance.

    The ``Vocabulary`` is built from structgen's exact token bytes of the same tokenizer
    (``Vocabulary.from_pretrained`` would download from the Hub)."""

    name = "outlines-core"
    package = "outlines-core"

    def setup(self, tokenizer_dir: str) -> dict[str, Any]:
        import outlines_core
        from outlines_core.json_schema import build_regex_from_schema
        from outlines_core.kernels.numpy import allocate_token_bitmask, fill_next_token_bitmask

        self.oc = outlines_core
        self.build_regex = build_regex_from_schema
        self.fill_next = fill_next_token_bitmask
        sv = load_structgen_vocab(tokenizer_dir)
        self.eos = int(sv.eos_ids[0])
        self.vocab_size = int(sv.size)
        table: dict[bytes, list[int]] = {}
        for i, b in enumerate(sv.token_bytes):
            if b and sv.is_text[i]:
                table.setdefault(b, []).append(i)
        self.vocabulary = outlines_core.Vocabulary(self.eos, table)
        self.bitmask = allocate_token_bitmask(self.vocab_size)
        self._words = self.bitmask[0]
        return {"vocab_size": self.vocab_size, "eos": self.eos}

    def compile(self, schema: Any) -> Any:
        try:
            regex = self.build_regex(json.dumps(schema))
            return self.oc.Index(regex, self.vocabulary)
        except Exception as exc:  # noqa: BLE001 - outlines-core refuses with ValueError/TypeError/...
            raise EngineCompileError(f"{type(exc).__name__}: {exc}") from None

    def matcher(self, compiled: Any) -> Any:
        return self.oc.Guide(compiled)

    def fill(self, m: Any) -> None:
        self.fill_next(m, self.bitmask)

    def advance(self, m: Any, token: int) -> bool:
        try:
            m.advance(token, return_tokens=False)
        except ValueError:
            return False
        return True

    def accepting(self, m: Any) -> bool | None:
        return m.is_finished()


#: Engine names accepted by ``--engines``, in report order.
ENGINE_NAMES: tuple[str, ...] = ("structgen", "llguidance", "xgrammar", "xgrammar-compliant", "outlines-core")


def make_engine(name: str, options: dict[str, Any]) -> Engine:
    """The adapter called ``name`` (one of :data:`ENGINE_NAMES`); ``ValueError`` otherwise."""
    if name == "structgen":
        return StructgenEngine(keep_caches=bool(options.get("keep_caches")))
    if name == "llguidance":
        return LlguidanceEngine()
    if name == "xgrammar":
        return XgrammarEngine(compliant=False)
    if name == "xgrammar-compliant":
        return XgrammarEngine(compliant=True)
    if name == "outlines-core":
        return OutlinesEngine()
    raise ValueError(f"unknown engine {name!r}; known: {', '.join(ENGINE_NAMES)}")


# ---------------------------------------------------------------------- the protocol

def walk(engine: Engine, compiled: Any, ids: list[int], mask_ns: list[int], advance_ns: list[int]) -> dict[str, Any]:
    """Walk one tokenized instance: before every token fill the mask (timed into
    ``mask_ns``), reject the token if its bit is clear, else ``advance`` (timed into
    ``advance_ns``); after the last token fill once more and require the EOS bit.

    Returns ``{"accepted", "reject_at", "mismatch"}``: ``reject_at`` is the index of the
    refused token, ``len(ids)`` when EOS was not allowed at the end, or -1; ``mismatch``
    names a disagreement between the mask and the engine's own checks (empty if none).
    """
    pc = time.perf_counter_ns
    fill, advance, allowed = engine.fill, engine.advance, engine.allowed
    m = engine.matcher(compiled)
    for i, t in enumerate(ids):
        t0 = pc()
        fill(m)
        t1 = pc()
        mask_ns.append(t1 - t0)
        if not allowed(t):
            mismatch = "mask refuses a token advance takes" if engine.accepts(m, t) else ""
            return {"accepted": False, "reject_at": i, "mismatch": mismatch}
        t0 = pc()
        ok = advance(m, t)
        t1 = pc()
        advance_ns.append(t1 - t0)
        if not ok:
            return {"accepted": False, "reject_at": i, "mismatch": "mask allows a token advance refuses"}
    t0 = pc()
    fill(m)
    t1 = pc()
    mask_ns.append(t1 - t0)
    eos_ok = allowed(engine.eos)
    acc = engine.accepting(m)
    mismatch = "" if acc is None or acc == eos_ok else f"EOS bit {int(eos_ok)} but accepting() is {acc}"
    return {"accepted": eos_ok, "reject_at": -1 if eos_ok else len(ids), "mismatch": mismatch}


def run_schema(engine: Engine, job: dict[str, Any], progress: Any = None) -> dict[str, Any]:
    """Compile one schema (TTFM = compile + new matcher + first mask) and walk its
    instances.  ``job``: ``{"id", "schema", "tests": [{"valid", "ids"}]}``.
    ``progress(ttfm_us)`` is called as soon as the first mask is out (the parent then
    knows the TTFM even if the walk later runs out of time)."""
    res: dict[str, Any] = {"id": job["id"], "status": "ok", "error": "", "compile_us": 0.0, "ttfm_us": 0.0, "tests": []}
    pc = time.perf_counter_ns
    t0 = pc()
    try:
        compiled = engine.compile(job["schema"])
        t1 = pc()
        m = engine.matcher(compiled)
        engine.fill(m)
        t2 = pc()
    except EngineCompileError as exc:
        res.update(status="compile_error", error=str(exc)[:2000], compile_us=(pc() - t0) / 1e3)
        return res
    except Exception as exc:  # noqa: BLE001 - a crash of the engine, not a refusal: reported as such
        res.update(status="exception", error=f"compile: {type(exc).__name__}: {exc}"[:2000],
                   traceback=traceback.format_exc()[-4000:], compile_us=(pc() - t0) / 1e3)
        return res
    res["compile_us"] = (t1 - t0) / 1e3
    res["ttfm_us"] = (t2 - t0) / 1e3
    if progress is not None:
        progress(res["ttfm_us"])
    mask_ns: list[int] = []
    advance_ns: list[int] = []
    for test in job["tests"]:
        try:
            out = walk(engine, compiled, test["ids"], mask_ns, advance_ns)
        except Exception as exc:  # noqa: BLE001 - an engine failure mid-walk is a result, reported
            out = {"accepted": False, "reject_at": -2, "mismatch": "",
                   "exception": f"{type(exc).__name__}: {exc}"[:2000], "traceback": traceback.format_exc()[-4000:]}
            res["status"] = "exception"
            res["error"] = res["error"] or out["exception"]
        out["valid"] = bool(test["valid"])
        out["n_tokens"] = len(test["ids"])
        res["tests"].append(out)
    res["mask_ns"] = np.asarray(mask_ns, dtype=np.int64)
    res["advance_ns"] = np.asarray(advance_ns, dtype=np.int64)
    return res


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB (``getrusage``)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb(pid: int | None = None) -> float:
    """Current resident set size of ``pid`` (default: this process) in MiB, from
    ``/proc``; 0.0 where ``/proc`` is unavailable or the process is gone."""
    try:
        with open(f"/proc/{pid or 'self'}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def worker_main(name: str, tokenizer_dir: str, options: dict[str, Any], conn: Any, log_path: str) -> None:
    """Body of a worker process: set up engine ``name``, warm it up, then answer jobs.

    Messages sent to the parent: ``("ready", info)`` once, then per job
    ``("ttfm", index, us)`` after the first mask and ``("done", index, result)``;
    ``("fatal", text)`` if setup fails.  A ``None`` job ends the worker.
    """
    if log_path:
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    warnings.simplefilter("ignore")
    info: dict[str, Any] = {"engine": name, "pid": os.getpid()}
    try:
        info["rss_start_mb"] = current_rss_mb()
        t0 = time.perf_counter()
        engine = make_engine(name, options)
        info.update(engine.setup(tokenizer_dir))
        info["setup_s"] = time.perf_counter() - t0
        info["rss_setup_mb"] = current_rss_mb()
        info["version"] = engine.version()
        warm = run_schema(engine, {"id": "warm-up", "schema": WARMUP_SCHEMA,
                                   "tests": [{"valid": True, "ids": options["warmup_ids"]}]})
        if warm["status"] != "ok" or not warm["tests"][0]["accepted"]:
            raise RuntimeError(f"warm-up schema failed: {warm['status']} {warm['error']} {warm['tests']}")
        info["warmup_ttfm_us"] = warm["ttfm_us"]
        info["warmup_mask_us"] = float(warm["mask_ns"].mean() / 1e3)
    except BaseException:  # noqa: BLE001 - anything that stops setup goes to the parent
        conn.send(("fatal", traceback.format_exc()[-4000:]))
        return
    conn.send(("ready", info))
    while True:
        msg = conn.recv()
        if msg is None:
            break
        index, job = msg

        def progress(us: float, index: int = index) -> None:
            conn.send(("ttfm", index, us))

        res = run_schema(engine, job, progress)
        res["peak_rss_mb"] = peak_rss_mb()
        res["rss_mb"] = current_rss_mb()
        conn.send(("done", index, res))
    sys.stdout.flush()
