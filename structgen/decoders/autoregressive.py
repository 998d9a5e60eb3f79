"""Constrained autoregressive decoding on any Hugging Face causal LM: :func:`generate`.

One loop, batched: the prompts are left-padded into one batch; each step masks the
last logits of every unfinished row with its :class:`~structgen.Matcher`, samples
(greedy at ``temperature=0``; otherwise temperature, top-k and top-p applied *after*
masking), advances the matcher, and feeds the new tokens through the model with the
KV cache (``past_key_values``), an attention mask and explicit position ids.  A row
stops on EOS, which the mask allows only when the text so far is complete, or when
nothing but EOS can follow (the model is not asked then: its choice is forced), or at
``max_tokens``: that is reported as ``stop_reason="length"`` and such a result never
passes for valid (:attr:`GenerationResult.json` and :attr:`GenerationResult.value`
raise :class:`IncompleteGenerationError`).

Jump-forward
------------
Tokens the constraint decides are appended without asking the model, in the same
forward pass as the sampled token that precedes them.  Two policies
(``jump_forward=True``, the default, takes the first when sampling and the second when
greedy):

``"exact"``: only tokens that the mask leaves as the single choice, one after the
other.  Masked sampling draws such a token with probability 1, so the sampled
distribution is exactly that of sampling every token under the mask (checked against
enumerated distributions in ``tests/test_sampling_exact.py``).

``"canonical"``: when the constraint leaves only one way to go on
(``Matcher.forced_bytes()``, e.g. ``"name": "`` after ``{`` in a closed JSON object
without whitespace), those bytes are tokenized *canonically* (``Vocabulary.encode``,
the tokenizer's own tokenization of that text in mid-output) and appended.  Where the
mask would allow several tokenizations of the forced text, this chooses one for the
model, which changes what sampling draws after it (total variation 0.18 against masked
sampling on a toy LM); under greedy decoding it stays close to what the model would
have produced and saves more forward passes.  The policy:

* Only whole tokens are forced, and the **last** canonical token of the forced text is
  left to the model: its bytes may merge with the text that follows the forced part
  (``name"`` then ``:`` is ``name`` + ``":``  in GPT-2's vocabulary, not ``name`` +
  ``"`` + ``:``).  The model then chooses, under the mask, a token that starts with the
  remaining forced bytes and may run past them.
* Exception: when nothing but EOS can follow the forced text, all of it is forced.
* Forced tokens count toward ``max_tokens`` and are reported in
  :attr:`GenerationResult.forced_tokens`.
* Forced tokens are consumed with ``Matcher.advance`` one by one (so every token of the
  output is in the matcher's history), never with ``consume_bytes``.

The text before the forced part is never retokenized: a token the model already emitted
stays.  Because canonical jump-forward changes the token sequence (canonical tokens
instead of the model's choices), ``jump_forward=False`` (or ``"exact"``) gives exactly
the tokens that ``model.generate`` with :class:`structgen.LogitsProcessor` gives under
greedy decoding.

``max_tokens`` counts text tokens (forced ones included, EOS not): a text that is in the
language when the budget is spent ends as complete (``stop_reason="eos"``), as it
would if EOS were still offered.

Errors: ``ValueError``/``TypeError`` for bad arguments (named), :class:`CompileError`
from the constraint, :class:`StructgenError` if the engine ever allows no token in a
state that is not finished (that is a bug: please report the constraint).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..api import as_constraint, as_vocabulary
from ..batch import fill_bitmasks
from ..errors import StructgenError
from ..budget import STEER_TRIES
from .common import (
    GenerationResult,
    check_sampling,
    choose,
    forward_kwargs,
    only_token,
    check_logits_width,
    encode_prompts,
    eos_ids_for,
)

__all__ = ["generate"]


# ---------------------------------------------------------------------- decoding


@dataclass
class _Row:
    prompt: list[int]
    matcher: Any
    tokens: list[int] = field(default_factory=list)
    forced: int = 0
    done: bool = False
    stop_reason: str = ""
    n_real: int = 0  # tokens of this row in the KV cache that are not padding
    guard: Any = None  # BudgetGuard while the row steers toward a completion in budget
    steered: int = 0  # tokens whose choice the budget changed
    fits: bool | None = None


def _complete(r: _Row) -> str:
    """The stop reason of a row whose text is complete."""
    return "budget" if r.steered else "eos"


def _at_budget(r: _Row) -> str:
    """The stop reason of a row that has written ``max_tokens`` text tokens: complete
    (``"eos"``/``"budget"``) when its text is already in the language, else ``"length"``."""
    return _complete(r) if r.matcher is not None and r.matcher.is_accepting() else "length"


def _fits(r: _Row, left: int) -> bool:
    """Whether the row's text (as it stands) has a known completion of at most ``left``
    text tokens."""
    n = r.guard.tokens_to_finish()
    return n is not None and n <= left


def _matcher_finished(m: Any) -> bool:
    """Nothing but EOS can follow (the cheap accepting test first)."""
    return m.is_accepting() and m.is_finished()


def _jump_forward(row: _Row, vocab: Any, budget: int) -> list[int]:
    """Advance ``row.matcher`` over the forced text's canonical tokens, following the
    module's policy; returns the tokens consumed (at most ``budget``)."""
    m = row.matcher
    if budget <= 0:
        return []
    data = m.forced_bytes()
    if not data:
        return []
    ids = vocab.encode(data)
    for i, t in enumerate(ids):
        if not m.advance(t):
            m.rollback(i)
            raise StructgenError(
                f"engine inconsistency: the canonical token {t} ({vocab.token_bytes[t]!r}) of the forced text "
                f"{data!r} was rejected by the matcher that forced it")
    keep = len(ids) if _matcher_finished(m) else len(ids) - 1
    keep = min(keep, budget)
    if keep < len(ids):
        m.rollback(len(ids) - keep)
    return ids[:keep]


