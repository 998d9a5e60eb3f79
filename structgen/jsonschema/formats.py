"""Regular expressions for JSON Schema ``format`` values.

Each regex (Python syntax, matched in full against the *decoded* string) follows the
RFC the JSON-Schema-Test-Suite uses, and is a subset of what ``jsonschema``'s format
checker accepts where that checker is active (``date``, ``email``, ``ipv4``,
``ipv6``, ``uuid``, ``idn-hostname``, ``regex`` with the default installation), so
an accepted string always validates.  Where an RFC rule is not regular or would blow
up the automaton, the regex is *stricter* than the RFC (documented per format), never
looser:

* ``hostname``/``idn-hostname``: ASCII LDH labels only; labels with ``--`` in the 3rd
  and 4th positions (reserved, including ``xn--`` A-labels, whose Punycode validity is
  not regular) are rejected.  ``hostname`` does not enforce the 253-character total;
  ``idn-hostname`` (checked by the ``idna`` package) bounds the total by allowing up
  to 3 labels of ≤63 characters or up to 8 labels of ≤30.
* ``time``/``date-time``: a leap second (``:60``) is accepted at 23:59 written in
  UTC (``Z``, ``+00:00``, ``-00:00``) only: leap seconds written with another offset
  (``15:59:60-08:00``) would grow the automaton tenfold.
* ``regex``: a conservative, regular subset of Python ``re`` syntax that always
  compiles (no nested groups beyond depth 2, ranges only ``a-z``, ``A-Z``, ``0-9``).

:data:`FORMATS` maps a format name to its regex; :func:`format_pattern` raises
:class:`CompileError` for a known format it cannot express and returns None for an
unknown one (an annotation per the spec: validators ignore it).
"""

from __future__ import annotations

from ..errors import CompileError

__all__ = ["FORMATS", "format_pattern", "KNOWN_UNSUPPORTED"]

_D = "[0-9]"
_HEX = "[0-9A-Fa-f]"


def _alt(*parts: str) -> str:
    return "(?:" + "|".join(parts) + ")"


# ---------------------------------------------------------------------------------
# dates and times (RFC 3339 section 5.6)
# ---------------------------------------------------------------------------------

_YEAR = "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_MONTH_DAY = _alt(
    "(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])",
    "(?:0[13-9]|1[0-2])-(?:29|30)",
    "(?:0[13578]|1[02])-31",
)
DATE = _alt(f"{_YEAR}-{_MONTH_DAY}", f"{_LEAP_YEAR}-02-29")

_HOUR = "(?:[01][0-9]|2[0-3])"
_MINUTE = "[0-5][0-9]"
_SECFRAC = r"(?:\.[0-9]+)?"
_NUMOFFSET = f"[+-]{_HOUR}:{_MINUTE}"
_OFFSET = _alt("[Zz]", _NUMOFFSET)


def _leap_second_times() -> str:
    """``23:59:60[.frac]`` in UTC (``Z``, ``+00:00``, ``-00:00``)."""
    return f"23:59:60{_SECFRAC}(?:[Zz]|[+-]00:00)"


TIME = _alt(f"{_HOUR}:{_MINUTE}:[0-5][0-9]{_SECFRAC}{_OFFSET}", _leap_second_times())
TIME_NO_LEAP = f"{_HOUR}:{_MINUTE}:[0-5][0-9]{_SECFRAC}{_OFFSET}"
DATE_TIME = f"{DATE}[Tt]{TIME}"
DATE_TIME_NO_LEAP = f"{DATE}[Tt]{TIME_NO_LEAP}"

