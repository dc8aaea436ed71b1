"""`relais fleet report [SITE] --month YYYY-MM`: each provider's month across the fleet, for the next contract
negotiation — its availability over its sites, its outages beyond the guaranteed time to repair (GTR), the provider
incidents the fleet saw. With SITE: that site's month.

    gather(db, month, site)  -> Facts       the one read of the database
    compute(facts)           -> FleetMonth  pure: tested with tables
    text() / as_json() / html()             the renderers

The outages are the agent's own: its `outage_closed` event (docs/mqtt.md; the ledger's account of a primary outage,
start to the primary's recovery, drills not included) and, for a site on its backup now, the outage still running
from the failover part's `since`. An operator's own switch (`cause` manual) is planned, not the provider's.
Each site's provider and GTR come from fleet/sites.py: the site list, else the contract the device publishes.
Months are calendar months in UTC. A GTR counts calendar hours, or, when the contract says
`repair_in_business_hours`, the site's business hours in its zone (the `device` part's `business`, published by
the agent with such a contract; common/business_hours.py, DST included); a device that does not publish them
(an older agent) is counted in calendar hours and flagged so.
"""
from __future__ import annotations

import calendar
import html as htmllib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from common.business_hours import BusinessHours, UnknownZone, describe, parse_business_hours, zone_named
from fleet.correlate import Outage, ProviderMonth, provider_availability

UNKNOWN = "(no provider known)"


class ReportError(ValueError):
    pass


def month_bounds(text: str) -> tuple[float, float]:
    m = re.fullmatch(r"(\d{4})-(\d{2})", text or "")
    if not m or not 1 <= int(m.group(2)) <= 12 or not 1970 <= int(m.group(1)) <= 9999:
        raise ReportError(f"--month: expected YYYY-MM, got {text[:20]!r}")
    y, mo = int(m.group(1)), int(m.group(2))
    start = datetime(y, mo, 1, tzinfo=timezone.utc).timestamp()
    return start, start + calendar.monthrange(y, mo)[1] * 86400.0


@dataclass(frozen=True)
class SiteFacts:
    site: str
    provider: str
    repair_hours: float | None = None
    business_hours: bool = False          # the contract's GTR counts business hours only
    business: BusinessHours | None = None  # the site's opening hours in its zone; None: not published


@dataclass(frozen=True)
class Facts:
    month: str
    since: float
    until: float
    sites: tuple[SiteFacts, ...]
    outages: tuple[Outage, ...]
    incidents: tuple[Mapping[str, Any], ...] = ()
    only: str | None = None               # SITE


@dataclass(frozen=True)
class Late:
    outage: Outage
    repair_hours: float
    over_s: float
    business_hours: bool                  # the contract counts business hours ...
    counted_as: str = "calendar"          # ... and how the fleet counted: "calendar", or the hours and zone


@dataclass(frozen=True)
class FleetMonth:
    month: str
    providers: tuple[ProviderMonth, ...]
    late: tuple[Late, ...]                # beyond the site's GTR, longest first
    incidents: tuple[Mapping[str, Any], ...]
    site: str | None = None
    site_outages: tuple[Outage, ...] = field(default=())
    until: float = 0.0                    # the end of the month, or now for the month still going
    to_date: bool = False


def outage_of(site: str, provider: str, data: Any, ts: float) -> Outage | None:
    """An `outage_closed` event's data as an Outage, or None: the planned ones, and data not of its shape."""
    if not isinstance(data, Mapping) or data.get("cause") == "manual":
        return None
    start, end, duration = (data.get(k) for k in ("start", "end", "duration_s"))
    num = (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v))
    if not num(start):
        return None
    if not num(end):
        end = start + duration if num(duration) else ts
    if end < start:
        return None
    return Outage(site, provider, float(start), float(end))


