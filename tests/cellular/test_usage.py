"""Data usage per SIM per billing period: the counter arithmetic and billing periods as tables, then the meter on a
fake /sys/class/net directory (the sim board has no interface) driven through the core with a settable clock."""
from __future__ import annotations

import calendar
from datetime import date
from pathlib import Path

import pytest

from agent.cellular.usage import (WRAP_32, Counters, attach_usage, counter_step, counters_delta, local_date,
                                  period_start)
from agent.config import from_dict
from agent.core import Core, WallClock
from agent.modem_service import ModemStatus

ICCID_1 = "89330123456789012345"
ICCID_2 = "89330999999999999999"
GB = 1_000_000_000


STEPS = [
    # prev, cur, same interface, elapsed -> (bytes, how)
    (100, 250, True, 10.0, (150, "grow")),
    (100, 100, True, 10.0, (0, "grow")),
    (WRAP_32 - 1000, 500, True, 10.0, (1500, "wrap")),                   # 32-bit counter wrapped
    (WRAP_32 - 1000, 500, True, None, (500, "reset")),                    # no time base (restart): not a wrap
    (2_000_000, 500, True, 10.0, (500, "reset")),                         # 4 GB in 10 s: no link does that
    (WRAP_32 + 5, 500, True, 10.0, (500, "reset")),                       # a 64-bit counter never wraps here
    (900, 300, False, 10.0, (300, "reset")),                              # interface re-created: all is new
    (100, 5000, False, 10.0, (5000, "reset")),                            # ... even if bigger than before
]


@pytest.mark.parametrize("prev,cur,same,elapsed,expected", STEPS)
def test_counter_step(prev, cur, same, elapsed, expected):
    assert counter_step(prev, cur, same, elapsed) == expected


def test_counters_delta():
    assert counters_delta(None, Counters(3, 10, 20), 1.0) == (0, 0, "base")
    assert counters_delta(Counters(3, 10, 20), Counters(3, 15, 40), 1.0) == (5, 20, "grow")
    assert counters_delta(Counters(3, 10, 20), Counters(7, 4, 6), 1.0) == (4, 6, "reset")
    assert counters_delta(Counters(3, WRAP_32 - 4, 20), Counters(3, 6, 25), 1.0) == (10, 5, "wrap")


PERIODS = [
    # day, billing_day -> period start
    (date(2026, 11, 23), 1, date(2026, 11, 1)),
    (date(2026, 11, 23), 23, date(2026, 11, 23)),
    (date(2026, 11, 22), 23, date(2026, 10, 23)),
    (date(2026, 1, 5), 15, date(2025, 12, 15)),       # across the new year
    (date(2026, 2, 28), 31, date(2026, 2, 28)),       # February has no 31st: its last day
    (date(2026, 2, 27), 31, date(2026, 1, 31)),
    (date(2024, 2, 29), 30, date(2024, 2, 29)),       # leap year
    (date(2026, 3, 30), 31, date(2026, 2, 28)),
    (date(2026, 3, 31), 31, date(2026, 3, 31)),
]


@pytest.mark.parametrize("day,billing_day,expected", PERIODS)
def test_period_start(day, billing_day, expected):
    assert period_start(day, billing_day) == expected


def test_local_date_uses_the_configured_zone():
    ts = calendar.timegm((2026, 11, 30, 23, 30, 0))          # 23:30 UTC is already 1 December in Paris
    assert local_date(ts, "Europe/Paris") == date(2026, 12, 1)
    assert local_date(ts, "UTC") == date(2026, 11, 30)


# ---- the meter on a fake statistics directory -------------------------------------------------------------------

