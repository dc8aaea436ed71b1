"""What to send and when: telemetry by exception with deadbands plus a slow heartbeat, and each part of the retained
state within seconds of a significant change. Pure decision code: `now` comes in as a parameter, nothing here reads a clock or does IO.

Why smoothing before the deadbands: a parked router's RSRP wobbles by a few dB from one reading to the next; a
deadband on raw readings would fire on that noise all day. An EWMA (time constant `smoothing_s`) keeps real trends
and drops the wobble. A token bucket (`max_per_hour`) caps what a noisy radio can cost whatever its noise.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

# Where each metric lives in the core's state snapshot (other subsystems own those keys; see docs/mqtt.md).
#   name               path in core.state                       deadband kind  scale
METRICS: tuple[tuple[str, tuple[str, ...], str, float], ...] = (
    ("rsrp_dbm", ("modem", "signal", "rsrp_dbm"), "signal", 1.0),
    ("rsrq_db", ("modem", "signal", "rsrq_db"), "signal", 1.0),
    ("sinr_db", ("modem", "signal", "sinr_db"), "signal", 1.0),
    ("rssi_dbm", ("modem", "signal", "rssi_dbm"), "signal", 1.0),
    ("rx_bytes", ("cellular", "usage", "rx_bytes"), "counter", 1.0),
    ("tx_bytes", ("cellular", "usage", "tx_bytes"), "counter", 1.0),
)
# One series per uplink, named "<uplink>_<suffix>" after each link in failover.links: "fiber_rtt_ms",
# "lte_loss_pct"; a legacy two-link config's uplinks are "primary" and "backup", so its series keep the names they
# always had (primary_rtt_ms, backup_loss_pct). Uplink names are [a-z][a-z0-9_]*: a series cannot collide with
# another uplink's, nor with the fixed metrics above (none ends in these suffixes).
#   suffix      key in failover.links.<uplink>   deadband kind  scale
LINK_METRICS: tuple[tuple[str, str, str, float], ...] = (
    ("rtt_ms", "rtt_ms", "rtt", 1.0),
    ("loss_pct", "loss", "loss", 100.0),      # loss: a fraction
)
RTT_FLOOR_MS = 5.0   # below this an RTT change is noise whatever its percentage (2 -> 3 ms is +50 %)

# What does not republish a part of the retained state by itself: numbers, or their absence (RTTs, losses,
# counters, timestamps, decaying penalties change all the time and travel as telemetry) and these subtrees. Their
# current values are in the part whenever it is published.
VOLATILE_KEYS = frozenset({"signal", "targets", "usage", "reason"})
# ...except these numbers, which name a thing rather than measure it: a SIM switch must show at once.
SIGNIFICANT_NUMBERS = frozenset({"sim_slot", "active_slot", "preferred_slot", "slot", "to_slot", "from_slot"})

def _number(node: Any) -> bool:
    return isinstance(node, (int, float)) and not isinstance(node, bool) and math.isfinite(node)


def extract(state: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, path, _, scale in METRICS:
        node: Any = state
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if _number(node):
            out[name] = float(node) * scale
    failover = state.get("failover")
    links = failover.get("links") if isinstance(failover, dict) else None
    for uplink, link in (links.items() if isinstance(links, dict) else ()):
        if not isinstance(link, dict) or not isinstance(uplink, str):
            continue
        for suffix, key, _, scale in LINK_METRICS:
            if _number(link.get(key)):
                out[f"{uplink}_{suffix}"] = float(link[key]) * scale
    return out


@dataclass(frozen=True)
class Deadbands:
    signal_db: float = 3.0
    rtt_pct: float = 20.0
    loss_pct: float = 5.0


_KIND = {name: kind for name, _, kind, _ in METRICS}


def kind_of(name: str) -> str:
    """The deadband a metric is held to: its own, or its uplink series' ("fiber_rtt_ms" is an "rtt")."""
    kind = _KIND.get(name)
    if kind is not None:
        return kind
    return next((k for suffix, _, k, _ in LINK_METRICS if name.endswith("_" + suffix)), "signal")


def crossed(kind: str, old: float | None, new: float | None, bands: Deadbands) -> bool:
    if kind == "counter":
        return False
    if old is None or new is None:
        return (old is None) != (new is None)
    if kind == "signal":
        return abs(new - old) >= bands.signal_db
    if kind == "rtt":
        return abs(new - old) >= max(abs(old) * bands.rtt_pct / 100.0, RTT_FLOOR_MS)
    return abs(new - old) >= bands.loss_pct


def rounded(metrics: dict[str, float]) -> dict[str, int | float | None]:
    """Whole dB / ms / % / bytes: finer is noise at these deadbands, and small integers are 1-3 bytes in CBOR."""
    return {k: int(round(v)) for k, v in metrics.items()}


