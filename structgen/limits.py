"""Compile budgets: how much one compile may cost before it is refused.

A constraint from an untrusted source (a user's JSON Schema, a tool definition) can
ask for an automaton far larger than any output needs: an enum of 10,000 objects, a
regex repetition counted in millions, a schema nested thousands deep.  Every compile
runs under a :class:`Limits`; going past one raises :class:`LimitExceeded` (a
:class:`~structgen.CompileError`) that names the limit, its value, and how to raise it.

    structgen.compile(schema, vocab, limits=structgen.Limits(compile_seconds=60))
    structgen.set_limits(structgen.Limits(max_terminals=20_000))   # the process default

The defaults keep a compile within a few seconds and a few hundred MB on a laptop
core (docs/performance.md, "Limits", has the figures); ``Limits.unlimited()`` lifts
them all.  A grammar already in a cache is served whatever the limits.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
import time
from dataclasses import dataclass

from .errors import CompileError, StructgenError

__all__ = ["Limits", "LimitExceeded", "FuelExhausted", "set_limits", "get_limits"]


class LimitExceeded(CompileError):
    """A compile went past one of its :class:`Limits`; ``limit`` names it."""

    def __init__(self, limit: str, value, what: str, *, where: str | None = None):
        self.limit = limit
        super().__init__(f"{what}: past Limits.{limit}={value!r} (raise it with "
                         f"structgen.compile(..., limits=structgen.Limits({limit}=...)) "
                         f"or structgen.set_limits)", where=where)


class FuelExhausted(StructgenError, RuntimeError):
    """One matcher call (a mask, a token) needed more parser work than its
    ``Limits.mask_fuel``; the matcher's state is unchanged.  ``limit`` is
    ``"mask_fuel"``."""

    limit = "mask_fuel"

    def __init__(self, fuel: int, what: str):
        self.fuel = fuel
        super().__init__(f"{what} needed more parser work than Limits.mask_fuel={fuel:,} item additions "
                         f"(a highly ambiguous grammar over a long text?); the matcher is unchanged. Raise it "
                         f"for matchers created later with structgen.set_limits(structgen.Limits(mask_fuel=...)) "
                         f"or grammar.matcher(limits=...)")


@dataclass(frozen=True)
class Limits:
    """What one compile may cost.

    ``compile_seconds``: wall time of the front-end and the automaton construction
    (checked between steps, so a single step may overrun it a little).  Generous by
    default: the first compile after an install also JIT-compiles the automaton
    kernels (about 15 s on a laptop core).
    ``max_dfa_states``: states of one terminal's DFA.  ``max_terminals`` and
    ``max_rules``: size of the grammar (terminals; rule alternatives).
    ``max_nesting``: how deeply a JSON Schema document nests (objects and arrays).

    ``mask_fuel`` bounds the run time, not the compile: the parser work (Earley item
    additions) one matcher call may do -- one mask, one token, one byte of
    ``consume_bytes``.  Past it the call raises :class:`FuelExhausted` and the
    matcher's state is unchanged.  A matcher takes it from the limits in force when
    it is created (``grammar.matcher(limits=...)`` to choose).
    """

    compile_seconds: float = 60.0
    max_dfa_states: int = 50_000
    max_terminals: int = 4_000
    max_rules: int = 200_000
    max_nesting: int = 256
    mask_fuel: int = 2_000_000

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 or (
                    f.name != "compile_seconds" and v != math.inf and v != int(v)):
                raise ValueError(f"Limits.{f.name} must be a positive number (an integer, or math.inf), got {v!r}")

    @classmethod
    def unlimited(cls) -> "Limits":
        """No limit at all (trusted constraints only)."""
        return cls(**{f.name: math.inf for f in dataclasses.fields(cls)})

    def check(self, limit: str, amount, what: str, *, where: str | None = None) -> None:
        """Raise :class:`LimitExceeded` when ``amount`` is past the limit ``limit``."""
        if amount > getattr(self, limit):
            raise LimitExceeded(limit, getattr(self, limit), what, where=where)


_default = Limits()
_active: contextvars.ContextVar[tuple[Limits, float] | None] = contextvars.ContextVar("structgen_limits",
                                                                                      default=None)


def set_limits(limits: Limits | None) -> None:
    """Make ``limits`` the default of every later compile in this process (None: the
    built-in defaults)."""
    global _default
    if limits is not None and not isinstance(limits, Limits):
        raise TypeError(f"expected structgen.Limits or None, got {type(limits).__name__}")
    _default = Limits() if limits is None else limits


def get_limits() -> Limits:
    """The limits in force: those of the compile running in this context, else the
    process default."""
    act = _active.get()
    return act[0] if act is not None else _default


@contextlib.contextmanager
def compiling(limits: Limits | None):
    """Run a compile under ``limits`` (None: the default; inside another compile, that
    one's limits and deadline)."""
    if _active.get() is not None and limits is None:
        yield
        return
    lim = _default if limits is None else limits
    if not isinstance(lim, Limits):
        raise TypeError(f"limits must be structgen.Limits, got {type(lim).__name__}")
    token = _active.set((lim, time.monotonic() + lim.compile_seconds))
    try:
        yield
    finally:
        _active.reset(token)


def check_deadline(what: str = "compiling") -> None:
    """Raise :class:`LimitExceeded` when the running compile is past its time."""
    act = _active.get()
    if act is not None and time.monotonic() > act[1]:
        raise LimitExceeded("compile_seconds", act[0].compile_seconds, f"{what} took too long")
