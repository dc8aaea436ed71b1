"""Which SIM carries the cellular link: `evaluate(state, event, now) -> (state, actions)`, pure — no clock, no IO.

Rules, worst first (docs/cellular.md#rules); each condition must hold its `duration_s` before it switches:
    sim_failure          SIM missing, failed, blocked (PUK) or still locked (its PIN not accepted)
    registration_denied  the network rejects the SIM
    no_registration      SIM ready, not registered (searching, not registered, emergency only)
    data_cap             the SIM's monthly data cap is reached ([usage]); it stays bad until the month ends
    roaming              registered while roaming, on a SIM not allowed to roam
    data_failing         the cellular link's probes fail, `failures` in a row
    weak_signal          RSRP or SINR under its threshold

Never ping-pong:
- dwell: no rule switches within the dwell of the last switch. The dwell is min_dwell_s, doubled for every switch
  that did not help (the slot switched to went bad before it had been healthy for min_dwell_s), up to
  backoff_max_s; a slot that stays healthy for min_dwell_s resets it.
- memory: the slot left because of a rule is remembered with that rule's severity for twice the dwell in force; a
  rule only switches to a slot not known to be at least as bad as the current trouble ("stay on the better", and
  look again once the memory expires — the slow retry).
- a switched-to slot must register within switch_timeout_s; when it does not and the slot we came from was
  known better, we go straight back (no dwell: the switch failed, nothing to dwell on).
Return to the preferred slot (the first of sim_slots): after return_after_s elsewhere with no rule firing, a trial
switch that must register within return_check_s, else straight back.

Times are the agent's monotonic seconds. Events (Emit) carry durations, not times.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Mapping

from common.backoff import Backoff
from common.decider import Emit, Hold, Tick  # noqa: F401  (the shared decider types, also reached as rules.Emit)


class Rule(StrEnum):
    """The rules, worst first."""
    SIM_FAILURE = "sim_failure"
    REGISTRATION_DENIED = "registration_denied"
    NO_REGISTRATION = "no_registration"
    DATA_CAP = "data_cap"
    ROAMING = "roaming"
    DATA_FAILING = "data_failing"
    WEAK_SIGNAL = "weak_signal"


RULES = tuple(Rule)
SEVERITY = {rule: len(RULES) - i for i, rule in enumerate(RULES)}      # sim_failure 7 ... weak_signal 1

REGISTERED = ("home", "roaming", "home_sms_only", "roaming_sms_only", "home_csfb_not_preferred",
              "roaming_csfb_not_preferred")
ROAMING = ("roaming", "roaming_sms_only", "roaming_csfb_not_preferred")
UNREGISTERED = ("not_registered", "searching", "unknown", "emergency", "rlos")
SIM_USABLE = ("READY", "SIM BUSY")     # busy: being read after a boot or a switch, not a failure


# ---- settings ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    slots: tuple[int, ...]                  # usable slots, order = preference
    rules: Any                              # agent.config.SimRules
    min_dwell_s: float = 120.0
    backoff_max_s: float = 3600.0
    switch_timeout_s: float = 90.0
    return_after_s: float = 1800.0
    return_check_s: float = 60.0
    roaming_allowed: frozenset[int] = frozenset()

    @classmethod
    def from_config(cls, cfg, slots: tuple[int, ...] | None = None) -> "Settings":
        return cls(slots=tuple(cfg.sim_slots if slots is None else slots), rules=cfg.rules,
                   min_dwell_s=cfg.min_dwell_s, backoff_max_s=cfg.backoff_max_s,
                   switch_timeout_s=cfg.switch_timeout_s, return_after_s=cfg.return_after_s,
                   return_check_s=cfg.return_check_s,
                   roaming_allowed=frozenset(s.slot for s in cfg.sim if s.roaming))

    @property
    def preferred(self) -> int:
        return self.slots[0]

    @property
    def dwell(self) -> Backoff:
        """min_dwell_s, doubled for every switch that did not help, up to backoff_max_s."""
        return Backoff(self.min_dwell_s, self.backoff_max_s)

    def rule(self, name: str):
        return getattr(self.rules, name)


# ---- inputs -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Seen:
    """What the modem said in a poll (modem.device status keys)."""
    slot: int | None
    sim_state: str | None
    registration: str | None
    rsrp_dbm: float | None = None
    sinr_db: float | None = None
    capped: frozenset[int] = frozenset()    # slots whose SIM reached its monthly data cap


@dataclass(frozen=True)
class ProbeSeen:
    ok: bool
    at: float


@dataclass(frozen=True)
class ModemLost:
    """The modem restarted or stopped answering: what it said before is stale (the recovery ladder's business)."""


@dataclass(frozen=True)
class SwitchRefused:
    slot: int
    error: str


@dataclass(frozen=True)
class ManualSwitch:
    slot: int


# ---- actions ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SwitchSim:
    slot: int
    reason: str
    rule: Rule | None


# ---- state ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Switching:
    from_slot: int | None
    to_slot: int
    reason: str
    rule: str | None
    started: float
    timeout_s: float
    manual: bool = False
    back: bool = False          # going back after a failed switch: never bounces again


@dataclass(frozen=True)
class Known:
    """A slot seen bad: how bad, why, and until when we believe it without looking again."""
    severity: int
    rule: str
    until: float


_EMPTY: Mapping = MappingProxyType({})


@dataclass(frozen=True)
class SimState:
    settings: Settings
    active: int | None = None
    registered: bool = False
    onsets: Mapping[Rule, float] = field(default_factory=lambda: _EMPTY)   # rule -> since when its condition holds (active slot)
    probe_fails: int = 0
    probe_fail_since: float | None = None
    switching: Switching | None = None
    last_switch_at: float | None = None
    arrived_at: float | None = None
    healthy_since: float | None = None
    proven: bool = True                         # healthy for min_dwell_s since we arrived (or we started here)
    failed_switches: int = 0
    known: Mapping[int, Known] = field(default_factory=lambda: _EMPTY)
    capped: frozenset[int] = frozenset()
    next_return_at: float | None = None
    held: bool = False

    def dwell_s(self) -> float:
        return self.settings.dwell.delay(self.failed_switches)

    def dwell_until(self) -> float | None:
        return None if self.last_switch_at is None else self.last_switch_at + self.dwell_s()

    def firing(self, now: float) -> list[tuple[int, str]]:
        """(severity, rule) of the rules whose condition has held long enough, worst first."""
        out = []
        for rule, since in self.onsets.items():
            cfg = self.settings.rule(rule)
            if cfg.enabled and now - since >= cfg.duration_s:
                out.append((SEVERITY[rule], rule))
        return sorted(out, reverse=True)

    def known_severity(self, slot: int, now: float) -> int:
        if slot in self.capped:
            return SEVERITY[Rule.DATA_CAP]
        k = self.known.get(slot)
        return k.severity if k is not None and now < k.until else 0


def initial(settings: Settings) -> SimState:
    return SimState(settings=settings)


# ---- evaluate ---------------------------------------------------------------------------------------------------

def evaluate(st: SimState, event: object, now: float) -> tuple[SimState, list]:
    actions: list = []
    if isinstance(event, Seen):
        st = _seen(st, event, now, actions)
    elif isinstance(event, ProbeSeen):
        st = _probe(st, event)
    elif isinstance(event, ModemLost):
        st = replace(st, registered=False, onsets=_EMPTY, probe_fails=0, probe_fail_since=None, healthy_since=None)
    elif isinstance(event, SwitchRefused):
        st = _refused(st, event, now, actions)
    elif isinstance(event, ManualSwitch):
        if st.switching is not None:
            raise ValueError(f"a switch to slot {st.switching.to_slot} is in progress")
        st = _start(st, event.slot, "command", None, now, actions, manual=True)
    elif isinstance(event, Hold):
        st = replace(st, held=event.on)
    elif not isinstance(event, Tick):
        raise TypeError(f"not a SIM rule input: {event!r}")
    return _decide(st, now, actions)


def _seen(st: SimState, seen: Seen, now: float, actions: list) -> SimState:
    s = st.settings
    slot = seen.slot if seen.slot is not None else (st.active if st.active is not None else s.preferred)
    if st.active is None:                       # first sight: we do not know how we got here
        st = replace(st, active=slot, arrived_at=now, proven=True,
                     next_return_at=None if slot == s.preferred else now + s.min_dwell_s)
    elif slot != st.active:                     # moved: by our switch, a reboot into its stored slot, or by hand
        st = replace(st, active=slot, arrived_at=now, proven=False, onsets=_EMPTY, probe_fails=0,
                     probe_fail_since=None, healthy_since=None)
    registered = seen.registration in REGISTERED
    st = replace(st, registered=registered, capped=frozenset(seen.capped))
    conditions = _conditions(st, seen, slot, registered)
    onsets = {rule: st.onsets.get(rule, now) for rule in conditions}
    if Rule.DATA_FAILING in conditions and st.probe_fail_since is not None:
        onsets[Rule.DATA_FAILING] = st.probe_fail_since
    healthy_since = None if conditions else (st.healthy_since if st.healthy_since is not None else now)
    st = replace(st, onsets=MappingProxyType(onsets), healthy_since=healthy_since)
    if healthy_since is not None and now - healthy_since >= s.min_dwell_s:
        st = replace(st, proven=True, failed_switches=0)     # this slot works: the switching that led here helped
    sw = st.switching
    if sw is not None and slot == sw.to_slot and registered:
        st = _arrived(st, sw, now, actions)
    return st


def _conditions(st: SimState, seen: Seen, slot: int, registered: bool) -> set[Rule]:
    s = st.settings
    out: set[Rule] = set()
    if seen.sim_state is not None and seen.sim_state not in SIM_USABLE:
        out.add(Rule.SIM_FAILURE)
    elif seen.sim_state == "READY":
        if seen.registration == "denied":
            out.add(Rule.REGISTRATION_DENIED)
        elif seen.registration in UNREGISTERED:
            out.add(Rule.NO_REGISTRATION)
    if slot in seen.capped:
        out.add(Rule.DATA_CAP)
    if registered:
        if seen.registration in ROAMING and slot not in s.roaming_allowed:
            out.add(Rule.ROAMING)
        weak = s.rules.weak_signal
        if (seen.rsrp_dbm is not None and seen.rsrp_dbm < weak.rsrp_dbm) or \
                (seen.sinr_db is not None and seen.sinr_db < weak.sinr_db):
            out.add(Rule.WEAK_SIGNAL)
        if st.probe_fails >= s.rules.data_failing.failures:
            out.add(Rule.DATA_FAILING)
    return out


def _probe(st: SimState, p: ProbeSeen) -> SimState:
    onsets = dict(st.onsets)
    if p.ok:
        onsets.pop(Rule.DATA_FAILING, None)
        return replace(st, probe_fails=0, probe_fail_since=None, onsets=MappingProxyType(onsets))
    since = st.probe_fail_since if st.probe_fail_since is not None else p.at
    fails = st.probe_fails + 1
    if st.registered and fails >= st.settings.rules.data_failing.failures:
        onsets[Rule.DATA_FAILING] = since
    return replace(st, probe_fails=fails, probe_fail_since=since, onsets=MappingProxyType(onsets))


def _decide(st: SimState, now: float, actions: list) -> tuple[SimState, list]:
    s = st.settings
    if st.switching is not None:
        if now - st.switching.started >= st.switching.timeout_s:
            st = _timed_out(st, now, actions)
        return st, actions
    if st.held or st.active is None or len(s.slots) < 2:
        return st, actions
    dwell_until = st.dwell_until()
    if dwell_until is not None and now < dwell_until:
        return st, actions
    firing = st.firing(now)
    if firing:
        severity, rule = firing[0]
        target = _target(st, severity, now)
        if target is None:
            return st, actions                  # the others are known worse: stay on the better, look again later
        failed = st.failed_switches + (0 if st.proven else 1)
        known = dict(st.known)
        known[st.active] = Known(severity, rule, now + _memory_s(s, failed))
        st = replace(st, failed_switches=failed, known=MappingProxyType(known))
        return _start(st, target, rule, rule, now, actions), actions
    if st.active != s.preferred and st.next_return_at is not None and now >= st.next_return_at:
        if st.known_severity(s.preferred, now) > 0:
            k = st.known.get(s.preferred)
            later = k.until if k is not None and s.preferred not in st.capped else now + s.return_after_s
            return replace(st, next_return_at=max(later, now + 1.0)), actions
        return _start(st, s.preferred, "return_to_preferred", None, now, actions, timeout_s=s.return_check_s), actions
    return st, actions


def _memory_s(s: Settings, failed_switches: int) -> float:
    """How long a slot seen bad is believed bad: twice the dwell in force, so that the slot we just left is not
    retried the moment the dwell on the new one ends."""
    return s.dwell.delay(failed_switches + 1)


def _target(st: SimState, severity: int, now: float) -> int | None:
    candidates = [slot for slot in st.settings.slots if slot != st.active]
    if not candidates:
        return None
    best = min(candidates, key=lambda slot: (st.known_severity(slot, now), st.settings.slots.index(slot)))
    return best if st.known_severity(best, now) < severity else None


def _start(st: SimState, slot: int, reason: str, rule: str | None, now: float, actions: list, *,
           manual: bool = False, back: bool = False, timeout_s: float | None = None) -> SimState:
    sw = Switching(from_slot=st.active, to_slot=slot, reason=reason, rule=rule, started=now,
                   timeout_s=st.settings.switch_timeout_s if timeout_s is None else timeout_s, manual=manual,
                   back=back)
    actions.append(SwitchSim(slot, reason, rule))
    return replace(st, switching=sw, last_switch_at=now)


def _arrived(st: SimState, sw: Switching, now: float, actions: list) -> SimState:
    s = st.settings
    actions.append(Emit("sim_switch", {"from_slot": sw.from_slot, "to_slot": sw.to_slot, "reason": sw.reason,
                                       "rule": sw.rule, "took_s": round(now - sw.started, 3)}))
    known = {k: v for k, v in st.known.items() if k != sw.to_slot}
    return replace(st, switching=None, last_switch_at=now, known=MappingProxyType(known),
                   next_return_at=None if sw.to_slot == s.preferred else now + s.return_after_s)


def _failed(st: SimState, sw: Switching, error: str, severity: int, rule: str, now: float,
            actions: list) -> SimState:
    s = st.settings
    actions.append(Emit("sim_switch_failed", {"from_slot": sw.from_slot, "to_slot": sw.to_slot, "reason": sw.reason,
                                              "rule": sw.rule, "error": error, "took_s": round(now - sw.started, 3)}))
    failed = st.failed_switches + 1
    known = dict(st.known)
    known[sw.to_slot] = Known(severity, rule, now + _memory_s(s, failed))
    st = replace(st, switching=None, last_switch_at=now, failed_switches=failed, known=MappingProxyType(known))
    if sw.reason == "return_to_preferred":
        st = replace(st, next_return_at=now + s.return_after_s)
    return st


def _timed_out(st: SimState, now: float, actions: list) -> SimState:
    sw = st.switching
    on_target = st.active == sw.to_slot
    rule = max(st.onsets, key=SEVERITY.__getitem__) if on_target and st.onsets else Rule.NO_REGISTRATION
    severity = max(SEVERITY[rule], SEVERITY[Rule.NO_REGISTRATION])     # not registered: at least that bad
    error = (f"slot {sw.to_slot} not registered within {sw.timeout_s:g} s" if on_target
             else f"the modem did not move to slot {sw.to_slot} within {sw.timeout_s:g} s")
    st = _failed(st, sw, error, severity, rule, now, actions)
    back_known = st.known_severity(sw.from_slot, now) if sw.from_slot is not None else None
    if on_target and sw.from_slot is not None and not sw.manual and not sw.back and back_known < severity:
        return _start(st, sw.from_slot, "switch_back", sw.rule, now, actions, back=True)
    return st


def _refused(st: SimState, r: SwitchRefused, now: float, actions: list) -> SimState:
    sw = st.switching
    if sw is None or sw.to_slot != r.slot:
        return st
    return _failed(st, sw, r.error, SEVERITY[Rule.SIM_FAILURE], "switch_refused", now, actions)


def view(st: SimState, now: float) -> dict[str, Any]:
    """The rules' part of core.state["cellular"]."""
    sw = st.switching
    dwell_until = st.dwell_until()
    return {
        "active_slot": st.active,
        "preferred_slot": st.settings.preferred if st.settings.slots else None,
        "sim_slots": list(st.settings.slots),
        "switching": None if sw is None else {"from_slot": sw.from_slot, "to_slot": sw.to_slot, "reason": sw.reason,
                                              "rule": sw.rule, "for_s": round(now - sw.started, 1)},
        "conditions": {rule: round(now - since, 1) for rule, since in st.onsets.items()},
        "firing": [rule for _, rule in st.firing(now)],
        "failed_switches": st.failed_switches,
        "dwell_s": st.dwell_s(),
        "dwell_left_s": None if dwell_until is None else max(0.0, round(dwell_until - now, 1)),
        "known_bad": {str(slot): {"rule": k.rule, "for_s": round(k.until - now, 1)}
                      for slot, k in st.known.items() if now < k.until},
        "capped_slots": sorted(st.capped),
        "return_in_s": None if st.next_return_at is None else max(0.0, round(st.next_return_at - now, 1)),
        "held": st.held,
    }
