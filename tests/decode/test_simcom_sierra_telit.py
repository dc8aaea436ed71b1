"""SIMCom +CPSI?, Sierra !GSTATUS?/!LTEINFO?, Telit #RFSTS/#SERVINFO/#MONI.

SIMCom sources: SIM7600 ROS message comment (404-45 Band 40), Rust/Python CPSI parsers quoting SIM7600/SIM8200
captures (460-11 B3, 242-12 SA n78), netalyze README (SIM8200 SA), a RedCap n71 lab log, Lua scripts (505-01
WCDMA 850, Telstra), a Python driver docstring (310-410 WCDMA 850), a SIM7000 1nce log (262-01 GSM), an Arduino
lib docstring (204-04 GSM), a C++ test (250-20 B7), SIM7100 C source (460-00 B40).
Sierra sources: an MC7455 README (!GSTATUS? with CA, !LTEINFO?), an EM7565 python capture (b'...' log, 4 SSC
lines), ModemManager's Sierra GSTATUS comment (EM7511/EM919x layout with NR5G '---' lines), an EM9190 C source
comment (NR5G SA), a VOXL notes file (!NRINFO? is not decoded here).
Telit sources: LM960A18 recorded transcript (#RFSTS/#SERVINFO, 310-260 B66), LE910 Turkcell captures (286-01,
RAC missing), pmoerenhout/atcommander (GSM, 204-04/08/16), MikroTik forum (LM940, AT&T).
"""
import pytest

from modem import decode
from tests.decode.helpers import cases, check_subset

N = None
CPSI = "AT+CPSI?"

SIMCOM = [
    ("cpsi_sim7600_b40_india", CPSI, ["+CPSI: LTE,Online,404-45,0x21F9,322642,453,EUTRAN-BAND40,39275,4,4,-168,-1126,-773,7"],
     {"rat": "LTE", "mcc": "404", "mnc": "45", "lac_tac": "21F9", "cell_id": "4EC52", "pci": 453, "band": "B40",
      "earfcn": 39275, "bandwidth_mhz": 15, "rsrq_db": -16.8, "rsrp_dbm": -112.6, "rssi_dbm": -77.3, "sinr_db": -6}),
    ("cpsi_sim7600_b3_china", CPSI, ["+CPSI: LTE,Online,460-11,0x5A1E,187214780,257,EUTRAN-BAND3,1850,5,5,-94,-850,-545,15"],
     {"mcc": "460", "mnc": "11", "lac_tac": "5A1E", "cell_id": "B28ABBC", "band": "B3", "rsrq_db": -9.4,
      "rsrp_dbm": -85.0, "rssi_dbm": -54.5, "sinr_db": 10}),
    ("cpsi_sim7600_b7_russia", CPSI, ["+CPSI: LTE,Online,250-20,0x4D07,200468759,468,EUTRAN-BAND7,3400,3,3,-69,-900,-661,20"],
     {"mnc": "20", "lac_tac": "4D07", "pci": 468, "earfcn": 3400, "band": "B7", "bandwidth_mhz": 10,
      "rsrp_dbm": -90.0, "sinr_db": 20}),
    ("cpsi_sim7100_b40", CPSI, ["+CPSI: LTE,Online,460-00,0x27BE,46709250,208,EUTRAN-BAND40,38950,5,5,-37,-835,-602,8"],
     {"mnc": "00", "band": "B40", "rsrq_db": -3.7, "rsrp_dbm": -83.5}),
    ("cpsi_sim8200_sa_n78_norway", CPSI, ["+CPSI: NR5G_SA,Online,242-12,0x765D,4955280,0,NR5G_BAND78,640704,-770,-110,290"],
     {"rat": "NR5G-SA", "mcc": "242", "mnc": "12", "lac_tac": "765D", "cell_id": "4B9C90", "pci": 0, "band": "n78",
      "arfcn": 640704, "rsrp_dbm": -77.0, "rsrq_db": -11.0, "sinr_db": 29.0}),
    ("cpsi_sim8200_nsa_manual", CPSI,
     ["+CPSI: LTE,Online,460-11,0x5A1E,187214780,257,EUTRAN-BAND3,1850,5,5,-94,-850,-545,15",
      "+CPSI: NR5G_NSA,644,NR5G_BAND78,627264,-960,-120,95"],
     {"rat": "NR5G-NSA", "mcc": "460", "lte": {"band": "B3", "pci": 257},
      "nr": {"pci": 644, "band": "n78", "arfcn": 627264, "rsrp_dbm": -96.0, "rsrq_db": -12.0, "sinr_db": 9.5},
      "bands": ["B3", "n78"]}),
    ("cpsi_sim8200_v1_00_01_nsa_short", CPSI, ["+CPSI: NR5G,58,643296,-12,-86,8.5"],
     {"rat": "NR5G-NSA", "nr": {"pci": 58, "arfcn": 643296, "rsrp_dbm": -86, "rsrq_db": -12, "sinr_db": 8.5,
                                "band": "n78"}}),
    ("cpsi_wcdma_telstra_850", CPSI, ["+CPSI: WCDMA,Online,505-01,0x0152,14302219,WCDMA 850,214,4436,0,12.5,83,23,36,500"],
     {"rat": "UMTS", "mcc": "505", "mnc": "01", "lac_tac": "0152", "cell_id": "DA3C0B", "psc": 214,
      "uarfcn": 4436, "ecio_db": -12.5, "rscp_dbm": -83}),
    ("cpsi_wcdma_att_space_before_online", CPSI,
     ["+CPSI: WCDMA, Online,310-410,0xD8DF,57659107,WCDMA 850,354,4385,0,5.5,55,37,60,500"],
     {"rat": "UMTS", "mcc": "310", "mnc": "410", "lac_tac": "D8DF", "ecio_db": -5.5, "rscp_dbm": -55}),
    ("cpsi_sim7000_gsm_1nce", CPSI, ["+CPSI: GSM,Online,262-01,0x972d,5559,79 EGSM 900,-83,0,24-24"],
     {"rat": "GSM", "mcc": "262", "mnc": "01", "lac_tac": "972D", "cell_id": "15B7", "rssi_dbm": -83}),
    ("cpsi_gsm_vodafone_nl", CPSI, ["+CPSI: GSM,Online,204-04,0x00c9,61828,1002 EGSM 900,-67,0,44-44"],
     {"lac_tac": "00C9", "cell_id": "F184", "rssi_dbm": -67}),
    ("cpsi_no_service", CPSI, ["+CPSI: NO SERVICE,Online"], {"rat": N}),
]