def _jump_forward_exact(row: _Row, budget: int, scratch: np.ndarray, eos: frozenset) -> list[int]:
    """Advance ``row.matcher`` over the tokens that the mask leaves as the only choice,
    one after the other (at most ``budget``): masked sampling would draw each of them
    with probability 1, so appending them unsampled changes no distribution."""
    m = row.matcher
    out: list[int] = []
    while len(out) < budget and not _matcher_finished(m):
        m.fill_bitmask(scratch)
        t = only_token(scratch)
        if t < 0 or t in eos or not m.advance(t):
            break
        out.append(t)
    return out


def _resolve_jump_forward(jump_forward: Any, temperature: float) -> str | None:
    """``"canonical"``, ``"exact"`` or None (off) for :func:`generate`'s argument."""
    if jump_forward is True:
        return "canonical" if temperature == 0 else "exact"
    if jump_forward is False or jump_forward is None:
        return None
    if jump_forward in ("canonical", "exact"):
        return jump_forward
    raise ValueError(f"jump_forward must be True, False, 'exact' or 'canonical', not {jump_forward!r}")


def _no_token_error(row: _Row, vocab: Any) -> StructgenError:
    text = vocab.decode_bytes(row.tokens)[-200:]
    return StructgenError(
        f"the constraint allows no token after {len(row.tokens)} generated tokens (text ends {text!r}) although "
        f"the text is not complete: this is an engine bug, please report the constraint")


