"""Configuration: one TOML file, validated into frozen dataclasses, one per section.

A config file is input from outside: every problem is reported as a ConfigError naming the file, the key and
what was expected, never as a traceback. Unknown keys are errors too (a typo must not silently fall back to a
default on a router nobody visits). Secrets (PINs, passwords, keys) are typed `Secret` so they never print.

Each subsystem owns its section's dataclass here; `load()` knows nothing of their meaning.
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(ValueError):
    """A configuration that cannot be used, with a message fit for the operator."""


class Secret(str):
    """A string that never shows itself in logs, reprs or exceptions."""

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:  # f-strings and logging use str(): keep the value out of them
        return "***"

    @property
    def value(self) -> str:
        return str.__str__(self)


# ---- sections -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeviceConfig:
    id: str = "relais-demo"
    site: str = ""


@dataclass(frozen=True)
class ModemConfig:
    port: str = "/dev/ttyUSB2"   # prefer a /dev/serial/by-id/... path: it survives USB re-enumeration
    baud: int = 115200
    vendor: str = "auto"         # auto = detect from +CGMI / ATI
    pin: Secret | None = None


@dataclass(frozen=True)
class BoardConfig:
    backend: str = "simulated"   # simulated | iproute2 | networkmanager
    led: str = "console"         # console | sysfs:<name> | none
    primary_interface: str = "eth0"
    cellular_interface: str = "wwan0"
    # route control, see docs/routes.md
    preferred_metric: int = 10   # default-route metric of the preferred uplink; the other gets standby_metric
    standby_metric: int = 20
    primary_gateway: str = ""    # iproute2: "" = found in the interface's routes
    backup_gateway: str = ""
    primary_table: int = 101     # iproute2 policy routing: one table per uplink, rule "from <address>"
    backup_table: int = 102
    rule_priority: int = 1000
    policy_routing: bool = True
    netns: str = ""              # iproute2: network namespace holding the uplinks; "" = the agent's own
    primary_connection: str = ""  # networkmanager: connection id or uuid; "" = the one active on the interface
    backup_connection: str = ""   # networkmanager: the gsm connection; "" = the one for the cellular interface
    # modem power cycle, the recovery ladder's last step (docs/cellular.md): "" none | sysfs:N | gpiod:CHIP:LINE |
    # simulator:<simulator link>
    power_gpio: str = ""
    power_off_s: float = 3.0
    power_gpio_active_low: bool = False

    def validate(self) -> None:
        from board.gpio import GpioError, parse_spec
        from board.routes import RouteError, check_options   # each backend knows what its options must be
        try:
            check_options(self.backend, **self.route_options())
            parse_spec(self.power_gpio)
        except (RouteError, GpioError) as e:
            raise ValueError(str(e)) from None
        if not 0 < self.power_off_s <= 60:
            raise ValueError("power_off_s: expected 0 < seconds <= 60")

    def route_options(self) -> dict:
        """Keyword arguments for board.routes.open_backend(self.backend, **options)."""
        options = {k: getattr(self, k) for k in ("primary_interface", "cellular_interface", "preferred_metric",
                                                 "standby_metric")}
        if self.backend == "iproute2":
            options.update({k: getattr(self, k) for k in ("primary_gateway", "backup_gateway", "primary_table",
                                                          "backup_table", "rule_priority", "policy_routing",
                                                          "netns")})
        elif self.backend == "networkmanager":
            options.update(primary_connection=self.primary_connection, backup_connection=self.backup_connection)
        return options


@dataclass(frozen=True)
class StorageConfig:
    dir: str = "/var/lib/relais"


@dataclass(frozen=True)
class ProbesConfig:
    """How uplinks are watched (docs/failover.md). A bare target uses `method`; others say theirs:
    "tcp:1.1.1.1:443", "dns:9.9.9.9" (asks for `dns_name`), "http://host/generate_204", "https://...", "icmp:..."."""
    targets: tuple[str, ...] = ("1.1.1.1", "8.8.8.8", "9.9.9.9")
    method: str = "icmp"               # icmp | tcp | dns | http, for bare targets
    interval_s: float = 0.2            # between two probes to one target on a watched link
    timeout_s: float = 0.5             # a probe not answered by then failed
    backup_interval_s: float = 2.0     # per target, on the cellular link while it carries the traffic
    trickle_interval_s: float = 45.0   # one probe per this long on the standby cellular link (data costs money)
    window_s: float = 10.0             # RTT / loss / jitter shown in the state
    history_s: float = 60.0            # loss history that sets how many failures make "down"
    icmp_socket: str = "auto"          # auto (datagram if ping_group_range allows, else raw) | raw | datagram
    dns_name: str = "example.com"      # what dns: targets are asked for

    def validate(self) -> None:
        from agent.linkmon.targets import parse_target   # the target grammar lives with the probers
        if self.method not in ("icmp", "tcp", "dns", "http"):
            raise ValueError(f"method: expected icmp, tcp, dns or http, got {self.method!r}")
        if not self.targets:
            raise ValueError("targets: at least one target is needed (several: a dead target is not a dead link)")
        for t in self.targets:
            parse_target(t, self.method)
        if self.icmp_socket not in ("auto", "raw", "datagram"):
            raise ValueError(f"icmp_socket: expected auto, raw or datagram, got {self.icmp_socket!r}")
        for name in ("interval_s", "timeout_s", "backup_interval_s", "trickle_interval_s", "window_s", "history_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be above 0")
        if self.interval_s < 0.05:
            raise ValueError("interval_s: below 0.05 s floods the targets")
        if self.history_s < self.window_s:
            raise ValueError("history_s: must be at least window_s")


@dataclass(frozen=True)
class FailoverConfig:
    """When to leave the primary uplink and when to come back (docs/failover.md)."""
    standby: str = "hot"                  # hot: cellular stays up, failover is a route change; cold: up on failover
    down_window_s: float = 1.0            # at least this long without an answer from any target before "down"
    min_failures: int = 8                 # ... and at least this many failed probes in a row
    max_failures: int = 40                # on a lossy line more are needed (see false_down_probability), up to this
    false_down_probability: float = 1e-9  # accepted chance that a run of failures is only loss
    degraded_loss_pct: float = 20.0       # sustained probe loss above this: degraded
    degraded_rtt_ms: float = 300.0        # sustained median RTT above this: degraded
    degraded_window_s: float = 15.0       # "sustained"
    failover_when_degraded: bool = False  # a degraded primary is reported; leave it only if this is true
    recover_successes: int = 3            # answers needed before a down link counts as up again
    hold_down_s: float = 10.0             # the primary must stay healthy this long before failback
    hold_down_max_s: float = 120.0        # flap dampening doubles the hold-down per flap, up to this
    flap_window_s: float = 300.0          # losing the primary within this long after it came back is a flap
    flap_decay_s: float = 300.0           # each this long without a flap forgives one

    def validate(self) -> None:
        if self.standby not in ("hot", "cold"):
            raise ValueError(f"standby: expected hot or cold, got {self.standby!r}")
        if not 1 <= self.min_failures <= self.max_failures:
            raise ValueError("min_failures/max_failures: need 1 <= min_failures <= max_failures")
        if not 0 < self.false_down_probability < 1:
            raise ValueError("false_down_probability: must be between 0 and 1")
        if not 0 < self.degraded_loss_pct <= 100:
            raise ValueError("degraded_loss_pct: must be in (0, 100]")
        if self.recover_successes < 1:
            raise ValueError("recover_successes: must be at least 1")
        if not 0 <= self.hold_down_s <= self.hold_down_max_s:
            raise ValueError("hold_down_s: must be between 0 and hold_down_max_s")
        for name in ("down_window_s", "degraded_rtt_ms", "degraded_window_s", "flap_window_s", "flap_decay_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be above 0")


@dataclass(frozen=True)
class MqttConfig:
    """The central broker (docs/mqtt.md). Defaults are sized for <= 150 KB/day on the wire over cellular."""
    host: str = "localhost"
    port: int = 0                  # 0 = 8883 with TLS, 1883 without
    payload: str = "cbor"          # cbor | json (json for people reading with mosquitto_sub)
    protocol: str = "auto"         # auto = MQTT 5, falling back to 3.1.1 | "5" | "3.1.1"
    keepalive: int = 600           # MQTT liveness: the broker publishes the will after 1.5 x this
    nat_keepalive_s: int = 240     # TCP keepalive: keeps carrier NAT mappings (some drop idle TCP in < 5 min)
                                   # alive with 104-byte probes instead of 270-byte MQTT pings over TLS; 0 = off
    client_id: str = ""            # "" = the device id (one session per device, cluster-friendly)
    username: str = ""
    password: Secret | None = None
    tls: bool = False              # true: TLS (system CAs unless `ca` is set)
    ca: str = ""
    cert: str = ""                 # per-device client certificate (CN = device id) and its key
    key: str = ""
    topic_prefix: str = "relais/v1"
    telemetry_qos: int = 1         # events, state and replies are always QoS 1
    command_key: Secret | None = None    # set: every command must be HMAC-SHA256 signed
    replay_window_s: int = 300
    max_command_bytes: int = 4096
    at_passthrough: bool = False
    at_allowlist: tuple[str, ...] = ("AT+CSQ", "AT+CESQ", "AT+COPS?", "AT+CREG?", "AT+CEREG?", "AT+C5GREG?",
                                     "AT+CGREG?", "ATI", "AT+CGMI", "AT+CGMM", "AT+CGMR")
    heartbeat_s: int = 900
    telemetry_check_s: float = 10.0
    telemetry_min_interval_s: float = 60.0
    telemetry_max_per_hour: int = 4      # exception messages on top of the heartbeat: caps a noisy radio's cost
    telemetry_smoothing_s: float = 60.0  # EWMA time constant applied before the deadbands
    deadband_signal_db: float = 3.0      # RSRP / RSRQ / SINR / RSSI
    deadband_rtt_pct: float = 20.0
    deadband_loss_pct: float = 5.0
    state_debounce_s: float = 2.0
    state_max_per_hour: float = 4.0      # retained state republished at most this often, long-run
    outbox_max_messages: int = 10000     # beyond it telemetry is evicted, oldest first; events never
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 300.0

    def validate(self) -> None:
        if self.payload not in ("cbor", "json"):
            raise ValueError(f"payload: expected 'cbor' or 'json', got {self.payload!r}")
        if self.protocol not in ("auto", "5", "3.1.1"):
            raise ValueError(f"protocol: expected 'auto', '5' or '3.1.1', got {self.protocol!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port: {self.port} is not a TCP port")
        if not 10 <= self.keepalive <= 65535:
            raise ValueError(f"keepalive: expected 10..65535 seconds, got {self.keepalive}")
        if self.nat_keepalive_s != 0 and not 10 <= self.nat_keepalive_s <= 7200:
            raise ValueError(f"nat_keepalive_s: expected 0 (off) or 10..7200 seconds, got {self.nat_keepalive_s}")
        if (self.ca or self.cert or self.key) and not self.tls:
            raise ValueError("ca/cert/key are set but tls = false: set tls = true")
        if bool(self.cert) != bool(self.key):
            raise ValueError("cert and key go together: set both or neither")
        if not self.host:
            raise ValueError("host: must not be empty")
        parts = self.topic_prefix.split("/")
        if not self.topic_prefix or any(not p or set(p) & set("+#\0") for p in parts):
            raise ValueError(f"topic_prefix: {self.topic_prefix!r} must be non-empty levels without + # or //")
        if self.telemetry_qos not in (0, 1):
            raise ValueError(f"telemetry_qos: expected 0 or 1, got {self.telemetry_qos}")
        if not 10 <= self.replay_window_s <= 86400:
            raise ValueError(f"replay_window_s: expected 10..86400, got {self.replay_window_s}")
        if not 256 <= self.max_command_bytes <= 65536:
            raise ValueError(f"max_command_bytes: expected 256..65536, got {self.max_command_bytes}")
        for prefix in self.at_allowlist:
            if not prefix.upper().startswith("AT") or any(c in prefix for c in ";\r\n"):
                raise ValueError(f"at_allowlist: {prefix!r} must start with AT and hold no ; CR or LF")
        if self.heartbeat_s < 60:
            raise ValueError(f"heartbeat_s: expected >= 60, got {self.heartbeat_s}")
        for name in ("telemetry_check_s", "telemetry_min_interval_s", "state_debounce_s", "reconnect_min_s",
                     "deadband_signal_db", "deadband_rtt_pct", "deadband_loss_pct", "telemetry_smoothing_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must not be negative")
        if self.telemetry_check_s <= 0 or self.reconnect_min_s <= 0:
            raise ValueError("telemetry_check_s and reconnect_min_s must be > 0")
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        if self.state_max_per_hour < 1:
            raise ValueError(f"state_max_per_hour: expected >= 1, got {self.state_max_per_hour}")
        if self.outbox_max_messages < 100:
            raise ValueError(f"outbox_max_messages: expected >= 100, got {self.outbox_max_messages}")


@dataclass(frozen=True)
class SimRule:
    """A SIM-switch rule without a threshold: its condition must hold `duration_s` before it switches."""
    enabled: bool = True
    duration_s: float = 60.0


@dataclass(frozen=True)
class WeakSignalRule:
    enabled: bool = True
    rsrp_dbm: float = -120.0     # weak: RSRP below this ...
    sinr_db: float = -5.0        # ... or SINR below this (each only when the modem reports it)
    duration_s: float = 300.0


@dataclass(frozen=True)
class DataPathRule:
    enabled: bool = True
    failures: int = 5            # this many cellular-link probes failed in a row, the first of them
    duration_s: float = 120.0    # at least this long ago


@dataclass(frozen=True)
class SimRules:
    """docs/cellular.md#rules. The data cap itself is part of [usage]."""
    sim_failure: SimRule = field(default_factory=lambda: SimRule(duration_s=20.0))
    registration_denied: SimRule = field(default_factory=lambda: SimRule(duration_s=30.0))
    no_registration: SimRule = field(default_factory=lambda: SimRule(duration_s=120.0))
    data_cap: SimRule = field(default_factory=lambda: SimRule(duration_s=0.0))
    roaming: SimRule = field(default_factory=lambda: SimRule(duration_s=60.0))
    data_failing: DataPathRule = field(default_factory=DataPathRule)
    weak_signal: WeakSignalRule = field(default_factory=WeakSignalRule)


