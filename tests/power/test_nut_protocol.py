"""The NUT answers, parsed without a server: tables of real upsd 2.8.0 lines (captured from Debian's upsd serving
the dummy-ups driver) and of answers that are not NUT."""
from __future__ import annotations

import pytest

from agent.config import ConfigError, from_dict
from agent.config.power import parse_ups
from agent.power.nut import NutError, Reading, parse_var_list, reading_of

UPSD_2_8_0_DUMMY_OB = """BEGIN LIST VAR dummy
VAR dummy battery.charge "100"
VAR dummy battery.runtime "1800"
VAR dummy device.mfr "Dummy"
VAR dummy device.model "Dummy UPS"
VAR dummy driver.name "dummy-ups"
VAR dummy driver.parameter.mode "dummy-once"
VAR dummy driver.parameter.pollinterval "2"
VAR dummy ups.mfr "Dummy"
VAR dummy ups.status "OB"
END LIST VAR dummy""".splitlines()


def test_upsd_list_var_answer():
    values = parse_var_list(UPSD_2_8_0_DUMMY_OB, "dummy")
    assert values["driver.name"] == "dummy-ups"
    assert reading_of(values) == Reading(("OB",), 100.0, 1800.0)


def test_quoted_values_keep_their_escapes():
    lines = ["BEGIN LIST VAR u", 'VAR u ups.status "OL CHRG"', r'VAR u ups.model "Smart \"UPS\" 750 \\ X"',
             "END LIST VAR u"]
    values = parse_var_list(lines, "u")
    assert values["ups.model"] == 'Smart "UPS" 750 \\ X'
    assert reading_of(values).status == ("OL", "CHRG") and reading_of(values).on_line


@pytest.mark.parametrize("lines, words", [
    (["ERR UNKNOWN-UPS"], "knows no UPS named dummy"),
    (["ERR DATA-STALE"], "no fresh data"),
    (["ERR DRIVER-NOT-CONNECTED"], "driver is not running"),
    (["ERR ACCESS-DENIED"], "refuses this client"),
    (["ERR SOMETHING-NEW"], "answered ERR 'SOMETHING-NEW'"),
    ([], "closed the connection"),
    (["SSH-2.0-OpenSSH_9.2p1"], "not NUT's"),
    (["HTTP/1.1 400 Bad Request", ""], "not NUT's"),
    (["BEGIN LIST VAR dummy", "VAR dummy ups.status OB", "END LIST VAR dummy"], "not NUT's"),
    (["BEGIN LIST VAR dummy", 'VAR other ups.status "OB"', "END LIST VAR dummy"], "not NUT's"),
    (["BEGIN LIST VAR dummy", 'VAR dummy ups.status "OB'], "not NUT's"),
    (["BEGIN LIST VAR dummy", 'VAR dummy ups.status "OB"'], "ended before END LIST VAR dummy"),
])
def test_answers_that_are_no_reading_say_why_in_one_line(lines, words):
    with pytest.raises(NutError) as e:
        parse_var_list(lines, "dummy")
    assert words in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("values, words", [
    ({"battery.charge": "50"}, "no ups.status"),
    ({"ups.status": ""}, "not a NUT status"),
    ({"ups.status": "on battery!"}, "not a NUT status"),
])
def test_a_list_without_a_usable_status_is_no_reading(values, words):
    with pytest.raises(NutError, match=words):
        reading_of(values)


def test_numbers_that_are_not_numbers_are_unknown_not_errors():
    r = reading_of({"ups.status": "OB", "battery.charge": "n/a", "battery.runtime": "-5"})
    assert r == Reading(("OB",), None, None) and r.on_battery


@pytest.mark.parametrize("text, parsed", [
    ("ups@localhost", ("ups", "localhost", 3493)),
    ("dummy@127.0.0.1:13493", ("dummy", "127.0.0.1", 13493)),
    ("eaton@nas.lan", ("eaton", "nas.lan", 3493)),
    ("myups", ("myups", "localhost", 3493)),
])
def test_the_ups_is_written_as_upsc_takes_it(text, parsed):
    assert parse_ups(text) == parsed


@pytest.mark.parametrize("text", ["@host", "ups@", "ups@host:0", "ups@host:99999", "ups@host:x", "u ps@host",
                                  "ups@ho st", "onduleur-été@localhost"])
def test_a_bad_ups_is_one_config_line(text):
    with pytest.raises(ConfigError) as e:
        from_dict({"power": {"ups": text}}, "relais.toml")
    message = str(e.value)
    assert message.startswith("relais.toml: [power] ups: expected") and "\n" not in message


def test_power_is_off_by_default():
    assert not from_dict({}).power.enabled


def test_a_host_name_the_resolver_cannot_encode_is_a_reading_error_not_a_dead_thread():
    from agent.power.nut import NutClient
    with pytest.raises(NutError, match="cannot be reached"):
        NutClient("ups", "a" * 70 + ".example", 3493, timeout_s=0.5).read()     # a label over 63: IDNA refuses
