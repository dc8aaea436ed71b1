"""27.007 commands. Unless noted, the strings are the device captures in ModemManager's
src/tests/test-modem-helpers.c (linux-mobile-broadband/ModemManager), named as there."""
import pytest

from modem import decode
from tests.decode.helpers import cases, check_subset

N = None

IDENTITY = [
    # ATI
    ("ati_huawei_e1550", "ATI",
     ["Manufacturer: huawei", "Model: E1550", "Revision: 11.608.09.01.21", "IMEI: 235012412595195",
      "+GCAP: +CGSM,+FCLASS,+DS"],
     {"manufacturer": "huawei", "model": "E1550", "revision": "11.608.09.01.21", "imei": "235012412595195"}),
    ("ati_sierra_mercury_c885", "ATI",
     ["Manufacturer: Sierra Wireless, Inc.", "Model: C885",
      "Revision: J1_0_1_26AP C:/WS/FW/J1_0_1_26AP/MSM7200A/SRC/AMSS 2009/01/30 07:58:06", "IMEI: 987866969112306",
      "IMEI SV: 6", "FSN: D603478104511", "3GPP Release 6", "+GCAP: +CGSM,+DS,+ES"],
     {"manufacturer": "Sierra Wireless, Inc.", "model": "C885", "imei": "987866969112306",
      "revision": "J1_0_1_26AP C:/WS/FW/J1_0_1_26AP/MSM7200A/SRC/AMSS 2009/01/30 07:58:06"}),
    ("ati_zte_mf627", "ATI",
     ["Manufacturer: ZTE INCORPORATED", "Model: MF627", "Revision: BD_3GHAP673A4V1.0.0B02",
      "IMEI: 023589923858188", "+GCAP: +CGSM,+FCLASS,+DS"],
     {"manufacturer": "ZTE INCORPORATED", "model": "MF627", "imei": "023589923858188"}),
    ("ati_sonyericsson_md300", "ATI", ["MD300"], {"model": "MD300"}),
    # Quectel EG25-G, lukejenkins/cwd documentation/quectel_ec2x_and_eg2x/outputs.md
    ("ati_quectel_eg25g", "ATI", ["Quectel", "EG25", "Revision: EG25GGBR07A08M2G", "OK"],
     {"manufacturer": "Quectel", "model": "EG25", "revision": "EG25GGBR07A08M2G"}),
    # +CGMI/+CGMM/+CGMR/+CGSN
    ("cgmi_huawei_e1550", "AT+CGMI", ["huawei"], {"manufacturer": "huawei"}),
    ("cgmi_motorola_rokr_e2_quoted", "AT+CGMI", ['"Motorola"'], {"manufacturer": "Motorola"}),
    ("cgmi_lg_lx265_prefixed", "AT+CGMI", ["+GMI: LG Electronics Inc."], {"manufacturer": "LG Electronics Inc."}),
    ("cgmm_motorola_rokr_e2", "AT+CGMM", ['"E2"'], {"model": "E2"}),
    ("cgmm_zte_mf622", "AT+CGMM", ["MF622", "OK"], {"model": "MF622"}),
    ("cgmr_zte_mf622", "AT+CGMR", ["3UKP671M3V1.0.0B08 3UKP671M3V1.0.0B08 1  [Jan 07 2008 16:00:00]"],
     {"revision": "3UKP671M3V1.0.0B08 3UKP671M3V1.0.0B08 1  [Jan 07 2008 16:00:00]"}),
    ("cgmr_quectel_eg25g_qgmr", "AT+QGMR", ["EG25GGBR07A08M2G_30.203.30.203"],
     {"revision": "EG25GGBR07A08M2G_30.203.30.203"}),
    ("cgsn_huawei_e1550", "AT+CGSN", ["235012412595195"], {"imei": "235012412595195"}),
    ("cgsn_option_gtm378_with_serial", "AT+CGSN", ["129512359199159,SE393939TS"], {"imei": "129512359199159"}),
    ("cgsn_motorola_rokr_e2_quoted", "AT+CGSN", ['"626936926396996"'], {"imei": "626936926396996"}),
    ("cgsn_cmotech_cdx650_esn", "AT+CGSN", ["0x3B0C4B98"], {"esn": "3B0C4B98"}),
    ("cimi_plain", "AT+CIMI", ["262011234567890", "OK"], {"imsi": "262011234567890"}),
    # ICCID (mm_3gpp_parse_iccid tests)
    ("iccid_quoted_swap_19_digit", "AT+CRSM=176,12258,0,0,10", ['+CRSM: 144,0,"984402003576012594F9"'],
     {"iccid": "8944200053671052499"}),
    ("iccid_unquoted_swap_20_digit", "AT+CCID", ["+CCID: 98231420326409614067"], {"iccid": "89324102234690160476"}),
    ("iccid_unquoted_unswapped_19_digit", "AT+QCCID", ["+QCCID: 8944200053671052499F"],
     {"iccid": "8944200053671052499"}),
    ("iccid_unswapped_19_digit_no_f", "AT+ICCID", ["+ICCID: 8944200053671052499"], {"iccid": "8944200053671052499"}),
    ("iccid_quoted_unswapped_20_digit", "AT^ICCID?", ['^ICCID: "89324102234690160476"'],
     {"iccid": "89324102234690160476"}),
    ("iccid_quoted_unswapped_hex_account", "AT+CCID", ['+CCID: "898602F9091830030220"'],
     {"iccid": "898602F9091830030220"}),
    ("iccid_short_is_rejected", "AT+CCID", ["+CCID: 982314203264096"], {"error": "cannot decode response to +CCID"}),
    ("iccid_invalid_chars_rejected", "AT+CCID", ["+CCID: 98231420326pl9614067"],
     {"error": "cannot decode response to +CCID"}),
    ("iccid_invalid_mii_rejected", "AT+CCID", ['+CCID: "0044200053671052499"'],
     {"error": "cannot decode response to +CCID"}),
    ("crsm_error_status", "AT+CRSM=176,12258,0,0,10", ["+CRSM: 106,130"], {"iccid": None}),
    # +CPIN
    ("cpin_ready", "AT+CPIN?", ["+CPIN: READY", "OK"], {"sim_state": "READY"}),
    ("cpin_sim_pin", "AT+CPIN?", ["+CPIN: SIM PIN"], {"sim_state": "SIM PIN"}),
    ("cpin_ph_sim_pin", "AT+CPIN?", ["+CPIN: PH-SIM PIN"], {"sim_state": "PH-SIM PIN"}),
    ("cpin_quectel_not_inserted_cme10", "AT+CPIN?", ["+CME ERROR: 10"], {"cme_error": 10, "sim_state": "NOT INSERTED"}),
    ("cpin_text_cme_sim_not_inserted", "AT+CPIN?", ["+CME ERROR: SIM not inserted"],
     {"cme_error": "SIM not inserted", "sim_state": "NOT INSERTED"}),
]

