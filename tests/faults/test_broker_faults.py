"""Fault catalogue, broker: a real Mosquitto that goes away, speaks TLS with a certificate the agent does not trust,
refuses the device's messages by ACL, or answers slowly. Every accepted event must reach the fleet once the fault is
gone (QoS 1: an event can arrive twice, never with another seq; the fleet deduplicates by seq)."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.faults.catalogue import Outcome
from tests.mqtt.broker import Broker, Tls, make_pki, require_mosquitto
from tests.mqtt.conftest import config_for, pki  # noqa: F401  (fixtures)
from tests.mqtt.fleet import Fleet
from tests.mqtt.harness import Agent

pytestmark = pytest.mark.mosquitto
DEVICE = "dev-a"


def delivered(fleet: Fleet, n: int, timeout: float) -> float | None:
    """Seconds until the fleet holds n distinct test_event seqs (None: not within timeout)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if len({e["seq"] for e in fleet.events(DEVICE, "test_event")}) >= n:
            return time.monotonic() - start
        time.sleep(0.05)
    return None


def outcome(scenario: str, behaviour: str, accepted: int, fleet: Fleet, recovery: float | None) -> None:
    got = {e["data"]["n"] for e in fleet.events(DEVICE, "test_event")}
    lost = accepted - len(got)
    assert lost == 0
    Outcome("broker", scenario, behaviour, accepted, lost, recovery, ["test_event"]).report()


def test_broker_down_while_an_hour_of_events_piles_up(tmp_path, config_for):  # noqa: F811
    require_mosquitto()
    broker = Broker(tmp_path / "broker", persistence=True).start()
    try:
        fleet = Fleet(broker, client_id="fleet-p", subscribe=f"relais/v1/{DEVICE}/event", persistent=True).start()
        with Agent(config_for(broker, DEVICE, reconnect_max_s=2.0)) as agent:
            assert agent.reporter.link.connected.wait(10)
            broker.stop()
            for n in range(360):                 # an event every 10 s for an hour, accepted while nobody listens
                agent.emit("test_event", n=n)
            assert agent.reporter.outbox.count("event") >= 360
            broker.start()
            took = delivered(fleet, 360, 60)
            assert took is not None
            seqs = [e["seq"] for e in fleet.events(DEVICE, "test_event")]
            assert seqs == sorted(seqs)
        fleet.close()
        outcome("down while 360 events pile up", f"kept them on disk; all delivered in order {took:.1f} s after "
                "the broker returned", 360, fleet, took)
    finally:
        broker.stop()


def test_tls_with_a_certificate_the_agent_does_not_trust(tmp_path, pki, config_for):  # noqa: F811
    require_mosquitto()
    other = make_pki(tmp_path / "other-pki", [])          # the broker's certificate comes from another CA
    broker = Broker(tmp_path / "broker", tls=Tls(other["ca"], other["server_cert"], other["server_key"])).start()
    try:
        tls = {"tls": True, "ca": pki["ca"], "cert": pki["dev-a_cert"], "key": pki["dev-a_key"]}
        with Agent(config_for(broker, DEVICE, **tls)) as agent:
            for n in range(20):
                agent.emit("test_event", n=n)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and "certificate" not in (agent.reporter.link.stats.last_error or ""):
                time.sleep(0.1)
            error = agent.reporter.link.stats.last_error or ""
            assert "certificate" in error.lower(), error
            assert not agent.reporter.link.connected.is_set()
            assert agent.reporter.outbox.count("event") >= 20       # nothing sent, nothing dropped
        # The broker gets the right certificate: the same agent storage delivers everything.
        broker.stop()
        broker.tls = Tls(pki["ca"], pki["server_cert"], pki["server_key"])
        broker.start()
        fleet = Fleet(broker, client_id="fleet-t", subscribe=f"relais/v1/{DEVICE}/event", ca=str(pki["ca"]),
                      cert=(str(pki["fleet_cert"]), str(pki["fleet_key"]))).start()
        with Agent(config_for(broker, DEVICE, **tls)):
            took = delivered(fleet, 20, 30)
            assert took is not None
        fleet.close()
        outcome("TLS: untrusted server certificate", f"refused to connect (\"{error[:60]}\"); events kept; "
                f"delivered {took:.1f} s after the certificate was fixed", 20, fleet, took)
    finally:
        broker.stop()


def test_acl_denial_keeps_the_events(tmp_path, config_for):  # noqa: F811
    require_mosquitto()
    deny = tmp_path / "deny.acl"
    deny.write_text("user fleet\ntopic readwrite relais/#\n\npattern read relais/v1/%c/cmd/#\n")
    broker = Broker(tmp_path / "broker", acl=deny, extra="allow_anonymous true\n").start()
    try:
        with Agent(config_for(broker, DEVICE)) as agent:
            assert agent.reporter.link.connected.wait(10)
            for n in range(10):
                agent.emit("test_event", n=n)
            deadline = time.monotonic() + 15      # the broker answers each publish "not authorized" (0x87)
            while time.monotonic() < deadline and agent.reporter.link.stats.refused < 10:
                time.sleep(0.1)
            refused = agent.reporter.link.stats.refused
            kept = agent.reporter.outbox.count("event")
        assert refused >= 10 and kept >= 10, (refused, kept)
        # The operator fixes the ACL: the same rows go out.
        allow = tmp_path / "allow.acl"
        allow.write_text("topic readwrite relais/#\n")
        broker.stop()
        broker.acl = allow
        broker.start()
        fleet = Fleet(broker, client_id="fleet-a", subscribe=f"relais/v1/{DEVICE}/event").start()
        with Agent(config_for(broker, DEVICE)):
            took = delivered(fleet, 10, 30)
            assert took is not None
        fleet.close()
        outcome("ACL refuses the device's topics", f"{refused} PUBACKs 'not authorized', logged, rows kept; "
                f"delivered {took:.1f} s after the ACL was fixed", 10, fleet, took)
    finally:
        broker.stop()


class SlowProxy:
    """A TCP relay that holds every chunk `delay_s` before passing it on, both ways: a broker at the end of a
    congested cellular link."""

    def __init__(self, target: tuple[str, int], delay_s: float):
        self.target, self.delay_s = target, delay_s
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self.server.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while not self._stop.is_set():
                data = src.recv(65536)
                if not data:
                    break
                time.sleep(self.delay_s)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self.server.close()


def test_slow_broker(tmp_path, config_for):  # noqa: F811
    require_mosquitto()
    broker = Broker(tmp_path / "broker").start()
    proxy = SlowProxy((broker.host, broker.port), 0.5)            # 1 s round trip
    try:
        fleet = Fleet(broker, client_id="fleet-s", subscribe=f"relais/v1/{DEVICE}/event").start()
        slow = Broker(tmp_path / "unused")
        slow.host, slow.port = "127.0.0.1", proxy.port
        with Agent(config_for(slow, DEVICE)) as agent:
            assert agent.reporter.link.connected.wait(20)
            start = time.monotonic()
            for n in range(50):
                agent.emit("test_event", n=n)
            emit_s = time.monotonic() - start
            took = delivered(fleet, 50, 60)
            assert took is not None
            assert emit_s < 5, emit_s                      # accepting never waits for the network
        fleet.close()
        outcome("slow broker (1 s round trip)", f"50 events accepted in {emit_s:.2f} s (never waiting on the "
                f"network), all delivered {took:.1f} s later", 50, fleet, took)
    finally:
        proxy.close()
        broker.stop()
