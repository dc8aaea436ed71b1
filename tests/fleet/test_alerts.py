"""Fleet alerts (fleet/alerts/): the rules as tables, de-duplication on a fake clock, retries with backoff, and
delivery to a real local SMTP server (aiosmtpd, STARTTLS + AUTH) and a local HTTP receiver checking the HMAC."""
from __future__ import annotations

import ast
import email
import email.policy
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fleet import correlate
from fleet.alerts import (ALERT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, Alert, Alerting, Channel, ConfigError,
                          Deliveries, EmailTarget, Memory, PermanentError, Rule, Rules, SiteView, SmtpSender,
                          TransientError, WebhookSender, WebhookTarget, alerting_from, correlation_from, deduplicate,
                          firing, signal_poor, signal_poor_since)
from common.backoff import Backoff
from tests.notify.smtpd import PASSWORD, USER, SmtpServer, free_port

NOW = 1796283900.0           # 2026-12-03 07:45 UTC
MIN = 60.0
DAY = 86400.0
SECRET = b"0123456789abcdef-webhook"


def rules_of(alerts):
    return sorted((str(a.rule), a.subject) for a in alerts)


@pytest.mark.parametrize("site, expected", [
    (SiteView("a", online=False, offline_since=NOW - 15 * MIN), []),                       # exactly 15 min: not yet
    (SiteView("a", online=False, offline_since=NOW - 15 * MIN - 1), [("offline", "a")]),
    (SiteView("a", online=True, offline_since=NOW - DAY), []),                              # back online
    (SiteView("a", on_backup_since=NOW - 30 * MIN), []),
    (SiteView("a", on_backup_since=NOW - 31 * MIN), [("on_backup", "a")]),
    (SiteView("a", last_drill_at=NOW - DAY, last_drill_ok=False), [("drill_failed", "a")]),
    (SiteView("a", last_drill_at=NOW - DAY, last_drill_ok=True), []),
    (SiteView("a", drill_overdue=True), [("drill_overdue", "a")]),
    (SiteView("a", data_used_bytes=800, data_budget_bytes=1000), []),                      # 80 %: not over
    (SiteView("a", data_used_bytes=801, data_budget_bytes=1000), [("data_budget", "a")]),
    (SiteView("a", data_used_bytes=5000, data_budget_bytes=0), []),                         # no budget set
    (SiteView("a", signal_poor_since=NOW - 3 * DAY + 1), []),
    (SiteView("a", signal_poor_since=NOW - 3 * DAY), [("signal_poor", "a")]),
    (SiteView("a", online=False, offline_since=NOW - DAY, on_backup_since=NOW - DAY, drill_overdue=True),
     [("drill_overdue", "a"), ("offline", "a"), ("on_backup", "a")]),
])
def test_rules(site, expected):
    assert rules_of(firing(Rules(), [site], NOW)) == expected


@pytest.mark.parametrize("metrics, poor", [
    ({"rsrp_dbm": -95, "rsrq_db": -11, "sinr_db": 13}, False),
    ({"rsrp_dbm": -101}, True),
    ({"rsrp_dbm": -100}, False),                      # the fair row's floor is still fair
    ({"rsrp_dbm": -90, "sinr_db": -1}, True),
    ({"rsrp_dbm": -90, "rsrq_db": -21}, True),
    ({"rssi_dbm": -101}, True),                       # 3G: RSSI only
    ({"rssi_dbm": -101, "rsrp_dbm": -90}, False),     # RSRP there: RSSI does not grade
    ({"rx_bytes": 10}, None),
    ({"rsrp_dbm": "weak", "sinr_db": float("nan")}, None),
])
def test_one_reading_graded_as_relais_doctor_does(metrics, poor):
    assert signal_poor(metrics) is poor


def test_signal_poor_since_follows_telemetry_by_exception():
    readings = [(0, {"rsrp_dbm": -95, "sinr_db": 10, "rx_bytes": 1}),
                (100, {"rsrp_dbm": -104}),                 # poor from here
                (200, {"rx_bytes": 5}),                    # a heartbeat of data only: the run goes on
                (300, {"sinr_db": 3}),                     # RSRP still -104 (held): still poor
                (400, {"rsrp_dbm": -99, "sinr_db": -2}),   # now the SINR is poor: same run
                ]
    assert signal_poor_since(readings) == 100
    assert signal_poor_since(readings + [(500, {"sinr_db": 5})]) is None       # good again
    assert signal_poor_since(readings + [(500, {"sinr_db": 5}), (600, {"rsrp_dbm": -120})]) == 600
    # the metrics gone (no reading: no cell, a modem being reset) is nothing known, not a good signal
    assert signal_poor_since(readings + [(500, {"rsrp_dbm": None, "sinr_db": None})]) == 100
    assert signal_poor_since([]) is None and signal_poor_since([(0, "junk"), (1, {"rsrp_dbm": -130})]) == 1


