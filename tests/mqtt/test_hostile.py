"""Hostile command bodies found by the bad-input probe (issue 10, defect 8 and the `expired` sign of defect 9).
Each was reproduced on the code before its fix: a traceback inside the MQTT callback, an internal error reply,
a refused valid set_config, or a repeated command run twice."""
import json
import tomllib

import cbor2
import pytest

from agent.mqtt import config_update
from agent.mqtt.intake import ID_MEMORY_S, Accepted, CommandIntake, Refusal, Repeat
from common.wire.signing import SignatureRejected, sign, verify
from common.wire.topics import Topics

T = Topics("relais/v1", "dev-1")
KEY = b"k" * 32
NOW = 1_700_000_000.0
HUGE = 10 ** 5000          # past Python's 4300-digit int/str conversion limit


class Memory:
    def __init__(self):
        self.seen = set()

    def remember(self, nonce, ts, now, window_s):
        ok = nonce not in self.seen
        self.seen.add(nonce)
        return ok


def intake(key=None):
    return CommandIntake(T, 1 << 20, key, 300, Memory())


def take(i, payload, mono=0.0, name="get_status"):
    return i.take(f"relais/v1/dev-1/cmd/{name}", payload, NOW, mono)


@pytest.mark.parametrize("doc", [{"id": HUGE}, {"id": "a", "args": {"n": HUGE}}, {"id": "a", "args": {"l": [-HUGE]}}])
@pytest.mark.parametrize("key", [None, KEY])
def test_a_cbor_bignum_is_refused_not_raised(doc, key):
    out = take(intake(key), cbor2.dumps(doc))
    assert isinstance(out, Refusal), out
    assert out.reason == "undecodable"
    assert "integer" in out.message


def test_integers_of_64_bits_still_pass():
    out = take(intake(), cbor2.dumps({"id": "a", "args": {"n": 2 ** 63 - 1, "m": -2 ** 63}}))
    assert isinstance(out, Accepted)


@pytest.mark.parametrize("payload", [b'{"id": "a", "args": {"k": "\\ud800"}}', b'{"id": "a", "args": {"\\udfff": 1}}'])
def test_a_lone_surrogate_is_refused_with_a_clear_reason(payload):
    out = take(intake(), payload, name="set_config")
    assert isinstance(out, Refusal), out
    assert out.reason == "undecodable"
    assert "surrogate" in out.message
    assert out.id == "a" or out.id is None


def test_a_repeated_id_is_remembered_ten_minutes_whatever_came_between():
    i = intake()
    assert isinstance(take(i, json.dumps({"id": "first"}).encode(), mono=0.0), Accepted)
    for n in range(1000):                                     # a burst of other commands
        assert isinstance(take(i, json.dumps({"id": f"c{n}"}).encode(), mono=1.0), Accepted)
    again = take(i, json.dumps({"id": "first"}).encode(), mono=ID_MEMORY_S - 1)
    assert isinstance(again, Repeat)
    later = take(i, json.dumps({"id": "first"}).encode(), mono=ID_MEMORY_S + 2)
    assert isinstance(later, Accepted)                        # the promise is 10 minutes, not forever


def test_expired_says_which_way_the_clock_is_off():
    doc = {"ts": int(NOW) - 1000, "nonce": "abcdefgh"}
    doc["sig"] = sign(KEY, "dev-1", "x", "a", doc["ts"], doc["nonce"], {})
    with pytest.raises(SignatureRejected) as e:
        verify(KEY, "dev-1", "x", "a", {}, doc, NOW, 300, Memory())
    assert e.value.reason == "expired"
    assert "-1000 s" in str(e.value) and "behind" in str(e.value)
    doc = {"ts": int(NOW) + 1000, "nonce": "abcdefgi"}
    doc["sig"] = sign(KEY, "dev-1", "x", "a", doc["ts"], doc["nonce"], {})
    with pytest.raises(SignatureRejected) as e:
        verify(KEY, "dev-1", "x", "a", {}, doc, NOW, 300, Memory())
    assert "+1000 s" in str(e.value) and "ahead" in str(e.value)


def test_the_toml_writer_keeps_arrays_of_tables():
    doc = {"device": {"id": "x"}, "cellular": {"sim_slots": [1, 2], "sim": [
        {"slot": 1, "apn": "orange", "ladder": {"x": 1}}, {"slot": 2, "pin": "1234"}]},
        "probes": {"targets": ["icmp:192.0.2.1"]}}
    text = config_update.dump_toml(doc)
    assert "[[cellular.sim]]" in text
    assert tomllib.loads(text) == doc


def test_set_config_works_on_a_file_with_sim_tables(tmp_path):
    path = tmp_path / "relais.toml"
    path.write_text('[device]\nid = "site-1"\n[modem]\nport = "/dev/ttyUSB2"\n\n'
                    '[[cellular.sim]]\nslot = 1\napn = "orange"\n\n[[cellular.sim]]\nslot = 2\napn = "free"\n')
    config, changed = config_update.apply(path, {"device": {"site": "Lyon"}}, dry_run=True)
    assert changed == ["device.site"]
    config, changed = config_update.apply(path, {"device": {"site": "Lyon"}})
    doc = tomllib.loads(path.read_text())
    assert doc["device"]["site"] == "Lyon"
    assert [s["apn"] for s in doc["cellular"]["sim"]] == ["orange", "free"]
