"""Sierra Wireless MC73xx/MC74xx/EM74xx/EM75xx/EM919x."""
from modem.parsers import sierra as s
from modem.vendors.base import VendorPlugin, frozen

PLUGIN = VendorPlugin(
    name="sierra",
    manufacturer_patterns=(r"sierra",),
    model_patterns=(r"^(MC|EM|AC|AR|WP)\d{4}",),
    usb_vendor_ids=(0x1199,),
    serving_cell_commands=("AT!GSTATUS?", "AT!LTEINFO?", "AT+COPS?", "AT+CEREG?"),
    signal_commands=("AT!GSTATUS?", "AT+CSQ"),
    iccid_commands=("AT!ICCID?",),
    # Sierra has no AT SIM-slot switch on the EM/MC modules (slot selection is done via QMI/UIM).
    timeouts=frozen({"!GSTATUS?": 5.0, "!LTEINFO?": 5.0, "!RESET": 30.0}),
    vendor_urc_prefixes=("!PCINFO:",),
    parsers=frozen({"!GSTATUS?": s.parse_gstatus, "!GSTATUS": s.parse_gstatus, "!LTEINFO?": s.parse_lteinfo,
                    "!LTEINFO": s.parse_lteinfo}),
    prefix_parsers=frozen({"!GSTATUS": s.parse_gstatus, "!LTEINFO": s.parse_lteinfo}),
)
