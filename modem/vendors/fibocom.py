"""Fibocom L8x0 (Intel XMM), FM150/FM350, NL668."""
from modem.parsers import fibocom as f
from modem.vendors.base import VendorPlugin, frozen

PLUGIN = VendorPlugin(
    name="fibocom",
    manufacturer_patterns=(r"fibocom",),
    model_patterns=(r"^(L8[1-6]0|FM1\d\d|FM350|NL668|FG\d\d\d|MA510)",),
    usb_vendor_ids=(0x2CB7,),
    serving_cell_commands=("AT+COPS?", "AT+CEREG?", "AT+CREG?"),
    signal_commands=("AT+XCESQ?", "AT+CESQ", "AT+CSQ"),
    iccid_commands=("AT+CCID", "AT+ICCID"),
    sim_slot_query="AT+GTDUALSIM?",
    sim_slot_switch="AT+GTDUALSIM={index}",       # 0-based; the modem drops registration and re-reads the SIM
    sim_slots=2,
    timeouts=frozen({"+XCESQ?": 3.0}),
    vendor_urc_prefixes=("+XCESQI:",),
    parsers=frozen({"+XCESQ?": f.parse_xcesq, "+XCESQ": f.parse_xcesq, "+GTDUALSIM?": f.parse_gtdualsim}),
    prefix_parsers=frozen({"+XCESQ": f.parse_xcesq, "+GTDUALSIM": f.parse_gtdualsim}),
)
