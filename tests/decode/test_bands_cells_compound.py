"""Band configuration reads, network surveys, multi-cell / multi-carrier tables, per-antenna arrays, compound command
lines, +COPS numeric, bare +CPIN codes and the +CESQ RAT — every line copied from a public capture named on its row.

Band masks: ModemManager's Telit and u-blox helper tests (ME910, LN920, ME910G1 #BND; +UACT, LARA-R204 +UBANDSEL)
and an FN990A28 open5gs lab notes file (#BND with the NR masks). Surveys and neighbour rows: a transcript recorded
from a real LM960A18 (T-Mobile US, B66) quoted in a cell-capture project's tests. Carriers: the MC7455 README
(!GSTATUS? with an SCC), RM5xx notes (four LTE carriers, Italy). Per-antenna arrays: an RM5xx web UI comment
(+QSINR LTE + NR5G) and an RM520N monitor script (+QRSSI). Compound lines: a Fibocom FM150 capture (Telekom.de,
luci-app-3ginfo-lite PR 32) and an L850-GL capture (issue 82).
"""
import pytest

from modem import decode
from tests.decode.helpers import cases, check_subset

N = None

BANDS = [
    # ModemManager test-mm-modem-helpers-telit.c, "4G ext band settings: devices such as LN920" (hex, ext mask 42)
    ("bnd_ln920_mm_hex_with_ext", "AT#BND?", ["#BND: 0,0,1003100185A,42"],
     {"bands": ["B2", "B4", "B5", "B7", "B12", "B13", "B25", "B29", "B30", "B41", "B66", "B71"]}, "telit"),
    # same file, "ME910G1, decimal 4G ext band settings with TDSCDMA field"
    ("bnd_me910g1_mm_decimal_with_tdscdma_and_ext", "AT#BND?", ["#BND: 0,0,252582047,0,1048578"],
     {"bands": ["B1", "B2", "B3", "B4", "B5", "B8", "B12", "B13", "B18", "B19", "B20", "B25", "B26", "B27", "B28",
                "B66", "B85"]}, "telit"),
    # FN990A28 open5gs lab notes: 'at#bnd?' read with the NSA and SA NR5G masks; the author reads 7000 in the SA
    # 65-128 mask as n77 + n78 + n79
    ("bnd_fn990a28_open5gs_lab_all_masks", "AT#BND?",
     ["#BND: 0,22,A7E2BB0F38DF,42,1A0290800D7,7042,81A0290800D7,7442", "OK"],
     {"gsm_band_config": 0, "umts_band_config": 22,
      "bands": ["B1", "B2", "B3", "B4", "B5", "B7", "B8", "B12", "B13", "B14", "B17", "B18", "B19", "B20", "B25",
                "B26", "B28", "B29", "B30", "B32", "B34", "B38", "B39", "B40", "B41", "B42", "B43", "B46", "B48",
                "B66", "B71"],
      "nr_nsa_bands": ["n1", "n2", "n3", "n5", "n7", "n8", "n20", "n25", "n28", "n30", "n38", "n40", "n41", "n66",
                       "n71", "n77", "n78", "n79"],
      "nr_sa_bands": ["n1", "n2", "n3", "n5", "n7", "n8", "n20", "n25", "n28", "n30", "n38", "n40", "n41", "n48",
                      "n66", "n71", "n75", "n77", "n78", "n79"]}, "telit"),
    # same notes, after 'at#bnd=0,0,1,0,0,0,0,2000' and a reboot: SA n78 only
    ("bnd_fn990a28_open5gs_lab_sa_n78_only", "AT#BND?", ["#BND: 0,0,1,0,0,0,0,2000"],
     {"bands": ["B1"], "nr_nsa_bands": [], "nr_sa_bands": ["n78"]}, "telit"),
    # ModemManager test-modem-helpers-ublox.c, +UACT? read responses
    ("uact_mm_2g", "AT+UACT?", ["+UACT: ,,,900,1800,1900,850"], {"bands": [], "bands_mhz": [900, 1800, 1900, 850]},
     "ublox"),
    ("uact_mm_2g3g4g", "AT+UACT?", ["+UACT: ,,,900,1800,1900,850,1,2,3,4,5,6,7,8,9,101,102,103,104,105,106,107,108,109"],
     {"bands": ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9"], "umts_bands": [1, 2, 3, 4, 5, 6, 7, 8, 9],
      "bands_mhz": [900, 1800, 1900, 850]}, "ublox"),
    # mm-modem-helpers-ublox.c comment: the read form with B38 (138)
    ("uact_mm_helper_comment_b38", "AT+UACT?", ["+UACT: ,,,900,1800,1,8,101,103,107,108,120,138"],
     {"bands": ["B1", "B3", "B7", "B8", "B20", "B38"], "umts_bands": [1, 8], "bands_mhz": [900, 1800]}, "ublox"),
    ("uact_mm_empty_list", "AT+UACT?", ["+UACT: ,,,"], {"bands": []}, "ublox"),
    # ModemManager test_ubandsel_response_four: LARA-R204 prints LTE bands as MHz
    ("ubandsel_lara_r204_mm_mhz", "AT+UBANDSEL?", ["+UBANDSEL: 700,1700"], {"bands_mhz": [700, 1700]}, "ublox"),
]

