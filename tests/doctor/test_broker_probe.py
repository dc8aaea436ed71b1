"""The doctor's broker check against a real Mosquitto: each stage (DNS, TCP, TLS, MQTT CONNECT) fails for its own
reason, and a broker that accepts is OK."""
from __future__ import annotations

import subprocess

import pytest

from agent.config import from_dict
from agent.doctor.broker import connect_packet, parse_connack, probe_broker
from agent.doctor.check import Level
from agent.doctor.checks import check_broker
from tests.mqtt.broker import Broker, Tls, free_port, make_pki, require_mosquitto


def mqtt(**settings):
    return from_dict({"mqtt": settings}).mqtt


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"), ["dev-a"])


@pytest.fixture
def open_broker(tmp_path):
    require_mosquitto()
    b = Broker(tmp_path / "broker").start()
    yield b
    b.stop()


def test_open_broker_is_ok(open_broker):
    facts = probe_broker(mqtt(host=open_broker.host, port=open_broker.port), "dev-1")
    got = check_broker(facts)
    assert got.level == Level.OK and "no TLS, connect accepted" in got.detail, got
    assert "relais-doctor-" in open_broker.log.read_text()      # its own client id: the agent's session is safe


def test_nothing_listening_fails_at_tcp():
    facts = probe_broker(mqtt(host="127.0.0.1", port=free_port()), "dev-1")
    assert facts.stage == "tcp" and "refused" in facts.error.lower()
    assert check_broker(facts).level == Level.FAIL


def test_unknown_host_fails_at_dns():
    facts = probe_broker(mqtt(host="no-such-broker.invalid", port=1883), "dev-1", timeout=2)
    assert facts.stage == "dns" and "no-such-broker.invalid" in facts.error


def test_wrong_password_fails_at_mqtt_and_the_right_one_passes(tmp_path):
    require_mosquitto()
    pwfile = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(pwfile), "dev-c", "right-Pa55word"], check=True,
                   capture_output=True)
    broker = Broker(tmp_path / "broker", password_file=pwfile).start()
    try:
        for protocol in ("3.1.1", "5"):
            bad = probe_broker(mqtt(host=broker.host, port=broker.port, username="dev-c", password="wrong",
                                    protocol=protocol), "dev-c")
            assert bad.stage == "mqtt" and ("not authorized" in bad.error or "bad user name" in bad.error), bad
            assert "wrong" not in check_broker(bad).detail + check_broker(bad).advice
            good = probe_broker(mqtt(host=broker.host, port=broker.port, username="dev-c",
                                     password="right-Pa55word", protocol=protocol), "dev-c")
            assert good.stage is None and check_broker(good).detail.endswith(" ms") and good.login, good
        anonymous = probe_broker(mqtt(host=broker.host, port=broker.port), "dev-c")
        assert anonymous.stage == "mqtt" and "not authorized" in anonymous.error
    finally:
        broker.stop()


def test_tls_with_the_right_ca_and_certificate_passes_and_a_wrong_ca_fails_at_tls(tmp_path, pki):
    require_mosquitto()
    broker = Broker(tmp_path / "broker", tls=Tls(pki["ca"], pki["server_cert"], pki["server_key"])).start()
    try:
        good = probe_broker(mqtt(host="127.0.0.1", port=broker.port, tls=True, ca=str(pki["ca"]),
                                 cert=str(pki["dev-a_cert"]), key=str(pki["dev-a_key"])), "dev-a")
        assert good.stage is None and good.tls_version.startswith("TLS"), good
        assert check_broker(good).level == Level.OK
        other = make_pki(tmp_path / "other", [])          # a CA that did not sign the broker's certificate
        wrong_ca = probe_broker(mqtt(host="127.0.0.1", port=broker.port, tls=True, ca=str(other["ca"]),
                                     cert=str(pki["dev-a_cert"]), key=str(pki["dev-a_key"])), "dev-a")
        assert wrong_ca.stage == "tls" and "certificate" in wrong_ca.error, wrong_ca
        no_cert = probe_broker(mqtt(host="127.0.0.1", port=broker.port, tls=True, ca=str(pki["ca"])), "dev-a")
        assert no_cert.stage in ("tls", "mqtt") and "client certificate" in no_cert.error, no_cert   # TLS 1.3: late
    finally:
        broker.stop()


def test_plain_mqtt_to_a_tls_port_fails_and_says_so(tmp_path, pki):
    require_mosquitto()
    broker = Broker(tmp_path / "broker", tls=Tls(pki["ca"], pki["server_cert"], pki["server_key"])).start()
    try:
        facts = probe_broker(mqtt(host="127.0.0.1", port=broker.port), "dev-a", timeout=3)
        assert facts.stage == "mqtt" and "TLS-only port?" in facts.error, facts
    finally:
        broker.stop()


@pytest.mark.parametrize("first, body, v5, said", [
    (0x20, b"\x00\x00", False, None),
    (0x20, b"\x00\x04", False, "bad user name or password"),
    (0x20, b"\x00\x05", False, "not authorized"),
    (0x20, b"\x00\x87", True, "not authorized"),
    (0x20, b"\x00\x8a", True, "banned"),
    (0x20, b"\x00\x42", False, "code"),
    (0x20, b"\x00\x02", False, "says nothing of the agent's login"),
    (0x20, b"\x00\x85", True, "client identifier not valid"),
])
def test_connack(first, body, v5, said):
    got = parse_connack(first, body, v5)
    assert (got is None) if said is None else said in got


@pytest.mark.parametrize("first, body", [(0x30, b"\x00\x00"), (0x20, b"\x00")])
def test_not_a_connack(first, body):
    with pytest.raises(ValueError):
        parse_connack(first, body, False)


def test_connect_packet_layout():
    p = connect_packet("c", "u", "p")
    assert p[0] == 0x10 and p[1] == len(p) - 2
    assert p[2:8] == b"\x00\x04MQTT" and p[8] == 4 and p[9] == 0xC2     # 3.1.1, user + password + clean
    assert connect_packet("c", v5=True)[8:10] == b"\x05\x02"
