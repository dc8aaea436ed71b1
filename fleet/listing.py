"""The fleet as rows for `relais fleet ls` and the console's fleet table: pure functions over
FleetDb.devices(latest=True). FILTERS is the one home of the filters both offer (`--filter NAME`, `?filter=NAME`).
"""
from __future__ import annotations

from typing import Any, Callable

from fleet import uplinks
from fleet.alerts.rules import Rules

POOR_RSRP_DBM = -110   # below this LTE reference signal power a link is unreliable (3GPP "poor" band, -110..-120)
BUDGET_NEARLY_USED = Rules.data_budget_pct / 100   # the share of the month's cellular data budget the alerts
                                                   # warn at: the table's filter shows the same sites
INCIDENT_KINDS = ("failover", "outage_closed")     # events that are an incident: the primary lost, an outage closed


def _get(state: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(state, dict):
            return None
        state = state.get(key)
    return state


def on_backup(d: dict[str, Any]) -> bool:
    """Traffic on an uplink worse than the device's preferred one (fleet/uplinks.py; "backup" for legacy devices)."""
    return uplinks.on_backup(_get(d["state"], "failover"))


def poor_signal(d: dict[str, Any]) -> bool:
    rsrp = _get(d["state"], "modem", "signal", "rsrp_dbm")
    return isinstance(rsrp, (int, float)) and not isinstance(rsrp, bool) and rsrp < POOR_RSRP_DBM


def _latest(d: dict[str, Any], kind: str) -> dict[str, Any] | None:
    found = (d.get("latest") or {}).get(kind)
    return found if isinstance(found, dict) and isinstance(found.get("ts"), (int, float)) else None


def last_drill(d: dict[str, Any]) -> tuple[float | None, bool | None]:
    """(when, passed) of the latest drill: the drill_result event, else the retained `drills` part (no time)."""
    event = _latest(d, "drill_result")
    if event is not None:
        ok = event["data"].get("ok")
        return event["ts"], ok if isinstance(ok, bool) else None
    ok = _get(d["state"], "drills", "last", "ok")
    return None, ok if isinstance(ok, bool) else None


def drill_failed(d: dict[str, Any]) -> bool:
    return last_drill(d)[1] is False


def drill_overdue(d: dict[str, Any]) -> bool:
    """The agent said drill_overdue after its latest drill (the agent knows its own schedule, [drills]
    overdue_days; the fleet does not guess it)."""
    at, _ = last_drill(d)
    overdue = _latest(d, "drill_overdue")
    return overdue is not None and (at is None or overdue["ts"] > at)


def drill_failed_or_overdue(d: dict[str, Any]) -> bool:
    return drill_failed(d) or drill_overdue(d)


def data_used(d: dict[str, Any]) -> tuple[int | None, int | None]:
    """(bytes used this billing month, the month's budget) of the SIM in use: the agent's cellular usage."""
    usage = _get(d["state"], "cellular", "usage") or {}
    used, cap = usage.get("total_bytes"), usage.get("cap_bytes")
    ok = [isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (used, cap)]
    return (used if ok[0] else None), (cap if ok[1] and cap else None)


def budget_nearly_used(d: dict[str, Any]) -> bool:
    used, cap = data_used(d)
    return used is not None and cap is not None and used >= BUDGET_NEARLY_USED * cap


def last_incident(d: dict[str, Any]) -> dict[str, Any] | None:
    """The latest of INCIDENT_KINDS: {"ts", "kind", "data"}."""
    found = [dict(e, kind=k) for k in INCIDENT_KINDS if (e := _latest(d, k)) is not None]
    return max(found, key=lambda e: e["ts"]) if found else None


FILTERS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "online": lambda d: d["online"] is True,
    "offline": lambda d: d["online"] is False,
    "on_backup": on_backup,
    "poor_signal": poor_signal,
    "no_status": lambda d: d["online"] is None,   # seen, but no status yet (a message got through without one)
    "drill_failed": drill_failed,                 # its last drill failed
    "drill_overdue": drill_overdue,               # the agent said no drill passed for too long, none passed since
    "drill_failed_or_overdue": drill_failed_or_overdue,
    "budget_nearly_used": budget_nearly_used,     # cellular data this month at BUDGET_NEARLY_USED of the budget
}


# Every state path the filters, row() and the console's sort keys read: slim() keeps only these, so the console
# can hold 10,000 devices in memory (an agent's modem and failover parts are kilobytes each)
STATE_PATHS = (("failover", "active_uplink"), ("failover", "state"), ("failover", "links"), ("modem", "operator_name"),
               ("modem", "signal", "rsrp_dbm"), ("cellular", "operator"), ("cellular", "usage", "total_bytes"),
               ("cellular", "usage", "cap_bytes"), ("drills", "last", "ok"))


def slim(d: dict[str, Any]) -> dict[str, Any]:
    """The device with only what STATE_PATHS name, and of its latest events only the time (and a drill's ok):
    every filter and row() read the same from it as from the whole device."""
    state: dict[str, Any] = {}
    for path in STATE_PATHS:
        value = _get(d["state"], *path)
        if value is not None:
            node = state
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = uplinks.slim_links(value) if path == ("failover", "links") else value
    latest = {kind: {"ts": e["ts"], "data": {"ok": e["data"]["ok"]} if isinstance(e.get("data"), dict)
                     and "ok" in e["data"] else {}}
              for kind, e in (d.get("latest") or {}).items()}
    return {**{k: v for k, v in d.items() if k not in ("state", "latest")}, "state": state, "latest": latest}


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
        "data_used": _data_text(*data_used(d)),
        "last_incident": _incident_text(last_incident(d), now),
        "last_drill": _drill_text(*last_drill(d), now),
    }


def _data_text(used: int | None, cap: int | None) -> str:
    if used is None:
        return ""
    text = _bytes(used)
    return f"{text} ({100 * used / cap:.0f} %)" if cap else text


def _bytes(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""


def _incident_text(incident: dict[str, Any] | None, now: float) -> str:
    if incident is None:
        return ""
    return f"{incident['kind']} {_ago(now - incident['ts'])} ago"


def _drill_text(at: float | None, ok: bool | None, now: float) -> str:
    if at is None and ok is None:
        return ""
    result = {True: "passed", False: "failed", None: "?"}[ok]
    return f"{result} {_ago(now - at)} ago" if at is not None else result


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
