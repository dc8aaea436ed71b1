"""The console's HTML, server-rendered: it works without JavaScript; /static/live.js only swaps changed rows in
(server-sent events). Every value from a device or a person is escaped here, at the one place it meets HTML."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from html import escape
from typing import Any

from fleet.console.table import COLUMNS, FILTER_LABELS, TABLE_FILTERS, Page, View
from fleet.uplinks import names as uplink_names
from fleet.users import Role, Session

# nothing inline (no <script>, no style=): injected markup cannot run, the page cannot be framed
CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#111}
header{background:#1d3557;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center}
header a{color:#fff}header form{margin-left:auto}
main{padding:12px 16px}
table{border-collapse:collapse;width:100%}th,td{padding:3px 6px;border-bottom:1px solid #ddd;text-align:left}
th a{color:inherit}tr.offline td{color:#888}td.poor{color:#d62728;font-weight:bold}
.filters a{display:inline-block;margin:0 6px 6px 0;padding:2px 8px;border:1px solid #1d3557;border-radius:10px;
 color:#1d3557;text-decoration:none}.filters a.on{background:#1d3557;color:#fff}
.error{background:#fde2e1;border:1px solid #d62728;padding:6px 10px}.ok{background:#e2f5e1;border:1px solid #2a9d3a;
 padding:6px 10px}.reply pre{white-space:pre-wrap}
.actions form{display:inline-block;margin:0 8px 8px 0}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}
#live{color:#888;font-size:12px}
"""


def _t(ts: float | None) -> str:
    if ts is None:
        return ""
    try:   # a device's clock is its own word: a year 10^292 is shown as what it is, not a 500
        return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        return f"{ts:.6g} (not a date)"


def part(state: dict[str, Any], name: str) -> dict[str, Any]:
    """A part of a device's retained state as a map: a device may publish any JSON value as a part, and one
    that is not a map shows nothing rather than breaking the page."""
    value = state.get(name)
    return value if isinstance(value, dict) else {}


def layout(title: str, body: str, session: Session | None = None, live: str = "") -> str:
    nav = ""
    if session is not None:
        links = ['<a href="/">Fleet</a>']
        if session.user.role >= Role.ADMIN:
            links += ['<a href="/audit">Audit</a>', '<a href="/users">Users</a>']
        nav = (" ".join(links) + f'<span>{escape(session.user.name)} ({session.user.role.label})</span>'
               f'<form method="post" action="/logout">{csrf_field(session)}<button>Log out</button></form>')
    script = f'<script src="/static/live.js" data-src="{escape(live)}" defer></script>' if live else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} · relais fleet'
            f'</title><link rel="stylesheet" href="/static/console.css">{script}</head><body>'
            f'<header><strong>relais fleet</strong>{nav}</header><main>{body}</main></body></html>')


def csrf_field(session: Session) -> str:
    return f'<input type="hidden" name="csrf" value="{escape(session.csrf)}">'


def login(error: str = "", name: str = "") -> str:
    err = f'<p class="error">{escape(error)}</p>' if error else ""
    return layout("Log in", f'<h1>Log in</h1>{err}<form method="post" action="/login">'
                  f'<p><label>User <input name="name" value="{escape(name)}" autocomplete="username" required>'
                  f'</label></p><p><label>Password <input type="password" name="password" '
                  f'autocomplete="current-password" required></label></p><p><button>Log in</button></p></form>')


def error_page(status: str, message: str, session: Session | None = None) -> str:
    return layout(status, f'<h1>{escape(status)}</h1><p class="error">{escape(message)}</p>'
                          f'<p><a href="/">Back to the fleet</a></p>', session)


def _cell_signal(r: dict[str, Any]) -> str:
    v = r["rsrp_dbm"]
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return "<td></td>"
    from fleet.listing import POOR_RSRP_DBM
    return f'<td class="{"poor" if v < POOR_RSRP_DBM else ""}">{v} dBm</td>'


def table_row(d: dict[str, Any], r: dict[str, Any]) -> str:
    site = escape(d["device_id"])
    status = escape(r["status"]) + (f' <small>since {escape(r["since"])}</small>' if r["since"] else "")
    cells = [f'<td><a href="/site/{site}">{site}</a></td>', f"<td>{status}</td>",
             *(f"<td>{escape(str(r[k]))}</td>" for k in ("uplink", "failover", "operator")),
             _cell_signal(r), *(f"<td>{escape(str(r[k]))}</td>" for k in ("data_used", "last_incident", "last_drill"))]
    return f'<tr id="row-{site}" class="{escape(r["status"])}">{"".join(cells)}</tr>'


