"""The alert loop of `fleet serve` (fleet/watch.py) over a real database: what the agent publishes, stored by the
ingest's own FleetDb.store(), becomes provider incidents and alerts; a restart rebuilds it without a repeat."""
from __future__ import annotations

import json

import pytest

from fleet.alerts import Alerting, Channel, Deliveries, Rule, Rules
from fleet.config import FleetConfigError, from_dict
from fleet.db import FleetDb
from fleet.messages import Kind, Message
from fleet.sites import Tracked
from fleet.watch import Watch, watch_db

T0 = 1_796_280_000.0      # 2026-12-03 07:20 UTC
DAY = 86400.0


class Stored:
    """Messages as the agent publishes them (docs/mqtt.md), written as the ingest writes them."""

    def __init__(self, url: str):
        self.db = FleetDb(url).connect()
        self.seq: dict[str, int] = {}

    def _next(self, device: str) -> int:
        self.seq[device] = self.seq.get(device, 100) + 1
        return self.seq[device]

    def status(self, device: str, online: bool, at: float) -> None:
        self.db.store([Message(Kind.STATUS, device, online=online)], at)

    def part(self, device: str, part: str, value: dict, at: float) -> None:
        self.db.store([Message(Kind.STATE, device, self._next(device), at, "ntp", part, body={part: value})], at)

    def event(self, device: str, kind: str, data: dict, ts: float, received: float | None = None) -> None:
        self.db.store([Message(Kind.EVENT, device, self._next(device), ts, "ntp", body={"kind": kind, "data": data})],
                      ts + 1 if received is None else received)

    def telemetry(self, device: str, metrics: dict, ts: float) -> None:
        self.db.store([Message(Kind.TELEMETRY, device, self._next(device), ts, "ntp",
                               body={"why": "change", "metrics": metrics})], ts + 1)

    def site(self, device: str, provider: str = "Orange fibre", at: float = T0 - 3600) -> None:
        self.status(device, True, at)
        self.part(device, "device", {"id": device, "site": "", "contracts": [
            {"uplink": "primary", "provider": provider, "repair_hours": 4}]}, at)
        self.part(device, "cellular", {"active_slot": 1, "operator": "SFR"}, at)


class Outbox:
    def __init__(self):
        self.sent = []

    def __call__(self, alert, now):
        self.sent.append(alert)


def make_watch(url: str, tmp_path, holder: str = "fleet-a", order=None, **correlate) -> tuple[Watch, Outbox]:
    sites = tmp_path / "sites.csv"
    sites.write_text("device_id,area\nshop-1,69003\nshop-2,69003\nshop-3,69003\nshop-4,69003\n")
    config = from_dict({"database": url, "correlate": {"sites": str(sites), **correlate}})
    w = Watch(config, holder, order=order, settle_s=0.0)
    box = Outbox()
    w.alerting = Alerting(Rules(), {"mail": Channel(Deliveries("mail", box), window_s=3600.0)})
    return w, box


@pytest.fixture
def url(database):
    """Each database the fleet supports (tests/fleet/conftest.py): the loop's SQL is the same for both."""
    return database


def lose_and_recover(s: Stored, sites, lost_at: float, recovered_at: float | None, link: str = "primary",
                     received: float | None = None):
    """Each site loses `link` 20 s after the one before (its own `started_at`); stored when it comes in."""
    for n, site in enumerate(sites):
        s.event(site, "link_down", {"link": link, "reason": "no_answer", "started_at": lost_at + 20 * n},
                lost_at + 20 * n + 5, received)
    if recovered_at is not None:
        for n, site in enumerate(sites):
            s.event(site, "link_restored", {"link": link, "was": "down"}, recovered_at + n)


