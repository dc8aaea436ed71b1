"""The agent's state on disk, for the people on site: `relais status` on the serial console reads it.

Written atomically (temp file + rename) at most once a second and only when the state changed, so a flash card
is not worn out by a chatty radio; reading it needs no running broker and no privileges (0644: the state holds no
configuration and no secret, only counts and what the modem and links report; a Secret that got in anyway is
written as "***").

While the state stays the same the file is only touched every TOUCH_EVERY_S, so its age says whether the agent is
still alive: `relais status` calls a file older than STALE_AFTER_S a snapshot of a stopped (or hung) agent.
"""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:    # `relais status` imports this module to render: not the config schema (60 ms) nor the core
    from agent.core import Core

log = logging.getLogger(__name__)

WRITE_EVERY_S = 1.0
TOUCH_EVERY_S = 30.0
STALE_AFTER_S = 3 * TOUCH_EVERY_S    # three missed touches: not a slow disk, a stopped agent
MODE = 0o644

# `relais status` exit codes (documented in its --help and the README)
EXIT_LIVE, EXIT_NO_STATUS, EXIT_STALE = 0, 1, 3


class StatusFile:
    def __init__(self, core: "Core", path: Path):
        self.core = core
        self.path = path
        self._last = ""
        self._touched = 0.0
        from agent.mqtt.codec import to_plain   # here, not at the top: `relais status` need not load MQTT code
        self._plain = to_plain
        self._failing: str | None = None   # why the last write failed: said once, not every second
        core.call_every(WRITE_EVERY_S, self._write, first_in=WRITE_EVERY_S)
        core.add_sink(self._remember_event)
        self._events: list[dict[str, Any]] = []
        # the live snapshot, for the console: the same document as the file, without the wait for the next write
        core.register_command("status", lambda args: self.snapshot())

    def _remember_event(self, event) -> None:
        self._events = (self._events + [{"kind": event.kind, "ts": event.ts, "time_source": event.time_source,
                                         "data": event.data}])[-20:]

    def snapshot(self) -> dict[str, Any]:
        """What the file holds: the state and the last events, as plain JSON values."""
        # the MQTT codec's to_plain: a Secret would otherwise be written as its real content (json writes a str
        # subclass's characters), a NaN as the non-JSON `NaN`
        return self._plain({"state": self.core.state, "recent_events": self._events})

    def _write(self, now: float, stopped: bool = False) -> None:
        doc = self.snapshot()
        if stopped:
            doc["stopped"] = True      # `relais status` says so at once, not after STALE_AFTER_S
        text = json.dumps(doc, sort_keys=True, indent=1)
        if text == self._last:
            if now - self._touched >= TOUCH_EVERY_S:
                self._touch(now)
            return
        from agent.config import write_atomically     # loaded by the agent long before; see TYPE_CHECKING above
        try:
            write_atomically(self.path, text, mode=MODE)
        except OSError as e:   # disk full, read-only: `relais status` shows the last state written
            problem = "not a directory" if isinstance(e, FileExistsError) else (e.strerror or str(e))
            if problem != self._failing:
                log.warning("status file %s not written (%s); retrying every %.0f s", self.path, problem,
                            WRITE_EVERY_S)
                self._failing = problem
            return
        if self._failing is not None:
            log.warning("status file %s written again", self.path)
            self._failing = None
        self._last = text
        self._touched = now

    def _touch(self, now: float) -> None:
        try:
            os.utime(self.path)        # the wall clock: the reader compares the file's mtime with its own
        except OSError:                # gone or read-only: the next change rewrites it, or the write says why
            self._last = ""
            return
        self._touched = now

    def stop(self) -> None:
        self._write(self.core.now(), stopped=True)


def _plain_text(role: str, text: str) -> str:
    return text


def render(status: dict[str, Any], paint: Callable[[str, str], str] = _plain_text) -> str:
    """A one-screen summary for an 80-column serial console. `paint(role, text)` may colour a word by its role
    ("good", "bad", "warn"): `relais status` on a terminal does; the file's readers and a serial console do not."""
    # The file is read by a person's command, maybe half-written or edited by hand: any shape renders, with "?".
    state = _map(status.get("state"))
    dev, modem, fo = _map(state.get("device")), _map(state.get("modem")), _map(state.get("failover"))
    cell = _map(state.get("cellular"))
    sig = _map(modem.get("signal"))
    lines = [
        f"relais {dev.get('id', '?')}  {dev.get('site', '')}".rstrip(),
        f"  traffic via : {_via(fo.get('active_uplink', '?'), _map(fo.get('links')), paint)}"
        f"   failover state: {fo.get('state', '?')}"
        f"   mode: {fo.get('mode', '?')}",
    ]
    for link, info in _map(fo.get("links")).items():
        lines.append(f"  {link:<12}: {_link(_map(info), paint)}")
    connected = paint("good", "connected") if modem.get("connected") else paint("bad", "NOT CONNECTED")
    lines += [
        f"  modem       : {modem.get('manufacturer', '?')} {modem.get('model', '')} ({connected})",
        f"  SIM         : slot {modem.get('sim_slot') or cell.get('active_slot') or '?'}, "
        f"{modem.get('sim_state', '?')}, ICCID {modem.get('iccid', '?')}",
        f"  network     : {modem.get('registration', '?')} on {modem.get('operator_name') or '?'} "
        f"({modem.get('mcc', '?')}-{modem.get('mnc', '?')}) {modem.get('rat') or ''}",
        f"  signal      : RSRP {sig.get('rsrp_dbm', '?')} dBm, RSRQ {sig.get('rsrq_db', '?')} dB, "
        f"SINR {sig.get('sinr_db', '?')} dB, band {sig.get('band', '?')}",
    ]
    power = _map(state.get("power"))
    if power:
        lines.append(f"  power       : {_power(power, paint)}")
    events = [e for e in status.get("recent_events") or [] if isinstance(e, dict)] \
        if isinstance(status.get("recent_events"), list) else []
    if events:
        lines.append("  recent events:")
        for e in events[-8:]:
            ts = e.get("ts")
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) \
                if isinstance(ts, (int, float)) and not isinstance(ts, bool) and 0 <= ts < 2 ** 33 else "?"
            lines.append(f"    {when} [{e.get('time_source', '?')}] {e.get('kind', '?')}")
    return "\n".join(lines)


