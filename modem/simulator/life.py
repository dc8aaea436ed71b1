"""The simulated modem's life outside commands: boot and reboot, the SIM, network registration, the clock and
URC storms. A part of Engine (modem/simulator/engine.py), which owns the state these methods use."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from modem.simulator.actions import PortDown, PortUp
from modem.simulator.handlers.network import registration_line
from modem.simulator.model import DENIED, NOT_REGISTERED, REGISTERED_HOME, REGISTERED_ROAMING, SEARCHING
from modem.simulator.personalities import OPERATORS
from modem.simulator.radio import RSRP_NO_SERVICE
from modem.simulator.reply import CmeError

TZ_QUARTERS = 4              # +04: CET, the network's local time zone
RTC_EPOCH = datetime(1980, 1, 6, tzinfo=timezone.utc)   # Quectel's RTC before any network time


class ModemLife:
    # ================================================================ boot, reboot, power

    def reboot(self, down: float) -> None:
        """The port goes away (USB re-enumeration) for `down` seconds, then the modem boots again."""
        m = self.model
        if m.port_present:
            self._actions.append(PortDown())
        self._epoch += 1
        self._abort_command()
        self._hang_timer = self._storm_timer = self._reg_timer = self._boot_timer = None
        self._awaiting_host = False
        m.port_present = False
        m.booted = False
        m.hanging = m.hang_forever = False
        m.storm_remaining = 0
        self.drop_data(urc=False)
        m.registration, m.operator_plmn = NOT_REGISTERED, None
        m.sim_busy = False
        # volatile settings back to their power-on values; NV ones (COPS mode, CTZU, usbnet, slot) stay
        m.echo, m.verbose, m.cmee = True, True, self.p.cmee_default
        m.creg_n = m.cgreg_n = m.cereg_n = m.c5greg_n = 0
        m.cmgf, m.cscs, m.ctzr, m.cgerep = 0, "IRA", self.p.ctzr_default, 0
        m.cfun = 1
        m.nitz_known = False
        self._rtc_value, self._rtc_set_at, self._rtc_tz = RTC_EPOCH, self.now, 0
        if not m.powered_off:
            self.at(down, self._port_up)

    def _port_up(self) -> None:
        m = self.model
        m.port_present = True
        self._actions.append(PortUp())
        # Boot URCs go out once a host has the port open (else pyserial's open-time flush eats them), or after a
        # while anyway, as a real modem that nobody listens to does.
        self._awaiting_host = True
        wait = max(self.timing.boot_urc_fallback, self.d(self.timing.boot_urc))
        self._boot_timer = self.at(wait, self._boot_anyway)

    def _boot_anyway(self) -> None:
        if self._awaiting_host:
            self._awaiting_host = False
            self._boot()

    def _boot(self) -> None:
        def rdy() -> None:
            m = self.model
            m.booted = True
            m.boot_count += 1
            for line in self.p.boot_urcs:
                self.urc(line)
            self.sim_init(self.d(self.timing.sim_read))
        self.at(self.d(self.timing.boot_urc), rdy)

    # ================================================================ SIM

    def sim_status(self) -> str:
        """'absent', 'off' (CFUN=0), 'busy', 'SIM PIN', 'SIM PUK' or 'READY' for the active slot."""
        m = self.model
        s = m.sim
        if not s.inserted:
            return "absent"
        if m.cfun == 0:
            return "off"
        if m.sim_busy:
            return "busy"
        return s.pin_state

    def require_sim(self) -> None:
        """Raise the +CME ERROR a real modem gives when the SIM cannot be used."""
        st = self.sim_status()
        code = {"absent": 10, "off": 13, "busy": 14, "SIM PIN": 11, "SIM PUK": 12}.get(st)
        if code is not None:
            raise CmeError(code)

    def sim_init(self, delay: float) -> None:
        """(Re)read the card in the active slot: busy for `delay`, then the vendor's SIM URCs, then register."""
        m = self.model
        self._sim_gen += 1
        gen = self._sim_gen
        if not m.sim.inserted:
            m.sim_busy = False

            def absent() -> None:
                if gen != self._sim_gen:
                    return
                for line in self.p.sim_absent_urcs:
                    self.urc(line)
                self.update_registration()
            self.at(delay, absent)
            return
        m.sim_busy = True
        m.sim.lock()

        def ready() -> None:
            if gen != self._sim_gen:            # pulled out, or another slot chosen, while being read
                return
            m.sim_busy = False
            urcs = self.p.sim_ready_urcs if m.sim.pin_state == "READY" else self.p.sim_pin_urcs
            self.urc_sequence(list(urcs))
            self.update_registration()
        self.at(delay, ready)

    def urc_sequence(self, lines: list[str], gap: float = 0.3) -> None:
        """The first at once, the others spaced out (+CPIN: READY, then SMS DONE, PB DONE ...)."""
        for n, line in enumerate(lines):
            if n == 0:
                self.urc(line)
            else:
                self.at(self.d(gap * n), lambda line=line: self.urc(line))

    def sim_unlocked(self) -> None:
        """The PIN (or PUK) was accepted: the card is read, then the modem registers."""
        self.urc_sequence([u for u in self.p.sim_ready_urcs if not u.startswith("+CPIN")])
        self.update_registration()

    def select_slot(self, slot: int) -> None:
        """Dual SIM switch: deregister, power the other card, read it, register on its network."""
        m = self.model
        if slot == m.active_slot:
            return
        self._set_reg(NOT_REGISTERED, None)
        if self._reg_timer:
            self._reg_timer.cancel()
            self._reg_timer = None
        m.active_slot = slot
        m.sim_busy = True
        self._sim_gen += 1
        gen = self._sim_gen

        def read() -> None:
            if gen == self._sim_gen:
                self.sim_init(self.d(self.timing.sim_read))
        self.at(self.d(self.timing.slot_switch), read)

    # ================================================================ registration

    def _reg_target(self) -> tuple[int, str | None]:
        m = self.model
        if m.cfun != 1 or not m.booted or m.powered_off:
            return NOT_REGISTERED, None
        s = m.sim
        if not s.inserted or m.sim_busy or s.pin_state != "READY" or m.cops_mode == 2:
            return NOT_REGISTERED, None
        if s.denied:
            return DENIED, None
        if m.rsrp <= RSRP_NO_SERVICE:
            return SEARCHING, None
        plmn = m.manual_plmn if m.cops_mode == 1 and m.manual_plmn else s.home_plmn
        if plmn not in OPERATORS:
            return SEARCHING, None
        if plmn in s.card.forbidden:
            return DENIED, None
        return (REGISTERED_HOME if plmn == s.home_plmn else REGISTERED_ROAMING), plmn

    def update_registration(self, delay: float | None = None) -> None:
        """Move towards what the network would give now; registering takes a while (searching first)."""
        m = self.model
        stat, plmn = self._reg_target()
        if stat in (REGISTERED_HOME, REGISTERED_ROAMING):
            if m.registration == stat and m.operator_plmn == plmn:
                return
            if m.registered:                       # registered elsewhere (manual selection): leave it first
                self._set_reg(SEARCHING, None)
            elif m.registration != SEARCHING:
                self._set_reg(SEARCHING, None)
            if self._reg_timer is not None and not self._reg_timer.cancelled:
                return
            self._reg_timer = self.at(self.d(self.timing.register) if delay is None else delay,
                                      self._registration_done)
            return
        if self._reg_timer is not None:
            self._reg_timer.cancel()
            self._reg_timer = None
        self._set_reg(stat, None)

    def _registration_done(self) -> None:
        self._reg_timer = None
        stat, plmn = self._reg_target()
        if stat in (REGISTERED_HOME, REGISTERED_ROAMING):
            self._set_reg(stat, plmn)
        else:
            self.update_registration()

    def _set_reg(self, stat: int, plmn: str | None) -> None:
        m = self.model
        if m.registration == stat and m.operator_plmn == plmn:
            return
        was = m.registered
        m.registration, m.operator_plmn = stat, plmn
        if was and not m.registered:
            self.drop_data()
        for name, n in (("+CREG", m.creg_n), ("+CGREG", m.cgreg_n), ("+CEREG", m.cereg_n),
                        ("+C5GREG", m.c5greg_n if self.p.nr else 0)):
            if n:
                self.urc(registration_line(self, name, n, urc=True))
        if m.registered and not was:
            self._nitz(emit=True)

    def drop_data(self, urc: bool = True) -> None:
        m = self.model
        for slot in m.slots.values():
            for ctx in slot.pdp.values():
                if ctx.active:
                    ctx.active, ctx.address = False, ""
                    if urc and m.cgerep and slot.slot == m.active_slot:
                        self.urc(f"+CGEV: NW PDN DEACT {ctx.cid}")
        m.data_call = False

    # ================================================================ time

    def _network_time(self) -> datetime:
        return datetime.fromtimestamp(self.wallclock(), timezone.utc)

    def _nitz(self, emit: bool) -> None:
        """Network time arrives with the registration (NITZ); +CTZU=1 sets the RTC from it."""
        m = self.model
        m.nitz_known = True
        utc = self._network_time()
        if m.ctzu:
            self._set_rtc(utc + timedelta(minutes=15 * TZ_QUARTERS), TZ_QUARTERS)
        if not emit:
            return
        if m.ctzr == 1:
            self.urc(f'+CTZV: "{TZ_QUARTERS:+03d}"')
        elif m.ctzr == 2:
            self.urc(f'+CTZE: "{TZ_QUARTERS:+03d}",0,"{utc:%Y/%m/%d,%H:%M:%S}"')

    def ctzu_enabled(self) -> None:
        if self.model.nitz_known:               # the modem kept the last NITZ
            self._set_rtc(self._network_time() + timedelta(minutes=15 * TZ_QUARTERS), TZ_QUARTERS)

    def _set_rtc(self, local: datetime, tz: int) -> None:
        self._rtc_value, self._rtc_set_at, self._rtc_tz = local, self.now, tz

    def set_rtc(self, local: datetime, tz: int) -> None:
        self._set_rtc(local, tz)

    def rtc(self) -> tuple[datetime, int]:
        return self._rtc_value + timedelta(seconds=self.now - self._rtc_set_at), self._rtc_tz

    def network_timestamp(self) -> str:
        local = self._network_time() + timedelta(minutes=15 * TZ_QUARTERS)
        return f"{local:%y/%m/%d,%H:%M:%S}{TZ_QUARTERS:+03d}"

    # ================================================================ URC storm

    def _storm_one(self) -> None:
        m = self.model
        if m.storm_remaining <= 0:
            return
        urcs = self.p.storm_urcs
        line = urcs[self._storm_i % len(urcs)]
        self._storm_i += 1
        m.storm_remaining -= 1
        self.urc(line)

    def _storm_tick(self) -> None:
        self._storm_one()
        if self.model.storm_remaining > 0:
            interval = max(self.timing.urc_storm_floor, self.d(self.timing.urc_storm_interval))
            self._storm_timer = self.at(interval, self._storm_tick)
        else:
            self._storm_timer = None
