"""The [cellular] section and the [board] power keys: a full example loads, every mistake names its key."""
from __future__ import annotations

import pytest

from agent.cellular.settings import plmn_lists
from agent.config import ConfigError, load

EXAMPLE = """
[board]
power_gpio = "sysfs:17"
power_off_s = 2.5

[cellular]
sim_slots = [2, 1]
min_dwell_s = 60
preferred_plmns = ["20801"]
forbidden_plmns = ["20820"]

[cellular.rules.weak_signal]
rsrp_dbm = -118
duration_s = 120

[cellular.rules.roaming]
enabled = false

[cellular.ladder]
max_resets_per_hour = 2

[[cellular.sim]]
slot = 1
apn = "orange"
pin = "1234"

[[cellular.sim]]
slot = 2
roaming = true
preferred_plmns = ["20810"]
"""


def write(tmp_path, text):
    path = tmp_path / "relais.toml"
    path.write_text(text)
    return path


def test_full_example(tmp_path):
    cfg = load(write(tmp_path, EXAMPLE))
    c = cfg.cellular
    assert c.sim_slots == (2, 1) and c.min_dwell_s == 60.0
    assert c.rules.weak_signal.rsrp_dbm == -118.0 and c.rules.weak_signal.sinr_db == -5.0
    assert not c.rules.roaming.enabled and c.rules.registration_denied.duration_s == 30.0
    assert c.ladder.max_resets_per_hour == 2 and c.ladder.unresponsive_s == 30.0
    assert c.sim_for(1).apn == "orange" and c.sim_for(1).pin.value == "1234"
    assert c.sim_for(2).roaming and c.sim_for(2).apn == ""
    assert c.sim_for(3).slot == 3 and c.sim_for(3).pin is None       # not described: defaults
    assert plmn_lists(c, 1) == (("20801",), ("20820",))
    assert plmn_lists(c, 2) == (("20810",), ("20820",))                # its own preferred, the section's forbidden
    assert cfg.board.power_gpio == "sysfs:17" and cfg.board.power_off_s == 2.5
    assert "1234" not in repr(cfg)


def test_defaults_without_a_section(tmp_path):
    c = load(write(tmp_path, "[device]\nid = 'x'\n")).cellular
    assert c.sim_slots == (1, 2) and c.data and c.ladder.enabled and c.sim == ()


@pytest.mark.parametrize("text,message", [
    ("[cellular]\nsim_slots = []",
     '[cellular] sim_slots: expected at least one item, got []'),
    ("[cellular]\nsim_slots = [1, 1]",
     '[cellular] sim_slots: expected distinct slot numbers from 1 to 8, got [1, 1]'),
    ("[cellular]\nsim_slots = [0]",
     '[cellular] sim_slots: expected an integer from 1 to 8 in every item, got 0'),
    ("[cellular]\nmin_dwell_s = 0",
     '[cellular] min_dwell_s: expected a number above 0, got 0'),
    ("[cellular]\nmin_dwell_s = 600\nbackoff_max_s = 300",
     '[cellular] backoff_max_s: expected at least min_dwell_s (600), got 300'),
    ("[cellular]\npreferred_plmns = ['208-01']",
     '[cellular] preferred_plmns: expected PLMNs (MCC + MNC, 5 or 6 digits, e.g. "20801") in every item, got "208-01"'),
    ("[cellular]\npdp_cid = 30",
     '[cellular] pdp_cid: expected an integer from 1 to 24, got 30'),
    ("[[cellular.sim]]\nslot = 3",
     '[cellular.sim #1] slot: expected one of sim_slots 1, 2, got 3'),
    ("[[cellular.sim]]\nslot = 1\n[[cellular.sim]]\nslot = 1",
     '[cellular.sim #2] slot: expected a slot no other [[cellular.sim]] describes, got 1'),
    ("[[cellular.sim]]\nslot = 1\napn = 'a b'",
     '[cellular.sim #1] apn: expected up to 100 printable characters without spaces, quotes or commas, got "a b"'),
    ("[[cellular.sim]]\nslot = 1\napn = 'a\"b'",
     '[cellular.sim #1] apn: expected up to 100 printable characters without spaces, quotes or commas, got "a\\"b"'),
    ("[[cellular.sim]]\nslot = 1\npdp_type = 'PPP'",
     '[cellular.sim #1] pdp_type: expected one of "IP", "IPV6", "IPV4V6", got "PPP"'),
    ("[[cellular.sim]]\nslot = 1\ncolour = 'red'",
     '[cellular.sim #1] colour: expected one of apn, forbidden_plmns, pdp_type, pin, preferred_plmns, roaming, '
     'slot, got an unknown key'),
    ("[cellular.rules.weak_signal]\nrsrp_dbm = -20",
     '[cellular.rules.weak_signal] rsrp_dbm: expected a number from -160 to -40, got -20'),
    ("[cellular.rules.data_failing]\nfailures = 0",
     '[cellular.rules.data_failing] failures: expected an integer of at least 1, got 0'),
    ("[cellular.rules.no_registration]\nduration_s = -1",
     '[cellular.rules.no_registration] duration_s: expected a number of at least 0, got -1'),
    ("[cellular.rules.roaming]\nenabled = 'no'",
     '[cellular.rules.roaming] enabled: expected true or false, got "no"'),
    ("[cellular.ladder]\npower_window_s = 0",
     '[cellular.ladder] power_window_s: expected a number above 0, got 0'),
    ("[cellular.ladder]\nmax_resets_per_hour = -1",
     '[cellular.ladder] max_resets_per_hour: expected an integer of at least 0, got -1'),
    ("[board]\npower_gpio = 'gpio17'",
     '[board] power_gpio: expected sysfs:N, gpiod:CHIP:LINE (N, LINE 0 to 4095), simulator:LINK or "", got "gpio17"'),
    ("[board]\npower_off_s = 0",
     '[board] power_off_s: expected a number above 0 and at most 60, got 0'),
])
def test_mistakes_name_their_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as e:
        load(write(tmp_path, text))
    assert str(e.value) == f"{tmp_path / 'relais.toml'}: {message}"


def test_a_bad_pin_is_refused_without_showing_it(tmp_path):
    with pytest.raises(ConfigError) as e:
        load(write(tmp_path, "[[cellular.sim]]\nslot = 1\npin = '98x'"))
    assert str(e.value).endswith("[cellular.sim #1] pin: expected 4 to 8 digits, got a value not shown (it is a "
                                 "secret)")
    assert "98x" not in str(e.value)
