"""TOML in, frozen dataclasses out, or one ConfigError line (agent.config.load / from_dict call this).

The loader knows no section's meaning: it walks the dataclasses, checks each value against its field's declared
type (agent.config.schema.check), builds nested tables, then runs the section's validate() for what involves
several keys. Every message has one form: "<file>: [section] key: expected ..., got ...".
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from pathlib import Path

from agent.config.schema import Invalid, check, show


class ConfigError(ValueError):
    """A configuration that cannot be used, with a message fit for the operator."""


def read_toml(path: str | os.PathLike) -> dict:
    p = Path(path)
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from None


def build(root: type, raw: dict, source: str):
    """`root`'s fields are the sections (all tables); its `source` field, if any, gets `source`."""
    sections = {f.name for f in dataclasses.fields(root) if f.name != "source"}
    hints = typing.get_type_hints(root)
    values: dict[str, object] = {}
    for name, value in raw.items():
        if name not in sections:
            raise ConfigError(f"{source}: [{_name(name)}]: {_unknown(name, sections, 'section')}")
        item = _table_list_item(hints[name])
        if item is not None:                   # [[services]]
            values[name] = _tables(item, value, name, source)
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: [{name}]: expected a table, got {show(value)}")
        values[name] = _table(hints[name], value, name, source)
    return root(**values, source=source)


def _table(cls: type, raw: dict, section: str, source: str, base=None):
    """`base`: the parent's default for this table, when it differs from the class defaults (a rule table that
    sets only `enabled` keeps its own default duration_s)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls, include_extras=True)
    kwargs = {}
    for key, value in raw.items():
        if key not in fields:
            raise ConfigError(f"{source}: [{section}] {_name(key)}: {_unknown(key, fields, 'key')}")
        kwargs[key] = _value(hints[key], value, section, key, source, _default(fields[key]))
    obj = dataclasses.replace(base, **kwargs) if base is not None else cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if validate is not None:
        try:
            validate()
        except Invalid as e:
            where = f"{section}.{e.section}" if e.section else section
            raise ConfigError(f"{source}: [{where}] {e.key}: {e}") from None
    return obj


def _value(hint, value, section: str, key: str, source: str, default=None):
    table = _dataclass(hint)
    if table is not None:                      # [section.key]
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: [{section}] {key}: expected a table, got {show(value)}")
        return _table(table, value, f"{section}.{key}", source, base=default)
    if typing.get_origin(hint) is tuple and _dataclass(typing.get_args(hint)[0]) is not None:   # [[section.key]]
        item = _dataclass(typing.get_args(hint)[0])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ConfigError(f"{source}: [{section}] {key}: expected tables ([[{section}.{key}]]), "
                              f"got {show(value)}")
        return tuple(_table(item, v, f"{section}.{key} #{i + 1}", source) for i, v in enumerate(value))
    try:
        return check(hint, value)
    except Invalid as e:
        raise ConfigError(f"{source}: [{section}] {key}: {e}") from None


def _table_list_item(hint):
    """The item class when `hint` is tuple[SomeDataclass, ...] (an array of tables), else None."""
    if typing.get_origin(hint) is tuple:
        return _dataclass(typing.get_args(hint)[0])
    return None


def _tables(item: type, value, name: str, source: str) -> tuple:
    """A top-level array of tables; an item class's UNIQUE fields may not repeat (names are keys elsewhere)."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{source}: [[{name}]]: expected tables ([[{name}]]), got {show(value)}")
    built = tuple(_table(item, v, f"{name} #{i + 1}", source) for i, v in enumerate(value))
    for key in getattr(item, "UNIQUE", ()):
        seen: set = set()
        for i, obj in enumerate(built):
            if getattr(obj, key) in seen:
                raise ConfigError(f"{source}: [{name} #{i + 1}] {key}: expected a {key} no other [[{name}]] has, "
                                  f"got {show(getattr(obj, key))} again")
            seen.add(getattr(obj, key))
    return built


def _default(f: dataclasses.Field):
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None if f.default is dataclasses.MISSING else f.default


def _dataclass(hint):
    return hint if isinstance(hint, type) and dataclasses.is_dataclass(hint) else None


def _name(text: str) -> str:
    """An unknown key or section as written, with anything that would break the line escaped."""
    shown = show(text)[1:-1]
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _unknown(name: str, known, what: str) -> str:
    import difflib     # only for a config with a mistake in it
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    if close:
        return f"expected a known {what} (did you mean {close[0]}?), got an unknown {what}"
    return f"expected one of {', '.join(sorted(known))}, got an unknown {what}"
