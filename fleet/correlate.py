"""Provider incidents: many sites of one provider losing their link at once is the provider's outage, not theirs.

`decide(state, event, now) -> (state, actions)`, pure like agent/failover/policy.py: no clock, no IO, no sleeps.
Inputs are a site's link lost / recovered, each naming the provider that carries it (the site's configured fibre or
DSL provider for the primary, its SIM's operator for the cellular link) and the site's area (postcode or city).

Open: at least `min_sites` (3) sites of one group — same link, same provider, same area unless `by_area` is off —
whose losses started within `window_s` (10 min) of each other, all still down. The incident lists them; a site of
the group lost while it is open joins it (its loss is the same provider's as long as the incident lasts).

Close: when every listed site has recovered, at once; or when fewer than `min_sites` are still down and stay so for
`close_hold_s` (10 min). Waiting for *all* would let one site that is down for its own reasons (a shop closed for
the holidays, a cut cable of its own) hold the provider's incident open for weeks; closing at the first dip below
`min_sites` would close and reopen while recoveries ripple through the area. A site still down when it closes
stays down in the state and may be counted again for a new incident.

A cellular incident (a regional mobile outage) comes with `SuggestSimSwitch`: the sites of that operator in that
area would do better on their other SIM. It is a suggestion to whoever runs the fleet; this module orders nothing.

Times (`at`) are the sites' own clocks for the loss and recovery (the event's `ts`); `now` only ages the hold.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone, tzinfo
from enum import StrEnum
from typing import Iterable, Mapping

from common.decider import Tick  # noqa: F401  (the shared decider type, also reached as correlate.Tick)


RECENT_IDS = 16     # per group: an id is new among the group's last 16 incidents (months of them)


class Link(StrEnum):
    PRIMARY = "primary"        # fixed line: fibre, DSL, cable, a radio link
    CELLULAR = "cellular"      # the SIM's operator


@dataclass(frozen=True)
class Settings:
    min_sites: int = 3
    window_s: float = 600.0
    close_hold_s: float = 600.0
    by_area: bool = True       # off: a provider's sites count together across the whole country

    def __post_init__(self) -> None:
        if self.min_sites < 2:
            raise ValueError(f"min_sites must be at least 2 (one site is the site's own incident), got "
                             f"{self.min_sites}")
        if not self.window_s > 0 or self.close_hold_s < 0:
            raise ValueError(f"window_s must be > 0 and close_hold_s >= 0, got {self.window_s}, "
                             f"{self.close_hold_s}")


# ---- events ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Lost:
    site: str
    link: Link
    provider: str               # "Orange fibre"; the operator for the cellular link ("SFR")
    area: str = ""              # postcode or city; "" when the site has none configured
    at: float = 0.0


@dataclass(frozen=True)
class Recovered:
    site: str
    link: Link
    at: float = 0.0


# ---- state ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Group:
    link: Link
    provider: str
    area: str                   # "" when grouped across areas


@dataclass(frozen=True)
class SiteLoss:
    site: str
    lost_at: float
    recovered_at: float | None = None

    @property
    def down(self) -> bool:
        return self.recovered_at is None


@dataclass(frozen=True)
class Incident:
    id: str
    group: Group
    opened_at: float            # `now` when it opened
    sites: tuple[SiteLoss, ...]  # every site that joined, in the order they were lost
    closed_at: float | None = None
    below_since: float | None = None   # fewer than min_sites down since then (the close hold runs)

    @property
    def since(self) -> float:
        return min(s.lost_at for s in self.sites)

    @property
    def down(self) -> tuple[str, ...]:
        return tuple(s.site for s in self.sites if s.down)

    def site(self, name: str) -> SiteLoss | None:
        return next((s for s in self.sites if s.site == name), None)


@dataclass(frozen=True)
class Loss:
    group: Group
    at: float


@dataclass(frozen=True)
class CorrelationState:
    settings: Settings
    lost: Mapping[tuple[str, Link], Loss] = field(default_factory=dict)   # (site, link) -> its current loss
    open: Mapping[Group, Incident] = field(default_factory=dict)          # at most one open incident per group
    recent_ids: Mapping[Group, tuple[str, ...]] = field(default_factory=dict)   # each group's last RECENT_IDS ids
    # the same losses by group (site -> lost at): a loss looks at its own group only, not at every site down in
    # the country (a national outage is thousands of sites in hundreds of groups)
    groups: Mapping[Group, Mapping[str, float]] = field(default_factory=dict)


# ---- actions --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IncidentOpened:
    incident: Incident


@dataclass(frozen=True)
class IncidentUpdated:
    """A site joined or recovered."""
    incident: Incident


@dataclass(frozen=True)
class IncidentClosed:
    incident: Incident


@dataclass(frozen=True)
class SuggestSimSwitch:
    """A regional mobile outage: the fleet's sites on `operator` (in `area`) should move to their other SIM."""
    incident: Incident
    operator: str
    area: str