CELLS = [
    # LM960A18 recorded transcript: #CSURVC LTE row EARFCN,RSSI,MCC,MNC,CID,TAC,PCI,status,RSRP,RSRQ,x; CID and TAC
    # in decimal (50896642 = 3089F02 and 11544 = 2D18, as #RFSTS prints them)
    ("csurvc_lm960a18_tmobile_b66", "AT#CSURVC",
     ["Network survey started ...", "", "66786,-68,310,260,50896642,11544,236,0,-103,-15,20", "", "",
      "Network survey ended", "OK"],
     {"cells": [{"rat": "LTE", "earfcn": 66786, "band": "B66", "rssi_dbm": -68, "mcc": "310", "mnc": "260",
                 "cell_id": "3089F02", "lac_tac": "2D18", "pci": 236, "rsrp_dbm": -103, "rsrq_db": -15}]}, "telit"),
    # same transcript, AT#MONI after AT#MONI=1: neighbour rows, Id is the PCI in hex (0xEC = 236 is the serving cell)
    ("moni_lm960a18_neighbour_rows", "AT#MONI",
     ["#MONI: RSRP:-101 RSRQ:-13 Id:00000EC EARFCN:66786 PWR:-68dbm",
      "#MONI: RSRP:-107 RSRQ:-18 Id:0000142 EARFCN:66786 PWR:-79dbm"],
     {"rat": "LTE", "pci": 236, "earfcn": 66786, "band": "B66", "rsrp_dbm": -101, "rsrq_db": -13, "rssi_dbm": -68,
      "cells": [{"pci": 322, "earfcn": 66786, "rsrp_dbm": -107, "rsrq_db": -18, "rssi_dbm": -79}]}, "telit"),
    # MC7455 README (AT&T B2 + B12): each carrier's main-antenna RSSI/RSRP row
    ("gstatus_mc7455_ca_carrier_signal", "AT!GSTATUS?",
     ["!GSTATUS: ", "Current Time:  22016\t\tTemperature: 40", "Reset Counter: 1\t\tMode:        ONLINE         ",
      "System mode:   LTE        \tPS state:    Attached     ", "LTE band:      B2     \t\tLTE bw:      20 MHz  ",
      "LTE Rx chan:   800\t\tLTE Tx chan: 18800", "LTE CA state:  ACTIVE      \t\tLTE Scell band:B12    ",
      "LTE Scell bw:10 MHz  \t\tLTE Scell chan:5110", "EMM state:     Registered     \tNormal Service ",
      "RRC state:     RRC Connected  ", "IMS reg state: No Srv  \t\t", "",
      "PCC RxM RSSI:  -45\t\tRSRP (dBm):  -81", "PCC RxD RSSI:  -44\t\tRSRP (dBm):  -79",
      "SCC RxM RSSI:  -52\t\tRSRP (dBm):  -83", "SCC RxD RSSI:  -51\t\tRSRP (dBm):  -81",
      "Tx Power:      15\t\tTAC:         8C65 (35666)", "RSRQ (dB):     -14.0\t\tCell ID:     0A14666A (169106666)",
      "SINR (dB):     23.8", "OK"],
     {"rsrp_dbm": -81, "carriers": [
         {"role": "PCC", "band": "B2", "bandwidth_mhz": 20, "earfcn": 800, "rssi_dbm": -45, "rsrp_dbm": -81},
         {"role": "SCC", "band": "B12", "bandwidth_mhz": 10, "earfcn": 5110, "rssi_dbm": -52, "rsrp_dbm": -83}],
      "bands": ["B2", "B12"]}, "sierra"),
    # RM5xx notes (Italian operator, AT+QNWPREFCFG session): PCC B1 + three LTE SCCs; LTE bandwidth in RBs
    ("qcainfo_rm5xx_italy_4cc_lte", "AT+QCAINFO",
     ['+QCAINFO: "PCC",400,50,"LTE BAND 1",1,201,-75,-11,-44,15',
      '+QCAINFO: "SCC",3350,100,"LTE BAND 7",1,20,-95,-15,-70,0,0,-,-',
      '+QCAINFO: "SCC",1500,50,"LTE BAND 3",1,201,-87,-13,-65,0,0,-,-',
      '+QCAINFO: "SCC",1650,100,"LTE BAND 3",1,201,-89,-15,-64,0,0,-,-'],
     {"carriers": [
         {"role": "PCC", "earfcn": 400, "bandwidth_mhz": 10, "band": "B1", "pci": 201, "rsrp_dbm": -75,
          "rsrq_db": -11, "rssi_dbm": -44, "sinr_db": 15},
         {"role": "SCC", "earfcn": 3350, "bandwidth_mhz": 20, "band": "B7", "pci": 20, "rsrp_dbm": -95,
          "rsrq_db": -15, "rssi_dbm": -70, "sinr_db": 0},
         {"role": "SCC", "earfcn": 1500, "bandwidth_mhz": 10, "band": "B3", "pci": 201, "rsrp_dbm": -87,
          "rsrq_db": -13, "rssi_dbm": -65},
         {"role": "SCC", "earfcn": 1650, "bandwidth_mhz": 20, "band": "B3", "pci": 201, "rsrp_dbm": -89,
          "rsrq_db": -15, "rssi_dbm": -64}],
      "bands": ["B1", "B7", "B3", "B3"]}, "quectel"),
]

