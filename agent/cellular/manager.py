"""The cellular manager: feeds what the modem, the probers and the usage meter report into the pure deciders
(rules.py: which SIM; ladder.py: which recovery step; operators.py: which PLMN; connection.py: the modem's trouble
and the data session) and carries out what they decide
through modem-service jobs and the board. Everything here runs on the core thread; the modem worker and the
recovery threads post their results back.

State: core.state["cellular"] (the "usage" key inside it belongs to agent/cellular/usage.py and is left alone).
Events: sim_switch, sim_switch_failed, operator_changed, operator_scan_progress, recovery_step, modem_recovered,
data_session, sim_pin_rejected. Commands: sim_switch, modem_reset, operator_scan, operator_select.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from enum import StrEnum
from typing import Any

from agent.cellular import connection, ladder, operators, recovery, rules, session
from agent.cellular.apn import ApnDatabase
from agent.cellular.settings import plmn_lists
from agent.config import Config
from agent.core import CommandError, Core, Deferred
from agent.linkmon.inputs import ProbeResult
from agent.modem_service import ModemPollFailed, ModemPortEvent, ModemService, ModemStatus
from board.gpio import PowerSwitch
from board.usb import UsbError, UsbRebind
from modem import vendors
from modem.at import AtError, TransportError

log = logging.getLogger(__name__)

TICK_S = 1.0                  # rule durations, ladder windows and switch timeouts are judged at this granularity
SCAN_PROGRESS_S = 10.0        # an operator scan reports how long it has been running this often
PIN_RETRYABLE_CME = (14,)     # SIM busy: the PIN was not consumed


class PinState(StrEnum):
    """A SIM's configured PIN (core.state["cellular"]["pin"])."""
    PENDING = "pending"          # sent, no answer yet
    OK = "ok"
    RETRY = "retry"              # not consumed (SIM busy, port lost): sent again at the next poll asking for it
    REJECTED = "rejected"        # wrong: never sent again by itself (three wrong PINs block the SIM)


