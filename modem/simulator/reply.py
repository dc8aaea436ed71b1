"""What a command handler gives back to the engine, and the errors it can raise."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

# 3GPP TS 27.007 9.2 verbose texts for the codes the simulator uses
CME_TEXT = {
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    11: "SIM PIN required",
    12: "SIM PUK required",
    13: "SIM failure",
    14: "SIM busy",
    16: "incorrect password",
    21: "invalid index",
    22: "not found",
    30: "no network service",
    32: "network not allowed - emergency calls only",
    50: "Incorrect parameters",
    100: "unknown",
}


class AtError(Exception):
    """A command failed: plain ERROR whatever +CMEE says (unknown command, syntax)."""

    def final(self, cmee: int) -> str:
        return "ERROR"


class CmeError(AtError):
    def __init__(self, code: int):
        super().__init__(code)
        self.code = code

    def final(self, cmee: int) -> str:
        if cmee == 0:
            return "ERROR"
        if cmee == 1:
            return f"+CME ERROR: {self.code}"
        return f"+CME ERROR: {CME_TEXT.get(self.code, 'unknown')}"


class CmsError(AtError):
    """3GPP TS 27.005 3.2.5: always numeric."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code

    def final(self, cmee: int) -> str:
        return "ERROR" if cmee == 0 else f"+CMS ERROR: {self.code}"


def bad_params() -> CmeError:
    return CmeError(50)


@dataclass
class SmsPrompt:
    """A +CMGS waiting for its text after '> '."""
    number: str
    text: list[str] = field(default_factory=list)


@dataclass
class Reply:
    """Lines (or a function computing them once `after` has run) given after `delay` seconds at speed 1.

    `after` carries the command's effect, applied when the delay is over (a real +CFUN=0 answers OK once the
    radio is off). `final` replaces OK (NO CARRIER ...); `prompt` switches the port into SMS text entry."""
    lines: list[str] | Callable[[], list[str]] = field(default_factory=list)
    delay: float | None = None          # None: the personality's plain-query delay
    after: Callable[[], None] | None = None
    final: str | None = None
    prompt: SmsPrompt | None = None
