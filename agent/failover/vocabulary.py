"""The failover policy's vocabulary (agent/failover/policy.py decides with it): the uplinks it knows, the events
it takes, the actions it returns, and its state — frozen dataclasses, no behaviour beyond reading them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from agent.config import FailoverConfig
from agent.failover.assess import LinkView
from agent.linkmon.schedule import Rate


class Uplink(StrEnum):
    """The names of the two uplinks of a configuration without [[uplinks]]."""
    PRIMARY = "primary"
    BACKUP = "backup"


class Mode(StrEnum):
    AUTO = "auto"
    FORCE_PRIMARY = "force_primary"
    FORCE_BACKUP = "force_backup"


class Phase(StrEnum):
    PRIMARY = "primary"
    DEGRADED = "degraded"
    BACKUP = "backup"
    RECOVERING = "recovering"
    OUTAGE = "outage"
    DRILL = "drill"


LINKS = tuple(Uplink)   # the uplinks of a site without [[uplinks]] (agent/ledger/store.py UPLINKS mirrors them)
FORCE = "force_"
MAX_PENALTY = 10


@dataclass(frozen=True)
class UplinkSpec:
    """What the policy knows of an uplink: its name, its priority (lower is preferred) and whether it is a
    metered cellular link (standby, trickle probing)."""
    name: str
    priority: int
    cellular: bool = False


TWO_UPLINKS = (UplinkSpec(Uplink.PRIMARY, 1), UplinkSpec(Uplink.BACKUP, 2, cellular=True))


# ---- events ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Probe:
    link: str
    target: str
    ok: bool
    at: float                    # send time
    rtt_ms: float | None = None


@dataclass(frozen=True)
class LinkLayer:
    link: str
    up: bool                     # carrier, admin up and an address
    reason: str = ""             # when down: carrier_lost | admin_down | no_address | no_interface


@dataclass(frozen=True)
class SetMode:
    mode: str


@dataclass(frozen=True)
class StartDrill:
    duration_s: float


@dataclass(frozen=True)
class RouteChecked:
    uplink: str | None           # the uplink the routing table sends traffic through
    probe_ok: bool               # an unbound probe (following the routing table) was answered
    rtt_ms: float | None = None
    error: str = ""


# ---- actions --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Prefer:
    uplink: str


@dataclass(frozen=True)
class Standby:
    uplink: str
    up: bool


@dataclass(frozen=True)
class ProbeRate:
    link: str
    rate: Rate


@dataclass(frozen=True)
class CheckRoute:
    pass


# ---- state ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    failover: FailoverConfig = FailoverConfig()
    history_s: float = 60.0      # ProbesConfig.history_s
    uplinks: tuple[UplinkSpec, ...] = TWO_UPLINKS   # in priority order (stable among equals)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.uplinks, key=lambda u: u.priority))
        if ordered != self.uplinks:
            object.__setattr__(self, "uplinks", ordered)
        if len({u.name for u in ordered}) != len(ordered) or not ordered:
            raise ValueError(f"uplink names must be unique and at least one: {[u.name for u in ordered]}")
        # looked up on every probe result and tick: built once (not fields: equality and repr stay the uplinks')
        object.__setattr__(self, "_names", tuple(u.name for u in ordered))
        object.__setattr__(self, "_specs", {u.name: u for u in ordered})

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    def spec(self, name: str) -> UplinkSpec:
        return self._specs[name]

    def rank(self, name: str) -> int:
        return self.spec(name).priority


@dataclass(frozen=True)
class Drill:
    started: float
    until: float
    to: str = Uplink.BACKUP              # the uplink the drill moved traffic to
    checking: bool = False               # the route check was asked for (once the uplink is up)
    route: RouteChecked | None = None


@dataclass(frozen=True)
class Away:
    """Traffic left an uplink: since when it was out, why, and when traffic left it."""
    started: float | None
    reason: str
    at: float


@dataclass(frozen=True)
class Flaps:
    penalty: int = 0
    at: float = 0.0


@dataclass(frozen=True)
class PolicyState:
    settings: Settings
    since: float
    active: str
    mode: str = Mode.AUTO
    phase: Phase = Phase.PRIMARY
    links: dict[str, LinkView] = field(default_factory=dict)
    standby_up: dict[str, bool] = field(default_factory=dict)   # cellular uplinks: switched on
    away: dict[str, Away] = field(default_factory=dict)         # the uplinks traffic left and has not returned to
    last_failback_at: dict[str, float] = field(default_factory=dict)
    flaps: dict[str, Flaps] = field(default_factory=dict)
    drill: Drill | None = None

    # -- the best uplink, and the cellular one: what a two-uplink site calls primary and backup
    @property
    def best(self) -> str:
        return self.settings.uplinks[0].name

    @property
    def cellular(self) -> str | None:
        return next((u.name for u in self.settings.uplinks if u.cellular), None)

    @property
    def primary(self) -> LinkView:
        return self.links[self.best]

    @property
    def backup(self) -> LinkView:
        return self.links[self.cellular or self.settings.uplinks[-1].name]

    @property
    def backup_standby_up(self) -> bool:
        return self.standby_up.get(self.cellular or "", True)

    @property
    def penalty(self) -> int:
        return self.flaps.get(self.best, Flaps()).penalty

    @property
    def outage_reason(self) -> str:
        """Why traffic left the best uplink ("" when it is on it)."""
        away = self.away.get(self.best)
        return away.reason if away else ""

    @property
    def forced(self) -> str | None:
        return self.mode[len(FORCE):] if self.mode.startswith(FORCE) else None

    def link(self, name: str) -> LinkView:
        return self.links[name]

    def hold_down_s(self, now: float, name: str | None = None) -> float:
        """How long `name` (the best uplink by default) must be healthy before traffic returns to it."""
        cfg = self.settings.failover
        return min(cfg.hold_down_s * 2 ** effective_penalty(self, now, name), cfg.hold_down_max_s)


def effective_penalty(st: PolicyState, now: float, name: str | None = None) -> int:
    flaps = st.flaps.get(name or st.best, Flaps())
    forgiven = int(max(0.0, now - flaps.at) // st.settings.failover.flap_decay_s)
    return max(0, flaps.penalty - forgiven)


def modes(settings: Settings) -> tuple[str, ...]:
    """The modes a SetMode may ask for: auto, force_<name> for each uplink, and the two-uplink aliases."""
    return tuple(dict.fromkeys((Mode.AUTO, *(FORCE + n for n in settings.names), Mode.FORCE_PRIMARY,
                                Mode.FORCE_BACKUP)))


def resolve_mode(settings: Settings, mode: str) -> str:
    """The canonical mode (force_<uplink>), ValueError if it names no uplink."""
    if mode == Mode.AUTO:
        return mode
    if isinstance(mode, str) and mode.startswith(FORCE) and mode[len(FORCE):] in settings.names:
        return mode
    cellular = next((u.name for u in settings.uplinks if u.cellular), settings.uplinks[-1].name)
    alias = {Mode.FORCE_PRIMARY: settings.uplinks[0].name, Mode.FORCE_BACKUP: cellular}.get(mode)
    if alias is None:
        raise ValueError(f"unknown mode {mode!r} (known: {', '.join(modes(settings))})")
    return FORCE + alias
