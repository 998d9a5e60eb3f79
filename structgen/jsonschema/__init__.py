"""JSON Schema and pydantic constraints.

>>> from structgen.jsonschema import JsonSchema
>>> ir = JsonSchema({"type": "object", "properties": {"n": {"type": "integer"}}}).to_ir()

:class:`JsonSchema` turns a schema (dict, JSON text, boolean or pydantic model class)
into a :class:`~structgen.ir.GrammarIR`; see ``docs/jsonschema.md`` for the
supported keywords, the exactness guarantees and the options.
"""

from __future__ import annotations

from .compiler import JsonSchema, compile_schema
from .formats import FORMATS, format_pattern
from .numbers import NumberConstraint, integer_range_pattern, number_pattern, value_pattern
from .options import JsonSchemaOptions, SchemaRelaxedWarning

__all__ = [
    "JsonSchema",
    "JsonSchemaOptions",
    "SchemaRelaxedWarning",
    "compile_schema",
    "FORMATS",
    "format_pattern",
    "NumberConstraint",
    "integer_range_pattern",
    "number_pattern",
    "value_pattern",
]