def fleet(page: Page, view: View, session: Session, error: str = "") -> str:
    buttons = []
    for name in TABLE_FILTERS:
        on = name in view.filters
        filters = tuple(f for f in view.filters if f != name) if on else (*view.filters, name)
        buttons.append(f'<a class="filter{" on" if on else ""}" data-filter="{name}" '
                       f'href="/?{escape(view.query(filters=filters, page=1))}">{FILTER_LABELS[name]} '
                       f'({page.counts[name]})</a>')
    heads = []
    for col, label in COLUMNS.items():
        desc = view.sort == col and not view.descending
        arrow = (" ▼" if view.descending else " ▲") if view.sort == col else ""
        heads.append(f'<th><a href="/?{escape(view.query(sort=col, descending=desc, page=1))}">{label}{arrow}</a>'
                     f'</th>')
    rows = "".join(table_row(d, r) for d, r in page.rows)
    nav = ""
    if page.pages > 1:
        cur = min(view.page, page.pages)
        prev = f'<a href="/?{escape(view.query(page=cur - 1))}">previous</a> ' if cur > 1 else ""
        nxt = f' <a href="/?{escape(view.query(page=cur + 1))}">next</a>' if cur < page.pages else ""
        nav = f"<p>{prev}page {cur} of {page.pages}{nxt}</p>"
    err = f'<p class="error">{escape(error)}</p>' if error else ""
    search = (f'<form method="get" action="/">' + "".join(f'<input type="hidden" name="filter" value="{f}">'
                                                            for f in view.filters) +
              f'<input name="q" value="{escape(view.q)}" placeholder="site"> <button>Find</button></form>')
    body = (f'<h1>Fleet <small id="count">{page.total} of {page.fleet} sites</small></h1>{err}'
            f'<div class="filters">{"".join(buttons)}</div>{search}'
            f'<table id="fleet"><thead><tr>{"".join(heads)}</tr></thead><tbody>{rows}</tbody></table>{nav}'
            f'<p id="live"></p>')
    return layout("Fleet", body, session, live=f"/events?{view.query()}")


ACTION_LABELS = {"failover_auto": "Failover: automatic", "drill": "Run a drill", "sim_switch": "Switch SIM",
                 "modem_reset": "Reset the modem"}
LEGACY_FORCE_LABELS = {"primary": "Force the primary", "backup": "Force the backup"}


def action_labels(failover: dict[str, Any]) -> dict[str, str]:
    """One "force" button per uplink the device publishes, best first, then the other actions."""
    forces = {f"failover_force_{n}": LEGACY_FORCE_LABELS.get(n, f"Force {n}") for n in uplink_names(failover)}
    return {**forces, **ACTION_LABELS}


def site(d: dict[str, Any], timeline_svg: str, drills: list[tuple[float, dict[str, Any]]], session: Session,
         outcome: str = "", report: str = "") -> str:
    st = d["state"]
    modem, cellular, failover = part(st, "modem"), part(st, "cellular"), part(st, "failover")
    name = escape(d["device_id"])
    identity = {
        "status": {True: "online", False: "offline", None: "?"}[d["online"]] + (f" since {_t(d['since'])}"
                                                                              if d["since"] else ""),
        "last seen": _t(d["last_seen"]), "active uplink": failover.get("active_uplink"),
        "failover": f"{failover.get('state', '')} (mode {failover.get('mode', '?')})",
        "modem": " ".join(str(modem.get(k)) for k in ("manufacturer", "model", "revision") if modem.get(k)),
        "IMEI": modem.get("imei"), "SIM slot": modem.get("sim_slot", cellular.get("active_slot")),
        "ICCID": modem.get("iccid"), "operator": modem.get("operator_name") or cellular.get("operator"),
        "RAT": modem.get("rat"), "site": part(st, "device").get("site"),
    }
    ident = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in identity.items()
                    if v not in (None, ""))
    drill_rows = "".join(f'<tr><td>{_t(ts)}</td><td>{escape(str(data.get("kind", "")))}</td>'
                         f'<td>{"passed" if data.get("ok") is True else "failed"}</td>'
                         f'<td>{escape(str(data.get("reason", "")))}</td></tr>' for ts, data in drills[-20:][::-1])
    drill_table = (f"<table><tr><th>When</th><th>Kind</th><th>Result</th><th>Reason</th></tr>{drill_rows}</table>"
                   if drill_rows else "<p>No drill in these 30 days.</p>")
    actions = ""
    if session.user.role >= Role.OPERATOR:
        forms = []
        for action, label in action_labels(failover).items():
            extra = ('<select name="slot"><option>1</option><option>2</option></select> '
                     if action == "sim_switch" else "")
            forms.append(f'<form method="post" action="/site/{name}/action">{csrf_field(session)}'
                         f'<input type="hidden" name="action" value="{action}">{extra}'
                         f'<button name="go" value="{escape(action)}">{escape(label)}</button></form>')
        actions = f'<h2>Actions</h2><div class="actions">{"".join(forms)}</div>'
    report_form = (f'<form method="post" action="/site/{name}/report">{csrf_field(session)}'
                   f'<button>Fetch the device\'s own report</button></form>')
    body = (f'<h1>{name}</h1>{outcome}<h2>Last 30 days</h2>{timeline_svg}<h2>Identity</h2><dl>{ident}</dl>'
            f'{actions}<h2>Drills</h2>{drill_table}<h2>The device\'s own report</h2>{report_form}{report}')
    return layout(d["device_id"], body, session)


