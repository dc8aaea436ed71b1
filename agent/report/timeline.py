"""The period as a picture: inline SVG, no JavaScript, that prints as it shows.

One lane per uplink (observed and up, down, degraded, planned, not observed), one for the business as a whole
(total outages: no uplink carried traffic), one for the site's power when it was cut (the UPS on battery), marks
for failovers (the backup took the traffic), drills and speed measurements. Intervals are laid out in pixels and
merged when closer than half a pixel, and none is drawn narrower than one: a year of 10,000 incidents stays a
picture of bounded size, and a 3-second outage in a month is still visible.
"""
from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from agent.report.hours import UnknownZone, utc, zone_named
from agent.report.language import Writer

WIDTH, LEFT, RIGHT = 1000, 96, 8
LANE_H, GAP, TOP = 16, 8, 22
COLOURS = {"up": "#cfe8cf", "down": "#d62728", "degraded": "#ff9f1c", "planned": "#1f77b4",
           "not_observed": "#9e9e9e", "total": "#111111", "drill_ok": "#2ca02c", "drill_failed": "#d62728",
           "speed": "#6a3d9a", "failover": "#d62728", "power": "#8c564b"}


def render_timeline(report: dict[str, Any], w: Writer) -> str:
    p = report["period"]
    since, until = p["since"], p["until"]
    span = max(until - since, 1.0)
    plot = WIDTH - LEFT - RIGHT

    def x(ts: float) -> float:
        return LEFT + plot * (min(max(ts, since), until) - since) / span

    power = any(i["kind"] == "power" for i in report["incidents"])
    lanes = list(report["uplinks"]) + ["all"] + (["site"] if power else [])
    speed_y = TOP + len(lanes) * (LANE_H + GAP)
    height = speed_y + LANE_H + GAP + 40
    out = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
           f'width="100%" role="img" aria-label="{escape(w["timeline"])}" '
           f'data-incidents="{len(report["incidents"])}">',
           '<style>text{font:11px sans-serif;fill:#222} .axis{stroke:#888;stroke-width:.5}</style>']
    observed_end = min(until, p["generated_at"]) if p.get("generated_at") else until
    not_observed = [(i["start"], i["end"] if i["end"] is not None else observed_end)
                    for i in report["incidents"] if i["kind"] == "not_observed"]
    if p.get("observed_since") and p["observed_since"] > since:
        not_observed.append((since, p["observed_since"]))
    for n, lane in enumerate(lanes):
        y = TOP + n * (LANE_H + GAP)
        label = w.link(lane) if lane != "all" else w["offline"].split(" (")[0]    # "site": the power
        out.append(f'<text x="4" y="{y + LANE_H - 4}">{escape(label)}</text>')
        out.append(_rect("up", x(since), y, x(observed_end) - x(since), LANE_H))
        out += _bars("not_observed", not_observed, x, y)
        mine = [i for i in report["incidents"] if i["link"] == lane]
        for category, pick in (("degraded", lambda i: i["kind"] == "degraded"),
                               ("planned", lambda i: i["planned"]),
                               ("down", lambda i: i["counted"]),
                               ("total", lambda i: i["kind"] == "total" and not i["planned"]),
                               ("power", lambda i: i["kind"] == "power")):
            spans = [(i["start"], i["end"] if i["end"] is not None else observed_end) for i in mine if pick(i)]
            out += _bars(category, spans, x, y)
    # failovers: the backup took the traffic when the primary went down
    head = next(iter(report["uplinks"]), "primary")
    fx = _merge_points([x(i["start"]) for i in report["incidents"]
                        if i["link"] == head and i["carried_by"] and not i["planned"]])
    for px in fx:
        out.append(f'<path class="failover" d="M{px - 4:.1f} {TOP - 9} h8 l-4 7 z" fill="{COLOURS["failover"]}"/>')
    # drills and speed measurements share the bottom lane
    out.append(f'<text x="4" y="{speed_y + LANE_H - 4}">{escape(w["legend_drill"])} / Mbit/s</text>')
    out.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{speed_y + LANE_H}" '
               f'y2="{speed_y + LANE_H}"/>')
    speeds = [s for s in report["speed"] if s["ok"] and s["down_mbps"]]
    promised = [c["down_mbps"] for c in report.get("contracts", []) if c.get("down_mbps")]
    top = max([s["down_mbps"] for s in speeds] + promised, default=1.0)
    for mbps in promised[:1]:     # the guaranteed speed, the measured dots set against it
        gy = speed_y + LANE_H - (LANE_H - 3) * mbps / top
        out.append(f'<line class="guaranteed" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}" '
                   f'stroke="{COLOURS["speed"]}" stroke-dasharray="4 3" stroke-width=".8"/>')
    seen: set[tuple[int, int]] = set()
    for s in speeds:
        px, py = x(s["ts"]), speed_y + LANE_H - (LANE_H - 3) * s["down_mbps"] / top
        if (round(px), round(py)) in seen:
            continue
        seen.add((round(px), round(py)))
        out.append(f'<circle class="speed" cx="{px:.1f}" cy="{py:.1f}" r="2" fill="{COLOURS["speed"]}"/>')
    for d in report["drills"]:
        px, py = x(d["ts"]), speed_y + LANE_H / 2
        colour = COLOURS["drill_failed"] if d["ok"] is False else COLOURS["drill_ok"]
        out.append(f'<path class="drill" d="M{px:.1f} {py - 6:.1f} l5 6 l-5 6 l-5 -6 z" fill="{colour}">'
                   f'<title>{escape(w["legend_drill"])} {escape(w.when(d["local"]))}</title></path>')
    out += _axis(since, until, _zone(p["zone"]), x, speed_y + LANE_H + 14, w)
    out += _legend(height - 10, w, power)
    out.append("</svg>")
    return "\n".join(out)


