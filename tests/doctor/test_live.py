"""The agent's "signal_now" command on the in-process simulator, in virtual time: a fresh reading (not the last
poll), the SIM on request, one modem job for requests that arrive together, and a hung modem answered with an
error instead of a reply that never comes."""
from __future__ import annotations

import pytest

from agent.core import CommandReceived
from agent.doctor.live import LiveReading
from tests.cellular.agent_rig import SimulatorAgent


@pytest.fixture
def agent(tmp_path):
    a = SimulatorAgent(tmp_path, vendor="quectel-ec25")
    a.live = LiveReading(a.core, a.modem)
    assert a.ready()
    yield a
    a.close()


def ask(agent, args, n=1, timeout=30.0):
    replies: list = []
    for _ in range(n):
        agent.core.post(CommandReceived("signal_now", args, replies.append, origin="test"))
    agent.pump(lambda: len(replies) == n, timeout)
    assert len(replies) == n, f"{len(replies)} of {n} replies within {timeout} s"
    return replies


def test_a_fresh_reading_sees_a_change_the_last_poll_has_not(agent):
    polled = agent.core.state["modem"]["signal"]["rsrp_dbm"]
    agent.sim.fault("signal", -121)
    [reply] = ask(agent, {})
    assert reply["ok"] and reply["result"]["signal"]["rsrp_dbm"] == -121 != polled
    assert reply["result"]["registration"] == "home" and "sim_state" not in reply["result"]
    assert agent.core.state["modem"]["signal"]["rsrp_dbm"] == polled     # nothing else was changed for it


def test_with_sim_it_reads_the_card_too(agent):
    agent.sim.fault("sim-remove", 1)
    [reply] = ask(agent, {"sim": True})
    assert reply["ok"] and reply["result"]["sim_state"] == "NOT INSERTED", reply


def test_requests_in_flight_together_share_one_modem_job(agent):
    jobs = []
    submit = agent.modem.submit
    agent.modem.submit = lambda name, job, on_done=None: (jobs.append(name), submit(name, job, on_done))
    replies = ask(agent, {}, n=3)
    assert jobs.count("signal_now") == 1 and all(r["ok"] for r in replies)
    assert len({r["result"]["signal"]["rsrp_dbm"] for r in replies}) == 1
    ask(agent, {})
    assert jobs.count("signal_now") == 2                                 # the next request reads again


def test_a_hung_modem_gets_an_error_reply(agent):
    agent.sim.fault("hang", "forever")
    [reply] = ask(agent, {"sim": True}, timeout=120)
    assert not reply["ok"] and reply["error"].startswith("the modem did not answer:"), reply


@pytest.mark.parametrize("args", [{"sim": "yes"}, {"loud": True}])
def test_bad_arguments_are_refused_in_one_line(agent, args):
    [reply] = ask(agent, args)
    assert not reply["ok"] and "signal_now takes only" in reply["error"]
