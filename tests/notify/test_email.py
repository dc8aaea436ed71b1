"""The incident notice reaches a real SMTP server (aiosmtpd: STARTTLS, AUTH LOGIN/PLAIN) — docs/notify.md."""
from __future__ import annotations

import base64
import email
import email.policy
import logging
import time
from email.utils import parsedate_to_datetime

import pytest

from agent.config import from_dict
from agent.core import Core, Event, WallClock
from agent.notify.email import EmailNotifier, Mailer, NoticeOutcome, SmtpTransport
from agent.notify.notice import outage_notice, zone
from tests.notify.smtpd import PASSWORD, USER, SmtpServer, free_port

START = 1764766925.0          # 2025-12-03 13:02:05 UTC = 14:02:05 in Paris
END = START + 3725.0
OUTAGE = {"start": START, "end": END, "duration_s": 3725.0, "cause": "no answer from 1.1.1.1, 8.8.8.8",
          "uplink": "backup", "start_source": "ntp", "end_source": "ntp", "duration_basis": "monotonic"}


def email_config(server_port: int, ca, password: str = PASSWORD, **more):
    raw = {"recipients": ["patron@boulangerie.fr", "tech@atelier.fr"], "sender": "relais@boulangerie.fr",
           "host": "127.0.0.1", "port": server_port, "ca": str(ca), "username": USER, "password": password,
           "tz": "Europe/Paris", "timeout_s": 5, "retry_initial_s": 30, "retry_max_s": 600, **more}
    return from_dict({"email": raw, "device": {"id": "boulangerie-1"}})


@pytest.fixture
def server(tmp_path):
    s = SmtpServer(tmp_path).start()
    yield s
    s.stop()


def wait_for_event(core: Core, events: list, kind: str, timeout: float = 15.0) -> Event:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        core.step(timeout=0.05)
        for e in events:
            if e.kind == kind:
                return e
    raise AssertionError(f"no {kind} event within {timeout} s; saw {[e.kind for e in events]}")


def running_notifier(config):
    core = Core(wall=WallClock(now=lambda: END + 2, source=lambda: "ntp"))
    events: list[Event] = []
    core.add_sink(events.append)
    notifier = EmailNotifier(core, config.email, config.device.id).start()
    return core, events, notifier


def test_outage_notice_reaches_the_server_with_headers_and_text(server):
    config = email_config(server.port, server.cert)
    core, events, notifier = running_notifier(config)
    try:
        core.emit("outage_closed", **OUTAGE)
        sent = wait_for_event(core, events, "notice_sent")
    finally:
        notifier.stop()
    assert sent.data["notice"] == "outage" and sent.data["attempts"] == 1 and sent.data["recipients"] == 2
    assert len(server.mailbox.messages) == 1
    mail_from, rcpt, content = server.mailbox.messages[0]
    assert mail_from == "relais@boulangerie.fr"
    assert rcpt == ["patron@boulangerie.fr", "tech@atelier.fr"]
    assert server.mailbox.logins[-1][2] is True        # authenticated, and only after STARTTLS (required)
    msg = email.message_from_bytes(content, policy=email.policy.default)
    assert msg["From"] == "relais@boulangerie.fr"
    assert msg["To"] == "patron@boulangerie.fr, tech@atelier.fr"
    assert msg["Subject"] == ("boulangerie-1 : coupure du lien principal terminée, 1 h 02 min 05 s "
                              "(3 décembre 2025 14:02)")
    assert parsedate_to_datetime(msg["Date"]).timestamp() == int(END + 2)
    body = msg.get_content()
    assert "Début : mercredi 3 décembre 2025 à 14:02:05 CET" in body
    assert "Fin : mercredi 3 décembre 2025 à 15:04:10 CET" in body
    assert "Durée : 1 h 02 min 05 s" in body
    assert "Cause : no answer from 1.1.1.1, 8.8.8.8" in body
    assert "Trafic acheminé par : le secours cellulaire (4G/5G)" in body
    assert "pas synchronisée" not in body               # both ends stamped by NTP: strong evidence


def test_failed_drill_notice_in_english_and_a_passed_drill_sends_nothing(server):
    config = email_config(server.port, server.cert, lang="en")
    core, events, notifier = running_notifier(config)
    try:
        core.emit("drill_result", ok=True, reason="completed", duration_s=30.0, backup={"sent": 15, "lost": 0},
                  route={"uplink": "backup", "probe_ok": True, "rtt_ms": 40.0, "error": None})
        core.emit("drill_result", ok=False, reason="backup down", duration_s=12.0, backup={"sent": 6, "lost": 6},
                  route=None)
        sent = wait_for_event(core, events, "notice_sent")
    finally:
        notifier.stop()
    assert sent.data["notice"] == "drill"
    assert len(server.mailbox.messages) == 1        # the passed drill queued nothing: the failed one went first
    msg = email.message_from_bytes(server.mailbox.messages[0][2], policy=email.policy.default)
    # the drill ended at END + 2 and lasted 12 s: it started at 15:04:00
    assert msg["Subject"] == "boulangerie-1: failover drill failed (3 December 2025 15:04)"
    body = msg.get_content()
    assert "Start: Wednesday 3 December 2025 at 15:04:00 CET" in body
    assert "Cause: backup down" in body and "Probes through the backup: 6 sent, 6 lost" in body


