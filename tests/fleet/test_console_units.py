"""The console's pure parts: the login limiter on a fake clock, password hashing, the table's query string, the
filters shared with `fleet ls`, the timeline."""
from __future__ import annotations

import re

import pytest

from fleet.console import limiter
from fleet.console.table import BadQuery, View, entry, parse_view, select
from fleet.console.timeline import Span, incident_spans, offline_spans, svg, uplink_spans
from fleet.listing import FILTERS, row, slim
from fleet.users import Role, UserError, check_name, check_password, hash_password, verify_password

T0 = 1_800_000_000.0


# -- the login limiter ------------------------------------------------------------------------------------------
def test_an_account_is_locked_after_five_failures_until_the_oldest_leaves_the_window():
    s = limiter.Attempts(limiter.Limits(max_failures_per_account=5, window_s=900))
    for n in range(5):
        assert limiter.allowed(s, "alice", f"10.0.0.{n}", T0 + n * 10).ok
        s = limiter.failed(s, "alice", f"10.0.0.{n}", T0 + n * 10)
    refused = limiter.allowed(s, "Alice", "10.9.9.9", T0 + 60)   # any address, any case: the account is locked
    assert refused == limiter.Verdict(False, 840.0, "account")
    assert limiter.allowed(s, "bob", "10.9.9.9", T0 + 60).ok      # other accounts are not
    assert not limiter.allowed(s, "alice", "10.9.9.9", T0 + 899.9).ok
    assert limiter.allowed(s, "alice", "10.9.9.9", T0 + 900).ok   # the first failure left the window


def test_a_source_trying_many_names_is_limited_and_a_success_does_not_reset_it():
    s = limiter.Attempts(limiter.Limits(max_failures_per_account=5, max_failures_per_source=20, window_s=900))
    for n in range(20):
        assert limiter.allowed(s, f"user{n}", "203.0.113.9", T0 + n).ok
        s = limiter.failed(s, f"user{n}", "203.0.113.9", T0 + n)
    s = limiter.succeeded(s, "user3", "203.0.113.9")
    v = limiter.allowed(s, "carol", "203.0.113.9", T0 + 30)
    assert (v.ok, v.why, v.retry_after_s) == (False, "source", 870.0)
    assert limiter.allowed(s, "carol", "198.51.100.1", T0 + 30).ok


def test_a_success_clears_the_account_and_refused_attempts_are_not_counted():
    s = limiter.Attempts(limiter.Limits(max_failures_per_account=3, window_s=600))
    for n in range(2):
        s = limiter.failed(s, "dave", "10.0.0.1", T0 + n)
    s = limiter.succeeded(s, "dave", "10.0.0.1")
    assert "a:dave" not in s.failures and len(s.failures["s:10.0.0.1"]) == 2
    for n in range(3):
        s = limiter.failed(s, "dave", "10.0.0.1", T0 + 10 + n)
    for n in range(100):   # a flood while locked: only `allowed` is asked, nothing grows
        assert not limiter.allowed(s, "dave", "10.0.0.1", T0 + 20 + n).ok
    assert limiter.allowed(s, "dave", "10.0.0.1", T0 + 610).ok


def test_the_limiter_forgets_the_oldest_keys_beyond_its_bound():
    s = limiter.Attempts(limiter.Limits(max_keys=10))
    for n in range(20):
        s = limiter.failed(s, f"u{n}", f"10.0.0.{n}", T0 + n)
    assert len(s.failures) == 10 and "a:u19" in s.failures and "a:u0" not in s.failures


# -- passwords --------------------------------------------------------------------------------------------------
def test_scrypt_hashes_are_salted_carry_their_parameters_and_verify():
    a, b = hash_password("correct horse battery", log2_n=10), hash_password("correct horse battery", log2_n=10)
    assert a != b and a.startswith("scrypt$10$8$1$")
    assert verify_password("correct horse battery", a) and verify_password("correct horse battery", b)
    assert not verify_password("correct horse batterz", a)
    assert hash_password("x" * 10).startswith("scrypt$15$8$1$")      # the documented default
    for broken in ("", "scrypt$10$8$1$", "md5$1$2$3$4$5", a.replace("$10$", "$x$"), a[:-4] + "AAA="):
        assert not verify_password("correct horse battery", broken)


