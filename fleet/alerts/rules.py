"""The alert rules over the fleet's sites, and each channel's de-duplication: pure, time passed in."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from typing import Iterable, Mapping

from fleet.correlate import IncidentClosed, IncidentOpened, Link, describe


class Rule(StrEnum):
    OFFLINE = "offline"
    ON_BACKUP = "on_backup"
    PROVIDER_INCIDENT_OPENED = "provider_incident_opened"
    PROVIDER_INCIDENT_CLOSED = "provider_incident_closed"
    DRILL_FAILED = "drill_failed"
    DRILL_OVERDUE = "drill_overdue"
    DATA_BUDGET = "data_budget"
    SIGNAL_POOR = "signal_poor"


@dataclass(frozen=True)
class Rules:
    offline_after_s: float = 900.0          # 15 min: the broker's last will comes up to 15 min late anyway
    on_backup_after_s: float = 1800.0
    data_budget_pct: float = 80.0
    signal_poor_days: float = 3.0
    tz: str = "UTC"                         # the zone of the times in the titles ("Europe/Paris")


@dataclass(frozen=True)
class SiteView:
    """What the fleet database knows of one site, as the alerts need it. A time is None when it does not apply."""
    site: str
    online: bool = True
    offline_since: float | None = None
    on_backup_since: float | None = None      # the active uplink has been the backup since
    last_drill_at: float | None = None
    last_drill_ok: bool | None = None
    drill_overdue: bool = False               # the agent's drill_overdue event, not cleared by a passed drill yet
    data_used_bytes: int | None = None        # this month, cellular
    data_budget_bytes: int | None = None
    signal_poor_since: float | None = None


# "poor" as `relais doctor` grades it (agent/doctor/radio.py, GRADES: below the fair row), restated here because
# the fleet imports nothing of the agent: RSRP under -100 dBm, RSRQ under -20 dB, SINR under 0 dB; RSSI under
# -100 dBm where there is no RSRP (2G/3G)
POOR_BELOW = {"rsrp_dbm": -100, "rsrq_db": -20, "sinr_db": 0}
POOR_RSSI_BELOW = -100


def signal_poor(metrics: Mapping[str, object]) -> bool | None:
    """Whether one reading is poor; None when it holds no signal metric at all (nothing known)."""
    values = {k: v for k, v in metrics.items()
              if k in (*POOR_BELOW, "rssi_dbm") and isinstance(v, (int, float)) and not isinstance(v, bool)
              and v == v}
    if not values:
        return None
    if any(values[k] < floor for k, floor in POOR_BELOW.items() if k in values):
        return True
    return "rsrp_dbm" not in values and values.get("rssi_dbm", 0) < POOR_RSSI_BELOW


def signal_poor_since(telemetry: Iterable[tuple[float, Mapping[str, object]]]) -> float | None:
    """Since when the signal has been poor without a break, from a site's telemetry `(ts, metrics)` in time order
    (docs/mqtt.md: by exception, so a message carries only the metrics that moved, and a metric holds its last
    value until the next; `null` removes it); None when the latest reading is not poor or there is none."""
    current: dict[str, object] = {}
    since = None
    for ts, metrics in telemetry:
        if not isinstance(metrics, Mapping):
            continue
        for key, value in metrics.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
        poor = signal_poor(current)
        if poor is None:
            continue               # no signal metric in this one (a data-usage heartbeat): the run goes on
        if not poor:
            since = None
        elif since is None:
            since = ts
    return since


@dataclass(frozen=True)
class Alert:
    rule: Rule
    subject: str                # the site, or the provider incident's id
    key: str                    # what de-duplication compares: the same condition has the same key
    title: str                  # one line for a person
    at: float                   # when the condition began (or the incident opened/closed)
    data: Mapping[str, object] = field(default_factory=dict, hash=False)

    def as_json(self) -> dict:
        return {"rule": str(self.rule), "subject": self.subject, "key": self.key, "title": self.title,
                "at": round(self.at, 3), "data": dict(self.data)}


def firing(rules: Rules, sites: Iterable[SiteView], now: float, incidents: Iterable[object] = ()) -> list[Alert]:
    alerts: list[Alert] = []
    for s in sites:
        if not s.online and s.offline_since is not None and now - s.offline_since > rules.offline_after_s:
            alerts.append(Alert(Rule.OFFLINE, s.site, f"offline:{s.site}",
                                f"{s.site}: offline for {_span(now - s.offline_since)}", s.offline_since))
        if s.on_backup_since is not None and now - s.on_backup_since > rules.on_backup_after_s:
            alerts.append(Alert(Rule.ON_BACKUP, s.site, f"on_backup:{s.site}",
                                f"{s.site}: on the backup uplink for {_span(now - s.on_backup_since)}",
                                s.on_backup_since))
        if s.last_drill_ok is False and s.last_drill_at is not None:
            alerts.append(Alert(Rule.DRILL_FAILED, s.site, f"drill_failed:{s.site}:{s.last_drill_at:.0f}",
                                f"{s.site}: the failover drill of {stamp(s.last_drill_at, rules.tz)} failed",
                                s.last_drill_at))
        if s.drill_overdue:
            alerts.append(Alert(Rule.DRILL_OVERDUE, s.site, f"drill_overdue:{s.site}",
                                f"{s.site}: no failover drill has passed for too long",
                                now, {"last_drill_at": s.last_drill_at}))
        if s.data_used_bytes is not None and s.data_budget_bytes:
            pct = 100.0 * s.data_used_bytes / s.data_budget_bytes
            if pct > rules.data_budget_pct:
                alerts.append(Alert(Rule.DATA_BUDGET, s.site, f"data_budget:{s.site}",
                                    f"{s.site}: {pct:.0f} % of the cellular data budget used", now,
                                    {"used_bytes": s.data_used_bytes, "budget_bytes": s.data_budget_bytes}))
        if s.signal_poor_since is not None and now - s.signal_poor_since >= rules.signal_poor_days * 86400:
            alerts.append(Alert(Rule.SIGNAL_POOR, s.site, f"signal_poor:{s.site}",
                                f"{s.site}: cellular signal poor for {_span(now - s.signal_poor_since)}",
                                s.signal_poor_since))
    for action in incidents:
        if isinstance(action, (IncidentOpened, IncidentClosed)):
            inc = action.incident
            opened = isinstance(action, IncidentOpened)
            rule = Rule.PROVIDER_INCIDENT_OPENED if opened else Rule.PROVIDER_INCIDENT_CLOSED
            title = ("Provider incident: " if opened else "Provider incident over: ") + describe(inc, zone(rules.tz))
            data = {"link": str(inc.group.link), "provider": inc.group.provider, "area": inc.group.area,
                    "sites": [s.site for s in inc.sites], "down": list(inc.down)}
            if opened and inc.group.link is Link.CELLULAR:
                # the correlator's SuggestSimSwitch, told to the people who decide: the fleet orders nothing alone
                title += "; suggested: switch the sites on this operator to their other SIM"
                data["suggest"] = "sim_switch"
            alerts.append(Alert(rule, inc.id, f"{rule}:{inc.id}", title,
                                inc.opened_at if opened else inc.closed_at, data))
    return alerts


@dataclass(frozen=True)
class Memory:
    """What one channel sent, and when: key -> time sent."""
    sent: Mapping[str, float] = field(default_factory=dict)


def deduplicate(memory: Memory, alerts: Iterable[Alert], window_s: float, now: float) -> tuple[Memory, list[Alert]]:
    # a key older than the window would be let through anyway: forgetting it keeps the memory as small as the
    # set of alerts sent within one window
    sent = {k: t for k, t in memory.sent.items() if now - t < window_s}
    out = []
    for alert in alerts:
        if alert.key not in sent:
            sent[alert.key] = now
            out.append(alert)
    return Memory(sent), out



def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"


def stamp(ts: float, tz: str = "UTC") -> str:
    return datetime.fromtimestamp(ts, zone(tz)).strftime("%Y-%m-%d %H:%M %Z")


@functools.lru_cache(maxsize=8)
def zone(name: str):
    if name == "UTC":
        return timezone.utc
    from zoneinfo import ZoneInfo     # checked when the config is read (alerting_from)
    return ZoneInfo(name)

