"""APN lookup: Debian's real mobile-broadband-provider-info database, and small files for the ranking rules."""
from __future__ import annotations

import os

import pytest

from agent.cellular.apn import DEFAULT_PATH, ApnDatabase, ApnError, resolve


@pytest.fixture(scope="module")
def debian():
    if not os.path.exists(DEFAULT_PATH):
        pytest.fail(f"{DEFAULT_PATH} missing: packaging/debian-deps.sh installs mobile-broadband-provider-info")
    return ApnDatabase(DEFAULT_PATH)


@pytest.mark.parametrize("mcc,mnc,name,apn", [
    ("208", "01", "Orange F", "orange.fr"),        # not the MMS "orange-acte", not the MVNO Prixtel's "Orange"
    ("208", "10", "SFR", "websfr"),                # SFR owns 208-10; Prixtel lists it second
    ("208", "15", None, "free"),
    ("262", "01", None, "internet.t-d1.de"),
    ("310", "260", "T-Mobile", "fast.t-mobile.com"),   # the network's name picks the owner among the MVNOs
])
def test_debian_database_internet_apn(debian, mcc, mnc, name, apn):
    assert debian.lookup(mcc, mnc, name).value == apn


def test_debian_database_unknown_network(debian):
    assert debian.lookup("999", "99") is None


def test_imsi_home_network_two_and_three_digit_mnc(debian):
    assert debian.for_imsi("208109876543210")[:2] == ("208", "10")
    assert debian.for_imsi("310260123456789")[:2] == ("310", "260")
    assert debian.for_imsi("12") is None


SMALL = """<?xml version="1.0"?>
<serviceproviders format="2.0">
 <country code="xx">
  <provider><name>Virtual</name><gsm><network-id mcc="001" mnc="01"/><network-id mcc="001" mnc="02"/>
    <apn value="virt.mms"><usage type="mms"/></apn><apn value="virt.net"><usage type="internet"/></apn></gsm>
  </provider>
  <provider><name>Owner</name><gsm><network-id mcc="001" mnc="02"/>
    <apn value="wap.owner"><usage type="wap"/></apn><apn value="old.style"/></gsm></provider>
  <provider primary="true"><name>Primary</name><gsm><network-id mcc="001" mnc="03"/><network-id mcc="001" mnc="01"/>
    <apn value="prim.net"><usage type="internet"/><username>u</username><password>p</password></apn></gsm>
  </provider>
  <provider><name>MmsOnly</name><gsm><network-id mcc="001" mnc="04"/><apn value="m"><usage type="mms"/></apn></gsm>
  </provider>
 </country>
</serviceproviders>
"""


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "sp.xml"
    path.write_text(SMALL)
    return ApnDatabase(str(path))


def test_ranking_primary_then_owner_then_order_and_never_mms_or_wap(small):
    assert small.lookup("001", "01").value == "prim.net"          # primary="true" wins
    assert small.lookup("001", "01").username == "u"
    assert small.lookup("001", "02").value == "old.style"         # the owner (first id); no usage = internet
    assert small.lookup("001", "04") is None                      # MMS only: no internet APN


def test_missing_or_broken_database_is_a_clear_error(tmp_path):
    with pytest.raises(ApnError, match="mobile-broadband-provider-info.*cellular.sim"):
        ApnDatabase(str(tmp_path / "none.xml")).lookup("208", "01")
    bad = tmp_path / "bad.xml"
    bad.write_text("<serviceproviders><country>")
    with pytest.raises(ApnError, match="unreadable"):
        ApnDatabase(str(bad)).lookup("208", "01")


def test_resolve_order_config_then_home_network_then_imsi(small):
    assert resolve("my.apn", {}, small).source == "config"
    assert resolve("", {"registration": "home", "mcc": "001", "mnc": "02"}, small).value == "old.style"
    # roaming: the visited network's APN is not the SIM's; the IMSI's home network is
    assert resolve("", {"registration": "roaming", "mcc": "001", "mnc": "04", "imsi": "001021234567890"},
                   small).value == "old.style"
    with pytest.raises(ApnError, match="set apn in a"):
        resolve("", {"registration": "home", "mcc": "001", "mnc": "04"}, small)
