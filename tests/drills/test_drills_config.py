"""[drills] loading: defaults, and each bad value as the loader's one line naming the key."""
from __future__ import annotations

import pytest

from agent.config import ConfigError, from_dict


def test_defaults_and_a_full_section():
    d = from_dict({}).drills
    assert (d.schedule, d.kind, d.duration_s, d.overdue_days, d.timezone, d.service_timeout_s) == \
        ("monthly", "passive", 60.0, 40.0, "", 5.0)
    d = from_dict({"drills": {"schedule": "30 2 1,15 * mon-fri", "kind": "full", "duration_s": 30,
                              "overdue_days": 0, "timezone": "Europe/Paris"}}).drills
    assert (d.schedule, d.kind, d.duration_s, d.overdue_days) == ("30 2 1,15 * mon-fri", "full", 30.0, 0.0)
    assert from_dict({"drills": {"schedule": ""}}).drills.schedule == ""


@pytest.mark.parametrize("drills, message", [
    ({"schedule": "0 3 * *"}, '[drills] schedule: expected "monthly", "weekly", a cron expression (minute hour day '
                              'month weekday) or "", got "0 3 * *" (4 field(s), a cron expression has 5 (minute hour '
                              'day month weekday))'),
    ({"schedule": "0 3 31 2 *"}, 'got "0 3 31 2 *" (no month has that day, it would never fire)'),
    ({"schedule": "yearly"}, 'got "yearly" (1 field(s), a cron expression has 5'),
    ({"schedule": 3}, '[drills] schedule: expected a string, got 3'),
    ({"kind": "partial"}, '[drills] kind: expected one of "passive", "full", got "partial"'),
    ({"duration_s": 2}, "[drills] duration_s: expected a number from 5 to 3600, got 2"),
    ({"overdue_days": -1}, "[drills] overdue_days: expected a number from 0 to 3660, got -1"),
    ({"timezone": "Mars/Olympus"}, '[drills] timezone: expected a time zone such as "Europe/Paris", or "", got '
                                   '"Mars/Olympus"'),
    ({"service_timeout_s": 0}, "[drills] service_timeout_s: expected a number from 0.1 to 60, got 0"),
    ({"when": "monthly"}, "[drills] when: expected one of duration_s, kind, overdue_days, schedule, "
                          "service_timeout_s, timezone, got an unknown key"),
])
def test_bad_values_are_one_line(drills, message):
    with pytest.raises(ConfigError) as e:
        from_dict({"drills": drills}, source="relais.toml")
    assert str(e.value).startswith("relais.toml: ") and message in str(e.value) and "\n" not in str(e.value)
