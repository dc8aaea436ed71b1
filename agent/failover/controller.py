"""The failover controller: wires probers and the netlink watcher to the policy, and the policy's actions to the
route backend, the probers and the agent's events. Everything here runs on the core thread except the probers,
the watcher and the drill's route check, which post their results.

Route changes are made on the core thread: with the iproute2 backend they are a few netlink messages (ms).
The controller also keeps the kernel honest: after any route change it did not make (a DHCP client, an admin)
and every RECONCILE_S it compares the backend's status with what the policy wants and re-applies it.
"""
from __future__ import annotations

import logging
import math
import threading
from typing import TYPE_CHECKING, Any

from agent.config import Config
from agent.core import CommandError, Core
from agent.drills.runner import KINDS as DRILL_KINDS
from agent.drills.runner import DrillRunner
from agent.failover.policy import (CheckRoute, Emit, LinkLayer, PolicyState, Prefer, Probe, ProbeRate,
                                   RouteChecked, SetMode, Settings, Standby, StartDrill, Tick, UplinkSpec, decide,
                                   drill_refusal, drill_target, effective_penalty, initial, modes)
from agent.linkmon.inputs import AddressChanged, CarrierChanged, ProbeResult, RouteCheckDone, RoutesChanged
from agent.linkmon.methods import ProbeOptions, resolved
from agent.linkmon.methods import load as load_probe_modules
from agent.linkmon.netns import enter_netns
from agent.linkmon.prober import LinkProber
from agent.linkmon.routecheck import check_route
from agent.linkmon.schedule import Intervals, Rate
from agent.linkmon.targets import parse_target
from board.routes import RouteBackend, RouteError

if TYPE_CHECKING:
    from agent.linkmon.netlink import NetlinkWatcher

log = logging.getLogger(__name__)

TICK_S = 0.1            # hold-downs, drills and "no answer for down_window_s" are judged at this granularity
PUBLISH_S = 1.0         # the state's RTT / loss figures are refreshed this often (and on every change)
RECONCILE_S = 5.0
ROUTES_SETTLE_S = 0.3   # a burst of route notifications (ours included) is checked once
DRILL_LIMITS_S = (5.0, 3600.0)
UNKNOWN = "?"           # carrier or address not reported yet (an address of None means "has none")


def _netlink_watcher(*args, **kwargs) -> NetlinkWatcher:
    # Imported here: pyroute2 costs ~22 MB of RSS, and the simulated board (its own watcher) never needs it.
    from agent.linkmon.netlink import NetlinkWatcher
    return NetlinkWatcher(*args, **kwargs)


