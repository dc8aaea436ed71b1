"""One modem, in modem terms: identify it, read its status, switch its SIM. Blocking calls over an AtPort.

This layer turns AT answers into the flat dicts of modem.decode and knows which vendor command to use; it keeps
no state beyond the identity and the detected vendor plugin. Scheduling (how often to poll, what to do about a
bad answer) is the agent's.
"""
from __future__ import annotations

import ipaddress
import logging
import re
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from modem import vendors
from modem.at import AtError, AtPort, ModemError, ModemRestarted, TransportError
from modem.decoder import decode
from modem.parsers.clock import parse_cclk
from modem.parsers.sms import parse_cmgl, parse_cmgr, parse_cmgs
from modem.vendors.base import VendorPlugin

log = logging.getLogger(__name__)

REGISTRATION_COMMANDS = ("AT+C5GREG?", "AT+CEREG?", "AT+CGREG?", "AT+CREG?")
_REGISTERED = ("home", "roaming")
PDP_TYPES = ("IP", "IPV6", "IPV4V6")
_SIGNAL_KEYS = ("rssi_dbm", "ber", "rsrp_dbm", "rsrq_db", "sinr_db", "rscp_dbm", "ecio_db")
_CELL_KEYS = ("rat", "band", "bands", "earfcn", "arfcn", "pci", "cell_id", "lac_tac", "bandwidth_mhz", "mcc", "mnc")
_CHARSETS = ("GSM", "IRA", "UCS2", "8859-1", "PCCP437", "UTF-8")
SMS_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
SMS_TEXT = re.compile(r"^[\x20-\x7e]{1,160}$")    # printable ASCII: sent with AT+CSCS="IRA", no Ctrl-Z / ESC inside


class _TraceGate(logging.Filter):
    """Drops AT trace records while a message is read: an SMS text may carry a PIN (SMS commands)."""

    def __init__(self) -> None:
        super().__init__()
        self._closed = 0
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        return self._closed == 0

    @contextmanager
    def closed(self) -> Iterator[None]:
        with self._lock:
            self._closed += 1
        try:
            yield
        finally:
            with self._lock:
                self._closed -= 1


_TRACE_GATE = _TraceGate()
logging.getLogger("relais.at").addFilter(_TRACE_GATE)


