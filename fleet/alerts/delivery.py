"""Alerts out: a queue with retries (common.backoff), a webhook (JSON POST signed with HMAC-SHA256) and e-mail
(SMTP with STARTTLS and AUTH, the approach of agent/notify/email.py restated: the fleet imports nothing of the
agent). Nothing here waits of its own: `Deliveries.pump(now)` says when it is next due."""
from __future__ import annotations

import collections
import functools
import hashlib
import hmac
import json
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from common.backoff import Backoff
from fleet.alerts.rules import Alert, stamp

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Relais-Signature"      # "sha256=<hex HMAC of '<timestamp>.<body>'>"
TIMESTAMP_HEADER = "X-Relais-Timestamp"      # Unix seconds when sent: a receiver refuses old ones (replays)
ALERT_HEADER = "X-Relais-Alert"              # the alert's key: the same alert retried carries the same one


class PermanentError(Exception):
    """Trying again will not help (refused, not found, bad credentials)."""


class TransientError(Exception):
    """The receiver is down or busy, the network is away: try again later."""


@dataclass
class Deliveries:
    """One channel's queue: `add()` alerts, `pump(now)` sends what is due and says when it is next due (None:
    nothing queued). The oldest alert is retried with `backoff` until `max_attempts`, then dropped with a log
    line; beyond `queue_max` the oldest waiting is dropped."""
    name: str
    send: Callable[[Alert, float], None]
    backoff: Backoff = Backoff(10.0, 900.0, jitter=0.5)
    max_attempts: int = 10
    queue_max: int = 1000
    rand: Callable[[], float] = random.random
    queue: collections.deque = field(default_factory=collections.deque)
    attempts: int = 0
    due: float = 0.0
    sent: int = 0
    failed: int = 0
    dropped: int = 0

    def add(self, alert: Alert) -> None:
        if len(self.queue) >= self.queue_max:
            old = self.queue.popleft()
            self.dropped += 1
            self.attempts, self.due = 0, 0.0
            log.warning("alerts %s: %d waiting already; dropped the oldest (%s)", self.name, self.queue_max, old.key)
        self.queue.append(alert)

    def pump(self, now: float) -> float | None:
        while self.queue and now >= self.due:
            alert = self.queue[0]
            self.attempts += 1
            try:
                self.send(alert, now)
            except PermanentError as e:
                log.error("alerts %s: %s not delivered: %s", self.name, alert.key, e)
                self._done(now, ok=False)
            except TransientError as e:
                if self.attempts >= self.max_attempts:
                    log.error("alerts %s: %s not delivered after %d attempts: %s", self.name, alert.key,
                              self.attempts, e)
                    self._done(now, ok=False)
                else:
                    self.due = now + self.backoff.delay(self.attempts - 1, self.rand())
                    log.warning("alerts %s: %s: %s; trying again in %.0f s (attempt %d of %d)", self.name,
                                alert.key, e, self.due - now, self.attempts, self.max_attempts)
            else:
                self._done(now, ok=True)
        return self.due if self.queue else None

    def _done(self, now: float, ok: bool) -> None:
        self.queue.popleft()
        self.attempts, self.due = 0, now
        if ok:
            self.sent += 1
        else:
            self.failed += 1


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The webhook's signature: hex HMAC-SHA256 over "<timestamp>.<body>", so a captured request replayed later
    carries a timestamp the receiver refuses, and the timestamp cannot be changed without the secret."""
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class WebhookTarget:
    url: str                          # http(s)://…; may hold a token in its path, so only its host is logged
    secret: bytes = field(repr=False)
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        from urllib.parse import urlsplit
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"webhook url: expected http:// or https:// and a host, got {parts.scheme or 'no'} "
                             "scheme")
        if len(self.secret) < 16:
            raise ValueError(f"webhook secret: expected at least 16 bytes, got {len(self.secret)}")

    @property
    def where(self) -> str:
        from urllib.parse import urlsplit
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


class WebhookSender:
    """One JSON POST per alert; 2xx delivered; 408, 429 and 5xx (and no answer) tried again; other 4xx given up."""

    def __init__(self, target: WebhookTarget):
        self.target = target

    def request(self, alert: Alert, now: float):
        import urllib.request
        body = json.dumps(alert.as_json(), sort_keys=True, separators=(",", ":")).encode()
        ts = int(now)
        return urllib.request.Request(self.target.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "relais-fleet",
            TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: "sha256=" + sign(self.target.secret, ts, body),
            ALERT_HEADER: alert.key})

    def __call__(self, alert: Alert, now: float) -> None:
        import urllib.error
        import urllib.request
        where = self.target.where
        try:
            with _opener().open(self.request(alert, now), timeout=self.target.timeout_s) as answer:
                answer.read(4096)
        except urllib.error.HTTPError as e:
            error = TransientError if e.code in (408, 429) or e.code >= 500 else PermanentError
            raise error(f"{where} answered {e.code} {_one_line(e.reason)}") from None
        except urllib.error.URLError as e:
            raise TransientError(f"{where}: {_one_line(getattr(e.reason, 'strerror', None) or e.reason)}") from None
        except (OSError, ValueError) as e:     # timed out, reset; ValueError: http.client refusing the answer
            raise TransientError(f"{where}: {_one_line(e)}") from None


@functools.lru_cache(maxsize=1)
def _opener():
    """urllib without redirects: a redirected POST would reach an address nobody configured (or turn into a GET
    without its body); a 3xx is an error that says where it pointed, for a person to fix the URL."""
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            return None                      # urllib then raises the 3xx as an HTTPError

    return urllib.request.build_opener(NoRedirect)


@dataclass(frozen=True)
class EmailTarget:
    host: str
    sender: str
    recipients: tuple[str, ...]
    port: int = 587
    starttls: bool = True
    ca: str = ""                      # "" = the system's CAs
    username: str = ""
    password: str = field(default="", repr=False)
    timeout_s: float = 30.0


def email_message(target: EmailTarget, alert: Alert):
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid
    from email.policy import default
    # folding at 78 makes the stdlib break some subjects before their first word (read back with a leading
    # space); a title is one short line, well under the 998 RFC 5322 allows
    msg = EmailMessage(policy=default.clone(max_line_length=998))
    msg["From"] = target.sender
    msg["To"] = ", ".join(target.recipients)
    msg["Subject"] = f"[relais] {alert.title}"
    msg["Date"] = format_datetime(datetime.fromtimestamp(alert.at, timezone.utc))
    msg["Message-ID"] = make_msgid("relais-fleet", domain=target.sender.rpartition("@")[2])
    lines = [alert.title, "", f"Rule: {alert.rule}", f"Subject: {alert.subject}", f"Since: {stamp(alert.at)}"]
    lines += [f"{k}: {v}" for k, v in sorted(alert.data.items())]
    msg.set_content("\n".join(lines) + "\n")
    return msg


class SmtpSender:
    """One alert, one connection (alerts are rare; a kept connection would be dead by the next one)."""

    def __init__(self, target: EmailTarget):
        self.target = target

    def __call__(self, alert: Alert, now: float) -> None:
        import smtplib
        import ssl
        t = self.target
        try:
            context = ssl.create_default_context(cafile=t.ca or None) if t.starttls else None
            with smtplib.SMTP(t.host, t.port, timeout=t.timeout_s) as smtp:
                if t.starttls:
                    smtp.starttls(context=context)
                if t.username:
                    _login(smtp, t.username, t.password)
                smtp.send_message(email_message(t, alert), from_addr=t.sender, to_addrs=list(t.recipients))
        except smtplib.SMTPAuthenticationError as e:
            raise PermanentError(f"the server refused the login of user {t.username!r} ({e.smtp_code})") from None
        except smtplib.SMTPRecipientsRefused as e:
            raise PermanentError("every recipient was refused: " + ", ".join(e.recipients)) from None
        except smtplib.SMTPResponseException as e:
            error = TransientError if 400 <= e.smtp_code < 500 else PermanentError
            raise error(f"the server answered {e.smtp_code} {_scrub(_one_line(e.smtp_error), t)}") from None
        except ssl.SSLCertVerificationError as e:
            raise PermanentError(f"the server's certificate is not trusted ({e.verify_message})") from None
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as e:
            raise TransientError(f"the server closed the connection ({_scrub(_one_line(e), t)})") from None
        except smtplib.SMTPException as e:
            raise PermanentError(_scrub(_one_line(e), t)) from None
        except ssl.SSLError as e:            # a CA file that holds no certificate: the config, not the network
            raise PermanentError(f"TLS: {_one_line(e.reason or e)}") from None
        except (OSError, EOFError) as e:
            raise TransientError(f"{t.host}:{t.port}: {e.strerror or _one_line(e)}") from None


def _login(smtp, user: str, password: str) -> None:
    """As agent/notify/email.py: smtplib encodes the login as ASCII; RFC 4616 AUTH PLAIN carries UTF-8."""
    import base64
    import smtplib
    if (user + password).isascii():
        smtp.login(user, password)
        return
    smtp.ehlo_or_helo_if_needed()
    if "plain" not in smtp.esmtp_features.get("auth", "").lower().split():
        raise smtplib.SMTPNotSupportedError("a non-ASCII login needs AUTH PLAIN, which the server does not offer")
    code, message = smtp.docmd("AUTH", "PLAIN " + base64.b64encode(f"\0{user}\0{password}".encode()).decode())
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, message)


def _scrub(text: str, target: EmailTarget) -> str:
    """A server that echoes what it was sent must not put the password into the log."""
    if not target.password:
        return text
    import base64
    for form in (target.password, base64.b64encode(target.password.encode()).decode(),
                 base64.b64encode(f"\0{target.username}\0{target.password}".encode()).decode()):
        text = text.replace(form, "***")
    return text


def _one_line(x) -> str:
    if isinstance(x, bytes):
        x = x.decode("utf-8", "replace")
    return " ".join(str(x).split())

