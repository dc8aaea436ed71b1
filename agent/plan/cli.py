"""`relais plan`: the site's continuity sheet from its configuration, its ledger and its status file.

Exit 0 with the sheet written; 2 on bad input, one line on stderr naming what was wrong (a configuration that does
not load, a bad contact phone in it, an unknown language or format, an output file that cannot be written). No
ledger or no status file is no error: the sheet says "no ledger yet" or "unknown".
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

OK, BAD_INPUT = 0, 2


class Refused(Exception):
    pass


def run_plan(args) -> int:
    try:
        text = build_plan(args, now=time.time())
    except Refused as e:
        print(f"relais plan: {e}", file=sys.stderr)
        return BAD_INPUT
    from agent.report.cli import write_output    # the report's: one way to write a sheet to stdout or -o FILE
    return write_output("relais plan", text, args.output)


def build_plan(args, now: float, root: Path = Path("/")) -> str:
    """The rendered sheet; Refused with one line on bad input. `root`: where /proc and /sys are (tests)."""
    from agent.config import ConfigError, load_or_defaults
    from agent.report.language import LANGUAGES, system_language
    lang = args.lang or system_language()
    if lang not in LANGUAGES:
        raise Refused(f"--lang: expected one of {', '.join(LANGUAGES)}, got {lang!r}")
    if args.format not in ("html", "text", "json"):
        raise Refused(f"--format: expected html, text or json, got {args.format!r}")
    try:
        config = load_or_defaults(args.config)
    except ConfigError as e:
        raise Refused(str(e)) from None
    sheet = gather_from_disk(config, now, root)
    from agent.plan.render import render
    return render(sheet, args.format, lang)


def gather_from_disk(config, now: float, root: Path = Path("/"), state: dict | None = None,
                     state_as_of: float | None = None) -> dict:
    """The sheet of `config` from the files the agent keeps: its ledger and, unless `state` is given (the live
    agent's), its status file."""
    from agent.drills.scheduler import zone as drill_zone
    from agent.ledger.schema import read_period
    from agent.plan.sheet import gather
    from agent.plan.sources import read_status_file, recent_drills, router_model
    from agent.report.hours import system_zone, zone_named
    storage = Path(config.storage.dir)
    if state is None:
        state, state_as_of = read_status_file(storage / "status.json")
    drills, problem = recent_drills(read_period, storage / "ledger.db", now)
    # the zones were checked when the configuration loaded
    zone = zone_named(config.business.timezone) if config.business.timezone else system_zone()
    return gather(config, now, zone=zone, drills=drills, state=state, router=router_model(root),
                  state_as_of=state_as_of, drill_zone=drill_zone(config.drills.timezone), ledger_problem=problem)
