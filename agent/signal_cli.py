"""`relais signal [--watch]`: RSRP, RSRQ, SINR, band and cell with a bar and a plain verdict, for the technician
moving the antenna. One line per reading (every second with --watch), so that the trend stays on the screen and
on a serial console that cannot redraw.

Through the running agent's console socket (command "signal_now": the agent reads the modem for us; the port
stays the agent's), else directly on the serial port when nobody holds it. The verdict is the doctor's table
(agent/doctor/radio.py), so both commands always agree.

Here and not in agent/console/: the console package is the socket (protocol, server, client) and its agent-side
commands; this is a client of it like `relais doctor`, with a fallback that has nothing to do with the socket.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable

from agent.doctor import radio
from agent.doctor.checks import describe_signal, short_command

EXIT_OK, EXIT_NO_READING, EXIT_CONFIG = 0, 1, 2
READ_TIMEOUT_S = 10.0        # one reading through the agent; a hung modem answers within its AT timeout


class NoReading(Exception):
    """Neither the agent nor the port can be asked: one line saying why."""


Reader = Callable[[], dict[str, Any]]


def line(reading: dict[str, Any], clock: str) -> str:
    """'12:00:01  [##########          ] good       RSRP -95 dBm, RSRQ -11 dB, SINR 12 dB, band B3, cell A1B2C3'"""
    signal = reading.get("signal") if isinstance(reading.get("signal"), dict) else {}
    j = radio.judge(signal)
    where = reading.get("registration")
    reg = "" if where in ("home", "roaming", None) else f"  ({str(where).replace('_', ' ')})"
    return f"{clock}  {radio.bar(signal)} {j.verdict:<9}  {describe_signal(signal)}{reg}"


def watch(read: Reader, out, count: int | None, interval_s: float, now: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], None] = time.sleep, wall: Callable[[], float] = time.time) -> int:
    """Print `count` readings (None: until Ctrl-C), one every interval_s; the advice when the verdict changes to
    one that has some. Exit status: 0 when the last reading was a signal, 1 when it was not."""
    last_verdict: tuple[str, str] | None = None
    got = False
    n = 0
    next_at = now()
    while count is None or n < count:
        clock = time.strftime("%H:%M:%S", time.localtime(wall()))
        try:
            reading = read()
        except NoReading as e:
            print(f"{clock}  {e}", file=out, flush=True)
            got = False
        else:
            print(line(reading, clock), file=out, flush=True)
            grade = radio.judge(reading.get("signal") if isinstance(reading.get("signal"), dict) else {}).grade
            if (grade.verdict, grade.advice) != last_verdict and grade.advice:
                print(f"{'':8}  -> {grade.advice}", file=out, flush=True)
            last_verdict = (grade.verdict, grade.advice)
            got = grade is not radio.NO_SIGNAL
        n += 1
        if count is not None and n >= count:
            break
        next_at += interval_s
        sleep(max(0.0, next_at - now()))
    return EXIT_OK if got else EXIT_NO_READING


# ---- where readings come from -----------------------------------------------------------------------------------

def agent_reader(path: str, first_answer: dict[str, Any] | None = None) -> Reader:
    """Readings from the agent through its socket; an agent without "signal_now" gives its last poll ("signal")."""
    from agent.console.client import ConsoleUnavailable, ask
    command = ["signal_now"]

    def read() -> dict[str, Any]:
        try:
            answer = ask(path, command[0], timeout=READ_TIMEOUT_S)
        except ConsoleUnavailable as e:
            raise NoReading(f"the agent does not answer: {e.reason}") from None
        if not answer.get("ok") and str(answer.get("error", "")).startswith("unknown command") \
                and command[0] == "signal_now":
            command[0] = "signal"
            return read()
        if not answer.get("ok") or not isinstance(answer.get("result"), dict):
            raise NoReading(str(answer.get("error") or "the agent gave no reading"))
        result = answer["result"]
        if command[0] == "signal":        # the flat form of the console's "signal" command
            return {"registration": result.get("registration"), "signal": result}
        return result
    return read


def port_reader(port, vendor: str | None = None) -> Reader:
    """Readings on the serial port (nobody else holds it: checked by the caller)."""
    from modem.at import ModemError
    from modem.device import ModemDevice
    device: list[Any] = []

    def read() -> dict[str, Any]:
        try:
            if not device:
                dev = ModemDevice(port, vendor)
                dev.initialize()
                dev.identify()
                device.append(dev)
            dev = device[0]
            return {**dev.registration(), "signal": dev.signal()}
        except ModemError as e:
            device.clear()               # a modem that restarted needs initialize() again
            raise NoReading(f"the modem does not answer: {e}") from None
    return read


def run_signal(args) -> int:
    from agent.config import ConfigError, load_or_defaults
    from agent.console.client import ConsoleUnavailable, ask
    from agent.console.protocol import socket_path
    try:
        config = load_or_defaults(args.config)
    except ConfigError as e:
        print(f"relais: {e}", file=sys.stderr)
        return EXIT_CONFIG
    if args.count is not None and args.count < 1 or not 0.1 <= args.interval <= 3600:
        print("relais signal: --count must be at least 1, --interval between 0.1 and 3600 s", file=sys.stderr)
        return EXIT_CONFIG
    count = args.count if args.count is not None else (None if args.watch else 1)
    socket = str(socket_path(config.console.socket, config.storage.dir))
    try:
        ask(socket, "signal", timeout=READ_TIMEOUT_S)    # the last poll, at once: is the agent there?
    except ConsoleUnavailable as e:
        agent_said = e.reason
    else:
        print(f"relais signal: through the agent ({socket}){'; Ctrl-C to stop' if count is None else ''}",
              file=sys.stderr)
        return watch(agent_reader(socket), sys.stdout, count, args.interval)
    from agent.doctor.facts import agent_absent
    if not agent_absent(socket):
        print(f"relais signal: {agent_said}; the agent holds {config.modem.port}: not opening it",
              file=sys.stderr)
        return EXIT_NO_READING
    return _on_port(config, agent_said, count, args.interval)


def _on_port(config, agent_said: str, count: int | None, interval_s: float) -> int:
    from agent.probe_cli import port_holders
    from modem.at import AtPort, ModemError
    name = config.modem.port
    if not os.path.exists(name):
        print(f"relais signal: {agent_said}; and {name} does not exist: is the modem powered and plugged in?",
              file=sys.stderr)
        return EXIT_NO_READING
    holders = port_holders(name)
    if holders:
        said = ", ".join(f"PID {pid} ({short_command(cmd)})" for pid, cmd in holders)
        print(f"relais signal: {name} is in use by {said}, and the agent's console does not answer "
              f"({agent_said})", file=sys.stderr)
        return EXIT_NO_READING
    print(f"relais signal: {agent_said}; asking the modem on {name}"
          f"{'; Ctrl-C to stop' if count is None else ''}", file=sys.stderr)
    try:
        with AtPort(name, config.modem.baud, reopen_max_s=1.0) as port:
            return watch(port_reader(port, config.modem.vendor), sys.stdout, count, interval_s)
    except ModemError as e:
        said = str(e) if str(e).startswith(name) else f"{name}: {e}"
        print(f"relais signal: {said}", file=sys.stderr)
        return EXIT_NO_READING

