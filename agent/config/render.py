"""A Config back as TOML or JSON, every default filled in, secrets masked: what `relais config show` prints.

The TOML reads back with the loader to the same Config once the masked secrets are put back (tests keep that
true), so a technician can start a config file from it. Values are written by agent.config.toml_text, the writer
set_config uses; the tables are walked here because show also writes comments (an unset secret, TOML having no
null; a default file absent from this machine).
"""
from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

from agent.config.schema import File, Secret
from agent.config.toml_text import value_text

MASK = "***"


def as_dict(config, reveal: bool = False) -> dict:
    """Sections → {key: value}; nested tables as dicts, [[tables]] as lists of dicts. A set secret is MASK unless
    `reveal`; an unset one (None) is None. The `source` field is left out: it is where, not what."""
    return {f.name: _plain(getattr(config, f.name), reveal) for f in dataclasses.fields(config)
            if f.name != "source"}


def _table(obj, reveal: bool) -> dict:
    return {f.name: _plain(getattr(obj, f.name), reveal) for f in dataclasses.fields(obj)}


def _plain(value, reveal: bool):
    if dataclasses.is_dataclass(value):
        return _table(value, reveal)
    if isinstance(value, Secret):
        return value.value if reveal else MASK
    if isinstance(value, (tuple, list)):
        return [_plain(v, reveal) for v in value]
    return value


def to_json(config) -> str:
    return json.dumps(as_dict(config), indent=2) + "\n"


def to_toml(config) -> str:
    """Masked TOML. An unset secret is a comment (TOML has no null); so is a file-path default that does not exist
    on this machine (written out, the loader would refuse it, while as a default it only means "none here")."""
    out = [f"# relais configuration as the agent reads it from {config.source}: every key, defaults filled in,",
           f'# secrets shown as "{MASK}".']
    # An empty top-level array of tables can only be written as a key before the first table header.
    out += [f"{f.name} = []" for f in dataclasses.fields(config) if getattr(config, f.name) == ()]
    for f in dataclasses.fields(config):
        if f.name == "source":
            continue
        value = getattr(config, f.name)
        if isinstance(value, tuple):          # a top-level array of tables ([[services]]); none: nothing to show
            for item in value:
                _emit_table(out, f.name, item, f"[[{f.name}]]")
        else:
            _emit_table(out, f.name, value)
    return "\n".join(out) + "\n"


def _emit_table(out: list[str], name: str, obj, header: str | None = None) -> None:
    out += ["", header or f"[{name}]"]
    nested = []
    hints = typing.get_type_hints(type(obj), include_extras=True)
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            nested.append((f"{name}.{f.name}", value, None))
        elif value and isinstance(value, tuple) and dataclasses.is_dataclass(value[0]):
            nested += [(f"{name}.{f.name}", v, f"[[{name}.{f.name}]]") for v in value]
        elif value is None:
            out.append(f"# {f.name} = (not set)")
        elif _missing_default_file(hints[f.name], f, value):
            out.append(f"# {f.name} = {toml_value(value)}   (the default; no such file here)")
        else:
            out.append(f"{f.name} = {toml_value(MASK if isinstance(value, Secret) else value)}")
    for sub, value, header in nested:
        _emit_table(out, sub, value, header)


def _missing_default_file(hint, f: dataclasses.Field, value) -> bool:
    markers = typing.get_args(hint)[1:] if typing.get_origin(hint) is typing.Annotated else ()
    return (any(isinstance(m, File) for m in markers) and bool(value) and value == f.default
            and not Path(value).is_file())


def toml_value(value) -> str:
    """A value of a loaded Config (tuples for lists) as TOML; a Secret must have been masked before."""
    return value_text(_plain(value, reveal=False))
