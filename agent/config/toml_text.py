"""TOML text from plain data: what set_config writes back (agent.mqtt.config_update) and what `relais config show`
prints (agent.config.render). Python reads TOML (tomllib) but has no writer; a relais config holds only tables of
scalars, lists of scalars, nested tables and arrays of tables, so this small one is enough.
"""
from __future__ import annotations

import math
import re
from typing import Any

from agent.config.loader import ConfigError

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


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
    name = ".".join(key_text(p) for p in path)
    if array:
        lines += ["", f"[[{name}]]"]
    elif path and (scalars or not (tables or arrays)):
        lines += ["", f"[{name}]"]
    for k, v in scalars.items():
        lines.append(f"{key_text(k)} = {value_text(v)}")
    for k, v in tables.items():
        _table(v, path + [k], lines)
    for k, v in arrays.items():
        for element in v:
            _table(element, path + [k], lines, array=True)


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def key_text(k: str) -> str:
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


def value_text(v: Any) -> str:
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
        return "[" + ", ".join(value_text(x) for x in v) + "]"
    raise ConfigError(f"cannot write a {type(v).__name__} value to TOML")
