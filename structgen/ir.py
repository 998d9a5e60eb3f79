"""Grammar IR: the narrow interface between front-ends and the compiler.

A front-end (Lark, regex, JSON Schema, pydantic) produces a :class:`GrammarIR`:
context-free rules over symbols, where a symbol is either a terminal (a key of
``terminals``) or a nonterminal (anything else).  Terminals are regular expressions;
the compiler turns each into a byte-level DFA.  A front-end never knows about tokens.

Use :class:`GrammarBuilder` to build one: it deduplicates identical terminals and
hands out fresh nonterminal names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from .errors import CompileError


@dataclass(frozen=True)
class TerminalDef:
    """A terminal: a regular language over text.

    ``pattern`` is a regular expression in ``dialect`` (``"python"``: Python ``re``
    syntax and semantics; ``"ecma"``: ECMA-262 as JSON Schema's ``pattern`` uses it),
    or a literal string when ``literal`` is true.  ``flags`` holds inline flag letters
    (``"i"``, ``"s"``, ``"m"``, ``"x"``, ``"u"``).  With ``search`` the language is
    every string that *contains* a match (JSON Schema ``pattern`` is unanchored);
    otherwise it is the strings the pattern matches in full.

    ``intersect`` and ``exclude`` combine languages: the terminal's language is
    ``L(pattern) ∩ L(intersect[0]) ∩ ... minus L(exclude[0]) ∪ ...`` (e.g. a JSON
    Schema string with both ``pattern`` and ``maxLength``, or a generic property key
    that must not be one of the declared property names).

    With ``json_string`` the terminal's language is the set of JSON string literals
    (quotes included, every escape form allowed) whose *decoded* value is in the
    language described by the rest of the definition; ``intersect``/``exclude``
    members are then read the same way.  JSON Schema's ``pattern``, ``format`` and
    ``minLength``/``maxLength`` all speak about decoded values.
    """

    pattern: str
    literal: bool = False
    dialect: str = "python"
    flags: str = ""
    search: bool = False
    json_string: bool = False
    intersect: tuple["TerminalDef", ...] = ()
    exclude: tuple["TerminalDef", ...] = ()

    def describe(self, limit: int = 300) -> str:
        """The definition for a message: at most about ``limit`` characters per pattern
        (a 10,000-way alternation would flood the terminal)."""
        pattern = self.pattern if len(self.pattern) <= limit else (
            f"{self.pattern[:limit // 2]}…[{len(self.pattern) - limit} characters]…{self.pattern[-limit // 4:]}")
        text = repr(pattern) if self.literal else f"/{pattern}/{self.flags}"
        if self.json_string:
            text = f"json_string({text})"
        for other in self.intersect:
            text += f" & {other.describe(limit)}"
        for other in self.exclude:
            text += f" - {other.describe(limit)}"
        return text


@dataclass
class GrammarIR:
    """Context-free rules over terminals.

    ``rules`` maps each nonterminal to its alternatives; an alternative is a tuple of
    symbol names (possibly empty).  ``terminals`` maps terminal names to their
    definitions; ``ignore`` lists terminals that may appear between any two lexemes
    and are then discarded (Lark's ``%ignore``).  ``origin`` maps symbols to a
    human-readable place (grammar line, JSON pointer) for error messages.
    """

    start: str
    rules: dict[str, list[tuple[str, ...]]]
    terminals: dict[str, TerminalDef]
    ignore: tuple[str, ...] = ()
    origin: dict[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """A hash of the language's definition (start, rules, terminals, ignore; not the
        ``origin`` of symbols): equal for equal grammars, whatever text or files they
        were read from."""
        import hashlib

        h = hashlib.sha256()
        h.update(repr(self.start).encode())
        for lhs in sorted(self.rules):
            h.update(repr((lhs, self.rules[lhs])).encode())
        for name in sorted(self.terminals):
            h.update(repr((name, self.terminals[name])).encode())
        h.update(repr(tuple(self.ignore)).encode())
        return h.hexdigest()

    def validate(self) -> None:
        """Check that every symbol is defined; raise :class:`CompileError` if not."""
        if self.start not in self.rules and self.start not in self.terminals:
            raise CompileError(f"start symbol {self.start!r} is not defined")
        for lhs, alts in self.rules.items():
            if lhs in self.terminals:
                raise CompileError(f"{lhs!r} is both a rule and a terminal", where=self.origin.get(lhs))
            for alt in alts:
                for sym in alt:
                    if sym not in self.rules and sym not in self.terminals:
                        raise CompileError(
                            f"rule {lhs!r} uses undefined symbol {sym!r}",
                            where=self.origin.get(lhs),
                        )
        for name in self.ignore:
            if name not in self.terminals:
                raise CompileError(f"%ignore names undefined terminal {name!r}")


class GrammarBuilder:
    """Incremental construction of a :class:`GrammarIR`.

    >>> b = GrammarBuilder()
    >>> comma = b.literal(",")
    >>> num = b.terminal(r"[0-9]+")
    >>> lst = b.fresh("list")
    >>> b.rule(lst, [num]); b.rule(lst, [lst, comma, num])
    >>> ir = b.build(lst)
    """

    def __init__(self) -> None:
        self.rules: dict[str, list[tuple[str, ...]]] = {}
        self.terminals: dict[str, TerminalDef] = {}
        self.origin: dict[str, str] = {}
        self.ignore: list[str] = []
        self._by_def: dict[TerminalDef, str] = {}
        self._counter = 0

    def fresh(self, hint: str = "r", *, origin: str | None = None) -> str:
        """A new, unused nonterminal name built from ``hint``."""
        self._counter += 1
        name = f"{hint}#{self._counter}"
        self.rules.setdefault(name, [])
        if origin is not None:
            self.origin[name] = origin
        return name

    def rule(self, lhs: str, rhs: Iterable[str]) -> None:
        """Add the alternative ``lhs -> rhs``."""
        self.rules.setdefault(lhs, []).append(tuple(rhs))

    def add_terminal(self, definition: TerminalDef, name: str | None = None, *, origin: str | None = None) -> str:
        """Register a terminal; identical unnamed definitions share one name."""
        if name is None:
            found = self._by_def.get(definition)
            if found is not None:
                return found
            self._counter += 1
            name = f"T#{self._counter}"
            self._by_def[definition] = name
        self.terminals[name] = definition
        if origin is not None:
            self.origin[name] = origin
        return name

    def terminal(self, pattern: str, *, dialect: str = "python", flags: str = "", search: bool = False,
                 origin: str | None = None) -> str:
        return self.add_terminal(TerminalDef(pattern, False, dialect, flags, search), origin=origin)

    def literal(self, text: str, *, origin: str | None = None) -> str:
        return self.add_terminal(TerminalDef(text, True), origin=origin)

    def build(self, start: str) -> GrammarIR:
        ir = GrammarIR(start, self.rules, self.terminals, tuple(self.ignore), self.origin)
        ir.validate()
        return ir
