"""What the machine says of its own restart, read once at the agent's start (heartbeat.py): the kernel's boot time,
and the hardware watchdog's account of the reset that started this boot.

Both are facts, not guesses: the boot time after the last heartbeat says the router restarted in the gap; the
watchdog's boot status (`/sys/class/watchdog/watchdogN/bootstatus`, the kernel's WDIOC_GETBOOTSTATUS, set by the
drivers that can read their SoC's reset cause: ath79, mtk, qcom, imx2 ...) says when that restart was the watchdog
firing on a hung machine, or a power fault the watchdog saw, rather than the supply simply going away. A driver
that cannot tell says 0, and then nothing is claimed.

Looked at and left (docs/report.md "Restarts"): the Raspberry Pi's under-voltage flags (get_throttled bit 16) count
since the *current* boot, and the kernel's raspberrypi-hwmon driver clears them as it polls, so they cannot say why
the previous boot ended; the modem's "RDY" is sent only to a port open when it boots, which the agent's is not
after a power loss (it starts later), and no AT command common to the modems gives their uptime.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.ledger.records import WATCHDOG_POWER_FAULT, WATCHDOG_RESET

# <linux/watchdog.h>: the bits of WDIOC_GETBOOTSTATUS a reset cause can set
WDIOF_POWERUNDER = 0x0010       # "power bad / power fault"
WDIOF_CARDRESET = 0x0020        # "card previously reset the CPU": the watchdog fired
WDIOF_POWEROVER = 0x0040        # "power over voltage"


def machine_boot_time(stat: str = "/proc/stat") -> float | None:
    """When this machine booted (wall clock, as good as the clock is now): the kernel's `btime`. None if unknown."""
    try:
        with open(stat) as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def watchdog_boot_status(root: str = "/sys/class/watchdog") -> dict[str, Any]:
    """The restart's cause as the hardware watchdogs saw it: {"reset_by": WATCHDOG_RESET | WATCHDOG_POWER_FAULT,
    "watchdog": name, "bootstatus": n}, or {} when no watchdog says anything (none, no sysfs, a driver that
    cannot tell). A power fault wins over a reset: it says why the watchdog had to act."""
    found: dict[str, Any] = {}
    try:
        devices = sorted(Path(root).iterdir())
    except OSError:
        return found
    for device in devices:
        try:
            status = int((device / "bootstatus").read_text().strip(), 0)
        except (OSError, ValueError):
            continue
        if status & (WDIOF_POWERUNDER | WDIOF_POWEROVER):
            return {"reset_by": WATCHDOG_POWER_FAULT, "watchdog": device.name, "bootstatus": status}
        if status & WDIOF_CARDRESET and not found:
            found = {"reset_by": WATCHDOG_RESET, "watchdog": device.name, "bootstatus": status}
    return found
