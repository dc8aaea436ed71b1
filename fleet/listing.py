"""The fleet as rows for `relais fleet ls`: pure functions over FleetDb.devices()."""
from __future__ import annotations

from typing import Any, Callable

POOR_RSRP_DBM = -110   # below this LTE reference signal power a link is unreliable (3GPP "poor" band, -110..-120)


def _get(state: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(state, dict):
            return None
        state = state.get(key)
    return state


def on_backup(d: dict[str, Any]) -> bool:
    return _get(d["state"], "failover", "active_uplink") == "backup"


def poor_signal(d: dict[str, Any]) -> bool:
    rsrp = _get(d["state"], "modem", "signal", "rsrp_dbm")
    return isinstance(rsrp, (int, float)) and not isinstance(rsrp, bool) and rsrp < POOR_RSRP_DBM


NEARLY_USED_PCT = 80.0   # as the data_budget alert's default (fleet/alerts/rules.py)


# What only the devices' history says (their drills, this month's bytes from telemetry) is kept by the alert loop
# of `fleet serve` (fleet/watch.py, table site_watch); a caller that wants these filters puts it in each device's
# "watch" key first: with_watch(devices, watch_db.tracked(db)).
def with_watch(devices: list[dict[str, Any]], tracked: dict[str, Any]) -> list[dict[str, Any]]:
    for d in devices:
        d["watch"] = tracked.get(d["device_id"])
    return devices


def _tracked(d: dict[str, Any]):
    from fleet.sites import Tracked
    return d.get("watch") or Tracked({})


def drill_failed(d: dict[str, Any]) -> bool:
    return _tracked(d).drill_ok is False


def drill_overdue(d: dict[str, Any]) -> bool:
    return _tracked(d).drill_overdue


def budget_nearly_used(d: dict[str, Any]) -> bool:
    from fleet.sites import view_of
    v = view_of(d, _tracked(d))
    return bool(v.data_used_bytes is not None and v.data_budget_bytes
                and 100.0 * v.data_used_bytes / v.data_budget_bytes >= NEARLY_USED_PCT)


FILTERS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "online": lambda d: d["online"] is True,
    "offline": lambda d: d["online"] is False,
    "on_backup": on_backup,
    "poor_signal": poor_signal,
    "no_status": lambda d: d["online"] is None,   # seen, but no status yet (a message got through without one)
    "drill_failed": drill_failed,                 # its last drill failed
    "drill_overdue": drill_overdue,               # the agent said no drill passed for too long, none passed since
    "drill_failed_or_overdue": lambda d: drill_failed(d) or drill_overdue(d),
    "budget_nearly_used": budget_nearly_used,     # cellular data this month at NEARLY_USED_PCT of the budget or more
}


def select(devices: list[dict[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    """The devices every named filter accepts."""
    return [d for d in devices if all(FILTERS[n](d) for n in names)]


def row(d: dict[str, Any], now: float) -> dict[str, Any]:
    st = d["state"]
    status = {True: "online", False: "offline", None: "?"}[d["online"]]
    return {
        "site": d["device_id"],
        "status": status,
        "since": _ago(now - d["since"]) if d["since"] is not None else "",
        "uplink": _get(st, "failover", "active_uplink") or "",
        "failover": _get(st, "failover", "state") or "",
        "operator": _get(st, "modem", "operator_name") or _get(st, "cellular", "operator") or "",
        "rsrp_dbm": _get(st, "modem", "signal", "rsrp_dbm"),
        "last_seen": _ago(now - d["last_seen"]),
    }


def _ago(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172800:
        return f"{s // 3600} h"
    return f"{s // 86400} d"


def table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no devices"
    heads = list(rows[0])
    cells = [[("" if r[h] is None else str(r[h])) for h in heads] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(heads, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells]
    return "\n".join(lines)
