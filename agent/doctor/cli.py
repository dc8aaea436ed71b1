"""`relais doctor [--config FILE] [--json]`: every check, OK / WARN / FAIL with what to do; exit 1 on any FAIL.

With the agent running, the modem is asked through the agent's console socket (the agent holds the serial port;
a second reader would steal its answers); with it stopped, on the port directly.
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from agent.config import DEFAULT_PATH
from agent.doctor import checks
from agent.doctor.check import Check, Level

EXIT_OK, EXIT_FAIL = 0, 1


def gather(config_path: str, explicit: bool) -> tuple[list[Check], str | None]:
    """All the checks, in the order a technician works through them, and how the modem was asked."""
    from agent.config import Config, ConfigError, load, problems_in
    from agent.doctor import facts
    found: list[Check] = []
    config = None
    defaults = not explicit and not os.path.exists(config_path)
    if defaults:
        config = Config()
        found.append(checks.check_config(config_path, None, defaults_only=True))
    else:
        try:
            problems = problems_in(config_path)
            if not problems:
                config = load(config_path)
            found.append(checks.check_config(config_path, problems))
        except ConfigError as e:
            unreadable = os.path.exists(config_path) and not os.access(config_path, os.R_OK)
            found.append(checks.check_config(config_path, None, error=str(e), unreadable=unreadable))
    if config is None:     # what follows reads the configuration: only the checks that do not are left
        found += [checks.check_clock(facts.clock_facts(None, time.time())),
                  checks.check_watchdog(facts.service_facts())]
        return found, None

    account = facts.agent_account()
    if not defaults:
        found.append(checks.check_config_file(config_path, facts.file_facts(config_path), account,
                                              secrets=_has_secrets(config)))
    found.append(checks.check_storage_dir(config.storage.dir, facts.file_facts(config.storage.dir), account))

    socket_path, status, fresh, fresh_error, agent_error = _ask_agent(config)
    running = status is not None
    found.append(checks.check_agent(socket_path, running, agent_error))
    port = facts.port_facts(config.modem.port)
    found += [checks.check_port(port, account), checks.check_port_users(port, running)]

    modem, why_not = None, ""
    if running:
        modem = facts.modem_from_agent(status, fresh, fresh_error, config)
    elif not port.exists:
        why_not = f"no {config.modem.port}"
    elif not facts.agent_absent(socket_path):
        why_not = f"an agent may hold {config.modem.port} ({agent_error}): not opened"
    elif port.holders:
        why_not = f"{config.modem.port} is in use: not opened (two readers steal each other's answers)"
    else:
        modem = facts.modem_from_port(config)
    found += [checks.check_modem(modem, why_not), checks.check_sim(modem), checks.check_registration(modem),
              checks.check_signal(modem), checks.check_data(modem)]

    from agent.doctor.broker import probe_broker
    found.append(checks.check_broker(probe_broker(config.mqtt, config.device.id)))
    found.append(checks.check_clock(facts.clock_facts(status, time.time(),
                                                      modem.clock_utc if modem is not None else None)))
    free, error = facts.free_space(config.storage.dir)
    found.append(checks.check_space(config.storage.dir, free, error))
    found.append(checks.check_watchdog(facts.service_facts()))
    return found, (modem.via if modem is not None else None)


def _has_secrets(value) -> bool:
    """Whether the configuration holds a secret (a PIN, a password, a key): every Secret field, wherever it is."""
    from dataclasses import fields, is_dataclass
    from agent.config import Secret
    if isinstance(value, Secret):
        return bool(value)
    if isinstance(value, tuple):
        return any(_has_secrets(v) for v in value)
    if is_dataclass(value):
        return any(_has_secrets(getattr(value, f.name)) for f in fields(value))
    return False


def _ask_agent(config) -> tuple[str, Any, dict | None, str | None, str | None]:
    """(socket, the agent's status or None, a fresh modem reading or None, why the reading failed, why the agent
    did not answer)."""
    from agent.console.client import ConsoleUnavailable, ask
    from agent.console.protocol import socket_path
    from agent.doctor.facts import AGENT_TIMEOUT_S
    path = str(socket_path(config.console.socket, config.storage.dir))
    try:
        answer = ask(path, "status")
    except ConsoleUnavailable as e:
        return path, None, None, None, e.reason
    if not answer.get("ok") or not isinstance(answer.get("result"), dict):
        return path, None, None, None, f"the agent refused the status command ({answer.get('error')})"
    try:
        reading = ask(path, "signal_now", {"sim": True}, timeout=AGENT_TIMEOUT_S)
    except ConsoleUnavailable as e:
        return path, answer["result"], None, e.reason, None
    if reading.get("ok") and isinstance(reading.get("result"), dict):
        return path, answer["result"], reading["result"], None, None
    error = str(reading.get("error"))
    if error.startswith("unknown command"):       # an agent older than the doctor: its last poll will do
        return path, answer["result"], None, None, None
    return path, answer["result"], None, error, None


# ---- output ---------------------------------------------------------------------------------------------------

_COLOURS = {Level.OK: "\033[32m", Level.SKIP: "\033[2m", Level.WARN: "\033[33m", Level.FAIL: "\033[1;31m"}
_RESET = "\033[0m"


def render(found: list[Check], colour: bool = False) -> str:
    width = max(len(c.name) for c in found)
    lines = []
    for c in found:
        tag = f"{c.level.name:<4}"
        if colour:
            tag = _COLOURS[c.level] + tag + _RESET
        lines.append(f"{tag}  {c.name:<{width}}  {c.detail}")
        if c.advice and c.level >= Level.WARN:
            lines.append(f"{'':4}  {'':<{width}}  -> {c.advice}")
    lines.append(summary(found))
    return "\n".join(lines)


def summary(found: list[Check]) -> str:
    fails = sum(c.level == Level.FAIL for c in found)
    warns = sum(c.level == Level.WARN for c in found)
    if not fails and not warns:
        return f"all {len(found)} checks OK"
    counts = ", ".join(f"{n} {word}" for n, word in ((fails, "FAIL"), (warns, "WARN")) if n)
    return f"{counts}: do what the arrows say, then run relais doctor again"


def _colour(stream) -> bool:
    return stream.isatty() and os.environ.get("TERM", "dumb") != "dumb" and "NO_COLOR" not in os.environ


def run_doctor(args) -> int:
    path = args.config or DEFAULT_PATH
    found, via = gather(path, explicit=args.config is not None)
    if args.json:
        print(json.dumps({"config": path, "modem_via": via, "checks": [c.to_json() for c in found],
                          "fail": sum(c.level == Level.FAIL for c in found),
                          "warn": sum(c.level == Level.WARN for c in found)}, indent=1))
    else:
        print(render(found, colour=_colour(sys.stdout)))
    return EXIT_FAIL if any(c.level == Level.FAIL for c in found) else EXIT_OK
