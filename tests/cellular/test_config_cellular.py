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
    ("[cellular]\nsim_slots = []", "sim_slots: at least one slot"),
    ("[cellular]\nsim_slots = [1, 1]", "sim_slots: distinct"),
    ("[cellular]\nsim_slots = [0]", "sim_slots: distinct slot numbers from 1 to 8"),
    ("[cellular]\nmin_dwell_s = 0", "min_dwell_s: must be above 0"),
    ("[cellular]\nmin_dwell_s = 600\nbackoff_max_s = 300", "backoff_max_s: must be at least min_dwell_s"),
    ("[cellular]\npreferred_plmns = ['208-01']", "preferred_plmns: '208-01' is not a PLMN"),
    ("[cellular]\npdp_cid = 30", "pdp_cid: expected 1..24"),
    ("[[cellular.sim]]\nslot = 3", "sim (slot 3): slot must be one of sim_slots"),
    ("[[cellular.sim]]\nslot = 1\n[[cellular.sim]]\nslot = 1", "slot described twice"),
    ("[[cellular.sim]]\nslot = 1\napn = 'a b'", "apn: up to 100 printable characters"),
    ("[[cellular.sim]]\nslot = 1\napn = 'a\"b'", "apn: up to 100 printable characters"),
    ("[[cellular.sim]]\nslot = 1\npdp_type = 'PPP'", "pdp_type: expected one of IP, IPV6, IPV4V6"),
    ("[[cellular.sim]]\nslot = 1\ncolour = 'red'", "unknown key 'colour'"),
    ("[cellular.rules.weak_signal]\nrsrp_dbm = -20", "rules.weak_signal.rsrp_dbm: expected -160..-40"),
    ("[cellular.rules.data_failing]\nfailures = 0", "rules.data_failing.failures: at least 1"),
    ("[cellular.rules.no_registration]\nduration_s = -1", "rules.no_registration.duration_s: must not be negative"),
    ("[cellular.rules.roaming]\nenabled = 'no'", "expected true or false"),
    ("[cellular.ladder]\npower_window_s = 0", "power_window_s: must be above 0"),
    ("[cellular.ladder]\nmax_resets_per_hour = -1", "max_resets_per_hour: must not be negative"),
    ("[board]\npower_gpio = 'gpio17'", "power_gpio 'gpio17': expected sysfs:N"),
    ("[board]\npower_off_s = 0", "power_off_s: expected 0 < seconds <= 60"),
])
def test_mistakes_name_their_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as e:
        load(write(tmp_path, text))
    assert message in str(e.value)


def test_a_bad_pin_is_refused_without_showing_it(tmp_path):
    with pytest.raises(ConfigError) as e:
        load(write(tmp_path, "[[cellular.sim]]\nslot = 1\npin = '98x'"))
    assert "pin: a SIM PIN is 4 to 8 digits" in str(e.value) and "98x" not in str(e.value)
