"""What to expect from a command: its timeout and the prefix of its response lines.

Timeouts are the maximum response times from vendor manuals (Quectel's AT manuals give them per command;
SIMCom and Telit agree within a few seconds). A plain query answers within 300 ms on every modem we know;
5 s leaves room for a modem busy with a network procedure without waiting forever on a hung one.
"""
from __future__ import annotations

import functools
import re

DEFAULT_TIMEOUT_S = 5.0

# First match wins: specific forms before general ones.
_TIMEOUTS: list[tuple[re.Pattern, float]] = [(re.compile(p, re.IGNORECASE), t) for p, t in [
    (r"^AT\+COPS=\?", 180.0),          # network scan: Quectel 180 s
    (r"^AT\+COPS=", 180.0),            # manual / automatic registration
    (r"^AT\+QSCAN", 180.0),
    (r"^AT\+CGACT=", 150.0),           # PDP activation: Quectel 150 s
    (r"^AT\+CGATT=", 140.0),
    (r"^AT\+QNETDEVCTL=", 30.0),
    (r"^AT\+CFUN=", 15.0),             # radio on/off, reset
    (r"^AT\+CMGS", 120.0),             # SMS send over the air
    (r"^AT\+CMGL", 30.0),              # a full SIM's worth of messages
    (r"^AT\+(QUIMSLOT|QDSIM)=", 15.0),  # SIM slot switch re-reads the SIM
    (r"^AT\+(CPIN|CLCK|CPWD)", 5.0),
    (r"^AT\+QPOWD", 60.0),
]]

# Commands whose answer lines carry no "+CMD:" prefix (identity, SMS text bodies, vendor multi-line reports).
_RAW = re.compile(
    r"^AT(I\d*|\+C?G(SN|MI|MM|MR)|\+CIMI|\+CCID|\+QCCID|\+CICCID|\^ICCID|#CCID|\+ICCID|\+CMGR|\+CMGL|!.*|&V|\+GCAP)",
    re.IGNORECASE)
_PREFIX = re.compile(r"^([+^#$%*!][A-Z0-9]+)", re.IGNORECASE)


@functools.lru_cache(maxsize=512)   # an agent sends the same few dozen commands all day
def default_timeout(command: str) -> float:
    for pattern, seconds in _TIMEOUTS:
        if pattern.match(command):
            return seconds
    return DEFAULT_TIMEOUT_S


@functools.lru_cache(maxsize=512)
def expected_prefixes(command: str) -> tuple[str, ...] | None:
    """Prefixes of the lines that answer `command`, e.g. ("+CSQ:",), or None when the answer is raw lines.

    `AT+CSQ;+CREG?` answers with both prefixes. A set command (AT+CFUN=1) has a prefix too: it is harmless, as
    only lines starting with it are taken as part of the answer.
    """
    text = command.strip()
    if not text[:2].upper() == "AT":
        return None
    if _RAW.match(text):
        return None
    prefixes = []
    for part in text[2:].split(";"):
        m = _PREFIX.match(part.strip())
        if not m:
            return None if not prefixes else tuple(prefixes)
        prefixes.append(m.group(1).upper() + ":")
    return tuple(prefixes) or None
