"""Gathering what `relais doctor` judges: the file system, /proc, systemd, the kernel clock, and the modem — from
the running agent through its console socket, or on the serial port when no agent holds it. All the IO of the
doctor is here; agent/doctor/checks.py turns the results into verdicts.

Everything read here comes from outside (another process's answer, a modem, a file): it is checked for shape
and a surprise becomes a fact ("no answer", None), never a traceback.
"""
from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from agent.doctor.checks import (BY_ID_DIR, PLAUSIBLE_AFTER, SERIAL_GROUP, SERVICE_USER, UDEV_NAME, Account,
                                 ClockFacts, FileFacts, ModemFacts, PortFacts, ServiceFacts)

AGENT_TIMEOUT_S = 15.0     # a fresh reading through the agent waits behind a poll in flight (AT timeouts are ~5 s)


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# ---- files and accounts -----------------------------------------------------------------------------------------

def file_facts(path: str | os.PathLike) -> FileFacts:
    try:
        s = os.stat(path)
    except OSError:
        return FileFacts(exists=False)
    try:
        owner = pwd.getpwuid(s.st_uid).pw_name
    except KeyError:
        owner = ""
    try:
        group = grp.getgrgid(s.st_gid).gr_name
    except KeyError:
        group = ""
    return FileFacts(True, os.path.isdir(path), s.st_mode & 0o7777, s.st_uid, s.st_gid, owner, group)


def agent_account() -> Account:
    """The service user when the package created it (the agent runs as it), else the user running the doctor
    (a trial run from a checkout runs as whoever starts it)."""
    try:
        user = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        me = os.getuid()
        try:
            name = pwd.getpwuid(me).pw_name
        except KeyError:
            name = str(me)
        return Account(name, me, frozenset(os.getgroups()) | {os.getgid()})
    gids = {user.pw_gid} | {g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem}
    try:
        gids.add(grp.getgrnam(SERIAL_GROUP).gr_gid)     # relais.service: SupplementaryGroups=dialout
    except KeyError:
        pass
    return Account(user.pw_name, user.pw_uid, frozenset(gids))


def free_space(path: str) -> tuple[int | None, str]:
    """Bytes an unprivileged writer may still use at `path` (or its nearest existing parent)."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).free, ""
    except OSError as e:
        return None, e.strerror or str(e)


# ---- the serial port --------------------------------------------------------------------------------------------

def port_facts(path: str, by_id_dir: str = BY_ID_DIR, udev_name: str = UDEV_NAME) -> PortFacts:
    from agent.probe_cli import port_holders      # one scan of /proc for both `modem probe` and the doctor
    try:
        device = os.path.realpath(path, strict=True)
    except OSError:
        return PortFacts(path, exists=False)
    candidates = [udev_name]
    try:
        candidates += [os.path.join(by_id_dir, entry) for entry in sorted(os.listdir(by_id_dir))]
    except OSError:                                # no USB serial device at all: no such directory
        pass
    stable = tuple(name for name in candidates if os.path.realpath(name) == device)
    return PortFacts(path, True, device, stable, tuple(port_holders(path)), file_facts(device))


def agent_absent(socket_path: str) -> bool:
    """No agent listens on its console socket: no socket file, or a stale one nobody accepts on. False when one
    may be there but would not talk to us (permission denied, busy): then its serial port must not be opened,
    whatever /proc shows (a user other than root cannot see another user's open files)."""
    import socket
    if not os.path.exists(socket_path):
        return True
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2.0)
        try:
            s.connect(socket_path)
        except ConnectionRefusedError:
            return True
        except OSError:
            return False
    return False


# ---- the modem --------------------------------------------------------------------------------------------------

def _model(modem: dict[str, Any]) -> str:
    return " ".join(x for x in (_text(modem.get("manufacturer")), _text(modem.get("model"))) if x)


def _settings(config) -> dict[str, Any]:
    return {"pin_configured": config.modem.pin is not None, "cold_standby": config.failover.standby == "cold",
            "data_enabled": config.cellular.data}


def modem_from_agent(status: Any, fresh: dict[str, Any] | None, fresh_error: str | None, config) -> ModemFacts:
    """From the agent's "status" answer (its state) and a fresh reading it made for us (command "signal_now"):
    the fresh one says whether the modem answers *now*; the state says what the agent has seen."""
    state = _map(_map(status).get("state"))
    modem, cellular = _map(state.get("modem")), _map(state.get("cellular"))
    trouble = _map(cellular.get("ladder")).get("trouble")
    answers = bool(modem.get("connected")) and fresh_error is None and trouble not in ("port_gone", "unresponsive")
    error = fresh_error or (f"the agent sees the modem {trouble}" if trouble in ("port_gone", "unresponsive")
                            else None if modem.get("connected") else "the agent has not reached it (port closed)")
    reading = _map(fresh) if fresh is not None else modem
    data = _map(cellular.get("data")) if isinstance(cellular.get("data"), dict) else None
    slots = cellular.get("sim_slots") if isinstance(cellular.get("sim_slots"), list) else []
    sim_slot = reading.get("sim_slot") if isinstance(reading.get("sim_slot"), int) else None
    return ModemFacts(
        via="agent", answers=answers, error=None if answers else error, model=_model(modem),
        sim_state=_text(reading.get("sim_state")) or _text(modem.get("sim_state")),
        sim_slot=sim_slot, registration=_text(reading.get("registration")) or _text(modem.get("registration")),
        operator=_text(modem.get("operator_name")), rat=_text(reading.get("rat")) or _text(modem.get("rat")),
        signal=_map(reading.get("signal")), data=data, **_settings(config),
        other_slots=tuple(s for s in slots if isinstance(s, int) and not isinstance(s, bool) and s != sim_slot))


