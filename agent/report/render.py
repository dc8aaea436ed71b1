"""One entry to every format: `render(report, fmt, lang, claim=...)` -> str."""
from __future__ import annotations

import json
from typing import Any

FORMATS = ("text", "html", "csv", "json")


def render(report: dict[str, Any], fmt: str, lang: str = "fr", claim: bool = False,
           uplink: str | None = None) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    if claim:
        from agent.report import claim as claims
        cl = claims.claim(report, uplink)
        if fmt == "json":
            return to_json(cl)
        if fmt == "html":
            return claims.render_claim_html(cl, lang)
        if fmt == "csv":
            from agent.report.table import render_csv
            ids = {i["id"] for i in cl["outages"]}
            return render_csv({**report, "incidents": [i for i in report["incidents"] if i["link"] == cl["uplink"]
                                                       and i["counted"] and i["id"] in ids]}, lang)
        return claims.render_claim_text(cl, lang)
    if fmt == "json":
        return to_json(report)
    if fmt == "csv":
        from agent.report.table import render_csv
        return render_csv(report, lang)
    if fmt == "html":
        from agent.report.html import render_html
        return render_html(report, lang)
    from agent.report.text import render_text
    return render_text(report, lang)


def to_json(value: Any) -> str:
    """One top-level key a line and one list entry (an incident...) a line: readable, grep-friendly, and written
    by json's C encoder (an `indent` would bring the pure-Python one, several times slower on a year)."""
    def one(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, default=str)

    if not isinstance(value, dict):
        return one(value) + "\n"
    lines = []
    for key, v in value.items():
        if isinstance(v, list) and v:
            body = "[\n  " + ",\n  ".join(one(x) for x in v) + "\n ]"
        else:
            body = one(v)
        lines.append(f" {one(key)}: {body}")
    return "{\n" + ",\n".join(lines) + "\n}\n"
