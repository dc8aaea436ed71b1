"""Login brute force, limited per account and per source address: a pure decider, time passed in.

    state = Attempts()
    verdict = allowed(state, "alice", "203.0.113.9", now)        # Verdict(ok, retry_after_s)
    state = failed(state, "alice", "203.0.113.9", now)           # after a wrong password
    state = succeeded(state, "alice", "203.0.113.9")             # the account's count starts again

A key (an account, or a source address) is refused once it has `max_failures` failures within `window_s`; it is
let in again when the oldest of them leaves the window. A source is an address, an IPv6 one by its /64
(source_key). Per account: a slow guesser spread over many addresses
still meets the limit. Per source: one address trying many names meets it too. A refused attempt is not checked
at all (no KDF run: a flood costs the server nothing) and is not counted (the lockout does not grow forever, so a
legitimate owner waits `window_s` at most). A success clears the account's failures, not the address's: an
attacker who owns one account cannot reset the count of the address it uses on the others.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class Limits:
    max_failures_per_account: int = 5
    max_failures_per_source: int = 20
    window_s: float = 900.0
    max_keys: int = 100_000   # memory bound: beyond it the keys with the oldest last failure are forgotten


@dataclass(frozen=True)
class Verdict:
    ok: bool
    retry_after_s: float = 0.0
    why: str = ""          # "account" or "source" when refused


@dataclass(frozen=True)
class Attempts:
    limits: Limits = Limits()
    failures: Mapping[str, tuple[float, ...]] = field(default_factory=lambda: MappingProxyType({}))


def source_key(address: str) -> str:
    """The source an address counts as: an IPv6 address's /64, the least a site is given (RFC 6177), so one
    host cannot try from 2^64 addresses of its own; an IPv4 address (or anything else) as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:   # a dual-stack socket's IPv4 client
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


def _key(kind: str, value: str) -> str:
    return f"{kind}:{value}"


def _recent(state: Attempts, key: str, now: float) -> tuple[float, ...]:
    return tuple(t for t in state.failures.get(key, ()) if now - t < state.limits.window_s)


def allowed(state: Attempts, account: str, source: str, now: float) -> Verdict:
    lim = state.limits
    for why, key, most in (("account", _key("a", account.lower()), lim.max_failures_per_account),
                           ("source", _key("s", source), lim.max_failures_per_source)):
        recent = _recent(state, key, now)
        if len(recent) >= most:
            return Verdict(False, round(recent[-most] + lim.window_s - now, 3), why)
    return Verdict(True)


def failed(state: Attempts, account: str, source: str, now: float) -> Attempts:
    failures = dict(state.failures)
    for key in (_key("a", account.lower()), _key("s", source)):
        failures[key] = _recent(state, key, now) + (now,)
    if len(failures) > state.limits.max_keys:
        keep = sorted(failures, key=lambda k: failures[k][-1] if failures[k] else 0.0)
        for k in keep[:len(failures) - state.limits.max_keys]:
            del failures[k]
    return replace(state, failures=MappingProxyType(failures))


def succeeded(state: Attempts, account: str, source: str) -> Attempts:
    key = _key("a", account.lower())
    if key not in state.failures:
        return state
    failures = dict(state.failures)
    del failures[key]
    return replace(state, failures=MappingProxyType(failures))
