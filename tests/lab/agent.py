"""The agent's failover, running for real inside the lab: a Core on its own thread, the iproute2 route backend
on the router namespace, probers and the netlink watcher entering it. Tests and the benchmark act on the lab
from their own thread and watch events (with the monotonic time they were emitted) and the state."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from agent.config import Config, from_dict
from agent.core import CommandReceived, Core, Event
from agent.failover import FailoverController, attach
from board.routes import open_backend
from tests.lab.netlab import GATEWAYS, INTERFACES, TARGETS, FailoverLab


def lab_config(lab: FailoverLab, probes: dict | None = None, failover: dict | None = None) -> Config:
    return from_dict({
        "board": {"backend": "iproute2", "primary_interface": INTERFACES["primary"],
                  "cellular_interface": INTERFACES["backup"], "primary_gateway": GATEWAYS["primary"],
                  "backup_gateway": GATEWAYS["backup"], "netns": lab.router},
        "probes": {"targets": list(TARGETS), **(probes or {})},
        "failover": failover or {},
    }, source="<lab>")


class AgentUnderTest:
    def __init__(self, lab: FailoverLab, config: Config, attach_more: Callable[[Core, Config], Any] | None = None):
        self.lab = lab
        self.config = config
        self.attach_more = attach_more      # more parts on the core, attached on its thread (speedtest, ...)
        self.events: list[tuple[float, Event]] = []
        self.core: Core | None = None
        self.controller: FailoverController | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="agent-under-test", daemon=True)

    def __enter__(self) -> "AgentUnderTest":
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        assert self.controller is not None, "agent did not start"
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        # everything that touches the core, the backend and the controller lives on this thread
        try:
            core = Core()
            routes = open_backend(self.config.board.backend, **self.config.route_options())
            core.add_sink(lambda e: self.events.append((time.monotonic(), e)))
            self.controller = attach(core, self.config, routes)
            if self.attach_more is not None:
                self.attach_more(core, self.config)
            self.core = core
        except BaseException as e:
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        try:
            core.run(self._stop, tick_s=0.05)
        finally:
            self.controller.stop()
            routes.close()

    # ---- observing and commanding ------------------------------------------------------------------------
    @property
    def state(self) -> dict[str, Any]:
        return self.core.state.get("failover", {}) if self.core else {}

    def command(self, name: str, args: dict, timeout: float = 5.0) -> dict:
        done = threading.Event()
        box: dict = {}

        def reply(result: dict) -> None:
            box.update(result)
            done.set()
        self.core.post(CommandReceived(name, args, reply))
        assert done.wait(timeout), f"no reply to {name}"
        return box

    def wait_for(self, predicate: Callable[[], Any], timeout: float, what: str = "") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.01)
        raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}; "
                             f"state {self.state.get('state')}, events {[e.kind for _, e in self.events]}")

    def event(self, kind: str, after: float = 0.0) -> tuple[float, Event] | None:
        return next(((t, e) for t, e in list(self.events) if e.kind == kind and t >= after), None)

    def wait_event(self, kind: str, after: float, timeout: float) -> tuple[float, Event]:
        return self.wait_for(lambda: self.event(kind, after), timeout, f"event {kind}")

    def kinds(self, after: float = 0.0) -> list[str]:
        return [e.kind for t, e in list(self.events) if t >= after]

    def wait_healthy(self, timeout: float = 15.0) -> None:
        """Both links up, traffic on the primary."""
        def ok() -> bool:
            s = self.state
            links = s.get("links", {})
            return s.get("state") == "primary" and links.get("primary", {}).get("status") == "up" \
                and links.get("backup", {}).get("status") == "up"
        self.wait_for(ok, timeout, "a healthy start")
