"""The ledger: the evidence a business takes to its operator (issue 11).

    records.py   what the ledger holds, as plain frozen dataclasses: incidents, drills, speed measurements, SIM and
                 operator switches, and a `Period` of them. The report (agent/report) reads only these.
    store.py     the SQLite file behind it: a core sink that writes events as records, and `read_period()`.
"""
from agent.ledger.records import Drill, Incident, Period, Speed, Switch
from agent.ledger.store import Ledger, attach, read_period

__all__ = ["Drill", "Incident", "Period", "Speed", "Switch", "Ledger", "attach", "read_period"]