def compute(f: Facts) -> FleetMonth:
    sites = {s.site: s for s in f.sites if f.only is None or s.site == f.only}
    outages = [o for o in f.outages if o.site in sites]
    providers = provider_availability(outages, {s: x.provider for s, x in sites.items()}, f.since, f.until)
    late = []
    for o in outages:
        s = sites[o.site]
        if s.repair_hours is None:
            continue
        end = f.until if o.end is None else o.end
        hours = s.business if s.business_hours else None
        elapsed = hours.seconds(o.start, end) if hours is not None else end - o.start
        over = elapsed - s.repair_hours * 3600      # the whole outage, also its part before the month
        if o.start < f.until and end > f.since and over > 0:
            late.append(Late(o, s.repair_hours, over, s.business_hours,
                             "calendar" if hours is None else f"{describe(hours.week)} {hours.zone.key}"))
    late.sort(key=lambda x: (-x.over_s, x.outage.site))
    incidents = tuple(i for i in f.incidents if f.only is None or any(x.get("site") == f.only for x in i["sites"]))
    return FleetMonth(f.month, tuple(providers), tuple(late), incidents, f.only,
                      tuple(sorted((o for o in outages if f.only), key=lambda o: o.start)), f.until,
                      f.until < month_bounds(f.month)[1])


# ---- reading the database ---------------------------------------------------------------------------------------

def gather(db, month: str, site: str | None = None, listed: Mapping | None = None,
           now: float | None = None) -> Facts:
    """The month's facts; the month still going is counted up to `now` (an outage going on does not run into the
    future, and the availability is the month's so far)."""
    from fleet import watch_db
    from fleet.sites import info_of, primary_contract
    from fleet.uplinks import on_backup
    since, until = month_bounds(month)
    if now is not None and since < now < until:
        until = now
    watch_db.prepare(db)      # a database `fleet serve` has not run its alert loop on yet: no incidents, no error
    listed = listed or {}
    devices = {d["device_id"]: d for d in db.devices()}
    if site is not None and site not in devices:
        raise ReportError(f"{site!r}: no such device in the fleet database")
    sites, provider_of = [], {}
    for device, d in devices.items():
        info = info_of(device, d["state"], listed)
        provider_of[device] = info.provider or UNKNOWN
        in_business = primary_contract(d["state"]).get("repair_in_business_hours") is True
        sites.append(SiteFacts(device, provider_of[device], info.repair_hours, in_business,
                               business_of(d["state"]) if in_business else None))
    outages: list[Outage] = []
    # an outage that began up to a month before and ended in this one counts for its part in this month
    for device, ts, data in db.query("SELECT device_id, ts, data FROM events WHERE kind = 'outage_closed' "
                                     "AND ts >= ? AND ts < ? ORDER BY ts", (since, until + 31 * 86400)):
        if device in provider_of:
            o = outage_of(device, provider_of[device], _json(data), ts)
            if o is not None and o.start < until and o.end > since:
                outages.append(o)
    for device, d in devices.items():
        fo = d["state"].get("failover") if isinstance(d["state"].get("failover"), dict) else {}
        start = fo.get("since")
        if on_backup(fo) and isinstance(start, (int, float)) and start < until:
            outages.append(Outage(device, provider_of[device], float(start), None))
    incidents = tuple(watch_db.incidents(db, since, until))
    return Facts(month, since, until, tuple(sites), tuple(outages), incidents, site)


def business_of(state: Mapping[str, Any]) -> BusinessHours | None:
    """The site's business hours as its agent publishes them (`device` part, `business`: {"hours", "timezone"}),
    or None when it does not or they are not readable (untrusted: the GTR is then counted in calendar hours)."""
    device = state.get("device")
    business = device.get("business") if isinstance(device, Mapping) else None
    if not isinstance(business, Mapping):
        return None
    hours, zone = business.get("hours"), business.get("timezone")
    if not isinstance(hours, str) or not isinstance(zone, str) or len(hours) > 500 or len(zone) > 64:
        return None
    try:
        week = parse_business_hours(hours)
        return BusinessHours(week, zone_named(zone)) if any(week) else None
    except (ValueError, UnknownZone):
        return None


def _json(text: Any) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


# ---- renderers ----------------------------------------------------------------------------------------------------