def _model_forward(model: Any, cache: Any, chunk_rows: list[list[int]], rows: list[_Row], attn: Any,
                   pad_id: int, forward_kwargs: tuple[str, bool]) -> tuple[Any, Any, Any]:
    """One forward pass over new tokens: ``chunk_rows[b]`` (possibly empty) for each row,
    left-padded to a common width.  Returns (last logits (B, V) float32, cache,
    attention mask)."""
    import torch

    B = len(rows)
    n = max(1, max(len(c) for c in chunk_rows))
    ids = np.full((B, n), pad_id, dtype=np.int64)
    mask = np.zeros((B, n), dtype=np.int64)
    pos = np.ones((B, n), dtype=np.int64)
    for b, c in enumerate(chunk_rows):
        k = len(c)
        if k:
            ids[b, n - k:] = c
            mask[b, n - k:] = 1
            pos[b, n - k:] = np.arange(rows[b].n_real, rows[b].n_real + k)
            rows[b].n_real += k
    device = model.device
    new_mask = torch.from_numpy(mask).to(device)
    attn = new_mask if attn is None else torch.cat([attn, new_mask], dim=1)
    cache_name, use_logits_to_keep = forward_kwargs
    kwargs = {"input_ids": torch.from_numpy(ids).to(device), "attention_mask": attn,
              "position_ids": torch.from_numpy(pos).to(device), cache_name: cache, "use_cache": True}
    if use_logits_to_keep:
        kwargs["logits_to_keep"] = 1
    out = model(**kwargs)
    logits = out.logits[:, -1, :].to(dtype=torch.float32)
    new_cache = out.get("cache") if out.get("cache") is not None else out.get("past_key_values")
    return logits, new_cache, attn


def _drafter(draft: Any, constraint: Any, top_k: int, top_p: float, logit_bias: Any, progress: bool,
             speculate_k: Any) -> Any:
    """The drafter for ``generate(draft=...)``, after checking what goes with it."""
    from .speculative import ModelDrafter, NgramDrafter

    if constraint is None:
        raise ValueError("draft= (speculative decoding) needs a constraint (schema, regex or grammar)")
    for name, value, off in (("top_k", top_k, 0), ("top_p", top_p, 1.0), ("logit_bias", logit_bias, None),
                             ("progress", progress, False)):
        if value != off and value is not None and value is not False:
            raise ValueError(f"{name} is not supported with draft= (speculative decoding) yet")
    if speculate_k != "adaptive" and (isinstance(speculate_k, bool) or not isinstance(speculate_k, int)
                                      or not 0 <= speculate_k <= 64):
        raise ValueError(f"speculate_k must be an int in [0, 64] or 'adaptive', got {speculate_k!r}")
    if isinstance(draft, str):
        if draft == "ngram":
            return NgramDrafter()
        raise ValueError(f"draft must be 'ngram' or a causal LM, not {draft!r}")
    if hasattr(draft, "forward") and hasattr(draft, "config"):
        return ModelDrafter(draft)
    raise TypeError(f"draft must be 'ngram' or a Hugging Face causal LM, got {type(draft).__name__}")


