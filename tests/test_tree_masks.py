"""Draft-tree masks (``structgen.fill_tree_bitmasks``) equal the masks of matchers
advanced along each path, for random trees of allowed and refused tokens."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import structgen
from tests._tokenizers import load_vocab

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "n": {"type": "integer"},
                   "tags": {"type": "array", "items": {"enum": ["a", "bc"]}}},
    "required": ["name", "n"],
}


@functools.cache
def _grammars():
    v = load_vocab("gpt2")
    return {
        "schema": structgen.compile(SCHEMA, v),
        "regex": structgen.compile(structgen.Regex(r"(ab|c)+[0-9]{1,3}"), v),
        "lark": structgen.compile(structgen.Lark('start: "(" start ")" | "x"'), v),
    }


def _random_tree(grammar, m, n: int, rng) -> tuple[list[int], list[int]]:
    """n nodes; most tokens allowed at their parent's state, some refused, some EOS."""
    eos = int(grammar.eos_ids[0])
    tokens, parents, states = [], [], []
    for i in range(n):
        live = [-1] + [j for j in range(i) if states[j] is not None]
        p = int(rng.integers(-1, i)) if i and rng.random() < 0.1 else int(rng.choice(live))
        base = m if p < 0 else states[p]
        if base is None or rng.random() < 0.15:
            t = int(rng.integers(0, grammar.vocab_size))  # mostly refused
        else:
            allowed = base.allowed_tokens()
            t = int(rng.choice(allowed)) if allowed.size else eos
        s = None
        if base is not None and base.accepts(t):
            s = base.fork()
            s.advance(t)
        tokens.append(t)
        parents.append(p)
        states.append(s)
    return tokens, parents


def _path_mask(grammar, m, tokens, parents, i):
    """The reference: a fork of ``m`` advanced along the path to node ``i``."""
    path = []
    while i >= 0:
        path.append(tokens[i])
        i = parents[i]
    ref = m.fork()
    for t in reversed(path):
        if not ref.advance(t):
            return None
    row = grammar.allocate_bitmask()
    ref.fill_bitmask(row)
    return row


@pytest.mark.parametrize("name", ["schema", "regex", "lark"])
def test_tree_masks_equal_path_masks(name):
    grammar = _grammars()[name]
    rng = np.random.default_rng(0)
    for trial in range(6):
        m = grammar.matcher()
        for t in grammar.vocab.encode({"schema": '{"name": "a', "regex": "abc", "lark": "(("}[name])[: trial % 3]:
            assert m.advance(t)
        steps = m.num_steps
        before = grammar.allocate_bitmask()
        m.fill_bitmask(before)
        tokens, parents = _random_tree(grammar, m, 24, rng)
        out = grammar.allocate_bitmask(len(tokens) + 1)
        valid = structgen.fill_tree_bitmasks(m, tokens, parents, out)
        assert np.array_equal(out[0], before)
        assert valid.sum() >= 10  # the tree is mostly allowed paths
        for i in range(len(tokens)):
            ref = _path_mask(grammar, m, tokens, parents, i)
            assert valid[i] == (ref is not None), i
            if ref is None:
                assert not out[i + 1].any()
            else:
                assert np.array_equal(out[i + 1], ref), i
        # the matcher did not move
        assert m.num_steps == steps
        after = grammar.allocate_bitmask()
        m.fill_bitmask(after)
        assert np.array_equal(after, before)


def test_chain_is_an_ordinary_draft_and_eos_ends_a_path():
    grammar = _grammars()["regex"]
    m = grammar.matcher()
    draft = grammar.vocab.encode("abc12")
    eos = int(grammar.eos_ids[0])
    tokens = draft + [eos]
    parents = list(range(-1, len(tokens) - 1))
    out = grammar.allocate_bitmask(len(tokens) + 1)
    valid = structgen.fill_tree_bitmasks(m, tokens, parents, out)
    assert valid.all()
    eos_only = grammar.allocate_bitmask()
    grammar.fill_eos_only(eos_only)
    assert np.array_equal(out[-1], eos_only)


def test_bad_arguments():
    grammar = _grammars()["regex"]
    m = grammar.matcher()
    out = grammar.allocate_bitmask(3)
    with pytest.raises(ValueError, match="parent"):
        structgen.fill_tree_bitmasks(m, [1, 2], [-1, 1], out)
    with pytest.raises(ValueError, match="shape"):
        structgen.fill_tree_bitmasks(m, [1, 2], [-1, 0], grammar.allocate_bitmask(2))
    with pytest.raises(ValueError, match="one length"):
        structgen.fill_tree_bitmasks(m, [1, 2], [-1], out)
    # ids outside the vocabulary are refused nodes, not errors
    valid = structgen.fill_tree_bitmasks(m, [2**40, -3], [-1, 0], out)
    assert not valid.any() and not out[1:].any()
