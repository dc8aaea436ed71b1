"""The retained state, part by part, on a fake clock: the real Core and Reporter, the link replaced by what it was
handed (no broker, no sleeping). A significant change goes out within the coalescing window; a signal wiggle inside
its deadband goes out nowhere."""
from __future__ import annotations

import copy
import json

import pytest

from agent.config import load
from agent.core import Core, WallClock
from agent.mqtt.config_update import dump_toml
from agent.mqtt.reporter import Reporter
from agent.mqtt.telemetry import STATE_MAX_HOLD_S
from tests.mqtt.harness import MODEM_STATE

WALL0 = 1_796_000_000.0
DEBOUNCE_S = 2.0      # the default state_debounce_s


class Clock:
    def __init__(self) -> None:
        self.t = 0.0


@pytest.fixture
def rig(tmp_path):
    path = tmp_path / "relais.toml"
    path.write_text(dump_toml({"device": {"id": "dev-1"}, "mqtt": {"host": "127.0.0.1", "port": 1,
                                                                   "payload": "json"},
                               "storage": {"dir": str(tmp_path / "store")}}))
    config = load(path)
    assert config.mqtt.state_debounce_s == DEBOUNCE_S
    clock = Clock()
    core = Core(monotonic=lambda: clock.t, wall=WallClock(now=lambda: WALL0 + clock.t, source=lambda: "ntp"))
    core.state["modem"] = copy.deepcopy(MODEM_STATE)
    core.state["failover"] = {"state": "normal", "active_uplink": "primary",
                              "links": {"primary": {"status": "up", "rtt_ms": 12.0}}}
    reporter = Reporter(core, config)           # never started: nothing leaves the process
    sent: list[tuple[float, str, dict]] = []
    reporter.link.set_state = lambda topic, payload: sent.append((clock.t, topic, json.loads(payload)))

    def run_until(t: float) -> None:
        while clock.t < t - 1e-9:
            clock.t = round(clock.t + 0.05, 6)
            core.drain()

    yield clock, core, reporter, sent, run_until
    reporter.close()


def test_every_part_is_published_once_at_start_on_its_own_topic(rig):
    clock, core, reporter, sent, run_until = rig
    run_until(30.0)
    assert sorted(topic for _, topic, _ in sent) == ["relais/v1/dev-1/state/failover", "relais/v1/dev-1/state/modem",
                                                     "relais/v1/dev-1/state/mqtt"]
    modem = next(doc for _, topic, doc in sent if topic.endswith("/modem"))
    assert modem["state"] == {"modem": MODEM_STATE} and modem["device_id"] == "dev-1"
    # First seen at the first check (0.5 s), published once still for the debounce.
    assert all(t <= 0.5 + DEBOUNCE_S + 0.1 for t, _, _ in sent), sent


def test_a_sim_switch_is_published_within_the_coalescing_window_as_one_message(rig):
    clock, core, reporter, sent, run_until = rig
    run_until(60.0)
    for i in range(6):       # a flapping fiber just before: its part's bucket must not hold back the modem's
        core.state["failover"] = {**core.state["failover"], "active_uplink": ("backup", "primary")[i % 2]}
        run_until(60.0 + 5 * (i + 1))
    assert len([t for t, topic, _ in sent if topic.endswith("/failover")]) == 1 + 6
    sent.clear()

    def modem(**changes):
        core.state["modem"] = {**core.state["modem"], **changes}
    # The burst a SIM switch makes, over a second and a half: one message, with the end of it.
    modem(sim_slot=2, registration="not_registered", iccid="8933150319000000002", operator_name=None)
    run_until(clock.t + 0.5)
    modem(registration="searching")
    run_until(clock.t + 0.5)
    modem(registration="home", operator_name="Orange F")
    registered_at = clock.t
    run_until(registered_at + 30.0)
    assert [topic for _, topic, _ in sent] == ["relais/v1/dev-1/state/modem"]
    t, _, doc = sent[0]
    assert doc["state"]["modem"]["sim_slot"] == 2 and doc["state"]["modem"]["registration"] == "home"
    assert t - registered_at <= DEBOUNCE_S + 0.5         # still for the debounce, seen at the next check
    assert doc["ts"] == pytest.approx(WALL0 + t)


def test_a_registration_that_keeps_moving_is_still_published_within_the_hold(rig):
    clock, core, reporter, sent, run_until = rig
    run_until(60.0)
    sent.clear()
    for i in range(20):                                  # the cell id changes every second for 20 s
        core.state["modem"] = {**core.state["modem"], "cell_id": f"1A2B3{i:02d}", "sim_slot": 2}
        run_until(61.0 + i)
    assert sent and sent[0][0] - 60.0 <= STATE_MAX_HOLD_S + 0.5
    assert sent[0][2]["state"]["modem"]["sim_slot"] == 2


def test_a_signal_wiggle_inside_the_deadband_is_published_nowhere(rig):
    clock, core, reporter, sent, run_until = rig
    run_until(60.0)
    sent.clear()
    telemetry_before = reporter.outbox.count("telemetry")
    assert telemetry_before == 1                         # the first telemetry message, with every metric
    for i in range(60):                                  # +-2 dB around -95, inside the 3 dB deadband, for 10 min
        core.state["modem"]["signal"]["rsrp_dbm"] = -95 + (2 if i % 2 else -2)
        core.state["failover"]["links"]["primary"]["rtt_ms"] = 12.0 + i % 3
        run_until(60.0 + 10 * (i + 1))
    assert sent == []
    assert reporter.outbox.count("telemetry") == telemetry_before
    # ...and a change past the deadband is telemetry, not state.
    core.state["modem"]["signal"]["rsrp_dbm"] = -110
    run_until(clock.t + 300)
    assert sent == []
    assert reporter.outbox.count("telemetry") > telemetry_before     # the deadband works both ways


def test_a_failover_publishes_only_the_failover_part(rig):
    clock, core, reporter, sent, run_until = rig
    run_until(60.0)
    sent.clear()
    core.state["failover"] = {"state": "failed_over", "active_uplink": "backup",
                              "links": {"primary": {"status": "down", "rtt_ms": None}}}
    core.emit("failover", reason="primary_down", to="backup")
    changed_at = clock.t
    run_until(changed_at + 30.0)
    assert [topic for _, topic, _ in sent] == ["relais/v1/dev-1/state/failover"]
    assert sent[0][0] - changed_at <= DEBOUNCE_S + 0.5
    assert sent[0][2]["state"]["failover"]["active_uplink"] == "backup"
