"""SMS, pure parts as tables: number normalisation and masking, PIN redaction, who may command what, alert
coalescing and rate limits, alert and answer texts, and the +CMGR / +CMGL / +CMTI parsers on real forms."""
from __future__ import annotations

import pytest

from agent.cellular.sms_alerts import AlertQueue, alert_text, answer_text, merge, sms_safe, status_text
from agent.cellular.sms_commands import USAGE, Verdict, judge, mask_number, normalize_number, redact
from agent.config import ConfigError, from_dict
from agent.core import Event
from modem import decode
from modem.parsers.sms import parse_cmgl, parse_cmgr, ucs2_decode

NUMBERS = [
    # raw, country code, bare international allowed -> normalised
    ("+33612345678", "", False, "+33612345678"),
    ("+33 6 12 34 56 78", "", False, "+33612345678"),
    ("0033612345678", "", False, "+33612345678"),
    ("0612345678", "33", False, "+33612345678"),
    ("06.12.34.56.78", "33", False, "+33612345678"),
    ("0612345678", "", False, None),              # national without a country code: cannot be compared
    ("33612345678", "", False, None),
    ("33612345678", "", True, "+33612345678"),    # a type-145 address printed without its +
    ("20700", "33", True, None),                  # a short code
    ("Orange", "33", True, None),                 # an alphanumeric sender
    ("+3361234567890123", "", False, None),       # longer than E.164 allows
    ("+33 6 12;AT+CFUN=0", "", False, None),
    ("", "33", True, None),
    (None, "33", True, None),
]


@pytest.mark.parametrize("raw,cc,bare,expected", NUMBERS)
def test_normalize_number(raw, cc, bare, expected):
    assert normalize_number(raw, cc, bare) == expected


@pytest.mark.parametrize("raw,expected", [
    ("+33612345678", "+33*******78"), ("0612345678", "06******78"), ("Orange", "Orange"), ("", "?"),
    ("1234", "****"), ("Free Mobile", "FreeMobile"),
])
def test_mask_number(raw, expected):
    assert mask_number(raw) == expected


@pytest.mark.parametrize("text,pin,expected", [
    ("4821 failover backup", "4821", "*** failover backup"),
    ("4822 failover backup", "4821", "*** failover backup"),          # a wrong PIN is a near miss: hidden too
    ("status 4821", "4821", "*** ***"),                                # the PIN in the wrong place
    ("hello there", "4821", "*** there"),
    ("Code 123456 for login", None, "*** *** for login"),
    ("sEcReT1 status", "secret1", "*** status"),
    ("x\x1b[2Jy \x00z", "0000", "*** ?z"),
    ("A" * 100, "0000", "***"),
    ("pin " + "B" * 100, "0000", "*** " + "B" * 53 + "..."),
])
def test_redact(text, pin, expected):
    assert redact(text, pin) == expected


ALLOWED = frozenset({"+33612345678"})

JUDGE = [
    # sender, text, locked -> reason, command, args, label
    ("+33612345678", "4821 status", False, (None, "get_status", {}, "status")),
    ("+33612345678", "4821 STATUS", False, (None, "get_status", {}, "status")),
    ("+33612345678", "  4821   failover   Backup ", False, (None, "failover", {"mode": "force_backup"},
                                                            "failover backup")),
    ("+33612345678", "4821 failover primary", False, (None, "failover", {"mode": "force_primary"},
                                                      "failover primary")),
    ("+33612345678", "4821 failover auto", False, (None, "failover", {"mode": "auto"}, "failover auto")),
    ("+33612345678", "4821 failover Fiber2", False, (None, "failover", {"mode": "force_fiber2"}, "failover fiber2")),
    ("+33612345678", "4821 failover force_lte", False, (None, "failover", {"mode": "force_lte"},
                                                        "failover force_lte")),
    ("+33612345678", "4821 failover 2fiber", False, (None, None, None, "unknown")),     # no uplink's name
    ("+33612345678", "4821 sim 2", False, (None, "sim_switch", {"slot": 2}, "sim 2")),
    ("+33612345678", "4821 sim 3", False, (None, None, None, "unknown")),
    ("+33612345678", "4821 help", False, (None, None, None, "help")),
    ("+33612345678", "4821", False, (None, None, None, "help")),
    ("+33612345678", "4822 status", False, ("bad_pin", None, None, "")),
    ("+33612345678", "48210 status", False, ("bad_pin", None, None, "")),
    ("+33612345678", "status 4821", False, ("bad_pin", None, None, "")),
    ("+33612345678", "", False, ("empty", None, None, "")),
    ("+33612345678", "4821 status", True, ("locked_out", None, None, "")),
    ("+33699999999", "4821 status", False, ("unknown_number", None, None, "")),
    (None, "4821 status", False, ("unknown_number", None, None, "")),
]


