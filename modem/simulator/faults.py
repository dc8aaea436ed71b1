"""Faults injected into the simulated modem (`relais sim-ctl`): hangs, garbage, URC storms, reboots, SIM and
network trouble. A part of Engine (modem/simulator/engine.py), which owns the state these methods use."""
from __future__ import annotations

from modem.simulator.model import Sms
from modem.simulator.radio import RSRP_DEFAULT, RSRP_MAX, RSRP_MIN

MAX_SMS = 50                 # SIM storage slots
_LINE_ENDS = (0x0D, 0x0A)

FAULTS = ("hang", "garbage", "urc-storm", "reboot", "sim-remove", "sim-insert", "deny", "allow", "signal",
          "sms-in", "pin", "power-cycle", "clear", "status")


class FaultInjection:
    # ================================================================ faults

    def _slot_arg(self, args: list[str], fault: str) -> int:
        if len(args) != 1:
            raise ValueError(f"{fault} takes one argument: SLOT (1..{self.p.slots})")
        try:
            slot = int(args[0])
        except ValueError:
            raise ValueError(f"{fault}: slot must be a number, not {args[0]!r}") from None
        if slot not in self.model.slots:
            raise ValueError(f"{fault}: {self.p.name} has slot(s) 1..{self.p.slots}, not {slot}")
        return slot

    @staticmethod
    def _seconds(args: list[str], fault: str, allow_forever: bool = False) -> float | None:
        if len(args) != 1:
            raise ValueError(f"{fault} takes one argument: SECONDS" + (" or 'forever'" if allow_forever else ""))
        if allow_forever and args[0].lower() == "forever":
            return None
        try:
            s = float(args[0])
        except ValueError:
            raise ValueError(f"{fault}: {args[0]!r} is not a number of seconds") from None
        if not 0 <= s <= 86400:
            raise ValueError(f"{fault}: seconds must be between 0 and 86400")
        return s

    def _fault_hang(self, args: list[str]) -> str:
        secs = self._seconds(args, "hang", allow_forever=True)
        m = self.model
        if self._hang_timer:
            self._hang_timer.cancel()
            self._hang_timer = None
        self._abort_command()
        m.hanging = True
        m.hang_forever = secs is None
        if secs is None:
            return "hanging until power cycle"

        def end() -> None:
            m.hanging = False
            self._hang_timer = None
        self._hang_timer = self.at(secs, end)
        return f"hanging for {secs:g} s"

    def _fault_garbage(self, args: list[str]) -> str:
        n = _count_arg("garbage", args, "BYTES", 256, 65536)
        pieces = [b"\x00\x00", b"\xff\xfe\xc3\x28", b"\r\n+CRE", b"OK", b"\r\n\r\n+CME ERR", b"\xe2\x82",
                  b"\x1b[0m", b"\r\r\n"]
        out = bytearray()
        while len(out) < n:
            if self.rng.random() < 0.3:
                out += self.rng.choice(pieces)
            else:
                out += bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 12)))
        out = out[:n]
        while out and out[-1] in _LINE_ENDS:       # end mid-line: the next real line must resynchronise
            out[-1] = ord("#")
        self._write(bytes(out))
        return f"sent {len(out)} bytes of garbage"

    def _fault_urc_storm(self, args: list[str]) -> str:
        n = _count_arg("urc-storm", args, "N", 200, 100000)
        self.model.storm_remaining += n
        if self._storm_timer is None:
            self._storm_tick()
        return f"storm of {n} URCs"

    def _fault_reboot(self, args: list[str]) -> str:
        secs = self._seconds(args, "reboot")
        self.reboot(secs)
        return f"port gone for {secs:g} s, then boot"

    def _fault_sim_remove(self, args: list[str]) -> str:
        slot = self._slot_arg(args, "sim-remove")
        m = self.model
        s = m.slots[slot]
        if not s.inserted:
            return f"slot {slot} already empty"
        s.inserted = False
        if slot == m.active_slot:
            m.sim_busy = False
            self._sim_gen += 1
            for line in self.p.sim_removed_urcs:
                self.urc(line)
            self.update_registration()
        return f"SIM removed from slot {slot}"

    def _fault_sim_insert(self, args: list[str]) -> str:
        slot = self._slot_arg(args, "sim-insert")
        m = self.model
        s = m.slots[slot]
        if s.inserted:
            return f"slot {slot} already has its SIM"
        s.inserted = True
        s.lock()
        if slot == m.active_slot and m.booted and m.cfun != 0:
            self.sim_init(self.d(self.timing.sim_read))
        return f"SIM inserted in slot {slot}"

    def _fault_deny(self, args: list[str]) -> str:
        return self._set_denied(self._slot_arg(args, "deny"), True)

    def _fault_allow(self, args: list[str]) -> str:
        return self._set_denied(self._slot_arg(args, "allow"), False)

    def _set_denied(self, slot: int, denied: bool) -> str:
        self.model.slots[slot].denied = denied
        if slot == self.model.active_slot:
            self.update_registration()
        return f"registration {'denied' if denied else 'allowed'} on slot {slot}"

    def _fault_signal(self, args: list[str]) -> str:
        if len(args) != 1:
            raise ValueError("signal takes one argument: RSRP_DBM")
        try:
            rsrp = int(float(args[0]))
        except ValueError:
            raise ValueError(f"signal: {args[0]!r} is not a number of dBm") from None
        if not RSRP_MIN <= rsrp <= RSRP_MAX:
            raise ValueError(f"signal: RSRP must be between {RSRP_MIN} and {RSRP_MAX} dBm")
        self.model.rsrp = rsrp
        self.update_registration()
        sig = self.model.signal
        return f"RSRP {sig.rsrp} dBm, RSSI {sig.rssi} dBm, RSRQ {sig.rsrq:g} dB, SINR {sig.sinr:g} dB"

    def _fault_sms_in(self, args: list[str]) -> str:
        if len(args) < 2:
            raise ValueError("sms-in takes NUMBER TEXT...")
        number, text = args[0], " ".join(args[1:])
        if not number.lstrip("+").isdigit() or len(number) > 20:
            raise ValueError(f"sms-in: {number!r} is not a phone number")
        m = self.model
        if self.sim_status() != "READY":
            raise ValueError("sms-in: no usable SIM in the active slot")
        if not m.registered:
            raise ValueError("sms-in: the modem is not registered, the network cannot deliver")
        used = {s.index for s in m.sim.sms}
        free = [i for i in range(self.p.sms_first_index, self.p.sms_first_index + MAX_SMS) if i not in used]
        if not free:
            raise ValueError("sms-in: SIM storage full")
        sms = Sms(index=free[0], status="REC UNREAD", sender=number, text=text, timestamp=self.network_timestamp())
        m.sim.sms.append(sms)
        m.sim.sms.sort(key=lambda s: s.index)
        self.urc(f'+CMTI: "SM",{sms.index}')
        return f"SMS from {number} stored at index {sms.index}"

    def _fault_pin(self, args: list[str]) -> str:
        if len(args) != 2:
            raise ValueError("pin takes SLOT and PIN (4-8 digits) or 'none'")
        slot = self._slot_arg(args[:1], "pin")
        pin = None if args[1].lower() == "none" else args[1]
        if pin is not None and not (pin.isdigit() and 4 <= len(pin) <= 8):
            raise ValueError("pin: a PIN is 4 to 8 digits")
        s = self.model.slots[slot]
        s.pin, s.pin_attempts = pin, 3
        if pin is None:
            s.pin_state = "READY"
            return f"PIN disabled on slot {slot}"
        return f"PIN {pin} on slot {slot}, asked at the next SIM read"

    def _fault_power_cycle(self, args: list[str]) -> str:
        if args:
            raise ValueError("power-cycle takes no argument")
        self.model.powered_off = False
        self.reboot(self.d(self.timing.power_cycle_down))          # also ends hangs and storms
        return "power cycled"

    def _fault_clear(self, args: list[str]) -> str:
        if args:
            raise ValueError("clear takes no argument")
        m = self.model
        if self._hang_timer:
            self._hang_timer.cancel()
            self._hang_timer = None
        m.hanging = m.hang_forever = False
        m.storm_remaining = 0
        m.rsrp = RSRP_DEFAULT
        for slot in m.slots.values():
            slot.denied = False
            if not slot.inserted:
                slot.inserted = True
                slot.lock()
                if slot.slot == m.active_slot and m.booted and m.cfun != 0:
                    self.sim_init(self.d(self.timing.sim_read))
        if m.booted:
            self.update_registration()
        return "all faults cleared"

    def _fault_status(self, args: list[str]) -> str:
        m = self.model
        reg = {0: "not registered", 1: "registered (home)", 2: "searching", 3: "denied", 5: "roaming"}
        op = m.operator.long_name if m.operator else "-"
        state = ("powered off" if m.powered_off else "port gone" if not m.port_present else
                 "hanging" if m.hanging else "booting" if not m.booted else "up")
        return (f"{self.p.name} {state}, slot {m.active_slot} SIM {self.sim_status()}, "
                f"{reg.get(m.registration, m.registration)} on {op}, RSRP {m.rsrp} dBm, "
                f"data {'up' if m.data_active else 'down'}, {m.commands_received} commands")


def _count_arg(fault: str, args: list[str], name: str, default: int, most: int) -> int:
    """The optional count argument of a fault (`garbage [BYTES]`, `urc-storm [N]`): 1..most, with a clear error."""
    if len(args) > 1:
        raise ValueError(f"{fault} takes at most one argument: {name}")
    try:
        n = int(args[0]) if args else default
    except ValueError:
        raise ValueError(f"{fault}: {args[0]!r} is not a number") from None
    if not 1 <= n <= most:
        raise ValueError(f"{fault}: {name} must be between 1 and {most}")
    return n
