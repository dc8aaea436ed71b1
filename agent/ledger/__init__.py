"""The ledger: the evidence a business takes to its operator (issue 11).

    records.py   what the ledger holds, as plain frozen dataclasses: incidents, drills, speed measurements, SIM and
                 operator switches, and a `Period` of them. The report (agent/report) reads only these.
    store.py     the writer: a core sink that turns events into records (open incidents in memory).
    heartbeat.py its heartbeat, and what a start makes of it: time not observed, incidents closed at restart.
    rows.py      the incident open in memory; drill, speed and switch rows from an event's data.
    schema.py    the SQLite file's tables, the migration of older files, and `read_period()` for readers.
    evidence.py  what proves an incident: probe counts per target, the cellular network, the bytes it cost.
    power.py     the site's power cuts (agent/power's events) as POWER incidents of the link "site".
    boot.py      what the machine says of its own restart: the kernel's boot time, the watchdog's boot status.
"""
from agent.ledger.records import Drill, Incident, Period, Speed, Switch
from agent.ledger.schema import read_period
from agent.ledger.store import Ledger, attach

__all__ = ["Drill", "Incident", "Period", "Speed", "Switch", "Ledger", "attach", "read_period"]
