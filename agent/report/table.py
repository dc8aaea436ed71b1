"""The report as CSV: one row per incident, for a spreadsheet.

Plain values a spreadsheet reads as they are: local times as "YYYY-MM-DD HH:MM:SS" (the zone in its own column),
durations in seconds and as H:MM:SS, dots for decimals, no thousands separators; headers in the report's
language. The evidence is spread over columns, with the whole of it as JSON in the last one.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any

from agent.report.text import cell_text

COLUMNS = {
    "en": ("id", "uplink", "kind", "cause", "start (local)", "end (local)", "zone", "start (UTC, Unix)",
           "end (UTC, Unix)", "duration (s)", "duration", "in business hours (s)", "planned", "carried by",
           "exceeds repair time", "guaranteed repair (h)", "weak evidence", "start clock", "end clock",
           "first failed probe (Unix)", "probe targets", "probes sent", "probes lost", "loss (%)", "latency (ms)",
           "operator", "cell", "backup bytes", "evidence (JSON)"),
    "fr": ("id", "lien", "type", "cause", "début (local)", "fin (local)", "fuseau", "début (UTC, Unix)",
           "fin (UTC, Unix)", "durée (s)", "durée", "en heures d'ouverture (s)", "prévu", "secours",
           "dépasse le rétablissement garanti", "rétablissement garanti (h)", "preuve faible",
           "horloge du début", "horloge de la fin", "1re sonde en échec (Unix)", "cibles", "sondes envoyées",
           "sondes perdues", "perte (%)", "latence (ms)", "opérateur", "cellule", "octets sur le secours",
           "preuves (JSON)"),
}


def render_csv(report: dict[str, Any], lang: str = "fr") -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")     # RFC 4180, what spreadsheets expect
    writer.writerow(COLUMNS.get(lang, COLUMNS["fr"]))
    zone = report["period"]["zone"]
    for i in report["incidents"]:
        e = i.get("evidence") or {}
        probes = e.get("probes") if isinstance(e.get("probes"), dict) else {}
        sent = sum(_int(c.get("sent")) for c in probes.values() if isinstance(c, dict)) if probes else ""
        lost = sum(_int(c.get("lost")) for c in probes.values() if isinstance(c, dict)) if probes else ""
        targets = e.get("targets") if isinstance(e.get("targets"), (list, tuple)) else list(probes)
        writer.writerow([
            i["id"], i["link"], i["kind"], i["cause"], _local(i["start_local"]), _local(i["end_local"]), zone,
            i["start"], "" if i["end"] is None else i["end"], i["duration_s"], _hms(i["duration_s"]),
            _blank(i["business_hours_s"]), _yes(i["planned"]), i["carried_by"] or "",
            _yes(i["exceeds_repair_time"]), "" if i["repair_limit_s"] is None else i["repair_limit_s"] / 3600,
            _yes(i["weak_evidence"]), i["start_source"], i["end_source"] or "",
            _blank(e.get("first_failed_probe")), " ".join(map(str, targets or ())), sent, lost,
            _blank(e.get("loss_pct")), _blank(e.get("latency_ms")), e.get("operator") or "", cell_text(e.get("cell")),
            _blank(e.get("backup_bytes")),
            json.dumps(e, ensure_ascii=False, sort_keys=True, default=str) if e else "",
        ])
    return out.getvalue()


def _local(iso: str | None) -> str:
    return "" if not iso else iso[:19].replace("T", " ")


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _yes(value: bool | None) -> str:
    return "" if value is None else ("1" if value else "0")


def _blank(value) -> Any:
    return "" if value is None else value


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