class TelemetryGate:
    def __init__(self, bands: Deadbands, heartbeat_s: float, min_interval_s: float, max_per_hour: int,
                 smoothing_s: float):
        self.bands = bands
        self.heartbeat_s = heartbeat_s
        self.min_interval_s = min_interval_s
        self.max_per_hour = max_per_hour
        self.smoothing_s = smoothing_s
        self._smooth: dict[str, float] = {}
        self._seen_at: float | None = None
        self._sent: dict[str, float] | None = None
        self._sent_at: float | None = None
        self._tokens = float(max_per_hour)
        self._tokens_at: float | None = None

    def _smoothed(self, metrics: dict[str, float], now: float) -> dict[str, float]:
        dt = 0.0 if self._seen_at is None else max(0.0, now - self._seen_at)
        self._seen_at = now
        alpha = 1.0 if self.smoothing_s <= 0 else 1.0 - math.exp(-dt / self.smoothing_s)
        out = {}
        for name, value in metrics.items():
            prev = self._smooth.get(name)
            out[name] = value if prev is None or kind_of(name) == "counter" else prev + alpha * (value - prev)
        self._smooth = out
        return out

    def _take_token(self, now: float) -> bool:
        if self._tokens_at is not None:
            self._tokens = min(float(self.max_per_hour),
                               self._tokens + (now - self._tokens_at) * self.max_per_hour / 3600.0)
        self._tokens_at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def observe(self, metrics: dict[str, float], now: float) -> tuple[str, dict[str, int | float | None]] | None:
        """Feed the current readings; returns (why, values to send) when a telemetry message is due.
        "first" and "heartbeat" carry every metric; "change" only those that moved past their deadband since
        they were last sent (None: the metric is gone) — each metric's deadband is against its last sent value."""
        smooth = self._smoothed(metrics, now)
        if self._sent is None or self._sent_at is None or now - self._sent_at >= self.heartbeat_s:
            why = "first" if self._sent is None else "heartbeat"
            self._sent, self._sent_at = dict(smooth), now
            return why, rounded(smooth)
        if now - self._sent_at < self.min_interval_s:
            return None
        moved = sorted(n for n in set(smooth) | set(self._sent)
                       if crossed(kind_of(n), self._sent.get(n), smooth.get(n), self.bands))
        if not moved or not self._take_token(now):
            return None
        for n in moved:
            if n in smooth:
                self._sent[n] = smooth[n]
            else:
                self._sent.pop(n, None)
        self._sent_at = now
        return "change", {n: (int(round(smooth[n])) if n in smooth else None) for n in moved}


def fingerprint(state: Any) -> str:
    """The state's shape and words without measurements and volatile subtrees: equal = nothing worth republishing."""
    return json.dumps(_strip(state), sort_keys=True, separators=(",", ":"), default=str)


def _strip(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _strip(v, k) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    if key in SIGNIFICANT_NUMBERS:
        return value
    # A measurement and its absence are one thing here: a trickle-probed backup link's RTT comes and goes (None
    # when the window holds no reply) and must not republish its part each time.
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return "#"
    return value


STATE_MAX_HOLD_S = 3.0   # a part that keeps changing goes out at the latest this long after its first change
STATE_BURST = 10         # publications a part may make in a row before its hourly rate applies


@dataclass
class _Part:
    published: str | None = None        # the fingerprint last handed out for publication
    current: str | None = None
    changed_at: float = 0.0
    pending_since: float | None = None  # first change not yet published
    tokens: float = float(STATE_BURST)
    tokens_at: float | None = None


class StateGate:
    """Which parts of the retained state (one per top-level key of core.state) are due for publication.

    A part is due once it has been still for `debounce_s` (a failover or a SIM switch changes several keys in a
    burst: one message), at the latest max(STATE_MAX_HOLD_S, debounce_s) after its first unpublished change, so a
    significant change reaches the broker within seconds whatever else moves. Each part has its own token bucket
    (a burst of STATE_BURST, then `per_hour`): a flapping link cannot cost more than that, and cannot delay the
    other parts. A part held back by its bucket stays pending and goes out, with its latest value, as soon as a
    token is back."""

    def __init__(self, debounce_s: float, per_hour: float = 4.0, burst: int = STATE_BURST):
        self.debounce_s = debounce_s
        self.per_hour = per_hour
        self.burst = burst
        self._parts: dict[str, _Part] = {}

    def observe(self, parts: dict[str, str | None], now: float) -> list[str]:
        """Feed every part's current fingerprint (None: the part is gone); returns the names due now, sorted."""
        due = []
        for name in sorted(set(parts) | set(self._parts)):
            fp = parts.get(name)
            part = self._parts.get(name)
            if part is None:
                part = self._parts[name] = _Part(tokens=float(self.burst))
            if self._due(part, fp, now):
                due.append(name)
            if fp is None and part.published is None:
                del self._parts[name]   # gone, and its deletion handed out: forget it
        return due

    def _due(self, part: _Part, fp: str | None, now: float) -> bool:
        if fp != part.current:
            part.current = fp
            part.changed_at = now
        if fp == part.published:
            part.pending_since = None
            return False
        if part.pending_since is None:
            part.pending_since = now
        hold = max(STATE_MAX_HOLD_S, self.debounce_s)
        if now - part.changed_at < self.debounce_s and now - part.pending_since < hold:
            return False
        if part.tokens_at is not None:
            part.tokens = min(float(self.burst), part.tokens + (now - part.tokens_at) * self.per_hour / 3600.0)
        part.tokens_at = now
        if part.tokens < 1.0:
            return False        # stays pending: published as soon as a token is back, with the latest value
        part.tokens -= 1.0
        part.published = fp
        part.pending_since = None
        return True
