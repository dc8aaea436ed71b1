"""The grammar of config values that subsystems parse again at run time: probe targets and phone numbers.

It lives with the config (and imports nothing from agent/) so that the loader can check them and the probers and
the SMS code can parse them without an import cycle: agent.linkmon.targets and agent.cellular.sms re-export them.

Probe targets (a bare address takes [probes] method):
    1.1.1.1                     icmp:1.1.1.1
    tcp:1.1.1.1:443             tcp:1.1.1.1            (port 443)
    dns:9.9.9.9                 dns:9.9.9.9:5353       (asks for [probes] dns_name)
    http://connectivitycheck.gstatic.com/generate_204   https://host:8443/generate_204
    2001:4860:4860::8888        icmp:2001:4860:4860::8888   (IPv6: ICMPv6 echo)
    tcp:[2606:4700::1111]:443   tcp:2606:4700::1111    (an IPv6 address with a port goes in brackets)
    dns:[2620:fe::fe]:53        dns:2620:fe::fe        http://[2001:db8::80]/generate_204

ICMP, TCP and DNS targets must be IPv4 or IPv6 addresses: resolving a name would itself go out over whichever
link carries the default route, which is exactly what a probe bound to the other link must not depend on. IPv6
targets must be global unicast: a link-local one (fe80::, with a %zone) is on the first hop, not the internet,
and a multicast one answers from many hosts.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

METHODS = ("icmp", "tcp", "dns", "http")
DEFAULT_PORTS = {"icmp": 0, "tcp": 443, "dns": 53, "http": 80, "https": 443}


@dataclass(frozen=True)
class Target:
    name: str          # as written in the config; the key in the state and in probe results
    method: str        # icmp | tcp | dns | http
    host: str
    port: int = 0
    path: str = "/"
    tls: bool = False

    @property
    def ipv6(self) -> bool:
        """The host is an IPv6 literal: probed over AF_INET6 (a name in an http target is resolved as IPv4)."""
        return ":" in self.host


def parse_target(text: str, default_method: str = "icmp") -> Target:
    """A Target, or ValueError with a message that names the target."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"target {text!r}: empty")
    text = text.strip()
    if text.startswith(("http://", "https://")):
        return _parse_url(text)
    method, rest = default_method, text
    head, sep, tail = text.partition(":")
    if sep and head in METHODS:
        method, rest = head, tail
    if method == "http":
        if rest.count(":") > 1 and not rest.startswith("["):
            rest = f"[{rest}]"   # a bare IPv6 address: a URL wants it in brackets
        url = _parse_url(f"http://{rest}/generate_204" if "/" not in rest else f"http://{rest}")
        return replace(url, name=text)
    host, port = rest, DEFAULT_PORTS[method]
    if rest.startswith("["):
        # [IPv6]:PORT or [IPv6]; for icmp a port means nothing, so it is refused rather than ignored
        host, bracket, after = rest[1:].partition("]")
        if not bracket:
            raise ValueError(f"target {text!r}: no closing ] after the IPv6 address")
        if after:
            if not after.startswith(":") or method == "icmp":
                raise ValueError(f"target {text!r}: expected [IPv6 address]:PORT" +
                                 (" (icmp takes no port)" if method == "icmp" else ""))
            port = _port(text, after[1:])
        host = _ipv6(text, host)
    elif method != "icmp" and rest.count(":") == 1:
        host, _, port_text = rest.partition(":")
        port = _port(text, port_text)
        _ipv4(text, host)
    elif ":" in rest:
        host = _ipv6(text, host)   # a bare IPv6 address: the whole rest, default port
    else:
        _ipv4(text, host)
    return Target(name=text, method=method, host=host, port=port)


def _parse_url(text: str) -> Target:
    try:
        url = urlsplit(text)
        port = url.port
    except ValueError as e:
        raise ValueError(f"target {text!r}: {e}") from None
    if not url.hostname:
        raise ValueError(f"target {text!r}: no host")
    tls = url.scheme == "https"
    host = _ipv6(text, url.hostname) if ":" in url.hostname else url.hostname   # [IPv6]: the same rules
    return Target(name=text, method="http", host=host, port=port or DEFAULT_PORTS[url.scheme],
                  path=url.path or "/", tls=tls)


def _port(text: str, port_text: str, what: str = "target") -> int:
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:   # not "²"
        raise ValueError(f"{what} {text!r}: port {port_text!r} is not 1..65535")
    return int(port_text)


def _ipv4(text: str, host: str, what: str = "target", named: str = "http targets") -> None:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        also = " or IPv6" if what == "target" else ""   # service checks are IPv4 only for now
        raise ValueError(f"{what} {text!r}: {host!r} is not an IPv4{also} address (names are only allowed in "
                         f"{named}: resolving one would use whichever link is active)") from None


