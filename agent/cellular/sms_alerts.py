"""SMS alerts, pure: the texts (<= 160 GSM-7 characters) and the queue that coalesces them and bounds them per
hour. agent/cellular/sms.py sends what the queue says is due.
"""
from __future__ import annotations

import re
import time
from typing import Any

from agent.cellular.sms_commands import Window
from agent.core import Event

SMS_CHARS = 160
MAX_PENDING_ALERTS = 20
REASONS = {"no_answer": "no answer from {targets} targets", "carrier_lost": "link lost", "no_address": "no address",
           "degraded": "degraded", "manual": "manual", "recovered": "recovered", "drill": "drill"}
RAT_NAMES = {"GSM": "2G", "UMTS": "3G", "LTE": "4G", "LTE-M": "LTE-M", "NB-IoT": "NB-IoT", "NR5G-NSA": "5G",
             "NR5G-SA": "5G"}
# GSM 03.38 extension characters cost two septets; outside the basic set a modem may substitute or refuse.
_ASCII_SUBST = str.maketrans({"[": "(", "]": ")", "{": "(", "}": ")", "\\": "/", "^": "'", "~": "-", "|": "/",
                              "`": "'", "\n": " ", "\r": " ", "\t": " "})


def sms_safe(text: str, limit: int = SMS_CHARS) -> str:
    """Printable ASCII of the GSM 7-bit basic set, at most `limit` characters (one SMS)."""
    text = text.translate(_ASCII_SUBST)
    text = "".join(c if " " <= c <= "~" else "?" for c in text)
    text = re.sub(r" {2,}", " ", text).strip()
    return text if len(text) <= limit else text[:limit - 2] + ".."


# ---- the queue --------------------------------------------------------------------------------------------------

class AlertQueue:
    """Alert texts waiting per number: held coalesce_s after the first one to merge a burst (failover followed by
    a SIM switch), and beyond max_per_hour until the window frees a slot, then sent merged. Pure: takes `now`."""

    def __init__(self, numbers: list[str], max_per_hour: int, coalesce_s: float):
        self.numbers = numbers
        self.max_per_hour = max_per_hour
        self.coalesce_s = coalesce_s
        self.pending: dict[str, list[tuple[float, str]]] = {n: [] for n in numbers}
        self.sent = Window()
        self.dropped = 0

    def add(self, text: str, now: float) -> None:
        for n in self.numbers:
            items = self.pending[n]
            items.append((now, text))
            if len(items) > MAX_PENDING_ALERTS:
                del items[0]
                self.dropped += 1

    def due(self, now: float) -> list[tuple[str, str]]:
        out = []
        for n, items in self.pending.items():
            if not items or now - items[0][0] < self.coalesce_s:
                continue
            if self.sent.count(n, now) >= self.max_per_hour:
                continue
            self.sent.add(n, now)
            out.append((n, merge([t for _, t in items])))
            items.clear()
        return out

    def next_check(self, now: float) -> float | None:
        """When due() may next have something: None when nothing is waiting."""
        times = [max(items[0][0] + self.coalesce_s, self.sent.free_at(n, self.max_per_hour, now))
                 for n, items in self.pending.items() if items]
        return min(times) if times else None


def merge(texts: list[str]) -> str:
    """One SMS from several alert texts: the newest that fit, and how many older ones were left out."""
    if len(texts) == 1:
        return sms_safe(texts[0])
    bodies = [t.split(": ", 1)[1] if ": " in t else t for t in texts]
    head = texts[0].split(": ", 1)[0] + ": " if ": " in texts[0] else ""
    for skip in range(len(bodies)):
        kept = bodies[skip:]
        more = f"(+{skip} earlier) " if skip else ""
        text = head + more + "; ".join(kept)
        if len(text) <= SMS_CHARS:
            return sms_safe(text)
    return sms_safe(head + (f"(+{len(bodies) - 1} earlier) " if len(bodies) > 1 else "") + bodies[-1])


# ---- texts ------------------------------------------------------------------------------------------------------

def clock_text(ts: float, source: str) -> str:
    """'14:02' in the router's local time; '14:02?' when the clock is not synchronised."""
    return time.strftime("%H:%M", time.localtime(ts)) + ("?" if source == "unsynced" else "")


def _duration(seconds: Any) -> str | None:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return None
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def radio_text(modem: dict[str, Any]) -> str:
    """'4G Orange F -97dBm' from core.state["modem"]."""
    rat = RAT_NAMES.get(str(modem.get("rat")), modem.get("rat") or "")
    signal = modem.get("signal") or {}
    rsrp = signal.get("rsrp_dbm") if isinstance(signal, dict) else None
    level = f"{rsrp:.0f}dBm" if isinstance(rsrp, (int, float)) and not isinstance(rsrp, bool) else ""
    parts = [str(p) for p in (rat, modem.get("operator_name"), level) if p]
    return " ".join(parts) if parts else "no cellular service"


def _reason(reason: Any, targets: int) -> str:
    template = REASONS.get(str(reason))
    return template.format(targets=targets or "all") if template else str(reason or "?")


def _gb(n: Any) -> str:
    return f"{n / 1e9:.1f}GB" if isinstance(n, (int, float)) and not isinstance(n, bool) else "?"


def _links(state: dict[str, Any]) -> dict[str, Any]:
    fo = state.get("failover")
    links = fo.get("links") if isinstance(fo, dict) else None
    return links if isinstance(links, dict) else {}


def _best(links: dict[str, Any]) -> str:
    """The preferred uplink's name: the lowest priority the state shows, else "primary" (a legacy config)."""
    ranked = [(info["priority"], name) for name, info in links.items()
              if isinstance(info, dict) and type(info.get("priority")) in (int, float)]
    return min(ranked)[1] if ranked else "primary"


