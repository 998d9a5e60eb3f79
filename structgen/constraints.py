"""Constraint front-ends for regular expressions and Lark grammars.

A constraint is anything with ``to_ir() -> GrammarIR`` and ``cache_key() -> str``;
:func:`structgen.compile` turns it into a :class:`~structgen.Grammar` for a
vocabulary.  JSON Schema and pydantic constraints live in ``structgen.jsonschema``.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from pathlib import Path

from .errors import CompileError
from .ir import GrammarBuilder, GrammarIR, TerminalDef


class Constraint:
    """Base class of constraint front-ends."""

    def to_ir(self) -> GrammarIR:  # pragma: no cover - interface
        raise NotImplementedError

    def cache_key(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


class Regex(Constraint):
    """Text matching a regular expression in full.

    ``dialect="python"`` (default) means Python ``re`` syntax and semantics, as
    ``re.fullmatch(pattern, text, flags)`` would accept; ``dialect="ecma"`` reads the
    pattern as ECMA-262 (JSON Schema's dialect).  ``flags`` holds flag letters
    (``"i"``, ``"s"``, ``"m"``, ``"x"``) or a ``re`` flags integer.  The pattern is
    checked at construction: lookarounds, backreferences and other non-regular
    constructs raise :class:`CompileError` naming the fragment and its offset.
    """

    def __init__(self, pattern: str, *, flags: str | int = "", dialect: str = "python"):
        if not isinstance(pattern, str):
            raise TypeError(f"Regex pattern must be a str, got {type(pattern).__name__}")
        if isinstance(flags, int):
            flags = _flag_letters(flags)
        self.pattern = pattern
        self.flags = flags
        self.dialect = dialect
        self.terminal = TerminalDef(pattern, dialect=dialect, flags=flags)
        from .dfa import compile_terminal

        compile_terminal(self.terminal)  # fail early, with the regex compiler's message

    def to_ir(self) -> GrammarIR:
        b = GrammarBuilder()
        name = b.add_terminal(self.terminal, "REGEX", origin=f"regex /{self.pattern}/")
        return b.build(name)

    def cache_key(self) -> str:
        return f"regex:{self.dialect}:{self.flags}:{self.pattern}"

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r})"


def _flag_letters(flags: int) -> str:
    out = ""
    for letter, bit in (("i", re.IGNORECASE), ("s", re.DOTALL), ("m", re.MULTILINE), ("x", re.VERBOSE),
                        ("a", re.ASCII)):
        if flags & bit:
            out += letter
    return out


_LARK_FLAG_LETTERS = set("imsxlu")


#: Lark expands templates by instantiating them; a template that instantiates itself
#: with a growing argument (``t{x}: x | t{w{x}}``) expands forever.  Past this many
#: instances the grammar is refused.
MAX_TEMPLATE_INSTANCES = 2000
_template_guard = threading.Lock()


@contextlib.contextmanager
def _template_limit(lg):
    """Bound Lark's template expansion (``ApplyTemplates.template_usage``) while our
    grammar loads: past ``MAX_TEMPLATE_INSTANCES`` instances, a CompileError."""
    cls = lg.ApplyTemplates
    original = cls.template_usage

    def template_usage(self, c):
        if len(self.created_templates) >= MAX_TEMPLATE_INSTANCES:
            raise CompileError(f"Lark templates expand to more than {MAX_TEMPLATE_INSTANCES} instances "
                               f"(a template that instantiates itself with a growing argument never ends)")
        return original(self, c)

    with _template_guard:
        cls.template_usage = template_usage
        try:
            yield
        finally:
            cls.template_usage = original


class Lark(Constraint):
    """A context-free grammar in Lark's EBNF.

    ``grammar`` is grammar text, or a path to a ``.lark`` file (``%import`` of
    sibling files then works), or the name of a grammar shipped with structgen
    (``"json"``, ``"arithmetic"``, ``"sql"``, ``"c"``; see :func:`builtin_grammar`).
    Supported: rules, terminals, ``%import common.*`` and relative imports,
    ``%ignore``, ``?``/``*``/``+``/``[]``/``~n..m``, templates, ``%override`` and
    ``%extend``.  Ambiguous and left-recursive grammars are fine.  Priorities do not
    change the language: wherever several terminals match, all are tried.
    ``%declare`` (terminals without a definition) raises :class:`CompileError`.
    """

    def __init__(self, grammar: str | os.PathLike, *, start: str = "start"):
        text, source, import_paths = _read_grammar(grammar)
        self.text = text
        self.source = source
        self.start = start
        self._import_paths = import_paths
        self._defs: dict[str, int] | None = None  # name -> offset of its definition ...
        self._uses: dict[str, int] = {}  # ... or of its first use
        self._ir = self._build_ir()

    @classmethod
    def builtin(cls, name: str, **kwargs) -> "Lark":
        return cls(builtin_grammar(name), **kwargs)

    def _build_ir(self) -> GrammarIR:
        from lark import load_grammar as lg
        from lark.exceptions import GrammarError, LarkError, UnexpectedInput, VisitError

        try:
            with _template_limit(lg):
                grammar, _ = lg.load_grammar(self.text, self.source, self._import_paths, False)
            declared = [name for name, (tree, _prio) in grammar.term_defs if tree is None]
            if declared:
                raise CompileError(f"terminal {declared[0]} has no definition (%declare is not supported: "
                                   f"a context-free automaton cannot take terminals from a post-lexer)",
                                   where=self._locate(declared[0]))
            with _template_limit(lg):
                terminals, rules, ignore = grammar.compile([self.start], set())
        except UnexpectedInput as exc:
            raise CompileError(f"Lark grammar syntax error: {str(exc).splitlines()[0]}",
                               where=f"{self.source}:{exc.line}:{exc.column}") from None
        except GrammarError as exc:
            names = re.findall(r"'([^']+)'", str(exc))
            where = self._locate(names[0]) if names else self.source
            raise CompileError(f"Lark grammar error: {exc}", where=where) from None
        except VisitError as exc:
            if isinstance(exc.orig_exc, CompileError):
                raise CompileError(str(exc.orig_exc), where=self.source) from None
            raise CompileError(f"Lark grammar error: {exc}", where=self.source) from None
        except (LarkError, KeyError) as exc:
            raise CompileError(f"Lark grammar error: {exc}", where=self.source) from None
        except OSError as exc:  # an %import whose file is missing or unreadable
            raise CompileError(f"Lark grammar: cannot read an imported grammar: {exc}", where=self.source) from None
        except RecursionError:
            raise CompileError("Lark grammar nests too deeply to read", where=self.source) from None

        b = GrammarBuilder()
        for t in terminals:
            pat = t.pattern
            if pat is None or getattr(pat, "value", None) is None:
                raise CompileError(f"terminal {t.name} has no definition (%declare is not supported)",
                                   where=self._locate(t.name))
            flags = set(pat.flags)
            unknown = flags - _LARK_FLAG_LETTERS
            if unknown:
                raise CompileError(f"terminal {t.name}: unsupported regex flags {sorted(unknown)}",
                                   where=self._locate(t.name))
            flags.discard("u")
            flag_text = "".join(sorted(flags - {"l"}))
            if type(pat).__name__ == "PatternStr":
                defn = (TerminalDef(pat.value, literal=True) if not flag_text
                        else TerminalDef(re.escape(pat.value), flags=flag_text))
            else:
                defn = TerminalDef(pat.value, flags=flag_text)
            b.add_terminal(defn, t.name, origin=self._locate(t.name))
        for r in rules:
            lhs = r.origin.name
            rhs = [s.name for s in r.expansion]
            b.rule(str(lhs), [str(s) for s in rhs])
            b.origin.setdefault(str(lhs), self._locate(str(lhs)))
        b.ignore = [str(n) for n in ignore]
        if self.start not in b.rules:
            raise CompileError(f"start rule {self.start!r} is not defined", where=self.source)
        from .compiler import check_terminal
        from .limits import check_deadline, get_limits

        get_limits().check("max_terminals", len(b.terminals), f"the grammar has {len(b.terminals)} terminals",
                           where=self.source)
        for name, defn in b.terminals.items():  # fail early; the DFAs are memoised
            check_deadline("building the grammar's terminals")
            check_terminal(defn, name, b.origin.get(name))
        return b.build(self.start)

    def _locate(self, name: str) -> str:
        """``source:line`` of the definition of ``name``, else of its first use.  The
        definitions are indexed in one pass over the text (a grammar of thousands of
        rules asks for every one of them)."""
        bare = name.lstrip("_?!")
        if self._defs is None:
            self._defs, self._uses = {}, {}
            for m in re.finditer(r"^\s*[?!]?_?(\w+)(?:\.-?\d+)?(?:\{[^}\n]*\})?\s*[:.]", self.text, re.M):
                self._defs.setdefault(m.group(1), m.start())
            for m in re.finditer(r"(?<![\w\"])\w+", self.text):
                self._uses.setdefault(m.group(0), m.start())
        at = self._defs.get(bare)
        if at is None:
            at = self._uses.get(bare)
            if at is None:
                return self.source
        line = self.text.count("\n", 0, at) + 1
        return f"{self.source}:{line}"

    def to_ir(self) -> GrammarIR:
        return self._ir

    def cache_key(self) -> str:
        """The built grammar's fingerprint: it covers what ``%import`` brought in from
        other files (whose edits the main text does not show)."""
        return f"lark:{self.start}:{self._ir.fingerprint()}"

    def __repr__(self) -> str:
        return f"Lark({self.source})"


_BUILTIN = ("json", "arithmetic", "sql", "c")


def builtin_grammar(name: str) -> Path:
    """Path of a grammar shipped in ``structgen.grammars`` (e.g. ``"json"``)."""
    from importlib import resources

    base = resources.files("structgen.grammars")
    path = base / f"{name}.lark"
    if not path.is_file():
        raise CompileError(f"no shipped grammar named {name!r} (have: {', '.join(_BUILTIN)})")
    return Path(str(path))


def _read_grammar(grammar) -> tuple[str, str, list]:
    if isinstance(grammar, os.PathLike):
        path = Path(grammar)
    elif isinstance(grammar, str) and "\n" not in grammar and grammar.endswith(".lark"):
        path = Path(grammar)
    elif isinstance(grammar, str) and grammar in _BUILTIN:
        path = builtin_grammar(grammar)
    elif isinstance(grammar, str):
        return grammar, "<grammar>", []
    else:
        raise TypeError(f"grammar must be text or a path, got {type(grammar).__name__}")
    if not path.is_file():
        raise CompileError(f"grammar file not found: {path}")
    return path.read_text(encoding="utf-8"), str(path), [str(path.parent)]
