"""The report's words in French (the default: the business owners it is for) and English, and how it writes
dates, durations, percentages and money in each."""
from __future__ import annotations

import datetime as dt
import os

LANGUAGES = ("fr", "en")

WORDS = {
    "fr": {
        "title": "Rapport de disponibilité", "claim_title": "Relevé des interruptions de service",
        "period": "Période", "generated": "Établi le", "zone": "fuseau", "device": "Routeur", "site": "Site",
        "business_hours": "Heures d'ouverture", "none": "aucune", "empty": "Le journal ne contient rien pour "
        "cette période.", "uplinks": "Disponibilité par lien", "uplink": "Lien", "availability": "Disponibilité",
        "availability_business": "Disponibilité (heures d'ouverture)", "count": "Incidents",
        "downtime": "Durée totale d'interruption", "longest": "Plus longue", "mttr": "Durée moyenne de rétablissement",
        "degraded": "Dégradé", "planned": "Prévu (exercices, bascules manuelles)",
        "operators": "Par opérateur mobile (lien de secours)", "operator": "Opérateur", "observed": "Observé",
        "operator_unknown": "(non nommé avant le premier changement)",
        "carried": "A porté le trafic", "contracts": "Engagements contractuels", "provider": "Opérateur",
        "reference": "Référence du contrat", "promised": "Disponibilité promise", "repair": "Temps de rétablissement "
        "garanti", "guaranteed_speed": "Débit garanti", "month": "Mois", "under_promise": "SOUS L'ENGAGEMENT",
        "partial": "partiel", "incidents": "Incidents", "start": "Début", "end": "Fin", "duration": "Durée",
        "kind": "Type", "cause": "Cause", "link": "Lien", "evidence": "Preuves", "ongoing": "en cours",
        "exceeds": "DÉPASSE LE TEMPS DE RÉTABLISSEMENT GARANTI", "weak": "horloge non synchronisée : preuve plus "
        "faible", "no_incidents": "Aucun incident sur cette période.", "drills": "Exercices de secours",
        "passed": "réussi", "failed": "ÉCHEC", "done": "effectué", "recovery": "rétablissement",
        "speed": "Mesures de débit", "down": "descendant", "up": "montant", "measured": "Mesuré",
        "guaranteed": "garanti", "below": "SOUS LE DÉBIT GARANTI", "cost": "Coût des interruptions",
        "offline": "Hors ligne (aucun lien)", "offline_cost": "Coût du temps hors ligne",
        "primary_cost": "Valeur de l'interruption du lien principal couverte par le secours",
        "per_hour": "par heure", "business_only": "heures d'ouverture seulement", "totals": "Synthèse",
        "total_outages": "Coupures totales (aucun lien)", "not_observed": "Non observé (agent arrêté)",
        "power_cuts": "Coupures de courant (site, hors opérateur)", "legend_power": "coupure de courant",
        "during_power_cuts": "Dont pendant une coupure de courant du site (non réclamé)",
        "site_lane": "courant",
        "weak_count": "Entrées datées par une horloge non synchronisée", "timeline": "Chronologie",
        "legend_down": "coupé", "legend_degraded": "dégradé", "legend_planned": "prévu",
        "legend_not_observed": "non observé", "legend_total": "coupure totale", "legend_drill": "exercice",
        "legend_speed": "mesure de débit", "legend_failover": "bascule", "all_links": "tous",
        "cumulated": "Interruption cumulée", "repair_vs": "Rétablissement / garanti",
        "evidence_quality": "Qualité des preuves", "evidence_good": "toutes les dates viennent d'une horloge "
        "synchronisée (NTP ou réseau mobile)", "evidence_weak": "{n} entrée(s) datée(s) par une horloge non "
        "synchronisée", "no_contract": "Aucun contrat configuré pour ce lien ([[contracts]]).",
        "more": "… et {n} autre(s) : voir le rapport complet", "services": "services", "yes": "oui", "no": "non",
        "min_speed": "min.", "median": "médiane", "measurements": "mesures", "carried_by": "secours",
        "kinds": {"down": "coupure", "degraded": "dégradé", "total": "coupure totale",
                  "not_observed": "non observé", "power": "coupure de courant"},
        "causes": {"no_answer": "plus de réponse aux sondes", "carrier_lost": "perte de la porteuse (câble, port)",
                   "admin_down": "interface désactivée", "no_address": "plus d'adresse IP",
                   "no_interface": "interface absente", "primary_down": "lien principal coupé",
                   "all_down": "aucun lien ne passait", "agent_not_running": "agent arrêté",
                   "power_or_crash": "coupure de courant ou plantage", "drill": "exercice",
                   "manual": "bascule manuelle", "loss": "perte de paquets", "rtt": "latence",
                   "power_cut": "coupure de courant (onduleur sur batterie)"},
        "days": ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
        # An incident's evidence, one sentence per fact the ledger records (agent/ledger: heartbeat.py, power.py,
        # boot.py name the codes); text.evidence_text() picks them by key, never by reading the ledger's words.
        "sentences": {
            "first_failed_probe": "1re sonde en échec {at}", "probes": "sondes perdues/envoyées {list}",
            "targets": "cibles {list}", "loss": "perte {value} %", "latency": "latence {value} ms",
            "operator": "opérateur {operator}", "cell": "cellule {cell}",
            "stopped_clean": "agent arrêté proprement",
            "stopped_unclean": "agent arrêté sans arrêt propre (kill, plantage ou coupure de courant)",
            "stopped_as_recorded": "agent arrêté : {text}",
            "closed_at_restart": "clos au redémarrage, au dernier signe de vie",
            "closed_at_migration": "clos à la mise à jour du journal (l'ancien ne notait pas les signes de vie), "
                                   "à ce démarrage",
            "battery_low_at": "batterie de l'onduleur faible {at}",
            "during_power_cut": "{duration} pendant une coupure de courant du site, non compté",
            "agent_stopped_battery_low": "agent arrêté proprement sur la batterie faible de l'onduleur",
            "power_cut_at_stop": "le courant du site était coupé (onduleur sur batterie) à l'arrêt de l'agent",
            "machine_restarted": "le routeur a redémarré sans que l'agent s'arrête proprement : coupure de courant, "
                                 "réinitialisation matérielle ou plantage du noyau",
            "machine_restarted_clean": "le routeur a redémarré après un arrêt propre de l'agent",
            "watchdog_reset": "le chien de garde matériel a réinitialisé le routeur (blocage), ce n'est pas une "
                              "coupure de courant",
            "watchdog_power_fault": "le chien de garde matériel signale un défaut d'alimentation avant le "
                                    "redémarrage",
        },
    },
    "en": {
        "title": "Availability report", "claim_title": "Service interruption statement",
        "period": "Period", "generated": "Generated", "zone": "zone", "device": "Router", "site": "Site",
        "business_hours": "Business hours", "none": "none", "empty": "The ledger holds nothing for this period.",
        "uplinks": "Availability per uplink", "uplink": "Uplink", "availability": "Availability",
        "availability_business": "Availability (business hours)", "count": "Incidents",
        "downtime": "Total downtime", "longest": "Longest", "mttr": "Mean time to repair",
        "degraded": "Degraded", "planned": "Planned (drills, manual switches)",
        "operators": "Per cellular operator (backup uplink)", "operator": "Operator", "observed": "Observed",
        "operator_unknown": "(not named before the first change)",
        "carried": "Carried the traffic", "contracts": "Contract commitments", "provider": "Provider",
        "reference": "Contract reference", "promised": "Promised availability", "repair": "Guaranteed repair time",
        "guaranteed_speed": "Guaranteed speed", "month": "Month", "under_promise": "UNDER THE PROMISE",
        "partial": "partial", "incidents": "Incidents", "start": "Start", "end": "End", "duration": "Duration",
        "kind": "Kind", "cause": "Cause", "link": "Uplink", "evidence": "Evidence", "ongoing": "ongoing",
        "exceeds": "EXCEEDS THE GUARANTEED REPAIR TIME", "weak": "unsynced clock: weaker evidence",
        "no_incidents": "No incident in this period.", "drills": "Failover drills", "passed": "passed",
        "failed": "FAILED", "done": "done", "recovery": "recovery", "speed": "Speed measurements",
        "down": "down", "up": "up", "measured": "Measured", "guaranteed": "guaranteed",
        "below": "BELOW THE GUARANTEED SPEED", "cost": "Cost of the outages", "offline": "Offline (no uplink)",
        "offline_cost": "Cost of the time offline",
        "primary_cost": "Value of the primary's downtime covered by the backup", "per_hour": "per hour",
        "business_only": "business hours only", "totals": "Summary",
        "total_outages": "Total outages (no uplink)", "not_observed": "Not observed (agent not running)",
        "power_cuts": "Power cuts (the site, not the operator)", "legend_power": "power cut",
        "during_power_cuts": "Of which during a power cut of the site (not claimed)",
        "site_lane": "power",
        "weak_count": "Entries stamped by an unsynced clock", "timeline": "Timeline",
        "legend_down": "down", "legend_degraded": "degraded", "legend_planned": "planned",
        "legend_not_observed": "not observed", "legend_total": "total outage", "legend_drill": "drill",
        "legend_speed": "speed measurement", "legend_failover": "failover", "all_links": "all",
        "cumulated": "Cumulated downtime", "repair_vs": "Repair / guaranteed",
        "evidence_quality": "Evidence quality", "evidence_good": "every timestamp comes from a synchronised clock "
        "(NTP or the cellular network)", "evidence_weak": "{n} entry(ies) stamped by an unsynced clock",
        "no_contract": "No contract configured for this uplink ([[contracts]]).",
        "more": "… and {n} more: see the full report", "services": "services", "yes": "yes", "no": "no",
        "min_speed": "min", "median": "median", "measurements": "measurements", "carried_by": "backup",
        "kinds": {"down": "down", "degraded": "degraded", "total": "total outage", "not_observed": "not observed",
                  "power": "power cut"},
        "causes": {"no_answer": "no answer to the probes", "carrier_lost": "carrier lost (cable, port)",
                   "admin_down": "interface disabled", "no_address": "no IP address", "no_interface":
                   "interface missing", "primary_down": "primary down", "all_down": "no uplink carried traffic",
                   "agent_not_running": "agent not running", "power_or_crash": "power cut or crash",
                   "drill": "drill", "manual": "manual switch", "loss": "packet loss", "rtt": "latency",
                   "power_cut": "power cut (the UPS on battery)"},
        "days": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
        "sentences": {
            "first_failed_probe": "1st failed probe {at}", "probes": "probes lost/sent {list}",
            "targets": "targets {list}", "loss": "loss {value} %", "latency": "latency {value} ms",
            "operator": "operator {operator}", "cell": "cell {cell}",
            "stopped_clean": "agent stopped cleanly",
            "stopped_unclean": "agent stopped without a clean stop (kill, crash or power cut)",
            "stopped_as_recorded": "agent stopped {text}",
            "closed_at_restart": "closed at restart, at the last heartbeat",
            "closed_at_migration": "closed at the ledger's upgrade (the old one kept no heartbeat), at this start",
            "battery_low_at": "UPS battery low {at}",
            "during_power_cut": "{duration} during a power cut of the site, not counted",
            "agent_stopped_battery_low": "agent stopped cleanly on the UPS's low battery",
            "power_cut_at_stop": "the site's power was cut (the UPS on battery) when the agent stopped",
            "machine_restarted": "the router restarted without the agent stopping cleanly: a power loss, a hard "
                                 "reset or a kernel crash",
            "machine_restarted_clean": "the router restarted after the agent stopped cleanly",
            "watchdog_reset": "the hardware watchdog reset the router (it hung): not a power loss",
            "watchdog_power_fault": "the hardware watchdog reports a power fault before the restart",
        },
    },
}