# RFC 3339 appendix A (ISO 8601 durations)
_DUR_SECOND = f"{_D}+S"
_DUR_MINUTE = f"{_D}+M(?:{_DUR_SECOND})?"
_DUR_HOUR = f"{_D}+H(?:{_DUR_MINUTE})?"
_DUR_TIME = f"T{_alt(_DUR_HOUR, _DUR_MINUTE, _DUR_SECOND)}"
_DUR_DAY = f"{_D}+D"
_DUR_MONTH = f"{_D}+M(?:{_DUR_DAY})?"
_DUR_YEAR = f"{_D}+Y(?:{_DUR_MONTH})?"
_DUR_DATE = f"{_alt(_DUR_DAY, _DUR_MONTH, _DUR_YEAR)}(?:{_DUR_TIME})?"
DURATION = f"P{_alt(_DUR_DATE, _DUR_TIME, f'{_D}+W')}"

# ---------------------------------------------------------------------------------
# internet addresses
# ---------------------------------------------------------------------------------

_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"

_H16 = f"{_HEX}{{1,4}}"
_LS32 = _alt(f"{_H16}:{_H16}", IPV4)


def _h16_colon(lo: int, hi: int) -> str:
    """``lo`` to ``hi`` repetitions of ``h16:``."""
    if hi == 0:
        return ""
    rng = f"{{{lo}}}" if lo == hi else f"{{{lo},{hi}}}"
    return f"(?:{_H16}:){rng}"


def _before(n: int) -> str:
    """``[ *n( h16 ":" ) h16 ]`` of RFC 3986."""
    if n < 0:
        return ""
    return f"(?:{_h16_colon(0, n)}{_H16})?"


IPV6 = _alt(
    f"{_h16_colon(6, 6)}{_LS32}",
    f"::{_h16_colon(5, 5)}{_LS32}",
    f"{_before(0)}::{_h16_colon(4, 4)}{_LS32}",
    f"{_before(1)}::{_h16_colon(3, 3)}{_LS32}",
    f"{_before(2)}::{_h16_colon(2, 2)}{_LS32}",
    f"{_before(3)}::{_H16}:{_LS32}",
    f"{_before(4)}::{_LS32}",
    f"{_before(5)}::{_H16}",
    f"{_before(6)}::",
)

_LD = "[A-Za-z0-9]"
_LDH = "[A-Za-z0-9-]"
# an LDH label of 1..63 characters, not starting or ending with '-', and without
# '--' in the 3rd and 4th positions (RFC 5891 reserves those, incl. xn-- A-labels)
_LABEL = _alt(f"{_LD}(?:{_LDH}?{_LD})?",
              f"{_LD}{_LDH}{_alt(f'{_LD}{_LDH}{{0,59}}{_LD}', f'-{_LD}(?:{_LDH}{{0,58}}{_LD})?')}")


def _short_label(n: int) -> str:
    """An LDH label of at most ``n`` (≥ 4) characters, same rules as ``_LABEL``."""
    return _alt(f"{_LD}(?:{_LDH}?{_LD})?",
                f"{_LD}{_LDH}{_alt(f'{_LD}{_LDH}{{0,{n - 4}}}{_LD}', f'-{_LD}(?:{_LDH}{{0,{n - 5}}}{_LD})?')}")


HOSTNAME = rf"{_LABEL}(?:\.{_LABEL})*"
IDN_HOSTNAME = _alt(rf"{_LABEL}(?:\.{_LABEL}){{0,2}}", rf"{_short_label(30)}(?:\.{_short_label(30)}){{3,7}}")

# RFC 5321 Mailbox
_ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_STRING = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_QUOTED = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"'
_DOMAIN_LABEL = f"{_LD}(?:{_LDH}{{0,61}}{_LD})?"
_DOMAIN = rf"{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*"
_ADDRESS_LITERAL = rf"\[{_alt(IPV4, f'IPv6:{IPV6}')}\]"
EMAIL = f"{_alt(_DOT_STRING, _QUOTED)}@{_alt(_DOMAIN, _ADDRESS_LITERAL)}"
#: EMAIL without quoted local parts (no '"' or '\\': its JSON spelling is itself)
EMAIL_DOT_ATOM = f"{_DOT_STRING}@{_alt(_DOMAIN, _ADDRESS_LITERAL)}"

