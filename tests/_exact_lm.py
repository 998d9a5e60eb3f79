"""Exact distributions of a :class:`structgen.decoders.lm.LanguageModel` under a
constraint, by enumerating every token path (small vocabularies and languages only).

``conditional``: P(text EOS | text in the language, at most ``max_tokens`` tokens),
what ASAp and SMC target.  ``masked``: the distribution of local masking (each step
samples the model's distribution renormalised over the allowed tokens; EOS where the
text may end), what plain constrained decoding draws.  Outcomes are text bytes (the
paths of one text are summed).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np


def _walk(lm, grammar, max_tokens: int, masked: bool) -> dict[bytes, float]:
    vocab = grammar.vocab
    eos = set(int(e) for e in grammar.eos_ids)
    out: dict[bytes, float] = defaultdict(float)

    def go(ids: list[int], m, logp_path: float) -> None:
        lp = lm.next_logprobs([ids])[0]
        allowed = [int(t) for t in m.allowed_tokens() if t < lp.shape[0]]
        if len(ids) == max_tokens:
            allowed = [t for t in allowed if t in eos]
        if not allowed:
            return
        sub = lp[allowed]
        if masked:
            sub = sub - np.logaddexp.reduce(sub)
        for t, q in zip(allowed, sub):
            if t in eos:
                out[vocab.decode_bytes(ids)] += float(np.exp(logp_path + q))
            else:
                m2 = m.fork()
                assert m2.advance(t)
                go(ids + [t], m2, logp_path + q)

    go([], grammar.matcher(), 0.0)
    return dict(out)


def conditional(lm, grammar, max_tokens: int) -> tuple[dict[bytes, float], float]:
    """(P(text | language), Z = the language's total probability P(L))."""
    joint = _walk(lm, grammar, max_tokens, masked=False)
    z = sum(joint.values())
    return {k: v / z for k, v in joint.items()}, z


def masked(lm, grammar, max_tokens: int) -> dict[bytes, float]:
    out = _walk(lm, grammar, max_tokens, masked=True)
    total = sum(out.values())
    return {k: v / total for k, v in out.items()}


def tv(p: dict, q: dict) -> float:
    return 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in set(p) | set(q))


def kl(p: dict, q: dict) -> float:
    """KL(p || q) in nats (inf when q misses some of p's support)."""
    total = 0.0
    for k, pk in p.items():
        if pk <= 0:
            continue
        qk = q.get(k, 0.0)
        if qk <= 0:
            return float("inf")
        total += pk * np.log(pk / qk)
    return float(total)


def asap_distribution(sampler, lm) -> dict[bytes, float]:
    """The distribution of :class:`structgen.decoders.asap.ASAp`'s next sample (for a
    :class:`LanguageModel` without prompt): ``P(t | prefix) * theta`` where the trie
    has the prefix, masked sampling (theta = 1) below it."""
    grammar, vocab = sampler.grammar, sampler.vocab
    eos = set(int(e) for e in grammar.eos_ids)
    out: dict[bytes, float] = defaultdict(float)
    root = sampler._roots.get(())

    def go(ids: list[int], m, node, mass: float) -> None:
        if node is not None:
            toks, w = node.toks, node.p * node.theta
        else:
            lp = lm.next_logprobs([ids])[0]
            toks = m.allowed_tokens() if len(ids) < sampler.max_tokens else \
                np.array([e for e in sorted(eos) if m.is_accepting()], dtype=np.int64)
            toks = toks[toks < lp.shape[0]]
            w = np.exp(lp[toks])
        if not w.sum() > 0:
            return
        w = w / w.sum()
        for t, q in zip(toks.tolist(), w):
            if q == 0:
                continue
            if t in eos:
                out[vocab.decode_bytes(ids)] += mass * q
            else:
                m2 = m.fork()
                assert m2.advance(t)
                go(ids + [t], m2, None if node is None else node.kids.get(t), mass * q)

    go([], grammar.matcher(), root, 1.0)
    total = sum(out.values())
    return {k: v / total for k, v in out.items()}
