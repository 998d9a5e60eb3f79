"""Reference oracles for the shipped Lark grammars (``grammars/*.lark``).

Tests use this module to ask whether a text is in a grammar's language, independently
of structgen's own compiler.  Three acceptors are provided:

* :func:`in_language` -- Lark's Earley parser with its ``dynamic`` lexer.  This is
  "the language as Lark's Earley parser sees it".  The dynamic lexer tries every
  expected terminal at every position on its own (Python ``re.match``), so it accepts
  every text structgen's maximal-munch lexer accepts, and more: it may split a lexeme
  that a maximal-munch lexer keeps whole (in sql.lark, ``SELECT from FROM t`` passes
  as ``SELECT fro m FROM t``: identifier ``fro``, alias ``m``).  It is sound for
  checking generated text (anything the engine generates passes it) as long as every
  terminal's leftmost-first Python match is its longest match, which holds for every
  terminal of the shipped grammars (``tests/test_grammar_files.py`` checks it with
  hypothesis).
* :func:`in_munch_language` -- the exact language of structgen's engine: an Earley
  recognizer over lexemes, fed by a maximal-munch contextual lexer.  At each point the
  allowed terminals are those the Earley chart expects plus the ``%ignore`` terminals;
  a lexeme grows while some allowed terminal can still match it (no backtracking);
  when it stops, every allowed terminal that matches it in full is scanned (ties are
  kept as alternatives).  It is stricter than :func:`in_language`, and needs the
  ``regex`` package (for partial matching).  :meth:`MunchRecognizer.lexemes` shows
  how a text is lexed.
* :func:`in_lalr_munch_language` -- Lark's LALR(1) tables driven by the same
  maximal-munch lexer (:class:`MunchLexer`); fast, for LALR(1) grammars.

All accept a grammar name (``"json"``, ``"arithmetic"``, ``"sql"``, ``"c"``) or the
text of a Lark grammar, and cache the compiled grammar.

The module also generates the ``IDENT`` terminals of ``c.lark`` and ``sql.lark``
(identifiers minus the grammar's keywords); run ``python tests/_grammar_oracle.py
identifier c`` to print the current one.
"""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path

import lark
import lark.common
import lark.exceptions
import lark.lexer

GRAMMAR_NAMES = ("json", "arithmetic", "sql", "c")

_ROOT = Path(__file__).resolve().parent.parent
_GRAMMAR_DIR = _ROOT / "grammars"
_CORPUS_DIR = Path(__file__).resolve().parent / "data" / "grammars"

# Shapes that a keyword literal of the grammar has; IDENT must exclude exactly these.
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def grammar_path(name: str) -> Path:
    """Return the path of the shipped grammar ``grammars/<name>.lark``.

    Raises ``ValueError`` for a name that is not a shipped grammar.
    """
    if name not in GRAMMAR_NAMES:
        raise ValueError(f"unknown grammar {name!r}; shipped grammars: {', '.join(GRAMMAR_NAMES)}")
    return _GRAMMAR_DIR / f"{name}.lark"


def grammar_text(name: str) -> str:
    """Return the text of the shipped grammar ``name``.

    Raises ``ValueError`` for an unknown name.
    """
    return grammar_path(name).read_text(encoding="utf-8")


def corpus_files(name: str, valid: bool = True) -> list[Path]:
    """Return the sample files of ``tests/data/grammars/<name>/{valid,invalid}/``, sorted.

    Raises ``ValueError`` for an unknown grammar name.
    """
    grammar_path(name)
    folder = _CORPUS_DIR / name / ("valid" if valid else "invalid")
    return sorted(folder.glob("*.txt"))


def load_corpus(name: str, valid: bool = True) -> list[str]:
    """Return the samples (one per file, exact bytes decoded as UTF-8) of a grammar's corpus.

    Raises ``ValueError`` for an unknown grammar name.
    """
    return [path.read_bytes().decode("utf-8") for path in corpus_files(name, valid)]


def _resolve(name_or_text: str) -> str:
    return grammar_text(name_or_text) if name_or_text in GRAMMAR_NAMES else name_or_text


@functools.lru_cache(maxsize=16)
def _earley(grammar: str) -> lark.Lark:
    # ambiguity="forest" skips building a tree from the parse forest: membership only.
    return lark.Lark(grammar, parser="earley", lexer="dynamic", start="start", ambiguity="forest")


