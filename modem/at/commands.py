"""What to expect from a command: its canonical name (normalize_command) and the prefix of its response lines.

How long a command may take is the vendor plugin's (modem/vendors: the 3GPP table, extended per vendor); the
engine and port stay vendor-free and take a `timeout_for` policy from whoever knows the modem.
"""
from __future__ import annotations

import functools
import re

# A plain query answers within 300 ms on every modem we know; 5 s leaves room for a modem busy with a network
# procedure without waiting forever on a hung one. Used when no policy knows the command better.
DEFAULT_TIMEOUT_S = 5.0


def no_policy(command: str) -> float:
    """The timeout policy of a port nobody has told about its modem."""
    return DEFAULT_TIMEOUT_S


def normalize_command(command: str | None) -> str | None:
    """'AT+QENG="servingcell"' -> '+QENG="servingcell"', 'at+csq' -> '+CSQ', 'ATI' -> 'I', 'AT+COPS=?' ->
    '+COPS=?'. Names are uppercased; quoted arguments lowercased; spaces outside quotes removed."""
    if command is None:
        return None
    s = str(command).strip().strip("\r\n")
    if not s:
        return None
    if s[:2].upper() == "AT":
        s = s[2:]
    out, in_q = [], False
    for ch in s:
        if ch == '"':
            in_q = not in_q
            out.append(ch)
        elif in_q:
            out.append(ch.lower())
        elif not ch.isspace():
            out.append(ch.upper())
    s = "".join(out)
    return s or None


# Commands whose answer lines carry no "+CMD:" prefix (identity, SMS text bodies, vendor multi-line reports).
_RAW = re.compile(
    r"^AT(I\d*|\+C?G(SN|MI|MM|MR)|\+CIMI|\+CCID|\+QCCID|\+CICCID|\^ICCID|#CCID|\+ICCID|\+CMGR|\+CMGL|!.*|&V|\+GCAP)",
    re.IGNORECASE)
_PREFIX = re.compile(r"^([+^#$%*!][A-Z0-9]+)", re.IGNORECASE)


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