ANTENNAS = [
    # RM5xx web UI source comment: EN-DC prints an LTE and an NR5G row; -32768 = branch not measured
    ("qsinr_rm5xx_webui_endc", "AT+QSINR?", ["+QSINR: 0,4,-32768,-32768,LTE", "+QSINR: 12,7,-32768,-20,NR5G"],
     {"rat": "NR5G-NSA", "sinr_db": 0, "lte": {"sinr_db": 0, "sinr_db_per_antenna": [0, 4, N, N]},
      "nr": {"sinr_db": 12, "sinr_db_per_antenna": [12, 7, N, -20]}}, "quectel"),
    # RM520N monitor script comment: four NR branches
    ("qrssi_rm520n_script_nr4", "AT+QRSSI?", ["+QRSSI: -87,-80,-85,-77,NR5G"],
     {"rat": "NR5G-SA", "rssi_dbm": -87, "rssi_dbm_per_antenna": [-87, -80, -85, -77]}, "quectel"),
    # a Go signal parser's test quoting RM5xx rows: quoted sysmode, -140 unmeasured, -37625 garbage on RX3
    ("qrsrp_rm5xx_go_test_quoted_sysmode", "AT+QRSRP",
     ['+QRSRP: -91,-92,-32768,-140,"LTE"', '+QRSRP: -88,-89,-32768,-37625,"NR5G"'],
     {"rat": "NR5G-NSA", "rsrp_dbm": -91, "lte": {"rsrp_dbm_per_antenna": [-91, -92, N, N]},
      "nr": {"rsrp_dbm": -88, "rsrp_dbm_per_antenna": [-88, -89, N, N]}}, "quectel"),
]

