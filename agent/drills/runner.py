"""One drill at a time, from the decision to its one `drill_result` event (docs/drills.md).

    passive   the backup path checked end to end while the primary keeps the traffic: the SIM is ready, the modem
              registered, the cellular interface up with an address, and probes bound to it answered (latency).
    full      traffic moved to the backup for duration_s by the failover policy (agent/failover/policy.py
              StartDrill): the route check proves traffic takes the backup, recovery_s is the time from the
              decision to the first answer through it.

Then (a full drill: as soon as the backup carries the traffic, while it still does) every [[services]] check runs
through the backup, bound to its interface and address, on a worker thread: the core thread never waits on a
network answer. When both parts are in, one `drill_result` is emitted:

    {kind, trigger ("schedule" | "command"), ok, reason, recovery_s, duration_s,
     services: [{name, check, ok, detail, rtt_ms}], path: [{name, ok, detail}] (passive),
     backup: {sent, lost, loss, rtt_ms, ...}, route: {...} (full)}

ok = the path is ok and every service answered. The e-mail notice (agent/notify) goes out on ok false.

The failover controller owns the traffic and the uplinks' layer; it hands this runner what it needs through a small
surface (`DrillPath` below) and gives it the policy's path result instead of emitting it.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from agent.config import Config
from agent.core import CommandError, Core, Deferred
from agent.linkmon.methods import Binding, ProbeFailed, ProbeOptions, probe, resolved
from agent.linkmon.netns import enter_netns

log = logging.getLogger(__name__)

KINDS = ("passive", "full")
TRIGGERS = ("schedule", "command")
SIM_READY = "READY"


class DrillPath(Protocol):
    """What the failover controller offers a drill."""
    netns: str
    targets: list
    options: ProbeOptions

    def full_drill_refusal(self) -> str | None: ...
    def start_full_drill(self, duration_s: float) -> None: ...
    def backup_layer(self) -> dict[str, Any]: ...     # {"interface", "carrier", "address", "standby_up"}


@dataclass(frozen=True)
class ChecksDone:
    """From the drill's worker thread: the passive path probes (None for a full drill) and the service results."""
    drill_id: int
    path: list[dict[str, Any]] | None
    backup: dict[str, Any] | None
    services: list[dict[str, Any]]


@dataclass
class _Running:
    id: int
    kind: str
    trigger: str
    duration_s: float | None
    started: float                               # core monotonic time: the decision
    path: list[dict[str, Any]] = field(default_factory=list)   # passive: the steps judged on the core thread
    policy_result: dict[str, Any] | None = None  # full: the failover policy's part
    checks: ChecksDone | None = None
    checks_started: bool = False
    waiters: list[Deferred] = field(default_factory=list)


