"""Typed errors of the AT layer. Callers catch these, never pyserial's or OSError."""
from __future__ import annotations

import re

# Commands whose arguments are secrets (PIN, PUK, APN credentials): everything after "=" is hidden in the AT
# trace and in every error message, whatever it holds (a PIN with quotes and ";" must not show either).
_SECRET_ARGS = re.compile(r"(AT\+(?:CPIN|CLCK|CPWD|CGAUTH|QICSGP)=)[^\r\n]*", re.IGNORECASE)
_SECRET_ARGS_BYTES = re.compile(_SECRET_ARGS.pattern.encode(), re.IGNORECASE)


def redact(command: str) -> str:
    """AT+CPIN="1234" -> AT+CPIN="***"; other commands unchanged."""
    return _SECRET_ARGS.sub(r'\1"***"', command)


def redact_bytes(data: bytes) -> bytes:
    return _SECRET_ARGS_BYTES.sub(rb'\1"***"', data)

# 3GPP TS 27.007 §9.2 +CME ERROR codes worth a readable name in logs and replies.
CME_TEXT = {
    0: "phone failure", 3: "operation not allowed", 4: "operation not supported", 10: "SIM not inserted",
    11: "SIM PIN required", 12: "SIM PUK required", 13: "SIM failure", 14: "SIM busy", 15: "SIM wrong",
    16: "incorrect password", 17: "SIM PIN2 required", 18: "SIM PUK2 required", 20: "memory full",
    21: "invalid index", 22: "not found", 30: "no network service", 31: "network timeout",
    32: "network not allowed - emergency calls only", 50: "incorrect parameters", 100: "unknown",
    103: "illegal MS", 106: "illegal ME", 107: "GPRS services not allowed", 111: "PLMN not allowed",
    112: "location area not allowed", 113: "roaming not allowed in this location area",
    132: "service option not supported", 133: "requested service option not subscribed",
    134: "service option temporarily out of order", 148: "unspecified GPRS error", 149: "PDP authentication failure",
}


class ModemError(Exception):
    """Base of everything the AT layer raises."""


class AtError(ModemError):
    """The modem answered with a final error result.

    kind: "ERROR", "CME", "CMS", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE", "COMMAND NOT SUPPORT", ...
    code: the numeric +CME/+CMS code when the modem gave one (AT+CMEE=1), else None
    text: the verbose text when the modem gave one (AT+CMEE=2) or the known name of the code
    """

    def __init__(self, command: str, final: str, kind: str, code: int | None = None, text: str | None = None,
                 lines: list[str] | None = None):
        command = redact(command)   # errors end up in logs and MQTT replies
        self.command, self.final, self.kind, self.code, self.text = command, final, kind, code, text
        self.lines = lines or []
        super().__init__(f"{command}: {final}")


class AtTimeout(ModemError):
    """No final result within the command's timeout: the modem is busy, hung, or the line is dead."""

    def __init__(self, command: str, timeout: float, lines: list[str] | None = None):
        command = redact(command)
        self.command, self.timeout, self.lines = command, timeout, lines or []
        super().__init__(f"{command}: no final result within {timeout:g} s")


class TransportError(ModemError):
    """The serial port is gone or unusable (USB re-enumeration, unplug, permission)."""


class ModemRestarted(ModemError):
    """The modem restarted while the command was in flight (RDY, +CFUN: 1 unasked); it may not have run."""


class BusyError(ModemError):
    """Too many commands queued: the caller should back off rather than pile up work behind a hung modem."""
