"""`relais run`: build the agent from its configuration and run it until SIGTERM.

Construction order is the dependency order: the core first, then the parts that own state (modem, failover,
cellular), then the sinks that report it (ledger, MQTT, LED, status file). Each part attaches itself to the
core; nothing here makes decisions.
"""
from __future__ import annotations

import contextlib
import logging
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from agent import config as configuration
from agent.config import Config, ConfigError
from agent.config.schema import show
from agent.core import Core, WallClock

log = logging.getLogger(__name__)

SUPERVISE_EVERY_S = 1.0
EXIT_THREAD_DIED = 70   # EX_SOFTWARE: systemd (Restart=always) / procd (respawn) start a fresh agent


class ThreadSupervisor:
    """No worker thread may die silently. A thread that ends with an exception (a bug, an input nobody foresaw)
    leaves the agent without a modem, a prober or its MQTT link while it still looks alive. The owners of threads
    that may end on purpose end them without an exception, so an exception is always a failure: it is logged as one
    line, and the supervision check (a core timer) stops the agent with a non-zero exit code so that the service
    manager restarts it. Exit rather than restart in place: a fresh process rebuilds every part from its
    configuration, which is the one recovery path that is tested."""

    def __init__(self, core: Core, on_death) -> None:
        self._core = core
        self._on_death = on_death
        self._dead: list[str] = []
        self._previous_hook = threading.excepthook
        threading.excepthook = self._hook
        core.call_every(SUPERVISE_EVERY_S, self.check, first_in=SUPERVISE_EVERY_S)

    def _hook(self, args) -> None:
        name = args.thread.name if args.thread is not None else "?"
        if args.exc_type is SystemExit:
            return
        # The traceback is for the developer: kept in the log, once; the line after it is for the operator.
        self._previous_hook(args)
        self._dead.append(f"{name} ({args.exc_type.__name__}: {args.exc_value})")

    def check(self, now: float) -> None:
        if self._dead:
            dead, self._dead = list(self._dead), []
            log.error("thread %s died; exiting with status %d so that the service manager restarts relais",
                      ", ".join(dead), EXIT_THREAD_DIED)
            self._on_death(dead)

    def close(self) -> None:
        if threading.excepthook == self._hook:
            threading.excepthook = self._previous_hook


# Parts with threads or state to flush, in the order they start; they stop in reverse (the reporter still
# publishes what the cellular part says while stopping; usage writes its last counts).
START_ORDER = ("modem", "failover", "cellular", "time", "usage", "traffic", "flows", "sms", "email", "ledger", "reporter",
               "status_file", "led", "power", "console")


@dataclass
class Runtime:
    config: Config
    core: Core
    parts: dict[str, Any] = field(default_factory=dict)
    exit_code: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["parts"][name]
        except KeyError:
            raise AttributeError(name) from None

    def start(self) -> None:
        for name in START_ORDER:
            part = self.parts.get(name)
            if part is not None and hasattr(part, "start"):
                part.start()

    def stop(self) -> None:
        self._stop.set()
        for name in reversed(START_ORDER):
            part = self.parts.get(name)
            if part is not None and hasattr(part, "stop"):
                try:
                    part.stop()
                except Exception:
                    log.exception("stopping %s failed", name)
        routes = self.parts.get("routes")
        if routes is not None:
            routes.close()
        self._last_flush()

    def _last_flush(self) -> None:
        """What waits in memory for a disk that did not take it gets one last try; what is still left is named."""
        for name in ("reporter", "ledger", "usage"):
            db = getattr(self.parts.get(name), "db", None)
            if db is None or not hasattr(db, "flush"):
                continue
            if not db.flush():
                outbox = getattr(self.parts.get(name), "outbox", None)
                held = outbox.in_memory if outbox is not None else db.queued
                if held:
                    log.error("storage: %s: %d write(s) could not reach the disk (%s) and are lost at this exit",
                              db.path, held, db.problem)
        supervisor = self.parts.get("supervisor")
        if supervisor is not None:
            supervisor.close()

    def run(self) -> None:
        """Run the core on this thread until stop() (from a signal handler or another thread)."""
        self.core.run(self._stop)

    def supervise(self) -> ThreadSupervisor:
        """From now on a worker thread dying ends run() with exit_code EXIT_THREAD_DIED."""
        def died(threads: list[str]) -> None:
            self.core.emit("thread_died", threads=threads, exit_code=EXIT_THREAD_DIED)
            self.exit_code = EXIT_THREAD_DIED
            self._stop.set()
        self.parts["supervisor"] = supervisor = ThreadSupervisor(self.core, died)
        return supervisor


