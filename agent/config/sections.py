"""The sections of relais.toml other than [cellular] and [sms] (agent.config.cellular): one frozen dataclass each.

Each field declares what it accepts in its type (agent.config.schema); `validate()` holds only what involves two
keys, and raises `invalid(key, expected, value)` so that its messages read like the loader's.
"""
from dataclasses import dataclass
from typing import Annotated, Literal

from agent.config.schema import (Check, File, Invalid, NonEmpty, OneOf, Pattern, Range, Renamed, Secret,
                                 show)

# Shared constraints, named once.
Positive = Annotated[float, Range(0, lo_open=True)]          # a duration or threshold that must be above 0
NonNegative = Annotated[float, Range(0)]
Interface = Annotated[str, Pattern(r"[^/\s]{1,15}", "an interface name (1 to 15 characters, no / or space)")]
BAUD_RATES = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 3000000)


def invalid(key: str, expected: str, value, secret: bool = False, section: str = "") -> Invalid:
    """For a check across keys, on loaded values: 300 written in the file is 300.0 by now, shown as 300."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return Invalid(expected, show(value, secret), key=key, section=section)


def _vendors() -> tuple:
    from modem.vendors import NAMES      # only when [modem] vendor is set: keeps the vendor package out of start-up
    return ("auto", *NAMES)


def _ipv4_or_empty(text: str) -> bool:
    import ipaddress     # only when a gateway is set: the agent's start-up imports as little as it can
    try:
        return not text or bool(ipaddress.IPv4Address(text))
    except ValueError:
        return False


def _ipv6_gateway_or_empty(text: str) -> bool:
    """Mirrors board.routes.iproute6.check_gateway6 (tests/test_config.py keeps them in agreement)."""
    import ipaddress
    try:
        address = ipaddress.IPv6Address(text) if text else None
    except ValueError:
        return False
    return address is None or not (address.scope_id or address.is_multicast or address.is_unspecified
                                   or address.is_loopback)


def _gpio_spec(text: str) -> bool:
    from board.gpio import GpioError, parse_spec   # the board owns its power-switch grammar
    try:
        parse_spec(text)
    except GpioError:
        return False
    return True


def _phone_number(text: str) -> bool:
    from agent.config.plan import phone_number     # the sheet's grammar for a number to dial
    return phone_number(text)


def _topic_prefix(text: str) -> bool:
    return bool(text) and all(p and not set(p) & set("+#\0") for p in text.split("/"))


@dataclass(frozen=True)
class DeviceConfig:
    # the id is an MQTT topic level and the client id: no wildcards, no separator
    id: Annotated[str, Pattern(r"[!\"$-*,-.0-~]{1,64}", "1 to 64 printable ASCII characters without spaces, /, + "
                                                          "or #")] = "relais-demo"
    # where the box is, in words (reported with the device id)
    site: str = ""
    # where the router stands on the site, for whoever must find it: "back office, top shelf of the rack"
    location: Annotated[str, Pattern(r"[^\x00-\x1f\x7f]{0,80}", "at most 80 characters without control characters")] \
        = ""


@dataclass(frozen=True)
class ModemConfig:
    # prefer a /dev/serial/by-id/... path: it survives USB re-enumeration. A missing device is not an error (USB
    # enumeration may come later; the port thread retries), an empty name is.
    port: Annotated[str, NonEmpty()] = "/dev/ttyUSB2"
    # serial speed of the AT port
    baud: Literal[BAUD_RATES] = 115200
    vendor: Annotated[str, OneOf(_vendors)] = "auto"         # auto = detect from +CGMI / ATI
    pin: Annotated[Secret | None, Pattern(r"[0-9]{4,8}", "4 to 8 digits")] = None   # goes into AT+CPIN="..."


@dataclass(frozen=True)
class BoardConfig:
    # how routes are changed: simulated (nothing changes), iproute2 (netlink) or networkmanager
    backend: Annotated[Literal["simulated", "iproute2", "networkmanager"], Renamed({"sim": "simulated"})] = \
        "simulated"
    # the status LED: console (logged) | none | sysfs:NAME (/sys/class/leds/NAME, blinked by the kernel; no / in
    # NAME) | gpio (an LED on a plain GPIO line, described in [led])
    led: Annotated[str, Pattern(r"console|none|gpio|sysfs:[^/\s]+", "console, none, gpio or sysfs:NAME")] = \
        "console"
    # the primary uplink (fiber, DSL)
    primary_interface: Interface = "eth0"
    # the modem's network interface
    cellular_interface: Interface = "wwan0"
    # route control, see docs/routes.md
    # default-route metric of the preferred uplink; the other gets standby_metric
    preferred_metric: Annotated[int, Range(1, 2**32 - 1)] = 10
    # default-route metric of the uplink not preferred
    standby_metric: Annotated[int, Range(1, 2**32 - 1)] = 20
    # iproute2: "" = found in the interface's routes
    primary_gateway: Annotated[str, Check(_ipv4_or_empty, 'an IPv4 address or ""')] = ""
    # iproute2: the cellular uplink's gateway; "" = found in the interface's routes
    backup_gateway: Annotated[str, Check(_ipv4_or_empty, 'an IPv4 address or ""')] = ""
    # iproute2 policy routing: one table per uplink, rule "from <address>"; 253-255 are the kernel's own
    primary_table: Annotated[int, Range(1, 2**32 - 1), Check(lambda t: t not in (253, 254, 255),
                                                               "a table other than 253, 254, 255 (reserved)")] = 101
    # iproute2: the cellular uplink's table
    backup_table: Annotated[int, Range(1, 2**32 - 1), Check(lambda t: t not in (253, 254, 255),
                                                              "a table other than 253, 254, 255 (reserved)")] = 102
    # iproute2: priority of the "from <address> lookup <table>" rules
    rule_priority: Annotated[int, Range(1, 2**32 - 1)] = 1000
    # iproute2: keep sockets bound to an uplink's address on that uplink
    policy_routing: bool = True
    # iproute2: switch the IPv6 default routes and rules like the IPv4 ones (an uplink without IPv6 is left out)
    ipv6: bool = True
    # iproute2: the primary's IPv6 gateway, usually link-local (fe80::1); "" = found in the interface's routes
    primary_gateway6: Annotated[str, Check(_ipv6_gateway_or_empty,
                                                           'a unicast IPv6 address without %zone or ""')] = ""
    # iproute2: the cellular uplink's IPv6 gateway; "" = found in its routes (a device route on a raw-IP modem)
    backup_gateway6: Annotated[str, Check(_ipv6_gateway_or_empty,
                                                           'a unicast IPv6 address without %zone or ""')] = ""
    # iproute2: network namespace holding the uplinks; "" = the agent's own
    netns: Annotated[str, Pattern(r"[^/\s]*", "a namespace name without / or spaces")] = ""
    primary_connection: str = ""  # networkmanager: connection id or uuid; "" = the one active on the interface
    backup_connection: str = ""   # networkmanager: the gsm connection; "" = the one for the cellular interface
    # modem power cycle, the recovery ladder's last step (docs/cellular.md): "" none | sysfs:N | gpiod:CHIP:LINE |
    # simulator:<simulator link>
    power_gpio: Annotated[str, Check(_gpio_spec, 'sysfs:N, gpiod:CHIP:LINE (N, LINE 0 to 4095), simulator:LINK '
                                                 'or ""')] = ""
    # power cycle: how long the modem stays off
    power_off_s: Annotated[float, Range(0, 60, lo_open=True)] = 3.0
    # power_gpio is a power enable, active = powered; true if wired the other way
    power_gpio_active_low: bool = False

    def validate(self) -> None:
        if self.standby_metric <= self.preferred_metric:
            raise invalid("standby_metric", f"a metric above preferred_metric ({self.preferred_metric})",
                          self.standby_metric)
        if self.backend == "iproute2" and self.primary_table == self.backup_table:
            raise invalid("backup_table", f"a table other than primary_table ({self.primary_table})",
                          self.backup_table)
        # The backends check the same options again when opened (board.routes.check_options); it is not called
        # here because importing the iproute2 backend costs 18 MB (pyroute2). tests/test_config.py keeps the two
        # in agreement.

    def route_options(self) -> dict:
        """Keyword arguments for board.routes.open_backend(self.backend, **options)."""
        options = {k: getattr(self, k) for k in ("primary_interface", "cellular_interface", "preferred_metric",
                                                 "standby_metric")}
        if self.backend == "iproute2":
            options.update({k: getattr(self, k) for k in ("primary_gateway", "backup_gateway", "primary_table",
                                                          "backup_table", "rule_priority", "policy_routing",
                                                          "netns", "ipv6", "primary_gateway6", "backup_gateway6")})
        elif self.backend == "networkmanager":
            options.update(primary_connection=self.primary_connection, backup_connection=self.backup_connection)
        return options


@dataclass(frozen=True)
class StorageConfig:
    # Only "" is refused here: a storage dir that is read-only, full or a file is a fault the agent lives through
    # (it runs on memory and says so, agent/storage.py), not a reason to leave the site without failover.
    dir: Annotated[str, NonEmpty()] = "/var/lib/relais"


@dataclass(frozen=True)
class ProbesConfig:
    """How uplinks are watched (docs/failover.md). A bare target uses `method`; others say theirs:
    "tcp:1.1.1.1:443", "dns:9.9.9.9" (asks for `dns_name`), "http://host/generate_204", "https://...", "icmp:...".
    IPv6 too (docs/ipv6.md): "2001:4860:4860::8888", "tcp:[2606:4700::1111]:443", "dns:2620:fe::fe"."""
    # several: a dead target is not a dead link
    targets: Annotated[tuple[str, ...], NonEmpty()] = ("1.1.1.1", "8.8.8.8", "9.9.9.9")
    method: Literal["icmp", "tcp", "dns", "http"] = "icmp"   # for bare targets
    # between two probes to one target on a watched link; below 0.05 s floods the targets
    interval_s: Annotated[float, Range(0.05, 3600)] = 0.2
    timeout_s: Annotated[float, Range(0, 60, lo_open=True)] = 0.5      # a probe not answered by then failed
    backup_interval_s: Positive = 2.0     # per target, on the cellular link while it carries the traffic
    trickle_interval_s: Positive = 45.0   # one probe per this long on the standby cellular link (data costs money)
    window_s: Positive = 10.0             # RTT / loss / jitter shown in the state
    history_s: Positive = 60.0            # loss history that sets how many failures make "down"
    # auto (datagram if ping_group_range allows, else raw) | raw | datagram
    icmp_socket: Literal["auto", "raw", "datagram"] = "auto"
    dns_name: Annotated[str, NonEmpty()] = "example.com"      # what dns: targets are asked for

    def validate(self) -> None:
        from agent.config.grammar import parse_target    # imported here: it brings ipaddress and urllib.parse
        for t in self.targets:
            try:
                parse_target(t, self.method)
            except ValueError as e:
                raise Invalid("targets written as 1.1.1.1, 2001:db8::1, tcp:IP:PORT, tcp:[IPv6]:PORT, dns:IP or "
                              "http(s)://...",
                              f"{show(t)} ({str(e).partition(': ')[2]})", key="targets") from None
        if self.history_s < self.window_s:
            raise invalid("history_s", f"at least window_s ({self.window_s:g})", self.history_s)


@dataclass(frozen=True)
class FailoverConfig:
    """When to leave the primary uplink and when to come back (docs/failover.md)."""
    # hot: cellular stays up, failover is a route change; cold: up on failover
    standby: Literal["hot", "cold"] = "hot"
    down_window_s: Positive = 1.0        # at least this long without an answer from any target before "down"
    min_failures: Annotated[int, Range(1)] = 8     # ... and at least this many failed probes in a row
    # on a lossy line more are needed (see false_down_probability), up to this
    max_failures: Annotated[int, Range(1)] = 40
    # accepted chance that a run of failures is only loss
    false_down_probability: Annotated[float, Range(0, 1, lo_open=True, hi_open=True)] = 1e-9
    degraded_loss_pct: Annotated[float, Range(0, 100, lo_open=True)] = 20.0  # sustained probe loss above: degraded
    degraded_rtt_ms: Positive = 300.0     # sustained median RTT above this: degraded
    degraded_window_s: Positive = 15.0    # "sustained"
    failover_when_degraded: bool = False  # a degraded primary is reported; leave it only if this is true
    recover_successes: Annotated[int, Range(1)] = 3   # answers needed before a down link counts as up again
    hold_down_s: NonNegative = 10.0       # the primary must stay healthy this long before failback
    hold_down_max_s: NonNegative = 120.0  # flap dampening doubles the hold-down per flap, up to this
    flap_window_s: Positive = 300.0       # losing the primary within this long after it came back is a flap
    flap_decay_s: Positive = 300.0        # each this long without a flap forgives one

    def validate(self) -> None:
        if self.min_failures > self.max_failures:
            raise invalid("min_failures", f"at most max_failures ({self.max_failures})", self.min_failures)
        if self.hold_down_s > self.hold_down_max_s:
            raise invalid("hold_down_s", f"at most hold_down_max_s ({self.hold_down_max_s:g})", self.hold_down_s)


@dataclass(frozen=True)
class MqttConfig:
    """The central broker (docs/mqtt.md). Defaults are sized for <= 150 KB/day on the wire over cellular."""
    # the broker's host name or address
    host: Annotated[str, NonEmpty()] = "localhost"
    port: Annotated[int, Range(0, 65535)] = 0      # 0 = 8883 with TLS, 1883 without
    payload: Literal["cbor", "json"] = "cbor"      # json for people reading with mosquitto_sub
    protocol: Literal["auto", "5", "3.1.1"] = "auto"   # auto = MQTT 5, falling back to 3.1.1
    # MQTT liveness: the broker publishes the will after 1.5 x this
    keepalive: Annotated[int, Range(10, 65535)] = 600
    # TCP keepalive: keeps carrier NAT mappings (some drop idle TCP in < 5 min) alive with 104-byte probes instead
    # of 270-byte MQTT pings over TLS; 0 = off
    nat_keepalive_s: Annotated[int, Check(lambda s: s == 0 or 10 <= s <= 7200,
                                          "0 (off) or an integer from 10 to 7200")] = 240
    client_id: str = ""            # "" = the device id (one session per device, cluster-friendly)
    # "" = no login
    username: str = ""
    # with username
    password: Secret | None = None
    tls: bool = False              # true: TLS (system CAs unless `ca` is set)
    # CA certificate for the broker's; "" = the system's CAs
    ca: Annotated[str, File()] = ""
    cert: Annotated[str, File()] = ""   # per-device client certificate (CN = device id) and its key
    # the client certificate's private key
    key: Annotated[str, File()] = ""
    # topics are <topic_prefix>/<device id>/... (docs/mqtt.md)
    topic_prefix: Annotated[str, Check(_topic_prefix, "non-empty topic levels without +, # or //")] = "relais/v1"
    telemetry_qos: Literal[0, 1] = 1     # events, state and replies are always QoS 1
    command_key: Secret | None = None    # set: every command must be HMAC-SHA256 signed
    # a command whose ts is further than this from the device clock is refused
    replay_window_s: Annotated[int, Range(10, 86400)] = 300
    # a larger command body is refused
    max_command_bytes: Annotated[int, Range(256, 65536)] = 4096
    # accept the `at` command (only for at_allowlist prefixes)
    at_passthrough: bool = False
    # prefixes of the AT commands `at` may send: read-only queries by default
    at_allowlist: tuple[Annotated[str, Pattern(r"(?i)AT[^;\r\n]*", "commands starting with AT, without ; CR or LF")],
                        ...] = ("AT+CSQ", "AT+CESQ", "AT+COPS?", "AT+CREG?", "AT+CEREG?", "AT+C5GREG?",
                                "AT+CGREG?", "ATI", "AT+CGMI", "AT+CGMM", "AT+CGMR")
    # telemetry with every metric at least this often
    heartbeat_s: Annotated[int, Range(60)] = 900
    # how often the state is read for telemetry
    telemetry_check_s: Positive = 10.0
    # between two exception messages
    telemetry_min_interval_s: NonNegative = 60.0
    # exception messages on top of the heartbeat: caps a noisy radio's cost
    telemetry_max_per_hour: Annotated[int, Range(0)] = 4
    telemetry_smoothing_s: NonNegative = 60.0  # EWMA time constant applied before the deadbands
    deadband_signal_db: NonNegative = 3.0      # RSRP / RSRQ / SINR / RSSI
    # an RTT change smaller than this is not news
    deadband_rtt_pct: NonNegative = 20.0
    # a probe-loss change smaller than this is not news
    deadband_loss_pct: NonNegative = 5.0
    # a changed part of the state goes out once it has been still this long
    state_debounce_s: NonNegative = 2.0
    # retained state republished at most this often, long-run
    state_max_per_hour: Annotated[float, Range(1)] = 4.0
    # beyond it telemetry is evicted, oldest first; events never
    outbox_max_messages: Annotated[int, Range(100)] = 10000
    # the broker reconnect backoff starts at this ...
    reconnect_min_s: Positive = 1.0
    # ... and doubles up to this
    reconnect_max_s: Positive = 300.0

    def validate(self) -> None:
        for name in ("ca", "cert", "key"):
            if getattr(self, name) and not self.tls:
                raise invalid("tls", f"true when {name} is set", self.tls)
        if bool(self.cert) != bool(self.key):
            missing = "key" if self.cert else "cert"
            raise invalid(missing, f"a file with {'cert' if self.cert else 'key'} (they go together)",
                          getattr(self, missing))
        if self.reconnect_max_s < self.reconnect_min_s:
            raise invalid("reconnect_max_s", f"at least reconnect_min_s ({self.reconnect_min_s:g})",
                          self.reconnect_max_s)


@dataclass(frozen=True)
class TimeConfig:
    """Where timestamps come from (docs/cellular.md): NTP when the kernel says the clock is synchronised, else the
    modem's network time (NITZ), else the unsynced system clock; each timestamp says which."""
    modem_time: bool = True            # read the modem clock while the system clock is not synchronised
    set_system_clock: bool = False     # also step the system clock to it (needs CAP_SYS_TIME), only when unsynced
    modem_poll_s: Annotated[float, Range(10, 86400)] = 600.0    # re-read the modem clock this often while unsynced
    # a modem reading older than this is not used any more
    modem_time_max_age_s: Annotated[float, Range(10, 7 * 86400)] = 3600.0
    ntp_check_s: Annotated[float, Range(0.1, 3600)] = 5.0     # a kernel sync-status reading is reused this long
    # set_system_clock: step only when the clock is off by more
    step_threshold_s: Annotated[float, Range(0.5, 3600)] = 2.0

    def validate(self) -> None:
        if self.modem_time_max_age_s < self.modem_poll_s:
            raise invalid("modem_time_max_age_s", f"at least modem_poll_s ({self.modem_poll_s:g})",
                          self.modem_time_max_age_s)


