"""The sheet's words in French (the default) and English: the headings, the default steps for someone who is
not a technician, and the LED legend, whose looks come from board/led.py's timings so that the paper says what
the LED does."""
from __future__ import annotations

from typing import Any

from agent.report.language import LANGUAGES, Writer

WORDS = {
    "fr": {
        "title": "Plan de continuité Internet", "generated": "Établi le", "device": "Routeur relais",
        "where": "Où est le routeur", "unknown": "inconnu", "none": "aucun",
        "steps": "Internet est coupé : que faire ?", "led": "Le voyant du routeur",
        "contacts": "Qui appeler, dans l'ordre", "name": "Nom", "role": "Rôle", "phone": "Téléphone",
        "when": "Quand appeler", "contacts_more": "… et {n} autre(s) : voir la configuration ([[contacts]])",
        "no_contacts": "Aucun contact configuré ([[contacts]]) : à compléter.",
        "uplinks": "Liens et contrats", "uplink": "Lien", "provider": "Opérateur", "reference": "Référence",
        "repair": "Rétablissement garanti", "support": "Support", "primary": "principal (fibre)",
        "backup": "secours (mobile)", "business_hours": "heures ouvrées", "interface": "interface",
        "sims": "Cartes SIM", "slot": "emplacement", "in_use": "en service", "apn": "APN",
        "operators": "opérateurs préférés", "equipment": "Matériel", "router": "Routeur", "modem": "Modem",
        "imei": "IMEI", "ups": "Onduleur", "ups_none": "aucun connu de relais", "as_of": "relevé le",
        "drills": "Exercices de secours", "last_drill": "Dernier exercice", "next_drill": "Prochain exercice",
        "passed": "réussi", "failed": "ÉCHEC", "done": "effectué", "recovery": "rétablissement",
        "no_drill": "aucun dans le journal", "no_ledger": "pas encore de journal",
        "unreadable": "journal illisible", "not_scheduled": "aucun programmé ([drills] schedule)",
        "services_failed": "services en échec", "kinds": {"passive": "passif", "full": "complet"},
        "schedules": {"monthly": "chaque mois", "weekly": "chaque semaine"},
        "router_default": "le boîtier marqué « relais »", "site": "Site",
        "role_primary": "principal", "role_backup": "secours",
        "kinds_of_uplink": {"ethernet": "ligne fixe", "cellular": "mobile", "starlink": "satellite Starlink",
                            "wifi": "Wi-Fi"},
    },
    "en": {
        "title": "Internet continuity plan", "generated": "Generated", "device": "relais router",
        "where": "Where the router is", "unknown": "unknown", "none": "none",
        "steps": "The Internet is cut: what to do", "led": "The router's light",
        "contacts": "Whom to call, in this order", "name": "Name", "role": "Role", "phone": "Phone",
        "when": "When to call", "contacts_more": "… and {n} more: see the configuration ([[contacts]])",
        "no_contacts": "No contact configured ([[contacts]]): to be filled in.",
        "uplinks": "Uplinks and contracts", "uplink": "Uplink", "provider": "Provider", "reference": "Reference",
        "repair": "Guaranteed repair", "support": "Support", "primary": "primary (fiber)",
        "backup": "backup (cellular)", "business_hours": "business hours", "interface": "interface",
        "sims": "SIM cards", "slot": "slot", "in_use": "in use", "apn": "APN",
        "operators": "preferred operators", "equipment": "Equipment", "router": "Router", "modem": "Modem",
        "imei": "IMEI", "ups": "UPS", "ups_none": "none known to relais", "as_of": "as of",
        "drills": "Failover drills", "last_drill": "Last drill", "next_drill": "Next drill",
        "passed": "passed", "failed": "FAILED", "done": "done", "recovery": "recovery",
        "no_drill": "none in the ledger", "no_ledger": "no ledger yet", "unreadable": "ledger unreadable",
        "not_scheduled": "none scheduled ([drills] schedule)", "services_failed": "services failed",
        "kinds": {"passive": "passive", "full": "full"},
        "schedules": {"monthly": "every month", "weekly": "every week"},
        "router_default": "the box labelled \"relais\"", "site": "Site",
        "role_primary": "primary", "role_backup": "backup",
        "kinds_of_uplink": {"ethernet": "fixed line", "cellular": "cellular", "starlink": "Starlink satellite",
                            "wifi": "Wi-Fi"},
    },
}

# What each LED pattern means, for the people on site. Keyed by board/led.py's pattern names; a test checks that
# every pattern has its words and that each situation named here gets that pattern from agent/led_status.py.
LED_MEANS = {
    "fr": {"on": "tout va bien : Internet passe par la fibre, le secours est prêt",
           "slow_blink": "la fibre est coupée : Internet passe par le réseau mobile (secours), plus lentement",
           "double": "la fibre marche mais le secours n'est pas prêt (pas de carte SIM, pas de réseau mobile, "
                     "modem qui ne répond pas)",
           "fast_blink": "plus rien ne passe : la fibre est coupée et le secours ne marche pas",
           "on_battery": "le courant est coupé : le routeur tient sur sa batterie (onduleur)",
           "off": "relais ne fonctionne pas (boîtier éteint ou arrêté)"},
    "en": {"on": "all is well: the Internet goes through the fiber, the backup is ready",
           "slow_blink": "the fiber is cut: the Internet goes through the cellular network (backup), more slowly",
           "double": "the fiber works but the backup is not ready (no SIM card, no cellular network, the modem "
                     "not answering)",
           "fast_blink": "nothing gets through: the fiber is cut and the backup does not work",
           "on_battery": "the power is cut: the router runs on its battery (UPS)",
           "off": "relais is not running (the box is off or stopped)"},
}