def test_names_roles_and_password_lengths_are_checked():
    assert Role.named("Operator") is Role.OPERATOR and Role.ADMIN > Role.OPERATOR > Role.VIEWER
    for bad in ("root", ""):
        with pytest.raises(UserError, match="expected viewer, operator or admin"):
            Role.named(bad)
    with pytest.raises(UserError, match="user name"):
        check_name("a b")
    with pytest.raises(UserError, match="10 to 1024 characters"):
        check_password("short")
    assert check_password("x" * 1024)


# -- the table --------------------------------------------------------------------------------------------------
def test_the_query_string_is_read_and_written_back():
    v = parse_view("filter=on_backup&filter=poor_signal&sort=signal&dir=desc&page=2&q=lyon")
    assert v == View(("on_backup", "poor_signal"), "signal", True, 2, "lyon")
    assert parse_view(v.query()) == v
    assert parse_view("") == View() and View().query() == ""
    for bad, words in (("filter=nope", "filter 'nope'"), ("sort=x", "sort 'x'"), ("dir=up", "dir 'up'"),
                       ("page=0", "page '0'"), ("page=-1", "page '-1'"), ("zoom=2", "unknown query parameter")):
        with pytest.raises(BadQuery, match=words):
            parse_view(bad)


def device(i: int, online: bool = True, **state) -> dict:
    return {"device_id": f"site-{i:03d}", "online": online, "since": T0 - 3600, "first_seen": T0 - 86400,
            "last_seen": T0 - 5, "state": state, "latest": {}}


def test_the_filters_of_the_table_are_those_of_fleet_ls():
    fine = device(1, modem={"signal": {"rsrp_dbm": -85}}, failover={"active_uplink": "primary"},
                  cellular={"usage": {"total_bytes": 1_000_000, "cap_bytes": 10_000_000}})
    backup = device(2, failover={"active_uplink": "backup", "state": "backup"})
    poor = device(3, modem={"signal": {"rsrp_dbm": -115}})
    budget = device(4, cellular={"usage": {"total_bytes": 8_100_000_000, "cap_bytes": 10_000_000_000}})
    failed = device(5)
    failed["latest"] = {"drill_result": {"ts": T0 - 7200, "data": {"ok": False}}}
    overdue = device(6)
    overdue["latest"] = {"drill_result": {"ts": T0 - 50 * 86400, "data": {"ok": True}},
                         "drill_overdue": {"ts": T0 - 86400, "data": {}}}
    passed_since = device(7)
    passed_since["latest"] = {"drill_result": {"ts": T0 - 3600, "data": {"ok": True}},
                              "drill_overdue": {"ts": T0 - 86400, "data": {}}}
    offline = device(8, online=False)
    fleet = [fine, backup, poor, budget, failed, overdue, passed_since, offline]
    chosen = {name: [d["device_id"][-1] for d in fleet if FILTERS[name](d)] for name in
              ("on_backup", "poor_signal", "budget_nearly_used", "drill_failed_or_overdue", "offline")}
    assert chosen == {"on_backup": ["2"], "poor_signal": ["3"], "budget_nearly_used": ["4"],
                      "drill_failed_or_overdue": ["5", "6"], "offline": ["8"]}
    r = row(failed, T0)
    assert r["last_drill"] == "failed 2 h ago" and row(fine, T0)["data_used"] == "1.0 MB (10 %)"
    assert row(budget, T0)["data_used"] == "8.1 GB (81 %)"

    for d in fleet:   # the console keeps slim devices: every filter and row reads the same from them
        d["state"].setdefault("modem", {}).update(imei="867531051234561", model="RM500Q-GL", cell={"pci": 17})
        assert {n: f(slim(d)) for n, f in FILTERS.items()} == {n: f(d) for n, f in FILTERS.items()}
        assert row(slim(d), T0) == row(d, T0) and "imei" not in slim(d)["state"].get("modem", {})
    entries = [entry(d) for d in fleet]
    page = select(entries, View(sort="signal", descending=True), T0, page_size=3)
    assert [d["device_id"] for d, _ in page.rows] == ["site-001", "site-003", "site-002"]   # -85, -115, then none
    assert (page.total, page.pages, page.counts["drill_failed_or_overdue"]) == (8, 3, 2)
    last = select(entries, View(sort="signal", descending=True, page=9), T0, page_size=3)
    assert [d["device_id"] for d, _ in last.rows] == ["site-007", "site-008"]   # past the end: the last page
    assert select(entries, View(filters=("on_backup",)), T0, 50).total == 1
    assert select(entries, View(q="E-00"), T0, 50).total == 8
    by_drill = select(entries, View(sort="drill"), T0, 50)   # failed first, then passed, oldest first; then none
    assert [d["device_id"][-1] for d, _ in by_drill.rows] == ["5", "6", "7", "1", "2", "3", "4", "8"]


