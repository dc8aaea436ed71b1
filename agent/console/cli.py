"""The console's commands: `relais status`, `relais watch`, and the local commands (`failover`, `sim-switch`,
`modem reset`), each a core command asked through the socket.

Colours only for a person at a terminal (stdout a tty, TERM set and not "dumb", no NO_COLOR): a serial console,
a pipe or a log gets plain text. `relais watch` redraws in place with two ANSI sequences on such a terminal and
prints one block after another otherwise; no curses (not on every router, and 2 MB for a clear screen).
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, TextIO

from agent.console import protocol
from agent.console.client import Connection, ConsoleUnavailable, ask

DEFAULT_STORAGE = "/var/lib/relais"
EXIT_DONE, EXIT_REFUSED, EXIT_NO_AGENT = 0, 1, 3      # local commands; `relais status` keeps status_file's

_ANSI = {"good": "\x1b[32m", "bad": "\x1b[1;31m", "warn": "\x1b[33m", "dim": "\x1b[2m"}
_RESET = "\x1b[0m"
CLEAR = "\x1b[H\x1b[2J"        # cursor home, clear screen: a redraw without curses

# The words a technician types, in the failover command's own modes (agent/failover/policy.py Mode).
FAILOVER_MODES = {"backup": "force_backup", "primary": "force_primary", "auto": "auto"}

# (label, core command, its args from the parsed command line, how long the answer may take)
# sim_switch and modem_reset answer when the modem has done it: a re-registration takes tens of seconds.
LOCAL_COMMANDS: dict[str, tuple[str, Callable[[Any], dict[str, Any]], float]] = {
    "failover": ("failover", lambda a: {"mode": f"force_{a.uplink or ''}" if a.mode == "force"
                                        else FAILOVER_MODES[a.mode]}, 10.0),
    "sim-switch": ("sim_switch", lambda a: {"slot": a.slot}, 180.0),
    "modem reset": ("modem_reset", lambda a: {}, 180.0),
}


def colour_for(stream: TextIO) -> bool:
    term = os.environ.get("TERM", "")
    return stream.isatty() and term not in ("", "dumb") and "NO_COLOR" not in os.environ


def painter(colour: bool) -> Callable[[str, str], str]:
    if not colour:
        return lambda role, text: text
    return lambda role, text: f"{_ANSI[role]}{text}{_RESET}" if role in _ANSI else text


class BadConfig(Exception):
    """--config names a file that does not load; the message is the loader's one line."""


def where(args) -> tuple[Path, str]:
    """(socket path, storage dir) for these command-line arguments; BadConfig from a bad --config."""
    storage = args.storage
    configured = ""
    if args.config:
        from agent import config as configuration     # only then: the schema costs start-up time
        try:
            cfg = configuration.load(args.config)
        except configuration.ConfigError as e:
            raise BadConfig(str(e)) from None
        configured, storage = cfg.console.socket, storage or cfg.storage.dir
    storage = storage or DEFAULT_STORAGE
    return (Path(args.socket) if args.socket else protocol.socket_path(configured, storage)), storage


def run(args) -> int:
    """The dispatch for every console command (one branch in agent/cli.py)."""
    try:
        socket_path, storage = where(args)
    except BadConfig as e:
        print(f"relais: {e}", file=sys.stderr)
        return 2
    if args.cmd == "status":
        return run_status(args, socket_path, storage)
    if args.cmd == "watch":
        return run_watch(args, socket_path)
    key = "modem reset" if args.cmd == "modem" else args.cmd
    return run_local(key, args, socket_path)


# ---- relais status --------------------------------------------------------------------------------------------
def run_status(args, socket_path: Path, storage: str) -> int:
    from agent import status_file
    try:
        answer = ask(socket_path, "status", timeout=args.timeout)
    except ConsoleUnavailable as e:
        return _status_from_file(args, storage, e)
    if not answer["ok"]:
        print(f"relais status: the agent refused: {printable(answer['error'])}", file=sys.stderr)
        return status_file.EXIT_NO_STATUS
    doc = printable(answer["result"]) if isinstance(answer["result"], dict) else {}
    if args.json:
        print(json.dumps(doc))
    else:
        print(status_file.render(doc, painter(colour_for(sys.stdout))))
    return status_file.EXIT_LIVE