GSTATUS = "AT!GSTATUS?"
SIERRA = [
    ("gstatus_mc7455_ca_b2_b12", GSTATUS,
     ["!GSTATUS: ", "Current Time:  22016\t\tTemperature: 40", "Reset Counter: 1\t\tMode:        ONLINE         ",
      "System mode:   LTE        \tPS state:    Attached     ", "LTE band:      B2     \t\tLTE bw:      20 MHz  ",
      "LTE Rx chan:   800\t\tLTE Tx chan: 18800", "LTE CA state:  ACTIVE      \t\tLTE Scell band:B12    ",
      "LTE Scell bw:10 MHz  \t\tLTE Scell chan:5110", "EMM state:     Registered     \tNormal Service ",
      "RRC state:     RRC Connected  ", "IMS reg state: No Srv  \t\t", "",
      "PCC RxM RSSI:  -45\t\tRSRP (dBm):  -81", "PCC RxD RSSI:  -44\t\tRSRP (dBm):  -79",
      "SCC RxM RSSI:  -52\t\tRSRP (dBm):  -83", "SCC RxD RSSI:  -51\t\tRSRP (dBm):  -81",
      "Tx Power:      15\t\tTAC:         8C65 (35666)", "RSRQ (dB):     -14.0\t\tCell ID:     0A14666A (169106666)",
      "SINR (dB):     23.8", "", "OK"],
     {"rat": "LTE", "band": "B2", "bandwidth_mhz": 20, "earfcn": 800, "rssi_dbm": -45, "rsrp_dbm": -81,
      "rsrq_db": -14, "sinr_db": 23.8, "lac_tac": "8C65", "cell_id": "0A14666A", "temperature_c": 40,
      "carriers": [{"role": "PCC", "band": "B2"}, {"role": "SCC", "band": "B12", "bandwidth_mhz": 10, "earfcn": 5110}],
      "bands": ["B2", "B12"]}),
    ("gstatus_em7565_b7_ssc_inactive", GSTATUS,
     ["!GSTATUS: ", "Current Time:  444231\t\tTemperature: 32", "Reset Counter: 1\t\tMode:        ONLINE         ",
      "System mode:   LTE        \tPS state:    Attached     ", "LTE band:      B7     \t\tLTE bw:      20 MHz  ",
      "LTE Rx chan:   3110\t\tLTE Tx chan: 21110", "LTE SSC1 state:NOT ASSIGNED", "LTE SSC2 state:NOT ASSIGNED",
      "LTE SSC3 state:NOT ASSIGNED", "LTE SSC4 state:NOT ASSIGNED", "EMM state:     Registered     \tNormal Service ",
      "RRC state:     RRC Connected  ", "IMS reg state: No Srv  \t\t", "",
      "PCC RxM RSSI:  -89\t\tPCC RxM RSRP:  -117", "PCC RxD RSSI:  -89\t\tPCC RxD RSRP:  -116",
      "Tx Power:      --\t\tTAC:         0001 (1)", "RSRQ (dB):     -8.0\t\tCell ID:     00005101 (20737)",
      "SINR (dB):      8.6", "", "", "OK"],
     {"rat": "LTE", "band": "B7", "earfcn": 3110, "rssi_dbm": -89, "rsrp_dbm": -117, "rsrq_db": -8, "sinr_db": 8.6,
      "lac_tac": "0001", "cell_id": "00005101"}),
    ("gstatus_em7511_mm_comment_nr_dashes", GSTATUS,
     ["Current Time:  675              Temperature: 32", "Modem Mitigate Level: 0         ModemProc Mitigate Level: 0",
      "Reset Counter: 1                Mode:        ONLINE", "System mode:   LTE              PS state:    Attached",
      "LTE band:      B7               LTE bw:      20 MHz", "LTE Rx chan:   3350             LTE Tx chan: 21350",
      "EMM state:     Registered       Normal Service", "RRC state:     RRC Idle",
      "IMS reg state: NOT REGISTERED   IMS mode:    Normal", "IMS Srv State: UNKNOWN SMS,UNKNOWN VoIP", "",
      "PCC RxM RSSI:  -46              PCC RxM RSRP:  -72", "PCC RxD RSSI:  -45              PCC RxD RSRP:  -71",
      "Tx Power:      --               TAC:         0001 (1)",
      "RSRQ (dB):     -6.0             Cell ID:     01a2d001 (27447297)", "SINR (dB):     25.4", "",
      "NR5G band:       ---            NR5G bw:         ---", "NR5G Rx chan:    ---            NR5G Tx chan:    ---",
      "NR5G RSRP (dBm): ---            NR5G RSRQ (dB):  ---", "NR5G SINR (dB):  ---"],
     {"rat": "LTE", "band": "B7", "rsrp_dbm": -72, "rssi_dbm": -46, "rsrq_db": -6, "sinr_db": 25.4,
      "cell_id": "01A2D001", "lac_tac": "0001"}),
    ("gstatus_em9190_nr5g_sa", GSTATUS,
     ["!GSTATUS:", "Current Time:  423212         Temperature: 36",
      "System mode:   NR5G           PS state:    Not attached",
      "NR5G TAC:        2d6600       NR5G Cell ID:    1C649D138 (7621693752)", "NR5G MCC-MNC:    310-260",
      "NR5G band:       n41          NR5G Carrier ID: 0", "NR5G dl bw:      20 MHz", "NR5G Rx chan:    521232",
      "NR5G RSRP (dBm): -104        NR5G RSRQ (dB):  -15", "NR5G SINR (dB):   0.5"],
     {"rat": "NR5G-SA", "band": "n41", "bandwidth_mhz": 20, "arfcn": 521232, "rsrp_dbm": -104, "rsrq_db": -15,
      "sinr_db": 0.5, "lac_tac": "2D6600", "cell_id": "1C649D138", "mcc": "310", "mnc": "260"}),
    ("lteinfo_mc7455_b2", "AT!LTEINFO?",
     ["!LTEINFO: ", "Serving:   EARFCN MCC MNC   TAC      CID Bd D U SNR PCI  RSRQ   RSRP   RSSI RXLV",
      "              800 310 410 35666 0A14666A  2 5 5  22 404 -14.1  -79.6  -45.5 --", "",
      "IntraFreq:                                          PCI  RSRQ   RSRP   RSSI RXLV",
      "                                                    404 -14.1  -79.6  -45.5 --",
      "                                                    402 -20.0  -89.3  -57.6 --", "",
      "InterFreq: EARFCN ThresholdLow ThresholdHi Priority PCI  RSRQ   RSRP   RSSI RXLV",
      "             5110            0           0        0 272 -12.1  -80.9  -50.6   0"],
     {"rat": "LTE", "earfcn": 800, "mcc": "310", "mnc": "410", "lac_tac": "8B52", "cell_id": "0A14666A",
      "band": "B2", "bandwidth_mhz": 20, "sinr_db": 22, "pci": 404, "rsrq_db": -14.1, "rsrp_dbm": -79.6,
      "rssi_dbm": -45.5,
      "cells": [{"type": "intra", "pci": 404, "rsrp_dbm": -79.6}, {"type": "intra", "pci": 402, "rsrq_db": -20.0},
                {"type": "inter", "earfcn": 5110, "band": "B12", "pci": 272, "rsrp_dbm": -80.9}]}),
]

