"""Regular expressions for JSON numbers under JSON Schema's numeric keywords.

The language is defined by what ``jsonschema`` (the Python validator) decides, since
that is the oracle every accepted instance must pass:

* a number literal without ``.``/``e``/``E`` ("int form") is parsed by ``json.loads``
  as a Python ``int``: it is compared with the bounds *exactly*;
* any other literal ("float form") becomes a ``float``: ``float(text)`` is rounded to
  the nearest double, and *that* is compared with the bound.  Rounding is monotone, so
  ``float(x) >= F`` holds whenever ``x >= repr(F)``; we accept a float form ``x``
  exactly when ``repr(F_lo) <= x <= repr(F_hi)``, where ``F_lo``/``F_hi`` are the
  smallest/largest doubles satisfying the bounds.  This is sound (every accepted
  literal validates, including underflow and overflow: ``1e-999`` is ``0.0``) and
  loses only literals with more than 17 significant digits right at a bound.

Plain decimals (``-12.50``) are matched exactly.  With bounds, exponent forms are
accepted in normalised scientific notation (one non-zero digit before the point, as
``repr``/``json.dumps`` write them: ``1e-05``, ``-2.5E+3``), plus zero with any
exponent; without bounds every JSON number is accepted.

All regexes here are in Python syntax and use ASCII classes only (``[0-9]``, never
``\\d``, which is Unicode in Python).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from ..errors import CompileError

__all__ = [
    "NumberConstraint",
    "number_pattern",
    "number_terminal_parts",
    "integer_bounds",
    "integer_range_pattern",
    "value_pattern",
    "JSON_NUMBER",
    "JSON_INTEGER",
]

#: Every JSON number literal.
JSON_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
#: Every JSON integer literal (int form: no fraction, no exponent).
JSON_INTEGER = r"-?(?:0|[1-9][0-9]*)"

_D = "[0-9]"
# Float forms ``I.0+`` of integers are accepted for integer-typed numbers only while
# ``I`` has at most this many digits: beyond 1e308 ``float`` overflows to ``inf``,
# which is not an integer.
_INT_FLOAT_DIGITS = 15
# multipleOf by a float divisor: integer literals are accepted with at most this many
# digits (the quotient stays far from overflow; see ``_float_divisor_int_ok``).
_MULT_INT_DIGITS = 15
# Limit on the number of residues a divisibility pattern may enumerate.
_MAX_RESIDUE_BLOCK = 1000


def _alt(parts: list[str]) -> str | None:
    """``(?:a|b|...)`` of the non-empty parts; None when there are none."""
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return "(?:" + "|".join(parts) + ")"


def _group(p: str) -> str:
    return p if (len(p) <= 1 or (p.startswith("(?:") and _balanced_group(p))) else f"(?:{p})"


def _balanced_group(p: str) -> bool:
    """True when ``p`` is one group ``(?:...)`` spanning the whole string."""
    depth = 0
    i = 0
    while i < len(p):
        c = p[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            j = i + 1
            while j < len(p) and p[j] != "]":
                j += 2 if p[j] == "\\" else 1
            i = j + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0 and i != len(p) - 1:
                return False
        i += 1
    return depth == 0


def _cls(lo: int, hi: int) -> str:
    if lo == hi:
        return str(lo)
    if lo == 0 and hi == 9:
        return _D
    return f"[{lo}-{hi}]"


def _rep(n: int) -> str:
    if n == 0:
        return ""
    if n == 1:
        return _D
    return f"{_D}{{{n}}}"


# ---------------------------------------------------------------------------------
# unsigned integers
# ---------------------------------------------------------------------------------

# Bounds longer than this (in digits) are split in halves (:func:`_split_range`): the
# nested form opens a group per digit (a float bound such as 1e308 has 309 digits),
# and a flat union of one branch per digit needs a DFA of n^2/2 states to build.
_SPLIT_DIGITS = 40
_SPLIT_BASE = 16  # halves this short are written nested


def _fixed_range(a: str, b: str) -> str:
    """Digit strings of ``len(a) == len(b)`` digits between ``a`` and ``b`` (inclusive)."""
    return _split_range(a, b) if len(a) > _SPLIT_DIGITS else _nested_range(a, b)


def _nested_range(a: str, b: str) -> str:
    """:func:`_fixed_range` as nested alternatives, one group per digit."""
    if not a:
        return ""
    if a == b:
        return a
    if a[0] == b[0]:
        return a[0] + _nested_range(a[1:], b[1:])
    n = len(a) - 1
    zeros, nines = "0" * n, "9" * n
    if a[1:] == zeros and b[1:] == nines:
        return _cls(int(a[0]), int(b[0])) + _rep(n)
    alts = []
    lo_first = int(a[0])
    if a[1:] != zeros:
        alts.append(a[0] + _group(_nested_range(a[1:], nines)))
        lo_first += 1
    hi_first = int(b[0])
    tail = None
    if b[1:] != nines:
        tail = b[0] + _group(_nested_range(zeros, b[1:]))
        hi_first -= 1
    if lo_first <= hi_first:
        alts.append(_cls(lo_first, hi_first) + _rep(n))
    if tail is not None:
        alts.append(tail)
    return _alt(alts)


def _split_range(a: str, b: str) -> str:
    """What :func:`_fixed_range` matches, for long bounds: after the common prefix and
    the first differing digit, the strings at least ``a``'s rest, strictly between, or
    at most ``b``'s rest (:func:`_one_sided`)."""
    n = len(a)
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    if i == n:
        return a
    if a[i + 1:] == "0" * (n - i - 1) and b[i + 1:] == "9" * (n - i - 1):
        return a[:i] + _cls(int(a[i]), int(b[i])) + _rep(n - i - 1)
    alts = [a[:i + 1] + _group(_one_sided(a[i + 1:], True))]
    if int(a[i]) + 1 <= int(b[i]) - 1:
        alts.append(a[:i] + _cls(int(a[i]) + 1, int(b[i]) - 1) + _rep(n - i - 1))
    alts.append(b[:i + 1] + _group(_one_sided(b[i + 1:], False)))
    return _alt(alts)


