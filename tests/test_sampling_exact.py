"""``generate`` samples exactly the locally masked distribution, checked against the
distribution enumerated on a toy LM.

The toy: a byte-level BPE vocabulary of 7 text tokens over ``a b c`` where strings
have several tokenizations (``abc`` = ``a b c`` = ``ab c`` = ``a bc`` = ``abc``), an
EOS, and a 2-layer Llama with seeded random weights whose logits are scaled to be
peaked.  For a constraint and a token budget, :func:`exact_distribution` walks every
token path (forking matchers), with the model's softmax restricted to the mask at
each step, and sums the probability of each outcome (the text, and whether it is
complete).  ``generate`` at its defaults (temperature 1, ``jump_forward=True``) draws
N samples at a fixed seed; their total variation from the exact distribution must be
below the 99.9th percentile of the total variation of N draws from the exact
distribution itself (simulated with a fixed seed), so the test is deterministic and
its false-failure rate, over seeds, is 0.1%.  Canonical jump-forward, which changes
the distribution, must fail the same test: the test has the power to see it.

The token budget (``fit_budget=True``, the default) refuses tokens after which no
completion fits in the tokens left, and samples again: that draws the masked
distribution further restricted, at each step, to the tokens that keep a completion
within the budget (found here by brute force), renormalised.  ``fit_budget=False``
draws the plain masked distribution, where a text may be cut at the budget.
"""

from __future__ import annotations

import functools
from collections import defaultdict

import numpy as np
import pytest
import torch

import structgen
from structgen import generate
from structgen.api import as_vocabulary
from structgen.models import tiny_random_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")

N_SAMPLES = 3000
PROMPT = "c"


@functools.cache
def toy():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5, "ca": 6, "</s>": 7}
    merges = [("a", "b"), ("b", "c"), ("ab", "c"), ("c", "a")]
    t = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    t.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(tokenizer_object=t, eos_token="</s>", bos_token="</s>", pad_token="</s>")
    model = tiny_random_model(tok, seed=3, hidden_size=32, intermediate_size=64)
    with torch.no_grad():
        model.lm_head.weight.mul_(6.0)  # peaked: the draws depend on the path taken
    return model, tok


def completes_within(m, n: int, vocab) -> bool:
    """Brute force: can the matcher's text be completed with at most ``n`` tokens?"""
    if m.is_accepting():
        return True
    if n == 0:
        return False
    for t in m.allowed_tokens().tolist():
        if t in vocab.eos_ids:
            continue
        m2 = m.fork()
        assert m2.advance(t)
        if completes_within(m2, n - 1, vocab):
            return True
    return False