class FakeNet:
    """A /sys/class/net look-alike: <dir>/<iface>/{ifindex, statistics/rx_bytes, statistics/tx_bytes}."""

    def __init__(self, root: Path, iface: str = "wwan0"):
        self.root, self.iface = root, iface
        self.ifindex, self.rx, self.tx = 5, 0, 0
        self.write()

    def write(self) -> None:
        d = self.root / self.iface
        (d / "statistics").mkdir(parents=True, exist_ok=True)
        (d / "ifindex").write_text(f"{self.ifindex}\n")
        (d / "statistics" / "rx_bytes").write_text(f"{self.rx}\n")
        (d / "statistics" / "tx_bytes").write_text(f"{self.tx}\n")

    def add(self, rx: int, tx: int = 0) -> None:
        self.rx, self.tx = self.rx + rx, self.tx + tx
        self.write()

    def recreate(self) -> None:           # a modem reset re-enumerates USB: new interface, counters from 0
        self.ifindex += 1
        self.rx = self.tx = 0
        self.write()

    def remove(self) -> None:
        import shutil
        shutil.rmtree(self.root / self.iface)


class Rig:
    def __init__(self, tmp_path: Path, usage: dict | None = None, boot_id: str = "boot-a", wall: float | None = None,
                 net: FakeNet | None = None):
        self.tmp_path = tmp_path
        self.net = net or FakeNet(tmp_path / "sys")
        self.mono = [1000.0]
        self.wall = [wall if wall is not None else calendar.timegm((2026, 11, 10, 12, 0, 0))]
        self.config = from_dict({"storage": {"dir": str(tmp_path / "state")},
                                 "usage": {"statistics_dir": str(tmp_path / "sys"), "billing_day": 15,
                                           "timezone": "UTC", "sample_s": 10, "write_interval_s": 300,
                                           **(usage or {})}})
        self.core = Core(monotonic=lambda: self.mono[0], wall=WallClock(lambda: self.wall[0], lambda: "ntp"))
        self.events: list = []
        self.core.add_sink(self.events.append)
        self.meter = attach_usage(self.core, self.config, boot_id=boot_id)
        self.core.drain()

    def advance(self, seconds: float) -> None:
        """Let time pass in sample_s steps, running the core's timers as it goes."""
        end = self.mono[0] + seconds
        while self.mono[0] < end:
            step = min(10.0, end - self.mono[0])
            self.mono[0] += step
            self.wall[0] += step
            self.core.drain()

    def sim(self, iccid: str | None, slot: int | None = 1, state: str = "READY") -> None:
        self.core.post(ModemStatus({"iccid": iccid, "sim_slot": slot, "sim_state": state}))
        self.core.drain()

    @property
    def usage(self) -> dict:
        return self.core.state["cellular"]["usage"]

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events if e.kind.startswith("data_")]


def test_counts_per_sim_and_gives_early_bytes_to_the_first_sim_learnt(tmp_path):
    r = Rig(tmp_path)
    r.net.add(1000, 500)                  # before the modem told us the ICCID: pending
    r.advance(10)
    assert r.usage["pending_bytes"] == 1500 and r.usage["iccid"] is None
    r.sim(ICCID_1)
    assert r.meter.month_bytes(ICCID_1) == 1500 and r.usage["pending_bytes"] == 0
    r.net.add(2000, 1000)
    r.advance(10)
    assert (r.usage["rx_bytes"], r.usage["tx_bytes"], r.usage["month"]) == (3000, 1500, "2026-10")
    assert r.meter.month_bytes(ICCID_1) == 4500
    r.sim(ICCID_2, slot=2)                # the SIM changed: bytes so far were SIM 1's
    r.net.add(700)
    r.advance(10)
    assert r.meter.month_bytes(ICCID_1) == 4500 and r.meter.month_bytes(ICCID_2) == 700
    r.sim(None, state="SIM BUSY")         # a poll that could not read the ICCID is no SIM change
    r.net.add(300)
    r.advance(10)
    assert r.meter.month_bytes(ICCID_2) == 1000