@dataclass(frozen=True)
class SimConfig:
    """One [[cellular.sim]] table: what is known about the SIM in one slot."""
    slot: int = 0
    apn: str = ""                # "" = from mobile-broadband-provider-info by the SIM's MCC/MNC
    pdp_type: str = "IPV4V6"     # IP | IPV6 | IPV4V6
    pin: Secret | None = None
    roaming: bool = False        # may stay registered while roaming (else the roaming rule switches)
    preferred_plmns: tuple[str, ...] = ()    # empty: [cellular] preferred_plmns
    forbidden_plmns: tuple[str, ...] = ()    # empty: [cellular] forbidden_plmns


@dataclass(frozen=True)
class LadderConfig:
    """The recovery ladder (docs/cellular.md#recovery-ladder): when it starts and how long each step gets."""
    enabled: bool = True
    unresponsive_s: float = 30.0     # AT polls failing this long
    port_gone_s: float = 60.0        # the serial port missing this long
    no_service_s: float = 300.0      # SIM ready, not denied, not registered this long (SIM rules act first)
    data_down_s: float = 300.0       # registered but the data session will not come up, this long
    reregister_window_s: float = 60.0
    radio_window_s: float = 60.0
    reset_window_s: float = 120.0
    usb_window_s: float = 120.0
    power_window_s: float = 180.0
    max_resets_per_hour: int = 4     # modem reset, USB rebind and power cycle together

    def validate(self) -> None:
        for name in ("unresponsive_s", "port_gone_s", "no_service_s", "data_down_s", "reregister_window_s",
                     "radio_window_s", "reset_window_s", "usb_window_s", "power_window_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be above 0")
        if self.max_resets_per_hour < 0:
            raise ValueError("max_resets_per_hour: must not be negative")


