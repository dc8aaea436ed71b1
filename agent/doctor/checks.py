"""The checks of `relais doctor`: pure functions from facts (gathered by agent/doctor/facts.py) to a Check.

No IO here, so that every verdict is a table test. The facts come from outside (a modem, the agent's socket, the
file system) and may be missing or odd: each check says so instead of raising.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.doctor import radio
from agent.doctor.check import Check, Level, fail, ok, skip, warn

SERVICE_USER = "relais"        # the .deb's system user (packaging/relais.service User=)
BY_ID_DIR = "/dev/serial/by-id"
UDEV_NAME = "/dev/relais-modem"   # the package's udev rule names the AT port of every modem it knows so
SERIAL_GROUP = "dialout"       # Debian's group for serial ports; the unit gives it to the service


# ---- configuration --------------------------------------------------------------------------------------------

def check_config(path: str, problems: list[str] | None, error: str | None = None,
                 defaults_only: bool = False, unreadable: bool = False) -> Check:
    """problems: the loader's lines for the file; error: it could not be read or parsed at all; unreadable: the
    user running the doctor may not read it (as it should be for anyone but root and the service)."""
    name = "configuration"
    if error is not None and unreadable:
        return fail(name, error, "run the doctor as root (sudo relais doctor): the file holds secrets and is "
                                 "readable by root and the service only")
    if error is not None:
        return fail(name, error, f"fix the file; relais config check {path} says what is wrong")
    if defaults_only:
        return warn(name, f"{path} does not exist: the built-in defaults were checked",
                    f"write {path} (packaging/relais.toml is a commented example), or give --config FILE")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return fail(name, problems[0] + more,
                    f"the agent refuses to start with it; relais config check {path} lists every problem")
    return ok(name, f"{path} loads")


# ---- permissions ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FileFacts:
    """What os.stat said about a path (exists=False: nothing else is known)."""
    exists: bool
    is_dir: bool = False
    mode: int = 0          # permission bits
    uid: int = 0
    gid: int = 0
    owner: str = ""        # names, for the messages
    group: str = ""


@dataclass(frozen=True)
class Account:
    """The user the agent runs as: the service user when the package made one, else whoever runs the doctor."""
    name: str
    uid: int
    gids: frozenset[int] = field(default_factory=frozenset)


def can(account: Account, f: FileFacts, write: bool) -> bool:
    """Whether `account` may read (or write) `f` by its mode bits. Root may; the service keeps no capability that
    overrides permissions (packaging/relais.service), so for it the bits decide."""
    if account.uid == 0:
        return True
    shift = 6 if account.uid == f.uid else 3 if f.gid in account.gids else 0
    return bool(f.mode >> shift & (0o2 if write else 0o4))


def _octal(mode: int) -> str:
    return f"{mode & 0o7777:04o}"


def check_config_file(path: str, f: FileFacts, agent: Account, secrets: bool) -> Check:
    """The configuration holds the broker password and the SIM PIN: readable by root and the service only."""
    name = "config file permissions"
    if not f.exists:
        return skip(name, f"{path} does not exist")
    fix = f"chown root:{SERVICE_USER} {path} && chmod 0640 {path}" if agent.name == SERVICE_USER \
        else f"chown {agent.name} {path} && chmod 0600 {path}"       # no service user: the agent runs as this one
    owner = f"{f.owner or f.uid}:{f.group or f.gid}"
    said = f"{path} is {_octal(f.mode)} {owner}"
    if f.mode & 0o002:
        return fail(name, f"{said}: anyone on the box can change where the agent reports and what it does", fix)
    if not can(agent, f, write=False):
        return fail(name, f"{said}: the agent (user {agent.name}) cannot read it", fix)
    if f.mode & 0o004 and secrets:
        return fail(name, f"{said}: every user can read the secrets in it (PIN, passwords, keys)", fix)
    if f.uid not in (0, agent.uid):
        return warn(name, f"{said}: user {f.owner or f.uid} can change the agent's configuration", fix)
    if f.mode & 0o020 and f.gid not in (0,) and f.gid not in agent.gids:
        return warn(name, f"{said}: group {f.group or f.gid} can change the agent's configuration", fix)
    if f.mode & 0o004:
        return warn(name, f"{said}: every user can read it (it holds no secret today)", fix)
    return ok(name, said)


def check_storage_dir(path: str, f: FileFacts, agent: Account) -> Check:
    name = "storage dir"
    if not f.exists:
        return warn(name, f"{path} does not exist yet",
                    f"systemd creates it (StateDirectory=) at start; by hand: install -d -m 0750 -o "
                    f"{SERVICE_USER} -g {SERVICE_USER} {path}")
    if not f.is_dir:
        return fail(name, f"{path} is not a directory: the agent runs on memory, nothing survives a restart",
                    f"move it away; systemd recreates {path} at start")
    said = f"{path} is {_octal(f.mode)} {f.owner or f.uid}:{f.group or f.gid}"
    if not can(agent, f, write=True):
        return fail(name, f"{said}: the agent (user {agent.name}) cannot write it: it runs on memory, the outage "
                          f"ledger and the outbox do not survive a restart",
                    f"chown -R {agent.name}:{agent.name} {path}")
    if f.mode & 0o002:
        return warn(name, f"{said}: every user can write the agent's ledger and outbox", f"chmod 0750 {path}")
    return ok(name, said)


# ---- the agent and the serial port ------------------------------------------------------------------------------

def check_agent(socket_path: str, answered: bool, error: str | None) -> Check:
    name = "agent"
    if answered:
        return ok(name, f"running, answers on {socket_path}")
    return warn(name, error or "does not answer", "systemctl start relais (systemctl status relais and journalctl "
                                                  "-u relais say why it stopped)")


@dataclass(frozen=True)
class PortFacts:
    path: str
    exists: bool
    device: str = ""                         # where the path leads (/dev/ttyUSB2)
    # names that survive a USB re-enumeration leading to the same device: /dev/relais-modem, /dev/serial/by-id/...
    stable_names: tuple[str, ...] = ()
    holders: tuple[tuple[int, str], ...] = ()    # (pid, command line) of the processes with it open
    access: FileFacts | None = None          # the device node's mode and owner


def check_port(p: PortFacts, agent: Account | None = None) -> Check:
    name = "serial port"
    if not p.exists:
        return fail(name, f"{p.path} does not exist",
                    f"is the modem powered and plugged in? ls -l {BY_ID_DIR}/ lists the modems' ports ("
                    f"{UDEV_NAME} exists for the modems the package's udev rule knows); set [modem] port to the "
                    f"AT port")
    a = p.access
    if agent is not None and a is not None and not (can(agent, a, write=False) and can(agent, a, write=True)):
        return fail(name, f"the agent (user {agent.name}) cannot open {p.device} ({_octal(a.mode)} "
                          f"{a.owner or a.uid}:{a.group or a.gid})",
                    f"the service has group {SERIAL_GROUP} (relais.service SupplementaryGroups=): chgrp "
                    f"{SERIAL_GROUP} {p.device} && chmod 0660 {p.device}; the package's udev rule keeps it so")
    if p.path in p.stable_names or p.path.startswith(BY_ID_DIR + "/") or p.path == UDEV_NAME:
        return ok(name, f"{p.path} -> {p.device}")
    if p.stable_names:
        return warn(name, f"{p.path} may name another port after a USB re-enumeration (a modem reset does that)",
                    f'set [modem] port = "{p.stable_names[0]}"')
    return ok(name, f"{p.path} ({p.device}; no stable name: a UART or a pseudo-terminal)")


def _is_agent(cmdline: str) -> bool:
    words = cmdline.split()
    return "run" in words and any(w.endswith("relais") or w == "agent.cli" for w in words)


def short_command(cmdline: str, width: int = 60) -> str:
    """'python3 relais run --config a.toml' for '/usr/lib/venv/bin/python3 /usr/lib/venv/bin/relais run ...': the
    programs by name, so that what runs shows within the width."""
    words = cmdline.split()
    words[:2] = [w.rsplit("/", 1)[-1] if w.startswith("/") else w for w in words[:2]]
    text = " ".join(words)
    return text if len(text) <= width else text[:width - 3] + "..."


def check_port_users(p: PortFacts, agent_running: bool) -> Check:
    """Two readers on one tty steal each other's answers: only the agent may hold the port."""
    name = "port users"
    if not p.exists:
        return skip(name, f"no {p.path}")
    said = lambda hs: ", ".join(f"PID {pid} ({short_command(cmd)})" for pid, cmd in hs)   # noqa: E731
    manager = [h for h in p.holders if "ModemManager" in h[1]]
    agents = [h for h in p.holders if _is_agent(h[1])]
    others = [h for h in p.holders if h not in manager and h not in agents]
    if manager:
        return fail(name, f"ModemManager holds {p.path}: {said(manager)}",
                    "systemctl disable --now ModemManager (the relais package's udev rule hides the AT ports of "
                    "the modems it knows)")
    if len(agents) > 1:
        return fail(name, f"{len(agents)} relais agents share {p.path}: {said(agents)}",
                    "stop all but one (systemctl status relais shows the service's)")
    if others:
        return fail(name, f"{p.path} is also open in {said(others)}: it steals the agent's answers",
                    "stop it (a terminal program: exit it)")
    if agents and not agent_running:
        return warn(name, f"a relais agent holds {p.path} but its console does not answer: {said(agents)}",
                    "restart it (systemctl restart relais)")
    if agents:
        return ok(name, f"only the agent uses it ({said(agents)})")
    return ok(name, "nobody else has it open")