# -- the timeline -----------------------------------------------------------------------------------------------
def test_the_uplink_lane_follows_failover_and_failback():
    since, now = T0 - 30 * 86400, T0
    events = [(T0 - 10 * 86400, "failover", {"to": "backup"}), (T0 - 10 * 86400 + 600, "failback", {"to": "primary"}),
              (T0 - 3600, "failover", {"to": "backup"})]
    assert uplink_spans(events, since, now, "backup") == [
        Span(since, T0 - 10 * 86400, "primary"), Span(T0 - 10 * 86400, T0 - 10 * 86400 + 600, "backup"),
        Span(T0 - 10 * 86400 + 600, T0 - 3600, "primary"), Span(T0 - 3600, now, "backup")]
    assert uplink_spans([], since, now, "backup") == [Span(since, now, "backup")]
    closed = [(T0 - 86400, "outage_closed", {"start": T0 - 86400 - 1200, "end": T0 - 86400, "cause": "down"}),
              (T0 - 40 * 86400, "outage_closed", {"start": T0 - 41 * 86400, "end": T0 - 40 * 86400}),
              (T0 - 5, "outage_closed", {"start": "garbage"})]
    assert incident_spans(closed, since, now) == [Span(T0 - 87600, T0 - 86400, "down", "primary down 20 min down")]
    drawn = svg(events + closed + [(T0 - 7200, "drill_result", {"ok": False})], [(T0 - 60, -95.0)], since, now,
                "backup")
    assert 'data-incidents="1"' in drawn and 'data-drills="1"' in drawn and 'class="drill failed"' in drawn
    assert drawn.count('<rect class="backup"') == 2 and drawn.count('<rect class="primary"') == 2
    assert '<polyline class="signal"' in drawn


@pytest.mark.parametrize("changes, online_now, expected", [
    ([], True, []),
    ([], None, []),                                               # never said: not drawn as offline
    ([], False, [(0, 100)]),                                      # offline the whole window
    ([(10, False), (20, True)], True, [(10, 20)]),
    ([(10, True)], True, [(0, 10)]),                              # came back: it was offline before
    ([(10, False), (15, False), (20, True), (30, False)], False, [(10, 20), (30, 100)]),   # a repeat is no change
    ([(-5, False), (10, True)], True, [(0, 10)]),                 # a change before the window is not drawn
])
def test_the_offline_lane_from_status_changes(changes, online_now, expected):
    spans = offline_spans(changes, 0.0, 100.0, online_now)
    assert [(s.start, s.end) for s in spans] == expected and all(s.what == "offline" for s in spans)


def test_a_flapping_device_is_one_offline_rectangle_a_pixel_and_the_page_says_how_long():
    since, now = T0 - 30 * 86400, T0
    flaps = [(since + 86400 + n * 60 + k * 30, bool(k)) for n in range(5000) for k in (0, 1)]   # 3.5 days
    drawn = svg([], [], since, now, None, status=(flaps + [(T0 - 7200, False), (T0 - 3600, True)], True))
    assert 'data-offline="2"' in drawn and drawn.count('<rect class="offline"') == 2
    assert "<title>offline 1.0 h</title>" in drawn and len(drawn) < 10_000


def test_the_uplink_lane_of_three_named_uplinks():
    """fiber (preferred), fiber2, lte: any uplink but the fiber is drawn as a backup, named in its title."""
    since, now = T0 - 30 * 86400, T0
    events = [(T0 - 5 * 86400, "failover", {"from": "fiber", "to": "fiber2"}),
              (T0 - 5 * 86400 + 60, "failover", {"from": "fiber2", "to": "lte"}),
              (T0 - 5 * 86400 + 600, "failback", {"from": "lte", "to": "fiber2"}),
              (T0 - 5 * 86400 + 900, "failback", {"from": "fiber2", "to": "fiber"})]
    assert uplink_spans(events, since, now, "fiber", "fiber") == [
        Span(since, T0 - 5 * 86400, "primary", "fiber"), Span(T0 - 5 * 86400, T0 - 5 * 86400 + 60, "backup", "fiber2"),
        Span(T0 - 5 * 86400 + 60, T0 - 5 * 86400 + 600, "backup", "lte"),
        Span(T0 - 5 * 86400 + 600, T0 - 5 * 86400 + 900, "backup", "fiber2"),
        Span(T0 - 5 * 86400 + 900, now, "primary", "fiber")]
    assert uplink_spans([], since, now, "fiber2", "fiber") == [Span(since, now, "backup", "fiber2")]
    drawn = svg(events, [], since, now, "fiber", "fiber")
    assert drawn.count('<rect class="backup"') == 3 and "<title>lte</title>" in drawn