@dataclass(frozen=True)
class CellularConfig:
    """SIM switching, operator selection, data session, recovery ladder (docs/cellular.md)."""
    sim_slots: tuple[int, ...] = (1, 2)   # order = preference; clamped to the slots the modem has
    min_dwell_s: float = 120.0            # no rule switches again sooner after a switch
    backoff_max_s: float = 3600.0         # the dwell doubles per switch that did not help, up to this
    switch_timeout_s: float = 90.0        # a switched-to SIM must register within this
    return_after_s: float = 1800.0        # on another SIM this long: try the preferred one again
    return_check_s: float = 60.0          # ... which must register within this, else back
    preferred_plmns: tuple[str, ...] = ()  # "20801": manual selection (with automatic fallback), in order
    forbidden_plmns: tuple[str, ...] = ()
    operator_retry_s: float = 900.0       # between two attempts to move to a better / allowed PLMN
    data: bool = True                     # bring the data session up (false: ModemManager / NM do it)
    pdp_cid: int = 1
    data_retry_s: float = 30.0
    data_check_s: float = 60.0            # the PDP address is re-read this often
    apn_database: str = "/usr/share/mobile-broadband-provider-info/serviceproviders.xml"
    sim: tuple[SimConfig, ...] = ()
    rules: SimRules = field(default_factory=SimRules)
    ladder: LadderConfig = field(default_factory=LadderConfig)

    def validate(self) -> None:
        from agent.cellular.settings import check   # the meaning of the keys lives with the code that uses them
        check(self)

    def sim_for(self, slot: int) -> SimConfig:
        return next((s for s in self.sim if s.slot == slot), SimConfig(slot=slot))