def system_language(environ=os.environ) -> str:
    """English when the system locale says so, else French (the default)."""
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(key, "")
        if value:
            return "en" if value.lower().startswith("en") else "fr"
    return "fr"


class Writer:
    """Dates, durations, numbers in one language."""

    def __init__(self, lang: str):
        self.lang = lang if lang in WORDS else "fr"
        self.w = WORDS[self.lang]

    def __getitem__(self, key: str) -> str:
        return self.w[key]

    def sentence(self, key: str, **fields) -> str:
        """One fact of an incident's evidence in this language ("sentences" above), its blanks filled."""
        return self.w["sentences"][key].format(**fields)

    def when(self, local_iso: str | None, seconds: bool = True) -> str:
        """"lun. 03/11/2026 14:05:03" / "Tue 2026-11-03 14:05:03" from the report's ISO local time."""
        if not local_iso:
            return self.w["ongoing"]
        t = dt.datetime.fromisoformat(local_iso)
        day = self.w["days"][t.weekday()]
        clock = t.strftime("%H:%M:%S" if seconds else "%H:%M")
        return f"{day} {t:%d/%m/%Y} {clock}" if self.lang == "fr" else f"{day} {t:%Y-%m-%d} {clock}"

    def date(self, local_iso: str | None) -> str:
        if not local_iso:
            return ""
        t = dt.datetime.fromisoformat(local_iso)
        return f"{t:%d/%m/%Y}" if self.lang == "fr" else f"{t:%Y-%m-%d}"

    def duration(self, seconds: float | None) -> str:
        if seconds is None:
            return "–"
        s = int(round(seconds))
        d, rem = divmod(s, 86400)
        h, rem = divmod(rem, 3600)
        m, s = divmod(rem, 60)
        if d:
            return f"{d} j {h} h {m:02d} min" if self.lang == "fr" else f"{d} d {h} h {m:02d} min"
        if h:
            return f"{h} h {m:02d} min {s:02d} s"
        return f"{m} min {s:02d} s" if m else f"{s} s"

    def percent(self, pct: float | None) -> str:
        """Enough decimals that a real outage never shows as 100 %: 7 s in 30 days is 99.9997 %, not 100.000 %."""
        if pct is None:
            return "–"
        if pct >= 100:
            text = "100"
        else:
            decimals = 3
            while decimals < 7 and round(pct, decimals) >= 100:
                decimals += 1
            text = f"{pct:.{decimals}f}"
        return (text.replace(".", ",") if self.lang == "fr" else text) + " %"

    def number(self, value: float | None, digits: int = 1) -> str:
        if value is None:
            return "–"
        text = f"{value:,.{digits}f}"
        if self.lang == "fr":
            text = text.replace(",", "\u202f").replace(".", ",")
        return text

    def money(self, amount: float, currency: str) -> str:
        return f"{self.number(amount, 2)} {currency}"

    def mbps(self, value: float | None) -> str:
        return "–" if value is None else f"{self.number(value, 1)} Mbit/s"

    def hours(self, text: str | None) -> str:
        """[business] hours as the report's language writes them ("lun.-sam. 08:00-19:00")."""
        if not text:
            return self.w["none"]
        if self.lang == "en":
            return text
        for en, fr in zip(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), self.w["days"]):
            text = text.replace(en, fr)
        return text

    def cause(self, code: str, with_code: bool = True) -> str:
        """The ledger's cause in words: "no_answer" -> "no answer to the probes (no_answer)"; "loss 35%" ->
        "packet loss 35%". An unknown code is shown as it is."""
        code = str(code)
        word, _, rest = code.partition(" ")
        label = self.w["causes"].get(word)
        if label is None:
            return code
        if rest:
            return f"{label} {rest}"
        return f"{label} ({code})" if with_code else label

    def kind(self, kind: str) -> str:
        return self.w["kinds"].get(kind, kind)

    def link(self, link: str) -> str:
        return self.w["all_links"] if link == "all" else self.w["site_lane"] if link == "site" else link
