"""What a config value must be, declared on the dataclass field, and the one function that checks it.

A field says its constraints in its type: `Annotated[float, Range(0, 60, lo_open=True)]`, `Literal["hot", "cold"]`,
`Annotated[str, NonEmpty()]`, `Annotated[str, Pattern(r"[0-9]{4,8}", "4 to 8 digits")]`, `Annotated[str, File()]`.
`check(hint, value)` turns a TOML value into the field's value or raises `Invalid(expected, got)`; the loader adds
the file, section and key, so every message reads "[section] key: expected ..., got ...".

Nothing here imports from agent/: the config is read before anything else, by everything else.
"""
from __future__ import annotations

import dataclasses
import math
import os
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


class Secret(str):
    """A string that never shows itself in logs, reprs or exceptions."""

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:  # f-strings and logging use str(): keep the value out of them
        return "***"

    @property
    def value(self) -> str:
        return str.__str__(self)


class Invalid(ValueError):
    """A value that does not fit its field. `key` (and `section`, relative to the section being checked) are
    filled in by whoever knows them; `got` is already shown (quoted, shortened, secrets hidden)."""

    def __init__(self, expected: str, got: str, key: str = "", section: str = ""):
        super().__init__(f"expected {expected}, got {got}")
        self.expected, self.got, self.key, self.section = expected, got, key, section


# ---- markers ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Range:
    """lo <= value <= hi (either bound may be None; *_open makes it strict)."""
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False

    def describe(self) -> str:
        lo = None if self.lo is None else f"{'above' if self.lo_open else 'at least'} {_num(self.lo)}"
        hi = None if self.hi is None else f"{'below' if self.hi_open else 'at most'} {_num(self.hi)}"
        if lo and hi and not self.lo_open and not self.hi_open:
            return f"from {_num(self.lo)} to {_num(self.hi)}"
        return " and ".join(p for p in (lo, hi) if p)

    def check(self, value) -> None:
        if self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo):
            raise Invalid("", "")
        if self.hi is not None and (value >= self.hi if self.hi_open else value > self.hi):
            raise Invalid("", "")


@dataclass(frozen=True)
class NonEmpty:
    """Not "" (nor only spaces), not an empty list."""


@dataclass(frozen=True)
class Pattern:
    regex: str
    expected: str          # the pattern in words, for the message: "4 to 8 digits"


@dataclass(frozen=True)
class OneOf:
    """Like Literal, for a set known only at load time (e.g. the vendor plugins): `choices()` gives it."""
    choices: Callable[[], tuple]


@dataclass(frozen=True)
class Renamed:
    """Old names still read, replaced by the current one before any other check: {"sim": "simulated"}."""
    names: dict


@dataclass(frozen=True)
class Check:
    """Anything else a single value must be: `test(value)` raises ValueError(reason) (or returns False)."""
    test: Callable[[Any], Any]
    expected: str


@dataclass(frozen=True)
class File:
    """A file the agent will read (certificate, key, database): "" = not set; else it must exist and be readable."""


# ---- checking ---------------------------------------------------------------------------------------------------

def check(hint, value, secret: bool = False):
    """The field value for a TOML `value`, or Invalid. `secret`: the value never appears in the message."""
    markers: tuple = ()
    if typing.get_origin(hint) is typing.Annotated:
        hint, *extra = typing.get_args(hint)
        markers = tuple(extra)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):       # X | None: None is the default, TOML has no null
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return check(typing.Annotated[(args[0], *markers)] if markers else args[0], value, secret)
    secret = secret or hint is Secret
    for m in markers:
        if isinstance(m, Renamed) and isinstance(value, str):
            value = m.names.get(value, value)
    typed = _typed(hint, value, secret)
    for m in markers:
        _apply(m, hint, typed, show(value, secret))    # shown as written: 5, not 5.0
    return typed


