"""u-blox SARA-R4/R5, SARA-U2, LARA-R2/R6, TOBY-L2/L4."""
from modem.parsers import ublox as u
from modem.vendors.base import VendorPlugin, frozen

PLUGIN = VendorPlugin(
    name="ublox",
    manufacturer_patterns=(r"u-?blox",),
    model_patterns=(r"^(SARA|LARA|TOBY|LISA|LENA)-",),
    usb_vendor_ids=(0x1546,),
    serving_cell_commands=("AT+UCGED?", "AT+COPS?", "AT+CEREG?"),
    signal_commands=("AT+CESQ", "AT+CSQ"),
    iccid_commands=("AT+CCID",),
    # u-blox AT manuals give +CFUN up to 3 min (SARA-R4/R5 re-read their configuration and the SIM).
    timeouts=frozen({"+UCGED?": 5.0, "+CFUN=": 180.0, "+UBANDSEL=": 10.0}),
    vendor_urc_prefixes=("+UUSIMSTAT:", "+UUPSDA:", "+UUPSDD:"),
    parsers=frozen({"+UCGED?": u.parse_ucged, "+UBANDSEL?": u.parse_ubandsel, "+UACT?": u.parse_uact}),
    prefix_parsers=frozen({"+UCGED": u.parse_ucged, "+UBANDSEL": u.parse_ubandsel, "+UACT": u.parse_uact}),
)
