"""Speed evidence (issue 11 §3): each uplink's real download (and upload) speed, measured through that uplink, for
the ledger and the report — what a business shows its operator against the guaranteed speed (README "Speed").

    measure.py    one measurement: HTTP(S) download / upload or iperf3, bound to the uplink; never raises
    schedule.py   decide(state, Tick, now): once a day per link, in the quiet hour, at a per-device minute (pure)
    service.py    the core side: schedule timer, `speedtest` command, data budget, worker thread, speed_measured

Use: `tester = attach_speedtest(core, config, usage=usage_meter)`.
"""
from __future__ import annotations

from typing import Any

from agent.core import CommandError


def attach_speedtest(core, config, *, usage=None, **options) -> Any:
    """With [speedtest] url or iperf3 set: the SpeedTester (daily schedule, `speedtest` command). Without: only a
    `speedtest` command that says so, and none of the rest is imported (the agent's 30 MB budget)."""
    if not config.speedtest.enabled:
        def not_configured(args) -> None:
            raise CommandError("speedtest: no [speedtest] url or iperf3 configured")
        core.register_command("speedtest", not_configured)
        return None
    from agent.speedtest.service import SpeedTester
    return SpeedTester(core, config, usage=usage, **options)


__all__ = ["attach_speedtest"]
