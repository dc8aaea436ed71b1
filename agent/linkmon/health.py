"""A link's recent probe results and what they say: RTT, loss and jitter over sliding windows, the run of failures
since the last answer, targets that are dead while the link is not. Pure and immutable: the failover policy keeps
one LinkHealth per link in its state and replaces it on each result.

Samples are ordered by the time the probe was *sent*, not by when its result came in: a failure is known only at
its timeout, after answers to probes sent later; in send order "failures since the last answer" means what it says.

Failures during an outage (marked `outage`) are kept for the statistics but left out of the loss estimate: that
estimate answers "how lossy is this link while it works", which sets how many failures in a row mean "down"; an
outage a minute ago must not make the next one slower to see.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

DEAD_TARGET_MIN_SAMPLES = 10   # a target that failed this many times while others answered is dead, not the link
KEEP_MIN_SAMPLES = 20          # a slowly probed link (trickle) keeps this many results whatever their age


@dataclass(frozen=True, slots=True)
class Sample:
    at: float                  # monotonic send time
    target: str
    ok: bool
    rtt_ms: float | None = None
    outage: bool = False       # a failure while the link was judged down


@dataclass(frozen=True)
class TargetStats:
    sent: int
    lost: int
    rtt_ms: float | None
    alive: bool

    def as_dict(self) -> dict:
        return {"sent": self.sent, "lost": self.lost, "rtt_ms": _round(self.rtt_ms), "alive": self.alive}


@dataclass(frozen=True)
class WindowStats:
    sent: int = 0
    lost: int = 0
    rtt_ms: float | None = None      # median of answered probes
    jitter_ms: float | None = None   # mean |difference| of consecutive RTTs to the same target (RFC 3550's idea)

    @property
    def loss(self) -> float | None:
        return self.lost / self.sent if self.sent else None


@dataclass(frozen=True)
class FailureRun:
    """Failed probes (to live targets) sent after the last answered one."""
    count: int = 0
    first_at: float | None = None    # send time of the first of them: when the trouble started, as far as we know
    last_ok_at: float | None = None  # send time of the last answered probe


@dataclass(frozen=True)
class LinkHealth:
    samples: tuple[Sample, ...] = ()
    # per target over `samples`: (sent, answered, outage failures); kept alongside so that judging a link does not
    # walk its history
    counts: tuple[tuple[str, int, int, int], ...] = ()

    def add(self, sample: Sample, now: float, keep_s: float) -> "LinkHealth":
        if not self.samples or sample.at >= self.samples[-1].at:
            samples = self.samples + (sample,)   # the usual case, an answer: in send order already
        else:
            samples = list(self.samples)
            bisect.insort(samples, sample, key=lambda s: s.at)
        cut = bisect.bisect_left(samples, now - keep_s, key=lambda s: s.at)
        cut = min(cut, max(0, len(samples) - KEEP_MIN_SAMPLES))
        return LinkHealth(tuple(samples[cut:]), _count(self.counts, [sample], samples[:cut]))

    def mark_outage(self, since: float) -> "LinkHealth":
        """Mark the failures sent from `since` on as part of an outage (see the module comment)."""
        start = bisect.bisect_left(self.samples, since, key=lambda s: s.at)
        marked = [s for s in self.samples[start:] if not s.ok and not s.outage]
        if not marked:
            return self
        samples = self.samples[:start] + tuple(
            Sample(s.at, s.target, s.ok, s.rtt_ms, True) if not s.ok else s for s in self.samples[start:])
        return LinkHealth(samples, _count(self.counts, [Sample(s.at, s.target, s.ok, s.rtt_ms, True) for s in marked],
                                          marked))

    def since(self, t: float) -> tuple[Sample, ...]:
        return self.samples[bisect.bisect_left(self.samples, t, key=lambda s: s.at):]

    def dead_targets(self) -> frozenset[str]:
        """Targets that never answered in the history while another target did: a dead target, not a dead link."""
        if not any(ok for _, _, ok, _ in self.counts):
            return frozenset()
        return frozenset(t for t, sent, ok, _ in self.counts if not ok and sent >= DEAD_TARGET_MIN_SAMPLES)

    def failure_run(self, dead: frozenset[str] = frozenset()) -> FailureRun:
        count, first_at = 0, None
        for s in reversed(self.samples):
            if s.target in dead:
                continue
            if s.ok:
                return FailureRun(count, first_at, s.at)
            count, first_at = count + 1, s.at
        return FailureRun(count, first_at, None)

    def loss_estimate(self, dead: frozenset[str] = frozenset(), leave_out: int = 0) -> float:
        """Probe loss over the history, smoothed (Laplace) so that a short history reads as uncertain, not as 0.
        `leave_out`: the latest failures (the run being judged) are the question, not part of the answer."""
        sent = sum(n - outage for t, n, _, outage in self.counts if t not in dead) - leave_out
        answered = sum(ok for t, _, ok, _ in self.counts if t not in dead)
        return (sent - answered + 1) / (sent + 2)

    def stats(self, since: float, dead: frozenset[str] = frozenset()) -> WindowStats:
        return self.window(since, dead)[0]

    def typical_loss(self, since: float, dead: frozenset[str] = frozenset()) -> float | None:
        """The median of the targets' loss rates since `since`: one bad target does not make the link look bad."""
        return typical_loss(self.target_stats(since, dead))

    def target_stats(self, since: float, dead: frozenset[str] = frozenset()) -> dict[str, TargetStats]:
        return self.window(since, dead)[1]

    def window(self, since: float, dead: frozenset[str] = frozenset()) -> tuple[WindowStats, dict[str, TargetStats]]:
        """stats() and target_stats() from one walk over the window: the link's figures are its live targets'
        pooled (a median and an exact sum do not depend on the order of what they pool)."""
        per_target = _per_target(self.since(since))
        sent = lost = 0
        rtts: list[float] = []
        diffs: list[float] = []
        targets = {}
        for target in sorted(per_target):
            t_sent, t_lost, t_rtts, t_diffs = per_target[target]
            alive = target not in dead
            targets[target] = TargetStats(t_sent, t_lost, _median(t_rtts) if t_rtts else None, alive)
            if alive:
                sent, lost = sent + t_sent, lost + t_lost
                rtts += t_rtts
                diffs += t_diffs
        return WindowStats(sent, lost, _median(rtts) if rtts else None,
                           math.fsum(diffs) / len(diffs) if diffs else None), targets