RFSTS = "AT#RFSTS"
TELIT = [
    ("rfsts_lm960a18_b66", RFSTS,
     ['#RFSTS: "310 260",66786,-101,-68,-13,2D18,255,,640,1,0,3089F02,"000000000000000","T-Mobile",3,66'],
     {"rat": "LTE", "mcc": "310", "mnc": "260", "earfcn": 66786, "rsrp_dbm": -101, "rssi_dbm": -68, "rsrq_db": -13,
      "lac_tac": "2D18", "cell_id": "3089F02", "band": "B66", "operator_name": "T-Mobile"}),
    ("rfsts_le910_turkcell_no_rac", RFSTS,
     ['#RFSTS: "286 01",1795,-101,-67,-15,2242,,128,3,1,0B5D121,"286016339612498","Turkcell",3,3,108'],
     {"rat": "LTE", "mcc": "286", "mnc": "01", "earfcn": 1795, "band": "B3", "lac_tac": "2242",
      "cell_id": "0B5D121", "imsi": "286016339612498", "operator_name": "Turkcell", "sinr_db": 1.6}),
    ("rfsts_le910_turkcell_b3_1651", RFSTS,
     ['#RFSTS: "286 01",1651,-99,-62,-16,2242,,128,3,1,0B5D120,"286016339612498","Turkcell",3,3,103'],
     {"rsrp_dbm": -99, "rssi_dbm": -62, "rsrq_db": -16, "cell_id": "0B5D120", "sinr_db": 0.6}),
    ("rfsts_lm940_att_mikrotik", RFSTS,
     ['#RFSTS: "310 410",800,-93,-59,-14,8B1E,255,-5,1280,19,2,A20...,"310410...","AT&T",3,2'],
     {"rat": "LTE", "band": "B2", "lac_tac": "8B1E", "cell_id": N, "operator_name": "AT&T"}),
    ("rfsts_gsm_vodafone_nl", RFSTS,
     ['#RFSTS: "204 04",1001,-80,00DE,01,5,19,10,2,9878,"204007930002270","vodafone NL",1,2'],
     {"rat": "GSM", "mcc": "204", "mnc": "04", "gsm_arfcn": 1001, "rssi_dbm": -80, "lac_tac": "00DE",
      "cell_id": "9878", "imsi": "204007930002270", "operator_name": "vodafone NL"}),
    ("rfsts_gsm_no_plmn", RFSTS, ['#RFSTS: ,1001,-77,00DE,01,5,19,10,2,9878,"204007930002270","",0,2'],
     {"rat": "GSM", "mcc": N, "rssi_dbm": -77, "cell_id": "9878"}),
    ("rfsts_gsm_kpn_empty_nom", RFSTS, ['#RFSTS:"204 08",14,-80,0CBC,00,5,19,11,,BEE9,"204000090192154","NL KPN",0,2'],
     {"rat": "GSM", "mnc": "08", "lac_tac": "0CBC", "cell_id": "BEE9", "operator_name": "NL KPN"}),
    ("servinfo_lm960a18_lte", "AT#SERVINFO", ['#SERVINFO: 66786,-68,"T-Mobile","310260",3089F02,2D18,640,3,-101'],
     {"rat": "LTE", "earfcn": 66786, "rssi_dbm": -68, "operator_name": "T-Mobile", "mcc": "310", "mnc": "260",
      "cell_id": "3089F02", "lac_tac": "2D18", "rsrp_dbm": -101, "band": "B66"}),
    ("moni_lm940_att_mikrotik", "AT#MONI", ["#MONI: AT&T RSRP:-92 RSRQ:-17 TAC:8B1E Id:A204... EARFCN:800 PWR:-54dbm DRX:1280"],
     {"rat": "LTE", "operator_name": "AT&T", "rsrp_dbm": -92, "rsrq_db": -17, "lac_tac": "8B1E", "earfcn": 800,
      "rssi_dbm": -54, "band": "B2"}),
]


@pytest.mark.parametrize("command,lines,expected,vendor", cases(SIMCOM))
def test_simcom_table(command, lines, expected, vendor):
    check_subset(decode(command, lines, "simcom"), expected)


@pytest.mark.parametrize("command,lines,expected,vendor", cases(SIERRA))
def test_sierra_table(command, lines, expected, vendor):
    check_subset(decode(command, lines, "sierra"), expected)


@pytest.mark.parametrize("command,lines,expected,vendor", cases(TELIT))
def test_telit_table(command, lines, expected, vendor):
    check_subset(decode(command, lines, "telit"), expected)


def test_cpsi_tenths_are_floats():
    out = decode(CPSI, ["+CPSI: LTE,Online,460-11,0x5A1E,187214780,257,EUTRAN-BAND3,1850,5,5,-94,-850,-545,15"])
    assert isinstance(out["rsrp_dbm"], float) and isinstance(out["rsrq_db"], float)


def test_gstatus_without_nr_has_no_nr_dict():
    out = decode(GSTATUS, SIERRA[2][2])
    assert "nr" not in out and out["rat"] == "LTE"
