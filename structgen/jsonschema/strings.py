"""JSON string values: terminals and long-string grammars.

A JSON Schema string constraint (``pattern``, ``format``, ``minLength``/``maxLength``,
exclusions from ``not``) speaks about the *decoded* value.  It becomes one
``json_string`` :class:`~structgen.ir.TerminalDef` (the DFA compiler composes the
value automaton with a JSON-string decoder, so every escape spelling is accepted:
``\\"``, ``\\u00e9``, surrogate pairs ...).  Lengths count code points, as
``len(str)`` does.

A length bound beyond ``max_string_dfa_length`` would make a large DFA (one state
group per counted character); a string constrained only by its length is then
spelled by the grammar instead, as a run of fixed-size chunk lexemes counted by
rules (:func:`long_string_rules`).

``pattern`` is ECMA-262 (``dialect="ecma"``, unanchored: ``search=True``).  The
Python validator uses ``re.search``, whose ``\\s``/``\\S``/``\\D``/``\\W``/``\\b``
differ from ECMA's; where that can matter the terminal also intersects the Python
reading, so an accepted value passes both.
"""

from __future__ import annotations

import functools
import re
import warnings

from ..errors import CompileError
from ..ir import TerminalDef
from .formats import EMAIL_DOT_ATOM, format_pattern

__all__ = ["pattern_defs", "string_terminal", "value_terminal", "with_length", "length_pattern", "JSON_CHAR",
           "long_string_rules", "check_pattern", "literal_terminal", "literals_terminal", "generic_key_terminal",
           "ASCII_FORMATS"]

# One JSON-encoded character (no quotes): raw (not '"', '\\' or a control), a short
# escape, a \uXXXX escape of a non-surrogate, or a surrogate pair.
JSON_CHAR = (r'(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u(?:[0-9a-cA-CefEF][0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2})'
             r'|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})')

# pattern constructs whose ECMA and Python readings differ in a way that makes the
# ECMA language larger (positive use)
_PY_NARROWER = re.compile(r"\\[DWSsbB]|\[\^[^\]]*\\[dws]")


@functools.lru_cache(maxsize=4096)
def check_pattern(pattern: str) -> str | None:
    """Parse an ECMA pattern; return an error message, or None when it is fine."""
    from ..regex_syntax import regex_ast

    try:
        regex_ast(pattern, dialect="ecma", search=True)
    except CompileError as exc:
        return str(exc)
    except RecursionError:
        return "pattern too deeply nested"
    return None


@functools.lru_cache(maxsize=4096)
def _python_reading_ok(pattern: str) -> bool:
    """True when Python's ``re`` and our python dialect both read ``pattern``."""
    from ..regex_syntax import regex_ast

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            re.compile(pattern)
        except (re.error, RecursionError, OverflowError):
            return False
    try:
        regex_ast(pattern, dialect="python", search=True)
    except (CompileError, RecursionError):
        return False
    return True


def pattern_defs(pattern: str, *, negated: bool = False) -> list[TerminalDef]:
    """Value-language terminals for a JSON Schema ``pattern`` (search semantics).

    Positive use: their intersection is the strings both ECMA and Python accept.
    Negated use (``not: {pattern}``): each must be excluded.
    """
    defs = [TerminalDef(pattern, dialect="ecma", search=True)]
    if negated:
        if _python_reading_ok(pattern):
            defs.append(TerminalDef(pattern, dialect="python", search=True))
    elif _PY_NARROWER.search(pattern) and _python_reading_ok(pattern):
        defs.append(TerminalDef(pattern, dialect="python", search=True))
    return defs


def _alternation_of(values: list[str]) -> str:
    return "|".join(re.escape(v) for v in sorted(set(values)))


def length_pattern(min_len: int, max_len: int | None) -> str:
    """JSON string literals (quotes included) of ``min_len``..``max_len`` code points,
    as a plain regex over the encoded text (cheaper than a ``json_string`` terminal
    of ``.{m,n}``, same language)."""
    if max_len is None:
        rng = f"{{{min_len},}}"
    elif max_len == min_len:
        rng = f"{{{min_len}}}"
    else:
        rng = f"{{{min_len},{max_len}}}"
    return f'"{JSON_CHAR}{rng}"'


#: Formats whose language is printable ASCII without '"' and '\\': their JSON
#: spelling is the text itself (no escapes needed, ``ensure_ascii`` changes nothing),
#: so a plain regex over the encoded text replaces the (larger) decoded automaton.
ASCII_FORMATS = frozenset({"date", "time", "date-time", "duration", "uuid", "ipv4", "ipv6", "hostname",
                           "idn-hostname", "uri", "uri-reference"})


