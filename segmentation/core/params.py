"""A run parameter declared once: what it accepts, its default, and how people see it.

A :class:`Param` is declared on the class that uses it (a clusterer's ``parameters``, or
:class:`~segmentation.pipeline.config.SegmentConfig`'s common ones). Everything else is derived from it:
the config's checks (``constraints``), the CLI's flag and help (``flag``, ``help``), the Segment page's
widget (``label``, ``key``, ``option_labels``...) and the widget values a saved run restores
(:func:`widget_values`). Nothing here imports Streamlit or argparse: the CLI and ``ui/`` read the fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from segmentation.core.constraints import Constraint, Interval, Options, TextTuple

AUTO = "auto"


@dataclass(frozen=True)
class Param:
    """One run parameter.

    Parameters
    ----------
    name : str
        The config field (``min_samples``); the CLI flag is ``--min-samples``.
    constraints : tuple
        Accepted kinds of value (:mod:`segmentation.core.constraints`), the first that accepts converts.
    default : Any
        The value when none is given.
    help : str
        What it does, in plain words (the CLI's help and the widget's tooltip).
    label : str
        The widget's label; empty: the page draws no widget for it.
    key : str
        Session and widget key (also the URL parameter); ``seg_<name>`` when empty.
    option_labels : mapping
        Plain names of the values of an ``Options`` parameter, for a radio or a selectbox.
    widget : {"", "slider", "number", "radio", "selectbox"}
        How the page draws it; empty: a number input for numbers, a selectbox for options.
    auto_key, auto_label, auto_help : str
        For a parameter that also accepts ``"auto"`` (or ``None``): the checkbox that stands for that
        value, drawn above the number.
    shown : int or float or None
        The number the widget shows while the checkbox holds (the default's number otherwise).
    most : int or None
        Upper end of the widget's range (further capped by the number of users for a count).
    only_one : str
        What the page says instead of a slider when the users allow only one value.
    """

    name: str
    constraints: tuple[Constraint, ...]
    default: Any
    help: str
    label: str = ""
    key: str = ""
    option_labels: Mapping[Any, str] = field(default_factory=dict)
    widget: str = ""
    auto_key: str = ""
    auto_label: str = ""
    auto_help: str = ""
    shown: Any = None
    most: int | None = None
    only_one: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def widget_key(self) -> str:
        return self.key or f"seg_{self.name}"

    @property
    def options(self) -> tuple | None:
        """The values of its ``Options`` constraint, leaving out ``"auto"``; None when it has none."""
        for constraint in self.constraints:
            if isinstance(constraint, Options) and tuple(constraint.values) != (AUTO,):
                return tuple(constraint.values)
        return None

    @property
    def interval(self) -> Interval | None:
        return next((c for c in self.constraints if isinstance(c, Interval)), None)

    @property
    def auto_value(self) -> Any:
        """What the "automatic" checkbox stands for: ``"auto"``, ``None``, or nothing (a bare marker)."""
        if any(isinstance(c, Options) and tuple(c.values) == (AUTO,) for c in self.constraints):
            return AUTO
        if None in self.constraints and self.auto_key:
            return None
        return _NO_AUTO

    @property
    def has_auto(self) -> bool:
        return self.auto_value is not _NO_AUTO

    @property
    def is_list(self) -> bool:
        return any(isinstance(c, TextTuple) for c in self.constraints)

    def describe(self) -> str:
        """What a CLI user may write, in words: ``a whole number or 'auto'``."""
        parts = []
        for constraint in self.constraints:
            if isinstance(constraint, Interval):
                parts.append("a whole number" if constraint.kind is int else "a number")
            elif isinstance(constraint, Options):
                parts.append(" | ".join(repr(v) if v == AUTO else str(v) for v in constraint.values))
            elif isinstance(constraint, TextTuple):
                parts.append("comma-separated names")
            elif constraint is not None:
                parts.append("text")
        return " or ".join(parts)

    def parse(self, text: str) -> Any:
        """A CLI argument as a value (the config checks its range); ``ValueError`` when no kind reads it."""
        for constraint in self.constraints:
            if isinstance(constraint, Interval):
                try:
                    return constraint.kind(text)
                except ValueError:
                    continue
            if isinstance(constraint, Options):
                if text in constraint.values:
                    return text
                if tuple(constraint.values) == (AUTO,):
                    continue
                return text  # a name the config refuses with the list of known ones
            if isinstance(constraint, TextTuple):
                return tuple(part.strip() for part in text.split(",") if part.strip())
            if constraint is not None:
                return text
        raise ValueError(f"{self.flag} must be {self.describe()}, not {text!r}")


class _NoAuto:
    def __repr__(self) -> str:
        return "<no auto>"


_NO_AUTO = _NoAuto()


def widget_values(param: Param, value: Any) -> dict[str, Any]:
    """Widget key → value that shows ``value`` of ``param`` on the page (for a restored run)."""
    if not param.label:
        return {}
    if param.has_auto:
        automatic = value == param.auto_value
        values: dict[str, Any] = {param.auto_key: automatic}
        if not automatic:
            values[param.widget_key] = param.interval.convert(value) if param.interval else value
        return values
    if param.is_list:
        return {param.widget_key: list(value or ())}
    if value is None and param.shown is not None:  # e.g. recency off is shown as 0 days
        return {param.widget_key: param.shown}
    interval = param.interval
    if interval is not None and param.options is None and value is not None:
        value = interval.convert(value)
    return {param.widget_key: value}
