"""A link's prober: one scheduling thread that sends probes on the ProbeSchedule and a few workers that wait for
the answers, so a dead link (every probe waiting out its timeout) does not slow the cadence down. Results are
posted to the core as ProbeResult; the prober decides nothing.

The core changes the rate (set_rate) and the source address (set_source) from its own thread: both are plain
attribute writes read by the scheduler on its next turn, and a wake-up event makes a new rate apply at once.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from agent.linkmon.inputs import ProbeResult
from agent.linkmon.methods import Binding, ProbeFailed, ProbeOptions, probe, resolved
from agent.linkmon.netns import enter_netns
from agent.linkmon.schedule import Intervals, ProbeSchedule, Rate
from agent.linkmon.targets import Target

log = logging.getLogger(__name__)

SPARE_WORKERS = 2


class LinkProber:
    def __init__(self, link: str, interface: str, targets: list[Target], intervals: Intervals,
                 options: ProbeOptions, post: Callable[[Any], None], *, netns: str = "",
                 clock: Callable[[], float] = time.monotonic):
        self.link = link
        self.interface = interface
        self._targets = {t.name: t for t in targets}
        self._intervals = intervals
        self._options = options
        self._post = post
        self._netns = netns
        self._clock = clock
        self._rate = Rate.OFF
        self._source: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # enough workers for every probe that can be waiting at the fastest rate, plus slack
        fastest = min(intervals.gap(Rate.FAST, len(targets)), intervals.gap(Rate.ACTIVE, len(targets)))
        self._workers = math.ceil(options.timeout_s / fastest) + SPARE_WORKERS
        self.sent = 0   # read by tests and the state; written by the scheduler thread only

    # ---- from the core thread ----------------------------------------------------------------------------
    def set_rate(self, rate: str) -> None:
        self._intervals.gap(rate, len(self._targets))   # ValueError for an unknown rate, here and not later
        self._rate = rate
        self._wake.set()

    def set_source(self, address: str | None) -> None:
        self._source = address

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"prober-{self.link}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # ---- the scheduler thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            enter_netns(self._netns)
        except OSError as e:
            log.error("prober %s: cannot enter network namespace %r: %s", self.link, self._netns, e)
            return
        self._options = resolved(self._options)
        schedule = ProbeSchedule(list(self._targets), self._intervals, Rate.OFF, self._clock())
        with ThreadPoolExecutor(self._workers, thread_name_prefix=f"probe-{self.link}",
                                initializer=enter_netns, initargs=(self._netns,)) as pool:
            while not self._stop.is_set():
                now = self._clock()
                schedule.set_rate(self._rate, now)
                name = schedule.take(now)
                if name is not None:
                    self.sent += 1
                    pool.submit(self._probe_one, self._targets[name], Binding(self.interface, self._source))
                    continue
                due = schedule.next_at()
                self._wake.wait(None if due is None else max(0.0, due - self._clock()))
                self._wake.clear()
            pool.shutdown(wait=False, cancel_futures=True)

    def _probe_one(self, target: Target, binding: Binding) -> None:
        sent_at = self._clock()
        try:
            rtt = probe(target, binding, self._options)
            result = ProbeResult(self.link, target.name, True, sent_at, rtt)
        except ProbeFailed as e:
            result = ProbeResult(self.link, target.name, False, sent_at, error=str(e))
        except Exception as e:  # a bug in a probe must not look like a dead link, nor kill the worker
            log.exception("probe %s %s failed unexpectedly", self.link, target.name)
            result = ProbeResult(self.link, target.name, False, sent_at, error=f"internal error: {type(e).__name__}")
        if not self._stop.is_set():
            self._post(result)
