"""Where the sheet's facts come from, read here so that agent/plan/sheet.py stays pure: the router's model (device
tree or DMI), the modem and SIM as the agent last saw them (the status file it keeps for `relais status`), and the
recent drills in the ledger."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

RECENT_S = (40 * 86400, 400 * 86400)   # a monthly drill is in the first window; a late one in the second


def router_model(root: Path = Path("/")) -> str | None:
    """"Raspberry Pi 4 Model B Rev 1.4" (an ARM board's device tree), "PC Engines apu2" (DMI); None: not said."""
    tree = root / "proc/device-tree/model"
    try:
        model = tree.read_bytes().rstrip(b"\0").decode("utf-8", "replace").strip()
        if model:
            return _printable(model)
    except OSError:
        pass
    dmi = root / "sys/class/dmi/id"
    parts = []
    for name in ("sys_vendor", "product_name"):
        try:
            parts.append((dmi / name).read_text(encoding="utf-8", errors="replace").strip())
        except OSError:
            continue
    text = " ".join(p for p in parts if p and p.lower() not in ("to be filled by o.e.m.", "default string"))
    return _printable(text) or None


def read_status_file(path: Path) -> tuple[dict[str, Any], float | None]:
    """The state in the status file and the file's age reference (its mtime); ({}, None) when there is none or it
    cannot be read: the sheet then says "unknown", it does not fail."""
    try:
        mtime = path.stat().st_mtime
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, None
    state = doc.get("state") if isinstance(doc, dict) else None
    return (state, mtime) if isinstance(state, dict) else ({}, None)


def _printable(text: str) -> str:
    return "".join(c for c in text if c.isprintable())[:80]


def recent_drills(read_period: Callable, path: Path, now: float) -> tuple[list | None, str | None]:
    """The ledger's drills of the recent past and None, or (None, why) when there is no ledger to read. Read in
    a short window first: the ledger of a year of incidents is read only when no drill is in the last weeks."""
    if not path.is_file():
        return None, None
    drills: list = []
    for window in RECENT_S:
        try:
            drills = list(read_period(path, now - window, now + 1).drills)
        except Exception as e:   # sqlite3.Error (not a database, locked), OSError: the file is outside input
            return None, f"{path}: cannot read the ledger ({e})"
        if drills:
            break
    return drills, None
