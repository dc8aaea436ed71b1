"""Power cuts in the ledger (a real Core in virtual time, tests/ledger/rig.py) and what a restart can honestly say
about the time the agent did not see: a cut still open when it stopped, the machine's own reboot."""
from __future__ import annotations

import pytest

from agent.ledger.heartbeat import MACHINE_RESTARTED, MACHINE_RESTARTED_CLEAN, POWER_CUT_AT_STOP
from agent.ledger.records import NOT_OBSERVED, POWER, SITE
from agent.ledger.store import Ledger
from agent.report.compute import ReportSettings, compute
from agent.report.text import render_text
from tests.ledger.rig import HEARTBEAT_S, LedgerRig

UPS = "ups@localhost"


def approx(x: float):
    return pytest.approx(x, rel=0, abs=1e-3)


def of(rig: LedgerRig, kind: str) -> list:
    return [i for i in rig.period().incidents if i.kind == kind]


@pytest.fixture
def boots(monkeypatch):
    """The machine's boot time as the ledger reads it (/proc/stat btime in the agent): set by the test."""
    booted: list[float | None] = [None]
    monkeypatch.setattr(Ledger, "boot_time", staticmethod(lambda: booted[0]))
    return booted


def test_a_power_cut_is_a_site_incident_with_its_measured_duration(tmp_path, boots):
    rig = LedgerRig(tmp_path)
    first_on_battery = rig.wall()
    rig.advance(10)                                    # confirmed 10 s later
    rig.emit("power_lost", started_at=first_on_battery, started_at_source="ntp", ups=UPS, charge_pct=98.0,
             runtime_s=1500.0, status="OB", at_start=False)
    rig.advance(110)
    first_on_line = rig.wall()
    rig.advance(10)
    rig.emit("power_restored", ended_at=first_on_line, ended_at_source="ntp", duration_s=120.0, ups=UPS,
             charge_pct=81.0, status="OL CHRG")
    (cut,) = of(rig, POWER)
    assert (cut.link, cut.cause, cut.planned) == (SITE, "power_cut", False)
    assert (cut.start, cut.end, cut.duration_s, cut.duration_basis) == \
        (approx(first_on_battery), approx(first_on_line), 120.0, "monotonic")
    assert cut.evidence == {"ups": UPS, "charge_pct": 98.0, "runtime_s": 1500.0, "charge_pct_at_end": 81.0}
    report = compute(rig.period(first_on_battery - 3600, first_on_line + 3600), ReportSettings(now=rig.wall()))
    assert (report["totals"]["power_cuts"], report["totals"]["power_cut_s"]) == (1, 120.0)
    assert report["uplinks"]["primary"]["downtime_s"] == 0 and "site" not in report["uplinks"]
    text = render_text(report, "en")
    assert "Power cuts (the site, not the operator): 1 (2 min" in text
    assert "power cut (the UPS on battery)" in text


def test_a_second_power_lost_while_one_is_open_is_the_same_cut_and_a_restore_without_a_cut_is_nothing(tmp_path,
                                                                                                      boots):
    rig = LedgerRig(tmp_path)
    rig.emit("power_restored", ended_at=rig.wall(), duration_s=5.0)
    assert of(rig, POWER) == []
    rig.emit("power_lost", started_at=rig.wall())
    rig.advance(30)
    rig.emit("power_lost", started_at=rig.wall())
    assert len(of(rig, POWER)) == 1


def test_a_cut_open_at_the_low_battery_stop_ends_at_the_last_heartbeat_and_the_gap_says_why(tmp_path, boots):
    rig = LedgerRig(tmp_path)
    rig.advance(HEARTBEAT_S)
    cut_start = rig.wall()
    rig.emit("power_lost", started_at=cut_start, ups=UPS, charge_pct=90.0)
    rig.advance(600)
    rig.emit("battery_low", ups=UPS, charge_pct=7.0, stopping=True)
    rig.ledger.stop()                                  # the runtime's clean stop
    rig.ledger.db.flush()
    stopped = rig.wall()
    rig.kill()
    boots[0] = stopped + 1800                          # NUT shut the machine down; it booted when power came back
    rig.clock.now += 1800 + 60
    rig2 = LedgerRig(tmp_path, rig.clock)
    (cut,) = of(rig2, POWER)
    assert (cut.start, cut.end) == (approx(cut_start), approx(stopped))
    assert cut.evidence["charge_pct_at_battery_low"] == 7.0 and "low battery" in cut.evidence["agent_stopped"]
    assert "closed at restart" in cut.evidence["closed"]
    (gap,) = of(rig2, NOT_OBSERVED)
    assert gap.start == approx(stopped) and gap.evidence["stopped"] == "cleanly"
    assert gap.evidence["power_cut_at_stop"] == POWER_CUT_AT_STOP
    assert gap.evidence["machine_booted"] == approx(stopped + 1800)
    assert gap.evidence["machine_restarted"] == MACHINE_RESTARTED_CLEAN


