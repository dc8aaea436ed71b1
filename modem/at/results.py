"""Final result codes: which line ends a command, and whether it succeeded.

V.250 and 27.007 finals plus what vendors add. A line is a final result only when it is one of these exactly
(or CONNECT with a rate): "+CME ERROR: 10" ends a command, "+CMERROR" in the middle of a text does not.
"""
from __future__ import annotations

import re

from modem.at.errors import CME_TEXT, AtError

_SUCCESS = re.compile(r"^(OK|CONNECT(\s+.*)?)$")
_CME = re.compile(r"^\+(CME|CMS) ERROR:\s*(.*)$", re.IGNORECASE)
# Error finals without parameters. "COMMAND NOT SUPPORT" and "TOO MANY PARAMETERS" are Huawei's.
_PLAIN_ERRORS = {"ERROR", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE", "COMMAND NOT SUPPORT",
                 "TOO MANY PARAMETERS"}


def is_final(line: str) -> bool:
    return bool(_SUCCESS.match(line)) or line in _PLAIN_ERRORS or bool(_CME.match(line))


def is_success(line: str) -> bool:
    return bool(_SUCCESS.match(line))


def to_error(command: str, final: str, lines: list[str] | None = None) -> AtError:
    m = _CME.match(final)
    if not m:
        return AtError(command, final, final, lines=lines)
    kind, detail = m.group(1).upper(), m.group(2).strip().strip('"')
    if detail.isdigit():
        code = int(detail)
        text = CME_TEXT.get(code) if kind == "CME" else None
        return AtError(command, final, kind, code=code, text=text, lines=lines)
    # AT+CMEE=2: verbose text; map back to a code where we know it so callers can switch on codes only.
    code = next((c for c, t in CME_TEXT.items() if t.lower() == detail.lower()), None) if kind == "CME" else None
    return AtError(command, final, kind, code=code, text=detail or None, lines=lines)