def test_a_source_is_an_ipv4_address_or_an_ipv6_64():
    assert [limiter.source_key(a) for a in ("198.51.100.7", "::ffff:198.51.100.7", "2001:db8:1:2:ffff::9",
                                            "2001:DB8:1:2::a", "2001:db8:1:3::a")] == \
        ["198.51.100.7", "198.51.100.7", "2001:db8:1:2::/64", "2001:db8:1:2::/64", "2001:db8:1:3::/64"]


def test_a_chatty_signal_is_drawn_with_two_points_a_pixel_and_keeps_its_dip():
    since, now = T0 - 30 * 86400, T0
    signal = [(since + n * 26, -80.0 - n % 7) for n in range(100_000)]   # every 26 s for 30 days
    signal[50_000] = (signal[50_000][0], -125.0)                          # one sample, far below the line
    drawn = svg([], signal, since, now, None)
    points = re.search(r'<polyline class="signal" points="([^"]*)"', drawn).group(1).split()
    ys = [float(p.split(",")[1]) for p in points]
    assert len(points) <= 2 * 900 and len(drawn) < 40_000
    assert max(ys) == round(4 * 18 + 10 + (125 - 60) / 70 * 60, 1)         # the dip, at its depth
    xs = [float(p.split(",")[0]) for p in points]
    assert xs == sorted(xs)                                               # still in time order


@pytest.mark.parametrize("action", ["failover_force_backup", "failover_force_primary", "failover_auto", "drill",
                                    "sim_switch", "modem_reset", "report"])
def test_each_console_command_is_signed_with_the_sites_key_as_the_agent_verifies(tmp_path, monkeypatch, action):
    import fleet.command
    from common.wire.signing import SignatureRejected, verify
    from fleet.config import from_dict
    from fleet.console.server import ACTIONS, send_command

    class Nonces:
        def remember(self, *a):
            return True
    (tmp_path / "site-7.key").write_text("k-of-site-7\n")      # as `[commands] keys` holds it: a final newline
    (tmp_path / "site-8.key").write_text("k-of-site-8\n")
    config = from_dict({"database": str(tmp_path / "f.db"), "commands": {"keys": str(tmp_path)}})
    sent = []
    monkeypatch.setattr(fleet.command, "send", lambda config, site, name, body, wait: sent.append(
        (site, name, body)) or {"id": body["id"], "device_id": site, "ok": True})
    name, args = ACTIONS[action] if action in ACTIONS else ("report", {"format": "text", "lang": "en"})
    args = {**args, **({"slot": 2} if action == "sim_switch" else {})}
    reply = send_command(config, "site-7", name, args, T0 + 0.9)
    (site, sent_name, body), = sent
    assert (site, sent_name, reply["id"]) == ("site-7", name, body["id"])
    verify(b"k-of-site-7", "site-7", name, body["id"], args, body, T0 + 5, 300, Nonces())   # the agent's check
    with pytest.raises(SignatureRejected):
        verify(b"k-of-site-8", "site-7", name, body["id"], args, body, T0 + 5, 300, Nonces())


@pytest.mark.parametrize("failover, expected", [
    ({"links": {"lte": {"priority": 30}, "fiber": {"priority": 10}, "fiber2": {"priority": 20}}},
     ["fiber", "fiber2", "lte"]),
    ({"links": {"primary": {}, "backup": {}}}, ["primary", "backup"]),          # a legacy device: as published
    ({}, ["primary", "backup"]), ("garbage", ["primary", "backup"]),            # nothing usable: the legacy two
    ({"links": {"Fiber<x>": {"priority": 1}, "ok_1": {"priority": 2}}}, ["ok_1"]),   # the agent's name rule
])
def test_the_uplinks_a_force_may_name(failover, expected):
    from fleet.uplinks import names
    assert names(failover) == expected
