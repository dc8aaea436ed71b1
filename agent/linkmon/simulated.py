"""Simulated uplinks for `[board] backend = "simulated"`: the demo and running without privileges or interfaces.

SimulatedProber and SimulatedWatcher have the interface of LinkProber and NetlinkWatcher and post the same
inputs, so the failover controller and policy run unchanged; only the answers come from `SimulatedUplinks`
(fiber up, cut, lossy, slow) instead of the network. Faults are set from the demo script or a test.
"""
from __future__ import annotations

import random
import threading
import time
from typing import Any, Callable

from agent.linkmon.inputs import AddressChanged, CarrierChanged, ProbeResult, RouteCheckDone
from agent.linkmon.schedule import Intervals, Rate


class SimulatedUplinks:
    """What each simulated uplink does to a probe: answered after rtt_ms, lost with loss_pct, or dead."""

    def __init__(self, seed: int | None = None, names: tuple[str, ...] = ()):
        """`names`: uplinks other than primary and backup ([[uplinks]]), each a healthy fixed line at first."""
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.links: dict[str, dict[str, Any]] = {
            "primary": {"carrier": True, "reachable": True, "loss_pct": 0.0, "rtt_ms": 8.0},
            "backup": {"carrier": True, "reachable": True, "loss_pct": 0.0, "rtt_ms": 45.0},
        }
        for name in names:
            self.links.setdefault(name, {"carrier": True, "reachable": True, "loss_pct": 0.0, "rtt_ms": 12.0})
        self._watchers: list["SimulatedWatcher"] = []

    def set(self, link: str, **changes: Any) -> None:
        with self._lock:
            self.links[link].update(changes)
            watchers = list(self._watchers)
        if "carrier" in changes:
            for w in watchers:
                w.carrier_changed(link, bool(changes["carrier"]))

    def answer(self, link: str) -> tuple[bool, float | None, str]:
        with self._lock:
            s = dict(self.links[link])
            lost = self._rng.random() * 100 < s["loss_pct"]
            jitter = self._rng.uniform(0.9, 1.2)
        if not s["carrier"]:
            return False, None, "network unreachable"
        if not s["reachable"] or lost:
            return False, None, "timeout"
        return True, s["rtt_ms"] * jitter, ""


class SimulatedProber:
    def __init__(self, link: str, interface: str, uplinks: SimulatedUplinks, targets: list[str],
                 intervals: Intervals, post: Callable[[Any], None], clock: Callable[[], float] = time.monotonic,
                 timeout_s: float = 0.5):
        self.link, self.interface = link, interface
        self._uplinks, self._targets, self._post, self._clock = uplinks, targets, post, clock
        self._intervals = intervals
        self._timeout_s = timeout_s
        self._rate = Rate.OFF
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0

    def set_rate(self, rate: str) -> None:
        self._rate = rate
        self._wake.set()

    def set_source(self, address: str | None) -> None:
        pass

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"simprober-{self.link}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            gap = self._intervals.gap(self._rate, len(self._targets))
            if gap is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            target = self._targets[i % len(self._targets)]
            i += 1
            sent_at = self._clock()
            ok, rtt, error = self._uplinks.answer(self.link)
            self.sent += 1
            if not ok and error == "timeout":
                # a lost probe is only known lost when its timeout runs out
                self._post_later(sent_at, target)
            else:
                self._post(ProbeResult(self.link, target, ok, sent_at, rtt_ms=rtt, error=error))
            self._wake.wait(gap)
            self._wake.clear()

    def _post_later(self, sent_at: float, target: str) -> None:
        t = threading.Timer(self._timeout_s, lambda: self._post(
            ProbeResult(self.link, target, False, sent_at, rtt_ms=None, error="timeout")))
        t.daemon = True
        t.start()


class SimulatedWatcher:
    def __init__(self, uplinks: SimulatedUplinks, interfaces: dict[str, str], post: Callable[[Any], None],
                 clock: Callable[[], float] = time.monotonic):
        self._uplinks, self._interfaces, self._post, self._clock = uplinks, interfaces, post, clock

    def start(self, wait_s: float = 5.0) -> None:
        self._uplinks._watchers.append(self)
        for i, (link, iface) in enumerate(self._interfaces.items()):
            now = self._clock()
            self._post(CarrierChanged(iface, self._uplinks.links[link]["carrier"], now))
            self._post(AddressChanged(iface, {"primary": "192.0.2.1", "backup": "100.64.0.2"}.get(
                link, f"198.51.100.{i + 1}"), now))

    def stop(self, timeout: float = 2.0) -> None:
        if self in self._uplinks._watchers:
            self._uplinks._watchers.remove(self)

    def carrier_changed(self, link: str, up: bool) -> None:
        self._post(CarrierChanged(self._interfaces[link], up, self._clock()))


class SimulatedRouteCheck:
    """The drill's "where does traffic really go" for the sim board: the sim route backend's preferred uplink,
    answered or not as that simulated uplink answers probes."""

    def __init__(self, uplinks: SimulatedUplinks, routes, interfaces: dict[str, str]):
        self._uplinks, self._routes, self._interfaces = uplinks, routes, interfaces

    def __call__(self, target, options, interfaces_by_address: dict[str, str]) -> RouteCheckDone:
        link = self._routes.status().get("preferred")
        if link is None:
            return RouteCheckDone(None, None, False, None, "no default route")
        interface = self._interfaces[link]
        source = next((a for a, i in interfaces_by_address.items() if i == interface), None)
        for _ in range(3):   # like the real check: one lost packet does not fail a drill
            ok, rtt, error = self._uplinks.answer(link)
            if ok:
                return RouteCheckDone(interface, source, True, rtt)
        return RouteCheckDone(interface, source, False, None, error)