def _power(power: dict[str, Any], paint: Callable[[str, str], str]) -> str:
    """The UPS as agent/power/monitor.py shows it: on line / ON BATTERY since ..., charge, runtime left."""
    mains = power.get("mains")
    words = {"on_line": paint("good", "on line"), "on_battery": paint("bad", "ON BATTERY")}.get(
        mains, paint("warn", "unknown"))
    since = power.get("since")
    if mains == "on_battery" and isinstance(since, (int, float)) and not isinstance(since, bool) \
            and 0 <= since < 2 ** 33:
        words += time.strftime(" since %H:%M:%S", time.localtime(since))
    for key, fmt in (("charge_pct", "battery {:.0f} %"), ("runtime_s", "{:.0f} min left")):
        value = power.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            words += ", " + fmt.format(value / 60 if key == "runtime_s" else value)
    if power.get("battery_low"):
        words += ", " + paint("bad", "BATTERY LOW") + (" (agent stopping)" if power.get("stopping") else "")
    if power.get("problem"):
        words += f" ({paint('warn', 'not read')}: {power['problem']})"
    return f"{words} (UPS {power.get('ups', '?')})"


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _via(uplink: Any, links: dict[str, Any], paint: Callable[[str, str], str]) -> str:
    """The uplink carrying traffic, in warning colour when it is not the preferred one (a backup: cellular costs
    money, a second line is there for emergencies)."""
    return paint("warn", str(uplink)) if uplink not in (preferred_uplink(links), "?") else str(uplink)


def preferred_uplink(links: dict[str, Any]) -> str:
    """The uplink of best priority in the failover state's links (a state written before [[uplinks]]: "primary")."""
    ranked = [(info.get("priority"), name) for name, info in links.items()
              if isinstance(info, dict) and isinstance(info.get("priority"), int)]
    return min(ranked)[1] if ranked else "primary"


def _link(info: dict[str, Any], paint: Callable[[str, str], str] = _plain_text) -> str:
    up = info.get("up")
    parts = [paint("good", "up") if up else (paint("bad", "DOWN") if up is False else "?")]
    if info.get("rtt_ms") is not None:
        parts.append(f"rtt {info['rtt_ms']} ms")
    if info.get("loss") is not None:
        parts.append(f"loss {info['loss']}")
    return ", ".join(parts)


def staleness(mtime: float, now: float, stopped: bool = False) -> str | None:
    """None while the agent keeps the file fresh, else the line to put above the snapshot. `stopped`: the agent
    said so in its last write (a crash or a hang cannot: the file's age tells those)."""
    age = now - mtime
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(mtime))
    if stopped:
        return f"as of {when}, {_ago(max(age, 0.0))}: the agent stopped"
    if age <= STALE_AFTER_S:        # also a file from the future: a clock stepped back is not a dead agent
        return None
    return f"as of {when}, {_ago(age)}: the agent is not running? (it refreshes this file every " \
           f"{TOUCH_EVERY_S:.0f} s)"


def _ago(age: float) -> str:
    for unit, seconds in (("day", 86400), ("h", 3600), ("min", 60)):
        if age >= seconds:
            n = int(age // seconds)
            return f"{n} {unit}{'s' if unit == 'day' and n > 1 else ''} ago"
    return f"{int(age)} s ago"


class StatusFileError(Exception):
    """The status file is missing or not a relais status file; the message is the one line to print."""

    def __init__(self, message: str, exit_code: int = EXIT_NO_STATUS) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def read(storage: str | os.PathLike) -> tuple[dict[str, Any], float]:
    """(the document, its mtime) from <storage>/status.json, or StatusFileError saying why not."""
    path = Path(storage) / "status.json"
    try:
        status = json.loads(path.read_text())
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        raise StatusFileError(f"no {path} (is the agent running with [storage] dir = {storage}?)") from None
    except (OSError, ValueError) as e:
        raise StatusFileError(f"cannot read {path}: {e}") from None
    if not isinstance(status, dict):
        raise StatusFileError(f"{path} is not a relais status file (expected a JSON object, got "
                              f"{type(status).__name__})")
    return status, mtime


def run_status(args) -> int:
    """`relais status` from the file alone (the console's fallback when the agent does not answer)."""
    import sys
    try:
        status, mtime = read(args.storage)
    except StatusFileError as e:
        print(f"relais status: {e}", file=sys.stderr)
        return e.exit_code
    stale = staleness(mtime, time.time(), stopped=status.get("stopped") is True)
    if args.json:
        print(json.dumps(status))
        if stale:                   # stdout stays one JSON object for scripts; the exit code says it too
            print(f"relais status: {stale}", file=sys.stderr)
    else:
        print(f"{stale}\n{render(status)}" if stale else render(status))
    return EXIT_STALE if stale else EXIT_LIVE
