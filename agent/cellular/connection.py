"""The cellular connection: `decide(state, event, now) -> (state, actions)`, pure — no clock, no IO.

Two things the manager used to keep in loose fields:
- the modem's trouble, as the recovery ladder sees it (ladder.py): since when the serial port is gone, since when
  the modem does not answer, since when its SIM is ready but it is not registered, since when it is registered
  but the data session will not come up. `trouble(state)` gives the worst that holds and since when.
- the data session: bring it up once registered (BringUp, a modem-worker job: session.bring_up), re-read its
  address every `check_s` while up (CheckAddress: session.check), retry a failed bring-up after an exponential
  backoff (data_retry_s doubled per failure, up to DATA_RETRY_MAX_S) — at once when the modem registers again or
  the SIM changes: a failure from before says nothing then.

A missing APN is the configuration's fault: it is reported, retried, but never counted as data_down (no modem
reset finds an APN). No session is started while the SIM rules switch SIMs or the ladder works on the modem (Hold).

Times are the agent's monotonic seconds, except `since` in the session view: the wall-clock time the session came
up, passed in with BroughtUp.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from agent.cellular.ladder import TroubleKind
from agent.cellular.rules import REGISTERED, UNREGISTERED
from common.backoff import Backoff
from common.decider import Emit, Hold, Tick

DATA_RETRY_MAX_S = 600.0
PORT_KINDS = ("port_lost", "port_opened", "unresponsive", "rebooted")   # ModemPortEvent.kind


class Job(StrEnum):
    """The data-session job in flight on the modem worker (the names are the worker's job names)."""
    BRING_UP = "data_up"
    CHECK = "data_check"


@dataclass(frozen=True)
class Settings:
    data: bool = True                  # bring a data session up at all ([cellular] data)
    check_s: float = 60.0
    retry: Backoff = Backoff(30.0, DATA_RETRY_MAX_S)

    @classmethod
    def from_config(cls, cfg) -> "Settings":
        return cls(data=cfg.data, check_s=cfg.data_check_s, retry=Backoff(cfg.data_retry_s, DATA_RETRY_MAX_S))


# ---- inputs -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Started:
    """The agent starts: a port not open yet counts as gone from now on."""
    port_open: bool


@dataclass(frozen=True)
class Polled:
    """A poll answered (ModemStatus): the port is there and the modem answers."""
    registration: str | None
    sim_state: str | None


@dataclass(frozen=True)
class PollFailed:
    pass


@dataclass(frozen=True)
class Port:
    kind: str                          # one of PORT_KINDS


@dataclass(frozen=True)
class SimInUse:
    """The SIM rules' view (rules.py): the slot in use (the preferred one before the first poll), and whether a
    switch to another is under way."""
    slot: int
    switching: bool


@dataclass(frozen=True)
class SimSwitch:
    """A switch is being sent to the modem: the session on the old SIM is gone."""


@dataclass(frozen=True)
class Flowing:
    """A probe over the cellular link was answered or not."""
    ok: bool


@dataclass(frozen=True)
class BroughtUp:
    slot: int
    apn: str
    apn_source: str
    address: str
    via: str
    wall: float                        # wall-clock time, for the session view's `since`


@dataclass(frozen=True)
class BringUpFailed:
    slot: int
    error: str
    no_apn: bool = False               # session.NoApn: no APN for this SIM


@dataclass(frozen=True)
class Checked:
    slot: int
    address: str | None
    failed: bool = False               # the check itself failed (the modem did not answer): nothing learned


# ---- actions ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BringUp:
    slot: int


@dataclass(frozen=True)
class CheckAddress:
    slot: int


@dataclass(frozen=True)
class ModemLost:
    """What the modem said before is stale (restarted, port lost, stopped answering): for the SIM rules."""


# ---- state ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Session:
    up: bool = False
    slot: int | None = None
    apn: str | None = None
    apn_source: str | None = None
    address: str | None = None
    via: str | None = None
    since: float | None = None         # wall clock
    error: str | None = None           # the last bring-up failure, said once per distinct reason
    flowing: bool | None = None        # the cellular link's last probe


@dataclass(frozen=True)
class ConnectionState:
    settings: Settings
    # the modem as the last poll or port event left it (core.state["modem"])
    connected: bool = False
    registration: str | None = None
    was_registered: bool = False
    # since when each trouble holds (None: it does not)
    port_down_since: float | None = None
    fail_since: float | None = None
    unregistered_since: float | None = None
    data_down_since: float | None = None
    # the SIM rules and the ladder
    slot: int | None = None
    switching: bool = False
    held: bool = False
    # the data session
    session: Session = Session()
    job: Job | None = None
    failures: int = 0
    next_try_at: float = 0.0
    checked_at: float = 0.0
    no_apn: bool = False

    @property
    def registered(self) -> bool:
        return self.connected and self.registration in REGISTERED


def initial(settings: Settings) -> ConnectionState:
    return ConnectionState(settings=settings)


def trouble(st: ConnectionState) -> tuple[TroubleKind | None, float | None]:
    """The worst trouble that holds, and since when: the ladder's input."""
    if st.port_down_since is not None:
        return TroubleKind.PORT_GONE, st.port_down_since
    if st.fail_since is not None:
        return TroubleKind.UNRESPONSIVE, st.fail_since
    if st.unregistered_since is not None:
        return TroubleKind.NO_SERVICE, st.unregistered_since
    if st.data_down_since is not None and st.settings.data:
        return TroubleKind.DATA_DOWN, st.data_down_since
    return None, None


def answering(st: ConnectionState) -> bool:
    """The port is there and the modem answers its polls."""
    return st.port_down_since is None and st.fail_since is None


# ---- decide -----------------------------------------------------------------------------------------------------

def decide(st: ConnectionState, event: object, now: float) -> tuple[ConnectionState, list]:
    actions: list = []
    if isinstance(event, Tick):
        st = _ensure(st, now, actions)
    elif isinstance(event, Polled):
        st = _polled(st, event, now, actions)
    elif isinstance(event, Port):
        st = _port(st, event.kind, now, actions)
    elif isinstance(event, PollFailed):
        if st.fail_since is None:
            st = replace(st, fail_since=now)
            actions.append(ModemLost())
    elif isinstance(event, Started):
        if not event.port_open:
            st = replace(st, port_down_since=now)
    elif isinstance(event, SimInUse):
        st = replace(st, slot=event.slot, switching=event.switching)
    elif isinstance(event, Hold):
        st = replace(st, held=event.on)
    elif isinstance(event, SimSwitch):
        st = _retry_now(_lost(st, "sim_switch", actions))
    elif isinstance(event, Flowing):
        st = replace(st, session=replace(st.session, flowing=event.ok))
    elif isinstance(event, BroughtUp):
        st = _brought_up(st, event, now, actions)
    elif isinstance(event, BringUpFailed):
        st = _failed(st, event, now, actions)
    elif isinstance(event, Checked):
        st = _checked(st, event, actions)
    else:
        raise TypeError(f"not a connection input: {event!r}")
    return st, actions


def _polled(st: ConnectionState, p: Polled, now: float, actions: list) -> ConnectionState:
    registered = p.registration in REGISTERED
    st = replace(st, connected=True, registration=p.registration, port_down_since=None, fail_since=None)
    if registered and not st.was_registered:
        st = _retry_now(st)                     # registered again: a failure from before says nothing now
    if registered:
        unregistered_since = None
    elif p.sim_state == "READY" and p.registration in UNREGISTERED:
        unregistered_since = st.unregistered_since if st.unregistered_since is not None else now
    else:
        unregistered_since = None               # denied, no SIM: the SIM rules' business, not a modem fault
    st = replace(st, was_registered=registered, unregistered_since=unregistered_since)
    return st if registered else _lost(st, "not registered", actions)


def _port(st: ConnectionState, kind: str, now: float, actions: list) -> ConnectionState:
    if kind == "port_lost":
        st = replace(st, connected=False, fail_since=None,
                     port_down_since=st.port_down_since if st.port_down_since is not None else now)
    elif kind == "port_opened":
        st = replace(st, port_down_since=None)
    elif kind == "unresponsive" and st.fail_since is None:
        st = replace(st, fail_since=now)
    if kind in ("port_lost", "rebooted"):
        actions.append(ModemLost())
        st = _lost(st, "modem restarted" if kind == "rebooted" else "modem port lost", actions)
    return st


def _ensure(st: ConnectionState, now: float, actions: list) -> ConnectionState:
    """Up when it should be, its address checked now and then."""
    if not st.settings.data or not st.registered:
        return replace(st, data_down_since=None)
    if st.session.up and st.session.slot == st.slot:
        st = replace(st, data_down_since=None)
        if st.job is None and now - st.checked_at >= st.settings.check_s:
            actions.append(CheckAddress(st.slot))
            st = replace(st, job=Job.CHECK, checked_at=now)
        return st
    if st.data_down_since is None and not st.no_apn:
        st = replace(st, data_down_since=now)
    if st.job is not None or now < st.next_try_at or st.switching or st.held or st.slot is None:
        return st
    actions.append(BringUp(st.slot))
    return replace(st, job=Job.BRING_UP)


def _brought_up(st: ConnectionState, b: BroughtUp, now: float, actions: list) -> ConnectionState:
    st = replace(st, job=None)
    if b.slot != st.slot or st.switching:
        return st                               # brought up for a SIM we have left meanwhile
    session = Session(up=True, slot=b.slot, apn=b.apn, apn_source=b.apn_source, address=b.address, via=b.via,
                      since=b.wall, error=None, flowing=None)
    actions.append(Emit("data_session", {"up": True, "slot": b.slot, "apn": b.apn, "apn_source": b.apn_source,
                                         "address": b.address, "via": b.via}))
    return replace(st, session=session, failures=0, checked_at=now, data_down_since=None)


def _failed(st: ConnectionState, f: BringUpFailed, now: float, actions: list) -> ConnectionState:
    failures = st.failures + 1
    st = replace(st, job=None, no_apn=f.no_apn, failures=failures,
                 next_try_at=now + st.settings.retry.delay(failures - 1),
                 # the configuration's fault: no modem reset will find an APN
                 data_down_since=None if f.no_apn else st.data_down_since)
    if f.error != st.session.error:             # said once per distinct reason, not every retry
        st = replace(st, session=replace(st.session, error=f.error))
        actions.append(Emit("data_session", {"up": False, "slot": f.slot, "apn": None, "address": None,
                                             "error": f.error}))
    return st


def _checked(st: ConnectionState, c: Checked, actions: list) -> ConnectionState:
    st = replace(st, job=None)
    s = st.session
    if not s.up or s.slot != c.slot:
        return st
    if not c.failed and c.address is None:
        return _lost(st, "address lost", actions)
    if c.address is not None and c.address != s.address:
        actions.append(Emit("data_session", {"up": True, "slot": c.slot, "apn": s.apn, "apn_source": s.apn_source,
                                             "address": c.address, "via": s.via}))
        return replace(st, session=replace(s, address=c.address))
    return st


def _retry_now(st: ConnectionState) -> ConnectionState:
    return replace(st, next_try_at=0.0, failures=0, no_apn=False, session=replace(st.session, error=None))


def _lost(st: ConnectionState, reason: str, actions: list) -> ConnectionState:
    s = st.session
    if not s.up:
        return st
    actions.append(Emit("data_session", {"up": False, "slot": s.slot, "apn": s.apn, "address": s.address,
                                         "reason": reason}))
    return replace(st, session=replace(s, up=False, address=None, since=None, flowing=None), next_try_at=0.0)


def view(st: ConnectionState) -> dict[str, Any]:
    """core.state["cellular"]["data"]."""
    s = st.session
    return {"up": s.up, "slot": s.slot, "apn": s.apn, "apn_source": s.apn_source, "address": s.address,
            "via": s.via, "since": s.since, "error": s.error, "flowing": s.flowing}
