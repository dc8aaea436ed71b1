"""What a command handler is, what it may ask of the modem, and the two registries (3GPP and per vendor).

A handler gets the modem (the Modem interface below: the engine implements it) and the parsed Command and returns
a Reply (or a list of lines for a plain query); it raises AtError / CmeError / CmsError, or ValueError for bad
parameters (the engine turns that into +CME ERROR: 50). Handlers read and change `e.model`; anything that takes
the real modem time goes into Reply.after so that it happens when the answer does. Handlers never import the
engine: they see only this interface.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Protocol

from modem.simulator.atparse import Command
from modem.simulator.model import DENIED, ModemModel
from modem.simulator.personalities import Operator, Personality, Timing
from modem.simulator.reply import AtError, Reply, bad_params


class Modem(Protocol):
    """The simulated modem as its command handlers see it."""
    model: ModemModel
    p: Personality
    timing: Timing
    now: float

    def d(self, seconds: float) -> float: ...                          # a real modem's delay, scaled by speed
    def at(self, delay: float, fn: Callable[[], None]) -> object: ...   # run fn later, on the modem's clock
    def last_words(self) -> float: ...
    def urc(self, line: str) -> None: ...
    def urc_sequence(self, lines: list[str], gap: float = 0.3) -> None: ...
    def reboot(self, down: float) -> None: ...
    def sim_status(self) -> str: ...
    def require_sim(self) -> None: ...
    def sim_init(self, delay: float) -> None: ...
    def sim_unlocked(self) -> None: ...
    def select_slot(self, slot: int) -> None: ...
    def update_registration(self, delay: float | None = None) -> None: ...
    def drop_data(self, urc: bool = True) -> None: ...
    def ctzu_enabled(self) -> None: ...
    def set_rtc(self, local: datetime, tz: int) -> None: ...
    def rtc(self) -> tuple[datetime, int]: ...
    def network_timestamp(self) -> str: ...


Handler = Callable[[Modem, Command], "Reply | list[str]"]
GENERIC: dict[str, Handler] = {}
_VENDOR: dict[tuple[str, str, str | None], Handler] = {}


def command(*names: str) -> Callable[[Handler], Handler]:
    """A 3GPP / V.250 command every personality answers."""
    def deco(fn: Handler) -> Handler:
        for n in names:
            GENERIC[n] = fn
        return fn
    return deco


def vendor(family: str, *names: str, feature: str | None = None) -> Callable[[Handler], Handler]:
    """A command of one vendor family ("quectel" ...); with a feature, only personalities that have it."""
    def deco(fn: Handler) -> Handler:
        for n in names:
            _VENDOR[(family, n, feature)] = fn
        return fn
    return deco


def vendor_handlers(family: str, features: frozenset[str] | tuple[str, ...]) -> dict[str, Handler]:
    return {name: fn for (fam, name, feature), fn in _VENDOR.items()
            if fam == family and (feature is None or feature in features)}


def only(cmd: Command, *kinds: str) -> None:
    if cmd.kind not in kinds:
        raise AtError()


def setting(cmd: Command, name: str, values: tuple[int, ...]) -> int:
    v = cmd.int_arg(0)
    if v is None or v not in values:
        raise bad_params()
    return v


def ucs2_encode(text: str) -> str:
    return "".join(f"{ord(ch):04X}" for ch in text)


def ucs2_decode(text: str) -> str:
    t = text.strip()
    try:
        if len(t) % 4 == 0 and t:
            return "".join(chr(int(t[i:i + 4], 16)) for i in range(0, len(t), 4))
    except ValueError:
        pass
    return text


# ---- shared by several vendors' handlers

LTE_BW = {1: 0, 3: 1, 5: 2, 10: 3, 15: 4, 20: 5}     # LTE bandwidth in MHz -> its code in serving-cell reports


def camped(e: Modem) -> Operator | None:
    """The cell the modem sits on: the registered network, or in limited service (denied) the SIM's own."""
    m = e.model
    if m.operator is not None:
        return m.operator
    if m.registration == DENIED and m.sim.inserted:
        return m.sim.operator
    return None


def power_off_reply(e: Modem, urc: str | None) -> Reply:
    """OK, maybe a last URC, then the port goes away for good: only a power cycle brings the modem back."""
    def off() -> None:
        e.model.powered_off = True
        e.reboot(0)

    def later() -> None:
        def goodbye() -> None:
            if urc:
                e.urc(urc)
            e.at(e.last_words(), off)
        e.at(e.last_words(), goodbye)
    return Reply([], delay=e.timing.set, after=later)


def slot_switch(e: Modem, cmd: Command, prefix: str, base: int) -> list[str] | Reply:
    """Shared by AT+QUIMSLOT (1/2), AT+QDSIM (0/1), AT+SWITCHSIM (0/1), AT#SIMSELECT (1/2)."""
    m = e.model
    values = tuple(range(base, base + e.p.slots))
    if cmd.kind == "read":
        return [f"{prefix}: {m.active_slot - 1 + base}"]
    if cmd.kind == "test":
        return [f"{prefix}: ({','.join(str(v) for v in values)})"]
    only(cmd, "set")
    slot = setting(cmd, prefix, values) - base + 1
    return Reply([], delay=e.timing.set, after=lambda: e.at(0, lambda: e.select_slot(slot)))