def _one_sided(a: str, up: bool) -> str:
    """Digit strings of ``len(a)`` digits, leading zeros allowed, at least ``a`` (``up``)
    or at most ``a``.  Split in halves ``a = h t``: beyond ``h`` then any ``len(t)``
    digits, or ``h`` then beyond-or-at ``t``.  The halves' tails are one shared
    counter, so the DFA has O(n log n) states and the pattern nests O(log n) deep."""
    n = len(a)
    far, near = ("9", "0") if up else ("0", "9")
    if a == near * n:
        return _rep(n)
    if n <= _SPLIT_BASE:
        return _nested_range(a, far * n) if up else _nested_range(far * n, a)
    h = n // 2
    head, tail = a[:h], a[h:]
    alts = []
    if head != far * h:
        alts.append(_group(_one_sided(str(int(head) + (1 if up else -1)).zfill(h), up)) + _rep(n - h))
    alts.append(head + _group(_one_sided(tail, up)))
    return _alt(alts)


def _uint_range(lo: int, hi: int | None) -> str | None:
    """Canonical unsigned integer literals (``0`` or no leading zero) in ``[lo, hi]``;
    ``hi=None`` means unbounded.  None when the range is empty."""
    lo = max(lo, 0)
    if hi is not None and lo > hi:
        return None
    parts: list[str] = []
    if lo == 0:
        parts.append("0")
        lo = 1
        if hi is not None and hi < 1:
            return "0"
    la = len(str(lo))
    if hi is None:
        top = 10 ** la - 1
        parts.append(_fixed_range(str(lo), str(top)))
        parts.append(f"[1-9]{_D}{{{la},}}")
        return _alt(parts)
    lb = len(str(hi))
    for length in range(la, lb + 1):
        a = max(lo, 10 ** (length - 1))
        b = min(hi, 10 ** length - 1)
        if a <= b:
            parts.append(_fixed_range(str(a), str(b)))
    return _alt(parts)


def _with_leading_zeros(p: str) -> str:
    """Allow leading zeros before a canonical unsigned integer pattern (exponents)."""
    return "0*" + _group(p)


# ---------------------------------------------------------------------------------
# fractions: digit strings F read as 0.F
# ---------------------------------------------------------------------------------

_FREE = "free"        # no constraint left on this side
_NONZERO = "nonzero"  # lower side: equal so far, a non-zero digit must still come
_ZEROS = "zeros"      # upper side: equal so far, only zeros may follow
_DEAD = "dead"


def _lo_step(state, d: int):
    if state == _FREE:
        return _FREE
    if state == _NONZERO:
        return _FREE if d else _NONZERO
    s, incl = state
    c = int(s[0])
    if d > c:
        return _FREE
    if d < c:
        return _DEAD
    rest = s[1:]
    if not rest:
        return _FREE if incl else _NONZERO
    return (rest, incl)


def _hi_step(state, d: int):
    if state == _FREE:
        return _FREE
    if state == _ZEROS:
        return _ZEROS if d == 0 else _DEAD
    s, incl = state
    c = int(s[0])
    if d < c:
        return _FREE
    if d > c:
        return _DEAD
    rest = s[1:]
    if not rest:
        return _ZEROS if incl else _DEAD
    return (rest, incl)


def _can_end(lo, hi) -> bool:
    return lo == _FREE and hi != _DEAD


