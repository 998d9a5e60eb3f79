"""Regular-expression syntax: pattern text -> AST over code-point sets.

Two dialects:

``"python"``
    Python :mod:`re` syntax and semantics for ``str`` patterns, i.e. the language
    ``re.fullmatch(pattern, text)`` accepts (Python 3.11 syntax: possessive
    quantifiers and atomic groups parse, and are rejected as unsupported).  ``\\d``,
    ``\\w``, ``\\s`` are Unicode unless the ``a`` flag is set; ``IGNORECASE`` follows
    ``re``: a character matches when its simple lowercase (``_sre.unicode_tolower``)
    is the lowercase of a pattern character, plus ``re``'s extra equivalences
    (``s``/``ſ``, ``k``/``K``, ``µ``/``μ`` ...).  Extensions beyond Python 3.11:
    ``(?<name>...)`` (as in Python 3.14 / ECMA) and ``\\z`` (= ``\\Z``, Python 3.14).
    Known difference: CPython 3.11 fails to match a non-BMP character case-
    insensitively inside a multi-item class (``(?i)[\\U00010400x]`` does not match
    U+10400); here it matches, as the documentation says.

``"ecma"``
    ECMA-262 with the ``u`` flag, as JSON Schema's ``pattern`` uses it: ``\\d`` is
    ``[0-9]``, ``\\w`` is ``[A-Za-z0-9_]``, ``\\s`` is WhiteSpace + LineTerminator, ``.``
    excludes ``\\n \\r \\u2028 \\u2029``, ``\\p{..}``/``\\P{..}`` for general categories
    (short and long names, ``gc=``/``General_Category=``) and ``Any``, ``ASCII``,
    ``ASCII_Hex_Digit``, ``Assigned``; ``\\cX``, ``\\u{...}``, surrogate-pair escapes,
    ``[^]``, ``[]``, ES2025 modifiers ``(?i:...)``.  Case-insensitive matching uses
    simple case folding.  Leniency (Annex B, and what Python's ``jsonschema`` accepts
    through ``re``): an escaped ASCII punctuation character is that character, and a
    ``{``, ``}`` or ``]`` that does not form a quantifier or class is a literal.
    ``{,n}`` (a literal in Annex B, a quantifier in Python) is rejected as ambiguous.
    Scripts (``\\p{Script=...}``) are not available and raise.

Anchors (``^ $ \\A \\Z \\z``) are allowed only where they cannot constrain the
middle of a match: at the start (end) edge of the pattern, of a top-level
alternative, or of a group standing at such an edge.  :func:`resolve_anchors`
removes them: in fullmatch mode they are no-ops; in search mode (the strings that
*contain* a match) each unanchored edge gets any text.  Python's ``$`` (without
``m``) also matches before a final newline: in search mode ``a$`` therefore means
"ends with ``a`` or with ``a\\n``", exactly what ``re.search`` accepts; with ``m``,
``^``/``$`` also match after/before a line terminator (``\\n`` in Python; ``\\n \\r
\\u2028 \\u2029`` in ECMA).

Everything else that is not regular, or not supported, raises
:class:`~structgen.errors.CompileError` naming the construct, the fragment and its
offset: backreferences, lookarounds, word boundaries, conditionals, possessive
quantifiers, atomic groups, recursion.

Code-point sets are tuples of inclusive ``(lo, hi)`` ranges, sorted, disjoint and
never containing surrogates (U+D800..U+DFFF cannot be encoded in UTF-8).
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from . import _unicode
from .errors import CompileError

MAX_CODE = 0x10FFFF
Ranges = tuple[tuple[int, int], ...]

# ---------------------------------------------------------------------------
# caches of sub-results shared between patterns


class PartCache:
    """A bounded memo of sub-results that patterns share (parsed groups and
    character classes, case-folding closures, UTF-8 automata of code-point sets ...).

    Only proper parts of a pattern are stored, never a whole terminal's result.  When
    full, the older half of the entries is dropped.  Every instance is registered, so
    :func:`clear_part_caches` (and the benchmark's snapshots) reach them all.
    """

    __slots__ = ("name", "maxsize", "data")

    def __init__(self, name: str, maxsize: int):
        self.name = name
        self.maxsize = maxsize
        self.data: dict[Any, Any] = {}
        _PART_CACHES.append(self)

    def put(self, key: Any, value: Any) -> None:
        data = self.data
        if len(data) >= self.maxsize:
            for old in list(itertools.islice(data, len(data) // 2 + 1)):
                del data[old]
        data[key] = value


_PART_CACHES: list[PartCache] = []


def part_cached(maxsize: int) -> Callable:
    """Decorator: memoize a function of hashable positional arguments in a :class:`PartCache`."""

    def deco(fn: Callable) -> Callable:
        cache = PartCache(f"{fn.__module__}.{fn.__qualname__}", maxsize)
        data = cache.data

        @functools.wraps(fn)
        def wrapper(*args):
            got = data.get(args, _MISSING)
            if got is _MISSING:
                got = fn(*args)
                cache.put(args, got)
            return got

        wrapper.part_cache = cache  # type: ignore[attr-defined]
        return wrapper

    return deco


_MISSING = object()


def clear_part_caches() -> None:
    """Empty every :class:`PartCache` (regex parts and DFA fragments)."""
    for c in _PART_CACHES:
        c.data.clear()


def snapshot_part_caches() -> list[dict[Any, Any]]:
    """Copies of every :class:`PartCache`'s entries (for :func:`restore_part_caches`)."""
    return [dict(c.data) for c in _PART_CACHES]


def restore_part_caches(snapshot: list[dict[Any, Any]]) -> None:
    """Put every :class:`PartCache` back to a :func:`snapshot_part_caches` state."""
    if len(snapshot) != len(_PART_CACHES):
        raise ValueError(f"snapshot of {len(snapshot)} caches, {len(_PART_CACHES)} registered")
    for c, data in zip(_PART_CACHES, snapshot):
        c.data.clear()
        c.data.update(data)


# ---------------------------------------------------------------------------
# AST


class Node:
    """Base class of AST nodes.  ``anchored``: the subtree holds an :class:`Anchor`.

    ``shared`` (on :class:`Seq`, :class:`Alt`, :class:`Repeat`) marks a node that the
    parser keeps in its group cache: the same object may appear in many patterns, so
    the DFA compiler caches its automaton fragment.  Nodes are never mutated after
    construction (apart from that flag and :attr:`Chars.fragment`, a cache slot).
    """

    __slots__ = ()
    anchored = False
    shared = False


class Chars(Node):
    """One character from a code-point set (an empty set matches nothing)."""

    __slots__ = ("ranges", "fragment")

    def __init__(self, ranges: Ranges):
        self.ranges = ranges
        self.fragment = None  # the DFA compiler caches the UTF-8 automaton here

    def __repr__(self) -> str:
        return f"Chars({self.ranges!r})"


class Seq(Node):
    """Concatenation; ``Seq(())`` is the empty string."""

    __slots__ = ("items", "anchored", "shared")

    def __init__(self, items: tuple[Node, ...]):
        self.items = items
        self.anchored = any(it.anchored for it in items)
        self.shared = False

    def __repr__(self) -> str:
        return f"Seq({list(self.items)!r})"


class Alt(Node):
    """Alternation (union)."""

    __slots__ = ("items", "anchored", "shared")

    def __init__(self, items: tuple[Node, ...]):
        self.items = items
        self.anchored = any(it.anchored for it in items)
        self.shared = False

    def __repr__(self) -> str:
        return f"Alt({list(self.items)!r})"


class Repeat(Node):
    """``item{lo,hi}``; ``hi is None`` means unbounded."""

    __slots__ = ("item", "lo", "hi", "anchored", "shared")

    def __init__(self, item: Node, lo: int, hi: int | None):
        self.item = item
        self.lo = lo
        self.hi = hi
        self.anchored = item.anchored
        self.shared = False

    def __repr__(self) -> str:
        return f"Repeat({self.item!r}, {self.lo}, {self.hi})"


class Anchor(Node):
    """A zero-width edge assertion, removed by :func:`resolve_anchors`.

    ``side`` is ``"start"`` or ``"end"``.  ``rank`` says what may lie beyond the
    edge in search mode: 0 nothing (``\\A``, ``\\Z``, non-multiline ``^``, ECMA
    ``$``), 1 an optional final ``\\n`` (Python's non-multiline ``$``), 2 a line
    terminator followed by anything (multiline ``^``/``$``).
    """

    __slots__ = ("side", "rank", "pos", "text")
    anchored = True

    def __init__(self, side: str, rank: int, pos: int, text: str):
        self.side = side
        self.rank = rank
        self.pos = pos
        self.text = text

    def __repr__(self) -> str:
        return f"Anchor({self.text!r}@{self.pos})"


EMPTY = Seq(())


def seq(items: Iterable[Node]) -> Node:
    """Concatenation of ``items``, flattened; a single item is returned as is."""
    out: list[Node] = []
    for it in items:
        if isinstance(it, Seq):
            out.extend(it.items)
        else:
            out.append(it)
    if len(out) == 1:
        return out[0]
    return Seq(tuple(out))


def alt(items: Iterable[Node]) -> Node:
    """Union of ``items``, flattened; single-character alternatives are merged."""
    out: list[Node] = []
    chars: list[Ranges] = []
    first_chars = -1
    for it in items:
        sub = it.items if isinstance(it, Alt) else (it,)
        for s in sub:
            if isinstance(s, Chars):
                if first_chars < 0:
                    first_chars = len(out)
                    out.append(s)
                chars.append(s.ranges)
            else:
                out.append(s)
    if len(chars) > 1:
        out[first_chars] = Chars(union(*chars))
    if len(out) == 1:
        return out[0]
    return Alt(tuple(out))


# ---------------------------------------------------------------------------
# code-point sets

SURROGATES: Ranges = ((0xD800, 0xDFFF),)
ALL: Ranges = ((0, 0xD7FF), (0xE000, MAX_CODE))


def normalize(pairs: Iterable[tuple[int, int]]) -> Ranges:
    """Sort and merge ranges (overlapping or adjacent ones are joined)."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(pairs):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def union(*sets: Ranges) -> Ranges:
    """Union of code-point sets."""
    if len(sets) == 1:
        return sets[0]
    return normalize(p for s in sets for p in s)


def complement(s: Ranges) -> Ranges:
    """All code points (surrogates included) not in ``s``."""
    out: list[tuple[int, int]] = []
    nxt = 0
    for lo, hi in s:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= MAX_CODE:
        out.append((nxt, MAX_CODE))
    return tuple(out)


def intersect(a: Ranges, b: Ranges) -> Ranges:
    """Intersection of two code-point sets."""
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def minus(a: Ranges, b: Ranges) -> Ranges:
    """``a`` without ``b``."""
    return intersect(a, complement(b))


def contains(s: Ranges, cp: int) -> bool:
    """Is ``cp`` in ``s``?"""
    i = bisect_right(s, (cp, MAX_CODE + 1)) - 1
    return i >= 0 and s[i][0] <= cp <= s[i][1]


def _member(points: np.ndarray, s: Ranges) -> np.ndarray:
    """Boolean mask: which of ``points`` lie in ``s``."""
    if not s or len(points) == 0:
        return np.zeros(len(points), dtype=bool)
    arr = np.asarray(s, dtype=np.int64)
    idx = np.searchsorted(arr[:, 0], points, side="right") - 1
    ok = idx >= 0
    return ok & (points <= arr[np.maximum(idx, 0), 1])


def _points(values: list[int] | np.ndarray) -> Ranges:
    """The set of the given code points."""
    return _unicode.ranges_from_sorted(np.unique(np.asarray(values, dtype=np.int64)))


@functools.lru_cache(maxsize=4)
def _src_ranges(kind: str) -> Ranges:
    src, _ = _pairs(kind)
    return _unicode.ranges_from_sorted(src)


def _pairs(kind: str) -> tuple[np.ndarray, np.ndarray]:
    if kind == "py":
        return _unicode.python_lower_pairs()
    if kind == "ascii":
        src = np.arange(ord("A"), ord("Z") + 1, dtype=np.int64)
        return src, src + 32
    return _unicode.simple_fold_pairs()


def _image(s: Ranges, kind: str) -> Ranges:
    """``{f(c) for c in s}`` for the case mapping ``kind``."""
    src, dst = _pairs(kind)
    moved = dst[_member(src, s)]
    return union(minus(s, _src_ranges(kind)), _points(moved))


def _preimage(t: Ranges, kind: str) -> Ranges:
    """``{c : f(c) in t}`` for the case mapping ``kind``."""
    src, dst = _pairs(kind)
    hit = src[_member(dst, t)]
    return union(minus(t, _src_ranges(kind)), _points(hit))


_ASCII_LETTERS: Ranges = ((0x41, 0x5A), (0x61, 0x7A))


@part_cached(1024)
def python_casefold_closure(s: Ranges, ascii_only: bool) -> Ranges:
    """The characters ``re`` matches with ``IGNORECASE`` for the pattern set ``s``.

    ``re`` lowercases the subject character and compares it with the lowercased
    pattern characters plus its extra equivalences; sets without a cased
    character are matched exactly.
    """
    if ascii_only:
        if not intersect(s, _ASCII_LETTERS):
            return s
        return _preimage(_image(s, "ascii"), "ascii")
    if not intersect(s, _unicode.python_cased()):
        return s
    low = _image(s, "py")
    extra = [v for k, vs in _unicode.python_extra_cases().items() if contains(low, k) for v in vs]
    if extra:
        low = union(low, _points(extra))
    return _preimage(low, "py")


@part_cached(1024)
def ecma_casefold_closure(s: Ranges) -> Ranges:
    """``{c : Canonicalize(c) in Canonicalize(s)}`` with simple case folding (``/iu``)."""
    return _preimage(_image(s, "fold"), "fold")


def _no_surrogates(s: Ranges) -> Ranges:
    for lo, hi in s:
        if lo <= 0xDFFF and hi >= 0xD800:
            return minus(s, SURROGATES)
    return s


# ---------------------------------------------------------------------------
# character classes of each dialect

_PY_ASCII_DIGIT: Ranges = ((0x30, 0x39),)
_PY_ASCII_WORD: Ranges = ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
_PY_ASCII_SPACE: Ranges = ((0x09, 0x0D), (0x20, 0x20))
_ECMA_LINE_TERMINATORS: Ranges = ((0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029))
_NEWLINE: Ranges = ((0x0A, 0x0A),)


@functools.cache
def _ecma_space() -> Ranges:
    ws = ((0x09, 0x09), (0x0B, 0x0C), (0x20, 0x20), (0xA0, 0xA0), (0xFEFF, 0xFEFF))
    return union(ws, _ECMA_LINE_TERMINATORS, _unicode.category_ranges(frozenset({"Zs"})))


def _py_class_escape(letter: str, ascii_only: bool) -> Ranges:
    low = letter.lower()
    if low == "d":
        s = _PY_ASCII_DIGIT if ascii_only else _unicode.python_digit()
    elif low == "w":
        s = _PY_ASCII_WORD if ascii_only else _unicode.python_word()
    else:
        s = _PY_ASCII_SPACE if ascii_only else _unicode.python_space()
    return complement(s) if letter.isupper() else s


def _ecma_class_escape(letter: str, icase: bool) -> Ranges:
    low = letter.lower()
    if low == "d":
        s: Ranges = ((0x30, 0x39),)
    elif low == "w":
        s = _PY_ASCII_WORD
        if icase:  # WordCharacters with /iu also holds U+017F and U+212A
            s = ecma_casefold_closure(s)
    else:
        s = _ecma_space()
    return complement(s) if letter.isupper() else s


_GC_ALIASES: dict[str, str] = {}
for _short, *_longs in (
    ("C", "Other"), ("Cc", "Control", "cntrl"), ("Cf", "Format"), ("Cn", "Unassigned"),
    ("Co", "Private_Use"), ("Cs", "Surrogate"), ("L", "Letter"), ("LC", "Cased_Letter"),
    ("Ll", "Lowercase_Letter"), ("Lm", "Modifier_Letter"), ("Lo", "Other_Letter"),
    ("Lt", "Titlecase_Letter"), ("Lu", "Uppercase_Letter"), ("M", "Mark", "Combining_Mark"),
    ("Mc", "Spacing_Mark"), ("Me", "Enclosing_Mark"), ("Mn", "Nonspacing_Mark"), ("N", "Number"),
    ("Nd", "Decimal_Number", "digit"), ("Nl", "Letter_Number"), ("No", "Other_Number"),
    ("P", "Punctuation", "punct"), ("Pc", "Connector_Punctuation"), ("Pd", "Dash_Punctuation"),
    ("Pe", "Close_Punctuation"), ("Pf", "Final_Punctuation"), ("Pi", "Initial_Punctuation"),
    ("Po", "Other_Punctuation"), ("Ps", "Open_Punctuation"), ("S", "Symbol"),
    ("Sc", "Currency_Symbol"), ("Sk", "Modifier_Symbol"), ("Sm", "Math_Symbol"),
    ("So", "Other_Symbol"), ("Z", "Separator"), ("Zl", "Line_Separator"),
    ("Zp", "Paragraph_Separator"), ("Zs", "Space_Separator"),
):
    for _name in (_short, *_longs):
        _GC_ALIASES[_name] = _short


def _gc_ranges(short: str) -> Ranges:
    if short == "LC":
        names = frozenset({"Lu", "Ll", "Lt"})
    elif len(short) == 1:
        names = _unicode.categories_with_prefix(short)
    else:
        names = frozenset({short})
    return _unicode.category_ranges(names)


_BINARY_PROPERTIES = {
    "Any": lambda: ((0, MAX_CODE),),
    "ASCII": lambda: ((0, 0x7F),),
    "ASCII_Hex_Digit": lambda: ((0x30, 0x39), (0x41, 0x46), (0x61, 0x66)),
    "Assigned": _unicode.assigned,
}


# ---------------------------------------------------------------------------
# parser

_I, _M, _S, _X, _A = 1, 2, 4, 8, 16
_PY_FLAGS = {"i": _I, "m": _M, "s": _S, "x": _X, "a": _A, "u": 0}
_ECMA_FLAGS = {"i": _I, "m": _M, "s": _S, "u": 0}
_PY_ESCAPES = {"a": 7, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
_ECMA_ESCAPES = {"t": 9, "n": 10, "v": 11, "f": 12, "r": 13}
_PY_WHITESPACE = frozenset(" \t\n\r\v\f")
_HEX = frozenset("0123456789abcdefABCDEF")
_OCT = frozenset("01234567")
_DIGITS = frozenset("0123456789")
_MAX_DEPTH = 200
_MAX_COUNT = 4294967294  # Python's MAXREPEAT - 1


_UNSUPPORTED_REASONS = {
    "backreference": "the language would not be regular",
    "recursion": "the language would not be regular",
    "conditional group": "it tests a capture, which a DFA does not have",
    "lookahead": "lookarounds are not compiled to DFAs",
    "lookbehind": "lookarounds are not compiled to DFAs",
    "word boundary": "it looks at characters outside the match",
    "possessive quantifier": "it changes which strings match, by forbidding backtracking",
    "atomic group": "it changes which strings match, by forbidding backtracking",
}


_ECMA_BIT = 1 << 10


@part_cached(8192)
def _literal_node(cp: int, mode: int) -> Chars:
    """The (shared) node of one pattern character; ``mode`` holds the I, A and ECMA bits."""
    s: Ranges = ((cp, cp),)
    if mode & _I:
        s = ecma_casefold_closure(s) if mode & _ECMA_BIT else python_casefold_closure(s, bool(mode & _A))
    return Chars(_no_surrogates(s))


# Parsed groups ``(text, flags, ecma) -> (node, height)`` and character classes
# ``(text, flags & (I|A), ecma) -> Chars``, shared by every pattern that spells them
# alike (e.g. the JSON string character class in every string terminal).
_GROUPS = PartCache("regex groups", 4096)
_CLASSES = PartCache("regex classes", 4096)
# Tokens that can hide a parenthesis (escapes, classes), and parentheses: pairs the
# parentheses of a pattern without parsing it (x-mode and (?#...) comments aside).
_PY_SCAN = re.compile(r"\\.|\[\^?\]?(?:\\.|[^\\\]])*\]|[()]", re.S)
_ECMA_SCAN = re.compile(r"\\.|\[\^?(?:\\.|[^\\\]])*\]|[()]", re.S)
_PY_CLASS = re.compile(r"\[\^?\]?(?:\\.|[^\\\]])*\]", re.S)
_ECMA_CLASS = re.compile(r"\[\^?(?:\\.|[^\\\]])*\]", re.S)
_NO_GROUP_CACHE = re.compile(r"\(\?[a-zA-Z-]*x|\(\?#")
# A run of literal characters outside x-mode: plain characters and escaped ASCII
# punctuation or non-ASCII characters (both dialects read ``\\`` + such a character as it).
_RUN = re.compile(r"(?:[^\\\[\](){}|*+?.^$]|\\[^A-Za-z0-9])+", re.S)
_RUN_STOP = frozenset("[](){}|*+?.^$")


def parse_flags(flags: str, dialect: str) -> int:
    """Flag letters -> bitmask; raise :class:`CompileError` for unknown letters."""
    table = _PY_FLAGS if dialect == "python" else _ECMA_FLAGS
    bits = 0
    for ch in flags:
        if ch not in table:
            if dialect == "python" and ch == "L":
                raise CompileError("flag 'L' (LOCALE) cannot be used with a str pattern")
            raise CompileError(f"unknown regex flag {ch!r} for dialect {dialect!r} (known: {''.join(table)})")
        bits |= table[ch]
    return bits


def _shorten(pattern: str, pos: int) -> str:
    if len(pattern) <= 120:
        return pattern
    lo = max(0, pos - 50)
    hi = min(len(pattern), pos + 50)
    return ("..." if lo else "") + pattern[lo:hi] + ("..." if hi < len(pattern) else "")


def regex_error(pattern: str, what: str, start: int, end: int | None = None) -> CompileError:
    """A :class:`CompileError` naming ``what``, the fragment ``pattern[start:end]`` and its offset."""
    if end is None:
        end = start + 1
    frag = pattern[start:end]
    shown = f" {frag!r}" if frag else ""
    return CompileError(f"{what}{shown} at offset {start} of /{_shorten(pattern, start)}/")


class _Parser:
    """Recursive-descent parser shared by both dialects."""

    def __init__(self, pattern: str, dialect: str, flags: int):
        self.pat = pattern
        self.n = len(pattern)
        self.pos = 0
        self.ecma = dialect == "ecma"
        self.flags = flags
        self.group_names: set[str] = set()
        # group cache: off where comments could hide parentheses from the scanner
        self.share = not flags & _X and _NO_GROUP_CACHE.search(pattern) is None
        self.closes: dict[int, int] | None = None  # "(" offset -> its ")" offset
        self.max_depth = 0  # deepest alternation() so far (for cached groups' nesting)

    # -- helpers

    def error(self, what: str, start: int, end: int | None = None) -> CompileError:
        return regex_error(self.pat, what, start, end)

    def unsupported(self, what: str, start: int, end: int) -> CompileError:
        reason = _UNSUPPORTED_REASONS.get(what, "not implemented")
        return self.error(f"{what} is not supported ({reason})", start, end)

    def peek(self, k: int = 0) -> str:
        i = self.pos + k
        return self.pat[i] if i < self.n else ""

    # -- structure

    def parse(self) -> Node:
        node = self.alternation(self.flags, 0)
        if self.pos < self.n:  # only a stray ')' stops the top level early
            raise self.error("unbalanced parenthesis", self.pos)
        return node

    def alternation(self, flags: int, depth: int) -> Node:
        if depth > _MAX_DEPTH:
            raise self.error("pattern nested too deeply", self.pos)
        if depth > self.max_depth:
            self.max_depth = depth
        branches = []
        first = True
        while True:
            node, flags = self.sequence(flags, depth, first)
            branches.append(node)
            first = False
            if self.peek() != "|":
                break
            self.pos += 1
        return branches[0] if len(branches) == 1 else alt(branches)

    def sequence(self, flags: int, depth: int, first_branch: bool) -> tuple[Node, int]:
        """Parse up to ``|``/``)``/end; returns the node and the flags in force after
        (Python's global inline flags at the very start change them)."""
        items: list[Node] = []
        last = ""  # kind of items[-1]: "atom", "repeat", "anchor"
        pat = self.pat
        n = self.n
        ecma = self.ecma
        while self.pos < n:
            c = pat[self.pos]
            if c == "|" or c == ")":
                break
            start = self.pos
            if not ecma and flags & _X:
                if c in _PY_WHITESPACE:
                    self.pos += 1
                    continue
                if c == "#":
                    self.pos = self.skip_until("\n", start) + 1
                    continue
            if c not in _RUN_STOP and not flags & _X:
                m = _RUN.match(pat, start)
                if m is not None:  # a run of literal characters
                    text = m.group()
                    mode = (flags & (_I | _A)) | (_ECMA_BIT if ecma else 0)
                    if "\\" not in text:
                        items.extend([_literal_node(ord(ch), mode) for ch in text])
                    else:
                        i = 0
                        while i < len(text):
                            if text[i] == "\\":
                                i += 1
                            items.append(_literal_node(ord(text[i]), mode))
                            i += 1
                    self.pos = m.end()
                    last = "atom"
                    continue
            brace = self.brace_quantifier() if c == "{" else None
            if c in "*+?" or brace is not None:
                lo, hi = self.quantifier(brace)
                if not items or last == "anchor":
                    raise self.error("nothing to repeat", start, self.pos)
                if last == "repeat":
                    raise self.error("multiple repeat" if not ecma else "nothing to repeat", start, self.pos)
                if self.peek() == "?":
                    self.pos += 1  # lazy: same language
                elif self.peek() == "+" and not ecma:
                    raise self.unsupported("possessive quantifier", start, self.pos + 1)
                items[-1] = Repeat(items[-1], lo, hi)
                last = "repeat"
                continue
            if c == "(":
                can_global = not ecma and depth == 0 and first_branch and not items
                got = self.group(flags, depth, can_global)
                if got is None:  # comment
                    continue
                if isinstance(got, int):  # global flags
                    flags = got
                    continue
                items.append(got)
                last = "atom"
                continue
            self.pos += 1
            if c == "[":
                node: Node = self.cached_class(flags, start)
            elif c == ".":
                if flags & _S:
                    node = Chars(ALL)
                else:
                    node = Chars(minus(ALL, _ECMA_LINE_TERMINATORS if ecma else _NEWLINE))
            elif c == "^":
                node = Anchor("start", 2 if flags & _M else 0, start, c)
            elif c == "$":
                node = Anchor("end", 2 if flags & _M else (0 if ecma else 1), start, c)
            elif c == "\\":
                node = self.escape(flags, start)
            elif c == "{" and ecma and self.brace_min_only():
                raise self.error("'{,n}' is not an ECMA-262 quantifier (write {0,n}, or \\{ for a literal brace)",
                                 start, pat.find("}", start) + 1)
            else:
                node = self.literal(ord(c), flags)
            items.append(node)
            last = "anchor" if isinstance(node, Anchor) else "atom"
        return seq(items), flags

    def skip_until(self, stop: str, start: int) -> int:
        """Offset of the next ``stop`` character from ``pos`` (or the pattern's
        length), reading escapes as ``re`` does: a backslash takes the next character
        with it, and a backslash at the very end is an error."""
        pat, i, n = self.pat, self.pos, self.n
        while i < n:
            c = pat[i]
            if c == "\\":
                if i + 1 >= n:
                    raise self.error("bad escape (end of pattern)", i, n)
                i += 2
                continue
            if c == stop:
                return i
            i += 1
        return n

    def brace_quantifier(self) -> tuple[int, int | None, int] | None:
        """If a quantifier ``{m}``, ``{m,}``, ``{m,n}`` (Python also ``{,n}``, ``{,}``)
        starts at ``pos``, return ``(lo, hi, end)``; else ``None``."""
        pat, i, n = self.pat, self.pos + 1, self.n
        j = i
        while j < n and pat[j] in _DIGITS:
            j += 1
        lo_txt = pat[i:j]
        if j < n and pat[j] == ",":
            k = j + 1
            while k < n and pat[k] in _DIGITS:
                k += 1
            hi_txt = pat[j + 1:k]
            if k < n and pat[k] == "}":
                if self.ecma and not lo_txt:
                    return None
                lo = int(lo_txt) if lo_txt else 0
                hi = int(hi_txt) if hi_txt else None
                return lo, hi, k + 1
            return None
        if j < n and pat[j] == "}" and lo_txt:
            v = int(lo_txt)
            return v, v, j + 1
        return None

    def brace_min_only(self) -> bool:
        """ECMA: does ``{,digits}`` start at ``pos - 1``?"""
        pat, i = self.pat, self.pos
        if i >= self.n or pat[i] != ",":
            return False
        j = i + 1
        while j < self.n and pat[j] in _DIGITS:
            j += 1
        return j > i + 1 and j < self.n and pat[j] == "}"

    def quantifier(self, brace: tuple[int, int | None, int] | None) -> tuple[int, int | None]:
        """Consume the quantifier at ``pos`` (``brace``: the parsed ``{...}`` form, if
        that is what it is); return its bounds."""
        start = self.pos
        if brace is None:
            c = self.pat[start]
            self.pos += 1
            return (0, None) if c == "*" else (1, None) if c == "+" else (0, 1)
        lo, hi, end = brace
        self.pos = end
        if lo > _MAX_COUNT or (hi is not None and hi > _MAX_COUNT):
            raise self.error("the repetition number is too large", start, end)
        if hi is not None and hi < lo:
            raise self.error("min repeat greater than max repeat", start, end)
        return lo, hi

    def paren_close(self, start: int) -> int | None:
        """Offset of the ``)`` that closes the ``(`` at ``start`` (None if unbalanced)."""
        if self.closes is None:
            closes: dict[int, int] = {}
            stack: list[int] = []
            for m in (_ECMA_SCAN if self.ecma else _PY_SCAN).finditer(self.pat):
                tok = m.group()
                if tok == "(":
                    stack.append(m.start())
                elif tok == ")" and stack:
                    closes[stack.pop()] = m.start()
            self.closes = closes
        return self.closes.get(start)

    def group(self, flags: int, depth: int, can_global: bool) -> Node | int | None:
        """Parse a group at ``pos`` (``(``); see :meth:`group_body`.

        A group whose text was parsed before under the same flags is taken from the
        group cache (unless it names a group: names must be unique per pattern; or
        holds an anchor, whose offsets belong to its own pattern)."""
        start = self.pos
        close = self.paren_close(start) if self.share else None
        if close is None:
            return self.group_body(flags, depth, can_global)
        key = (self.pat[start:close + 1], flags, self.ecma)
        got = _GROUPS.data.get(key)
        if got is not None and depth + got[1] <= _MAX_DEPTH:
            self.pos = close + 1
            if depth + got[1] > self.max_depth:
                self.max_depth = depth + got[1]
            return got[0]
        outer = self.max_depth
        self.max_depth = depth
        node = self.group_body(flags, depth, can_global)
        height = self.max_depth - depth
        if outer > self.max_depth:
            self.max_depth = outer
        if (isinstance(node, (Seq, Alt, Repeat)) and not node.anchored and self.pos == close + 1
                and "(?P" not in key[0] and "(?<" not in key[0]):
            node.shared = True
            _GROUPS.put(key, (node, height))
        return node

    def group_body(self, flags: int, depth: int, can_global: bool) -> Node | int | None:
        """Parse a group at ``pos`` (``(``).  Returns the node, ``None`` for a comment,
        or an ``int`` (the new flags) for Python's global inline flags."""
        pat = self.pat
        start = self.pos
        self.pos += 1
        inner_flags = flags
        if self.peek() == "?":
            self.pos += 1
            c = self.peek()
            if c == "":
                raise self.error("unexpected end of pattern", start, self.n)
            if c == ":":
                self.pos += 1
            elif c in "=!":
                raise self.unsupported("lookahead", start, self.pos + 1)
            elif c == "<" and self.peek(1) in ("=", "!"):
                raise self.unsupported("lookbehind", start, self.pos + 2)
            elif c == "<" or (c == "P" and self.peek(1) == "<" and not self.ecma):
                self.pos += 1 if c == "<" else 2
                end = pat.find(">", self.pos)
                if end < 0:
                    raise self.error("missing '>', unterminated group name", start, self.n)
                name = pat[self.pos:end]
                if not (name.replace("$", "_") if self.ecma else name).isidentifier():
                    raise self.error("bad group name", start, end + 1)
                if name in self.group_names:
                    raise self.error("redefinition of group name", start, end + 1)
                self.group_names.add(name)
                self.pos = end + 1
            elif c == "P" and not self.ecma and self.peek(1) == "=":
                end = pat.find(")", self.pos)
                raise self.unsupported("backreference", start, end + 1 if end >= 0 else self.n)
            elif c == "P" and not self.ecma and self.peek(1) == ">":
                end = pat.find(")", self.pos)
                raise self.unsupported("recursion", start, end + 1 if end >= 0 else self.n)
            elif c == "#" and not self.ecma:
                end = self.skip_until(")", start)
                if end >= self.n:
                    raise self.error("missing ), unterminated comment", start, self.n)
                self.pos = end + 1
                return None
            elif c == "(" and not self.ecma:
                end = pat.find(")", self.pos)
                raise self.unsupported("conditional group", start, end + 1 if end >= 0 else self.n)
            elif c == ">" and not self.ecma:
                raise self.unsupported("atomic group", start, self.pos + 1)
            elif c in "R&+" or c in _DIGITS:
                end = pat.find(")", self.pos)
                raise self.unsupported("recursion", start, end + 1 if end >= 0 else self.n)
            elif c == "-" or c.isalpha():
                got = self.inline_flags(flags, start)
                if got[1]:  # global
                    if not can_global:
                        raise self.error("global flags not at the start of the expression", start, self.pos)
                    return got[0]
                inner_flags = got[0]
            else:
                raise self.error("unknown extension", start, self.pos + 1)
        node = self.alternation(inner_flags, depth + 1)
        if self.peek() != ")":
            raise self.error("missing ), unterminated subpattern", start, self.pos)
        self.pos += 1
        return node

    def inline_flags(self, flags: int, start: int) -> tuple[int, bool]:
        """Parse ``(?aiLmsux)`` / ``(?ims-ims:`` after ``(?``; returns (flags, is_global)."""
        pat = self.pat
        table = _ECMA_FLAGS if self.ecma else _PY_FLAGS
        add = ""
        while self.pos < self.n and pat[self.pos].isalpha():
            ch = pat[self.pos]
            if ch == "L" and not self.ecma:
                raise self.error("bad inline flags: cannot use 'L' flag with a str pattern", start, self.pos + 1)
            if ch not in table or (self.ecma and ch == "u"):
                raise self.error("unknown flag", start, self.pos + 1)
            add += ch
            self.pos += 1
        if "a" in add and "u" in add:
            raise self.error("bad inline flags: flags 'a', 'u' and 'L' are incompatible", start, self.pos)
        remove = ""
        if self.peek() == "-":
            self.pos += 1
            while self.pos < self.n and pat[self.pos].isalpha():
                ch = pat[self.pos]
                if ch in "auL" and not self.ecma:
                    raise self.error("bad inline flags: cannot turn off flags 'a', 'u' and 'L'", start,
                                     self.pos + 1)
                if ch not in table or (self.ecma and ch == "u"):
                    raise self.error("unknown flag", start, self.pos + 1)
                remove += ch
                self.pos += 1
            if not remove:
                raise self.error("missing flag", start, self.pos + 1)
        c = self.peek()
        if c == ")" and not remove and add and not self.ecma:
            self.pos += 1
            return self.apply_flags(flags, add, ""), True
        if c != ":":
            raise self.error("missing -, : or )" if not remove else "missing :", start, self.pos + 1)
        if set(add) & set(remove):
            raise self.error("bad inline flags: flag turned on and off", start, self.pos)
        if self.ecma and (not add and not remove or len(set(add)) != len(add) or len(set(remove)) != len(remove)):
            raise self.error("invalid modifiers group", start, self.pos + 1)
        self.pos += 1
        return self.apply_flags(flags, add, remove), False

    def apply_flags(self, flags: int, add: str, remove: str) -> int:
        table = _ECMA_FLAGS if self.ecma else _PY_FLAGS
        if "u" in add:
            flags &= ~_A
        for ch in add:
            flags |= table[ch]
        for ch in remove:
            flags &= ~table[ch]
        return flags

    # -- atoms

    def literal(self, cp: int, flags: int) -> Chars:
        """One pattern character, with case-insensitivity applied."""
        return _literal_node(cp, (flags & (_I | _A)) | (_ECMA_BIT if self.ecma else 0))

    def cached_class(self, flags: int, start: int) -> Chars:
        """:meth:`char_class`, through the class cache (``pos`` is after the ``[``)."""
        m = (_ECMA_CLASS if self.ecma else _PY_CLASS).match(self.pat, start)
        if m is None:
            return self.char_class(flags, start)
        key = (m.group(), flags & (_I | _A), self.ecma)
        got = _CLASSES.data.get(key)
        if got is not None:
            self.pos = m.end()
            return got
        node = self.char_class(flags, start)
        if self.pos == m.end():
            _CLASSES.put(key, node)
        return node

    def char_class(self, flags: int, start: int) -> Chars:
        """Parse after ``[``."""
        pat, n = self.pat, self.n
        negate = False
        if self.peek() == "^":
            negate = True
            self.pos += 1
        lits: list[tuple[int, int]] = []
        sets: list[Ranges] = []
        first = True
        while True:
            if self.pos >= n:
                raise self.error("unterminated character set", start, n)
            c = pat[self.pos]
            if c == "]" and (self.ecma or not first):
                self.pos += 1
                break
            first = False
            a_pos = self.pos
            a = self.class_atom(flags)
            if self.peek() == "-" and self.pos + 1 < n and pat[self.pos + 1] != "]":
                self.pos += 1
                b = self.class_atom(flags)
                if isinstance(a, tuple) or isinstance(b, tuple):
                    raise self.error("bad character range", a_pos, self.pos)
                if b < a:
                    raise self.error("bad character range", a_pos, self.pos)
                lits.append((a, b))
            elif self.peek() == "-" and self.pos + 1 >= n:
                raise self.error("unterminated character set", start, n)
            elif isinstance(a, tuple):
                sets.append(a)
            else:
                lits.append((a, a))
        s = normalize(lits)
        if flags & _I:
            if self.ecma:
                s = ecma_casefold_closure(union(s, *sets))
            else:
                s = union(python_casefold_closure(s, bool(flags & _A)), *sets)
        elif sets:
            s = union(s, *sets)
        if negate:
            s = complement(s)
        return Chars(_no_surrogates(s))

    def class_atom(self, flags: int) -> int | Ranges:
        """One class member: a code point, or a set (``\\d``, ``\\p{L}`` ...)."""
        c = self.pat[self.pos]
        start = self.pos
        self.pos += 1
        if c != "\\":
            return ord(c)
        if self.pos >= self.n:
            raise self.error("bad escape (end of pattern)", start, self.n)
        e = self.pat[self.pos]
        if self.ecma:
            if e == "b":
                self.pos += 1
                return 8
            if e == "-":
                self.pos += 1
                return ord("-")
            if e == "B":
                raise self.error("bad escape", start, self.pos + 1)
            return self.ecma_escape(flags, start, in_class=True)
        if e in "dDsSwW":
            self.pos += 1
            return _py_class_escape(e, bool(flags & _A))
        if e == "b":
            self.pos += 1
            return 8
        if e in _OCT:
            j = self.pos
            while j < self.n and j < self.pos + 3 and self.pat[j] in _OCT:
                j += 1
            v = int(self.pat[self.pos:j], 8)
            if v > 0o377:
                raise self.error("octal escape value outside of range 0-0o377", start, j)
            self.pos = j
            return v
        if e in "89":
            raise self.error("bad escape", start, self.pos + 1)
        if e in "AZzB":
            raise self.error("bad escape", start, self.pos + 1)
        return self.py_char_escape(start)

    def escape(self, flags: int, start: int) -> Node:
        """Parse an escape outside a class (``pos`` is after the backslash)."""
        if self.pos >= self.n:
            raise self.error("bad escape (end of pattern)", start, self.n)
        e = self.pat[self.pos]
        if e in "bB":
            raise self.unsupported("word boundary", start, self.pos + 1)
        if self.ecma:
            got = self.ecma_escape(flags, start, in_class=False)
        else:
            if e == "A":
                self.pos += 1
                return Anchor("start", 0, start, "\\A")
            if e in "Zz":
                self.pos += 1
                return Anchor("end", 0, start, "\\" + e)
            if e in "dDsSwW":
                self.pos += 1
                return Chars(_no_surrogates(_py_class_escape(e, bool(flags & _A))))
            if e == "0":
                j = self.pos + 1
                while j < self.n and j < self.pos + 3 and self.pat[j] in _OCT:
                    j += 1
                v = int(self.pat[self.pos:j], 8)
                self.pos = j
                return self.literal(v, flags)
            if e in _DIGITS:
                j = self.pos + 1
                if j < self.n and self.pat[j] in _DIGITS:
                    j += 1
                    if (e in _OCT and self.pat[j - 1] in _OCT and j < self.n and self.pat[j] in _OCT):
                        v = int(self.pat[self.pos:j + 1], 8)
                        if v > 0o377:
                            raise self.error("octal escape value outside of range 0-0o377", start, j + 1)
                        self.pos = j + 1
                        return self.literal(v, flags)
                raise self.unsupported("backreference", start, j)
            got = self.py_char_escape(start)
        if isinstance(got, tuple):
            if self.ecma and flags & _I:  # ECMA folds every character set (Python: only literals)
                got = ecma_casefold_closure(got)
            return Chars(_no_surrogates(got))
        return self.literal(got, flags)

    def py_char_escape(self, start: int) -> int:
        """Python escapes that denote one character (``pos`` at the escape letter)."""
        pat = self.pat
        e = pat[self.pos]
        self.pos += 1
        if e in _PY_ESCAPES:
            return _PY_ESCAPES[e]
        if e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            j = self.pos
            while j < self.n and j < self.pos + width and pat[j] in _HEX:
                j += 1
            if j - self.pos != width:
                raise self.error("incomplete escape", start, j)
            v = int(pat[self.pos:j], 16)
            self.pos = j
            if v > MAX_CODE:
                raise self.error("bad escape", start, j)
            return v
        if e == "N":
            if self.peek() != "{":
                raise self.error("missing {", start, self.pos)
            end = pat.find("}", self.pos)
            if end < 0 or end == self.pos + 1:
                raise self.error("missing character name", start, self.n if end < 0 else end + 1)
            name = pat[self.pos + 1:end]
            try:
                ch = unicodedata.lookup(name)
            except KeyError:
                raise self.error("undefined character name", start, end + 1) from None
            if len(ch) != 1:
                raise self.error("undefined character name", start, end + 1)
            self.pos = end + 1
            return ord(ch)
        if e.isascii() and e.isalpha():
            raise self.error("bad escape", start, self.pos)
        return ord(e)

    def ecma_escape(self, flags: int, start: int, in_class: bool) -> int | Ranges:
        """ECMA-262 (``u`` mode) escapes: a code point or a set (``pos`` at the letter)."""
        pat = self.pat
        e = pat[self.pos]
        self.pos += 1
        if e in "dDsSwW":
            return _ecma_class_escape(e, bool(flags & _I))
        if e in "pP":
            return self.ecma_property(e, start, flags)
        if e in _ECMA_ESCAPES:
            return _ECMA_ESCAPES[e]
        if e == "c":
            c = self.peek()
            if c.isascii() and c.isalpha():
                self.pos += 1
                return ord(c) % 32
            raise self.error("invalid escape \\c (needs an ASCII letter)", start, self.pos)
        if e == "0":
            if self.peek() in _DIGITS and self.peek() != "":
                raise self.error("invalid decimal escape (octal escapes are not allowed with the u flag)", start,
                                 self.pos + 1)
            return 0
        if e in _DIGITS:
            j = self.pos
            while j < self.n and pat[j] in _DIGITS:
                j += 1
            if in_class:
                raise self.error("invalid class escape", start, j)
            raise self.unsupported("backreference", start, j)
        if e == "k":
            if in_class:
                raise self.error("invalid class escape", start, self.pos)
            end = pat.find(">", self.pos)
            raise self.unsupported("backreference", start, end + 1 if end >= 0 else self.pos)
        if e == "x":
            h = pat[self.pos:self.pos + 2]
            if len(h) != 2 or not all(ch in _HEX for ch in h):
                raise self.error("invalid escape \\x (needs two hex digits)", start, self.pos)
            self.pos += 2
            return int(h, 16)
        if e == "u":
            v = self.ecma_unicode_escape(start)
            if 0xD800 <= v <= 0xDBFF and pat.startswith("\\u", self.pos):
                save = self.pos
                self.pos += 2
                try:
                    low = self.ecma_unicode_escape(save)
                except CompileError:
                    low = -1
                if 0xDC00 <= low <= 0xDFFF:
                    return 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                self.pos = save
            return v
        if not (e.isascii() and e.isalnum()):  # syntax characters, '/', and Annex B identity escapes
            return ord(e)
        raise self.error("invalid escape", start, self.pos)

    def ecma_unicode_escape(self, start: int) -> int:
        """``\\uHHHH`` or ``\\u{H...}`` (``pos`` after the ``u``)."""
        pat = self.pat
        if self.peek() == "{":
            end = pat.find("}", self.pos)
            digits = pat[self.pos + 1:end] if end > 0 else ""
            if not digits or not all(ch in _HEX for ch in digits) or int(digits, 16) > MAX_CODE:
                raise self.error("invalid Unicode escape", start, end + 1 if end > 0 else self.pos)
            self.pos = end + 1
            return int(digits, 16)
        h = pat[self.pos:self.pos + 4]
        if len(h) != 4 or not all(ch in _HEX for ch in h):
            raise self.error("invalid Unicode escape (needs four hex digits or {...})", start, self.pos)
        self.pos += 4
        return int(h, 16)

    def ecma_property(self, letter: str, start: int, flags: int) -> Ranges:
        pat = self.pat
        if self.peek() != "{":
            raise self.error("invalid property escape (needs {name})", start, self.pos)
        end = pat.find("}", self.pos)
        if end < 0:
            raise self.error("unterminated property escape", start, self.n)
        body = pat[self.pos + 1:end]
        self.pos = end + 1
        if "=" in body:
            key, _, value = body.partition("=")
            if key in ("Script", "sc", "Script_Extensions", "scx"):
                raise self.unsupported(f"Unicode script property \\p{{{key}=...}}", start, end + 1)
            if key not in ("General_Category", "gc"):
                raise self.unsupported(f"Unicode property {key!r}", start, end + 1)
            if value not in _GC_ALIASES:
                raise self.error("unknown General_Category value", start, end + 1)
            s = _gc_ranges(_GC_ALIASES[value])
        elif body in _GC_ALIASES:
            s = _gc_ranges(_GC_ALIASES[body])
        elif body in _BINARY_PROPERTIES:
            s = _BINARY_PROPERTIES[body]()
        else:
            raise self.unsupported(f"Unicode property {body!r}", start, end + 1)
        return complement(s) if letter == "P" else s


# ---------------------------------------------------------------------------
# anchors


def _any_star() -> Node:
    return Repeat(Chars(ALL), 0, None)


def _prefix_lang(rank: int, lt: Ranges) -> list[Node]:
    """What may precede the match in search mode, as a list of nodes to prepend."""
    if rank == 3:
        return [_any_star()]
    if rank == 2:
        return [alt([EMPTY, seq([_any_star(), Chars(lt)])])]
    return []


def _suffix_lang(rank: int, lt: Ranges) -> list[Node]:
    if rank == 3:
        return [_any_star()]
    if rank == 2:
        return [alt([EMPTY, seq([Chars(lt), _any_star()])])]
    if rank == 1:
        return [Repeat(Chars(_NEWLINE), 0, 1)]
    return []


def resolve_anchors(node: Node, pattern: str, *, search: bool, dialect: str = "python") -> Node:
    """Remove anchors; in search mode pad each unanchored edge with any text.

    Raises :class:`CompileError` for an anchor that is not at an edge of the match
    (or inside a repetition), naming it and its offset.
    """
    lt = _ECMA_LINE_TERMINATORS if dialect == "ecma" else _NEWLINE
    edge = 3 if search else 0
    return _pad(node, edge, edge, pattern, lt)


def _pad(node: Node, left: int | None, right: int | None, pattern: str, lt: Ranges) -> Node:
    """``node`` with anchors removed, framed by the text allowed beyond each edge.

    ``left``/``right`` are ranks (see :class:`Anchor`, 3 = anything) when the node
    stands at that edge of the match, ``None`` when it does not (anchors there are
    errors).
    """
    if not node.anchored:
        pre = _prefix_lang(left, lt) if left is not None else []
        post = _suffix_lang(right, lt) if right is not None else []
        return seq(pre + [node] + post) if pre or post else node
    if isinstance(node, Anchor):
        return _pad(Seq((node,)), left, right, pattern, lt)
    if isinstance(node, Alt):
        # P b1 S | P b2 S | ... = P (b1 | b2 | ...) S for the branches without
        # anchors: one shared "any text" loop instead of one per branch keeps the
        # subset construction small
        plain = [b for b in node.items if not b.anchored]
        rest = [_pad(b, left, right, pattern, lt) for b in node.items if b.anchored]
        if len(plain) > 1:
            return alt([_pad(alt(plain), left, right, pattern, lt)] + rest)
        return alt([_pad(b, left, right, pattern, lt) for b in node.items])
    if isinstance(node, Seq):
        items = node.items
        first = 0
        while first < len(items) and isinstance(items[first], Anchor):
            first += 1
        last = len(items) - 1
        while last >= 0 and isinstance(items[last], Anchor):
            last -= 1
        for k, it in enumerate(items):
            if not isinstance(it, Anchor):
                continue
            at_start = k < first
            at_end = k > last
            if it.side == "start":
                if not at_start or left is None:
                    raise regex_error(pattern, "anchor not at the start of the match", it.pos, it.pos + len(it.text))
                left = min(left, it.rank)
            else:
                if not at_end or right is None:
                    raise regex_error(pattern, "anchor not at the end of the match", it.pos, it.pos + len(it.text))
                right = min(right, it.rank)
        if first > last:  # only anchors
            return seq(_prefix_lang(left or 0, lt) + _suffix_lang(right or 0, lt))
        if first == last:
            return _pad(items[first], left, right, pattern, lt)
        middle = [_pad(it, None, None, pattern, lt) for it in items[first + 1:last]]
        return seq([_pad(items[first], left, None, pattern, lt)] + middle
                   + [_pad(items[last], None, right, pattern, lt)])
    # a Repeat is the only other node that can hold an anchor
    raise regex_error(pattern, "anchor inside a repetition", *_first_anchor(node))


def _first_anchor(node: Node) -> tuple[int, int]:
    """Offsets of the first anchor in ``node``'s subtree."""
    if isinstance(node, Anchor):
        return node.pos, node.pos + len(node.text)
    for it in (node.items if isinstance(node, (Seq, Alt)) else (node.item,)):  # type: ignore[attr-defined]
        if it.anchored:
            return _first_anchor(it)
    raise ValueError("no anchor in subtree")  # pragma: no cover


# ---------------------------------------------------------------------------
# entry points


def parse_regex(pattern: str, *, dialect: str = "python", flags: str = "") -> Node:
    """Parse ``pattern`` into an AST that may still contain :class:`Anchor` nodes.

    Raises :class:`CompileError` for syntax errors and unsupported constructs, with
    the fragment and its offset; for an unknown dialect or flag letter.
    """
    if dialect not in ("python", "ecma"):
        raise CompileError(f"unknown regex dialect {dialect!r} (expected 'python' or 'ecma')")
    bits = parse_flags(flags, dialect)
    return _Parser(pattern, dialect, bits).parse()


def regex_ast(pattern: str, *, dialect: str = "python", flags: str = "", search: bool = False) -> Node:
    """The anchor-free AST of the language of ``pattern`` (fullmatch or search mode)."""
    node = parse_regex(pattern, dialect=dialect, flags=flags)
    return resolve_anchors(node, pattern, search=search, dialect=dialect)


def literal_ast(text: str, *, dialect: str = "python", flags: str = "", search: bool = False) -> Node:
    """The AST of the literal string ``text`` (case-insensitive with flag ``i``).

    A lone surrogate in ``text`` cannot be UTF-8 text: the language is then empty.
    """
    bits = parse_flags(flags, dialect)
    p = _Parser("", dialect, bits)
    node = seq([p.literal(ord(ch), bits) for ch in text])
    if search:
        node = seq([_any_star(), node, _any_star()])
    return node
