"""`relais report --claim`: one page with only what a claim to the operator needs, facts only.

Provider and contract reference; each outage of the uplink with local dates, times, durations and its repair time
against the guaranteed one; the cumulated downtime; the availability against the promise; measured against
guaranteed speed; the quality of the evidence. One page: beyond MAX_ROWS outages the longest are listed (in date
order) and the page says how many more the full report holds.
"""
from __future__ import annotations

from html import escape
from typing import Any

from agent.report.html import page
from agent.report.language import Writer

MAX_ROWS = 18


def claim(report: dict[str, Any], uplink: str | None = None) -> dict[str, Any]:
    contracts = {c["uplink"]: c for c in report["contracts"]}
    if uplink is None:
        uplink = next(iter(contracts), report["totals"]["uplink"])
    c = contracts.get(uplink)
    u = report["uplinks"].get(uplink, {})
    outages = [i for i in report["incidents"] if i["link"] == uplink and i["counted"]]
    listed = sorted(sorted(outages, key=lambda i: -i["duration_s"])[:MAX_ROWS], key=lambda i: i["start"])
    weak = sum(1 for i in outages if i["weak_evidence"])
    return {
        "uplink": uplink, "provider": c["provider"] if c else None, "reference": c["reference"] if c else None,
        "contract": c is not None,
        "period": {k: report["period"][k] for k in ("since", "until", "since_local", "until_local", "zone")},
        "site": report["site"],
        "outages": [{k: i[k] for k in ("id", "start", "end", "start_local", "end_local", "duration_s", "ongoing",
                                       "cause", "repair_s", "repair_limit_s", "exceeds_repair_time",
                                       "during_power_cut_s", "weak_evidence", "start_source", "end_source")}
                    for i in listed],
        "outages_total": len(outages),
        "exceeds_repair_time": sum(1 for i in outages if i["exceeds_repair_time"]),
        "downtime_s": u.get("downtime_s", 0.0), "availability_pct": u.get("availability_pct"),
        # The outages' time while the site itself had no power (its own UPS on battery, or none): not claimed
        # from the operator, and said so, so that the durations listed and the cumulated downtime add up.
        "during_power_cut_s": round(sum(i["during_power_cut_s"] for i in outages), 3),
        "power_cuts": report["totals"].get("power_cuts", 0), "power_cut_s": report["totals"].get("power_cut_s", 0.0),
        "availability_business_pct": u.get("availability_business_pct"),
        "promised_pct": c["availability_pct"] if c else None,
        "months": [{k: m[k] for k in ("month", "availability_pct", "under_promise", "partial")}
                   for m in (c["months"] if c else [])],
        "repair_hours": c["repair_hours"] if c else None,
        "repair_in_business_hours": c["repair_in_business_hours"] if c else False,
        "speed": {"guaranteed_down_mbps": c["down_mbps"] if c else None,
                  "guaranteed_up_mbps": c["up_mbps"] if c else None, **(c["measured"] if c else {})},
        "evidence": {"entries": len(outages), "weak": weak,
                     "not_observed_s": report["totals"]["not_observed_s"]},
    }


def _facts(cl: dict[str, Any], w: Writer) -> list[tuple[str, str]]:
    facts = [(w["provider"], cl["provider"] or "–"), (w["reference"], cl["reference"] or "–"),
             (w["link"], cl["uplink"]),
             (w["period"], f"{w.when(cl['period']['since_local'])} → {w.when(cl['period']['until_local'])} "
                           f"({cl['period']['zone']})"),
             (w["count"], str(cl["outages_total"])), (w["cumulated"], w.duration(cl["downtime_s"]))]
    if cl.get("during_power_cut_s"):
        facts.append((w["during_power_cuts"], w.duration(cl["during_power_cut_s"])))
    if cl.get("power_cuts"):
        facts.append((w["power_cuts"], f"{cl['power_cuts']} · {w.duration(cl['power_cut_s'])}"))
    facts.append((w["availability"], w.percent(cl["availability_pct"])
                  + (f" / {w['promised'].lower()} {w.percent(cl['promised_pct'])}" if cl["promised_pct"] else "")))
    under = [m["month"] for m in cl["months"] if m["under_promise"]]
    if under:
        facts.append((w["under_promise"].capitalize(), ", ".join(under)))
    if cl["repair_hours"]:
        facts.append((w["repair"], w.duration(cl["repair_hours"] * 3600)
                      + (f" ({w['business_hours'].lower()})" if cl["repair_in_business_hours"] else "")
                      + f" — {cl['exceeds_repair_time']} × {w['exceeds'].lower()}"))
    sp = cl["speed"]
    if sp.get("guaranteed_down_mbps"):
        facts.append((w["guaranteed_speed"], f"{w.mbps(sp['guaranteed_down_mbps'])}; {w['measured'].lower()} "
                                             f"({sp.get('count', 0)}): {w['median']} {w.mbps(sp.get('down_median_mbps'))}"
                                             f", {w['min_speed']} {w.mbps(sp.get('down_min_mbps'))}"
                                             + (f" — {sp['below_guarantee']} × {w['below'].lower()}"
                                                if sp.get("below_guarantee") else "")))
    ev = cl["evidence"]
    quality = w["evidence_weak"].format(n=ev["weak"]) if ev["weak"] else w["evidence_good"]
    if ev["not_observed_s"]:
        quality += f"; {w['not_observed'].lower()}: {w.duration(ev['not_observed_s'])}"
    facts.append((w["evidence_quality"], quality))
    return facts