@dataclass(frozen=True)
class SmsConfig:
    """SMS alerts and SMS commands (docs/cellular.md). SMS still gets through when the fiber is down."""
    alert_numbers: tuple[str, ...] = ()      # told about alert_events; "+33612345678", "0033...", or "06..." with
    alert_events: tuple[str, ...] = ("failover", "failback", "sim_switch", "data_cap_reached")   # country_code
    command_numbers: tuple[str, ...] = ()    # the only numbers whose SMS commands are considered
    pin: Secret | None = None                # every SMS command starts with it; required with command_numbers
    country_code: str = ""                   # "33": national numbers (0612...) read as +33612...
    max_alerts_per_hour: int = 6             # per number; beyond, alerts wait and go out merged
    coalesce_s: float = 5.0                  # events this close together go out as one SMS
    max_replies_per_hour: int = 20           # answers to commands, per number
    max_bad_pins_per_hour: int = 5           # per number; beyond, its SMS are ignored until the hour is over
    command_max_age_s: float = 900.0         # a stored command found later (agent down) and older is not run
    check_interval_s: float = 300.0          # list the SIM's messages this often too (a +CMTI can be missed)
    send_retries: int = 3                    # an SMS the modem could not send is tried again this many times
    primary_label: str = "FIBER"             # the primary uplink in alert texts: "FIBER DOWN 14:02 ..."

    def validate(self) -> None:
        from agent.cellular.sms import normalize_number   # the number rules live with the SMS code
        if self.country_code and not (self.country_code.isdigit() and 1 <= len(self.country_code) <= 3):
            raise ValueError(f"country_code: expected 1 to 3 digits (33 for France), got {self.country_code!r}")
        for name in ("alert_numbers", "command_numbers"):
            for number in getattr(self, name):
                if normalize_number(number, self.country_code) is None:
                    raise ValueError(f"{name}: {number!r} is not an international number (+33..., 0033...)"
                                     + ("" if self.country_code else " and country_code is not set"))
        if self.command_numbers:
            if self.pin is None:
                raise ValueError("pin: required when command_numbers is set")
        if self.pin is not None:
            pin = self.pin.value
            if not 4 <= len(pin) <= 32 or any(c.isspace() for c in pin) or not pin.isascii():
                raise ValueError("pin: 4 to 32 ASCII characters without spaces")
        if any(not e or not isinstance(e, str) for e in self.alert_events):
            raise ValueError("alert_events: event names must not be empty")
        for name in ("max_alerts_per_hour", "max_replies_per_hour", "max_bad_pins_per_hour"):
            if not 1 <= getattr(self, name) <= 1000:
                raise ValueError(f"{name}: expected 1..1000")
        if not 0 <= self.coalesce_s <= 600:
            raise ValueError("coalesce_s: expected 0..600 seconds")
        if not 60 <= self.command_max_age_s <= 86400:
            raise ValueError("command_max_age_s: expected 60..86400 seconds")
        if not 10 <= self.check_interval_s <= 86400:
            raise ValueError("check_interval_s: expected 10..86400 seconds")
        if not 0 <= self.send_retries <= 10:
            raise ValueError("send_retries: expected 0..10")
        label = self.primary_label
        if not (1 <= len(label) <= 16 and label.isascii() and label.isprintable()):
            raise ValueError("primary_label: 1 to 16 printable ASCII characters")


