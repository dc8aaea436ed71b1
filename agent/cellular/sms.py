"""SMS alerts and SMS commands: the way to reach the router, and to be told, when the fiber (and so the VPN and
the MQTT broker behind it) is down.

    sms = attach_sms(core, config, modem)

Alerts. The events named in [sms] alert_events (failover, failback, sim_switch, data_cap_reached) become one short
text (<= 160 GSM-7 characters) to every alert number: "relais shop-42: FIBER DOWN 14:02 (no answer from 3
targets), on 4G Orange F -97dBm". Events close together (coalesce_s) go out as one SMS, and at most
max_alerts_per_hour per number: beyond, they wait and go out merged. Sending is a modem job; the core never waits.

Commands. "<PIN> status", "<PIN> failover backup|primary|auto", "<PIN> sim 1|2", "<PIN> help", from a number in
[sms] command_numbers only. They run through the core like any other command (CommandReceived, origin "sms") and the
answer goes back by SMS. Everything else is ignored: no answer (an answer would confirm the number and cost money),
a log line with the sender masked and the text redacted (the PIN position and every long digit run), and an
`sms_rejected` event. After max_bad_pins_per_hour wrong PINs a number is not heard for the rest of the hour.
Every message read is deleted from the SIM, run or not, so its storage never fills.

Sender numbers can be spoofed: the PIN is what authenticates, the allowlist only narrows who may try.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from agent.config import Config
from agent.config.grammar import normalize_number   # the config checks numbers with it too
from agent.core import CommandReceived, Core, Event
from agent.modem_service import ModemPortEvent, ModemService, ModemUrc
from modem.parsers.sms import parse_cmti

log = logging.getLogger(__name__)

SMS_CHARS = 160
HOUR_S = 3600.0
SEEN_S = 3600.0                 # a message processed is remembered this long (deletion may fail and be retried)
RETRY_BASE_S = 30.0             # first retry of an SMS the modem could not send; doubles each time
MAX_PENDING_ALERTS = 20
MAX_TEXT = 200                  # longer texts are cut before parsing: a command is a few words
USAGE = "use: status | failover backup|primary|auto | sim 1|2"
FAILOVER_MODES = {"backup": "force_backup", "primary": "force_primary", "auto": "auto",
                  "force_backup": "force_backup", "force_primary": "force_primary"}
REASONS = {"no_answer": "no answer from {targets} targets", "carrier_lost": "link lost", "no_address": "no address",
           "degraded": "degraded", "manual": "manual", "recovered": "recovered", "drill": "drill"}
RAT_NAMES = {"GSM": "2G", "UMTS": "3G", "LTE": "4G", "LTE-M": "LTE-M", "NB-IoT": "NB-IoT", "NR5G-NSA": "5G",
             "NR5G-SA": "5G"}
# GSM 03.38 extension characters cost two septets; outside the basic set a modem may substitute or refuse.
_ASCII_SUBST = str.maketrans({"[": "(", "]": ")", "{": "(", "}": ")", "\\": "/", "^": "'", "~": "-", "|": "/",
                              "`": "'", "\n": " ", "\r": " ", "\t": " "})


# ---- numbers and texts, pure ------------------------------------------------------------------------------------

def mask_number(raw: str | None) -> str:
    """'+33612345678' -> '+33*******78': enough to tell two numbers apart in a log, not to call them."""
    s = re.sub(r"[^\w+]", "", raw or "")[:24]
    if not s:
        return "?"
    if not re.fullmatch(r"\+?\d+", s):
        return s[:12]                    # an alphanumeric sender ("Orange") names a company, not a person
    head = 3 if s.startswith("+") else 2
    return s[:head] + "*" * max(1, len(s) - head - 2) + s[-2:] if len(s) > head + 2 else "*" * len(s)


def redact(text: str, pin: str | None) -> str:
    """A received text as it may be logged: the PIN position (first word), the PIN anywhere, and every run of 4
    digits or more replaced by ***; control characters shown as ?, cut to 60 characters."""
    text = text[:MAX_TEXT]
    if pin:
        text = re.sub(re.escape(pin), "***", text, flags=re.I)
    text = re.sub(r"^\s*\S+", "***", text, count=1)
    text = re.sub(r"\d{4,}", "***", text)
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= 60 else text[:57] + "..."


def sms_safe(text: str, limit: int = SMS_CHARS) -> str:
    """Printable ASCII of the GSM 7-bit basic set, at most `limit` characters (one SMS)."""
    text = text.translate(_ASCII_SUBST)
    text = "".join(c if " " <= c <= "~" else "?" for c in text)
    text = re.sub(r" {2,}", " ", text).strip()
    return text if len(text) <= limit else text[:limit - 2] + ".."


# ---- commands, pure ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    """What to do with one received SMS: run `command` (with `args`), answer `answer` directly, or reject."""
    reason: str | None = None            # set: rejected (unknown_number, locked_out, bad_pin, empty, stale)
    command: str | None = None           # a core command: get_status, failover, sim_switch
    args: dict[str, Any] | None = None
    answer: str | None = None            # an authenticated message that is not a command: the help text
    label: str = ""                      # what was asked, for logs and events (never the PIN)


def interpret(words: list[str]) -> Verdict:
    """The words after the PIN -> a command (already authenticated)."""
    w = [x.lower() for x in words]
    if w == ["status"]:
        return Verdict(command="get_status", args={}, label="status")
    if len(w) == 2 and w[0] == "failover" and w[1] in FAILOVER_MODES:
        return Verdict(command="failover", args={"mode": FAILOVER_MODES[w[1]]}, label=f"failover {w[1]}")
    if len(w) == 2 and w[0] == "sim" and w[1] in ("1", "2"):
        return Verdict(command="sim_switch", args={"slot": int(w[1])}, label=f"sim {w[1]}")
    if w in ([], ["help"]):
        return Verdict(answer=USAGE, label="help")
    return Verdict(answer=f"unknown command; {USAGE}", label="unknown")


def judge(sender: str | None, text: str, allowed: frozenset[str], pin: str | None, locked: bool) -> Verdict:
    """Authenticate and interpret one SMS. `sender` is normalised (None: not a comparable number)."""
    if sender is None or sender not in allowed or not pin:
        return Verdict(reason="unknown_number")
    if locked:
        return Verdict(reason="locked_out")
    words = text[:MAX_TEXT].split()
    if not words:
        return Verdict(reason="empty")
    if not hmac.compare_digest(words[0].encode("utf-8", "replace"), pin.encode("utf-8")):
        return Verdict(reason="bad_pin")
    return interpret(words[1:])


class Window:
    """Counts per key over the last `span_s` seconds (rate limits, wrong PINs)."""

    def __init__(self, span_s: float = HOUR_S):
        self.span_s = span_s
        self._times: dict[str, deque[float]] = {}

    def count(self, key: str, now: float) -> int:
        q = self._times.get(key)
        if q is None:
            return 0
        while q and now - q[0] >= self.span_s:
            q.popleft()
        return len(q)

    def add(self, key: str, now: float) -> None:
        self._times.setdefault(key, deque()).append(now)

    def free_at(self, key: str, limit: int, now: float) -> float:
        """When count(key) drops below `limit` again."""
        if self.count(key, now) < limit:
            return now
        q = self._times[key]
        return q[len(q) - limit] + self.span_s


class AlertQueue:
    """Alert texts waiting per number: held coalesce_s after the first one to merge a burst (failover followed by
    a SIM switch), and beyond max_per_hour until the window frees a slot, then sent merged. Pure: takes `now`."""

    def __init__(self, numbers: list[str], max_per_hour: int, coalesce_s: float):
        self.numbers = numbers
        self.max_per_hour = max_per_hour
        self.coalesce_s = coalesce_s
        self.pending: dict[str, list[tuple[float, str]]] = {n: [] for n in numbers}
        self.sent = Window()
        self.dropped = 0

    def add(self, text: str, now: float) -> None:
        for n in self.numbers:
            items = self.pending[n]
            items.append((now, text))
            if len(items) > MAX_PENDING_ALERTS:
                del items[0]
                self.dropped += 1

    def due(self, now: float) -> list[tuple[str, str]]:
        out = []
        for n, items in self.pending.items():
            if not items or now - items[0][0] < self.coalesce_s:
                continue
            if self.sent.count(n, now) >= self.max_per_hour:
                continue
            self.sent.add(n, now)
            out.append((n, merge([t for _, t in items])))
            items.clear()
        return out

    def next_check(self, now: float) -> float | None:
        """When due() may next have something: None when nothing is waiting."""
        times = [max(items[0][0] + self.coalesce_s, self.sent.free_at(n, self.max_per_hour, now))
                 for n, items in self.pending.items() if items]
        return min(times) if times else None


def merge(texts: list[str]) -> str:
    """One SMS from several alert texts: the newest that fit, and how many older ones were left out."""
    if len(texts) == 1:
        return sms_safe(texts[0])
    bodies = [t.split(": ", 1)[1] if ": " in t else t for t in texts]
    head = texts[0].split(": ", 1)[0] + ": " if ": " in texts[0] else ""
    for skip in range(len(bodies)):
        kept = bodies[skip:]
        more = f"(+{skip} earlier) " if skip else ""
        text = head + more + "; ".join(kept)
        if len(text) <= SMS_CHARS:
            return sms_safe(text)
    return sms_safe(head + (f"(+{len(bodies) - 1} earlier) " if len(bodies) > 1 else "") + bodies[-1])


# ---- texts, pure -------------------------------------------------------------------------------------------------

def clock_text(ts: float, source: str) -> str:
    """'14:02' in the router's local time; '14:02?' when the clock is not synchronised."""
    return time.strftime("%H:%M", time.localtime(ts)) + ("?" if source == "unsynced" else "")


