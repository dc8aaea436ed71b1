"""The vendor plugin interface: declarative data the agent uses to talk to one modem family. No IO here."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

Parser = Callable[[list[str]], dict]


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
    # SIM slot control where the modem has it; switch is a format string with {slot} (1-based).
    sim_slot_query: str | None = None
    sim_slot_switch: str | None = None
    sim_slots: int = 1
    # Models of the family whose slot commands differ: (model regex, query, switch format), first match wins.
    sim_slot_models: tuple[tuple[str, str, str], ...] = ()
    # Vendor data-call commands tried before the generic AT+CGACT=1,{cid} (format with {cid}); an ERROR means
    # this model lacks it and the next is tried.
    data_connect: tuple[str, ...] = ()
    # Per-command timeouts in seconds, keyed by the normalised command (see modem.decoder.normalize_command).
    timeouts: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    default_timeout: float = 5.0
    # Vendor-specific parsers, keyed like the dispatch table of modem.decoder: "+QENG=servingcell".
    parsers: Mapping[str, Parser] = field(default_factory=lambda: MappingProxyType({}))

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
        from modem.decoder import normalize_command
        key = normalize_command(command)
        if key in self.timeouts:
            return self.timeouts[key]
        base = key.split("=", 1)[0].rstrip("?")
        for k in (base + "?", base + "=?", base):
            if k in self.timeouts:
                return self.timeouts[k]
        return self.default_timeout

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


def _vendor_id(usb_id: str | tuple[int, int] | None) -> int | None:
    if usb_id is None:
        return None
    if isinstance(usb_id, tuple):
        return usb_id[0] if usb_id else None
    m = re.match(r"\s*(?:0x)?([0-9a-fA-F]{4})", str(usb_id))
    return int(m.group(1), 16) if m else None


def frozen(d: dict) -> Mapping:
    return MappingProxyType(dict(d))
