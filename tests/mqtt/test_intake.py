import json

import cbor2
import pytest

from agent.mqtt.intake import Accepted, CommandIntake, Refusal, Repeat
from common.wire.signing import sign
from common.wire.topics import Topics

T = Topics("relais/v1", "dev-1")
KEY = b"k" * 32


class Memory:
    def __init__(self):
        self.seen = set()

    def remember(self, nonce, ts, now, window_s):
        ok = nonce not in self.seen
        self.seen.add(nonce)
        return ok


def intake(key=None, max_bytes=1024):
    return CommandIntake(T, max_bytes, key, 300, Memory())


def take(i, name, payload, now=1_700_000_000.0, mono=0.0):
    return i.take(f"relais/v1/dev-1/cmd/{name}", payload, now, mono)


def j(doc):
    return json.dumps(doc).encode()


@pytest.mark.parametrize("topic, payload, reason, has_id", [
    ("relais/v1/dev-2/cmd/get_status", j({"id": "a"}), "foreign_topic", False),
    ("relais/v1/dev-1/cmd/Get-Status", j({"id": "a"}), "bad_name", True),
    ("relais/v1/dev-1/cmd/a/b", j({"id": "a"}), "bad_name", True),
    ("relais/v1/dev-1/cmd/get_status", b"\x00\x01garbage", "undecodable", False),
    ("relais/v1/dev-1/cmd/get_status", b'{"id": "a"', "undecodable", False),
    ("relais/v1/dev-1/cmd/get_status", j({"args": {}}), "no_id", False),
    ("relais/v1/dev-1/cmd/get_status", j({"id": "a/b"}), "no_id", False),     # would escape the reply topic
    ("relais/v1/dev-1/cmd/get_status", j({"id": "#"}), "no_id", False),
    ("relais/v1/dev-1/cmd/get_status", j({"id": True}), "no_id", False),
    ("relais/v1/dev-1/cmd/get_status", j({"id": "a", "args": [1]}), "malformed", True),
    ("relais/v1/dev-1/cmd/get_status", j({"id": "a", "mode": "x"}), "malformed", True),
    ("relais/v1/dev-1/cmd/get_status", j({"id": "a", "pad": "x" * 2000}), "oversized", True),
    ("relais/v1/dev-1/cmd/get_status", b'{"id":"a","pad":"' + b"x" * 70000 + b'"}', "oversized", False),
    ("relais/v1/dev-1/cmd/get_status", b"\xff" * 5000, "oversized", False),
])
def test_refusals_say_why_and_keep_the_id_when_readable(topic, payload, reason, has_id):
    out = intake().take(topic, payload, 1_700_000_000.0, 0.0)
    assert isinstance(out, Refusal), out
    assert out.reason == reason
    assert (out.id == "a") == has_id
    assert out.message


@pytest.mark.parametrize("encode", [j, cbor2.dumps])
def test_accepted_commands_keep_their_encoding(encode):
    out = take(intake(), "failover", encode({"id": 42, "args": {"mode": "force_backup"}}))
    assert out == Accepted("failover", "42", {"mode": "force_backup"}, "json" if encode is j else "cbor")


def test_a_repeated_id_is_answered_not_run_twice():
    i = intake()
    assert isinstance(take(i, "modem_reset", j({"id": "r1"}), mono=0.0), Accepted)
    assert take(i, "modem_reset", j({"id": "r1"}), mono=1.0) == Repeat("r1", None)     # still running
    i.answered("r1", b"reply-bytes")
    assert take(i, "modem_reset", j({"id": "r1"}), mono=2.0) == Repeat("r1", b"reply-bytes")
    assert isinstance(take(i, "modem_reset", j({"id": "r1"}), mono=10_000.0), Accepted)   # long forgotten


def signed(name="failover", cid="s1", ts=1_700_000_000, nonce="nonce-00001", args=None, key=KEY):
    args = args or {}
    return {"id": cid, "args": args, "ts": ts, "nonce": nonce,
            "sig": sign(key, "dev-1", name, cid, ts, nonce, args)}


def test_with_signing_on_unsigned_forged_replayed_and_expired_are_refused():
    i = intake(key=KEY)
    assert take(i, "get_status", j({"id": "u1"})).reason == "unsigned"
    assert take(i, "failover", j(signed(key=b"x" * 32))).reason == "forged"
    good = signed(args={"mode": "auto"})
    assert isinstance(take(i, "failover", cbor2.dumps(good)), Accepted)
    replay = take(i, "failover", j(good))
    assert replay.reason == "replayed" and replay.id == "s1"
    old = signed(cid="s2", ts=1_700_000_000 - 3600, nonce="nonce-00002")
    assert take(i, "failover", j(old)).reason == "expired"


def test_without_signing_signature_fields_are_unknown_keys():
    out = take(intake(), "failover", j(signed()))
    assert out.reason == "malformed" and "signing is off" in out.message
