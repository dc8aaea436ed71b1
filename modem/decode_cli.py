"""`relais modem decode`: response lines on stdin -> JSON on stdout.

  relais modem decode [--command CMD] [--vendor V]   all of stdin is one response; one JSON object out
  relais modem decode --batch                        JSON Lines in ({"command", "response", "vendor"}),
                                                     exactly one JSON object out per input line, same order
"""
from __future__ import annotations

import json
import sys
from typing import IO

from modem import vendors
from modem.decoder import decode

MAX_BATCH_LINE = 1 << 20      # a longer input line is answered with an error, not read into a parser


def _dump(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=False)


def _safe_decode(command, lines, vendor) -> dict:
    # The library reads an unknown vendor as "any": a person who typed --vendor nokia must hear that it means nothing.
    if vendor and vendor.strip():
        try:
            vendors.get(vendor)
        except KeyError:
            return {"error": f"unknown vendor {vendor[:40]!r} (known: {', '.join(vendors.NAMES)})"}
    try:
        return decode(command, lines, vendor)
    except Exception as e:   # a parser bug must cost one line, not the batch
        return {"error": f"internal error: {type(e).__name__}: {e}"}


def decode_batch_line(line: str) -> dict:
    """One JSON Lines record -> one result object (an {"error": ...} for anything malformed)."""
    if len(line) > MAX_BATCH_LINE:
        return {"error": f"input line longer than {MAX_BATCH_LINE} characters"}
    text = line.strip()
    if not text:
        return {"error": "blank line"}
    try:
        record = json.loads(text)
    except (ValueError, RecursionError) as e:
        return {"error": f"invalid JSON: {e}"[:300]}
    if not isinstance(record, dict):
        return {"error": "each line must be a JSON object"}
    command = record.get("command")
    vendor = record.get("vendor")
    response = record.get("response", record.get("lines"))
    if command is not None and not isinstance(command, str):
        return {"error": "command must be a string or null"}
    if vendor is not None and not isinstance(vendor, str):
        return {"error": "vendor must be a string or null"}
    if isinstance(response, str):
        response = response.splitlines()
    if not isinstance(response, list) or not all(isinstance(x, str) for x in response):
        return {"error": "response must be a list of strings"}
    return _safe_decode(command, response, vendor)


def _emit(out: IO[str], obj: dict) -> None:
    try:
        text = _dump(obj)
    except (ValueError, TypeError) as e:
        text = _dump({"error": f"unserialisable result: {e}"})
    out.write(text + "\n")


def run_batch(inp: IO[str], out: IO[str]) -> int:
    while True:
        line = inp.readline(MAX_BATCH_LINE + 1)
        if not line:
            break
        if len(line) > MAX_BATCH_LINE and not line.endswith("\n"):
            while True:        # skip the rest of an oversized line; it still gets exactly one answer
                rest = inp.readline(MAX_BATCH_LINE)
                if not rest or rest.endswith("\n"):
                    break
            _emit(out, {"error": f"input line longer than {MAX_BATCH_LINE} characters"})
            continue
        _emit(out, decode_batch_line(line))
        out.flush()
    return 0


def run_single(inp: IO[str], out: IO[str], command: str | None, vendor: str | None) -> int:
    lines = inp.read().splitlines()
    result = _safe_decode(command, lines, vendor)
    _emit(out, result)
    return 1 if "error" in result else 0


def run_decode(args) -> int:
    """Entry point from agent/cli.py: args has .command, .vendor, .batch."""
    stdin = sys.stdin
    try:
        # only "\n" ends a batch line (a stray "\r" inside garbage must not make two lines), and bytes that
        # are not UTF-8 become U+FFFD instead of an exception
        stdin.reconfigure(errors="replace", newline="\n")
    except (AttributeError, ValueError):
        pass
    if getattr(args, "batch", False):
        return run_batch(stdin, sys.stdout)
    return run_single(stdin, sys.stdout, getattr(args, "command", None), getattr(args, "vendor", None))
