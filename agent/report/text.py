"""The report for a terminal (`relais report`, the default format), and the pieces of text other formats share."""
from __future__ import annotations

import datetime as dt
from typing import Any

from agent.ledger.records import (MACHINE_RESTARTED, MACHINE_RESTARTED_CLEAN, STOPPED_ON_BATTERY_LOW,
                                   WATCHDOG_POWER_FAULT, WATCHDOG_RESET)
from agent.report.language import Writer


def evidence_text(incident: dict[str, Any], w: Writer) -> str:
    """An incident's evidence in one line: what a reader checks first. Each fact is found by its key in the
    ledger's evidence and said in the report's language (Writer.sentence); a value the ledger wrote in words
    before it wrote codes (an older ledger) is shown as it was written."""
    e = incident.get("evidence") or {}
    parts = []
    first = e.get("first_failed_probe")
    if _is_number(first):
        parts.append(w.sentence("first_failed_probe", at=_clock(first, incident)))
    probes = e.get("probes")
    if isinstance(probes, dict) and probes:
        lost = []
        for target, c in list(probes.items())[:4]:
            if isinstance(c, dict):
                lost.append(f"{target} {c.get('lost', '?')}/{c.get('sent', '?')}")
        parts.append(w.sentence("probes", list=", ".join(lost)))
    elif isinstance(e.get("targets"), (list, tuple)):
        parts.append(w.sentence("targets", list=", ".join(map(str, e["targets"][:4]))))
    for key, sentence in (("loss_pct", "loss"), ("latency_ms", "latency")):
        if _is_number(e.get(key)):
            parts.append(w.sentence(sentence, value=w.number(e[key], 1)))
    if e.get("operator"):
        cell = cell_text(e.get("cell"))
        parts.append(w.sentence("operator", operator=e["operator"])
                     + (f" ({w.sentence('cell', cell=cell)})" if cell else ""))
    b = e.get("backup_bytes")
    if _is_number(b) and b:
        parts.append(f"{w['carried_by']} {w.number(b / 1e6, 1)} MB")
    if isinstance(e.get("clean_stop"), bool):       # not observed: how the agent stopped
        parts.append(w.sentence("stopped_clean" if e["clean_stop"] else "stopped_unclean"))
    elif isinstance(e.get("stopped"), str):
        parts.append(w.sentence("stopped_as_recorded", text=e["stopped"]))
    if e.get("closed_by") == "migration":
        parts.append(w.sentence("closed_at_migration"))
    elif e.get("closed") or e.get("closed_at_restart") is True:
        # open when the agent stopped: ended at its last sign of life, found at the restart
        parts.append(w.sentence("closed_at_restart"))
    if _is_number(e.get("battery_low_at")):
        parts.append(w.sentence("battery_low_at", at=_clock(e["battery_low_at"], incident)))
    cut = incident.get("during_power_cut_s")
    if _is_number(cut) and cut > 0:
        parts.append(w.sentence("during_power_cut", duration=w.duration(cut)))
    parts += [_said(w, key, e[key], codes) for key, codes in RESTART_FACTS if key in e]
    if incident.get("weak_evidence"):
        parts.append(w["weak"])
    return "; ".join(p for p in parts if p)


# The ledger's facts of a stop and a restart (agent/ledger heartbeat.py, power.py, boot.py): evidence key ->
# {code the ledger writes: sentence key}; None: the key's presence is the fact.
RESTART_FACTS: tuple[tuple[str, dict[Any, str] | None], ...] = (
    ("agent_stopped", {STOPPED_ON_BATTERY_LOW: "agent_stopped_battery_low"}),
    ("power_cut_at_stop", None),
    ("machine_restarted", {MACHINE_RESTARTED: "machine_restarted", MACHINE_RESTARTED_CLEAN: "machine_restarted_clean"}),
    ("reset_by", {WATCHDOG_RESET: "watchdog_reset", WATCHDOG_POWER_FAULT: "watchdog_power_fault"}),
)


