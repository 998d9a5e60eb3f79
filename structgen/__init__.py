"""structgen: structured generation and constrained decoding for language models."""

from __future__ import annotations

import os as _os

# Running from a source checkout without installation: the top-level data and kernel
# folders (grammars/, schemas/, kernels/) ship as structgen.grammars, structgen.schemas
# and structgen.kernels in the wheel.  Make the same names resolve from the checkout.
_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if _os.path.isfile(_os.path.join(_root, "pyproject.toml")) and _os.path.isdir(_os.path.join(_root, "kernels")):
    __path__.append(_root)  # noqa: F821 - package __path__

from .errors import CompileError, StructgenError  # noqa: E402
from .ir import GrammarBuilder, GrammarIR, TerminalDef  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "CompileError",
    "StructgenError",
    "GrammarBuilder",
    "GrammarIR",
    "TerminalDef",
]
