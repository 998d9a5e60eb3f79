"""Hugging Face ``transformers`` plug-in: a logits processor for ``model.generate``.

>>> proc = structgen.LogitsProcessor(MyModel, tokenizer)            # doctest: +SKIP
>>> out = model.generate(**enc, logits_processor=[proc], max_new_tokens=200)

How rows are tracked
--------------------
``model.generate`` calls the processor once per step with the whole ``input_ids``
(prompt + generated tokens) of every row.  Beam search reorders, duplicates and drops
rows between steps, so the processor keys each row's :class:`~structgen.Matcher` by the
row's full token sequence: at the next step, row ``r`` continues the matcher stored
under ``input_ids[r, :-1]`` and advances it by ``input_ids[r, -1]``; when several rows
continue the same parent (beams branching), the parent is forked.  Greedy search,
sampling, beam search and beam sampling, ``num_return_sequences`` and batches of
left-padded prompts of different lengths all need nothing more.

A call whose rows do not all continue the previous call's rows (a longer ``input_ids``
by exactly one token, each row's prefix seen before) starts a new generation: every row
is a prompt and gets a fresh matcher.  So one processor serves any number of
``generate()`` calls, one after the other (not concurrently: use one processor per
thread).  :meth:`LogitsProcessor.reset` forgets everything explicitly.

After a row emits EOS, only EOS is allowed in it (``generate`` then pads it with
``pad_token_id``, which the processor accepts).  Scores wider than the tokenizer
(padded vocabulary) are fine: the extra ids are always masked.

Tokens the constraint does not allow
------------------------------------
A row whose newest token the constraint forbade can only have been chosen with
probability zero: beam *sampling* fills its candidate list with zero-probability
tokens when the beams have fewer allowed continuations than it samples, and keeps
such a candidate (score ``-inf``) as a running beam when nothing better is left.  By
default such a row is marked dead: it allows only EOS from then on, its score stays
``-inf``, so it never becomes an output, and :attr:`LogitsProcessor.dead_rows`
counts it.  With ``strict=True`` it raises :class:`~structgen.StructgenError` naming
the row and the token instead (useful with greedy search and plain sampling, where
it can only mean that another processor after this one undid the mask, or that
``min_new_tokens`` forbade the only allowed EOS).

Token budget
------------
Given ``max_new_tokens`` (the same number as ``model.generate``'s), the processor keeps
each row completable within it: once a row's shortest known completion
(:mod:`structgen.budget`) comes within 32 tokens of the budget, it checks the row's 16
best-scored allowed tokens and keeps only those after which a completion still fits
(if none does, the first token of the shortest completion).  Under greedy search this
is :func:`structgen.generate`'s steering; under sampling, the draw is then limited to
those checked tokens.  It cannot see a single token that lengthens the shortest
completion by more than 32 tokens while the row is farther from its budget;
:func:`structgen.generate` checks every token it takes.  :attr:`LogitsProcessor.steered`
counts the rows' steps whose mask the budget narrowed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import StructgenError

__all__ = ["LogitsProcessor"]


class _RowState:
    """A row's matcher, whether it has emitted EOS, and its budget guard."""

    __slots__ = ("done", "guard", "matcher")

    def __init__(self, matcher: Any, done: bool = False, guard: Any = None):
        self.matcher = matcher  # None for a dead row (see the module docstring)
        self.done = done
        self.guard = guard


# The processor checks a row's best allowed tokens (``budget.STEER_TRIES`` of them)
# only within this many tokens of its budget (see the module docstring).
_ZONE = 32