def exact_distribution(model, tok, regex: str, max_tokens: int,
                       fit_budget: bool = False, prompt_text: str = PROMPT) -> dict[tuple[bytes, bool], float]:
    """{(text, complete): probability} of masked sampling at temperature 1 under
    ``generate``'s rules: EOS allowed where the text is complete, stop where nothing
    but EOS can follow, and a text still incomplete after ``max_tokens`` is cut.  With
    ``fit_budget``, only the tokens after which the text can be completed in the
    tokens left (when the start can be completed in ``max_tokens``)."""
    vocab = as_vocabulary(tok)
    grammar = structgen.compile(structgen.Regex(regex), vocab)
    eos = set(vocab.eos_ids)
    prompt = tok(prompt_text)["input_ids"]
    bits = grammar.allocate_bitmask()
    out: dict[tuple[bytes, bool], float] = defaultdict(float)
    steer = fit_budget and completes_within(grammar.matcher(), max_tokens, vocab)

    def fits(m, t: int, left: int) -> bool:
        if t in eos:
            return True
        m2 = m.fork()
        assert m2.advance(t)
        return completes_within(m2, left, vocab)

    def walk(ids: list[int], m, p: float) -> None:
        text = vocab.decode_bytes(ids)
        if m.is_accepting() and m.is_finished():
            out[(text, True)] += p
            return
        if len(ids) == max_tokens:
            out[(text, m.is_accepting())] += p
            return
        with torch.no_grad():
            logits = model(torch.tensor([prompt + ids])).logits[0, -1].double()
        m.fill_bitmask(bits)
        allowed = [t for t in range(vocab.size) if bits[t // 32] >> (t % 32) & 1]
        if steer:
            allowed = [t for t in allowed if fits(m, t, max_tokens - len(ids) - 1)]
        logp = torch.log_softmax(logits[allowed], dim=0).exp().tolist()
        for t, q in zip(allowed, logp):
            if t in eos:
                out[(text, True)] += p * q
            else:
                m2 = m.fork()
                assert m2.advance(t)
                walk(ids + [t], m2, p * q)

    walk([], grammar.matcher(), 1.0)
    assert abs(sum(out.values()) - 1.0) < 1e-9
    return dict(out)


def sampled_distribution(model, tok, regex: str, max_tokens: int, **kw) -> dict[tuple[bytes, bool], float]:
    results = generate(model, tok, [PROMPT] * N_SAMPLES, regex=regex, temperature=1.0, seed=0,
                       max_tokens=max_tokens, **kw)
    counts: dict[tuple[bytes, bool], float] = defaultdict(float)
    for r in results:
        counts[(r.data, r.finished)] += 1 / N_SAMPLES
    return dict(counts)


def tv(p: dict, q: dict) -> float:
    return 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in set(p) | set(q))


def noise_bound(p: dict, n: int, quantile: float = 0.999, reps: int = 2000) -> float:
    """The ``quantile`` of the total variation between ``p`` and the empirical
    distribution of ``n`` draws from it (simulated, fixed seed)."""
    keys = list(p)
    probs = np.array([p[k] for k in keys])
    probs = probs / probs.sum()
    draws = np.random.default_rng(12345).multinomial(n, probs, size=reps) / n
    return float(np.quantile(0.5 * np.abs(draws - probs).sum(axis=1), quantile))


# Forced text with several tokenizations at the start ("abcab": a|b|c|a|b, ab|c|ab,
# abc|ab, a|bc|ab, ...), then a free part (12 outcomes); a language whose texts are
# all complete when the budget is spent (29); alternatives of different token lengths,
# some cut by the budget (22).  Few outcomes, so that the test has power.
CASES = [
    ("abcab[abc]{1,2}", 8),
    ("[ab]{2,5}", 3),
    ("(ab|ca){1,3}", 4),
]


@functools.cache
def _exact(regex: str, max_tokens: int, fit_budget: bool = False):
    model, tok = toy()
    return exact_distribution(model, tok, regex, max_tokens, fit_budget)


@pytest.mark.parametrize("regex,max_tokens", CASES)
def test_default_sampling_is_the_masked_distribution(regex: str, max_tokens: int) -> None:
    """Defaults (``fit_budget=True``): the masked distribution restricted to the tokens
    that keep a completion within the budget."""
    model, tok = toy()
    exact = _exact(regex, max_tokens, True)
    assert len(exact) > 3, exact  # a distribution worth testing
    assert all(done for (_, done) in exact)  # nothing is cut at the budget
    got = sampled_distribution(model, tok, regex, max_tokens)
    bound = noise_bound(exact, N_SAMPLES)
    assert tv(got, exact) <= bound, (tv(got, exact), bound)
    # without jump-forward: the same distribution (another check of the enumeration)
    got_plain = sampled_distribution(model, tok, regex, max_tokens, jump_forward=False)
    assert tv(got_plain, exact) <= bound, (tv(got_plain, exact), bound)


@pytest.mark.parametrize("regex,max_tokens", CASES)
def test_sampling_without_budget_is_the_masked_distribution(regex: str, max_tokens: int) -> None:
    """``fit_budget=False``: the plain masked distribution, texts cut at the budget."""
    model, tok = toy()
    exact = _exact(regex, max_tokens)
    got = sampled_distribution(model, tok, regex, max_tokens, fit_budget=False)
    bound = noise_bound(exact, N_SAMPLES)
    assert tv(got, exact) <= bound, (tv(got, exact), bound)


def test_budget_changes_the_distribution_where_it_binds() -> None:
    """The two references differ where the budget binds (the tests above can tell)."""
    regex, max_tokens = CASES[2]
    assert tv(_exact(regex, max_tokens), _exact(regex, max_tokens, True)) > 0.1


def test_complete_text_at_the_budget_is_complete() -> None:
    """At ``max_tokens`` a text already in the language ends as complete."""
    model, tok = toy()
    exact = _exact("[ab]{2,5}", 3)
    assert sum(p for (_, done), p in exact.items() if done) > 0.999  # 3 tokens spell >= 3 letters
    results = generate(model, tok, [PROMPT] * 200, regex="[ab]{2,5}", temperature=1.0, seed=1, max_tokens=3)
    assert all(r.finished and len(r.tokens) <= 3 for r in results)
    assert sum(len(r.tokens) == 3 for r in results) > 50  # many end at the budget, not on EOS


def test_canonical_forcing_fails_the_same_test() -> None:
    """The test can fail: canonical jump-forward draws another distribution."""
    model, tok = toy()
    regex, max_tokens = CASES[0]
    exact = _exact(regex, max_tokens)
    got = sampled_distribution(model, tok, regex, max_tokens, jump_forward="canonical", fit_budget=False)
    assert tv(got, exact) > 2 * noise_bound(exact, N_SAMPLES)


def test_exact_forcing_appends_single_choices() -> None:
    """Where the mask leaves one token, it is appended unsampled (and counted)."""
    model, tok = toy()
    r = generate(model, tok, PROMPT, regex="cacaca[ab]", temperature=1.0, seed=0, max_tokens=8)
    # "ca" tokens are the single choice only where "c" + "a..." cannot start otherwise:
    # c then a is allowed too, so nothing is forced here -- but the text is right.
    assert r.finished and r.text[:6] == "cacaca"
    r = generate(model, tok, PROMPT, regex="b{3}", temperature=1.0, seed=0, max_tokens=8)
    assert r.text == "bbb" and r.forced_tokens == 3