def earley_parser(name_or_text: str) -> lark.Lark:
    """Return the cached ``lark.Lark(grammar, parser="earley", lexer="dynamic")`` parser.

    It is built with ``ambiguity="forest"`` (``parse`` returns the shared packed parse
    forest, not a tree), which is all a membership test needs.  Raises
    ``lark.exceptions.GrammarError`` (and friends) for a grammar Lark rejects.
    """
    return _earley(_resolve(name_or_text))


def in_language(name_or_text: str, text: str) -> bool:
    """Whether ``text`` is in the grammar's language as Lark's Earley parser sees it.

    ``name_or_text`` is a shipped grammar's name or a Lark grammar's text; the start
    rule is ``start``.  Never raises for a text outside the language (returns False);
    raises Lark's grammar errors for a bad grammar.
    """
    parser = earley_parser(name_or_text)
    try:
        parser.parse(text)
    except lark.exceptions.UnexpectedInput:
        return False
    return True


# --------------------------------------------------------------------------------------
# The engine's language: maximal-munch contextual lexing over an Earley recognizer.


class Lexicon:
    """A grammar's terminals with the operations a maximal-munch lexer needs.

    Built from Lark ``TerminalDef`` objects; needs the ``regex`` package for partial
    matching (raises ``ImportError`` without it).
    """

    def __init__(self, terminals: list, ignore: list[str]) -> None:
        import regex  # partial matching: is this string a prefix of a match?

        self.ignore = tuple(sorted(ignore))
        self.names = frozenset(term.name for term in terminals)
        self._literal: dict[str, str] = {}
        self._partial: dict[str, object] = {}
        self._full: dict[str, re.Pattern] = {}
        for term in terminals:
            pattern = term.pattern
            if isinstance(pattern, lark.lexer.PatternStr) and not pattern.flags:
                self._literal[term.name] = pattern.value
            self._partial[term.name] = regex.compile(pattern.to_regexp())
            self._full[term.name] = re.compile(pattern.to_regexp())

    def viable(self, name: str, text: str, pos: int) -> int:
        """Length of the longest prefix of ``text[pos:]`` that some string of terminal ``name`` starts with."""
        lit = self._literal.get(name)
        if lit is not None:
            n, limit = 0, min(len(lit), len(text) - pos)
            while n < limit and text[pos + n] == lit[n]:
                n += 1
            return n
        pattern = self._partial[name]
        # Viability is prefix-closed: gallop to a non-viable length, then bisect.
        rest = len(text) - pos
        lo, step = 0, 1
        while True:
            probe = min(lo + step, rest)
            if not pattern.fullmatch(text, pos, pos + probe, partial=True):
                hi = probe
                break
            lo = probe
            if lo == rest:
                return lo
            step *= 2
        while hi - lo > 1:  # text[pos:pos+lo] is viable, text[pos:pos+hi] is not
            mid = (lo + hi) // 2
            if pattern.fullmatch(text, pos, pos + mid, partial=True):
                lo = mid
            else:
                hi = mid
        return lo

    def munch(self, text: str, pos: int, allowed: list[str]) -> tuple[int, list[str]]:
        """Find the next lexeme at ``pos`` among the ``allowed`` terminals (ignore ones added).

        The lexeme grows while some allowed terminal can still match it; returns its end
        and every allowed terminal that matches it in full (possibly none: the text is
        then rejected, as there is no backtracking).  ``end == pos`` when no allowed
        terminal can start at ``pos``.
        """
        if pos >= len(text):
            return pos, []
        candidates = list(allowed) + [name for name in self.ignore if name not in allowed]
        first = text[pos]
        literal = self._literal
        # A literal that does not start with the next character cannot grow the lexeme.
        growing = [name for name in candidates if name not in literal or literal[name][0] == first]
        end = pos + max((self.viable(name, text, pos) for name in growing), default=0)
        if end == pos:
            return pos, []
        return end, [name for name in candidates if self._full[name].fullmatch(text, pos, end)]


