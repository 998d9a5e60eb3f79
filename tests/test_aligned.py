"""Distribution-faithful decoding (AWRS, SMC, ASAp) against exact distributions
enumerated on toy LMs (tests/_exact_lm.py), with fixed seeds.

The toy: six text tokens over ``a b c`` (``abc`` has several tokenizations), an EOS,
and :class:`ToyLM` (a pseudo-random next-token distribution per context).  Under
these LMs local masking is visibly biased: its distribution is 0.18-0.64 in total
variation from P(text | language).
"""

from __future__ import annotations

import numpy as np
import pytest

import structgen
from structgen.decoders.asap import ASAp
from structgen.decoders.awrs import awrs_step, masked_step
from structgen.decoders.lm import ToyLM
from structgen.decoders.smc import smc
from structgen.vocab import Vocabulary

from ._exact_lm import asap_distribution, conditional, kl, masked, tv

V = Vocabulary.from_bytes([b"a", b"b", b"c", b"ab", b"bc", b"ca", None], eos_ids=6)
LANG = structgen.Regex("(ab|ba|c)(a|bc){0,2}")  # 21 texts, at most 6 tokens


def _grammar():
    return structgen.compile(LANG, V)


@pytest.mark.parametrize("prefix", [b"", b"b", b"a"])
def test_awrs_normaliser_estimate_is_unbiased(prefix: bytes) -> None:
    """20,000 draws where the text may not end (there AWRS masks): the mean of Z_hat is
    within 3 standard errors of the exact Z, and the tokens follow the masked
    distribution."""
    g = _grammar()
    m = g.matcher()
    assert m.consume_bytes(prefix)
    lm = ToyLM(7, seed=1, sharpness=2.0)
    logp = lm.next_logprobs([V.encode(prefix.decode()) if prefix else []])[0]
    allowed = m.allowed_tokens()
    z = float(np.exp(logp[allowed]).sum())
    assert z < 0.8  # the constraint refuses a good part of the mass: rejections happen
    rng = np.random.default_rng(0)
    steps = [awrs_step(logp, m, rng) for _ in range(20_000)]
    zs = np.exp([s.log_z for s in steps])
    assert abs(zs.mean() - z) < 3 * zs.std() / np.sqrt(len(zs)), (zs.mean(), z)
    counts = np.bincount([s.token for s in steps], minlength=7) / len(steps)
    exact = np.zeros(7)
    exact[allowed] = np.exp(logp[allowed]) / z
    assert 0.5 * np.abs(counts - exact).sum() < 0.02
    assert all(m.accepts(s.token) for s in steps[:50])
    assert np.mean([s.checks for s in steps]) < len(allowed) + 3  # one check per distinct token at most


def test_masked_step_is_exact() -> None:
    g = _grammar()
    m = g.matcher()
    logp = ToyLM(7, seed=1).next_logprobs([[]])[0]
    s = masked_step(logp, m, np.random.default_rng(0))
    assert s.masked and s.checks == 0
    assert s.log_z == pytest.approx(np.log(np.exp(logp[m.allowed_tokens()]).sum()))


@pytest.mark.parametrize("seed,mask_after,ess", [(2, 16, 0.5), (2, 0, 0.9), (2, 16, 0.0)])
def test_smc_weighted_particles_match_the_exact_distribution(seed: int, mask_after: int, ess: float) -> None:
    g = _grammar()
    lm = ToyLM(7, seed=seed, sharpness=2.0)
    exact, z = conditional(lm, g, 6)
    assert tv(masked(lm, g, 6), exact) > 0.2  # what masking would draw instead
    r = smc(lm, g, 10_000, max_tokens=6, seed=0, mask_after=mask_after, ess_threshold=ess)
    assert tv(r.posterior(), exact) < 0.02
    assert r.log_normalizer == pytest.approx(np.log(z), abs=0.05)
    assert (r.resamples > 0) == (ess > 0)  # forked matchers and reordered contexts were exercised
    assert (r.checks > 0) if mask_after else (r.checks == 0)
    for p in r.particles[:100]:
        assert p.finished and g.matcher().consume_bytes(p.data)


def test_smc_on_a_hard_case_is_close() -> None:
    """The model puts 96% of its mass outside the language; masking is 0.64 from the
    target.  SMC at 3,000 particles is within 0.1 (benchmarks/aligned_exact.py has
    the figures at 10k)."""
    g = _grammar()
    lm = ToyLM(7, seed=1, sharpness=2.0)
    exact, _ = conditional(lm, g, 6)
    assert tv(masked(lm, g, 6), exact) > 0.6
    assert tv(smc(lm, g, 3_000, max_tokens=6, seed=0).posterior(), exact) < 0.1


def test_smc_arguments() -> None:
    g = _grammar()
    lm = ToyLM(7)
    for bad in ({"n_particles": 0}, {"n_particles": 2.5}, {"max_tokens": 0}, {"ess_threshold": 2.0}):
        kw = {"n_particles": 4, "max_tokens": 3, **bad}
        with pytest.raises(ValueError):
            smc(lm, g, kw.pop("n_particles"), **kw)
    r = smc(lm, g, 8, max_tokens=1, seed=0)  # one token: the texts of one token
    assert {p.data for p in r.particles if p.finished} <= {b"ab", b"c", b"ca"}


