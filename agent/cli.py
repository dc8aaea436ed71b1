"""The `relais` command line: one entry point, subcommands dispatched lazily so that
`relais modem decode` does not import MQTT or netlink code it does not need."""
from __future__ import annotations

import argparse
import logging
import sys


def _version() -> str:
    """From the installed package's metadata, so it is the version pip and the .deb installed, not a copy."""
    from importlib import metadata
    try:
        return metadata.version("relais")
    except metadata.PackageNotFoundError:   # run from a checkout that was never installed
        return "unknown (not installed)"


class _Version(argparse.Action):
    """--version, looked up only when asked: importlib.metadata costs every other command 40 ms of start-up
    (BENCHMARKS.md, "Console")."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"relais {_version()}")     # on stdout, as argparse's own version action
        parser.exit()


def console_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the running agent is, for the commands that ask it (agent/console/cli.py)."""
    parser.add_argument("--socket", help="the agent's console socket (default /run/relais/console.sock, or "
                                         "console.sock in the [storage] dir when /run/relais does not exist)")
    parser.add_argument("--config", help="read [console] socket and [storage] dir from this configuration")
    parser.add_argument("--storage", help="the agent's [storage] dir (default /var/lib/relais)")


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="relais", description="Backup-WAN agent for LTE/5G modems")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for AT traffic)")
    p.add_argument("--version", action=_Version, help="show the version and exit")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    sp = sub.add_parser("sim", help="run the built-in modem simulator on a pty")
    sp.add_argument("--vendor", default="quectel-ec25", help="personality, e.g. quectel-rm500q")
    sp.add_argument("--link", help="path of the symlink to create to the pty (required unless --list)")
    sp.add_argument("--speed", type=float, default=1.0, help="delay scale: 0 answers at once, 1 = real modem")
    sp.add_argument("--list", action="store_true", help="list the personalities and exit")

    sp = sub.add_parser("sim-ctl", help="inject a fault into a running simulator")
    sp.add_argument("link", help="the simulator's --link path")
    sp.add_argument("fault", help="hang, garbage, urc-storm, reboot, sim-remove, deny, signal, clear, ...")
    sp.add_argument("args", nargs="*")

    sp = sub.add_parser("modem", help="talk to a modem")
    msub = sp.add_subparsers(dest="modem_cmd", required=True, metavar="ACTION")
    pp = msub.add_parser("probe", help="identify the modem, SIM, registration and signal")
    pp.add_argument("--port", required=True)
    pp.add_argument("--baud", type=int, default=115200)
    pp.add_argument("--json", action="store_true", help="one JSON object on stdout")
    pp.add_argument("--wait", type=float, default=10.0, metavar="SECONDS",
                    help="how long to wait for a port that is not there yet (a modem re-enumerating on USB; "
                         "default 10)")
    rp = msub.add_parser("reset", help="restart the running agent's modem (through the agent, not the port)",
                         epilog="exit codes: 0 done; 1 refused by the agent (the reason is printed); "
                                "3 no agent to ask")
    console_arguments(rp)
    dp = msub.add_parser("decode", help="decode modem response lines read from stdin")
    dp.add_argument("--command", help="the command that was sent; none means the lines are URCs")
    dp.add_argument("--vendor", help="vendor plugin (quectel, simcom, sierra, telit, huawei, ublox, fibocom)")
    dp.add_argument("--batch", action="store_true", help="JSON Lines in, one JSON object out per line")

    sp = sub.add_parser("demo", help="run the agent on the built-in simulator through a scripted scenario")
    sp.add_argument("--vendor", default="quectel-rm500q")
    sp.add_argument("--fast", action="store_true", help="no pauses between steps")
    sp.add_argument("--out", default="demo", help="where the report, its configuration and ledger go (./demo)")

    sp = sub.add_parser("status", help="show the running agent's state (asks it through its console socket; "
                                       "reads [storage] dir/status.json when it does not answer)",
                        epilog="exit codes: 0 the agent's current state; 1 no answer and no status file, or not "
                               "readable; 3 a snapshot of an agent that stopped or is not running")
    console_arguments(sp)
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the agent (default 5)")

    sp = sub.add_parser("watch", help="the running agent's state, redrawn every second (Ctrl-C to quit)")
    console_arguments(sp)
    sp.add_argument("--interval", type=float, default=1.0, help="seconds between redraws (default 1)")
    sp.add_argument("--count", type=int, help="stop after this many redraws (default: until Ctrl-C)")
    sp.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each answer (default 5)")

    local_epilog = "exit codes: 0 done; 1 refused by the agent (the reason is printed); 3 no agent to ask"
    sp = sub.add_parser("failover", help="put the traffic on an uplink, or back to automatic, in the running agent",
                        epilog=local_epilog)
    sp.add_argument("mode", choices=("backup", "primary", "auto", "force"),
                    help="backup / primary: the cellular / the best uplink; force NAME: the [[uplinks]] named NAME")
    sp.add_argument("uplink", nargs="?", help="with force: the uplink's name")
    console_arguments(sp)
    sp = sub.add_parser("sim-switch", help="switch the running agent's modem to another SIM slot",
                        epilog=local_epilog)
    sp.add_argument("slot", type=int)
    console_arguments(sp)

    sp = sub.add_parser("config", help="check a configuration file, or show the effective configuration")
    csub = sp.add_subparsers(dest="config_cmd", required=True, metavar="ACTION")
    cp = csub.add_parser("check", help="list every problem in FILE (exit 0 OK, 1 problems, 2 unreadable)")
    cp.add_argument("file", metavar="FILE")
    cp = csub.add_parser("show", help="the configuration with every default filled in, secrets masked")
    cp.add_argument("--config", help="TOML configuration file (default /etc/relais/relais.toml if it exists)")
    cp.add_argument("--json", action="store_true", help="JSON instead of TOML")

    sp = sub.add_parser("doctor", help="check this box: configuration, permissions, modem, SIM, signal, broker, "
                                       "clock, space, watchdog; what to do about each problem",
                        epilog="exit codes: 0 no FAIL (WARNs allowed); 1 at least one FAIL")
    sp.add_argument("--config", help="TOML configuration file (default /etc/relais/relais.toml)")
    sp.add_argument("--json", action="store_true", help="one JSON object on stdout")

    sp = sub.add_parser("signal", help="RSRP, RSRQ, SINR, band and cell with a verdict, for placing the antenna")
    sp.add_argument("--config", help="TOML configuration file (default /etc/relais/relais.toml)")
    sp.add_argument("--watch", action="store_true", help="a reading every second until Ctrl-C")
    sp.add_argument("--count", type=int, help="stop after N readings")
    sp.add_argument("--interval", type=float, default=1.0, help="seconds between readings (default 1)")
    sp = sub.add_parser("drill", help="run a drill now on the running agent: the backup and every [[services]] "
                                      "check", epilog="exit codes: 0 passed; 1 failed or refused; 2 configuration "
                                                      "unreadable; 3 the agent does not answer")
    sp.add_argument("--full", action="store_true", help="move the traffic to the backup (default: passive, the "
                                                        "backup checked while the primary keeps the traffic)")
    sp.add_argument("--duration", type=float, metavar="N", help="seconds a full drill keeps the traffic on the "
                                                                "backup (default [drills] duration_s)")
    sp.add_argument("--config", help="TOML configuration file (default /etc/relais/relais.toml if it exists)")
    sp.add_argument("--socket", help="the agent's console socket (default: from the configuration)")
    sp.add_argument("--json", action="store_true", help="the drill_result data as JSON")

    sp = sub.add_parser("report", help="the ledger's availability report: incidents, contracts, drills, speed",
                        epilog="exit codes: 0 written; 2 bad input (month, zone, period, configuration, ledger)")
    sp.add_argument("--config", help="TOML configuration file (default /etc/relais/relais.toml if it exists); "
                                     "the ledger is its [storage] dir/ledger.db")
    when = sp.add_mutually_exclusive_group()
    when.add_argument("--month", metavar="YYYY-MM", help="a calendar month (default: the last full month)")
    when.add_argument("--since", metavar="T", help="start: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (local) or Unix time")
    sp.add_argument("--until", metavar="T", help="end (a bare date includes that day; default: now)")
    sp.add_argument("--format", choices=("text", "html", "csv", "json"), default="text")
    sp.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    sp.add_argument("--lang", choices=("fr", "en"), help="default: the system locale's, else French")
    sp.add_argument("--tz", metavar="ZONE", help="time zone of dates and months, e.g. Europe/Paris (default: "
                                                  "[business] timezone, else the system's)")
    sp.add_argument("--claim", action="store_true", help="one page for a claim to the operator, facts only")
    sp.add_argument("--uplink", metavar="NAME", help="the uplink a --claim is about, by its name (default: the "
                                                    "first one with a [[contracts]] entry)")

    sp = sub.add_parser("plan", help="the site's one-page continuity plan: what to do when the Internet is cut, "
                                     "whom to call, equipment, contracts, drills",
                        epilog="exit codes: 0 written; 2 bad input (configuration, language, output file)")
    sp.add_argument("--config", help="TOML configuration file (default /etc/relais/relais.toml if it exists); "
                                     "the ledger and status file are in its [storage] dir")
    sp.add_argument("--format", choices=("html", "text", "json"), default="text",
                    help="html: one A4 page to print; text (default): for a terminal or the serial console")
    sp.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    sp.add_argument("--lang", help="fr or en (default: the system locale's, else French)")

    sp = sub.add_parser("run", help="run the agent")
    sp.add_argument("--config", required=True, help="TOML configuration file")

    # `relais fleet ...` has its own parser (fleet/cli.py), built only when it runs: the agent's commands load
    # nothing of the fleet side, and the router packages (.deb, .ipk) ship without it.
    sp = sub.add_parser("fleet", add_help=False, help="the fleet side: store what every router reports, list the "
                                                      "fleet, send signed commands (relais fleet --help)")
    sp.add_argument("fleet_args", nargs=argparse.REMAINDER)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.cmd == "fleet":
        args.fleet_args = unknown + args.fleet_args   # `relais fleet --help` and the like are the fleet's
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")   # parse_args' own words
    if args.cmd == "sim" and not args.list and not args.link:
        parser.error("relais sim: --link PATH is required")
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.cmd == "sim":
        from modem.simulator.cli import run_sim
        return run_sim(args)
    if args.cmd == "sim-ctl":
        from modem.simulator.cli import run_sim_ctl
        return run_sim_ctl(args)
    if args.cmd == "modem" and args.modem_cmd == "probe":
        from agent.probe_cli import run_probe
        return run_probe(args)
    if args.cmd == "modem" and args.modem_cmd == "decode":
        from modem.decode_cli import run_decode
        return run_decode(args)
    if args.cmd == "demo":
        from agent.demo import run_demo
        return run_demo(args)
    if args.cmd in ("status", "watch", "failover", "sim-switch") or \
            (args.cmd == "modem" and args.modem_cmd == "reset"):
        from agent.console.cli import run as run_console
        return run_console(args)
    if args.cmd == "config" and args.config_cmd == "check":
        from agent.config.cli import run_check
        return run_check(args)
    if args.cmd == "config" and args.config_cmd == "show":
        from agent.config.cli import run_show
        return run_show(args)
    if args.cmd == "doctor":
        from agent.doctor.cli import run_doctor
        return run_doctor(args)
    if args.cmd == "signal":
        from agent.signal_cli import run_signal
        return run_signal(args)
    if args.cmd == "drill":
        from agent.drills.cli import run_drill
        return run_drill(args)
    if args.cmd == "report":
        from agent.report.cli import run_report
        return run_report(args)
    if args.cmd == "plan":
        from agent.plan.cli import run_plan
        return run_plan(args)
    if args.cmd == "fleet":
        try:
            from fleet.cli import main as fleet_main
        except ModuleNotFoundError as e:
            if e.name != "fleet":
                raise
            print("relais fleet: the fleet side is not installed with this package (it comes with `pip install "
                  "relais` on the fleet's server, docs/fleet.md)", file=sys.stderr)
            return 2
        return fleet_main(args.fleet_args)
    if args.cmd == "run":
        from agent.runtime import run_agent
        return run_agent(args)
    raise AssertionError(args.cmd)


if __name__ == "__main__":
    sys.exit(main())