def typical_loss(targets: dict[str, TargetStats]) -> float | None:
    """The median of the live targets' loss rates (those probed at least 3 times)."""
    rates = [st.lost / st.sent for st in targets.values() if st.alive and st.sent >= 3]
    return _median(rates) if rates else None


def _per_target(samples) -> dict[str, list]:
    """Per target: [sent, lost, RTTs, |differences| of consecutive RTTs], in one pass."""
    out: dict[str, list] = {}
    last: dict[str, float] = {}
    for s in samples:
        target = s.target
        entry = out.get(target)
        if entry is None:
            entry = out[target] = [0, 0, [], []]
        entry[0] += 1
        if not s.ok:
            entry[1] += 1
        elif s.rtt_ms is not None:
            rtt = s.rtt_ms
            prev = last.get(target)
            if prev is not None:
                entry[3].append(abs(rtt - prev))
            last[target] = rtt
            entry[2].append(rtt)
    return out


def _count(counts, added, removed) -> tuple[tuple[str, int, int, int], ...]:
    table = {t: [sent, ok, outage] for t, sent, ok, outage in counts}
    for group, sign in ((added, 1), (removed, -1)):
        for s in group:
            c = table.setdefault(s.target, [0, 0, 0])
            c[0] += sign
            c[1] += sign * s.ok
            c[2] += sign * s.outage
    return tuple((t, *c) for t, c in sorted(table.items()) if c[0])


def failures_needed(loss: float, probability: float, lo: int, hi: int) -> int:
    """How many failures in a row make "down": enough that independent loss at rate `loss` explains them with
    at most `probability`. A clean line needs `lo`, a lossy one more, never more than `hi`."""
    loss = min(max(loss, 1e-6), 1 - 1e-6)
    return max(lo, min(hi, math.ceil(math.log(probability) / math.log(loss))))


def _median(values: list[float]) -> float:
    # statistics.median, without the ~0.4 MB of RSS that importing statistics (fractions, decimal) costs
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _round(x: float | None, digits: int = 1) -> float | None:
    return None if x is None else round(x, digits)
