"""What the JSON Schema compiler's modules share: a definition (``_Def``), the
whitespace layout of JSON punctuation (``_Layout``), limits and small helpers."""

from __future__ import annotations

import re

from ..ir import GrammarBuilder, TerminalDef
from ._facts import Atom, Disj, Facts
from .options import JsonSchemaOptions

_ROOT_URI = "urn:structgen:schema"
_MAX_DEFS = 20_000
_ENUM_CHUNK = 256  # numbers of an enum per terminal
_MAX_PATTERN_CLASSES = 16
_MAX_ONEOF_COMBOS = 512
_MAX_COMBINATIONS = 4096
_MAX_ANY_ORDER = 8  # property_order="any": up to 2^8 states per object


class _Def:
    """A conjunction of atoms with some disjunctions decided."""

    __slots__ = ("key", "atoms", "facts", "pending", "name", "empty", "path")

    def __init__(self, key, atoms: tuple[Atom, ...], facts: Facts, pending: tuple[Disj, ...], path: str):
        self.key = key
        self.atoms = atoms
        self.facts = facts
        self.pending = pending
        self.name: dict[int | None, str] = {}
        self.empty: bool | None = None
        self.path = path


def _esc_literal(text: str) -> str:
    return re.escape(text)


class _Layout:
    """Punctuation terminals for one whitespace mode."""

    def __init__(self, b: GrammarBuilder, opts: JsonSchemaOptions):
        self.b = b
        self.opts = opts
        self.indent = opts.indent
        self.ws = self.outer_ws = None
        if opts.indent is None and opts.whitespace == "any":
            ws = opts.whitespace_pattern or f"[ \\t\\n\\r]{{0,{opts.max_whitespace}}}"
            self.ws = self.outer_ws = f"(?:{ws})"
        elif opts.indent is None and opts.whitespace == "flexible":
            # What models write between JSON tokens: nothing, one space, or a line break
            # and an indentation -- not a long run of blanks they can spend tokens on.
            ws = opts.whitespace_pattern or f"(?: |\\r?\\n[ \\t]{{0,{opts.max_whitespace}}})?"
            self.ws = f"(?:{ws})"

    def _t(self, pattern: str) -> str:
        return self.b.add_terminal(TerminalDef(pattern))

    def _lit(self, text: str) -> str:
        return self.b.add_terminal(TerminalDef(text, literal=True))

    def open(self, ch: str, depth: int | None) -> str:
        """``{`` or ``[`` of a non-empty container."""
        if self.indent is not None:
            return self._lit(ch + "\n" + " " * (self.indent * (depth + 1)))
        if self.ws is not None:
            return self._t(re.escape(ch) + self.ws)
        return self._lit(ch)

    def close(self, ch: str, depth: int | None) -> str:
        if self.indent is not None:
            return self._lit("\n" + " " * (self.indent * depth) + ch)
        if self.ws is not None:
            return self._t(self.ws + re.escape(ch))
        return self._lit(ch)

    def empty(self, pair: str, depth: int | None) -> str:
        if self.ws is not None:
            return self._t(re.escape(pair[0]) + self.ws + re.escape(pair[1]))
        return self._lit(pair)

    def comma(self, depth: int | None) -> str:
        if self.indent is not None:
            return self._lit(",\n" + " " * (self.indent * (depth + 1)))
        if self.ws is not None:
            return self._t(self.ws + "," + self.ws)
        return self._lit(",")

    def colon(self) -> str:
        if self.indent is not None:
            return self._lit(": ")
        if self.ws is not None:
            return self._t(self.ws + ":" + self.ws)
        return self._lit(":")

    def outer(self) -> str | None:
        """Optional whitespace around the whole value (``whitespace="any"`` only: a
        complete value otherwise ends at once, as in the peers)."""
        if self.outer_ws is None:
            return None
        return self._t(self.outer_ws)


_LITERAL_PATTERN = re.compile(r"\^((?:[A-Za-z0-9_ \-:/@#%&=,;'<>~`!]|\\[.\\/+*?()\[\]{}|^$-])*)\$")


def _pattern_literal(pattern: str) -> str | None:
    """The one string an anchored literal pattern (``^Foo\\.bar$``) matches; None
    for any other pattern."""
    m = _LITERAL_PATTERN.fullmatch(pattern)
    if m is None:
        return None
    return re.sub(r"\\(.)", r"\1", m.group(1))


def _document_depth(value, limit: float) -> int:
    """How deeply ``value``'s objects and arrays nest (iteratively: no recursion); the
    walk stops once past ``limit``."""
    deepest = 0
    todo = [(value, 1)]
    while todo:
        v, d = todo.pop()
        if isinstance(v, dict):
            items = v.values()
        elif isinstance(v, list):
            items = v
        else:
            continue
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        todo.extend((x, d + 1) for x in items)
    return deepest


def _number_like(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
