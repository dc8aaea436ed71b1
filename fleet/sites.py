"""What the fleet knows of each site beyond its messages, and each site as the alerts see it: pure, no IO.

Where a site's facts come from, first found wins:
- provider of the primary: the fleet's site list (`[correlate] sites`), else the `provider` of the device's own
  `[[contracts]]` table for the primary, which the agent publishes in its `device` state part;
- area (postcode or city): the site list only (the router does not know its postcode);
- cellular operator: the site list, else the `cellular` part's `operator`, else the `modem` part's
  `operator_name` (the network the modem is registered on);
- guaranteed time to repair: the site list's `repair_hours`, else the primary contract's `repair_hours`.

The site list is a CSV file with a header naming its columns: `device_id` and any of `provider`, `area`,
`operator`, `repair_hours`:

    device_id,provider,area,repair_hours
    shop-0042,Orange fibre,69003,4
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from common.wire.topics import is_topic_level
from fleet import uplinks
from fleet.alerts.rules import SiteView, signal_poor
from fleet.correlate import Site

COLUMNS = ("device_id", "provider", "area", "operator", "repair_hours")


@dataclass(frozen=True)
class SiteInfo:
    provider: str = ""
    area: str = ""
    operator: str = ""
    repair_hours: float | None = None


def read_site_list(text: str, where: str) -> dict[str, SiteInfo]:
    """The site list; a bad line raises ValueError naming the file, the line and what is wrong."""
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if header is None:
        return {}
    names = [h.strip().lower() for h in header]
    unknown = [n for n in names if n not in COLUMNS]
    if "device_id" not in names or unknown:
        raise ValueError(f"{where}:1: expected a header of device_id and any of {', '.join(COLUMNS[1:])}, got "
                         f"{','.join(header)[:80]!r}")
    out: dict[str, SiteInfo] = {}
    for number, cells in enumerate(rows, 2):
        if not cells or not "".join(cells).strip() or cells[0].lstrip().startswith("#"):
            continue
        if len(cells) > len(names):
            raise ValueError(f"{where}:{number}: {len(cells)} cells for {len(names)} columns")
        row = dict(zip(names, (c.strip() for c in cells)))
        device = row.get("device_id", "")
        if not is_topic_level(device):
            raise ValueError(f"{where}:{number}: {device[:80]!r} is not a device id (1-64 of A-Z a-z 0-9 _ . : -)")
        repair = row.get("repair_hours", "")
        hours = None
        if repair:
            try:
                hours = float(repair)
            except ValueError:
                hours = -1.0
            if not (math.isfinite(hours) and 0 <= hours <= 8760):
                raise ValueError(f"{where}:{number}: repair_hours: expected hours from 0 to 8760, got {repair[:20]!r}")
        out[device] = SiteInfo(row.get("provider", ""), row.get("area", ""), row.get("operator", ""), hours)
    return out


def _get(state: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(state, Mapping):
            return None
        state = state.get(key)
    return state


def _text(value: Any) -> str:
    return " ".join(value.split())[:120] if isinstance(value, str) else ""


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def primary_contract(state: Mapping[str, Any]) -> Mapping[str, Any]:
    """The device's published contract for its preferred uplink ({} when none): untrusted, read with care."""
    best = uplinks.preferred(_get(state, "failover"))
    contracts = _get(state, "device", "contracts")
    if isinstance(contracts, list):
        for c in contracts:
            if isinstance(c, Mapping) and c.get("uplink", uplinks.LEGACY_PREFERRED) == best:
                return c
    return {}


def info_of(device_id: str, state: Mapping[str, Any], listed: Mapping[str, SiteInfo]) -> SiteInfo:
    mine = listed.get(device_id, SiteInfo())
    contract = primary_contract(state)
    hours = mine.repair_hours if mine.repair_hours is not None else _number(contract.get("repair_hours"))
    return SiteInfo(provider=_text(mine.provider) or _text(contract.get("provider")),
                    area=_text(mine.area),
                    operator=_text(mine.operator) or _text(_get(state, "cellular", "operator"))
                    or _text(_get(state, "modem", "operator_name")),
                    repair_hours=hours if hours else None)     # 0 in a contract: no promise


def site_of(device_id: str, state: Mapping[str, Any], listed: Mapping[str, SiteInfo]) -> Site:
    i = info_of(device_id, state, listed)
    failover = _get(state, "failover")
    return Site(device_id, i.provider, i.area, i.operator, uplinks.preferred(failover), uplinks.cellular(failover))


# ---- what the alert loop keeps of each site between rounds (persisted: fleet/watch_db.py) -------------------------

