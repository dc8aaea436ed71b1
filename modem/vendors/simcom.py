"""SIMCom SIM7000/SIM7080/SIM7500/SIM7600/SIM8200/A76xx."""
from modem.parsers import simcom as s
from modem.vendors.base import VendorPlugin, frozen

PLUGIN = VendorPlugin(
    name="simcom",
    manufacturer_patterns=(r"simcom", r"sim tech"),
    model_patterns=(r"^SIMCOM_", r"^SIM7\d\d\d", r"^SIM8\d\d\d", r"^A76\d\d"),
    usb_vendor_ids=(0x1E0E,),
    serving_cell_commands=("AT+CPSI?", "AT+COPS?", "AT+CEREG?"),
    signal_commands=("AT+CPSI?", "AT+CSQ"),
    iccid_commands=("AT+CICCID",),
    timeouts=frozen({"+CPSI?": 3.0, "+CGATT=": 75.0}),
    vendor_urc_prefixes=("+SIMCARD:", "+CPSI:", "SMS DONE", "PB DONE"),
    parsers=frozen({"+CPSI?": s.parse_cpsi}),
    prefix_parsers=frozen({"+CPSI": s.parse_cpsi}),
    multiline_prefixes=("+CPSI",),
)