@pytest.mark.parametrize("wrong", ["Wr0ng-password-7781", "Wr0ng-pässword-7781"])   # smtplib's login; UTF-8 PLAIN
def test_bad_password_gives_one_line_and_notice_failed_and_never_logs_the_password(server, caplog, wrong):
    config = email_config(server.port, server.cert, password=wrong)
    caplog.set_level(logging.DEBUG)
    core, events, notifier = running_notifier(config)
    try:
        core.emit("outage_closed", **OUTAGE)
        failed = wait_for_event(core, events, "notice_failed")
    finally:
        notifier.stop()
    assert failed.data["attempts"] == 1                  # a refused login is not retried
    assert "refused the login of user 'relais'" in failed.data["error"] and "535" in failed.data["error"]
    assert "\n" not in failed.data["error"]
    assert server.mailbox.messages == []
    ours = [r for r in caplog.records if r.name.startswith("agent")]
    errors = [r for r in ours if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "\n" not in errors[0].getMessage() and not errors[0].exc_info
    text = "\n".join(r.getMessage() for r in caplog.records)
    for form in (wrong, base64.b64encode(wrong.encode()).decode(),
                 base64.b64encode(f"\0{USER}\0{wrong}".encode()).decode()):
        assert form not in text
    assert "Secret('***')" in repr(config.email)


def test_server_down_then_up_is_delivered_after_the_backoff_on_a_fake_clock(tmp_path):
    port = free_port()
    server = SmtpServer(tmp_path, port=port)       # made, not started: nothing listens yet
    config = email_config(port, server.cert, retry_initial_s=30)
    outcomes: list[NoticeOutcome] = []
    tries: list[float] = []
    transport = SmtpTransport(config.email)
    now = 5000.0

    def send(msg):
        tries.append(now)
        transport.send(msg)

    mailer = Mailer(config.email, send, outcomes.append, rand=lambda: 0.0)
    mailer.add(outage_notice(OUTAGE, END, "boulangerie-1", "fr", zone("Europe/Paris")))
    assert mailer.pump(now) == now + 30           # refused: retried after Backoff.delay(0) = retry_initial_s
    assert outcomes == [] and mailer.pending() == 1
    server.start()
    try:
        now = 5029.9
        assert mailer.pump(now) == 5030.0         # not due yet: no connection made
        assert len(tries) == 1 and server.mailbox.messages == []
        now = 5030.0
        assert mailer.pump(now) is None
    finally:
        server.stop()
    assert tries == [5000.0, 5030.0]
    assert [(o.ok, o.attempts) for o in outcomes] == [(True, 2)]
    assert len(server.mailbox.messages) == 1


def test_backoff_grows_and_the_notice_fails_after_max_attempts():
    config = email_config(free_port(), "", max_attempts=3, retry_initial_s=10, retry_max_s=15)
    outcomes: list[NoticeOutcome] = []

    def refuse(msg):
        from agent.notify.email import TransientError
        raise TransientError("Connection refused")

    mailer = Mailer(config.email, refuse, outcomes.append, rand=lambda: 0.0)
    mailer.add(outage_notice(OUTAGE, END, "b", "fr", zone("UTC")))
    assert mailer.pump(0.0) == 10.0
    assert mailer.pump(10.0) == 25.0              # 20 s capped at retry_max_s
    assert mailer.pump(25.0) is None              # third attempt: given up
    assert [(o.ok, o.attempts, o.error) for o in outcomes] == [(False, 3, "Connection refused")]


def test_queue_is_bounded_and_drops_the_oldest_with_a_log_line(caplog):
    config = email_config(free_port(), "", queue_max=2)
    mailer = Mailer(config.email, lambda msg: None, lambda o: None)
    for i in range(3):
        mailer.add(outage_notice({**OUTAGE, "cause": f"cause {i}"}, END + i, "b", "fr", zone("UTC")))
    assert mailer.pending() == 2 and mailer.dropped == 1
    assert any("dropped the oldest" in r.getMessage() for r in caplog.records)
    sent: list = []
    mailer._send = sent.append
    while mailer.pump(0.0) is not None:
        pass
    assert ["cause 1" in m.get_content() for m in sent] == [True, False]
    assert "cause 2" in sent[1].get_content()


def test_untrusted_certificate_is_permanent_and_says_how_to_fix_it(server):
    config = email_config(server.port, "")        # system CAs: the self-signed certificate is not among them
    outcomes: list[NoticeOutcome] = []
    mailer = Mailer(config.email, SmtpTransport(config.email).send, outcomes.append)
    mailer.add(outage_notice(OUTAGE, END, "b", "fr", zone("UTC")))
    assert mailer.pump(0.0) is None
    assert outcomes[0].ok is False and outcomes[0].attempts == 1
    assert "certificate is not trusted" in outcomes[0].error and "[email] ca" in outcomes[0].error


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_each_auth_mechanism_the_server_offers_alone(tmp_path, mechanism):
    password = "ascii-Only-42"          # smtplib's own login(): it picks whichever mechanism is offered
    server = SmtpServer(tmp_path, password=password, mechanisms=(mechanism,)).start()
    try:
        config = email_config(server.port, server.cert, password=password)
        outcomes: list[NoticeOutcome] = []
        mailer = Mailer(config.email, SmtpTransport(config.email).send, outcomes.append)
        mailer.add(outage_notice(OUTAGE, END, "b", "fr", zone("UTC")))
        assert mailer.pump(0.0) is None
    finally:
        server.stop()
    assert [(o.ok, o.error) for o in outcomes] == [(True, "")]
    assert server.mailbox.logins == [(mechanism, USER.encode(), True)]
    assert len(server.mailbox.messages) == 1


def test_a_non_ascii_password_needs_plain_and_says_so(tmp_path):
    server = SmtpServer(tmp_path, mechanisms=("LOGIN",)).start()
    try:
        config = email_config(server.port, server.cert)          # PASSWORD has an "ä"
        outcomes: list[NoticeOutcome] = []
        mailer = Mailer(config.email, SmtpTransport(config.email).send, outcomes.append)
        mailer.add(outage_notice(OUTAGE, END, "b", "fr", zone("UTC")))
        mailer.pump(0.0)
    finally:
        server.stop()
    assert outcomes[0].ok is False and "needs AUTH PLAIN" in outcomes[0].error
    assert server.mailbox.messages == []


def test_a_notice_dropped_while_it_is_being_retried_leaves_the_next_one_a_fresh_start():
    from agent.notify.email import TransientError
    config = email_config(free_port(), "", queue_max=1, retry_initial_s=10)
    outcomes: list[NoticeOutcome] = []
    sent: list = []
    mailer = Mailer(config.email, lambda msg: None, outcomes.append, rand=lambda: 0.0)

    def busy_then_newer_notice(msg):     # the core thread queues a newer notice while this one is in flight
        mailer.add(outage_notice({**OUTAGE, "cause": "newer"}, END + 60, "b", "fr", zone("UTC")))
        raise TransientError("Connection timed out")

    mailer._send = busy_then_newer_notice
    mailer.add(outage_notice(OUTAGE, END, "b", "fr", zone("UTC")))
    assert mailer.pump(0.0) == 0.0                 # the old one is gone; the newer one is due at once
    assert outcomes == [] and mailer.dropped == 1 and mailer.pending() == 1
    mailer._send = sent.append
    assert mailer.pump(0.0) is None
    assert [(o.ok, o.attempts) for o in outcomes] == [(True, 1)]
    assert "Cause : newer" in sent[0].get_content()


def test_an_event_with_a_time_no_calendar_holds_is_one_log_line_not_a_notice(caplog):
    config = email_config(free_port(), "")
    core = Core()
    notifier = EmailNotifier(core, config.email, "b", send=lambda msg: None)
    core.emit("outage_closed", **{**OUTAGE, "start": 1e300})
    assert notifier.mailer.pending() == 0
    lines = [r for r in caplog.records if r.name == "agent.notify.email"]
    assert len(lines) == 1 and "no notice for outage_closed" in lines[0].getMessage() and not lines[0].exc_info


def test_the_core_keeps_working_while_a_notice_is_stuck_in_smtp():
    import threading
    config = email_config(free_port(), "")
    core = Core()
    events: list[Event] = []
    core.add_sink(events.append)
    in_smtp, release = threading.Event(), threading.Event()

    def stuck(msg):                       # a server that accepted the connection and then says nothing
        in_smtp.set()
        release.wait(30)

    notifier = EmailNotifier(core, config.email, "b", send=stuck).start()
    try:
        core.emit("outage_closed", **OUTAGE)
        assert in_smtp.wait(10)
        # the worker is inside SMTP: the core still takes events, timers and more notices
        ticks: list[float] = []
        core.call_later(0, ticks.append)
        core.emit("outage_closed", **{**OUTAGE, "cause": "second"})
        core.drain()
        assert ticks and notifier.mailer.pending() == 2 and not release.is_set()
        release.set()
        sent = wait_for_event(core, events, "notice_sent")
        assert sent.data["notice"] == "outage"
    finally:
        release.set()
        notifier.stop()


def test_a_ca_file_that_holds_no_certificate_is_one_line(server, tmp_path):
    ca = tmp_path / "not-a-cert.pem"
    ca.write_text("hello\n")
    config = email_config(server.port, ca)
    outcomes: list[NoticeOutcome] = []
    mailer = Mailer(config.email, SmtpTransport(config.email).send, outcomes.append)
    mailer.add(outage_notice(OUTAGE, END, "b", "fr", zone("UTC")))
    assert mailer.pump(0.0) is None
    assert outcomes[0].ok is False and outcomes[0].error.startswith(f"[email] ca {ca} holds no usable certificate")
    assert server.mailbox.messages == []
