"""The recovery ladder: `decide(state, event, now) -> (state, actions)`, pure — no clock, no IO.

A modem in trouble gets the mildest remedy first and a stronger one only when the milder one failed to help
within its window:
    reregister   AT+COPS=0                    radio      AT+CFUN=0, AT+CFUN=1
    reset        AT+CFUN=1,1                  usb        USB unbind + bind (board/usb.py)
    power        power cycle through a GPIO (board/gpio.py), repeated (rate-limited) while the trouble lasts
A step that could not be carried out (the modem does not answer, no USB device, no power GPIO) is reported and
the next one follows at once; a step that ran gets its window. The disruptive steps (reset, usb, power) are
bounded per hour (counting those carried out): beyond max_resets_per_hour the ladder waits (and says so once).

Troubles (which the manager measures; docs/cellular.md#recovery-ladder), each with its own delay before the
ladder starts: port_gone (no serial port: the AT steps are skipped), unresponsive (the port is there but AT
commands time out), no_service (SIM ready, not denied, not registered: the SIM rules act first), data_down
(registered, but the data session will not come up). The ladder stops when the trouble is gone (an event
`modem_recovered`) and holds while a SIM switch is in progress.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Mapping

from common.decider import Emit, Hold, Tick  # noqa: F401  (the shared decider types, also reached as ladder.Emit)


class Step(StrEnum):
    """The remedies, mildest first."""
    REREGISTER = "reregister"
    RADIO = "radio"
    RESET = "reset"
    USB = "usb"
    POWER = "power"


class TroubleKind(StrEnum):
    PORT_GONE = "port_gone"
    UNRESPONSIVE = "unresponsive"
    NO_SERVICE = "no_service"
    DATA_DOWN = "data_down"


STEPS = tuple(Step)
AT_STEPS = frozenset({Step.REREGISTER, Step.RADIO, Step.RESET})
DISRUPTIVE = frozenset({Step.RESET, Step.USB, Step.POWER})
TROUBLES = tuple(TroubleKind)
HOUR_S = 3600.0


@dataclass(frozen=True)
class LadderSettings:
    enabled: bool = True
    triggers: Mapping[str, float] = field(default_factory=lambda: MappingProxyType(
        {TroubleKind.PORT_GONE: 60.0, TroubleKind.UNRESPONSIVE: 30.0, TroubleKind.NO_SERVICE: 300.0,
         TroubleKind.DATA_DOWN: 300.0}))
    windows: Mapping[str, float] = field(default_factory=lambda: MappingProxyType(
        {Step.REREGISTER: 60.0, Step.RADIO: 60.0, Step.RESET: 120.0, Step.USB: 120.0, Step.POWER: 180.0}))
    max_resets_per_hour: int = 4

    @classmethod
    def from_config(cls, cfg) -> "LadderSettings":
        return cls(enabled=cfg.enabled,
                   triggers=MappingProxyType({TroubleKind.PORT_GONE: cfg.port_gone_s,
                                              TroubleKind.UNRESPONSIVE: cfg.unresponsive_s,
                                              TroubleKind.NO_SERVICE: cfg.no_service_s,
                                              TroubleKind.DATA_DOWN: cfg.data_down_s}),
                   windows=MappingProxyType({step: getattr(cfg, f"{step}_window_s") for step in STEPS}),
                   max_resets_per_hour=cfg.max_resets_per_hour)


# ---- inputs -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Trouble:
    kind: TroubleKind | None    # None when the modem is fine
    since: float | None = None


@dataclass(frozen=True)
class StepDone:
    step: Step
    ok: bool                    # the step was carried out (not: the modem is fine again)
    detail: str = ""            # what was done, or why not ("skipped: ..." when it cannot apply here)


@dataclass(frozen=True)
class Requested:
    """A step asked for by a command (modem_reset): runs now, counts against the hourly bound."""
    step: Step
    reason: str = "command"


# ---- actions ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunStep:
    step: Step
    reason: str
    attempt: int


# ---- state ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LadderState:
    settings: LadderSettings
    trouble: TroubleKind | None = None
    since: float | None = None
    episode_start: float | None = None
    episode_trouble: TroubleKind | None = None  # the trouble that started the episode (others may follow inside it)
    step: Step | None = None            # the step running or run last in this episode
    reason: str | None = None
    running: bool = False
    window_until: float | None = None
    attempts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    history: tuple[float, ...] = ()     # when disruptive steps were carried out (the last hour's)
    held: bool = False
    limited: bool = False               # the rate-limit notice went out for this wait

    def resets_in_last_hour(self, now: float) -> int:
        return sum(1 for t in self.history if now - t < HOUR_S)


def initial(settings: LadderSettings) -> LadderState:
    return LadderState(settings=settings)


def refusal(st: LadderState, step: str, now: float) -> str | None:
    """Why a commanded step cannot run now, or None."""
    if step not in STEPS:
        return f"unknown step {step!r}"
    if st.running:
        return f"the recovery step {st.step} is running"
    if step in DISRUPTIVE and st.resets_in_last_hour(now) >= st.settings.max_resets_per_hour:
        return f"{st.settings.max_resets_per_hour} modem resets in the last hour already (ladder.max_resets_per_hour)"
    return None


# ---- decide -----------------------------------------------------------------------------------------------------

def decide(st: LadderState, event: object, now: float) -> tuple[LadderState, list]:
    actions: list = []
    if isinstance(event, Trouble):
        st = _trouble(st, event, now, actions)
    elif isinstance(event, StepDone):
        st = _done(st, event, now, actions)
    elif isinstance(event, Requested):
        why = refusal(st, event.step, now)
        if why:
            raise ValueError(why)
        st = _run(st, Step(event.step), event.reason, now, actions)
    elif isinstance(event, Hold):
        st = replace(st, held=event.on)
    elif not isinstance(event, Tick):
        raise TypeError(f"not a ladder input: {event!r}")
    return _advance(st, now, actions), actions


def _trouble(st: LadderState, t: Trouble, now: float, actions: list) -> LadderState:
    if t.kind is not None and t.kind not in TROUBLES:
        raise ValueError(f"unknown trouble {t.kind!r}")
    if t.kind is None:
        if st.episode_start is not None:
            actions.append(Emit("modem_recovered", {"trouble": st.episode_trouble, "last_step": st.step,
                                                    "steps": sum(st.attempts.values()),
                                                    "took_s": round(now - (st.since if st.since is not None
                                                                           else st.episode_start), 1)}))
        return replace(st, trouble=None, since=None, episode_start=None, episode_trouble=None,
                       attempts=MappingProxyType({}), limited=False,
                       step=st.step if st.running else None, window_until=st.window_until if st.running else None)
    if t.kind == st.trouble:
        return st
    # A different trouble inside an episode (the port goes away during a reset) continues the same episode.
    since = st.since if st.episode_start is not None and st.since is not None else t.since
    return replace(st, trouble=TroubleKind(t.kind), since=since if since is not None else now)


def _done(st: LadderState, d: StepDone, now: float, actions: list) -> LadderState:
    if not st.running or d.step != st.step:
        return st                                   # a late answer for a step already given up
    result = "ok" if d.ok else (d.detail if d.detail.startswith("skipped") else f"failed: {d.detail}")
    actions.append(Emit("recovery_step", {"step": d.step, "reason": st.reason, "attempt": st.attempts.get(d.step, 1),
                                          "result": result, "detail": d.detail if d.ok else ""}))
    last = d.step == STEPS[-1]
    # A step that ran gets its window to work; one that could not run hands over at once (except the last,
    # which waits its window before it is tried again).
    window = st.settings.windows[d.step] if d.ok or last else 0.0
    # Only a step carried out disrupts: one skipped, or refused by a modem that does not answer, is not counted.
    history = st.history + ((now,) if d.ok and d.step in DISRUPTIVE else ())
    return replace(st, running=False, window_until=now + window, history=history)


def _advance(st: LadderState, now: float, actions: list) -> LadderState:
    s = st.settings
    if not s.enabled or st.held or st.running or st.trouble is None:
        return st
    if st.episode_start is None:
        if now - st.since < s.triggers[st.trouble]:
            return st
        if st.window_until is not None and now < st.window_until:
            return st                               # a commanded step is still being given its chance
        st = replace(st, episode_start=now, episode_trouble=st.trouble, step=None)
        step = STEPS[0]
    elif st.window_until is not None and now < st.window_until:
        return st
    else:
        step = STEPS[min(STEPS.index(st.step) + 1, len(STEPS) - 1)] if st.step else STEPS[0]
    if st.trouble == TroubleKind.PORT_GONE and step in AT_STEPS:
        step = Step.USB                             # no port, no AT command
    if step in DISRUPTIVE:
        recent = tuple(t for t in st.history if now - t < HOUR_S)
        if len(recent) >= s.max_resets_per_hour:
            if not st.limited:
                retry = None if not recent else round(HOUR_S - (now - recent[0]), 1)
                actions.append(Emit("recovery_step", {"step": step, "reason": st.trouble,
                                                      "attempt": st.attempts.get(step, 0) + 1,
                                                      "result": "rate_limited", "detail": "",
                                                      "retry_in_s": retry}))
            return replace(st, history=recent, limited=True)
    return _run(st, step, st.trouble, now, actions)


def _run(st: LadderState, step: Step, reason: str, now: float, actions: list) -> LadderState:
    attempts = dict(st.attempts)
    attempts[step] = attempts.get(step, 0) + 1
    history = tuple(t for t in st.history if now - t < HOUR_S)
    actions.append(RunStep(step, reason, attempts[step]))
    return replace(st, step=step, reason=reason, running=True, attempts=MappingProxyType(attempts), history=history,
                   limited=False, window_until=None)


def view(st: LadderState, now: float) -> dict[str, Any]:
    return {
        "trouble": st.trouble,
        "trouble_for_s": None if st.since is None else round(now - st.since, 1),
        "step": st.step if (st.running or st.episode_start is not None) else None,
        "running": st.running,
        "window_left_s": None if st.window_until is None or now >= st.window_until
        else round(st.window_until - now, 1),
        "attempts": dict(st.attempts),
        "resets_last_hour": st.resets_in_last_hour(now),
        "rate_limited": st.limited,
    }
