"""Power cuts in the ledger (store.py's Ledger, this part of it): `power_lost` opens a POWER incident of the site,
`power_restored` closes it with the duration the power part measured (monotonic), `battery_low` adds to its
evidence. A cut is never an uplink's downtime nor the operator's: the report counts it apart.

A cut still open when the agent stops (the low battery stopped it, or the UPS died) is closed at the restart
like any open incident, at the last heartbeat: the power came back at some time the agent did not see, and the
not-observed time that follows says so ("power_cut_at_stop").
"""
from __future__ import annotations

from typing import Any

from agent.core import Event
from agent.ledger.records import POWER, SITE, STOPPED_ON_BATTERY_LOW
from agent.ledger.rows import Open, is_number, start_of

POWER_CUT = "power_cut"


class PowerCuts:
    """Mixed into the Ledger: it provides _open, _mono(), _insert(), _close(), _duration()."""
    _open: dict[tuple[str, str], Open]

    def _power_lost(self, event: Event) -> None:
        if (SITE, POWER) in self._open:
            return
        d = event.data
        start = start_of(d.get("started_at"), event.ts)
        source = str(d.get("started_at_source") or event.time_source)
        evidence: dict[str, Any] = {k: d[k] for k in ("charge_pct", "runtime_s") if is_number(d.get(k))}
        if isinstance(d.get("ups"), str):
            evidence["ups"] = d["ups"][:100]
        if d.get("at_start") is True:
            evidence["on_battery_at_start"] = True    # the agent started on battery: the cut began earlier
        o = Open(SITE, POWER, start, source, POWER_CUT, self._mono() - (event.ts - start), evidence=evidence)
        self._insert(o)

    def _power_restored(self, event: Event) -> None:
        o = self._open.get((SITE, POWER))
        if o is None:
            return
        d = event.data
        end = max(o.start, start_of(d.get("ended_at"), event.ts))
        if is_number(d.get("charge_pct")):
            o.evidence["charge_pct_at_end"] = d["charge_pct"]
        duration = d.get("duration_s")
        if is_number(duration) and duration >= 0 and "on_battery_at_start" not in o.evidence:
            self._close(o, end, str(d.get("ended_at_source") or event.time_source), float(duration), "monotonic")
        else:
            self._close(o, end, event.time_source, *self._duration(o, end, event.ts - end))

    def _battery_low(self, event: Event) -> None:
        o = self._open.get((SITE, POWER))
        if o is None:
            return
        o.evidence.update(battery_low_at=event.ts, battery_low_at_source=event.time_source)
        if is_number(event.data.get("charge_pct")):
            o.evidence["charge_pct_at_battery_low"] = event.data["charge_pct"]
        if event.data.get("stopping") is True:
            o.evidence["agent_stopped"] = STOPPED_ON_BATTERY_LOW