def test_three_sites_of_one_provider_open_an_incident_that_closes_and_alerts_once(url, tmp_path):
    s = Stored(url)
    for site in ("shop-1", "shop-2", "shop-3", "shop-4"):
        s.site(site, provider="Orange fibre" if site != "shop-4" else "Free")
    w, box = make_watch(url, tmp_path)
    lose_and_recover(s, ["shop-1", "shop-2"], T0, None)
    w.round(T0 + 60)
    assert watch_db.incidents(s.db) == [] and box.sent == []          # two sites: their own trouble
    # reported late (their outbox waited for the backup): their own start times still fit the window
    lose_and_recover(s, ["shop-3", "shop-4"], T0 + 40, None, received=T0 + 100)   # shop-4: another provider
    w.round(T0 + 120)
    [inc] = watch_db.incidents(s.db, open_only=True)
    assert (inc["provider"], inc["area"], [x["site"] for x in inc["sites"]]) == \
        ("Orange fibre", "69003", ["shop-1", "shop-2", "shop-3"])
    assert [a.rule for a in box.sent] == [Rule.PROVIDER_INCIDENT_OPENED]
    assert "Orange fibre, 3 sites in 69003" in box.sent[0].title

    w.round(T0 + 180)
    assert len(box.sent) == 1                                           # nothing new, nothing again
    for n, site in enumerate(("shop-1", "shop-2", "shop-3")):
        s.event(site, "link_restored", {"link": "primary", "was": "down"}, T0 + 900 + n)
    w.round(T0 + 1000)
    assert [a.rule for a in box.sent] == [Rule.PROVIDER_INCIDENT_OPENED, Rule.PROVIDER_INCIDENT_CLOSED]
    [inc] = watch_db.incidents(s.db)
    # closed when the last recovery came in (its `received`: the loop's now for it, in a replay too)
    assert inc["closed_at"] == T0 + 903 and all(x["recovered_at"] for x in inc["sites"])


def test_a_restart_mid_incident_rebuilds_it_and_sends_nothing_twice(url, tmp_path):
    s = Stored(url)
    for site in ("shop-1", "shop-2", "shop-3"):
        s.site(site)
    w, box = make_watch(url, tmp_path)
    s.status("shop-3", False, T0)                         # and shop-3 goes offline for good
    lose_and_recover(s, ["shop-1", "shop-2", "shop-3"], T0, None)
    w.round(T0 + 1000)
    assert sorted(a.rule for a in box.sent) == [Rule.OFFLINE, Rule.PROVIDER_INCIDENT_OPENED]
    w.close()

    again, box2 = make_watch(url, tmp_path)               # `fleet serve` restarted: state from the database
    again.round(T0 + 1100)
    assert box2.sent == []                                # neither the incident nor the offline site again
    assert list(again.state.open) and again.state.open[next(iter(again.state.open))].id == \
        watch_db.incidents(s.db)[0]["id"]
    for n, site in enumerate(("shop-1", "shop-2", "shop-3")):
        s.event(site, "link_restored", {"link": "primary", "was": "down"}, T0 + 1200 + n)
    again.round(T0 + 1300)
    assert [a.rule for a in box2.sent] == [Rule.PROVIDER_INCIDENT_CLOSED]
    again.round(T0 + 1000 + 3700)                          # the window passed: the offline site is reminded
    assert [a.rule for a in box2.sent][-1] == Rule.OFFLINE


def test_only_the_instance_holding_the_lease_runs_the_loop(url, tmp_path):
    s = Stored(url)
    for site in ("shop-1", "shop-2", "shop-3"):
        s.site(site)
    a, box_a = make_watch(url, tmp_path, holder="fleet-a")
    b, box_b = make_watch(url, tmp_path, holder="fleet-b")
    a.round(T0)
    lose_and_recover(s, ["shop-1", "shop-2", "shop-3"], T0, None)
    a.round(T0 + 50)
    b.round(T0 + 100)
    assert (b.leading, len(box_b.sent), len(box_a.sent)) == (False, 0, 1)
    b.round(T0 + 50 + 61)                                  # a stopped renewing: b takes over, from the database
    assert b.leading and box_b.sent == [] and list(b.state.open)


def test_a_mobile_outage_suggests_and_orders_the_sim_switch_only_when_configured(url, tmp_path):
    s = Stored(url)
    for site in ("shop-1", "shop-2", "shop-3"):
        s.site(site)
    orders = []
    w, box = make_watch(url, tmp_path, order=lambda *a: orders.append(a))
    lose_and_recover(s, ["shop-1", "shop-2", "shop-3"], T0, None, link="backup")
    w.round(T0 + 100)
    [inc] = watch_db.incidents(s.db)
    assert (inc["link"], inc["provider"], inc["sim_switch"], orders) == ("cellular", "SFR", "suggested", [])
    assert "switch the sites on this operator to their other SIM" in box.sent[0].title

    url2 = str(tmp_path / "other.db")
    s2 = Stored(url2)
    for site in ("shop-1", "shop-2", "shop-3"):
        s2.site(site)
    w2, _ = make_watch(url2, tmp_path, order=lambda *a: orders.append(a), order_sim_switch=True)
    lose_and_recover(s2, ["shop-1", "shop-2", "shop-3"], T0, None, link="backup")
    w2.round(T0 + 100)
    assert orders == [(site, "sim_switch", {"slot": 2}) for site in ("shop-1", "shop-2", "shop-3")]
    assert watch_db.incidents(s2.db)[0]["sim_switch"] == "ordered"


