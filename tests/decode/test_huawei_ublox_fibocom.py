"""Huawei ^HCSQ/^SYSINFOEX/^SYSINFO, u-blox +UCGED/+UBANDSEL, Fibocom/Intel +XCESQ, Telit #BND/#QSS/#CSURVC.

Sources: ModemManager src/plugins/huawei/tests (^SYSINFO, ^SYSINFOEX tables), Huawei router scripts
(^SYSINFOEX:2,1,0,3,,3,"WCDMA",41,"WCDMA" and the "No SIM" 1,0,0,4 capture), HCSQ lines from Rust/Go router
daemons that test against their modems ('^HCSQ: "LTE",62,52,22,30', '^HCSQ: "NR",87,160,12'),
u-blox TOBY-L2 captures in a python serial script (+UCGED: 2), ModemManager ublox tests (+UBANDSEL SARA-U201,
SARA-G310, TOBY-R200), ModemManager xmm tests and L850/FM350 captures (+XCESQ), ModemManager telit tests
(#BND ME910, #QSS).
"""
import pytest

from modem import decode
from tests.decode.helpers import cases, check_subset

N = None

HUAWEI = [
    ("hcsq_lte_router_daemon", "AT^HCSQ?", ['^HCSQ: "LTE",62,52,22,30', "OK"],
     {"rat": "LTE", "rssi_dbm": -59, "rsrp_dbm": -89, "sinr_db": -15.8, "rsrq_db": -5.0}),
    ("hcsq_lte_tdtech", "AT^HCSQ?", ['^HCSQ: "LTE",30,60,200,20'], {"rsrp_dbm": -81, "sinr_db": 19.8, "rsrq_db": -10.0}),
    ("hcsq_lte_unknown_255", "AT^HCSQ?", ['^HCSQ: "LTE",255,255,255,255'],
     {"rssi_dbm": N, "rsrp_dbm": N, "sinr_db": N, "rsrq_db": N}),
    ("hcsq_nr_sa", "AT^HCSQ?", ['^HCSQ: "NR",87,160,12'], {"rat": "NR5G-SA", "rsrp_dbm": -54, "sinr_db": 11.8,
                                                         "rsrq_db": -14.0}),
    ("hcsq_urc_noservice", None, ['^HCSQ: "NOSERVICE"'], {"rat": N}),
    ("sysinfoex_mm_unquoted", "AT^SYSINFOEX", ["^SYSINFOEX:2,4,5,1,,3,WCDMA,41,HSPA+"],
     {"registration": "home", "rat": "UMTS", "sim_inserted": True}),
    ("sysinfoex_mm_quoted", "AT^SYSINFOEX", ['^SYSINFOEX:2,4,5,1,,3,"WCDMA",41,"HSPA+"'], {"rat": "UMTS"}),
    ("sysinfoex_mm_space_lock_state", "AT^SYSINFOEX", ['^SYSINFOEX: 2,4,5,1,0,3,"WCDMA",41,"HSPA+"'],
     {"registration": "home", "submode": "HSPA+"}),
    ("sysinfoex_me909_roaming_ps", "AT^SYSINFOEX", ['^SYSINFOEX:2,3,0,1,,3,"WCDMA",41,"WCDMA"'],
     {"registration": "home", "rat": "UMTS"}),
    ("sysinfoex_router_no_service_invalid_sim", "AT^SYSINFOEX", ['^SYSINFOEX: 1,0,0,4,,3,"WCDMA",41,"WCDMA'],
     {"registration": "emergency", "sim_state": "INVALID"}),
    ("sysinfo_mm_plain", "AT^SYSINFO", ["^SYSINFO:2,4,5,3,1"], {"registration": "home", "rat": "GSM"}),
    ("sysinfo_mm_trailing_comma", "AT^SYSINFO", ["^SYSINFO:2,4,5,3,1,"], {"rat": "GSM"}),
    ("sysinfo_mm_submode", "AT^SYSINFO", ["^SYSINFO: 2,4,5,3,1,0,6"], {"registration": "home", "rat": "GSM"}),
]

UBLOX = [
    ("ucged_toby_l2_mode2_lte", "AT+UCGED?",
     ["+UCGED: 2", "6,0,001,01", "2525,5,25,50,2b67,69f6bc7,111,00000000,ffff,ff,67,19,0.00,255,255,255,67,11,255,0,"
      "255,255,0,0,0", "OK"],
     {"rat": "LTE", "mcc": "001", "mnc": "01", "earfcn": 2525, "band": "B5", "bandwidth_mhz": 10, "lac_tac": "2B67",
      "cell_id": "69F6BC7", "pci": 111, "rsrp_dbm": -74, "rsrq_db": -10.5, "sinr_db": 0.0}),
    ("ucged_toby_l2_no_plmn", "AT+UCGED?",
     ["+UCGED: 2", "6,4,fff,fff", "5110,13,50,50,ffff,0000000,254,d0fafd59,ff49,b1,27,15,0.50,1,255,255,28,255,255,"
      "0,255,255,0"],
     {"mcc": N, "mnc": N, "earfcn": 5110, "band": "B13", "lac_tac": N, "cell_id": N, "pci": 254, "rsrp_dbm": -114,
      "rsrq_db": -12.5, "sinr_db": 0.5}),
    ("ubandsel_sara_u201", "AT+UBANDSEL?", ["+UBANDSEL: 800,850,900,1900,2100"], {"bands_mhz": [800, 850, 900, 1900, 2100]}),
    ("ubandsel_sara_g310", "AT+UBANDSEL?", ["+UBANDSEL: 850,900,1800,1900"], {"bands_mhz": [850, 900, 1800, 1900]}),
    ("ubandsel_toby_r200", "AT+UBANDSEL?", ["+UBANDSEL: 850,1700,1900"], {"bands_mhz": [850, 1700, 1900]}),
]