# ---- the modem, as the agent sees it or as asked on the port ----------------------------------------------------

@dataclass(frozen=True)
class ModemFacts:
    """One shape for both sources: the running agent's state (via="agent") or the modem asked on its port."""
    via: str                                 # "agent" | "port"
    answers: bool
    error: str | None = None                 # why it does not answer
    model: str = ""                          # "Quectel RM500Q-GL"
    sim_state: str | None = None
    sim_slot: int | None = None
    registration: str | None = None
    operator: str | None = None
    rat: str | None = None
    signal: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] | None = None       # {"up", "address", "apn", "error"}; None: nobody knows
    clock_utc: float | None = None           # the modem's clock (set by the network), read on the port
    other_slots: tuple[int, ...] = ()        # SIM slots the agent may switch to ([cellular] sim_slots)
    pin_configured: bool = False
    cold_standby: bool = False               # [failover] standby = "cold": no session until a failover
    data_enabled: bool = True                # [cellular] data


def check_modem(m: ModemFacts | None, why_not: str = "") -> Check:
    name = "modem"
    if m is None:
        return skip(name, why_not or "not asked")
    via = "through the agent" if m.via == "agent" else "on its port"
    if not m.answers:
        reset = "relais modem reset, or unplug it" if m.via == "agent" else "unplug it, or cut its power for 10 s"
        return fail(name, f"does not answer AT commands ({m.error or 'no answer'})",
                    f"power-cycle the modem ({reset}); if it keeps happening, check its USB cable and power "
                    f"supply")
    return ok(name, f"{m.model or 'the modem'} answers ({via})")