def _offline(s):
    s.status("shop-1", False, T0)


def _on_backup(s):
    s.part("shop-1", "failover", {"state": "on_backup", "active_uplink": "backup", "since": T0}, T0)


def _on_second_operator(s):
    """A three-uplink site (fiber, fiber2, lte) whose traffic went to the second fixed line."""
    s.part("shop-1", "failover", {"state": "backup", "active_uplink": "fiber2", "since": T0, "links": {
        "fiber": {"kind": "ethernet", "priority": 1, "status": "down"},
        "fiber2": {"kind": "ethernet", "priority": 2, "status": "up"},
        "lte": {"kind": "cellular", "priority": 3, "status": "up"}}}, T0)


def _drill_failed(s):
    s.event("shop-1", "drill_result", {"ok": False, "reason": "backup_no_answer"}, T0)


def _drill_overdue(s):
    s.event("shop-1", "drill_result", {"ok": True}, T0 - 40 * DAY)
    s.event("shop-1", "drill_overdue", {"last_pass": T0 - 40 * DAY, "days": 40, "overdue_days": 35}, T0)


def _data_budget(s):
    s.part("shop-1", "cellular", {"active_slot": 1, "usage": {"total_bytes": 10, "cap_bytes": 1000}}, T0)
    s.telemetry("shop-1", {"rx_bytes": 700, "tx_bytes": 150}, T0 + 10)      # 85 %: telemetry is the fresher


def _signal_poor(s):
    s.telemetry("shop-1", {"rsrp_dbm": -112, "rsrq_db": -12}, T0 - 4 * DAY)
    s.telemetry("shop-1", {"rx_bytes": 5, "tx_bytes": 5}, T0 - 2 * DAY)      # no signal metric: the run goes on
    s.telemetry("shop-1", {"rsrq_db": -13}, T0 - DAY)                         # rsrp still -112 (by exception)


@pytest.mark.parametrize("publish, rule", [
    (_offline, Rule.OFFLINE), (_on_backup, Rule.ON_BACKUP), (_on_second_operator, Rule.ON_BACKUP),
    (_drill_failed, Rule.DRILL_FAILED),
    (_drill_overdue, Rule.DRILL_OVERDUE), (_data_budget, Rule.DATA_BUDGET), (_signal_poor, Rule.SIGNAL_POOR)])
def test_each_rule_is_fed_by_what_the_agent_publishes(url, tmp_path, publish, rule):
    s = Stored(url)
    s.site("shop-1")
    w, box = make_watch(url, tmp_path)
    w.round(T0 - 5 * DAY)
    assert box.sent == []                                  # a healthy site
    publish(s)
    w.round(T0 + 2 * 3600)
    assert [a.rule for a in box.sent] == [rule]


def test_a_passed_drill_clears_overdue_and_a_good_reading_ends_poor_signal(url, tmp_path):
    s = Stored(url)
    s.site("shop-1")
    w, box = make_watch(url, tmp_path)
    _drill_overdue(s)
    _signal_poor(s)
    s.event("shop-1", "drill_result", {"ok": True}, T0 + 60)
    s.telemetry("shop-1", {"rsrp_dbm": -85}, T0 + 60)
    w.round(T0 + 3600)
    assert box.sent == []


@pytest.mark.parametrize("table, message", [
    ({"sites": "/nonexistent.csv"}, r'\[correlate\] sites: expected "" or a readable file'),
    ({"order_sim_switch": "yes"}, r"\[correlate\] order_sim_switch: expected true or false, got 'yes'"),
    ({"min_sites": 1}, r"\[correlate\] min_sites: expected an integer from 2"),
    ({"every_s": 0}, r"\[correlate\] every_s: expected a number from 0.2 to 600"),
])
def test_bad_correlate_tables_are_one_line(table, message):
    with pytest.raises(FleetConfigError, match=message):
        from_dict({"correlate": table})


