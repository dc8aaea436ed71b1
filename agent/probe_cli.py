"""`relais modem probe`: identify the modem, SIM, registration and signal on a port."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from modem.at import AtPort, ModemError
from modem.at.errors import ModemRestarted
from modem.device import probe

# A modem that just booted says RDY (and more) once the port is opened, cutting the first commands short; it
# settles within seconds. Past this, a modem that keeps restarting is the answer.
SETTLE_S = 20.0


def port_holders(port: str, proc: Path = Path("/proc")) -> list[tuple[int, str]]:
    """Other processes with the port open: (pid, command line). Two readers on one tty steal each other's answers.

    The far end of a pty (the simulator holds the master) is not a competing reader: a process holding the
    master whose tty-index is this pts is left out."""
    try:
        device = os.path.realpath(port, strict=True)
    except OSError:
        return []                                  # opening it will say what is wrong
    if not device.startswith(("/dev/tty", "/dev/pts/")):
        return []                                  # not a serial port (/dev/null, a file): nobody competes for it
    pts_index = device.rsplit("/", 1)[1] if device.startswith("/dev/pts/") else None
    holders = []
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) == os.getpid():
            continue
        holds = pty_owner = False
        try:
            for fd in (pid_dir / "fd").iterdir():
                target = os.readlink(fd)
                holds |= target == device
                if pts_index is not None and target == "/dev/ptmx":
                    info = (pid_dir / "fdinfo" / fd.name).read_text()
                    pty_owner |= f"tty-index:\t{pts_index}\n" in info
            if holds and not pty_owner:
                cmdline = (pid_dir / "cmdline").read_bytes().decode(errors="replace")
                holders.append((int(pid_dir.name), " ".join(cmdline.replace("\0", " ").split()) or "?"))
        except OSError:                            # gone meanwhile, or another user's process we cannot read
            continue
    return holders


def run_probe(args) -> int:
    holders = port_holders(args.port)
    if holders:
        said = ", ".join(f"PID {pid} ({cmd[:80]})" for pid, cmd in holders)
        print(f"relais modem probe: {args.port}: port in use by {said}; stop it first "
              f"(the agent: systemctl stop relais)", file=sys.stderr)
        return 1
    try:
        port = AtPort(args.port, args.baud, reopen_max_s=1.0)
        try:
            port.start(wait_open_s=max(0.0, args.wait))
            info = _probe_settled(port, args.port)
        finally:
            port.close()
    except ModemError as e:
        print(f"relais modem probe: {args.port}: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(info, indent=None, sort_keys=False))
        return 0
    for key, value in info.items():
        if key == "signal":
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
        print(f"{key:>13}: {'-' if value is None else value}")
    return 0


def _probe_settled(port: AtPort, name: str) -> dict:
    deadline = time.monotonic() + SETTLE_S
    said = False
    while True:
        try:
            return probe(port)
        except ModemRestarted:
            if time.monotonic() >= deadline:
                raise
            if not said:
                print(f"relais modem probe: {name}: the modem is starting; waiting up to {SETTLE_S:.0f} s for it "
                      f"to settle", file=sys.stderr)
                said = True
            port.wait_connected(max(0.0, deadline - time.monotonic()))