def show(value, secret: bool = False, limit: int | None = 60) -> str:
    """A value as the operator wrote it in TOML, shortened to `limit`; a secret never shows."""
    if secret:
        return "a value not shown (it is a secret)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = '"' + value.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
    elif isinstance(value, float):
        text = repr(value)      # 9600.0 stays a float: `baud = 9600.0` is refused for being one
    elif isinstance(value, (list, tuple)):
        text = "[" + ", ".join(show(v) for v in value) + "]"
    elif isinstance(value, dict):
        text = "a table"
    else:
        text = repr(value)
    return text if limit is None or len(text) <= limit else text[:limit - 3] + "..."


def describe(hint) -> str:
    """What a type expects, in words: 'a number', 'one of "cbor", "json"'..."""
    if typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    if typing.get_origin(hint) is typing.Literal:
        return "one of " + ", ".join(show(a) for a in typing.get_args(hint))
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string",
            Secret: "a string"}.get(hint, "a value")


def _typed(hint, value, secret: bool):
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        choices = typing.get_args(hint)
        if isinstance(value, bool) or value not in choices or type(value) is not type(choices[0]):
            raise Invalid(describe(hint), show(value, secret))
        return value
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise Invalid("a list", show(value, secret))
        (item,) = typing.get_args(hint)[:1]
        items = []
        for v in value:
            try:
                items.append(check(item, v, secret))
            except Invalid as e:
                raise Invalid(e.expected + " in every item", e.got, e.key, e.section) from None
        return tuple(items) if origin is tuple else items
    if hint is Secret:
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise Invalid("a string", show(value, True))
        return Secret(str(value))
    if hint is bool:
        if not isinstance(value, bool):
            raise Invalid("true or false", show(value, secret))
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid("an integer", show(value, secret))
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Invalid("a number", show(value, secret))
        if not math.isfinite(value):      # nan / inf: every comparison of a timer or a threshold goes wrong
            raise Invalid("a finite number", show(value, secret))
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise Invalid("a string", show(value, secret))
        return value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        raise TypeError("nested tables are built by the loader")   # a programming error, not a config one
    return value


def _apply(marker, hint, value, shown: str) -> None:
    what = describe(hint)
    if isinstance(marker, Range):
        try:
            marker.check(value)
        except Invalid:
            bound = marker.describe()
            raise Invalid(f"{what} {'of ' if bound.startswith('at ') else ''}{bound}", shown) from None
    elif isinstance(marker, NonEmpty):
        if (isinstance(value, str) and not value.strip()) or (isinstance(value, tuple) and not value):
            raise Invalid("a non-empty string" if isinstance(value, str) else "at least one item",
                          shown)
    elif isinstance(marker, Pattern):
        if not re.fullmatch(marker.regex, str.__str__(value) if isinstance(value, str) else str(value)):
            raise Invalid(marker.expected, shown)
    elif isinstance(marker, OneOf):
        choices = tuple(marker.choices())
        if value not in choices:
            raise Invalid("one of " + ", ".join(show(c) for c in choices), shown)
    elif isinstance(marker, Check):
        try:
            ok = marker.test(value)
        except ValueError as e:
            raise Invalid(marker.expected, f"{shown} ({e})") from None
        if ok is False:
            raise Invalid(marker.expected, shown)
    elif isinstance(marker, File) and value:
        try:
            _check_file(value)
        except OSError as e:        # a name too long, a loop of links, an I/O error: said, never raised
            raise Invalid("a readable file", f"{show(value)} ({e.strerror or type(e).__name__})") from None


def _check_file(path: str) -> None:
    p = Path(path)
    if not p.exists():
        raise Invalid("a readable file", f"{show(path, limit=None)} (no such file)")
    if not p.is_file():
        raise Invalid("a readable file", f"{show(path, limit=None)} (not a file)")
    if not os.access(p, os.R_OK):
        raise Invalid("a readable file", f"{show(path, limit=None)} (not readable by this user)")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(x)
