"""Which of a device's uplinks plays which part, read from its retained `failover` state part: pure, no IO.

The fleet never imports agent/: it reads what the agent publishes (docs/failover.md, "State"):
`active_uplink` and `links` {name: {kind, priority, ...}}. A site may have N uplinks ([[uplinks]]: fiber, fiber2,
lte); "on a backup" then means traffic is on an uplink worse than the device's preferred one (the lowest priority
number among its links). Agents from before [[uplinks]] publish two links without kind or priority, named
"primary" and "backup" (the cellular one): for them the names are the roles. Everything here is untrusted input
read with care: a malformed part means "legacy names", never an error.
"""
from __future__ import annotations

import math
import re
from typing import Any, Mapping

LEGACY_PREFERRED = "primary"
LEGACY_CELLULAR = "backup"
MAX_LINKS = 16          # a site has a handful of uplinks; more in a published part is not believed
MAX_NAME = 24           # the agent's own limit on an uplink name ([[uplinks]] name)
_NAME = re.compile(r"[a-z][a-z0-9_]{0,23}")    # the agent's own rule for an uplink name ([[uplinks]] name)


def _priorities(failover: Any) -> dict[str, float]:
    links = failover.get("links") if isinstance(failover, Mapping) else None
    if not isinstance(links, Mapping):
        return {}
    out: dict[str, float] = {}
    for name, link in list(links.items())[:MAX_LINKS]:
        p = link.get("priority") if isinstance(link, Mapping) else None
        if isinstance(name, str) and isinstance(p, (int, float)) and not isinstance(p, bool) and math.isfinite(p):
            out[name] = float(p)
    return out


def preferred(failover: Any) -> str:
    """The name of the uplink traffic belongs on when all is well: the best priority ("primary" for a legacy
    device). Among equals, the first published (the agent lists links in priority order)."""
    priorities = _priorities(failover)
    if not priorities:
        return LEGACY_PREFERRED
    return min(priorities, key=lambda n: priorities[n])


def cellular(failover: Any) -> str:
    """The name of the device's cellular uplink ("backup" for a legacy device, or when none is marked)."""
    links = failover.get("links") if isinstance(failover, Mapping) else None
    if isinstance(links, Mapping):
        for name, link in list(links.items())[:MAX_LINKS]:
            if isinstance(name, str) and isinstance(link, Mapping) and link.get("kind") == "cellular":
                return name
    return LEGACY_CELLULAR


def on_backup(failover: Any) -> bool:
    """Traffic is on an uplink worse than the preferred one. An uplink of the same priority as the best is not a
    backup (the agent keeps traffic where it is among equals)."""
    if not isinstance(failover, Mapping):
        return False
    active = failover.get("active_uplink")
    if not isinstance(active, str):
        return False
    priorities = _priorities(failover)
    if active in priorities:
        return priorities[active] > min(priorities.values())
    return active == LEGACY_CELLULAR       # a legacy device (or an active uplink its links do not list)


def names(failover: Any) -> list[str]:
    """The device's uplinks a command may name (`failover` mode force_<name>), best priority first: the published
    links whose names follow the agent's own rule; a device that publishes none has the legacy two."""
    links = failover.get("links") if isinstance(failover, Mapping) else None
    found = [n for n in list(links)[:MAX_LINKS] if isinstance(n, str) and _NAME.fullmatch(n)] \
        if isinstance(links, Mapping) else []
    if not found:
        return [LEGACY_PREFERRED, LEGACY_CELLULAR]
    priorities = _priorities(failover)
    return sorted(found, key=lambda n: priorities.get(n, math.inf))    # stable: equals keep the published order


def slim_links(links: Any) -> dict[str, dict[str, Any]]:
    """What the functions above read of `links` (priority, kind), for holders of many devices' states."""
    if not isinstance(links, Mapping):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for name, link in list(links.items())[:MAX_LINKS]:
        if isinstance(name, str) and len(name) <= MAX_NAME and isinstance(link, Mapping):
            out[name] = {k: link[k] for k in ("priority", "kind") if isinstance(link.get(k), (int, float, str))}
    return out


__all__ = ["preferred", "cellular", "on_backup", "names", "slim_links", "LEGACY_PREFERRED", "LEGACY_CELLULAR"]
