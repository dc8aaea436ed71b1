"""Fleet alerts: which sites need a person now, told by e-mail and by webhook, each channel with its own
de-duplication window.

    firing(rules, sites, now, incidents)        pure: every alert whose condition holds now
    deduplicate(memory, alerts, window_s, now)  pure: those not already sent on this channel within window_s
    Deliveries.pump(now)                        the queue and the retries (common.backoff), no thread, no clock
    WebhookSender / SmtpSender                  the IO: one JSON POST signed with HMAC-SHA256, one e-mail
    Alerting                                    the above glued, one Channel per way out
    alerting_from / correlation_from            the [alerts] and [correlate] tables of fleet.toml

Conditions (`Rules`): a site offline for more than `offline_after_s`, on its backup for more than
`on_backup_after_s`, a provider incident opened or closed (fleet/correlate.py), its last drill failed or none
passed for too long (overdue), cellular data over `data_budget_pct` of its budget, signal poor for
`signal_poor_days`. An alert that still holds is sent again once its window has passed (a reminder), never sooner:
a site that flaps offline and online every minute is one alert per window, not sixty.

This module imports nothing from agent/: the SMTP bits are the same approach as agent/notify/email.py (STARTTLS,
UTF-8 AUTH PLAIN, errors sorted into "try again" and "will not help"), kept small here.
"""
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
from enum import StrEnum
from typing import Callable, Iterable, Mapping

from common.backoff import Backoff
from fleet.correlate import IncidentClosed, IncidentOpened, Link, Settings, describe

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Relais-Signature"      # "sha256=<hex HMAC of '<timestamp>.<body>'>"
TIMESTAMP_HEADER = "X-Relais-Timestamp"      # Unix seconds when sent: a receiver refuses old ones (replays)
ALERT_HEADER = "X-Relais-Alert"              # the alert's key: the same alert retried carries the same one


class Rule(StrEnum):
    OFFLINE = "offline"
    ON_BACKUP = "on_backup"
    PROVIDER_INCIDENT_OPENED = "provider_incident_opened"
    PROVIDER_INCIDENT_CLOSED = "provider_incident_closed"
    DRILL_FAILED = "drill_failed"
    DRILL_OVERDUE = "drill_overdue"
    DATA_BUDGET = "data_budget"
    SIGNAL_POOR = "signal_poor"


@dataclass(frozen=True)
class Rules:
    offline_after_s: float = 900.0          # 15 min: the broker's last will comes up to 15 min late anyway
    on_backup_after_s: float = 1800.0
    data_budget_pct: float = 80.0
    signal_poor_days: float = 3.0
    tz: str = "UTC"                         # the zone of the times in the titles ("Europe/Paris")


@dataclass(frozen=True)
class SiteView:
    """What the fleet database knows of one site, as the alerts need it. A time is None when it does not apply."""
    site: str
    online: bool = True
    offline_since: float | None = None
    on_backup_since: float | None = None      # the active uplink has been the backup since
    last_drill_at: float | None = None
    last_drill_ok: bool | None = None
    drill_overdue: bool = False               # the agent's drill_overdue event, not cleared by a passed drill yet
    data_used_bytes: int | None = None        # this month, cellular
    data_budget_bytes: int | None = None
    signal_poor_since: float | None = None


@dataclass(frozen=True)
class Alert:
    rule: Rule
    subject: str                # the site, or the provider incident's id
    key: str                    # what de-duplication compares: the same condition has the same key
    title: str                  # one line for a person
    at: float                   # when the condition began (or the incident opened/closed)
    data: Mapping[str, object] = field(default_factory=dict, hash=False)

    def as_json(self) -> dict:
        return {"rule": str(self.rule), "subject": self.subject, "key": self.key, "title": self.title,
                "at": round(self.at, 3), "data": dict(self.data)}


