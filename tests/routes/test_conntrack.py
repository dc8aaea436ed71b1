"""The NAT flush's worker: the caller never waits, results and failures are kept. The flush itself, on a real
kernel's conntrack, is tested in tests/lab/test_lan_flows.py."""
from __future__ import annotations

import threading

from board.routes.base import RouteError
from board.routes.conntrack import Forgotten, NatForgetter


def test_forget_returns_at_once_and_the_flush_runs_on_the_worker():
    release = threading.Event()
    calls = []

    def flush(addresses, netns):
        calls.append((tuple(addresses), netns, threading.current_thread().name))
        release.wait(5)
        return Forgotten(tuple(addresses), 3, 0.01)

    done = []
    nat = NatForgetter("lab-r", on_done=done.append, flush=flush)
    nat.forget(["100.64.1.2", ""])            # returns while the flush is held
    assert not done
    release.set()
    nat.close()
    assert calls == [(("100.64.1.2",), "lab-r", "conntrack-flush")]
    assert done == nat.results == [Forgotten(("100.64.1.2",), 3, 0.01)]


def test_nothing_to_forget_starts_nothing():
    nat = NatForgetter(flush=lambda *a: (_ for _ in ()).throw(AssertionError("called")))
    nat.forget([])
    nat.forget(["", None])
    assert nat._thread is None and nat.results == []


def test_a_failed_flush_is_a_result_with_its_reason():
    def flush(addresses, netns):
        raise RouteError("conntrack: cannot open ctnetlink: Protocol not supported")

    nat = NatForgetter(flush=flush)
    nat.forget(["100.64.2.2"])
    nat.close()
    assert nat.results == [Forgotten(("100.64.2.2",), 0, 0.0,
                                     "conntrack: cannot open ctnetlink: Protocol not supported")]


def test_a_missing_namespace_is_one_clear_error():
    from board.routes.conntrack import forget_nat
    try:
        forget_nat(["100.64.1.2"], netns="relais-no-such-namespace")
    except RouteError as e:
        assert str(e) == "conntrack: network namespace 'relais-no-such-namespace' does not exist"
    else:
        raise AssertionError("no error")
