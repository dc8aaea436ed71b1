"""The report's figures from a ledger Period: a pure function, `compute(period, settings) -> dict`.

The dict is the JSON report (`relais report --format json`, the MQTT `report` command); the text, CSV, HTML and
claim renderers only lay it out. Every figure is counted over the time the agent *observed*: a NOT_OBSERVED
incident (the agent was not running) and the time before the ledger's first sign of life are shown on their own,
never counted as up, nor as the operator's downtime. Planned switches (drills, a manual switch) are listed but are
not downtime either.

Shape: {"period", "site", "uplinks": {name: {...}}, "operators", "contracts", "incidents": [...], "drills",
"speed", "switches", "totals", "cost"}. Times are Unix seconds (UTC) with an ISO local time next to them.
"""
from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from common.business_hours import describe, parse_business_hours
from agent.ledger.records import ALL_LINKS, DEGRADED, DOWN, NOT_OBSERVED, POWER, SITE, TOTAL, Incident, Period
from agent.report.hours import (BusinessHours, Intervals, clip, intersect, months, subtract, system_zone, total,
                                union, utc, zone_key, zone_named)

UPLINKS = ("primary", "backup")
CELLULAR_LINK = "backup"      # the modem's uplink of old: its operators come from the ledger's SIM/operator switches


@dataclass(frozen=True)
class Contract:
    """An uplink's promises ([[contracts]]); 0 = not promised."""
    uplink: str
    provider: str = ""
    reference: str = ""
    availability_pct: float = 0.0
    repair_hours: float = 0.0
    repair_in_business_hours: bool = False
    down_mbps: float = 0.0
    up_mbps: float = 0.0


@dataclass(frozen=True)
class ReportSettings:
    zone: ZoneInfo = field(default_factory=utc)            # business hours, months
    display_zone: ZoneInfo = field(default_factory=utc)    # the local times shown
    hours: str = ""                                  # [business] hours, e.g. "Mon-Sat 08:00-19:00"
    cost_per_hour: float = 0.0
    currency: str = "EUR"
    contracts: tuple[Contract, ...] = ()
    uplinks: tuple[str, ...] = UPLINKS
    cellular: str = CELLULAR_LINK     # the name of the modem's uplink (kind cellular among [[uplinks]])
    now: float | None = None          # nothing after it was observed (a report of the current month)
    business: str = ""
    device: str = ""
    site: str = ""

    @classmethod
    def from_config(cls, config, display_zone: ZoneInfo | None = None, now: float | None = None) -> "ReportSettings":
        b = config.business
        zone = zone_named(b.timezone) if b.timezone else system_zone()
        contracts = tuple(Contract(c.uplink, c.provider, c.reference, c.availability_pct, c.repair_hours,
                                   c.repair_in_business_hours, c.down_mbps, c.up_mbps) for c in config.contracts)
        return cls(zone=zone, display_zone=display_zone or zone, hours=b.hours, cost_per_hour=b.cost_per_hour,
                   currency=b.currency, contracts=contracts, now=now, business=b.name or config.device.site,
                   uplinks=tuple(u.name for u in config.effective_uplinks()),
                   cellular=next((u.name for u in config.effective_uplinks() if u.cellular), CELLULAR_LINK),
                   device=config.device.id, site=config.device.site)


def compute(period: Period, settings: ReportSettings) -> dict[str, Any]:
    return _Report(period, settings).build()