def _frac_suffix(lo, hi, started: bool) -> str | None:
    """Regex for the rest of a fraction digit string from state (lo, hi)."""
    if lo == _DEAD or hi == _DEAD:
        return None
    if lo == _FREE and hi == _FREE:
        return f"{_D}*" if started else f"{_D}+"
    if lo == _NONZERO and hi == _FREE:
        return f"0*[1-9]{_D}*"
    if lo == _FREE and hi == _ZEROS:
        return "0*" if started else "0+"
    if lo == _NONZERO and hi == _ZEROS:
        return None
    # group digits by successor state
    groups: dict[tuple, list[int]] = {}
    order: list[tuple] = []
    for d in range(10):
        nxt = (_lo_step(lo, d), _hi_step(hi, d))
        if _DEAD in nxt:
            continue
        if nxt not in groups:
            groups[nxt] = []
            order.append(nxt)
        groups[nxt].append(d)
    alts = []
    for nxt in order:
        digits = groups[nxt]
        rest = _frac_suffix(nxt[0], nxt[1], True)
        if rest is None:
            continue
        alts.append(_digits_class(digits) + (_group(rest) if rest else ""))
    body = _alt(alts)
    if started and _can_end(lo, hi):
        return f"{_group(body)}?" if body is not None else ""
    return body


def _digits_class(digits: list[int]) -> str:
    if len(digits) == 1:
        return str(digits[0])
    runs = []
    start = prev = digits[0]
    for d in digits[1:]:
        if d == prev + 1:
            prev = d
            continue
        runs.append((start, prev))
        start = prev = d
    runs.append((start, prev))
    if runs == [(0, 9)]:
        return _D
    inner = "".join(f"{a}" if a == b else (f"{a}{b}" if b == a + 1 else f"{a}-{b}") for a, b in runs)
    return f"[{inner}]"


def _frac_digits(x: Fraction) -> str:
    """Fraction digits of the non-negative finite decimal ``x`` (trailing zeros dropped)."""
    frac = x - math.floor(x)
    if frac == 0:
        return ""
    # x is a finite decimal (it comes from repr() or from a schema literal)
    text = format(_exact_decimal(frac), "f")
    digits = text.split(".")[1] if "." in text else ""
    return digits.rstrip("0")


def _exact_decimal(x: Fraction) -> Decimal:
    """The exact Decimal of a Fraction whose denominator is 2^a 5^b."""
    den = x.denominator
    a = b = 0
    while den % 2 == 0:
        den //= 2
        a += 1
    while den % 5 == 0:
        den //= 5
        b += 1
    if den != 1:
        raise ValueError(f"{x} is not a finite decimal")
    k = max(a, b)
    scaled = x * 10 ** k
    if scaled.denominator != 1:  # pragma: no cover - arithmetic guarantee
        raise ValueError(f"{x} is not a finite decimal")
    return Decimal(scaled.numerator).scaleb(-k)


def _frac_range(lo: str | None, lo_incl: bool, hi: str | None, hi_incl: bool) -> str | None:
    """Non-empty digit strings F with ``lo <= 0.F <= hi`` (bounds as fraction digits
    without trailing zeros; None = unbounded on that side; inclusivity per flag)."""
    if lo is None:
        lo_state = _FREE
    elif lo == "":
        lo_state = _FREE if lo_incl else _NONZERO
    else:
        lo_state = (lo, lo_incl)
    if hi is None:
        hi_state = _FREE
    elif hi == "":
        hi_state = _ZEROS if hi_incl else _DEAD
    else:
        hi_state = (hi, hi_incl)
    return _frac_suffix(lo_state, hi_state, False)


# ---------------------------------------------------------------------------------
# magnitudes: unsigned decimal literals in an interval
# ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Interval:
    """``lo <= x <= hi`` over non-negative exact rationals (``hi=None``: unbounded)."""

    lo: Fraction
    lo_incl: bool
    hi: Fraction | None
    hi_incl: bool

    def empty(self) -> bool:
        if self.hi is None:
            return False
        if self.lo < self.hi:
            return False
        return not (self.lo == self.hi and self.lo_incl and self.hi_incl)

    def contains(self, x: Fraction) -> bool:
        if x < self.lo or (x == self.lo and not self.lo_incl):
            return False
        if self.hi is not None and (x > self.hi or (x == self.hi and not self.hi_incl)):
            return False
        return True


