"""Speed evidence (issue 11 §3): each uplink's real download (and upload) speed, measured through that uplink, for
the ledger and the report — what a business shows its operator against the guaranteed speed (README "Speed").

    measure.py    one measurement: HTTP(S) download / upload or iperf3, bound to the uplink; never raises
    schedule.py   decide(state, Tick, now): once a day per link, in the quiet hour, at a per-device minute (pure)
    service.py    the core side: schedule timer, `speedtest` command, data budget, worker thread, speed_measured

Use: `tester = attach_speedtest(core, config, usage=usage_meter)`, only with [speedtest] url or iperf3 set (the
runtime imports nothing of this package otherwise: the agent's 30 MB budget).
"""
from __future__ import annotations

from agent.speedtest.service import SpeedTester


def attach_speedtest(core, config, *, usage=None, **options) -> SpeedTester:
    """The daily schedule (if [speedtest] links any uplink) and the `speedtest` command."""
    if not config.speedtest.enabled:
        raise ValueError("[speedtest] has neither url nor iperf3: nothing to measure with")
    return SpeedTester(core, config, usage=usage, **options)


__all__ = ["SpeedTester", "attach_speedtest"]
