"""Incident notices by e-mail: SMTP with STARTTLS and authentication (smtplib), from a worker thread.

    core thread:    EmailNotifier.on_event (a core sink) writes the notice and queues it; it never waits
    worker thread:  Mailer.pump(now) sends the oldest notice, retries it with common.backoff.Backoff, and posts
                    the outcome back; the core emits it as `notice_sent` / `notice_failed` (so MQTT reports it)

The queue is in memory and bounded (`[email] queue_max`): a notice is worth sending for hours, not across a
restart, and beyond the bound the oldest is dropped with a log line. Mailer does no waiting of its own: it is
given `now` and says when it is next due, so tests drive its retries on a fake clock.

The password only ever goes to smtplib's login(); smtplib logs nothing at debuglevel 0, and every error line is
scrubbed of it in case a server echoes it back. The connection goes through whichever uplink the routing table
says works: notices are sent when an outage has closed, or during a drill, never bound to one interface.
"""
from __future__ import annotations

import base64
import collections
import logging
import random
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Callable

from agent.config.notify import EmailConfig
from agent.notify.notice import Notice, drill_notice, outage_notice, overdue_notice, power_notice, zone
from common.backoff import Backoff

log = logging.getLogger(__name__)

JOIN_TIMEOUT_S = 5.0


class PermanentError(Exception):
    """Trying again will not help (refused login, refused address, untrusted certificate)."""


class TransientError(Exception):
    """The server is down or busy, the network is away: try again later."""


@dataclass(frozen=True)
class NoticeOutcome:
    """Posted by the worker to the core: how a notice ended."""
    kind: str
    subject: str
    ok: bool
    attempts: int
    error: str = ""


def build_message(cfg: EmailConfig, notice: Notice) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.recipients)
    msg["Subject"] = notice.subject
    msg["Date"] = format_datetime(datetime.fromtimestamp(notice.ts, zone(cfg.tz)))
    msg["Message-ID"] = make_msgid("relais", domain=cfg.sender.rpartition("@")[2])
    msg.set_content(notice.body)     # UTF-8, quoted-printable or base64 as needed: French accents survive
    return msg


class SmtpTransport:
    """One notice, one connection: notices are rare, a connection kept open would die in every outage anyway."""

    def __init__(self, cfg: EmailConfig):
        self.cfg = cfg
        self._context: ssl.SSLContext | None = None

    def _tls(self) -> ssl.SSLContext:
        """Made at the first notice, so that a CA file that is not a certificate is a notice_failed line, not a
        traceback at start-up (the loader checks that it is readable, not what it holds)."""
        if self._context is None:
            try:
                self._context = ssl.create_default_context(cafile=self.cfg.ca or None)
            except (ssl.SSLError, OSError) as e:
                raise PermanentError(f"[email] ca {self.cfg.ca} holds no usable certificate "
                                     f"({getattr(e, 'reason', None) or e.strerror or e})") from None
        return self._context

    def send(self, msg: EmailMessage) -> None:
        cfg = self.cfg
        context = self._tls() if cfg.starttls else None
        try:
            with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s) as smtp:
                if cfg.starttls:
                    smtp.starttls(context=context)   # raises SMTPNotSupportedError if the server cannot
                if cfg.username:
                    _login(smtp, cfg.username, cfg.password.value if cfg.password is not None else "")
                smtp.send_message(msg, from_addr=cfg.sender, to_addrs=list(cfg.recipients))
        except smtplib.SMTPAuthenticationError as e:
            raise PermanentError(f"the server refused the login of user {cfg.username!r} "
                                 f"({e.smtp_code} {_text(e.smtp_error)})") from None
        except smtplib.SMTPNotSupportedError as e:
            raise PermanentError(f"the server does not offer what the config needs ({_text(e)}); the password is "
                                 "never sent without STARTTLS") from None
        except smtplib.SMTPRecipientsRefused as e:
            raise PermanentError("every recipient was refused: " + ", ".join(
                f"{a} ({c} {_text(m)})" for a, (c, m) in e.recipients.items())) from None
        except smtplib.SMTPSenderRefused as e:
            raise PermanentError(f"the sender {e.sender} was refused ({e.smtp_code} {_text(e.smtp_error)})")\
                from None
        except smtplib.SMTPResponseException as e:
            # 4xx: the server asks to come back later; 5xx: it will say the same next time
            error = TransientError if 400 <= e.smtp_code < 500 else PermanentError
            raise error(f"the server answered {e.smtp_code} {_text(e.smtp_error)}") from None
        except ssl.SSLCertVerificationError as e:
            raise PermanentError(f"the server's certificate is not trusted ({e.verify_message}); "
                                 "set [email] ca to the file that signs it") from None
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as e:
            raise TransientError(f"the server closed the connection ({_text(e)})") from None
        except smtplib.SMTPException as e:
            raise PermanentError(_text(e)) from None
        except (OSError, EOFError) as e:   # refused, unreachable, timed out, TLS cut short: the network
            raise TransientError(e.strerror or _text(e) or type(e).__name__) from None
        except UnicodeError as e:          # a user name smtplib cannot encode: the config, not the network
            raise PermanentError(f"cannot encode the login ({e.reason})") from None


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """smtplib.login() encodes the credentials as ASCII and fails on "pässword"; RFC 4616 says AUTH PLAIN carries
    UTF-8, so a non-ASCII login goes that way by hand. An ASCII one takes smtplib's choice (CRAM-MD5, PLAIN, LOGIN)."""
    if (user + password).isascii():
        smtp.login(user, password)
        return
    smtp.ehlo_or_helo_if_needed()
    if "plain" not in smtp.esmtp_features.get("auth", "").lower().split():
        raise smtplib.SMTPNotSupportedError("a non-ASCII login needs AUTH PLAIN, which the server does not offer")
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
    code, message = smtp.docmd("AUTH", "PLAIN " + token)
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, message)