def _plain_float(iv: _Interval, *, max_int: int | None = None) -> str | None:
    """Unsigned literals ``I.F`` (fraction mandatory) with value in ``iv``."""
    if iv.empty():
        return None
    ia = math.floor(iv.lo)
    fa = _frac_digits(iv.lo)
    if iv.hi is None:
        parts = []
        f = _frac_range(fa, iv.lo_incl, None, True)
        if f is not None:
            parts.append(f"{ia}\\.{_group(f)}")
        rest = _uint_range(ia + 1, None)
        if rest is not None:
            parts.append(f"{_group(rest)}\\.{_D}+")
        return _alt(parts)
    ib = math.floor(iv.hi)
    fb = _frac_digits(iv.hi)
    if ia == ib:
        f = _frac_range(fa, iv.lo_incl, fb, iv.hi_incl)
        return None if f is None else f"{ia}\\.{_group(f)}"
    parts = []
    f = _frac_range(fa, iv.lo_incl, None, True)
    if f is not None:
        parts.append(f"{ia}\\.{_group(f)}")
    mid = _uint_range(ia + 1, ib - 1)
    if mid is not None:
        parts.append(f"{_group(mid)}\\.{_D}+")
    f = _frac_range(None, True, fb, iv.hi_incl)
    if f is not None:
        parts.append(f"{ib}\\.{_group(f)}")
    return _alt(parts)


def _int_interval(iv: _Interval) -> tuple[int, int | None] | None:
    """The integers of ``iv`` as ``[a, b]``; None when there are none."""
    a = math.ceil(iv.lo)
    if a == iv.lo and not iv.lo_incl:
        a += 1
    if iv.hi is None:
        return a, None
    b = math.floor(iv.hi)
    if b == iv.hi and not iv.hi_incl:
        b -= 1
    return (a, b) if a <= b else None


def _plain_int(iv: _Interval) -> str | None:
    r = _int_interval(iv)
    return None if r is None else _uint_range(*r)


def _exponent_pattern(lo: int | None, hi: int | None) -> str | None:
    """``[eE]`` followed by an exponent with value in ``[lo, hi]`` (None = unbounded)."""
    parts = []
    if (lo is None or lo <= 0) and (hi is None or hi >= 0):
        parts.append("[+-]?0+")
    # positive exponents
    plo = 1 if lo is None else max(lo, 1)
    if hi is None or hi >= plo:
        p = _uint_range(plo, hi)
        if p is not None:
            parts.append("\\+?" + _with_leading_zeros(p))
    # negative exponents: magnitude in [max(1, -hi), -lo]
    nlo = 1 if hi is None else max(1, -hi)
    nhi = None if lo is None else -lo
    if nhi is None or nhi >= nlo:
        p = _uint_range(nlo, nhi)
        if p is not None:
            parts.append("-" + _with_leading_zeros(p))
    body = _alt(parts)
    return None if body is None else "[eE]" + _group(body)


def _sci(iv: _Interval) -> str | None:
    """Unsigned normalised scientific literals ``d(.F)?[eE]x`` (d in 1-9) in ``iv``.
    Zero (``0e5``) is handled by the caller."""
    if iv.empty():
        return None
    if iv.hi is not None and iv.hi == 0:
        return None
    # decades [10^e, 10^(e+1)) that meet the interval
    lo_pos = iv.lo
    e_lo = None if lo_pos == 0 else _decade(lo_pos)
    e_hi = None if iv.hi is None else _decade(iv.hi)
    parts = []
    full_lo = None if e_lo is None else e_lo + 1   # decades strictly above lo's are full
    full_hi = None if e_hi is None else e_hi - 1   # ... and strictly below hi's
    if e_lo is not None and e_hi is not None and e_lo == e_hi:
        m = _mantissa(iv, e_lo)
        if m is not None:
            parts.append(m + _exponent_pattern(e_lo, e_lo))
        return _alt(parts)
    if e_lo is not None:
        m = _mantissa(iv, e_lo)
        if m is not None:
            parts.append(m + _exponent_pattern(e_lo, e_lo))
    if full_lo is None or full_hi is None or full_lo <= full_hi:
        ex = _exponent_pattern(full_lo, full_hi)
        if ex is not None:
            parts.append(f"[1-9](?:\\.{_D}+)?" + ex)
    if e_hi is not None:
        m = _mantissa(iv, e_hi)
        if m is not None:
            parts.append(m + _exponent_pattern(e_hi, e_hi))
    return _alt(parts)


def _decade(x: Fraction) -> int:
    """The e with 10^e <= x < 10^(e+1), for x > 0."""
    e = math.floor(math.log10(x.numerator) - math.log10(x.denominator))
    while Fraction(10) ** e > x:
        e -= 1
    while Fraction(10) ** (e + 1) <= x:
        e += 1
    return e


def _mantissa(iv: _Interval, e: int) -> str | None:
    """Mantissas ``d(.F)?`` (d in 1-9) with ``m * 10^e`` in ``iv``."""
    scale = Fraction(10) ** e
    lo, lo_incl = iv.lo / scale, iv.lo_incl
    if lo < 1:
        lo, lo_incl = Fraction(1), True
    if iv.hi is None or iv.hi / scale >= 10:
        hi, hi_incl = Fraction(10), False
    else:
        hi, hi_incl = iv.hi / scale, iv.hi_incl
    m = _Interval(lo, lo_incl, hi, hi_incl)
    if m.empty():
        return None
    parts = []
    ints = _int_interval(m)
    if ints is not None:
        a, b = ints
        parts.append(_cls(max(a, 1), min(b, 9)) if max(a, 1) <= min(b, 9) else None)
    parts.append(_plain_float(m))
    return _alt([p for p in parts if p is not None])