def reply_box(action: str, reply: dict[str, Any] | None, error: str = "") -> str:
    if error:
        return f'<div class="reply error" id="reply"><strong>{escape(action)}</strong>: {escape(error)}</div>'
    assert reply is not None
    ok = reply.get("ok") is True
    shown = {k: reply[k] for k in ("id", "ok", "result", "error") if k in reply}
    return (f'<div class="reply {"ok" if ok else "error"}" id="reply" data-ok="{str(ok).lower()}"><strong>'
            f'{escape(action)}</strong>: the device replied<pre>'
            f'{escape(json.dumps(shown, ensure_ascii=False, indent=1, sort_keys=True))}</pre></div>')


def report_box(reply: dict[str, Any] | None, error: str = "") -> str:
    if error:
        return f'<p class="error" id="report">{escape(error)}</p>'
    assert reply is not None
    if reply.get("ok") is not True:
        return f'<p class="error" id="report">{escape(str(reply.get("error", "refused")))}</p>'
    result = reply.get("result")
    text = result.get("content") if isinstance(result, dict) and isinstance(result.get("content"), str) \
        else json.dumps(result, ensure_ascii=False, indent=1)
    return f'<pre id="report">{escape(text)}</pre>'


def audit(entries: list[dict[str, Any]], session: Session) -> str:
    rows = "".join(
        f'<tr><td>{_t(e["at"])}</td><td>{escape(e["who"])}</td><td>{escape(e["source"])}</td>'
        f'<td>{escape(e["action"])}</td><td>{escape(e["site"])}</td><td>{escape(json.dumps(e["args"]))}</td>'
        f'<td>{ {True: "ok", False: "refused", None: "no reply"}[e["ok"]]}</td>'
        f'<td><small>{escape(json.dumps(e["reply"], ensure_ascii=False)[:300])}</small></td></tr>' for e in entries)
    return layout("Audit", f'<h1>Audit</h1><table id="audit"><tr><th>When</th><th>Who</th><th>From</th>'
                           f'<th>Action</th><th>Site</th><th>Arguments</th><th>Outcome</th><th>Reply</th></tr>'
                           f'{rows}</table>', session)


def users(listed: list[tuple[Any, float]], session: Session, message: str = "") -> str:
    rows = "".join(
        f'<tr><td>{escape(u.name)}</td><td>{u.role.label}</td><td>{_t(created)}</td><td>'
        f'<form method="post" action="/users">{csrf_field(session)}<input type="hidden" name="name" '
        f'value="{escape(u.name)}"><select name="role">' +
        "".join(f'<option{" selected" if r == u.role else ""}>{r.label}</option>' for r in Role) +
        f'</select> <button name="do" value="role">Set role</button> <button name="do" value="remove">Remove'
        f'</button></form></td></tr>' for u, created in listed)
    add = (f'<h2>Add a user</h2><form method="post" action="/users">{csrf_field(session)}'
           f'<input type="hidden" name="do" value="add"><input name="name" placeholder="name" required> '
           f'<select name="role">' + "".join(f"<option>{r.label}</option>" for r in Role) +
           f'</select> <input type="password" name="password" placeholder="password (10+ characters)" required> '
           f'<button>Add</button></form>')
    return layout("Users", f'<h1>Users</h1>{message}<table id="users"><tr><th>Name</th><th>Role</th>'
                           f'<th>Since</th><th></th></tr>{rows}</table>{add}', session)


LIVE_JS = """// Live rows by server-sent events: the page works without this; it only swaps rows that changed.
(function () {
  var me = document.currentScript, src = me && me.getAttribute("data-src");
  if (!src || !window.EventSource) return;
  function start() {
    var live = document.getElementById("live"), es = new EventSource(src);
    es.addEventListener("row", function (e) {
      var msg = JSON.parse(e.data), old = document.getElementById("row-" + msg.id);
      if (old) { var t = document.createElement("tbody"); t.innerHTML = msg.html; old.replaceWith(t.firstChild); }
      if (live) live.textContent = "live: updated " + new Date().toLocaleTimeString();
    });
    es.addEventListener("reload", function () {
      if (live) { live.innerHTML = ""; var a = document.createElement("a"); a.href = location.href;
        a.textContent = "The fleet changed: reload"; live.appendChild(a); }
    });
    es.onopen = function () { if (live && !live.textContent) live.textContent = "live"; };
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
"""
