"""The token budget: shortest completions (``structgen.budget``) and the steering in
``generate`` and the LogitsProcessor that keeps outputs valid at ``max_tokens``."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import interegular
import jsonschema
import numpy as np
import pytest

import structgen
from structgen import generate
from structgen.budget import BudgetGuard, shortest_completion
from structgen.models import tiny_random_model
from tests._grammar_oracle import in_munch_language
from tests._tokenizers import load_tokenizer, load_vocab

pytestmark = pytest.mark.usefixtures("one_torch_thread")

GRAMMARS = Path(__file__).resolve().parent.parent / "grammars"

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "addr": {"type": "object", "properties": {"city": {"type": "string", "minLength": 3}},
                 "required": ["city"]},
        "n": {"anyOf": [{"type": "integer", "minimum": 10}, {"type": "string", "format": "date"}]},
    },
    "required": ["name", "tags", "addr", "n"],
}
REGEXES = [r"[a-z]{3}-\d{2,4}", r"(ab|cd)+x", r"(\w+@\w+\.(com|org))|\d{3}-\d{4}", r"\((\d+,)*\d+\)"]


@functools.cache
def _vocab():
    return load_vocab("gpt2")


@functools.cache
def _model(seed: int = 0):
    return tiny_random_model(load_tokenizer("gpt2"), seed=seed)


def _constraints():
    out = {f"lark:{n}": structgen.Lark((GRAMMARS / f"{n}.lark").read_text()) for n in ("json", "arithmetic", "sql", "c")}
    out["schema"] = SCHEMA
    out.update({f"regex:{r}": structgen.Regex(r) for r in REGEXES})
    return out


def _prefixes(grammar, n_walks: int, steps: int, seed: int):
    """Matchers along random walks under the mask (short tokens preferred)."""
    vocab = grammar.vocab
    lens = np.asarray(vocab.token_lens, dtype=np.float64)
    eos = set(int(e) for e in grammar.eos_ids)
    rng = np.random.default_rng(seed)
    for _ in range(n_walks):
        m = grammar.matcher()
        ids: list[int] = []
        for _ in range(steps):
            yield m, ids
            allowed = m.allowed_tokens()
            allowed = allowed[~np.isin(allowed, list(eos))]
            if allowed.size == 0:
                break
            t = int(allowed[np.argmax(rng.gumbel(size=allowed.size) - 1.5 * lens[allowed])])
            assert m.advance(t)
            ids = ids + [t]


@pytest.mark.parametrize("name", list(_constraints()))
def test_shortest_completion_completes_every_prefix(name):
    """Along random walks, a completion is always found, and it completes the text."""
    grammar = structgen.compile(_constraints()[name], _vocab())
    n = 0
    for m, ids in _prefixes(grammar, 6, 30, seed=1):
        text = shortest_completion(m)
        assert text is not None, (name, _vocab().decode_bytes(ids))
        probe = m.fork()
        assert probe.consume_bytes(text) and probe.is_accepting()
        assert (text == b"") == m.is_accepting()
        n += 1
    assert n > 20


def _fsm_shortest(fsm, prefix: str) -> int:
    """interegular's FSM as the oracle: fewest characters that complete ``prefix``."""
    state = fsm.initial
    for ch in prefix:
        state = fsm.map[state].get(fsm.alphabet[ch])
        assert state is not None
    dist = {state: 0}
    frontier = [state]
    while frontier:
        nxt = []
        for s in frontier:
            if s in fsm.finals:
                return dist[s]
            for t in fsm.map.get(s, {}).values():
                if t not in dist:
                    dist[t] = dist[s] + 1
                    nxt.append(t)
        frontier = sorted(nxt, key=lambda x: dist[x])
    raise AssertionError("no completion")


ASCII_REGEXES = [r"[a-z]{3}-[0-9]{2,4}", r"(ab|cd)+x", r"([a-z_]+@[a-z]+\.(com|org))|[0-9]{3}-[0-9]{4}",
                 r"\(([0-9]+,)*[0-9]+\)", r"(a|bcdef|ghij)(k|lm)?(xyz)+"]


@pytest.mark.parametrize("pattern", ASCII_REGEXES)
def test_shortest_completion_is_shortest_for_regexes(pattern):
    """The byte length of the completion equals the shortest one in interegular's FSM
    of the same (ASCII) regex, from every prefix of random walks."""
    fsm = interegular.parse_pattern(pattern).to_fsm()
    grammar = structgen.compile(structgen.Regex(pattern), _vocab())
    for m, ids in _prefixes(grammar, 8, 12, seed=2):
        prefix = _vocab().decode_bytes(ids).decode()
        assert len(shortest_completion(m)) == _fsm_shortest(fsm, prefix), prefix