def _duration(seconds: Any) -> str | None:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return None
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def radio_text(modem: dict[str, Any]) -> str:
    """'4G Orange F -97dBm' from core.state["modem"]."""
    rat = RAT_NAMES.get(str(modem.get("rat")), modem.get("rat") or "")
    signal = modem.get("signal") or {}
    rsrp = signal.get("rsrp_dbm") if isinstance(signal, dict) else None
    level = f"{rsrp:.0f}dBm" if isinstance(rsrp, (int, float)) and not isinstance(rsrp, bool) else ""
    parts = [str(p) for p in (rat, modem.get("operator_name"), level) if p]
    return " ".join(parts) if parts else "no cellular service"


def _reason(reason: Any, targets: int) -> str:
    template = REASONS.get(str(reason))
    return template.format(targets=targets or "all") if template else str(reason or "?")


def _gb(n: Any) -> str:
    return f"{n / 1e9:.1f}GB" if isinstance(n, (int, float)) and not isinstance(n, bool) else "?"


def alert_text(event: Event, device: str, state: dict[str, Any], primary: str = "FIBER", targets: int = 0) -> str:
    d = event.data
    at = clock_text(event.ts, event.time_source)
    modem = state.get("modem") or {}
    if event.kind == "failover":
        what = f"{primary} DOWN {at} ({_reason(d.get('reason'), targets)}), on {radio_text(modem)}"
    elif event.kind == "failback":
        outage = _duration(d.get("outage_s")) or _duration(d.get("on_backup_s"))
        what = f"{primary} BACK {at}" + (f" after {outage}" if outage else "")
        if d.get("reason") not in (None, "recovered"):
            what += f" ({_reason(d.get('reason'), targets)})"
    elif event.kind == "sim_switch":
        to = next((d[k] for k in ("to_slot", "slot", "to") if d.get(k) is not None), "?")
        what = f"SIM SWITCH {at} to slot {to}" + (f" ({d['reason']})" if d.get("reason") else "") + \
            (f", on {radio_text(modem)}" if modem.get("registration") in ("home", "roaming") else "")
    elif event.kind == "data_cap_reached":
        what = f"DATA CAP {at} slot {d.get('slot', '?')}: {_gb(d.get('used_bytes'))} of {_gb(d.get('cap_bytes'))}"
    elif event.kind == "data_cap_warning":
        what = f"DATA WARNING {at} slot {d.get('slot', '?')}: {_gb(d.get('used_bytes'))} of {_gb(d.get('cap_bytes'))}"
    else:
        small = ", ".join(f"{k}={v}" for k, v in d.items() if isinstance(v, (str, int, float)) and len(str(v)) < 24)
        what = f"{event.kind.upper()} {at}" + (f" {small}" if small else "")
    return sms_safe(f"relais {device}: {what}")