def led_look(pattern: str, timing: tuple[int, int] | None, lang: str) -> str:
    """How a pattern looks, from its (on_ms, off_ms) timing: the words follow the code, not a copy of it."""
    fr = lang == "fr"
    if timing is None:
        return ("allumé fixe" if fr else "steady on") if pattern == "on" else ("éteint" if fr else "off")
    on_ms, off_ms = timing
    period = (on_ms + off_ms) / 1000
    if on_ms == off_ms:
        per_s = round(1 / period, 1)
        n = f"{per_s:g}".replace(".", ",") if fr else f"{per_s:g}"
        if per_s < 1:   # slower than once a second: said as the time between flashes, which a person can count
            every = f"{period:g}".replace(".", ",") if fr else f"{period:g}"
            return f"clignote très lentement (toutes les {every} s)" if fr else f"very slow blink (every {every} s)"
        if fr:
            return "clignote lentement (1 fois par seconde)" if per_s == 1 else f"clignote vite ({n} fois par seconde)"
        return "slow blink (once a second)" if per_s == 1 else f"fast blink ({n} times a second)"
    every = f"{period:g}".replace(".", ",") if fr else f"{period:g}"
    if fr:
        return "un bref éclair chaque seconde" if period == 1 else f"un bref éclair toutes les {every} s"
    return "a short flash every second" if period == 1 else f"a short flash every {every} s"


def led_legend(lang: str) -> list[tuple[str, str, str]]:
    """(pattern, look, meaning) for every pattern the LED shows, in board/led.py's order."""
    from board.led import PATTERNS
    means = LED_MEANS[lang if lang in LED_MEANS else "fr"]
    return [(name, led_look(name, timing, lang), means.get(name, name)) for name, timing in PATTERNS.items()]


def default_steps(sheet: dict[str, Any], lang: str) -> list[str]:
    """The numbered steps when [plan] steps is not written: for someone who is not a technician."""
    w = WORDS[lang]
    router = sheet["equipment"].get("router_label") or w["router_default"]
    where = sheet["site"].get("location")
    first = sheet["contacts"][0] if sheet["contacts"] else None
    primary = sheet["uplinks"][0] if sheet["uplinks"] else {}      # the best uplink: whose outage to report
    if lang == "fr":
        steps = [f"Ne débranchez pas {router}" + (f" ({where})" if where else "")
                 + " et ne redémarrez aucun boîtier : c'est lui qui garde Internet par le réseau mobile.",
                 "Regardez son voyant et lisez ce qu'il veut dire dans le tableau ci-dessous.",
                 "Voyant qui clignote lentement : Internet passe par le secours. Continuez à travailler ; évitez "
                 "les gros téléchargements. Notez l'heure du début de la coupure."]
        if first:
            steps.append(f"Appelez {first['name']} au {first['phone']}. Sans réponse, appelez les contacts "
                         "suivants dans l'ordre de la liste.")
        else:
            steps.append("Appelez la personne qui s'occupe de l'informatique du site.")
        if primary.get("support_phone"):
            steps.append(f"Pour signaler la coupure de la fibre : support {primary.get('provider') or 'opérateur'} "
                         f"au {primary['support_phone']}"
                         + (f", référence du contrat {primary['reference']}." if primary.get("reference") else "."))
        steps.append("Quand la fibre revient, il n'y a rien à faire : relais y revient de lui-même.")
        return steps
    steps = [f"Do not unplug {router}" + (f" ({where})" if where else "")
             + " and do not restart any box: it keeps the Internet going over the cellular network.",
             "Look at its light and read what it means in the table below.",
             "Light blinking slowly: the Internet goes through the backup. Keep working; avoid large downloads. "
             "Write down when the outage started."]
    if first:
        steps.append(f"Call {first['name']} on {first['phone']}. If nobody answers, call the next contacts in the "
                     "order of the list.")
    else:
        steps.append("Call the person who looks after the site's IT.")
    if primary.get("support_phone"):
        steps.append(f"To report the fiber outage: {primary.get('provider') or 'the operator'}'s support on "
                     f"{primary['support_phone']}"
                     + (f", contract reference {primary['reference']}." if primary.get("reference") else "."))
    steps.append("When the fiber is back there is nothing to do: relais goes back to it by itself.")
    return steps


def writer(lang: str) -> Writer:
    """Dates and durations as the report writes them; ValueError for a language the sheet is not written in."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang: expected one of {', '.join(LANGUAGES)}, got {lang!r}")
    return Writer(lang)
