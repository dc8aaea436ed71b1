"""Shared helpers for the decode tables: each case is (id, command, lines, expected subset)."""
from __future__ import annotations

import math

import pytest


def check_subset(result, expected, path="result"):
    """Every key of `expected` must be in `result` with an equal value (floats to 0.01); other keys may exist.
    A list in `expected` must match the result list element by element and in length."""
    if isinstance(expected, dict):
        assert isinstance(result, dict), f"{path}: expected a dict, got {result!r}"
        for key, value in expected.items():
            assert key in result, f"{path}: missing key {key!r} in {result!r}"
            check_subset(result[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(result, list), f"{path}: expected a list, got {result!r}"
        assert len(result) == len(expected), f"{path}: {len(result)} items, expected {len(expected)}: {result!r}"
        for i, (r, e) in enumerate(zip(result, expected)):
            check_subset(r, e, f"{path}[{i}]")
    elif isinstance(expected, float) and isinstance(result, (int, float)) and not isinstance(result, bool):
        assert math.isclose(result, expected, abs_tol=0.01), f"{path}: {result!r} != {expected!r}"
    else:
        assert result == expected and type(result) is type(expected) or (
            isinstance(expected, int) and isinstance(result, float) and result == expected), \
            f"{path}: {result!r} != {expected!r}"


def cases(table):
    """pytest.param list from a table of (id, command, lines, expected[, vendor])."""
    out = []
    for row in table:
        name, command, lines, expected, *rest = row
        out.append(pytest.param(command, lines, expected, rest[0] if rest else None, id=name))
    return out