def firing(rules: Rules, sites: Iterable[SiteView], now: float, incidents: Iterable[object] = ()) -> list[Alert]:
    alerts: list[Alert] = []
    for s in sites:
        if not s.online and s.offline_since is not None and now - s.offline_since > rules.offline_after_s:
            alerts.append(Alert(Rule.OFFLINE, s.site, f"offline:{s.site}",
                                f"{s.site}: offline for {_span(now - s.offline_since)}", s.offline_since))
        if s.on_backup_since is not None and now - s.on_backup_since > rules.on_backup_after_s:
            alerts.append(Alert(Rule.ON_BACKUP, s.site, f"on_backup:{s.site}",
                                f"{s.site}: on the backup uplink for {_span(now - s.on_backup_since)}",
                                s.on_backup_since))
        if s.last_drill_ok is False and s.last_drill_at is not None:
            alerts.append(Alert(Rule.DRILL_FAILED, s.site, f"drill_failed:{s.site}:{s.last_drill_at:.0f}",
                                f"{s.site}: the failover drill of {_stamp(s.last_drill_at, rules.tz)} failed",
                                s.last_drill_at))
        if s.drill_overdue:
            alerts.append(Alert(Rule.DRILL_OVERDUE, s.site, f"drill_overdue:{s.site}",
                                f"{s.site}: no failover drill has passed for too long",
                                now, {"last_drill_at": s.last_drill_at}))
        if s.data_used_bytes is not None and s.data_budget_bytes:
            pct = 100.0 * s.data_used_bytes / s.data_budget_bytes
            if pct > rules.data_budget_pct:
                alerts.append(Alert(Rule.DATA_BUDGET, s.site, f"data_budget:{s.site}",
                                    f"{s.site}: {pct:.0f} % of the cellular data budget used", now,
                                    {"used_bytes": s.data_used_bytes, "budget_bytes": s.data_budget_bytes}))
        if s.signal_poor_since is not None and now - s.signal_poor_since >= rules.signal_poor_days * 86400:
            alerts.append(Alert(Rule.SIGNAL_POOR, s.site, f"signal_poor:{s.site}",
                                f"{s.site}: cellular signal poor for {_span(now - s.signal_poor_since)}",
                                s.signal_poor_since))
    for action in incidents:
        if isinstance(action, (IncidentOpened, IncidentClosed)):
            inc = action.incident
            opened = isinstance(action, IncidentOpened)
            rule = Rule.PROVIDER_INCIDENT_OPENED if opened else Rule.PROVIDER_INCIDENT_CLOSED
            title = ("Provider incident: " if opened else "Provider incident over: ") + describe(inc, _zone(rules.tz))
            data = {"link": str(inc.group.link), "provider": inc.group.provider, "area": inc.group.area,
                    "sites": [s.site for s in inc.sites], "down": list(inc.down)}
            if opened and inc.group.link is Link.CELLULAR:
                # the correlator's SuggestSimSwitch, told to the people who decide: the fleet orders nothing alone
                title += "; suggested: switch the sites on this operator to their other SIM"
                data["suggest"] = "sim_switch"
            alerts.append(Alert(rule, inc.id, f"{rule}:{inc.id}", title,
                                inc.opened_at if opened else inc.closed_at, data))
    return alerts


@dataclass(frozen=True)
class Memory:
    """What one channel sent, and when: key -> time sent."""
    sent: Mapping[str, float] = field(default_factory=dict)


def deduplicate(memory: Memory, alerts: Iterable[Alert], window_s: float, now: float) -> tuple[Memory, list[Alert]]:
    # a key older than the window would be let through anyway: forgetting it keeps the memory as small as the
    # set of alerts sent within one window
    sent = {k: t for k, t in memory.sent.items() if now - t < window_s}
    out = []
    for alert in alerts:
        if alert.key not in sent:
            sent[alert.key] = now
            out.append(alert)
    return Memory(sent), out


@dataclass
class Channel:
    """One way out (an e-mail list, a webhook) with its own window: a ticketing webhook may want a reminder every
    hour, the people on the e-mail list once a day."""
    deliveries: Deliveries
    window_s: float = 6 * 3600.0
    rules: frozenset[Rule] = frozenset(Rule)          # the rules this channel is told about
    memory: Memory = Memory()


class Alerting:
    """The fleet's alerting, glued: `evaluate(sites, now, incidents)` queues what each channel has not yet been
    told; `pump(now)` sends and says when it is next due. Both from one thread, the fleet's alert loop (not the
    ingest's): a slow SMTP server delays the next evaluation, never the storing of messages, and the queues need
    no lock. 10,000 sites take 8-20 ms to evaluate (BENCHMARKS.md)."""

    def __init__(self, rules: Rules, channels: Mapping[str, Channel]):
        self.rules = rules
        self.channels = dict(channels)

    def evaluate(self, sites: Iterable[SiteView], now: float, incidents: Iterable[object] = ()) -> list[Alert]:
        alerts = firing(self.rules, sites, now, incidents)
        for channel in self.channels.values():
            mine = [a for a in alerts if a.rule in channel.rules]
            channel.memory, fresh = deduplicate(channel.memory, mine, channel.window_s, now)
            for alert in fresh:
                channel.deliveries.add(alert)
        return alerts

    def pump(self, now: float) -> float | None:
        due = [d for d in (c.deliveries.pump(now) for c in self.channels.values()) if d is not None]
        return min(due, default=None)


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"