def value_terminal(*, patterns=(), not_patterns=(), formats=(), not_formats=(), not_values=(),
                   only_values=None, pydantic: bool = False, prefer_raw: bool = False) -> TerminalDef | None:
    """The terminal (a JSON string literal, quotes included) for the value
    constraints of a string; None when there are none.  ``only_values=[]`` gives a
    terminal of the empty language.  ``prefer_raw`` also spells ``email`` as a plain
    regex (dot-atom local parts only: a smaller automaton, for length bounds)."""
    parts: list[TerminalDef] = []
    excl: list[TerminalDef] = []
    if only_values is not None:
        parts.append(TerminalDef(_alternation_of(list(only_values)) if only_values else "[^\\s\\S]"))
    for name in formats:
        p = format_pattern(name, pydantic=pydantic)
        if p is not None:
            parts.append(TerminalDef(p))
    for p in patterns:
        parts.extend(pattern_defs(p))
    for p in not_patterns:
        excl.extend(pattern_defs(p, negated=True))
    for name in not_formats:
        p = format_pattern(name, pydantic=pydantic)
        if p is not None:
            excl.append(TerminalDef(p))
    values = [v for v in not_values if isinstance(v, str)]
    if values:
        excl.append(TerminalDef(_alternation_of(values)))
    if not parts and not excl:
        return None
    raw_ok = ASCII_FORMATS | ({"email"} if prefer_raw else set())
    if (not excl and only_values is None and not patterns and formats
            and all(n in raw_ok for n in formats)):
        pats = [EMAIL_DOT_ATOM if n == "email" else format_pattern(n, pydantic=pydantic) for n in formats]
        return TerminalDef(f'"(?:{pats[0]})"', intersect=tuple(TerminalDef(f'"(?:{q})"') for q in pats[1:]))
    if not parts:
        parts.append(TerminalDef(".*", flags="s"))
    main = parts[0]
    return TerminalDef(main.pattern, main.literal, main.dialect, main.flags, main.search, True,
                       tuple(parts[1:]), tuple(excl))


def with_length(value: TerminalDef | None, min_len: int, max_len: int | None) -> TerminalDef | None:
    """``value`` (a JSON-level terminal, or None for any string) restricted to
    ``min_len``..``max_len`` code points; None when the range is empty."""
    if max_len is not None and min_len > max_len:
        return None
    if min_len == 0 and max_len is None:
        return value if value is not None else TerminalDef(".*", flags="s", json_string=True)
    length = TerminalDef(length_pattern(min_len, max_len))
    if value is None:
        return length
    if not value.json_string and not value.intersect and not value.exclude:
        # a raw ASCII format: count bytes between the quotes
        rng = f"{{{min_len},{'' if max_len is None else max_len}}}"
        return TerminalDef(value.pattern, intersect=(TerminalDef(f'".{rng}"', flags="s"),))
    return TerminalDef(length.pattern, intersect=(value,))


def string_terminal(*, min_len: int = 0, max_len: int | None = None, patterns=(), not_patterns=(),
                    formats=(), not_formats=(), not_values=(), only_values=None,
                    pydantic: bool = False) -> TerminalDef | None:
    """The terminal for a string constraint (a JSON string literal, quotes
    included); None when it is certainly the empty language (``min_len > max_len``).

    ``patterns``/``formats`` are patterns/format names; ``only_values`` (a list)
    restricts to those strings; ``not_values`` removes strings (non-strings in it are
    ignored).  Value constraints make a ``json_string`` terminal (or a plain regex for
    ASCII-only formats); a length bound is a plain regex over the encoded text,
    intersected with it.
    """
    value = value_terminal(patterns=patterns, not_patterns=not_patterns, formats=formats,
                           not_formats=not_formats, not_values=not_values, only_values=only_values,
                           pydantic=pydantic)
    return with_length(value, min_len, max_len)


