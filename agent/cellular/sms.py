"""SMS alerts and SMS commands: the way to reach the router, and to be told, when the fiber (and so the VPN and
the MQTT broker behind it) is down.

    sms = attach_sms(core, config, modem)

Alerts. The events named in [sms] alert_events (failover, failback, sim_switch, data_cap_reached, a failed
drill_result, drill_overdue) become one short
text (<= 160 GSM-7 characters) to every alert number: "relais shop-42: FIBER DOWN 14:02 (no answer from 3
targets), on 4G Orange F -97dBm". Events close together (coalesce_s) go out as one SMS, and at most
max_alerts_per_hour per number: beyond, they wait and go out merged. Sending is a modem job; the core never waits.

Commands. "<PIN> status", "<PIN> failover backup|primary|auto|<uplink>", "<PIN> sim 1|2", "<PIN> help", from a
number in [sms] command_numbers only. They run through the core like any other command (CommandReceived, origin
"sms") and the answer goes back by SMS. Everything else is ignored: no answer (an answer would confirm the number
and cost money), a log line with the sender masked and the text redacted (the PIN position and every long digit
run), and an `sms_rejected` event. After max_bad_pins_per_hour wrong PINs a number is not heard for the rest of
the hour. Every message read is deleted from the SIM, run or not, so its storage never fills.

Sender numbers can be spoofed: the PIN is what authenticates, the allowlist only narrows who may try.
"""
from __future__ import annotations

import hashlib
import logging
from typing import Any

from agent.cellular.sms_alerts import AlertQueue, alert_text, answer_text, clock_text, sms_safe
from agent.cellular.sms_commands import Verdict, Window, judge, mask_number, normalize_number, redact
from agent.config import Config
from agent.core import CommandReceived, Core, Event
from agent.modem_service import ModemPortEvent, ModemService, ModemUrc
from common.backoff import Backoff
from modem.parsers.sms import parse_cmti

log = logging.getLogger(__name__)

SEEN_S = 3600.0                 # a message processed is remembered this long (deletion may fail and be retried)
RETRY_BASE_S = 30.0             # first retry of an SMS the modem could not send; doubles each time
SEND_BACKOFF = Backoff(RETRY_BASE_S, RETRY_BASE_S * 2 ** 9)   # uncapped in effect: send_retries is at most 10


# ---- the service (core thread) -----------------------------------------------------------------------------------

