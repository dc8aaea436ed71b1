"""Rules, de-duplication and deliveries glued: one Channel per way out."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from fleet.alerts.delivery import Deliveries
from fleet.alerts.rules import Alert, Memory, Rule, Rules, SiteView, deduplicate, firing


@dataclass
class Channel:
    """One way out (an e-mail list, a webhook) with its own window: a ticketing webhook may want a reminder every
    hour, the people on the e-mail list once a day."""
    deliveries: Deliveries
    window_s: float = 6 * 3600.0
    rules: frozenset[Rule] = frozenset(Rule)          # the rules this channel is told about
    memory: Memory = Memory()


class Alerting:
    """The fleet's alerting, glued: `evaluate(sites, now, incidents)` queues what each channel has not yet been
    told; `pump(now)` sends and says when it is next due. Both from one thread, the fleet's alert loop (not the
    ingest's): a slow SMTP server delays the next evaluation, never the storing of messages, and the queues need
    no lock. 10,000 sites take 8-20 ms to evaluate (BENCHMARKS.md)."""

    def __init__(self, rules: Rules, channels: Mapping[str, Channel]):
        self.rules = rules
        self.channels = dict(channels)

    def evaluate(self, sites: Iterable[SiteView], now: float, incidents: Iterable[object] = ()) -> list[Alert]:
        alerts = firing(self.rules, sites, now, incidents)
        for channel in self.channels.values():
            mine = [a for a in alerts if a.rule in channel.rules]
            channel.memory, fresh = deduplicate(channel.memory, mine, channel.window_s, now)
            for alert in fresh:
                channel.deliveries.add(alert)
        return alerts

    def pump(self, now: float) -> float | None:
        due = [d for d in (c.deliveries.pump(now) for c in self.channels.values()) if d is not None]
        return min(due, default=None)