def _stamp(ts: float, tz: str = "UTC") -> str:
    return datetime.fromtimestamp(ts, _zone(tz)).strftime("%Y-%m-%d %H:%M %Z")


@functools.lru_cache(maxsize=8)
def _zone(name: str):
    if name == "UTC":
        return timezone.utc
    from zoneinfo import ZoneInfo     # checked when the config is read (alerting_from)
    return ZoneInfo(name)


# ---- delivery -----------------------------------------------------------------------------------------------------

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
    lines = [alert.title, "", f"Rule: {alert.rule}", f"Subject: {alert.subject}", f"Since: {_stamp(alert.at)}"]
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


# ---- configuration: the [alerts] table of fleet.toml --------------------------------------------------------------

class ConfigError(ValueError):
    """One line naming the file, the table, the key, what was expected and what was found."""


def alerting_from(table: Mapping, file: str = "fleet.toml") -> Alerting | None:
    """`[alerts]` (the rules), `[alerts.email]` and `[[alerts.webhook]]` (the channels) as read from TOML; None
    when no channel is set. Secrets come from the file (`password`, `secret`) or, better, from a file of their own
    (`password_file`, `secret_file`) that the fleet's config can be shared without."""
    t = _Table(table, "alerts", file)
    rules = Rules(offline_after_s=t.number("offline_after_s", Rules.offline_after_s, 0, 30 * 86400),
                  on_backup_after_s=t.number("on_backup_after_s", Rules.on_backup_after_s, 0, 30 * 86400),
                  data_budget_pct=t.number("data_budget_pct", Rules.data_budget_pct, 1, 1000),
                  signal_poor_days=t.number("signal_poor_days", Rules.signal_poor_days, 0, 365),
                  tz=t.zone("tz"))
    t.done(("email", "webhook"))
    channels: dict[str, Channel] = {}
    mail = table.get("email")
    if mail is not None and (not isinstance(mail, Mapping) or mail.get("recipients", []) != []):
        m = _Table(mail, "alerts.email", file)
        target = EmailTarget(host=m.text("host", required=True), sender=m.text("sender", required=True),
                             recipients=m.texts("recipients"), port=int(m.number("port", 587, 1, 65535, whole=True)),
                             starttls=m.flag("starttls", True), ca=m.text("ca"), username=m.text("username"),
                             password=m.secret("password"), timeout_s=m.number("timeout_s", 30.0, 1, 300))
        if target.username and not target.starttls:
            raise m.error("starttls", "true when username is set (the password is never sent in clear)", False)
        channels["email"] = m.channel(SmtpSender(target), "email", 86400.0)
    hooks = table.get("webhook", [])
    if not isinstance(hooks, list):
        raise ConfigError(f"{file}: [alerts] webhook: expected [[alerts.webhook]] tables, got {_shown(hooks)}")
    for n, hook in enumerate(hooks, 1):
        if not isinstance(hook, dict):
            raise ConfigError(f"{file}: [alerts] webhook: expected [[alerts.webhook]] tables, got {_shown(hook)}")
        h = _Table(hook, f"alerts.webhook #{n}", file)
        secret = h.secret("secret", required=True).encode()
        try:
            target = WebhookTarget(h.text("url", required=True), secret, h.number("timeout_s", 10.0, 1, 120))
        except ValueError as e:
            raise ConfigError(f"{file}: [alerts.webhook #{n}] {e}") from None
        channels[f"webhook-{n}"] = h.channel(WebhookSender(target), f"webhook {target.where}", 3600.0)
    return Alerting(rules, channels) if channels else None


def correlation_from(table: Mapping, file: str = "fleet.toml") -> Settings:
    """`[correlate]`: when sites' losses make a provider incident (fleet/correlate.py)."""
    t = _Table(table, "correlate", file)
    d = Settings()
    settings = Settings(min_sites=int(t.number("min_sites", d.min_sites, 2, 10000, whole=True)),
                        window_s=t.number("window_s", d.window_s, 1, 86400),
                        close_hold_s=t.number("close_hold_s", d.close_hold_s, 0, 86400),
                        by_area=t.flag("by_area", d.by_area))
    t.done()
    return settings


