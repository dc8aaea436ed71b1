"""Seed material for the fuzzers: every modem line the decode and AT tests hold (real captures, named after their
devices), read from those files so that a new capture added there feeds the fuzzers too."""
from __future__ import annotations

import ast
from pathlib import Path

_TESTS = Path(__file__).resolve().parents[1]


def _string_constants(path: Path) -> list[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return []
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def _modem_lines() -> list[str]:
    lines: set[str] = set()
    for folder in ("decode", "at"):
        for path in sorted((_TESTS / folder).rglob("*.py")):
            for text in _string_constants(path):
                for line in text.replace("\r", "").split("\n"):
                    line = line.strip()
                    if 1 <= len(line) <= 300 and line.isprintable() and (line[0] in "+^#!$%*" or line.isupper()
                                                                         or ":" in line):
                        lines.add(line)
    lines.update(["OK", "ERROR", "+CME ERROR: 14", "+CMS ERROR: 500", "RDY", "> ", "+CPIN: READY", "NO CARRIER"])
    return sorted(lines)


MODEM_LINES = _modem_lines()
