"""What the link monitors post to the core. Times are time.monotonic() of the posting thread; the core's clock is
the same one, so a probe's send time and the core's `now` can be compared."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProbeResult:
    link: str                 # "primary" | "backup"
    target: str               # Target.name
    ok: bool
    sent_at: float            # monotonic time the probe left
    rtt_ms: float | None = None
    error: str = ""           # why it failed: "timeout", "network unreachable", ...


@dataclass(frozen=True)
class CarrierChanged:
    interface: str
    up: bool                  # carrier (IFF_LOWER_UP) and administratively up
    at: float


@dataclass(frozen=True)
class AddressChanged:
    interface: str
    address: str | None       # the interface's first global IPv4 address, None when it has none
    at: float


@dataclass(frozen=True)
class RoutesChanged:
    """Someone (us, a DHCP client, the admin) changed IPv4 routes: time to check that ours are still in place."""
    at: float


@dataclass(frozen=True)
class RouteCheckDone:
    """Which interface the routing table sends traffic through, and whether an unbound probe got through."""
    interface: str | None
    source: str | None
    probe_ok: bool
    rtt_ms: float | None
    error: str = ""
