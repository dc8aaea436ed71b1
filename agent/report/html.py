"""The report as one self-contained HTML file: inline CSS and SVG, no JavaScript, no external resource, and print
CSS for A4, so the owner can print it to PDF and attach it to a registered letter."""
from __future__ import annotations

from html import escape
from typing import Any

from agent.report.language import Writer
from agent.report.text import evidence_text
from agent.report.timeline import render_timeline

CSS = """
body{font:10pt/1.35 "DejaVu Sans",Arial,sans-serif;color:#111;margin:24px auto;max-width:1000px;padding:0 12px}
h1{font-size:16pt;margin:0 0 4px} h2{font-size:12pt;margin:18px 0 6px;border-bottom:1px solid #bbb}
.meta{color:#444;margin:0} table{border-collapse:collapse;width:100%;margin:4px 0}
th,td{border:1px solid #ccc;padding:2px 5px;text-align:left;vertical-align:top} td.t{white-space:nowrap}
th{background:#eee} td.n{text-align:right;white-space:nowrap} .flag{color:#b00;font-weight:bold}
.weak{color:#8a5a00} .empty{padding:8px;background:#fff6d6;border:1px solid #e0c060}
.ev{color:#444;font-size:8.5pt} tr.planned td{color:#555} .cards{display:flex;gap:8px;flex-wrap:wrap}
.card{border:1px solid #ccc;padding:4px 8px;min-width:140px} .card b{display:block;font-size:13pt}
@page{size:A4;margin:12mm}
@media print{body{margin:0;max-width:none;padding:0;font-size:9pt} h2{break-after:avoid}
 tr{break-inside:avoid} thead{display:table-header-group} svg.timeline{break-inside:avoid}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def page(title: str, body: list[str], lang: str, css: str = CSS) -> str:
    return "\n".join([f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">',
                      f"<title>{escape(title)}</title><style>{css}</style></head><body>", *body, "</body></html>"])


def render_html(report: dict[str, Any], lang: str = "fr") -> str:
    w = Writer(lang)
    p, t, site = report["period"], report["totals"], report["site"]
    name = site.get("business") or site.get("device") or "relais"
    b = [f"<h1>{escape(w['title'])} — {escape(name)}</h1>",
         f'<p class="meta">{escape(w["period"])}: {escape(w.when(p["since_local"]))} → '
         f'{escape(w.when(p["until_local"]))} ({escape(w["zone"])} {escape(p["zone"])}) · '
         f'{escape(w["device"])}: {escape(site.get("device") or "–")}'
         + (f' · {escape(w["site"])}: {escape(site["site"])}' if site.get("site") else "")
         + f' · {escape(w["business_hours"])}: {escape(w.hours(p["business_hours"]))}'
         + (f' · {escape(w["generated"])} {escape(w.when(p["generated_local"]))}' if p.get("generated_local")
            else "") + "</p>"]
    if p["empty"]:
        b.append(f'<p class="empty">{escape(w["empty"])}</p>')
    b.append('<div class="cards">')
    cards = [(f"{w['availability']} {t['uplink']}", w.percent(t["availability_pct"])),
             (w["availability_business"], w.percent(t["availability_business_pct"])),
             (w["count"], str(t["count"])), (w["downtime"], w.duration(t["downtime_s"])),
             (w["total_outages"], f"{t['total_outages']} · {w.duration(t['offline_s'])}"),
             (w["not_observed"], w.duration(t["not_observed_s"]))]
    if t.get("power_cuts"):     # the site's power cuts, apart: not the operator's downtime
        cards.append((w["power_cuts"], f"{t['power_cuts']} · {w.duration(t['power_cut_s'])}"))
    for label, value in cards:
        b.append(f'<div class="card">{escape(label)}<b>{escape(value)}</b></div>')
    b.append("</div>")
    b += [f"<h2>{escape(w['timeline'])}</h2>", render_timeline(report, w)]
    b += [f"<h2>{escape(w['uplinks'])}</h2>", "<table><thead><tr>"
          + "".join(f"<th>{escape(h)}</th>" for h in (w["uplink"], w["availability"], w["availability_business"],
                                                       w["count"], w["downtime"], w["longest"], w["mttr"],
                                                       w["degraded"], w["planned"]))
          + "</tr></thead><tbody>"]
    for link, u in report["uplinks"].items():
        b.append(f"<tr><td>{escape(link)}</td><td class=n>{w.percent(u['availability_pct'])}</td>"
                 f"<td class=n>{w.percent(u['availability_business_pct'])}</td><td class=n>{u['count']}</td>"
                 f"<td class=n>{w.duration(u['downtime_s'])}</td><td class=n>{w.duration(u['longest_s'])}</td>"
                 f"<td class=n>{w.duration(u['mttr_s'])}</td>"
                 f"<td class=n>{u['degraded_count']} · {w.duration(u['degraded_s'])}</td>"
                 f"<td class=n>{u['planned_count']} · {w.duration(u['planned_s'])}</td></tr>")
    b.append("</tbody></table>")
    if report["operators"]:
        b += [f"<h2>{escape(w['operators'])}</h2><table><thead><tr><th>{escape(w['operator'])}</th>"
              f"<th>{escape(w['observed'])}</th><th>{escape(w['availability'])}</th>"
              f"<th>{escape(w['carried'])}</th></tr></thead><tbody>"]
        for o in report["operators"]:
            b.append(f"<tr><td>{escape(o['operator'] or w['operator_unknown'])}</td><td class=n>{w.duration(o['observed_s'])}</td>"
                     f"<td class=n>{w.percent(o['availability_pct'])}</td>"
                     f"<td class=n>{w.duration(o['carried_s'])}</td></tr>")
        b.append("</tbody></table>")
    for c in report["contracts"]:
        b += _contract(c, w)
    b += _incidents(report["incidents"], w)
    b += _drills(report["drills"], w) + _speeds(report["speed"], w) + _cost(report.get("cost"), w)
    if t["weak_evidence"]:
        b.append(f'<p class="weak">{escape(w["weak_count"])}: {t["weak_evidence"]}</p>')
    return page(f"{w['title']} — {name}", b, w.lang)


def _contract(c: dict[str, Any], w: Writer) -> list[str]:
    b = [f"<h2>{escape(w['contracts'])}: {escape(c['uplink'])} — {escape(c['provider'] or '–')}</h2>",
         f"<p>{escape(w['reference'])}: {escape(c['reference'] or '–')} · {escape(w['promised'])}: "
         f"{w.percent(c['availability_pct'])} · {escape(w['repair'])}: "
         f"{w.duration(c['repair_hours'] * 3600) if c['repair_hours'] else '–'} · {escape(w['guaranteed_speed'])}: "
         f"{w.mbps(c['down_mbps'])} / {w.mbps(c['up_mbps'])}</p>"]
    if c["availability_pct"]:
        b.append(f"<table><thead><tr><th>{escape(w['month'])}</th><th>{escape(w['availability'])}</th>"
                 f"<th>{escape(w['downtime'])}</th><th></th></tr></thead><tbody>")
        for m in c["months"]:
            flag = f'<span class="flag">{escape(w["under_promise"])}</span>' if m["under_promise"] else ""
            part = f" ({escape(w['partial'])})" if m["partial"] else ""
            b.append(f"<tr class=month><td>{m['month']}{part}</td><td class=n>{w.percent(m['availability_pct'])}</td>"
                     f"<td class=n>{w.duration(m['downtime_s'])}</td><td>{flag}</td></tr>")
        b.append("</tbody></table>")
    ms = c["measured"]
    if c["down_mbps"] and ms["count"]:
        b.append(f"<p>{escape(w['measured'])} ({ms['count']} {escape(w['measurements'])}): {escape(w['median'])} "
                 f"{w.mbps(ms['down_median_mbps'])}, {escape(w['min_speed'])} {w.mbps(ms['down_min_mbps'])} "
                 f"{escape(w['down'])}; {escape(w['guaranteed'])} {w.mbps(c['down_mbps'])}"
                 + (f' — <span class="flag">{ms["below_guarantee"]} × {escape(w["below"])}</span>'
                    if ms["below_guarantee"] else "") + "</p>")
    return b


def _incidents(incidents: list[dict[str, Any]], w: Writer) -> list[str]:
    b = [f"<h2>{escape(w['incidents'])} ({len(incidents)})</h2>"]
    if not incidents:
        return b + [f"<p>{escape(w['no_incidents'])}</p>"]
    b.append("<table class=incidents><thead><tr>" + "".join(
        f"<th>{escape(h)}</th>" for h in (w["start"], w["end"], w["duration"], w["link"], w["kind"], w["cause"],
                                           w["evidence"])) + "</tr></thead><tbody>")
    for i in incidents:
        classes = ["incident", i["kind"]] + (["planned"] if i["planned"] else [])
        flag = f'<br><span class="flag">{escape(w["exceeds"])}</span>' if i["exceeds_repair_time"] else ""
        weak = " weak" if i["weak_evidence"] else ""
        b.append(f'<tr class="{" ".join(classes)}" data-id="{escape(str(i["id"]))}">'
                 f"<td class='t{weak}'>{escape(w.when(i['start_local']))}</td>"
                 f"<td class='t{weak}'>{escape(w.when(i['end_local']))}</td>"
                 f"<td class=n>{escape(w.duration(i['duration_s']))}{flag}</td><td>{escape(w.link(i['link']))}</td>"
                 f"<td>{escape(w.kind(i['kind']))}</td><td>{escape(w.cause(i['cause']))}</td>"
                 f'<td class="ev">{escape(evidence_text(i, w))}</td></tr>')
    b.append("</tbody></table>")
    return b


def _drills(drills: list[dict[str, Any]], w: Writer) -> list[str]:
    if not drills:
        return []
    b = [f"<h2>{escape(w['drills'])}</h2><table><tbody>"]
    for d in drills:
        verdict = {True: w["passed"], False: w["failed"], None: w["done"]}[d["ok"]]
        services = ", ".join(f"{s.get('name')}: {'OK' if s.get('ok') else w['failed']}" for s in d["services"])
        b.append(f"<tr class=drill><td>{escape(w.when(d['local']))}</td><td>{escape(str(d['kind']))}</td>"
                 f"<td{' class=flag' if d['ok'] is False else ''}>{escape(verdict)}</td>"
                 f"<td class=n>{'' if d['recovery_s'] is None else escape(w.number(d['recovery_s'], 1)) + ' s'}</td>"
                 f"<td>{escape(services)}</td></tr>")
    return b + ["</tbody></table>"]


def _speeds(speeds: list[dict[str, Any]], w: Writer) -> list[str]:
    if not speeds:
        return []
    b = [f"<h2>{escape(w['speed'])}</h2><table><thead><tr><th>{escape(w['start'])}</th><th>{escape(w['link'])}"
         f"</th><th>{escape(w['down'])}</th><th>{escape(w['up'])}</th><th>{escape(w['guaranteed'])}</th></tr>"
         "</thead><tbody>"]
    for s in speeds:
        if not s["ok"]:
            b.append(f"<tr class=speed><td>{escape(w.when(s['local']))}</td><td>{escape(s['link'])}</td>"
                     f"<td colspan=3 class=flag>{escape(w['failed'])}: {escape(str(s['error']))}</td></tr>")
            continue
        below = f' <span class="flag">{escape(w["below"])}</span>' if s["below_guarantee"] else ""
        b.append(f"<tr class=speed><td>{escape(w.when(s['local']))}</td><td>{escape(s['link'])}</td>"
                 f"<td class=n>{w.mbps(s['down_mbps'])}</td><td class=n>{w.mbps(s['up_mbps'])}</td>"
                 f"<td>{w.mbps(s['guaranteed_down_mbps'])}{below}</td></tr>")
    return b + ["</tbody></table>"]


def _cost(cost: dict[str, Any] | None, w: Writer) -> list[str]:
    if not cost:
        return []
    scope = f" ({escape(w['business_only'])})" if cost["business_hours_only"] else ""
    return [f"<h2>{escape(w['cost'])}</h2>",
            f"<p>{escape(w.money(cost['per_hour'], cost['currency']))} {escape(w['per_hour'])}{scope}</p><ul>",
            f"<li>{escape(w['offline_cost'])}: <b>{escape(w.money(cost['offline_cost'], cost['currency']))}</b> "
            f"({escape(w.duration(cost['offline_s']))})</li>",
            f"<li>{escape(w['primary_cost'])}: {escape(w.money(cost['primary_down_cost'], cost['currency']))} "
            f"({escape(w.duration(cost['primary_down_s']))})</li></ul>"]
