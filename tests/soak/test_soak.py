"""A short soak inside `make test`: four virtual hours (a broker outage included) in about a minute. `make soak`
replays a day and gives the per-day figures of BENCHMARKS.md."""
import pytest

from tests.soak.soak import soak

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


def test_four_hours_lose_nothing_and_leak_nothing(tmp_path):
    r = soak(4, tmp_path)
    print("\n".join(r.lines()))
    assert r.broker_outages == 1 and r.failovers >= 4
    assert r.accepted > 20
    assert r.lost == 0
    assert r.threads_end <= r.threads_start and r.fds_end <= r.fds_start
    # Three hours are too short for a per-day slope (a page of the allocator is 4 KiB): a leak of the size that
    # matters (an event or a probe result kept) would be tens of MiB here.
    assert r.rss_end_kib - r.rss_start_kib < 2048