class DrillRunner:
    def __init__(self, core: Core, config: Config, path: DrillPath,
                 check_service: Callable[..., Any] | None = None, probe_backup: Callable[..., float] = probe):
        self.core = core
        self.config = config
        self.path = path
        self._check = check_service
        self._probe = probe_backup
        self.current: _Running | None = None
        self._ids = 0
        core.subscribe(ChecksDone, self._on_checks_done)
        core.state.setdefault("drills", {}).update({"running": None})

    # ---- starting ----------------------------------------------------------------------------------------
    def refusal(self, kind: str) -> str | None:
        if self.current is not None:
            return f"a {self.current.kind} drill is already running"
        if kind == "full":
            return self.path.full_drill_refusal()
        return None

    def start(self, kind: str, duration_s: float | None, trigger: str, wait: bool = False) -> dict[str, Any] | Deferred:
        """Start a drill now, or CommandError saying why not. `wait`: a Deferred answered with the drill_result
        data (the CLI waits for it), else the answer says it started."""
        if kind not in KINDS:
            raise CommandError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
        refusal = self.refusal(kind)
        if refusal:
            raise CommandError(f"no drill: {refusal}")
        self._ids += 1
        now = self.core.now()
        drill = _Running(self._ids, kind, trigger, duration_s if kind == "full" else None, now)
        self.current = drill
        self.core.state["drills"]["running"] = {"kind": kind, "trigger": trigger}
        log.info("%s drill started (%s)", kind, trigger)
        if kind == "full":
            self.path.start_full_drill(float(duration_s))
        else:
            self._start_passive(drill)
        answer: dict[str, Any] | Deferred = {"started": True, "kind": kind, "duration_s": drill.duration_s,
                                             "trigger": trigger, "result": "as the drill_result event"}
        if wait and self.current is drill:       # a passive drill refused by its own path checks has ended already
            deferred = Deferred()
            drill.waiters.append(deferred)
            return deferred
        return answer

    def _start_passive(self, drill: _Running) -> None:
        """The modem's part, read here on the core thread; the probes and the services on a worker."""
        drill.path = modem_steps(self.core.state)
        layer = self.path.backup_layer()
        if not layer.get("standby_up", True):
            drill.path.append({"name": "data", "ok": False,
                               "detail": "cold standby: the backup is switched off between outages; only a full "
                                         "drill can check it"})
            self._start_checks(drill, layer, probe=False)
            return
        drill.path.append(data_step(layer))
        self._start_checks(drill, layer, probe=True)

    # ---- from the failover controller (core thread) ------------------------------------------------------
    def backup_ready(self) -> None:
        """A full drill's traffic is on the backup and the backup answers: the services are checked now, while
        it carries the traffic."""
        drill = self.current
        if drill is not None and drill.kind == "full" and not drill.checks_started:
            self._start_checks(drill, self.path.backup_layer(), probe=False)

    def path_result(self, data: dict[str, Any]) -> None:
        """The failover policy's drill_result (traffic moved and back, or aborted)."""
        drill = self.current
        if drill is None or drill.kind != "full":     # a drill this runner did not start: reported as it is
            self.core.emit("drill_result", **{"kind": "full", "trigger": "command", **data})
            return
        drill.policy_result = data
        if not drill.checks_started:      # the backup never answered: the services are checked all the same
            self._start_checks(drill, self.path.backup_layer(), probe=False)
        self._maybe_finish()

    # ---- the worker ----------------------------------------------------------------------------------------
    def _start_checks(self, drill: _Running, layer: dict[str, Any], probe: bool) -> None:
        drill.checks_started = True
        binding = Binding(interface=layer.get("interface"), source=layer.get("address") or None)
        services = [(s.name, s.check, s.ca) for s in self.config.services]
        timeout_s = self.config.drills.service_timeout_s
        targets, options, netns = list(self.path.targets), self.path.options, self.path.netns
        if self._check is None:     # the service checks' module only once a drill runs (128 MB routers)
            from agent.drills.services import check
            self._check = check
        check_service, probe_one, post = self._check, self._probe, self.core.post

        def run() -> None:
            path = backup = None
            results: list[dict[str, Any]] = []
            try:
                enter_netns(netns)
                if probe:
                    path, backup = latency_step(targets, binding, resolved(options), probe_one)
                for name, spec, ca in services:
                    r = check_service(spec, binding, timeout_s, ca_file=ca)
                    results.append({"name": name, "check": spec, "ok": r.ok, "detail": r.detail, "rtt_ms": r.rtt_ms})
            except Exception as e:     # a bug or a namespace gone: reported in the drill, never a dead thread
                log.exception("drill checks failed")
                path = [{"name": "checks", "ok": False, "detail": f"internal error: {type(e).__name__}"}]
            post(ChecksDone(drill.id, path, backup, results))
        threading.Thread(target=run, name="drill-checks", daemon=True).start()

    def _on_checks_done(self, done: ChecksDone, now: float) -> None:
        drill = self.current
        if drill is None or drill.id != done.drill_id:
            return
        drill.checks = done
        if done.path:
            drill.path.extend(done.path)
        self._maybe_finish()

    # ---- the one result ------------------------------------------------------------------------------------
    def _maybe_finish(self) -> None:
        drill = self.current
        if drill is None or drill.checks is None or (drill.kind == "full" and drill.policy_result is None):
            return
        data = self.result(drill, self.core.now())
        self.current = None
        self.core.state["drills"]["running"] = None
        self.core.state["drills"]["last"] = {"kind": drill.kind, "ok": data["ok"], "trigger": drill.trigger,
                                             "reason": data["reason"]}
        event = self.core.emit("drill_result", **data)
        for waiter in drill.waiters:
            waiter.resolve({"ts": event.ts, "time_source": event.time_source, **data})

    def result(self, drill: _Running, now: float) -> dict[str, Any]:
        services = drill.checks.services if drill.checks else []
        failed_services = [s for s in services if not s["ok"]]
        if drill.kind == "full":
            policy = drill.policy_result or {}
            path_ok = bool(policy.get("ok"))
            reason = str(policy.get("reason") or "")
            backup = policy.get("backup") if isinstance(policy.get("backup"), dict) else {}
            recovery_s = backup.get("first_answer_s") if path_ok else None
            extra = {"backup": policy.get("backup"), "route": policy.get("route"),
                     "traffic_s": policy.get("duration_s")}
        else:
            path_ok = all(step["ok"] is not False for step in drill.path)
            failed = next((s for s in drill.path if s["ok"] is False), None)
            reason = "completed" if path_ok else f"{failed['name']}: {failed['detail']}"
            recovery_s = None
            backup = drill.checks.backup if drill.checks and drill.checks.backup else None
            extra = {"path": drill.path, "backup": backup}
        if path_ok and failed_services:
            first = failed_services[0]
            reason = f"service {first['name']} failed: {first['detail']}" + \
                (f" (and {len(failed_services) - 1} more)" if len(failed_services) > 1 else "")
        return {"kind": drill.kind, "trigger": drill.trigger, "ok": path_ok and not failed_services,
                "reason": reason, "recovery_s": _round(recovery_s), "duration_s": round(now - drill.started, 3),
                "services": services, **extra}


