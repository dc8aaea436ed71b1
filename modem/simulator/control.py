"""The simulator's control protocol: one line of text per request on a Unix stream socket at <link>.ctl,
one line back.

    -> hang 5\\n                 -> sms-in +33639980001 'hello world'\\n
    <- ok: hanging for 5 s\\n    <- error: sms-in: the modem is not registered, ...\\n

Arguments are shell-quoted (shlex), so a text with spaces survives the trip.
"""
from __future__ import annotations

import shlex
import socket

MAX_REQUEST = 4096
TIMEOUT = 10.0


class NoSimulator(OSError):
    """Nothing listens at that control socket."""


def ctl_path(link: str) -> str:
    return link + ".ctl"


def format_request(fault: str, args: list[str] | tuple[str, ...]) -> str:
    return " ".join(shlex.quote(str(x)) for x in (fault, *args))


def parse_request(line: str) -> tuple[str, list[str]]:
    """ValueError on an empty or badly quoted line."""
    words = shlex.split(line)
    if not words:
        raise ValueError("empty request")
    return words[0], words[1:]


def ok(text: str) -> str:
    return "ok: " + " ".join(text.split())


def error(text: str) -> str:
    return "error: " + " ".join(str(text).split())


def request(link: str, fault: str, args: list[str] | tuple[str, ...] = (), timeout: float = TIMEOUT) -> str:
    """Send one fault to the simulator linked at `link`, return its reply line ('ok: ...' / 'error: ...').

    Raises NoSimulator when no simulator listens there, TimeoutError when it does not answer."""
    path = ctl_path(link)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        try:
            s.connect(path)
        except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError) as e:
            raise NoSimulator(f"no simulator runs at {link} ({path}: {e.strerror})") from None
        s.sendall((format_request(fault, args) + "\n").encode())
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
            if len(buf) > MAX_REQUEST:
                break
    except socket.timeout:
        raise TimeoutError(f"the simulator at {link} did not answer within {timeout:g} s") from None
    finally:
        s.close()
    line = buf.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    if not line:
        raise NoSimulator(f"the simulator at {link} closed the connection without answering")
    return line
