"""The demo's UPS (agent/power/simulator.py) answers as Debian's upsd does, so the agent's own NUT client reads it."""
from __future__ import annotations

import pytest

from agent.power.nut import NutClient, NutError, Reading, parse_var_list
from agent.power.simulator import SimulatedUps
from tests.power.test_nut_protocol import UPSD_2_8_0_DUMMY_OB


@pytest.fixture(scope="module")
def ups():
    u = SimulatedUps("onduleur").start()
    yield u
    u.stop()


def test_its_answer_has_the_shape_of_upsd_s():
    u = SimulatedUps("dummy")
    try:
        u.set("OB", charge=100, runtime_s=1800)
        mine = u.answer("LIST VAR dummy").splitlines()
    finally:
        u.stop()
    theirs = parse_var_list(UPSD_2_8_0_DUMMY_OB, "dummy")
    assert mine[0] == UPSD_2_8_0_DUMMY_OB[0] and mine[-1] == UPSD_2_8_0_DUMMY_OB[-1]
    ours = parse_var_list(mine, "dummy")
    assert {k: ours[k] for k in ("ups.status", "battery.charge", "battery.runtime")} == \
        {k: theirs[k] for k in ("ups.status", "battery.charge", "battery.runtime")}


def test_the_agents_client_reads_what_it_is_set_to(ups):
    client = NutClient("onduleur", ups.host, ups.port, timeout_s=2)
    ups.set("OL")
    assert client.read().on_line
    ups.set("OB LB", charge=5, runtime_s=90)
    assert client.read() == Reading(("OB", "LB"), 5.0, 90.0)
    ups.set("OL CHRG", charge=6)
    assert client.read().status == ("OL", "CHRG")


def test_another_name_or_another_request_is_an_error_as_upsd_says_it(ups):
    with pytest.raises(NutError, match="knows no UPS named nope"):
        NutClient("nope", ups.host, ups.port, timeout_s=2).read()
    assert ups.answer("GET VAR onduleur ups.status") == "ERR UNKNOWN-COMMAND\n"