def _text(x) -> str:
    if isinstance(x, bytes):
        x = x.decode("utf-8", "replace")
    return " ".join(str(x).split())        # one line, whatever the server sent


class Mailer:
    """The queue and the retries, without a thread or a clock: `pump(now)` does what is due and returns when it is
    next due (None: nothing queued)."""

    def __init__(self, cfg: EmailConfig, send: Callable[[EmailMessage], None],
                 report: Callable[[NoticeOutcome], None], rand: Callable[[], float] = random.random):
        self.cfg = cfg
        self._send = send
        self._report = report
        self._rand = rand
        self.backoff = Backoff(cfg.retry_initial_s, cfg.retry_max_s, jitter=0.5)
        self._queue: collections.deque[Notice] = collections.deque()
        self._lock = threading.Lock()         # add() runs on the core thread, pump() on the worker
        self._attempts = 0
        self._due = 0.0
        self.dropped = 0

    def add(self, notice: Notice) -> None:
        with self._lock:
            if len(self._queue) >= self.cfg.queue_max:
                old = self._queue.popleft()
                self.dropped += 1
                if self._attempts:            # the one being retried goes: the next starts afresh
                    self._attempts, self._due = 0, 0.0
                log.warning("e-mail: %d notices waiting already; dropped the oldest (%s)", self.cfg.queue_max,
                            old.subject)
            self._queue.append(notice)

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def pump(self, now: float) -> float | None:
        with self._lock:
            if not self._queue:
                return None
            if now < self._due:
                return self._due
            notice = self._queue[0]
            self._attempts += 1
            attempts = self._attempts
        error, permanent = "", False
        try:                                  # outside the lock: add() on the core thread never waits for SMTP
            self._send(build_message(self.cfg, notice))
        except PermanentError as e:
            error, permanent = _scrub(str(e), self.cfg), True
        except TransientError as e:
            error = _scrub(str(e), self.cfg)
        with self._lock:
            dropped = not self._queue or self._queue[0] is not notice
            if dropped:
                # add() dropped it while it was being sent (and said so): only a delivery is still worth reporting
                done, report = True, not error
            else:
                done = not error or permanent or attempts >= self.cfg.max_attempts
                report = done
                if done:
                    self._queue.popleft()
            if done:
                self._attempts, self._due = 0, now
            else:
                self._due = now + self.backoff.delay(attempts - 1, self._rand())
            due = self._due if self._queue else None
        if not done:
            log.warning("e-mail: %s:%d: %s; trying again in %.0f s (attempt %d of %d)", self.cfg.host,
                        self.cfg.port, error, self._due - now, attempts, self.cfg.max_attempts)
        elif error and not dropped:
            log.error("e-mail: notice %r not sent after %d attempt(s) to %s:%d: %s", notice.subject, attempts,
                      self.cfg.host, self.cfg.port, error)
        else:
            log.info("e-mail: notice %r sent to %d recipient(s)", notice.subject, len(self.cfg.recipients))
        if report:
            self._report(NoticeOutcome(notice.kind, notice.subject, not error, attempts, error))
        return due


