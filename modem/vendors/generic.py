"""Any 3GPP modem: only 27.007 commands. Every field keeps the base's default: this plugin *is* the base."""
from modem.vendors.base import VendorPlugin

PLUGIN = VendorPlugin(
    name="generic",
    serving_cell_commands=("AT+COPS?", "AT+C5GREG?", "AT+CEREG?", "AT+CGREG?", "AT+CREG?"),
)