def test_counter_reset_and_wrap(tmp_path):
    r = Rig(tmp_path)
    r.sim(ICCID_1)
    r.net.add(5000)
    r.advance(10)
    r.net.recreate()
    r.net.add(800)                        # the new interface's first bytes
    r.advance(10)
    assert r.meter.month_bytes(ICCID_1) == 5800
    r.net.remove()                        # modem re-enumerating: no interface for a while
    r.advance(20)
    assert r.usage["counters_ok"] is False and r.meter.month_bytes(ICCID_1) == 5800
    r.net.write()
    r.advance(10)
    assert r.usage["counters_ok"] is True
    r.net.rx = WRAP_32 - 100              # a 32-bit counter about to wrap (as on 32-bit kernels) ...
    r.net.write()
    r.advance(10)
    base = r.meter.month_bytes(ICCID_1)
    r.net.rx = 400                        # ... and wrapped within one sample
    r.net.write()
    r.advance(10)
    assert r.meter.month_bytes(ICCID_1) == base + 500


def test_billing_period_rollover_keeps_the_old_period(tmp_path):
    r = Rig(tmp_path, wall=calendar.timegm((2026, 11, 14, 23, 59, 0)))
    r.sim(ICCID_1)
    r.net.add(1000)
    r.advance(10)
    assert r.usage["month"] == "2026-10"
    r.advance(60)                         # 15 Nov 00:00 UTC: billing day 15
    r.net.add(200)
    r.advance(10)
    assert r.usage["month"] == "2026-11" and r.usage["total_bytes"] == 200
    assert r.meter.month_bytes(ICCID_1, "2026-10") == 1000
    rows = r.meter.db.query("SELECT period, rx_bytes FROM usage ORDER BY period")
    assert rows[0] == ("2026-10", 1000)


def test_usage_survives_restart_and_kill(tmp_path):
    r = Rig(tmp_path)
    r.sim(ICCID_1)
    r.net.add(10_000)
    r.advance(10)
    r.net.add(5_000)                      # counted in memory, not written yet (write_interval_s 300)
    r.advance(10)
    assert r.meter.month_bytes(ICCID_1) == 15_000
    r.meter.db.close()                    # kill -9: no stop(), nothing flushed
    r.net.add(1_000)                      # traffic while the agent is down
    r2 = Rig(tmp_path, net=r.net, wall=r.wall[0] + 30)
    r2.sim(ICCID_1)
    r2.advance(10)
    # what was written (totals with the raw counters they include) + the counters since: nothing lost
    assert r2.meter.month_bytes(ICCID_1) == 16_000
    r2.meter.stop()
    # after a reboot the counters start from 0 again: all of them are new
    r.net.rx, r.net.tx = 2_000, 0
    r.net.write()
    r3 = Rig(tmp_path, net=r.net, boot_id="boot-b", wall=r.wall[0] + 600)
    r3.sim(ICCID_1)
    r3.advance(10)
    assert r3.meter.month_bytes(ICCID_1) == 18_000


def test_pending_bytes_survive_a_restart(tmp_path):
    r = Rig(tmp_path, usage={"write_interval_s": 10})
    r.net.add(4_000)
    r.advance(20)
    r.meter.stop()
    r2 = Rig(tmp_path, net=r.net, wall=r.wall[0] + 30)
    r2.advance(10)
    r2.sim(ICCID_2, slot=2)
    assert r2.meter.month_bytes(ICCID_2) == 4_000


def test_flash_write_rate(tmp_path):
    r = Rig(tmp_path)
    writes = []
    real = r.meter.db.transaction

    def counting():
        writes.append(r.mono[0])
        return real()
    r.meter.db.transaction = counting
    r.sim(ICCID_1)                        # a SIM learnt: written at once
    assert len(writes) == 1
    for _ in range(60):                   # 10 minutes of traffic sampled every 10 s
        r.net.add(1000)
        r.advance(10)
    assert 2 <= len(writes) <= 3, writes  # every write_interval_s (300 s), not every sample
    r.advance(600)                        # nothing new: nothing written
    n = len(writes)
    r.advance(600)
    assert len(writes) == n


