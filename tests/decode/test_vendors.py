"""Vendor plugins: selection from +CGMI / ATI / +CGMM / USB ids, and the declarative data the agent uses."""
import pytest

from modem import vendors
from modem.vendors.base import VendorPlugin

# +CGMI strings as real modems print them (ModemManager devids table, vendor manuals, captures in the other tests)
DETECT = [
    ("Quectel", None, None, "quectel"),
    ("SIMCOM INCORPORATED", "SIMCOM_SIM7600E-H", None, "simcom"),
    ("SIMCOM_Ltd", None, None, "simcom"),
    ("Sierra Wireless, Incorporated", "EM7455", None, "sierra"),
    ("Sierra Wireless, Inc.", "C885", None, "sierra"),
    ("Telit", "LE910C1-EU", None, "telit"),
    ("huawei", "E1550", None, "huawei"),
    ("HUAWEI INCORPORATED", "EC121", None, "huawei"),
    ("u-blox", "SARA-R410M-02B", None, "ublox"),
    ("Fibocom", "L850-GL", None, "fibocom"),
    ("FIBOCOM", None, None, "fibocom"),
    # chipset vendor in +CGMI, the model or the USB id tells who made the module
    ("QUALCOMM INCORPORATED", "RM500Q-GL", None, "quectel"),
    ("QUALCOMM INCORPORATED", None, "2c7c:0800", "quectel"),
    (None, None, "1199:9071", "sierra"),
    (None, None, "1bc7:1201", "telit"),
    (None, None, "12d1:15c1", "huawei"),
    (None, None, "1546:1141", "ublox"),
    (None, None, "1e0e:9001", "simcom"),
    (None, None, "2cb7:0007", "fibocom"),
    (None, None, (0x2C7C, 0x0125), "quectel"),
    ("ZTE INCORPORATED", "MF627", "19d2:0031", "generic"),
    (None, None, None, "generic"),
]


@pytest.mark.parametrize("manufacturer,model,usb_id,expected", DETECT)
def test_detect(manufacturer, model, usb_id, expected):
    assert vendors.detect(manufacturer=manufacturer, model=model, usb_id=usb_id).name == expected


def test_manufacturer_beats_usb_id():
    # A Telit module behind a hub that reports another vendor's USB id: +CGMI is authoritative.
    assert vendors.detect(manufacturer="Telit", usb_id="2c7c:0125").name == "telit"


@pytest.mark.parametrize("name", vendors.NAMES)
def test_every_plugin_is_declarative_and_complete(name):
    plugin = vendors.get(name)
    assert isinstance(plugin, VendorPlugin) and plugin.name == name
    assert plugin.serving_cell_commands and plugin.signal_commands
    assert all(c.upper().startswith("AT") for c in plugin.serving_cell_commands + plugin.signal_commands)
    assert plugin.timeout_for("AT+COPS=?") >= 120          # a network scan takes minutes on every modem
    if plugin.sim_slot_switch:
        assert plugin.sim_slot_query and plugin.sim_slots >= 2
    with pytest.raises(Exception):
        plugin.name = "other"                               # frozen: shared by every modem of the family


def test_get_accepts_personality_and_case():
    assert vendors.get("Quectel").name == "quectel"
    assert vendors.get("quectel-rm500q").name == "quectel"
    assert vendors.get("u-blox").name == "ublox"
    assert vendors.get(None).name == "generic"
    with pytest.raises(KeyError):
        vendors.get("nokia")


def test_quectel_sim_switch_and_timeouts():
    q = vendors.get("quectel")
    assert q.sim_slot_query == "AT+QUIMSLOT?"
    assert q.sim_switch_command(2) == "AT+QUIMSLOT=2"
    assert q.sim_switch_command(3) is None
    assert q.timeout_for('AT+QENG="servingcell"') == 3.0
    assert q.timeout_for("AT+QSCAN=3,1") == 180.0
    assert q.timeout_for("AT+CSQ") == q.default_timeout


def test_generic_has_no_sim_switch():
    assert vendors.get("generic").sim_switch_command(2) is None


def test_vendor_parsers_are_used_by_decode():
    from modem import decode
    line = ['+QENG: "servingcell","NOCONN","LTE","FDD",460,11,E0B70B,374,100,1,5,5,5F0C,-80,-6,-53,30,39']
    assert decode('AT+QENG="servingcell"', line, "quectel")["band"] == "B1"
    assert decode('AT+QENG="servingcell"', line, "no-such-vendor")["band"] == "B1"   # unknown vendor: generic
