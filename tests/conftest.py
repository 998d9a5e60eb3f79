"""Shared pytest fixtures.  Reusable helpers live in importable modules
(``tests/_tokenizers.py``: ``load_tokenizer``, ``load_vocab``, ``TOKENIZER_NAMES``)."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from tests._tokenizers import TOKENIZER_NAMES

# Property tests are reproducible: the same examples on every run and every machine
# (derandomize seeds each test from its own name), and no example database carried
# between runs.  A test that fails does so every time, and a session is never stopped
# by a draw that happened to be unlucky.  HYPOTHESIS_PROFILE=explore draws fresh
# examples (and keeps a database) when hunting for bugs on purpose.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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
