"""The vendor plugin interface: declarative data the agent uses to talk to one modem family. No IO here.

Like ModemManager's plugins, every vendor extends the generic 3GPP modem: a field's default *is* the generic
modem's behaviour (27.007 commands only), a vendor overrides what its modems do differently. Tables that a vendor
extends rather than replaces (timeouts, URC prefixes, parsers) are looked up vendor first, then generic, in one
place each: timeout_for() here, urc_prefixes() here, modem.decoder.find_parser for parsers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

from modem.at.commands import DEFAULT_TIMEOUT_S, normalize_command
# The 3GPP unsolicited lines live with the AT engine, which needs them before any plugin is chosen.
from modem.at.urc import DEFAULT_URC_PREFIXES as GENERIC_URC_PREFIXES

Parser = Callable[[list[str]], dict]


def frozen(d: dict) -> Mapping:
    return MappingProxyType(dict(d))


# Maximum response times of 27.007 / 27.005 commands, keyed by a prefix of the normalised command (see
# modem.at.commands.normalize_command; "+CFUN=" is every set form, the read "+CFUN?" keeps the default).
# Figures from Quectel's AT manuals, which give them per command; SIMCom and Telit agree within a few seconds.
GENERIC_TIMEOUTS: Mapping[str, float] = frozen({
    "+COPS=": 180.0,           # a network scan (=?) or a manual / automatic registration
    "+CGACT=": 150.0,          # PDP context activation
    "+CGATT=": 140.0,
    "+CFUN=": 15.0,            # radio on/off, reset
    "+CMGS": 120.0,            # an SMS sent over the air
    "+CMGL": 30.0,             # a full SIM's worth of messages
})

# Unsolicited lines after which the modem's SIM / registration status is worth reading again.
GENERIC_STATUS_URC_PREFIXES = ("+CREG:", "+CGREG:", "+CEREG:", "+C5GREG:", "+CPIN:", "+CFUN:")

# ICCID queries a 3GPP modem of unknown make may answer, tried in order.
GENERIC_ICCID_COMMANDS = ("AT+CCID", "AT+QCCID", "AT+CICCID", "AT+ICCID", "AT+CRSM=176,12258,0,0,10")


@dataclass(frozen=True)
class VendorPlugin:
    name: str
    # Case-insensitive regexes matched against +CGMI / the ATI manufacturer line.
    manufacturer_patterns: tuple[str, ...] = ()
    # Case-insensitive regexes matched against +CGMM / the ATI model line (modules that report a chipset vendor).
    model_patterns: tuple[str, ...] = ()
    usb_vendor_ids: tuple[int, ...] = ()
    # Commands to poll for serving cell / signal, in order of preference (the first that works is kept).
    serving_cell_commands: tuple[str, ...] = ("AT+COPS?", "AT+CEREG?", "AT+CREG?")
    signal_commands: tuple[str, ...] = ("AT+CESQ", "AT+CSQ")
    # ICCID queries in the order to try them; the first that answers one wins.
    iccid_commands: tuple[str, ...] = GENERIC_ICCID_COMMANDS
    # How to let the network's time (NITZ) set the modem clock: the +CTZU forms to try, in order.
    network_time_commands: tuple[str, ...] = ("AT+CTZU=1",)
    # SIM slot control where the modem has it; switch is a format string with {slot} (1-based).
    sim_slot_query: str | None = None
    sim_slot_switch: str | None = None
    sim_slots: int = 1
    # Models of the family whose slot commands differ: (model regex, query, switch format), first match wins.
    sim_slot_models: tuple[tuple[str, str, str], ...] = ()
    # Vendor data-call commands tried before the generic AT+CGACT=1,{cid} (format with {cid}); an ERROR means
    # this model lacks it and the next is tried.
    data_connect: tuple[str, ...] = ()
    # Timeouts in seconds of this vendor's commands, keyed like GENERIC_TIMEOUTS; they win over the generic ones.
    timeouts: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    default_timeout: float = DEFAULT_TIMEOUT_S
    # Prefixes of this vendor's unsolicited lines, registered before the generic ones once the plugin is chosen.
    vendor_urc_prefixes: tuple[str, ...] = ()
    # This vendor's unsolicited lines that say the SIM or registration changed (checked after the generic ones).
    vendor_status_urc_prefixes: tuple[str, ...] = ()
    # This vendor's parsers, keyed like modem.decoder.COMMANDS ('+QENG="servingcell"', "+X=*" for any set form),
    # and by response prefix ("+QENG") for unsolicited lines and commands not in the first table.
    parsers: Mapping[str, Parser] = field(default_factory=lambda: MappingProxyType({}))
    prefix_parsers: Mapping[str, Parser] = field(default_factory=lambda: MappingProxyType({}))
    # Response prefixes whose consecutive lines are one answer (a multi-line report), not separate URCs.
    multiline_prefixes: tuple[str, ...] = ()
    # timeout_for() answers, by command: an agent sends the same few dozen commands all day
    _timeout_cache: dict[str, float] = field(default_factory=dict, init=False, repr=False, compare=False)

    def match_score(self, manufacturer: str | None = None, model: str | None = None,
                    usb_id: str | tuple[int, int] | None = None) -> int:
        """3 for a manufacturer match, 2 for a USB vendor id, 1 for a model match, 0 otherwise."""
        score = 0
        if manufacturer and any(re.search(p, manufacturer, re.I) for p in self.manufacturer_patterns):
            score = max(score, 3)
        vid = _vendor_id(usb_id)
        if vid is not None and vid in self.usb_vendor_ids:
            score = max(score, 2)
        if model and any(re.search(p, model, re.I) for p in self.model_patterns):
            score = max(score, 1)
        return score

    def timeout_for(self, command: str) -> float:
        """How long `command` may take on this modem: the vendor's entry, else the generic 3GPP one, else the
        default. Within a table the longest matching prefix wins ('+QENG="servingcell"' over '+QENG')."""
        seconds = self._timeout_cache.get(command)
        if seconds is None:
            seconds = _timeout_for(self.timeouts, self.default_timeout, normalize_command(command) or "")
            if len(self._timeout_cache) < 512:      # bounded: commands with arguments are many
                self._timeout_cache[command] = seconds
        return seconds

    def urc_prefixes(self) -> tuple[str, ...]:
        """Every unsolicited line prefix of this modem, the vendor's first (ModemManager prepends them too)."""
        return self.vendor_urc_prefixes + tuple(p for p in GENERIC_URC_PREFIXES if p not in self.vendor_urc_prefixes)

    def status_changed_by(self, line: str) -> bool:
        """Whether an unsolicited line says the SIM or the registration changed (status worth re-reading)."""
        return line.startswith(GENERIC_STATUS_URC_PREFIXES) or line.startswith(self.vendor_status_urc_prefixes)

    def sim_slot_commands(self, model: str | None = None) -> tuple[str | None, str | None]:
        """(query, switch format) for this model: the family's unless sim_slot_models names the model."""
        for pattern, query, switch in self.sim_slot_models:
            if model and re.search(pattern, model, re.I):
                return query, switch
        return self.sim_slot_query, self.sim_slot_switch

    def sim_switch_command(self, slot: int, model: str | None = None) -> str | None:
        switch = self.sim_slot_commands(model)[1]
        if switch is None or not 1 <= slot <= self.sim_slots:
            return None
        return switch.format(slot=slot, index=slot - 1)


def _timeout_for(vendor: Mapping[str, float], default: float, key: str) -> float:
    for table in (vendor, GENERIC_TIMEOUTS):
        best = max((p for p in table if key.startswith(p)), key=len, default=None)
        if best is not None:
            return table[best]
    return default


def _vendor_id(usb_id: str | tuple[int, int] | None) -> int | None:
    if usb_id is None:
        return None
    if isinstance(usb_id, tuple):
        return usb_id[0] if usb_id else None
    m = re.match(r"\s*(?:0x)?([0-9a-fA-F]{4})", str(usb_id))
    return int(m.group(1), 16) if m else None
