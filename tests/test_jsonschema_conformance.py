"""Conformance of the JSON Schema front-end (issue 3), fast parts.

* JSON-Schema-Test-Suite (draft 2020-12 + optional/format), Llama-3 tokens, against
  the committed expected results (a ratchet: regressions fail);
* a MaskBench sample (every fourth record of the committed stratified sample),
  Llama-3 tokens: no invalid instance accepted, passing count not below the
  recorded one;
* random walks under the mask (byte vocabulary) over ``schemas/*.json`` and part of
  the MaskBench sample: no dead end, every finished output validates;
* pydantic models: random walks round-trip through ``model_validate_json``.

Full runs: ``python -m tests.conformance.jsts``, ``python -m tests.conformance.maskbench``,
``python -m tests.conformance.randomwalk --maskbench`` (see docs/jsonschema.md).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from tests.conformance import jsts, maskbench
from tests.conformance._common import compile_bytes, maskbench_sample
from tests.conformance.randomwalk import check_walks, schema_validator

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = sorted((ROOT / "schemas").glob("*.json"))
# MaskBench sample, every fourth record: recorded outcome (raise when it improves)
MASKBENCH_QUARTER_PASSING = 68


def test_json_schema_test_suite_ratchet() -> None:
    compile_, walk = jsts.ours("llama3")
    got = jsts.run(compile_, walk)
    expected = jsts.load_expected()
    assert set(got) == set(expected), "test ids changed: rerun python -m tests.conformance.jsts --update"
    regressions, improvements = jsts.compare(expected, got)
    assert not regressions, "\n".join(regressions[:40])
    totals = jsts.totals(got)
    assert totals["wrong_accept"] <= 10
    if improvements:
        warnings.warn(UserWarning(f"{len(improvements)} JSON-Schema-Test-Suite improvements: run "
                                  "python -m tests.conformance.jsts --update"))


def test_maskbench_sample() -> None:
    records = maskbench_sample()[::4]
    compile_, walk = maskbench.ours("llama3")
    res = maskbench.run(records, compile_, walk)
    invalidations = [(r.id, r.invalidation_errors) for r in res if r.invalidation_errors]
    assert not invalidations
    passing = sum(r.passing for r in res)
    assert passing >= MASKBENCH_QUARTER_PASSING, [(r.id, r.error[:80]) for r in res if not r.passing]


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.stem)
def test_example_schema_random_walks(path: Path) -> None:
    schema = json.loads(path.read_text())
    # closed objects: random walks would otherwise spend their budget on extra keys
    g = compile_bytes(schema, additional_properties_default=False)
    rep = check_walks(g, schema_validator(schema), walks=12, seed=7, max_tokens=600, label=path.stem)
    assert not rep.dead_ends and not rep.invalid, (rep.dead_ends + rep.invalid)[:3]
    assert rep.finished >= 3


def test_maskbench_sample_random_walks() -> None:
    total = finished = 0
    for rec in maskbench_sample()[1::6]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                g = compile_bytes(rec["schema"])
        except ValueError:
            continue
        rep = check_walks(g, schema_validator(rec["schema"]), walks=3, seed=3, max_tokens=300, label=rec["id"])
        assert not rep.dead_ends and not rep.invalid, (rep.dead_ends + rep.invalid)[:3]
        total += 3
        finished += rep.finished
    assert finished > total // 2


def test_pydantic_random_walks_round_trip() -> None:
    from datetime import date, datetime
    from enum import Enum
    from typing import Literal, Optional, Union
    from uuid import UUID

    from pydantic import BaseModel, ConfigDict, Field

    class Color(str, Enum):
        red = "red"
        green = "green"

    class Address(BaseModel):
        street: str = Field(max_length=40)
        zip: str = Field(pattern=r"^[0-9]{5}$")

    class Person(BaseModel):
        model_config = ConfigDict(extra="forbid")
        id: UUID
        name: str = Field(min_length=1, max_length=20)
        age: int = Field(ge=0, le=150)
        score: float = Field(gt=0, lt=1)
        born: date
        seen: Optional[datetime] = None
        color: Color
        kind: Literal["a", "b"]
        tags: list[str] = Field(default_factory=list, max_length=3)
        address: Optional[Address] = None
        value: Union[int, str, None] = None
        pair: tuple[int, bool]

    class Free(BaseModel):
        model_config = ConfigDict(extra="allow")
        x: int

    for model in (Person, Address, Free):
        g = compile_bytes(model)

        def validate(text: str, model=model) -> bool:
            try:
                model.model_validate_json(text)
            except Exception:
                return False
            return True

        rep = check_walks(g, validate, walks=15, seed=11, max_tokens=800, label=model.__name__)
        assert not rep.dead_ends and not rep.invalid, (rep.dead_ends + rep.invalid)[:3]
        assert rep.finished >= (3 if model is not Free else 0)  # extra keys keep Free walks going