FM150 = "AT+CSQ;+CPIN?;+COPS=3,0;+COPS?;+COPS=3,2;+COPS?;+CREG=2;+CREG?"

THREE_GPP = [
    # Fibocom FM150 (Telekom.de EN-DC), luci-app-3ginfo-lite PR 32: eight commands on one line, four set commands
    ("compound_fm150_telekom_eight_parts", FM150,
     ["+CSQ: 17,99", "+CPIN: READY", '+COPS: 0,0,"Telekom.de",13', '+COPS: 0,2,"26201",13',
      '+CREG: 2,1,"5D4","01BC7511",13', "OK"],
     {"rssi_dbm": -79, "sim_state": "READY", "operator_name": "Telekom.de", "mcc": "262", "mnc": "01",
      "registration": "home", "lac_tac": "5D4", "cell_id": "01BC7511", "rat": "NR5G-NSA",
      "parts": [{"command": "+CSQ", "rssi_dbm": -79}, {"command": "+CPIN?", "sim_state": "READY"},
                {"command": "+COPS=3,0"}, {"command": "+COPS?", "operator_name": "Telekom.de", "rat": "NR5G-NSA"},
                {"command": "+COPS=3,2"}, {"command": "+COPS?", "mcc": "262", "mnc": "01"},
                {"command": "+CREG=2"}, {"command": "+CREG?", "registration": "home", "cell_id": "01BC7511"}]}),
    # Fibocom L850-GL (XL Axiata), luci-app-3ginfo-lite issue 82: 'AT+CREG=2;+CREG?' (stat 6: SMS only)
    ("compound_l850_creg_set_and_read", "AT+CREG=2;+CREG?", ['+CREG: 2,6,"7D08","04E23C04",7', "OK"],
     {"registration": "home_sms_only", "lac_tac": "7D08", "cell_id": "04E23C04", "rat": "LTE",
      "parts": [{"command": "+CREG=2"}, {"command": "+CREG?", "registration": "home_sms_only"}]}),
    # +COPS numeric: Huawei E169 chat log in a Taiwanese router blog (466-92, UMTS)
    ("cops_numeric_huawei_e169_chatlog", "AT+COPS?", ['+COPS: 0,2,"46692",2', "OK"],
     {"mcc": "466", "mnc": "92", "rat": "UMTS"}),
    # a modem debugging notes file (AT&T 310-410, LTE), three-digit MNC
    ("cops_numeric_att_notes_three_digit_mnc", "AT+COPS?", ['+COPS: 0,2,"310410",7'],
     {"mcc": "310", "mnc": "410", "rat": "LTE"}),
    # Rust bridge doc comment: 'AT+COPS=3,2;+COPS?' answered '+COPS: 0,2,"40443",7' (India)
    ("cops_numeric_compound_rust_bridge", "AT+COPS=3,2;+COPS?", ['+COPS: 0,2,"40443",7', "OK"],
     {"mcc": "404", "mnc": "43", "rat": "LTE", "parts": [{"command": "+COPS=3,2"}, {"command": "+COPS?"}]}),
    # +CPIN without its prefix: Fibocom L718 dial-up README, and a SIM800L Arduino serial-monitor log
    ("cpin_bare_fibocom_l718_readme", "AT+CPIN?", ["READY"], {"sim_state": "READY"}),
    ("cpin_bare_sim800l_serial_log", "AT+CPIN?", ["READY", "OK"], {"sim_state": "READY"}),
    # +CESQ RAT from the valid fields: a 5G module's measured line (NR fields only), SORACOM nRF9160 (LTE)
    ("cesq_rat_nr_module_measured", "AT+CESQ", ["+CESQ: 99,99,255,255,255,255,65,75,75"],
     {"rat": "NR5G-SA", "rsrp_dbm": -82, "rsrq_db": -11, "sinr_db": 14}),
    ("cesq_rat_nrf9160_soracom_lte", "AT+CESQ", ["+CESQ: 99,99,255,255,15,39"],
     {"rat": "LTE", "rsrp_dbm": -102, "rsrq_db": -12.5}),
]