def build(config: Config, *, uplinks=None, mqtt: bool = True) -> Runtime:
    """Everything wired, nothing started. `uplinks`: a SimulatedUplinks for the sim board (the demo sets faults
    on it); made here when the board is simulated and none is given."""
    from agent.failover import attach as attach_failover
    from agent.modem_service import ModemService
    from board.routes import open_backend

    try:
        if Path(config.storage.dir).exists() and not Path(config.storage.dir).is_dir():
            raise NotADirectoryError(20, "not a directory")
        Path(config.storage.dir).mkdir(parents=True, exist_ok=True)
    except OSError as e:   # each store says it runs on memory (agent/storage.py); this is the one line why
        log.error("[storage] dir %s cannot be used (%s): running on memory, nothing survives a restart",
                  config.storage.dir, e.strerror or e)
    core = Core(wall=WallClock())
    rt = Runtime(config=config, core=core)
    core.state["device"] = {"id": config.device.id, "site": config.device.site}
    if config.contracts:    # each uplink's provider and promises, for the fleet's report per provider (docs/fleet.md)
        core.state["device"]["contracts"] = [
            {"uplink": c.uplink, "provider": c.provider, "availability_pct": c.availability_pct,
             "repair_hours": c.repair_hours, "repair_in_business_hours": c.repair_in_business_hours}
            for c in config.contracts]
        if any(c.repair_in_business_hours for c in config.contracts):   # the fleet counts such a GTR in these
            from agent.report.hours import system_zone, zone_key
            core.state["device"]["business"] = {"hours": config.business.hours, "timezone":
                                                config.business.timezone or zone_key(system_zone())}

    rt.parts["modem"] = modem = ModemService(core, config.modem.port, baud=config.modem.baud,
                                             vendor=config.modem.vendor, pin=config.modem.pin)
    rt.parts["routes"] = routes = open_backend(config.board.backend, **config.route_options())
    failover_parts: dict[str, Any] = {}
    if config.board.backend == "simulated":      # the loader reads the legacy "sim" as "simulated"
        failover_parts = _simulated_links(config, core, uplinks, routes)
        rt.parts["uplinks"] = failover_parts.pop("uplinks")
    rt.parts["failover"] = attach_failover(core, config, routes, start=False, **failover_parts)
    from agent.drills.scheduler import attach as attach_drill_schedule
    rt.parts["drills"] = attach_drill_schedule(core, config, rt.parts["failover"].drills)
    try:
        from agent.cellular import attach as attach_cellular
    except ImportError:
        attach_cellular = None
    if attach_cellular is not None:
        rt.parts["cellular"] = attach_cellular(core, config, modem, routes)
    from agent.cellular.sms import attach_sms
    from agent.cellular.usage import attach_usage
    from agent.timesource import attach_time
    rt.parts["time"] = attach_time(core, config, modem)      # core.wall: ntp / modem (NITZ) / unsynced
    rt.parts["usage"] = attach_usage(core, config)
    rt.parts["sms"] = attach_sms(core, config, modem)
    if config.traffic.enabled:     # nft and tc on the router only for a site that asks for classes
        from agent.traffic import attach as attach_traffic
        rt.parts["traffic"] = attach_traffic(core, config)   # None on a simulated board: not this host's firewall
    if config.traffic.moves_flows:     # NAT66, sticky flows, critical pinned: nft and ip rule on the router
        from agent.flows import attach as attach_flows
        rt.parts["flows"] = attach_flows(core, config)
    from agent.doctor.live import attach as attach_live_reading     # "signal_now": relais signal --watch, doctor
    rt.parts["live_reading"] = attach_live_reading(core, modem)
    if config.speedtest.enabled:     # not even imported otherwise (the 30 MB budget, BENCHMARKS.md)
        from agent.speedtest import attach_speedtest
        rt.parts["speedtest"] = attach_speedtest(core, config, usage=rt.parts["usage"])

    from agent.mqtt import attach as attach_reporter
    from agent.ledger import attach as attach_ledger
    rt.parts["ledger"] = attach_ledger(core, config)
    if config.email.enabled:      # smtplib and ssl only for a site that sends notices
        from agent.notify.email import attach_email
        rt.parts["email"] = attach_email(core, config)
    if mqtt:
        rt.parts["reporter"] = attach_reporter(core, config, send_at=modem.send_at)
    from agent.plan.command import attach as attach_plan    # the continuity sheet, for the fleet side
    attach_plan(core, config)
    from agent.status_file import StatusFile
    rt.parts["status_file"] = StatusFile(core, Path(config.storage.dir) / "status.json")
    if config.power.enabled:     # the UPS through NUT; on low battery it stops the agent as SIGTERM does
        from agent.power import attach as attach_power
        rt.parts["power"] = attach_power(core, config, stop_agent=rt._stop.set)
    from agent.console import attach as attach_console
    rt.parts["console"] = attach_console(core, config)     # listens last, stops first: every command is wired
    from agent.led_status import LedStatus, open_status_led
    try:
        rt.parts["led"] = LedStatus(core, open_status_led(config))
    except (ValueError, FileNotFoundError) as e:
        raise ConfigError(f"{config.source}: [board] led: expected an LED this board has, got "
                          f"{show(config.board.led)} ({e})") from None
    return rt


