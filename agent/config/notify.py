"""[email]: the incident notice by e-mail (docs/notify.md). Declared like the other sections (agent.config.schema)."""
from dataclasses import dataclass
from typing import Annotated, Literal

from agent.config.schema import Check, File, Invalid, Pattern, Range, Secret
from agent.config.sections import Positive, invalid

# One address, no display name, no CR/LF/comma: it goes into the From/To headers and the SMTP envelope as written.
_ADDRESS = r"[^@\s,<>\"]+@[^@\s,<>\"]+\.[^@\s,<>\"]+"
Address = Annotated[str, Pattern(_ADDRESS, 'e-mail addresses such as "alerts@example.com"')]


def _zone(name: str) -> bool:
    """"" is the system's zone; anything else must be a zone this system knows ("Europe/Paris")."""
    if not name:
        return True
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError   # only when a zone is set
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("unknown time zone") from None
    return True


@dataclass(frozen=True)
class EmailConfig:
    """Off while `recipients` is empty. A notice goes when an outage closes or a drill fails."""
    recipients: tuple[Address, ...] = ()     # who gets the notices; none: no e-mail at all
    sender: Annotated[str, Check(lambda s: not s or _address(s),
                                 'an e-mail address such as "relais@example.com" or ""')] = ""   # From
    host: str = ""                    # the SMTP server (submission port of the provider, or a LAN relay)
    port: Annotated[int, Range(1, 65535)] = 587      # submission; 25 for a relay on the LAN
    starttls: bool = True             # false only for a relay on the LAN that takes mail without a login
    ca: Annotated[str, File()] = ""   # "" = the system's CAs; else the file that signs the server's certificate
    username: str = ""                # "" = no authentication
    password: Secret | None = None    # never logged, never shown by `relais config show`
    timeout_s: Annotated[float, Range(1, 300)] = 30.0       # per SMTP exchange
    lang: Literal["fr", "en"] = "fr"  # the notice's language
    tz: Annotated[str, Check(_zone, 'a time zone such as "Europe/Paris", or "" for the system\'s')] = ""  # dates in the notice
    queue_max: Annotated[int, Range(1, 1000)] = 20          # notices waiting in memory; beyond, the oldest is dropped
    retry_initial_s: Positive = 30.0                        # common.backoff.Backoff between tries of one notice
    retry_max_s: Positive = 1800.0                          # the longest wait between two tries
    max_attempts: Annotated[int, Range(1, 1000)] = 20       # then notice_failed, and the next notice goes

    @property
    def enabled(self) -> bool:
        return bool(self.recipients)

    def validate(self) -> None:
        if not self.recipients:
            return
        if not self.host.strip():
            raise invalid("host", "the SMTP server's name when recipients are set", self.host)
        if not self.sender:
            raise invalid("sender", "an e-mail address when recipients are set", self.sender)
        if self.username and self.password is None:
            raise Invalid("a password with username (they go together)", "none", key="password")
        if self.username and not self.starttls:
            raise invalid("starttls", "true when username is set (the password is never sent in clear)",
                          self.starttls)
        if self.password is not None and not self.username:
            raise invalid("username", "a user name with password (they go together)", self.username)
        if self.retry_max_s < self.retry_initial_s:
            raise invalid("retry_max_s", f"at least retry_initial_s ({self.retry_initial_s:g})", self.retry_max_s)


def _address(text: str) -> bool:
    import re
    return re.fullmatch(_ADDRESS, text) is not None
