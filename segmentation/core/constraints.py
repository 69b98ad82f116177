"""Parameters declared once and checked at every public door (library, CLI, app).

In the manner of scikit-learn's ``_parameter_constraints``: a class (or a function) declares, per
parameter, a list of the values it accepts, and :func:`validate` checks a value against that list. A
violation raises :class:`ConfigError` naming the parameter, the value and what is allowed. NumPy integers
and floats count as Python ones and come back converted, so a frozen config holds plain values.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from segmentation.core.errors import ConfigError

MAX_K = 1000
"""Most segments a run may ask for; more would not be segments anyone can read."""
MAX_K_SWEEP = 100
"""Largest k a sweep may try: every k is a full clustering, so the sweep's cost grows with it."""
MAX_SEED = 2**32 - 1
"""NumPy's and scikit-learn's seeds are unsigned 32-bit integers."""
MAX_TOP_N = 1000
"""Longest recommendation list: a list longer than this is a catalogue, and its scores cost memory."""

_SHOWN = 60


@dataclass(frozen=True)
class Interval:
    """Numbers of one kind between two bounds (``None``: unbounded on that side); always finite.

    Parameters
    ----------
    kind : {int, float}
        ``int`` accepts integers only (NumPy's too, never ``bool``); ``float`` accepts any real number.
    low, high : number or None
        The bounds.
    closed : {"both", "left", "right", "neither"}
        Which bounds are included.
    """

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if self.kind is int and not isinstance(value, numbers.Integral):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value < self.low or (value == self.low and self.closed in ("right", "neither"))):
            return False
        return self.high is None or not (
            value > self.high or (value == self.high and self.closed in ("left", "neither"))
        )

    def convert(self, value: Any) -> Any:
        return int(value) if self.kind is int else float(value)

    def __str__(self) -> str:
        what = "a whole number" if self.kind is int else "a finite number"
        if self.low is not None and self.high is not None:
            left = "[" if self.closed in ("both", "left") else "("
            right = "]" if self.closed in ("both", "right") else ")"
            return f"{what} in {left}{_number(self.low)}, {_number(self.high)}{right}"
        if self.low is not None:
            return f"{what} {'≥' if self.closed in ('both', 'left') else '>'} {_number(self.low)}"
        if self.high is not None:
            return f"{what} {'≤' if self.closed in ('both', 'right') else '<'} {_number(self.high)}"
        return what


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values (strings, usually a registry's names)."""

    values: Collection[Any]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str | int | float) and not isinstance(value, bool) and value in self.values

    def convert(self, value: Any) -> Any:
        return value

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class Text:
    """A non-empty string that is valid Unicode (no lone surrogates, so it can be saved and encoded)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and bool(value.strip()) and encodable(value)

    def convert(self, value: Any) -> Any:
        return value

    def __str__(self) -> str:
        return "non-empty text"


@dataclass(frozen=True)
class TextTuple:
    """A tuple or list of strings (valid Unicode), returned as a tuple."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, tuple | list) and all(isinstance(v, str) and encodable(v) for v in value)

    def convert(self, value: Any) -> Any:
        return tuple(value)

    def __str__(self) -> str:
        return "a tuple of column names"


@dataclass(frozen=True)
class InstanceOf:
    """An instance of one of the given classes."""

    kinds: tuple[type, ...]
    hint: str = ""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, self.kinds)

    def convert(self, value: Any) -> Any:
        return value

    def __str__(self) -> str:
        names = " or ".join(kind.__name__ for kind in self.kinds)
        return f"a {names}" + (f" ({self.hint})" if self.hint else "")


Constraint = Interval | Options | Text | TextTuple | InstanceOf | None
"""One accepted kind of value; ``None`` in a list means the value ``None`` is accepted."""


def validate(name: str, value: Any, constraints: list[Constraint]) -> Any:
    """Check one parameter against its constraints and return it in its plain form.

    Parameters
    ----------
    name : str
        The parameter's name, as the library spells it.
    value : Any
    constraints : list
        Accepted kinds of value; the first that accepts the value converts it.

    Returns
    -------
    Any
        The value, with NumPy scalars turned into ``int``/``float`` and sequences into tuples.

    Raises
    ------
    ConfigError
        Naming the parameter, the value and what is allowed.
    """
    for constraint in constraints:
        if constraint is None:
            if value is None:
                return None
            continue
        if constraint.accepts(value):
            return constraint.convert(value)
    allowed = [str(c) for c in constraints if c is not None] + (["None"] if None in constraints else [])
    raise ConfigError(f"{name}={_shown(value)} is not allowed: {name} must be {' or '.join(allowed)}")


def validate_all(values: Mapping[str, Any], constraints: Mapping[str, list[Constraint]]) -> dict[str, Any]:
    """Check every declared parameter in ``values``; return the converted values."""
    return {name: validate(name, values[name], rules) for name, rules in constraints.items() if name in values}


def encodable(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8 (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _number(value: float) -> str:
    return f"{value:,}" if abs(value) >= 1000 else f"{value:g}"


def _shown(value: Any) -> str:
    if isinstance(value, numbers.Number) or value is None:
        text = repr(value.item() if hasattr(value, "item") else value)
    elif isinstance(value, str):
        text = ascii(value)
    else:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


SEED: list[Constraint] = [Interval(int, 0, MAX_SEED)]
TOP_N: list[Constraint] = [Interval(int, 1, MAX_TOP_N)]