def _status_from_file(args, storage: str, why: ConsoleUnavailable) -> int:
    """The agent does not answer: the status file, saying so and how old it is. Exit codes as status_file's."""
    from agent import status_file
    try:
        doc, mtime = status_file.read(storage)
        doc = printable(doc)
    except status_file.StatusFileError as e:
        print(f"relais status: no answer from the agent ({why.reason}), and {e}", file=sys.stderr)
        return e.exit_code
    now = time.time()
    stale = status_file.staleness(mtime, now, stopped=doc.get("stopped") is True)
    if stale is None and why.kind == "refused":      # its socket is left but nobody listens: it is not running
        stale = f"as of {_when(mtime)}, {status_file._ago(max(now - mtime, 0.0))}: the agent is not running"
    print(f"relais status: no answer from the agent ({why.reason}); showing {Path(storage) / 'status.json'}, "
          f"written {_when(mtime)}", file=sys.stderr)
    if args.json:
        print(json.dumps(doc))
        if stale:
            print(f"relais status: {stale}", file=sys.stderr)
    else:
        paint = painter(colour_for(sys.stdout))
        text = status_file.render(doc, paint)
        print(f"{paint('warn', stale)}\n{text}" if stale else text)
    return status_file.EXIT_STALE if stale else status_file.EXIT_LIVE


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


# ---- relais watch ---------------------------------------------------------------------------------------------
def run_watch(args, socket_path: Path, out: TextIO | None = None,
              sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> int:
    """Redraw the live state every `args.interval` seconds until Ctrl-C (exit 0) or `args.count` frames. A lost
    agent is said on screen and asked again at the next tick: watching through an agent restart works."""
    from agent import status_file
    out = out or sys.stdout
    redraw = colour_for(out)
    paint = painter(redraw)
    console: Connection | None = None
    frames = 0
    next_at = clock()
    try:
        while args.count is None or frames < args.count:
            try:
                if console is None:
                    console = Connection(socket_path, timeout=args.timeout)
                answer = console.ask("status")
                body = status_file.render(printable(answer["result"]), paint) if answer["ok"] and \
                    isinstance(answer["result"], dict) else f"the agent refused: {printable(answer.get('error'))}"
            except ConsoleUnavailable as e:
                if console is not None:
                    console.close()
                    console = None
                body = paint("bad", f"no answer from the agent: {e.reason}") + \
                    f"\n(asking again every {args.interval:g} s)"
            title = f"relais watch  {time.strftime('%Y-%m-%d %H:%M:%S')}  (Ctrl-C to quit)"
            if redraw:
                out.write(f"{CLEAR}{paint('dim', title)}\n\n{body}\n")
            else:
                out.write(f"--- {title}\n{body}\n\n")
            out.flush()
            frames += 1
            if args.count is not None and frames >= args.count:
                break
            next_at += args.interval
            sleep(max(0.0, next_at - clock()))
    except KeyboardInterrupt:
        out.write("\n")
    except BrokenPipeError:           # `relais watch | head`: the reader has seen enough
        if out is sys.stdout:         # what is left in the buffer goes nowhere, not into an error at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        if console is not None:
            console.close()
    return 0


# ---- relais failover | sim-switch | modem reset ---------------------------------------------------------------
def run_local(key: str, args, socket_path: Path) -> int:
    """One core command, its answer in one line: exit 0 done, 1 refused, 3 no agent to ask."""
    command, make_args, timeout = LOCAL_COMMANDS[key]
    try:
        answer = ask(socket_path, command, make_args(args), timeout=timeout)
    except ConsoleUnavailable as e:
        print(f"relais {key}: {e.reason}", file=sys.stderr)
        return EXIT_NO_AGENT
    if not answer["ok"]:
        print(f"relais {key}: refused: {one_line(printable(answer['error']))}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"{key}: {one_line(printable(answer['result']))}")
    return EXIT_DONE


def one_line(result: Any) -> str:
    """A command's result as one line of `key value` pairs (a dict), or its JSON."""
    if isinstance(result, dict) and result:      # what is not known (None) is left out, not printed as "None"
        return ", ".join(f"{k} {one_line(v) if isinstance(v, (dict, list)) else v}" for k, v in result.items()
                         if v is not None)
    text = json.dumps(result) if not isinstance(result, str) else result
    return " ".join(text.split())


def printable(value: Any, depth: int = 0) -> Any:
    """The value with every control character in its strings shown as "?": an operator name comes from the
    network and a modem's error text from the modem, and an escape sequence in them must not reach the terminal."""
    if isinstance(value, str):
        return "".join(c if c.isprintable() or c == " " else "?" for c in value)
    if depth > protocol.MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {printable(k, depth + 1): printable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [printable(v, depth + 1) for v in value]
    return value
