"""The text of an incident notice: pure functions from an event's data to (subject, body), French or English.

Dates and times are written by hand rather than through the C locale: the router has no French locale installed
and a notice must not change language with the system it runs on. Times are local (the configured zone, else the
system's) with the zone named, because the notice may be forwarded to an operator in another one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Any

UNSYNCED = "unsynced"

_DAYS = {"fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
         "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}
_MONTHS = {"fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
                  "novembre", "décembre"),
           "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                  "November", "December")}
_UPLINKS = {"fr": {"primary": "le lien principal", "backup": "le secours cellulaire (4G/5G)"},
            "en": {"primary": "the primary uplink", "backup": "the cellular backup (4G/5G)"}}

_TEXT = {
    "fr": {
        "outage_subject": "{device} : coupure du lien principal terminée, {duration} ({date})",
        "outage_title": "Le lien principal a été coupé puis rétabli.",
        "drill_subject": "{device} : échec de l'exercice de bascule ({date})",
        "drill_title": "L'exercice de bascule vers le secours a échoué.",
        "start": "Début", "end": "Fin", "duration": "Durée", "cause": "Cause", "carried": "Trafic acheminé par",
        "when": "Date", "route": "Route vérifiée", "probes": "Sondes par le secours",
        "probes_value": "{sent} envoyées, {lost} perdues",
        "unsynced": "Attention : l'horloge n'était pas synchronisée ; ces heures sont une preuve plus faible.",
        "footer": "Message envoyé automatiquement par relais ({device}).",
        "at": "à", "unknown": "inconnue", "none": "aucune",
        "overdue_subject": "{device} : aucun exercice de bascule réussi depuis {days} jours",
        "overdue_title": "Aucun exercice de bascule vers le secours n'a réussi depuis trop longtemps.",
        "last_pass": "Dernier exercice réussi", "never": "jamais", "overdue_after": "Alerte après",
        "days": "jours",
        "kind": "Exercice", "passive": "passif (secours vérifié sans y basculer le trafic)",
        "full": "complet (trafic basculé sur le secours)", "service": "Service", "failed": "en échec",
    },
    "en": {
        "outage_subject": "{device}: primary uplink outage over, {duration} ({date})",
        "outage_title": "The primary uplink was down and is back.",
        "drill_subject": "{device}: failover drill failed ({date})",
        "drill_title": "The failover drill to the backup failed.",
        "start": "Start", "end": "End", "duration": "Duration", "cause": "Cause", "carried": "Traffic carried by",
        "when": "Date", "route": "Route checked", "probes": "Probes through the backup",
        "probes_value": "{sent} sent, {lost} lost",
        "unsynced": "Note: the clock was not synchronised; these times are weaker evidence.",
        "footer": "Sent automatically by relais ({device}).",
        "at": "at", "unknown": "unknown", "none": "none",
        "overdue_subject": "{device}: no failover drill has passed for {days} days",
        "overdue_title": "No failover drill to the backup has passed for too long.",
        "last_pass": "Last drill that passed", "never": "never", "overdue_after": "Alert after",
        "days": "days",
        "kind": "Drill", "passive": "passive (the backup checked without moving the traffic)",
        "full": "full (traffic moved to the backup)", "service": "Service", "failed": "failed",
    },
}


@dataclass(frozen=True)
class Notice:
    kind: str            # "outage" | "drill" | "drill_overdue" | "power_restored" | "battery_low"
    ts: float            # when it was written (the event's wall time): the Date header
    subject: str
    body: str


def zone(name: str) -> tzinfo:
    """The configured zone, or the system's ("" )."""
    if name:
        from zoneinfo import ZoneInfo
        return ZoneInfo(name)
    local = datetime.now(timezone.utc).astimezone().tzinfo
    return local if local is not None else timezone.utc


def when(ts: float, lang: str, tz: tzinfo) -> str:
    """"jeudi 3 décembre 2026 à 14:02:05 CET" / "Thursday 3 December 2026 at 14:02:05 CET"."""
    t = datetime.fromtimestamp(ts, tz)
    return (f"{_DAYS[lang][t.weekday()]} {t.day} {_MONTHS[lang][t.month - 1]} {t.year} {_TEXT[lang]['at']} "
            f"{t:%H:%M:%S} {t.tzname() or ''}").rstrip()


