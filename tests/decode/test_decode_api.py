"""modem.decode(): command normalisation, echo, final result codes, URC batches, bad input."""
import pytest

import modem
from modem.decoder import find_parser, normalize_command
from modem.parsers import quectel, signal

CSQ = ["+CSQ: 20,99", "OK"]


@pytest.mark.parametrize("raw,norm", [
    ("AT+CSQ", "+CSQ"), ("+CSQ", "+CSQ"), ("at+csq", "+CSQ"), (" AT+CSQ\r\n", "+CSQ"),
    ('AT+QENG="servingcell"', '+QENG="servingcell"'), ('at+qeng="SERVINGCELL"', '+QENG="servingcell"'),
    ('AT+QENG = "servingcell"', '+QENG="servingcell"'), ("AT+COPS?", "+COPS?"), ("AT+COPS=?", "+COPS=?"),
    ("ATI", "I"), ("ati0", "I0"), ("AT!GSTATUS?", "!GSTATUS?"), ("at#rfsts", "#RFSTS"), ("AT^HCSQ?", "^HCSQ?"),
    ("", None), (None, None),
])
def test_normalize_command(raw, norm):
    assert normalize_command(raw) == norm


@pytest.mark.parametrize("command", ["AT+CSQ", "+CSQ", "at+csq", "AT+CSQ?", "csq"])
def test_spellings_find_the_csq_parser(command):
    assert find_parser(command if command != "csq" else "AT+CSQ") is signal.parse_csq


def test_set_form_falls_back_to_the_command_parser():
    assert find_parser("AT+QSCAN=3,1") is quectel.parse_qscan


def test_modem_decode_is_the_function_after_the_decoder_is_imported():
    import modem.decoder  # noqa: F401  (must not rebind modem.decode)
    assert modem.decode("AT+CSQ", CSQ) == {"rssi_dbm": -73, "ber": None}


@pytest.mark.parametrize("lines", [
    ["AT+CSQ", "+CSQ: 20,99", "", "OK"],          # echo on
    ["at+csq", "+CSQ: 20,99"],                    # echo in another case, no final OK
    "AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n",      # one string, Sierra-style \r\r\n
    ["", "  +CSQ: 20,99  ", ""],
])
def test_echo_blank_lines_and_missing_ok_are_tolerated(lines):
    assert modem.decode("AT+CSQ", lines) == {"rssi_dbm": -73, "ber": None}


@pytest.mark.parametrize("lines,cme", [
    (["ERROR"], "ERROR"), (["+CME ERROR: 30"], 30), (["+CME ERROR: no network service"], "no network service"),
    (["AT+COPS=?", "+CME ERROR: 3"], 3), (["+CMS ERROR: 500"], 500), (["COMMAND NOT SUPPORT"], "COMMAND NOT SUPPORT"),
])
def test_final_errors_become_cme_error(lines, cme):
    assert modem.decode("AT+COPS=?", lines) == {"cme_error": cme}


def test_unsolicited_batch_keeps_each_urc():
    out = modem.decode(None, ["+CREG: 1,\"CE00\",\"01CEAD8F\",7", "+CSQ: 15,99", "+CPIN: READY"])
    assert out["registration"] == "home" and out["rssi_dbm"] == -83 and out["sim_state"] == "READY"
    assert [sorted(u) for u in out["urcs"]] == [["cell_id", "lac_tac", "rat", "registration"], ["ber", "rssi_dbm"],
                                                ["sim_state"]]


def test_unknown_command_still_decodes_known_prefixes():
    assert modem.decode("AT+FOO", ["+CEREG: 2,5"]) == {"registration": "roaming"}


@pytest.mark.parametrize("command,lines", [
    ("AT+CSQ", []), ("AT+CSQ", ["OK"]), ("AT+CSQ", ["garbage"]), (None, ["RING"]), (None, []),
    (5, ["+CSQ: 1,1"]), ("AT+CSQ", 42), ("AT+CSQ", [b"+CSQ: 1,1", None]),
])
def test_bad_input_gives_error_never_raises(command, lines):
    out = modem.decode(command, lines)
    assert set(out) == {"error"} and isinstance(out["error"], str)


def test_bytes_lines_are_accepted():
    assert modem.decode("AT+CSQ", [b"+CSQ: 20,99"])["rssi_dbm"] == -73


def test_sentinels_become_null_not_numbers():
    out = modem.decode('AT+QENG="servingcell"', ['+QENG: "servingcell","NOCONN","LTE","FDD",262,01,-,-,-,-,-,-,-,'
                                                 '-32768,-32768,-32768,-32768,-,-,-'])
    for key in ("cell_id", "pci", "earfcn", "lac_tac", "rsrp_dbm", "rsrq_db", "rssi_dbm", "sinr_db"):
        assert out[key] is None, key


def test_implausible_values_are_dropped():
    # an RSRP of +50 dBm is not a measurement; a PCI of 5000 does not exist
    out = modem.decode('AT+QENG="servingcell"', ['+QENG: "servingcell","NOCONN","LTE","FDD",262,01,1A2B,5000,1300,3,'
                                                 '5,5,1234,50,-10,-60,10,18'])
    assert out["rsrp_dbm"] is None and out["pci"] is None and out["rsrq_db"] == -10
