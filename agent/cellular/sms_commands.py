"""SMS commands, pure: whose number may command, whether the PIN is right, and what was asked.

"<PIN> status", "<PIN> failover backup|primary|auto|<uplink name>", "<PIN> sim 1|2", "<PIN> help", from a number
in [sms] command_numbers only (agent/cellular/sms.py runs them). Numbers are compared normalised (E.164); what may
be logged of a number or a text is masked here too.
"""
from __future__ import annotations

import hmac
import re
from collections import deque
from dataclasses import dataclass
from typing import Any

from agent.config.grammar import normalize_number  # noqa: F401  (one home: the config checks numbers too)

HOUR_S = 3600.0
MAX_TEXT = 200                  # longer texts are cut before parsing: a command is a few words
USAGE = "use: status | failover backup|primary|auto|<uplink> | sim 1|2"
FAILOVER_MODES = {"backup": "force_backup", "primary": "force_primary", "auto": "auto",
                  "force_backup": "force_backup", "force_primary": "force_primary"}
# any other word of an uplink name's shape ([[uplinks]] name) asks for force_<name>: the failover command itself
# refuses a name the site does not have, and the answer lists the site's modes
UPLINK_NAME = re.compile(r"[a-z][a-z0-9_]{0,23}")


# ---- numbers ----------------------------------------------------------------------------------------------------

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


# ---- commands ---------------------------------------------------------------------------------------------------

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
    if len(w) == 2 and w[0] == "failover" and (w[1] in FAILOVER_MODES or UPLINK_NAME.fullmatch(w[1])):
        mode = FAILOVER_MODES.get(w[1]) or f"force_{w[1].removeprefix('force_')}"
        return Verdict(command="failover", args={"mode": mode}, label=f"failover {w[1]}")
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
