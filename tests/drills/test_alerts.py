"""Alerts of a failed or overdue drill: the SMS text (agent/cellular/sms_alerts.py) and the SMS sink sending it
through the modem simulator in virtual time (tests/cellular/agent_rig.py), a drill that passed sending nothing;
the e-mail notices (agent/notify), an overdue one through the local SMTP server of tests/notify."""
from __future__ import annotations

import time

import pytest

from agent.cellular.sms_alerts import alert_text
from agent.core import Event
from tests.cellular.agent_rig import agent_factory  # noqa: F401  (fixture)
from tests.notify.test_email import email_config, running_notifier, server, wait_for_event  # noqa: F401

OWNER = "+33612345678"
SMS = {"alert_numbers": ["0033 6 12 34 56 78"], "country_code": "33", "coalesce_s": 0.0}


@pytest.mark.parametrize("kind, data, expected", [
    ("drill_result", {"kind": "full", "ok": False, "reason": "service Cloud failed: HTTP 500, expected 2xx or 3xx"},
     "relais shop-42: DRILL FAILED 14:02 (full): service Cloud failed: HTTP 500, expected 2xx or 3xx"),
    ("drill_result", {"kind": "passive", "ok": True}, "relais shop-42: DRILL OK 14:02 (passive)"),
    ("drill_overdue", {"days": 41.5, "last_pass": None, "overdue_days": 40.0},
     "relais shop-42: DRILL OVERDUE 14:02: no drill passed for 41.5 days"),
    ("drill_overdue", {"days": "x"}, "relais shop-42: DRILL OVERDUE 14:02"),
])
def test_drill_alert_texts(kind, data, expected, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert alert_text(Event(kind, 1795356120.0, "ntp", data), "shop-42", {}) == expected
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_failed_or_overdue_drill_is_texted_a_passed_one_is_not(agent_factory):  # noqa: F811
    a = agent_factory(sms=SMS)
    assert a.ready()
    a.core.emit("drill_result", kind="passive", ok=True, reason="completed")
    a.core.emit("drill_result", kind="full", ok=False, reason="no probe through the backup was answered")
    assert a.pump(lambda: a.sent_to(OWNER))
    a.core.emit("drill_overdue", days=40.0, last_pass=None, overdue_days=40.0)
    assert a.pump(lambda: len(a.sent_to(OWNER)) == 2)
    texts = a.sent_to(OWNER)
    assert "DRILL FAILED" in texts[0] and "no probe through the backup" in texts[0]
    assert "DRILL OVERDUE" in texts[1] and "40 days" in texts[1]
    assert not any("DRILL OK" in t for t in texts)


def test_the_email_notice_of_a_failed_passive_drill_names_the_failed_services():
    from zoneinfo import ZoneInfo

    from agent.notify.notice import drill_notice
    data = {"kind": "passive", "trigger": "schedule", "ok": False, "reason": "service Cloud failed: HTTP 500",
            "duration_s": 2.5, "backup": {"sent": 3, "lost": 0, "loss": 0.0, "rtt_ms": 41.0},
            "path": [{"name": "latency", "ok": True, "detail": "3/3 answered"}],
            "services": [{"name": "Téléphonie", "check": "sip:192.0.2.5", "ok": True, "detail": "SIP/2.0 200 OK",
                          "rtt_ms": 40.0},
                         {"name": "Cloud", "check": "https://x/", "ok": False, "detail": "HTTP 500", "rtt_ms": None}]}
    n = drill_notice(data, 1751374770.0, "ntp", "relais-1", "fr", ZoneInfo("Europe/Paris"))
    assert "Exercice : passif (secours vérifié sans y basculer le trafic)" in n.body
    assert "Service Cloud : en échec (HTTP 500)" in n.body and "Téléphonie" not in n.body
    assert "Route vérifiée" not in n.body and "Sondes par le secours : 3 envoyées, 0 perdues" in n.body
    m = drill_notice({**data, "kind": "full", "route": None}, 1751374770.0, "ntp", "relais-1", "en",
                     ZoneInfo("Europe/Paris"))
    assert "Drill: full (traffic moved to the backup)" in m.body and "Route checked: none" in m.body


def test_the_email_notice_of_an_overdue_drill():
    from zoneinfo import ZoneInfo

    from agent.notify.notice import overdue_notice
    paris = ZoneInfo("Europe/Paris")
    n = overdue_notice({"last_pass": 1751374770.0, "days": 41.5, "overdue_days": 40.0}, 1755000000.0, "relais-1",
                       "fr", paris)
    assert n.kind == "drill_overdue" and n.subject == "relais-1 : aucun exercice de bascule réussi depuis 41.5 jours"
    assert "Dernier exercice réussi : mardi 1 juillet 2025 à 14:59:30 CEST" in n.body
    assert "Alerte après : 40 jours" in n.body
    m = overdue_notice({"last_pass": None, "days": 40.0, "overdue_days": 40.0}, 1755000000.0, "r", "en", paris)
    assert m.subject == "r: no failover drill has passed for 40 days" and "Last drill that passed: never" in m.body


def test_an_overdue_drill_reaches_the_smtp_server(server):  # noqa: F811  (the local SMTP server fixture)
    import email
    import email.policy
    core, events, notifier = running_notifier(email_config(server.port, server.cert, lang="en"))
    try:
        core.emit("drill_overdue", last_pass=None, days=40.0, overdue_days=40.0)
        sent = wait_for_event(core, events, "notice_sent")
    finally:
        notifier.stop()
    assert sent.data["notice"] == "drill_overdue"
    msg = email.message_from_bytes(server.mailbox.messages[0][2], policy=email.policy.default)
    assert msg["Subject"] == "boulangerie-1: no failover drill has passed for 40 days"
    assert "Last drill that passed: never" in msg.get_content()