def _said(w: Writer, key: str, value: Any, codes: dict[Any, str] | None) -> str:
    if codes is None:
        return w.sentence(key)
    sentence = codes.get(value) if isinstance(value, str) else None
    if sentence is not None:
        return w.sentence(sentence)
    return value if isinstance(value, str) else ""     # an older ledger's own words, as they were written


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def cell_text(cell: Any) -> str:
    """The serving cell as the ledger keeps it (core.state's dict, or a string from older entries), in one short
    string an operator's support recognises: "208-01 TAC 1A2B cell 00A1B2C3 NR5G-NSA"."""
    if isinstance(cell, dict):
        parts = []
        if cell.get("mcc") and cell.get("mnc"):
            parts.append(f"{cell['mcc']}-{cell['mnc']}")
        if cell.get("lac_tac"):
            parts.append(f"TAC {cell['lac_tac']}")
        if cell.get("cell_id"):
            parts.append(f"ID {cell['cell_id']}")
        if cell.get("rat"):
            parts.append(str(cell["rat"]))
        return " ".join(parts)
    return "" if cell is None else str(cell)


def _clock(ts: float, incident: dict[str, Any]) -> str:
    zone = dt.datetime.fromisoformat(incident["start_local"]).tzinfo
    return dt.datetime.fromtimestamp(ts, zone).strftime("%H:%M:%S")


