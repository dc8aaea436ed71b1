"""One modem, in modem terms: identify it, read its status, switch its SIM. Blocking calls over an AtPort.

This layer turns AT answers into the flat dicts of modem.decode and knows which vendor command to use; it keeps
no state beyond the identity and the detected vendor plugin. Scheduling (how often to poll, what to do about a
bad answer) is the agent's.
"""
from __future__ import annotations

import logging
from typing import Any

from modem import vendors
from modem.at import AtError, AtPort, ModemError
from modem.decode import decode
from modem.vendors.base import VendorPlugin

log = logging.getLogger(__name__)

# ICCID commands differ per vendor; generic modems answer one of these.
ICCID_COMMANDS = {
    "quectel": ("AT+QCCID",), "simcom": ("AT+CICCID",), "sierra": ("AT!ICCID?",), "telit": ("AT#CCID", "AT+ICCID"),
    "huawei": ("AT^ICCID?",), "ublox": ("AT+CCID",), "fibocom": ("AT+CCID", "AT+ICCID"),
}
GENERIC_ICCID = ("AT+CCID", "AT+QCCID", "AT+CICCID", "AT+ICCID", "AT+CRSM=176,12258,0,0,10")
REGISTRATION_COMMANDS = ("AT+C5GREG?", "AT+CEREG?", "AT+CGREG?", "AT+CREG?")
_REGISTERED = ("home", "roaming")
_SIGNAL_KEYS = ("rssi_dbm", "ber", "rsrp_dbm", "rsrq_db", "sinr_db", "rscp_dbm", "ecio_db")
_CELL_KEYS = ("rat", "band", "bands", "earfcn", "arfcn", "pci", "cell_id", "lac_tac", "bandwidth_mhz", "mcc", "mnc")