def test_a_kill_then_a_reboot_says_the_router_restarted_uncleanly_and_no_more(tmp_path, boots):
    rig = LedgerRig(tmp_path)
    rig.advance(HEARTBEAT_S * 2 + 5)
    last_beat = rig.wall() - 5
    rig.kill()                                         # no clean stop, no power event: nothing said of power
    boots[0] = last_beat + 300
    rig.clock.now += 900
    rig2 = LedgerRig(tmp_path, rig.clock)
    (gap,) = of(rig2, NOT_OBSERVED)
    assert gap.evidence["machine_restarted"] == MACHINE_RESTARTED and "power_cut_at_stop" not in gap.evidence
    assert "power loss, a hard reset or a kernel crash" in MACHINE_RESTARTED


def test_an_agent_restart_on_a_machine_that_kept_running_says_nothing_of_the_machine(tmp_path, boots):
    rig = LedgerRig(tmp_path)
    boots[0] = rig.wall() - 86400                      # booted yesterday, long before the agent's last heartbeat
    rig.advance(HEARTBEAT_S * 2)
    rig.kill()
    rig.clock.now += 120
    rig2 = LedgerRig(tmp_path, rig.clock)
    (gap,) = of(rig2, NOT_OBSERVED)
    assert "machine_booted" not in gap.evidence and "machine_restarted" not in gap.evidence
    boots[0] = None                                    # and a kernel that does not say: nothing either
    rig2.kill()
    rig2.clock.now += 120
    rig3 = LedgerRig(tmp_path, rig2.clock)
    assert all("machine_booted" not in g.evidence for g in of(rig3, NOT_OBSERVED))


def test_the_kernel_boot_time_is_read_from_proc_stat(tmp_path):
    from agent.ledger.heartbeat import machine_boot_time
    stat = tmp_path / "stat"
    stat.write_text("cpu  1 2 3\nintr 5\nctxt 9\nbtime 1764748800\nprocesses 42\n")
    assert machine_boot_time(str(stat)) == 1764748800.0
    stat.write_text("cpu 1 2 3\n")
    assert machine_boot_time(str(stat)) is None
    assert machine_boot_time(str(tmp_path / "missing")) is None


def test_an_uplink_down_during_a_power_cut_is_not_the_operators_downtime_for_that_time(tmp_path, boots):
    rig = LedgerRig(tmp_path)
    t0 = rig.wall()
    rig.emit("link_down", link="primary", reason="no_answer", started_at=t0)
    rig.advance(360)                                   # 6 min down, then the site's power goes
    rig.emit("power_lost", started_at=rig.wall(), ups=UPS)
    rig.advance(240)
    rig.emit("power_restored", ended_at=rig.wall(), duration_s=240.0, ups=UPS)
    rig.emit("link_restored", link="primary", down_s=600.0)       # 10 min down in all, 4 of them without power
    report = compute(rig.period(t0 - 3600, t0 + 3600), ReportSettings(now=t0 + 3600))
    primary = report["uplinks"]["primary"]
    assert primary["count"] == 1 and primary["downtime_s"] == approx(360.0)
    assert primary["longest_s"] == approx(600.0)       # the incident stays as it was: 10 minutes
    (down,) = [i for i in report["incidents"] if i["kind"] == "down"]
    assert down["during_power_cut_s"] == approx(240.0) and down["duration_s"] == approx(600.0)
    assert "4 min 00 s during a power cut of the site, not counted" in render_text(report, "en")
    # without the cut, the same outage is 10 minutes of the operator's downtime
    rig2 = LedgerRig(tmp_path / "other")
    rig2.emit("link_down", link="primary", reason="no_answer", started_at=rig2.wall())
    rig2.advance(600)
    rig2.emit("link_restored", link="primary", down_s=600.0)
    report2 = compute(rig2.period(t0 - 3600, t0 + 3600), ReportSettings(now=t0 + 3600))
    assert report2["uplinks"]["primary"]["downtime_s"] == approx(600.0)
