"""Network time, pure parts: the +CCLK / +CTZV / +CTZE parsers (real firmware forms), the choice of the time
source, and the TimeSource's cached NTP check."""
import pytest

from agent.timesource import (PLAUSIBLE_AFTER, ModemReading, TimeSource, choose, kernel_ntp_synced, plausible)
from modem import decode
from modem.parsers.clock import parse_cclk, parse_ctz, parse_time

T_2024_05_10_1202_11Z = 1715342531.0

CCLK = [
    # name, lines, expected subset
    ("3gpp_utc_plus_2", ['+CCLK: "24/05/10,14:02:11+08"'],
     {"clock_utc": T_2024_05_10_1202_11Z, "tz_quarters": 8, "clock_local": "2024-05-10T14:02:11"}),
    ("3gpp_no_zone_is_utc", ['+CCLK: "24/05/10,12:02:11"'], {"clock_utc": T_2024_05_10_1202_11Z, "tz_quarters": None}),
    ("negative_zone_mexico", ['+CCLK: "24/05/10,06:02:11-24"'], {"clock_utc": T_2024_05_10_1202_11Z,
                                                                   "tz_quarters": -24}),
    # Motorola G24 manual: a space after the comma
    ("motorola_g24_space", ['+CCLK: "01/01/01, 01:01:01-08"'], {"clock_utc": 978318061.0, "tz_quarters": -8}),
    ("unquoted", ["+CCLK: 24/05/10,14:02:11+08"], {"clock_utc": T_2024_05_10_1202_11Z}),
    ("four_digit_year", ['+CCLK: "2024/05/10,14:02:11+08"'], {"clock_utc": T_2024_05_10_1202_11Z}),
    # Nordic nRF91: %CCLK with daylight-saving hours after the string
    ("nordic_pcclk_dst", ['%CCLK: "24/05/10,14:02:11+08",1'], {"clock_utc": T_2024_05_10_1202_11Z, "dst_hours": 1}),
    # Quectel before any network time: its 1980 GPS epoch (simulator, and EC25 captures)
    ("quectel_epoch_unset", ['+CCLK: "80/01/06,00:00:12+00"'], {"clock_utc": 315964812.0,
                                                                 "clock_local": "1980-01-06T00:00:12"}),
    # Quectel UC200T SMS time stamp with an impossible zone (forum capture): the date alone says nothing
    ("zone_out_of_range", ['+CCLK: "24/08/15,13:54:44+104"'], {"clock_utc": None, "tz_quarters": None}),
    ("with_echo_and_ok", ["AT+CCLK?", '+CCLK: "24/05/10,14:02:11+08"', "OK"], {"clock_utc": T_2024_05_10_1202_11Z}),
]


@pytest.mark.parametrize("name,lines,expected", CCLK, ids=[c[0] for c in CCLK])
def test_cclk_forms(name, lines, expected):
    got = decode("AT+CCLK?", lines)
    for key, value in expected.items():
        assert got.get(key) == value, (key, got)


@pytest.mark.parametrize("text", ["", "garbage", '"24/02/30,10:00:00+00"', '"24/13/01,10:00:00"',
                                  '"24/05/10,25:00:00+00"', '"24/05/10,14:02"', '"24/05/10 14:02:11+08"'])
def test_invalid_times_decode_to_nothing(text):
    assert parse_time(text) == {}
    assert parse_cclk([f"+CCLK: {text}"]) == {}


def test_leap_day_and_leap_second():
    assert parse_time('"24/02/29,00:00:00+00"')["clock_local"] == "2024-02-29T00:00:00"
    assert parse_time('"23/02/29,00:00:00+00"') == {}
    assert parse_time('"16/12/31,23:59:60+00"')["clock_local"] == "2016-12-31T23:59:59"


@pytest.mark.parametrize("line,expected", [
    ('+CTZV: "+08"', {"tz_quarters": 8, "nitz": True}),
    ("+CTZV: -20", {"tz_quarters": -20, "nitz": True}),
    ('+CTZE: "+04",0,"2024/05/10,12:00:00"', {"tz_quarters": 4, "dst_hours": 0, "nitz": True}),
    ('+CTZE: "+08",1', {"tz_quarters": 8, "dst_hours": 1, "nitz": True}),
    ('+CTZEU: "+04",0,"2024/05/10,12:00:00"', {"tz_quarters": 4, "dst_hours": 0, "nitz": True}),
    ('+CTZV: "+99"', {}),
    ("+CTZV: abc", {}),
])
def test_nitz_urcs(line, expected):
    assert parse_ctz([line]) == expected
    if expected:
        assert decode(None, [line]) == expected