@pytest.mark.parametrize("sender,text,locked,expected", JUDGE)
def test_judge(sender, text, locked, expected):
    v = judge(sender, text, ALLOWED, "4821", locked)
    assert (v.reason, v.command, v.args, v.label) == expected


def test_judge_without_a_pin_trusts_nobody():
    assert judge("+33612345678", " status", ALLOWED, None, False) == Verdict(reason="unknown_number")


def test_alert_queue_coalesces_and_rate_limits():
    q = AlertQueue(["+331", "+332"], max_per_hour=2, coalesce_s=5.0)
    q.add("relais r: A", 0.0)
    assert q.due(4.9) == [] and q.next_check(4.9) == 5.0
    q.add("relais r: B", 3.0)
    assert q.due(5.0) == [("+331", "relais r: A; B"), ("+332", "relais r: A; B")]
    assert q.next_check(5.0) is None
    q.add("relais r: C", 10.0)
    assert [t for _, t in q.due(15.0)] == ["relais r: C", "relais r: C"]
    q.add("relais r: D", 20.0)                       # third of the hour: waits for the window
    q.add("relais r: E", 30.0)
    assert q.due(100.0) == []
    assert q.next_check(100.0) == 3605.0             # the first send leaves the window
    assert [t for _, t in q.due(3605.0)] == ["relais r: D; E"] * 2


def test_merge_keeps_the_newest_that_fit():
    texts = [f"relais shop-42: EVENT {i} " + "x" * 40 for i in range(6)]
    out = merge(texts)
    assert len(out) <= 160 and out.startswith("relais shop-42: (+4 earlier) EVENT 4") and "EVENT 5" in out


@pytest.mark.parametrize("text,expected", [
    ("plain", "plain"), ("a [b] {c} ~d|e\\f^g", "a (b) (c) -d/e/f'g"), ("é€ok", "??ok"),
    ("two\nlines", "two lines"), ("x" * 200, "x" * 158 + ".."),
])
def test_sms_safe(text, expected):
    assert sms_safe(text) == expected


STATE = {"modem": {"rat": "LTE", "operator_name": "Orange F", "signal": {"rsrp_dbm": -97.0}, "sim_slot": 1,
                   "registration": "home"},
         "failover": {"active_uplink": "backup", "mode": "auto", "state": "backup",
                      "links": {"primary": {"status": "down"}, "backup": {"status": "up"}}},
         "cellular": {"usage": {"total_bytes": 1_200_000_000, "cap_bytes": 10_000_000_000}}}