@pytest.mark.parametrize("command,lines,expected,vendor", cases(BANDS + CELLS + ANTENNAS + THREE_GPP))
def test_decode_table(command, lines, expected, vendor):
    check_subset(decode(command, lines, vendor), expected)


def test_compound_line_aborted_midway_keeps_the_answered_parts():
    # The FM150 lines above, cut where a command fails: V.250 5.2.1 says the DCE stops at the failing command and
    # answers ERROR for the whole line (no public capture of an aborted line was found, so the cut is ours)
    result = decode("AT+CSQ;+CPIN?;+COPS?;+CREG?",
                    ["+CSQ: 17,99", "+CPIN: READY", '+COPS: 0,0,"Telekom.de",13', "ERROR"])
    check_subset(result, {"rssi_dbm": -79, "sim_state": "READY", "operator_name": "Telekom.de",
                          "parts": [{"command": "+CSQ", "rssi_dbm": -79}, {"command": "+CPIN?", "sim_state": "READY"},
                                    {"command": "+COPS?", "operator_name": "Telekom.de"},
                                    {"command": "+CREG?", "cme_error": "ERROR"}]})
    assert "registration" not in result and "cme_error" not in result


def test_compound_line_failing_early_marks_the_rest_not_run():
    result = decode("AT+CSQ;+CPIN?;+COPS?;+CREG?", ["+CSQ: 17,99", "+CME ERROR: 10"])
    parts = result["parts"]
    assert parts[0]["rssi_dbm"] == -79
    assert parts[1]["cme_error"] == 10 and parts[1]["sim_state"] == "NOT INSERTED"
    assert [p["error"] for p in parts[2:]] == ["not run: an earlier command on the line failed"] * 2


def test_compound_line_set_command_before_the_failure_counts_as_done():
    # '+CMEE=2' prints nothing but OK: the failure belongs to the query after it
    result = decode("AT+CSQ;+CMEE=2;+CPIN?", ["+CSQ: 17,99", "+CME ERROR: 10"])
    assert result["parts"][1] == {"command": "+CMEE=2"}
    assert result["parts"][2]["cme_error"] == 10


def test_compound_line_identity_answers_l850():
    # Fibocom L850-GL identity answers (luci-app-modemdata issue 18), asked on one line
    result = decode("AT+CGMI;+CGMM;+CGMR",
                    ['+CGMI: "Fibocom"', '+CGMM: "L850 LTE Module","L850"', '+CGMR: "18500.5001.00.05.27.16"', "OK"])
    assert [p.get("manufacturer") or p.get("model") or p.get("revision") for p in result["parts"]] == \
        ["Fibocom", "L850 LTE Module", "18500.5001.00.05.27.16"]


def test_compound_line_prefixless_answers_go_one_per_command():
    # Most modules print +CGMI/+CGMM without a prefix (the shape, not a capture): one line each, in order
    result = decode("AT+CGMI;+CGMM;+CSQ", ["Quectel", "EC25", "+CSQ: 17,99", "OK"])
    assert [p.get("manufacturer") or p.get("model") or p.get("rssi_dbm") for p in result["parts"]] == \
        ["Quectel", "EC25", -79]


def test_bare_cpin_only_for_a_known_code():
    assert "sim_state" not in decode("AT+CPIN?", ["SOMETHING ELSE", "OK"])
    assert decode("AT+CPIN?", ["SIM PIN"])["sim_state"] == "SIM PIN"