def test_titles_say_what_and_for_how_long():
    alerts = firing(Rules(), [SiteView("boulangerie-3", online=False, offline_since=NOW - 3 * 3600),
                              SiteView("garage-7", data_used_bytes=9, data_budget_bytes=10),
                              SiteView("cafe-1", signal_poor_since=NOW - 4 * DAY)], NOW)
    assert [a.title for a in alerts] == ["boulangerie-3: offline for 3 h",
                                         "garage-7: 90 % of the cellular data budget used",
                                         "cafe-1: cellular signal poor for 4 days"]


def provider_incident():
    """Three sites of Orange fibre in 69003 lose their primary within two minutes, then recover."""
    state = correlate.initial()
    actions = []
    for i, site in enumerate(["a", "b", "c"]):
        state, out = correlate.decide(state, correlate.Lost(site, correlate.Link.PRIMARY, "Orange fibre", "69003",
                                                            at=NOW + 60 * i), NOW + 60 * i)
        actions += out
    opened = actions
    actions = []
    for i, site in enumerate(["a", "b", "c"]):
        state, out = correlate.decide(state, correlate.Recovered(site, correlate.Link.PRIMARY, at=NOW + 3600 + i),
                                      NOW + 3600 + i)
        actions += out
    return opened, actions


def test_provider_incidents_alert_when_opened_and_closed():
    opened, later = provider_incident()
    (alert,) = firing(Rules(), [], NOW + 120, opened)
    assert (alert.rule, alert.subject) == (Rule.PROVIDER_INCIDENT_OPENED, "primary-orange-fibre-69003-20261203T074500Z")
    assert alert.title == "Provider incident: Orange fibre, 3 sites in 69003, since 07:45"
    assert alert.data["sites"] == ["a", "b", "c"] and alert.at == NOW + 120
    (paris,) = firing(Rules(tz="Europe/Paris"), [], NOW + 120, opened)
    assert paris.title == "Provider incident: Orange fibre, 3 sites in 69003, since 08:45"
    (drill,) = firing(Rules(tz="Europe/Paris"), [SiteView("a", last_drill_at=NOW, last_drill_ok=False)], NOW)
    assert drill.title == "a: the failover drill of 2026-12-03 08:45 CET failed"
    closing = [a for a in firing(Rules(), [], NOW + 3602, later)]
    assert [(a.rule, a.title) for a in closing] == [
        (Rule.PROVIDER_INCIDENT_CLOSED, "Provider incident over: Orange fibre, 3 sites in 69003, since 07:45, "
                                        "closed at 08:45")]


def test_a_mobile_outage_suggests_the_sim_switch_to_the_people_who_decide():
    state, actions = correlate.initial(), []
    for i, site in enumerate(["a", "b", "c"]):
        state, out = correlate.decide(state, correlate.Lost(site, correlate.Link.CELLULAR, "SFR", "75011", at=NOW + i),
                                      NOW + i)
        actions += out
    (alert,) = firing(Rules(), [], NOW + 3, actions)
    assert alert.title == ("Provider incident: SFR mobile, 3 sites in 75011, since 07:45; suggested: switch the "
                           "sites on this operator to their other SIM")
    assert alert.data["suggest"] == "sim_switch" and alert.data["link"] == "cellular"


def test_a_flapping_site_is_one_alert_per_window_and_a_reminder_after_it():
    memory, rules = Memory(), Rules(offline_after_s=0)
    sent = []
    for minute in range(0, 180):              # offline on even minutes, online on odd ones, for three hours
        now = NOW + minute * MIN
        site = SiteView("a", online=minute % 2 == 1, offline_since=now - 1)
        memory, out = deduplicate(memory, firing(rules, [site], now), 3600, now)
        sent += [(minute, a.key) for a in out]
    assert sent == [(0, "offline:a"), (60, "offline:a"), (120, "offline:a")]
    assert len(memory.sent) == 1             # the memory holds what was sent within the window, no more