class CellularManager:
    def __init__(self, core: Core, config: Config, modem: ModemService, *, power: PowerSwitch | None = None,
                 usb: UsbRebind | None = None, apn_database: ApnDatabase | None = None,
                 scan_progress_s: float = SCAN_PROGRESS_S):
        self.core, self.modem = core, modem
        self.cfg = config.cellular
        self.power_off_s = config.board.power_off_s
        # the failover's name for the modem's uplink: "backup", or the cellular one of the [[uplinks]]
        self.link = next((u.name for u in config.effective_uplinks() if u.cellular), "backup")
        self.power = power
        self.usb = usb or UsbRebind()
        self.apn_database = apn_database or ApnDatabase(self.cfg.apn_database)
        self.scan_progress_s = scan_progress_s
        self.sims = rules.initial(rules.Settings.from_config(self.cfg))
        self.ladder = ladder.initial(ladder.LadderSettings.from_config(self.cfg.ladder))
        self.ops = operators.OperatorState()
        self._plugin_key: tuple | None = None
        self._switch_supported = True
        self.conn = connection.initial(connection.Settings.from_config(self.cfg))
        self._iccids: dict[int, str] = {}
        self._capped: dict[str, Any] = {}             # ICCID -> the usage month in which its cap was reached
        self._pin: dict[int, PinState] = {}           # slot -> where its PIN stands (never the PIN itself)
        self._scan: dict[str, Any] | None = None
        self._last_scan: dict[str, Any] | None = None
        self._last_switch: dict[str, Any] | None = None
        self._switch_waiters: dict[int, Deferred] = {}
        self._reset_waiter: Deferred | None = None
        self._usb_device: str | None = None
        self._usb_note = ""
        self._stopped = False

        core.subscribe(ModemStatus, self._on_status)
        core.subscribe(ModemPortEvent, self._on_port)
        core.subscribe(ModemPollFailed, self._on_poll_failed)
        core.subscribe(ProbeResult, self._on_probe)
        core.subscribe(recovery.StepFinished, self._on_step_finished)
        core.add_sink(self._on_event)
        core.register_command("sim_switch", self._cmd_sim_switch)
        core.register_command("modem_reset", self._cmd_modem_reset)
        core.register_command("operator_scan", self._cmd_operator_scan)
        core.register_command("operator_select", self._cmd_operator_select)
        core.call_every(TICK_S, self._tick, first_in=TICK_S)
        self._sync_holds(core.now())
        self._publish(core.now())

    # ---- life cycle --------------------------------------------------------------------------------------
    def start(self) -> None:
        self._step_conn(connection.Started(bool(self.core.state.get("modem", {}).get("connected"))), self.core.now())
        self._find_usb_device()

    def stop(self) -> None:
        self._stopped = True
        if self.power is not None:
            self.power.close()

    # ---- inputs (core thread) ----------------------------------------------------------------------------
    def _on_status(self, item: ModemStatus, now: float) -> None:
        m = item.status
        self._clamp_slots(m)
        slot = m.get("sim_slot") or self.sims.active or self.sims.settings.preferred
        if m.get("iccid"):
            self._iccids[slot] = m["iccid"]
        self._unlock(m, slot)
        signal = m.get("signal") or {}
        self._step_rules(rules.Seen(slot=m.get("sim_slot"), sim_state=m.get("sim_state"),
                                    registration=m.get("registration"), rsrp_dbm=signal.get("rsrp_dbm"),
                                    sinr_db=signal.get("sinr_db"), capped=self._capped_slots()), now)
        self._step_conn(connection.Polled(m.get("registration"), m.get("sim_state")), now)
        self._operators(m, now)
        self._step_conn(connection.Tick(), now)
        self._ladder_trouble(now)
        self._publish(now)

    def _on_port(self, item: ModemPortEvent, now: float) -> None:
        if item.kind == "port_opened":
            self._find_usb_device()
        self._step_conn(connection.Port(item.kind), now)
        self._ladder_trouble(now)
        self._publish(now)

    def _on_poll_failed(self, item: ModemPollFailed, now: float) -> None:
        self._step_conn(connection.PollFailed(), now)
        self._ladder_trouble(now)

    def _on_probe(self, r: ProbeResult, now: float) -> None:
        if r.link != self.link:
            return
        self._step_conn(connection.Flowing(r.ok), now)
        self._step_rules(rules.ProbeSeen(r.ok, r.sent_at), now)

    def _on_step_finished(self, item: recovery.StepFinished, now: float) -> None:
        self._step_ladder(ladder.StepDone(item.step, item.ok, item.detail), now)

    def _on_event(self, event) -> None:
        """Sink: the usage meter's (agent/cellular/usage.py) data_cap_reached marks that SIM capped for the billing
        period; data_cap_cleared (a new period) frees it."""
        if event.kind in ("data_cap_reached", "data_cap_cleared"):
            iccid = event.data.get("iccid") or self._iccids.get(event.data.get("slot"))
            if iccid and event.kind == "data_cap_reached":
                self._capped[iccid] = event.data.get("period")
            elif iccid:
                self._capped.pop(iccid, None)

    def _tick(self, now: float) -> None:
        if self._stopped:
            return
        self._step_rules(rules.Tick(), now)
        self._ladder_trouble(now)
        self._step_ladder(ladder.Tick(), now)
        if self._busy(now):
            self.modem.poll_soon()           # a switch or a recovery step is waiting to see the modem register
        self._step_conn(connection.Tick(), now)
        self._publish(now)

    # ---- SIM rules ---------------------------------------------------------------------------------------
    def _step_rules(self, event: object, now: float) -> None:
        self.sims, actions = rules.evaluate(self.sims, event, now)
        for action in actions:
            if isinstance(action, rules.SwitchSim):
                self._switch(action.slot, now)
            elif isinstance(action, rules.Emit):
                self._rule_event(action.kind, action.data)
        self._sync_holds(now)

    def _switch(self, slot: int, now: float) -> None:
        self._step_conn(connection.SimSwitch(), now)

        def sent(_result, error, when) -> None:
            if error is not None:
                self._step_rules(rules.SwitchRefused(slot, str(error)), when)
            else:
                self.modem.poll_soon()
            self._publish(when)
        self.modem.submit("sim_switch", lambda dev: dev.switch_sim(slot), sent)

    def _rule_event(self, kind: str, data: dict[str, Any]) -> None:
        waiter = self._switch_waiters.pop(data.get("to_slot"), None)
        if kind == "sim_switch":
            wall, _ = self.core.wall.now()
            self._last_switch = {**data, "at": wall}
            if waiter is not None:
                waiter.resolve(dict(data))
        elif kind == "sim_switch_failed" and waiter is not None:
            waiter.reject(data.get("error", "switch failed"))
        self.core.emit(kind, **data)

    def _clamp_slots(self, m: dict[str, Any]) -> None:
        """Use only the slots the modem can switch to: a single-SIM modem makes the rules a no-op."""
        key = (m.get("vendor"), m.get("model"))
        if key == self._plugin_key or not m.get("vendor"):
            return
        self._plugin_key = key
        try:
            plugin = vendors.get(m.get("vendor"))
        except KeyError:
            return
        self._switch_supported = plugin.sim_switch_command(1, m.get("model")) is not None
        available = plugin.sim_slots if self._switch_supported else 1
        slots = tuple(s for s in self.cfg.sim_slots if s <= available) or (1,)
        if slots != self.sims.settings.slots:
            log.warning("cellular: %s %s switches %s; using slots %s of sim_slots %s", m.get("vendor"),
                        m.get("model"), f"{available} SIM slots" if self._switch_supported else "no SIM slots",
                        list(slots), list(self.cfg.sim_slots))
            self.sims = replace(self.sims, settings=rules.Settings.from_config(self.cfg, slots))

    def _capped_slots(self) -> frozenset[int]:
        """Slots whose SIM reached its cap in the current billing period. The meter only sees the SIM in use: the
        others stay capped until the period it reports moves on."""
        usage = self.core.state.get("cellular", {}).get("usage") or {}
        period = usage.get("month")
        if usage.get("iccid") and usage.get("cap_reached"):
            self._capped[usage["iccid"]] = period
        if period:
            self._capped = {iccid: p for iccid, p in self._capped.items() if p in (None, period)}
        return frozenset(slot for slot, iccid in self._iccids.items() if iccid in self._capped)

    def _unlock(self, m: dict[str, Any], slot: int) -> None:
        if m.get("sim_state") != "SIM PIN":
            return
        sim = self.cfg.sim_for(slot)
        if sim.pin is None or self._pin.get(slot) in (PinState.PENDING, PinState.REJECTED):
            return
        self._pin[slot] = PinState.PENDING
        pin = sim.pin.value

        def done(_result, error, now) -> None:
            if error is None:
                self._pin[slot] = PinState.OK
                log.info("cellular: SIM in slot %d unlocked with its configured PIN", slot)
                self.modem.poll_soon()
            elif isinstance(error, TransportError) or (isinstance(error, AtError) and error.code in PIN_RETRYABLE_CME):
                self._pin[slot] = PinState.RETRY
            else:
                # Never again by itself: three wrong PINs and the SIM wants its PUK. The error text would repeat
                # the command, PIN included: only its code is logged.
                self._pin[slot] = PinState.REJECTED
                code = getattr(error, "code", None)
                log.error("cellular: the SIM in slot %d refused its configured PIN (%s); not retrying", slot,
                          f"+CME ERROR {code}" if code is not None else type(error).__name__)
                self.core.emit("sim_pin_rejected", slot=slot, cme_error=code)
        self.modem.submit("sim_pin", lambda dev: dev.enter_pin(pin), done)

    # ---- recovery ladder ---------------------------------------------------------------------------------
    def _ladder_trouble(self, now: float) -> None:
        kind, since = connection.trouble(self.conn)
        if kind != self.ladder.trouble:
            self._step_ladder(ladder.Trouble(kind, since), now)

    def _step_ladder(self, event: object, now: float) -> None:
        self.ladder, actions = ladder.decide(self.ladder, event, now)
        for action in actions:
            if isinstance(action, ladder.RunStep):
                self._run_step(action)
            elif isinstance(action, ladder.Emit):
                self._ladder_event(action.kind, action.data)
        self._sync_holds(now)

    def _run_step(self, action: ladder.RunStep) -> None:
        step = action.step
        log.warning("cellular: recovery step %s (%s, attempt %d)", step, action.reason, action.attempt)
        if step in recovery.AT_JOBS:
            def done(result, error, now) -> None:
                self._step_ladder(ladder.StepDone(step, error is None, result if error is None else str(error)), now)
                self.modem.poll_soon()
            self.modem.submit(f"recovery_{step}", recovery.AT_JOBS[step], done)
            return
        recovery.start_board_step(step, self.core.post, usb=self.usb, power=self.power, port_path=self.modem.port.path,
                                  usb_device=self._usb_device, power_off_s=self.power_off_s)

    def _ladder_event(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "recovery_step" and data.get("reason") == "command" and self._reset_waiter is not None:
            waiter, self._reset_waiter = self._reset_waiter, None
            if data["result"] == "ok":
                waiter.resolve({"step": data["step"], "result": "ok", "detail": data.get("detail", "")})
            else:
                waiter.reject(f"modem reset: {data['result']}")
        self.core.emit(kind, **data)

    def _sync_holds(self, now: float) -> None:
        """A SIM switch holds the ladder; a ladder at work holds the SIM rules; an operator scan (minutes of a busy
        modem worker, where their jobs would wait) holds both."""
        scanning = self._scan is not None
        hold_rules = self.ladder.running or self.ladder.episode_start is not None or scanning
        if self.sims.held != hold_rules:
            self._step_rules(rules.Hold(hold_rules), now)
        hold_ladder = self.sims.switching is not None or scanning
        if self.ladder.held != hold_ladder:
            self._step_ladder(ladder.Hold(hold_ladder), now)
        # no data session is started during a switch nor while the ladder works on the modem
        slot = self.sims.active if self.sims.active is not None else self.sims.settings.preferred
        switching = self.sims.switching is not None
        if (self.conn.slot, self.conn.switching) != (slot, switching):
            self._step_conn(connection.SimInUse(slot, switching), now)
        if self.conn.held != self.ladder.running:
            self._step_conn(connection.Hold(self.ladder.running), now)

    def _find_usb_device(self) -> None:
        try:
            self._usb_device, self._usb_note = self.usb.device_for(self.modem.port.path), ""
        except UsbError as e:
            self._usb_note = str(e)

    # ---- operators ---------------------------------------------------------------------------------------
    def _operators(self, m: dict[str, Any], now: float) -> None:
        if self.sims.switching is not None or self.ladder.running or self._scan is not None:
            return
        registered = m.get("registration") in rules.REGISTERED
        plmn = f"{m['mcc']}{m['mnc']}" if registered and m.get("mcc") and m.get("mnc") else None
        preferred, forbidden = plmn_lists(self.cfg, self.sims.active)
        first_sight = self.ops.plmn is None
        self.ops, action, events = operators.plan(
            self.ops, operators.OperatorSeen(plmn, m.get("operator_name"), preferred, forbidden), now,
            self.cfg.operator_retry_s)
        for kind, data in events:
            if not first_sight:
                self.core.emit(kind, **data)
        if isinstance(action, operators.Select):
            self._select_operator(action.plmn, action.reason)
        elif isinstance(action, operators.Scan):
            self._start_scan(None, action.reason, now)

    def _select_operator(self, plmn: str | None, reason: str, waiter: Deferred | None = None,
                         pin: bool = False) -> None:
        def done(_result, error, now) -> None:
            if error is not None:
                log.warning("cellular: selecting operator %s failed: %s", plmn or "auto", error)
                if waiter is not None:
                    waiter.reject(f"operator_select: {error}")
                return
            self.ops = operators.commanded(self.ops, plmn) if pin else operators.asked(self.ops, plmn)
            if waiter is not None:
                waiter.resolve({"mode": self.ops.mode, "plmn": plmn})
            self.modem.poll_soon()
            self._publish(now)
        log.info("cellular: asking for operator %s (%s)", plmn or "auto", reason)
        self.modem.submit("operator_select", lambda dev: dev.set_operator(plmn, fallback=True), done)

    def _start_scan(self, waiter: Deferred | None, reason: str, now: float) -> None:
        timeout = self.modem.device.plugin.timeout_for("AT+COPS=?")
        self._scan = {"started": now, "waiter": waiter, "reason": reason, "timeout_s": timeout}
        self.core.emit("operator_scan_progress", stage="started", elapsed_s=0.0, timeout_s=timeout, reason=reason)
        self.modem.submit("operator_scan", lambda dev: dev.scan_operators(), self._scan_done)
        self.core.call_later(self.scan_progress_s, self._scan_tick)
        self._sync_holds(now)

    def _scan_tick(self, now: float) -> None:
        scan = self._scan
        if scan is None:
            return
        elapsed = now - scan["started"]
        # The modem says nothing while it scans: progress is the time spent against the longest a scan may take.
        self.core.emit("operator_scan_progress", stage="scanning", elapsed_s=round(elapsed, 1),
                       timeout_s=scan["timeout_s"], percent=min(99, int(100 * elapsed / scan["timeout_s"])),
                       reason=scan["reason"])
        self.core.call_later(self.scan_progress_s, self._scan_tick)

    def _scan_done(self, networks, error, now: float) -> None:
        scan, self._scan = self._scan, None
        self._sync_holds(now)
        elapsed = round(now - scan["started"], 1) if scan else None
        waiter = scan["waiter"] if scan else None
        if error is not None:
            self.core.emit("operator_scan_progress", stage="failed", elapsed_s=elapsed, error=str(error))
            if waiter is not None:
                waiter.reject(f"operator_scan: {error}")
            return
        found = [{"plmn": f"{n.get('mcc') or ''}{n.get('mnc') or ''}", "operator_name": n.get("operator_name"),
                  "availability": n.get("availability"), "rat": n.get("rat")} for n in networks]
        wall, _ = self.core.wall.now()
        self._last_scan = {"at": wall, "took_s": elapsed, "networks": found}
        self.core.emit("operator_scan_progress", stage="done", elapsed_s=elapsed, found=len(found))
        if waiter is not None:
            waiter.resolve({"networks": found, "took_s": elapsed})
        if scan and scan["reason"] == "forbidden":
            preferred, forbidden = plmn_lists(self.cfg, self.sims.active)
            choice = operators.choose(networks, preferred, forbidden)
            if choice is not None:
                self._select_operator(choice, "leaving a forbidden network")
        self._publish(now)

    # ---- connection: the modem's trouble and the data session ------------------------------------------
    def _step_conn(self, event: object, now: float) -> None:
        self.conn, actions = connection.decide(self.conn, event, now)
        for action in actions:
            if isinstance(action, connection.BringUp):
                self._bring_up(action.slot)
            elif isinstance(action, connection.CheckAddress):
                self._check_address(action.slot)
            elif isinstance(action, connection.ModemLost):
                self._step_rules(rules.ModemLost(), now)
            elif isinstance(action, connection.Emit):
                self.core.emit(action.kind, **action.data)

    def _bring_up(self, slot: int) -> None:
        sim = self.cfg.sim_for(slot)
        plan = session.DataPlan(slot=slot, cid=self.cfg.pdp_cid, pdp_type=sim.pdp_type, sim_apn=sim.apn,
                                status=dict(self.core.state.get("modem", {})))
        self.modem.submit(connection.Job.BRING_UP, lambda dev: session.bring_up(dev, plan, self.apn_database),
                          lambda result, error, when: self._brought_up(slot, result, error, when))

    def _brought_up(self, slot: int, result, error, now: float) -> None:
        if error is not None:
            self._step_conn(connection.BringUpFailed(slot, str(error), no_apn=isinstance(error, session.NoApn)), now)
            self._publish(now)
            return
        wall, _ = self.core.wall.now()
        self._step_conn(connection.BroughtUp(slot, result["apn"], result["apn_source"], result["address"],
                                             result["via"], wall), now)
        self._ladder_trouble(now)
        self._publish(now)

    def _check_address(self, slot: int) -> None:
        def done(address, error, when) -> None:
            self._step_conn(connection.Checked(slot, address, failed=error is not None), when)
            self._publish(when)
        self.modem.submit(connection.Job.CHECK, lambda dev: session.check(dev, self.cfg.pdp_cid), done)

    # ---- commands (core thread) --------------------------------------------------------------------------
    def _cmd_sim_switch(self, args: dict[str, Any]) -> Deferred:
        slot = _args(args, {"slot"}).get("slot")
        slots = self.sims.settings.slots
        if isinstance(slot, bool) or not isinstance(slot, int) or slot not in self.cfg.sim_slots:
            raise CommandError(f"slot must be one of sim_slots {list(self.cfg.sim_slots)}; got {slot!r}")
        if slot not in slots:
            raise CommandError(f"this modem cannot switch to slot {slot} (usable slots: {list(slots)})")
        refusal = self._busy_refusal()
        if refusal:
            raise CommandError(refusal)
        if slot == self.sims.active:
            raise CommandError(f"already on slot {slot}")
        waiter = Deferred()
        self._switch_waiters[slot] = waiter
        self._step_rules(rules.ManualSwitch(slot), self.core.now())
        self._publish(self.core.now())
        return waiter

    def _cmd_modem_reset(self, args: dict[str, Any]) -> Deferred:
        _args(args, set())
        now = self.core.now()
        refusal = ladder.refusal(self.ladder, "reset", now) or self._busy_refusal()
        if refusal:
            raise CommandError(refusal)
        waiter = self._reset_waiter = Deferred()
        self._step_ladder(ladder.Requested("reset"), now)
        self._publish(now)
        return waiter

    def _cmd_operator_scan(self, args: dict[str, Any]) -> Deferred:
        _args(args, set())
        refusal = self._busy_refusal()
        if refusal:
            raise CommandError(refusal)
        waiter = Deferred()
        self._start_scan(waiter, "command", self.core.now())
        return waiter

    def _cmd_operator_select(self, args: dict[str, Any]) -> Deferred:
        plmn = _args(args, {"plmn"}).get("plmn")
        if plmn != "auto" and not (isinstance(plmn, str) and plmn.isdigit() and len(plmn) in (5, 6)):
            raise CommandError(f"plmn must be \"auto\" or MCC+MNC (5 or 6 digits, e.g. \"20801\"); got {plmn!r}")
        refusal = self._busy_refusal()
        if refusal:
            raise CommandError(refusal)
        waiter = Deferred()
        self._select_operator(None if plmn == "auto" else plmn, "command", waiter, pin=True)
        return waiter

    def _busy_refusal(self) -> str | None:
        if self.sims.switching is not None:
            return f"a switch to slot {self.sims.switching.to_slot} is in progress"
        if self.ladder.running:
            return f"the recovery step {self.ladder.step} is running"
        if self._scan is not None:
            return "an operator scan is running (AT+COPS=? can take minutes)"
        return None

    # ---- state -------------------------------------------------------------------------------------------
    def _busy(self, now: float) -> bool:
        """Waiting to see the modem register (a switch, a recovery step's window): poll it every tick. Not while it
        does not answer: a poll of a hung modem holds the worker for a timeout, and the recovery steps queue there."""
        if not connection.answering(self.conn):
            return False
        window = self.ladder.window_until
        return self.sims.switching is not None or self.ladder.running or (window is not None and now < window)

    def _publish(self, now: float) -> None:
        cell = self.core.state.setdefault("cellular", {})
        cell.update(rules.view(self.sims, now))
        ladder_view = ladder.view(self.ladder, now)
        cell.update({
            "switch_supported": self._switch_supported and len(self.sims.settings.slots) > 1,
            "last_switch": self._last_switch,
            "ladder_step": ladder_view["step"],
            "ladder": {**ladder_view, "usb_device": self._usb_device, "usb_note": self._usb_note,
                       "power": None if self.power is None else self.power.name},
            "data": connection.view(self.conn),
            "operator_mode": self.ops.mode,
            "operator": {"plmn": self.ops.plmn, "name": self.ops.name, "wanted": self.ops.wanted,
                         "pinned": self.ops.pinned},
            "operator_scan": None if self._scan is None else {"running_s": round(now - self._scan["started"], 1)},
            "last_scan": self._last_scan,
            "pin": {str(slot): state for slot, state in self._pin.items()},
        })


def _args(args: Any, allowed: set[str]) -> dict[str, Any]:
    if args is None:
        return {}
    if not isinstance(args, dict):
        raise CommandError(f"arguments must be an object, got {type(args).__name__}")
    unknown = sorted(map(str, set(args) - allowed))
    if unknown:
        raise CommandError(f"unknown argument(s) {', '.join(unknown)}"
                           + (f" (known: {', '.join(sorted(allowed))})" if allowed else " (this command takes none)"))
    return args
