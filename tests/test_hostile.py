"""The fast part of the hostile corpus (``tests/hostile``), each input in its own
process with a time and memory limit: every one ends in a result or a clear error.
``python -m tests.hostile.run --all`` runs the whole corpus and prints the counts."""

from __future__ import annotations

import pytest

from tests.hostile.corpus import CASES
from tests.hostile.run import run_case

FAST = [c for c in CASES if c.fast]


@pytest.mark.parametrize("case", FAST, ids=[c.name for c in FAST])
def test_hostile_input_ends_in_a_result_or_a_clear_error(case) -> None:
    r = run_case(case, timeout=60.0)
    assert r["outcome"] in ("result", "clear error"), r


def test_the_corpus_covers_every_category() -> None:
    cats = {c.category for c in CASES}
    assert {"matcher misuse", "deep nesting", "numbers", "files", "references", "text", "size", "hang"} <= cats
    assert len({c.name for c in CASES}) == len(CASES)
