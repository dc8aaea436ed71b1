"""The notifier in the built agent: a failover then a failback through the ledger ends in an e-mail."""
from __future__ import annotations

import email
import email.policy
import time

from agent.config import from_dict
from agent.runtime import build, needs_openssl
from tests.notify.smtpd import PASSWORD, USER, SmtpServer


def test_outage_closed_by_the_ledger_is_mailed_by_the_built_agent(tmp_path):
    server = SmtpServer(tmp_path).start()
    config = from_dict({
        "storage": {"dir": str(tmp_path / "state")},
        "board": {"led": "none"},
        "email": {"recipients": ["patron@boulangerie.fr"], "sender": "relais@boulangerie.fr", "host": "127.0.0.1",
                  "port": server.port, "ca": str(server.cert), "username": USER, "password": PASSWORD,
                  "lang": "en", "tz": "UTC"}})
    assert needs_openssl(config)             # the agent is not built without OpenSSL when it sends e-mail
    rt = build(config, mqtt=False)
    events: list = []
    rt.core.add_sink(events.append)
    rt.email.start()
    try:
        rt.core.emit("failover", reason="no answer from 1.1.1.1", to="backup")
        rt.core.emit("failback", outage_s=65.0)
        deadline = time.monotonic() + 15
        while not any(e.kind == "notice_sent" for e in events) and time.monotonic() < deadline:
            rt.core.step(timeout=0.05)
    finally:
        rt.email.stop()
        server.stop()
        rt.stop()
    kinds = [e.kind for e in events]
    assert "outage_closed" in kinds and "notice_sent" in kinds, kinds
    msg = email.message_from_bytes(server.mailbox.messages[0][2], policy=email.policy.default)
    # a subject over 78 characters is folded right after "Subject:"; Python's parser keeps the fold's space
    assert msg["Subject"].strip().startswith("relais-demo: primary uplink outage over, 1 min 05 s")
    body = msg.get_content()
    assert "Cause: no answer from 1.1.1.1" in body and "Traffic carried by: the cellular backup (4G/5G)" in body


def test_no_email_part_without_recipients(tmp_path):
    config = from_dict({"storage": {"dir": str(tmp_path)}, "board": {"led": "none"}})
    rt = build(config, mqtt=False)
    try:
        assert "email" not in rt.parts
    finally:
        rt.stop()
