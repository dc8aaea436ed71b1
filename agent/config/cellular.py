"""[cellular] (SIM switching, operators, data session, recovery ladder) and [sms]: docs/cellular.md.

Constraints are declared on the fields (agent.config.schema); validate() holds what involves several keys.
"""
from dataclasses import dataclass, field
from typing import Annotated, Literal

from agent.config.schema import Check, File, Invalid, NonEmpty, Pattern, Range, Secret
from agent.config.sections import NonNegative, Positive, invalid

MAX_SLOT = 8
PDP_TYPES = ("IP", "IPV6", "IPV4V6")      # modem.device.PDP_TYPES (a test keeps the two equal)
Plmn = Annotated[str, Pattern(r"[0-9]{5,6}", 'PLMNs (MCC + MNC, 5 or 6 digits, e.g. "20801")')]
# printable ASCII without space, quote and comma: it goes into AT+CGDCONT
Apn = Annotated[str, Pattern(r"[!#-+\--:<-~]{0,100}", "up to 100 printable characters without spaces, quotes "
                                                      "or commas")]
SimPin = Annotated[Secret | None, Pattern(r"[0-9]{4,8}", "4 to 8 digits")]     # goes into AT+CPIN="..."


@dataclass(frozen=True)
class SimRule:
    """A SIM-switch rule without a threshold: its condition must hold `duration_s` before it switches."""
    # false: this rule never switches
    enabled: bool = True
    # the condition must hold this long
    duration_s: NonNegative = 60.0


@dataclass(frozen=True)
class WeakSignalRule:
    # false: this rule never switches
    enabled: bool = True
    rsrp_dbm: Annotated[float, Range(-160, -40)] = -120.0   # weak: RSRP below this ...
    sinr_db: Annotated[float, Range(-30, 40)] = -5.0        # ... or SINR below this (each only when reported)
    # the condition must hold this long
    duration_s: NonNegative = 300.0


@dataclass(frozen=True)
class DataPathRule:
    # false: this rule never switches
    enabled: bool = True
    failures: Annotated[int, Range(1)] = 5   # this many cellular-link probes failed in a row, the first of them
    duration_s: NonNegative = 120.0          # at least this long ago


@dataclass(frozen=True)
class SimRules:
    """docs/cellular.md#rules. The data cap itself is part of [usage]."""
    # SIM missing, failed, blocked (PUK), wrong, or still asking for a PIN
    sim_failure: SimRule = field(default_factory=lambda: SimRule(duration_s=20.0))
    # the network rejects the SIM
    registration_denied: SimRule = field(default_factory=lambda: SimRule(duration_s=30.0))
    # SIM ready, not registered (searching, not registered, emergency only)
    no_registration: SimRule = field(default_factory=lambda: SimRule(duration_s=120.0))
    # the SIM's [usage] cap is reached
    data_cap: SimRule = field(default_factory=lambda: SimRule(duration_s=0.0))
    # registered while roaming on a SIM with roaming = false
    roaming: SimRule = field(default_factory=lambda: SimRule(duration_s=60.0))
    # the cellular link's probes keep failing
    data_failing: DataPathRule = field(default_factory=DataPathRule)
    # RSRP or SINR below its threshold
    weak_signal: WeakSignalRule = field(default_factory=WeakSignalRule)


@dataclass(frozen=True)
class SimConfig:
    """One [[cellular.sim]] table: what is known about the SIM in one slot."""
    # the slot this table describes, one of [cellular] sim_slots
    slot: Annotated[int, Range(1, MAX_SLOT)] = 0
    apn: Apn = ""                # "" = from mobile-broadband-provider-info by the SIM's MCC/MNC
    # IP = IPv4 only, IPV6, IPV4V6 = both
    pdp_type: Literal[PDP_TYPES] = "IPV4V6"
    # the SIM's PIN, sent only when the SIM asks for one
    pin: SimPin = None
    roaming: bool = False        # may stay registered while roaming (else the roaming rule switches)
    preferred_plmns: tuple[Plmn, ...] = ()    # empty: [cellular] preferred_plmns
    forbidden_plmns: tuple[Plmn, ...] = ()    # empty: [cellular] forbidden_plmns


@dataclass(frozen=True)
class LadderConfig:
    """The recovery ladder (docs/cellular.md#recovery-ladder): when it starts and how long each step gets."""
    # false: the modem is never reset, rebound or power-cycled by the agent
    enabled: bool = True
    unresponsive_s: Positive = 30.0     # AT polls failing this long
    port_gone_s: Positive = 60.0        # the serial port missing this long
    no_service_s: Positive = 300.0      # SIM ready, not denied, not registered this long (SIM rules act first)
    data_down_s: Positive = 300.0       # registered but the data session will not come up, this long
    # steps: how long each gets to show it helped before the next one
    reregister_window_s: Positive = 60.0
    # radio off and on
    radio_window_s: Positive = 60.0
    # modem reset
    reset_window_s: Positive = 120.0
    # USB unbind and bind
    usb_window_s: Positive = 120.0
    # power cycle through [board] power_gpio
    power_window_s: Positive = 180.0
    max_resets_per_hour: Annotated[int, Range(0)] = 4     # modem reset, USB rebind and power cycle together


def _distinct(items: tuple) -> bool:
    return len(set(items)) == len(items)


