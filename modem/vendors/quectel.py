"""Quectel EC2x/EG2x/EP06/BG9x/RG50xQ/RM5xxQ."""
from modem.parsers import ident
from modem.parsers import quectel as q
from modem.vendors.base import VendorPlugin, frozen


def parse_qeng(lines: list[str]) -> dict:
    """+QENG lines without their command: the neighbour list when they say so, else the serving cell."""
    if any("neighbourcell" in line.lower() for line in lines):
        return q.parse_qeng_neighbourcell(lines)
    return q.parse_qeng_servingcell(lines)


PLUGIN = VendorPlugin(
    name="quectel",
    manufacturer_patterns=(r"quectel",),
    model_patterns=(r"^(EC2\d|EG\d\d|EP0\d|EM\d\d|BG\d\d|BC\d\d|RG\d\d\d|RM\d\d\d|EM\d\d\d|UC\d\d|UG\d\d)",),
    usb_vendor_ids=(0x2C7C,),
    serving_cell_commands=('AT+QENG="servingcell"', "AT+QNWINFO", "AT+QCAINFO", "AT+COPS?", "AT+CEREG?"),
    signal_commands=("AT+QCSQ", "AT+QRSRP", "AT+QSINR", "AT+CSQ"),
    iccid_commands=("AT+QCCID",),
    # Quectel documents AT+CTZU=3 as "update LOCAL time to RTC"; with 1 some of its firmware keeps UTC in the
    # clock while +CCLK? still prints the zone, which would put us off by the zone. Older firmware lacks 3.
    network_time_commands=("AT+CTZU=3", "AT+CTZU=1"),
    sim_slot_query="AT+QUIMSLOT?",
    sim_slot_switch="AT+QUIMSLOT={slot}",      # RM5xx / RG5xx / EM1x: 1-based
    sim_slots=2,
    # The LTE Cat 1/4 modules (EC2x, EG2x, EG9x) select the slot with AT+QDSIM, 0-based (EC25 AT manual).
    sim_slot_models=((r"^(EC2\d|EG2\d|EG9\d)", "AT+QDSIM?", "AT+QDSIM={index}"),),
    # RM5xx in ECM/RNDIS/MBIM mode: the module dials itself (ModemManager's quectel plugin uses the same).
    data_connect=("AT+QNETDEVCTL=1,{cid},1",),
    timeouts=frozen({'+QENG="servingcell"': 3.0, '+QENG="neighbourcell"': 5.0, "+QSCAN": 180.0,
                     "+QUIMSLOT=": 15.0, "+QDSIM=": 15.0,    # a slot switch re-reads the SIM
                     "+QPOWD": 60.0, "+QNETDEVCTL=": 30.0}),
    vendor_urc_prefixes=("RDY", "+QIND:", "+QUSIM:", "+QNETDEVSTATUS:", "+QSIMSTAT:", "+QNITZ:", "POWERED DOWN",
                         "SMS DONE", "PB DONE"),
    vendor_status_urc_prefixes=("+QUSIM:",),
    parsers=frozen({
        '+QENG="servingcell"': q.parse_qeng_servingcell, '+QENG="neighbourcell"': q.parse_qeng_neighbourcell,
        '+QENG="neighborcell"': q.parse_qeng_neighbourcell,
        "+QNWINFO": q.parse_qnwinfo, "+QCAINFO": q.parse_qcainfo, "+QCSQ": q.parse_qcsq, "+QRSRP": q.parse_qrsrp,
        "+QSINR": q.parse_qsinr, "+QRSSI": q.parse_qrssi, "+QSCAN": q.parse_qscan, "+QSCAN=*": q.parse_qscan,
        "+QUIMSLOT?": q.parse_quimslot, "+QDSIM?": q.parse_qdsim, "+QSIMSTAT?": q.parse_qsimstat,
        "+QGMR": ident.parse_cgmr,
    }),
    prefix_parsers=frozen({
        "+QENG": parse_qeng, "+QNWINFO": q.parse_qnwinfo, "+QCAINFO": q.parse_qcainfo, "+QCSQ": q.parse_qcsq,
        "+QRSRP": q.parse_qrsrp, "+QSINR": q.parse_qsinr, "+QRSSI": q.parse_qrssi, "+QSCAN": q.parse_qscan,
        "+QUIMSLOT": q.parse_quimslot, "+QDSIM": q.parse_qdsim, "+QSIMSTAT": q.parse_qsimstat,
    }),
    multiline_prefixes=("+QENG", "+QCAINFO", "+QNWINFO", "+QCSQ", "+QRSRP", "+QSINR", "+QRSSI", "+QSCAN"),
)