class _Table:
    def __init__(self, table: Mapping, name: str, file: str):
        if not isinstance(table, Mapping):
            raise ConfigError(f"{file}: [{name}]: expected a table, got {_shown(table)}")
        self.raw, self.name, self.file = table, name, file
        self.read: set[str] = set()

    def error(self, key: str, expected: str, got: object) -> ConfigError:
        return ConfigError(f"{self.file}: [{self.name}] {key}: expected {expected}, got {_shown(got)}")

    def _get(self, key: str, default):
        self.read.add(key)
        return self.raw.get(key, default)

    def number(self, key: str, default: float, low: float, high: float, whole: bool = False) -> float:
        value = self._get(key, default)
        kind = "an integer" if whole else "a number"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not isinstance(value, int)) \
                or not low <= value <= high:
            raise self.error(key, f"{kind} from {_num(low)} to {_num(high)}", value)
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, "true or false", value)
        return value

    def text(self, key: str, required: bool = False) -> str:
        value = self._get(key, "")
        if not isinstance(value, str) or (required and not value.strip()) or "\n" in value or "\r" in value:
            raise self.error(key, "a one-line text" + (" (required)" if required else ""), value)
        return value

    def zone(self, key: str) -> str:
        value = self._get(key, "UTC")
        try:
            _zone(value)
        except (TypeError, ValueError, KeyError, OSError):   # ZoneInfoNotFoundError is a KeyError
            raise self.error(key, 'a time zone such as "Europe/Paris"', value) from None
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._get(key, [])
        if not isinstance(value, list) or not value or not all(
                isinstance(v, str) and "@" in v and not any(c in v for c in "\r\n,<>") for v in value):
            raise self.error(key, 'a list of e-mail addresses such as ["noc@example.com"]', value)
        return tuple(value)

    def secret(self, key: str, required: bool = False) -> str:
        """From `<key>` or `<key>_file` (its first line). What was found is never shown: it may be the secret."""
        inline, path = self._get(key, None), self._get(key + "_file", None)
        if inline is not None and path is not None:
            raise ConfigError(f"{self.file}: [{self.name}] {key}: expected {key} or {key}_file, not both")
        if path is not None:
            if not isinstance(path, str):
                raise self.error(key + "_file", "a file name", path)
            try:
                with open(path, encoding="utf-8") as f:
                    inline = f.readline().rstrip("\r\n")
            except (OSError, UnicodeError) as e:
                raise ConfigError(f"{self.file}: [{self.name}] {key}_file: expected a readable file, got "
                                  f"{path!r} ({getattr(e, 'strerror', None) or e})") from None
        if inline is None:
            inline = ""
        if not isinstance(inline, str):
            raise ConfigError(f"{self.file}: [{self.name}] {key}: expected a text, got {type(inline).__name__}")
        if required and not inline:
            raise ConfigError(f"{self.file}: [{self.name}] {key}: expected a secret in {key} or {key}_file, got none")
        return inline

    def done(self, tables: tuple[str, ...] = ()) -> None:
        unknown = sorted(set(self.raw) - self.read - set(tables))
        if unknown:
            raise ConfigError(f"{self.file}: [{self.name}] {unknown[0]}: expected one of "
                              f"{', '.join(sorted(self.read | set(tables)))}, got an unknown key")

    def channel(self, send: Callable[[Alert, float], None], name: str, window_s: float) -> Channel:
        window = self.number("window_s", window_s, 60, 30 * 86400)
        names = self._get("rules", [str(r) for r in Rule])
        known = {str(r) for r in Rule}
        if not isinstance(names, list) or not names or not all(isinstance(r, str) and r in known for r in names):
            raise self.error("rules", "a list of rules from " + ", ".join(sorted(known)), names)
        attempts = int(self.number("max_attempts", 10, 1, 1000, whole=True))
        self.done()
        return Channel(Deliveries(name, send, max_attempts=attempts), window, frozenset(Rule(r) for r in names))


def _num(x: float) -> str:
    return str(int(x)) if x == int(x) else f"{x:g}"


def _shown(value: object) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:57] + "..."
