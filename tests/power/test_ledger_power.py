"""Power cuts in the ledger (a real Core in virtual time, tests/ledger/rig.py) and what a restart can honestly say
about the time the agent did not see: a cut still open when it stopped, the machine's own reboot."""
from __future__ import annotations

import pytest

from agent.ledger.boot import watchdog_boot_status
from agent.ledger.records import (MACHINE_RESTARTED, MACHINE_RESTARTED_CLEAN, NOT_OBSERVED, POWER, SITE,
                                   STOPPED_ON_BATTERY_LOW, WATCHDOG_POWER_FAULT, WATCHDOG_RESET)
from agent.ledger.store import Ledger
from agent.report.compute import ReportSettings, compute
from agent.report.language import Writer
from agent.report.text import evidence_text, render_text
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
    monkeypatch.setattr(Ledger, "watchdog_status", staticmethod(dict))     # no watchdog unless a test gives one
    return booted


def restart_text(rig: LedgerRig, lang: str) -> str:
    """The report's line of evidence for the not-observed gap, in `lang`."""
    report = compute(rig.period(), ReportSettings(now=rig.wall()))
    (gap,) = [i for i in report["incidents"] if i["kind"] == NOT_OBSERVED]
    return evidence_text(gap, Writer(lang))


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
    assert cut.evidence["charge_pct_at_battery_low"] == 7.0 and cut.evidence["agent_stopped"] == STOPPED_ON_BATTERY_LOW
    assert "closed at restart" in cut.evidence["closed"] and cut.evidence["closed_by"] == "restart"
    (gap,) = of(rig2, NOT_OBSERVED)
    assert gap.start == approx(stopped) and gap.evidence["stopped"] == "cleanly" and gap.evidence["clean_stop"] is True
    assert gap.evidence["power_cut_at_stop"] is True
    assert gap.evidence["machine_booted"] == approx(stopped + 1800)
    assert gap.evidence["machine_restarted"] == MACHINE_RESTARTED_CLEAN
    # said in the report's language, each fact from its key (agent/report/language.py "sentences")
    fr = restart_text(rig2, "fr")
    assert fr == ("agent arrêté proprement; le courant du site était coupé (onduleur sur batterie) à l'arrêt de "
                  "l'agent; le routeur a redémarré après un arrêt propre de l'agent")
    assert "the site's power was cut (the UPS on battery) when the agent stopped" in restart_text(rig2, "en")
    report = compute(rig2.period(), ReportSettings(now=rig2.wall()))
    (cut_row,) = [i for i in report["incidents"] if i["kind"] == POWER]
    cut_fr = evidence_text(cut_row, Writer("fr"))
    assert "agent arrêté proprement sur la batterie faible de l'onduleur" in cut_fr
    assert "batterie de l'onduleur faible" in cut_fr and "clos au redémarrage" in cut_fr and "stopped" not in cut_fr


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
    assert gap.evidence["clean_stop"] is False and "reset_by" not in gap.evidence
    en = restart_text(rig2, "en")
    assert "the router restarted without the agent stopping cleanly: a power loss, a hard reset or a kernel " \
           "crash" in en and "agent stopped without a clean stop (kill, crash or power cut)" in en


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


def watchdogs(root, **statuses) -> str:
    """A /sys/class/watchdog of our own: {name: bootstatus text}."""
    for name, text in statuses.items():
        (root / name).mkdir(parents=True)
        (root / name / "bootstatus").write_text(text)
    return str(root)


