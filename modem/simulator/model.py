"""The simulated modem's state, readable by tests as `sim.model`.

Only the engine's thread writes it; tests read it (poll a condition rather than sleep). Values are plain Python
types so that a test can compare them without knowing the engine.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from modem.simulator.personalities import OPERATORS, Operator, Personality, SimCard
from modem.simulator.radio import RSRP_DEFAULT, Signal

# 3GPP TS 27.007 <stat> of +CREG/+CGREG/+CEREG/+C5GREG
NOT_REGISTERED, REGISTERED_HOME, SEARCHING, DENIED, UNKNOWN, REGISTERED_ROAMING = 0, 1, 2, 3, 4, 5


@dataclass
class PdpContext:
    cid: int
    pdp_type: str
    apn: str
    active: bool = False
    address: str = ""


@dataclass
class Sms:
    index: int
    status: str              # "REC UNREAD" | "REC READ"
    sender: str
    text: str
    timestamp: str           # "yy/MM/dd,hh:mm:ss+zz" as the network stamped it


@dataclass
class SentSms:
    number: str
    text: str
    mr: int
    slot: int


@dataclass
class SimSlot:
    slot: int
    card: SimCard
    inserted: bool = True
    pin: str | None = None                # None: PIN check disabled on this card
    pin_state: str = "READY"              # "READY" | "SIM PIN" | "SIM PUK"
    pin_attempts: int = 3
    denied: bool = False                  # the network rejects this SIM (deny fault)
    pdp: dict[int, PdpContext] = field(default_factory=dict)
    sms: list[Sms] = field(default_factory=list)      # SIM storage ("SM") lives on the card

    @property
    def iccid(self) -> str:
        return self.card.iccid

    @property
    def imsi(self) -> str:
        return self.card.imsi

    @property
    def msisdn(self) -> str:
        return self.card.msisdn

    @property
    def home_plmn(self) -> str:
        return self.card.home_plmn

    @property
    def operator(self) -> Operator:
        return OPERATORS[self.card.home_plmn]

    def lock(self) -> None:
        """The card was (re)powered: a card with a PIN asks for it again, a blocked card stays blocked."""
        if self.pin is not None and self.pin_state != "SIM PUK":
            self.pin_state = "SIM PIN"


@dataclass
class ModemModel:
    personality: Personality
    # --- settings (volatile: a reboot restores them) ---
    echo: bool = True
    verbose: bool = True                  # ATV1
    cmee: int = 0
    creg_n: int = 0
    cgreg_n: int = 0
    cereg_n: int = 0
    c5greg_n: int = 0
    cmgf: int = 0
    cscs: str = "IRA"
    ctzr: int = 0
    cgerep: int = 0
    # --- settings kept across reboots (NV) ---
    ctzu: int = 0
    cops_mode: int = 0                    # 0 auto, 1 manual, 2 deregistered
    cops_format: int = 0
    manual_plmn: str | None = None
    usbnet: int = 0
    qcfg: dict[str, str] = field(default_factory=dict)
    # --- power and port ---
    cfun: int = 1
    port_present: bool = True
    booted: bool = True                   # answering commands (after RDY)
    boot_count: int = 0
    hanging: bool = False
    hang_forever: bool = False
    powered_off: bool = False             # AT+QPOWD and friends: only a power cycle brings it back
    # --- SIM ---
    active_slot: int = 1
    slots: dict[int, SimSlot] = field(default_factory=dict)
    sim_busy: bool = False                # being read (after boot, insertion, slot switch)
    # --- network ---
    registration: int = NOT_REGISTERED
    operator_plmn: str | None = None
    rsrp: int = RSRP_DEFAULT
    data_call: bool = False               # QNETDEVCTL / vendor data call up
    netdev_cid: int = 0
    nitz_known: bool = False
    # --- SMS ---
    sent_sms: list[SentSms] = field(default_factory=list)
    next_mr: int = 1
    # --- faults ---
    storm_remaining: int = 0
    # --- traffic ---
    commands_received: int = 0
    command_log: list[str] = field(default_factory=list)    # the last 500 command lines, as received

    @classmethod
    def fresh(cls, personality: Personality) -> "ModemModel":
        m = cls(personality=personality, cmee=personality.cmee_default, ctzr=personality.ctzr_default)
        for n, card in enumerate(personality.sims, start=1):
            slot = SimSlot(slot=n, card=card, pin=card.pin)
            slot.pdp[1] = PdpContext(1, "IPV4V6", card.apn)
            slot.lock()
            m.slots[n] = slot
        return m

    # --- derived views (what tests usually want) ---
    @property
    def sim(self) -> SimSlot:
        return self.slots[self.active_slot]

    @property
    def registered(self) -> bool:
        return self.registration in (REGISTERED_HOME, REGISTERED_ROAMING)

    @property
    def operator(self) -> Operator | None:
        return OPERATORS.get(self.operator_plmn) if self.registered and self.operator_plmn else None

    @property
    def signal(self) -> Signal:
        return Signal.from_rsrp(self.rsrp)

    @property
    def rssi(self) -> int:
        return self.signal.rssi

    @property
    def rsrq(self) -> float:
        return self.signal.rsrq

    @property
    def sinr(self) -> float:
        return self.signal.sinr

    @property
    def csq(self) -> int:
        return self.signal.csq_rssi if self.registered else 99

    @property
    def pdp_contexts(self) -> dict[int, PdpContext]:
        return self.sim.pdp

    @property
    def data_active(self) -> bool:
        return any(c.active for c in self.sim.pdp.values())

    @property
    def rat(self) -> str:
        """'LTE', 'EN-DC' or 'NR5G-SA' for the current registration, '' when not registered."""
        op = self.operator
        if op is None:
            return ""
        if self.personality.nr and op.nr is not None:
            return "EN-DC" if op.nr.mode == "nsa" else "NR5G-SA"
        return "LTE"

    def set_pin(self, slot: int, pin: str | None) -> None:
        """Enable (or with None disable) the PIN of the card in `slot`; it is asked for at the next SIM read
        (boot, insertion, slot switch). Call before start() to have it asked for at once."""
        s = self.slots[slot]
        s.pin = pin
        s.pin_attempts = 3
        s.pin_state = "READY"
        s.lock()
