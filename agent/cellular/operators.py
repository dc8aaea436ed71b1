"""Operator (PLMN) selection: `plan(state, seen, now) -> (state, action, events)`, pure — no clock, no IO.

Automatic selection unless the SIM has preferred or forbidden PLMN lists (docs/cellular.md#operators):
- registered on a PLMN that is not the first preferred one: ask for each better preferred PLMN in turn with
  AT+COPS=4 (manual, with the modem's automatic fallback when that network is not there), SETTLE_S apart; a
  round that tried them all is tried again after `retry_s`;
- registered on a forbidden PLMN with no preferred one left to try: scan (AT+COPS=?, minutes) and pick the first
  available network that is not forbidden, preferred ones first;
- an operator picked by the `operator_select` command is left alone until `operator_select auto`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

SETTLE_S = 60.0          # after asking for a PLMN: time for the modem to register (or fall back) before the next


class SelectionMode(StrEnum):
    AUTO = "auto"            # the modem picks (AT+COPS=0)
    MANUAL = "manual"        # asked for a PLMN, with the modem's automatic fallback (AT+COPS=4)


@dataclass(frozen=True)
class OperatorSeen:
    plmn: str | None                 # MCC+MNC registered on, None when not registered
    name: str | None = None
    preferred: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()


@dataclass(frozen=True)
class Select:
    plmn: str | None                 # None: automatic
    reason: str


@dataclass(frozen=True)
class Scan:
    reason: str


@dataclass(frozen=True)
class OperatorState:
    plmn: str | None = None
    name: str | None = None
    mode: SelectionMode = SelectionMode.AUTO
    wanted: str | None = None        # the PLMN last asked for
    pinned: bool = False             # chosen by command: no automatic change
    tried: tuple[str, ...] = ()
    round_started: float | None = None
    next_try_at: float = 0.0
    last_scan_at: float | None = None


def plan(st: OperatorState, seen: OperatorSeen, now: float, retry_s: float) -> tuple[OperatorState, object, list]:
    events: list = []
    if seen.plmn is not None and seen.plmn != st.plmn:
        events.append(("operator_changed", {"from_plmn": st.plmn, "to_plmn": seen.plmn, "operator_name": seen.name,
                                            "mode": st.mode, "wanted": st.wanted}))
    if seen.plmn is not None:
        st = replace(st, plmn=seen.plmn, name=seen.name)
    if seen.plmn is None or st.pinned or now < st.next_try_at:
        return st, None, events
    plmn, preferred, forbidden = seen.plmn, seen.preferred, seen.forbidden
    if st.round_started is not None and now - st.round_started >= retry_s:
        st = replace(st, tried=(), round_started=None)
    better = preferred[:preferred.index(plmn)] if plmn in preferred else preferred
    candidates = [p for p in better if p not in forbidden and p not in st.tried]
    if candidates:
        reason = "forbidden" if plmn in forbidden else "preferred"
        started = now if st.round_started is None else st.round_started
        st = replace(st, tried=st.tried + (candidates[0],), round_started=started, next_try_at=now + SETTLE_S,
                     wanted=candidates[0], mode=SelectionMode.MANUAL)
        return st, Select(candidates[0], reason), events
    if plmn in forbidden and (st.last_scan_at is None or now - st.last_scan_at >= retry_s):
        return replace(st, last_scan_at=now, next_try_at=now + SETTLE_S), Scan("forbidden"), events
    return st, None, events


def choose(networks: list[dict], preferred: tuple[str, ...], forbidden: tuple[str, ...]) -> str | None:
    """From a scan (modem.decode networks), the PLMN to ask for: available, not forbidden, preferred ones first."""
    usable = []
    for n in networks:
        plmn = f"{n.get('mcc') or ''}{n.get('mnc') or ''}"
        if len(plmn) in (5, 6) and n.get("availability") in ("available", "current") and plmn not in forbidden:
            usable.append(plmn)
    usable = list(dict.fromkeys(usable))                 # one entry per access technology: keep the first
    ranked = sorted(usable, key=lambda p: (preferred.index(p) if p in preferred else len(preferred), usable.index(p)))
    return ranked[0] if ranked else None


def commanded(st: OperatorState, plmn: str | None) -> OperatorState:
    """operator_select: a PLMN pins the choice; None (auto) gives it back to the automatic policy."""
    if plmn is None:
        return replace(st, mode=SelectionMode.AUTO, wanted=None, pinned=False, tried=(), round_started=None, next_try_at=0.0)
    return replace(st, mode=SelectionMode.MANUAL, wanted=plmn, pinned=True)


def asked(st: OperatorState, plmn: str | None) -> OperatorState:
    """The modem took a selection the policy asked for (after a scan or a Select)."""
    return replace(st, mode=SelectionMode.AUTO if plmn is None else SelectionMode.MANUAL, wanted=plmn)
