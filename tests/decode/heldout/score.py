"""Score modem.decode on the held-out set of real responses (tests/decode/heldout/cases.jsonl).

Each case carries the values a reader of the manual / 3GPP spec expects from the response, written by hand. Every
expected value counts once: right (equal; numbers to 0.01), wrong (another value) or missing (decode left the key
out: also an error). Values the response does not carry are not in `expected` and are not counted. Nested dicts
("lte", "nr") and lists ("carriers", "bands") are compared element by element.

Run:  .venv/bin/python -m tests.decode.heldout.score [-v] [SET.jsonl ...]   (-v lists every value that is not right)
Without a path every set is scored: cases.jsonl (the first set), set2.jsonl (bands, surveys, carriers, compound lines;
built from sources neither the tests nor the first set use) and set3.jsonl (written after the set-2 fixes, scored
once as a fresh estimate; not a regression test).
"""
from __future__ import annotations

import json
import math
import sys
from collections import defaultdict
from pathlib import Path

from modem import decode
from modem.decoder import normalize_command

CASES = Path(__file__).with_name("cases.jsonl")
SET2 = Path(__file__).with_name("set2.jsonl")
SET3 = Path(__file__).with_name("set3.jsonl")
_MISSING = object()


def load_cases(path: Path = CASES) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def flatten(value, path=""):
    """{"a": {"b": 1}, "c": [2, {"d": 3}]} -> [("a.b", 1), ("c", [2, ...]) ...]: dicts are walked; a list of dicts is
    walked by index; a list of scalars (bands) is one value."""
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            out += flatten(v, f"{path}.{k}" if path else k)
        return out
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        out = [(f"{path}.len", len(value))]
        for i, v in enumerate(value):
            out += flatten(v, f"{path}[{i}]")
        return out
    return [(path, value)]


def lookup(result, path: str):
    cur = result
    for part in path.replace("[", ".[").split("."):
        if part == "len":
            return len(cur) if isinstance(cur, list) else _MISSING
        if part.startswith("["):
            i = int(part[1:-1])
            if not isinstance(cur, list) or i >= len(cur):
                return _MISSING
            cur = cur[i]
        else:
            if not isinstance(cur, dict) or part not in cur:
                return _MISSING
            cur = cur[part]
    return cur


def same(got, want) -> bool:
    if want is None or got is None:
        return got is None and want is None
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        return math.isclose(got, want, abs_tol=0.01)
    return got == want


def score_case(case: dict) -> list[tuple[str, str, object, object]]:
    """[(path, "right" | "wrong" | "missing", expected, got)] for one case."""
    result = decode(case["command"], case["response"], case.get("vendor"))
    out = []
    for path, want in flatten(case["expected"]):
        got = lookup(result, path)
        if got is _MISSING:
            out.append((path, "missing", want, None))
        else:
            out.append((path, "right" if same(got, want) else "wrong", want, got))
    return out


def run(cases: list[dict], verbose: bool = False, stream=sys.stdout) -> dict:
    by_vendor: dict = defaultdict(lambda: [0, 0, 0])
    by_command: dict = defaultdict(lambda: [0, 0, 0])
    idx = {"right": 0, "wrong": 1, "missing": 2}
    total = [0, 0, 0]
    failures = []
    for n, case in enumerate(cases):
        cmd = normalize_command(case["command"]) or "(urc)"
        for path, verdict, want, got in score_case(case):
            i = idx[verdict]
            for bucket in (by_vendor[case["vendor"]], by_command[cmd], total):
                bucket[i] += 1
            if verdict != "right":
                failures.append((n + 1, case["vendor"], cmd, path, verdict, want, got))

    def table(title, rows):
        print(f"\n{title:<22} {'values':>6} {'right':>6} {'wrong':>6} {'miss':>6} {'acc %':>7}", file=stream)
        for key in sorted(rows):
            r, w, m = rows[key]
            print(f"{key:<22} {r + w + m:>6} {r:>6} {w:>6} {m:>6} {100.0 * r / (r + w + m):>7.1f}", file=stream)

    print(f"held-out set: {len(cases)} responses, {sum(total)} values, "
          f"{len({c['vendor'] for c in cases})} vendor families, {len({c['source'] for c in cases})} sources",
          file=stream)
    table("vendor family", by_vendor)
    table("command", by_command)
    acc = 100.0 * total[0] / max(1, sum(total))
    print(f"\noverall: {total[0]}/{sum(total)} values right = {acc:.1f} %  "
          f"(wrong {total[1]}, missing {total[2]})", file=stream)
    if verbose:
        print("\nnot right:", file=stream)
        for n, vendor, cmd, path, verdict, want, got in failures:
            print(f"  #{n:<3} {vendor:<8} {cmd:<22} {path:<28} {verdict:<8} expected {want!r} got {got!r}",
                  file=stream)
    return {"responses": len(cases), "values": sum(total), "right": total[0], "wrong": total[1],
            "missing": total[2], "accuracy": acc, "failures": failures}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    paths = [Path(a) for a in argv if not a.startswith("-")] or [CASES, SET2, SET3]
    for path in paths:
        print(f"== {path.name}")
        run(load_cases(path), verbose="-v" in argv)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
