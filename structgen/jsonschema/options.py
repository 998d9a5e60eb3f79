"""Options of the JSON Schema front-end."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

__all__ = ["JsonSchemaOptions", "SchemaRelaxedWarning"]


class SchemaRelaxedWarning(UserWarning):
    """Warned by ``JsonSchema(..., lenient=True)`` for each constraint it could not
    enforce and dropped (the message names the keyword and its JSON pointer)."""


_WHITESPACE = ("flexible", "compact", "any")
_ORDER = ("declared", "required_first", "any")


@dataclass(frozen=True)
class JsonSchemaOptions:
    """How a JSON Schema becomes a grammar.

    * ``whitespace``: ``"flexible"`` (default) allows, before and after each
      ``{ } [ ] , :``, what models write there: nothing, one space, or a newline
      followed by an indentation of at most ``max_whitespace`` spaces and tabs; and
      nothing before or after the whole value, so a complete value ends at once.
      ``"compact"`` allows no whitespace at all.  ``"any"`` (the behaviour before
      2026-12) allows any run of at most ``max_whitespace`` whitespace characters
      (space, tab, CR, LF) in each gap and around the whole value.
      ``whitespace_pattern`` (a regex) replaces the gap pattern of ``"flexible"`` and
      ``"any"``.
    * ``indent``: an int forces the exact layout of ``json.dumps(value, indent=N)``
      (``", "``-free, ``": "`` after keys); objects/arrays nested deeper than
      ``max_indent_depth`` are not allowed in that mode.
    * ``additional_properties_default``: what a missing ``additionalProperties``
      means; None (default) follows the spec (``true``) for JSON Schema input and
      pydantic's meaning (``false`` unless ``extra="allow"``) for models.
    * ``property_order``: ``"declared"`` (the order of ``properties``),
      ``"required_first"`` (required properties first, each group in declared order)
      or ``"any"`` (any order, each property at most once; objects with more than 8
      declared properties fall back to the declared order).
    * ``extra_properties_last``: additional properties (those ``properties`` does not
      declare, where ``additionalProperties`` or ``patternProperties`` allow them)
      come after the declared ones (default, as llguidance does: a model that copies
      the schema's own keys -- ``"type"``, ``"properties"`` -- from its prompt cannot
      write them before the properties asked for); False lets them appear anywhere
      between the declared ones.
    * ``lenient``: constraints that cannot be enforced token by token (e.g.
      ``uniqueItems`` on open items) are dropped with a :class:`SchemaRelaxedWarning`
      instead of raising :class:`~structgen.CompileError`.
    * ``max_items_unrolled``/``max_string_dfa_length``: limits on grammar size (see
      ``docs/jsonschema.md``).
    * ``max_number_padding``: where a number's value is bounded (an integer with a
      minimum and a maximum, an ``enum``/``const`` number), a literal may be at most
      this many characters longer than the longest plain spelling of its bounds, so
      ``1.000...`` or ``1e000...`` cannot run on forever (None: no limit).  Equal
      values with longer spellings are then refused; nothing invalid is accepted.
    """

    whitespace: str = "flexible"
    indent: int | None = None
    max_whitespace: int = 20
    whitespace_pattern: str | None = None
    additional_properties_default: bool | None = None
    property_order: str = "declared"
    extra_properties_last: bool = True
    lenient: bool = False
    max_indent_depth: int = 32
    max_items_unrolled: int = 4096
    max_string_dfa_length: int = 64
    max_number_padding: int | None = 16

    def __post_init__(self) -> None:
        if self.whitespace not in _WHITESPACE:
            raise ValueError(f"whitespace must be one of {_WHITESPACE}, not {self.whitespace!r}")
        if self.indent is not None and (isinstance(self.indent, bool) or not isinstance(self.indent, int)
                                        or self.indent < 0):
            raise ValueError(f"indent must be None or a non-negative int, not {self.indent!r}")
        if isinstance(self.max_whitespace, bool) or not isinstance(self.max_whitespace, int) \
                or self.max_whitespace < 0:
            raise ValueError(f"max_whitespace must be a non-negative int, not {self.max_whitespace!r}")
        if self.whitespace_pattern is not None:
            if not isinstance(self.whitespace_pattern, str):
                raise ValueError("whitespace_pattern must be a regex string")
            try:
                re.compile(self.whitespace_pattern)
            except re.error as exc:
                raise ValueError(f"whitespace_pattern is not a valid regex: {exc}") from None
        if self.additional_properties_default not in (None, True, False):
            raise ValueError("additional_properties_default must be None, True or False")
        if not isinstance(self.extra_properties_last, bool):
            raise ValueError(f"extra_properties_last must be True or False, not {self.extra_properties_last!r}")
        if self.property_order not in _ORDER:
            raise ValueError(f"property_order must be one of {_ORDER}, not {self.property_order!r}")
        if self.max_number_padding is not None and (isinstance(self.max_number_padding, bool)
                                                    or not isinstance(self.max_number_padding, int)
                                                    or self.max_number_padding < 0):
            raise ValueError(f"max_number_padding must be None or a non-negative int, "
                             f"not {self.max_number_padding!r}")
        for name in ("max_indent_depth", "max_items_unrolled", "max_string_dfa_length"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, not {v!r}")

    def key(self) -> str:
        """A stable text form (for cache keys)."""
        return repr(sorted(asdict(self).items()))
