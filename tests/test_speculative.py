"""Speculative decoding (``generate(draft=...)``) is lossless: greedy gives the tokens
of greedy constrained decoding, and sampling draws the distribution of constrained
sampling from the target (enumerated on the toy LM of ``test_sampling_exact``)."""

from __future__ import annotations

import functools
from collections import defaultdict

import pytest
import torch

import structgen
from structgen import generate
from structgen.models import tiny_random_model
from tests._tokenizers import load_tokenizer
from tests.test_sampling_exact import CASES, PROMPT, exact_distribution, noise_bound, toy, tv

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 12},
                   "tags": {"type": "array", "items": {"enum": ["alpha", "beta"]}, "maxItems": 6}},
    "required": ["name", "tags"],
}
CONSTRAINTS = {
    "schema": {"schema": SCHEMA},
    "regex": {"regex": r"(ab|cd|[0-9]{2}-){2,12}x"},
    "lark": {"grammar": structgen.Lark('start: "[" item ("," item)* "]"\nitem: "1" | "22" | "[" start "]"')},
}


@functools.cache
def _models():
    tok = load_tokenizer("gpt2")
    return tok, tiny_random_model(tok, seed=0), tiny_random_model(tok, seed=1)


@pytest.mark.parametrize("name", list(CONSTRAINTS))
@pytest.mark.parametrize("drafter", ["ngram", "model"])
def test_greedy_equals_greedy_ar(name, drafter):
    tok, target, small = _models()
    draft = "ngram" if drafter == "ngram" else small
    for prompt in ("hello", "a b c"):
        ar = generate(target, tok, prompt, max_tokens=60, jump_forward="exact", **CONSTRAINTS[name])
        for k in (3, "adaptive"):
            sp = generate(target, tok, prompt, max_tokens=60, draft=draft, speculate_k=k, **CONSTRAINTS[name])
            assert sp.tokens == ar.tokens, (k, ar.text, sp.text)
            assert sp.stop_reason == ar.stop_reason
            assert sp.drafted > 0


@functools.cache
def _toy_draft():
    _, tok = toy()
    model = tiny_random_model(tok, seed=11, hidden_size=32, intermediate_size=64)
    with torch.no_grad():
        model.lm_head.weight.mul_(3.0)  # peaked too, but it disagrees with the target
    return model


N = 2000


@pytest.mark.parametrize("drafter,regex,max_tokens", [
    ("model", *CASES[1]),
    pytest.param("ngram", *CASES[2], marks=pytest.mark.slow),
    pytest.param("ngram", *CASES[1], marks=pytest.mark.slow),
    pytest.param("model", *CASES[2], marks=pytest.mark.slow),
])
def test_sampling_is_exact(drafter, regex, max_tokens):
    """The distribution of speculative samples is that of masked sampling from the
    target (no budget steering, so that drafts run to the budget): total variation
    within the 99.9% noise bound at a fixed seed."""
    model, tok = toy()
    draft = "ngram" if drafter == "ngram" else _toy_draft()
    prompt = "abcbacab" if drafter == "ngram" else PROMPT  # something for the lookup to find
    exact = exact_distribution(model, tok, regex, max_tokens, prompt_text=prompt)
    results = generate(model, tok, [prompt] * N, regex=regex, temperature=1.0, seed=0, max_tokens=max_tokens,
                       draft=draft, speculate_k=2, fit_budget=False)
    counts: dict = defaultdict(float)
    for r in results:
        counts[(r.data, r.finished)] += 1 / N
    assert sum(r.drafted for r in results) > N / 10  # drafts were made ...
    assert 0 < sum(r.accepted for r in results) < sum(r.drafted for r in results)  # ... some refused
    assert tv(counts, exact) <= noise_bound(exact, N), tv(counts, exact)


def test_bad_arguments():
    tok, target, _ = _models()
    with pytest.raises(ValueError, match="needs a constraint"):
        generate(target, tok, "x", draft="ngram")
    with pytest.raises(ValueError, match="top_p"):
        generate(target, tok, "x", regex="a+", draft="ngram", temperature=1.0, top_p=0.5)
    with pytest.raises(ValueError, match="draft must be"):
        generate(target, tok, "x", regex="a+", draft="medusa")
    with pytest.raises(ValueError, match="canonical"):
        generate(target, tok, "x", regex="a+", draft="ngram", jump_forward="canonical")
    with pytest.raises(ValueError, match="speculate_k"):
        generate(target, tok, "x", regex="a+", draft="ngram", speculate_k=-1)
