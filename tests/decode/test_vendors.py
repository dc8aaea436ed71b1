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


# (vendor, command, seconds): the vendor's own entry first, then the generic 3GPP table, then the 5 s default.
TIMEOUTS = [
    ("generic", "AT+COPS=?", 180.0), ("generic", "AT+COPS=0", 180.0), ("generic", 'AT+COPS=1,2,"20801"', 180.0),
    ("generic", "AT+COPS?", 5.0), ("generic", "AT+CFUN=1,1", 15.0), ("generic", "AT+CFUN?", 5.0),
    ("generic", "AT+CGACT=1,1", 150.0), ("generic", "AT+CGATT=1", 140.0), ("generic", 'AT+CMGS="+33612345678"', 120.0),
    ("generic", 'AT+CMGL="ALL"', 30.0), ("generic", "AT+CSQ", 5.0), ("generic", "AT+QSCAN=3,1", 5.0),
    ("quectel", 'AT+QENG="servingcell"', 3.0), ("quectel", 'at+qeng="NEIGHBOURCELL"', 5.0),
    ("quectel", "AT+QSCAN=3,1", 180.0), ("quectel", "AT+QUIMSLOT=2", 15.0), ("quectel", "AT+QUIMSLOT?", 5.0),
    ("quectel", "AT+QDSIM=1", 15.0), ("quectel", "AT+QPOWD=1", 60.0), ("quectel", "AT+QNETDEVCTL=1,1,1", 30.0),
    ("quectel", "AT+CFUN=1,1", 15.0), ("quectel", "AT+CGACT=1,1", 150.0), ("quectel", "AT+CSQ", 5.0),
    ("simcom", "AT+CPSI?", 3.0), ("simcom", "AT+CGATT=1", 75.0), ("simcom", "AT+COPS=?", 180.0),
    ("sierra", "AT!RESET", 30.0), ("sierra", "AT!GSTATUS?", 5.0), ("sierra", "AT+CFUN=1,1", 15.0),
    ("telit", "AT#RFSTS", 5.0), ("telit", "AT#CSURVC", 180.0), ("telit", "AT#CSURV=0", 180.0),
    ("telit", "AT#REBOOT", 30.0), ("telit", "AT+CGACT=1,1", 150.0),
    ("huawei", "AT^SYSINFOEX", 3.0), ("huawei", "AT^HCSQ?", 3.0), ("huawei", "AT+CFUN=1,1", 15.0),
    ("ublox", "AT+CFUN=1,1", 180.0), ("ublox", "AT+CFUN=0", 180.0), ("ublox", "AT+CFUN?", 5.0),
    ("ublox", "AT+UCGED?", 5.0), ("ublox", "AT+UBANDSEL=800,1800", 10.0), ("ublox", "AT+COPS=?", 180.0),
    ("fibocom", "AT+XCESQ?", 3.0), ("fibocom", "AT+CGATT=1", 140.0), ("fibocom", "AT+GTDUALSIM=1", 5.0),
]


@pytest.mark.parametrize("vendor, command, seconds", TIMEOUTS)
def test_timeout_for_vendor_then_generic(vendor, command, seconds):
    assert vendors.get(vendor).timeout_for(command) == seconds


def test_every_vendor_is_covered_by_the_timeout_table():
    assert {v for v, _, _ in TIMEOUTS} == set(vendors.NAMES)


def test_device_gives_the_port_its_plugins_timeouts_and_urcs(tmp_path):
    # No modem needed: the port is never started; what matters is what its engine was told.
    from modem.at import AtPort
    from modem.device import ModemDevice

    port = AtPort(str(tmp_path / "ttyUSB2"))
    dev = ModemDevice(port, "u-blox")
    assert port.engine.make_request("AT+CFUN=1,1").timeout == 180.0
    assert port.engine.make_request("AT+CSQ").timeout == 5.0
    assert port.engine.urcs.is_urc("+UUSIMSTAT: 1") and not port.engine.urcs.is_urc('+QIND: "csq",20,99')
    assert port.engine.urcs.is_urc("+CEREG: 1")                 # the 3GPP ones stay
    dev.use_plugin(vendors.get("quectel"))
    assert port.engine.make_request("AT+CFUN=1,1").timeout == 15.0
    assert port.engine.urcs.is_urc('+QIND: "csq",20,99') and not port.engine.urcs.is_urc("+UUSIMSTAT: 1")


def test_unidentified_modem_knows_every_vendors_urcs(tmp_path):
    from modem.at import AtPort
    from modem.device import ModemDevice

    port = AtPort(str(tmp_path / "ttyUSB2"))
    ModemDevice(port)                                          # vendor auto: not identified yet
    for line in ('+QIND: "csq",20,99', "^HCSQ: \"LTE\",50,40,120,20", "+UUSIMSTAT: 1", "#QSS: 1", "+XCESQI: 1"):
        assert port.engine.urcs.is_urc(line), line


@pytest.mark.parametrize("name", vendors.NAMES)
def test_vendor_urcs_come_before_the_generic_ones(name):
    plugin = vendors.get(name)
    prefixes = plugin.urc_prefixes()
    assert prefixes[:len(plugin.vendor_urc_prefixes)] == plugin.vendor_urc_prefixes
    assert "+CREG:" in prefixes and len(set(prefixes)) == len(prefixes)


def test_generic_urcs_name_no_vendor():
    from modem.at.urc import DEFAULT_URC_PREFIXES
    vendor_owned = {p for name in vendors.NAMES for p in vendors.get(name).vendor_urc_prefixes}
    assert not vendor_owned & set(DEFAULT_URC_PREFIXES)