@dataclass(frozen=True)
class Site:
    """What the fleet knows of a site beyond its messages: its fixed-line provider and area (the fleet's site
    list), and its SIM's operator (the `cellular` state part's operator, else the site list's)."""
    site: str
    provider: str = ""
    area: str = ""
    operator: str = ""
    # the names of its uplinks that carry the provider's line (the preferred one) and the SIM's operator (its
    # published failover state, fleet/uplinks.py); the other uplinks (a second fiber) have no known provider
    preferred: str = "primary"
    cellular: str = "backup"

    def link(self, name: object) -> Link | None:
        return {self.preferred: Link.PRIMARY, self.cellular: Link.CELLULAR}.get(name) if isinstance(name, str) \
            else None


def from_event(site: Site, kind: str, data: object, ts: float) -> Lost | Recovered | None:
    """The correlation input a device's event (docs/failover.md, "Events") amounts to, or None. `data` is as
    received: anything not of the documented shape is no input rather than an error. `link_down` is the loss
    (its `started_at` is when it began); a `failover` away from the primary says the same when link_down was not
    seen; `link_restored` and a `failback` that is not manual are the recovery. Repeats are harmless: the decider
    keeps the first loss."""
    if not isinstance(data, dict):
        return None
    if kind == "link_down":
        link = site.link(data.get("link"))
    elif kind == "failover" and data.get("from") == site.preferred and data.get("reason") != "manual":
        link = Link.PRIMARY
    elif kind == "link_restored":
        link = site.link(data.get("link"))
        return None if link is None else Recovered(site.site, link, at=ts)
    elif kind == "failback" and data.get("reason") == "recovered" and data.get("to", site.preferred) == site.preferred:
        return Recovered(site.site, Link.PRIMARY, at=ts)   # back on the preferred uplink (not merely a better one)
    else:
        return None
    if link is None:
        return None
    provider = site.provider if link is Link.PRIMARY else site.operator
    if not provider.strip():
        return None            # a site without a known provider cannot be grouped with others
    started = data.get("started_at")
    # the device's own account of when it began, unless it is not a time or lies ahead of the event itself
    at = started if isinstance(started, (int, float)) and not isinstance(started, bool) and math.isfinite(started) \
        and started <= ts else ts
    return Lost(site.site, link, provider, site.area, at=float(at))


def initial(settings: Settings = Settings()) -> CorrelationState:
    return CorrelationState(settings)


def decide(st: CorrelationState, event: object, now: float) -> tuple[CorrelationState, list]:
    if isinstance(event, Lost):
        return _lost(st, event, now)
    if isinstance(event, Recovered):
        return _recovered(st, event, now)
    if isinstance(event, Tick):
        return _hold(st, now)
    return st, []


def group_of(event: Lost, settings: Settings) -> Group:
    area = " ".join(event.area.split()) if settings.by_area else ""
    return Group(Link(event.link), " ".join(event.provider.split()), area)


