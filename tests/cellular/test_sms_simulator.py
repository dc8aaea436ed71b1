"""SMS alerts and commands against the modem simulator in virtual time, through Core + ModemService and the real
failover controller on simulated uplinks: what the router does when someone texts it, and what it texts.

tests/cellular/agent_rig.py runs it all in virtual time: the in-process simulator, the real AT engine,
ModemService, Core and the failover probers on one fake clock.
"""
from __future__ import annotations

import logging

from tests.cellular.agent_rig import agent_factory  # noqa: F401  (fixture)

OWNER = "+33612345678"          # allowlisted as "06 12 34 56 78" with country_code 33
STRANGER = "+33700000001"
PIN = "k7q2x9"                  # letters too: a digit PIN could also be a substring of an IMEI in the logs
WRONG_PIN = "zz9w4t"


def ucs2(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


SMS = {"command_numbers": ["06 12 34 56 78"], "alert_numbers": ["0033 6 12 34 56 78"], "country_code": "33",
       "pin": PIN, "coalesce_s": 0.0}


def test_command_from_owner_with_pin_switches_failover_and_answers(agent_factory):
    a = agent_factory(sms=SMS)
    assert a.ready()
    a.sim.fault("sms-in", OWNER, f"{PIN} failover backup")
    assert a.pump(lambda: any("failover backup: ok" in t for t in a.sent_to(OWNER))), a.sent_to(OWNER)
    assert a.core.state["failover"]["mode"] == "force_backup"
    assert a.core.state["failover"]["active_uplink"] == "backup"
    reply = next(t for t in a.sent_to(OWNER) if "failover backup" in t)
    assert reply.startswith("relais shop-42: failover backup: ok, mode force_backup") and len(reply) <= 160
    (cmd,) = a.events_of("sms_command")
    assert cmd.data == {"from": "+33*******78", "command": "failover backup", "ok": True}
    assert a.pump(lambda: a.stored() == []), "the processed message must be deleted from the SIM"
    # the manual failover is itself an alert event: the owner is told by SMS too
    assert a.pump(lambda: any("FIBER DOWN" in t and "(manual)" in t for t in a.sent_to(OWNER))), a.sent_to(OWNER)

    a.sim.fault("sms-in", OWNER, f"{PIN}  FAILOVER   auto ")          # case and spaces do not matter
    assert a.pump(lambda: any("failover auto: ok" in t for t in a.sent_to(OWNER)))
    assert a.core.state["failover"]["mode"] == "auto"


def test_status_and_help_and_unknown_command(agent_factory):
    a = agent_factory(sms=SMS)
    assert a.ready()
    a.sim.fault("sms-in", OWNER, f"{PIN} status")
    assert a.pump(lambda: any(t.startswith("relais shop-42 ") and "on primary" in t for t in a.sent_to(OWNER)))
    status = next(t for t in a.sent_to(OWNER) if "on primary" in t)
    assert "mode auto" in status and "4G" in status and "SIM1" in status and len(status) <= 160, status
    a.sim.fault("sms-in", OWNER, f"{PIN} reboot now")
    assert a.pump(lambda: any("unknown command; use: status" in t for t in a.sent_to(OWNER)))
    a.sim.fault("sms-in", OWNER, f"{PIN} sim 3")
    assert a.pump(lambda: len([t for t in a.sent_to(OWNER) if "unknown command" in t]) == 2)
    assert a.pump(lambda: a.stored() == [])


def test_wrong_pin_and_unknown_number_are_ignored_and_the_pin_never_logged(agent_factory, caplog):
    caplog.set_level(logging.DEBUG)
    a = agent_factory(sms=SMS)
    assert a.ready()
    a.sim.fault("sms-in", OWNER, f"{WRONG_PIN} failover backup")
    a.sim.fault("sms-in", STRANGER, f"{PIN} failover backup")        # right PIN, number not allowlisted
    a.sim.fault("sms-in", "20700", "Votre forfait: 80% consommes")   # an operator's short code
    assert a.pump(lambda: len(a.events_of("sms_rejected")) == 3), a.events_of("sms_rejected")
    reasons = sorted((e.data["from"], e.data["reason"]) for e in a.events_of("sms_rejected"))
    assert reasons == [("+33*******01", "unknown_number"), ("+33*******78", "bad_pin"), ("20*00", "unknown_number")]
    assert a.pump(lambda: a.stored() == [])                           # deleted all the same
    a.advance(1.0)
    assert a.sent_to(OWNER) == [] and a.sent_to(STRANGER) == []       # no answer to any of them
    assert a.core.state["failover"]["mode"] == "auto"
    assert "ignored (bad_pin)" in caplog.text and "ignored (unknown_number)" in caplog.text
    for secret in (PIN, WRONG_PIN, ucs2(PIN), ucs2(WRONG_PIN)):
        assert secret.lower() not in caplog.text.lower(), secret


def test_wrong_pins_lock_the_number_out(agent_factory):
    a = agent_factory(sms={**SMS, "max_bad_pins_per_hour": 2})
    assert a.ready()
    for i in range(2):
        a.sim.fault("sms-in", OWNER, f"{WRONG_PIN}{i} status")
    assert a.pump(lambda: len(a.events_of("sms_rejected")) == 2)
    a.sim.fault("sms-in", OWNER, f"{PIN} status")                     # right PIN, but too late this hour
    assert a.pump(lambda: len(a.events_of("sms_rejected")) == 3)
    assert [e.data["reason"] for e in a.events_of("sms_rejected")] == ["bad_pin", "bad_pin", "locked_out"]
    assert a.sent_to(OWNER) == []


def test_alerts_on_failover_and_failback(agent_factory):
    a = agent_factory(sms=SMS)
    assert a.ready()
    a.uplinks.set("primary", reachable=False)                         # the fiber goes dark beyond the first hop
    assert a.pump(lambda: any("FIBER DOWN" in t for t in a.sent_to(OWNER)), timeout=30), a.sent_to(OWNER)
    down = next(t for t in a.sent_to(OWNER) if "FIBER DOWN" in t)
    assert down.startswith("relais shop-42: FIBER DOWN ")
    assert "(no answer from 3 targets), on 4G" in down and len(down) <= 160, down
    a.uplinks.set("primary", reachable=True)
    assert a.pump(lambda: any("FIBER BACK" in t for t in a.sent_to(OWNER)), timeout=30), a.sent_to(OWNER)
    back = next(t for t in a.sent_to(OWNER) if "FIBER BACK" in t)
    assert " after " in back, back
    assert a.pump(lambda: a.core.state["sms"]["sent"] == 2)


def test_alert_bursts_are_coalesced_and_rate_limited(agent_factory):
    a = agent_factory(sms={**SMS, "coalesce_s": 1.0, "max_alerts_per_hour": 1})
    assert a.ready()
    a.core.emit("failover", reason="no_answer", to="backup")
    a.core.emit("sim_switch", to_slot=2, reason="data_cap")
    assert a.pump(lambda: a.sent_to(OWNER))
    (first,) = a.sent_to(OWNER)
    assert "FIBER DOWN" in first and "SIM SWITCH" in first and "; " in first, first
    a.core.emit("failback", reason="recovered", outage_s=75.0)     # over this hour's budget: waits
    a.advance(2.0)
    assert len(a.sent_to(OWNER)) == 1
    assert a.core.state["sms"]["queued_alerts"] == 1


def test_command_stored_while_the_agent_was_down_is_run_unless_stale(agent_factory):
    def before(sim):
        sim.fault("allow", 1)                                         # wait for registration: SMS needs it
        assert sim.run_alone(lambda: sim.model.registered, 10)
        sim.fault("sms-in", OWNER, f"{PIN} failover backup")
        real = sim.engine.wallclock
        sim.engine.wallclock = lambda: real() - 7200                  # the network stamps this one 2 h ago
        sim.fault("sms-in", OWNER, f"{PIN} failover primary")
        sim.engine.wallclock = real
    a = agent_factory(sms=SMS, before_start=before)
    assert a.ready()
    assert a.pump(lambda: a.core.state["failover"]["mode"] == "force_backup")
    assert a.pump(lambda: [e.data["reason"] for e in a.events_of("sms_rejected")] == ["stale"])
    assert a.pump(lambda: a.stored() == [])
    assert a.core.state["failover"]["mode"] == "force_backup"


def test_no_command_numbers_leaves_the_sim_messages_alone(agent_factory):
    a = agent_factory(sms={"alert_numbers": [OWNER]})
    assert a.ready()
    a.sim.fault("sms-in", OWNER, "hello")
    a.advance(2.0)
    assert [m[2] for m in a.stored()] == ["hello"]
    assert a.events_of("sms_rejected") == []
