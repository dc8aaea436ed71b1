"""Telit LE910Cx/LE866/ME910/LM940/LM960/FN980."""
from modem.parsers import telit as t
from modem.vendors.base import VendorPlugin, frozen

PLUGIN = VendorPlugin(
    name="telit",
    manufacturer_patterns=(r"telit",),
    model_patterns=(r"^(LE9\d\d|LE866|ME9\d\d|ML865|LM9\d\d|FN9\d\d|FN990|HE910|UE866|GE910)",),
    usb_vendor_ids=(0x1BC7,),
    serving_cell_commands=("AT#RFSTS", "AT#SERVINFO", "AT+COPS?", "AT+CEREG?"),
    signal_commands=("AT#RFSTS", "AT+CESQ", "AT+CSQ"),
    iccid_commands=("AT#CCID", "AT+ICCID"),
    sim_slot_query="AT#SIMSELECT?",
    sim_slot_switch="AT#SIMSELECT={slot}",        # dual-SIM LE910Cx/LM960, after AT#ENSIM2=1; AT+CFUN=4 first
    sim_slots=2,
    timeouts=frozen({"#RFSTS": 5.0, "#CSURV": 180.0, "#REBOOT": 30.0}),
    vendor_urc_prefixes=("#QSS:",),
    parsers=frozen({"#RFSTS": t.parse_rfsts, "#SERVINFO": t.parse_servinfo, "#MONI": t.parse_moni,
                    "#CSURVC": t.parse_csurvc, "#CSURV": t.parse_csurvc, "#QSS?": t.parse_qss,
                    "#BND?": t.parse_bnd, "#SIMSELECT?": t.parse_simselect}),
    prefix_parsers=frozen({"#RFSTS": t.parse_rfsts, "#SERVINFO": t.parse_servinfo, "#MONI": t.parse_moni,
                           "#QSS": t.parse_qss, "#BND": t.parse_bnd, "#SIMSELECT": t.parse_simselect}),
    multiline_prefixes=("#MONI",),
)