class MunchRecognizer:
    """Earley recognizer over lexemes found by a maximal-munch contextual lexer.

    This is the reference for structgen's engine semantics (see the module docstring).
    Build one with :func:`munch_recognizer`; call :meth:`accepts`.
    """

    def __init__(self, grammar: str, start: str = "start") -> None:
        """Compile ``grammar`` with Lark and prepare the rule and terminal tables.

        Raises Lark's grammar errors for a bad grammar, and ``ImportError`` when the
        ``regex`` package (needed for partial matching) is missing.
        """
        compiled = lark.Lark(grammar, parser="earley", lexer="dynamic", start=start)
        self.start = start
        self.rules: list[tuple[str, tuple[str, ...]]] = [
            (rule.origin.name, tuple(sym.name for sym in rule.expansion)) for rule in compiled.rules
        ]
        self.by_lhs: dict[str, list[int]] = {}
        for i, (lhs, _) in enumerate(self.rules):
            self.by_lhs.setdefault(lhs, []).append(i)
        self.nullable = self._nullable()
        self.lexicon = Lexicon(compiled.terminals, compiled.ignore_tokens)

    def _nullable(self) -> frozenset[str]:
        nullable: set[str] = set()
        changed = True
        while changed:
            changed = False
            for lhs, rhs in self.rules:
                if lhs not in nullable and all(sym in nullable for sym in rhs):
                    nullable.add(lhs)
                    changed = True
        return frozenset(nullable)

    # -- Earley -------------------------------------------------------------------

    def _close(self, chart: list, items: set) -> tuple[set, dict[str, list]]:
        """Complete the Earley set ``items`` (the last column of ``chart``) in place.

        Returns the set and an index from expected terminal to the items expecting it.
        """
        k = len(chart) - 1
        agenda = list(items)
        expecting: dict[str, list] = {}  # symbol -> items at k with the dot before it
        predicted: set[str] = set()
        while agenda:
            item = agenda.pop()
            rule_id, dot, origin = item
            lhs, rhs = self.rules[rule_id]
            if dot == len(rhs):
                # A completion with origin k derived the empty string: the nullable
                # shortcut below already advanced every item waiting for it at k.
                waiting = chart[origin][1] if origin < k else expecting
                for parent in list(waiting.get(lhs, ())):
                    new = (parent[0], parent[1] + 1, parent[2])
                    if new not in items:
                        items.add(new)
                        agenda.append(new)
                continue
            sym = rhs[dot]
            expecting.setdefault(sym, []).append(item)
            if sym in self.lexicon.names:
                continue
            if sym not in predicted:
                predicted.add(sym)
                for rid in self.by_lhs.get(sym, ()):
                    new = (rid, 0, k)
                    if new not in items:
                        items.add(new)
                        agenda.append(new)
            if sym in self.nullable:
                new = (rule_id, dot + 1, origin)
                if new not in items:
                    items.add(new)
                    agenda.append(new)
        return items, expecting

    def _column(self, chart: list, seeds: set) -> list:
        """Append the closed Earley set grown from ``seeds`` to ``chart`` (in place); return it."""
        chart.append(None)
        chart[-1] = self._close(chart, set(seeds))
        return chart

    def _accepting(self, chart: list) -> bool:
        items = chart[-1][0]
        return any(
            origin == 0 and self.rules[rid][0] == self.start and dot == len(self.rules[rid][1])
            for rid, dot, origin in items
        )

    def accepts(self, text: str) -> bool:
        """Whether the engine's lexing and this grammar accept ``text``; never raises on text."""
        return self.lexemes(text) is not None

    def lexemes(self, text: str) -> list[tuple[str, tuple[str, ...]]] | None:
        """The lexemes of ``text`` along the first accepting branch, or None if it is rejected.

        Each lexeme comes as ``(text, terminal names)``; ignored lexemes are listed too,
        with their ``%ignore`` terminal names.  Never raises on text.
        """
        # A branch is (position, chart, lexed); lexed is a cons list (previous, lexeme).
        # Branches only fork on a lexeme matched both by an %ignore terminal and by a
        # parser terminal; every step consumes text, so the search ends.
        start_items = {(rid, 0, 0) for rid in self.by_lhs[self.start]}
        branches: list = [(0, self._column([], start_items), None)]
        # A chart is shared by one branch only, except after a fork, where it is copied.
        while branches:
            pos, chart, lexed = branches.pop()
            if pos == len(text):
                if self._accepting(chart):
                    out = []
                    while lexed is not None:
                        lexed, lexeme = lexed
                        out.append(lexeme)
                    return out[::-1]
                continue
            expecting = chart[-1][1]
            allowed = [sym for sym in expecting if sym in self.lexicon.names]
            end, matched = self.lexicon.munch(text, pos, allowed)
            tokens = tuple(name for name in matched if name not in self.lexicon.ignore)
            ignored = tuple(name for name in matched if name in self.lexicon.ignore)
            if ignored:
                branches.append((end, chart, (lexed, (text[pos:end], ignored))))
            if tokens:
                seeds = {(rid, dot + 1, origin) for name in tokens for rid, dot, origin in expecting[name]}
                grown = self._column(list(chart) if ignored else chart, seeds)
                branches.append((end, grown, (lexed, (text[pos:end], tokens))))
        return None


