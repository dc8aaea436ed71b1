"""The continuity sheet's facts, gathered from the configuration, the ledger's drills and the agent's state.

Pure: the caller reads the files (the ledger's drills, the status file or the live state, the router's model) and
passes them in with `now`; the dict returned is the sheet in every language (its words come at rendering) and is
the JSON the `plan` command answers with.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any, Iterable

MAX_CONTACTS = 8      # beyond, the sheet says how many more the configuration holds (one A4 page)
# Texts whose configured bound is beyond what one page holds are cut, with "…": [device] site has no bound of its
# own, [[contracts]] provider and reference and [business] name allow 120 characters for the report's sake.
MAX_SITE, MAX_CONTRACT_TEXT, MAX_NAME = 100, 60, 80


def gather(config, now: float, *, zone: dt.tzinfo, drills: Iterable | None, state: dict[str, Any] | None,
           router: str | None, state_as_of: float | None = None, drill_zone: dt.tzinfo | None = None,
           ledger_problem: str | None = None) -> dict[str, Any]:
    """`drills`: the ledger's Drill records of the recent past (None: no ledger to read, `ledger_problem` says
    why); `state`: the agent's state (live, or the status file's of `state_as_of`); `router`: the router's model,
    None when it does not say; `zone`: the zone dates are shown in; `drill_zone`: the drill schedule's zone."""
    state = state if isinstance(state, dict) else {}
    modem = _map(state.get("modem"))
    contracts = {c.uplink: c for c in config.contracts}
    uplinks = []
    # every uplink, best first ([[uplinks]], or "primary" and "backup" of old); the first is the one the steps
    # tell whom to call about
    for u in config.effective_uplinks():
        c = contracts.get(u.name)
        uplinks.append({
            "uplink": u.name, "kind": u.kind, "priority": u.priority,
            "interface": u.interface,
            "provider": _cut(c.provider if c else "", MAX_CONTRACT_TEXT) or None,
            "reference": _cut(c.reference if c else "", MAX_CONTRACT_TEXT) or None,
            "repair_hours": (c.repair_hours if c else 0.0) or None,
            "repair_in_business_hours": bool(c and c.repair_in_business_hours),
            "availability_pct": (c.availability_pct if c else 0.0) or None,
            "support_phone": (c.support_phone if c else "") or None,
            # the cellular uplink's operator as the modem last registered on it
            "operator": _text(modem.get("operator_name")) if u.cellular else None,
        })
    active_slot = modem.get("sim_slot") or _map(state.get("cellular")).get("active_slot")
    sims = []
    for slot in config.cellular.sim_slots:
        sim = config.cellular.sim_for(slot)
        active = slot == active_slot
        sims.append({"slot": slot, "apn": sim.apn or None,
                     "plmns": list(sim.preferred_plmns or config.cellular.preferred_plmns),
                     "active": active,
                     "operator": _text(modem.get("operator_name")) if active else None,
                     "iccid": _text(modem.get("iccid")) if active else None})
    power = getattr(config, "power", None)        # [power] ups, where this agent watches a UPS
    contacts = [{"name": c.name, "role": c.role or None, "phone": c.phone, "when": c.when or None}
                for c in config.contacts]
    return {
        "site": {"device": config.device.id, "business": _cut(config.business.name, MAX_NAME) or None,
                 "site": _cut(config.device.site, MAX_SITE) or None, "location": config.device.location or None},
        "generated": now, "generated_local": _local(now, zone),
        "uplinks": uplinks, "sims": sims,
        "equipment": {"router": router, "router_label": config.plan.router or None,
                      "modem": _text(" ".join(p for p in (_text(modem.get("manufacturer")), _text(modem.get("model")))
                                              if p)) or None,
                      "imei": _text(modem.get("imei")), "revision": _text(modem.get("revision")),
                      "ups": _text(getattr(power, "ups", None)) if power is not None else None,
                      "other": list(config.plan.equipment),
                      "as_of": state_as_of, "as_of_local": _local(state_as_of, zone)},
        "contacts": contacts[:MAX_CONTACTS], "contacts_more": max(0, len(contacts) - MAX_CONTACTS),
        "steps": list(config.plan.steps) or None,       # None: the default steps, in the sheet's language
        "drills": _drills(config, now, zone, drill_zone or zone, drills, ledger_problem),
    }


def _drills(config, now: float, zone: dt.tzinfo, drill_zone: dt.tzinfo, drills: Iterable | None,
            problem: str | None) -> dict[str, Any]:
    last = None
    for d in drills or ():
        if last is None or d.ts >= last.ts:
            last = d
    out: dict[str, Any] = {"schedule": config.drills.schedule or None, "kind": config.drills.kind,
                           "ledger": "unreadable" if problem else "none" if drills is None else "read",
                           "ledger_problem": problem, "last": None, "next": None, "next_local": None}
    if last is not None:
        failed = [str(s.get("name")) for s in last.services if isinstance(s, dict) and not s.get("ok")]
        out["last"] = {"ts": last.ts, "local": _local(last.ts, zone), "kind": last.kind, "ok": last.ok,
                       "recovery_s": last.recovery_s, "failed_services": failed,
                       "services": len(last.services)}
    if config.drills.schedule.strip():
        from common.cron import next_fire      # the scheduler's own reckoning (agent/drills/scheduler.py)
        try:
            nxt = next_fire(config.drills.schedule, now, drill_zone)
        except ValueError:      # an expression that never fires within the search: no next drill to print
            nxt = None
        out["next"], out["next_local"] = nxt, _local(nxt, zone)
    return out


def _local(ts: float | None, zone: dt.tzinfo) -> str | None:
    if ts is None or not math.isfinite(ts):
        return None
    return dt.datetime.fromtimestamp(ts, zone).isoformat(timespec="seconds")


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    """A value from the state file (outside input: any shape) as one short printable line, or None."""
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = "".join(c for c in str(value) if c.isprintable()).strip()[:80]
    return text or None


def _cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[:most - 1].rstrip() + "…"