SIGNAL = [
    ("csq_plain", "AT+CSQ", ["+CSQ: 20,99", "OK"], {"rssi_dbm": -73, "ber": None}),
    ("csq_no_signal", "AT+CSQ", ["+CSQ: 99,99"], {"rssi_dbm": None, "ber": None}),
    ("csq_edges", "AT+CSQ", ["+CSQ: 0,7"], {"rssi_dbm": -113, "ber": 7}),
    ("csq_31", "AT+CSQ", ["+CSQ: 31,0"], {"rssi_dbm": -51, "ber": 0}),
    ("csq_tdscdma_range", "AT+CSQ", ["+CSQ: 131,99"], {"rssi_dbm": -85}),
    # nRF9160 / SORACOM doc capture: "+CESQ: 99,99,255,255,15,39"
    ("cesq_nrf9160_soracom", "AT+CESQ", ["+CESQ: 99,99,255,255,15,39"],
     {"rssi_dbm": N, "ber": N, "rscp_dbm": N, "ecio_db": N, "rsrq_db": -12.5, "rsrp_dbm": -102}),
    # nRF9160 comment capture "+CESQ: 99,99,255,255,31,62"
    ("cesq_nrf9160_slte", "AT+CESQ", ["+CESQ: 99,99,255,255,31,62"], {"rsrq_db": -4.5, "rsrp_dbm": -79}),
    ("cesq_all_unknown", "AT+CESQ", ["+CESQ: 99,99,255,255,255,255"],
     {"rssi_dbm": N, "rscp_dbm": N, "ecio_db": N, "rsrq_db": N, "rsrp_dbm": N}),
    ("cesq_gsm_rxlev", "AT+CESQ", ["+CESQ: 40,0,255,255,255,255"], {"rssi_dbm": -71, "ber": 0, "rsrp_dbm": N}),
    ("cesq_umts", "AT+CESQ", ["+CESQ: 99,99,46,31,255,255"], {"rscp_dbm": -75, "ecio_db": -9.0}),
    # Fibocom FM-series capture (GTCCINFO tool): NR fields only, LTE unknown
    ("cesq_fibocom_nr_extension", "AT+CESQ", ["+CESQ: 99,99,255,255,255,255,65,75,75"],
     {"nr": {"rsrq_db": -11.0, "rsrp_dbm": -82, "sinr_db": 14.0}, "rsrp_dbm": -82}),
]