@dataclass(frozen=True)
class TimeConfig:
    """Where timestamps come from (docs/cellular.md): NTP when the kernel says the clock is synchronised, else the
    modem's network time (NITZ), else the unsynced system clock; each timestamp says which."""
    modem_time: bool = True            # read the modem clock while the system clock is not synchronised
    set_system_clock: bool = False     # also step the system clock to it (needs CAP_SYS_TIME), only when unsynced
    modem_poll_s: float = 600.0        # re-read the modem clock this often while unsynced
    modem_time_max_age_s: float = 3600.0   # a modem reading older than this is not used any more
    ntp_check_s: float = 5.0           # a kernel sync-status reading is reused this long
    step_threshold_s: float = 2.0      # set_system_clock: step only when the clock is off by more

    def validate(self) -> None:
        if not 10 <= self.modem_poll_s <= 86400:
            raise ValueError("modem_poll_s: expected 10..86400 seconds")
        if not self.modem_poll_s <= self.modem_time_max_age_s <= 7 * 86400:
            raise ValueError("modem_time_max_age_s: expected modem_poll_s..604800 seconds")
        if not 0.1 <= self.ntp_check_s <= 3600:
            raise ValueError("ntp_check_s: expected 0.1..3600 seconds")
        if not 0.5 <= self.step_threshold_s <= 3600:
            raise ValueError("step_threshold_s: expected 0.5..3600 seconds")


