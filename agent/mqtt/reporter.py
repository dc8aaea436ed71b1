"""The reporter: wires the core to the central broker.

On the core thread: domain events and telemetry go into the outbox (durable when the sink returns), each part of
the state snapshot (one per top-level key) is handed to the link when it changed significantly, commands run and
their replies are handed to the link. On the link thread (agent/mqtt/link.py): everything that touches the
network. The core thread never waits for the network.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from agent.config import Config, ConfigError
from agent.core import CommandReceived, Core, Event
from agent.mqtt import codec, handlers
from agent.storage import Db, announce
from agent.mqtt.intake import Accepted, CommandIntake, Repeat
from agent.mqtt.link import MqttLink
from agent.mqtt.nonces import NonceStore
from agent.mqtt.outbox import SCHEMA, Outbox
from agent.mqtt.telemetry import Deadbands, StateGate, TelemetryGate, extract, fingerprint
from common.wire.topics import Topics, is_topic_level

log = logging.getLogger(__name__)

ROUTE_CHANGES = frozenset({"failover", "failback"})   # the connection is on the old uplink: reconnect
REJECTION_EVENTS_PER_MIN = 10   # a flood of bad commands must not turn into a flood of events (never evicted)


@dataclass(frozen=True)
class CommandRefused:
    """Posted by the link thread: a command was refused before reaching the core."""
    reason: str
    detail: str
    command: str | None
    id: str | None


class RejectionLimiter:
    """At most `per_minute` events per rolling minute; the next one allowed says how many were suppressed."""

    def __init__(self, per_minute: int = REJECTION_EVENTS_PER_MIN):
        self.per_minute = per_minute
        self._times: list[float] = []
        self.suppressed = 0

    def allow(self, now: float) -> int | None:
        """None: suppress this one; else the number suppressed since the last one allowed."""
        self._times = [t for t in self._times if now - t < 60.0]
        if len(self._times) >= self.per_minute:
            self.suppressed += 1
            return None
        self._times.append(now)
        n, self.suppressed = self.suppressed, 0
        return n


class Reporter:
    def __init__(self, core: Core, config: Config, send_at: Callable[[str], list[str]] | None = None,
                 poll_s: float = 1.0):
        self.core = core
        self.config = config
        self.cfg = config.mqtt
        self.device_id = config.device.id
        try:
            self.topics = Topics(self.cfg.topic_prefix, self.device_id)
        except ValueError as e:
            raise ConfigError(f"{config.source}: [device] id: {e}") from None
        self.db = Db(Path(config.storage.dir) / "mqtt.db", SCHEMA)
        self.outbox = Outbox(self.db, self.cfg.outbox_max_messages)
        key = self.cfg.command_key.value.encode() if self.cfg.command_key is not None else None
        self.intake = CommandIntake(self.topics, self.cfg.max_command_bytes, key, self.cfg.replay_window_s,
                                    NonceStore(self.db))
        self.link = MqttLink(self.cfg, self.device_id, self.topics, self.outbox, self._on_message, poll_s=poll_s)
        self.telemetry = TelemetryGate(self._deadbands(self.cfg), self.cfg.heartbeat_s,
                                       self.cfg.telemetry_min_interval_s, self.cfg.telemetry_max_per_hour,
                                       self.cfg.telemetry_smoothing_s)
        self.state_gate = StateGate(self.cfg.state_debounce_s, self.cfg.state_max_per_hour)
        self._bad_parts: set[str] = set()
        self.rejections = RejectionLimiter()

        core.add_sink(self._on_event)
        core.subscribe(CommandRefused, self._on_refused)
        core.register_command("get_status", lambda args: handlers.get_status(core.state))
        core.register_command("set_config", lambda args: handlers.set_config(args, self.config, self._apply_live))
        core.register_command("at", lambda args: handlers.at_command(args, self.cfg, send_at))
        core.call_every(self.cfg.telemetry_check_s, self._telemetry_tick)
        # Checked often enough that a part is handed to the link within a quarter of its debounce, at most 0.5 s.
        core.call_every(max(0.05, min(0.5, self.cfg.state_debounce_s / 4)), self._state_tick)
        # Versions before the per-part topics kept the whole snapshot retained on `…/state`: clear it once per
        # start (an empty retained message deletes it) so that a `state/#` subscriber never sees a stale copy.
        self.link.send(self.topics.state, b"", retain=True)
        announce(core, self.db, "mqtt")

    @staticmethod
    def _deadbands(cfg) -> Deadbands:
        return Deadbands(cfg.deadband_signal_db, cfg.deadband_rtt_pct, cfg.deadband_loss_pct)

    # ---- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> "Reporter":
        self.link.start()
        return self

    def stop(self) -> None:
        """Stop the network side. The outbox stays open: events emitted while shutting down are still
        accepted to disk and go out at the next start."""
        self.link.stop()

    def close(self) -> None:
        self.link.stop()
        self.db.close()

    # ---- messages ----------------------------------------------------------------------------------------
    def _encode(self, seq: int, ts: float, time_source: str, body: dict[str, Any], fmt: str | None = None) -> bytes:
        envelope = {"device_id": self.device_id, "seq": seq, "ts": round(ts, 3), "time_source": time_source}
        envelope.update(body)
        return codec.encode(envelope, fmt or self.cfg.payload)

    def _on_event(self, event: Event) -> None:
        """Core sink: durable in the outbox when this returns."""
        body = {"kind": event.kind, "data": codec.to_plain(event.data)}
        self.outbox.add("event", self.topics.event, 1,
                        lambda seq: self._encode(seq, event.ts, event.time_source, body))
        if event.kind in ROUTE_CHANGES:
            self.link.reconnect()
        else:
            self.link.wake()

    def _telemetry_tick(self, now: float) -> None:
        self.core.state["mqtt"] = {"protocol": self.link.stats.protocol, "outbox_pending": self.outbox.count(),
                                   "evicted": self.outbox.evicted, "in_memory": self.outbox.in_memory}
        dropped = self.outbox.take_drops()
        if dropped:   # the disk took nothing for so long that memory overflowed: say what was lost
            self.core.emit("outbox_dropped", **dropped, memory_max=self.outbox.memory_max)
        due = self.telemetry.observe(extract(self.core.state), now)
        if due is None:
            return
        why, values = due
        ts, source = self.core.wall.now()
        self.outbox.add("telemetry", self.topics.telemetry, self.cfg.telemetry_qos,
                        lambda seq: self._encode(seq, ts, source, {"why": why, "metrics": values}))
        self.link.wake()

    def _state_tick(self, now: float) -> None:
        plain = {name: codec.to_plain(value) for name, value in self.core.state.items() if self._part_ok(name)}
        due = self.state_gate.observe({name: fingerprint(value) for name, value in plain.items()}, now)
        if not due:
            return
        ts, source = self.core.wall.now()
        for name in due:
            topic = self.topics.state_part(name)
            if name in plain:   # {"state": {part: value}}: a fleet merges every part's "state" into one view
                self.link.set_state(topic, self._encode(self.outbox.next_seq(), ts, source,
                                                        {"state": {name: plain[name]}}))
            else:               # the part left the state: an empty retained message deletes it on the broker
                self.link.set_state(topic, b"")

    def _part_ok(self, name: str) -> bool:
        """A top-level key becomes a topic level: one that cannot be is left out (said once, not every tick)."""
        if is_topic_level(name):
            return True
        if name not in self._bad_parts:
            self._bad_parts.add(name)
            log.error("state part %r cannot be a topic level; not published (get_status still has it)", name)
        return False

    # ---- commands ----------------------------------------------------------------------------------------
    def _on_message(self, topic: str, payload: bytes, properties: Any) -> None:
        """On the link thread: decode and check, then hand over to the core (or refuse)."""
        outcome = self.intake.take(topic, payload, self.core.wall.now()[0], self.core.now())
        if isinstance(outcome, Accepted):
            self.core.post(CommandReceived(outcome.name, outcome.args, self._replier(outcome), origin="mqtt"))
        elif isinstance(outcome, Repeat):
            if outcome.reply is not None:
                self.link.send(self.topics.reply(outcome.id), outcome.reply)
        else:
            log.warning("command refused (%s): %s", outcome.reason, outcome.message)
            if outcome.id is not None:
                self._send_reply(outcome.id, {"ok": False, "error": f"{outcome.reason}: {outcome.message}"},
                                 outcome.fmt)
            self.core.post(CommandRefused(outcome.reason, outcome.message, outcome.name, outcome.id))

    def _replier(self, cmd: Accepted) -> Callable[[dict[str, Any]], None]:
        def reply(result: dict[str, Any]) -> None:
            self.intake.answered(cmd.id, self._send_reply(cmd.id, result, cmd.fmt))
        return reply

    def _send_reply(self, command_id: str, result: dict[str, Any], fmt: str) -> bytes:
        body = {"id": command_id, "ok": bool(result.get("ok"))}
        if body["ok"]:
            body["result"] = codec.to_plain(result.get("result"))
        else:
            body["error"] = str(result.get("error", "failed"))
        ts, source = self.core.wall.now()
        payload = self._encode(self.outbox.next_seq(), ts, source, body, fmt)
        self.link.send(self.topics.reply(command_id), payload)
        return payload

    def _on_refused(self, item: CommandRefused, now: float) -> None:
        suppressed = self.rejections.allow(now)
        if suppressed is None:
            return
        data: dict[str, Any] = {"reason": item.reason, "detail": item.detail, "command": item.command,
                                "id": item.id, "origin": "mqtt"}
        if suppressed:
            data["suppressed"] = suppressed
        self.core.emit("command_rejected", **data)

    # ---- set_config --------------------------------------------------------------------------------------
    def _apply_live(self, new: Config, changed: list[str]) -> list[str]:
        live = handlers.live_keys(changed)
        names = [k[len("mqtt."):] for k in live]
        self.cfg = dataclasses.replace(self.cfg, **{n: getattr(new.mqtt, n) for n in names})
        cfg = self.cfg
        self.telemetry.bands = self._deadbands(cfg)
        self.telemetry.heartbeat_s = cfg.heartbeat_s
        self.telemetry.min_interval_s = cfg.telemetry_min_interval_s
        self.telemetry.max_per_hour = cfg.telemetry_max_per_hour
        self.telemetry.smoothing_s = cfg.telemetry_smoothing_s
        self.state_gate.debounce_s = cfg.state_debounce_s
        self.state_gate.per_hour = cfg.state_max_per_hour
        self.intake.max_bytes = cfg.max_command_bytes
        self.intake.window_s = cfg.replay_window_s
        self.outbox.max_messages = cfg.outbox_max_messages
        return live