def status_text(state: dict[str, Any], device: str, now_text: str) -> str:
    fo = state.get("failover") or {}
    modem = state.get("modem") or {}
    usage = (state.get("cellular") or {}).get("usage") or {}
    parts = [f"relais {device} {now_text}:"]
    if fo:
        parts.append(f"on {fo.get('active_uplink', '?')}, mode {fo.get('mode', '?')}, {fo.get('state', '?')};")
    links = fo.get("links") or {}
    for link in ("primary", "backup"):
        info = links.get(link)
        if isinstance(info, dict):
            parts.append(f"{link} {info.get('status', '?')};")
    sim = f"SIM{modem.get('sim_slot')}" if modem.get("sim_slot") else "SIM"
    parts.append(f"{sim} {radio_text(modem)};")
    if usage.get("total_bytes") is not None:
        cap = f"/{_gb(usage['cap_bytes'])}" if usage.get("cap_bytes") else ""
        parts.append(f"data {_gb(usage['total_bytes'])}{cap}")
    return sms_safe(" ".join(parts))


def answer_text(label: str, answer: dict[str, Any], state: dict[str, Any], device: str, now_text: str) -> str:
    """The SMS answer to a command from the core's reply {"ok": ..., "result" | "error": ...}."""
    if not answer.get("ok"):
        return sms_safe(f"relais {device}: {label}: error: {answer.get('error', '?')}")
    result = answer.get("result")
    if label == "status":
        return status_text(result if isinstance(result, dict) else state, device, now_text)
    if isinstance(result, dict):
        shown = ", ".join(f"{k} {v}" for k, v in result.items() if isinstance(v, (str, int, float, bool)))
    else:
        shown = str(result) if result is not None else ""
    return sms_safe(f"relais {device}: {label}: ok" + (f", {shown}" if shown else ""))


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
                delay = RETRY_BASE_S * 2 ** attempt
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