OPERATOR = [
    # +COPS? (test_cops_query)
    ("cops_query_long_name", "AT+COPS?", ['+COPS: 1,0,"CHINA MOBILE"'], {"operator_name": "CHINA MOBILE"}),
    ("cops_query_long_name_act7", "AT+COPS?", ['+COPS: 1,0,"CHINA MOBILE",7'],
     {"operator_name": "CHINA MOBILE", "rat": "LTE"}),
    ("cops_query_numeric", "AT+COPS?", ['+COPS: 1,2,"46000"'], {"mcc": "460", "mnc": "00"}),
    ("cops_query_numeric_act7", "AT+COPS?", ['+COPS: 1,2,"46000",7'], {"mcc": "460", "mnc": "00", "rat": "LTE"}),
    ("cops_query_short", "AT+COPS?", ['+COPS: 0,1,"TMO"'], {"operator_short": "TMO"}),
    ("cops_query_not_registered", "AT+COPS?", ["+COPS: 0"], {"operator_name": None}),
    # Telit ME910 Cat-M1 (wbdata test script comment): AcT 8
    ("cops_query_telit_me910_catm", "AT+COPS?", ['+COPS: 0,0,"Orange F",8'],
     {"operator_name": "Orange F", "rat": "LTE-M"}),
    # test_normalize_operator: UCS2 "Verizon"
    ("cops_query_ucs2_name", "AT+COPS?", ['+COPS: 0,0,"0056006500720069007A006F006E",7'],
     {"operator_name": "Verizon"}),
    ("cops_query_ucs2_numeric", "AT+COPS?", ['+COPS: 0,2,"003300310031003400380030",7'],
     {"mcc": "311", "mnc": "480"}),
    ("cops_query_nr_sa_act11", "AT+COPS?", ['+COPS: 0,2,"26201",11'], {"rat": "NR5G-SA", "mnc": "01"}),
    ("cops_query_endc_act13", "AT+COPS?", ['+COPS: 0,0,"Telekom.de",13'], {"rat": "NR5G-NSA"}),
]

