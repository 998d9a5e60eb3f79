"""structgen.generate on tiny random-weight Llama models over real tokenizers.

The models are 2-layer Llamas with seeded random weights (``structgen.models``): their
text is meaningless, which is the point: every output must still be valid, and with
bounded constraints (bounded strings, integers and enums; the JSON Schema default
whitespace is bounded too) every run must end on EOS well inside ``max_tokens``.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Literal

import jsonschema
import numpy as np
import pytest
import torch
from pydantic import BaseModel, Field

from structgen.models import tiny_random_model
from structgen.errors import StructgenError
from structgen.decoders import generate
from structgen.decoders.common import (
    GenerationResult,
    IncompleteGenerationError,
    choose,
    filter_top_k_top_p,
    encode_prompts,
)
from structgen.hf import LogitsProcessor
from structgen.jsonschema import JsonSchema
from tests._tokenizers import load_tokenizer, tokenizer_dir

TOKENIZERS = ("gpt2", "llama2", "llama3")


class Person(BaseModel):
    name: str = Field(min_length=1, max_length=8)
    age: int = Field(ge=0, le=120)
    role: Literal["admin", "user", "guest"]
    active: bool


PERSON_SCHEMA = Person.model_json_schema()


class Account(BaseModel):
    """No number field: greedy random models get stuck in the unbounded ``76.000...``
    float form of integers, even of ``enum: [1, 2, 3]`` (see
    test_integer_float_form_is_bounded)."""

    user: str = Field(min_length=1, max_length=8)
    level: Literal["low", "mid", "high"]
    role: Literal["admin", "user", "guest"]
    active: bool


ACCOUNT_SCHEMA = Account.model_json_schema()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@functools.cache
def _model(name: str, seed: int = 0, vocab_size: int | None = None):
    return tiny_random_model(load_tokenizer(name), seed=seed, vocab_size=vocab_size)


def _check_person(r: GenerationResult, cls: type[BaseModel] = Person) -> None:
    assert r.finished and r.stop_reason == "eos", (r.stop_reason, r.text)
    jsonschema.validate(r.json, cls.model_json_schema())
    assert isinstance(r.value, cls)
    assert r.value == cls.model_validate(r.json)


@pytest.mark.parametrize("name", TOKENIZERS)
def test_pydantic_valid_over_seeds(name):
    """Sampling (plain, top-k, top-p) gives valid instances.  Compact JSON keeps the
    runs short; the bound on flexible whitespace is tested below."""
    tok = load_tokenizer(name)
    model = _model(name)
    for seed, top_k, top_p in ((0, 0, 1.0), (1, 0, 1.0), (2, 20, 1.0), (3, 0, 0.9)):
        r = generate(model, tok, "Describe a user as JSON:", schema=Person, whitespace="compact",
                     temperature=1.0, top_k=top_k, top_p=top_p, seed=seed, max_tokens=100)
        _check_person(r)
        assert len(r.tokens) < 60
        assert r.data == b"".join(tok._structgen_vocab.token_bytes[t] for t in r.tokens)


@pytest.mark.parametrize("name", ["gpt2", "llama3"])  # byte-level: the most whitespace tokens
def test_default_whitespace_is_bounded(name):
    """Flexible whitespace (the default) is bounded: a greedy random model, which
    likes whitespace, still ends on EOS."""
    tok = load_tokenizer(name)
    model = _model(name, seed=1)
    r = generate(model, tok, "Person:", schema=Account, max_tokens=400)
    _check_person(r, Account)


def test_greedy_is_deterministic():
    tok = load_tokenizer("gpt2")
    model = _model("gpt2")
    a = generate(model, tok, "Person:", schema=Account, whitespace="compact", max_tokens=100)
    b = generate(model, tok, "Person:", schema=Account, whitespace="compact", max_tokens=100)
    assert a.tokens == b.tokens


def test_seed_reproducible_and_seeds_differ():
    tok = load_tokenizer("gpt2")
    model = _model("gpt2")
    kw = {"schema": Person, "whitespace": "compact", "temperature": 1.0, "max_tokens": 100}
    a = generate(model, tok, "x", seed=5, **kw)
    b = generate(model, tok, "x", seed=5, **kw)
    outs = {a.text} | {generate(model, tok, "x", seed=s, **kw).text for s in range(2)}
    assert a.tokens == b.tokens
    assert len(outs) > 1


@pytest.mark.parametrize("name", TOKENIZERS)
def test_greedy_generate_equals_hf_generate_with_processor(name):
    """Same constraint, greedy: our loop and model.generate + LogitsProcessor agree
    token for token (jump-forward off: it replaces the model's tokens by canonical
    ones), for a single prompt and (over Llama-2) for a left-padded batch."""
    tok = load_tokenizer(name)
    model = _model(name)
    prompts = ["Give me a person as JSON, please:", "Hi"]
    schema = JsonSchema(Account, whitespace="compact")
    ours = generate(model, tok, prompts, schema=schema, max_tokens=100, jump_forward=False)
    assert all(r.finished for r in ours)
    proc = LogitsProcessor(schema, tok)
    eos = tok.eos_token_id
    enc = tok(prompts[0], return_tensors="pt")
    out = model.generate(**enc, logits_processor=[proc], max_new_tokens=100, do_sample=False)
    gen = out[0, enc["input_ids"].shape[1]:].tolist()
    assert gen[-1] == eos
    assert gen[:-1] == ours[0].tokens
    # exact jump-forward appends only single choices: the same tokens, fewer samplings
    # (none in Llama-2: byte-fallback tokens give every byte a second spelling)
    exact = generate(model, tok, prompts[0], schema=schema, max_tokens=100, jump_forward="exact")
    assert exact.tokens == ours[0].tokens
    assert (exact.forced_tokens > 0) == (name != "llama2")
    if name != "llama2":
        return
    # the same rows in one left-padded batch
    ids, _ = encode_prompts(tok, prompts)
    width = max(map(len, ids))
    pad = eos
    input_ids = torch.tensor([[pad] * (width - len(i)) + i for i in ids])
    mask = torch.tensor([[0] * (width - len(i)) + [1] * len(i) for i in ids])
    out = model.generate(input_ids=input_ids, attention_mask=mask, logits_processor=[proc], max_new_tokens=100,
                         do_sample=False, pad_token_id=pad)
    for row, r in zip(out[:, width:].tolist(), ours):
        k = row.index(eos)
        assert row[:k] == r.tokens


def test_batch_of_prompts_of_different_lengths():
    tok = load_tokenizer("llama2")
    model = _model("llama2")
    prompts = ["a", "A much longer prompt, with several words in it, asking for a user:", "Third one"]
    schema = JsonSchema(Account, whitespace="compact")
    batch = generate(model, tok, prompts, schema=schema, max_tokens=100, jump_forward=False)
    assert isinstance(batch, list) and len(batch) == 3
    for p, r in zip(prompts, batch):
        _check_person(r, Account)
        single = generate(model, tok, p, schema=schema, max_tokens=100, jump_forward=False)
        assert single.tokens == r.tokens
        assert r.prompt_tokens == len(tok(p)["input_ids"])


def test_max_tokens_too_small_gives_length():
    tok = load_tokenizer("gpt2")
    model = _model("gpt2")
    r = generate(model, tok, "x", schema=Person, max_tokens=3, jump_forward=False)
    assert r.stop_reason == "length" and not r.finished
    assert len(r.tokens) == 3
    with pytest.raises(IncompleteGenerationError, match="max_tokens"):
        _ = r.json
    with pytest.raises(IncompleteGenerationError):
        _ = r.value
    # forced tokens count toward max_tokens too
    r = generate(model, tok, "x", regex=r"The answer is (yes|no)\.", max_tokens=2)
    assert r.stop_reason == "length" and len(r.tokens) == 2


def test_jump_forward_feeds_forced_text_in_one_pass():
    tok = load_tokenizer("gpt2")
    model = _model("gpt2")
    pattern = r"The answer to the question is definitely (yes|no)\."
    r = generate(model, tok, "Q:", regex=pattern, max_tokens=40)
    assert r.finished and re.fullmatch(pattern, r.text)
    assert r.forced_tokens >= 5
    # forced tokens share forward passes: far fewer passes than tokens
    assert r.forward_passes <= len(r.tokens) - r.forced_tokens + 2
    vocab = tok._structgen_vocab
    # the forced prefix is the canonical tokenization of its text, last token left to the model
    head = vocab.encode("The answer to the question is definitely")
    assert r.tokens[: len(head) - 1] == head[:-1]
    off = generate(model, tok, "Q:", regex=pattern, max_tokens=40, jump_forward=False)
    assert off.finished and off.forced_tokens == 0 and re.fullmatch(pattern, off.text)
    assert off.forward_passes == len(off.tokens) + (0 if off.text.endswith(".") else 1)


def test_jump_forward_to_the_end_forces_everything():
    """When nothing but EOS can follow the forced text, all of it is forced and the
    model is not asked again."""
    tok = load_tokenizer("llama3")
    model = _model("llama3")
    r = generate(model, tok, "Say it:", regex=r"hello world", max_tokens=10)
    assert r.finished and r.text == "hello world"
    assert r.forced_tokens == len(r.tokens) and r.forward_passes == 1


def test_jump_forward_json_valid_and_batched():
    tok = load_tokenizer("llama3")
    model = _model("llama3", seed=2)
    schema = {"type": "object", "properties": {"temperature_celsius": {"type": "integer", "minimum": -50,
                                                                       "maximum": 60},
                                               "condition": {"enum": ["sunny", "cloudy", "rainy"]}},
              "required": ["temperature_celsius", "condition"], "additionalProperties": False}
    rs = generate(model, tok, ["Weather:", "What is the weather like in Paris today?"],
                  schema=JsonSchema(schema, whitespace="compact"), max_tokens=60, temperature=1.0, seed=1)
    for r in rs:
        assert r.finished, r.text
        jsonschema.validate(r.json, schema)
        assert r.forced_tokens > 0
        assert r.text.startswith('{"temperature_celsius":')


def test_regex_and_lark_grammar():
    tok = load_tokenizer("llama2")
    model = _model("llama2")
    date = r"(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    for seed in range(3):
        r = generate(model, tok, "Date:", regex=date, temperature=1.0, seed=seed, max_tokens=30)
        assert r.finished and re.fullmatch(date, r.text), r.text
    grammar = 'start: "(" NUM ("," NUM)~0..3 ")"\nNUM: /[1-9][0-9]{0,2}/\n'
    r = generate(model, tok, "Tuple:", grammar=grammar, temperature=1.0, seed=0, max_tokens=40)
    assert r.finished and re.fullmatch(r"\([1-9][0-9]{0,2}(,[1-9][0-9]{0,2}){0,3}\)", r.text), r.text


def test_padded_vocabulary():
    """Logits wider than the tokenizer: the padding ids are never produced."""
    tok = load_tokenizer("gpt2")
    model = _model("gpt2", vocab_size=len(tok) + 47)
    r = generate(model, tok, "x", schema=Person, whitespace="compact", temperature=1.0, seed=0, max_tokens=100)
    _check_person(r)
    assert max(r.tokens) < len(tok)


def test_chat_messages():
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir("gpt2")))  # a private copy: we set its template
    messages = [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "A user?"}]
    with pytest.raises(ValueError, match="chat_template"):
        encode_prompts(tok, messages)
    tok.chat_template = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
                         "{% if add_generation_prompt %}<|assistant|>{% endif %}")
    ids, batch = encode_prompts(tok, messages)
    assert not batch
    assert ids[0] == tok("<|system|>Answer in JSON.\n<|user|>A user?\n<|assistant|>")["input_ids"]
    ids, batch = encode_prompts(tok, [messages, "plain"])
    assert batch and len(ids) == 2
    model = tiny_random_model(tok)
    r = generate(model, tok, messages, schema=Account, whitespace="compact", max_tokens=100)
    _check_person(r, Account)


def test_unconstrained():
    tok = load_tokenizer("gpt2")
    model = _model("gpt2")
    r = generate(model, tok, "Once upon a time", max_tokens=8, temperature=1.0, seed=0)
    assert not r.constrained and len(r.tokens) <= 8
    assert r.stop_reason in ("eos", "length")
    assert r.stop_reason == "eos" or len(r.tokens) == 8


def test_bad_arguments():
    tok = load_tokenizer("gpt2")
    model = _model("gpt2")
    with pytest.raises(ValueError, match="at most one constraint"):
        generate(model, tok, "x", schema=Person, regex="a")
    with pytest.raises(ValueError, match="temperature"):
        generate(model, tok, "x", regex="a", temperature=-1)
    with pytest.raises(ValueError, match="max_tokens"):
        generate(model, tok, "x", regex="a", max_tokens=0)
    with pytest.raises(ValueError, match="top_p"):
        generate(model, tok, "x", regex="a", top_p=0)
    with pytest.raises(ValueError, match="apply to schema"):
        generate(model, tok, "x", regex="a", whitespace="compact")
    with pytest.raises(TypeError, match="prompt"):
        generate(model, tok, 42, regex="a")
    with pytest.raises(ValueError, match="empty batch"):
        generate(model, tok, [], regex="a")


def test_model_eos_that_is_text_is_refused():
    """A model whose generation config names a text token as EOS (a Llama config's
    default eos 2 over GPT-2's vocabulary) would silently lose that token."""
    tok = load_tokenizer("gpt2")
    model = tiny_random_model(tok)
    model.generation_config.eos_token_id = 2
    with pytest.raises(ValueError, match="text token"):
        generate(model, tok, "x", regex="a")
    r = generate(model, tok, "x", regex="a", eos_token_id=tok.eos_token_id)
    assert r.finished and r.text == "a"


def test_top_k_top_p_filter():
    logp = torch.log_softmax(torch.tensor([[3.0, 2.0, 1.0, 0.0, -1.0]]), dim=-1)
    p = logp.exp()[0]
    kept = torch.isfinite(filter_top_k_top_p(logp, 2, 1.0))[0].tolist()
    assert kept == [True, True, False, False, False]
    # nucleus: smallest prefix (by probability) whose mass reaches top_p
    top_p = float(p[0] + p[1]) - 1e-4
    kept = torch.isfinite(filter_top_k_top_p(logp, 0, top_p))[0].tolist()
    assert kept == [True, True, False, False, False]
    kept = torch.isfinite(filter_top_k_top_p(logp, 0, 1e-6))[0].tolist()
    assert kept == [True, False, False, False, False]


def test_sampler_distribution_and_dead_rows():
    """choose samples softmax(masked logits / T): counts over 20k seeded draws are
    within 5 standard deviations of the exact probabilities; a row that allows
    nothing gives -1."""
    logits = torch.zeros(2, 70)
    logits[:, :4] = torch.tensor([0.0, 1.0, 2.0, 5.0])
    bm = np.zeros((2, 3), dtype=np.int32)
    bm[0, 0] = 0b0111  # token 3 (the most likely) is masked
    gen = torch.Generator().manual_seed(0)
    n = 20000
    counts = np.zeros(70)
    for _ in range(n // 2000):
        ids = choose(logits[:1].expand(2000, -1).contiguous(), np.repeat(bm[:1], 2000, axis=0), 0.5, 0, 1.0, gen)
        counts += np.bincount(ids, minlength=70)
    p = np.exp(np.array([0.0, 1.0, 2.0]) / 0.5)
    p /= p.sum()
    sd = np.sqrt(n * p * (1 - p))
    assert np.all(np.abs(counts[:3] - n * p) < 5 * sd)
    assert counts[3:].sum() == 0
    out = choose(logits, bm, 1.0, 0, 1.0, gen)
    assert out[1] == -1 and 0 <= out[0] < 3
    assert choose(logits, bm, 0.0, 0, 1.0, gen).tolist() == [2, -1]


def test_result_value_needs_pydantic_and_json_parses():
    tok = load_tokenizer("gpt2")
    model = _model("gpt2")
    schema = dict(ACCOUNT_SCHEMA, additionalProperties=False)  # JSON Schema input: open objects by default
    r = generate(model, tok, "x", schema=schema, whitespace="compact", max_tokens=100)
    assert r.finished
    assert json.loads(r.text) == r.json
    with pytest.raises(ValueError, match="pydantic"):
        _ = r.value
    assert r.ttft > 0 and r.elapsed >= r.ttft and r.tokens_per_s > 0


def test_engine_error_is_reported_not_hidden(monkeypatch):
    """If the engine ever allowed no token in an unfinished state, generate raises
    StructgenError instead of emitting a masked token."""
    tok = load_tokenizer("gpt2")
    model = _model("gpt2")
    from structgen.matcher import Matcher

    monkeypatch.setattr(Matcher, "fill_bitmask", lambda self, out: out.fill(0))
    with pytest.raises(StructgenError, match="allows no token"):
        generate(model, tok, "x", regex="[a-z]+", max_tokens=5)


def test_integer_float_form_is_bounded():
    """Bounded integers keep even a random model finite.  ``76.000...`` is a valid
    integer, and a greedy random model over GPT-2 keeps choosing ``0``: the literal's
    length is capped (``max_number_padding``)."""
    tok = load_tokenizer("gpt2")
    model = _model("gpt2")
    r = generate(model, tok, "x", schema=Person, whitespace="compact", max_tokens=40, jump_forward=False)
    assert r.finished, r.text[:60]


def test_integer_enum_float_form_is_bounded():
    """enum [1, 2, 3] accepts 3.000..., 3.0E000... and 2e000...: capped in length too."""
    class Level(BaseModel):
        user: str = Field(min_length=1, max_length=8)
        level: Literal[1, 2, 3]

    tok = load_tokenizer("gpt2")
    model = _model("gpt2")
    r = generate(model, tok, "a", schema=Level, whitespace="compact", max_tokens=40, jump_forward=False)
    assert r.finished, r.text[:60]


def test_top_level_api_names():
    import structgen
    from structgen.decoders import GenerationResult
    from structgen.hf import LogitsProcessor as HFLogitsProcessor

    assert callable(structgen.generate) and structgen.generate.__name__ == "generate"
    assert structgen.LogitsProcessor is HFLogitsProcessor
    assert structgen.GenerationResult is GenerationResult
