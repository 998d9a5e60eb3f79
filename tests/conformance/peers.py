"""Peer engines for side-by-side conformance runs: llguidance and XGrammar.

Installed for benchmarking only (``pip install llguidance xgrammar``; never runtime
dependencies of structgen).  Each engine is a pair ``(compile(schema[, remotes]),
walk(grammar, text))`` with the same protocol as ours: the text is tokenized with
the same Llama-3 tokenizer, fed token by token, and must end where EOS is allowed.
A compile failure raises :class:`structgen.CompileError` so runners count it the
same way.

* llguidance: ``LLMatcher.grammar_from_json_schema`` with default options
  (flexible whitespace), grammar validated against the tokenizer.
* XGrammar: ``GrammarCompiler.compile_json_schema(any_whitespace=True,
  strict_mode=False)`` (the settings of the figures quoted in issue 3).
"""

from __future__ import annotations

import json

from structgen.errors import CompileError


def _hf(tokenizer: str):
    from tests._tokenizers import load_tokenizer

    return load_tokenizer(tokenizer)


def llguidance_engine(tokenizer: str = "llama3"):
    import llguidance
    import llguidance.hf

    hf = _hf(tokenizer)
    tok = llguidance.hf.from_tokenizer(hf)

    def compile_(schema, remotes=None):
        try:
            grm = llguidance.LLMatcher.grammar_from_json_schema(json.dumps(schema))
        except Exception as exc:  # noqa: BLE001 - any failure is "not compiled"
            raise CompileError(f"llguidance: {exc}") from None
        err = llguidance.LLMatcher.validate_grammar(grm, tok)
        if err and not err.startswith("WARNING"):
            raise CompileError(f"llguidance: {err}")
        m = llguidance.LLMatcher(tok, grm, log_level=0)
        if m.is_error():
            raise CompileError(f"llguidance: {m.get_error()}")
        return grm

    def walk(grm, text: str) -> bool:
        m = llguidance.LLMatcher(tok, grm, log_level=0)
        for t in hf.encode(text, add_special_tokens=False):
            if not m.consume_token(int(t)):
                return False
        return m.is_accepting() and not m.is_error()

    return compile_, walk


def xgrammar_engine(tokenizer: str = "llama3"):
    import xgrammar as xgr

    hf = _hf(tokenizer)
    info = xgr.TokenizerInfo.from_huggingface(hf)
    compiler = xgr.GrammarCompiler(info)
    eos = hf.eos_token_id

    def compile_(schema, remotes=None):
        try:
            return compiler.compile_json_schema(json.dumps(schema), any_whitespace=True, strict_mode=False)
        except Exception as exc:  # noqa: BLE001 - any failure is "not compiled"
            raise CompileError(f"xgrammar: {exc}") from None

    def walk(compiled, text: str) -> bool:
        m = xgr.GrammarMatcher(compiled)
        for t in hf.encode(text, add_special_tokens=False):
            if not m.accept_token(int(t)):
                return False
        return bool(m.accept_token(int(eos)))

    return compile_, walk


def engines(schema_remotes: bool = False, tokenizer: str = "llama3") -> dict:
    """``{name: (compile, walk)}`` for the peers that import."""
    out = {}
    for name, make in (("llguidance", llguidance_engine), ("xgrammar", xgrammar_engine)):
        try:
            c, w = make(tokenizer)
        except ImportError:
            continue
        if schema_remotes:
            out[name] = (c, w)
        else:
            out[name] = ((lambda schema, c=c: c(schema)), w)
    return out