# ---- the passive path's steps (pure) ------------------------------------------------------------------------

def modem_steps(state: dict[str, Any]) -> list[dict[str, Any]]:
    """SIM and registration from core.state["modem"]; none when relais does not drive the modem itself."""
    modem = state.get("modem")
    if not isinstance(modem, dict):
        return []
    if not modem.get("connected"):
        return [{"name": "modem", "ok": False, "detail": "the modem does not answer"}]
    from agent.cellular.rules import REGISTERED     # the one list of what counts as registered
    sim = modem.get("sim_state")
    registration = modem.get("registration")
    on = " ".join(str(p) for p in (modem.get("operator_name"), modem.get("rat")) if p)
    steps = [{"name": "sim", "ok": sim == SIM_READY, "detail": str(sim or "unknown")},
             {"name": "registration", "ok": registration in REGISTERED,
              "detail": f"{registration or 'unknown'}" + (f" on {on}" if on else "")}]
    data = (state.get("cellular") or {}).get("data")
    if isinstance(data, dict):
        steps.append({"name": "session", "ok": bool(data.get("up")),
                      "detail": f"APN {data.get('apn')}" if data.get("up") else str(data.get("error") or "down")})
    return steps


def data_step(layer: dict[str, Any]) -> dict[str, Any]:
    iface = layer.get("interface")
    if layer.get("carrier") is not True:
        return {"name": "data", "ok": False, "detail": f"{iface}: no carrier"}
    if not layer.get("address"):
        return {"name": "data", "ok": False, "detail": f"{iface}: no address"}
    return {"name": "data", "ok": True, "detail": f"{iface} {layer['address']}"}


def latency_step(targets: list, binding: Binding, options: ProbeOptions,
                 probe_one: Callable[..., float]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One probe per target, bound to the backup (a blocking call: the worker's)."""
    rtts, errors = [], []
    for target in targets:
        try:
            rtts.append(probe_one(target, binding, options))
        except ProbeFailed as e:
            errors.append(f"{target.host}: {e}")
    sent = len(targets)
    median = round(_median(rtts), 1) if rtts else None
    detail = f"{len(rtts)}/{sent} answered" + (f", median {median:g} ms" if median is not None else "") + \
        (f" ({errors[0]})" if errors else "")
    stats = {"sent": sent, "lost": sent - len(rtts), "loss": round((sent - len(rtts)) / sent, 3) if sent else None,
             "rtt_ms": median}
    return [{"name": "latency", "ok": bool(rtts), "detail": detail}], stats


def _median(xs: list[float]) -> float:
    """statistics.median without the statistics module (0.4 MB: tests/test_memory_budget.py)."""
    s, mid = sorted(xs), len(xs) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def _round(x: Any) -> float | None:
    return None if not isinstance(x, (int, float)) or isinstance(x, bool) else round(x, 3)


__all__ = ["DrillRunner", "ChecksDone", "KINDS", "TRIGGERS", "modem_steps", "data_step", "latency_step"]
