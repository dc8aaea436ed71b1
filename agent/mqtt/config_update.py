"""set_config: merge changes into the TOML file, validate the whole result, write it atomically.

The merged file is validated with the same loader the agent starts with (agent.config.from_dict), so a change
that would stop the agent from starting is refused with the loader's message (file, key, what was expected), and
the file on disk is never touched. A value of null removes the key (back to its default).

The file is rewritten from the merged data: comments in it are not kept (said in the reply and in docs/mqtt.md);
the previous file is kept next to it as <name>.prev for a manual rollback. Both keep the file's mode and owner.
"""
from __future__ import annotations

import copy
import math
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

from agent.config import Config, ConfigError, from_dict, write_atomically

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def merge(base: dict[str, Any], changes: dict[str, Any], where: str = "") -> list[str]:
    """Apply `changes` to `base` in place; returns the dotted keys that changed value."""
    changed = []
    for key, value in changes.items():
        dotted = f"{where}{key}"
        if isinstance(value, dict):
            node = base.get(key)
            if node is None:
                node = base[key] = {}
            elif not isinstance(node, dict):
                raise ConfigError(f"{dotted}: is a value, not a table")
            changed += merge(node, value, dotted + ".")
            if not node:
                del base[key]
        elif value is None:
            if key in base:
                del base[key]
                changed.append(dotted)
        elif base.get(key) != value or type(base.get(key)) is not type(value):
            base[key] = value
            changed.append(dotted)
    return changed


def dump_toml(doc: dict[str, Any]) -> str:
    """TOML for what a relais config holds: tables of scalars, lists of scalars, nested tables."""
    lines: list[str] = []
    _table(doc, [], lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _table(doc: dict[str, Any], path: list[str], lines: list[str], array: bool = False) -> None:
    """One table; `array`: an element of an array of tables ([[cellular.sim]]), whose header is always written."""
    scalars = {k: v for k, v in doc.items() if not isinstance(v, dict) and not _is_table_array(v)}
    tables = {k: v for k, v in doc.items() if isinstance(v, dict)}
    arrays = {k: v for k, v in doc.items() if _is_table_array(v)}
    name = ".".join(_key(p) for p in path)
    if array:
        lines += ["", f"[[{name}]]"]
    elif path and (scalars or not (tables or arrays)):
        lines += ["", f"[{name}]"]
    for k, v in scalars.items():
        lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in tables.items():
        _table(v, path + [k], lines)
    for k, v in arrays.items():
        for element in v:
            _table(element, path + [k], lines, array=True)


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _key(k: str) -> str:
    return k if _BARE_KEY.fullmatch(k) else _string(k)


def _string(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise ConfigError(f"cannot write a {type(v).__name__} value to TOML")


def apply(path: str | os.PathLike, changes: dict[str, Any], dry_run: bool = False) -> tuple[Config, list[str]]:
    """Validate and write; returns the new config and the dotted keys that changed. Raises ConfigError."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{p}: cannot read the current file: {e}") from None
    merged = copy.deepcopy(raw)
    changed = merge(merged, changes)
    config = from_dict(merged, source=str(p))          # the agent's own loader: same rules as at start
    new_text = dump_toml(merged)
    if tomllib.loads(new_text) != merged:               # the writer must not change meaning; never write if so
        raise ConfigError("internal: the TOML writer did not round-trip; file left unchanged")
    if changed and not dry_run:
        # the new file keeps the old one's mode and owner: a 0644 root-owned config stays readable by `relais
        # config check` run as a technician, and a 0600 one (secrets inside) stays private; .prev holds the same
        # text, so the same rights
        st = p.stat()
        keep = {"mode": stat.S_IMODE(st.st_mode), "owner": (st.st_uid, st.st_gid)}
        write_atomically(p.with_name(p.name + ".prev"), text, **keep)
        write_atomically(p, new_text, **keep)
    return config, changed
