"""One link's status from its probe results and link layer: unknown → up ⇄ degraded, any → down → up.

Down is decided on evidence, not on a timer: a run of failed probes (to every live target) long enough that loss
alone explains it with at most `false_down_probability`, and no answer for at least `down_window_s`. The run
needed grows with the loss the link has shown lately, so a clean fiber is declared down after ~8 failures
(about 1 s) while a line losing half its probes needs ~30 (about 2.5 s) and is not failed over by mistake.
Carrier loss (or the address gone) is down at once. Degraded is sustained loss or latency; it is reported,
and failing over on it is a separate choice (FailoverConfig.failover_when_degraded).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from agent.config import FailoverConfig
from agent.linkmon.health import LinkHealth, Sample, failures_needed, typical_loss

DEGRADED_MIN_SAMPLES = 30   # fewer results than this say too little about loss to call a link degraded
RESTORE_RATIO = 0.5         # hysteresis: degraded at the threshold, restored only at half of it (RTT: 0.8)
RESTORE_RTT_RATIO = 0.8
QUALITY_EVERY_S = 1.0       # degraded is about the last 15 s: judging it once a second is plenty (and cheap)


class Status(StrEnum):
    UNKNOWN = "unknown"
    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True)
class LinkView:
    health: LinkHealth = LinkHealth()
    layer_up: bool | None = None          # carrier and address; None until netlink has said
    layer_reason: str = ""
    status: Status = Status.UNKNOWN
    since: float = 0.0                    # when status last changed
    reason: str = ""                      # why it is down or degraded
    down_started: float | None = None     # first sign of the last outage: first failed probe, or carrier loss
    up_since: float | None = None         # when it last came up from down/unknown (degraded does not reset it)
    healthy_since: float | None = None    # when it last became "up" (the failback hold-down counts from here)
    quality_at: float | None = None       # when loss and latency were last judged


@dataclass(frozen=True)
class Transition:
    old: Status
    new: Status


def evolve(obj, **changes):
    """dataclasses.replace for the policy's frozen state classes (no __post_init__, no InitVar), about ten times
    cheaper: it runs on every probe result and tick. A new object; the old one is left as it was."""
    new = object.__new__(type(obj))
    fields = new.__dict__   # frozen forbids setattr, not filling a fresh instance's dict
    fields.update(obj.__dict__)
    fields.update(changes)
    return new


def observe(view: LinkView, sample: Sample, now: float, history_s: float) -> LinkView:
    if view.status == Status.DOWN and not sample.ok:
        sample = replace(sample, outage=True)
    return evolve(view, health=view.health.add(sample, now, history_s))


def set_layer(view: LinkView, up: bool, reason: str) -> LinkView:
    return replace(view, layer_up=up, layer_reason=reason)


def assess(view: LinkView, now: float, cfg: FailoverConfig) -> tuple[LinkView, Transition | None]:
    new = _judge(view, now, cfg)
    if new is None and view.status in (Status.UP, Status.DEGRADED) and (
            view.quality_at is None or now - view.quality_at >= QUALITY_EVERY_S):
        view = evolve(view, quality_at=now)
        new = _judge_quality(view, now, cfg)
    if new is None or new[0] == view.status:
        return view, None
    status, reason, started = new
    changed = replace(view, status=status, since=now, reason=reason)
    if status == Status.DOWN:
        changed = replace(changed, down_started=started, up_since=None, healthy_since=None,
                          health=view.health.mark_outage(started if started is not None else now))
    elif status == Status.UP:
        changed = replace(changed, healthy_since=now,
                          up_since=now if view.status in (Status.DOWN, Status.UNKNOWN) else view.up_since)
    return changed, Transition(view.status, status)


def _judge(view: LinkView, now: float, cfg: FailoverConfig) -> tuple[Status, str, float | None] | None:
    """(status, reason, outage start) if the status should change or be confirmed, else None."""
    health = view.health
    if view.layer_up is False:
        run = health.failure_run(health.dead_targets())
        started = min(now, run.first_at) if run.first_at is not None and run.last_ok_at is not None else now
        return (Status.DOWN, view.layer_reason or "carrier_lost", started)
    if view.status == Status.DOWN:
        answers = sum(1 for s in health.since(view.since) if s.ok)
        return (Status.UP, "", None) if answers >= cfg.recover_successes else None
    dead = health.dead_targets()
    run = health.failure_run(dead)
    need = failures_needed(health.loss_estimate(dead, leave_out=run.count), cfg.false_down_probability, cfg.min_failures,
                           cfg.max_failures)
    reference = run.last_ok_at if run.last_ok_at is not None else run.first_at
    if run.count >= need and reference is not None and now - reference >= cfg.down_window_s:
        return (Status.DOWN, "no_answer", run.first_at)
    if view.status == Status.UNKNOWN:
        return (Status.UP, "", None) if any(ok for _, _, ok, _ in health.counts) else None
    return None


def _judge_quality(view: LinkView, now: float, cfg: FailoverConfig) -> tuple[Status, str, float | None] | None:
    health = view.health
    dead = health.dead_targets()
    start = max(now - cfg.degraded_window_s, view.up_since if view.up_since is not None else now)
    stats, targets = health.window(start, dead)
    if stats.sent < DEGRADED_MIN_SAMPLES:
        return None
    loss_pct = 100.0 * (typical_loss(targets) or 0.0)
    rtt = stats.rtt_ms
    if view.status == Status.UP:
        if loss_pct >= cfg.degraded_loss_pct:
            return (Status.DEGRADED, f"loss {loss_pct:.0f}%", None)
        if rtt is not None and rtt >= cfg.degraded_rtt_ms:
            return (Status.DEGRADED, f"rtt {rtt:.0f} ms", None)
        return None
    if view.status == Status.DEGRADED:
        if loss_pct <= cfg.degraded_loss_pct * RESTORE_RATIO and (rtt is None or
                                                                   rtt <= cfg.degraded_rtt_ms * RESTORE_RTT_RATIO):
            return (Status.UP, "", None)
    return None