class SmsService:
    def __init__(self, core: Core, config: Config, modem: ModemService):
        self.core, self.modem = core, modem
        self.cfg = c = config.sms
        self.device = config.device.id
        self.targets = len(config.probes.targets)
        cc = c.country_code
        self.alert_numbers = [n for n in (normalize_number(x, cc) for x in c.alert_numbers) if n]
        self.allowed = frozenset(n for n in (normalize_number(x, cc) for x in c.command_numbers) if n)
        self.pin = c.pin.value if c.pin is not None else None
        self.alerts = AlertQueue(self.alert_numbers, c.max_alerts_per_hour, c.coalesce_s)
        self.replies = Window()
        self.bad_pins = Window()
        self._seen: dict[str, float] = {}
        self._flush_at: float | None = None
        self._setup_done = False
        self._listing = False
        core.state["sms"] = {"alert_numbers": len(self.alert_numbers), "command_numbers": len(self.allowed),
                             "sent": 0, "failed": 0, "received": 0, "rejected": 0, "queued_alerts": 0}
        if self.alert_numbers:
            core.add_sink(self._on_event)
        core.subscribe(ModemUrc, self._on_urc)
        core.subscribe(ModemPortEvent, self._on_port)
        if self.allowed:
            core.call_every(c.check_interval_s, self._list, first_in=2.0)

    # ---- alerts -------------------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.kind not in self.cfg.alert_events or event.data.get("repeat"):
            return
        if event.kind == "drill_result" and event.data.get("ok") is not False:
            return            # a drill that passed is recorded, not texted
        self.alerts.add(alert_text(event, self.device, self.core.state, self.cfg.primary_label, self.targets),
                        self.core.now())
        self._flush(self.core.now())

    def _flush(self, now: float) -> None:
        for number, text in self.alerts.due(now):
            self._send(number, text, "alert")
        self.core.state["sms"]["queued_alerts"] = sum(len(v) for v in self.alerts.pending.values())
        at = self.alerts.next_check(now)
        if at is not None and (self._flush_at is None or at < self._flush_at or self._flush_at <= now):
            self._flush_at = at
            self.core.call_later(max(0.0, at - now), self._timer_flush)

    def _timer_flush(self, now: float) -> None:
        self._flush_at = None
        self._flush(now)

    # ---- sending ------------------------------------------------------------------------------------------
    def _send(self, number: str, text: str, kind: str, attempt: int = 0) -> None:
        def done(result, error, now):
            if error is None:
                self.core.state["sms"]["sent"] += 1
                log.info("SMS %s sent to %s (mr %s)", kind, mask_number(number), result)
                return
            if attempt < self.cfg.send_retries:
                delay = SEND_BACKOFF.delay(attempt)
                log.warning("SMS %s to %s not sent (%s); retry in %.0f s", kind, mask_number(number), error, delay)
                self.core.call_later(delay, lambda now: self._send(number, text, kind, attempt + 1))
                return
            self.core.state["sms"]["failed"] += 1
            log.error("SMS %s to %s not sent after %d attempts: %s", kind, mask_number(number), attempt + 1, error)
            self.core.emit("sms_failed", to=mask_number(number), kind=kind, error=str(error)[:120])
        self.modem.submit("sms_send", lambda dev: dev.send_sms(number, text), done)

    # ---- receiving ----------------------------------------------------------------------------------------
    def _on_urc(self, item: ModemUrc, now: float) -> None:
        if not item.line.startswith("+CMTI:"):
            return
        where = parse_cmti([item.line])
        index = where.get("sms_index")
        if index is None:
            log.warning("unreadable new-SMS notice %r", item.line[:60])
            return
        if not self.allowed:
            return                       # SMS commands are off: the SIM's messages are not ours to read or delete
        setup = not self._setup_done

        def job(dev):
            if setup:
                dev.sms_setup()
            return dev.read_sms(index)
        self.modem.submit("sms_read", job, lambda msg, error, now: self._on_read([msg] if msg else [], error, now,
                                                                                   fresh=True, setup=setup))

    def _on_port(self, item: ModemPortEvent, now: float) -> None:
        if item.kind in ("port_opened", "rebooted"):
            self._setup_done = False     # text mode and +CMTI routing are volatile settings
            if self.allowed:
                self.core.call_later(2.0, self._list)

    def _list(self, now: float) -> None:
        if self._listing:
            return
        self._listing = True
        setup = not self._setup_done

        def job(dev):
            if setup:
                dev.sms_setup()
            return dev.list_sms()
        self.modem.submit("sms_list", job, lambda msgs, error, now: self._on_read(msgs, error, now, fresh=False,
                                                                                    setup=setup, listing=True))

    def _on_read(self, msgs, error, now: float, fresh: bool, setup: bool, listing: bool = False) -> None:
        if listing:
            self._listing = False
        if error is not None:
            log.warning("reading SMS failed: %s", error)
            if fresh:                    # a new command waits on the SIM: list soon rather than at the next period
                self.core.call_later(RETRY_BASE_S, self._list)
            return
        if setup:
            self._setup_done = True
        for key, until in list(self._seen.items()):
            if until <= now:
                del self._seen[key]
        for msg in msgs or []:
            if msg.get("status") not in ("REC UNREAD", "REC READ"):
                continue                 # drafts and sent copies are not ours to delete
            self._process(msg, now, fresh)

    def _process(self, msg: dict[str, Any], now: float, fresh: bool) -> None:
        index = msg.get("index")
        key = hashlib.sha256(repr((msg.get("sender"), msg.get("timestamp"), msg.get("text"))).encode()).hexdigest()
        if key in self._seen:
            self._delete(index)          # processed once already; only its deletion did not happen yet
            return
        self._seen[key] = now + SEEN_S
        self.core.state["sms"]["received"] += 1
        raw_sender = str(msg.get("sender") or "")
        sender = normalize_number(raw_sender, self.cfg.country_code, bare_international=True)
        text = str(msg.get("text") or "")
        locked = sender is not None and self.bad_pins.count(sender, now) >= self.cfg.max_bad_pins_per_hour
        verdict = judge(sender, text, self.allowed, self.pin, locked)
        if verdict.reason is None and not fresh and self._stale(msg):
            verdict = Verdict(reason="stale")
        self._delete(index)
        masked = mask_number(raw_sender)
        if verdict.reason is not None:
            if verdict.reason == "bad_pin":
                self.bad_pins.add(sender, now)
            self.core.state["sms"]["rejected"] += 1
            log.warning("SMS from %s ignored (%s): %r", masked, verdict.reason, redact(text, self.pin))
            self.core.emit("sms_rejected", **{"from": masked, "reason": verdict.reason})
            return
        log.info("SMS command from %s: %s", masked, verdict.label)
        if verdict.answer is not None:   # help, or an unknown command from someone who knows the PIN
            self.core.emit("sms_command", **{"from": masked, "command": verdict.label, "ok": verdict.label == "help"})
            self._reply(sender, f"relais {self.device}: {verdict.answer}")
            return
        if verdict.command == "get_status" and "get_status" not in self.core.commands():
            self._answered(sender, verdict.label, {"ok": True, "result": self.core.state})
            return
        self.core.post(CommandReceived(verdict.command, verdict.args or {},
                                       lambda answer: self._answered(sender, verdict.label, answer), origin="sms"))

    def _stale(self, msg: dict[str, Any]) -> bool:
        """A command found by listing (stored while the agent was not running): too old to run? Only judged when
        our clock is trustworthy."""
        sent = msg.get("sent_utc")
        ts, source = self.core.wall.now()
        if not isinstance(sent, float) or source == "unsynced":
            return False
        return ts - sent > self.cfg.command_max_age_s

    def _answered(self, sender: str, label: str, answer: dict[str, Any]) -> None:
        ok = bool(answer.get("ok"))
        data = {"from": mask_number(sender), "command": label, "ok": ok}
        if not ok:
            data["error"] = str(answer.get("error"))[:120]
        self.core.emit("sms_command", **data)
        ts, source = self.core.wall.now()
        self._reply(sender, answer_text(label, answer, self.core.state, self.device, clock_text(ts, source)))

    def _reply(self, sender: str, text: str) -> None:
        now = self.core.now()
        if self.replies.count(sender, now) >= self.cfg.max_replies_per_hour:
            log.warning("no SMS answer to %s: %d answers this hour already", mask_number(sender),
                        self.cfg.max_replies_per_hour)
            return
        self.replies.add(sender, now)
        self._send(sender, sms_safe(text), "reply")

    def _delete(self, index: Any) -> None:
        def done(result, error, now):
            if error is not None:        # the next listing finds it again and deletes it then
                log.warning("SMS %s not deleted from the SIM: %s", index, error)
        if isinstance(index, int):
            self.modem.submit("sms_delete", lambda dev: dev.delete_sms(index), done)


def attach_sms(core: Core, config: Config, modem: ModemService) -> SmsService:
    """SMS alerts (a core sink) and SMS commands (+CMTI and a periodic listing) through the modem service."""
    return SmsService(core, config, modem)