@dataclass(frozen=True)
class Tracked:
    """A site's facts that only its messages' history holds: the telemetry metrics as they stand (telemetry is
    sent by exception: a metric holds its last value), since when the signal is poor, its last drill."""
    metrics: Mapping[str, Any] = field(default_factory=dict)
    poor_since: float | None = None
    drill_at: float | None = None
    drill_ok: bool | None = None
    overdue_at: float | None = None     # the latest drill_overdue event

    def as_json(self) -> dict[str, Any]:
        return {"metrics": dict(self.metrics or {}), "poor_since": self.poor_since, "drill_at": self.drill_at,
                "drill_ok": self.drill_ok, "overdue_at": self.overdue_at}

    @staticmethod
    def from_json(doc: Any) -> "Tracked":
        if not isinstance(doc, Mapping):
            return Tracked({})
        ok = doc.get("drill_ok")
        return Tracked(doc.get("metrics") if isinstance(doc.get("metrics"), Mapping) else {},
                       _number(doc.get("poor_since")), _number(doc.get("drill_at")),
                       ok if isinstance(ok, bool) else None, _number(doc.get("overdue_at")))

    @property
    def drill_overdue(self) -> bool:
        """The agent said overdue, and no drill passed since."""
        if self.overdue_at is None:
            return False
        return not (self.drill_ok and self.drill_at is not None and self.drill_at >= self.overdue_at)


METRIC_NAME_MAX = 40     # the agent's longest: an uplink's series, "<24-character name>_loss_pct" (docs/mqtt.md)


def with_telemetry(t: Tracked, ts: float, metrics: Any) -> Tracked:
    """signal_poor_since() one message at a time (fleet/alerts/rules.py): `null` removes a metric, a message
    without signal metrics does not end a poor run, a good reading does."""
    if not isinstance(metrics, dict):      # as decoded from the database's JSON text (a dict, or not usable)
        return t
    current = dict(t.metrics or {})
    for key, value in metrics.items():
        if not isinstance(key, str):
            continue
        if value is None:
            current.pop(key[:METRIC_NAME_MAX], None)
        elif type(value) in (int, float):    # not bool (a subclass of int), nor anything else
            current[key[:METRIC_NAME_MAX]] = value
    poor, since = signal_poor(current), t.poor_since
    if poor is False:
        since = None
    elif poor and since is None:
        since = ts
    # the constructor, not dataclasses.replace: a restart after a day away runs this for every telemetry row
    return Tracked(current, since, t.drill_at, t.drill_ok, t.overdue_at)


def with_event(t: Tracked, kind: str, ts: float, data: Any) -> Tracked:
    if kind == "drill_result" and isinstance(data, Mapping) and isinstance(data.get("ok"), bool):
        if t.drill_at is None or ts >= t.drill_at:
            return replace(t, drill_at=ts, drill_ok=data["ok"])
    elif kind == "drill_overdue" and (t.overdue_at is None or ts > t.overdue_at):
        return replace(t, overdue_at=ts)
    return t


@dataclass(frozen=True, slots=True)
class StateFacts:
    """What the alert rules read of a device's row and state parts, small: the loop keeps one per device between
    reading the states and evaluating the rules, instead of the parts themselves (2 KB a device as dicts)."""
    site: str
    online: bool
    offline_since: float | None
    on_backup_since: float | None
    used_bytes: float | None          # the state part's usage total: only as fresh as the part's publication
    budget_bytes: float | None


def state_facts(d: Mapping[str, Any]) -> StateFacts:
    st = d.get("state") or {}
    online = d.get("online") is not False
    backup = uplinks.on_backup(_get(st, "failover"))
    return StateFacts(d["device_id"], online, None if online else d.get("since"),
                      _number(_get(st, "failover", "since")) if backup else None,
                      _number(_get(st, "cellular", "usage", "total_bytes")),
                      _number(_get(st, "cellular", "usage", "cap_bytes")))


def view_from(f: StateFacts, t: Tracked) -> SiteView:
    """A site as the alert rules see it."""
    metrics = t.metrics or {}
    rx, tx = _number(metrics.get("rx_bytes")), _number(metrics.get("tx_bytes"))
    # telemetry carries this month's bytes with every message; the state part's usage is only as fresh as the
    # part's last publication (its numbers do not republish it)
    used = rx + tx if rx is not None and tx is not None else f.used_bytes
    return SiteView(site=f.site, online=f.online, offline_since=f.offline_since, on_backup_since=f.on_backup_since,
                    last_drill_at=t.drill_at, last_drill_ok=t.drill_ok, drill_overdue=t.drill_overdue,
                    data_used_bytes=None if used is None else int(used),
                    data_budget_bytes=int(f.budget_bytes) if f.budget_bytes else None,
                    signal_poor_since=t.poor_since)


def view_of(d: Mapping[str, Any], t: Tracked) -> SiteView:
    """A site as the alert rules see it, from FleetDb.devices()'s row and what the loop tracked."""
    return view_from(state_facts(d), t)
