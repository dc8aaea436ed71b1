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
    sim_slot_switch="AT+QUIMSLOT={slot}",      # EC2x/EG2x use AT+QDSIM={index} (0-based) instead
    sim_slots=2,
    timeouts=frozen({'+QENG="servingcell"': 3.0, '+QENG="neighbourcell"': 5.0, "+QSCAN": 180.0,
                     "+COPS=?": 180.0, "+COPS": 180.0, "+QUIMSLOT": 10.0, "+QDSIM": 10.0, "+CFUN": 15.0,
                     "+CGATT": 140.0, "+CGACT": 150.0, "+QPOWD": 60.0}),
    parsers=frozen({'+QENG="servingcell"': q.parse_qeng_servingcell,
                    '+QENG="neighbourcell"': q.parse_qeng_neighbourcell}),
)