class _Report:
    def __init__(self, period: Period, s: ReportSettings):
        self.p, self.s = period, s
        self.since, self.until = period.since, period.until
        self.end = self.until if s.now is None else max(self.since, min(self.until, s.now))
        self.hours = BusinessHours(parse_business_hours(s.hours), s.zone)
        self.contracts = {c.uplink: c for c in s.contracts}
        self.business = union(self.hours.windows(self.since, self.until)) if self.hours.defined else None
        self._business_ends = [e for _, e in self.business or ()]
        records = period.incidents or period.drills or period.speeds or period.switches
        # None: the ledger does not say when it first saw the agent (written before heartbeats existed). With
        # records in it the period counts as observed from its start; an empty one observed nothing.
        first = period.observed_since
        if first is None:
            first = self.since if records else self.end
        self.gap_before = (self.since, min(max(first, self.since), self.end))
        self.not_observed = union([self.gap_before] + [self._span(i) for i in period.incidents
                                                       if i.kind == NOT_OBSERVED])
        self.observed = subtract([(self.since, self.end)], self.not_observed)
        self.power: Intervals = []       # the site's power cuts (build())

    # ---- pieces ---------------------------------------------------------------------------------------------
    def _span(self, i: Incident) -> tuple[float, float]:
        """The incident's time within the period. A measured duration (monotonic) beats the wall clock's
        difference, which a clock step during the incident would falsify: it is laid from the end that an
        unsynced clock did not stamp."""
        if i.end is None:
            start, end = i.start, max(i.start, self.end)
        elif i.duration_s is not None and i.duration_basis == "monotonic":
            if i.start_source == "unsynced" and i.end_source not in (None, "unsynced"):
                start, end = i.end - i.duration_s, i.end
            else:
                start, end = i.start, i.start + i.duration_s
        else:
            start, end = i.start, i.end
        return max(start, self.since), min(end, self.until)

    def _duration(self, i: Incident) -> float:
        if i.end is None:
            return max(0.0, self.end - i.start)
        return float(i.duration_s) if i.duration_s is not None else max(0.0, i.end - i.start)

    def _local(self, ts: float | None) -> str | None:
        if ts is None:
            return None
        return dt.datetime.fromtimestamp(ts, self.s.display_zone).isoformat(timespec="seconds")

    def _business_s(self, intervals: Intervals) -> float | None:
        return None if self.business is None else total(intersect(intervals, self.business))

    def _business_within(self, a: float, b: float) -> float | None:
        """Business seconds in [a, b): a year holds ~300 opening windows, so find the first by bisection."""
        if self.business is None:
            return None
        seconds, n = 0.0, bisect.bisect_right(self._business_ends, a)
        while n < len(self.business) and self.business[n][0] < b:
            s, e = self.business[n]
            seconds += max(0.0, min(e, b) - max(s, a))
            n += 1
        return seconds

    @staticmethod
    def _counted(i: Incident) -> bool:
        """The operator's downtime: a link down, not planned."""
        return i.kind == DOWN and not i.planned and i.link != ALL_LINKS

    def _availability(self, down: Intervals, observed: Intervals) -> float | None:
        seen = total(observed)
        return round(100.0 * (1.0 - total(intersect(down, observed)) / seen), 6) if seen > 0 else None

    # ---- the report -----------------------------------------------------------------------------------------
    def build(self) -> dict[str, Any]:
        p = self.p
        links = list(self.s.uplinks) + sorted({i.link for i in p.incidents if i.link not in (ALL_LINKS, SITE)}
                                              - set(self.s.uplinks))
        # The site's power cuts: counted apart, never an uplink's downtime, and an uplink down while the site had
        # no power (the fiber box off) is not the operator's downtime for that time either (`during_power_cut_s`).
        power_cuts = [i for i in p.incidents if i.kind == POWER]
        self.power = union(self._span(i) for i in power_cuts)
        down_of = {name: subtract(union(self._span(i) for i in p.incidents if i.link == name and self._counted(i)),
                                  self.power)
                   for name in links}
        incidents = [self._incident(i) for i in p.incidents]
        uplinks = {name: self._uplink(name, down_of[name]) for name in links}
        totals_of = union(self._span(i) for i in p.incidents if i.kind == TOTAL and not i.planned)
        total_offline = subtract(totals_of, self.not_observed)
        weak = sum(1 for x in incidents if x["weak_evidence"])
        drills = [self._drill(d) for d in p.drills]
        speeds = [self._speed(x) for x in p.speeds]
        weak += sum(1 for x in drills + speeds if x["weak_evidence"])
        head = self.s.uplinks[0] if self.s.uplinks else "primary"
        h = uplinks.get(head, {})
        not_observed_s = total(self.not_observed)
        report = {
            "period": {
                "since": self.since, "until": self.until, "since_local": self._local(self.since),
                "until_local": self._local(self.until), "zone": zone_key(self.s.display_zone),
                "business_zone": zone_key(self.s.zone), "duration_s": round(self.until - self.since, 3),
                "observed_s": round(total(self.observed), 3), "not_observed_s": round(not_observed_s, 3),
                "observed_since": p.observed_since,
                "business_hours": describe(self.hours.week) if self.hours.defined else None,
                "business_hours_s": None if self.business is None else round(total(self.business), 3),
                "empty": not (p.incidents or p.drills or p.speeds or p.switches),
                "generated_at": self.s.now, "generated_local": self._local(self.s.now)},
            "site": {"business": self.s.business, "device": self.s.device, "site": self.s.site},
            "uplinks": uplinks,
            "operators": self._operators(down_of.get(self.s.cellular, []),
                                         [self._span(i) for i in p.incidents if i.link == head
                                          and self._counted(i)]),
            "contracts": [self._contract(c, down_of.get(c.uplink, [])) for c in self.s.contracts],
            "incidents": incidents,
            "drills": drills,
            "speed": speeds,
            "switches": [{"ts": w.ts, "local": self._local(w.ts), "time_source": w.time_source, "kind": w.kind,
                          "sim": w.sim, "operator": w.operator, "reason": w.reason} for w in p.switches],
            "totals": {
                # the headline: the first uplink, the one the business pays a fixed line for
                "uplink": head, "count": h.get("count", 0), "downtime_s": h.get("downtime_s", 0.0),
                "availability_pct": h.get("availability_pct"),
                "availability_business_pct": h.get("availability_business_pct"),
                "incidents": len(incidents),
                "total_outages": sum(1 for i in p.incidents if i.kind == TOTAL and not i.planned),
                "offline_s": round(total(total_offline), 3),
                "offline_business_s": _round(self._business_s(total_offline)),
                "not_observed_s": round(not_observed_s, 3),
                "not_observed": sum(1 for i in p.incidents if i.kind == NOT_OBSERVED),
                "power_cuts": len(power_cuts),
                "power_cut_s": round(total(self.power), 3),
                "drills": len(drills), "drills_failed": sum(1 for d in drills if d["ok"] is False),
                "speed_measurements": len(speeds),
                "exceeds_repair_time": sum(1 for x in incidents if x["exceeds_repair_time"]),
                "weak_evidence": weak, "unsynced_timestamps": weak > 0,
            },
            "cost": self._cost(total_offline, down_of.get(head, [])),
        }
        return report

    def _uplink(self, name: str, down: Intervals) -> dict[str, Any]:
        mine = [i for i in self.p.incidents if i.link == name]
        counted = [i for i in mine if self._counted(i)]
        closed = [self._duration(i) for i in counted if i.end is not None]
        degraded = union(self._span(i) for i in mine if i.kind == DEGRADED)
        planned = [i for i in mine if i.planned]
        down_seen = intersect(down, self.observed)
        observed_business = self._business_s(self.observed)
        down_business = self._business_s(down_seen)
        return {
            "count": len(counted),
            "downtime_s": round(total(down_seen), 3),
            "longest_s": round(max((self._duration(i) for i in counted), default=0.0), 3),
            "mttr_s": round(sum(closed) / len(closed), 3) if closed else None,
            "ongoing": sum(1 for i in counted if i.end is None),
            "availability_pct": self._availability(down, self.observed),
            "downtime_business_s": _round(down_business),
            "availability_business_pct": (round(100.0 * (1 - down_business / observed_business), 6)
                                          if observed_business else None),
            "degraded_count": sum(1 for i in mine if i.kind == DEGRADED),
            "degraded_s": round(total(degraded), 3),
            "planned_count": len(planned),
            "planned_s": round(total(union(self._span(i) for i in planned)), 3),
            "contract": self.contracts.get(name) is not None,
        }

    def _operators(self, cellular_down: Intervals, primary_down: Intervals) -> list[dict[str, Any]]:
        """Per cellular operator, from the ledger's operator/SIM switches: the time it served the backup,
        the backup's downtime on it, and how long it carried the traffic while the primary was down."""
        segments: list[tuple[str, float]] = []
        for w in self.p.switches:
            if w.operator:
                segments.append((w.operator, w.ts))
        if not segments:
            return []
        bounds: dict[str, Intervals] = {}
        first = "(unknown)"
        marks = [(first, self.since)] + [(op, max(ts, self.since)) for op, ts in segments]
        for (op, start), (_, end) in zip(marks, marks[1:] + [("", self.until)]):
            if end > start:
                bounds.setdefault(op, []).append((start, min(end, self.until)))
        out = []
        for op, spans in bounds.items():
            spans = union(spans)
            seen = intersect(spans, self.observed)
            if not seen and op == first:
                continue
            # None: the network before the period's first switch, which the period's records do not name
            out.append({"operator": None if op == first else op, "observed_s": round(total(seen), 3),
                        "downtime_s": round(total(intersect(cellular_down, seen)), 3),
                        "availability_pct": self._availability(intersect(cellular_down, spans), seen),
                        "carried_s": round(total(intersect(union(primary_down), seen)), 3)})
        return out

    def _contract(self, c: Contract, down: Intervals) -> dict[str, Any]:
        month_rows = []
        for name, a, b, whole in months(self.since, self.until, self.s.zone):
            seen = clip(self.observed, a, b)
            pct = self._availability(clip(down, a, b), seen)
            month_rows.append({"month": name, "availability_pct": pct,
                               "downtime_s": round(total(intersect(clip(down, a, b), seen)), 3),
                               "observed_s": round(total(seen), 3),
                               "partial": b - a < whole - 1,      # the period covers only part of it
                               "under_promise": bool(c.availability_pct and pct is not None
                                                     and pct < c.availability_pct)})
        speeds = [x for x in self.p.speeds if x.link == c.uplink and x.ok and x.down_bps]
        downs = [x.down_bps / 1e6 for x in speeds]
        ups = [x.up_bps / 1e6 for x in speeds if x.up_bps]
        return {
            "uplink": c.uplink, "provider": c.provider, "reference": c.reference,
            "availability_pct": c.availability_pct or None, "repair_hours": c.repair_hours or None,
            "repair_in_business_hours": c.repair_in_business_hours,
            "down_mbps": c.down_mbps or None, "up_mbps": c.up_mbps or None,
            "months": month_rows,
            "months_under_promise": [m["month"] for m in month_rows if m["under_promise"]],
            "measured": {"count": len(speeds),
                         "down_median_mbps": _round(_median(downs) if downs else None, 2),
                         "down_min_mbps": _round(min(downs) if downs else None, 2),
                         "up_median_mbps": _round(_median(ups) if ups else None, 2),
                         "below_guarantee": sum(1 for d in downs if c.down_mbps and d < c.down_mbps)},
        }

    def _incident(self, i: Incident) -> dict[str, Any]:
        duration = self._duration(i)
        span = self._span(i)
        contract = self.contracts.get(i.link)
        exceeds, limit_s, repair_s = None, None, None
        if contract is not None and contract.repair_hours and self._counted(i):
            limit_s = contract.repair_hours * 3600
            if contract.repair_in_business_hours:
                end = i.start + duration
                repair_s = self.hours.seconds(i.start, end) if self.hours.defined else duration
            else:
                repair_s = duration
            exceeds = repair_s > limit_s
        return {
            "id": i.id, "link": i.link, "kind": i.kind, "cause": i.cause,
            "start": i.start, "end": i.end, "start_local": self._local(i.start), "end_local": self._local(i.end),
            "start_source": i.start_source, "end_source": i.end_source,
            "duration_s": round(duration, 3), "duration_basis": i.duration_basis, "ongoing": i.end is None,
            "planned": i.planned, "carried_by": i.carried_by,
            "counted": self._counted(i),
            "during_power_cut_s": round(total(intersect([span], self.power)), 3) if self._counted(i) else 0.0,
            "business_hours_s": _round(self._business_within(*span)),
            "exceeds_repair_time": exceeds, "repair_limit_s": limit_s,
            "repair_s": _round(repair_s),
            "evidence": dict(i.evidence),
            "weak_evidence": "unsynced" in (i.start_source, i.end_source),
        }

    def _drill(self, d) -> dict[str, Any]:
        return {"ts": d.ts, "local": self._local(d.ts), "time_source": d.time_source, "kind": d.kind, "ok": d.ok,
                "recovery_s": d.recovery_s, "services": [dict(x) for x in d.services],
                "weak_evidence": d.time_source == "unsynced", "data": dict(d.data)}

    def _speed(self, x) -> dict[str, Any]:
        c = self.contracts.get(x.link)
        down = x.down_bps / 1e6 if x.ok and x.down_bps else None
        up = x.up_bps / 1e6 if x.ok and x.up_bps else None
        g_down = c.down_mbps if c and c.down_mbps else None
        g_up = c.up_mbps if c and c.up_mbps else None
        return {"ts": x.ts, "local": self._local(x.ts), "time_source": x.time_source, "link": x.link, "ok": x.ok,
                "down_mbps": _round(down, 2), "up_mbps": _round(up, 2), "bytes": x.bytes, "method": x.method,
                "server": x.server, "error": x.error,
                "guaranteed_down_mbps": g_down, "guaranteed_up_mbps": g_up,
                "down_ratio": _round(down / g_down if down is not None and g_down else None, 3),
                "up_ratio": _round(up / g_up if up is not None and g_up else None, 3),
                "below_guarantee": (down < g_down) if down is not None and g_down else None,
                "weak_evidence": x.time_source == "unsynced"}

    def _cost(self, offline: Intervals, head_down: Intervals) -> dict[str, Any] | None:
        rate = self.s.cost_per_hour
        if not rate:
            return None
        # Without business hours every hour counts.
        window = self.business if self.business is not None else [(self.since, self.until)]
        offline_s = total(intersect(offline, window))
        covered_s = total(intersect(intersect(head_down, self.observed), window))
        return {"per_hour": rate, "currency": self.s.currency,
                "business_hours_only": self.business is not None,
                "offline_s": round(offline_s, 3), "offline_cost": round(offline_s / 3600 * rate, 2),
                # what the primary's downtime would have cost without the backup: its value as evidence
                "primary_down_s": round(covered_s, 3), "primary_down_cost": round(covered_s / 3600 * rate, 2)}


def _median(values: list[float]) -> float:
    """(statistics is left out of the agent's imports: tests/test_memory_budget.py)"""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
