"""The MQTT link: one thread owns the paho client, its socket and the outbox pump.

Why paho's external-loop API (socket() / loop_read / loop_write / loop_misc) rather than loop_start(): the same
thread that reads the socket also takes rows from the outbox and publishes them, and it sleeps in select() on the
socket *and* on a wake-up pipe, so the core thread's part of "publish" is an outbox insert plus one byte written to
that pipe — it never blocks on the network.

Why a new paho client for every connection: paho keeps unacknowledged QoS 1 messages in memory and re-sends them
after a reconnect on its own. The outbox on disk is our single source of truth instead; with a fresh client each
connection starts with nothing in flight and replays the outbox from its oldest row, in seq order, which is also
what a restart does. It also re-reads the TLS files, so a renewed device certificate is used at the next connect.

MQTT 5 first; "auto" falls back to 3.1.1 when a broker refuses the protocol version or closes the connection
before answering CONNECT, and keeps whichever version got a CONNACK.
"""
from __future__ import annotations

import collections
import logging
import os
import random
import select
import socket
import threading
import time
import types
from dataclasses import dataclass, field
from typing import Any, Callable

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from agent.config import MqttConfig
from agent.mqtt.outbox import Outbox
from common.wire.topics import Topics
from common.backoff import Backoff

try:
    import ssl
except ImportError:   # built without OpenSSL (agent.runtime.without_openssl): tls = false, never used
    ssl = None


class _NeverRaised(Exception):
    pass


if mqtt.ssl is None:
    # paho imported without ssl still names ssl.SSLWantReadError / SSLWantWriteError in the except clauses of its
    # plain socket reads and writes: without these, the first EAGAIN would end the connection (AttributeError).
    mqtt.ssl = types.SimpleNamespace(SSLWantReadError=_NeverRaised, SSLWantWriteError=_NeverRaised,
                                     SSLError=_NeverRaised, CertificateError=_NeverRaised)

log = logging.getLogger(__name__)

INFLIGHT_WINDOW = 16          # QoS 1 messages sent and not yet acknowledged, per connection
CONNACK_TIMEOUT_S = 30.0      # a TLS handshake plus CONNECT over a weak cellular link can take many seconds
STABLE_SESSION_S = 60.0       # a session that lasted this long resets the reconnect backoff
MAX_INBOUND_PACKET = 65536 + 512   # MQTT 5: the broker drops bigger commands instead of sending them
RECEIVE_MAXIMUM = 8           # MQTT 5: at most this many unacknowledged commands in flight towards us
UNSUPPORTED_PROTOCOL = 0x84   # CONNACK reason code (MQTT 5)
ROUTE_CHANGE_FLUSH_S = 0.5    # to get DISCONNECT out on the old path; if that path is dead, the will says offline
SHUTDOWN_FLUSH_S = 2.0        # to get our own "offline" and DISCONNECT out before the process ends


@dataclass
class _Direct:
    """A message that does not go through the outbox: state, replies, status."""
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


@dataclass
class LinkStats:
    connects: int = 0
    connect_failures: int = 0
    disconnects: int = 0
    published: int = 0
    acked: int = 0
    refused: int = 0
    protocol: str = ""
    last_error: str = ""
    commands: int = 0


@dataclass
class _Session:
    client: mqtt.Client
    opened: float
    connack: bool = False
    refusal: str = ""           # the CONNACK's failure reason, if the broker refused us
    up_since: float | None = None
    inflight: dict[int, int] = field(default_factory=dict)        # mid -> outbox seq
    direct_inflight: dict[int, _Direct] = field(default_factory=dict)
    sent_upto: int = 0


