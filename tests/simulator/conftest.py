"""Fixtures for the simulator's tests: a running simulator on a short path, and a guard against leaked threads
and simulator-internal errors."""
from __future__ import annotations

import shutil
import tempfile
import threading
import time

import pytest

from modem.simulator import Simulator
from tests.simulator.atclient import AtClient


@pytest.fixture(autouse=True)
def no_thread_leak():
    """Fail the test if it leaves a thread behind (a simulator not stopped, a thread not joined)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 3
    while True:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert not extra, f"threads leaked: {[t.name for t in extra]}"


@pytest.fixture
def workdir():
    # Unix socket paths are limited to 107 bytes: keep <link>.ctl short whatever pytest's tmp_path is.
    d = tempfile.mkdtemp(prefix="relais-sim-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def make_sim(workdir):
    """make_sim(vendor, speed=0) -> a started Simulator linked at <workdir>/modem; stopped after the test, which
    also fails if the IO thread died or the engine hit an internal error on the way."""
    sims: list[Simulator] = []

    def make(vendor: str = "quectel-rm500q", speed: float = 0, seed: int = 7, name: str = "modem") -> Simulator:
        sim = Simulator(vendor=vendor, link=f"{workdir}/{name}", speed=speed, seed=seed)
        sim.start()
        sims.append(sim)
        return sim

    yield make
    for sim in sims:
        alive, errors = sim.alive, list(sim.internal_errors)
        sim.stop()
        assert alive, f"simulator thread died: {sim.error!r}"
        assert not errors, f"simulator internal errors: {errors!r}"


@pytest.fixture
def sim(make_sim):
    return make_sim()


@pytest.fixture
def at(sim):
    c = AtClient(sim.link)
    yield c
    c.close()