@dataclass(frozen=True)
class UsageConfig:
    """Cellular data used per SIM per billing period (docs/cellular.md), from the interface's byte counters."""
    interface: str = ""                # "" = [board] cellular_interface
    statistics_dir: str = "/sys/class/net"   # counters at <dir>/<interface>/statistics/{rx,tx}_bytes
    billing_day: int = 1               # the period starts on this day of the month (the last day if shorter)
    timezone: str = ""                 # for the billing day, e.g. "Europe/Paris"; "" = the system's local time
    cap_slot1_mb: float = 0.0          # data_cap_reached beyond this (MB = 10^6 bytes, as operators count); 0 = none
    cap_slot2_mb: float = 0.0
    warn_pct: float = 80.0             # data_cap_warning at this share of the cap; 0 = no warning
    sample_s: float = 10.0             # counters are read this often (a 32-bit counter wraps in 34 s at 1 Gbit/s)
    write_interval_s: float = 300.0    # totals reach the flash at most this often (and on SIM change, cap, stop)

    def validate(self) -> None:
        if not 1 <= self.billing_day <= 31:
            raise ValueError("billing_day: expected 1..31")
        if self.timezone:
            try:
                from zoneinfo import ZoneInfo
                ZoneInfo(self.timezone)
            except Exception:
                raise ValueError(f"timezone: unknown time zone {self.timezone!r}") from None
        for name in ("cap_slot1_mb", "cap_slot2_mb"):
            if not 0 <= getattr(self, name) <= 1e9:
                raise ValueError(f"{name}: expected 0 (no cap) or a number of MB")
        if not 0 <= self.warn_pct < 100:
            raise ValueError("warn_pct: expected 0..99")
        if not 1 <= self.sample_s <= 30:
            raise ValueError("sample_s: expected 1..30 seconds (32-bit counters wrap quickly)")
        if not 10 <= self.write_interval_s <= 86400:
            raise ValueError("write_interval_s: expected 10..86400 seconds")
        if "/" in self.interface:
            raise ValueError(f"interface: {self.interface!r} is not an interface name")

    def cap_bytes(self, slot: int | None) -> int | None:
        mb = {1: self.cap_slot1_mb, 2: self.cap_slot2_mb}.get(slot or 0, 0.0)
        return int(mb * 1_000_000) if mb > 0 else None


