"""`relais report`: read the ledger file of a configuration and write the report.

Exit 0 with the report written; 2 on bad input, one line on stderr naming what was wrong: an unknown month, a bad
zone, an inverted period, a configuration or ledger file that cannot be read. An empty ledger is no error: the
report says so.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

OK, BAD_INPUT = 0, 2


class _Refused(Exception):
    pass


def write_output(prog: str, text: str, output: str | None) -> int:
    """`text` to stdout, or to the file `-o` names (saying so on stderr): OK, or BAD_INPUT with one line."""
    if not output:
        sys.stdout.write(text)
        return OK
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as e:
        print(f"{prog}: -o {output}: {e.strerror or e}", file=sys.stderr)
        return BAD_INPUT
    print(f"{prog}: wrote {output}", file=sys.stderr)
    return OK


def run_report(args) -> int:
    try:
        text, note = build_report(args, now=time.time())
    except _Refused as e:
        print(f"relais report: {e}", file=sys.stderr)
        return BAD_INPUT
    if write_output("relais report", text, args.output) != OK:
        return BAD_INPUT
    if note:
        print(f"relais report: {note}", file=sys.stderr)
    return OK


def build_report(args, now: float) -> tuple[str, str | None]:
    """The rendered report and a note for stderr (None: nothing to say); _Refused with one line on bad input."""
    from agent.config import ConfigError, load_or_defaults
    from agent.report.hours import UnknownZone, system_zone, zone_named
    from agent.report.language import system_language
    from agent.report.period import PeriodError, resolve

    try:
        config = load_or_defaults(args.config)
    except ConfigError as e:
        raise _Refused(str(e)) from None
    try:
        business_zone = zone_named(config.business.timezone) if config.business.timezone else system_zone()
        zone = zone_named(args.tz) if args.tz else business_zone
    except UnknownZone as e:
        raise _Refused(f"--tz: {e}") from None
    try:
        since, until = resolve(zone, now, args.month, args.since, args.until, config.business.default_period)
    except PeriodError as e:
        raise _Refused(f"--{e}") from None
    path = Path(config.storage.dir) / "ledger.db"
    if not path.is_file():
        raise _Refused(f"no ledger at {path} (the [storage] dir of {args.config or 'the default configuration'}):"
                       " the agent has not run with this configuration, or the dir is wrong")
    from agent.ledger.store import read_period
    if config.business.default_period == "since_start" and args.month is None and args.since is None:
        try:
            first_observed = read_period(path, now, now).observed_since   # an empty range: only the heartbeat
        except Exception:   # unreadable: said below, when the period itself is read
            first_observed = None
        since, until = resolve(zone, now, default="since_start", first_observed=first_observed)
    from agent.report.compute import ReportSettings, compute
    from agent.report.render import render
    try:
        period = read_period(path, since, until)
    except Exception as e:     # sqlite3.Error (not a database, locked), OSError: the file is outside input
        raise _Refused(f"{path}: cannot read the ledger ({e})") from None
    settings = ReportSettings.from_config(config, display_zone=zone, now=now)
    report = compute(period, settings)
    if args.claim and args.uplink and args.uplink not in report["uplinks"]:
        raise _Refused(f"--uplink: expected one of {', '.join(report['uplinks'])}, got {args.uplink!r}")
    text = render(report, args.format, args.lang or system_language(), claim=args.claim, uplink=args.uplink)
    note = "the ledger holds nothing for this period" if report["period"]["empty"] else None
    return text, note