def test_each_failed_drill_alerts_once_even_within_the_window():
    memory = Memory()
    memory, first = deduplicate(memory, firing(Rules(), [SiteView("a", last_drill_at=NOW, last_drill_ok=False)],
                                               NOW), 86400, NOW)
    memory, again = deduplicate(memory, firing(Rules(), [SiteView("a", last_drill_at=NOW, last_drill_ok=False)],
                                               NOW + 60), 86400, NOW + 60)
    memory, second = deduplicate(memory, firing(Rules(), [SiteView("a", last_drill_at=NOW + 7 * DAY,
                                                                    last_drill_ok=False)], NOW + 7 * DAY),
                                 86400 * 30, NOW + 7 * DAY)
    assert (len(first), len(again), len(second)) == (1, 0, 1)


def recorder(fail_times: int = 0, error=TransientError):
    calls = []

    def send(alert, now):
        calls.append((alert.key, now))
        if len(calls) <= fail_times:
            raise error("receiver busy")
    return send, calls


def test_channels_have_their_own_windows_and_rules():
    hook_send, hook_calls = recorder()
    mail_send, mail_calls = recorder()
    alerting = Alerting(Rules(), {
        "webhook": Channel(Deliveries("webhook", hook_send), window_s=3600),
        "email": Channel(Deliveries("email", mail_send), window_s=86400, rules=frozenset({Rule.OFFLINE})),
    })
    site = SiteView("a", online=False, offline_since=NOW - DAY, on_backup_since=NOW - DAY)
    for hour in range(5):
        now = NOW + hour * 3600
        alerting.evaluate([site], now)
        assert alerting.pump(now) is None
    assert [k for k, _ in hook_calls] == ["offline:a", "on_backup:a"] * 5
    assert mail_calls == [("offline:a", NOW)]


def test_retries_follow_the_backoff_on_a_fake_clock():
    send, calls = recorder(fail_times=2)
    out = Deliveries("webhook", send, backoff=Backoff(10, 600), max_attempts=5, rand=lambda: 0.0)
    out.add(Alert(Rule.OFFLINE, "a", "offline:a", "a: offline", NOW))
    out.add(Alert(Rule.OFFLINE, "b", "offline:b", "b: offline", NOW))
    assert out.pump(NOW) == NOW + 10
    assert out.pump(NOW + 9.9) == NOW + 10         # not due: nothing sent
    assert out.pump(NOW + 10) == NOW + 30          # second failure: 20 s
    assert out.pump(NOW + 30) is None              # both sent, the second straight after the first
    assert calls == [("offline:a", NOW), ("offline:a", NOW + 10), ("offline:a", NOW + 30), ("offline:b", NOW + 30)]
    assert (out.sent, out.failed) == (2, 0)


def test_a_permanent_error_is_not_retried_and_the_last_attempt_gives_up():
    send, calls = recorder(fail_times=1, error=PermanentError)
    out = Deliveries("webhook", send)
    out.add(Alert(Rule.OFFLINE, "a", "offline:a", "a", NOW))
    assert out.pump(NOW) is None and len(calls) == 1 and out.failed == 1
    send, calls = recorder(fail_times=99)
    out = Deliveries("webhook", send, backoff=Backoff(1, 1), max_attempts=3)
    out.add(Alert(Rule.OFFLINE, "a", "offline:a", "a", NOW))
    t = NOW
    while (due := out.pump(t)) is not None:
        t = due
    assert len(calls) == 3 and out.failed == 1 and t == NOW + 2


# ---- webhook: a local HTTP receiver that checks the signature itself -------------------------------------------------