@dataclass(frozen=True)
class CellularConfig:
    """SIM switching, operator selection, data session, recovery ladder (docs/cellular.md)."""
    # order = preference; clamped to the slots the modem has
    sim_slots: Annotated[tuple[Annotated[int, Range(1, MAX_SLOT)], ...], NonEmpty(),
                         Check(_distinct, f"distinct slot numbers from 1 to {MAX_SLOT}")] = (1, 2)
    min_dwell_s: Positive = 120.0            # no rule switches again sooner after a switch
    backoff_max_s: Positive = 3600.0         # the dwell doubles per switch that did not help, up to this
    switch_timeout_s: Positive = 90.0        # a switched-to SIM must register within this
    return_after_s: Positive = 1800.0        # on another SIM this long: try the preferred one again
    return_check_s: Positive = 60.0          # ... which must register within this, else back
    preferred_plmns: tuple[Plmn, ...] = ()   # "20801": manual selection (with automatic fallback), in order
    # never stay on these (e.g. an expensive roaming partner)
    forbidden_plmns: tuple[Plmn, ...] = ()
    operator_retry_s: Positive = 900.0       # between two attempts to move to a better / allowed PLMN
    data: bool = True                        # bring the data session up (false: ModemManager / NM do it)
    # the PDP context the data session uses
    pdp_cid: Annotated[int, Range(1, 24)] = 1
    # between two attempts to bring the data session up
    data_retry_s: Positive = 30.0
    data_check_s: Positive = 60.0            # the PDP address is re-read this often
    # mobile-broadband-provider-info; the default may be absent (no APN lookup then), a path written must exist
    apn_database: Annotated[str, File()] = "/usr/share/mobile-broadband-provider-info/serviceproviders.xml"
    # one [[cellular.sim]] table per SIM that needs an APN, a PIN or its own operators
    sim: tuple[SimConfig, ...] = ()
    # when to switch SIMs: one table per rule, docs/cellular.md#rules
    rules: SimRules = field(default_factory=SimRules)
    # when and how the modem is recovered, step by step
    ladder: LadderConfig = field(default_factory=LadderConfig)

    def validate(self) -> None:
        if self.backoff_max_s < self.min_dwell_s:
            raise invalid("backoff_max_s", f"at least min_dwell_s ({self.min_dwell_s:g})", self.backoff_max_s)
        seen: set[int] = set()
        for i, sim in enumerate(self.sim):
            where = f"sim #{i + 1}"
            if sim.slot not in self.sim_slots:
                raise invalid("slot", "one of sim_slots " + ", ".join(map(str, self.sim_slots)), sim.slot,
                              section=where)
            if sim.slot in seen:
                raise invalid("slot", "a slot no other [[cellular.sim]] describes", sim.slot, section=where)
            seen.add(sim.slot)

    def sim_for(self, slot: int) -> SimConfig:
        return next((s for s in self.sim if s.slot == slot), SimConfig(slot=slot))


@dataclass(frozen=True)
class SmsConfig:
    """SMS alerts and SMS commands (docs/cellular.md). SMS still gets through when the fiber is down."""
    # told about alert_events; "+33612345678", "0033...", or "06..." with country_code
    alert_numbers: tuple[str, ...] = ()
    # the events that send an alert (drill_result: only a failed drill)
    alert_events: tuple[Annotated[str, NonEmpty()], ...] = ("failover", "failback", "sim_switch", "data_cap_reached",
                                                            "drill_result", "drill_overdue", "power_lost",
                                                            "power_restored", "battery_low")
    command_numbers: tuple[str, ...] = ()    # the only numbers whose SMS commands are considered
    # every SMS command starts with it; required with command_numbers
    pin: Annotated[Secret | None, Pattern(r"[!-~]{4,32}", "4 to 32 ASCII characters without spaces")] = None
    # "33": national numbers (0612...) read as +33612...
    country_code: Annotated[str, Pattern(r"[0-9]{0,3}", '1 to 3 digits (33 for France) or ""')] = ""
    max_alerts_per_hour: Annotated[int, Range(1, 1000)] = 6   # per number; beyond, alerts wait and go out merged
    coalesce_s: Annotated[float, Range(0, 600)] = 5.0         # events this close together go out as one SMS
    max_replies_per_hour: Annotated[int, Range(1, 1000)] = 20   # answers to commands, per number
    # per number; beyond, its SMS are ignored until the hour is over
    max_bad_pins_per_hour: Annotated[int, Range(1, 1000)] = 5
    # a stored command found later (agent down) and older is not run
    command_max_age_s: Annotated[float, Range(60, 86400)] = 900.0
    # list the SIM's messages this often too (a +CMTI can be missed)
    check_interval_s: Annotated[float, Range(10, 86400)] = 300.0
    send_retries: Annotated[int, Range(0, 10)] = 3   # an SMS the modem could not send is tried again this often
    # the primary uplink in alert texts: "FIBER DOWN 14:02 ..."
    primary_label: Annotated[str, Pattern(r"[ -~]{1,16}", "1 to 16 printable ASCII characters")] = "FIBER"

    def validate(self) -> None:
        from agent.config.grammar import normalize_number   # the SMS code reads the numbers with it too
        for name in ("alert_numbers", "command_numbers"):
            for number in getattr(self, name):
                if normalize_number(number, self.country_code) is None:
                    raise invalid(name, "numbers written +33... or 0033..."
                                  + ("" if self.country_code else " (06... needs country_code)"), number)
        if self.command_numbers and self.pin is None:
            raise Invalid("a PIN when command_numbers is set", "none", key="pin")
