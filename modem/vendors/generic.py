"""Any 3GPP modem: only 27.007 commands."""
from modem.vendors.base import VendorPlugin, frozen

PLUGIN = VendorPlugin(
    name="generic",
    serving_cell_commands=("AT+COPS?", "AT+C5GREG?", "AT+CEREG?", "AT+CGREG?", "AT+CREG?"),
    signal_commands=("AT+CESQ", "AT+CSQ"),
    timeouts=frozen({"+COPS=?": 180.0, "+COPS": 180.0, "+CFUN": 30.0, "+CGATT": 75.0, "+CGACT": 150.0}),
)