def short_date(ts: float, lang: str, tz: tzinfo) -> str:
    t = datetime.fromtimestamp(ts, tz)
    return f"{t.day} {_MONTHS[lang][t.month - 1]} {t.year} {t:%H:%M}"


def duration(seconds: float, lang: str) -> str:
    """3725 -> "1 h 02 min 05 s"; days spelled out ("2 j" / "2 d") for outages that last."""
    s = max(0, int(round(seconds)))
    d, rest = divmod(s, 86400)
    h, rest = divmod(rest, 3600)
    m, sec = divmod(rest, 60)
    if d:
        return f"{d} {'j' if lang == 'fr' else 'd'} {h} h {m:02d} min"
    if h:
        return f"{h} h {m:02d} min {sec:02d} s"
    if m:
        return f"{m} min {sec:02d} s"
    return f"{sec} s"


def _number(data: dict, key: str) -> float | None:
    v = data.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _uplink(name: Any, lang: str) -> str:
    return _UPLINKS[lang].get(str(name), str(name)) if name else _TEXT[lang]["unknown"]


def outage_notice(data: dict[str, Any], ts: float, device: str, lang: str, tz: tzinfo) -> Notice:
    """From an `outage_closed` event (agent/ledger.py): start, end, duration_s, cause, uplink, *_source."""
    t = _TEXT[lang]
    start, end = _number(data, "start"), _number(data, "end")
    seconds = _number(data, "duration_s")
    if seconds is None and start is not None and end is not None:
        seconds = end - start
    length = duration(seconds, lang) if seconds is not None else t["unknown"]
    lines = [t["outage_title"], "",
             f"{t['start']} : {when(start, lang, tz) if start is not None else t['unknown']}",
             f"{t['end']} : {when(end, lang, tz) if end is not None else t['unknown']}",
             f"{t['duration']} : {length}",
             f"{t['cause']} : {data.get('cause') or t['unknown']}",
             f"{t['carried']} : {_uplink(data.get('uplink'), lang)}"]
    if UNSYNCED in (data.get("start_source"), data.get("end_source")):
        lines += ["", t["unsynced"]]
    subject = t["outage_subject"].format(device=device, duration=length,
                                         date=short_date(start if start is not None else ts, lang, tz))
    return Notice("outage", ts, subject, _body(lines, t, device, lang))


def drill_notice(data: dict[str, Any], ts: float, time_source: str, device: str, lang: str, tz: tzinfo) -> Notice:
    """From a `drill_result` event with ok false (agent/drills/runner.py): kind, reason, duration_s, backup, route
    (full), services."""
    t = _TEXT[lang]
    seconds = _number(data, "duration_s")
    start = ts - seconds if seconds is not None else ts
    backup = data.get("backup") if isinstance(data.get("backup"), dict) else {}
    route = data.get("route") if isinstance(data.get("route"), dict) else None
    lines = [t["drill_title"], "",
             f"{t['start']} : {when(start, lang, tz)}",
             f"{t['duration']} : {duration(seconds, lang) if seconds is not None else t['unknown']}",
             f"{t['cause']} : {data.get('reason') or t['unknown']}"]
    if data.get("kind") in ("passive", "full"):
        lines.insert(2, f"{t['kind']} : {t[data['kind']]}")
    if route is not None:
        lines.append(f"{t['route']} : {_uplink(route.get('uplink'), lang)}"
                     + (f" ({route['error']})" if route.get("error") else ""))
    elif data.get("kind") != "passive":      # a passive drill moves no traffic: no route to check
        lines.append(f"{t['route']} : {t['none']}")
    services = data.get("services") if isinstance(data.get("services"), list) else []
    for service in services:       # the failed ones: the business knows what stops working on the day
        if isinstance(service, dict) and service.get("ok") is False:
            lines.append(f"{t['service']} {service.get('name')} : {t['failed']} ({service.get('detail')})")
    sent, lost = _number(backup, "sent"), _number(backup, "lost")
    if sent is not None and lost is not None:
        lines.append(f"{t['probes']} : " + t["probes_value"].format(sent=int(sent), lost=int(lost)))
    if time_source == UNSYNCED:
        lines += ["", t["unsynced"]]
    subject = t["drill_subject"].format(device=device, date=short_date(start, lang, tz))
    return Notice("drill", ts, subject, _body(lines, t, device, lang))


