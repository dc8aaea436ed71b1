"""TOML in, frozen dataclasses out, or one ConfigError line (agent.config.load / from_dict call this).

The loader knows no section's meaning: it walks the dataclasses, checks each value against its field's declared
type (agent.config.schema.check), builds nested tables, then runs the section's validate() for what involves
several keys. Every message has one form: "<file>: [section] key: expected ..., got ...".

`build()` stops at the first problem (the agent refuses to start with it); `problems()` goes on and returns them
all (`relais config check`): a key that is wrong is left at its default, and a table with a wrong key skips its
validate(), whose cross-key checks would otherwise judge a default the operator never wrote.
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
    return _root(root, raw, source, errors=None)


def problems(root: type, raw: dict, source: str) -> list[str]:
    """Every message build() could give for `raw`, in file order; [] when it loads."""
    errors: list[str] = []
    _root(root, raw, source, errors)
    return errors


class _Skip(Exception):
    """A wrong value already recorded by a collecting run: the key keeps its default."""


def _fail(message: str, errors: list[str] | None):
    if errors is None:
        raise ConfigError(message)
    errors.append(message)
    raise _Skip


def _root(root: type, raw: dict, source: str, errors: list[str] | None):
    sections = {f.name for f in dataclasses.fields(root) if f.name != "source"}
    hints = typing.get_type_hints(root)
    values: dict[str, object] = {}
    for name, value in raw.items():
        try:
            if name not in sections:
                _fail(f"{source}: [{_name(name)}]: {_unknown(name, sections, 'section')}", errors)
            item = _table_list_item(hints[name])
            if item is not None:                   # [[services]]
                values[name] = _tables(item, value, name, f"[[{name}]]", source, errors)
                continue
            if not isinstance(value, dict):
                _fail(f"{source}: [{name}]: expected a table, got {show(value)}", errors)
            values[name] = _table(hints[name], value, name, source, errors=errors)
        except _Skip:
            pass
    built = root(**values, source=source)
    validate = getattr(built, "validate", None)    # checks across sections, on sections that loaded cleanly
    if validate is not None and not errors:
        try:
            validate()
        except Invalid as e:
            try:
                _fail(f"{source}: [{e.section}] {e.key}: {e}", errors)
            except _Skip:
                pass
    return built


def _table(cls: type, raw: dict, section: str, source: str, base=None, errors: list[str] | None = None):
    """`base`: the parent's default for this table, when it differs from the class defaults (a rule table that
    sets only `enabled` keeps its own default duration_s)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls, include_extras=True)
    kwargs = {}
    found_before = len(errors) if errors is not None else 0
    for key, value in raw.items():
        try:
            if key not in fields:
                _fail(f"{source}: [{section}] {_name(key)}: {_unknown(key, fields, 'key')}", errors)
            kwargs[key] = _value(hints[key], value, section, key, source, _default(fields[key]), errors)
        except _Skip:
            pass
    obj = dataclasses.replace(base, **kwargs) if base is not None else cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if validate is not None and (errors is None or len(errors) == found_before):
        try:
            validate()
        except Invalid as e:
            where = f"{section}.{e.section}" if e.section else section
            _fail(f"{source}: [{where}] {e.key}: {e}", errors)
    return obj


def _value(hint, value, section: str, key: str, source: str, default=None, errors: list[str] | None = None):
    table = _dataclass(hint)
    if table is not None:                      # [section.key]
        if not isinstance(value, dict):
            _fail(f"{source}: [{section}] {key}: expected a table, got {show(value)}", errors)
        return _table(table, value, f"{section}.{key}", source, base=default, errors=errors)
    item = _table_list_item(hint)
    if item is not None:                       # [[section.key]]
        return _tables(item, value, f"{section}.{key}", f"[{section}] {key}", source, errors)
    try:
        return check(hint, value)
    except Invalid as e:
        _fail(f"{source}: [{section}] {key}: {e}", errors)


def _table_list_item(hint):
    """The item class when `hint` is tuple[SomeDataclass, ...] (an array of tables), else None."""
    if typing.get_origin(hint) is tuple:
        return _dataclass(typing.get_args(hint)[0])
    return None


def _tables(item: type, value, name: str, where: str, source: str, errors: list[str] | None = None) -> tuple:
    """An array of tables, [[services]] or [[cellular.sim]]: `name` is its dotted path, `where` how a message names
    it. An item class's UNIQUE fields may not repeat (names are keys elsewhere)."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        _fail(f"{source}: {where}: expected tables ([[{name}]]), got {show(value)}", errors)
    built = []
    for i, v in enumerate(value):
        try:
            built.append(_table(item, v, f"{name} #{i + 1}", source, errors=errors))
        except _Skip:
            pass
    for key in getattr(item, "UNIQUE", ()):
        seen: set = set()
        for i, obj in enumerate(built):
            if getattr(obj, key) in seen:
                try:
                    _fail(f"{source}: [{name} #{i + 1}] {key}: expected a {key} no other [[{name}]] has, "
                          f"got {show(getattr(obj, key))} again", errors)
                except _Skip:
                    pass
            seen.add(getattr(obj, key))
    return tuple(built)


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