def _lost(st: CorrelationState, ev: Lost, now: float) -> tuple[CorrelationState, list]:
    key = (ev.site, Link(ev.link))
    if key in st.lost or not ev.provider.strip():
        return st, []          # lost again while lost (a repeated event): the first start stands
    group = group_of(ev, st.settings)
    members = {**st.groups.get(group, {}), ev.site: ev.at}
    st = replace(st, lost={**st.lost, key: Loss(group, ev.at)}, groups={**st.groups, group: members})
    incident = st.open.get(group)
    if incident is not None:
        mark = incident.site(ev.site)
        sites = tuple(SiteLoss(s.site, ev.at) if s is mark else s for s in incident.sites) if mark \
            else incident.sites + (SiteLoss(ev.site, ev.at),)
        incident = replace(incident, sites=sites)
        if len(incident.down) >= st.settings.min_sites:
            incident = replace(incident, below_since=None)
        return replace(st, open={**st.open, group: incident}), [IncidentUpdated(incident)]
    burst = _burst(st, group)
    if len(burst) < st.settings.min_sites:
        return st, []
    ident = base = incident_id(group, min(at for _, at in burst))
    used = st.recent_ids.get(group, ())
    n = 1
    while ident in used:               # reopened with the same first loss (losses reported again, a replay)
        n += 1
        ident = f"{base}.{n}"
    incident = Incident(ident, group, now, tuple(SiteLoss(s, at) for s, at in burst))
    st = replace(st, open={**st.open, group: incident},
                 recent_ids={**st.recent_ids, group: (used + (ident,))[-RECENT_IDS:]})
    actions: list = [IncidentOpened(incident)]
    if group.link is Link.CELLULAR:
        actions.append(SuggestSimSwitch(incident, group.provider, group.area))
    return st, actions


