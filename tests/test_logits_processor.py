"""structgen.LogitsProcessor inside transformers' ``model.generate``.

Tiny random-weight Llamas over real tokenizers: greedy, sampling, beam search and beam
sampling must give only valid outputs; batches of prompts of different lengths, padded
vocabularies and repeated calls on one processor must work; a disallowed token
never reaches an output (strict mode raises on it).
"""

from __future__ import annotations

import functools
import re
from typing import Literal

import jsonschema
import numpy as np
import pytest
import torch
from pydantic import BaseModel, Field

from structgen.models import tiny_random_model
from structgen.constraints import Regex
from structgen.errors import StructgenError
from structgen.hf import LogitsProcessor
from structgen.jsonschema import JsonSchema
from tests._tokenizers import load_tokenizer

TOKENIZERS = ("gpt2", "llama2", "llama3")


class Item(BaseModel):
    sku: str = Field(min_length=1, max_length=6)
    color: Literal["red", "green", "blue"]
    in_stock: bool


ITEM = JsonSchema(Item, whitespace="compact")
DATE = r"(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@functools.cache
def _model(name: str, vocab_size: int | None = None):
    return tiny_random_model(load_tokenizer(name), seed=0, vocab_size=vocab_size)


def _batch(tok, prompts):
    """Left-padded batch (the tokenizer objects are shared: do not change their padding)."""
    ids = [tok(p)["input_ids"] for p in prompts]
    width = max(map(len, ids))
    pad = tok.eos_token_id
    input_ids = torch.tensor([[pad] * (width - len(i)) + i for i in ids])
    mask = torch.tensor([[0] * (width - len(i)) + [1] * len(i) for i in ids])
    return {"input_ids": input_ids, "attention_mask": mask}, width


def _outputs(tok, out, width):
    """Generated token lists, cut at the first EOS (which must be there)."""
    eos = tok.eos_token_id
    rows = []
    for row in out[:, width:].tolist():
        assert eos in row, "a row did not finish"
        rows.append(row[: row.index(eos)])
    return rows


def _text(tok, ids):
    from structgen.api import as_vocabulary

    return as_vocabulary(tok).decode_bytes(ids).decode("utf-8")


@pytest.mark.parametrize("name", TOKENIZERS)
def test_greedy_sampling_beam_outputs_are_valid(name):
    tok = load_tokenizer(name)
    model = _model(name)
    proc = LogitsProcessor(ITEM, tok)
    enc, width = _batch(tok, ["An item:", "Describe one product from the catalogue as JSON"])
    schema = Item.model_json_schema()
    runs = [
        {"do_sample": False},
        {"do_sample": True, "temperature": 1.0, "top_k": 0},
        {"do_sample": True, "temperature": 0.8, "top_p": 0.9, "num_return_sequences": 2},
        {"do_sample": False, "num_beams": 3, "num_return_sequences": 3},
        {"do_sample": True, "num_beams": 2, "top_k": 0},
    ]
    for i, kw in enumerate(runs):
        torch.manual_seed(i)
        strict = kw.get("num_beams", 1) == 1 or not kw["do_sample"]
        proc.strict = strict  # only beam sampling picks zero-probability candidates
        out = model.generate(**enc, logits_processor=[proc], max_new_tokens=48, pad_token_id=tok.eos_token_id, **kw)
        for ids in _outputs(tok, out, width):
            jsonschema.validate(Item.model_validate_json(_text(tok, ids)).model_dump(), schema)


def test_regex_beam_search_and_return_sequences():
    tok = load_tokenizer("llama2")
    model = _model("llama2")
    proc = LogitsProcessor(Regex(DATE), tok)
    enc, width = _batch(tok, ["Date:"])
    out = model.generate(**enc, logits_processor=[proc], max_new_tokens=20, num_beams=4, num_return_sequences=4,
                         do_sample=False, pad_token_id=tok.eos_token_id)
    texts = [_text(tok, ids) for ids in _outputs(tok, out, width)]
    assert len(texts) == 4
    for t in texts:
        assert re.fullmatch(DATE, t), t


def test_processor_is_reusable_across_calls():
    """One processor, several generate() calls (different prompts, batch sizes and
    lengths): each call gives what a fresh processor gives."""
    tok = load_tokenizer("gpt2")
    model = _model("gpt2")
    shared = LogitsProcessor(ITEM, tok)
    for prompts in (["An item:"], ["x", "a longer prompt for the second call"], ["An item:"]):
        enc, width = _batch(tok, prompts)
        kw = {"max_new_tokens": 60, "do_sample": False, "pad_token_id": tok.eos_token_id}
        a = model.generate(**enc, logits_processor=[shared], **kw)
        b = model.generate(**enc, logits_processor=[LogitsProcessor(ITEM, tok)], **kw)
        assert torch.equal(a, b)
        for ids in _outputs(tok, a, width):
            Item.model_validate_json(_text(tok, ids))


