"""A site's last 30 days as inline SVG, drawn like the agent's report (agent/report/timeline.py; the fleet imports
nothing of the agent, so the drawing is its own): which uplink carried the traffic, the incidents, the drills, when
the device was offline to the fleet, and the signal (RSRP) below. Pure: events, status changes and telemetry in,
text out; times are the device's (`ts`), except the status changes: the fleet's clock, as ingest saw them.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any, Iterable

DAY_S = 86400.0
WIDTH, LANE_H, LEFT = 900, 18, 70
COLOURS = {"primary": "#cfe8cf", "backup": "#f6d58e", "down": "#d62728", "drill_ok": "#2a7ab0",
           "drill_failed": "#111111", "signal": "#555555", "offline": "#888888"}


@dataclass(frozen=True)
class Span:
    start: float
    end: float
    what: str            # "primary" | "backup" (the preferred uplink or another carrying traffic) | "down"
    title: str = ""      # the uplink's name when it is not the role's word ("fiber2"), an incident's account


def uplink_spans(events: Iterable[tuple[float, str, dict[str, Any]]], since: float, now: float,
                 active_now: str | None, preferred: str = "primary") -> list[Span]:
    """Which uplink carried the traffic, from the failover/failback events in time order: "primary" while it was
    the device's `preferred` uplink (fleet/uplinks.py), "backup" while it was any other (named in the title).
    Before the first event of the window the uplink is the one that event left (a failover leaves the
    preferred one); with no event at all it is the active one now."""
    def span(start: float, end: float, name: str) -> Span:
        role = "primary" if name == preferred else "backup"
        return Span(start, end, role, name if name != role else "")

    changes = [(ts, str(data.get("to") or ("backup" if kind == "failover" else preferred))[:24])
               for ts, kind, data in events if kind in ("failover", "failback") and since <= ts <= now]
    if changes:
        first = next(data for ts, kind, data in events if kind in ("failover", "failback") and since <= ts <= now)
        current = str(first.get("from") or "")[:24] or (preferred if changes[0][1] != preferred else "backup")
    else:
        current = active_now[:24] if isinstance(active_now, str) and active_now else preferred
    spans, start = [], since
    for ts, to in changes:
        if to != current and ts > start:
            spans.append(span(start, ts, current))
            start = ts
        current = to
    spans.append(span(start, now, current))
    return [s for s in spans if s.end > s.start]


def incident_spans(events: Iterable[tuple[float, str, dict[str, Any]]], since: float, now: float) -> list[Span]:
    """Closed outages (outage_closed: start, end, cause), cut to the window."""
    out = []
    for ts, kind, data in events:
        if kind != "outage_closed":
            continue
        start, end = data.get("start"), data.get("end", ts)
        if not isinstance(start, (int, float)) or not isinstance(end, (int, float)) or end < since or start > now:
            continue
        cause = str(data.get("cause") or "")
        out.append(Span(max(start, since), min(end, now), "down",
                        f"{data.get('uplink', 'primary')} down {(end - start) / 60:.0f} min {cause}".strip()))
    return out


def offline_spans(changes: Iterable[tuple[float, bool]], since: float, now: float, online_now: bool | None,
                  min_gap_s: float = 0.0) -> list[Span]:
    """When the device was offline, from its status changes (when, online) in time order. Before the first change
    of the window the status is the opposite of that change (older ones are pruned); with none, it is the
    status now. Offline periods less than `min_gap_s` apart are drawn as one (a device flapping all month would
    otherwise be thousands of rectangles on a 900-pixel line)."""
    changes = [(at, online) for at, online in changes if since <= at <= now]
    offline = changes[0][1] if changes else online_now is False   # went offline: it was online before
    periods: list[tuple[float, float]] = []
    start = since
    for at, online in changes:
        if online != offline:   # the same status again: not a change
            continue
        if offline:
            periods.append((start, at))
        offline, start = not online, at
    if offline:
        periods.append((start, now))
    spans: list[Span] = []
    for begin, end in periods:
        if end <= begin:
            continue
        if spans and begin - spans[-1].end < min_gap_s:
            spans[-1] = Span(spans[-1].start, end, "offline")
        else:
            spans.append(Span(begin, end, "offline"))
    return [Span(s.start, s.end, "offline", f"offline {_duration(s.end - s.start)}") for s in spans]


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * DAY_S:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / DAY_S:.1f} days"


def _per_pixel(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """At most the highest and the lowest point of each pixel column, in time order: a device that sends its
    signal every few seconds (100,000 points in 30 days) would otherwise make a page of megabytes, and a dip
    below the line must still show."""
    columns: dict[int, list[tuple[float, float]]] = {}
    for p in points:
        columns.setdefault(int(p[0]), []).append(p)
    out: list[tuple[float, float]] = []
    for column in columns.values():
        if len(column) <= 2:
            out += column
        else:
            low, high = min(column, key=lambda q: q[1]), max(column, key=lambda q: q[1])
            out += [low] if low == high else [low, high] if column.index(low) < column.index(high) else [high, low]
    return out


def svg(events: list[tuple[float, str, dict[str, Any]]], signal: list[tuple[float, float]], since: float,
        now: float, active_now: str | None, preferred: str = "primary",
        status: tuple[list[tuple[float, bool]], bool | None] = ([], None)) -> str:
    """`status`: the device's status changes (when, online) and whether it is online now (None: never said)."""
    span = max(now - since, 1.0)

    def x(t: float) -> float:
        return round(LEFT + (min(max(t, since), now) - since) / span * (WIDTH - LEFT - 10), 1)

    uplinks = uplink_spans(events, since, now, active_now, preferred)
    incidents = incident_spans(events, since, now)
    drills = [(ts, data) for ts, kind, data in events if kind == "drill_result" and since <= ts <= now]
    pixel_s = span / (WIDTH - LEFT - 10)
    offline = offline_spans(status[0], since, now, status[1], min_gap_s=pixel_s)
    sig_top, sig_h = 4 * LANE_H + 10, 60
    height = sig_top + sig_h + 24
    parts = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" role="img" data-incidents="{len(incidents)}" '
             f'data-drills="{len(drills)}" data-offline="{len(offline)}" '
             f'aria-label="the last {span / DAY_S:.0f} days">']
    for row, label in enumerate(("uplink", "incidents", "drills", "offline")):
        parts.append(f'<text x="0" y="{row * LANE_H + 13}" font-size="11">{label}</text>')
    for s in uplinks:
        parts.append(f'<rect class="{s.what}" x="{x(s.start)}" y="0" width="{max(x(s.end) - x(s.start), 1)}" '
                     f'height="{LANE_H - 4}" fill="{COLOURS[s.what]}">'
                     f'<title>{escape(s.title or s.what)}</title></rect>')
    for s in incidents:
        parts.append(f'<rect class="down" x="{x(s.start)}" y="{LANE_H}" width="{max(x(s.end) - x(s.start), 2)}" '
                     f'height="{LANE_H - 4}" fill="{COLOURS["down"]}"><title>{escape(s.title)}</title></rect>')
    for ts, data in drills:
        ok = data.get("ok") is True
        parts.append(f'<circle class="drill {"ok" if ok else "failed"}" cx="{x(ts)}" cy="{2 * LANE_H + 7}" r="5" '
                     f'fill="{COLOURS["drill_ok" if ok else "drill_failed"]}"><title>drill '
                     f'{"passed" if ok else "failed"}</title></circle>')
    for s in offline:
        parts.append(f'<rect class="offline" x="{x(s.start)}" y="{3 * LANE_H}" '
                     f'width="{max(x(s.end) - x(s.start), 1)}" height="{LANE_H - 4}" fill="{COLOURS["offline"]}">'
                     f'<title>{escape(s.title)}</title></rect>')
    for day in range(int(span // DAY_S) + 1):
        t = now - day * DAY_S
        parts.append(f'<line x1="{x(t)}" y1="0" x2="{x(t)}" y2="{4 * LANE_H}" stroke="#ddd" stroke-width="0.5"/>')
    # signal: RSRP from -130 (bottom) to -60 dBm (top)
    parts.append(f'<text x="0" y="{sig_top + 12}" font-size="11">RSRP</text>'
                 f'<text x="0" y="{sig_top + 26}" font-size="9">-60..-130</text>')
    points = _per_pixel([(x(ts), round(sig_top + (min(max(-v, 60), 130) - 60) / 70 * sig_h, 1))
                         for ts, v in signal if since <= ts <= now])
    if points:
        path = " ".join(f"{px},{py}" for px, py in points)
        parts.append(f'<polyline class="signal" points="{path}" fill="none" stroke="{COLOURS["signal"]}" '
                     f'stroke-width="1"/>')
    poor_y = round(sig_top + (110 - 60) / 70 * sig_h, 1)
    parts.append(f'<line x1="{LEFT}" y1="{poor_y}" x2="{WIDTH - 10}" y2="{poor_y}" stroke="#d62728" '
                 f'stroke-dasharray="3,3" stroke-width="0.7"><title>-110 dBm: poor</title></line>')
    parts.append(f'<text x="{LEFT}" y="{height - 4}" font-size="10">{span / DAY_S:.0f} days ago</text>'
                 f'<text x="{WIDTH - 40}" y="{height - 4}" font-size="10">now</text></svg>')
    return "".join(parts)