class MqttLink:
    def __init__(self, cfg: MqttConfig, device_id: str, topics: Topics, outbox: Outbox,
                 on_message: Callable[[str, bytes, Any], None], clock: Callable[[], float] = time.monotonic,
                 poll_s: float = 1.0):
        self.cfg = cfg
        self.device_id = device_id
        self.topics = topics
        self.outbox = outbox
        self._on_message_cb = on_message
        self._clock = clock
        self._poll_s = min(poll_s, cfg.keepalive / 20)   # keepalive checks run at least 20 times per period
        self._rng = random.Random()
        # full jitter: a fleet that lost its broker does not come back all in the same second
        self._reconnect_backoff = Backoff(cfg.reconnect_min_s, cfg.reconnect_max_s, jitter=1.0)
        self.stats = LinkStats()
        self.connected = threading.Event()
        self._lock = threading.Lock()                     # guards _direct and _state
        self._direct: collections.deque[_Direct] = collections.deque()
        self._state: dict[str, bytes] = {}               # retained state parts: topic -> latest payload
        self._state_dirty: set[str] = set()               # topics to (re)publish at the next pump
        self._stop = threading.Event()
        self._reconnect = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._thread: threading.Thread | None = None
        self._session: _Session | None = None
        self._acked: list[int] = []
        self._attempt = 0
        self._next_attempt = 0.0
        self._protocol = mqtt.MQTTv311 if cfg.protocol == "3.1.1" else mqtt.MQTTv5
        self._protocol_settled = cfg.protocol != "auto"

    # ---- from any thread ---------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="relais-mqtt", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def wake(self) -> None:
        try:
            os.write(self._wake_w, b"!")
        except (BlockingIOError, OSError):
            pass   # the pipe is full: the thread is awake anyway

    def reconnect(self) -> None:
        """The default route moved (failover/failback): the TCP connection is bound to the old uplink's address
        and would only be found dead after a keepalive or a TCP retransmission timeout. Start a new one now."""
        self._reconnect.set()
        self.wake()

    def send(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        with self._lock:
            self._direct.append(_Direct(topic, payload, qos, retain))
        self.wake()

    def set_state(self, topic: str, payload: bytes) -> None:
        """A retained state part; only the latest per topic matters, every part is (re)published at every
        connect (the broker may have lost it; it may have changed while we were away)."""
        with self._lock:
            self._state[topic] = payload
            self._state_dirty.add(topic)
        self.wake()

    # ---- the link thread ---------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._reconnect.is_set():
                    self._route_changed()
                if self._session is None:
                    wait = self._next_attempt - self._clock()
                    if wait > 0:
                        self._sleep(min(wait, self._poll_s * 5))
                        continue
                    self._connect()
                    continue
                self._io_once()
                self._flush_acks()
                if not self._reconnect.is_set():   # nothing more on a connection about to be replaced
                    self._pump()
            except Exception:  # a bug here must not end reporting: drop the connection, start again
                log.exception("MQTT link failure; reconnecting")
                self._lost("internal error")
        self._shutdown()

    def _route_changed(self) -> None:
        """Also when not connected: the new route may be the one that works, so no backoff wait."""
        self._reconnect.clear()
        s = self._session
        if s is not None and s.up_since is not None and s.client.socket() is not None:
            # Best effort: if the old path still works (failback) the broker gets a clean DISCONNECT and does
            # not publish the will; if it is dead (failover) the will "offline" is published when the new
            # connection takes the session over, and our birth "online" follows it.
            self._disconnect_cleanly(s, ROUTE_CHANGE_FLUSH_S)
        self._lost("route change")
        self._attempt = 0
        self._next_attempt = self._clock()

    @staticmethod
    def _disconnect_cleanly(s: _Session, budget_s: float) -> None:
        """Send DISCONNECT and wait, for at most budget_s, until the broker has closed the connection.

        The DISCONNECT sits behind whatever is still queued (birth, state, outbox rows), so paho's queue is written
        out first. Then the broker must have *processed* it before our next CONNECT with the same client id:
        otherwise it takes the session over and publishes the will, an "offline" flap the fleet would see. paho
        closes its socket as soon as DISCONNECT is written, so a duplicate of the descriptor keeps the connection
        open to see the broker's end of it (EOF). On a dead path this waits the whole budget, which only delays
        the next MQTT connection. The budget is wall time on purpose: this waits on a socket, not on a decision.
        """
        sock = s.client.socket()
        if sock is None:
            return
        try:
            watch = socket.socket(fileno=os.dup(sock.fileno()))
        except OSError:
            watch = None
        deadline = time.monotonic() + budget_s
        try:
            s.client.disconnect()
            while s.client.socket() is not None and time.monotonic() < deadline:
                sock = s.client.socket()
                select.select([sock], [sock] if s.client.want_write() else [], [], 0.05)
                s.client.loop_read()
                if s.client.socket() is not None:
                    s.client.loop_write()
            while watch is not None and s.client.socket() is None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([watch], [], [], left)[0] or not watch.recv(4096):
                    break       # out of time, or EOF: the broker is done with this connection
        except (OSError, ValueError):
            pass
        finally:
            if watch is not None:
                watch.close()

    def _sleep(self, seconds: float) -> None:
        select.select([self._wake_r], [], [], max(0.0, seconds))
        self._drain_wake()

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _new_client(self) -> mqtt.Client:
        cfg = self.cfg
        v5 = self._protocol == mqtt.MQTTv5
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cfg.client_id or self.device_id,
                             protocol=self._protocol, clean_session=None if v5 else True,
                             reconnect_on_failure=False)
        client.connect_timeout = CONNACK_TIMEOUT_S
        client.max_inflight_messages_set(INFLIGHT_WINDOW + 4)   # room for state and replies next to the window
        client.will_set(self.topics.status, b"offline", qos=1, retain=True)
        if cfg.username:
            client.username_pw_set(cfg.username, cfg.password.value if cfg.password is not None else None)
        if cfg.tls:
            ctx = ssl.create_default_context(cafile=cfg.ca or None)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            if cfg.cert:
                ctx.load_cert_chain(cfg.cert, cfg.key)
            client.tls_set_context(ctx)
        client.on_connect = self._guard(self._on_connect)
        client.on_disconnect = self._guard(self._on_disconnect)
        client.on_publish = self._guard(self._on_publish)
        client.on_message = self._guard(self._on_message)
        client.on_subscribe = self._guard(self._on_subscribe)
        return client

    @staticmethod
    def _guard(fn: Callable[..., None]) -> Callable[..., None]:
        """paho re-raises callback exceptions into the loop; a bad message must not end the link."""
        def guarded(*args: Any) -> None:
            try:
                fn(*args)
            except Exception:
                log.exception("MQTT callback %s failed", fn.__name__)
        return guarded

    def _connect(self) -> None:
        cfg = self.cfg
        port = cfg.port or (8883 if cfg.tls else 1883)
        proto = "5" if self._protocol == mqtt.MQTTv5 else "3.1.1"
        try:
            client = self._new_client()
        except (OSError, ValueError) as e:   # unreadable certificate or key (ssl.SSLError is an OSError): say which
            self._failed(f"TLS setup: {e}", proto)
            return
        try:
            if self._protocol == mqtt.MQTTv5:
                props = Properties(PacketTypes.CONNECT)
                props.MaximumPacketSize = MAX_INBOUND_PACKET
                props.ReceiveMaximum = RECEIVE_MAXIMUM
                client.connect(cfg.host, port, cfg.keepalive, clean_start=True, properties=props)
            else:
                client.connect(cfg.host, port, cfg.keepalive)
        except (OSError, ValueError) as e:   # ssl.SSLError included
            self._failed(f"{cfg.host}:{port}: {e}", proto)
            try:
                client.socket() and client.socket().close()
            except OSError:
                pass
            return
        if cfg.nat_keepalive_s:
            self._tcp_keepalive(client.socket(), cfg.nat_keepalive_s)
        log.info("MQTT: connecting to %s:%d (MQTT %s%s)", cfg.host, port, proto, ", TLS" if cfg.tls else "")
        self._session = _Session(client=client, opened=self._clock())
        self.stats.protocol = proto

    @staticmethod
    def _tcp_keepalive(sock: Any, idle_s: int) -> None:
        """NAT mappings are refreshed by any packet: a TCP keepalive probe (52 bytes, answered by a 52-byte ACK,
        no TLS record) after `idle_s` of silence keeps a carrier's NAT entry alive for less than half the bytes
        of an MQTT ping over TLS, so the MQTT keepalive can be as long as liveness needs. Unanswered probes also
        tell us the path is dead, well before a TCP retransmission timeout would."""
        if sock is None:
            return
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle_s)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(1, min(30, idle_s // 4)))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 4)
        except (OSError, AttributeError) as e:   # not Linux: MQTT pings alone then
            log.warning("MQTT: cannot set TCP keepalive: %s", e)

    def _failed(self, why: str, proto: str) -> None:
        self.stats.connect_failures += 1
        self.stats.last_error = why
        delay = self._backoff()
        self._next_attempt = self._clock() + delay
        log.warning("MQTT %s: cannot connect (%s); next try in %.0f s", proto, why, delay)

    def _io_once(self) -> None:
        s = self._session
        assert s is not None
        client = s.client
        sock = client.socket()
        if sock is None:
            self._lost("connection closed", peer_closed=True)
            return
        timeout = self._poll_s
        pending = sock.pending() if hasattr(sock, "pending") else 0   # TLS bytes already decrypted
        if pending:
            timeout = 0.0
        wlist = [sock] if client.want_write() else []
        try:
            readable, writable, _ = select.select([sock, self._wake_r], wlist, [], timeout)
        except (OSError, ValueError):
            self._lost("socket error")
            return
        if self._wake_r in readable:
            self._drain_wake()
        if sock in readable or pending:
            client.loop_read()
        if client.socket() is not None and (sock in writable or client.want_write()):
            client.loop_write()
        if client.socket() is not None:
            client.loop_misc()
        if client.socket() is None:
            self._lost("connection lost", peer_closed=True)
        elif not s.connack and self._clock() - s.opened > CONNACK_TIMEOUT_S:
            self._lost("no CONNACK")

    def _lost(self, why: str, peer_closed: bool = False) -> None:
        s = self._session
        if s is None:
            return
        self._session = None
        self.connected.clear()
        self._flush_acks()
        try:
            sock = s.client.socket()
            if sock is not None:
                sock.close()
        except OSError:
            pass
        now = self._clock()
        proto = "5" if self._protocol == mqtt.MQTTv5 else "3.1.1"
        if s.up_since is not None:
            self.stats.disconnects += 1
            if now - s.up_since >= STABLE_SESSION_S:
                self._attempt = 0
            log.warning("MQTT: disconnected (%s) after %.0f s", why, now - s.up_since)
        elif peer_closed and not s.connack and not self._protocol_settled:
            # No answer to CONNECT at all: some 3.1.1-only brokers just close. Try the other version at once.
            self._protocol = mqtt.MQTTv311 if self._protocol == mqtt.MQTTv5 else mqtt.MQTTv5
            log.warning("MQTT %s: broker refused or closed before CONNACK (%s); trying MQTT %s", proto,
                        s.refusal or why,
                        "3.1.1" if self._protocol == mqtt.MQTTv311 else "5")
            self.stats.connect_failures += 1
            self._next_attempt = now
            return
        if s.up_since is None:
            self._failed(s.refusal or why, proto)
        else:
            self._next_attempt = now + self._backoff()

    def _backoff(self) -> float:
        delay = self._reconnect_backoff.delay(self._attempt, self._rng.random())
        self._attempt += 1
        return delay

    # ---- paho callbacks (on the link thread) -------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        s = self._session
        if s is None or client is not s.client:
            return
        s.connack = True
        if reason.is_failure:
            s.refusal = f"CONNACK: {reason}"
            if reason.value == UNSUPPORTED_PROTOCOL and not self._protocol_settled:
                s.connack = False   # _lost() switches to the other version and retries at once
                return
            log.error("MQTT: broker refused the connection: %s", reason)
            return
        self._protocol_settled = True
        s.up_since = self._clock()
        self.stats.connects += 1
        log.info("MQTT: connected (MQTT %s)", self.stats.protocol)
        # Order on the wire: birth, subscription, state, then replies and the outbox from its oldest row.
        client.publish(self.topics.status, b"online", qos=1, retain=True)
        client.subscribe(self.topics.commands, qos=1)
        with self._lock:
            self._state_dirty.update(self._state)

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: list, props: Any) -> None:
        refused = [r for r in reasons if getattr(r, "is_failure", False)]
        if refused:
            # The broker's ACL does not let this device read its own command topic: it can report, not obey.
            self.stats.last_error = f"SUBACK: {refused[0]}"
            log.error("MQTT: subscription to %s refused: %s", self.topics.commands, refused[0])
        self.connected.set()   # connected = ready: reporting and (unless refused) taking commands

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason is not None and getattr(reason, "is_failure", False):
            self.stats.last_error = f"disconnect: {reason}"

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        s = self._session
        if s is None or client is not s.client:
            return
        self._acknowledge(s, mid, reason)

    def _acknowledge(self, s: _Session, mid: int, reason: Any) -> None:
        failed = reason is not None and getattr(reason, "is_failure", False)
        seq = s.inflight.pop(mid, None)
        if seq is not None:
            if failed:
                # e.g. 0x87 not authorized: an ACL that does not match this device. Keep the row; it is sent
                # again on the next connection, and the operator sees this error until the ACL is fixed.
                self.stats.refused += 1
                log.error("MQTT: broker refused message seq %d: %s", seq, reason)
            else:
                self.stats.acked += 1
                self._acked.append(seq)
            return
        direct = s.direct_inflight.pop(mid, None)
        if direct is not None and failed:
            log.error("MQTT: broker refused a message on %s: %s", direct.topic, reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.stats.commands += 1
        self._on_message_cb(msg.topic, bytes(msg.payload), getattr(msg, "properties", None))

    # ---- outbox pump -------------------------------------------------------------------------------------
    def _flush_acks(self) -> None:
        if self._acked:
            acked, self._acked = self._acked, []
            self.outbox.remove(acked)

    def _publish(self, s: _Session, topic: str, payload: bytes, qos: int, retain: bool) -> mqtt.MQTTMessageInfo | None:
        info = s.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return None
        self.stats.published += 1
        return info

    @staticmethod
    def _done(info: mqtt.MQTTMessageInfo) -> bool:
        """QoS 0 can complete inside publish(), before we know its mid: ask the info object."""
        try:
            return info.is_published()
        except (ValueError, RuntimeError):
            return False

    def _pump(self) -> None:
        s = self._session
        if s is None or s.up_since is None or s.client.socket() is None:
            return
        with self._lock:
            state = [_Direct(t, self._state[t], 1, True) for t in sorted(self._state_dirty)]
            self._state_dirty.clear()
            direct = state + list(self._direct)
            self._direct.clear()
        for i, d in enumerate(direct):
            info = self._publish(s, d.topic, d.payload, d.qos, d.retain)
            if info is None:   # connection gone: keep the rest for the next one
                with self._lock:
                    self._direct.extendleft(reversed(direct[i:]))
                return
            if d.qos and not self._done(info):
                s.direct_inflight[info.mid] = d
        room = INFLIGHT_WINDOW - len(s.inflight)
        if room <= 0:
            return
        for row in self.outbox.pending(after_seq=s.sent_upto, limit=room):
            info = self._publish(s, row.topic, row.payload, row.qos, False)
            if info is None:
                return
            s.sent_upto = row.seq
            if self._done(info):
                self._acked.append(row.seq)
            else:
                s.inflight[info.mid] = row.seq

    def _shutdown(self) -> None:
        """Graceful stop: say "offline" ourselves (a clean DISCONNECT suppresses the will), then disconnect."""
        s = self._session
        if s is None:
            return
        if s.up_since is not None and s.client.socket() is not None:
            try:
                s.client.publish(self.topics.status, b"offline", qos=1, retain=True)
            except (OSError, ValueError):
                pass
            self._disconnect_cleanly(s, SHUTDOWN_FLUSH_S)
        self._flush_acks()
        self._session = None
        self.connected.clear()