def test_guard_counts_tokens_of_a_real_tokenization():
    grammar = structgen.compile(SCHEMA, _vocab())
    g = BudgetGuard(grammar.matcher(), _vocab())
    n = g.tokens_to_finish()
    text = _vocab().decode_bytes(g.plan)
    assert n == len(g.plan) and json.loads(text)["addr"]["city"] == "aaa"
    jsonschema.validate(json.loads(text), SCHEMA)
    m = grammar.matcher()
    assert all(m.advance(t) for t in g.plan) and m.is_accepting()


def _valid(name: str, text: str) -> bool:
    if name == "schema":
        try:
            jsonschema.validate(json.loads(text), SCHEMA, format_checker=jsonschema.FormatChecker())
            return True
        except (ValueError, jsonschema.ValidationError):
            return False
    if name.startswith("regex:"):
        return re.fullmatch(name[6:], text) is not None
    return in_munch_language(name[5:], text)


STEER_CASES = ["schema", "lark:json", "lark:arithmetic", "regex:" + REGEXES[2], "regex:" + REGEXES[3]]


@pytest.mark.parametrize("name", STEER_CASES)
def test_generate_under_tight_budgets_ends_valid(name):
    """Random logits (a tiny random model), budgets from the shortest completion up:
    every output is valid and within the budget."""
    tok = load_tokenizer("gpt2")
    model = _model()
    constraint = _constraints()[name]
    kw = {"schema": constraint} if name == "schema" else {"grammar": constraint}
    need = BudgetGuard(structgen.compile(constraint, _vocab()).matcher(), _vocab()).tokens_to_finish()
    steered = 0
    for extra in (0, 1, 3, 8):
        rs = generate(model, tok, ["a", "b", "c", "d"], max_tokens=need + extra, temperature=1.0,
                      seed=extra, **kw)
        for r in rs:
            assert r.finished and r.budget_fits, (r.stop_reason, r.text)
            assert len(r.tokens) <= need + extra
            assert _valid(name, r.text), r.text
            steered += r.stop_reason == "budget"
    if name == "schema":
        assert steered > 0  # random logits rarely close its strings: the budget did it
    # greedy, with canonical jump-forward
    r = generate(model, tok, "a", max_tokens=need + 2, **kw)
    assert r.finished and _valid(name, r.text)


def test_no_completion_fits():
    """When no completion within the budget is known, the result says so."""
    tok = load_tokenizer("gpt2")
    r = generate(_model(), tok, "a", regex=r"([a-z] ){30}", max_tokens=10, temperature=1.0, seed=0)
    assert r.stop_reason == "length" and r.budget_fits is False and r.budget_steered == 0


def test_fit_budget_off_cuts_at_the_budget():
    tok = load_tokenizer("gpt2")
    rs = generate(_model(), tok, ["a"] * 4, schema=SCHEMA, max_tokens=25, temperature=1.0, seed=0,
                  fit_budget=False)
    assert any(r.stop_reason == "length" for r in rs)
    assert all(r.budget_steered == 0 and r.budget_fits is None for r in rs)


@pytest.mark.parametrize("name", ["schema", "lark:json"])
def test_logits_processor_under_tight_budgets(name):
    """``model.generate`` with the processor given ``max_new_tokens``: valid outputs,
    greedy and sampled."""
    import torch

    tok = load_tokenizer("gpt2")
    model = _model()
    constraint = _constraints()[name]
    need = BudgetGuard(structgen.compile(constraint, _vocab()).matcher(), _vocab()).tokens_to_finish()
    enc = tok("a", return_tensors="pt")
    for extra, sample in ((0, False), (2, True), (6, True)):
        n = need + extra
        proc = structgen.LogitsProcessor(constraint, tok, max_new_tokens=n)
        torch.manual_seed(extra)
        out = model.generate(**enc, logits_processor=[proc], max_new_tokens=n, do_sample=sample,
                             num_return_sequences=3 if sample else 1,
                             pad_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id)
        for row in out[:, enc["input_ids"].shape[1]:].tolist():
            ids = [t for t in row if t != tok.eos_token_id]
            text = _vocab().decode_bytes(ids).decode()
            assert _valid(name, text), text
        assert proc.steered > 0


def test_logits_processor_rejects_a_bad_budget():
    with pytest.raises(ValueError, match="max_new_tokens"):
        structgen.LogitsProcessor(SCHEMA, load_tokenizer("gpt2"), max_new_tokens=0)
