"""Issue 14's "Done when", end to end: `relais fleet serve` as a real process with a real Mosquitto, a real SMTP
server and a local webhook receiver; three sites of one provider lose their primary within a minute -> a provider
incident opens, the alert reaches the SMTP server (and the webhook, signed), and it closes when they recover.

The sites are the load generator publishing the topics and envelopes of docs/mqtt.md (their state parts with the
published contract, then link_down / link_restored as the failover policy emits them): three whole agents in
virtual time do the same in tests/fleet/test_alerts.py, and a signed `failover` round-trips from `relais fleet cmd`
to a real agent in tests/fleet/test_cmd.py.

Bad input on the way: a malformed and an oversized message, and a device speaking under another's id (the shipped
ACL refuses it at the broker: tests/fleet/test_tls_acl.py; here it gets through and the fleet must ignore it) —
none of them counts towards the incident, and `fleet serve` goes on."""
from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from fleet.db import FleetDb
from fleet.watch import watch_db
from tests.fleet.loadgen import PREFIX, Outgoing, Publisher, encode, envelope
from tests.fleet.postgres import wait_for
from tests.fleet.test_alerts import SECRET, Receiver, valid
from tests.fleet.test_cli import RELAIS
from tests.notify.smtpd import PASSWORD, USER, SmtpServer

SITES = ("shop-1", "shop-2", "shop-3")


@pytest.fixture
def smtp(tmp_path):
    (tmp_path / "smtp").mkdir()
    server = SmtpServer(tmp_path / "smtp").start()
    yield server
    server.stop()


def part(device: str, seq: int, name: str, value: dict) -> Outgoing:
    return Outgoing(f"{PREFIX}/{device}/state/{name}", encode(envelope(device, seq, time.time(), state={name: value}),
                                                               "cbor"), None, retain=True)


def event(device: str, seq: int, kind: str, data: dict, topic_device: str | None = None) -> Outgoing:
    return Outgoing(f"{PREFIX}/{topic_device or device}/event",
                    encode(envelope(device, seq, time.time(), kind=kind, data=data), "cbor"), (device, seq))


def subjects(smtp: SmtpServer) -> list[str]:
    import email
    return [email.message_from_bytes(raw)["Subject"] for _, _, raw in smtp.mailbox.messages]


@pytest.mark.mosquitto
@pytest.mark.slow
def test_three_sites_losing_their_primary_open_a_provider_incident_that_mails_and_closes(tmp_path, broker, smtp):
    with Receiver([]) as hook:
        run(tmp_path, broker, smtp, hook)


def run(tmp_path, broker, smtp, hook):
    database = str(tmp_path / "fleet.db")
    (tmp_path / "sites.csv").write_text("device_id,area\n" + "".join(f"{s},69003\n" for s in SITES))
    (tmp_path / "smtp.pass").write_text(PASSWORD + "\n")
    config = tmp_path / "fleet.toml"
    config.write_text(f'''database = "{database}"
[mqtt]
host = "{broker.host}"
port = {broker.port}
client_id = "fleet-e2e"
[ingest]
max_message_bytes = 4096
[correlate]
sites = "{tmp_path / 'sites.csv'}"
every_s = 0.3
[alerts.email]
host = "127.0.0.1"
port = {smtp.port}
sender = "fleet@example.com"
recipients = ["noc@example.com"]
ca = "{smtp.cert}"
username = "{USER}"
password_file = "{tmp_path / 'smtp.pass'}"
[[alerts.webhook]]
url = "{hook.url}"
secret = "{SECRET.decode()}"
''')
    proc = subprocess.Popen([*RELAIS, "fleet", "serve", "--config", str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    pub = None
    try:
        wait_for(lambda: "fleet-e2e" in broker.tail(5), 20, "fleet serve connected")
        pub = Publisher(broker.host, broker.port)
        now = time.time()
        birth = [Outgoing(f"{PREFIX}/{s}/status", b"online", None, retain=True) for s in SITES]
        birth += [part(s, 10, "device", {"id": s, "site": "", "contracts": [
            {"uplink": "primary", "provider": "Orange fibre", "repair_hours": 4}]}) for s in SITES]
        birth += [part(s, 11, "failover", {"state": "primary", "active_uplink": "primary"}) for s in SITES]
        pub.publish_all(birth)
        bad = [event("shop-9", 20, "link_down", {"link": "primary", "started_at": now}, topic_device="shop-3"),
               Outgoing(f"{PREFIX}/shop-3/event", b"\xff\x00 not cbor", None),
               Outgoing(f"{PREFIX}/shop-3/event", encode(envelope("shop-3", 21, now, kind="link_down",
                                                                  data={"pad": "x" * 5000}), "cbor"), None)]
        # two sites lose their primary 20 s apart (their own started_at), the impostor and the garbage say shop-3
        losses = [event(s, 100, "link_down", {"link": "primary", "reason": "no_answer", "started_at": now - 40 + 20 * n,
                                              "detect_s": 12}) for n, s in enumerate(SITES)]
        pub.publish_all(bad + losses[:2])
        db = FleetDb(database)
        wait_for(lambda: db.count("events") == 2, 10, "the two real losses stored")
        stored_at = db.query("SELECT MAX(received) FROM events")[0][0]
        wait_for(lambda: (watch_db.cursor(db) or 0) >= stored_at, 10, "the alert loop past them")
        assert watch_db.incidents(db) == [] and smtp.mailbox.messages == []   # two sites and an impostor: none
        pub.publish_all(losses[2:])
        wait_for(lambda: len(smtp.mailbox.messages) == 1, 20, "the incident's e-mail")
        [inc] = watch_db.incidents(db, open_only=True)
        assert [s["site"] for s in inc["sites"]] == list(SITES) and inc["area"] == "69003"
        assert subjects(smtp)[0].startswith("[relais] Provider incident: Orange fibre, 3 sites in 69003, since ")

        pub.publish_all([event(s, 200, "link_restored", {"link": "primary", "was": "down", "down_s": 300})
                         for s in SITES])
        wait_for(lambda: len(smtp.mailbox.messages) == 2, 20, "the e-mail saying it is over")
        assert subjects(smtp)[1].startswith("[relais] Provider incident over: Orange fibre, 3 sites in 69003")
        wait_for(lambda: len(hook.requests) == 2, 10, "both on the webhook too")
        posted = [json.loads(body) for _, _, body in hook.requests]
        assert [p["rule"] for p in posted] == ["provider_incident_opened", "provider_incident_closed"]
        assert posted[0]["data"]["sites"] == list(SITES) and all(valid(h, b) for _, h, b in hook.requests)
        [inc] = watch_db.incidents(db)
        assert inc["closed_at"] is not None
        assert proc.poll() is None, "fleet serve stopped"
    finally:
        if pub is not None:
            pub.close()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "Traceback" not in err, err
    for reason in ("impostor", "undecodable", "oversized"):
        assert f"ignored {reason} message" in err, err