@dataclass(frozen=True)
class Config:
    device: DeviceConfig = field(default_factory=DeviceConfig)
    modem: ModemConfig = field(default_factory=ModemConfig)
    board: BoardConfig = field(default_factory=BoardConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    probes: ProbesConfig = field(default_factory=ProbesConfig)
    failover: FailoverConfig = field(default_factory=FailoverConfig)
    cellular: CellularConfig = field(default_factory=CellularConfig)
    usage: UsageConfig = field(default_factory=UsageConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)
    time: TimeConfig = field(default_factory=TimeConfig)
    source: str = "<defaults>"


# ---- loading --------------------------------------------------------------------------------------------------

def load(path: str | os.PathLike) -> Config:
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from None
    return from_dict(raw, source=str(p))


def from_dict(raw: dict, source: str = "<dict>") -> Config:
    sections = {f.name: f for f in dataclasses.fields(Config) if f.name != "source"}
    values: dict[str, object] = {}
    for name, value in raw.items():
        if name not in sections:
            raise ConfigError(f"{source}: unknown section [{name}] (known: {', '.join(sorted(sections))})")
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: [{name}] must be a table")
        values[name] = _section(typing.get_type_hints(Config)[name], value, f"{source}: [{name}]")
    return Config(**values, source=source)


def _section(cls: type, raw: dict, where: str):
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"{where} unknown key '{key}' (known: {', '.join(sorted(known))})")
        kwargs[key] = _coerce(hints[key], value, f"{where} {key}")
    try:
        obj = cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where} {e}") from None
    check = getattr(obj, "validate", None)
    if check is not None:
        try:
            check()
        except ValueError as e:
            raise ConfigError(f"{where} {e}") from None
    return obj


def _coerce(hint, value, where: str):
    """Check a TOML value against a dataclass field type: str, int, float, bool, Secret, list[X], X | None."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return _coerce(args[0], value, where)
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {_show(value)}")
        (item,) = typing.get_args(hint)[:1]
        items = [_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if hint is Secret:
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ConfigError(f"{where}: expected a string")
        return Secret(str(value))
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {_show(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {_show(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {_show(value)}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {_show(value)}")
        return value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table")
        return _section(hint, value, where)
    return value


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def write_atomically(path: str | os.PathLike, text: str) -> None:
    """Replace a file so that a power cut leaves either the old or the new content, never half of each."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
        dfd = os.open(p.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