class Receiver:
    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.path, dict(self.headers), body))
                code = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(code)
                if 300 <= code < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/relais?token=s3cr3t"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def valid(headers, body, secret=SECRET):
    """What a receiver does, written here from the documented scheme rather than with fleet's sign()."""
    expected = hmac.new(secret, headers[TIMESTAMP_HEADER].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest("sha256=" + expected, headers[SIGNATURE_HEADER])


def test_the_webhook_posts_signed_json_and_is_retried_on_503(caplog):
    opened, _ = provider_incident()
    (alert,) = firing(Rules(), [], NOW + 120, opened)
    with Receiver([503, 200]) as receiver:
        out = Deliveries("webhook", WebhookSender(WebhookTarget(receiver.url, SECRET)), backoff=Backoff(5, 60),
                         rand=lambda: 0.0)
        out.add(alert)
        assert out.pump(NOW + 120) == NOW + 125
        assert out.pump(NOW + 125) is None
    assert (out.sent, len(receiver.requests)) == (1, 2)
    for (path, headers, body), sent_at in zip(receiver.requests, (NOW + 120, NOW + 125)):
        assert path == "/hooks/relais?token=s3cr3t"
        assert headers["Content-Type"] == "application/json"
        assert headers[ALERT_HEADER] == "provider_incident_opened:primary-orange-fibre-69003-20261203T074500Z"
        assert headers[TIMESTAMP_HEADER] == str(int(sent_at))
        assert valid(headers, body)
        assert not valid(headers, body.replace(b"69003", b"69004"))       # a changed body fails the check
        assert not valid(headers, body, b"another-secret-of-16b")
        payload = json.loads(body)
        assert payload["rule"] == "provider_incident_opened" and payload["data"]["sites"] == ["a", "b", "c"]
        assert payload["title"] == "Provider incident: Orange fibre, 3 sites in 69003, since 07:45"
    assert "s3cr3t" not in caplog.text and "hooks" not in caplog.text       # the URL's token never logged
    assert "127.0.0.1" in caplog.text and "503" in caplog.text


def test_a_refusing_webhook_is_given_up_and_an_absent_one_retried():
    alert = Alert(Rule.OFFLINE, "a", "offline:a", "a: offline", NOW)
    with Receiver([404, 302, 307]) as receiver:
        with pytest.raises(PermanentError, match="404"):
            WebhookSender(WebhookTarget(receiver.url, SECRET))(alert, NOW)
        for code in (302, 307):          # a redirect is not followed: the signed alert goes where configured only
            with pytest.raises(PermanentError, match=str(code)):
                WebhookSender(WebhookTarget(receiver.url, SECRET))(alert, NOW)
    assert [path for path, _, _ in receiver.requests] == ["/hooks/relais?token=s3cr3t"] * 3
    with pytest.raises(TransientError, match=r"127\.0\.0\.1"):
        WebhookSender(WebhookTarget(f"http://127.0.0.1:{free_port()}/x", SECRET, timeout_s=2))(alert, NOW)


@pytest.mark.parametrize("url, secret, message", [
    ("ftp://example.com/x", SECRET, "expected http:// or https://"),
    ("https:///x", SECRET, "and a host"),
    ("https://example.com/x", b"short", "at least 16 bytes, got 5"),
])
def test_bad_webhook_targets_say_what_is_wrong(url, secret, message):
    with pytest.raises(ValueError, match=message):
        WebhookTarget(url, secret)


# ---- e-mail: the real local SMTP server of tests/notify ----------------------------------------------------------

@pytest.fixture
def smtp(tmp_path):
    server = SmtpServer(tmp_path).start()
    yield server
    server.stop()


def email_target(server, password=PASSWORD):
    return EmailTarget("127.0.0.1", "fleet@atelier.fr", ("noc@atelier.fr", "astreinte@atelier.fr"), port=server.port,
                       ca=str(server.cert), username=USER, password=password, timeout_s=5)


def test_a_provider_incident_reaches_the_smtp_server(smtp):
    opened, _ = provider_incident()
    alerting = Alerting(Rules(), {"email": Channel(Deliveries("email", SmtpSender(email_target(smtp))))})
    alerting.evaluate([], NOW + 120, opened)
    alerting.evaluate([], NOW + 180, opened)       # the same incident seen again: de-duplicated
    assert alerting.pump(NOW + 180) is None
    assert len(smtp.mailbox.messages) == 1 and smtp.mailbox.logins[-1][2] is True
    mail_from, rcpt, content = smtp.mailbox.messages[0]
    assert (mail_from, rcpt) == ("fleet@atelier.fr", ["noc@atelier.fr", "astreinte@atelier.fr"])
    msg = email.message_from_bytes(content, policy=email.policy.default)
    assert msg["Subject"] == "[relais] Provider incident: Orange fibre, 3 sites in 69003, since 07:45"
    body = msg.get_content()
    assert "Rule: provider_incident_opened" in body and "sites: ['a', 'b', 'c']" in body


def test_a_refused_login_is_permanent_and_the_password_stays_out(smtp, caplog):
    out = Deliveries("email", SmtpSender(email_target(smtp, password="wrong-" + PASSWORD)))
    out.add(Alert(Rule.OFFLINE, "a", "offline:a", "a: offline", NOW))
    assert out.pump(NOW) is None and out.failed == 1
    assert smtp.mailbox.messages == []
    assert "refused the login" in caplog.text and PASSWORD not in caplog.text


def test_an_absent_smtp_server_is_tried_again():
    target = EmailTarget("127.0.0.1", "fleet@atelier.fr", ("noc@atelier.fr",), port=free_port(), timeout_s=2)
    with pytest.raises(TransientError):
        SmtpSender(target)(Alert(Rule.OFFLINE, "a", "offline:a", "a", NOW), NOW)


def test_fleet_modules_import_nothing_of_the_agent():
    fleet = Path(__file__).resolve().parents[2] / "fleet"
    modules = [fleet / "correlate.py", *sorted((fleet / "alerts").glob("*.py"))]
    assert len(modules) == 6
    for name in modules:
        tree = ast.parse(name.read_text())
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not {m for m in imported if m.split(".")[0] == "agent"}, name


# ---- configuration ----------------------------------------------------------------------------------------------

def test_the_alerts_table_builds_the_channels(tmp_path):
    key = tmp_path / "hook.key"
    key.write_text(SECRET.decode() + "\n")
    alerting = alerting_from({
        "offline_after_s": 600, "data_budget_pct": 90, "tz": "Europe/Paris",
        "email": {"recipients": ["noc@atelier.fr"], "sender": "fleet@atelier.fr", "host": "smtp.atelier.fr",
                  "username": "fleet", "password": "pw", "window_s": 43200, "rules": ["offline", "drill_failed"]},
        "webhook": [{"url": "https://hooks.example.com/T0/abc", "secret_file": str(key)}],
    })
    assert (alerting.rules.offline_after_s, alerting.rules.data_budget_pct, alerting.rules.tz) == \
        (600, 90, "Europe/Paris")
    assert alerting.rules.on_backup_after_s == Rules().on_backup_after_s
    mail, hook = alerting.channels["email"], alerting.channels["webhook-1"]
    assert mail.window_s == 43200 and mail.rules == {Rule.OFFLINE, Rule.DRILL_FAILED}
    assert mail.deliveries.send.target.password == "pw" and mail.deliveries.send.target.port == 587
    assert hook.window_s == 3600 and hook.rules == set(Rule)
    assert hook.deliveries.send.target.secret == SECRET and hook.deliveries.name == "webhook https://hooks.example.com"
    assert alerting_from({}) is None and alerting_from({"email": {"recipients": []}}) is None


MAIL = {"recipients": ["noc@atelier.fr"], "sender": "fleet@atelier.fr", "host": "smtp.atelier.fr"}


@pytest.mark.parametrize("table, message", [
    ({"offline_after_s": "15 min"}, '[alerts] offline_after_s: expected a number from 0 to 2592000, got "15 min"'),
    ({"tz": "Europe/Atlantis"}, '[alerts] tz: expected a time zone such as "Europe/Paris", got "Europe/Atlantis"'),
    ({"tz": "Europe"}, '[alerts] tz: expected a time zone such as "Europe/Paris", got "Europe"'),
    ({"tz": ["UTC"]}, '[alerts] tz: expected a time zone such as "Europe/Paris", got [\'UTC\']'),
    ({"colour": "red"}, "[alerts] colour: expected one of data_budget_pct, email, "),
    ({"email": {**MAIL, "port": 0}}, "[alerts.email] port: expected an integer from 1 to 65535, got 0"),
    ({"email": {**MAIL, "host": ""}}, '[alerts.email] host: expected a one-line text (required), got ""'),
    ({"email": {**MAIL, "recipients": ["nobody"]}}, "[alerts.email] recipients: expected a list of e-mail addresses"),
    ({"email": {**MAIL, "username": "u", "password": "p", "starttls": False}},
     "[alerts.email] starttls: expected true when username is set"),
    ({"email": {**MAIL, "rules": ["offline", "coffee"]}}, "[alerts.email] rules: expected a list of rules from "),
    ({"email": {**MAIL, "window_s": 1}}, "[alerts.email] window_s: expected a number from 60 to"),
    ({"webhook": {"url": "https://x"}}, "[alerts] webhook: expected [[alerts.webhook]] tables, got {"),
    ({"webhook": [{"url": "https://x.example"}]}, "[alerts.webhook #1] secret: expected a secret in secret or "
                                                  "secret_file, got none"),
    ({"webhook": [{"url": "ftp://x.example", "secret": "s" * 20}]}, "[alerts.webhook #1] webhook url: expected"),
    ({"webhook": [{"url": "https://x.example", "secret": "short"}]}, "secret: expected at least 16 bytes, got 5"),
    ({"webhook": [{"url": "https://x.example", "secret": "s" * 20, "secret_file": "/k"}]},
     "secret: expected secret or secret_file, not both"),
    ({"webhook": [{"url": "https://x.example", "secret_file": "/nonexistent/k"}]},
     "[alerts.webhook #1] secret_file: expected a readable file, got '/nonexistent/k' (No such file or directory)"),
])
def test_bad_alerts_tables_are_one_line_naming_the_key(table, message):
    with pytest.raises(ConfigError) as e:
        alerting_from(table, "/etc/relais/fleet.toml")
    text = str(e.value)
    assert text.startswith("/etc/relais/fleet.toml: ") and message in text and "\n" not in text
    assert "s" * 20 not in text                      # a secret is never shown back


def test_the_correlate_table():
    assert correlation_from({"min_sites": 5, "window_s": 300, "by_area": False}) == correlate.Settings(
        min_sites=5, window_s=300, by_area=False)
    assert correlation_from({}) == correlate.Settings()
    with pytest.raises(ConfigError, match=r"\[correlate\] min_sites: expected an integer from 2 to 10000, got 1"):
        correlation_from({"min_sites": 1})


# ---- the issue's "done when", with the agents' own events ------------------------------------------------------------

def agent_events(tmp_path, lose_at: float, back_after: float) -> list:
    """One whole agent in virtual time (the real failover policy on simulated uplinks): its primary blackholed
    `lose_at` s after it is up, restored `back_after` s later. Its events, as it emitted them."""
    from tests.faults.virtual_agent import WholeAgent
    tmp_path.mkdir()
    a = WholeAgent(tmp_path, extra={"probes": {"targets": ["192.0.2.1", "192.0.2.2", "192.0.2.3"]}, "failover": {}})
    try:
        assert a.pump(lambda: a.registered(1) and a.state("failover").get("state") == "primary", 120)
        a.advance(lose_at)
        a.uplinks.set("primary", reachable=False)
        assert a.pump(lambda: a.state("failover").get("active_uplink") == "backup", 10)
        a.advance(back_after)
        a.uplinks.set("primary", reachable=True)
        assert a.pump(lambda: a.state("failover").get("active_uplink") == "primary", 120)
        return list(a.events)
    finally:
        a.close()


def test_three_agents_losing_their_primary_open_an_incident_that_mails_and_closes(tmp_path, smtp):
    """Three simulated sites of one provider lose their primary within a minute: a provider incident opens, the
    alert reaches the local SMTP server, and the incident closes when they recover."""
    sites = {f"shop-{i}": correlate.Site(f"shop-{i}", "Orange fibre", "69003", "Orange") for i in range(3)}
    feed = []
    for i, name in enumerate(sites):
        feed += [(e.ts, name, e) for e in agent_events(tmp_path / name, 15 + 20 * i, 300 - 20 * i)]
    feed.sort(key=lambda x: x[0])
    alerting = Alerting(Rules(), {"email": Channel(Deliveries("email", SmtpSender(email_target(smtp))))})
    state, actions = correlate.initial(), []
    for ts, name, event in feed:
        item = correlate.from_event(sites[name], event.kind, event.data, event.ts)
        if item is not None:
            state, out = correlate.decide(state, item, ts)
            actions += out
            alerting.evaluate([], ts, out)
            alerting.pump(ts)
    kinds = [type(a).__name__ for a in actions]
    assert kinds == ["IncidentOpened", "IncidentUpdated", "IncidentUpdated", "IncidentClosed"], kinds
    opened, closed = actions[0].incident, actions[-1].incident
    assert opened.down == ("shop-0", "shop-1", "shop-2")
    losses = [s.lost_at for s in opened.sites]
    assert 39 <= losses[-1] - losses[0] <= 42                   # the agents' own started_at, 20 s apart
    assert all(s.recovered_at is not None for s in closed.sites) and not state.open
    subjects = [email.message_from_bytes(m[2], policy=email.policy.default)["Subject"] for m in smtp.mailbox.messages]
    assert [s.split(",")[0] for s in subjects] == ["[relais] Provider incident: Orange fibre",
                                                   "[relais] Provider incident over: Orange fibre"]
    assert "3 sites in 69003" in subjects[0]
