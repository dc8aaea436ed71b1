"""Quectel EC2x/EG2x/EP06/BG9x/RG50xQ/RM5xxQ."""
from modem.parsers import quectel as q
from modem.vendors.base import VendorPlugin, frozen

PLUGIN = VendorPlugin(
    name="quectel",
    manufacturer_patterns=(r"quectel",),
    model_patterns=(r"^(EC2\d|EG\d\d|EP0\d|EM\d\d|BG\d\d|BC\d\d|RG\d\d\d|RM\d\d\d|EM\d\d\d|UC\d\d|UG\d\d)",),
    usb_vendor_ids=(0x2C7C,),
    serving_cell_commands=('AT+QENG="servingcell"', "AT+QNWINFO", "AT+QCAINFO", "AT+COPS?", "AT+CEREG?"),
    signal_commands=("AT+QCSQ", "AT+QRSRP", "AT+QSINR", "AT+CSQ"),
    sim_slot_query="AT+QUIMSLOT?",
    sim_slot_switch="AT+QUIMSLOT={slot}",      # RM5xx / RG5xx / EM1x: 1-based
    sim_slots=2,
    # The LTE Cat 1/4 modules (EC2x, EG2x, EG9x) select the slot with AT+QDSIM, 0-based (EC25 AT manual).
    sim_slot_models=((r"^(EC2\d|EG2\d|EG9\d)", "AT+QDSIM?", "AT+QDSIM={index}"),),
    # RM5xx in ECM/RNDIS/MBIM mode: the module dials itself (ModemManager's quectel plugin uses the same).
    data_connect=("AT+QNETDEVCTL=1,{cid},1",),
    timeouts=frozen({'+QENG="servingcell"': 3.0, '+QENG="neighbourcell"': 5.0, "+QSCAN": 180.0,
                     "+COPS=?": 180.0, "+COPS": 180.0, "+QUIMSLOT": 10.0, "+QDSIM": 10.0, "+CFUN": 15.0,
                     "+CGATT": 140.0, "+CGACT": 150.0, "+QPOWD": 60.0, "+QNETDEVCTL": 30.0}),
    parsers=frozen({'+QENG="servingcell"': q.parse_qeng_servingcell,
                    '+QENG="neighbourcell"': q.parse_qeng_neighbourcell}),
)
