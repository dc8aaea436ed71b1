"""set_config: merge changes into the TOML file, validate the whole result, write it atomically.

The merged file is validated with the same loader the agent starts with (agent.config.from_dict), so a change
that would stop the agent from starting is refused with the loader's message (file, key, what was expected), and
the file on disk is never touched. A value of null removes the key (back to its default).

The file is rewritten from the merged data: comments in it are not kept (said in the reply and in docs/mqtt.md);
the previous file is kept next to it as <name>.prev for a manual rollback. Both keep the file's mode and owner.
"""
from __future__ import annotations

import copy
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

from agent.config import Config, ConfigError, from_dict, write_atomically
from agent.config.toml_text import dump_toml   # its home is the config; tests and fuzzers import it from here

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