# ---------------------------------------------------------------------------------
# bounds with Python semantics
# ---------------------------------------------------------------------------------

def _exact(v) -> Fraction:
    if isinstance(v, bool):
        raise CompileError(f"a numeric bound must be a number, not {v!r}")
    if isinstance(v, int):
        return Fraction(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise CompileError(f"a numeric bound must be finite, not {v!r}")
        return Fraction(v)
    if isinstance(v, (Fraction, Decimal)):
        return Fraction(v)
    raise CompileError(f"a numeric bound must be a number, not {v!r}")


def _float_lo(bound, exclusive: bool) -> float:
    """The smallest double d with d >= bound (d > bound when exclusive), compared the
    way Python compares a float with ``bound`` (exactly)."""
    try:
        f = float(bound)
    except OverflowError:
        return math.inf if bound > 0 else -math.inf
    while (f < bound) or (exclusive and f == bound):
        f = math.nextafter(f, math.inf)
    while True:
        g = math.nextafter(f, -math.inf)
        if g > bound or (not exclusive and g == bound):
            f = g
        else:
            break
    return f


def _float_hi(bound, exclusive: bool) -> float:
    try:
        f = float(bound)
    except OverflowError:
        return math.inf if bound > 0 else -math.inf
    while (f > bound) or (exclusive and f == bound):
        f = math.nextafter(f, -math.inf)
    while True:
        g = math.nextafter(f, math.inf)
        if g < bound or (not exclusive and g == bound):
            f = g
        else:
            break
    return f


@dataclass(frozen=True)
class NumberConstraint:
    """The numeric keywords that apply to one schema, as values from the schema.

    ``minimum``/``maximum`` hold ``(value, exclusive)`` pairs (the tightest of all
    bounds; values as the schema wrote them: ``int`` or ``float``); ``integer``
    restricts to integers (JSON Schema ``"type": "integer"``, which includes
    ``1.0``); ``multiple_of`` lists every ``multipleOf`` divisor.
    """

    minimum: tuple[object, bool] | None = None
    maximum: tuple[object, bool] | None = None
    integer: bool = False
    multiple_of: tuple = ()

    def tighten(self, other: "NumberConstraint") -> "NumberConstraint":
        """The conjunction of two constraints."""
        lo = _tighter(self.minimum, other.minimum, lower=True)
        hi = _tighter(self.maximum, other.maximum, lower=False)
        mult = tuple(dict.fromkeys(self.multiple_of + other.multiple_of))
        return NumberConstraint(lo, hi, self.integer or other.integer, mult)

    def is_empty(self) -> bool:
        """True when no JSON number satisfies the bounds (multipleOf aside)."""
        return number_pattern(self) is None

    def contains(self, value) -> bool:
        """Exact jsonschema semantics for a parsed number ``value`` (int or float)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.integer and not (isinstance(value, int) or value.is_integer()):
            return False
        if self.minimum is not None:
            b, ex = self.minimum
            if value < b or (ex and value == b):
                return False
        if self.maximum is not None:
            b, ex = self.maximum
            if value > b or (ex and value == b):
                return False
        for d in self.multiple_of:
            if isinstance(d, float):
                try:
                    q = value / d
                    if int(q) != q:
                        return False
                except (OverflowError, ValueError):
                    return False
            elif value % d:
                return False
        return True


def _tighter(a, b, *, lower: bool):
    if a is None:
        return b
    if b is None:
        return a
    va, vb = _exact(a[0]), _exact(b[0])
    if va == vb:
        return a if a[1] else b
    if lower:
        return a if va > vb else b
    return a if va < vb else b


def _signed(pos: str | None, neg: str | None) -> str | None:
    parts = []
    if pos is not None:
        parts.append(pos)
    if neg is not None:
        parts.append("-" + _group(neg))
    return _alt(parts)


def _split(lo: Fraction | None, lo_incl: bool, hi: Fraction | None, hi_incl: bool
           ) -> tuple[_Interval | None, _Interval | None]:
    """Magnitude intervals of the positive (sign-less) and negative (``-``) literals
    whose value lies in [lo, hi].  ``-0`` counts as 0."""
    # positive literals: magnitude m, value m
    if hi is not None and (hi < 0 or (hi == 0 and not hi_incl)):
        pos = None
    else:
        if lo is None or lo < 0:
            plo, plo_incl = Fraction(0), True
        else:
            plo, plo_incl = lo, lo_incl
        pos = _Interval(plo, plo_incl, hi, hi_incl)
        if pos.empty():
            pos = None
    # negative literals: magnitude m, value -m; need lo <= -m <= hi
    if lo is not None and (lo > 0 or (lo == 0 and not lo_incl)):
        neg = None
    else:
        if hi is None or hi > 0:
            nlo, nlo_incl = Fraction(0), True
        else:
            nlo, nlo_incl = -hi, hi_incl
        nhi, nhi_incl = (None, True) if lo is None else (-lo, lo_incl)
        neg = _Interval(nlo, nlo_incl, nhi, nhi_incl)
        if neg.empty():
            neg = None
    return pos, neg


def _int_forms(lo: int | None, hi: int | None, mod: str | None = None, *, max_digits: int | None = None
               ) -> str | None:
    """Int-form literals (``-?(0|[1-9][0-9]*)``) with value in ``[lo, hi]``."""
    lo_f = None if lo is None else Fraction(lo)
    hi_f = None if hi is None else Fraction(hi)
    pos, neg = _split(lo_f, True, hi_f, True)
    cap = None if max_digits is None else 10 ** max_digits - 1

    def mag(iv):
        if iv is None:
            return None
        r = _int_interval(iv)
        if r is None:
            return None
        a, b = r
        if cap is not None:
            b = cap if b is None else min(b, cap)
        return _uint_range(a, b)

    return _signed(mag(pos), mag(neg))


def integer_range_pattern(lo: int | None, hi: int | None) -> str | None:
    """Regex of the JSON int-form literals (``-0`` included) with value in
    ``[lo, hi]`` (None = unbounded).  None when the range is empty.

    >>> import re; p = integer_range_pattern(-5, 12)
    >>> [s for s in ["-5", "-6", "0", "-0", "12", "13", "007"] if re.fullmatch(p, s)]
    ['-5', '0', '-0', '12']
    """
    return _int_forms(lo, hi)


def _float_bounds(c: NumberConstraint) -> tuple[Fraction | None, Fraction | None] | None:
    """Exact decimal thresholds for float forms (inclusive); None when no double
    satisfies the bounds."""
    lo = hi = None
    if c.minimum is not None:
        b, ex = c.minimum
        f = _float_lo(b, ex)
        if f == math.inf:
            return None
        if f != -math.inf:
            lo = Fraction(Decimal(repr(f)))
    if c.maximum is not None:
        b, ex = c.maximum
        f = _float_hi(b, ex)
        if f == -math.inf:
            return None
        if f != math.inf:
            hi = Fraction(Decimal(repr(f)))
    if lo is not None and hi is not None and lo > hi:
        return None
    return lo, hi


def integer_bounds(c: NumberConstraint) -> tuple[int | None, int | None] | None:
    """The integers ``[lo, hi]`` (None: unbounded side) within the bounds of ``c``;
    None when there is none."""
    lo = hi = None
    if c.minimum is not None:
        b, ex = c.minimum
        v = _exact(b)
        lo = math.floor(v) + 1 if ex and v == math.floor(v) else math.ceil(v)
    if c.maximum is not None:
        b, ex = c.maximum
        v = _exact(b)
        hi = math.ceil(v) - 1 if ex and v == math.ceil(v) else math.floor(v)
    if lo is not None and hi is not None and lo > hi:
        return None
    return lo, hi


def _float_forms(lo: Fraction | None, hi: Fraction | None) -> str | None:
    """Float-form literals (with ``.`` or an exponent) with value in [lo, hi]."""
    if lo is None and hi is None:
        return r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][+-]?[0-9]+)?|[eE][+-]?[0-9]+)"
    pos, neg = _split(lo, True, hi, True)

    def mag(iv: _Interval | None) -> str | None:
        if iv is None:
            return None
        if iv.lo == 0 and iv.lo_incl and iv.hi is None:
            return r"(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][+-]?[0-9]+)?|[eE][+-]?[0-9]+)"
        parts = [_plain_float(_clip_tiny(iv)), _sci(iv)]
        if iv.contains(Fraction(0)):
            parts.append(r"0(?:\.0+)?[eE][+-]?[0-9]+")
        return _alt([p for p in parts if p is not None])

    return _signed(mag(pos), mag(neg))


_TINY = Fraction(1, 10 ** 20)


def _clip_tiny(iv: _Interval) -> _Interval:
    """Drop magnitudes in (0, 1e-20) whose bound would need a long fraction digit
    string (e.g. ``repr(5e-324)``); such values stay reachable in exponent form."""
    lo, lo_incl, hi, hi_incl = iv.lo, iv.lo_incl, iv.hi, iv.hi_incl
    if 0 < lo < _TINY:
        lo, lo_incl = _TINY, True
    if hi is not None and 0 < hi < _TINY:
        hi, hi_incl = Fraction(0), True
    return _Interval(lo, lo_incl, hi, hi_incl)


def _int_float_forms(lo: Fraction | None, hi: Fraction | None) -> str | None:
    """Float forms ``I.0+`` of integers (the only float forms accepted for
    ``"type": "integer"``), with ``I`` of at most ``_INT_FLOAT_DIGITS`` digits."""
    def ceil_or_none(x):
        return None if x is None else math.ceil(x)

    def floor_or_none(x):
        return None if x is None else math.floor(x)

    body = _int_forms(ceil_or_none(lo), floor_or_none(hi), max_digits=_INT_FLOAT_DIGITS)
    return None if body is None else _group(body) + r"\.0+"


# ---------------------------------------------------------------------------------
# multipleOf
# ---------------------------------------------------------------------------------

def _pow_2_5(n: int) -> tuple[int, int, int]:
    """n = 2^a 5^b m with m coprime to 10; returns (a, b, m)."""
    a = b = 0
    while n % 2 == 0:
        n //= 2
        a += 1
    while n % 5 == 0:
        n //= 5
        b += 1
    return a, b, n


def _elim_regex(n_states: int, start: int, finals: set[int], edges: dict[tuple[int, int], str]) -> str | None:
    """Regex of an automaton by state elimination (Brzozowski–McCluskey).

    ``edges[(p, q)]`` is a regex for the labels from p to q.  States are eliminated in
    decreasing order.  Returns None for the empty language.
    """
    S, F = n_states, n_states + 1
    e: dict[tuple[int, int], str] = dict(edges)
    e[(S, start)] = ""
    for f in finals:
        e[(f, F)] = ""

    def union(a, b):
        if a is None:
            return b
        if b is None or a == b:
            return a
        return f"(?:{a}|{b})"

    for k in reversed(range(n_states)):
        loop = e.pop((k, k), None)
        star = f"{_group(loop)}*" if loop else ""
        ins = [(p, r) for (p, q), r in e.items() if q == k]
        outs = [(q, r) for (p, q), r in e.items() if p == k]
        for p, _ in ins:
            del e[(p, k)]
        for q, _ in outs:
            del e[(k, q)]
        for p, r1 in ins:
            for q, r2 in outs:
                piece = f"{_group(r1) if r1 else ''}{star}{_group(r2) if r2 else ''}"
                e[(p, q)] = union(e.get((p, q)), piece)
    return e.get((S, F))


_MAX_MOD_REGEX = 60_000


@lru_cache(maxsize=64)
def _mod_regex(m: int) -> str:
    """Digit strings (leading zeros allowed) whose value is ≡ 0 (mod m), for m coprime
    to 10.  Raises :class:`CompileError` when the regex would be too large."""
    if m > 10:
        raise CompileError(f"multipleOf {m}: the divisibility automaton has no compact regular expression")
    edges: dict[tuple[int, int], str] = {}
    for r in range(m):
        targets: dict[int, list[int]] = {}
        for d in range(10):
            targets.setdefault((10 * r + d) % m, []).append(d)
        for q, digits in targets.items():
            edges[(r, q)] = _digits_class(digits)
    out = _elim_regex(m, 0, {0}, edges)
    if out is None or len(out) > _MAX_MOD_REGEX:
        raise CompileError(f"multipleOf {m}: the divisibility automaton has no compact regular expression")
    return out


def _divisible_patterns(d: int) -> list[str]:
    """Regexes over signed int-form literals whose intersection (with any int-form
    pattern) keeps exactly the multiples of ``d``."""
    if d == 1:
        return []
    a, b, m = _pow_2_5(d)
    out = []
    k = max(a, b)
    q = 2 ** a * 5 ** b
    if q > 1:
        if 10 ** k // q > _MAX_RESIDUE_BLOCK:
            raise CompileError(f"multipleOf {d}: too many residues (mod {q}) to enumerate")
        blocks = _alt([str(r).zfill(k) for r in range(0, 10 ** k, q)])
        small = _alt([str(v) for v in range(0, 10 ** (k - 1)) if v % q == 0])
        out.append(f"-?(?:{small}|{_D}*{_group(blocks)})")
    if m > 1:
        out.append(f"-?{_group(_mod_regex(m))}")
    return out


def _float_divisor_int_ok(d: float) -> bool:
    """True when float division keeps ``x / d`` integral for every integer ``x`` with
    at most ``_MULT_INT_DIGITS`` digits (so int forms are all multiples of ``d`` for
    jsonschema).  Requires d == 1/n for an integer n: then x / d is the correctly
    rounded x * n * (1 + δ), |δ| ≤ 2^-53, which rounds back to the integer x * n; we
    also probe the property on a spread of values.
    """
    inv = 1 / d
    if not math.isfinite(inv):
        return False
    n = round(inv)
    if n < 1 or float(Fraction(1, n)) != d:
        return False
    limit = 10 ** _MULT_INT_DIGITS
    probes = list(range(1, 3000)) + [limit - i for i in range(1, 3000)]
    probes += [j * 10 ** e + o for e in range(_MULT_INT_DIGITS) for j in (1, 3, 7) for o in (-1, 0, 1)]
    for x in probes:
        if 0 < x < limit:
            q = x / d
            if not math.isfinite(q) or int(q) != q:
                return False
    return True


def number_terminal_parts(c: NumberConstraint) -> list[str] | None:
    """Regexes (Python syntax) whose intersection is the set of JSON number literals
    that satisfy ``c`` under jsonschema's semantics; None when no literal does.

    With ``multipleOf`` only int-form literals and their ``I.0+`` spellings are
    produced (other float forms are judged by float division, which is not regular).  Raises :class:`CompileError` for a
    divisor whose multiples no regular language enforces exactly, e.g. ``0.3``
    (``0.9 / 0.3 == 3.0000000000000004``, so 0.9 is *not* a multiple for the validator).
    """
    if not c.multiple_of:
        p = number_pattern(c)
        return None if p is None else [p]
    ints = integer_bounds(c)
    if ints is None:
        return None
    divisors: list[int] = []
    max_digits = None
    for d in c.multiple_of:
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not d > 0:
            raise CompileError(f"multipleOf must be a positive number, not {d!r}")
        if isinstance(d, int):
            divisors.append(d)
        elif d.is_integer() and d < 2 ** 53:
            di = int(d)
            divisors.append(di)
            if di & (di - 1):
                # x / d in floats is exact only while x stays small
                max_digits = _MULT_INT_DIGITS
        elif _float_divisor_int_ok(d):
            max_digits = _MULT_INT_DIGITS
        elif Fraction(d) == Fraction(repr(d)) and Fraction(d).numerator <= _MAX_RESIDUE_BLOCK:
            # d = p / 2^j exactly (1.5, 2.5, 0.25): for an integer x below 2^53,
            # x / d == x * 2^j / p is computed exactly when it is an integer, i.e.
            # when p divides x
            divisors.append(Fraction(d).numerator)
            max_digits = _MULT_INT_DIGITS
        else:
            raise CompileError(
                f"multipleOf {d!r}: validators decide multiples of a non-integer divisor by float "
                f"division (0.07 / 0.01 == 7.000000000000001), which no regular language matches exactly")
    g = 1
    for d in divisors:
        g = g * d // math.gcd(g, d)
    base = _int_forms(*ints, max_digits=max_digits)
    if base is None:
        return None
    # float forms I.0+ have the value of I (exactly, with at most 15 digits), and the
    # validator divides float(I) either way: accepted where I is
    short = _int_forms(*ints, max_digits=_INT_FLOAT_DIGITS)
    if short is None:
        return [base] + _divisible_patterns(g)
    first = f"(?:{base}|{_group(short)}\\.0+)"
    return [first] + [f"(?:{p})(?:\\.0+)?" for p in _divisible_patterns(g)]


def number_pattern(c: NumberConstraint) -> str | None:
    """Regex (Python syntax) of the JSON number literals that satisfy the bounds and
    type of ``c`` under jsonschema's semantics; None when no literal does.  Ignores
    ``multipleOf`` (see :func:`number_terminal_parts`)."""
    ints = integer_bounds(c)
    int_part = None if ints is None else _int_forms(*ints)
    fb = _float_bounds(c)
    if fb is None:
        float_part = None
    elif c.integer:
        float_part = _int_float_forms(*fb)
    else:
        float_part = _float_forms(*fb)
    return _alt([p for p in (int_part, float_part) if p is not None])


def value_pattern(value) -> str:
    """Regex of every JSON number literal equal (as jsonschema compares) to the
    number ``value``: ``1`` matches ``1``, ``1.0``, ``1.00``, ``1e0``, ``1.0E+00``... (exponent
    forms in normalised scientific notation only)

    Raises :class:`CompileError` when ``value`` is not a finite number.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CompileError(f"not a number: {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise CompileError(f"not a finite number: {value!r}")
    c = NumberConstraint(minimum=(value, False), maximum=(value, False))
    p = number_pattern(c)
    if p is None:  # pragma: no cover - a value always equals itself
        raise CompileError(f"no literal equals {value!r}")
    return p


def non_integer_pattern() -> str:
    """Plain decimal literals with a non-zero fraction digit and at most 15
    significant digits before the trailing zeros: ``float`` keeps them
    non-integral (the fraction is far above the rounding error), so jsonschema
    never reads them as integers."""
    parts = []
    for k in range(1, 15):
        ip = "0" if k == 1 else f"[1-9][0-9]{{{k - 1}}}"
        if k == 1:
            ip = "[0-9]"
        parts.append(f"{ip}\\.[0-9]{{0,{14 - k}}}[1-9]0*")
    return f"-?(?:{'|'.join(parts)})"