SCAN = [
    ("cops_response_tm506", "AT+COPS=?",
     ['+COPS: (2,"","T-Mobile","31026",0),(2,"T - Mobile","T - Mobile","310260"),2),(1,"AT&T","AT&T","310410"),0)'],
     {"networks": [
         {"availability": "current", "operator_name": N, "operator_short": "T-Mobile", "mcc": "310", "mnc": "26",
          "rat": "GSM"},
         {"availability": "current", "operator_name": "T - Mobile", "mcc": "310", "mnc": "260", "rat": "UMTS"},
         {"availability": "available", "operator_name": "AT&T", "mnc": "410", "rat": "GSM"}]}),
    ("cops_response_gt3gplus", "AT+COPS=?",
     ['+COPS: (1,"T-Mobile US","TMO US","31026",0),(1,"Cingular","Cingular","310410",0),,(0, 1, 3),(0-2)'],
     {"networks": [{"availability": "available", "operator_name": "T-Mobile US", "operator_short": "TMO US"},
                   {"operator_name": "Cingular", "mcc": "310", "mnc": "410", "rat": "GSM"}]}),
    ("cops_response_motoc_no_act", "AT+COPS=?", ['+COPS: (2,"T-Mobile","","310260"),(0,"Cingular Wireless","","310410")'],
     {"networks": [{"availability": "current", "operator_short": N, "mnc": "260"},
                   {"availability": "unknown", "operator_name": "Cingular Wireless"}]}),
    ("cops_response_mf627a_forbidden", "AT+COPS=?",
     ['+COPS: (2,"AT&T@","AT&TD","310410",0),(3,"Voicestream Wireless Corporation","VSTREAM","31026",0),'],
     {"networks": [{"availability": "current", "operator_name": "AT&T@"},
                   {"availability": "forbidden", "operator_short": "VSTREAM", "mnc": "26"}]}),
    ("cops_response_mercury_empty_names", "AT+COPS=?",
     ['+COPS: (2,"","","310410",2),(1,"AT&T","AT&T","310410",0),(1,"T-Mobile","TMO","31026",0),,(0,1,2,3,4),(0,1,2)'],
     {"networks": [{"availability": "current", "operator_name": N, "operator_short": N, "rat": "UMTS"},
                   {"operator_name": "AT&T"}, {"operator_name": "T-Mobile"}]}),
    ("cops_response_n80_missing_short", "AT+COPS=?",
     ['+COPS: (2,"T - Mobile",,"31026"),(1,"Einstein PCS",,"31064"),(1,"Cingular",,"31041"),,(0,1,3),(0,2)'],
     {"networks": [{"operator_name": "T - Mobile", "operator_short": N}, {"operator_name": "Einstein PCS"},
                   {"operator_name": "Cingular", "mcc": "310", "mnc": "41"}]}),
    ("cops_response_xu870_multiline", "AT+COPS=?",
     ['+COPS: (0,"AT&T MicroCell","AT&T MicroCell","310410",2)', '+COPS: (1,"AT&T MicroCell","AT&T MicroCell","310410",0)',
      '+COPS: (1,"T-Mobile","TMO","31026",0)'],
     {"networks": [{"availability": "unknown", "rat": "UMTS"}, {"availability": "available", "rat": "GSM"},
                   {"operator_short": "TMO"}]}),
    ("cops_response_n2720_continuation", "AT+COPS=?",
     ['+COPS: (2,"T - Mobile",,"31026",0),', '(1,"AT&T",,"310410",0),,(0,1,3),(0,2)'],
     {"networks": [{"operator_name": "T - Mobile"}, {"operator_name": "AT&T", "availability": "available"}]}),
    ("cops_response_samsung_z810_comma_in_name", "AT+COPS=?",
     ['+COPS: (1,"T-Mobile USA, In","T-Mobile","310260",0),(1,"AT&T","AT&T","310410",0),,(0,1,2,3,4),(0,1,2)'],
     {"networks": [{"operator_name": "T-Mobile USA, In"}, {"operator_name": "AT&T"}]}),
    ("cops_response_ublox_lara_ucs2", "AT+COPS=?",
     ['+COPS: (2,"004D006F007600690073007400610072","004D006F007600690073007400610072","00320031003400300037",7),'
      '(1,"0059004F00490047004F","0059004F00490047004F","00320031003400300034",7),'
      '(1,"0076006F006400610066006F006E0065002000450053","0076006F00640061002000450053","00320031003400300031",7),'
      '(1,"004F00720061006E00670065002000530050","00450053005000520054","00320031003400300033",0)'],
     {"networks": [
         {"availability": "current", "operator_name": "Movistar", "mcc": "214", "mnc": "07", "rat": "LTE"},
         {"operator_name": "YOIGO", "mnc": "04"},
         {"operator_name": "vodafone ES", "operator_short": "voda ES", "mnc": "01"},
         {"operator_name": "Orange SP", "operator_short": "ESPRT", "mnc": "03", "rat": "GSM"}]}),
    ("cops_response_gsm_invalid", "AT+COPS=?", ["+COPS: (0,1,2,3),(1,2,3,4)"], {"networks": []}),
    ("cops_response_umts_invalid", "AT+COPS=?", ["+COPS: (0,1,2,3,4),(1,2,3,4,5)"], {"networks": []}),
    ("cops_response_nr_acts", "AT+COPS=?",
     ['+COPS: (2,"Telekom.de","TDG","26201",13),(1,"Vodafone.de","Vodafone","26202",11),'
      '(1,"o2 - de","o2 - de","26203",7),,(0,1,2,3,4),(0,1,2)'],
     {"networks": [{"rat": "NR5G-NSA"}, {"rat": "NR5G-SA", "mnc": "02"}, {"rat": "LTE"}]}),
]