def modem_from_port(config, settle_s: float | None = None) -> ModemFacts:
    """Open the port (nobody else holds it: the caller checked) and ask the modem, waiting for a modem that just
    restarted to settle as `relais modem probe` does."""
    from agent.probe_cli import SETTLE_S
    from modem.at import AtPort, ModemError
    from modem.device import ModemDevice
    try:
        with AtPort(config.modem.port, config.modem.baud, reopen_max_s=1.0) as port:
            info = _probe_settled(port, SETTLE_S if settle_s is None else settle_s, config.modem.vendor)
            device = ModemDevice(port, info.get("vendor"))
            data = None
            if info.get("registration") in ("home", "roaming"):
                try:
                    address = device.data_address(config.cellular.pdp_cid)
                except ModemError:
                    address = None
                data = {"up": bool(address), "address": address}
            try:
                clock_utc = device.clock().get("clock_utc")
            except ModemError:
                clock_utc = None
    except ModemError as e:
        return ModemFacts(via="port", answers=False, error=str(e), **_settings(config))
    return ModemFacts(
        via="port", answers=True, model=_model(info), sim_state=_text(info.get("sim_state")),
        sim_slot=info.get("slot") if isinstance(info.get("slot"), int) else None,
        registration=_text(info.get("registration")), operator=_text(info.get("operator")),
        rat=_text(info.get("rat")), signal=_map(info.get("signal")), data=data,
        clock_utc=clock_utc if isinstance(clock_utc, float) and clock_utc > PLAUSIBLE_AFTER else None,
        **_settings(config))


def _probe_settled(port, settle_s: float, vendor: str):
    """modem.device.probe, again while the modem says it restarted (RDY cuts the first commands short)."""
    from modem.at.errors import ModemRestarted
    from modem.device import probe
    deadline = time.monotonic() + settle_s
    while True:
        try:
            return probe(port, vendor)
        except ModemRestarted:
            if time.monotonic() >= deadline:
                raise
            port.wait_connected(max(0.0, deadline - time.monotonic()))


# ---- clock and service ------------------------------------------------------------------------------------------

def clock_facts(status: Any, now: float, modem_clock_utc: float | None = None) -> ClockFacts:
    """From the running agent's time state, or (agent stopped) the modem's clock read on the port just now."""
    from agent.timesource import kernel_ntp_synced
    time_state = _map(_map(_map(status).get("state")).get("time"))
    offset = time_state.get("modem_offset_s")
    if status is None and modem_clock_utc is not None:
        offset = round(modem_clock_utc - now, 1)
    return ClockFacts(now=now, ntp_synced=kernel_ntp_synced(), agent_source=_text(time_state.get("source")),
                      modem_offset_s=float(offset) if isinstance(offset, (int, float)) and not isinstance(
                          offset, bool) else None)


SYSTEMD_RUNNING = "/run/systemd/system"   # sd_booted(): this directory exists when systemd is PID 1


def service_facts(unit: str = "relais.service", systemd_dir: str = SYSTEMD_RUNNING) -> ServiceFacts:
    if not os.path.isdir(systemd_dir) or shutil.which("systemctl") is None:
        return ServiceFacts(systemd=False)
    try:
        out = subprocess.run(["systemctl", "show", unit, "--property=LoadState,ActiveState,WatchdogUSec,Type,"
                              "NRestarts"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ServiceFacts(systemd=True)
    return parse_systemctl_show(out)


def parse_systemctl_show(text: str) -> ServiceFacts:
    """`systemctl show -p ...` output: KEY=VALUE lines. WatchdogUSec is microseconds (older systemd) or a time
    span ("30s", "1min 30s", "infinity")."""
    props = dict(line.partition("=")[::2] for line in text.splitlines() if "=" in line)
    restarts = props.get("NRestarts", "0")
    return ServiceFacts(systemd=True, loaded=props.get("LoadState") == "loaded",
                        active=props.get("ActiveState", ""), watchdog_usec=_usec(props.get("WatchdogUSec", "0")),
                        service_type=props.get("Type", ""), restarts=int(restarts) if restarts.isdigit() else 0)


_SPAN_US = {"us": 1, "ms": 1000, "s": 1_000_000, "min": 60_000_000, "h": 3_600_000_000}


def _usec(span: str) -> int:
    span = span.strip()
    if span.isdigit():
        return int(span)
    if span in ("", "infinity", "0"):
        return 0
    total = 0
    for word in span.split():
        number = word.rstrip("abcdefghijklmnopqrstuvwxyz")
        unit = word[len(number):]
        try:
            total += int(float(number) * _SPAN_US[unit])
        except (ValueError, KeyError):
            return 0
    return total