def test_the_watchdogs_boot_status_says_a_reset_or_a_power_fault_and_nothing_else(tmp_path):
    assert watchdog_boot_status(watchdogs(tmp_path / "a", watchdog0="0\n")) == {}
    assert watchdog_boot_status(watchdogs(tmp_path / "b", watchdog0="0\n", watchdog1="32\n")) == \
        {"reset_by": WATCHDOG_RESET, "watchdog": "watchdog1", "bootstatus": 32}
    # a power fault says why the watchdog acted: it wins over the reset another watchdog saw
    assert watchdog_boot_status(watchdogs(tmp_path / "c", watchdog0="32\n", watchdog1="16\n"))["reset_by"] == \
        WATCHDOG_POWER_FAULT
    assert watchdog_boot_status(watchdogs(tmp_path / "d", watchdog0="garbage\n", watchdog1="")) == {}
    assert watchdog_boot_status(str(tmp_path / "no sysfs")) == {}
    (tmp_path / "e" / "watchdog0").mkdir(parents=True)          # a driver without bootstatus (no WATCHDOG_SYSFS)
    assert watchdog_boot_status(str(tmp_path / "e")) == {}


def test_a_reboot_the_watchdog_caused_is_said_so_and_only_when_the_machine_restarted(tmp_path, boots, monkeypatch):
    root = watchdogs(tmp_path / "sys", watchdog0="32\n")
    monkeypatch.setattr(Ledger, "watchdog_status", staticmethod(lambda: watchdog_boot_status(root)))
    rig = LedgerRig(tmp_path / "ledger")
    boots[0] = rig.wall() - 86400                      # the agent restarts alone: this boot's reset is old news
    rig.advance(HEARTBEAT_S * 2)
    rig.kill()
    rig.clock.now += 120
    rig2 = LedgerRig(tmp_path / "ledger", rig.clock)
    assert "reset_by" not in of(rig2, NOT_OBSERVED)[0].evidence
    rig2.advance(HEARTBEAT_S * 2)
    last_beat = rig2.wall()
    rig2.kill()                                        # the machine hung; its watchdog reset it
    boots[0] = last_beat + 40
    rig2.clock.now += 120
    rig3 = LedgerRig(tmp_path / "ledger", rig2.clock)
    gap = of(rig3, NOT_OBSERVED)[-1]
    assert (gap.evidence["reset_by"], gap.evidence["watchdog"]) == (WATCHDOG_RESET, "watchdog0")
    assert gap.evidence["machine_restarted"] == MACHINE_RESTARTED
    report = compute(rig3.period(), ReportSettings(now=rig3.wall()))
    last = [i for i in report["incidents"] if i["kind"] == NOT_OBSERVED][-1]
    assert "le chien de garde matériel a réinitialisé le routeur (blocage), ce n'est pas une coupure de courant" \
        in evidence_text(last, Writer("fr"))


def test_an_older_ledgers_own_words_are_shown_as_they_were_written():
    """Before codes, the ledger wrote sentences: a report of such a ledger shows them, untranslated but whole."""
    old = {"start_local": "2026-11-03T10:00:00+01:00", "evidence": {
        "stopped": "without a clean stop (kill, crash or power cut)",
        "machine_restarted": "the router restarted without the agent stopping cleanly: a power loss, a hard reset "
                             "or a kernel crash", "power_cut_at_stop": "the site's power was cut"}}
    fr = evidence_text(old, Writer("fr"))
    assert fr.startswith("agent arrêté : without a clean stop")
    assert "a power loss, a hard reset or a kernel crash" in fr
    assert "le courant du site était coupé (onduleur sur batterie) à l'arrêt de l'agent" in fr


def test_an_incident_closed_at_a_migration_says_so_not_that_it_ended_at_a_heartbeat():
    row = {"start_local": "2026-11-03T10:00:00+01:00", "evidence": {"closed": "closed at the migration ...",
                                                                    "closed_by": "migration"}}
    assert evidence_text(row, Writer("fr")) == ("clos à la mise à jour du journal (l'ancien ne notait pas les "
                                                "signes de vie), à ce démarrage")
    row["evidence"]["closed_by"] = "restart"
    assert evidence_text(row, Writer("fr")) == "clos au redémarrage, au dernier signe de vie"


def test_the_kernel_boot_time_is_read_from_proc_stat(tmp_path):
    from agent.ledger.boot import machine_boot_time
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
