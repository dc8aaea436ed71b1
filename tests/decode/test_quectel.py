"""Quectel responses. Sources, per case:
  rm520n_*: a full AT session of an RM520N-GL on 222-01 (Italy) published in a GitHub monitor script's notes
            (+QCAINFO / +QENG servingcell / neighbourcell, EN-DC B1+B3+n78)
  rm520n_endc_b3_n78: 'MONITOR QUECTEL RM520N' python script comments (222-01)
  rm5xx_manual_nsa: Quectel RG50xQ/RM5xxQ 5G Network Searching Scheme worked example
  rm520n_cn_sa: Quectel RM520N-CN wiki page (NR5G-SA n41)
  rm500q_hk_sa: RM500Q in Hong Kong (454-12), C source comment with leading space before the MCC
  ec25_*: EC25/EG25 captures from ESP32 cat-1 firmware, sim4g_800e driver and openqti (214-01 Spain)
  rm500q_ru: awk parser comment, RM500Q on 250-02 with '-' tx_power
  bg96/eg21: Quectel forum thread "AT+QCSQ command conversion on EG21-G"
  quimslot/qdsim/qsimstat: the response syntax examples of the EC2x and RM5xx AT manuals
  wcdma_*: EC25 C driver comment (515-03 Smart PH), an SDK struct comment (310-410 AT&T), mihari Go tests (440-10)
  open5gs_lab_*: RM500Q on a private Open5GS network (999-70 "Magic"), lab notes
  rm520n_live_qrsrp: RM520N-GL shell collector ("confirmed live")
  qscan_*: T-Mobile US SA scan (RM520N, AT+QSCAN=3,1) and a private n78 RM500Q lab log; layout from the
           RG50xQ/RM5xxQ Network Application Note
"""
import pytest

from modem import decode
from tests.decode.helpers import cases, check_subset

N = None
QENG = 'AT+QENG="servingcell"'