@pytest.mark.parametrize("text, message", [
    ("site,area\n", "expected a header of device_id"),
    ("device_id,area\nshop/1,69003\n", r"sites.csv:2: 'shop/1' is not a device id"),
    ("device_id,repair_hours\nshop-1,soon\n", r"sites.csv:2: repair_hours: expected hours"),
])
def test_a_bad_site_list_names_its_line(tmp_path, text, message):
    sites = tmp_path / "sites.csv"
    sites.write_text(text)
    with pytest.raises(FleetConfigError, match=message):
        from_dict({"correlate": {"sites": str(sites)}})


def test_ls_filters_for_drills_and_the_data_budget(url, tmp_path, capsys):
    from fleet.cli import main
    s = Stored(url)
    for site in ("shop-1", "shop-2", "shop-3", "shop-4"):
        s.site(site)
    w, _ = make_watch(url, tmp_path)
    w.round(T0 - DAY)
    s.event("shop-1", "drill_result", {"ok": True}, T0 - 40 * DAY)
    s.event("shop-1", "drill_result", {"ok": False}, T0 - 3600)
    s.event("shop-1", "drill_overdue", {"last_pass": T0 - 40 * DAY, "days": 40, "overdue_days": 35}, T0)
    s.event("shop-2", "drill_overdue", {"days": 40}, T0)
    s.event("shop-3", "drill_result", {"ok": True}, T0)
    s.event("shop-4", "drill_result", {"ok": True}, T0 - DAY)
    s.event("shop-4", "drill_result", {"ok": False}, T0)             # the last one counts
    for site, used in (("shop-3", 790), ("shop-4", 800)):              # of 1000: 79 % and 80 %
        # the fleet table and `ls` read the state part's usage; the alert loop the fresher telemetry: both agree
        s.part(site, "cellular", {"active_slot": 1, "usage": {"total_bytes": used, "cap_bytes": 1000}}, T0)
        s.telemetry(site, {"rx_bytes": used, "tx_bytes": 0}, T0)
    w.round(T0 + 60)
    config = tmp_path / "fleet.toml"
    config.write_text(f'database = "{url}"\n')

    def ls(*filters):
        assert main(["ls", "--config", str(config), "--json", *(a for f in filters for a in ("--filter", f))]) == 0
        return [d["site"] for d in json.loads(capsys.readouterr().out)]
    assert ls("drill_failed") == ["shop-1", "shop-4"]
    assert ls("drill_overdue") == ["shop-1", "shop-2"]   # no drill passed since the agent said so
    assert ls("drill_failed", "drill_overdue") == ["shop-1"]
    assert ls("drill_failed_or_overdue") == ["shop-1", "shop-2", "shop-4"]
    assert ls("budget_nearly_used") == ["shop-4"]
    assert ls("budget_nearly_used", "drill_overdue") == []


def test_rows_are_read_in_chunks_that_never_split_a_batch(url):
    """Batches of 3, 5 (longer than the limit), 2 and 1 rows, each with its own `received`: read 4 at a time,
    every row comes once and in order, and a chunk ends where `received` changes."""
    s = Stored(url)
    received = [10.0] * 3 + [20.0] * 5 + [30.0] * 2 + [40.0]
    for n, r in enumerate(received):
        s.db.store([Message(Kind.TELEMETRY, "shop-1", n, r, "ntp", body={"why": "change", "metrics": {"n": n}})], r)
    select = "SELECT seq, received FROM telemetry WHERE"
    chunks = list(watch_db.chunks(s.db, select, 0.0, 40.0, order=", seq", limit=4))
    assert [[seq for seq, _ in c] for c in chunks] == [[0, 1, 2], [3, 4, 5, 6, 7], [8, 9, 10]]
    assert [seq for c in watch_db.chunks(s.db, select, 10.0, 30.0, order=", seq", limit=4)
            for seq, _ in c] == list(range(3, 10))