class ModemDevice:
    def __init__(self, port: AtPort, vendor: str | None = None):
        self.port = port
        self.vendor_hint = None if vendor in (None, "auto") else vendor
        self.plugin: VendorPlugin = vendors.get(self.vendor_hint or "generic")
        self.use_plugin(self.plugin)
        if self.vendor_hint is None:
            self._unknown_vendor()
        self.identity: dict[str, Any] = {}
        self._unsupported: set[str] = set()   # commands this modem answered ERROR to: don't ask again

    def use_plugin(self, plugin: VendorPlugin) -> None:
        """Make `plugin` this modem's: the port takes its timeouts and knows its unsolicited lines."""
        self.plugin = plugin
        self.port.set_timeout_policy(plugin.timeout_for)
        self.port.set_vendor_urcs(plugin.vendor_urc_prefixes)

    def _unknown_vendor(self) -> None:
        """Until a plugin claims the modem it may be any vendor's: know all their URCs (a Quectel's +QIND amid
        the answer to ATI must not be taken as part of it)."""
        self.port.set_vendor_urcs(vendors.every_vendor_urc_prefix())

    # ---- low level --------------------------------------------------------------------------------------
    def at(self, command: str, timeout: float | None = None, **kwargs) -> list[str]:
        """Send one command; its timeout is the plugin's (AtPort's timeout policy) unless given."""
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
            detected = vendors.detect(manufacturer=ident.get("manufacturer"), model=ident.get("model"))
            self.use_plugin(detected)
            if not detected.match_score(ident.get("manufacturer"), ident.get("model")):
                self._unknown_vendor()
        ident["vendor"] = self.plugin.name
        self.identity = ident
        return dict(ident)

    # ---- status -----------------------------------------------------------------------------------------
    def sim(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sim_state": None, "iccid": None, "imsi": None, "sim_slot": None}
        pin = self.query("AT+CPIN?") or {}
        out["sim_state"] = pin.get("sim_state")
        slot_query = self.plugin.sim_slot_commands(self.identity.get("model"))[0]
        if slot_query:
            slot = self.query(slot_query) or {}
            out["sim_slot"] = slot.get("sim_slot")
        if out["sim_state"] == "NOT INSERTED":
            return out
        for command in self.plugin.iccid_commands:
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
        command = self.plugin.sim_switch_command(slot, self.identity.get("model"))
        if command is None:
            raise ModemError(f"{self.plugin.name} modem has no SIM slot {slot} switch")
        self.at(command)

    # ---- control: operator, data session, recovery (scheduling and policy are the agent's) ----------------
    def ping(self, timeout: float = 3.0) -> None:
        """A bare AT: raises AtTimeout / TransportError when the modem does not answer."""
        self.at("AT", timeout=timeout)

    def enter_pin(self, pin: str) -> None:
        if not (pin.isdigit() and 4 <= len(pin) <= 8):
            raise ModemError("a SIM PIN is 4 to 8 digits")
        self.at(f'AT+CPIN="{pin}"')         # the AT trace redacts it

    def set_operator(self, plmn: str | None, fallback: bool = True) -> None:
        """None: automatic selection (AT+COPS=0). A PLMN ("20801"): manual, falling back to automatic when it is
        not available (AT+COPS=4) unless fallback is False (AT+COPS=1)."""
        if plmn is None:
            self.at("AT+COPS=0")
            return
        if not (plmn.isdigit() and len(plmn) in (5, 6)):
            raise ModemError(f"a PLMN is 5 or 6 digits (MCC+MNC), not {plmn!r}")
        self.at(f'AT+COPS={4 if fallback else 1},2,"{plmn}"')

    def scan_operators(self) -> list[dict[str, Any]]:
        """AT+COPS=? (can take minutes): [{availability, operator_name, operator_short, mcc, mnc, rat}, ...]."""
        return decode("AT+COPS=?", self.at("AT+COPS=?"), self.plugin.name).get("networks", [])

    def define_pdp(self, cid: int, pdp_type: str, apn: str) -> None:
        if pdp_type not in PDP_TYPES:
            raise ModemError(f"PDP type must be one of {', '.join(PDP_TYPES)}, not {pdp_type!r}")
        if not 1 <= cid <= 24 or len(apn) > 100 or any(not 0x20 < ord(c) < 0x7F or c in '",;' for c in apn):
            raise ModemError(f"unusable PDP context {cid} / APN {apn!r}")
        self.at(f'AT+CGDCONT={cid},"{pdp_type}","{apn}"')

    def activate_data(self, cid: int) -> str:
        """Start the data call on context `cid` the vendor's way, else with AT+CGACT; returns the command used."""
        for template in self.plugin.data_connect:
            command = template.format(cid=cid)
            if command in self._unsupported:
                continue
            try:
                self.at(command)
                return command
            except AtError as e:
                if e.kind in ("ERROR", "COMMAND NOT SUPPORT") or e.code in (3, 4, 100):
                    self._unsupported.add(command)   # this model lacks it (or not in this USB mode)
                    continue
                raise
        command = f"AT+CGACT=1,{cid}"
        self.at(command)
        return command

    def deactivate_data(self, cid: int) -> None:
        self.at(f"AT+CGACT=0,{cid}")

    def data_address(self, cid: int) -> str | None:
        """The address the network gave context `cid` (IPv4 preferred), None when the context is not active."""
        return parse_cgpaddr(self.at(f"AT+CGPADDR={cid}"), cid)

    def radio(self, on: bool) -> None:
        self.at("AT+CFUN=1" if on else "AT+CFUN=0")

    def reset(self) -> None:
        """AT+CFUN=1,1. The modem restarts and its port usually goes away, often before or instead of the OK:
        losing the port (or seeing it restart) is the expected outcome, not an error."""
        try:
            self.at("AT+CFUN=1,1")
        except (TransportError, ModemRestarted):
            pass

    # ---- network time -----------------------------------------------------------------------------------
    def enable_network_time(self) -> str | None:
        """Let the network's time (NITZ) set the modem clock and report zone changes (+CTZE / +CTZV).
        Returns the +CTZU command the modem took, None when it takes none. Which forms to try is the plugin's
        (Quectel wants its own value first; others the 27.007 value 1)."""
        taken = None
        for command in self.plugin.network_time_commands:
            try:
                self.at(command)
            except AtError:
                continue
            taken = command
            break
        for command in ("AT+CTZR=2", "AT+CTZR=1"):
            try:
                self.at(command)
                break
            except AtError:
                continue
        return taken

    def clock(self) -> dict[str, Any]:
        """The modem clock: {clock_utc, clock_local, tz_quarters} (modem/parsers/clock.py); {} if unreadable."""
        return parse_cclk(self.at("AT+CCLK?"))

    # ---- SMS (text mode, 3GPP TS 27.005) ----------------------------------------------------------------
    def sms_setup(self) -> None:
        """Text mode, new messages stored on the SIM and announced by +CMTI. Settings are volatile: call again
        after a modem restart."""
        self.at("AT+CMGF=1")
        for command in ('AT+CPMS="SM","SM","SM"', 'AT+CPMS="ME","ME","ME"'):
            try:
                self.at(command)
                break
            except AtError:
                continue
        try:
            self.at("AT+CNMI=2,1,0,0,0")
        except AtError as e:
            log.warning("modem refused AT+CNMI=2,1: new SMS are found by the periodic listing only (%s)", e)

    def read_sms(self, index: int) -> dict[str, Any] | None:
        """One stored message (sender, text, timestamp, sent_utc ...), None when the index is empty."""
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= 9999:
            raise ValueError(f"SMS index {index!r}")
        with self._reading_sms() as ucs2:
            try:
                lines = self.at(f"AT+CMGR={index}")
            except AtError as e:
                if e.code == 321:        # +CMS ERROR: 321 invalid memory index: nothing there
                    return None
                raise
        msgs = parse_cmgr(lines, ucs2=ucs2).get("sms") or []
        if msgs:
            msgs[0]["index"] = index
        return msgs[0] if msgs else None

    def list_sms(self) -> list[dict[str, Any]]:
        """Every stored message, read or not."""
        with self._reading_sms() as ucs2:
            try:
                lines = self.at('AT+CMGL="ALL"')
            except AtError:
                if not ucs2:
                    raise
                lines = self.at('AT+CMGL="0041004C004C"')   # some firmware wants string arguments in UCS2 too
        return parse_cmgl(lines, ucs2=ucs2).get("sms") or []

    def delete_sms(self, index: int) -> None:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= 9999:
            raise ValueError(f"SMS index {index!r}")
        self.at(f"AT+CMGD={index}")

    def send_sms(self, number: str, text: str) -> int | None:
        """Send one SMS (<= 160 printable ASCII characters); returns the message reference."""
        if not SMS_NUMBER.match(number or ""):
            raise ValueError("SMS number must be + and 3 to 20 digits")
        if not SMS_TEXT.match(text or ""):
            raise ValueError("SMS text must be 1 to 160 printable ASCII characters")
        self.at("AT+CMGF=1")
        self._set_charset("IRA", "GSM")
        lines = self.at(f'AT+CMGS="{number}"', body=text.encode("ascii"))
        return parse_cmgs(lines).get("mr")

    @contextmanager
    def _reading_sms(self) -> Iterator[bool]:
        """Read in UCS2 (hex text: no line of a message can pass for "OK" or a URC), then give the modem its
        charset back (operator names in +COPS? follow it). Yields whether UCS2 is on."""
        self.at("AT+CMGF=1")
        before = None
        try:
            before = (self.at("AT+CSCS?") or [""])[0].partition(":")[2].strip().strip('"').upper()
        except AtError:
            pass
        if before not in _CHARSETS:
            before = None
        ucs2 = self._set_charset("UCS2") == "UCS2"
        try:
            with _TRACE_GATE.closed():
                yield ucs2
        finally:
            if ucs2:
                self._set_charset(before or "IRA", "GSM")

    def _set_charset(self, *choices: str) -> str | None:
        for charset in choices:
            try:
                self.at(f'AT+CSCS="{charset}"')
                return charset
            except AtError:
                continue
        return None


# +CGPADDR: <cid>[,<PDP_addr_1>[,<PDP_addr_2>]]    TS 27.007 10.1.14
#   e.g. '+CGPADDR: 1,"100.72.18.5"'  '+CGPADDR: 1'  '+CGPADDR: 1,"10.1.2.3","32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1"'
#   IPv6 comes colon-separated or as 16 dot-separated decimal bytes (AT+CGPIAF defaults); "0.0.0.0" = none
def parse_cgpaddr(lines: list[str], cid: int) -> str | None:
    found: list[str] = []
    for line in lines:
        head, sep, body = line.partition(":")
        if head.strip().upper() != "+CGPADDR" or not sep:
            continue
        fields = [f.strip().strip('"') for f in body.split(",")]
        if not fields or fields[0] != str(cid):
            continue
        for text in fields[1:]:
            address = _address(text)
            if address is not None:
                found.append(address)
    v4 = [a for a in found if ":" not in a]
    return (v4 or found or [None])[0]


def _address(text: str) -> str | None:
    try:
        if text.count(".") == 15:
            address = ipaddress.IPv6Address(bytes(int(x) for x in text.split(".")))
        else:
            address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return None if address.is_unspecified else str(address)


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