def _scrub(text: str, cfg: EmailConfig) -> str:
    """A server that echoes what it was sent must not put the password into the log or the MQTT event."""
    if cfg.password is None or not cfg.password.value:
        return text
    secret = cfg.password.value
    forms = {secret, base64.b64encode(secret.encode()).decode(),
             base64.b64encode(f"\0{cfg.username}\0{secret}".encode()).decode()}
    for form in forms:
        text = text.replace(form, "***")
    return text


class EmailNotifier:
    """A core sink: writes a notice for `outage_closed`, a failed `drill_result`, `drill_overdue`, and the UPS's
    `power_restored` (the cut, closed) and `battery_low`; a worker thread sends it."""

    def __init__(self, core, cfg: EmailConfig, device: str, send: Callable[[EmailMessage], None] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.core = core
        self.cfg = cfg
        self.device = device
        self.tz = zone(cfg.tz)
        self.mailer = Mailer(cfg, send or SmtpTransport(cfg).send, core.post)
        self._clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        core.add_sink(self.on_event)
        core.subscribe(NoticeOutcome, self._on_outcome)

    # ---- core thread ------------------------------------------------------------------------------------
    def on_event(self, event) -> None:
        try:
            notice = self.notice_for(event)
        except (ValueError, OverflowError, OSError) as e:    # a time no calendar holds: said, not raised
            log.error("e-mail: no notice for %s (%s)", event.kind, e)
            return
        if notice is not None:
            self.mailer.add(notice)
            self._wake.set()

    def notice_for(self, event) -> Notice | None:
        data = event.data if isinstance(event.data, dict) else {}
        if event.kind == "outage_closed":
            return outage_notice(data, event.ts, self.device, self.cfg.lang, self.tz)
        if event.kind == "drill_result" and data.get("ok") is False:
            return drill_notice(data, event.ts, event.time_source, self.device, self.cfg.lang, self.tz)
        if event.kind == "drill_overdue":
            return overdue_notice(data, event.ts, self.device, self.cfg.lang, self.tz)
        if event.kind in ("power_restored", "battery_low"):    # agent/power: the site's UPS
            return power_notice(event.kind, data, event.ts, self.device, self.cfg.lang, self.tz)
        return None

    def _on_outcome(self, outcome: NoticeOutcome, now: float) -> None:
        fields = {"notice": outcome.kind, "subject": outcome.subject, "attempts": outcome.attempts,
                  "recipients": len(self.cfg.recipients)}
        if outcome.ok:
            self.core.emit("notice_sent", channel="email", **fields)
        else:
            self.core.emit("notice_failed", channel="email", error=outcome.error, **fields)

    # ---- worker thread ----------------------------------------------------------------------------------
    def start(self) -> "EmailNotifier":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="email-notice", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(JOIN_TIMEOUT_S)   # an SMTP exchange in flight ends within timeout_s; not waited for
            self._thread = None
        left = self.mailer.pending()
        if left:
            log.warning("e-mail: %d notice(s) not sent at exit", left)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()      # before pumping: a notice added from now on sets it again, and is not missed
            due = self.mailer.pump(self._clock())
            wait = None if due is None else max(0.0, due - self._clock())
            if wait != 0.0:
                self._wake.wait(wait)


def attach_email(core, config) -> EmailNotifier | None:
    """The notifier when [email] has recipients, else None (nothing subscribed, no thread)."""
    if not config.email.enabled:
        return None
    return EmailNotifier(core, config.email, config.device.site or config.device.id)
