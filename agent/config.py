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
    backend: str = "sim"         # sim | iproute2 | networkmanager
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

    def validate(self) -> None:
        from board.routes import RouteError, check_options   # each backend knows what its options must be
        try:
            check_options(self.backend, **self.route_options())
        except RouteError as e:
            raise ValueError(str(e)) from None

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
    dns_name: str = "example.com"
    netns: str = ""                    # network namespace holding the uplinks; "" = the agent's own

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
    keepalive: int = 300           # carrier NATs drop idle TCP after ~5 min; see BENCHMARKS.md for the byte cost
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
    telemetry_max_per_hour: int = 6      # exception messages on top of the heartbeat: caps a noisy radio's cost
    telemetry_smoothing_s: float = 60.0  # EWMA time constant applied before the deadbands
    deadband_signal_db: float = 3.0      # RSRP / RSRQ / SINR / RSSI
    deadband_rtt_pct: float = 20.0
    deadband_loss_pct: float = 5.0
    state_debounce_s: float = 2.0
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
        if self.outbox_max_messages < 100:
            raise ValueError(f"outbox_max_messages: expected >= 100, got {self.outbox_max_messages}")


@dataclass(frozen=True)
class Config:
    device: DeviceConfig = field(default_factory=DeviceConfig)
    modem: ModemConfig = field(default_factory=ModemConfig)
    board: BoardConfig = field(default_factory=BoardConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    probes: ProbesConfig = field(default_factory=ProbesConfig)
    failover: FailoverConfig = field(default_factory=FailoverConfig)
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
