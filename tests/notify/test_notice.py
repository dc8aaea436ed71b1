"""The notice text: pure functions, checked as tables."""
from __future__ import annotations

import pytest

from agent.notify.notice import drill_notice, duration, outage_notice, when, zone

PARIS = zone("Europe/Paris")
SUMMER = 1751374800.0        # 2025-07-01 13:00:00 UTC = 15:00 CEST


@pytest.mark.parametrize("seconds, fr, en", [
    (0, "0 s", "0 s"),
    (59.4, "59 s", "59 s"),
    (65, "1 min 05 s", "1 min 05 s"),
    (3725, "1 h 02 min 05 s", "1 h 02 min 05 s"),
    (2 * 86400 + 3 * 3600 + 7 * 60, "2 j 3 h 07 min", "2 d 3 h 07 min"),
    (-5, "0 s", "0 s"),
])
def test_durations(seconds, fr, en):
    assert (duration(seconds, "fr"), duration(seconds, "en")) == (fr, en)


def test_local_time_names_the_zone_summer_and_winter():
    assert when(SUMMER, "fr", PARIS) == "mardi 1 juillet 2025 à 15:00:00 CEST"
    assert when(SUMMER + 180 * 86400, "en", PARIS) == "Sunday 28 December 2025 at 14:00:00 CET"
    assert when(SUMMER, "en", zone("America/Montreal")) == "Tuesday 1 July 2025 at 09:00:00 EDT"


def test_an_unsynced_clock_is_said_and_missing_facts_are_unknown():
    n = outage_notice({"start": SUMMER, "cause": "", "start_source": "unsynced"}, SUMMER + 10, "d", "fr", PARIS)
    assert "Fin : inconnue" in n.body and "Durée : inconnue" in n.body and "Cause : inconnue" in n.body
    assert "Trafic acheminé par : inconnue" in n.body
    assert "l'horloge n'était pas synchronisée" in n.body
    m = outage_notice({"start": SUMMER, "end": SUMMER + 90, "uplink": "wan2"}, SUMMER + 91, "d", "en", PARIS)
    assert "Duration: 1 min 30 s" in m.body and "Traffic carried by: wan2" in m.body and "synchronised" not in m.body


def test_drill_notice_names_the_route_error_and_the_clock():
    n = drill_notice({"ok": False, "reason": "traffic did not take the backup", "duration_s": 30.0,
                      "backup": {"sent": 15, "lost": 2},
                      "route": {"uplink": "primary", "probe_ok": False, "error": "timeout"}},
                     SUMMER, "unsynced", "relais-1", "fr", PARIS)
    assert n.kind == "drill" and n.subject == "relais-1 : échec de l'exercice de bascule (1 juillet 2025 14:59)"
    assert "Route vérifiée : le lien principal (timeout)" in n.body
    assert "Sondes par le secours : 15 envoyées, 2 perdues" in n.body
    assert "Début : mardi 1 juillet 2025 à 14:59:30 CEST" in n.body
    assert "pas synchronisée" in n.body
