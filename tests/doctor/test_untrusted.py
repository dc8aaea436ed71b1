"""What the doctor and `relais signal` read from the agent's socket is input from another process: any shape of
answer gives checks and lines, never an exception (hypothesis builds the shapes from the real state's keys)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agent import signal_cli
from agent.config import Config
from agent.doctor import checks, facts, radio
from agent.doctor.check import Check
from agent.doctor.cli import render

KEYS = ["state", "modem", "cellular", "time", "signal", "connected", "sim_state", "sim_slot", "registration",
        "operator_name", "rat", "rsrp_dbm", "rsrq_db", "sinr_db", "rssi_dbm", "band", "cell_id", "pci", "nr", "data",
        "up", "address", "apn", "error", "ladder", "trouble", "sim_slots", "source", "modem_offset_s",
        "manufacturer", "model"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 12, 10 ** 12), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["READY", "home", "denied", "unresponsive", "B3"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.sampled_from(KEYS), inner, max_size=8)),
                      max_leaves=30)
CONFIG = Config()


@settings(max_examples=400, deadline=None)
@given(status=values, fresh=st.one_of(st.none(), values), error=st.one_of(st.none(), st.text(max_size=20)))
def test_any_agent_answer_gives_checks(status, fresh, error):
    m = facts.modem_from_agent(status, fresh if isinstance(fresh, dict) else None, error, CONFIG)
    found = [check(m) for check in (checks.check_modem, checks.check_sim, checks.check_registration,
                                    checks.check_signal, checks.check_data)]
    found.append(checks.check_clock(facts.clock_facts(status, 1.8e9)))
    assert all(isinstance(c, Check) and c.detail for c in found)
    assert render(found)


@settings(max_examples=400, deadline=None)
@given(reading=values)
def test_any_reading_gives_a_line(reading):
    if isinstance(reading, dict):
        line = signal_cli.line(reading, "12:00:00")
        assert line.startswith("12:00:00  [") and radio.judge(reading.get("signal")).verdict in line