class ModemDevice:
    def __init__(self, port: AtPort, vendor: str | None = None):
        self.port = port
        self.vendor_hint = None if vendor in (None, "auto") else vendor
        self.plugin: VendorPlugin = vendors.get(self.vendor_hint or "generic")
        self.identity: dict[str, Any] = {}
        self._unsupported: set[str] = set()   # commands this modem answered ERROR to: don't ask again

    # ---- low level --------------------------------------------------------------------------------------
    def at(self, command: str, timeout: float | None = None, **kwargs) -> list[str]:
        if timeout is None:
            timeout = self._vendor_timeout(command)
        return self.port.command(command, timeout=timeout, **kwargs).lines

    def query(self, command: str) -> dict[str, Any] | None:
        """Send and decode; None when the modem does not support the command (ERROR) or the answer is empty.
        A +CME error other than 'not supported' is returned decoded ({"cme_error": n, ...}): it means something."""
        if command in self._unsupported:
            return None
        try:
            lines = self.at(command)
        except AtError as e:
            if e.kind in ("ERROR", "COMMAND NOT SUPPORT") or e.code in (3, 4, 100):
                self._unsupported.add(command)
                return None
            return decode(command, [e.final], self.plugin.name)
        result = decode(command, lines, self.plugin.name)
        if "error" in result:
            log.debug("%s: %s (%r)", command, result["error"], lines[:3])
            return None
        return result

    def _vendor_timeout(self, command: str) -> float | None:
        from modem.decode import normalize_command
        key = normalize_command(command)
        return self.plugin.timeouts.get(key) if key else None

    # ---- identity ---------------------------------------------------------------------------------------
    def initialize(self) -> None:
        """Settings every later parse relies on. Each is optional: an old firmware's ERROR is not fatal."""
        for command in ("AT+CMEE=1",            # numeric +CME ERROR codes
                        "AT+CREG=2", "AT+CGREG=2", "AT+CEREG=2", "AT+C5GREG=2"):   # registration URCs with cell
            try:
                self.at(command)
            except AtError:
                pass

    def identify(self) -> dict[str, Any]:
        ident: dict[str, Any] = {}
        for command in ("ATI", "AT+CGMI", "AT+CGMM", "AT+CGMR", "AT+CGSN"):
            result = self.query(command) or {}
            for key in ("manufacturer", "model", "revision", "imei"):
                if result.get(key) and not ident.get(key):
                    ident[key] = result[key]
        if self.vendor_hint is None:
            self.plugin = vendors.detect(manufacturer=ident.get("manufacturer"), model=ident.get("model"))
        ident["vendor"] = self.plugin.name
        self.identity = ident
        return dict(ident)

    # ---- status -----------------------------------------------------------------------------------------
    def sim(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sim_state": None, "iccid": None, "imsi": None, "sim_slot": None}
        pin = self.query("AT+CPIN?") or {}
        out["sim_state"] = pin.get("sim_state")
        if self.plugin.sim_slot_query:
            slot = self.query(self.plugin.sim_slot_query) or {}
            out["sim_slot"] = slot.get("sim_slot")
        if out["sim_state"] == "NOT INSERTED":
            return out
        for command in ICCID_COMMANDS.get(self.plugin.name, GENERIC_ICCID):
            iccid = (self.query(command) or {}).get("iccid")
            if iccid:
                out["iccid"] = iccid
                break
        if out["sim_state"] == "READY":
            out["imsi"] = (self.query("AT+CIMI") or {}).get("imsi")
        return out

    def registration(self) -> dict[str, Any]:
        """The best registration over CS, PS, EPS and 5GS: registered beats searching beats the rest."""
        best: dict[str, Any] = {}
        for command in REGISTRATION_COMMANDS:
            result = self.query(command)
            if not result or "registration" not in result:
                continue
            if not best or (result["registration"] in _REGISTERED and best.get("registration") not in _REGISTERED):
                best = result
            if best.get("registration") in _REGISTERED:
                break
        return {k: best.get(k) for k in ("registration", "lac_tac", "cell_id", "rat") if best.get(k) is not None}

    def operator(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        try:
            self.at("AT+COPS=3,2")                     # numeric: MCC/MNC
            out.update({k: v for k, v in (self.query("AT+COPS?") or {}).items() if v is not None})
            self.at("AT+COPS=3,0")                     # long alphanumeric name for people
            named = self.query("AT+COPS?") or {}
            if named.get("operator_name"):
                out["operator_name"] = named["operator_name"]
        except ModemError as e:
            log.debug("operator: %s", e)
        return {k: out[k] for k in ("operator_name", "mcc", "mnc", "rat") if out.get(k) is not None}

    def signal(self) -> dict[str, Any]:
        """Signal and serving cell from the vendor's richest command, completed by the 3GPP generic ones."""
        out: dict[str, Any] = {}
        for command in (*self.plugin.serving_cell_commands[:1], *self.plugin.signal_commands, "AT+CESQ", "AT+CSQ"):
            result = self.query(command) or {}
            if result.get("rat") == "NR5G-NSA" and "lte" in result:
                # EN-DC: the LTE anchor carries registration; report both legs' radio values flat and nested
                for key in _SIGNAL_KEYS + _CELL_KEYS:
                    if result["lte"].get(key) is not None:
                        out.setdefault(key, result["lte"][key])
                out["nr"] = {k: v for k, v in result.get("nr", {}).items() if v is not None}
            for key in _SIGNAL_KEYS + _CELL_KEYS:
                if result.get(key) is not None:
                    out.setdefault(key, result[key])
        return out

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = {}
        status.update(self.sim())
        status.update(self.registration())
        if status.get("registration") in _REGISTERED:
            status.update({k: v for k, v in self.operator().items() if k != "rat" or "rat" not in status})
        status["signal"] = self.signal()
        if status["signal"].get("rat"):
            status["rat"] = status["signal"]["rat"]
        return status

    def switch_sim(self, slot: int) -> None:
        command = self.plugin.sim_switch_command(slot)
        if command is None:
            raise ModemError(f"{self.plugin.name} modem has no SIM slot {slot} switch")
        self.at(command)


def probe(port: AtPort, vendor: str | None = None) -> dict[str, Any]:
    """Everything `relais modem probe` shows, with the key names of its JSON."""
    dev = ModemDevice(port, vendor)
    dev.initialize()
    ident = dev.identify()
    status = dev.status()
    signal = status.get("signal", {})
    return {
        "port": port.path,
        "vendor": ident.get("vendor"),
        "manufacturer": ident.get("manufacturer"),
        "model": ident.get("model"),
        "revision": ident.get("revision"),
        "imei": ident.get("imei"),
        "sim_state": status.get("sim_state"),
        "iccid": status.get("iccid"),
        "imsi": status.get("imsi"),
        "slot": status.get("sim_slot"),
        "registration": status.get("registration"),
        "operator": status.get("operator_name"),
        "mcc": status.get("mcc"),
        "mnc": status.get("mnc"),
        "rat": status.get("rat"),
        "signal": signal,
    }