# RFC 6531 internationalised mailbox: UTF-8 allowed in atext and domain labels
_UCS = "\u0080-\U0010ffff"
_IATEXT = f"[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~{_UCS}-]"
_IDOMAIN_LABEL = f"[A-Za-z0-9{_UCS}](?:[A-Za-z0-9{_UCS}-]{{0,61}}[A-Za-z0-9{_UCS}])?"
_IQUOTED = rf'"(?:[\x20\x21\x23-\x5b\x5d-\x7e{_UCS}]|\\[\x20-\x7e])*"'
_IDOT_STRING = rf"{_IATEXT}+(?:\.{_IATEXT}+)*"
_IDOMAIN = rf"{_IDOMAIN_LABEL}(?:\.{_IDOMAIN_LABEL})*"
IDN_EMAIL = f"{_alt(_IDOT_STRING, _IQUOTED)}@{_alt(_IDOMAIN, _ADDRESS_LITERAL)}"

UUID = f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"

# ---------------------------------------------------------------------------------
# URIs (RFC 3986) and IRIs (RFC 3987)
# ---------------------------------------------------------------------------------

# RFC 3987 ucschar and iprivate, as character-class bodies
_UCSCHAR = ("\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef"
            + "".join(f"{chr(p << 16)}-{chr((p << 16) | 0xFFFD)}" for p in range(1, 14))
            + "\U000e1000-\U000efffd")
_IPRIVATE = "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"


def _uri_parts(iri: bool) -> dict[str, str]:
    extra = _UCSCHAR if iri else ""
    unreserved = f"[A-Za-z0-9._~{extra}-]"
    pct = f"%{_HEX}{{2}}"
    sub = "[!$&'()*+,;=]"
    pchar = _alt(unreserved, pct, sub, "[:@]")
    scheme = "[A-Za-z][A-Za-z0-9+.-]*"
    userinfo = f"{_alt(unreserved, pct, sub, ':')}*"
    ipvfuture = rf"[vV]{_HEX}+\.[A-Za-z0-9._~!$&'()*+,;=:-]+"
    ip_literal = rf"\[{_alt(IPV6, ipvfuture)}\]"
    reg_name = f"{_alt(unreserved, pct, sub)}*"
    host = _alt(ip_literal, IPV4, reg_name)
    authority = f"(?:{userinfo}@)?{host}(?::{_D}*)?"
    segment = f"{pchar}*"
    segment_nz = f"{pchar}+"
    segment_nz_nc = f"{_alt(unreserved, pct, sub, '@')}+"
    path_abempty = f"(?:/{segment})*"
    path_absolute = f"/(?:{segment_nz}(?:/{segment})*)?"
    path_rootless = f"{segment_nz}(?:/{segment})*"
    path_noscheme = f"{segment_nz_nc}(?:/{segment})*"
    query_chars = _alt(pchar, "[/?]", f"[{_IPRIVATE}]") if iri else _alt(pchar, "[/?]")
    query = rf"(?:\?{query_chars}*)?"
    fragment = rf"(?:#{_alt(pchar, '[/?]')}*)?"
    hier = _alt(f"//{authority}{path_abempty}", path_absolute, path_rootless, "")
    rel = _alt(f"//{authority}{path_abempty}", path_absolute, path_noscheme, "")
    absolute = f"{scheme}:{hier}{query}{fragment}"
    relative = f"{rel}{query}{fragment}"
    return {"absolute": absolute, "reference": _alt(absolute, relative)}


_URI = _uri_parts(False)
_IRI = _uri_parts(True)
URI = _URI["absolute"]
URI_REFERENCE = _URI["reference"]
IRI = _IRI["absolute"]
IRI_REFERENCE = _IRI["reference"]