def _zone(name: str):
    try:
        return zone_named(name)
    except UnknownZone:
        return utc()


def _rect(category: str, x: float, y: float, width: float, height: float) -> str:
    return (f'<rect class="{category}" x="{x:.1f}" y="{y}" width="{max(width, 0):.1f}" height="{height}" '
            f'fill="{COLOURS[category]}"/>')


def _bars(category: str, spans: list[tuple[float, float]], x, y: float) -> list[str]:
    pixels: list[list[float]] = []
    for a, b in sorted((x(a), x(b)) for a, b in spans):
        b = max(b, a + 1.0)
        if pixels and a <= pixels[-1][1] + 0.5:
            pixels[-1][1] = max(pixels[-1][1], b)
        else:
            pixels.append([a, b])
    inset = 3 if category in ("degraded", "planned") else 0     # under a down bar, still visible at its edges
    return [_rect(category, a, y + inset, b - a, LANE_H - 2 * inset) for a, b in pixels]


def _merge_points(xs: list[float]) -> list[float]:
    out: list[float] = []
    for px in sorted(xs):
        if not out or px - out[-1] >= 3:
            out.append(px)
    return out


def _axis(since: float, until: float, zone: ZoneInfo, x, y: float, w: Writer) -> list[str]:
    """Day ticks for a month or less, month ticks beyond."""
    out = []
    start = dt.datetime.fromtimestamp(since, zone)
    days = (until - since) / 86400
    if days <= 45:
        step = 1 if days <= 16 else 2 if days <= 32 else 4
        day = dt.datetime(start.year, start.month, start.day, tzinfo=zone)
        n = 0
        while day.timestamp() < until:
            if day.timestamp() >= since and n % step == 0:
                px = x(day.timestamp())
                out.append(f'<line class="axis" x1="{px:.1f}" x2="{px:.1f}" y1="{TOP - 2}" y2="{y - 10}"/>')
                out.append(f'<text x="{px + 2:.1f}" y="{y}">{day.day}</text>')
            day = (day + dt.timedelta(days=1, hours=2)).replace(hour=0)   # +26 h then midnight: DST-proof
            n += 1
    else:
        year, month = start.year, start.month
        while True:
            t = dt.datetime(year, month, 1, tzinfo=zone).timestamp()
            if t >= until:
                break
            if t >= since:
                px = x(t)
                out.append(f'<line class="axis" x1="{px:.1f}" x2="{px:.1f}" y1="{TOP - 2}" y2="{y - 10}"/>')
                out.append(f'<text x="{px + 2:.1f}" y="{y}">{month:02d}/{year % 100:02d}</text>')
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _legend(y: float, w: Writer, power: bool = False) -> list[str]:
    out, px = [], LEFT
    entries = [("up", "observed"), ("down", "legend_down"), ("degraded", "legend_degraded"),
               ("planned", "legend_planned"), ("total", "legend_total"), ("not_observed", "legend_not_observed"),
               ("failover", "legend_failover"), ("drill_ok", "legend_drill"), ("speed", "legend_speed")]
    if power:     # only when the site lane is drawn: the legend stays one line otherwise
        entries.append(("power", "legend_power"))
    for category, key in entries:
        label = w[key].lower()
        out.append(f'<rect x="{px}" y="{y - 9}" width="10" height="10" fill="{COLOURS[category]}"/>')
        out.append(f'<text x="{px + 13}" y="{y}">{escape(label)}</text>')
        px += 22 + 6.5 * len(label)
    return out