def _t(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M")


def _h(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def as_json(r: FleetMonth) -> dict[str, Any]:
    return {
        "month": r.month, "site": r.site, "until": r.until, "to_date": r.to_date,
        "providers": [{"provider": p.provider, "sites": p.sites, "outages": p.outages,
                       "downtime_s": round(p.downtime_s, 1), "availability_pct": round(p.availability_pct, 4)}
                      for p in r.providers],
        "beyond_repair_time": [{"site": x.outage.site, "provider": x.outage.provider, "start": x.outage.start,
                                "end": x.outage.end, "repair_hours": x.repair_hours, "over_s": round(x.over_s, 1),
                                "business_hours": x.business_hours, "counted_as": x.counted_as} for x in r.late],
        "provider_incidents": [{k: i[k] for k in ("id", "link", "provider", "area", "since", "closed_at")} |
                               {"sites": [s["site"] for s in i["sites"]]} for i in r.incidents],
        **({"outages": [{"start": o.start, "end": o.end} for o in r.site_outages]} if r.site else {}),
    }


def _rows(r: FleetMonth) -> list[tuple[str, list[str], list[list[str]]]]:
    """Each section as (title, heads, cells): what the text and HTML renderers share."""
    out = [("Availability per provider", ["provider", "sites", "outages", "downtime", "availability"],
            [[p.provider, str(p.sites), str(p.outages), _h(p.downtime_s), f"{p.availability_pct:.3f} %"]
             for p in r.providers])]
    if r.site:
        out.append((f"Outages of {r.site}", ["start", "end", "duration"],
                    [[_t(o.start), _t(o.end) or "(going on)", _h((o.end or r_until(r)) - o.start)]
                     for o in r.site_outages]))
    out.append(("Beyond the guaranteed time to repair", ["site", "provider", "start", "end", "GTR", "over by"],
                [[x.outage.site, x.outage.provider, _t(x.outage.start), _t(x.outage.end) or "(going on)",
                  f"{x.repair_hours:g} h" + _counted(x),
                  _h(x.over_s)] for x in r.late]))
    out.append(("Provider incidents", ["since", "closed", "link", "provider", "area", "sites"],
                [[_t(i["since"]), _t(i["closed_at"]) or "(open)", i["link"], i["provider"], i["area"],
                  str(len(i["sites"]))] for i in r.incidents]))
    return out


def _counted(x: Late) -> str:
    if not x.business_hours:
        return ""
    if x.counted_as == "calendar":
        return " (business hours, not published by the site: counted as calendar)"
    return f" (business hours: {x.counted_as})"


def r_until(r: FleetMonth) -> float:
    return r.until


def text(r: FleetMonth) -> str:
    lines = [f"relais fleet report, {r.month}" + (f" to {_t(r.until)}" if r.to_date else "")
             + (f", site {r.site}" if r.site else "") + " (UTC)"]
    for title, heads, cells in _rows(r):
        lines += ["", title]
        if not cells:
            lines.append("  none")
            continue
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
        lines.append("  " + "  ".join(h.ljust(w) for h, w in zip(heads, widths)).rstrip())
        lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines) + "\n"


def html(r: FleetMonth) -> str:
    e = htmllib.escape
    title = f"relais fleet report, {r.month}" + (f" to {_t(r.until)}" if r.to_date else "") + \
        (f", site {r.site}" if r.site else "")
    parts = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{e(title)}</title>",
             "<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0 "
             "1.5em}th,td{border:1px solid #ccc;padding:.2em .6em;text-align:left}th{background:#f3f3f3}</style>",
             f"</head><body><h1>{e(title)}</h1><p>Times in UTC.</p>"]
    for section, heads, cells in _rows(r):
        parts.append(f"<h2>{e(section)}</h2>")
        if not cells:
            parts.append("<p>None.</p>")
            continue
        parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in heads) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in cells]
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render(r: FleetMonth, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(as_json(r), ensure_ascii=False, indent=1) + "\n"
    return html(r) if fmt == "html" else text(r)