@pytest.mark.parametrize("kind,data,source,expected", [
    ("failover", {"reason": "no_answer", "to": "backup"}, "ntp",
     "relais shop-42: FIBER DOWN 14:02 (no answer from 3 targets), on 4G Orange F -97dBm"),
    ("failover", {"reason": "carrier_lost"}, "unsynced",
     "relais shop-42: FIBER DOWN 14:02? (link lost), on 4G Orange F -97dBm"),
    ("failback", {"reason": "recovered", "outage_s": 754.2}, "modem", "relais shop-42: FIBER BACK 14:02 after 12m34s"),
    ("failback", {"reason": "manual", "outage_s": None, "on_backup_s": 30}, "ntp",
     "relais shop-42: FIBER BACK 14:02 after 30s (manual)"),
    ("sim_switch", {"to_slot": 2, "reason": "data_cap"}, "ntp",
     "relais shop-42: SIM SWITCH 14:02 to slot 2 (data_cap), on 4G Orange F -97dBm"),
    ("data_cap_reached", {"slot": 1, "used_bytes": 10_200_000_000, "cap_bytes": 10_000_000_000}, "ntp",
     "relais shop-42: DATA CAP 14:02 slot 1: 10.2GB of 10.0GB"),
    ("modem_reset", {"reason": "port_lost", "detail": "x" * 40}, "ntp",
     "relais shop-42: MODEM_RESET 14:02 reason=port_lost"),
    ("data_cap_warning", {"slot": 2, "used_bytes": 8_000_000_000, "cap_bytes": 10_000_000_000}, "ntp",
     "relais shop-42: DATA WARNING 14:02 slot 2: 8.0GB of 10.0GB"),
])
def test_alert_texts(kind, data, source, expected, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    import time
    time.tzset()
    try:
        ts = 1795356120.0                           # 2026-11-22T14:02:00Z
        assert alert_text(Event(kind, ts, source, data), "shop-42", STATE, "FIBER", 3) == expected
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_status_and_answer_texts():
    s = status_text(STATE, "shop-42", "14:05")
    assert s == ("relais shop-42 14:05: on backup, mode auto, backup; primary down; backup up; SIM1 4G Orange F "
                 "-97dBm; data 1.2GB/10.0GB")
    assert len(s) <= 160
    assert answer_text("failover backup", {"ok": True, "result": {"mode": "force_backup", "state": "backup",
                                                                   "active_uplink": "backup"}}, STATE, "r", "1")\
        == "relais r: failover backup: ok, mode force_backup, state backup, active_uplink backup"
    assert answer_text("sim 2", {"ok": False, "error": "unknown command 'sim_switch'"}, STATE, "r", "1") == \
        "relais r: sim 2: error: unknown command 'sim_switch'"
    assert answer_text("status", {"ok": True, "result": STATE}, {}, "r", "1").startswith("relais r 1: on backup")
    assert USAGE in "relais r: " + USAGE


# ---- parsers -------------------------------------------------------------------------------------------------

def test_cmgr_text_mode_forms():
    # 27.005 text mode, CSDH=0 (simulator, Quectel EC25)
    got = decode("AT+CMGR=3", ['+CMGR: "REC UNREAD","+33612345678",,"26/11/22,14:02:11+04"', "4821 status", "OK"])
    (m,) = got["sms"]
    assert (m["status"], m["sender"], m["alpha"], m["text"]) == ("REC UNREAD", "+33612345678", None, "4821 status")
    assert m["sent_utc"] == 1795352531.0                         # 13:02:11Z
    # Quectel UC200T: no alpha field, a time stamp with an impossible zone (forum capture)
    (m,) = parse_cmgr(['+CMGR: "REC READ","+525536357992","24/08/15,13:54:44+104"', "HELLO"])["sms"]
    assert (m["sender"], m["timestamp"], m["sent_utc"], m["text"]) == ("+525536357992", "24/08/15,13:54:44+104",
                                                                       None, "HELLO")
    # CSDH=1 with a phonebook name in alpha
    (m,) = parse_cmgr(['+CMGR: "REC READ","+33612345678","Bob","26/11/22,14:02:11+04",145,4,0,0,"+33609001390",'
                       '145,11', "hello world"])["sms"]
    assert (m["alpha"], m["text"]) == ("Bob", "hello world")


def test_cmgr_ucs2():
    text = "4821 état".encode("utf-16-be").hex().upper()
    sender = "+33612345678".encode("utf-16-be").hex().upper()
    (m,) = parse_cmgr([f'+CMGR: "REC UNREAD","{sender}",,"26/11/22,14:02:11+04"', text], ucs2=True)["sms"]
    assert (m["sender"], m["text"]) == ("+33612345678", "4821 état")
    # a modem that does not encode the address (the simulator): kept as printed
    (m,) = parse_cmgr(['+CMGR: "REC UNREAD","+33612345678",,"26/11/22,14:02:11+04"', text], ucs2=True)["sms"]
    assert m["sender"] == "+33612345678"
    # a plain number of 4k digits is valid hex too, but decodes to CJK: not taken as an address
    (m,) = parse_cmgr(['+CMGR: "REC UNREAD","061234567890",,"26/11/22,14:02:11+04"', "0041"], ucs2=True)["sms"]
    assert (m["sender"], m["text"]) == ("061234567890", "A")
    # in UCS2 a body cannot fake a final result or a URC: "OK" arrives as 004F004B
    (m,) = parse_cmgr(['+CMGR: "REC UNREAD","+331",,"26/11/22,14:02:11+04"', "004F004B"], ucs2=True)["sms"]
    assert m["text"] == "OK"
    assert ucs2_decode("00") is None and ucs2_decode("zz00") is None


def test_cmgl_several_messages_and_multiline_text():
    lines = ['+CMGL: 1,"REC UNREAD","+8615021012496",,"13/12/13,15:06:37+32"', "hello", "world",
             '+CMGL: 4,"REC READ","+33612345678",,"26/11/22,14:02:11+04"', "4821 status",
             '+CMGL: 5,"STO UNSENT","+33612345678",,', "draft", "OK"]
    msgs = parse_cmgl(lines)["sms"]
    assert [(m["index"], m["status"], m["text"]) for m in msgs] == [
        (1, "REC UNREAD", "hello\nworld"), (4, "REC READ", "4821 status"), (5, "STO UNSENT", "draft")]
    assert decode('AT+CMGL="ALL"', lines)["sms"][1]["sender"] == "+33612345678"
    assert parse_cmgl(["OK"]) == {}


def test_cmti_and_cmgs():
    assert decode(None, ['+CMTI: "SM",3']) == {"sms_storage": "SM", "sms_index": 3}
    assert decode(None, ['+CMTI: "ME",0']) == {"sms_storage": "ME", "sms_index": 0}
    assert "error" in decode(None, ['+CMTI: "SM",x'])
    assert decode('AT+CMGS="+33612345678"', ["+CMGS: 17", "OK"]) == {"mr": 17}


@pytest.mark.parametrize("sms,error", [
    ({"command_numbers": ["+33612345678"]},
     '[sms] pin: expected a PIN when command_numbers is set, got none'),
    ({"command_numbers": ["0612345678"], "pin": "4821"},
     '[sms] command_numbers: expected numbers written +33... or 0033... (06... needs country_code), got "0612345678"'),
    ({"alert_numbers": ["Orange"]},
     '[sms] alert_numbers: expected numbers written +33... or 0033... (06... needs country_code), got "Orange"'),
    ({"pin": "12"},
     '[sms] pin: expected 4 to 32 ASCII characters without spaces, got a value not shown (it is a secret)'),
    ({"pin": "12 34"},
     '[sms] pin: expected 4 to 32 ASCII characters without spaces, got a value not shown (it is a secret)'),
    ({"country_code": "+33"},
     '[sms] country_code: expected 1 to 3 digits (33 for France) or "", got "+33"'),
    ({"max_alerts_per_hour": 0},
     '[sms] max_alerts_per_hour: expected an integer from 1 to 1000, got 0'),
    ({"primary_label": ""},
     '[sms] primary_label: expected 1 to 16 printable ASCII characters, got ""'),
])
def test_config_errors(sms, error):
    with pytest.raises(ConfigError) as e:
        from_dict({"sms": sms})
    assert str(e.value) == f"<dict>: {error}"


def test_config_pin_is_a_secret():
    cfg = from_dict({"sms": {"command_numbers": ["0612345678"], "country_code": "33", "pin": 4821}})
    assert cfg.sms.pin.value == "4821" and "4821" not in repr(cfg.sms) and "4821" not in f"{cfg.sms.pin}"


def test_alert_texts_survive_odd_event_data():
    for data in ({"reason": "{boom}"}, {"reason": None, "outage_s": "x"}, {"to_slot": None}, {}):
        for kind in ("failover", "failback", "sim_switch", "data_cap_reached", "data_cap_warning", "other"):
            text = alert_text(Event(kind, 0.0, "ntp", data), "r", {"modem": {"signal": "junk", "rat": 7}})
            assert text.startswith("relais r: ") and len(text) <= 160
    assert "((boom))" in alert_text(Event("failover", 0.0, "ntp", {"reason": "{boom}"}), "r", {})   # GSM-7 basic set


THREE = {"modem": {"rat": "LTE", "operator_name": "Orange F", "signal": {"rsrp_dbm": -97.0}, "sim_slot": 1},
         "failover": {"active_uplink": "fiber2", "mode": "auto", "state": "backup",
                      "links": {"fiber": {"status": "down", "kind": "ethernet", "priority": 1},
                                "fiber2": {"status": "up", "kind": "ethernet", "priority": 2},
                                "lte": {"status": "up", "kind": "cellular", "priority": 3}}}}


@pytest.mark.parametrize("kind,data,expected", [
    ("failover", {"reason": "no_answer", "from": "fiber", "to": "fiber2"},
     "relais shop-42: FIBER DOWN 14:02 (no answer from 3 targets), on fiber2"),
    ("failover", {"reason": "carrier_lost", "from": "fiber2", "to": "lte"},
     "relais shop-42: FIBER2 DOWN 14:02 (link lost), on 4G Orange F -97dBm"),
    ("failback", {"reason": "recovered", "from": "lte", "to": "fiber2", "outage_s": 60},
     "relais shop-42: FIBER2 BACK 14:02 after 1m00s"),
    ("failback", {"reason": "recovered", "from": "fiber2", "to": "fiber", "outage_s": 754.2},
     "relais shop-42: FIBER BACK 14:02 after 12m34s"),
])
def test_alert_texts_of_three_named_uplinks(kind, data, expected, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    import time
    time.tzset()
    try:
        assert alert_text(Event(kind, 1795356120.0, "ntp", data), "shop-42", THREE, "FIBER", 3) == expected
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_the_status_text_lists_every_uplink():
    assert status_text(THREE, "shop-42", "14:05") == (
        "relais shop-42 14:05: on fiber2, mode auto, backup; fiber down; fiber2 up; lte up; SIM1 4G Orange F -97dBm;")
