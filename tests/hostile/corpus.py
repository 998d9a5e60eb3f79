"""The hostile inputs.  Each case is Python source run in a fresh process after
``PRELUDE`` (which gives it ``structgen``, ``np``, a small byte-level vocabulary ``v``,
and ``compile(c)`` = ``structgen.compile(c, v)``).  A case ends in a *result* (it
returns), a *clear error* (a :class:`structgen.StructgenError`, or ``ValueError`` /
``TypeError`` where Python's convention asks for them, with a message), a *foreign
exception* (any other type), a *wrong result* (an ``assert`` in the case fails), a
*hang* (the time limit) or a *crash* (the process dies).  Only the first two are
acceptable.

``fast`` cases take well under a second after the prelude; the default suite runs
them (``tests/test_hostile.py``); ``python -m tests.hostile.run`` runs all.
"""

from __future__ import annotations

from dataclasses import dataclass

PRELUDE = '''
import numpy as np
import structgen
from structgen.vocab import Vocabulary
_words = [b"a", b"b", b"ab", b"abc", b"true", b"false", b"null", b"12", b"00", b'{"', b'":', b'"}', b", ",
          b"x1", b"\\xc3", b"\\xa9", b"\\xff"]
v = Vocabulary.from_token_bytes([bytes([i]) for i in range(256)] + _words + [None], eos_ids=[256 + len(_words)])
def compile(c, **kw):
    return structgen.compile(c, v, **kw)
def full(m, text):  # does the matcher's language hold exactly this text?
    f = m.fork()
    return f.consume_bytes(text) and f.is_accepting()
'''


@dataclass(frozen=True)
class Case:
    name: str
    category: str
    code: str
    fast: bool = True


# a matcher that has taken EOS after the only text of its language
_AFTER_EOS = '''
g = compile({"const": "ab"}); m = g.matcher()
assert m.consume_bytes(b\'"ab"\') and m.advance(int(v.eos_ids[0]))'''


def _deep(kind: str, n: int) -> str:
    inner = '{"type": "string"}'
    if kind == "object":
        return f'''
s = {inner}
for _ in range({n}):
    s = {{"type": "object", "properties": {{"a": s}}}}
compile(s)'''
    return f'''
s = {inner}
for _ in range({n}):
    s = {{"type": "array", "items": s}}
compile(s)'''


