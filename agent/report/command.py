"""The core's `report` command (MQTT, the console): the report of a period, in any format, from a worker thread.

Arguments, all optional: month "YYYY-MM", or since / until (Unix times or ISO dates; default the last 30 days up
to now, as before this command took months), format "json" (default) | "text" | "csv" | "html", lang "fr" | "en",
tz (a zone name), claim (true: the one-page claim), uplink (the claim's: a configured uplink's name), limit
(1..1000, default 100).

Why a worker thread: reading a year of ledger and laying it out takes a noticeable fraction of a second on a
router, and the core thread, which also decides failovers, must never wait for it. One report at a time.

The reply is bounded: the JSON report lists the latest `limit` incidents, drills, speed measurements and switches
(its totals and figures still count all of them; `listed` says how many of each it carries); the other formats
are laid out from the same cut list and come as {"format", "content", "bytes", "listed"}; a rendering beyond
MAX_REPLY_BYTES is refused with the way to get a smaller one.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

from agent.core import CommandError, Core, Deferred

ARGS = ("month", "since", "until", "format", "lang", "tz", "claim", "uplink", "limit")
DEFAULT_PERIOD_S = 30 * 86400
MAX_LIMIT = 1000
MAX_REPLY_BYTES = 256 * 1024
FORMATS = ("json", "text", "csv", "html")


class ReportCommand:
    def __init__(self, core: Core, config, read_period: Callable, path: Path | None = None):
        self.core = core
        self.config = config
        self.read_period = read_period     # agent.ledger.store.read_period, handed in: the ledger imports us
        self.path = path or Path(config.storage.dir) / "ledger.db"
        self._busy = threading.Lock()

    def __call__(self, args: dict[str, Any]) -> Deferred:
        unknown = set(args) - set(ARGS)
        if unknown:
            raise CommandError(f"report: unknown argument(s) {', '.join(sorted(unknown))} ({', '.join(ARGS)})")
        fmt = args.get("format", "json")
        if fmt not in FORMATS:
            raise CommandError(f"format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
        lang = args.get("lang", "fr")
        if lang not in ("fr", "en"):
            raise CommandError(f"lang: expected fr or en, got {lang!r}")
        limit = args.get("limit", 100)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise CommandError(f"limit: expected an integer 1..{MAX_LIMIT}")
        claim = args.get("claim", False)
        if not isinstance(claim, bool):
            raise CommandError("claim: expected true or false")
        uplink = args.get("uplink")
        names = [u.name for u in self.config.effective_uplinks()]
        if uplink is not None and uplink not in names:
            raise CommandError(f"uplink: expected one of {', '.join(names)}, got {str(uplink)[:40]!r}")
        from agent.report.hours import UnknownZone, system_zone, zone_named
        from agent.report.period import PeriodError, moment, resolve
        tz = args.get("tz")
        try:
            b = self.config.business
            zone = zone_named(str(tz)) if tz is not None else zone_named(b.timezone) if b.timezone \
                else system_zone()
        except UnknownZone as e:
            raise CommandError(f"tz: {e}") from None
        now = self.core.wall.now()[0]
        try:
            if "month" in args or "since" in args:
                since, until = resolve(zone, now, args.get("month"), args.get("since"), args.get("until"))
            else:   # the last 30 days, to now or to `until`
                until = moment(args.get("until", now), zone, "until", end_of_day=True)
                since = until - DEFAULT_PERIOD_S
        except PeriodError as e:
            raise CommandError(str(e)) from None
        if not self._busy.acquire(blocking=False):
            raise CommandError("report: another report is being prepared; ask again when it is answered")
        answer = Deferred()
        job = (since, until, fmt, lang, zone, claim, uplink, limit, now)
        threading.Thread(target=self._run, args=(answer, job), name="report", daemon=True).start()
        return answer

    def _run(self, answer: Deferred, job: tuple) -> None:
        try:
            answer.resolve(self._report(*job))
        except CommandError as e:
            answer.reject(str(e))
        except Exception as e:   # an unreadable file, or a bug: one line back, the agent carries on
            answer.reject(f"report: {type(e).__name__}: {e}")
        finally:
            self._busy.release()

    def _report(self, since, until, fmt, lang, zone, claim, uplink, limit, now) -> Any:
        from agent.report.compute import ReportSettings, compute
        from agent.report.render import render
        if not self.path.is_file():
            raise CommandError(f"report: no ledger file yet ({self.path})")
        try:
            period = self.read_period(self.path, since, until)
        except Exception as e:     # sqlite3.Error, StorageUnavailable, OSError
            raise CommandError(f"report: the ledger file cannot be read now ({e})") from None
        report = compute(period, ReportSettings.from_config(self.config, display_zone=zone, now=now))
        if claim:       # one page whatever the period: bounded by agent.report.claim.MAX_ROWS, not by limit
            text = render(report, fmt, lang, claim=True, uplink=uplink)
            return self._bounded(fmt, True, text, None)
        listed = {}
        for key in ("incidents", "drills", "speed", "switches"):
            listed[key] = {"listed": min(limit, len(report[key])), "of": len(report[key])}
            report[key] = report[key][-limit:]
        if fmt == "json":
            report["listed"] = listed
            return report
        return self._bounded(fmt, False, render(report, fmt, lang), listed)

    @staticmethod
    def _bounded(fmt: str, claim: bool, text: str, listed: dict | None) -> dict[str, Any]:
        size = len(text.encode())
        if size > MAX_REPLY_BYTES:
            raise CommandError(f"report: the {fmt} report is {size} bytes, more than the {MAX_REPLY_BYTES} a reply "
                               f"carries: ask a shorter period, a lower limit or format json")
        return {"format": fmt, "claim": claim, "content": text, "bytes": size, "listed": listed}