def test_iccid_and_network_time_commands_are_the_plugins():
    assert vendors.get("quectel").iccid_commands == ("AT+QCCID",)
    assert vendors.get("telit").iccid_commands == ("AT#CCID", "AT+ICCID")
    assert "AT+CRSM=176,12258,0,0,10" in vendors.get("generic").iccid_commands
    assert vendors.get("quectel").network_time_commands[0] == "AT+CTZU=3"
    assert vendors.get("simcom").network_time_commands == ("AT+CTZU=1",)


@pytest.mark.parametrize("vendor, line, changed", [
    ("generic", "+CEREG: 5", True), ("generic", "+CPIN: NOT READY", True), ("generic", "+CSQ: 20,99", False),
    ("generic", "+QUSIM: 1", False), ("quectel", "+QUSIM: 1", True), ("quectel", "+CREG: 1", True),
    ("quectel", '+QIND: "csq",20,99', False),
])
def test_status_changing_urcs(vendor, line, changed):
    assert vendors.get(vendor).status_changed_by(line) is changed


def test_generic_has_no_sim_switch():
    assert vendors.get("generic").sim_switch_command(2) is None


def test_vendor_parsers_are_used_by_decode():
    from modem import decode
    line = ['+QENG: "servingcell","NOCONN","LTE","FDD",460,11,E0B70B,374,100,1,5,5,5F0C,-80,-6,-53,30,39']
    assert decode('AT+QENG="servingcell"', line, "quectel")["band"] == "B1"
    assert decode('AT+QENG="servingcell"', line, "no-such-vendor")["band"] == "B1"   # unknown vendor: generic


class _ScriptedPort:
    """Answers identity commands from a table; records what the device tells the port about its modem."""

    def __init__(self, answers: dict[str, list[str]]):
        self.answers, self.vendor_urcs, self.timeout_for = answers, (), None

    def set_timeout_policy(self, timeout_for):
        self.timeout_for = timeout_for

    def set_vendor_urcs(self, prefixes):
        self.vendor_urcs = tuple(prefixes)

    def command(self, command, timeout=None, **kwargs):
        from modem.at import AtError, Response
        if command not in self.answers:
            raise AtError(command, "ERROR", "ERROR")
        return Response(command, self.answers[command], "OK")


@pytest.mark.parametrize("answers, vendor, knows_qind, knows_uusimstat", [
    ({"AT+CGMI": ["Quectel"], "AT+CGMM": ["RM500Q-GL"]}, "quectel", True, False),
    ({"AT+CGMI": ["u-blox"], "AT+CGMM": ["SARA-R410M-02B"]}, "ublox", False, True),
    # ZTE: no plugin claims it, so it may send any vendor's URCs (a rebadged module often does)
    ({"AT+CGMI": ["ZTE INCORPORATED"], "AT+CGMM": ["MF627"]}, "generic", True, True),
])
def test_identify_tells_the_port_the_vendors_urcs(answers, vendor, knows_qind, knows_uusimstat):
    from modem.device import ModemDevice
    port = _ScriptedPort(answers)
    dev = ModemDevice(port)
    assert "+QIND:" in port.vendor_urcs and "+UUSIMSTAT:" in port.vendor_urcs    # before identify: any vendor
    assert dev.identify()["vendor"] == vendor
    assert ("+QIND:" in port.vendor_urcs, "+UUSIMSTAT:" in port.vendor_urcs) == (knows_qind, knows_uusimstat)
    assert port.timeout_for == dev.plugin.timeout_for


def test_every_parser_is_registered_once():
    # One registry: a command key lives in the generic table or in one plugin, never in two places.
    from modem.decoder import COMMANDS, PREFIXES
    for attr, generic in (("parsers", COMMANDS), ("prefix_parsers", PREFIXES)):
        homes: dict[str, list[str]] = {key: ["generic table"] for key in generic}
        for name in vendors.NAMES:
            for key in getattr(vendors.get(name), attr):
                homes.setdefault(key, []).append(name)
        assert {k: v for k, v in homes.items() if len(v) > 1} == {}, attr


# real captures, also in test_simcom_sierra_telit.py / test_quectel.py
_CPSI_SIM7600 = ["+CPSI: LTE,Online,460-11,0x5A1E,187214780,257,EUTRAN-BAND3,1850,5,5,-94,-850,-545,15"]
_QENG_NEIGHBOURS_RM520N = ['+QENG: "neighbourcell intra","LTE",275,280,-14,-99,-67,-,-,-,-,-,-',
                           '+QENG: "neighbourcell intra","LTE",275,34,-20,-105,-76,-,-,-,-,-,-']


@pytest.mark.parametrize("command, lines, vendor, key, value", [
    # a vendor command decodes with its vendor, with another vendor named, and with none
    ("AT+CPSI?", _CPSI_SIM7600,
     "simcom", "band", "B3"),
    ("AT+CPSI?", _CPSI_SIM7600,
     "quectel", "band", "B3"),
    ("AT+CPSI?", _CPSI_SIM7600,
     None, "band", "B3"),
    (None, _QENG_NEIGHBOURS_RM520N, None, "cells", None),          # unsolicited: by prefix, Quectel's
    (None, _QENG_NEIGHBOURS_RM520N, "simcom", "cells", None),
])
def test_lookup_order_finds_vendor_parsers_whoever_asks(command, lines, vendor, key, value):
    from modem import decode
    result = decode(command, lines, vendor)
    assert key in result and (value is None or result[key] == value), result