def _repair(i: dict[str, Any], w: Writer) -> str:
    if i["repair_limit_s"] is None:
        return "–"
    return f"{w.duration(i['repair_s'])} / {w.duration(i['repair_limit_s'])}"


def _power_note(i: dict[str, Any], w: Writer, lead: str) -> str:
    """The part of an outage that fell in a site power cut, not claimed: "; 4 min 00 s during a power cut ..."."""
    cut = i.get("during_power_cut_s") or 0
    return lead + w.sentence("during_power_cut", duration=w.duration(cut)) if cut > 0 else ""


def render_claim_text(cl: dict[str, Any], lang: str = "fr") -> str:
    w = Writer(lang)
    out = [w["claim_title"], ""] + [f"{k}: {v}" for k, v in _facts(cl, w)]
    if not cl["contract"]:
        out.append(w["no_contract"])
    out += ["", f"{w['start']:28} {w['end']:28} {w['duration']:>18}  {w['repair_vs']:34} {w['cause']}"]
    for i in cl["outages"]:
        out.append(f"{w.when(i['start_local']):28} {w.when(i['end_local']):28} {w.duration(i['duration_s']):>18}  "
                   f"{_repair(i, w):34} {w.cause(i['cause'], with_code=False)}" + (" *" if i["exceeds_repair_time"] else "")
                   + (f" ({w['weak']})" if i["weak_evidence"] else "") + _power_note(i, w, "; "))
    if cl["outages_total"] > len(cl["outages"]):
        out.append(w["more"].format(n=cl["outages_total"] - len(cl["outages"])))
    if not cl["outages_total"]:
        out.append(w["no_incidents"])
    if cl["exceeds_repair_time"]:
        out.append(f"* {w['exceeds'].lower()}")
    return "\n".join(out) + "\n"


CLAIM_CSS = """
body{font:9.5pt/1.3 "DejaVu Sans",Arial,sans-serif;color:#111;margin:20px auto;max-width:800px}
h1{font-size:14pt;margin:0 0 8px} table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border:1px solid #bbb;padding:2px 5px;text-align:left} th{background:#eee} td.n{text-align:right}
td{white-space:nowrap} table.facts td{white-space:normal}
table.facts th{width:28%} .flag{color:#b00;font-weight:bold} .weak{color:#8a5a00} .cut{color:#8c564b;font-size:90%}
@page{size:A4;margin:12mm} @media print{body{margin:0;max-width:none;font-size:8.5pt} th,td{padding:1px 4px}}
"""


def render_claim_html(cl: dict[str, Any], lang: str = "fr") -> str:
    w = Writer(lang)
    name = cl["site"].get("business") or cl["site"].get("device") or ""
    b = [f"<h1>{escape(w['claim_title'])}{' — ' + escape(name) if name else ''}</h1>", '<table class="facts">']
    b += [f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in _facts(cl, w)]
    b.append("</table>")
    if not cl["contract"]:
        b.append(f"<p>{escape(w['no_contract'])}</p>")
    b.append("<table class=outages><thead><tr>" + "".join(
        f"<th>{escape(h)}</th>" for h in (w["start"], w["end"], w["duration"], w["repair_vs"], w["cause"]))
        + "</tr></thead><tbody>")
    for i in cl["outages"]:
        flag = ' class="n flag"' if i["exceeds_repair_time"] else " class=n"
        weak = ' class="weak"' if i["weak_evidence"] else ""
        b.append(f'<tr class="outage" data-id="{escape(str(i["id"]))}"><td{weak}>{escape(w.when(i["start_local"]))}'
                 f"</td><td{weak}>{escape(w.when(i['end_local']))}</td><td class=n>{w.duration(i['duration_s'])}</td>"
                 f"<td{flag}>{escape(_repair(i, w))}</td><td>{escape(w.cause(i['cause'], with_code=False))}"
                 + (f'<br><span class="cut">{escape(_power_note(i, w, ""))}</span>' if i.get("during_power_cut_s")
                    else "") + "</td></tr>")
    b.append("</tbody></table>")
    if cl["outages_total"] > len(cl["outages"]):
        b.append(f"<p>{escape(w['more'].format(n=cl['outages_total'] - len(cl['outages'])))}</p>")
    if not cl["outages_total"]:
        b.append(f"<p>{escape(w['no_incidents'])}</p>")
    return page(w["claim_title"], b, w.lang, CLAIM_CSS)
