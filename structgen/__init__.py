"""structgen: structured generation and constrained decoding for language models."""

from __future__ import annotations

import os as _os

# Running from a source checkout without installation: the top-level data and kernel
# folders (grammars/, schemas/, kernels/) ship as structgen.grammars, structgen.schemas
# and structgen.kernels in the wheel.  Make the same names resolve from the checkout.
_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if _os.path.isfile(_os.path.join(_root, "pyproject.toml")) and _os.path.isdir(_os.path.join(_root, "kernels")):
    __path__.append(_root)  # noqa: F821 - package __path__

from .api import compile, set_cache_dir  # noqa: E402,A004
from .batch import fill_bitmasks, fill_tree_bitmasks  # noqa: E402
from .bitmask import allocate_bitmask, apply_bitmask_, masked_argmax, masked_log_softmax  # noqa: E402
from .constraints import Lark, Regex, builtin_grammar  # noqa: E402
from .errors import CompileError, StructgenError  # noqa: E402
from .ir import GrammarBuilder, GrammarIR, TerminalDef  # noqa: E402
from .limits import FuelExhausted, LimitExceeded, Limits, get_limits, set_limits  # noqa: E402
from .matcher import Grammar, Matcher  # noqa: E402
from .vocab import Vocabulary  # noqa: E402

__version__ = "0.1.0"

_LAZY = {
    "JsonSchema": ("structgen.jsonschema", "JsonSchema"),
    "SchemaRelaxedWarning": ("structgen.jsonschema", "SchemaRelaxedWarning"),
    "generate": ("structgen.decoders.autoregressive", "generate"),
    "GenerationResult": ("structgen.decoders.common", "GenerationResult"),
    "IncompleteGenerationError": ("structgen.decoders.common", "IncompleteGenerationError"),
    "LogitsProcessor": ("structgen.hf", "LogitsProcessor"),
    "ASAp": ("structgen.decoders.asap", "ASAp"),
    "sample_smc": ("structgen.decoders.smc", "sample_smc"),
    "smc": ("structgen.decoders.smc", "smc"),
}


def __getattr__(name: str):
    """Import the JSON Schema front-end and the torch/transformers-based decoding API
    (``generate``, ``LogitsProcessor``) only when they are used."""
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'structgen' has no attribute {name!r}")

__all__ = [
    "compile",
    "set_cache_dir",
    "Grammar",
    "Matcher",
    "Vocabulary",
    "Regex",
    "Lark",
    "JsonSchema",
    "generate",
    "GenerationResult",
    "IncompleteGenerationError",
    "LogitsProcessor",
    "ASAp",
    "smc",
    "sample_smc",
    "builtin_grammar",
    "fill_bitmasks",
    "fill_tree_bitmasks",
    "apply_bitmask_",
    "allocate_bitmask",
    "masked_log_softmax",
    "masked_argmax",
    "CompileError",
    "StructgenError",
    "Limits",
    "LimitExceeded",
    "FuelExhausted",
    "set_limits",
    "get_limits",
    "SchemaRelaxedWarning",
    "GrammarBuilder",
    "GrammarIR",
    "TerminalDef",
]
