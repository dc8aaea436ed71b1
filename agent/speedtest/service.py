"""The speed tester on the core: the daily schedule (schedule.py), the `speedtest` command, the data budget, and one
worker thread per measurement (measure.py blocks for up to timeout_s per direction; the core never waits on it).

    tester = SpeedTester(core, config, usage=usage_meter)
    core command "speedtest" {"link": <uplink name>}  -> the speed_measured data, once measured (default: the best
                                                         uplink; "primary" / "backup" as in [speedtest] links)
    event speed_measured {link, ok, down_bps, up_bps, bytes, method, server, error}
    core.state["speedtest"] {"running": link | None, "next_at": wall time of the next daily slot | None,
                             "last": {link: data}}

Any uplink is measured by its name ([[uplinks]]; "primary" and "backup" without them), its socket bound to that
uplink's interface and address. The cellular uplink (kind cellular: "backup" without [[uplinks]]) is measured
only with [speedtest] cellular = true, and never beyond the data budget:
before each measurement on it, the usage meter says what is left under the cap of the SIM in use, and a
measurement that might use more is not started (speed_measured ok=false, error "data budget: ...").
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from agent.config import Config
from agent.config.speedtest import daily_uplinks, resolve
from agent.core import CommandError, Core, Deferred
from agent.linkmon.methods import Binding
from agent.linkmon.netns import enter_netns
from agent.speedtest.schedule import Settings, State, Tick, decide, next_slot

if TYPE_CHECKING:
    from agent.speedtest.measure import Plan, SpeedResult

log = logging.getLogger(__name__)

TICK_S = 60.0            # the schedule's resolution: a slot is met within a minute
# What one measurement may cost on the wire beyond its payload, for the budget check: TCP/IP headers both ways
# (~6 % at a 1500-byte MTU: data segments and their ACKs), retransmissions (a shaped or lossy link drops what
# overflows its queue) and the handshakes. Measured in the lab: 5 to 12 % over the payload (BENCHMARKS.md "Speed
# measurement"); a cellular link loses more, and refusing a little early near the cap costs less than exceeding it.
OVERHEAD_FACTOR = 1.25
OVERHEAD_BYTES = 64_000


@dataclass(frozen=True)
class SpeedMeasured:
    """Posted by the worker when its measurement is over."""
    link: str
    result: "SpeedResult"
    deferred: Deferred | None


def cost_estimate(plan: "Plan") -> int:
    """The most bytes a measurement following `plan` can move on the wire (the budget check's figure)."""
    directions = 2 if plan.iperf3 or plan.upload_url else 1
    return int(plan.max_bytes * directions * OVERHEAD_FACTOR) + OVERHEAD_BYTES


def budget_refusal(needed: int, remaining: int | None) -> str | None:
    """Why a measurement needing `needed` bytes may not run with `remaining` left (None: no cap), or None."""
    if remaining is None or needed <= remaining:
        return None
    return (f"data budget: a measurement may use up to {needed / 1e6:.1f} MB, {remaining / 1e6:.1f} MB left "
            "under the SIM's cap this period")


class SpeedTester:
    def __init__(self, core: Core, config: Config, *, usage=None, tz=None,
                 measure_fn: Callable[["Plan", Binding], "SpeedResult"] | None = None):
        self.core = core
        self.cfg = config.speedtest
        self.board = config.board
        self.uplinks = config.effective_uplinks()      # best first
        self.usage = usage                   # agent.cellular.usage.UsageMeter (remaining_bytes()), or None
        self._measure = measure_fn         # None: agent.speedtest.measure.measure, imported on first use
        self.schedule = State(Settings(daily_uplinks(self.cfg, self.uplinks), self.cfg.hour, self.cfg.jitter_min,
                                       config.device.id, tz))
        self.running: str | None = None
        self.last: dict[str, dict[str, Any]] = {}
        core.register_command("speedtest", self._cmd)
        core.subscribe(SpeedMeasured, self._on_measured)
        if self.schedule.settings.links:
            core.call_every(TICK_S, self.tick, first_in=TICK_S)
        self._publish()

    # ---- core thread ------------------------------------------------------------------------------------------
    def plan(self, link: str) -> "Plan":
        from agent.speedtest.measure import Plan
        c = self.cfg
        return Plan(url=c.url, upload_url=c.upload_url, iperf3=c.iperf3, ca_file=c.ca, timeout_s=c.timeout_s,
                    max_bytes=c.cellular_max_bytes if self._cellular(link) else c.max_bytes)

    def _cellular(self, link: str) -> bool:
        return any(u.cellular for u in self.uplinks if u.name == link)

    def tick(self, now: float) -> None:
        wall, _ = self.core.wall.now()
        up = frozenset(link for link, info in self._links().items() if info.get("up"))
        self.schedule, actions = decide(self.schedule, Tick(up, busy=self.running is not None), wall)
        for action in actions:
            log.info("speed measurement of %s: the daily slot", action.link)
            self.start(action.link)
        if next_slot(self.schedule.settings, wall) != self.core.state["speedtest"]["next_at"]:
            self._publish()      # a slot gone by without a measurement (the link was down)

    def start(self, link: str, deferred: Deferred | None = None) -> dict[str, Any] | None:
        """Start measuring `link` on a worker; the result comes back as SpeedMeasured. A measurement refused at
        once (the data budget) is reported here, and its data returned."""
        from agent.speedtest.measure import SpeedResult, measure
        if self._measure is None:
            self._measure = measure
        plan = self.plan(link)
        if self._cellular(link):
            remaining = self.usage.remaining_bytes() if self.usage is not None else None
            refusal = budget_refusal(cost_estimate(plan), remaining)
            if refusal is not None:
                log.warning("speed measurement of %s not started: %s", link, refusal)
                return self._report(link, SpeedResult(False, method=plan.method, server=plan.server, error=refusal))
        binding = self._binding(link)
        self.running = link
        self._publish()
        threading.Thread(target=self._work, args=(link, plan, binding, deferred), name=f"speedtest-{link}",
                         daemon=True).start()
        return None

    def _on_measured(self, item: SpeedMeasured, now: float) -> None:
        self.running = None
        data = self._report(item.link, item.result)
        if item.deferred is not None:
            item.deferred.resolve(data)

    def _report(self, link: str, result: "SpeedResult") -> dict[str, Any]:
        data = result.as_event(link)
        self.core.emit("speed_measured", **data)
        self.last[link] = data
        self._publish()
        return data

    def _links(self) -> dict[str, dict[str, Any]]:
        return (self.core.state.get("failover") or {}).get("links") or {}

    def _binding(self, link: str) -> Binding:
        """The uplink's interface and, once known, its address (the iproute2 backend's per-uplink rules match on
        the source address; SO_BINDTODEVICE alone would keep the default route's gateway)."""
        info = self._links().get(link) or {}
        configured = next((u.interface for u in self.uplinks if u.name == link), "")
        return Binding(info.get("interface") or configured, info.get("address") or None)

    def _publish(self) -> None:
        settings = self.schedule.settings
        next_at = next_slot(settings, self.core.wall.now()[0]) if settings.links else None
        self.core.state["speedtest"] = {"running": self.running, "next_at": next_at, "last": dict(self.last)}

    def _cmd(self, args: Any) -> Any:
        if args is None:
            args = {}
        names = ", ".join(u.name for u in self.uplinks)
        if not isinstance(args, dict) or set(args) - {"link"}:
            raise CommandError(f'speedtest takes {{"link": NAME}}, NAME one of the uplinks: {names}')
        asked = args.get("link", self.uplinks[0].name)
        link = resolve(asked, self.uplinks) if isinstance(asked, str) else None
        if link is None:
            raise CommandError(f"speedtest: link: expected one of {names}, got {str(asked)[:40]!r}")
        if self._cellular(link) and not self.cfg.cellular:
            raise CommandError("speedtest: [speedtest] cellular is false: the cellular uplink is not measured")
        if self.running is not None:
            raise CommandError(f"speedtest: the {self.running} uplink is being measured; try again when it is done")
        deferred = Deferred()
        done_at_once = self.start(link, deferred)
        return done_at_once if done_at_once is not None else deferred

    # ---- worker thread ----------------------------------------------------------------------------------------
    def _work(self, link: str, plan: "Plan", binding: Binding, deferred: Deferred | None) -> None:
        from agent.speedtest.measure import SpeedResult
        try:
            enter_netns(self.board.netns)      # sockets and iperf3 live where the uplinks are
            result = self._measure(plan, binding)
        except OSError as e:                   # the namespace is gone
            result = SpeedResult(False, method=plan.method, server=plan.server,
                                 error=f"network namespace {self.board.netns}: {e.strerror or e}")
        except Exception as e:                 # a bug must not kill the agent (the thread supervisor would)
            log.exception("speed measurement of %s failed", link)
            result = SpeedResult(False, method=plan.method, server=plan.server,
                                 error=f"internal error: {type(e).__name__}")
        self.core.post(SpeedMeasured(link, result, deferred))
