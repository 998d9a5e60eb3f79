"""Engine core against an independent slow reference (tests/_reference.py).

Random small grammars with literal terminals (multi-byte literals, prefixes of each
other, an ignored terminal, empty and left/right-recursive rules) and a toy
vocabulary of all short strings over the grammar's bytes: at every step of random
walks, the mask computed by the numba trie walk must equal the reference's mask,
and must equal checking each token on its own with ``accepts``.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structgen.compiler import compile_ir
from structgen.ir import GrammarBuilder, TerminalDef
from structgen.matcher import Grammar
from structgen.vocab import Vocabulary

from ._reference import RefGrammar, reference_mask

ALPHABET = b"ab c"
TOKENS: list[bytes | None] = [None] + [bytes(t) for n in (1, 2, 3) for t in itertools.product(ALPHABET, repeat=n)]
EOS = 0
VOCAB = Vocabulary.from_token_bytes(TOKENS, eos_ids=[EOS])

LITERALS = {"A": b"a", "B": b"b", "AB": b"ab", "C": b"c", "BC": b"bc", "AAB": b"aab"}
NONTERMS = ["s", "x", "y", "z"]


def _mask_ids(matcher) -> set[int]:
    return set(int(i) for i in matcher.allowed_tokens())


def _build(rules, ignore_space: bool):
    b = GrammarBuilder()
    names = {}
    for name, lit in LITERALS.items():
        names[name] = b.add_terminal(TerminalDef(lit.decode(), literal=True), name)
    terminals = dict(LITERALS)
    ignore: tuple[str, ...] = ()
    if ignore_space:
        b.add_terminal(TerminalDef(" ", literal=True), "WS")
        b.ignore = ["WS"]
        terminals["WS"] = b" "
        ignore = ("WS",)
    for lhs, alts in rules.items():
        for alt in alts:
            b.rule(lhs, alt)
    ir = b.build("s")
    ref = RefGrammar({k: list(v) for k, v in rules.items()}, terminals, "s", ignore)
    return ir, ref


symbol = st.sampled_from(NONTERMS[1:] + list(LITERALS))
alternative = st.lists(symbol, min_size=0, max_size=3).map(tuple)
grammar_rules = st.fixed_dictionaries({nt: st.lists(alternative, min_size=1, max_size=3) for nt in NONTERMS})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=grammar_rules, ignore_space=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_masks_match_reference_on_random_grammars(rules, ignore_space, seed):
    ir, ref = _build(rules, ignore_space)
    try:
        tables = compile_ir(ir)
    except Exception as exc:  # an empty language is a CompileError; the reference agrees
        assert not ref.complete(b"") and "no string" in str(exc)
        return
    grammar = Grammar(tables, VOCAB)
    rng = random.Random(seed)
    m = grammar.matcher()
    text = b""
    for _ in range(12):
        expected = reference_mask(ref, text, TOKENS, [EOS])
        got = _mask_ids(m)
        assert got == expected, (rules, text)
        one_by_one = {i for i in range(len(TOKENS)) if m.accepts(i)}
        assert one_by_one == got
        if not expected or expected == {EOS}:
            break
        tok = rng.choice(sorted(expected - {EOS}))
        assert m.advance(tok)
        text += TOKENS[tok]


def test_rollback_fork_and_reset():
    rules = {"s": [("x",), ("s", "C", "x")], "x": [("A",), ("AB", "x"), ("B",)], "y": [("A",)], "z": [("A",)]}
    ir, ref = _build(rules, True)
    grammar = Grammar(compile_ir(ir), VOCAB)
    m = grammar.matcher()
    tid = {t: i for i, t in enumerate(TOKENS) if t}
    steps = [b"ab", b"a c", b" b", b"cab"]
    masks = [_mask_ids(m)]
    for s in steps:
        assert m.advance(tid[s]), s
        masks.append(_mask_ids(m))
    f = m.fork()
    assert _mask_ids(f) == masks[-1]
    m.rollback(2)
    assert _mask_ids(m) == masks[2]
    assert _mask_ids(f) == masks[-1]  # the fork is independent
    assert not f.advance(tid[b"c"])  # "ab" then "c": x -> AB x needs an x first
    assert not f.is_accepting() and f.advance(tid[b"b"]) and f.is_accepting()
    m.reset()
    assert _mask_ids(m) == masks[0]
    assert m.num_steps == 0


def test_rejected_token_leaves_state_unchanged():
    rules = {"s": [("A", "B")], "x": [("A",)], "y": [("A",)], "z": [("A",)]}
    ir, _ = _build(rules, False)
    m = Grammar(compile_ir(ir), VOCAB).matcher()
    tid = {t: i for i, t in enumerate(TOKENS) if t}
    before = _mask_ids(m)
    assert not m.advance(tid[b"b"])
    assert not m.advance(EOS)
    assert not m.advance(10_000)  # out of range: False, no exception
    assert _mask_ids(m) == before
    assert m.advance(tid[b"a"]) and m.advance(tid[b"b"])
    assert m.is_accepting() and m.is_finished()
    assert m.advance(EOS) and m.is_finished()
    mask = m.grammar.allocate_bitmask()
    m.fill_bitmask(mask)
    assert _mask_ids(m) == {EOS}
    m.rollback(1)
    assert m.accepts(EOS) and not m.accepts(tid[b"a"])


def test_forced_bytes():
    rules = {"s": [("AAB", "C", "x")], "x": [("A",), ("AB",)], "y": [("A",)], "z": [("A",)]}
    ir, _ = _build(rules, False)
    m = Grammar(compile_ir(ir), VOCAB).matcher()
    assert m.forced_bytes() == b"aabca"
    tid = {t: i for i, t in enumerate(TOKENS) if t}
    assert m.advance(tid[b"aab"]) and m.advance(tid[b"ca"])
    assert m.forced_bytes() == b""  # may end here, or go on with "b"
    assert m.is_accepting() and not m.is_finished()


def test_fill_bitmask_checks_its_buffer():
    rules = {"s": [("A",)], "x": [("A",)], "y": [("A",)], "z": [("A",)]}
    ir, _ = _build(rules, False)
    m = Grammar(compile_ir(ir), VOCAB).matcher()
    with pytest.raises(ValueError, match="int32"):
        m.fill_bitmask(np.zeros(VOCAB.n_words, dtype=np.int64))
    with pytest.raises(ValueError, match="words"):
        m.fill_bitmask(np.zeros(0, dtype=np.int32))


def test_kernels_cached_is_false_with_an_empty_numba_cache(tmp_path) -> None:
    """The first process after install is told that it compiles (examples, CLI)."""
    import os
    import subprocess
    import sys

    code = "from structgen._engine import kernels_cached; print(kernels_cached())"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)},
                         capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "False", out


def test_table_layout_is_named_once_and_documented() -> None:
    """Kernels reach every array by its name in the layout (no numbered slots), every
    named array is used, and docs/architecture.md shows the layout as it is."""
    import re
    from pathlib import Path

    from structgen import _engine

    root = Path(__file__).resolve().parent.parent
    src = Path(_engine.__file__).read_text()
    kernels = src.split("# ------------------------------------------------------------ pointer-table entries")[1]
    assert not re.search(r"_(?:i32|i64|u8|i8|i32_2d|i8_2d|u32_2d)\((?:gt|mt|st), \d", kernels)
    for key, _title, fields in _engine.TABLES:
        for name, _type, _doc in fields:
            assert f"{key}.{name}" in kernels, f"{key}.{name} is in the layout but no kernel reads it"
    doc = (root / "docs" / "architecture.md").read_text()
    block = doc.split("<!-- layout:begin -->\n")[1].split("<!-- layout:end -->")[0]
    assert block == _engine.layout_markdown(), "docs/architecture.md: paste structgen._engine.layout_markdown()"
    # the pointer tables' rows: G, L, T, X one after another
    rows = [*_engine.G, *_engine.L, *_engine.T, *_engine.X]
    assert rows == list(range(len(rows)))
