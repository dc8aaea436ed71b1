"""The fleet table's model: the query string (filters, sort, page: bookmarkable) read into a View, and the rows it
shows. Pure; the rows come from fleet/listing.py (the same filters as `relais fleet ls --filter`)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

from fleet.listing import FILTERS, _get, data_used, last_drill, last_incident, row, slim

# column -> its heading (the sort keys: _sort_key)
COLUMNS: dict[str, str] = {
    "site": "Site", "status": "Status", "uplink": "Uplink", "failover": "Failover", "operator": "Operator",
    "signal": "Signal (RSRP)", "data": "Data this month", "incident": "Last incident", "drill": "Last drill",
}
TABLE_FILTERS = ("on_backup", "offline", "drill_failed_or_overdue", "poor_signal", "budget_nearly_used")
FILTER_LABELS = {"on_backup": "on backup now", "offline": "offline", "drill_failed_or_overdue": "drill failed or "
                 "overdue", "poor_signal": "poor signal", "budget_nearly_used": "data budget nearly used",
                 "online": "online", "no_status": "no status yet"}


class BadQuery(ValueError):
    """A query parameter that makes no sense: said in one line, on the page."""


@dataclass(frozen=True)
class View:
    filters: tuple[str, ...] = ()
    sort: str = "site"
    descending: bool = False
    page: int = 1
    q: str = ""                      # a part of the site's name

    def query(self, **changes: Any) -> str:
        v = {**self.__dict__, **changes}
        pairs = [("filter", f) for f in v["filters"]]
        if v["sort"] != "site" or v["descending"]:
            pairs += [("sort", v["sort"]), ("dir", "desc" if v["descending"] else "asc")]
        if v["q"]:
            pairs.append(("q", v["q"]))
        if v["page"] != 1:
            pairs.append(("page", str(v["page"])))
        return urlencode(pairs)


def parse_view(query: str) -> View:
    try:
        params = parse_qs(query, keep_blank_values=False, strict_parsing=False, max_num_fields=50)
    except ValueError:
        raise BadQuery("too many query parameters") from None
    unknown = set(params) - {"filter", "sort", "dir", "page", "q"}
    if unknown:
        raise BadQuery(f"unknown query parameter {sorted(unknown)[0][:30]!r} (filter, sort, dir, page, q)")
    filters = tuple(dict.fromkeys(params.get("filter", [])))
    for f in filters:
        if f not in FILTERS:
            raise BadQuery(f"filter {f[:30]!r}: expected one of {', '.join(sorted(FILTERS))}")
    sort = params.get("sort", ["site"])[-1]
    if sort not in COLUMNS:
        raise BadQuery(f"sort {sort[:30]!r}: expected one of {', '.join(COLUMNS)}")
    direction = params.get("dir", ["asc"])[-1]
    if direction not in ("asc", "desc"):
        raise BadQuery(f"dir {direction[:10]!r}: expected asc or desc")
    page_text = params.get("page", ["1"])[-1]
    if not page_text.isdigit() or not 1 <= int(page_text) <= 100_000:
        raise BadQuery(f"page {page_text[:10]!r}: expected a number from 1")
    q = params.get("q", [""])[-1].strip()[:64]
    return View(filters, sort, direction == "desc", int(page_text), q)


def _sort_key(column: str, d: dict[str, Any]) -> Any:
    """What a column sorts by; None sorts last whichever the direction (nothing known)."""
    if column == "site":
        return d["device_id"]
    if column == "status":
        return ({True: 1, False: 0, None: 2}[d["online"]], -(d["since"] or 0))
    if column == "signal":
        v = _get(d["state"], "modem", "signal", "rsrp_dbm")
        return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    if column == "data":
        used, cap = data_used(d)
        return None if used is None else (used / cap if cap else 0.0, used)
    if column == "incident":
        i = last_incident(d)
        return None if i is None else i["ts"]
    if column == "drill":
        at, ok = last_drill(d)
        return None if ok is None else (ok, at or 0.0)
    path = {"uplink": ("failover", "active_uplink"), "failover": ("failover", "state")}.get(column)
    value = _get(d["state"], *path) if path else (_get(d["state"], "modem", "operator_name")
                                                  or _get(d["state"], "cellular", "operator"))
    return str(value) if value else None


@dataclass(frozen=True)
class Entry:
    """One device with what the table asks of it worked out once (when it changes), not at every page: which
    filters accept it and its key in each column. Nothing here depends on the time of the request. The device
    itself is kept as compact JSON (slim(): the few fields a row shows), read back only for the rows of a page:
    10,000 devices as dicts were 27 MiB of Python objects, as text 3 MiB."""
    site: str
    compact: str
    filters: frozenset[str]
    keys: tuple[Any, ...]          # in COLUMNS order

    @property
    def d(self) -> dict[str, Any]:
        return json.loads(self.compact)


_FILTER_SETS: dict[frozenset[str], frozenset[str]] = {}   # a few distinct sets, shared by every entry


def entry(d: dict[str, Any]) -> Entry:
    d = slim(d)
    accepted = frozenset(name for name, accepts in FILTERS.items() if accepts(d))
    return Entry(d["device_id"], json.dumps(d, separators=(",", ":")), _FILTER_SETS.setdefault(accepted, accepted),
                 tuple(_sort_key(c, d) for c in COLUMNS))


_COLUMN_INDEX = {c: n for n, c in enumerate(COLUMNS)}


@dataclass(frozen=True)
class Page:
    rows: list[tuple[dict[str, Any], dict[str, Any]]]   # (device, its row) of this page
    total: int            # devices matching the filters
    fleet: int            # every device
    pages: int
    counts: dict[str, int]   # devices in each filter, for the filter buttons


def select(entries: list[Entry], view: View, now: float, page_size: int) -> Page:
    counts = {name: 0 for name in TABLE_FILTERS}
    wanted, q = frozenset(view.filters), view.q.lower()
    chosen = []
    for e in entries:
        for name in e.filters:
            if name in counts:
                counts[name] += 1
        if wanted <= e.filters and (not q or q in e.site.lower()):
            chosen.append(e)
    i = _COLUMN_INDEX[view.sort]
    known = [e for e in chosen if e.keys[i] is not None]
    unknown = sorted((e for e in chosen if e.keys[i] is None), key=lambda e: e.site)
    known.sort(key=lambda e: (e.keys[i], e.site), reverse=view.descending)
    ordered = known + unknown
    pages = max(1, -(-len(ordered) // page_size))
    first = (min(view.page, pages) - 1) * page_size
    shown = [(d, row(d, now)) for d in (e.d for e in ordered[first:first + page_size])]
    return Page(shown, len(ordered), len(entries), pages, counts)