def test_padded_vocabulary_scores():
    tok = load_tokenizer("llama2")
    model = _model("llama2", vocab_size=len(tok) + 96)
    proc = LogitsProcessor(ITEM, tok)
    enc, width = _batch(tok, ["Item:", "Another item please"])
    out = model.generate(**enc, logits_processor=[proc], max_new_tokens=60, do_sample=True, top_k=0,
                         pad_token_id=tok.eos_token_id)
    for ids in _outputs(tok, out, width):
        assert max(ids, default=0) < len(tok)
        Item.model_validate_json(_text(tok, ids))


def test_manual_calls_fork_beams_and_mask_after_eos():
    """Drive the processor by hand: branching rows fork their parent's matcher,
    a finished row allows only EOS, and a disallowed token raises."""
    tok = load_tokenizer("gpt2")
    proc = LogitsProcessor(Regex("ab|ac"), tok)
    vocab = proc.vocab
    a, b, c = (vocab.encode(x)[0] for x in "abc")
    eos = tok.eos_token_id
    V = len(tok)

    def allowed(scores):
        return [set(np.flatnonzero(np.isfinite(row.numpy())).tolist()) for row in scores]

    prompt = [10, 11]
    s = proc(torch.tensor([prompt, prompt]), torch.zeros(2, V))
    assert allowed(s)[0] == allowed(s)[1] and a in allowed(s)[0] and b not in allowed(s)[0]
    # both beams continue the same parent with "a", then branch into "b" and "c"
    proc(torch.tensor([prompt + [a], prompt + [a]]), torch.zeros(2, V))
    s = proc(torch.tensor([prompt + [a, b], prompt + [a, c]]), torch.zeros(2, V))
    assert allowed(s) == [{eos}, {eos}]
    # a reordered, duplicated beam after EOS, then padding: only EOS stays allowed
    s = proc(torch.tensor([prompt + [a, c, eos], prompt + [a, c, eos]]), torch.zeros(2, V))
    assert allowed(s) == [{eos}, {eos}]
    s = proc(torch.tensor([prompt + [a, c, eos, eos]]), torch.zeros(1, V))
    assert allowed(s) == [{eos}]
    # a new call (a prompt that continues nothing) starts over
    s = proc(torch.tensor([[5, 6, 7]]), torch.zeros(1, V))
    assert allowed(s)[0] == allowed(proc(torch.tensor([[5, 6, 7]]), torch.zeros(1, V)))[0]
    # a token the mask forbade (beam sampling's zero-probability filler) makes the
    # row dead: only EOS from then on, counted
    proc.reset()
    proc(torch.tensor([prompt, prompt]), torch.zeros(2, V))
    s = proc(torch.tensor([prompt + [b], prompt + [a]]), torch.zeros(2, V))
    assert proc.dead_rows == 1 and allowed(s)[0] == {eos} and b in allowed(s)[1]
    s = proc(torch.tensor([prompt + [b, 99], prompt + [a, b]]), torch.zeros(2, V))
    assert allowed(s) == [{eos}, {eos}]
    # strict: it raises, naming the row and the token
    strict = LogitsProcessor(Regex("ab|ac"), tok, strict=True)
    strict(torch.tensor([prompt]), torch.zeros(1, V))
    with pytest.raises(StructgenError, match=r"row 0: token .* is not allowed"):
        strict(torch.tensor([prompt + [b]]), torch.zeros(1, V))


def test_narrow_scores_are_checked():
    tok = load_tokenizer("gpt2")
    proc = LogitsProcessor(ITEM, tok)
    with pytest.raises(ValueError, match="columns"):
        proc(torch.tensor([[1, 2]]), torch.zeros(1, len(tok) - 10))


def test_eos_token_id_option():
    """Ending on another id: that id is EOS (allowed only when the text is complete)."""
    tok = load_tokenizer("llama3")
    eot = tok.convert_tokens_to_ids("<|eot_id|>")
    proc = LogitsProcessor(Regex("a"), tok, eos_token_id=[eot])
    V = len(tok)
    s = proc(torch.tensor([[1]]), torch.zeros(1, V))
    assert not np.isfinite(s[0, eot].item())
    s = proc(torch.tensor([[1, proc.vocab.encode("a")[0]]]), torch.zeros(1, V))
    assert np.flatnonzero(np.isfinite(s[0].numpy())).tolist() == [eot]
