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
    return json.dumps(value, ensure_ascii=False, indent=1, default=str) + "\n"