@functools.lru_cache(maxsize=16)
def _munch(grammar: str) -> MunchRecognizer:
    return MunchRecognizer(grammar)


def munch_recognizer(name_or_text: str) -> MunchRecognizer:
    """Return the cached :class:`MunchRecognizer` for a shipped grammar name or grammar text.

    Raises Lark's grammar errors for a bad grammar.
    """
    return _munch(_resolve(name_or_text))


def in_munch_language(name_or_text: str, text: str) -> bool:
    """Whether ``text`` is in the grammar's language under structgen's lexing semantics.

    Maximal-munch contextual lexing, ties kept, ``%ignore`` terminals allowed between
    lexemes (see the module docstring).  Never raises for a text outside the language.
    """
    return munch_recognizer(name_or_text).accepts(text)


# --------------------------------------------------------------------------------------
# LALR(1) tables with the engine's lexing.


class LexemeTie(ValueError):
    """A lexeme matched several allowed terminals: a deterministic LALR parse cannot keep both."""


class MunchLexer(lark.lexer.Lexer):
    """A Lark custom lexer (LALR only) that lexes as structgen's engine does.

    At each step the allowed terminals are those the LALR state has an action for, plus
    the ``%ignore`` terminals; the lexeme is the maximal munch among them.  Raises
    :class:`LexemeTie` when a lexeme matches two allowed terminals, and Lark's
    ``UnexpectedCharacters`` when it matches none.  Note that LALR lookahead sets can
    hold terminals that no continuation accepts (state merging), so the allowed set
    may be larger than the engine's (Earley-exact) one.
    """

    __future_interface__ = 1

    def __init__(self, lexer_conf: lark.common.LexerConf) -> None:
        self.lexicon = Lexicon(lexer_conf.terminals, list(lexer_conf.ignore))

    def lex(self, lexer_state, parser_state):
        """Yield the tokens of ``lexer_state.text``, choosing each from the parser's state."""
        text = lexer_state.text.text if hasattr(lexer_state.text, "text") else lexer_state.text
        pos = 0
        states = parser_state.parse_conf.parse_table.states
        while pos < len(text):
            allowed = [name for name in states[parser_state.position] if name in self.lexicon.names]
            end, matched = self.lexicon.munch(text, pos, allowed)
            tokens = [name for name in matched if name not in self.lexicon.ignore]
            if not matched:
                line = text.count("\n", 0, pos) + 1
                column = pos - (text.rfind("\n", 0, pos) + 1) + 1
                raise lark.exceptions.UnexpectedCharacters(
                    text, pos, line, column, allowed=set(allowed), state=parser_state.position
                )
            if len(matched) > 1:
                raise LexemeTie(f"lexeme {text[pos:end]!r} at offset {pos} matches {matched}")
            if tokens:
                yield lark.Token(tokens[0], text[pos:end], start_pos=pos, end_pos=end)
            pos = end


@functools.lru_cache(maxsize=16)
def _lalr(grammar: str) -> lark.Lark:
    return lark.Lark(grammar, parser="lalr", lexer=MunchLexer, start="start")


def lalr_parser(name_or_text: str) -> lark.Lark:
    """Return the cached Lark LALR(1) parser of a grammar, lexing with :class:`MunchLexer`.

    Raises ``lark.exceptions.GrammarError`` when the grammar is not LALR(1) (a
    reduce/reduce conflict; shift/reduce conflicts are resolved as shifts and logged).
    """
    return _lalr(_resolve(name_or_text))


def in_lalr_munch_language(name_or_text: str, text: str) -> bool:
    """Whether the LALR(1) parser with the engine's lexing accepts ``text``.

    Raises :class:`LexemeTie` when the engine would keep two readings of a lexeme.
    """
    try:
        lalr_parser(name_or_text).parse(text)
    except lark.exceptions.UnexpectedInput:
        return False
    return True


# --------------------------------------------------------------------------------------
# Generated identifier terminals.