def test_caps_warning_reached_repeat_and_cleared(tmp_path):
    cfg = {"cap_slot1_mb": 10, "cap_slot2_mb": 0, "warn_pct": 80}
    r = Rig(tmp_path, usage=cfg, wall=calendar.timegm((2026, 11, 14, 23, 50, 0)))
    r.sim(ICCID_1)
    r.net.add(7_000_000)
    r.advance(10)
    assert r.kinds() == []
    r.net.add(1_500_000)                  # 8.5 MB of 10
    r.advance(10)
    assert r.kinds() == ["data_cap_warning"]
    r.net.add(2_000_000)
    r.advance(10)
    assert r.kinds() == ["data_cap_warning", "data_cap_reached"]
    reached = [e for e in r.events if e.kind == "data_cap_reached"][0]
    assert reached.data == {"iccid": ICCID_1, "slot": 1, "period": "2026-10", "used_bytes": 10_500_000,
                            "cap_bytes": 10_000_000}
    assert r.usage["cap_reached"] is True and r.usage["cap_bytes"] == 10_000_000
    assert r.meter.cap_reached(ICCID_1)
    r.net.add(1_000)
    r.advance(30)
    assert r.kinds().count("data_cap_reached") == 1      # once, not at every sample
    r.sim(ICCID_2, slot=2)                                # no cap on slot 2
    r.net.add(50_000_000)
    r.advance(10)
    assert r.kinds().count("data_cap_reached") == 1
    r.sim(ICCID_1, slot=1)                                # back on the capped SIM: the rule must hear it again
    assert [e.data.get("repeat") for e in r.events if e.kind == "data_cap_reached"] == [None, True]
    r.meter.stop()
    r2 = Rig(tmp_path, usage=cfg, net=r.net, wall=r.wall[0] + 5)
    r2.sim(ICCID_1)
    assert [e.data.get("repeat") for e in r2.events if e.kind == "data_cap_reached"] == [True]
    r2.advance(600)                                       # 15 Nov: a new billing period
    assert "data_cap_cleared" in r2.kinds()
    assert r2.usage["cap_reached"] is False and r2.usage["month"] == "2026-11"


def test_sim_switch_event_makes_bytes_pending_until_the_new_iccid(tmp_path):
    r = Rig(tmp_path)
    r.sim(ICCID_1)
    r.net.add(1000)
    r.core.emit("sim_switch", to_slot=2, reason="data_cap")
    r.core.drain()
    assert r.meter.month_bytes(ICCID_1) == 1000 and r.usage["iccid"] is None
    r.net.add(300)
    r.advance(10)
    r.sim(ICCID_2, slot=2)
    assert r.meter.month_bytes(ICCID_2) == 300 and r.meter.month_bytes(ICCID_1) == 1000


def test_data_usage_command(tmp_path):
    r = Rig(tmp_path)
    r.sim(ICCID_1)
    r.net.add(1234, 100)
    r.advance(10)
    out = r.core.run_command("data_usage", {"iccid": ICCID_1})
    assert out["ok"] and out["result"]["periods"][0]["total_bytes"] == 1334
    assert out["result"]["current"]["iccid"] == ICCID_1
    assert not r.core.run_command("data_usage", {"bogus": 1})["ok"]
    assert not r.core.run_command("data_usage", {"iccid": 5})["ok"]


@pytest.mark.parametrize("usage,error", [
    ({"billing_day": 0}, '[usage] billing_day: expected an integer from 1 to 31, got 0'),
    ({"billing_day": 32}, '[usage] billing_day: expected an integer from 1 to 31, got 32'),
    ({"timezone": "Mars/Olympus"},
     '[usage] timezone: expected a time zone such as "Europe/Paris", or "", got "Mars/Olympus"'),
    ({"cap_slot1_mb": -1}, '[usage] cap_slot1_mb: expected a number from 0 to 1000000000, got -1'),
    ({"sample_s": 120}, '[usage] sample_s: expected a number from 1 to 30, got 120'),
    ({"interface": "../etc"}, '[usage] interface: expected an interface name or "", got "../etc"'),
])
def test_config_errors(usage, error):
    from agent.config import ConfigError
    with pytest.raises(ConfigError) as e:
        from_dict({"usage": usage})
    assert str(e.value) == f"<dict>: {error}"