def incident_id(group: Group, since: float) -> str:
    """Made of what the incident is, not of a counter: the same losses give the same id in a replay after a
    restart and in every fleet instance that replays them, so its alerts are de-duplicated across both.
    "primary-orange-fibre-69003-20261203T074500Z"; URL-safe, for the console's links."""
    stamp = datetime.fromtimestamp(since, timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return "-".join(p for p in (str(group.link), _slug(group.provider), _slug(group.area), stamp) if p)


def _slug(text: str) -> str:
    import re
    import unicodedata
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()   # "Télécom" -> "telecom"
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")


def _burst(st: CorrelationState, group: Group) -> list[tuple[str, float]]:
    """The most sites of the group still down whose losses fit in one window (events may come out of order, so
    every window is tried, not only the one ending at the newest loss)."""
    starts = sorted((at, site) for site, at in st.groups.get(group, {}).items())
    best: list[tuple[float, str]] = []
    first = 0
    for last in range(len(starts)):
        while starts[last][0] - starts[first][0] > st.settings.window_s:
            first += 1
        if last - first + 1 > len(best):
            best = starts[first:last + 1]
    return [(site, at) for at, site in best]


def _recovered(st: CorrelationState, ev: Recovered, now: float) -> tuple[CorrelationState, list]:
    key = (ev.site, Link(ev.link))
    loss = st.lost.get(key)
    if loss is None:
        return st, []          # never seen lost (or already recovered): nothing to undo
    lost, groups, members = dict(st.lost), dict(st.groups), dict(st.groups[loss.group])   # copies, not rehashes
    del lost[key], members[ev.site]
    if members:
        groups[loss.group] = members
    else:
        del groups[loss.group]
    st = replace(st, lost=lost, groups=groups)
    incident = st.open.get(loss.group)
    mark = incident.site(ev.site) if incident is not None else None
    if mark is None or not mark.down:
        return st, []
    sites = tuple(replace(s, recovered_at=ev.at) if s is mark else s for s in incident.sites)
    incident = replace(incident, sites=sites)
    down = len(incident.down)
    if down == 0:
        return _close(st, incident, now)
    if down < st.settings.min_sites and incident.below_since is None:
        incident = replace(incident, below_since=now)
    st = replace(st, open={**st.open, loss.group: incident})
    if incident.below_since is not None and now - incident.below_since >= st.settings.close_hold_s:
        return _close(st, incident, now)
    return st, [IncidentUpdated(incident)]


def _hold(st: CorrelationState, now: float) -> tuple[CorrelationState, list]:
    actions: list = []
    for incident in list(st.open.values()):
        if incident.below_since is not None and now - incident.below_since >= st.settings.close_hold_s:
            st, closed = _close(st, incident, now)
            actions += closed
    return st, actions


def _close(st: CorrelationState, incident: Incident, now: float) -> tuple[CorrelationState, list]:
    incident = replace(incident, closed_at=now)
    still_open = dict(st.open)
    del still_open[incident.group]
    return replace(st, open=still_open), [IncidentClosed(incident)]


def next_due(st: CorrelationState) -> float | None:
    """When a Tick could close an incident: the caller's timer, so that nothing polls."""
    due = [i.below_since + st.settings.close_hold_s for i in st.open.values() if i.below_since is not None]
    return min(due, default=None)


def describe(incident: Incident, tz: tzinfo = timezone.utc) -> str:
    """One line for a person: "Orange fibre, 14 sites in 69003, since 08:45"."""
    g = incident.group
    what = g.provider if g.link is Link.PRIMARY else f"{g.provider} mobile"
    where = f" in {g.area}" if g.area else ""
    since = datetime.fromtimestamp(incident.since, tz).strftime("%H:%M")
    count = len(incident.sites)
    text = f"{what}, {count} sites{where}, since {since}"
    if incident.closed_at is not None:
        text += f", closed at {datetime.fromtimestamp(incident.closed_at, tz).strftime('%H:%M')}"
    elif len(incident.down) < count:
        text += f" ({len(incident.down)} still down)"
    return text


# ---- monthly availability per provider --------------------------------------------------------------------------

@dataclass(frozen=True)
class Outage:
    site: str
    provider: str
    start: float
    end: float | None = None    # None: still going at `until`


@dataclass(frozen=True)
class ProviderMonth:
    provider: str
    sites: int
    outages: int
    downtime_s: float
    availability_pct: float
    beyond_repair_time: tuple[Outage, ...]    # longer than the provider's guaranteed time to repair


def provider_availability(outages: Iterable[Outage], sites: Mapping[str, str], since: float, until: float,
                          repair_time_s: Mapping[str, float] | None = None) -> list[ProviderMonth]:
    """Availability of each provider's service across its sites over [since, until): 100 × (1 − downtime / (sites ×
    period)). `sites` maps every site to its provider, so a site without an outage counts as up all period.
    Overlapping outages of one site (a restart reporting the same loss twice) count once. An outage of a site not
    in `sites` is counted under the provider it names."""
    if not until > since:
        raise ValueError(f"the period must end after it starts, got {since} .. {until}")
    repair_time_s = repair_time_s or {}
    members: dict[str, set[str]] = {}
    for site, provider in sites.items():
        members.setdefault(provider, set()).add(site)
    spans: dict[tuple[str, str], list[tuple[float, float]]] = {}
    listed: dict[str, list[Outage]] = {}
    for o in outages:
        start, end = max(o.start, since), min(until if o.end is None else o.end, until)
        if end <= start:
            continue
        members.setdefault(o.provider, set()).add(o.site)
        spans.setdefault((o.provider, o.site), []).append((start, end))
        listed.setdefault(o.provider, []).append(o)
    period = until - since
    result = []
    for provider in sorted(members):
        downtime = sum(_union(spans.get((provider, site), [])) for site in members[provider])
        gtr = repair_time_s.get(provider)
        late = tuple(o for o in listed.get(provider, [])
                     if gtr is not None and (until if o.end is None else o.end) - o.start > gtr)
        count = len(members[provider])
        result.append(ProviderMonth(provider, count, len(listed.get(provider, [])), downtime,
                                    100.0 * (1 - downtime / (count * period)), late))
    return result


def _union(spans: list[tuple[float, float]]) -> float:
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total
