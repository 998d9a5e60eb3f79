"""Shared pytest fixtures.  Reusable helpers live in importable modules
(``tests/_tokenizers.py``: ``load_tokenizer``, ``load_vocab``, ``TOKENIZER_NAMES``)."""

from __future__ import annotations

import pytest

from tests._tokenizers import TOKENIZER_NAMES


@pytest.fixture(scope="session", params=TOKENIZER_NAMES)
def tokenizer_name(request: pytest.FixtureRequest) -> str:
    """Each of the six committed test tokenizers in turn."""
    return request.param
