"""ASAp, grammar-aligned sampling (Park et al. 2024, "Grammar-Aligned Decoding").

Masking samples each token from the model's distribution renormalised over the tokens
the constraint allows.  That is not ``P(text | text in the language)``: a token is
drawn in proportion to ``P(t | prefix)`` although what matters is ``P(t | prefix) *
EFG(prefix t)``, the *expected future grammaticality* of the longer prefix (the
probability that the model, continuing it, stays in the language).  ASAp learns EFG
from its own samples:

* a trie of the prefixes sampled so far keeps, per prefix, the model's conditional
  probabilities of the allowed tokens and an estimate ``theta`` of each child's EFG,
  starting at 1 (an over-approximation; the first sample is plain masked sampling);
* a sample walks down the trie drawing ``t`` in proportion to ``P(t | prefix) *
  theta(prefix t)``, adding nodes (one model call each) where it leaves the trie;
* afterwards, from the end up, each prefix's estimate becomes ``sum_t P(t | prefix)
  * theta(prefix t)`` over its allowed tokens (EOS counts 1 where the text may end).

The estimates only fall, towards the true EFG, and the sampling distribution
converges to ``P(text | text in the language)`` (within ``max_tokens`` tokens).
:meth:`ASAp.save` / :meth:`ASAp.load` keep the trie between runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ASAp", "ASApSample"]


@dataclass
class ASApSample:
    """One sample: ``tokens`` (EOS excluded), ``data`` (bytes), ``text`` (str),
    ``finished`` (ended with EOS within ``max_tokens``), and ``new_nodes``: the model
    calls it cost (prefixes not in the trie before)."""

    tokens: list[int]
    data: bytes
    text: str
    finished: bool
    new_nodes: int = 0


@dataclass
class _Node:
    toks: np.ndarray   # int64[k]: allowed tokens (EOS included where the text may end)
    p: np.ndarray      # float64[k]: P(t | prefix) of each
    theta: np.ndarray  # float64[k]: EFG estimate of prefix+t (EOS: 1)
    kids: dict[int, "_Node"] = field(default_factory=dict)

    @property
    def efg(self) -> float:
        return float(self.p @ self.theta)


class ASAp:
    """Grammar-aligned sampling with ``model`` under ``constraint`` (see the module).

    ``model``: a Hugging Face causal LM (``tokenizer`` its tokenizer), or a
    :class:`structgen.decoders.lm.LanguageModel` (``tokenizer`` a tokenizer or a
    :class:`structgen.Vocabulary` of its vocabulary).  ``constraint``: anything
    :func:`structgen.compile` takes.  One trie per prompt."""

    def __init__(self, model: Any, tokenizer: Any, constraint: Any, *, temperature: float = 1.0,
                 max_tokens: int = 256, seed: int | None = None):
        from ..api import as_vocabulary, compile as sg_compile

        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ValueError(f"max_tokens must be a positive int, got {max_tokens!r}")
        self.model = model
        self.tokenizer = tokenizer
        self.vocab = as_vocabulary(tokenizer)
        self.grammar = sg_compile(constraint, self.vocab)
        self.temperature = float(temperature)
        self.max_tokens = max_tokens
        self.rng = np.random.default_rng(seed)
        self._eos = np.asarray(sorted(int(e) for e in self.grammar.eos_ids), dtype=np.int64)
        self._roots: dict[tuple[int, ...], _Node] = {}
        self._lms: dict[tuple[int, ...], Any] = {}
        self.model_calls = 0

    # ------------------------------------------------------------------ plumbing
    def _prompt_key(self, prompt: Any) -> tuple[int, ...]:
        from .lm import LanguageModel

        if isinstance(self.model, LanguageModel):
            if prompt not in (None, "", ()):
                raise ValueError("a LanguageModel has no prompt: call sample(None, n)")
            return ()
        if prompt is None:
            raise ValueError("a Hugging Face model needs a prompt")
        if isinstance(prompt, (list, tuple)) and all(isinstance(t, (int, np.integer)) for t in prompt):
            return tuple(int(t) for t in prompt)
        from .common import encode_prompts

        ids, batched = encode_prompts(self.tokenizer, prompt)
        if batched:
            raise ValueError("ASAp.sample takes one prompt (a str, chat messages, or token ids)")
        return tuple(ids[0])

    def _lm(self, key: tuple[int, ...]):
        lm = self._lms.get(key)
        if lm is None:
            from .lm import as_language_model

            lm = as_language_model(self.model, list(key) if key else None, temperature=self.temperature)
            self._lms[key] = lm
        return lm

    def _expand(self, lm, prefix: list[int], matcher) -> _Node:
        """A new trie node for ``prefix`` (one model call)."""
        self.model_calls += 1
        logp = lm.next_logprobs([prefix])[0]
        if len(prefix) >= self.max_tokens:
            toks = self._eos if matcher.is_accepting() else self._eos[:0]
        else:
            toks = matcher.allowed_tokens()
        toks = toks[toks < logp.shape[0]]
        p = np.exp(logp[toks])
        return _Node(toks.astype(np.int64), p, np.ones(toks.shape[0]))

    # ------------------------------------------------------------------ sampling
    def sample(self, prompt: Any = None, n: int = 1) -> list[ASApSample]:
        """``n`` samples, one after another, each refining the trie of ``prompt``."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        key = self._prompt_key(prompt)
        return [self._one(key) for _ in range(n)]

    def _one(self, key: tuple[int, ...]) -> ASApSample:
        lm = self._lm(key)
        m = self.grammar.matcher()
        root = self._roots.get(key)
        new = 0
        if root is None:
            root = self._roots[key] = self._expand(lm, [], m)
            new += 1
        path: list[tuple[_Node, int]] = []
        node = root
        tokens: list[int] = []
        finished = False
        eos = set(self._eos.tolist())
        while True:
            w = node.p * node.theta
            total = w.sum()
            if not total > 0:  # nothing allowed can be completed: a dead end, now known
                break
            i = min(int(np.searchsorted(np.cumsum(w), self.rng.random() * total, side="right")), len(w) - 1)
            t = int(node.toks[i])
            path.append((node, i))
            if t in eos:
                finished = True
                break
            if not m.advance(t):  # the token came from the mask: a refusal here is a bug
                raise RuntimeError(f"the matcher refused token {t} that its mask allowed")
            tokens.append(t)
            child = node.kids.get(t)
            if child is None:
                child = node.kids[t] = self._expand(lm, tokens, m)
                new += 1
            node = child
        # EFG update, deepest first: theta(prefix t) = efg of the node below
        below = 0.0 if not finished else None
        for nd, i in reversed(path):
            if below is not None:
                nd.theta[i] = below
            below = nd.efg
        return ASApSample(tokens, self.vocab.decode_bytes(tokens), self.vocab.decode_bytes(tokens).decode(
            "utf-8", errors="replace"), finished, new)

    def efg(self, prompt: Any = None) -> float:
        """The current estimate of ``P(the model's text is in the language)`` after
        ``prompt`` (an upper bound that ASAp's samples lower towards the truth)."""
        root = self._roots.get(self._prompt_key(prompt))
        return 1.0 if root is None else root.efg

    # ------------------------------------------------------------------ storage
    def save(self, path: str | Path) -> None:
        """Write the tries (every prompt's) to ``path`` (``.npz``)."""
        parent, token, off, toks, p, theta, prompts, roots = [], [], [0], [], [], [], [], []
        for key, root in self._roots.items():
            roots.append(len(parent))
            prompts.append(np.asarray(key, dtype=np.int64))
            stack = [(root, -1, -1)]
            while stack:
                nd, par, t = stack.pop()
                me = len(parent)
                parent.append(par)
                token.append(t)
                toks.append(nd.toks)
                p.append(nd.p)
                theta.append(nd.theta)
                off.append(off[-1] + nd.toks.shape[0])
                stack.extend((kid, me, kt) for kt, kid in nd.kids.items())
        cat = lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)  # noqa: E731
        np.savez_compressed(
            path, parent=np.asarray(parent, np.int64), token=np.asarray(token, np.int64),
            off=np.asarray(off, np.int64), toks=cat(toks, np.int64), p=cat(p, np.float64),
            theta=cat(theta, np.float64), roots=np.asarray(roots, np.int64),
            prompt_off=np.cumsum([0] + [len(k) for k in prompts]).astype(np.int64),
            prompts=cat(prompts, np.int64), fingerprint=np.asarray(self._fingerprint()),
            meta=np.asarray([self.max_tokens, self.temperature], dtype=np.float64))

    def load(self, path: str | Path) -> "ASAp":
        """Read tries written by :meth:`save` (for the same model, constraint,
        vocabulary, ``max_tokens`` and temperature: a mismatch of the last four is a
        ``ValueError``); they replace this sampler's.  Returns ``self``."""
        with np.load(path) as z:
            missing = {"parent", "token", "off", "toks", "p", "theta", "roots", "prompt_off", "prompts",
                       "fingerprint", "meta"} - set(z.files)
            if missing:
                raise ValueError(f"{path}: not a trie written by ASAp.save (no {', '.join(sorted(missing))})")
            if str(z["fingerprint"]) != self._fingerprint():
                raise ValueError(f"{path}: the trie was saved for another constraint or vocabulary")
            if int(z["meta"][0]) != self.max_tokens or float(z["meta"][1]) != self.temperature:
                raise ValueError(f"{path}: the trie was saved with max_tokens={int(z['meta'][0])}, "
                                 f"temperature={float(z['meta'][1])}")
            parent, token, off = z["parent"], z["token"], z["off"]
            toks, p, theta = z["toks"], z["p"], z["theta"]
            nodes = [_Node(toks[off[i]:off[i + 1]].copy(), p[off[i]:off[i + 1]].copy(),
                           theta[off[i]:off[i + 1]].copy()) for i in range(parent.shape[0])]
            for i in range(parent.shape[0]):
                if parent[i] >= 0:
                    nodes[parent[i]].kids[int(token[i])] = nodes[i]
            po, pr = z["prompt_off"], z["prompts"]
            self._roots = {tuple(int(t) for t in pr[po[j]:po[j + 1]]): nodes[int(r)]
                           for j, r in enumerate(z["roots"])}
        return self

    def _fingerprint(self) -> str:
        from ..api import _vocab_key

        src = self.grammar.source
        key = src.cache_key() if hasattr(src, "cache_key") else repr(src)
        return f"{key!r}|{_vocab_key(self.vocab)!r}"
