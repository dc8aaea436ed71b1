"""The [alerts] and [correlate] tables of fleet.toml, read with one-line errors naming the file, table and key."""
from __future__ import annotations

from typing import Callable, Mapping

from fleet.alerts.alerting import Alerting, Channel
from fleet.alerts.delivery import Deliveries, EmailTarget, SmtpSender, WebhookSender, WebhookTarget
from fleet.alerts.rules import Alert, Rule, Rules, zone
from fleet.correlate import Settings


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
            zone(value)
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