def generate(
    model: Any,
    tokenizer: Any,
    prompt: Any,
    *,
    schema: Any = None,
    regex: Any = None,
    grammar: Any = None,
    max_tokens: int = 256,
    temperature: float = 0.0,
    top_p: float = 1.0,
    top_k: int = 0,
    seed: int | None = None,
    jump_forward: bool | str = True,
    eos_token_id: int | Sequence[int] | None = None,
    logit_bias: dict[int, float] | None = None,
    progress: bool = False,
    fit_budget: bool = True,
    draft: Any = None,
    speculate_k: int | str = "adaptive",
    **schema_options: Any,
) -> GenerationResult | list[GenerationResult]:
    """Generate text from ``model`` that satisfies a constraint.

    ``model``: any Hugging Face causal LM (``model(input_ids, attention_mask,
    position_ids, past_key_values)`` returning ``.logits``); ``tokenizer``: its fast
    tokenizer.  ``prompt``: a ``str``, a chat (list of message dicts; needs the
    tokenizer's chat template), or a list of those (a batch: the result is then a list,
    one :class:`GenerationResult` per prompt, in order).

    The constraint: at most one of ``schema`` (JSON Schema dict or text, pydantic
    class, ``JsonSchema``; ``schema_options`` such as ``whitespace="compact"`` go to
    ``JsonSchema``), ``regex`` and ``grammar`` (see :func:`structgen.api.as_constraint`); none
    generates unconstrained text.

    ``max_tokens``: generated tokens per prompt, forced ones included, EOS not.
    ``temperature=0`` is greedy; otherwise softmax sampling at that temperature, with
    ``top_k`` (0: off) and ``top_p`` (1: off) applied after masking, from a
    ``torch.Generator`` seeded with ``seed`` (None: torch's global RNG).  One generator
    serves the whole batch, so a row's sample depends on the batch it is in.
    ``jump_forward``: append forced tokens without sampling them (see the module
    docstring): True (default) forces the canonical tokens of forced text when greedy
    and, when sampling, only the tokens the mask leaves as the single choice, which
    keeps the sampled distribution exact; ``"canonical"`` or ``"exact"`` choose one
    policy whatever the temperature (``"canonical"`` changes what sampling draws);
    False turns it off.
    ``eos_token_id``: the ids that end generation (default: the model's generation
    config, else the tokenizer's).  ``logit_bias``: ``{token_id: bias}`` added to the
    logits before masking (a token the constraint forbids stays forbidden; e.g. a
    positive bias on EOS ends the text as soon as it may end).  ``progress``: show a
    tqdm progress bar (on stderr).
    ``fit_budget`` (default True): keep the text completable within ``max_tokens``:
    a token after which no completion within the tokens left is known is refused and
    the model's next choice taken (up to 16 tries, then the shortest completion found
    is appended); the result says so (``stop_reason="budget"``,
    ``budget_steered``).  See docs/generate.md, "Token budget".
    ``draft``: speculative decoding (``structgen.decoders.speculative``): ``"ngram"``
    (prompt and output lookup) or a small Hugging Face causal LM sharing the
    tokenizer; lossless (greedy: the same tokens; sampling: the same distribution as
    without it).  ``speculate_k``: drafts per step, or ``"adaptive"``.  Needs a
    constraint; not with ``top_k``, ``top_p``, ``logit_bias`` or ``progress``.

    Raises ``ValueError``/``TypeError`` for bad arguments, :class:`CompileError` for a
    constraint that does not compile, :class:`StructgenError` on an engine failure
    (no allowed token in an unfinished state).  Hitting ``max_tokens`` does not raise:
    it gives ``stop_reason="length"``."""
    import torch

    from ..api import compile as compile_constraint
    from ..budget import BudgetGuard

    t0 = time.perf_counter()
    check_sampling(max_tokens, temperature, top_p, top_k)
    jf = _resolve_jump_forward(jump_forward, temperature)
    constraint = as_constraint(schema=schema, regex=regex, grammar=grammar, **schema_options)
    pyd_model = getattr(constraint, "model", None)
    prompts, batch = encode_prompts(tokenizer, prompt)
    explicit = eos_token_id is not None
    eos = eos_ids_for(model, tokenizer, eos_token_id)
    vocab = as_vocabulary(tokenizer, eos, explicit=explicit)
    eos_set = frozenset(eos)
    if draft is not None:
        drafter = _drafter(draft, constraint, top_k, top_p, logit_bias, progress, speculate_k)
        if jump_forward == "canonical":  # drafts force only single-choice tokens (exact)
            raise ValueError("jump_forward='canonical' is not supported with draft=; use True or 'exact'")
    compiled = compile_constraint(constraint, vocab) if constraint is not None else None
    if draft is not None:
        from .speculative import generate_speculative

        gen = None
        if temperature > 0 and seed is not None:
            gen = torch.Generator().manual_seed(int(seed))
        results = []
        for p in prompts:
            r = generate_speculative(model, p, compiled, vocab, drafter=drafter, speculate_k=speculate_k,
                                     max_tokens=max_tokens, temperature=temperature, generator=gen, eos=eos_set,
                                     fit_budget=fit_budget, jump_forward=jf is not None)
            r.schema_model = pyd_model
            results.append(r)
        return results if batch else results[0]

    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[0]
    generator = None
    if temperature > 0 and seed is not None:
        generator = torch.Generator(device=model.device).manual_seed(int(seed))
    fwd = forward_kwargs(model)
    bias_ids = bias_vals = None
    if logit_bias:
        bias_ids = torch.tensor([int(k) for k in logit_bias], dtype=torch.long)
        bias_vals = torch.tensor([float(v) for v in logit_bias.values()], dtype=torch.float32)
        if not torch.isfinite(bias_vals).all():
            raise ValueError("logit_bias values must be finite (the constraint does the masking)")

    rows = [_Row(prompt=p, matcher=compiled.matcher() if compiled is not None else None) for p in prompts]
    mask_time = 0.0
    scratch = compiled.allocate_bitmask() if compiled is not None and jf == "exact" else None

    def force(r: _Row, budget: int) -> list[int]:
        if jf == "canonical":
            return _jump_forward(r, vocab, budget)
        return _jump_forward_exact(r, budget, scratch, eos_set)

    def take(r: _Row, t: int) -> list[int]:
        """Advance the row's matcher by ``t`` and the forced tokens after it."""
        if not r.matcher.advance(t):
            raise StructgenError(f"engine inconsistency: token {t} was allowed by the mask but the "
                                 f"matcher rejected it")
        new = [t]
        if jf is not None:
            forced = force(r, max_tokens - len(r.tokens) - 1)
            new += forced
            r.forced += len(forced)
        return new

    def advance_row(r: _Row, t: int, k: int, sel: Any, bm: np.ndarray) -> tuple[list[int], bool]:
        """Take the chosen token ``t`` (row ``k`` of the step) and the forced tokens after
        it.  With a budget guard, a token after which no completion within the tokens
        left is known is refused and the model's next choice under the mask without it
        taken; after ``STEER_TRIES`` refusals the guard's own shortest completion is
        appended and the row ends.  Returns (tokens appended, the row ends)."""
        tries = 0
        while True:
            new = take(r, t)
            if r.guard is None:
                break
            n = r.guard.tokens_to_finish()
            if n is None or n <= max_tokens - len(r.tokens) - len(new):
                break  # (None: no completion known, which the guard cannot judge)
            r.matcher.rollback(len(new))
            r.forced -= len(new) - 1
            r.steered += 1
            tries += 1
            words = bm[k].view(np.uint32)
            words[t >> 5] &= np.uint32(~(1 << (t & 31)) & 0xFFFFFFFF)
            if tries > STEER_TRIES:
                return take_plan(r), True
            t = int(choose(sel[k:k + 1], bm[k:k + 1], temperature, top_k, top_p, generator)[0])
            if t < 0:
                return take_plan(r), True
            if t in eos_set:  # the mask allows EOS only where the text is complete
                return [], True
        r.tokens += new
        return new, False

    def take_plan(r: _Row) -> list[int]:
        """Append the guard's completion of the row's text, at most the tokens left."""
        r.guard.tokens_to_finish()
        plan = list(r.guard.plan or [])[: max_tokens - len(r.tokens)]
        for i, p in enumerate(plan):
            if not r.matcher.advance(p):
                r.matcher.rollback(i)
                raise StructgenError(f"engine inconsistency: the budget's completion token {p} was refused")
        r.tokens += plan
        return plan

    # Text forced from the very start goes in with the prompt.
    chunks = []
    for r in rows:
        forced = []
        if compiled is not None and jf is not None:
            ts = time.perf_counter()
            forced = force(r, max_tokens)
            mask_time += time.perf_counter() - ts
            r.tokens += forced
            r.forced += len(forced)
        if compiled is not None and fit_budget:
            r.guard = BudgetGuard(r.matcher, vocab)
            r.fits = _fits(r, max_tokens - len(r.tokens))
            if not r.fits:
                r.guard = None  # nothing to keep: decode as the model goes
        chunks.append(r.prompt + forced)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=max_tokens, unit="tok", desc="structgen", leave=False)
    ttft = None
    n_forward = 0
    bitmask = compiled.allocate_bitmask(len(rows)) if compiled is not None else None
    try:
        with torch.inference_mode():
            logits, cache, attn = _model_forward(model, None, chunks, rows, None, pad_id, fwd)
            n_forward += 1
            if compiled is not None:
                check_logits_width(vocab, logits.shape[-1])
            if bias_ids is not None:
                bad = [int(i) for i in bias_ids if not 0 <= int(i) < logits.shape[-1]]
                if bad:
                    raise ValueError(f"logit_bias: token id {bad[0]} is outside the logits (0..{logits.shape[-1] - 1})")
                bias_ids, bias_vals = bias_ids.to(logits.device), bias_vals.to(logits.device)
            for r in rows:  # forced text may already have finished a row
                if r.matcher is not None and _matcher_finished(r.matcher):
                    r.done, r.stop_reason = True, _complete(r)
                elif len(r.tokens) >= max_tokens:
                    r.done, r.stop_reason = True, _at_budget(r)
            while True:
                active = [b for b, r in enumerate(rows) if not r.done]
                if not active:
                    break
                ts = time.perf_counter()
                bm = None
                if compiled is not None:
                    bm = bitmask[: len(active)]
                    fill_bitmasks([rows[b].matcher for b in active], bm)
                mask_time += time.perf_counter() - ts
                sel = logits if len(active) == len(rows) else logits[torch.as_tensor(active, device=logits.device)]
                if bias_ids is not None:
                    sel[:, bias_ids] += bias_vals
                chosen = choose(sel, bm, temperature, top_k, top_p, generator)
                if ttft is None:
                    ttft = time.perf_counter() - t0
                ts = time.perf_counter()
                chunks = [[] for _ in rows]
                for k, b in enumerate(active):
                    r = rows[b]
                    t = int(chosen[k])
                    if t < 0:
                        if r.matcher is None:
                            raise StructgenError("the model's logits are -inf for every token")
                        raise _no_token_error(r, vocab)
                    if t in eos_set:
                        r.done, r.stop_reason = True, _complete(r)
                        continue
                    if r.matcher is None:
                        r.tokens.append(t)
                        new = [t]
                    else:
                        new, end = advance_row(r, t, k, sel, bm)
                        if end:
                            r.done, r.stop_reason = True, _at_budget(r)
                            continue
                        if _matcher_finished(r.matcher):
                            r.done, r.stop_reason = True, _complete(r)
                            continue
                    if len(r.tokens) >= max_tokens:
                        r.done, r.stop_reason = True, _at_budget(r)
                        continue
                    chunks[b] = new
                mask_time += time.perf_counter() - ts
                if bar is not None:
                    bar.update(max(len(r.tokens) for r in rows) - bar.n)
                if not any(chunks):
                    break
                logits, cache, attn = _model_forward(model, cache, chunks, rows, attn, pad_id, fwd)
                n_forward += 1
    finally:
        if bar is not None:
            bar.close()

    elapsed = time.perf_counter() - t0
    results = []
    for r in rows:
        data = vocab.decode_bytes(r.tokens)
        results.append(GenerationResult(
            text=data.decode("utf-8", errors="replace"), data=data, tokens=list(r.tokens),
            stop_reason=r.stop_reason, prompt_tokens=len(r.prompt), forced_tokens=r.forced,
            budget_steered=r.steered, budget_fits=r.fits,
            ttft=ttft if ttft is not None else elapsed, elapsed=elapsed, mask_time=mask_time,
            forward_passes=n_forward, constrained=compiled is not None, schema_model=pyd_model))
    return results if batch else results[0]
