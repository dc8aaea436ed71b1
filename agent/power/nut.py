"""The NUT network protocol, client side: what relais needs of it and no more.

Why speak it ourselves rather than run `upsc`: one request and a line format (docs/net-protocol.txt of NUT) are
a few dozen lines, where `upsc` would be a process spawned every few seconds on a 128 MB router and a package
the router must carry (nut-client) only for that. The server (`upsd`) may be on this router or on the box the UPS
is plugged into; either way it is reached over TCP, port 3493.

    LIST VAR <ups>      ->  BEGIN LIST VAR <ups> / VAR <ups> <name> "<value>" ... / END LIST VAR <ups>
                        or  ERR <CODE>   (UNKNOWN-UPS, DATA-STALE, DRIVER-NOT-CONNECTED, ACCESS-DENIED ...)

The parsing is pure (parse_var_list, reading_of); NutClient only moves the bytes. Every problem is a NutError with
one line that says what was wrong: the server unreachable, the UPS unknown to it, an answer that is not NUT.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass

MAX_ANSWER = 64 * 1024     # a UPS has ~50 variables (~3 KB): more is not a NUT server we understand
MAX_LINE = 1024


class NutError(Exception):
    """The reading failed; str() is the one line for the log."""


@dataclass(frozen=True)
class Reading:
    """What the UPS said. `status`: ups.status' flags, e.g. ("OL", "CHRG") or ("OB", "LB")."""
    status: tuple[str, ...]
    charge_pct: float | None = None       # battery.charge
    runtime_s: float | None = None        # battery.runtime: seconds left on battery, as the UPS estimates it

    @property
    def on_battery(self) -> bool:
        return "OB" in self.status

    @property
    def on_line(self) -> bool:
        return "OL" in self.status and "OB" not in self.status

    @property
    def battery_low(self) -> bool:
        return "LB" in self.status


def _unquote(text: str) -> str | None:
    """A NUT quoted value ("with \\" and \\\\ escaped") -> its text; None when it is not one."""
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return None
    out, escaped = [], False
    for c in text[1:-1]:
        if escaped:
            out.append(c)
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == '"':
            return None
        else:
            out.append(c)
    return None if escaped else "".join(out)


def parse_var_list(lines: list[str], ups: str) -> dict[str, str]:
    """The answer to LIST VAR <ups>, line by line, into {name: value}. NutError for ERR or anything else."""
    if not lines:
        raise NutError("the NUT server closed the connection without an answer")
    first = lines[0]
    if first.startswith("ERR "):
        raise NutError(_err(first[4:].strip(), ups))
    if first != f"BEGIN LIST VAR {ups}":
        raise NutError(f"the answer is not NUT's (expected BEGIN LIST VAR {ups}, got {_show(first)})")
    values: dict[str, str] = {}
    for line in lines[1:]:
        if line == f"END LIST VAR {ups}":
            return values
        head, _, rest = line.partition(" ")
        ups_name, _, rest = rest.partition(" ")
        name, _, quoted = rest.partition(" ")
        value = _unquote(quoted)
        if head != "VAR" or ups_name != ups or not name or value is None:
            raise NutError(f"the answer is not NUT's (expected VAR {ups} <name> \"<value>\", got {_show(line)})")
        values[name] = value
    raise NutError(f"the NUT server's answer ended before END LIST VAR {ups}")


def reading_of(values: dict[str, str]) -> Reading:
    status = values.get("ups.status")
    if status is None:
        raise NutError("the UPS reports no ups.status")
    flags = tuple(status.split())
    if not flags or not all(f.isalnum() and f.isupper() for f in flags):
        raise NutError(f"ups.status is not a NUT status: {_show(status)}")
    return Reading(flags, _number(values.get("battery.charge")), _number(values.get("battery.runtime")))


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and 0 <= value < 1e9 else None


_ERRORS = {"UNKNOWN-UPS": "the NUT server knows no UPS named {ups}",
           "DATA-STALE": "the NUT server has no fresh data from UPS {ups} (its driver lost the UPS)",
           "DRIVER-NOT-CONNECTED": "UPS {ups}'s driver is not running on the NUT server",
           "ACCESS-DENIED": "the NUT server refuses this client (upsd.conf LISTEN / ACL)"}


def _err(code: str, ups: str) -> str:
    return _ERRORS.get(code.split(" ")[0], "the NUT server answered ERR {code}").format(ups=ups, code=_show(code))


def _show(text: str) -> str:
    return repr(text[:60] + ("…" if len(text) > 60 else ""))


class NutClient:
    """One connection per reading: nothing to keep alive or re-establish when upsd restarts."""

    def __init__(self, ups: str, host: str, port: int, timeout_s: float = 3.0):
        self.ups, self.host, self.port, self.timeout_s = ups, host, port, timeout_s

    def read(self) -> Reading:
        return reading_of(parse_var_list(self._ask(f"LIST VAR {self.ups}"), self.ups))

    def _ask(self, request: str) -> list[str]:
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout_s) as s:
                s.sendall(request.encode("ascii") + b"\n")
                return self._lines(s)
        except socket.timeout:
            raise NutError(f"the NUT server {self.host}:{self.port} did not answer within {self.timeout_s:g} s") \
                from None
        except OSError as e:
            raise NutError(f"the NUT server {self.host}:{self.port} cannot be reached "
                           f"({e.strerror or type(e).__name__})") from None
        except (UnicodeError, ValueError) as e:     # a host name IDNA cannot encode, say
            raise NutError(f"the NUT server {self.host!r} cannot be reached ({e})") from None

    def _lines(self, s: socket.socket) -> list[str]:
        data, lines = b"", []
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return lines + ([_decode(data)] if data.strip() else [])
            data += chunk
            if len(data) > MAX_ANSWER:
                raise NutError(f"the NUT server's answer is over {MAX_ANSWER} bytes: not NUT")
            while b"\n" in data:
                raw, data = data.split(b"\n", 1)
                if len(raw) > MAX_LINE:
                    raise NutError("the NUT server sent a line over 1 KB: not NUT")
                line = _decode(raw)
                lines.append(line)
                if line.startswith("ERR ") or line.startswith("END LIST VAR "):
                    return lines
            if len(data) > MAX_LINE:
                raise NutError("the NUT server sent a line over 1 KB: not NUT")


def _decode(raw: bytes) -> str:
    return raw.rstrip(b"\r").decode("utf-8", "replace")