def _time_zone(name: str) -> bool:
    if name:
        from zoneinfo import ZoneInfo
        try:
            ZoneInfo(name)
        except Exception:     # ZoneInfoNotFoundError, ValueError for "../x", IsADirectoryError...
            return False
    return True


@dataclass(frozen=True)
class UsageConfig:
    """Cellular data used per SIM per billing period (docs/cellular.md), from the interface's byte counters."""
    interface: Annotated[str, Pattern(r"[^/\s]{0,15}", 'an interface name or ""')] = ""  # "" = [board] cellular_
    statistics_dir: Annotated[str, NonEmpty()] = "/sys/class/net"   # <dir>/<interface>/statistics/{rx,tx}_bytes
    # the period starts on this day of the month (the last day if shorter)
    billing_day: Annotated[int, Range(1, 31)] = 1
    # for the billing day, e.g. "Europe/Paris"; "" = the system's local time
    timezone: Annotated[str, Check(_time_zone, 'a time zone such as "Europe/Paris", or ""')] = ""
    # data_cap_reached beyond this (MB = 10^6 bytes, as operators count); 0 = none
    cap_slot1_mb: Annotated[float, Range(0, 1e9)] = 0.0
    # the same for the SIM in slot 2
    cap_slot2_mb: Annotated[float, Range(0, 1e9)] = 0.0
    warn_pct: Annotated[float, Range(0, 100, hi_open=True)] = 80.0   # data_cap_warning at this share; 0 = none
    # counters are read this often (a 32-bit counter wraps in 34 s at 1 Gbit/s)
    sample_s: Annotated[float, Range(1, 30)] = 10.0
    # totals reach the flash at most this often (and on SIM change, cap, stop)
    write_interval_s: Annotated[float, Range(10, 86400)] = 300.0

    def cap_bytes(self, slot: int | None) -> int | None:
        mb = {1: self.cap_slot1_mb, 2: self.cap_slot2_mb}.get(slot or 0, 0.0)
        return int(mb * 1_000_000) if mb > 0 else None