def test_hf_model_batch_matches_recomputation() -> None:
    """The cached lock-step view of a Hugging Face model gives the log-probs of running
    the prompt and each context afresh, through appends and a resampling reorder."""
    import torch

    from structgen.decoders.lm import HFModel, make_batch

    from .test_sampling_exact import toy

    model, tok = toy()
    torch.manual_seed(0)
    lm = HFModel(model, tok("c")["input_ids"])
    b = make_batch(lm, 3)
    b.append([0, 1, 2])
    b.append([3, 4, 5])
    b.select([2, 2, 0])
    b.append([1, 0, 6])
    got = b.logprobs()
    want = lm.next_logprobs(b.contexts)
    assert b.contexts == [[2, 5, 1], [2, 5, 0], [0, 3, 6]]
    np.testing.assert_allclose(got, want, atol=1e-4)
    g = structgen.compile(LANG, structgen.api.as_vocabulary(tok))
    r = smc(lm, g, 16, max_tokens=6, seed=0)
    assert all(g.matcher().consume_bytes(p.data) for p in r.particles if p.finished)


# ------------------------------------------------------------------------ ASAp


@pytest.mark.parametrize("seed", [1, 2])
def test_asap_converges_to_the_conditional_while_masking_stays_biased(seed: int) -> None:
    """The distribution of ASAp's next sample, computed exactly from its trie: the first
    is masked sampling; its KL to P(text | language) falls as samples accumulate; the
    root's EFG estimate stays above the language's probability and falls to it."""
    g = _grammar()
    lm = ToyLM(7, seed=seed, sharpness=2.0)
    exact, z = conditional(lm, g, 6)
    mask_kl = kl(exact, masked(lm, g, 6))
    assert mask_kl > 0.2
    a = ASAp(lm, V, LANG, max_tokens=6, seed=0)
    assert kl(exact, asap_distribution(a, lm)) == pytest.approx(mask_kl)
    kls, done = [], 0
    for n in (10, 100, 1000):
        out = a.sample(None, n - done)
        done = n
        assert all(s.finished and g.matcher().consume_bytes(s.data) for s in out)
        kls.append(kl(exact, asap_distribution(a, lm)))
        assert a.efg() >= z - 1e-12
    assert kls[0] > kls[1] > kls[2] and kls[2] < 0.005 < mask_kl / 40
    assert a.efg() == pytest.approx(z, rel=0.02)


def test_asap_save_and_load(tmp_path) -> None:
    lm = ToyLM(7, seed=1, sharpness=2.0)
    a = ASAp(lm, V, LANG, max_tokens=6, seed=0)
    a.sample(None, 40)
    path = tmp_path / "trie.npz"
    a.save(path)
    b = ASAp(lm, V, LANG, max_tokens=6, seed=0).load(path)
    assert asap_distribution(b, lm) == asap_distribution(a, lm)
    assert b.efg() == a.efg() < 1.0
    calls = b.model_calls
    b.sample(None, 5)
    assert b.model_calls - calls <= 5 * 6  # the loaded trie is used: few prefixes are new
    with pytest.raises(ValueError, match="another constraint"):
        ASAp(lm, V, structgen.Regex("(ab|ba)c?"), max_tokens=6).load(path)
    with pytest.raises(ValueError, match="max_tokens"):
        ASAp(lm, V, LANG, max_tokens=5).load(path)


def test_asap_arguments() -> None:
    lm = ToyLM(7)
    with pytest.raises(ValueError):
        ASAp(lm, V, LANG, max_tokens=0)
    a = ASAp(lm, V, LANG, max_tokens=6)
    with pytest.raises(ValueError):
        a.sample(None, 0)
    with pytest.raises(ValueError, match="no prompt"):
        a.sample("a prompt", 1)


def test_asap_with_a_hugging_face_model() -> None:
    from .test_sampling_exact import toy

    model, tok = toy()
    a = structgen.ASAp(model, tok, LANG, max_tokens=6, seed=0)
    out = a.sample("c", 4)
    g = structgen.compile(LANG, structgen.api.as_vocabulary(tok))
    assert all(s.finished and g.matcher().consume_bytes(s.data) for s in out)
    assert a.efg("c") < 1.0 and a.efg("b") == 1.0  # one trie per prompt
    with pytest.raises(ValueError, match="one prompt"):
        a.sample(["a", "b"], 1)


def test_sample_smc_with_a_hugging_face_model() -> None:
    from .test_sampling_exact import toy

    model, tok = toy()
    r = structgen.sample_smc(model, tok, "c", regex="(ab|ba|c)(a|bc){0,2}", n_particles=8, max_tokens=6, seed=0)
    g = structgen.compile(LANG, structgen.api.as_vocabulary(tok))
    assert len(r.particles) == 8 and r.elapsed >= r.constraint_time > 0
    assert all(g.matcher().consume_bytes(p.data) for p in r.particles if p.finished)
    assert abs(sum(r.posterior().values()) - 1) < 1e-9
    with pytest.raises(ValueError, match="one prompt"):
        structgen.sample_smc(model, tok, ["a", "b"], regex="a", n_particles=2, max_tokens=2)


def test_asap_refuses_a_file_it_did_not_write(tmp_path) -> None:
    path = tmp_path / "other.npz"
    np.savez(path, a=np.zeros(3))
    with pytest.raises(ValueError, match="not a trie written by ASAp.save"):
        ASAp(ToyLM(7), V, LANG, max_tokens=6).load(path)