def test_the_correlate_and_alerts_example_in_docs_fleet_md_loads(tmp_path):
    """docs/fleet.md "Configuration (fleet.toml)": a valid [correlate] and [alerts] (its files made real)."""
    import re
    import tomllib
    from tests.mqtt.broker import REPO
    text = (REPO / "docs" / "fleet.md").read_text()
    doc = tomllib.loads(re.search(r"### Configuration \(fleet.toml\)\n\n```toml\n(.*?)```", text, re.S).group(1))
    (tmp_path / "sites.csv").write_text("device_id,provider,area,repair_hours\nshop-0042,Orange fibre,69003,4\n")
    (tmp_path / "secret").write_text("0123456789abcdef0123\n")
    doc["correlate"]["sites"] = str(tmp_path / "sites.csv")
    doc["alerts"]["email"]["password_file"] = str(tmp_path / "secret")
    for hook in doc["alerts"]["webhook"]:
        hook["secret_file"] = str(tmp_path / "secret")
    from fleet.watch_config import WatchSettings
    settings = WatchSettings.from_config(from_dict(doc))
    assert (settings.order_sim_switch, settings.every_s, settings.correlation.min_sites) == (False, 10.0, 3)


def test_a_bad_edit_of_the_site_list_keeps_the_one_read_before(url, tmp_path, caplog):
    s = Stored(url)
    for site in ("shop-1", "shop-2", "shop-3"):
        s.site(site)
    w, box = make_watch(url, tmp_path)
    w.round(T0)
    (tmp_path / "sites.csv").write_text("device_id,area\nshop/1,69003\n")
    lose_and_recover(s, ["shop-1", "shop-2", "shop-3"], T0, None, received=T0 + 60)
    w.round(T0 + 100)
    w.round(T0 + 110)
    assert [a.title.split(",")[1] for a in box.sent] == [" 3 sites in 69003"]     # the area read before
    assert [r.message for r in caplog.records if "site list" in r.message] == \
        [f"[correlate] sites: {tmp_path / 'sites.csv'}:2: 'shop/1' is not a device id (1-64 of A-Z a-z 0-9 _ . : -); "
         "keeping the site list read before"]


def test_a_crash_between_the_incident_and_its_alert_announces_it_after_the_restart(url, tmp_path, monkeypatch):
    s = Stored(url)
    for site in ("shop-1", "shop-2", "shop-3"):
        s.site(site)
    w, box = make_watch(url, tmp_path)
    lose_and_recover(s, ["shop-1", "shop-2", "shop-3"], T0, None)

    def crash(*a, **k):
        raise RuntimeError("killed before the round's last write")
    with monkeypatch.context() as m:
        m.setattr(watch_db, "save_round", crash)
        with pytest.raises(RuntimeError):
            w.round(T0 + 100)
    assert len(watch_db.incidents(s.db)) == 1            # the incident was written, its announcement was not
    again, box2 = make_watch(url, tmp_path)
    again.round(T0 + 110)
    again.round(T0 + 120)
    assert [a.rule for a in box2.sent] == [Rule.PROVIDER_INCIDENT_OPENED]


def test_the_loop_reads_lean_states_that_say_what_the_whole_ones_say(url):
    from fleet.sites import site_of, view_of
    s = Stored(url)
    s.site("shop-1")
    s.part("shop-1", "modem", {"operator_name": "SFR", "signal": {"rsrp_dbm": -90}, "iccid": "8933" + "0" * 15,
                               "cell": {"id": 1234, "tac": 5}}, T0)
    s.part("shop-1", "failover", {"state": "on_backup", "active_uplink": "fiber2", "since": T0, "links": {
        "fiber": {"status": "down", "rtt_ms": None, "kind": "ethernet", "priority": 1},
        "fiber2": {"status": "up", "kind": "ethernet", "priority": 2},
        "lte": {"status": "up", "kind": "cellular", "priority": 3, "targets": {"1.1.1.1": {}}}}}, T0)
    s.part("shop-1", "cellular", {"active_slot": 2, "operator": "Orange F", "rules": ["x"] * 50,
                                  "usage": {"total_bytes": 900, "cap_bytes": 1000, "iccid": "89"}}, T0)
    s.status("shop-2", False, T0)                        # a device with a status and no state at all
    lean, whole = list(watch_db.lean_devices(s.db)), s.db.devices()
    assert [d["device_id"] for d in lean] == [d["device_id"] for d in whole] == ["shop-1", "shop-2"]
    for a, b in zip(lean, whole):
        assert view_of(a, Tracked({})) == view_of(b, Tracked({}))
        assert site_of(a["device_id"], a["state"], {}) == site_of(b["device_id"], b["state"], {})
    assert "rules" not in lean[0]["state"]["cellular"] and "signal" not in lean[0]["state"]["modem"]
    assert lean[0]["state"]["failover"]["links"]["lte"] == {"kind": "cellular", "priority": 3}
    assert view_of(lean[0], Tracked({})).on_backup_since == T0