@dataclass(frozen=True)
class ServiceConfig:
    """One [[services]] table: a service the business depends on, checked through the backup by each drill
    (docs/drills.md). The name is the service's key in the ledger and the report."""
    UNIQUE = ("name",)    # the loader refuses two tables with the same name
    name: Annotated[str, Pattern(r"[^\x00-\x1f\x7f]{1,64}", "1 to 64 characters without control characters"),
                    NonEmpty()] = ""         # as the ledger and the report name it ("Téléphonie")
    check: Annotated[str, NonEmpty()] = ""  # sip:HOST:PORT | tcp:HOST:PORT | udp:HOST:PORT | https://... | dns:SERVER[:NAME]
    ca: Annotated[str, File()] = ""     # https: trust this CA file instead of the system's

    def validate(self) -> None:
        if not self.name.strip():
            raise invalid("name", "a name for the service", self.name)
        from agent.config.grammar import parse_service_check   # imported here: brings ipaddress, urllib.parse
        try:
            target = parse_service_check(self.check)
        except ValueError as e:
            raise Invalid("sip:IP[:PORT], tcp:IP:PORT, udp:IP:PORT, dns:IP[:NAME] or https://...",
                          f"{show(self.check)} ({str(e).partition(': ')[2]})", key="check") from None
        if self.ca and target.kind != "https":
            raise invalid("ca", 'nothing ("") for a check other than https://', self.ca)


