"""MQTT 5 first, 3.1.1 when the broker does not speak 5: a proxy in front of Mosquitto plays a 3.1.1-only broker."""
from __future__ import annotations

import socket
import threading

import pytest

from tests.mqtt.fleet import Fleet
from tests.mqtt.harness import Agent, eventually

pytestmark = pytest.mark.mosquitto


class V311OnlyProxy:
    """Answers an MQTT 5 CONNECT the way a 3.1.1 broker does (CONNACK return code 1, "unacceptable protocol
    version", then close: MQTT 3.1.1 section 3.1.2.2) or, with `silent`, just closes; passes 3.1.1 through."""

    def __init__(self, upstream: tuple[str, int], silent: bool = False):
        self.upstream, self.silent = upstream, silent
        self.levels: list[int] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.host, self.port = self.sock.getsockname()
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop = True
        self.sock.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_packet(conn: socket.socket) -> bytes:
        head = conn.recv(1)
        length, shift, raw = 0, 0, b""
        while True:
            b = conn.recv(1)
            raw += b
            length |= (b[0] & 0x7F) << shift
            shift += 7
            if not b[0] & 0x80:
                break
        body = b""
        while len(body) < length:
            body += conn.recv(length - len(body))
        return head + raw + body, body

    def _serve(self, conn: socket.socket) -> None:
        try:
            packet, body = self._read_packet(conn)
            level = body[6]          # 00 04 'MQTT' <level>
            self.levels.append(level)
            if level == 5:
                if not self.silent:
                    conn.sendall(b"\x20\x02\x00\x01")
                conn.close()
                return
            up = socket.create_connection(self.upstream)
            up.sendall(packet)
            threading.Thread(target=self._pipe, args=(up, conn), daemon=True).start()
            self._pipe(conn, up)
        except (OSError, IndexError):
            conn.close()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.mark.parametrize("silent", [False, True], ids=["connack-rc1", "closes"])
def test_auto_falls_back_to_3_1_1_and_works(broker, config_for, silent):
    proxy = V311OnlyProxy((broker.host, broker.port), silent=silent)
    try:
        class Via:   # the agent talks to the proxy, the fleet to Mosquitto directly
            host, port = proxy.host, proxy.port
        with Fleet(broker) as fleet, Agent(config_for(Via)) as agent:
            assert agent.reporter.link.connected.wait(15), agent.reporter.link.stats
            assert agent.reporter.link.stats.protocol == "3.1.1"
            assert proxy.levels[0] == 5 and proxy.levels[-1] == 4
            assert fleet.command("dev-1", "get_status")["ok"]
            agent.emit("test_event", via="3.1.1")
            assert fleet.wait_event("dev-1", "test_event")["data"] == {"via": "3.1.1"}
    finally:
        proxy.close()


def test_protocol_5_does_not_fall_back(broker, config_for):
    proxy = V311OnlyProxy((broker.host, broker.port))
    try:
        class Via:
            host, port = proxy.host, proxy.port
        with Agent(config_for(Via, protocol="5", reconnect_min_s=0.2, reconnect_max_s=0.2)) as agent:
            eventually(lambda: len(proxy.levels) >= 3, what="three attempts")
            assert not agent.reporter.link.connected.is_set()
            assert set(proxy.levels) == {5}
    finally:
        proxy.close()