REGISTRATION = [
    ("creg1_solicited", "AT+CREG?", ["+CREG: 1,3"], {"registration": "denied"}),
    ("creg1_unsolicited", None, ["+CREG: 3"], {"registration": "denied"}),
    ("creg2_mercury_solicited", "AT+CREG?", ["+CREG: 0,1,84CD,00D30173"],
     {"registration": "home", "lac_tac": "84CD", "cell_id": "00D30173"}),
    ("creg2_mercury_unsolicited", None, ["+CREG: 1,84CD,00D30156"],
     {"registration": "home", "lac_tac": "84CD", "cell_id": "00D30156"}),
    ("creg2_sek850i_solicited", "AT+CREG?", ['+CREG: 2,1,"CE00","01CEAD8F"'],
     {"registration": "home", "lac_tac": "CE00", "cell_id": "01CEAD8F"}),
    ("creg2_sek850i_unsolicited", None, ['+CREG: 1,"CE00","00005449"'], {"lac_tac": "CE00", "cell_id": "00005449"}),
    ("creg2_e160g_solicited_unregistered", "AT+CREG?", ["+CREG: 2,0,00,0"],
     {"registration": "not_registered", "lac_tac": N, "cell_id": N}),
    ("creg2_e160g_solicited", "AT+CREG?", ["+CREG: 2,1,8BE3,2BAF"], {"lac_tac": "8BE3", "cell_id": "2BAF"}),
    ("creg2_e160g_unsolicited", None, ["+CREG: 2,8BE3,2BAF"],
     {"registration": "searching", "lac_tac": "8BE3", "cell_id": "2BAF"}),
    ("creg2_xu870_unsolicited_unregistered", None, ["+CREG: 2,,"], {"registration": "searching", "lac_tac": N}),
    ("creg2_iridium_solicited", "AT+CREG?", ['+CREG:002,001,"18d8","ffff"'],
     {"registration": "home", "lac_tac": "18D8", "cell_id": N}),
    ("cgreg2_f3607gw_solicited", "AT+CGREG?", ['+CGREG: 2,1,"8BE3","00002B5D",3'],
     {"registration": "home", "lac_tac": "8BE3", "cell_id": "00002B5D", "rat": "GSM"}),
    ("cgreg2_f3607gw_unsolicited", None, ['+CGREG: 1,"8BE3","00002B5D",3'], {"registration": "home", "rat": "GSM"}),
    ("creg2_md400_unsolicited_read_form", None, ['+CREG: 2,5,"0502","0404736D"'],
     {"registration": "roaming", "lac_tac": "0502", "cell_id": "0404736D"}),
    ("cgreg2_md400_unsolicited", None, ['+CGREG: 5,"0502","0404736D",2'], {"registration": "roaming", "rat": "UMTS"}),
    ("cgreg2_x220_unsolicited_spaces", None, ["+CGREG: 2,1, 81ED, 1A9CEB"],
     {"registration": "home", "lac_tac": "81ED", "cell_id": "1A9CEB"}),
    ("creg2_gobi_weird_solicited", "AT+CREG?", ["+CREG: 2,1,  0 5, 2715"], {"registration": "home", "cell_id": "2715"}),
    ("cgreg2_unsolicited_with_rac", None, ['+CGREG: 1,"1422","00000142",3,"00"'],
     {"lac_tac": "1422", "cell_id": "00000142", "rat": "GSM"}),
    ("cereg1_unsolicited", None, ["+CEREG: 3"], {"registration": "denied"}),
    ("cereg2_solicited", "AT+CEREG?", ["+CEREG: 2,1, 1F00, 79D903 ,7"],
     {"registration": "home", "lac_tac": "1F00", "cell_id": "79D903", "rat": "LTE"}),
    ("cereg2_unsolicited", None, ["+CEREG: 1, 1F00, 79D903 ,7"], {"lac_tac": "1F00", "cell_id": "79D903", "rat": "LTE"}),
    ("cereg2_altair_lte_solicited", "AT+CEREG?", ["+CEREG: 1, 2, 0001, 00000100, 7"],
     {"registration": "searching", "lac_tac": "0001", "cell_id": "00000100", "rat": "LTE"}),
    ("cereg2_altair_lte_unsolicited", None, ["+CEREG: 2, 0001, 00000100, 7"],
     {"registration": "searching", "lac_tac": "0001", "cell_id": "00000100"}),
    ("cereg2_novatel_lte_solicited", "AT+CEREG?", ["+CEREG: 2,1, 1F00, 20 ,79D903 ,7"],
     {"lac_tac": "1F00", "cell_id": "79D903", "rat": "LTE"}),
    ("c5greg1_solicited", "AT+C5GREG?", ["+C5GREG: 1,3"], {"registration": "denied"}),
    ("c5greg2_solicited", "AT+C5GREG?", ["+C5GREG: 2,1,1F00,79D903,11,6,ABCDEF"],
     {"registration": "home", "lac_tac": "1F00", "cell_id": "79D903", "rat": "NR5G-SA"}),
    ("c5greg2_unsolicited", None, ["+C5GREG: 1,1F00,79D903,11,6,ABCDEF"], {"rat": "NR5G-SA", "cell_id": "79D903"}),
    # Third-party Rust test (registration_cereg_standard): 24-bit TAC, 64-bit padded CI
    ("cereg2_nr_long_ids", "AT+CEREG?", ['+CEREG: 2,1,"149002","0000000C2840C001",7'],
     {"lac_tac": "149002", "cell_id": "0000000C2840C001"}),
    ("creg_cgreg_multi_unsolicited", None, ["+CREG: 5", "+CGREG: 0"], {"registration": "roaming"}),
    # every 27.007 stat value
    ("cereg_stat6_sms_only_home", "AT+CEREG?", ["+CEREG: 0,6"], {"registration": "home_sms_only"}),
    ("cereg_stat7_sms_only_roaming", "AT+CEREG?", ["+CEREG: 0,7"], {"registration": "roaming_sms_only"}),
    ("cereg_stat8_emergency", "AT+CEREG?", ["+CEREG: 0,8"], {"registration": "emergency"}),
    ("creg_stat9_csfb_not_preferred_home", "AT+CREG?", ["+CREG: 0,9"], {"registration": "home_csfb_not_preferred"}),
    ("creg_stat10_csfb_not_preferred_roaming", "AT+CREG?", ["+CREG: 0,10"],
     {"registration": "roaming_csfb_not_preferred"}),
    ("creg_stat4_unknown", "AT+CREG?", ["+CREG: 0,4"], {"registration": "unknown"}),
    ("cereg_lowercase_hex", "AT+CEREG?", ['+CEREG: 2,1,"2b67","69f6bc7",7'], {"lac_tac": "2B67", "cell_id": "69F6BC7"}),
    ("cereg_nbiot_act9", "AT+CEREG?", ['+CEREG: 2,5,"1A2B","01A2B3C4",9'], {"rat": "NB-IoT", "registration": "roaming"}),
    ("cereg_psm_extra_fields", "AT+CEREG?", ['+CEREG: 4,1,"0001","01A2D001",7,,,"00000110","00100001"'],
     {"registration": "home", "cell_id": "01A2D001", "rat": "LTE"}),
]


@pytest.mark.parametrize("command,lines,expected,vendor", cases(IDENTITY + SIGNAL + OPERATOR + SCAN + REGISTRATION))
def test_3gpp_table(command, lines, expected, vendor):
    check_subset(decode(command, lines, vendor), expected)


def test_cops_scan_keeps_every_network_and_nothing_else():
    result = decode("AT+COPS=?", ['+COPS: (2,"T-Mobile","TMO","31026",0),(1,"AT&T","AT&T","310410",2),,'
                                  '(0,1,2,3,4),(0,1,2)'])
    assert [n["availability"] for n in result["networks"]] == ["current", "available"]


def test_registration_omits_location_it_does_not_carry():
    assert decode("AT+CREG?", ["+CREG: 0,1"]) == {"registration": "home"}
