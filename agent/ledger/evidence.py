"""What proves an incident, gathered on the core thread while it is open: the probes sent and lost per target, the
latency measured, the cellular network that carried the traffic and the bytes it cost.

Probe counts come from the probers' own results (ProbeResult, the input the failover controller decides on), so
they cover the whole incident, not just the minute of history the failover policy keeps. A DOWN is declared a
few seconds after its first failed probe: the results since then are still in a short per-link ring and are counted
when the incident opens. Every result is counted once, whichever of the ledger and the controller sees it first:
either it is in the ring when the incident opens, or it arrives later and is counted then.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

RING = 128   # results kept per link: the failure run before a DOWN (at most [failover] max_failures, 40) and more
SLACK_S = 1e-3   # a start converted from the wall clock back to monotonic time is this exact, no more


@dataclass
class Tally:
    """Probes of one link since `since_mono` (monotonic send time), per target, and their answered RTTs."""
    since_mono: float
    sent: dict[str, int] = field(default_factory=dict)
    lost: dict[str, int] = field(default_factory=dict)
    rtt_sum_ms: float = 0.0
    rtt_count: int = 0
    rtt_max_ms: float | None = None

    def add(self, target: str, ok: bool, rtt_ms: float | None) -> None:
        self.sent[target] = self.sent.get(target, 0) + 1
        if not ok:
            self.lost[target] = self.lost.get(target, 0) + 1
        elif isinstance(rtt_ms, (int, float)) and not isinstance(rtt_ms, bool):
            self.rtt_sum_ms += rtt_ms
            self.rtt_count += 1
            self.rtt_max_ms = rtt_ms if self.rtt_max_ms is None else max(self.rtt_max_ms, rtt_ms)

    def as_evidence(self) -> dict[str, Any]:
        sent = sum(self.sent.values())
        lost = sum(self.lost.values())
        return {
            "targets": sorted(self.sent),
            "probes": {t: {"sent": n, "lost": self.lost.get(t, 0)} for t, n in sorted(self.sent.items())},
            "loss_pct": round(100.0 * lost / sent, 2) if sent else None,
            "latency_ms": round(self.rtt_sum_ms / self.rtt_count, 1) if self.rtt_count else None,
            "latency_max_ms": None if self.rtt_max_ms is None else round(self.rtt_max_ms, 1),
        }


class ProbeLog:
    """Recent results per link, and the tallies of the incidents open on each link."""

    def __init__(self) -> None:
        self._ring: dict[str, collections.deque] = {}
        self._tallies: dict[str, list[Tally]] = {}

    def add(self, link: str, target: str, ok: bool, sent_at: float, rtt_ms: float | None) -> None:
        self._ring.setdefault(link, collections.deque(maxlen=RING)).append((sent_at, target, ok, rtt_ms))
        for tally in self._tallies.get(link, ()):
            if sent_at >= tally.since_mono:
                tally.add(target, ok, rtt_ms)

    def open(self, link: str, since_mono: float, backfill: bool) -> Tally:
        """A tally of `link`'s probes sent from `since_mono` on; `backfill`: counting those already received."""
        tally = Tally(since_mono - SLACK_S)
        if backfill:
            for sent_at, target, ok, rtt_ms in self._ring.get(link, ()):
                if sent_at >= tally.since_mono:
                    tally.add(target, ok, rtt_ms)
        self._tallies.setdefault(link, []).append(tally)
        return tally

    def close(self, link: str, tally: Tally) -> None:
        tallies = self._tallies.get(link, [])
        if tally in tallies:
            tallies.remove(tally)


def cellular_now(state: dict[str, Any]) -> dict[str, Any]:
    """The cellular network serving now (core.state["modem"]) and the SIM's byte count (core.state["cellular"]
    ["usage"]), as far as they are known."""
    modem = state.get("modem") or {}
    out: dict[str, Any] = {}
    if isinstance(modem, dict):
        operator = modem.get("operator_name") or _plmn(modem)
        if operator:
            out["operator"] = str(operator)
        cell = {k: modem.get(k) for k in ("mcc", "mnc", "rat", "cell_id", "lac_tac", "pci", "band", "earfcn")
                if modem.get(k) is not None}
        if cell:
            out["cell"] = cell
        if modem.get("sim_slot") is not None:
            out["sim"] = modem.get("sim_slot")
    usage = (state.get("cellular") or {}).get("usage") if isinstance(state.get("cellular"), dict) else None
    if isinstance(usage, dict) and isinstance(usage.get("total_bytes"), int):
        out["usage"] = (usage.get("iccid"), usage.get("month"), usage["total_bytes"])
    return out


def bytes_between(before: dict[str, Any], after: dict[str, Any]) -> int | None:
    """Bytes counted on the cellular SIM between two cellular_now() snapshots; None when they cannot be compared
    (no counter, another SIM, a new billing period)."""
    a, b = before.get("usage"), after.get("usage")
    if a is None or b is None or a[:2] != b[:2] or b[2] < a[2]:
        return None
    return b[2] - a[2]


def _plmn(modem: dict[str, Any]) -> str | None:
    mcc, mnc = modem.get("mcc"), modem.get("mnc")
    return f"{mcc}{mnc}" if mcc is not None and mnc is not None else None