_SIM_WAIT = ("SIM BUSY", "NOT READY")
_SIM_STATES: dict[str, tuple[Level, str, str]] = {
    "NOT INSERTED": (Level.FAIL, "no SIM{slot}", "insert a SIM (contacts down, cut corner as drawn on the tray)"),
    "SIM PIN": (Level.FAIL, "the SIM{slot} asks for its PIN", 'set [modem] pin = "1234" (the SIM\'s PIN)'),
    "SIM PUK": (Level.FAIL, "the SIM{slot} is blocked: three wrong PINs",
                "unblock it in a phone with the PUK from the operator, then set the right [modem] pin"),
    "SIM FAILURE": (Level.FAIL, "the SIM{slot} does not work", "reseat it; if it persists, ask the operator for "
                                                              "a new one"),
    "SIM WRONG": (Level.FAIL, "the modem refuses the SIM{slot}", "use a SIM of the kind the modem takes"),
}


def _other_sim(m: ModemFacts) -> str:
    """The way out while the operator or the shop sorts this SIM out: the other one, when there is one."""
    if not m.other_slots:
        return ""
    n = m.other_slots[0]
    return f"; meanwhile relais sim-switch {n} uses the SIM in slot {n}"


def check_sim(m: ModemFacts | None) -> Check:
    name = "SIM"
    if m is None or not m.answers:
        return skip(name, "the modem does not answer")
    slot = f" in slot {m.sim_slot}" if m.sim_slot else ""
    state = m.sim_state
    if state == "READY":
        return ok(name, f"ready{slot}")
    if state == "SIM PIN" and m.pin_configured:
        return fail(name, f"the SIM{slot} asks for its PIN and the configured one was not entered or refused",
                    "check [modem] pin (the agent never retries a refused PIN: three wrong ones need the PUK)")
    if state in _SIM_STATES:
        level, detail, advice = _SIM_STATES[state]
        return Check(name, level, detail.format(slot=slot), advice + _other_sim(m))
    if state in _SIM_WAIT:
        return warn(name, f"the SIM{slot} is still being read ({state})", "run relais doctor again in a minute")
    if state and state.startswith("PH-"):
        return fail(name, f"the modem is locked to a network or a SIM ({state})",
                    "ask the modem's seller for its unlock code")
    return warn(name, f"the modem did not say ({state or 'no answer to AT+CPIN?'})", "run relais doctor again")