TABLE = [
    ("qeng_ec25_lte_fdd", QENG,
     ['+QENG: "servingcell","NOCONN","LTE","FDD",460,11,E0B70B,374,100,1,5,5,5F0C,-80,-6,-53,30,39', "OK"],
     {"state": "idle", "rat": "LTE", "mcc": "460", "mnc": "11", "cell_id": "E0B70B", "pci": 374, "earfcn": 100,
      "band": "B1", "bandwidth_mhz": 20, "lac_tac": "5F0C", "rsrp_dbm": -80, "rsrq_db": -6, "rssi_dbm": -53,
      "sinr_db": 30}),
    ("qeng_ec25_sim4g_lte", "at+qeng=\"servingcell\"",
     ['+QENG: "servingcell","NOCONN","LTE","FDD",460,11,47ADF04,160,100,1,5,5,F274,-76,-7,-48,28,46'],
     {"cell_id": "47ADF04", "lac_tac": "F274", "rsrp_dbm": -76, "sinr_db": 28}),
    ("qeng_eg25_openqti_b20", QENG,
     ['+QENG: "servingcell","NOCONN","LTE","FDD",214,01,7676A09,188,6300,20,3,3,603,-104,-9,-78,11,23'],
     {"mcc": "214", "mnc": "01", "band": "B20", "earfcn": 6300, "bandwidth_mhz": 10, "lac_tac": "603"}),
    ("qeng_rm500q_ru_dash_txpower", QENG,
     ['+QENG: "servingcell","NOCONN","LTE","FDD",250,02,1A8D147,258,2850,7,5,5,2364,-91,-8,-63,21,0,-,32'],
     {"mcc": "250", "mnc": "02", "band": "B7", "rsrp_dbm": -91, "rsrq_db": -8, "rssi_dbm": -63, "sinr_db": 21}),
    ("qeng_rm520n_endc_b1_n78", QENG,
     ['+QENG: "servingcell","NOCONN"',
      '+QENG: "LTE","FDD",222,01,328261F,280,275,1,4,4,BE3,-99,-14,-66,7,4,30,-',
      '+QENG: "NR5G-NSA",222,01,920,-96,18,-10,648768,78,10,1'],
     {"rat": "NR5G-NSA", "mcc": "222", "mnc": "01", "cell_id": "328261F", "lac_tac": "BE3",
      "lte": {"pci": 280, "earfcn": 275, "band": "B1", "bandwidth_mhz": 15, "rsrp_dbm": -99, "rsrq_db": -14,
              "rssi_dbm": -66, "sinr_db": 7},
      "nr": {"pci": 920, "rsrp_dbm": -96, "sinr_db": 18, "rsrq_db": -10, "arfcn": 648768, "band": "n78",
             "bandwidth_mhz": 80},
      "bands": ["B1", "n78"]}),
    ("qeng_rm520n_endc_b3_n78", QENG,
     ['+QENG: "servingcell","NOCONN"', '+QENG: "LTE","FDD",222,01,4940206,427,1350,3,5,5,BFF,-94,-15,-58,9,5,100,-',
      '+QENG: "NR5G-NSA",222,01,920,-96,18,-10,648768,78,10,1'],
     {"rat": "NR5G-NSA", "lte": {"band": "B3", "earfcn": 1350, "pci": 427}, "nr": {"band": "n78"}}),
    ("qeng_rm5xx_manual_nsa_line_no_space", QENG,
     ['+QENG: "servingcell","CONNECT"', '+QENG:"NR5G-NSA",460,01,747,-71,13,-11,627264,78,12,1'],
     {"rat": "NR5G-NSA", "state": "connected", "nr": {"pci": 747, "rsrp_dbm": -71, "sinr_db": 13, "rsrq_db": -11,
                                                       "arfcn": 627264, "band": "n78", "bandwidth_mhz": 100}}),
    ("qeng_rm5xx_nsa_leg_down", QENG,
     ['+QENG: "servingcell","NOCONN"', '+QENG: "LTE","FDD",520,04,4D8002,167,250,1,3,3,7E7,-128,-17,-94,7,10,23-',
      '+QENG: "NR5G-NSA",'],
     {"rat": "LTE", "band": "B1", "rsrp_dbm": -128, "bandwidth_mhz": 10}),
    ("qeng_rm520n_cn_sa_n41", QENG,
     ['+QENG:"servingcell","NOCONN","NR5G-SA","TDD",460,00,A0117F003,287,1000D7,504990,41,12,-99,-13,0,1,20'],
     {"rat": "NR5G-SA", "mcc": "460", "mnc": "00", "cell_id": "A0117F003", "pci": 287, "lac_tac": "1000D7",
      "arfcn": 504990, "band": "n41", "bandwidth_mhz": 100, "rsrp_dbm": -99, "rsrq_db": -13, "sinr_db": 0}),
    ("qeng_rm500q_hk_sa_space", QENG,
     ['+QENG: "servingcell","NOCONN","NR5G-SA","TDD", 454,12,0,21,4ED,636576,78,3,-85,-11,32,0,5184'],
     {"mcc": "454", "mnc": "12", "pci": 21, "lac_tac": "4ED", "band": "n78", "bandwidth_mhz": 20, "sinr_db": 32}),
    ("qeng_ec25_wcdma_smart_ph", QENG,
     ['+QENG: "servingcell","NOCONN","WCDMA",515,03,3AB2,B55EEFF,3037,352,1,-94,-15,-,-,-,-,-'],
     {"rat": "UMTS", "mcc": "515", "mnc": "03", "lac_tac": "3AB2", "cell_id": "B55EEFF", "uarfcn": 3037,
      "psc": 352, "rscp_dbm": -94, "ecio_db": -15}),
    ("qeng_wcdma_att_spaces", QENG,
     ['+QENG: "servingcell","NOCONN","WCDMA",310,  410,  DEA6, 2883C,   4385,     84,   254, -98,   -7,    -,'
      '      -,   -,      -,           -'],
     {"rat": "UMTS", "mnc": "410", "lac_tac": "DEA6", "cell_id": "2883C", "uarfcn": 4385, "psc": 84,
      "rscp_dbm": -98, "ecio_db": -7}),
    ("qeng_wcdma_mihari_short_lac", QENG,
     ['+QENG: "servingcell","NOCONN","WCDMA",440,10,75,6FE0090,10736,58,0,-78,-3,-,-,-,-,-'],
     {"lac_tac": "75", "cell_id": "6FE0090", "rscp_dbm": -78, "ecio_db": -3}),
    ("qeng_open5gs_lab_sa_n78", QENG,
     ['+QENG: "servingcell","NOCONN","NR5G-SA","TDD",999,70,E00,0,1,641280,78,6,-67,-11,31,1,-'],
     {"rat": "NR5G-SA", "mcc": "999", "mnc": "70", "cell_id": "E00", "pci": 0, "lac_tac": "1", "arfcn": 641280,
      "band": "n78", "bandwidth_mhz": 40, "rsrp_dbm": -67, "rsrq_db": -11, "sinr_db": 31}),
    ("qrsrp_open5gs_lab_nr5g", "AT+QRSRP", ["+QRSRP: -94,-88,-44,-44,NR5G"],
     {"rat": "NR5G-SA", "rsrp_dbm": -94, "rsrp_dbm_per_antenna": [-94, -88, -44, -44]}),
    ("qrsrp_rm520n_live_lte", "AT+QRSRP", ["+QRSRP: -101,-99,-140,-140,LTE"],
     {"rat": "LTE", "rsrp_dbm": -101, "rsrp_dbm_per_antenna": [-101, -99, N, N]}),
    ("qrsrp_invalid_branches", "AT+QRSRP", ["+QRSRP: -111,-90,-32768,-32768,LTE"],
     {"rsrp_dbm": -111, "rsrp_dbm_per_antenna": [-111, -90, N, N]}),
    ("qnwinfo_open5gs_lab", "AT+QNWINFO", ['+QNWINFO: "TDD NR5G","99970","NR5G BAND 78",641280'],
     {"rat": "NR5G-SA", "mcc": "999", "mnc": "70", "band": "n78", "arfcn": 641280}),
    ("cops_open5gs_lab_name_with_digits", "AT+COPS?", ['+COPS: 0,0,"999 70 Magic",11'],
     {"operator_name": "999 70 Magic", "rat": "NR5G-SA"}),
    ("qscan_tmobile_sa_n71", "AT+QSCAN=3,1",
     ['+QSCAN: "NR5G",310,260,126270,93,-82,-12,35,0,105FB0001,A80000,79,71,12,0,-',
      '+QSCAN: "NR5G",310,260,521310,153,-78,-11,31,1,105FB0137,A80000,245,41,34,14,-'],
     {"cells": [{"rat": "NR5G-SA", "mcc": "310", "mnc": "260", "arfcn": 126270, "pci": 93, "rsrp_dbm": -82,
                 "rsrq_db": -12, "cell_id": "105FB0001", "lac_tac": "A80000", "band": "n71"},
                {"arfcn": 521310, "pci": 153, "band": "n41", "cell_id": "105FB0137"}]}),
    ("qscan_rm500q_private_n78_short", "AT+QSCAN=3", ['+QSCAN: "NR5G",001,01,649632,1,-80,-11,51,1'],
     {"cells": [{"mcc": "001", "mnc": "01", "arfcn": 649632, "pci": 1, "rsrp_dbm": -80, "band": "n78"}]}),
    ("qscan_us_dash_srxlev", "AT+QSCAN=3", ['+QSCAN: "NR5G",310,410,658080,543,-109,-14,-,1'],
     {"cells": [{"mnc": "410", "arfcn": 658080, "rsrq_db": -14, "band": "n77"}]}),
    ("qeng_search_only", QENG, ['+QENG: "servingcell","SEARCH"'], {"state": "searching"}),
    ("qeng_neighbourcell_rm520n", 'AT+QENG="neighbourcell"',
     ['+QENG: "neighbourcell intra","LTE",275,280,-14,-99,-67,-,-,-,-,-,-',
      '+QENG: "neighbourcell intra","LTE",275,34,-20,-105,-76,-,-,-,-,-,-',
      '+QENG: "neighbourcell inter","LTE",1350,240,-18,-95,-68,-,-,-,-,-'],
     {"cells": [{"type": "intra", "earfcn": 275, "pci": 280, "rsrq_db": -14, "rsrp_dbm": -99, "rssi_dbm": -67,
                 "sinr_db": N, "band": "B1"},
                {"pci": 34, "rsrp_dbm": -105}, {"type": "inter", "earfcn": 1350, "band": "B3", "pci": 240}]}),
    ("qeng_neighbourcell_eg25_openqti", 'AT+QENG="neighbourcell"',
     ['+QENG: "neighbourcell intra","LTE",6300,188,-12,-105,-75,-20,23,4,12,10,62',
      '+QENG: "neighbourcell inter","LTE",1501,-,-,-,-,-,-,0,10,7',
      '+QENG: "neighbourcell","WCDMA",3062,3,16,2,-,-,-,-'],
     {"cells": [{"band": "B20", "rsrq_db": -12, "rsrp_dbm": -105, "sinr_db": -20},
                {"earfcn": 1501, "pci": N, "rsrp_dbm": N, "band": "B3"},
                {"rat": "UMTS", "uarfcn": 3062, "psc": N, "rscp_dbm": N}]}),
    ("qcainfo_rm520n_endc_3cc", "AT+QCAINFO",
     ['+QCAINFO: "PCC",275,75,"LTE BAND 1",1,280,-99,-14,-67,-4',
      '+QCAINFO: "SCC",1350,100,"LTE BAND 3",1,240,-95,-18,-68,-10,0,-,-',
      '+QCAINFO: "SCC",648768,10,"NR5G BAND 78",920'],
     {"carriers": [{"role": "PCC", "earfcn": 275, "bandwidth_mhz": 15, "band": "B1", "pci": 280, "rsrp_dbm": -99,
                    "rsrq_db": -14, "rssi_dbm": -67, "sinr_db": -4},
                   {"role": "SCC", "earfcn": 1350, "bandwidth_mhz": 20, "band": "B3", "pci": 240},
                   {"role": "SCC", "arfcn": 648768, "bandwidth_mhz": 80, "band": "n78", "pci": 920}],
      "bands": ["B1", "B3", "n78"]}),
    ("qcainfo_rm520n_n41_scc_8_fields", "AT+QCAINFO",
     ['+QCAINFO: "PCC",1350,75,"LTE BAND 3",1,295,-94,-8,-66,25',
      '+QCAINFO: "SCC",150,100,"LTE BAND 1",1,295,-92,-7,-77,23,0,-,-',
      '+QCAINFO: "SCC",528030,8,"NR5G BAND 41",262,-91,-11,2681'],
     {"carriers": [{"band": "B3", "sinr_db": 25}, {"band": "B1"},
                   {"arfcn": 528030, "band": "n41", "pci": 262, "rsrp_dbm": -91, "rsrq_db": -11, "sinr_db": N}]}),
    # Chinese blog post (RM520N-CN, SA n79, PCC only)
    ("qcainfo_rm520n_cn_sa_pcc_only", "AT+QCAINFO", ['+QCAINFO: "PCC",721824,6,"NR5G BAND 79",347'],
     {"carriers": [{"role": "PCC", "arfcn": 721824, "bandwidth_mhz": 40, "band": "n79", "pci": 347}]}),
    ("qnwinfo_rm520n_cn_sa", "AT+QNWINFO", ['+QNWINFO: "TDD NR5G","46000","NR5G BAND 79",721824'],
     {"rat": "NR5G-SA", "mcc": "460", "mnc": "00", "band": "n79", "arfcn": 721824}),
    ("qcsq_bg96_catm1", "AT+QCSQ", ['+QCSQ: "CAT-M1",-91,-129,67,-20'],
     {"rat": "LTE-M", "rssi_dbm": -91, "rsrp_dbm": -129, "sinr_db": -6.6, "rsrq_db": -20}),
    ("qcsq_eg21g_positive_rssi", "AT+QCSQ", ['+QCSQ: "LTE",77,-116,76,-17'],
     {"rat": "LTE", "rssi_dbm": -77, "rsrp_dbm": -116, "sinr_db": -4.8, "rsrq_db": -17}),
    ("qcsq_noservice", "AT+QCSQ", ['+QCSQ: "NOSERVICE"'], {"rat": N}),
    ("quimslot_slot2", "AT+QUIMSLOT?", ["+QUIMSLOT: 2"], {"sim_slot": 2}),
    ("qdsim_sim1", "AT+QDSIM?", ["+QDSIM: 0"], {"sim_slot": 1}),
    ("qsimstat_removed", "AT+QSIMSTAT?", ["+QSIMSTAT: 1,0"], {"sim_inserted": False, "sim_state": "NOT INSERTED"}),
    ("qsimstat_urc_inserted", None, ["+QSIMSTAT: 1,1"], {"sim_inserted": True}),
]


@pytest.mark.parametrize("command,lines,expected,vendor", cases(TABLE))
def test_quectel_table(command, lines, expected, vendor):
    check_subset(decode(command, lines, vendor or "quectel"), expected)


def test_qeng_servingcell_without_nr_leg_has_no_nested_dicts():
    out = decode(QENG, ['+QENG: "servingcell","NOCONN","LTE","FDD",460,11,E0B70B,374,100,1,5,5,5F0C,-80,-6,-53,30,39'])
    assert "lte" not in out and "nr" not in out


def test_qeng_urc_style_group_is_decoded_without_command():
    out = decode(None, ['+QENG: "servingcell","NOCONN"', '+QENG: "LTE","FDD",222,01,328261F,280,275,1,4,4,BE3,'
                        '-99,-14,-66,7,4,30,-', '+QENG: "NR5G-NSA",222,01,920,-96,18,-10,648768,78,10,1'])
    assert out["rat"] == "NR5G-NSA" and out["nr"]["band"] == "n78"
