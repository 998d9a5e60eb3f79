"""Shared pytest fixtures.  Reusable helpers live in importable modules
(``tests/_tokenizers.py``: ``load_tokenizer``, ``load_vocab``, ``TOKENIZER_NAMES``)."""

from __future__ import annotations

import pytest

from tests._tokenizers import TOKENIZER_NAMES


@pytest.fixture(scope="session", params=TOKENIZER_NAMES)
def tokenizer_name(request: pytest.FixtureRequest) -> str:
    """Each of the six committed test tokenizers in turn."""
    return request.param


@pytest.fixture(scope="module")
def one_torch_thread():
    """Two shared cores: torch's intra-op threads only fight each other (and the other
    xdist worker).  Modules that run models use it through ``pytestmark``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