FIBOCOM = [
    ("xcesq_l850_mm_lte", "AT+XCESQ?", ["+XCESQ: 0,99,99,255,255,19,46,32"],
     {"rat": "LTE", "rsrq_db": -10.5, "rsrp_dbm": -95, "sinr_db": 16.0, "rssi_dbm": N, "rscp_dbm": N}),
    ("xcesq_l850_mm_negative_snr", "AT+XCESQ?", ["+XCESQ: 0,99,99,255,255,19,46,-32"], {"sinr_db": -16.0}),
    ("xcesq_l850_mm_helper_comment", "AT+XCESQ?", ["+XCESQ: 0,99,99,255,255,24,51,18"],
     {"rsrq_db": -8.0, "rsrp_dbm": -90, "sinr_db": 9.0}),
    ("xcesq_umts", "AT+XCESQ?", ["+XCESQ: 0,99,99,46,31,255,255,255"],
     {"rat": "UMTS", "rscp_dbm": -75, "ecio_db": -9.0, "rsrp_dbm": N, "sinr_db": N}),
    ("xcesq_fm350_12_fields", "AT+XCESQ?", ["+XCESQ: 0,99,99,255,255,24,62,34,255,255,255,255"],
     {"rsrp_dbm": -79, "rsrq_db": -8.0, "sinr_db": 17.0}),
    ("xcesq_no_signal", "AT+XCESQ?", ["+XCESQ: 0,99,99,255,255,255,255,255"], {"rsrp_dbm": N, "sinr_db": N}),
    # FM350-GL bring-up notes: slot 1 selected, no SIM
    ("gtdualsim_fm350_sub1", "AT+GTDUALSIM?", ['+GTDUALSIM: 0,"SUB1","NO SERVICE"'], {"sim_slot": 1}),
]

TELIT = [
    ("bnd_me910_decimal_mask", "AT#BND?", ["#BND: 5,0,168695967"],
     {"gsm_band_config": 5, "bands": ["B1", "B2", "B3", "B4", "B5", "B8", "B12", "B13", "B18", "B19", "B20", "B26",
                                      "B28"]}),
    ("bnd_4g_b1_b2", "AT#BND?", ["#BND: 0,0,3"], {"bands": ["B1", "B2"]}),
    ("bnd_2g_3g_only", "AT#BND?", ["#BND: 0,5"], {"gsm_band_config": 0, "umts_band_config": 5}),
    ("qss_removed", "AT#QSS?", ["#QSS: 1,0"], {"sim_inserted": False, "sim_state": "NOT INSERTED"}),
    ("qss_inserted", "AT#QSS?", ["#QSS: 0,1"], {"sim_inserted": True}),
    ("qss_ready_no_space", "AT#QSS?", ["#QSS:0,3"], {"sim_inserted": True, "sim_state": "READY"}),
    ("qss_ready_spaces", "AT#QSS?", ["#QSS: 0, 3"], {"sim_state": "READY"}),
    ("qss_unknown_status", "AT#QSS?", ["#QSS: 0,5"], {"sim_inserted": N}),
    # LE910Cx eCall firmware source: setting_ok("AT#SIMSELECT?", "#SIMSELECT: 2", ...)
    ("simselect_slot2", "AT#SIMSELECT?", ["#SIMSELECT: 2"], {"sim_slot": 2}),
]


@pytest.mark.parametrize("command,lines,expected,vendor", cases(HUAWEI))
def test_huawei_table(command, lines, expected, vendor):
    check_subset(decode(command, lines, "huawei"), expected)


@pytest.mark.parametrize("command,lines,expected,vendor", cases(UBLOX))
def test_ublox_table(command, lines, expected, vendor):
    check_subset(decode(command, lines, "ublox"), expected)


@pytest.mark.parametrize("command,lines,expected,vendor", cases(FIBOCOM))
def test_fibocom_table(command, lines, expected, vendor):
    check_subset(decode(command, lines, "fibocom"), expected)


@pytest.mark.parametrize("command,lines,expected,vendor", cases(TELIT))
def test_telit_bnd_qss_table(command, lines, expected, vendor):
    check_subset(decode(command, lines, "telit"), expected)


def test_hcsq_endc_two_lines_nest_lte_and_nr():
    out = decode("AT^HCSQ?", ['^HCSQ: "LTE",62,52,22,30', '^HCSQ: "NR",87,160,12'])
    assert out["rat"] == "NR5G-NSA" and out["lte"]["rsrp_dbm"] == -89 and out["nr"]["rsrp_dbm"] == -54