CASES: list[Case] = [
    # -- matcher misuse -----------------------------------------------------------
    Case("advance-float", "matcher misuse", '''
m = compile({"type": "string"}).matcher()
try:
    m.advance(1.5)
except TypeError:
    pass
else:
    raise AssertionError("advance(1.5) did not raise")'''),
    Case("advance-bool", "matcher misuse", 'compile({"type": "string"}).matcher().advance(True)'),
    Case("advance-none", "matcher misuse", 'compile({"type": "string"}).matcher().advance(None)'),
    Case("advance-2**63", "matcher misuse", 'assert compile({"type": "string"}).matcher().advance(2**63) is False'),
    Case("accepts-2**64", "matcher misuse", 'assert compile({"type": "string"}).matcher().accepts(2**64) is False'),
    Case("advance-negative", "matcher misuse", 'assert compile({"type": "string"}).matcher().advance(-3) is False'),
    Case("advance-uint64-past-vocab", "matcher misuse",
         'assert compile({"type": "string"}).matcher().advance(np.uint64(2**63 + 5)) is False'),
    Case("advance-int64-past-vocab", "matcher misuse",
         'assert compile({"type": "string"}).matcher().advance(np.int64(10**12)) is False'),
    Case("fill-list", "matcher misuse", '''
g = compile({"type": "string"}); g.matcher().fill_bitmask([0] * g.n_words)'''),
    Case("fill-none", "matcher misuse", 'compile({"type": "string"}).matcher().fill_bitmask(None)'),
    Case("fill-read-only", "matcher misuse", '''
g = compile({"type": "string"}); row = g.allocate_bitmask(); row.flags.writeable = False
g.matcher().fill_bitmask(row)'''),
    Case("fill-wrong-dtype", "matcher misuse", '''
g = compile({"type": "string"}); g.matcher().fill_bitmask(np.zeros(g.n_words, dtype=np.int64))'''),
    Case("consume-str", "matcher misuse", 'compile({"type": "string"}).matcher().consume_bytes("abc")'),
    Case("consume-int", "matcher misuse", 'compile({"type": "string"}).matcher().consume_bytes(10**12)'),
    Case("rollback-too-far", "matcher misuse", 'compile({"type": "string"}).matcher().rollback(5)'),
    Case("batch-same-matcher-twice", "matcher misuse", '''
for schema in ({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}},
               {"type": "array", "items": {"enum": ["ab", "abc", 12]}}):
    g = compile(schema)
    m = g.matcher()
    for t in v.encode('{"a": "ab' if "properties" in schema else '["ab'):
        m.advance(t)
    out = g.allocate_bitmask(4)
    structgen.fill_bitmasks([m, m, m.fork(), m], out, threads=2)
    one = g.allocate_bitmask(); m.fill_bitmask(one)
    for row in out:
        assert np.array_equal(row, one)'''),
    Case("batch-not-matchers", "matcher misuse", '''
g = compile({"type": "string"}); structgen.fill_bitmasks([None], g.allocate_bitmask(1))'''),
    Case("rollback-negative", "matcher misuse", 'compile({"type": "string"}).matcher().rollback(-1)'),
    Case("rollback-float", "matcher misuse", 'compile({"type": "string"}).matcher().rollback(1.5)'),
    Case("rollback-none", "matcher misuse", 'compile({"type": "string"}).matcher().rollback(None)'),
    Case("consume-none", "matcher misuse", 'compile({"type": "string"}).matcher().consume_bytes(None)'),
    Case("consume-after-eos", "matcher misuse", _AFTER_EOS + '''
assert m.consume_bytes(b"x") is False and m.is_finished()'''),
    Case("advance-after-eos", "matcher misuse", _AFTER_EOS + '''
assert m.advance(ord("a")) is False and m.advance(int(v.eos_ids[0]))'''),
    Case("fill-after-eos-is-eos-only", "matcher misuse", _AFTER_EOS + '''
assert m.allowed_tokens().tolist() == [int(v.eos_ids[0])]'''),
    Case("fill-2d-row", "matcher misuse", '''
g = compile({"type": "string"}); g.matcher().fill_bitmask(g.allocate_bitmask(2))'''),
    Case("fill-non-contiguous", "matcher misuse", '''
g = compile({"type": "string"}); g.matcher().fill_bitmask(np.zeros(2 * g.n_words, dtype=np.int32)[::2])'''),
    Case("batch-wrong-shape", "matcher misuse", '''
g = compile({"type": "string"}); structgen.fill_bitmasks([g.matcher()] * 3, g.allocate_bitmask(2))'''),
    Case("batch-other-vocabulary", "matcher misuse", '''
w = Vocabulary.from_token_bytes([bytes([i]) for i in range(200)] + [None], eos_ids=[200])
a = compile({"type": "string"}); b = structgen.compile({"type": "string"}, w)
structgen.fill_bitmasks([a.matcher(), b.matcher()], a.allocate_bitmask(2))'''),
    Case("tree-parent-after-child", "matcher misuse", '''
g = compile({"type": "string"})
structgen.fill_tree_bitmasks(g.matcher(), [34, 97], [1, -1], g.allocate_bitmask(3))'''),
    Case("tree-float-tokens", "matcher misuse", '''
g = compile({"type": "string"})
structgen.fill_tree_bitmasks(g.matcher(), [34.0, 97.5], [-1, 0], g.allocate_bitmask(3))'''),
    Case("tree-tokens-past-vocab", "matcher misuse", '''
g = compile({"type": "string"}); out = g.allocate_bitmask(3)
valid = structgen.fill_tree_bitmasks(g.matcher(), [10**12, -5], [-1, 0], out)
assert not valid.any() and not out[1:].any()'''),
    Case("compile-grammar-for-other-vocab", "matcher misuse", '''
w = Vocabulary.from_token_bytes([bytes([i]) for i in range(200)] + [None], eos_ids=[200])
structgen.compile(compile({"type": "string"}), w)'''),
    Case("vocabulary-empty-token", "matcher misuse", 'Vocabulary.from_token_bytes([b"a", b"", None], eos_ids=[2])'),
    Case("vocabulary-eos-is-text", "matcher misuse", 'Vocabulary.from_token_bytes([b"a", b"b"], eos_ids=[1])'),
    Case("limits-bad-value", "matcher misuse", 'structgen.Limits(max_terminals=-1)'),
    Case("limits-zero-fuel", "matcher misuse", 'structgen.Limits(mask_fuel=0)'),
    Case("matcher-limits-dict", "matcher misuse", 'compile({"type": "string"}).matcher(limits={"mask_fuel": 9})'),
    Case("matcher-unlimited-fuel", "matcher misuse", '''
m = compile({"type": "string"}).matcher(limits=structgen.Limits.unlimited())
assert m.consume_bytes(b'"ab') and not m.is_accepting()'''),
    # per-call work grows with the text under an ambiguous grammar: the fuel stops a call
    Case("ambiguous-grammar-fuel", "hang", '''
g = compile(structgen.Lark('start: x\\nx: x x | "a"'))
m = g.matcher(limits=structgen.Limits(mask_fuel=100_000))
m.consume_bytes(b"a" * 1000)'''),
    Case("ambiguous-grammar-fuel-mask", "hang", '''
g = compile(structgen.Lark('start: x+\\nx: x x | "a" | "ab"'))
m = g.matcher(limits=structgen.Limits(mask_fuel=50_000))
out = g.allocate_bitmask()
for _ in range(400):
    m.fill_bitmask(out)
    assert m.advance(97)'''),
    Case("compile-unknown-option", "matcher misuse", 'compile({"type": "string"}, frobnicate=True)'),
    # -- deep nesting -------------------------------------------------------------
    Case("schema-objects-1000-deep", "deep nesting", _deep("object", 1000)),
    Case("schema-arrays-5000-deep", "deep nesting", _deep("array", 5000)),
    Case("schema-json-text-100k-deep", "deep nesting", 'compile("[" * 100000 + "]" * 100000)'),
    Case("regex-500-nested-groups", "deep nesting", 'compile(structgen.Regex("(" * 500 + "a" + ")" * 500))'),
    Case("lark-deep-parentheses", "deep nesting",
         'compile(structgen.Lark("start: " + "(" * 400 + "\\"a\\"" + ")" * 400))'),
    # -- numbers --------------------------------------------------------------------
    Case("multipleOf-1e-300", "numbers", 'compile({"type": "number", "multipleOf": 1e-300})'),
    Case("multipleOf-5e-324", "numbers", 'compile({"type": "number", "multipleOf": 5e-324})'),
    Case("multipleOf-zero", "numbers", 'compile({"type": "number", "multipleOf": 0})'),
    Case("minimum-inf-text", "numbers", 'compile(\'{"type": "number", "minimum": 1e999}\')'),
    Case("int64-range", "numbers", 'compile({"type": "integer", "minimum": -2**63, "maximum": 2**63 - 1})'),
    # bounds of 309 digits: valid, and compiled (they were "pattern nested too deeply")
    Case("minimum-1e308", "numbers", '''
m = compile({"type": "number", "minimum": 1e308}).matcher()
assert full(m, b"1e308") and full(m, b"2" + b"0" * 308) and not full(m, b"1e307") and not full(m, b"9" * 308)'''),
    Case("maximum-minus-1e308", "numbers", '''
m = compile({"type": "number", "maximum": -1e308}).matcher()
assert full(m, b"-1e309") and full(m, b"-1e308") and not full(m, b"-1e307")'''),
    Case("number-full-double-range", "numbers", '''
m = compile({"type": "number", "minimum": -1.7976931348623157e308, "maximum": 1.7976931348623157e308}).matcher()
assert full(m, b"-1.7976931348623157e308") and full(m, b"0.5") and not full(m, b"1.8e308")'''),
    Case("integer-1e300-range", "numbers", '''
m = compile({"type": "integer", "minimum": -10**300, "maximum": 10**300}).matcher()
assert full(m, str(10**300).encode()) and full(m, b"-7") and not full(m, str(10**300 + 1).encode())'''),
    # -- files and references --------------------------------------------------------
    Case("lark-import-missing", "files", 'compile(structgen.Lark("%import nothere.WORD\\nstart: WORD"))'),
    Case("lark-import-missing-absolute", "files",
         'compile(structgen.Lark("%import /nonexistent/x.WORD\\nstart: WORD"))'),
    Case("lark-file-missing", "files", 'compile(structgen.Lark("/nonexistent/g.lark"))'),
    Case("lark-import-edited", "files", '''
import os, tempfile
d = tempfile.mkdtemp()
open(os.path.join(d, "words.lark"), "w").write("WORD: /[a-z]+/\\n")
open(os.path.join(d, "main.lark"), "w").write("%import .words.WORD\\nstart: WORD\\n")
structgen.set_cache_dir(os.path.join(d, "cache"))
assert compile(structgen.Lark(os.path.join(d, "main.lark"))).matcher().consume_bytes(b"abc")
open(os.path.join(d, "words.lark"), "w").write("WORD: /[0-9]+/\\n")
m = compile(structgen.Lark(os.path.join(d, "main.lark"))).matcher()
assert m.consume_bytes(b"123"), "the edited import was not seen"'''),
    Case("ref-cycle-without-base", "references", 'compile({"$ref": "#"})'),
    Case("ref-cycle-two-steps", "references",
         'compile({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"})'),
    Case("ref-cycle-with-base", "references", '''
compile({"$defs": {"t": {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"$ref": "#/$defs/t"}}]}},
         "$ref": "#/$defs/t"})'''),
    Case("ref-remote", "references", 'compile({"$ref": "https://example.com/never-fetched.json"})'),
    Case("ref-remote-in-property", "references",
         'compile({"properties": {"a": {"$ref": "http://127.0.0.1:9/x.json#/y"}}})'),
    Case("ref-to-nowhere", "references", 'compile({"$ref": "#/definitions/missing"})'),
    Case("id-not-a-string", "references", 'compile({"properties": {"a": {"$id": 5}}})'),
    # -- text ------------------------------------------------------------------------
    Case("regex-invalid-utf8-literal", "text", 'compile(structgen.Regex(b"\\xff\\xfe".decode("latin-1")))'),
    Case("schema-bytes-invalid-utf8", "text", 'compile(b"\\xff\\xfe{}")'),
    Case("schema-lone-surrogate", "text", 'compile({"const": "\\ud800"})'),
    Case("regex-not-a-regex", "text", 'compile(structgen.Regex("a(b"))'),
    Case("schema-not-json", "text", 'compile("{not json")'),
    Case("constraint-of-wrong-type", "text", 'compile(3.5)'),
    Case("regex-lone-surrogate", "text", 'compile(structgen.Regex("\\ud800"))'),
    Case("regex-nul-bytes", "text", 'assert compile(structgen.Regex("a\\x00b")).matcher().consume_bytes(b"a\\x00b")'),
    Case("lark-invalid-syntax", "text", 'compile(structgen.Lark("start: (\\"a\\""))'),
    Case("lark-undefined-rule", "text", 'compile(structgen.Lark("start: missing"))'),
    Case("lark-declare", "text", 'compile(structgen.Lark("%declare X\\nstart: X"))'),
    Case("lark-empty-language", "text", 'compile(structgen.Lark("start: /a/ & /b/"))'),
    Case("schema-false", "text", 'compile(False)'),
    Case("schema-unknown-type", "text", 'compile({"type": "integr"})'),
    Case("schema-pattern-invalid", "text", 'compile({"type": "string", "pattern": "(unclosed"})'),
    Case("schema-format-unknown", "text", 'compile({"type": "string", "format": "no-such-format"})'),
    Case("pydantic-not-a-model", "text", 'compile(int)'),
    # -- ReDoS and size --------------------------------------------------------------------
    Case("redos-nested-star", "size", 'compile(structgen.Regex("(a*)*b"))'),
    Case("redos-alternation", "size", 'compile(structgen.Regex("(a|a)*b"))'),
    Case("redos-email", "size", 'compile(structgen.Regex(r"^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@)"))'),
    Case("counted-repetition-huge", "size", 'compile(structgen.Regex("a{1000000}"))'),
    Case("counted-repetition-nested", "size", 'compile(structgen.Regex("((a{100}){100}){100}"))'),
    Case("counted-repetition-of-class", "size", 'compile(structgen.Regex("[a-z]{0,5000}"))'),
    Case("alternation-10k", "size", 'compile(structgen.Regex("|".join(f"w{i}" for i in range(10000))))'),
    Case("schema-pattern-10k-alternatives", "size",
         'compile({"type": "string", "pattern": "^(" + "|".join(f"k{i}" for i in range(10000)) + ")$"})'),
    Case("redos-overlapping-stars", "size", 'compile(structgen.Regex("(a|aa)*c"))'),
    Case("redos-backref-like", "size", 'compile(structgen.Regex("(\\\\w+\\\\s?)+$"))'),
    Case("counted-repetition-of-unicode-class", "size", 'compile(structgen.Regex("\\\\w{0,200}"))'),
    Case("lark-10k-alternatives", "size", '''
compile(structgen.Lark("start: " + " | ".join(f\'"w{i}"\' for i in range(10000))))'''),
    Case("schema-ref-large-remote", "references", '''
remote = {"$defs": {f"d{i}": {"type": "integer", "minimum": i} for i in range(3000)}}
compile(structgen.JsonSchema({"$ref": "https://example.com/r.json#/$defs/d2999"},
                             remotes={"https://example.com/r.json": remote}))'''),
    Case("schema-enum-of-long-strings", "size", 'compile({"enum": ["x" * 100000, "y" * 100000]})'),
    Case("schema-maxLength-huge", "size", 'compile({"type": "string", "maxLength": 10**12})'),
    Case("schema-minItems-huge", "size", 'compile({"type": "array", "minItems": 10**9})'),
    Case("schema-many-oneOf", "size", 'compile({"oneOf": [{"type": "string", "maxLength": i} for i in range(200)]})'),
    # -- hangs found by the first hostile run (issue 23) -----------------------------------
    Case("enum-10k-integers", "hang", 'compile({"enum": list(range(10000))})', fast=False),
    Case("enum-10k-objects", "hang", 'compile({"enum": [{"k": i} for i in range(10000)]})', fast=False),
    Case("object-2000-optional-properties", "hang",
         'compile({"type": "object", "properties": {f"p{i}": {"type": "integer"} for i in range(2000)}})',
         fast=False),
    Case("lark-5000-alternative-rules", "hang", '''
rules = "\\n".join(f"r{i}: \\"w{i}\\"" for i in range(5000))
compile(structgen.Lark("start: " + " | ".join(f"r{i}" for i in range(5000)) + "\\n" + rules))''', fast=False),
    Case("lark-template-expanding", "hang", '''
compile(structgen.Lark('start: t{"a"}\\nt{x}: x | t{w{x}}\\nw{y}: "(" y ")"\\n'))'''),
]


