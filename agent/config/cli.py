"""`relais config check FILE` and `relais config show`: the configuration as the agent reads it, for a technician.

check: every problem in the file, one line each, in the loader's own wording ("<file>: [section] key: expected
..., got ..."); exit 0 with "FILE: OK", 1 when the file has problems, 2 when it cannot be read or is not TOML.
show: the effective configuration, defaults filled in, secrets as "***", in TOML (or JSON with --json).
"""
from __future__ import annotations

import sys
from pathlib import Path

from agent.config import DEFAULT_PATH

OK, PROBLEMS, UNREADABLE = 0, 1, 2


def run_check(args) -> int:
    from agent.config import ConfigError, problems_in
    try:
        found = problems_in(args.file)
    except ConfigError as e:           # no such file, unreadable, not TOML: nothing further can be said
        print(f"relais: {e}", file=sys.stderr)
        return UNREADABLE
    if not found:
        print(f"{args.file}: OK")
        return OK
    for line in found:
        print(line)
    print(f"{args.file}: {len(found)} problem{'s' if len(found) > 1 else ''}", file=sys.stderr)
    return PROBLEMS


def run_show(args) -> int:
    from agent.config import Config, ConfigError, load, problems_in
    from agent.config.render import to_json, to_toml
    path = args.config
    if path is None and not Path(DEFAULT_PATH).exists():
        print(f"relais: {DEFAULT_PATH} does not exist: showing the built-in defaults", file=sys.stderr)
        config = Config()
    else:
        path = path or DEFAULT_PATH
        try:
            found = problems_in(path)
            if found:
                for line in found:
                    print(line, file=sys.stderr)
                return PROBLEMS
            config = load(path)
        except ConfigError as e:
            print(f"relais: {e}", file=sys.stderr)
            return UNREADABLE
    sys.stdout.write(to_json(config) if args.json else to_toml(config))
    return OK
