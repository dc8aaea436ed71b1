"""`relais fleet report`: pure compute over tables, then the same month read from a database written the ingest's
way (outage_closed events, the published contracts, the alert loop's provider incidents) through the CLI."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from fleet.correlate import Outage
from common.business_hours import BusinessHours, parse_business_hours, zone_named
from fleet.report import Facts, ReportError, SiteFacts, business_of, compute, month_bounds, outage_of, text
from tests.fleet.test_watch import Stored, lose_and_recover, make_watch

NOV = month_bounds("2026-11")
H = 3600.0


def at(day: int, hour: float, month: int = 11) -> float:
    return datetime(2026, month, day, tzinfo=timezone.utc).timestamp() + hour * H


SITES = (SiteFacts("shop-1", "Orange fibre", 4), SiteFacts("shop-2", "Orange fibre", 4),
         SiteFacts("shop-3", "Orange fibre", None), SiteFacts("shop-4", "Free", 8, business_hours=True))


@pytest.mark.parametrize("outages, only, availability, late", [
    # (site, start, end): nothing at all is 100 % for every provider
    ([], None, {"Orange fibre": 100.0, "Free": 100.0}, []),
    # 2 h within its 4 h GTR, 6 h beyond it by 2 h; downtime 8 h over 3 sites x 720 h
    ([("shop-1", at(3, 9), at(3, 11)), ("shop-2", at(5, 9), at(5, 15))], None,
     {"Orange fibre": 100 * (1 - 8 / (3 * 720)), "Free": 100.0}, [("shop-2", 2 * H)]),
    # begun the evening before the month: 2 h of it in November, 4 h in all, over a 3 h... site without GTR
    ([("shop-3", at(31, 22, month=10), at(1, 2))], None, {"Orange fibre": 100 * (1 - 2 / (3 * 720)), "Free": 100.0},
     []),
    # still going at the end of the month: runs to its end; Free's GTR in business hours is flagged as such
    ([("shop-4", at(30, 14), None)], None, {"Orange fibre": 100.0, "Free": 100 * (1 - 10 / 720)},
     [("shop-4", 2 * H)]),
    # one site: only its provider and its outages
    ([("shop-1", at(3, 9), at(3, 15)), ("shop-2", at(5, 9), at(5, 15))], "shop-1",
     {"Orange fibre": 100 * (1 - 6 / 720)}, [("shop-1", 2 * H)]),
])
def test_availability_and_repair_times(outages, only, availability, late):
    providers = {s.site: s.provider for s in SITES}
    facts = Facts("2026-11", *NOV, SITES, tuple(Outage(s, providers[s], a, b) for s, a, b in outages), (), only)
    r = compute(facts)
    assert {p.provider: round(p.availability_pct, 6) for p in r.providers} == \
        {k: round(v, 6) for k, v in availability.items()}
    assert [(x.outage.site, x.over_s) for x in r.late] == late
    assert all(x.business_hours == (x.outage.site == "shop-4") for x in r.late)


def paris(day: int, hour: float, month: int) -> float:
    return datetime(2026, month, day, tzinfo=zone_named("Europe/Paris")).timestamp() + hour * H


OFFICE = BusinessHours(parse_business_hours("Mon-Fri 09:00-18:00"), zone_named("Europe/Paris"))
ALWAYS = BusinessHours(parse_business_hours("Mon-Sun 00:00-24:00"), zone_named("Europe/Paris"))


@pytest.mark.parametrize("month, hours, start, end, gtr, over", [
    # Fri 17:00 to Mon 12:00 (Paris), over the weekend that leaves summer time: 1 h Friday + 3 h Monday
    ("2026-10", OFFICE, paris(23, 17, 10), paris(26, 12, 10), 2, 2 * H),
    # the same outage within a 4 h GTR: 68 calendar hours, not late in business hours
    ("2026-10", OFFICE, paris(23, 17, 10), paris(26, 12, 10), 4, None),
    # every hour is business: Sat 00:00 to Mon 00:00 across the 25-hour Sunday is 49 h, one past a 48 h GTR
    ("2026-10", ALWAYS, paris(24, 0, 10), paris(26, 0, 10), 48, 1 * H),
    # ... and across the 23-hour Sunday of March, 47 h: within 48
    ("2026-03", ALWAYS, paris(28, 0, 3), paris(30, 0, 3), 48, None),
    ("2026-03", ALWAYS, paris(28, 0, 3), paris(30, 0, 3), 46, 1 * H),
    # a night outage (20:00 to 08:00) costs no business time at all
    ("2026-11", OFFICE, paris(3, 20, 11), paris(4, 8, 11), 1, None),
    # Tuesday 10:00 to Wednesday 11:00: 8 h + 2 h = 10 h against 4 h
    ("2026-11", OFFICE, paris(3, 10, 11), paris(4, 11, 11), 4, 6 * H),
    # not published by the site: calendar hours, 25 h against 4 h
    ("2026-11", None, paris(3, 10, 11), paris(4, 11, 11), 4, 21 * H),
])
def test_a_gtr_in_business_hours_counts_the_sites_hours_in_its_zone(month, hours, start, end, gtr, over):
    site = SiteFacts("shop-9", "Free", gtr, business_hours=True, business=hours)
    r = compute(Facts(month, *month_bounds(month), (site,), (Outage("shop-9", "Free", start, end),)))
    assert [x.over_s for x in r.late] == ([] if over is None else [over])
    if r.late:
        written = "Mon-Fri 09:00-18:00" if hours is OFFICE else "Mon-Sun 00:00-24:00"
        counted = "calendar" if hours is None else f"{written} Europe/Paris"
        assert r.late[0].counted_as == counted
        assert ("counted as calendar" in text(r)) is (hours is None)


@pytest.mark.parametrize("business", [
    None, "Mon-Fri 09:00-18:00", {"hours": "Mon-Fri 09:00-18:00"}, {"hours": "someday", "timezone": "Europe/Paris"},
    {"hours": "Mon-Fri 09:00-18:00", "timezone": "Mars/Olympus"}, {"hours": "Mon-Fri 09:00-18:00", "timezone": 1},
    {"hours": "", "timezone": "Europe/Paris"}, {"hours": "Mon " * 300, "timezone": "Europe/Paris"},
])
def test_business_hours_a_site_publishes_badly_are_none(business):
    assert business_of({"device": {"business": business}}) is None


@pytest.mark.parametrize("data, expected", [
    ({"start": 100.0, "end": 400.0, "cause": "no_answer"}, (100.0, 400.0)),
    ({"start": 100.0, "duration_s": 50, "cause": "carrier_lost"}, (100.0, 150.0)),
    ({"start": 100.0, "cause": "manual", "end": 200.0}, None),       # the operator's own switch: planned
    ({"start": "yesterday"}, None), ({"start": 500.0, "end": 100.0}, None), ([1, 2], None),
])
def test_outage_closed_as_the_agent_sends_it(data, expected):
    o = outage_of("s", "P", data, ts=999.0)
    assert (None if o is None else (o.start, o.end)) == expected


@pytest.mark.parametrize("month", ["2026-13", "26-11", "", "2026-1", "november"])
def test_a_bad_month_is_one_line(month):
    with pytest.raises(ReportError, match="--month: expected YYYY-MM"):
        month_bounds(month)


def test_the_month_from_the_database_through_the_cli(tmp_path, capsys):
    from fleet.cli import main
    url = str(tmp_path / "fleet.db")
    s = Stored(url)
    for site in ("shop-1", "shop-2", "shop-3"):
        s.site(site, at=at(1, 0))                      # contracts: Orange fibre, GTR 4 h
    # the agent's own account of two primary outages (agent/ledger/store.py), one past its GTR
    s.event("shop-1", "outage_closed", {"start": at(3, 9), "end": at(3, 10), "cause": "no_answer",
                                        "uplink": "backup", "duration_s": H}, at(3, 10))
    s.event("shop-2", "outage_closed", {"start": at(4, 9), "end": at(4, 15), "cause": "carrier_lost",
                                        "uplink": "backup", "duration_s": 6 * H}, at(4, 15))
    s.event("shop-3", "outage_closed", {"start": at(5, 9), "end": at(5, 10), "cause": "manual"}, at(5, 10))
    s.event("shop-3", "outage_closed", {"start": at(5, 9, 12), "end": at(5, 10, 12)}, at(5, 10, 12))   # December
    w, _ = make_watch(url, tmp_path)                   # a provider incident, opened and closed by the loop
    t = at(20, 8)
    lose_and_recover(s, ["shop-1", "shop-2", "shop-3"], t, t + 1800, received=t + 60)
    w.round(t + 120)
    w.round(t + 1900)
    config = tmp_path / "fleet.toml"
    config.write_text(f'database = "{url}"\n[correlate]\nsites = "{tmp_path / "sites.csv"}"\n')

    assert main(["report", "--config", str(config), "--month", "2026-11", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    [orange] = doc["providers"]
    assert (orange["provider"], orange["sites"], orange["outages"], orange["downtime_s"]) == \
        ("Orange fibre", 3, 2, 7 * H)
    assert [(x["site"], x["over_s"]) for x in doc["beyond_repair_time"]] == [("shop-2", 2 * H)]
    [inc] = doc["provider_incidents"]
    assert (inc["provider"], inc["area"], inc["sites"]) == ("Orange fibre", "69003", ["shop-1", "shop-2", "shop-3"])

    assert main(["report", "shop-1", "--config", str(config), "--month", "2026-11"]) == 0
    out = capsys.readouterr().out
    assert "site shop-1" in out and "2026-11-03 09:00" in out and "Orange fibre" in out

    page = tmp_path / "nov.html"
    assert main(["report", "--config", str(config), "--month", "2026-11", "--format", "html", "-o", str(page)]) == 0
    assert "<h2>Beyond the guaranteed time to repair</h2>" in page.read_text() and "<td>shop-2</td>" in \
        page.read_text()

    assert main(["report", "shop-9", "--config", str(config), "--month", "2026-11"]) == 2
    assert main(["report", "--config", str(config), "--month", "2026-14"]) == 2
    assert main(["report", "--config", str(config), "--month", "2026-11", "-o", str(tmp_path / "no/such/f")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["relais fleet report: 'shop-9': no such device in the fleet database",
                   "relais fleet report: --month: expected YYYY-MM, got '2026-14'",
                   f"relais fleet report: -o {tmp_path / 'no/such/f'}: No such file or directory"]


RUNTIME = """
import json, sys
from agent import config
from agent.runtime import build
rt = build(config.from_dict(json.loads(sys.argv[1]), source="test"), mqtt=False)
print(json.dumps(rt.core.state["device"]))
"""


def test_the_agent_publishes_its_contracts_in_the_device_part(tmp_path):
    """What the report and the correlation read of a site is what the agent's runtime puts in its state (the
    `device` part, published retained like every part)."""
    import subprocess
    import sys
    from fleet.sites import info_of
    from tests.mqtt.broker import REPO
    raw = {"device": {"id": "shop-1"}, "modem": {"port": str(tmp_path / "no-modem")},
           "board": {"backend": "simulated"}, "storage": {"dir": str(tmp_path / "var")},
           "contracts": [{"uplink": "primary", "provider": "Orange Pro", "repair_hours": 4,
                          "repair_in_business_hours": True},
                         {"uplink": "backup", "provider": "SFR", "availability_pct": 99.5}],
           "business": {"hours": "Mon-Fri 09:00-18:00", "timezone": ""}}
    proc = subprocess.run([sys.executable, "-c", RUNTIME, json.dumps(raw)], capture_output=True, text=True,
                          timeout=60, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    device = json.loads(proc.stdout.splitlines()[-1])
    assert [c["provider"] for c in device["contracts"]] == ["Orange Pro", "SFR"]
    info = info_of("shop-1", {"device": device}, {})
    assert (info.provider, info.repair_hours) == ("Orange Pro", 4.0)
    # a GTR in business hours: the agent says which hours and zone ([business]; the system's zone for "")
    from agent.report.hours import system_zone, zone_key
    assert device["business"] == {"hours": "Mon-Fri 09:00-18:00", "timezone": zone_key(system_zone())}
    device["business"]["timezone"] = "Europe/Paris"
    hours = business_of({"device": device})
    assert hours.seconds(at(2, 0), at(9, 0)) == 5 * 9 * H     # Mon 2 to Mon 9 November 2026: five days of nine


def test_the_month_still_going_counts_up_to_now(tmp_path):
    from fleet.report import gather, text
    s = Stored(str(tmp_path / "fleet.db"))
    s.site("shop-1", at=at(1, 0))
    s.part("shop-1", "failover", {"state": "on_backup", "active_uplink": "backup", "since": at(10, 0)}, at(10, 0))
    r = compute(gather(s.db, "2026-11", now=at(11, 0)))          # on its backup for a day, ten days into November
    [p] = r.providers
    assert (p.downtime_s, round(p.availability_pct, 6)) == (24 * H, round(100 * (1 - 1 / 10), 6))
    assert r.to_date and text(r).startswith("relais fleet report, 2026-11 to 2026-11-11 00:00 (UTC)\n")
    assert not compute(gather(s.db, "2026-11", now=at(1, 0, month=12))).to_date


def test_a_three_uplink_site_on_its_second_fiber_has_an_outage_going_on(tmp_path):
    from fleet.report import gather
    s = Stored(str(tmp_path / "fleet.db"))
    s.status("shop-1", True, at(1, 0))
    s.part("shop-1", "device", {"id": "shop-1", "contracts": [{"uplink": "fiber", "provider": "Orange Pro",
                                                               "repair_hours": 4}]}, at(1, 0))
    links = {"fiber": {"kind": "ethernet", "priority": 1}, "fiber2": {"kind": "ethernet", "priority": 2},
             "lte": {"kind": "cellular", "priority": 3}}
    s.part("shop-1", "failover", {"state": "backup", "active_uplink": "fiber2", "since": at(10, 0), "links": links},
           at(10, 0))
    [p] = compute(gather(s.db, "2026-11", now=at(11, 0))).providers
    assert p.provider == "Orange Pro" and p.downtime_s == 24 * H           # the fiber's provider, out for a day
    s.part("shop-1", "failover", {"state": "primary", "active_uplink": "fiber", "since": at(10, 0), "links": links},
           at(10, 1))
    [p] = compute(gather(s.db, "2026-11", now=at(11, 0))).providers
    assert p.downtime_s == 0