# a tiny random model over the shipped GPT-2 tokenizer, and generate() with small defaults
_GEN = '''
from structgen.models import bundled_tokenizer, tiny_random_model
tok = bundled_tokenizer("gpt2"); model = tiny_random_model(tok, seed=0)
def gen(prompt="hi", **kw):
    return structgen.generate(model, tok, prompt, **{"max_tokens": 4, **kw})
'''


def _cli(*args: str, expect: str = "") -> str:
    """The command line run as a user would (``python -m structgen``); it must exit
    non-zero with a message (``expect`` in its output) and no traceback."""
    return f'''
import subprocess, sys
r = subprocess.run([sys.executable, "-m", "structgen", *{list(args)!r}], capture_output=True, text=True, timeout=60)
assert r.returncode != 0, "exit 0"
out = r.stdout + r.stderr
assert "Traceback" not in out, out[-300:]
assert {expect!r} in out.lower(), out[-300:]'''


CASES += [
    # -- decoding misuse: generate(), the logits processor, SMC, ASAp ---------------
    Case("generate-max-tokens-zero", "decoding misuse", _GEN + 'gen(regex="a+", max_tokens=0)', fast=False),
    Case("generate-temperature-negative", "decoding misuse", _GEN + 'gen(regex="a+", temperature=-1)', fast=False),
    Case("generate-temperature-nan", "decoding misuse", _GEN + 'gen(regex="a+", temperature=float("nan"))',
         fast=False),
    Case("generate-top-p-zero", "decoding misuse", _GEN + 'gen(regex="a+", top_p=0)', fast=False),
    Case("generate-top-k-negative", "decoding misuse", _GEN + 'gen(regex="a+", top_k=-2)', fast=False),
    Case("generate-empty-prompt", "decoding misuse", _GEN + 'gen(prompt="", regex="a+")', fast=False),
    Case("generate-none-prompt", "decoding misuse", _GEN + 'gen(prompt=None, regex="a+")', fast=False),
    Case("generate-two-constraints", "decoding misuse", _GEN + 'gen(regex="a", schema={"type": "string"})',
         fast=False),
    Case("generate-constraint-float", "decoding misuse", _GEN + 'gen(schema=3.5)', fast=False),
    Case("generate-bad-draft", "decoding misuse", _GEN + 'gen(regex="a+", draft="bogus")', fast=False),
    Case("generate-speculate-k-negative", "decoding misuse", _GEN + 'gen(regex="a+", draft="ngram", speculate_k=-1)',
         fast=False),
    Case("generate-impossible-budget", "decoding misuse", _GEN + '''
r = gen(regex="a{50}", max_tokens=3)
assert not r.finished and r.stop_reason == "length"''', fast=False),
    Case("generate-empty-language", "decoding misuse", _GEN + 'gen(schema={"type": "string", "minLength": 5, '
         '"maxLength": 2})', fast=False),
    Case("processor-wrong-scores-shape", "decoding misuse", _GEN + '''
import torch
p = structgen.LogitsProcessor(structgen.Regex("a+"), tok)
p(torch.tensor([[1, 2]]), torch.zeros(1, 7))''', fast=False),
    Case("processor-batch-changes", "decoding misuse", _GEN + '''
import torch
p = structgen.LogitsProcessor(structgen.Regex("a+"), tok)
V = model.config.vocab_size
p(torch.tensor([[1, 2]]), torch.zeros(1, V))
p(torch.tensor([[1, 2, 3], [1, 2, 3], [4, 5, 6]]), torch.zeros(3, V))''', fast=False),
    Case("smc-zero-particles", "decoding misuse", _GEN + 'structgen.sample_smc(model, tok, "hi", regex="a", '
         'n_particles=0)', fast=False),
    Case("smc-two-prompts", "decoding misuse", _GEN + 'structgen.sample_smc(model, tok, ["a", "b"], regex="a")',
         fast=False),
    Case("asap-zero-samples", "decoding misuse", _GEN + 'structgen.ASAp(model, tok, structgen.Regex("a+"))'
         '.sample("hi", 0)', fast=False),
    Case("asap-temperature-zero", "decoding misuse", _GEN + 'structgen.ASAp(model, tok, structgen.Regex("a+"), '
         'temperature=0).sample("hi", 1)', fast=False),
    Case("asap-load-foreign-file", "decoding misuse", _GEN + '''
import numpy as np, tempfile, os
path = os.path.join(tempfile.mkdtemp(), "x.npz"); np.savez(path, a=np.zeros(3))
structgen.ASAp(model, tok, structgen.Regex("a+")).load(path)''', fast=False),
    # -- the command line -----------------------------------------------------------
    Case("cli-no-constraint", "cli", _cli("validate", expect="at least one constraint"), fast=False),
    Case("cli-missing-schema-file", "cli", _cli("validate", "--schema", "/nonexistent.json", expect="not found"),
         fast=False),
    Case("cli-invalid-regex", "cli", _cli("validate", "--regex", "(", expect="missing )"), fast=False),
    Case("cli-generate-no-prompt", "cli", _cli("generate", "--regex", "a+", expect="--prompt"), fast=False),
    Case("cli-unknown-command", "cli", _cli("frobnicate", expect="invalid choice"), fast=False),
    # -- extreme keyword values -----------------------------------------------------
    Case("minLength-huge", "size", 'compile({"type": "string", "minLength": 10**12})'),
    Case("maxItems-negative", "schema keywords", 'compile({"type": "array", "maxItems": -1})'),
    Case("minItems-float", "schema keywords", 'compile({"type": "array", "minItems": 2.5})'),
    Case("type-misspelled", "schema keywords", 'compile({"type": "strng"})'),
    Case("enum-empty", "schema keywords", 'compile({"enum": []})'),
    Case("required-not-a-list", "schema keywords", 'compile({"type": "object", "required": "a"})'),
    Case("pattern-lookbehind", "schema keywords", 'compile({"type": "string", "pattern": "(?<=a)b"})'),
    Case("pattern-backreference", "schema keywords", 'compile({"type": "string", "pattern": "(a)\\\\1"})'),
    Case("format-unknown", "schema keywords", '''
g = compile({"type": "string", "format": "no-such-format"})
assert g.matcher().consume_bytes(b'"anything"')'''),
    Case("multipleOf-negative", "schema keywords", 'compile({"type": "number", "multipleOf": -2})'),
    Case("minimum-string", "schema keywords", 'compile({"type": "number", "minimum": "5"})'),
    Case("ref-to-missing-def", "references", 'compile({"$ref": "#/$defs/missing"})'),
]