def long_string_rules(b, min_len: int, max_len: int | None, count_rules, *, chunk: int = 32,
                      origin: str | None = None) -> str:
    """A nonterminal for the JSON strings of ``min_len``..``max_len`` characters
    (any characters), spelled as chunk lexemes of ``chunk`` characters each (the
    first one with the opening quote) and a final lexeme with the closing quote.

    ``count_rules(b, unit, lo, hi)`` must return a nonterminal for ``unit`` repeated
    ``lo``..``hi`` times (hi None: unbounded).  Chunk lexemes never cut an escape
    sequence: they count encoded characters.
    """
    K = chunk
    first_full = b.add_terminal(TerminalDef(f'"{JSON_CHAR}{{{K}}}'), origin=origin)
    mid_full = b.add_terminal(TerminalDef(f"{JSON_CHAR}{{{K}}}"), origin=origin)

    def end(lo: int, hi: int, first: bool) -> str:
        q = '"' if first else ""
        rng = f"{{{lo}}}" if lo == hi else f"{{{lo},{hi}}}"
        return b.add_terminal(TerminalDef(f'{q}{JSON_CHAR}{rng}"'), origin=origin)

    top = b.fresh("str", origin=origin)
    n = max_len
    m = min_len
    # c = number of full chunks; e = characters in the end lexeme (0..K-1)
    c_min = max(0, -(-(m - (K - 1)) // K))  # smallest c with c*K + K-1 >= m
    c_max = None if n is None else n // K
    if c_max is not None and c_min > c_max:
        return top  # no string fits (cannot happen when m <= n)
    # c with the full e range: c*K >= m and c*K + K-1 <= n
    full_lo = -(-m // K)
    full_hi = None if n is None else (n - (K - 1)) // K
    specials = set()
    c = c_min
    while c < full_lo and (c_max is None or c <= c_max):
        specials.add(c)
        c += 1
    if c_max is not None:
        c = c_max
        while c >= c_min and (full_hi is None or c > full_hi):
            specials.add(c)
            c -= 1
    for c in sorted(specials):
        e_lo = max(0, m - c * K)
        e_hi = K - 1 if n is None else min(K - 1, n - c * K)
        if e_lo > e_hi:
            continue
        if c == 0:
            b.rule(top, [end(e_lo, e_hi, True)])
        else:
            body = count_rules(b, mid_full, c - 1, c - 1)
            b.rule(top, [first_full, body, end(e_lo, e_hi, False)])
    if full_hi is None or full_lo <= full_hi:
        lo = full_lo
        if lo == 0:
            b.rule(top, [end(0, K - 1, True)])
            lo = 1
        if full_hi is None or lo <= full_hi:
            body = count_rules(b, mid_full, lo - 1, None if full_hi is None else full_hi - 1)
            b.rule(top, [first_full, body, end(0, K - 1, False)])
    return top


def _plain(text: str) -> bool:
    """True when ``text`` is printable ASCII without ``"`` or ``\\``: its JSON
    spelling is then the text itself, whatever ``ensure_ascii`` says."""
    return all(0x20 <= ord(c) < 0x7F and c not in '"\\' for c in text)


def literal_terminal(text: str) -> TerminalDef:
    """The terminal of the JSON string ``text``.

    Plain ASCII text gets a raw literal terminal (``"text"``, only the canonical
    spelling, cheap); other text a ``json_string`` literal (every escape spelling)."""
    if _plain(text):
        return TerminalDef(f'"{text}"', literal=True)
    return TerminalDef(text, literal=True, json_string=True)


def literals_terminal(texts: list[str]) -> TerminalDef:
    """One terminal for a set of JSON strings (enum values)."""
    texts = sorted(set(texts))
    plain = [t for t in texts if _plain(t)]
    other = [t for t in texts if not _plain(t)]
    if len(texts) == 1:
        return literal_terminal(texts[0])
    if not other:
        return TerminalDef('"(?:' + "|".join(re.escape(t) for t in plain) + ')"')
    special = TerminalDef(_alternation_of(other), json_string=True)
    if not plain:
        return special
    # raw alternation ∪ json_string alternation: exclude-trick is not a union, so
    # spell everything through the decoder
    return TerminalDef(_alternation_of(texts), json_string=True)


def _hex_forms(cp: int) -> str:
    """Regex of the 4 hex digits of ``cp`` in any letter case."""
    out = ""
    for ch in f"{cp:04x}":
        out += f"[{ch}{ch.upper()}]" if ch.isalpha() else ch
    return out


_SHORT = {'"': '"', "\\": "\\\\", "/": "/", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t"}


def generic_key_terminal(excluded: list[str]) -> TerminalDef:
    """JSON string literals that do not decode to any of ``excluded``.

    Cheap exact form: escapes of the characters used by ``excluded`` are not
    allowed at all, so a literal that decodes to an excluded name would have to be
    spelled raw, and the raw spellings are excluded.  (Keys spelling those
    characters with escapes are rejected: a small completeness loss.)"""
    base = f'"{JSON_CHAR}*"'
    if not excluded:
        return TerminalDef(base)
    chars = sorted({c for k in excluded for c in k})
    esc = []
    for c in chars:
        cp = ord(c)
        if c in _SHORT:
            esc.append("\\\\" + re.escape(_SHORT[c]))
        if cp >= 0x10000:
            esc.append(r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")
        else:
            esc.append(r"\\u" + _hex_forms(cp))
    escaped = TerminalDef(f'"{JSON_CHAR}*(?:{"|".join(sorted(set(esc)))}){JSON_CHAR}*"')
    raw = [k for k in excluded if all(ord(c) >= 0x20 and c not in '"\\' for c in k)]
    excl = [escaped]
    if raw:
        excl.append(TerminalDef('"(?:' + "|".join(re.escape(k) for k in sorted(raw)) + ')"'))
    return TerminalDef(base, exclude=tuple(excl))