_REGISTERED = {"home": "home network", "roaming": "roaming"}
_REG_STATES: dict[str, tuple[Level, str, str]] = {
    "denied": (Level.FAIL, "the network refuses this SIM (registration denied)",
               "call the operator: is the SIM activated, the plan paid, data allowed?"),
    "searching": (Level.WARN, "searching for a network",
                  "wait a minute; if it keeps searching there is no coverage of this SIM's operator here: "
                  "relais signal --watch while moving the antenna"),
    "not_registered": (Level.FAIL, "not registered and not searching",
                       "check [cellular] operator (a pinned operator that is not here), then relais modem reset"),
    "emergency": (Level.FAIL, "emergency calls only: the network does not accept this SIM",
                  "call the operator: is the SIM activated?"),
    "home_sms_only": (Level.WARN, "registered for SMS only: no data", "ask the operator to enable data"),
    "roaming_sms_only": (Level.WARN, "registered for SMS only (roaming): no data",
                         "ask the operator to enable data roaming"),
}


def check_registration(m: ModemFacts | None) -> Check:
    name = "registration"
    if m is None or not m.answers:
        return skip(name, "the modem does not answer")
    if m.sim_state != "READY":
        return skip(name, "no usable SIM")
    where = " ".join(x for x in (f"on {m.operator}" if m.operator else "", m.rat or "") if x)
    if m.registration in _REGISTERED:
        return ok(name, f"registered ({_REGISTERED[m.registration]}) {where}".rstrip())
    if m.registration in _REG_STATES:
        level, detail, advice = _REG_STATES[m.registration]
        return Check(name, level, detail, advice + (_other_sim(m) if level == Level.FAIL else ""))
    return warn(name, f"unclear ({m.registration or 'no answer'})", "run relais doctor again in a minute")