# RFC 6570 level-4 URI templates
_VARCHAR = _alt("[A-Za-z0-9_]", f"%{_HEX}{{2}}")
_VARSPEC = rf"{_VARCHAR}(?:\.?{_VARCHAR})*(?::[1-9][0-9]{{0,3}}|\*)?"
# (RFC 6570 excludes the apostrophe; its errata and the test suite allow it)
_LITERAL = _alt(r"[\x21\x23\x24\x26-\x3b\x3d\x3f-\x5b\x5d\x5f\x61-\x7a\x7e" + _UCSCHAR + _IPRIVATE + "]",
                f"%{_HEX}{{2}}")
URI_TEMPLATE = _alt(_LITERAL, rf"\{{[+#./;?&=,!@|]?{_VARSPEC}(?:,{_VARSPEC})*\}}") + "*"

# RFC 6901 JSON pointer, and relative JSON pointers
JSON_POINTER = "(?:/(?:[^~/]|~[01])*)*"
RELATIVE_JSON_POINTER = f"(?:0|[1-9][0-9]*)(?:#|{JSON_POINTER})"

# ---------------------------------------------------------------------------------
# regex: a regular subset of Python `re` syntax that always compiles
# ---------------------------------------------------------------------------------


def _regex_syntax(depth: int) -> str:
    lit = r"[^\\^$.|?*+()\[\]{}]"
    esc = r"\\[\\^$.|?*+()\[\]{}/dDwWsSntrfv-]"
    # Inside a class: no unescaped "[" (a nested set to come), "-", "&", "|" or "~"
    # (doubled, Python warns of set operations to come), and no "^" first: "[^]" is
    # an unterminated negated class, not a class of "^".
    plain = r"\\\[\]&|~-"
    cls_item = _alt(rf"[^{plain}]", r"\\[\\\[\]^&|~dDwWsSntrf-]", "a-z", "A-Z", "0-9")
    cls_first = _alt(rf"[^^{plain}]", r"\\[\\\[\]^&|~dDwWsSntrf-]", "a-z", "A-Z", "0-9")
    cls = rf"\[\^?{cls_first}{cls_item}*\]"
    atoms = [lit, esc, r"\.", cls]
    if depth > 0:
        atoms.append(rf"\((?:\?:)?{_regex_syntax(depth - 1)}\)")
    atom = _alt(*atoms)
    quant = r"(?:[*+?]|\{[0-9]{1,4},?\})\??"
    piece = _alt(f"{atom}(?:{quant})?", r"\^", r"\$", r"\\[bB]")
    seq = f"{piece}*"
    return f"{seq}(?:\\|{seq})*"


REGEX = _regex_syntax(2)

FORMATS: dict[str, str] = {
    "date": DATE,
    "time": TIME,
    "date-time": DATE_TIME,
    "duration": DURATION,
    "email": EMAIL,
    "idn-email": IDN_EMAIL,
    "hostname": HOSTNAME,
    "idn-hostname": IDN_HOSTNAME,
    "ipv4": IPV4,
    "ipv6": IPV6,
    "uri": URI,
    "uri-reference": URI_REFERENCE,
    "iri": IRI,
    "iri-reference": IRI_REFERENCE,
    "uri-template": URI_TEMPLATE,
    "uuid": UUID,
    "json-pointer": JSON_POINTER,
    "relative-json-pointer": RELATIVE_JSON_POINTER,
    "regex": REGEX,
}

# pydantic parses dates and times itself and rejects leap seconds
PYDANTIC_FORMATS: dict[str, str] = dict(FORMATS, **{"time": TIME_NO_LEAP, "date-time": DATE_TIME_NO_LEAP})

#: Standard formats that constrain but have no regex here (none at present).
KNOWN_UNSUPPORTED: frozenset[str] = frozenset()


def format_pattern(name: str, *, pydantic: bool = False) -> str | None:
    """The regex for format ``name``; None for a format this module does not know
    (the JSON Schema spec makes unknown formats annotations).

    Raises :class:`CompileError` for a standard format that cannot be enforced.
    """
    if name in KNOWN_UNSUPPORTED:
        raise CompileError(f"format {name!r} cannot be enforced")
    table = PYDANTIC_FORMATS if pydantic else FORMATS
    return table.get(name)