def _ipv6(text: str, host: str) -> str:
    """The address in its canonical form (what the kernel reports as a reply's source), or ValueError."""
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError:
        raise ValueError(f"target {text!r}: {host!r} is not an IPv6 address") from None
    if address.is_link_local or address.is_multicast or address.is_unspecified or address.is_loopback \
            or address.ipv4_mapped is not None:
        raise ValueError(f"target {text!r}: {host!r} is not a global IPv6 address (link-local, multicast, "
                         f"loopback, unspecified and IPv4-mapped addresses do not test an uplink)")
    return str(address)


# ---- phone numbers ----------------------------------------------------------------------------------------------

def normalize_number(raw: str | None, country_code: str = "", bare_international: bool = False) -> str | None:
    """'+33 6 12 34 56 78', '0033612345678', '0612345678' (country_code 33) -> '+33612345678'; None when the
    number is not a phone number in a form we can compare (a short code, an alphanumeric sender, a national
    number without country_code). bare_international: digits without + or 0 (some modems drop the + of a type-145
    address) are taken as international."""
    s = re.sub(r"[\s\-.()/]", "", raw or "")
    if s.startswith("+"):
        digits = s[1:]
    elif s.startswith("00"):
        digits = s[2:]
    elif s.startswith("0") and country_code:
        digits = country_code + s[1:]
    elif bare_international and s.isdigit() and len(s) >= 8:
        digits = s
    else:
        return None
    if not digits.isdigit() or not 6 <= len(digits) <= 15:     # E.164: at most 15 digits
        return None
    return "+" + digits


# ---- critical-service checks ([[services]] check, run by agent.drills.services) ---------------------------------
#
#     sip:192.0.2.5             sip:192.0.2.5:5070      (SIP OPTIONS over UDP, port 5060 by default)
#     tcp:192.0.2.5:443         udp:192.0.2.5:1194      (the port is required: there is no sensible default)
#     dns:9.9.9.9               dns:9.9.9.9:example.org (asks for A of the name, example.com by default)
#     https://intranet.example.fr/health                (GET; 2xx or 3xx with a valid certificate)
#
# Hosts follow the probe targets' rule, for the same reason: a check run through the backup must not first resolve
# a name over whichever link is active. Only https:// takes names (its certificate names the host anyway).

SERVICE_KINDS = ("sip", "tcp", "udp", "dns", "https")
SERVICE_DEFAULT_PORTS = {"sip": 5060, "dns": 53, "https": 443}
DEFAULT_DNS_NAME = "example.com"
_DNS_NAME = re.compile(r"(?=.{1,253}\.?$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*"
                       r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?")


@dataclass(frozen=True)
class ServiceTarget:
    text: str          # as written in the config
    kind: str          # sip | tcp | udp | dns | https
    host: str
    port: int
    path: str = "/"    # https: path and query
    dns_name: str = DEFAULT_DNS_NAME


def parse_service_check(text: str) -> ServiceTarget:
    """A ServiceTarget, or ValueError whose message (after "check ...: ") says what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"check {text!r}: empty")
    text = text.strip()
    kind, sep, rest = text.partition(":")
    if kind == "https":
        return _parse_https(text)
    if kind == "http":
        raise ValueError(f"check {text!r}: plain http is not checked, use https:// (a valid certificate is part "
                         f"of the service working)")
    if not sep or kind not in SERVICE_KINDS:
        raise ValueError(f"check {text!r}: unknown kind {kind!r} (sip:, tcp:, udp:, dns: or https://)")
    if kind == "dns":
        host, _, name = rest.partition(":")
        _ipv4(text, host, "check", "https checks")
        if name and (name.isdigit() or not _DNS_NAME.fullmatch(name)):
            raise ValueError(f"check {text!r}: {name!r} is not a domain name to ask for")
        return ServiceTarget(text, kind, host, SERVICE_DEFAULT_PORTS["dns"], dns_name=name or DEFAULT_DNS_NAME)
    host, colon, port_text = rest.partition(":")
    if not colon and kind in ("tcp", "udp"):
        raise ValueError(f"check {text!r}: no port ({kind}:HOST:PORT)")
    _ipv4(text, host, "check", "https checks")
    port = _port(text, port_text, "check") if colon else SERVICE_DEFAULT_PORTS[kind]
    return ServiceTarget(text, kind, host, port)


def _parse_https(text: str) -> ServiceTarget:
    try:
        url = urlsplit(text)
        port = url.port
    except ValueError as e:
        raise ValueError(f"check {text!r}: {e}") from None
    if url.scheme != "https" or not text.startswith("https://"):
        raise ValueError(f"check {text!r}: not an https:// URL")
    if not url.hostname:
        raise ValueError(f"check {text!r}: no host")
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    return ServiceTarget(text, "https", url.hostname, port or SERVICE_DEFAULT_PORTS["https"], path=path)