def test_plausible_rejects_firmware_epochs():
    assert not plausible(parse_cclk(['+CCLK: "80/01/06,00:00:12+00"']))
    assert not plausible({"clock_utc": 315964800.0})            # 1980-01-06, Quectel before NITZ
    assert not plausible({"clock_utc": 1009843200.0})           # 2002-01-01, Cinterion / Multi-Tech default
    assert not plausible({"clock_utc": None})
    assert not plausible({})
    assert plausible({"clock_utc": PLAUSIBLE_AFTER + 1})


R = ModemReading(utc=2_000_000_000.0, mono=100.0, system=1_000.0)

CHOICES = [
    # system_now, mono_now, ntp, reading, max_age -> expected
    (1_000.0, 100.0, True, R, 3600, (1_000.0, "ntp")),              # NTP wins over a modem reading
    (1_000.0, 100.0, False, None, 3600, (1_000.0, "unsynced")),
    (1_000.0, 160.0, False, R, 3600, (2_000_000_060.0, "modem")),   # the reading plus monotonic time since
    (5_000.0, 160.0, False, R, 3600, (2_000_000_060.0, "modem")),   # a step of the system clock changes nothing
    (1_000.0, 3700.0, False, R, 3600, (2_000_003_600.0, "modem")),  # at max age: still used
    (1_000.0, 3700.1, False, R, 3600, (1_000.0, "unsynced")),       # beyond: dropped
    (1_000.0, 99.0, False, R, 3600, (1_000.0, "unsynced")),         # from the future: not ours to trust
]


@pytest.mark.parametrize("system,mono,ntp,reading,max_age,expected", CHOICES)
def test_choose(system, mono, ntp, reading, max_age, expected):
    assert choose(system, mono, ntp, reading, max_age) == pytest.approx(expected)


def test_time_source_caches_the_kernel_status():
    calls, mono = [], [0.0]

    def synced():
        calls.append(mono[0])
        return len(calls) > 1
    src = TimeSource(system=lambda: 50.0, monotonic=lambda: mono[0], ntp_synced=synced, ntp_check_s=5.0)
    assert src.now() == (50.0, "unsynced")
    mono[0] = 4.9
    assert src.now() == (50.0, "unsynced") and len(calls) == 1      # cached
    mono[0] = 5.0
    assert src.now() == (50.0, "ntp") and len(calls) == 2
    src.take(ModemReading(utc=9_000.0, mono=5.0, system=50.0))
    assert src.now()[1] == "ntp"


def test_kernel_ntp_synced_answers_a_bool_on_this_machine():
    # Whatever this machine's clock state, the adjtimex call must work (no privilege needed) and give a bool.
    assert kernel_ntp_synced() in (True, False)


@pytest.mark.parametrize("time_cfg,error", [
    ({"modem_poll_s": 5}, '[time] modem_poll_s: expected a number from 10 to 86400, got 5'),
    ({"modem_poll_s": 600, "modem_time_max_age_s": 60},
     '[time] modem_time_max_age_s: expected at least modem_poll_s (600), got 60'),
    ({"ntp_check_s": 0}, '[time] ntp_check_s: expected a number from 0.1 to 3600, got 0'),
    ({"step_threshold_s": 0.1}, '[time] step_threshold_s: expected a number from 0.5 to 3600, got 0.1'),
    ({"set_system_clock": "yes"}, '[time] set_system_clock: expected true or false, got "yes"'),
    ({"bogus": 1}, '[time] bogus: expected one of modem_poll_s, modem_time, modem_time_max_age_s, ntp_check_s, '
                   'set_system_clock, step_threshold_s, got an unknown key'),
])
def test_time_config_errors(time_cfg, error):
    from agent.config import ConfigError, from_dict
    with pytest.raises(ConfigError) as e:
        from_dict({"time": time_cfg})
    assert str(e.value) == f"<dict>: {error}"
