"""The sheet as one self-contained A4 page (HTML: inline CSS, no script, no external resource) or as text for an
80-column serial console. `render(sheet, fmt, lang)`; ValueError for an unknown format or language."""
from __future__ import annotations

import json
from html import escape
from typing import Any

from agent.plan.words import WORDS, default_steps, led_legend, writer
from agent.report.language import Writer

FORMATS = ("html", "text", "json")

CSS = """
body{font:9.5pt/1.3 "DejaVu Sans",Arial,sans-serif;color:#111;margin:20px auto;max-width:800px;padding:0 10px}
h1{font-size:15pt;margin:0 0 2px} h2{font-size:11pt;margin:10px 0 4px;border-bottom:1px solid #999}
.meta{color:#444;margin:0 0 4px} table{border-collapse:collapse;width:100%;margin:2px 0}
th,td{border:1px solid #bbb;padding:2px 5px;text-align:left;vertical-align:top} th{background:#eee}
td.nw{white-space:nowrap} ol.steps{margin:2px 0 4px 0;padding-left:22px} ol.steps li{margin:2px 0;font-size:10.5pt}
.where{font-size:10.5pt;background:#f4f4f4;border:1px solid #ccc;padding:3px 6px;margin:4px 0}
.flag{color:#b00;font-weight:bold} .ok{color:#060;font-weight:bold} .muted{color:#555}
ul.facts{margin:2px 0;padding-left:18px} span.led{display:inline-block;width:10px;height:10px;border-radius:5px;
 border:1px solid #333;margin-right:4px;vertical-align:middle}
.led.on{background:#2a2} .led.off{background:#fff} .led.slow_blink{background:repeating-linear-gradient(90deg,
 #2a2 0 5px,#fff 5px 10px)} .led.double{background:linear-gradient(90deg,#2a2 0 2px,#fff 2px)}
.led.fast_blink{background:repeating-linear-gradient(90deg,#2a2 0 2px,#fff 2px 4px)}
@page{size:A4;margin:8mm 10mm}
@media print{body{margin:0;max-width:none;padding:0;font-size:7.8pt;line-height:1.2} h1{font-size:13pt}
 h2{font-size:9.5pt;break-after:avoid;margin:5px 0 2px} .where{font-size:9pt;padding:2px 5px;margin:2px 0}
 ol.steps li{font-size:8.8pt;margin:1px 0} th,td{padding:0 3px} ul.facts{margin:1px 0}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def render(sheet: dict[str, Any], fmt: str, lang: str = "fr") -> str:
    if fmt not in FORMATS:
        raise ValueError(f"format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    w = writer(lang)
    if fmt == "json":
        return json.dumps(sheet, ensure_ascii=False, indent=1) + "\n"
    return render_html(sheet, w) if fmt == "html" else render_text(sheet, w)


def _name(sheet: dict[str, Any]) -> str:
    s = sheet["site"]
    return s.get("business") or s.get("site") or s.get("device") or "relais"


def _where(sheet: dict[str, Any], w: Writer) -> str:
    s, t = sheet["site"], WORDS[w.lang]
    parts = [p for p in (s.get("site"), s.get("location")) if p]
    return " — ".join(parts) if parts else t["unknown"]


def uplink_label(u: dict[str, Any], best: str | None, t: dict[str, Any]) -> str:
    """"principal (fibre)" / "secours (mobile)" for the two uplinks of old; a named uplink by its name, its part
    and its kind: "fiber2 (secours, ligne fixe)"."""
    if (u["uplink"], u.get("kind")) in (("primary", "ethernet"), ("backup", "cellular")):
        return t[u["uplink"]]
    role = t["role_primary"] if u["uplink"] == best else t["role_backup"]
    return f"{u['uplink']} ({role}, {t['kinds_of_uplink'].get(u.get('kind'), u.get('kind') or '?')})"


def _uplink_rows(sheet: dict[str, Any], w: Writer) -> list[list[str]]:
    t = WORDS[w.lang]
    rows = []
    best = sheet["uplinks"][0]["uplink"] if sheet["uplinks"] else None
    for u in sheet["uplinks"]:
        provider = u["provider"] or "–"
        if u["operator"] and u["operator"] != u["provider"]:
            provider = f"{provider} ({u['operator']})" if u["provider"] else u["operator"]
        repair = "–"
        if u["repair_hours"]:
            hours = w.number(u["repair_hours"], 1).removesuffix(",0").removesuffix(".0")
            repair = f"{hours} h" + (f" ({t['business_hours']})" if u["repair_in_business_hours"] else "")
        rows.append([f"{uplink_label(u, best, t)} · {u['interface']}", provider, u["reference"] or "–", repair,
                     u["support_phone"] or "–"])
    return rows


def _sim_lines(sheet: dict[str, Any], w: Writer) -> list[str]:
    """One line for the SIMs, one for the operators they prefer: what to say to whoever replaces a SIM."""
    t = WORDS[w.lang]
    sims, plmns = [], []
    for s in sheet["sims"]:
        bits = []
        if s["active"]:
            bits.append(t["in_use"] + (f": {s['operator']}" if s["operator"] else ""))
        if s["iccid"]:
            bits.append(f"ICCID {s['iccid']}")
        if s["apn"]:
            bits.append(f"{t['apn']} {s['apn']}")
        sims.append(f"{t['slot']} {s['slot']}" + (f" ({', '.join(bits)})" if bits else ""))
        if s["plmns"] and s["plmns"] not in plmns:
            plmns.append(s["plmns"])
    out = [f"{t['sims']}: {'; '.join(sims)}"] if sims else []
    if plmns:
        out.append(f"{t['operators'].capitalize()}: {' / '.join(', '.join(p) for p in plmns)}")
    return out


def _equipment_lines(sheet: dict[str, Any], w: Writer) -> list[str]:
    t, e = WORDS[w.lang], sheet["equipment"]
    router = e["router"] or t["unknown"]
    if e["router_label"]:
        router += f" — {e['router_label']}"
    modem = e["modem"] or t["unknown"]
    modem += f", {t['imei']} {e['imei'] or t['unknown']}"
    if e["as_of_local"]:
        modem += f" ({t['as_of']} {w.when(e['as_of_local'], seconds=False)})"
    lines = [f"{t['router']}: {router} ({sheet['site']['device']})", f"{t['modem']}: {modem}",
             f"{t['ups']}: {e['ups'] or t['ups_none']}"]
    return lines + list(e["other"])


def _drill_lines(sheet: dict[str, Any], w: Writer) -> tuple[tuple[str, bool | None], str]:
    t, d = WORDS[w.lang], sheet["drills"]
    last = d["last"]
    if last is not None:
        verdict = {True: t["passed"], False: t["failed"], None: t["done"]}[last["ok"]]
        text = f"{w.when(last['local'], seconds=False)}, {t['kinds'].get(last['kind'], last['kind'])}: {verdict}"
        if last["recovery_s"] is not None:
            text += f", {t['recovery']} {w.number(last['recovery_s'], 1)} s"
        if last["failed_services"]:
            text += f"; {t['services_failed']}: {', '.join(last['failed_services'])}"
        ok = last["ok"]
    else:
        text = {"none": t["no_ledger"], "unreadable": t["unreadable"]}.get(d["ledger"], t["no_drill"])
        ok = None
    if d["next_local"]:
        schedule = t["schedules"].get(d["schedule"], d["schedule"])
        nxt = f"{w.when(d['next_local'], seconds=False)} ({t['kinds'].get(d['kind'], d['kind'])}, {schedule})"
    else:
        nxt = t["not_scheduled"]
    return (text, ok), nxt


def render_html(sheet: dict[str, Any], w: Writer) -> str:
    t = WORDS[w.lang]
    e = escape
    b = [f"<h1>{e(t['title'])} — {e(_name(sheet))}</h1>",
         f'<p class="meta">{e(t["device"])}: {e(sheet["site"]["device"])} · {e(t["generated"])} '
         f'{e(w.when(sheet["generated_local"], seconds=False))}</p>',
         f'<p class="where"><b>{e(t["where"])}:</b> {e(_where(sheet, w))}</p>',
         f"<h2>{e(t['steps'])}</h2>", '<ol class="steps">']
    b += [f"<li>{e(s)}</li>" for s in (sheet["steps"] or default_steps(sheet, w.lang))]
    b += ["</ol>", f"<h2>{e(t['led'])}</h2>", '<table class="legend"><tbody>']
    for name, look, means in led_legend(w.lang):
        b.append(f'<tr data-pattern="{e(name)}"><td class="nw"><span class="led {e(name)}"></span>{e(look)}</td>'
                 f"<td>{e(means)}</td></tr>")
    b += ["</tbody></table>", f"<h2>{e(t['contacts'])}</h2>"]
    if sheet["contacts"]:
        b.append("<table class=contacts><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in (
            "#", t["name"], t["phone"], t["when"])) + "</tr></thead><tbody>")
        for n, c in enumerate(sheet["contacts"], 1):
            role = f' <span class="muted">({e(c["role"])})</span>' if c["role"] else ""
            b.append(f'<tr class="contact"><td>{n}</td><td>{e(c["name"])}{role}</td>'
                     f'<td class="nw"><b>{e(c["phone"])}</b></td><td>{e(c["when"] or "")}</td></tr>')
        b.append("</tbody></table>")
        if sheet["contacts_more"]:
            b.append(f'<p class="muted">{e(t["contacts_more"].format(n=sheet["contacts_more"]))}</p>')
    else:
        b.append(f'<p class="flag">{e(t["no_contacts"])}</p>')
    b += [f"<h2>{e(t['uplinks'])}</h2>", "<table class=uplinks><thead><tr>" + "".join(
        f"<th>{e(h)}</th>" for h in (t["uplink"], t["provider"], t["reference"], t["repair"], t["support"]))
        + "</tr></thead><tbody>"]
    for row in _uplink_rows(sheet, w):
        b.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row[:4]) + f'<td class="nw"><b>{e(row[4])}</b></td></tr>')
    b += ["</tbody></table>", '<ul class="facts">'] + [f"<li>{e(s)}</li>" for s in _sim_lines(sheet, w)] + ["</ul>"]
    b += [f"<h2>{e(t['equipment'])}</h2>", '<ul class="facts">']
    b += [f"<li>{e(line)}</li>" for line in _equipment_lines(sheet, w)] + ["</ul>"]
    (last, ok), nxt = _drill_lines(sheet, w)
    cls = {True: "ok", False: "flag"}.get(ok, "")
    b += [f"<h2>{e(t['drills'])}</h2>", '<ul class="facts">',
          f'<li class="last-drill">{e(t["last_drill"])}: <span class="{cls}">{e(last)}</span></li>',
          f'<li class="next-drill">{e(t["next_drill"])}: {e(nxt)}</li></ul>']
    title = f"{t['title']} — {_name(sheet)}"
    return "\n".join([f'<!DOCTYPE html>\n<html lang="{w.lang}"><head><meta charset="utf-8">',
                      f"<title>{e(title)}</title><style>{CSS}</style></head><body>", *b, "</body></html>"]) + "\n"


def render_text(sheet: dict[str, Any], w: Writer) -> str:
    """Plain text for the serial console: 80 columns, no colour, long lines wrapped."""
    import textwrap
    t = WORDS[w.lang]

    def wrap(text: str, first: str, rest: str) -> list[str]:
        return textwrap.wrap(text, 78, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False,
                             break_long_words=True) or [first.rstrip()]

    out = wrap(f"{t['title']} — {_name(sheet)}", "", "  ")
    out += wrap(f"{t['device']}: {sheet['site']['device']} · {t['generated']} "
                f"{w.when(sheet['generated_local'], seconds=False)}", "", "  ")
    out += wrap(f"{t['where']}: {_where(sheet, w)}", "", "  ")
    out += ["", f"== {t['steps']}"]
    for n, s in enumerate(sheet["steps"] or default_steps(sheet, w.lang), 1):
        out += wrap(s, f"{n:>2}. ", "    ")
    out += ["", f"== {t['led']}"]
    for _, look, means in led_legend(w.lang):
        out += wrap(f"{look}: {means}", "  ", "    ")
    out += ["", f"== {t['contacts']}"]
    for n, c in enumerate(sheet["contacts"], 1):
        line = f"{c['name']}" + (f" ({c['role']})" if c["role"] else "") + f": {c['phone']}"
        out += wrap(line + (f" — {c['when']}" if c["when"] else ""), f"{n:>2}. ", "    ")
    if sheet["contacts_more"]:
        out.append("  " + t["contacts_more"].format(n=sheet["contacts_more"]))
    if not sheet["contacts"]:
        out.append("  " + t["no_contacts"])
    out += ["", f"== {t['uplinks']}"]
    for link, provider, ref, repair, support in _uplink_rows(sheet, w):
        out += wrap(f"{link}: {provider}; {t['reference'].lower()} {ref}; {t['repair'].lower()} {repair}; "
                    f"{t['support'].lower()} {support}", "  ", "    ")
    for line in _sim_lines(sheet, w):
        out += wrap(line, "  ", "    ")
    out += ["", f"== {t['equipment']}"]
    for line in _equipment_lines(sheet, w):
        out += wrap(line, "  ", "    ")
    (last, _), nxt = _drill_lines(sheet, w)
    out += ["", f"== {t['drills']}"] + wrap(f"{t['last_drill']}: {last}", "  ", "    ") \
        + wrap(f"{t['next_drill']}: {nxt}", "  ", "    ")
    return "\n".join(out) + "\n"
