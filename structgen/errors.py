"""Exceptions raised by structgen.

Every exception structgen raises on purpose derives from :class:`StructgenError`.
:class:`CompileError` is raised while turning a constraint (regex, grammar, schema)
into an automaton; it also subclasses :class:`ValueError`, so callers that only know
about ``ValueError`` still catch it.

Runtime calls on a :class:`~structgen.Matcher` (``advance``, ``accepts``,
``fill_bitmask`` ...) never raise on a bad token: they return ``False`` and leave the
state unchanged.  They raise on programming errors (wrong array shape or dtype), and
:class:`~structgen.FuelExhausted` when one call needs more parser work than
``Limits.mask_fuel`` allows (the state is unchanged then too).
"""

from __future__ import annotations


class StructgenError(Exception):
    """Root of all structgen exceptions."""


class CompileError(StructgenError, ValueError):
    """A constraint could not be compiled.

    The message names the problem and its place: the regex fragment and offset, the
    grammar line and column, or the JSON pointer of the schema keyword.
    """

    def __init__(self, message: str, *, where: str | None = None):
        self.where = where
        super().__init__(f"{message} (at {where})" if where else message)