class LogitsProcessor:
    """Mask ``model.generate``'s scores to a constraint, row by row.

    ``constraint``: a pydantic model class, a JSON Schema (dict or JSON text), a
    ``structgen.JsonSchema``, ``Regex`` or ``Lark``, or a compiled ``structgen.Grammar``
    (for this tokenizer).  ``schema_options`` go to ``JsonSchema`` for schema inputs.
    ``eos_token_id``: the ids that end a row (default: the tokenizer's EOS); use the
    ids ``model.generate`` stops on.  ``strict``: raise on a row whose token the
    constraint forbade instead of marking it dead (see the module docstring).
    ``max_new_tokens``: ``model.generate``'s budget, to keep every row completable
    within it (see the module docstring, "Token budget"); None: no budget.

    Usable in a ``transformers.LogitsProcessorList`` or a plain list passed as
    ``logits_processor=``; reusable across calls (see the module docstring).  Raises
    :class:`~structgen.CompileError` when the constraint does not compile.
    """

    def __init__(self, constraint: Any, tokenizer: Any, *, eos_token_id: int | Sequence[int] | None = None,
                 strict: bool = False, max_new_tokens: int | None = None, **schema_options: Any):
        from .api import as_vocabulary
        from .api import compile as compile_constraint

        eos = None
        if eos_token_id is not None:
            eos = [int(eos_token_id)] if isinstance(eos_token_id, (int, np.integer)) else [int(e) for e in eos_token_id]
        self.vocab = as_vocabulary(tokenizer, eos)
        self.grammar = compile_constraint(constraint, self.vocab, **schema_options)
        self.eos_ids = frozenset(int(e) for e in self.grammar.eos_ids)
        self.strict = bool(strict)
        if max_new_tokens is not None and (isinstance(max_new_tokens, bool) or
                                           not isinstance(max_new_tokens, (int, np.integer)) or max_new_tokens < 1):
            raise ValueError(f"max_new_tokens must be a positive int or None, got {max_new_tokens!r}")
        self.max_new_tokens = None if max_new_tokens is None else int(max_new_tokens)
        #: Row steps whose mask the token budget narrowed (see "Token budget").
        self.steered = 0
        self._start_length = 0
        #: Rows marked dead since construction (tokens chosen against the mask).
        self.dead_rows = 0
        self._states: dict[bytes, _RowState] | None = None
        self._length = -1
        self._checked_width = -1

    def reset(self) -> None:
        """Forget all rows: the next call starts a new generation."""
        self._states = None
        self._length = -1

    # ------------------------------------------------------------------ steps
    def _continues(self, ids: np.ndarray) -> bool:
        states = self._states
        if states is None or ids.shape[1] != self._length + 1:
            return False
        return all(row[:-1].tobytes() in states for row in ids)

    def _guard(self, matcher: Any) -> Any:
        if self.max_new_tokens is None:
            return None
        from .budget import BudgetGuard

        return BudgetGuard(matcher, self.vocab)

    def _start(self, ids: np.ndarray) -> dict[bytes, _RowState]:
        self._start_length = ids.shape[1]
        out: dict[bytes, _RowState] = {}
        for row in ids:
            key = row.tobytes()
            if key not in out:
                m = self.grammar.matcher()
                out[key] = _RowState(m, guard=self._guard(m))
        return out

    def _step(self, ids: np.ndarray) -> dict[bytes, _RowState]:
        """Advance each distinct row from its parent's state (forking shared parents)."""
        states = self._states
        children: dict[bytes, list[tuple[bytes, int, int]]] = defaultdict(list)
        seen: set[bytes] = set()
        for r, row in enumerate(ids):
            key = row.tobytes()
            if key in seen:
                continue
            seen.add(key)
            children[row[:-1].tobytes()].append((key, int(row[-1]), r))
        out: dict[bytes, _RowState] = {}
        for parent_key, kids in children.items():
            parent = states[parent_key]
            if parent.done or parent.matcher is None:
                for key, _token, _r in kids:  # padding after EOS, or a dead row going on
                    out[key] = parent
                continue
            # Fork before the parent moves: each child starts from the parent's state.
            matchers = [parent.matcher] + [parent.matcher.fork() for _ in kids[1:]]
            for (key, token, r), m in zip(kids, matchers):
                if m.advance(token):
                    guard = parent.guard if m is parent.matcher else self._guard(m)
                    out[key] = _RowState(m, token in self.eos_ids, guard)
                    continue
                if self.strict:
                    text = self.vocab.decode_bytes(ids[r, ids.shape[1] - m.num_steps - 1:-1].tolist())[-80:]
                    raise StructgenError(
                        f"row {r}: token {token} ({self._token_repr(token)}) is not allowed by the constraint "
                        f"after {text!r}; was the mask undone by another logits processor (or did "
                        f"min_new_tokens forbid the only allowed EOS)?")
                self.dead_rows += 1
                out[key] = _RowState(None, False)
        return out

    def _token_repr(self, token: int) -> str:
        if 0 <= token < self.vocab.size:
            return repr(self.vocab.token_bytes[token]) if self.vocab.is_text[token] else "special"
        return "out of the vocabulary"

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        """Mask ``scores`` (rows, V) in place for the rows of ``input_ids`` (rows, L)
        and return them.  Raises ``ValueError`` for scores narrower than the
        vocabulary's text and EOS ids, and, with ``strict=True``,
        :class:`StructgenError` for a row whose last token the constraint forbade."""
        from .batch import fill_bitmasks
        from .bitmask import apply_bitmask_
        from .decoders.common import check_logits_width

        width = int(scores.shape[-1])
        if width != self._checked_width:
            check_logits_width(self.vocab, width)
            self._checked_width = width
        ids = input_ids.detach().to("cpu").numpy().astype(np.int64, copy=False)
        ids = np.ascontiguousarray(ids)
        states = self._step(ids) if self._continues(ids) else self._start(ids)
        self._states = states
        self._length = ids.shape[1]
        # one mask per distinct row (beams often share a prefix), filled in parallel
        keys = [row.tobytes() for row in ids]
        first: dict[bytes, int] = {}
        for key in keys:
            first.setdefault(key, len(first))
        unique = self.grammar.allocate_bitmask(len(first))
        live = [(i, states[key].matcher) for key, i in first.items() if states[key].matcher is not None]
        for key, i in first.items():
            if states[key].matcher is None:
                self.grammar.fill_eos_only(unique[i])
        if live:
            rows = np.array([i for i, _ in live])
            filled = np.ascontiguousarray(unique[rows])
            fill_bitmasks([m for _, m in live], filled)
            unique[rows] = filled
        if self.max_new_tokens is not None:
            left = self.max_new_tokens - (ids.shape[1] - self._start_length)
            row_of: dict[bytes, int] = {}
            for r, key in enumerate(keys):
                row_of.setdefault(key, r)
            for key, i in first.items():
                st = states[key]
                if st.guard is not None and not st.done and st.matcher is not None:
                    self._fit(st, unique[i], scores[row_of[key]], left)
        bitmask = unique[[first[key] for key in keys]]
        apply_bitmask_(scores, bitmask)
        return scores

    def _fit(self, st: _RowState, row: np.ndarray, row_scores: Any, left: int) -> None:
        """Narrow one row's mask to tokens after which a completion fits in ``left - 1``
        tokens, when the row is within ``_ZONE`` tokens of its budget."""
        guard = st.guard
        need = guard.tokens_to_finish()
        if need is None or left - need > _ZONE:
            return
        from .budget import STEER_TRIES

        plan_first = guard.plan[0] if guard.plan else None
        bits = np.unpackbits(row.view(np.uint8), bitorder="little")[: self.vocab.size].astype(bool)
        eos = self.grammar.eos_ids
        eos_allowed = eos[bits[eos]]
        bits[eos] = False
        text = np.flatnonzero(bits)
        if text.size == 0:
            return
        sc = row_scores.detach().float().cpu().numpy()[text]
        order = text[np.argsort(-sc, kind="stable")]
        keep = [t for t in order[:STEER_TRIES].tolist() if guard.fits(t, left - 1)]
        if not keep and plan_first is not None and plan_first not in self.eos_ids:
            keep = [plan_first]
        if len(keep) == text.size:
            return
        self.steered += 1
        ids = np.concatenate([np.asarray(keep, dtype=np.int64), eos_allowed.astype(np.int64)])
        words = row.view(np.uint32)
        words[:] = 0
        np.bitwise_or.at(words, ids >> 5, (np.uint32(1) << (ids & 31).astype(np.uint32)))

    def __repr__(self) -> str:
        return f"<structgen.LogitsProcessor {self.grammar!r}>"