def test_cesq_rat_from_umts_and_gsm_fields():
    assert decode("AT+CESQ", ["+CESQ: 99,99,46,31,255,255"])["rat"] == "UMTS"
    assert decode("AT+CESQ", ["+CESQ: 40,0,255,255,255,255"])["rat"] == "GSM"
    assert "rat" not in decode("AT+CESQ", ["+CESQ: 99,99,255,255,255,255"])


def test_compound_line_with_a_parametrised_query_rm5xx():
    # RM5xx notes (TIM Italy, EN-DC B1 + n78; the lines test_quectel decodes one command at a time), asked on one
    # line: '+QENG="servingcell"' has arguments but is a query, so its lines are its own, not the part's before it
    result = decode('AT+QCAINFO;+QENG="servingcell"',
                    ['+QCAINFO: "PCC",275,75,"LTE BAND 1",1,280,-99,-14,-67,-4',
                     '+QCAINFO: "SCC",1350,100,"LTE BAND 3",1,240,-95,-18,-68,-10,0,-,-',
                     '+QCAINFO: "SCC",648768,10,"NR5G BAND 78",920', "",
                     '+QENG: "servingcell","NOCONN"',
                     '+QENG: "LTE","FDD",222,01,328261F,280,275,1,4,4,BE3,-99,-14,-66,7,4,30,-',
                     '+QENG: "NR5G-NSA",222,01,920,-96,18,-10,648768,78,10,1', "OK"])
    qeng = result["parts"][1]
    assert qeng["command"] == '+QENG="servingcell"'
    check_subset(qeng, {"rat": "NR5G-NSA", "lac_tac": "BE3", "nr": {"pci": 920, "arfcn": 648768, "band": "n78"}})
    assert [c["band"] for c in result["parts"][0]["carriers"]] == ["B1", "B3", "n78"]


def test_moni_fn990_nr_serving_row():
    # Telit FN990 lab script (test PLMN 001-01): the NR form of #MONI, labels prefixed NR_
    result = decode("AT#MONI", ["#MONI: Test PLMN 1-1 NR_BAND:79 NR_BW:100 NR_ULBW:100 NR_CH:723360 NR_ULCH:723360 "
                                "NR_PWR:-60dbm NR_RSRP:-71 NR_RSRQ:-10 NR_PCI:11 NR_SINR:56 NR_STATE:2"], "telit")
    check_subset(result, {"rat": "NR5G-SA", "operator_name": "Test PLMN 1-1", "band": "n79", "bandwidth_mhz": 100,
                          "arfcn": 723360, "rsrp_dbm": -71, "rsrq_db": -10, "pci": 11})
    assert "sinr_db" not in result


def test_servinfo_me910_prints_the_pci_where_lm960_prints_the_cell_id():
    me910 = decode("AT#SERVINFO", ['#SERVINFO: 6400,-43,"T-Mobile A","23203",00000AF,36EE,32,3,-60'], "telit")
    lm960 = decode("AT#SERVINFO", ['#SERVINFO: 66786,-68,"T-Mobile","310260",3089F02,2D18,640,3,-101'], "telit")
    assert me910["pci"] == 175 and "cell_id" not in me910
    assert lm960["cell_id"] == "3089F02" and "pci" not in lm960


def test_compound_line_basic_commands_answer_nothing():
    # V.250 basic commands (E0, &F) print only OK: the prefixed answer belongs to the query after them
    result = decode("ATE0;+CSQ", ["+CSQ: 17,99", "OK"])
    assert result["parts"] == [{"command": "E0"}, {"command": "+CSQ", "rssi_dbm": -79, "ber": None}]
    assert "parts" not in decode("AT+CSQ;", ["+CSQ: 17,99", "OK"])


def test_compound_line_with_too_many_commands_is_one_clear_error():
    result = decode("AT" + ";+CSQ" * 500, ["+CSQ: 17,99", "OK"])
    assert result == {"error": "command line with 500 commands (at most 64)"}
