"""Puts a Plan on the system with `nft` and `tc` (in a network namespace when one is given), and takes it away.

Only relais's own things: the table `inet relais_traffic`, and the root qdisc of the cellular interface when its
handle is relais's (7e1a:). Another table or another qdisc is never read, changed nor deleted.
"""
from __future__ import annotations

import subprocess

from board.traffic.ruleset import HTB_MAJOR, TABLE, Plan, qdisc_commands, ruleset

TIMEOUT_S = 10.0


class TrafficError(RuntimeError):
    """A command that failed; the message is one line naming it."""


class TrafficRules:
    def __init__(self, netns: str = "") -> None:
        self._prefix = ["ip", "netns", "exec", netns] if netns else []
        self._shaped = ""         # the interface carrying relais's qdisc, "" = none

    def apply(self, plan: Plan) -> None:
        """The table replaced in one transaction, then the qdisc set (or taken away) to match."""
        self._run(["nft", "-f", "-"], ruleset(plan))
        if self._shaped and self._shaped != plan.shaped_interface:
            self._remove_qdisc(self._shaped)
        for cmd in qdisc_commands(plan):
            self._run(["tc", *cmd])
        self._shaped = plan.shaped_interface

    def remove(self) -> None:
        """The table and the qdisc gone; nothing happens when they are not there."""
        self._run(["nft", "-f", "-"], f"table inet {TABLE}\ndelete table inet {TABLE}\n")
        if self._shaped:
            self._remove_qdisc(self._shaped)
            self._shaped = ""

    def remove_qdisc(self, dev: str) -> None:
        """relais's qdisc off `dev` if it is there (left by an agent that did not stop cleanly)."""
        self._remove_qdisc(dev)

    def _remove_qdisc(self, dev: str) -> None:
        try:
            shown = self._run(["tc", "qdisc", "show", "dev", dev, "root"])
        except TrafficError:
            return      # the interface is gone, and its qdisc with it
        if f"htb {HTB_MAJOR}:" in shown:
            self._run(["tc", "qdisc", "del", "dev", dev, "root"])

    def _run(self, cmd: list[str], stdin: str | None = None) -> str:
        return run_tool(self._prefix, cmd, stdin)


def run_tool(prefix: list[str], cmd: list[str], stdin: str | None = None) -> str:
    """`cmd` (nft, tc) run under `prefix` (e.g. `ip netns exec NS`); its output, or a TrafficError of one line."""
    try:
        done = subprocess.run(prefix + cmd, input=stdin, text=True, capture_output=True, timeout=TIMEOUT_S)
    except FileNotFoundError:
        raise TrafficError(f"{(prefix + cmd)[0]}: not installed") from None
    except subprocess.TimeoutExpired:
        raise TrafficError(f"{' '.join(cmd[:3])}: no answer within {TIMEOUT_S:g} s") from None
    if done.returncode:
        why = " ".join(done.stderr.split())[:300] or f"exit status {done.returncode}"
        raise TrafficError(f"{' '.join(cmd[:3])}: {why}")
    return done.stdout
