"""Ledger periods built by hand for the report's tests: local times in Paris, every record kind."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from agent.ledger.records import DOWN, Incident

PARIS = ZoneInfo("Europe/Paris")


def at(*when, zone=PARIS) -> float:
    return dt.datetime(*when, tzinfo=zone).timestamp()


def down(start: float, minutes: float, link: str = "primary", *, kind: str = DOWN, planned: bool = False,
         source: str = "ntp", end_source: str = "ntp", cause: str = "no_answer", id: int | None = None,
         ongoing: bool = False, carried_by: str | None = "backup", evidence: dict | None = None,
         duration_s: float | None = None, basis: str = "monotonic") -> Incident:
    seconds = minutes * 60
    return Incident(id=id, link=link, kind=kind, start=start, start_source=source,
                    end=None if ongoing else start + seconds, end_source=None if ongoing else end_source,
                    duration_s=None if ongoing else (seconds if duration_s is None else duration_s),
                    duration_basis=None if ongoing else basis, cause=cause, planned=planned,
                    carried_by=carried_by if link == "primary" else None, evidence=evidence or {})