def _simulated_links(config: Config, core: Core, uplinks, routes) -> dict[str, Any]:
    from agent.linkmon.schedule import Intervals
    from agent.linkmon.simulated import SimulatedProber, SimulatedRouteCheck, SimulatedUplinks, SimulatedWatcher
    interfaces = {u.name: u.interface for u in config.effective_uplinks()}
    uplinks = uplinks or SimulatedUplinks(names=tuple(interfaces))
    p = config.probes
    intervals = Intervals(p.interval_s, p.backup_interval_s, p.trickle_interval_s)
    probers = {u.name: SimulatedProber(u.name, u.interface, uplinks, list(u.targets or p.targets), intervals,
                                       core.post, timeout_s=p.timeout_s)
               for u in config.effective_uplinks()}
    return {"uplinks": uplinks, "probers": probers, "watcher": SimulatedWatcher(uplinks, interfaces, core.post),
            "route_checker": SimulatedRouteCheck(uplinks, routes, interfaces)}


def needs_openssl(config: Config) -> bool:
    """Whether this agent loads OpenSSL anyway: to speak TLS (the MQTT link, an https:// probe target, e-mail
    notices), or because pyroute2 imports ssl (real links: the netlink watcher and the iproute2 backend; usage
    counters read in a network namespace). What is left is the simulated board without TLS: `relais run` on the
    simulator."""
    from agent.linkmon.targets import parse_target
    simulated = config.board.backend in ("simulated", "sim")
    return (config.mqtt.tls or config.email.enabled
            or any(u.lower().startswith("https:") for u in (config.speedtest.url, config.speedtest.upload_url))
            or any(parse_target(t, config.probes.method).tls for t in config.probes.targets)
            or not simulated or bool(config.board.netns))


@contextlib.contextmanager
def without_openssl() -> Iterator[None]:
    """Build the agent without loading OpenSSL (libcrypto and libssl, ~4.6 MB of RSS). paho, http.client and urllib
    import ssl and hashlib whether they use them or not; while _ssl and _hashlib are unimportable they do without
    (their imports are guarded) and hashlib settles on Python's own SHA-256 (signed commands, SMS de-duplication).
    Afterwards they are importable again: whatever needs OpenSSL later (validating a set_config for real links)
    loads it then. Only for a configuration that needs_openssl() says speaks no TLS."""
    blocked = [name for name in ("_ssl", "_hashlib") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None   # `import name` raises ImportError
    try:
        yield
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def run_agent(args) -> int:
    try:
        config = configuration.load(args.config)
        with contextlib.nullcontext() if needs_openssl(config) else without_openssl():
            rt = build(config)
    except ConfigError as e:
        print(f"relais: {e}", file=sys.stderr)
        return 2
    from common.stop_signal import stop_on_signals
    stop_on_signals(rt._stop)      # not rt._stop.set() in the handler: it can deadlock (common/stop_signal.py)
    log.warning("relais %s starting (modem %s, board %s)", config.device.id, config.modem.port,
                config.board.backend)
    from agent import systemd
    systemd.attach_watchdog(rt.core)
    rt.supervise()
    rt.start()
    systemd.notify("READY=1")
    try:
        rt.run()
    finally:
        systemd.notify("STOPPING=1")
        rt.stop()
    return rt.exit_code