def _cron_or_empty(text: str) -> bool:
    if text.strip():
        from common.cron import parse     # only for a site with a drill schedule
        parse(text)                       # ValueError: the loader shows its reason after the value
    return True


def _business_hours(text: str) -> bool:
    from common.business_hours import parse_business_hours
    try:
        parse_business_hours(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class DrillsConfig:
    """Drills (docs/drills.md): the backup path and every [[services]] check, on a schedule and on demand."""
    # "monthly" (03:00 on the 1st), "weekly" (03:00 on Monday), a cron expression "m h dom mon dow", "" = none
    schedule: Annotated[str, Check(_cron_or_empty, '"monthly", "weekly", a cron expression (minute hour day '
                                                   'month weekday) or ""')] = "monthly"
    # passive: the backup checked without moving traffic; full: traffic moved to the backup for duration_s
    kind: Literal["passive", "full"] = "passive"
    duration_s: Annotated[float, Range(5, 3600)] = 60.0      # how long a full drill keeps traffic on the backup
    # drill_overdue when no drill has passed for this long (again each such period); 0 = never
    overdue_days: Annotated[float, Range(0, 3660)] = 40.0
    # the schedule's time zone, e.g. "Europe/Paris"; "" = the system's local time
    timezone: Annotated[str, Check(_time_zone, 'a time zone such as "Europe/Paris", or ""')] = ""
    # each [[services]] check waits this long for its answer
    service_timeout_s: Annotated[float, Range(0.1, 60)] = 5.0


@dataclass(frozen=True)
class ConsoleConfig:
    """The local console socket: `relais status`, `watch`, `failover` ... ask the running agent through it. It is
    0660 and belongs to group relais when that group exists: root and the group's members may use it."""
    # "" = /run/relais/console.sock when /run/relais exists (the service's runtime directory), else console.sock in
    # the [storage] dir (a trial run from a checkout)
    socket: Annotated[str, Check(lambda p: not p or (p.startswith("/") and len(p.encode()) <= 107),
                                 'an absolute path of at most 107 bytes, or ""')] = ""
@dataclass(frozen=True)
class LedConfig:
    """The status LED on a plain GPIO line, used when [board] led = "gpio" (README, "Status LED"). An LED the
    kernel already knows (/sys/class/leds) is [board] led = "sysfs:NAME" instead."""
    # gpiod: the GPIO character device through libgpiod's Python binding v2; sysfs: the legacy /sys/class/gpio
    # (deprecated, absent from newer kernels); auto: gpiod when the binding imports and the chip exists, else sysfs
    backend: Literal["auto", "gpiod", "sysfs"] = "auto"
    # the GPIO chip: gpiochipN or /dev/gpiochipN (`gpiodetect` lists them)
    chip: Annotated[str, Pattern(r"(/dev/)?gpiochip[0-9]{1,4}", "gpiochipN or /dev/gpiochipN")] = "gpiochip0"
    # the line: its offset on the chip ("17") or its name ("STATUS_LED", as `gpioinfo` shows it)
    # ("" = none given: the agent then says so and runs without the LED)
    line: Annotated[str, Pattern(r"[0-9]{1,4}|[^\x00-\x20\x7f]{0,31}", "an offset (0 to 9999) or a line name of "
                                 "at most 31 characters without spaces")] = ""
    # true when the LED lights with the line low (wired between the supply and the pin)
    active_low: bool = False


@dataclass(frozen=True)
class BusinessConfig:
    """The business the reports are for (`relais report`, docs/report.md): its opening hours, over which
    availability is also counted, and what an hour offline costs it."""
    # on the report's title; "" = [device] site
    name: Annotated[str, Pattern(r"[^\x00-\x1f\x7f]{0,120}", "at most 120 characters without control characters")] \
        = ""
    # "Mon-Fri 08:00-12:00 14:00-18:00; Sat 09:00-12:00"; days in English or French; "" = none
    hours: Annotated[str, Check(_business_hours, 'days and HH:MM-HH:MM ranges such as "Mon-Sat 08:00-19:00", or ""')] \
        = "Mon-Sat 08:00-19:00"
    # the zone of the hours and of month boundaries, e.g. "Europe/Paris"; "" = the system's
    timezone: Annotated[str, Check(_time_zone, 'a time zone such as "Europe/Paris", or ""')] = ""
    # downtime in business hours x this = the cost shown in the report; 0 = no cost shown
    cost_per_hour: Annotated[float, Range(0, 1e9)] = 0.0
    # what `relais report` covers without --month / --since
    # since_start: from the first time the agent ran with this ledger (a new installation, the demo) to now
    default_period: Literal["last_month", "this_month", "last_30_days", "since_start"] = "last_month"
    # shown with the cost: "EUR", "€", "CHF"
    currency: Annotated[str, Pattern(r"[^\x00-\x1f\x7f\s]{1,8}", "1 to 8 characters, no spaces")] = "EUR"


@dataclass(frozen=True)
class ContractConfig:
    """One [[contracts]] table: what the operator of an uplink promised (the report flags what it did not keep).
    A promise left at 0 is not checked."""
    UNIQUE = ("uplink",)     # one contract per uplink
    # the uplink it covers, by name: "primary", "backup" or one of the [[uplinks]]
    uplink: Annotated[str, Pattern(r"[a-z][a-z0-9_]{0,23}", "an uplink's name")] = "primary"
    provider: Annotated[str, Pattern(r"[^\x00-\x1f\x7f]{0,120}", "at most 120 characters")] = ""   # "Orange Pro"
    # the contract or line reference the operator asks for in a claim
    reference: Annotated[str, Pattern(r"[^\x00-\x1f\x7f]{0,120}", "at most 120 characters")] = ""
    # promised availability per calendar month; a month under it is flagged
    availability_pct: Annotated[float, Range(0, 100)] = 0.0
    # guaranteed time to repair (GTR): an outage longer than this is flagged
    repair_hours: Annotated[float, Range(0, 8760)] = 0.0
    # true: repair time counts only business hours ("4 h ouvrées")
    repair_in_business_hours: bool = False
    down_mbps: Annotated[float, Range(0, 1e6)] = 0.0   # guaranteed download speed
    up_mbps: Annotated[float, Range(0, 1e6)] = 0.0     # guaranteed upload speed
    # the operator's support line for this contract, on the continuity sheet (`relais plan`); "" = none
    support_phone: Annotated[str, Check(_phone_number, 'a phone number: digits, spaces, dots or '
                                        'dashes, an optional leading + ("+33 4 72 00 00 00", "3900")')] = ""