def overdue_notice(data: dict[str, Any], ts: float, device: str, lang: str, tz: tzinfo) -> Notice:
    """From a `drill_overdue` event (agent/drills/scheduler.py): last_pass, days, overdue_days."""
    t = _TEXT[lang]
    last, days, limit = _number(data, "last_pass"), _number(data, "days"), _number(data, "overdue_days")
    lines = [t["overdue_title"], "",
             f"{t['last_pass']} : {when(last, lang, tz) if last is not None else t['never']}",
             f"{t['overdue_after']} : {f'{limit:g} ' + t['days'] if limit is not None else t['unknown']}"]
    subject = t["overdue_subject"].format(device=device, days=f"{days:g}" if days is not None else "?")
    return Notice("drill_overdue", ts, subject, _body(lines, t, device, lang))


_POWER = {
    "fr": {"power_restored_subject": "{device} : coupure de courant terminée, {duration} ({date})",
           "power_restored_title": "Le courant a été coupé sur le site (routeur sur onduleur) puis rétabli.",
           "battery_low_subject": "{device} : batterie de l'onduleur faible, relais s'arrête ({date})",
           "battery_low_title": "Coupure de courant : la batterie de l'onduleur est presque vide. relais enregistre "
                                "tout et s'arrête proprement ; l'arrêt de la machine reste confié à NUT.",
           "ups": "Onduleur", "charge": "Charge de la batterie", "runtime": "Autonomie restante"},
    "en": {"power_restored_subject": "{device}: power cut over, {duration} ({date})",
           "power_restored_title": "The site's power was cut (the router ran on its UPS) and is back.",
           "battery_low_subject": "{device}: UPS battery low, relais stops ({date})",
           "battery_low_title": "Power cut: the UPS battery is nearly empty. relais saves everything and stops "
                                "cleanly; NUT still shuts the machine down.",
           "ups": "UPS", "charge": "Battery charge", "runtime": "Runtime left"},
}


def power_notice(kind: str, data: dict[str, Any], ts: float, device: str, lang: str, tz: tzinfo) -> Notice:
    """From `power_restored` (ended_at, duration_s) or `battery_low` (agent/power): the UPS, its charge."""
    t, p = _TEXT[lang], _POWER[lang]
    seconds = _number(data, "duration_s")
    length = duration(seconds, lang) if seconds is not None else t["unknown"]
    lines = [p[f"{kind}_title"], ""]
    if kind == "power_restored":
        end = _number(data, "ended_at")
        start = end - seconds if end is not None and seconds is not None else None
        lines += [f"{t['start']} : {when(start, lang, tz) if start is not None else t['unknown']}",
                  f"{t['end']} : {when(end, lang, tz) if end is not None else t['unknown']}",
                  f"{t['duration']} : {length}"]
    else:
        lines.append(f"{t['when']} : {when(ts, lang, tz)}")
    charge, runtime = _number(data, "charge_pct"), _number(data, "runtime_s")
    if charge is not None:
        lines.append(f"{p['charge']} : {charge:.0f} %")
    if runtime is not None and kind == "battery_low":
        lines.append(f"{p['runtime']} : {duration(runtime, lang)}")
    lines.append(f"{p['ups']} : {str(data.get('ups') or t['unknown'])[:100]}")
    subject = p[f"{kind}_subject"].format(device=device, duration=length, date=short_date(ts, lang, tz))
    return Notice(kind, ts, subject, _body(lines, t, device, lang))


def _body(lines: list[str], t: dict, device: str, lang: str) -> str:
    if lang == "en":   # French puts a space before the colon, English does not
        lines = [line.replace(" : ", ": ", 1) for line in lines]
    return "\n".join(lines + ["", "-- ", t["footer"].format(device=device), ""])
