"""What the ledger holds, as plain values: the one vocabulary shared by the writer (store.py) and the readers
(agent/report, the MQTT `report` command).

Every timestamp is a Unix time (seconds, UTC) with its time source next to it — "ntp", "modem" (the network's
NITZ time) or "unsynced" (a clock nobody set): an entry stamped by an unsynced clock is weaker evidence and the
report says so. Durations come from the monotonic clock where the incident opened and closed in one run of the
agent (`duration_basis` "monotonic": a clock step does not change them), from the wall clock otherwise ("wall").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Incident kinds
DOWN = "down"                  # the link carried no traffic (probes failed, carrier lost, ...): `cause` says why
DEGRADED = "degraded"          # the link worked but badly: loss / latency in `evidence`
TOTAL = "total"                # no uplink carried traffic: the business was offline (link "all")
NOT_OBSERVED = "not_observed"  # the agent was not running (power cut, crash): from its last heartbeat to its
                               # restart (link "all"); never counted as up, nor as the operator's downtime
POWER = "power"                # the site's mains power was cut (the UPS on battery): link SITE; never the
                               # operator's downtime, counted apart
KINDS = (DOWN, DEGRADED, TOTAL, NOT_OBSERVED, POWER)
ALL_LINKS = "all"
SITE = "site"                  # the link of a POWER incident: the site, not an uplink

# Evidence values that are codes, not words: the report says them in its language (agent/report/language.py
# "sentences"), and a reader of the ledger compares them without parsing English.
STOPPED_ON_BATTERY_LOW = "battery_low"        # POWER "agent_stopped": the agent stopped itself, cleanly, for it
MACHINE_RESTARTED = "after_unclean_stop"      # NOT_OBSERVED "machine_restarted": the router restarted and the agent
                                              # had not stopped cleanly: a power loss, a hard reset or a kernel
                                              # crash (the kernel's boot time does not say which; the watchdog may)
MACHINE_RESTARTED_CLEAN = "after_clean_stop"  # the router restarted after the agent stopped cleanly
WATCHDOG_RESET = "watchdog_reset"             # NOT_OBSERVED "reset_by": the hardware watchdog reset the machine
WATCHDOG_POWER_FAULT = "watchdog_power_fault" # ... or reports a power fault (agent/ledger/boot.py)


@dataclass(frozen=True)
class Incident:
    """One incident of one link, or of all of them (TOTAL, NOT_OBSERVED). `end` None: still open."""
    id: int | None
    link: str                      # the uplink's name in the config ("primary", "backup", ...), ALL_LINKS or SITE
    kind: str                      # one of KINDS
    start: float
    start_source: str
    end: float | None
    end_source: str | None
    duration_s: float | None       # None while open
    duration_basis: str | None     # "monotonic" | "wall"
    cause: str                     # "primary_down", "carrier_lost", "loss", "power_or_crash", "drill", ...
    planned: bool = False          # a drill or an operator's manual switch: recorded, never the operator's downtime
    carried_by: str | None = None  # the uplink that carried the traffic meanwhile (None: none did, or unknown)
    # What proves it, all optional: first_failed_probe (ts), targets [..], probes {target: {"sent": n, "lost": n}},
    # loss_pct, latency_ms, operator, cell, backup_bytes (bytes used on the backup during the incident).
    # Also (store.py): first_sign (ts, when the cause was no failed probe: carrier lost ...), detect_s,
    # latency_max_ms, sim, failover_at / restored_at (ts; the primary outage), flaps, switches [{at, kind, sim,
    # operator}], detected / loss_pct_at_detection / latency_ms_at_detection (DEGRADED), links {link: cause}
    # (TOTAL), stopped / heartbeat_every_s / closed_at_restart [..] (NOT_OBSERVED), closed (closed at restart, at
    # the last heartbeat) with closed_by "restart" | "migration", ended_by, continues, migrated (from a version 0
    # file); ups, charge_pct / runtime_s (at the start), battery_low_at, charge_pct_at_end, agent_stopped (POWER);
    # clean_stop, power_cut_at_stop, machine_booted, machine_restarted, reset_by / watchdog / bootstatus
    # (NOT_OBSERVED).
    # Every ts key has its time source next to it as <key>_source, except where it is the incident's start_source.
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Drill:
    """One drill. kind "passive" (the backup checked end to end, traffic not moved) or "full" (traffic moved)."""
    id: int | None
    ts: float
    time_source: str
    kind: str
    ok: bool | None                # None: ran, no verdict (e.g. an old ledger's entry)
    recovery_s: float | None = None            # full: decision to first answer through the backup
    services: tuple[dict[str, Any], ...] = ()  # {"name", "check", "ok", "detail", "rtt_ms"} per [[services]]
    data: dict[str, Any] = field(default_factory=dict)   # the drill_result event as it was


@dataclass(frozen=True)
class Speed:
    """One speed measurement of one uplink. ok False: it failed, `error` says why (no speed numbers then)."""
    id: int | None
    ts: float
    time_source: str
    link: str
    ok: bool
    down_bps: float | None = None
    up_bps: float | None = None
    bytes: int = 0                 # bytes it cost (down + up), counted against a cellular data budget
    method: str = "https"          # "https" | "http" | "iperf3"
    server: str = ""
    error: str | None = None


@dataclass(frozen=True)
class Switch:
    """A SIM or operator change on the cellular uplink: which network carried the backup from `ts` on."""
    id: int | None
    ts: float
    time_source: str
    kind: str                      # "sim_switch" | "operator_changed"
    sim: int | None = None
    operator: str | None = None    # as the network names itself, e.g. "Orange F"
    reason: str | None = None


@dataclass(frozen=True)
class Period:
    """Everything the ledger holds that overlaps [since, until), oldest first."""
    since: float
    until: float
    incidents: tuple[Incident, ...] = ()
    drills: tuple[Drill, ...] = ()
    speeds: tuple[Speed, ...] = ()
    switches: tuple[Switch, ...] = ()
    # The first time the ledger saw the agent running (None: never). Before it, nothing was observed at all.
    observed_since: float | None = None