def _measured(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def describe_signal(signal: dict[str, Any]) -> str:
    """'RSRP -95 dBm, RSRQ -11 dB, SINR 12 dB, band B3, cell A1B2C3' (only what the modem reported)."""
    metrics = (("rsrp_dbm", "RSRP", "dBm"), ("rsrq_db", "RSRQ", "dB"), ("sinr_db", "SINR", "dB"))
    if not _measured(signal.get("rsrp_dbm")):           # 2G/3G: RSSI is the measure (radio.judge does the same)
        metrics = (("rssi_dbm", "RSSI", "dBm"),)
    parts = [f"{label} {signal[key]:g} {unit}" for key, label, unit in metrics if _measured(signal.get(key))]
    parts += [f"{label} {signal[key]}" for key, label in (("band", "band"), ("cell_id", "cell"), ("pci", "PCI"))
              if signal.get(key) not in (None, "")]
    nr = signal.get("nr") if isinstance(signal.get("nr"), dict) else {}
    if _measured(nr.get("rsrp_dbm")):        # EN-DC: the 5G leg, shown; the verdict is the LTE anchor's (it carries
        parts.append(f"5G RSRP {nr['rsrp_dbm']:g} dBm")    # the registration: without it there is no 5G either)
    return ", ".join(parts) or "nothing measured"


def check_signal(m: ModemFacts | None) -> Check:
    name = "signal"
    if m is None or not m.answers:
        return skip(name, "the modem does not answer")
    signal = m.signal if isinstance(m.signal, dict) else {}
    j = radio.judge(signal)
    detail = f"{j.verdict}: {describe_signal(signal)}"
    return Check(name, j.grade.level, detail, j.grade.advice)


def check_data(m: ModemFacts | None) -> Check:
    name = "data session"
    if m is None or not m.answers:
        return skip(name, "the modem does not answer")
    if not m.data_enabled:
        return ok(name, "not relais' job ([cellular] data = false: ModemManager or NetworkManager bring it up)")
    if m.registration not in _REGISTERED:
        return skip(name, "not registered")
    d = m.data if isinstance(m.data, dict) else None
    if d is None:
        return skip(name, "the agent brings it up when it runs")
    if d.get("up"):
        apn = f" on APN {d['apn']}" if d.get("apn") else ""
        return ok(name, f"up, address {d.get('address') or '?'}{apn}")
    if m.cold_standby and not d.get("error"):
        return ok(name, "down until a failover ([failover] standby = \"cold\")")
    error = d.get("error")
    if m.via == "port":
        return skip(name, "none; the agent brings it up when it runs")
    if error and "apn" in str(error).lower():
        return fail(name, f"down: {error}", 'set [cellular] apn (the operator\'s APN, e.g. "internet")')
    return fail(name, f"down{': ' + str(error) if error else ''}",
                "check the APN ([cellular] apn) and that the plan includes data; relais status shows the retries")


# ---- broker, clock, space, watchdog -----------------------------------------------------------------------------

@dataclass(frozen=True)
class BrokerFacts:
    """How far a connection to the broker got: stage is the step that failed (None: all passed)."""
    address: str                   # "host:port"
    tls: bool
    stage: str | None = None       # "dns" | "tcp" | "tls" | "mqtt" | None
    error: str = ""
    login: bool = False            # a user name or a client certificate was presented
    elapsed_ms: float | None = None
    tls_version: str = ""


_BROKER_ADVICE = {
    "dns": "check [mqtt] host and the router's DNS (resolvectl status)",
    "tcp": "is the broker up, the port right ([mqtt] port), a firewall in the way? (nc -vz HOST PORT)",
    "tls": "check [mqtt] ca is the CA that signed the broker's certificate, [mqtt] host is a name in it, and the "
           "clock (certificates have dates)",
    "mqtt": "check [mqtt] username / password or the client certificate (cert, key) against the broker's accounts",
}


def check_broker(b: BrokerFacts) -> Check:
    name = "broker"
    if b.stage is not None:
        return fail(name, f"{b.address}: {b.stage.upper() if b.stage != 'mqtt' else 'MQTT CONNECT'}: {b.error}",
                    _BROKER_ADVICE.get(b.stage, ""))
    how = [b.tls_version or "TLS" if b.tls else "no TLS", "login accepted" if b.login else "connect accepted"]
    took = f" in {b.elapsed_ms:.0f} ms" if b.elapsed_ms is not None else ""
    return ok(name, f"{b.address}: {', '.join(how)}{took}")


PLAUSIBLE_AFTER = 1704067200.0    # 2024-01-01: a clock before this was never set (a Pi without RTC boots in 1970)


@dataclass(frozen=True)
class ClockFacts:
    now: float                          # the system clock
    ntp_synced: bool                    # the kernel's status (timedatectl's NTPSynchronized)
    agent_source: str | None = None     # the running agent's time source: ntp | modem | unsynced
    modem_offset_s: float | None = None  # the modem's network time minus the system clock


def check_clock(c: ClockFacts) -> Check:
    name = "clock"
    if c.ntp_synced:
        return ok(name, "synchronised (NTP)")
    if c.agent_source == "modem":
        offset = f", system clock off by {c.modem_offset_s:+.1f} s" if c.modem_offset_s is not None else ""
        return ok(name, f"no NTP; the agent timestamps with the modem's network time{offset}")
    if c.now < PLAUSIBLE_AFTER:
        return fail(name, "the system clock was never set (it is before 2024): TLS certificates fail, outage "
                          "times are wrong",
                    "let NTP through the firewall (UDP 123), or [time] set_system_clock = true to take the "
                    "modem's network time")
    if c.agent_source is None and c.modem_offset_s is not None:     # agent stopped: the modem was asked directly
        return warn(name, f"not synchronised by NTP; the modem's network time is {c.modem_offset_s:+.1f} s from "
                          f"the system clock (the agent uses it while NTP is not there)",
                    "enable NTP (timedatectl set-ntp true; UDP 123 open)")
    return warn(name, "not synchronised (no NTP"
                + (", no modem network time yet)" if c.agent_source else "; the agent is not running)")
                + ": outage times in the ledger are marked unsynced",
                "enable NTP (timedatectl set-ntp true; UDP 123 open), keep [time] modem_time = true")


# The agent's files are small (the outbox holds at most [mqtt] outbox_max_messages, ~2 MB; the ledger grows by a
# few KB a month); below these SQLite cannot grow them and the agent runs on memory.
SPACE_FAIL_BYTES = 5_000_000
SPACE_WARN_BYTES = 20_000_000


def check_space(path: str, free_bytes: int | None, error: str = "") -> Check:
    name = "free space"
    if free_bytes is None:
        return skip(name, f"{path}: {error or 'not measured'}")
    said = f"{free_bytes / 1e6:.0f} MB free in {path}"
    if free_bytes < SPACE_FAIL_BYTES:
        return fail(name, f"{said}: the agent cannot keep its ledger and outbox on disk",
                    "free space on that file system (old logs: journalctl --vacuum-size=20M)")
    if free_bytes < SPACE_WARN_BYTES:
        return warn(name, f"{said}: little left", "free space on that file system (journalctl --vacuum-size=20M)")
    return ok(name, said)


@dataclass(frozen=True)
class ServiceFacts:
    """systemctl show relais.service; systemd=False: this system does not run systemd (OpenWrt: procd)."""
    systemd: bool
    loaded: bool = False
    active: str = ""                 # ActiveState
    watchdog_usec: int = 0
    service_type: str = ""
    restarts: int = 0                # NRestarts: automatic restarts (a watchdog timeout, a crash)


def check_watchdog(s: ServiceFacts) -> Check:
    name = "watchdog"
    if not s.systemd:
        return skip(name, "no systemd here (on OpenWrt procd respawns the agent)")
    if not s.loaded:
        return warn(name, "relais.service is not installed: nothing restarts a hung or crashed agent",
                    "install the package (make package) or copy packaging/relais.service to /etc/systemd/system")
    if s.watchdog_usec <= 0:
        return warn(name, "relais.service has no WatchdogSec: a hung agent is not restarted",
                    "systemctl edit relais: [Service] WatchdogSec=30")
    if s.service_type != "notify":
        return warn(name, f"relais.service is Type={s.service_type}: the watchdog pings are ignored",
                    "systemctl edit relais: [Service] Type=notify")
    said = f"WatchdogSec={s.watchdog_usec / 1e6:g}s, {s.active}"
    if s.active != "active":
        return warn(name, said, "systemctl enable --now relais")
    if s.restarts:
        return warn(name, f"{said}, restarted {s.restarts} time{'s' if s.restarts > 1 else ''} since it was "
                          f"started", "journalctl -u relais says why (a watchdog timeout is a hung agent)")
    return ok(name, said)
