"""Huawei ME909/ME906/MU709/E3372 (stick mode)/MH5000."""
from modem.parsers import huawei as h
from modem.vendors.base import VendorPlugin, frozen

PLUGIN = VendorPlugin(
    name="huawei",
    manufacturer_patterns=(r"huawei",),
    model_patterns=(r"^(ME9\d\d|MU\d\d\d|MS\d\d\d|E\d{3,4}|K\d{4}|MH5000|ME936)",),
    usb_vendor_ids=(0x12D1,),
    serving_cell_commands=("AT^SYSINFOEX", "AT^HCSQ?", "AT+COPS?", "AT+CEREG?"),
    signal_commands=("AT^HCSQ?", "AT+CSQ"),
    iccid_commands=("AT^ICCID?",),
    timeouts=frozen({"^SYSINFOEX": 3.0, "^HCSQ?": 3.0}),
    vendor_urc_prefixes=("^MODE:", "^RSSI:", "^HCSQ:", "^SRVST:", "^SIMST:", "^NDISSTAT:", "^BOOT:",
                         "^DSFLOWRPT:"),
    parsers=frozen({"^HCSQ?": h.parse_hcsq, "^SYSINFOEX": h.parse_sysinfoex, "^SYSINFO": h.parse_sysinfo}),
    prefix_parsers=frozen({"^HCSQ": h.parse_hcsq, "^SYSINFOEX": h.parse_sysinfoex, "^SYSINFO": h.parse_sysinfo}),
)