def _uplink_label(name: Any, state: dict[str, Any], primary: str) -> str:
    """[sms] primary_label ("FIBER") for the preferred uplink; any other by its name: "FIBER2"."""
    links = _links(state)
    return primary if not isinstance(name, str) or name == _best(links) else name.upper()


def _carrier(to: Any, state: dict[str, Any]) -> str:
    """What traffic went to: the radio for the cellular uplink (or when the event does not say), else its name."""
    info = _links(state).get(to) if isinstance(to, str) else None
    if not isinstance(to, str) or to == "backup" or (isinstance(info, dict) and info.get("kind") == "cellular"):
        return radio_text(state.get("modem") or {})
    return to


def alert_text(event: Event, device: str, state: dict[str, Any], primary: str = "FIBER", targets: int = 0) -> str:
    d = event.data
    at = clock_text(event.ts, event.time_source)
    modem = state.get("modem") or {}
    if event.kind == "failover":
        what = f"{_uplink_label(d.get('from'), state, primary)} DOWN {at} ({_reason(d.get('reason'), targets)}), " \
               f"on {_carrier(d.get('to'), state)}"
    elif event.kind == "failback":
        outage = _duration(d.get("outage_s")) or _duration(d.get("on_backup_s"))
        what = f"{_uplink_label(d.get('to'), state, primary)} BACK {at}" + (f" after {outage}" if outage else "")
        if d.get("reason") not in (None, "recovered"):
            what += f" ({_reason(d.get('reason'), targets)})"
    elif event.kind == "sim_switch":
        to = next((d[k] for k in ("to_slot", "slot", "to") if d.get(k) is not None), "?")
        what = f"SIM SWITCH {at} to slot {to}" + (f" ({d['reason']})" if d.get("reason") else "") + \
            (f", on {radio_text(modem)}" if modem.get("registration") in ("home", "roaming") else "")
    elif event.kind == "data_cap_reached":
        what = f"DATA CAP {at} slot {d.get('slot', '?')}: {_gb(d.get('used_bytes'))} of {_gb(d.get('cap_bytes'))}"
    elif event.kind == "data_cap_warning":
        what = f"DATA WARNING {at} slot {d.get('slot', '?')}: {_gb(d.get('used_bytes'))} of {_gb(d.get('cap_bytes'))}"
    elif event.kind == "drill_result":
        what = f"DRILL {'OK' if d.get('ok') else 'FAILED'} {at} ({d.get('kind', '?')})" + \
            ("" if d.get("ok") else f": {d.get('reason') or '?'}")
    elif event.kind == "drill_overdue":
        days = d.get("days")
        what = f"DRILL OVERDUE {at}: no drill passed for {days:g} days" if isinstance(days, (int, float)) \
            and not isinstance(days, bool) else f"DRILL OVERDUE {at}"
    elif event.kind in ("power_lost", "power_restored", "battery_low"):     # agent/power: the site's UPS
        what = {"power_lost": f"POWER CUT {at}, on UPS battery", "power_restored": f"POWER BACK {at}",
                "battery_low": f"UPS BATTERY LOW {at}"}[event.kind]
        lasted = _duration(d.get("duration_s")) if event.kind == "power_restored" else None
        what += f" after {lasted}" if lasted else ""
        if isinstance(d.get("charge_pct"), (int, float)) and not isinstance(d.get("charge_pct"), bool):
            what += f", battery {d['charge_pct']:.0f}%"
        if d.get("stopping") is True:
            what += ", relais stopping"
    else:
        small = ", ".join(f"{k}={v}" for k, v in d.items() if isinstance(v, (str, int, float)) and len(str(v)) < 24)
        what = f"{event.kind.upper()} {at}" + (f" {small}" if small else "")
    return sms_safe(f"relais {device}: {what}")


def status_text(state: dict[str, Any], device: str, now_text: str) -> str:
    fo = state.get("failover") or {}
    modem = state.get("modem") or {}
    usage = (state.get("cellular") or {}).get("usage") or {}
    parts = [f"relais {device} {now_text}:"]
    if fo:
        parts.append(f"on {fo.get('active_uplink', '?')}, mode {fo.get('mode', '?')}, {fo.get('state', '?')};")
    for link, info in _links(state).items():      # every uplink, in the engine's order (best first)
        if isinstance(info, dict):
            parts.append(f"{link} {info.get('status', '?')};")
    sim = f"SIM{modem.get('sim_slot')}" if modem.get("sim_slot") else "SIM"
    parts.append(f"{sim} {radio_text(modem)};")
    if usage.get("total_bytes") is not None:
        cap = f"/{_gb(usage['cap_bytes'])}" if usage.get("cap_bytes") else ""
        parts.append(f"data {_gb(usage['total_bytes'])}{cap}")
    return sms_safe(" ".join(parts))


def answer_text(label: str, answer: dict[str, Any], state: dict[str, Any], device: str, now_text: str) -> str:
    """The SMS answer to a command from the core's reply {"ok": ..., "result" | "error": ...}."""
    if not answer.get("ok"):
        return sms_safe(f"relais {device}: {label}: error: {answer.get('error', '?')}")
    result = answer.get("result")
    if label == "status":
        return status_text(result if isinstance(result, dict) else state, device, now_text)
    if isinstance(result, dict):
        shown = ", ".join(f"{k} {v}" for k, v in result.items() if isinstance(v, (str, int, float, bool)))
    else:
        shown = str(result) if result is not None else ""
    return sms_safe(f"relais {device}: {label}: ok" + (f", {shown}" if shown else ""))