class FailoverController:
    def __init__(self, core: Core, config: Config, routes: RouteBackend, *,
                 probers: dict[str, LinkProber] | None = None, watcher: NetlinkWatcher | None = None,
                 route_checker=check_route):
        self.core = core
        self.routes = routes
        self.config = config
        probes = config.probes
        self.netns = config.board.netns   # probers and netlink work where the route backend does
        self.uplinks = config.effective_uplinks()   # in priority order; names are the policy's link names
        self.interfaces = {u.name: u.interface for u in self.uplinks}
        self.targets = [parse_target(t, probes.method) for t in probes.targets]
        link_targets = {u.name: [parse_target(t, probes.method) for t in u.targets] or self.targets
                        for u in self.uplinks}
        if probers is None:   # our own probers: import their methods' modules now (simulated ones need none)
            load_probe_modules([t for targets in link_targets.values() for t in targets])
        icmp_raw = {"raw": True, "datagram": False}.get(probes.icmp_socket)   # None: decided per namespace
        self.options = ProbeOptions(timeout_s=probes.timeout_s, icmp_raw=icmp_raw, dns_name=probes.dns_name)
        intervals = Intervals(probes.interval_s, probes.backup_interval_s, probes.trickle_interval_s)
        self.probers = probers if probers is not None else {
            link: LinkProber(link, iface, link_targets[link], intervals, self.options, core.post, netns=self.netns)
            for link, iface in self.interfaces.items()}
        self.watcher = watcher if watcher is not None else _netlink_watcher(
            list(self.interfaces.values()), core.post, netns=self.netns)
        self.policy: PolicyState
        specs = tuple(UplinkSpec(u.name, u.priority, u.cellular) for u in self.uplinks)
        self.policy, self._initial_actions = initial(Settings(config.failover, probes.history_s, specs),
                                                     core.now())
        self._layer: dict[str, dict[str, Any]] = {link: {"carrier": UNKNOWN, "address": UNKNOWN, "posted": None}
                                                   for link in self.interfaces}
        self._rates = {link: Rate.OFF for link in self.interfaces}
        self._nat_address: dict[str, str] = {}   # each uplink's last address: its flows' NAT address
        self._flows_on: str | None = None        # the uplink LAN flows were last moved to
        self._route_checker = route_checker
        self._route_errors: dict[str, str] = {}
        self._reconcile_pending = False
        self._published: tuple = ()
        self._started = False
        self._stopped = False

        core.subscribe(ProbeResult, self._on_probe)
        core.subscribe(CarrierChanged, self._on_carrier)
        core.subscribe(AddressChanged, self._on_address)
        core.subscribe(RoutesChanged, self._on_routes_changed)
        core.subscribe(RouteCheckDone, self._on_route_check)
        core.register_command("failover", self._cmd_failover)
        core.register_command("drill", self._cmd_drill)
        self.drills = DrillRunner(core, config, self)
        core.call_every(TICK_S, self._on_tick, first_in=TICK_S)
        core.call_every(PUBLISH_S, lambda now: self._publish(now, force=True), first_in=PUBLISH_S)
        core.call_every(RECONCILE_S, self._reconcile, first_in=RECONCILE_S)
        self._publish(core.now(), force=True)

    # ---- life cycle --------------------------------------------------------------------------------------
    def start(self) -> None:
        """Apply the starting routes and start the watcher and probers. Call from the thread that will run the
        core (or before it runs). Idempotent."""
        if self._started:
            return
        self._started = True
        self._execute(self._initial_actions, self.core.now())
        self.watcher.start()
        for prober in self.probers.values():
            prober.start()

    def stop(self) -> None:
        self._stopped = True
        for prober in self.probers.values():
            prober.stop()
        self.watcher.stop()

    # ---- inputs ------------------------------------------------------------------------------------------
    def _on_probe(self, r: ProbeResult, now: float) -> None:
        self._decide(Probe(r.link, r.target, r.ok, r.sent_at, r.rtt_ms), now)

    def _on_carrier(self, c: CarrierChanged, now: float) -> None:
        for link in self._links_of(c.interface):
            self._layer[link]["carrier"] = c.up
            self._layer_changed(link, now)

    def _on_address(self, a: AddressChanged, now: float) -> None:
        for link in self._links_of(a.interface):
            self._layer[link]["address"] = a.address
            if a.address:   # kept when the address goes: flows NATed to it must still be forgotten
                self._nat_address[link] = a.address
            self.probers[link].set_source(a.address)
            self._layer_changed(link, now)
        self._on_routes_changed(a, now)   # an address given back comes without our routes

    def _on_routes_changed(self, _: object, now: float) -> None:
        if not self._reconcile_pending:
            self._reconcile_pending = True
            self.core.call_later(ROUTES_SETTLE_S, self._reconcile)

    def _on_route_check(self, r: RouteCheckDone, now: float) -> None:
        uplink = next(iter(self._links_of(r.interface)), None) if r.interface else None
        self._decide(RouteChecked(uplink, r.probe_ok, r.rtt_ms, r.error), now)

    def _on_tick(self, now: float) -> None:
        if not self._stopped:
            self._decide(Tick(), now)

    def _links_of(self, interface: str | None) -> list[str]:
        return [link for link, name in self.interfaces.items() if name == interface]

    def _layer_changed(self, link: str, now: float) -> None:
        layer = self._layer[link]
        if UNKNOWN in (layer["carrier"], layer["address"]):
            self._publish(now, force=True)
            return   # not known yet: say nothing rather than something wrong
        if not layer["carrier"]:
            judged = (False, "carrier_lost")
        elif layer["address"] is None:
            judged = (False, "no_address")
        else:
            judged = (True, "")
        if judged != layer["posted"]:
            layer["posted"] = judged
            self._decide(LinkLayer(link, *judged), now)
        self._publish(now, force=True)

    # ---- commands ----------------------------------------------------------------------------------------
    def _cmd_failover(self, args: dict[str, Any]) -> dict[str, Any]:
        args = _only(args, {"mode"})
        mode = args.get("mode")
        known = modes(self.policy.settings)
        if mode not in known:
            raise CommandError(f"mode must be one of {', '.join(known)}; got {str(mode)[:40]!r}")
        self._decide(SetMode(mode), self.core.now())
        st = self.policy
        return {"mode": st.mode, "state": st.phase, "active_uplink": st.active}

    def _cmd_drill(self, args: dict[str, Any]) -> Any:
        """{kind: "full" (the default, as before kinds) | "passive", duration_s (full), wait: answer with the
        drill_result data when the drill is over}."""
        args = _only(args, {"kind", "duration_s", "wait"})
        kind = args.get("kind", "full")
        if kind not in DRILL_KINDS:
            raise CommandError(f"kind must be one of {', '.join(DRILL_KINDS)}; got {kind!r}")
        duration = args.get("duration_s", self.config.drills.duration_s)
        lo, hi = DRILL_LIMITS_S
        if isinstance(duration, bool) or not isinstance(duration, (int, float)) or not math.isfinite(duration) \
                or not lo <= duration <= hi:
            raise CommandError(f"duration_s must be a number of seconds from {lo:g} to {hi:g}; got {duration!r}")
        wait = args.get("wait", False)
        if not isinstance(wait, bool):
            raise CommandError(f"wait must be true or false; got {wait!r}")
        return self.drills.start(kind, float(duration), trigger="command", wait=wait)

    # ---- what a drill asks of the failover (agent/drills/runner.py DrillPath) -----------------------------
    def full_drill_refusal(self) -> str | None:
        return drill_refusal(self.policy)

    def start_full_drill(self, duration_s: float) -> None:
        self._decide(StartDrill(duration_s), self.core.now())

    def backup_layer(self) -> dict[str, Any]:
        """The uplink a drill checks: the one a full drill moves the traffic to (the next after the best)."""
        link = drill_target(self.policy) or self.policy.best
        layer = self._layer[link]
        return {"interface": self.interfaces[link], "carrier": None if layer["carrier"] == UNKNOWN
                else layer["carrier"], "address": None if layer["address"] == UNKNOWN else layer["address"],
                "standby_up": self.policy.standby_up.get(link, True), "uplink": link}

    # ---- deciding and doing ------------------------------------------------------------------------------
    def _decide(self, event: object, now: float) -> None:
        self.policy, actions = decide(self.policy, event, now)
        self._execute(actions, now)
        self._publish(now)

    def _execute(self, actions: list, now: float) -> None:
        for action in actions:
            if isinstance(action, Prefer):
                if self._route_op(f"prefer {action.uplink}", self.routes.prefer, action.uplink):
                    self._move_flows(action.uplink)
            elif isinstance(action, Standby):
                self._route_op(f"standby {action.uplink} {'up' if action.up else 'down'}",
                               self.routes.set_standby, action.uplink, action.up)
            elif isinstance(action, ProbeRate):
                self._rates[action.link] = action.rate
                self.probers[action.link].set_rate(action.rate)
            elif isinstance(action, Emit) and action.kind == "drill_result":
                self.drills.path_result(self._wall_times(action.data, now))   # one result, with the services
            elif isinstance(action, Emit):
                self.core.emit(action.kind, **self._wall_times(action.data, now))
            elif isinstance(action, CheckRoute):
                self._start_route_check()
                if self.policy.drill is not None:     # the backup answers and carries the drill's traffic
                    self.drills.backup_ready()
            else:
                raise TypeError(f"unknown action {action!r}")

    def _route_op(self, what: str, fn, *args) -> bool:
        try:
            fn(*args)
        except RouteError as e:
            # the policy's intent stands; reconcile retries. Said once per distinct error, not every 5 s.
            if self._route_errors.get(what) != str(e):
                self._route_errors[what] = str(e)
                log.warning("route %s failed: %s (will retry)", what, e)
                self.core.emit("route_error", op=what, error=str(e))
            return False
        self._route_errors.pop(what, None)
        return True

    def _move_flows(self, uplink: str) -> None:
        """LAN flows NATed to the other uplinks' addresses are forgotten by conntrack, so that their next packet
        is NATed through `uplink`, whatever the kernel's NAT does by itself (board/routes/conntrack.py)."""
        if uplink == self._flows_on:
            return
        self._flows_on = uplink
        old = [address for link, address in self._nat_address.items() if link != uplink]
        if old:   # none at the start: no flow went through an address not known yet
            self.routes.forget_nat(old)

    def _reconcile(self, now: float) -> None:
        """Re-apply the wanted routes when the kernel disagrees: the default route points elsewhere, or an uplink
        that is up with an address has lost its route (an address removed and given back takes its routes)."""
        self._reconcile_pending = False
        if self._stopped or not self._started:
            return
        want = self.policy.active
        try:
            status = self.routes.status()
        except RouteError as e:
            log.warning("route status unreadable: %s", e)
            return
        preferred = status.get("preferred")
        routeless = [u for u, info in status.get("uplinks", {}).items()
                     if info.get("up") and info.get("address") and info.get("metric") is None]
        # IPv6 (iproute2, docs/ipv6.md): an IPv6 address that came late (a router advertisement, a new cellular
        # session) has no route yet, and nothing else tells the controller (the netlink watcher hears IPv4)
        ipv6 = status.get("ipv6") or {}
        routeless += [u for u, info in ipv6.get("uplinks", {}).items() if info.get("address")
                      and info.get("metric") is None and status.get("uplinks", {}).get(u, {}).get("up")]
        if ipv6.get("uplinks", {}).get(want, {}).get("address") and ipv6.get("preferred") not in (None, want):
            routeless.append(f"{want} (IPv6 default)")
        if preferred == want and not routeless:
            return
        if preferred not in (None, want):
            log.warning("default route points at %s, wanted %s: putting it back", preferred, want)
        if self._route_op(f"prefer {want}", self.routes.prefer, want):
            self._move_flows(want)

    def _start_route_check(self) -> None:
        addresses = {layer["address"]: self.interfaces[link] for link, layer in self._layer.items()
                     if layer["address"] not in (None, UNKNOWN)}
        target, options, netns, checker = self.targets[0], self.options, self.netns, self._route_checker

        def run() -> None:
            try:
                enter_netns(netns)
                result = checker(target, resolved(options), addresses)
            except Exception as e:   # reported to the drill as a failed check, never lost
                log.exception("route check failed")
                result = RouteCheckDone(None, None, False, None, f"internal error: {type(e).__name__}")
            self.core.post(result)
        threading.Thread(target=run, name="route-check", daemon=True).start()

    def _wall_times(self, data: dict[str, Any], now: float) -> dict[str, Any]:
        """`x_mono` (agent monotonic time) becomes `x_at` (wall clock) for the outside world."""
        wall, _ = self.core.wall.now()
        out = {}
        for key, value in data.items():
            if key.endswith("_mono"):
                out[key[:-5] + "_at"] = None if value is None else wall - (now - value)
            else:
                out[key] = value
        return out

    # ---- the state snapshot ------------------------------------------------------------------------------
    def _publish(self, now: float, force: bool = False) -> None:
        st = self.policy
        key = (st.phase, st.active, st.mode, st.drill is not None, *(v.status for v in st.links.values()))
        if not force and key == self._published:
            return
        self._published = key
        wall, _ = self.core.wall.now()
        window = self.config.probes.window_s
        self.core.state["failover"] = {
            "state": st.phase,
            "active_uplink": st.active,
            "mode": st.mode,
            "since": wall - (now - st.since),
            "standby": st.settings.failover.standby,
            "hold_down_s": st.hold_down_s(now),
            "flap_penalty": effective_penalty(st, now),
            "drill": None if st.drill is None else {"until": wall + (st.drill.until - now)},
            "links": {link: self._link_state(link, now, window) for link in st.settings.names},
        }

    def _link_state(self, link: str, now: float, window: float) -> dict[str, Any]:
        view = self.policy.link(link)
        dead = view.health.dead_targets()
        stats, targets = view.health.window(now - window, dead)
        layer = self._layer[link]
        prober = self.probers[link]
        spec = self.policy.settings.spec(link)
        return {
            "interface": self.interfaces[link],
            "kind": next(u.kind for u in self.uplinks if u.name == link),
            "priority": spec.priority,
            "up": view.status in ("up", "degraded"),
            "status": view.status,
            "reason": view.reason,
            "carrier": None if layer["carrier"] == UNKNOWN else layer["carrier"],
            "address": None if layer["address"] == UNKNOWN else layer["address"],
            "rtt_ms": _round(stats.rtt_ms),
            "loss": None if stats.loss is None else round(stats.loss, 3),
            "jitter_ms": _round(stats.jitter_ms),
            "targets": {t: s.as_dict() for t, s in targets.items()},
            "probe_rate": self._rates[link],
            "probes_sent": getattr(prober, "sent", None),
        }


def _only(args: Any, allowed: set[str]) -> dict[str, Any]:
    if args is None:
        return {}
    if not isinstance(args, dict):
        raise CommandError(f"arguments must be an object, got {type(args).__name__}")
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise CommandError(f"unknown argument(s) {', '.join(map(str, unknown))} (known: {', '.join(sorted(allowed))})")
    return args


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)
