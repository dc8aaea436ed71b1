"""`relais drill [--full] [--duration N] [--config FILE]`: run a drill now on the running agent, through its
console socket (agent/console), and print its result.

A passive drill (the default) checks the backup without moving traffic; --full moves the traffic for N seconds.
The command waits for the drill_result when the drill fits in the console's answer time, else it says the drill
started and where its result goes.

Exit codes: 0 the drill passed; 1 it failed (or was refused: a drill is running, the primary is in trouble);
2 the configuration cannot be read; 3 no agent answers.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

PASSED, FAILED, BAD_CONFIG, NO_AGENT = 0, 1, 2, 3
WAIT_LIMIT_S = 180.0      # the console server answers within 200 s (agent/console/server.py ANSWER_TIMEOUT_S)
MARGIN_S = 15.0           # the passive probes, the route check, a slow core


def run_drill(args) -> int:
    from agent.config import ConfigError, load_or_defaults
    try:
        config = load_or_defaults(args.config)
    except ConfigError as e:
        print(f"relais: {e}", file=sys.stderr)
        return BAD_CONFIG
    if args.duration is not None and args.full is False:
        print("relais drill: --duration is for a full drill (--full)", file=sys.stderr)
        return FAILED
    kind = "full" if args.full else "passive"
    duration = args.duration if args.duration is not None else config.drills.duration_s
    request: dict[str, Any] = {"kind": kind}
    if kind == "full":
        request["duration_s"] = duration
    expected = (duration if kind == "full" else 0.0) + \
        len(config.services) * config.drills.service_timeout_s + MARGIN_S
    request["wait"] = expected <= WAIT_LIMIT_S

    from agent.console import protocol
    from agent.console.client import ConsoleUnavailable, ask
    path = Path(args.socket) if args.socket else protocol.socket_path(config.console.socket, config.storage.dir)
    try:
        answer = ask(path, "drill", request, timeout=expected + 10 if request["wait"] else 10.0)
    except ConsoleUnavailable as e:
        print(f"relais drill: {e.reason}", file=sys.stderr)
        return NO_AGENT
    if not answer.get("ok"):
        print(f"relais drill: {answer.get('error', 'refused')}", file=sys.stderr)
        return FAILED
    result = answer.get("result") or {}
    if not request["wait"]:
        print(f"{kind} drill started for {duration:g} s; its result is the drill_result event (ledger, MQTT, "
              "e-mail when it fails)")
        return PASSED
    print(json.dumps(result, indent=1, ensure_ascii=False) if args.json else render(result))
    return PASSED if result.get("ok") else FAILED


def render(d: dict[str, Any]) -> str:
    """The drill_result for a person at a terminal."""
    verdict = "PASSED" if d.get("ok") else "FAILED"
    lines = [f"{d.get('kind', '?')} drill ({d.get('trigger', '?')}): {verdict} in {_num(d.get('duration_s'))} s"
             + ("" if d.get("ok") else f" - {d.get('reason')}")]
    if d.get("recovery_s") is not None:
        lines.append(f"  recovery: first answer through the backup {_num(d['recovery_s'])} s after the decision")
    route = d.get("route")
    if isinstance(route, dict):
        lines.append(f"  route check: traffic left through {route.get('uplink') or 'no uplink'}"
                     + (f" ({route['error']})" if route.get("error") else ""))
    for step in d.get("path") or []:
        lines.append(f"  {'ok  ' if step.get('ok') else 'FAIL'}  {step.get('name')}: {step.get('detail')}")
    services = d.get("services") or []
    if services:
        lines.append("  services through the backup:")
        width = max(len(str(s.get("name"))) for s in services)
        for s in services:
            rtt = f"  {_num(s['rtt_ms'])} ms" if s.get("rtt_ms") is not None else ""
            lines.append(f"  {'ok  ' if s.get('ok') else 'FAIL'}  {str(s.get('name')):{width}}  {s.get('check')}: "
                         f"{s.get('detail')}{rtt}")
    else:
        lines.append("  no [[services]] configured")
    return "\n".join(lines)


def _num(x: Any) -> str:
    return f"{x:.3g}" if isinstance(x, (int, float)) and not isinstance(x, bool) else "?"