def render_text(report: dict[str, Any], lang: str = "fr") -> str:
    w = Writer(lang)
    p, t = report["period"], report["totals"]
    out = [f"{w['title']} — {report['site'].get('business') or report['site'].get('device') or 'relais'}",
           f"{w['period']}: {w.when(p['since_local'])} → {w.when(p['until_local'])} ({w['zone']} {p['zone']})",
           f"{w['business_hours']}: {w.hours(p['business_hours'])}"]
    if p["empty"]:
        out.append(w["empty"])
    out += ["", f"== {w['uplinks']}"]
    for name, u in report["uplinks"].items():
        out.append(f"  {name}: {w['availability'].lower()} {w.percent(u['availability_pct'])}"
                   + (f" ({w['business_hours'].lower()} {w.percent(u['availability_business_pct'])})"
                      if u["availability_business_pct"] is not None else "")
                   + f"; {w['count'].lower()} {u['count']}, {w['downtime'].lower()} {w.duration(u['downtime_s'])}, "
                     f"{w['longest'].lower()} {w.duration(u['longest_s'])}, {w['mttr'].lower()} "
                     f"{w.duration(u['mttr_s'])}")
        if u["degraded_count"] or u["planned_count"]:
            out.append(f"  {'':10} {w['degraded']}: {u['degraded_count']} ({w.duration(u['degraded_s'])}); "
                       f"{w['planned']}: {u['planned_count']} ({w.duration(u['planned_s'])})")
    out += [f"  {w['total_outages']}: {t['total_outages']} ({w.duration(t['offline_s'])})",
            f"  {w['not_observed']}: {w.duration(t['not_observed_s'])}"]
    if t.get("power_cuts"):
        out.append(f"  {w['power_cuts']}: {t['power_cuts']} ({w.duration(t['power_cut_s'])})")
    if report["operators"]:
        out += ["", f"== {w['operators']}"]
        for o in report["operators"]:
            out.append(f"  {o['operator'] or w['operator_unknown']:20} {w['availability'].lower()} {w.percent(o['availability_pct'])}, "
                       f"{w['observed'].lower()} {w.duration(o['observed_s'])}, "
                       f"{w['carried'].lower()} {w.duration(o['carried_s'])}")
    for c in report["contracts"]:
        out += ["", f"== {w['contracts']}: {c['uplink']} — {c['provider']} ({w['reference'].lower()} "
                    f"{c['reference'] or '–'})"]
        if c["availability_pct"]:
            out.append(f"  {w['promised']}: {w.percent(c['availability_pct'])}")
            for m in c["months"]:
                flag = f"  {w['under_promise']}" if m["under_promise"] else ""
                part = f" ({w['partial']})" if m["partial"] else ""
                out.append(f"    {m['month']}{part}: {w.percent(m['availability_pct'])}{flag}")
        if c["repair_hours"]:
            out.append(f"  {w['repair']}: {w.duration(c['repair_hours'] * 3600)}")
        if c["down_mbps"]:
            ms = c["measured"]
            out.append(f"  {w['guaranteed_speed']}: {w.mbps(c['down_mbps'])} {w['down']}"
                       + (f", {w.mbps(c['up_mbps'])} {w['up']}" if c["up_mbps"] else "")
                       + f"; {w['measured'].lower()} ({ms['count']} {w['measurements']}): {w['median']} "
                         f"{w.mbps(ms['down_median_mbps'])}, {w['min_speed']} {w.mbps(ms['down_min_mbps'])}")
    out += ["", f"== {w['incidents']}"]
    if not report["incidents"]:
        out.append(f"  {w['no_incidents']}")
    for i in report["incidents"]:
        flags = []
        if i["planned"]:
            flags.append(w["planned"].split(" (")[0].lower())
        if i["exceeds_repair_time"]:
            flags.append(w["exceeds"])
        out.append(f"  {w.when(i['start_local'])} → {w.when(i['end_local'])}  {w.duration(i['duration_s']):>18}  "
                   f"{w.link(i['link']):8} {w.kind(i['kind']):15} {w.cause(i['cause'])}"
                   + (f"  [{', '.join(flags)}]" if flags else ""))
        ev = evidence_text(i, w)
        if ev:
            out.append(f"      {ev}")
    if report["drills"]:
        out += ["", f"== {w['drills']}"]
        for d in report["drills"]:
            verdict = {True: w["passed"], False: w["failed"], None: w["done"]}[d["ok"]]
            line = f"  {w.when(d['local'])}  {d['kind']:8} {verdict}"
            if d["recovery_s"] is not None:
                line += f", {w['recovery']} {w.number(d['recovery_s'], 1)} s"
            services = ", ".join(f"{s.get('name')} {'OK' if s.get('ok') else w['failed']}" for s in d["services"])
            out.append(line + (f"; {w['services']}: {services}" if services else ""))
    if report["speed"]:
        out += ["", f"== {w['speed']}"]
        for s in report["speed"]:
            if not s["ok"]:
                out.append(f"  {w.when(s['local'])}  {s['link']:8} {w['failed']}: {s['error']}")
                continue
            line = f"  {w.when(s['local'])}  {s['link']:8} {w.mbps(s['down_mbps'])} {w['down']}"
            if s["up_mbps"] is not None:
                line += f", {w.mbps(s['up_mbps'])} {w['up']}"
            if s["guaranteed_down_mbps"]:
                line += f" ({w['guaranteed']} {w.mbps(s['guaranteed_down_mbps'])})"
            if s["below_guarantee"]:
                line += f"  [{w['below']}]"
            out.append(line)
    cost = report.get("cost")
    if cost:
        out += ["", f"== {w['cost']} ({w.money(cost['per_hour'], cost['currency'])} {w['per_hour']}"
                    + (f", {w['business_only']})" if cost["business_hours_only"] else ")"),
                f"  {w['offline_cost']}: {w.money(cost['offline_cost'], cost['currency'])} "
                f"({w.duration(cost['offline_s'])})",
                f"  {w['primary_cost']}: {w.money(cost['primary_down_cost'], cost['currency'])} "
                f"({w.duration(cost['primary_down_s'])})"]
    if t["weak_evidence"]:
        out += ["", f"{w['weak_count']}: {t['weak_evidence']}"]
    return "\n".join(out) + "\n"
