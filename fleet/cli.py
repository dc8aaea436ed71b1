"""`relais fleet serve | cmd | ls`: agent/cli.py hands `relais fleet ...`'s arguments to main() here."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time

DEFAULT_CONFIG = "/etc/relais-fleet/fleet.toml"


def main(argv: list[str]) -> int:
    return run(build_parser().parse_args(argv))


def build_parser() -> argparse.ArgumentParser:
    from fleet.listing import FILTERS
    sp = argparse.ArgumentParser(prog="relais fleet", description="The fleet side: store what every router "
                                 "reports, list the fleet, send signed commands (docs/fleet.md)")
    fsub = sp.add_subparsers(dest="fleet_cmd", required=True, metavar="ACTION")

    def config_arg(p):
        p.add_argument("--config", default=DEFAULT_CONFIG, help=f"fleet.toml (default {DEFAULT_CONFIG})")

    p = fsub.add_parser("serve", help="subscribe to every device and store what they publish (docs/fleet.md)")
    config_arg(p)
    p = fsub.add_parser("cmd", help="send SITE a command, signed with its key, and show the reply")
    config_arg(p)
    p.add_argument("site", metavar="SITE", help="the device id")
    p.add_argument("name", metavar="NAME", help="the command: failover, drill, sim_switch, get_status ...")
    p.add_argument("args", metavar="ARGS", nargs="*", help="one JSON object, or key=value words (values as JSON "
                                                            "when they parse: slot=2, dry_run=true)")
    p.add_argument("--wait", action="store_true", help="wait for the device's reply and print it")
    p.add_argument("--key", metavar="FILE", help="the device's command key (default: [commands] keys/SITE.key)")
    p.add_argument("--timeout", type=float, help="seconds to wait for the reply (default [commands] "
                                                 "reply_timeout_s)")
    p = fsub.add_parser("ls", help="the fleet from the database: status, uplink, operator, signal")
    config_arg(p)
    p.add_argument("--filter", action="append", choices=sorted(FILTERS), default=[],
                   help="only these devices (repeat to combine)")
    p.add_argument("--json", action="store_true", help="one JSON document")
    p = fsub.add_parser("user", help="the web console's users: add, passwd, role, rm, ls (docs/fleet.md, Console)")
    config_arg(p)
    p.add_argument("user_action", choices=("add", "passwd", "role", "rm", "ls"), metavar="add|passwd|role|rm|ls")
    p.add_argument("name", nargs="?", metavar="NAME", help="the user (not for ls)")
    p.add_argument("--role", choices=("viewer", "operator", "admin"),
                   help="add (default viewer) and role: viewer reads, operator + actions, admin + users and audit")
    p = fsub.add_parser("report", help="a month per provider across the fleet: availability, outages beyond the "
                                       "guaranteed repair time, provider incidents (docs/fleet.md)")
    config_arg(p)
    p.add_argument("site", metavar="SITE", nargs="?", help="only this device's month")
    p.add_argument("--month", required=True, metavar="YYYY-MM", help="the calendar month (UTC)")
    p.add_argument("--format", choices=("text", "html", "json"), default="text")
    p.add_argument("-o", "--output", metavar="FILE", help="write there instead of the standard output")
    return sp


def run(args: argparse.Namespace) -> int:
    from fleet.alerts.config import ConfigError
    from fleet.command import CommandError
    from fleet.config import FleetConfigError, load
    from fleet.report import ReportError
    from fleet.db import DatabaseError
    from fleet.users import UserError
    try:
        config = load(args.config)
        if args.fleet_cmd == "serve":
            return _serve(config)
        if args.fleet_cmd == "cmd":
            return _cmd(config, args)
        if args.fleet_cmd == "user":
            return _user(config, args)
        if args.fleet_cmd == "report":
            return _report(config, args)
        return _ls(config, args)
    except (FleetConfigError, CommandError, DatabaseError, UserError, ReportError, ConfigError) as e:
        print(f"relais fleet {args.fleet_cmd}: {e}", file=sys.stderr)
        return 2


def _serve(config) -> int:
    from common.stop_signal import stop_on_signals
    from fleet.console import ConsoleError, start_console
    from fleet.ingest import serve
    logging.getLogger("relais.fleet").setLevel(logging.INFO)
    stop = threading.Event()
    stop_on_signals(stop)          # not stop.set() in the handler: it can deadlock (common/stop_signal.py)

    def console():
        if not config.console.listen:
            return None
        try:
            return start_console(config).stop
        except ConsoleError as e:
            # storing what the fleet reports matters more than showing it: ingest goes on without the console
            logging.getLogger("relais.fleet").error("%s; storing goes on without the console", e)
            return None
    return serve(config, stop, beside=console)


def _cmd(config, args: argparse.Namespace) -> int:
    from fleet.command import build, key_for, parse_args, send
    cargs = parse_args(args.args)
    body = build(key_for(config, args.site, args.key), args.site, args.name, cargs, time.time())
    reply = send(config, args.site, args.name, body, wait=args.wait, timeout=args.timeout)
    if reply is None:
        print(f"sent {args.name} to {args.site} (id {body['id']})")
        return 0
    shown = {k: reply[k] for k in ("id", "ok", "result", "error") if k in reply}
    print(json.dumps(shown, ensure_ascii=False, sort_keys=True))
    return 0 if reply.get("ok") is True else 1


def _ls(config, args: argparse.Namespace) -> int:
    from fleet.db import FleetDb
    from fleet.listing import row, select, table
    db = FleetDb(config.database).connect()
    try:
        devices = select(db.devices(latest=True), args.filter)
    finally:
        db.close()
    now = time.time()
    rows = [row(d, now) for d in devices]
    print(json.dumps(rows, ensure_ascii=False) if args.json else table(rows))
    return 0


def _user(config, args: argparse.Namespace) -> int:
    from fleet.db import FleetDb
    from fleet.users import UserError, manage
    if args.user_action != "ls" and not args.name:
        raise UserError(f"user {args.user_action}: NAME is missing")
    if args.user_action == "role" and not args.role:
        raise UserError("user role: --role viewer|operator|admin is missing")
    db = FleetDb(config.database).connect()
    try:
        print(manage(db, args.user_action, args.name, args.role, time.time()))
    finally:
        db.close()
    return 0


def _report(config, args: argparse.Namespace) -> int:
    from fleet.db import FleetDb
    from fleet.report import ReportError, compute, gather, month_bounds, render
    from fleet.watch_config import WatchSettings, load_sites
    month_bounds(args.month)              # a bad --month is said before the database is opened
    sites = WatchSettings.from_config(config).sites
    db = FleetDb(config.database).connect()
    try:
        listed = load_sites(sites) if sites else None
        out = render(compute(gather(db, args.month, args.site, listed, now=time.time())), args.format)
    finally:
        db.close()
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(out)
        except OSError as e:
            raise ReportError(f"-o {args.output}: {e.strerror or e}") from None
    else:
        sys.stdout.write(out)
    return 0