def grammar_keywords(name_or_text: str) -> tuple[list[str], bool]:
    """The identifier-shaped literal terminals of a grammar (its keywords).

    Returns ``(keywords, case_insensitive)``.  Raises ``ValueError`` when some keywords
    are case-insensitive and others are not (the generator handles one kind only).
    """
    compiled = earley_parser(name_or_text)
    words: list[str] = []
    flags: set[bool] = set()
    for term in compiled.terminals:
        pattern = term.pattern
        if isinstance(pattern, lark.lexer.PatternStr) and _WORD.fullmatch(pattern.value):
            words.append(pattern.value)
            flags.add("i" in pattern.flags)
    if len(flags) > 1:
        raise ValueError("the grammar mixes case-sensitive and case-insensitive keywords")
    return sorted(words), flags == {True}


def identifier_regex(keywords: list[str], case_insensitive: bool = False) -> str:
    """A regex for ASCII identifiers ``[A-Za-z_][A-Za-z0-9_]*`` that are not in ``keywords``.

    With ``case_insensitive`` no case variant of a keyword matches.  The regex has no
    lookaround (structgen's terminals are plain regular languages) and its leftmost-
    first Python match is always its longest match: it is ``DEVIATE [A-Za-z0-9_]* |
    INSIDE``, where ``DEVIATE`` walks the keyword trie and leaves it by a character no
    keyword continues with (so the rest of the word is free), and ``INSIDE`` is a
    non-empty trie path that ends where no keyword ends.

    Raises ``ValueError`` for a keyword that is not identifier-shaped.
    """
    trie: dict = {}
    for word in keywords:
        if not _WORD.fullmatch(word):
            raise ValueError(f"keyword {word!r} is not an identifier")
        node = trie
        for ch in word.lower() if case_insensitive else word:
            node = node.setdefault(ch, {})
        node[""] = {}
    word_chars = [chr(c) for c in range(128) if chr(c).isalnum() or chr(c) == "_"]

    def variants(ch: str) -> list[str]:
        return sorted({ch.lower(), ch.upper()}) if case_insensitive else [ch]

    def char_class(chars: list[str]) -> str:
        codes = sorted(ord(c) for c in chars)
        parts, i = [], 0
        while i < len(codes):
            j = i
            while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
                j += 1
            lo, hi = chr(codes[i]), chr(codes[j])
            parts.append(lo if i == j else lo + hi if j == i + 1 else f"{lo}-{hi}")
            i = j + 1
        return "[" + "".join(parts) + "]"

    def one(ch: str) -> str:
        v = variants(ch)
        return v[0] if len(v) == 1 else char_class(v)

    def group(alts: list[str], optional: bool = False) -> str:
        if len(alts) == 1 and not optional:
            return alts[0]
        return "(?:" + "|".join(alts) + ")" + ("?" if optional else "")

    def deviate(node: dict, first: bool) -> str:
        kids = sorted(c for c in node if c)
        taken = {v for k in kids for v in variants(k)}
        free = [c for c in word_chars if c not in taken and not (first and c.isdigit())]
        return group([char_class(free)] + [one(k) + deviate(node[k], False) for k in kids])

    def inside(node: dict) -> str:
        alts = []
        for k in sorted(c for c in node if c):
            child = node[k]
            rest = inside(child)
            if "" in child:  # a keyword ends here: the path must go on
                if rest:
                    alts.append(one(k) + rest)
            else:
                alts.append(one(k) + (group([rest], optional=True) if rest else ""))
        return group(alts) if alts else ""

    tail = inside(trie)
    return deviate(trie, True) + "[A-Za-z0-9_]*" + ("|" + tail if tail else "")


def grammar_identifier_pattern(name_or_text: str) -> str:
    """The regex of the grammar's ``IDENT`` terminal as written in the grammar.

    Raises ``ValueError`` when the grammar has no ``IDENT`` terminal.
    """
    for term in earley_parser(name_or_text).terminals:
        if term.name == "IDENT":
            return term.pattern.value
    raise ValueError("the grammar has no IDENT terminal")


def expected_identifier_pattern(name_or_text: str) -> str:
    """The ``IDENT`` regex the grammar should have: identifiers minus its own keywords."""
    keywords, case_insensitive = grammar_keywords(name_or_text)
    return identifier_regex(keywords, case_insensitive)


def _main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "identifier" or argv[1] not in GRAMMAR_NAMES:
        print("usage: python tests/_grammar_oracle.py identifier {" + ",".join(GRAMMAR_NAMES) + "}")
        return 2
    print(f"IDENT: /{expected_identifier_pattern(argv[1])}/")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
