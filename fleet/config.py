"""fleet.toml: where the broker and the database are (docs/fleet.md has a commented example).

    database = "/var/lib/relais-fleet/fleet.db"      # or "postgresql://fleet@db.example/relais"
    [mqtt]      host, port, username, password, tls, ca, cert, key, client_id, group, topic_prefix, session_expiry_s
    [ingest]    max_message_bytes, batch_max, batch_wait_s, devices
    [commands]  keys (a directory of <device_id>.key files), reply_timeout_s
    [console]   listen, secure_cookies, origin, trust_proxy, idle_s, absolute_s, page_size, live_every_s
    [correlate], [alerts]  provider incidents and alerts (read by fleet/watch.py, which checks them)

Errors are one line in the agent's wording: "<file>: [section] key: expected …, got …". The fleet does not use the
agent's loader (fleet/ never imports agent/); this file is small enough to check its keys by a table.
"""
from __future__ import annotations

import difflib
import math
import socket
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from common.wire.topics import is_topic_level


class FleetConfigError(ValueError):
    pass


@dataclass(frozen=True)
class MqttSettings:
    host: str = "localhost"
    port: int = 0                       # 0 = 8883 with TLS, 1883 without
    username: str | None = None
    password: str | None = field(default=None, repr=False)   # never logged
    tls: bool = False
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    client_id: str = ""                 # "" = relais-fleet-<hostname>: each instance needs its own
    group: str = "relais-fleet"         # the shared subscription's group: instances in one group split the load;
                                        # "" = a plain subscription (one instance; survives Mosquitto restarts)
    topic_prefix: str = "relais/v1"
    session_expiry_s: int = 86400       # how long the broker keeps our queue while `fleet serve` is down

    @property
    def effective_port(self) -> int:
        return self.port or (8883 if self.tls else 1883)

    @property
    def effective_client_id(self) -> str:
        return self.client_id or f"relais-fleet-{socket.gethostname()}"[:64]


@dataclass(frozen=True)
class IngestSettings:
    max_message_bytes: int = 64 * 1024
    batch_max: int = 1000        # messages per database transaction
    batch_wait_s: float = 0.05   # how long a batch waits to fill: the latency added to a lone message
    devices: str = ""            # a file of known device ids, one a line: others are ignored; "" = every device


@dataclass(frozen=True)
class CommandSettings:
    keys: str = "/etc/relais-fleet/keys"   # <device_id>.key: the device's [mqtt] command_key
    reply_timeout_s: float = 30.0


@dataclass(frozen=True)
class ConsoleSettings:
    listen: str = "127.0.0.1:8080"   # host:port of the web console; "" = no console. Loopback by default: put a
                                     # reverse proxy with TLS in front (docs/fleet.md, "Console")
    secure_cookies: bool = False     # true behind HTTPS: the session cookie is sent over HTTPS only
    origin: str = ""                 # the console's address as browsers see it ("https://fleet.example.com"): POSTs
                                     # from any other origin are refused; "" = the Host header's, http or https
                                     # (a Host naming neither an IP, localhost, listen nor origin: refused, 421)
    trust_proxy: bool = False        # the client's address from X-Forwarded-For (set by the reverse proxy):
                                     # login attempts are limited per source address
    idle_s: float = 1800.0           # a session ends after this long without a request
    absolute_s: float = 43200.0      # ... and this long after its login, whatever happens
    page_size: int = 200             # rows of the fleet table per page
    live_every_s: float = 2.0        # how often the live updates (server-sent events) look for changes


@dataclass(frozen=True)
class FleetConfig:
    database: str = "/var/lib/relais-fleet/fleet.db"
    mqtt: MqttSettings = MqttSettings()
    ingest: IngestSettings = IngestSettings()
    commands: CommandSettings = CommandSettings()
    console: ConsoleSettings = ConsoleSettings()
    correlate: dict[str, Any] = field(default_factory=dict)   # as read; fleet/watch.py checks and uses them
    alerts: dict[str, Any] = field(default_factory=dict)


# (section, key) -> (check, what is expected)
_RULES: dict[tuple[str, str], tuple[Any, str]] = {
    ("", "database"): (lambda v: isinstance(v, str) and v.strip() != "", "a file path or a postgresql:// URL"),
    ("mqtt", "host"): (lambda v: isinstance(v, str) and v != "", "a host name"),
    ("mqtt", "port"): (lambda v: _int(v) and 0 <= v <= 65535, "an integer from 0 to 65535"),
    ("mqtt", "username"): (lambda v: isinstance(v, str), "a string"),
    ("mqtt", "password"): (lambda v: isinstance(v, str), "a string"),
    ("mqtt", "tls"): (lambda v: isinstance(v, bool), "true or false"),
    ("mqtt", "ca"): (lambda v: isinstance(v, str) and Path(v).is_file(), "a readable file"),
    ("mqtt", "cert"): (lambda v: isinstance(v, str) and Path(v).is_file(), "a readable file"),
    ("mqtt", "key"): (lambda v: isinstance(v, str) and Path(v).is_file(), "a readable file"),
    ("mqtt", "client_id"): (lambda v: isinstance(v, str) and (v == "" or is_topic_level(v)),
                            "1-64 of A-Z a-z 0-9 _ . : -"),
    ("mqtt", "group"): (lambda v: isinstance(v, str) and (v == "" or is_topic_level(v)),
                        '"" or 1-64 of A-Z a-z 0-9 _ . : -'),
    ("mqtt", "topic_prefix"): (lambda v: isinstance(v, str) and v != "" and not any(c in v for c in "+#")
                               and not v.startswith("/") and not v.endswith("/"), "a topic without wildcards"),
    ("mqtt", "session_expiry_s"): (lambda v: _int(v) and 0 <= v <= 2 ** 32 - 1, "an integer from 0 to 4294967295"),
    ("ingest", "max_message_bytes"): (lambda v: _int(v) and 256 <= v <= 16 * 2 ** 20,
                                      "an integer from 256 to 16777216"),
    ("ingest", "batch_max"): (lambda v: _int(v) and 1 <= v <= 65535, "an integer from 1 to 65535"),
    ("ingest", "batch_wait_s"): (lambda v: _num(v) and 0 <= v <= 10, "a number from 0 to 10"),
    ("ingest", "devices"): (lambda v: isinstance(v, str) and (v == "" or Path(v).is_file()),
                            '"" or a readable file'),
    ("commands", "keys"): (lambda v: isinstance(v, str) and v != "", "a directory"),
    ("commands", "reply_timeout_s"): (lambda v: _num(v) and 0 < v <= 3600, "a number from 0 to 3600"),
    ("console", "listen"): (lambda v: isinstance(v, str) and (v == "" or _host_port(v)), '"" or host:port'),
    ("console", "secure_cookies"): (lambda v: isinstance(v, bool), "true or false"),
    ("console", "origin"): (lambda v: isinstance(v, str) and (v == "" or (v.startswith(("http://", "https://"))
                            and "/" not in v.split("://", 1)[1])), '"" or http(s)://host[:port] without a path'),
    ("console", "trust_proxy"): (lambda v: isinstance(v, bool), "true or false"),
    ("console", "idle_s"): (lambda v: _num(v) and 60 <= v <= 86400 * 7, "a number from 60 to 604800"),
    ("console", "absolute_s"): (lambda v: _num(v) and 60 <= v <= 86400 * 30, "a number from 60 to 2592000"),
    ("console", "page_size"): (lambda v: _int(v) and 10 <= v <= 10000, "an integer from 10 to 10000"),
    ("console", "live_every_s"): (lambda v: _num(v) and 0.2 <= v <= 600, "a number from 0.2 to 600"),
}
_SECTIONS = {"mqtt": MqttSettings, "ingest": IngestSettings, "commands": CommandSettings,
             "console": ConsoleSettings}
_SECRET = {("mqtt", "password")}
_WATCH_TABLES = ("correlate", "alerts")   # checked as a whole by fleet.watch.WatchSettings


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _host_port(v: str) -> bool:
    host, _, port = v.rpartition(":")
    return host != "" and port.isdigit() and 0 <= int(port) <= 65535


def _num(v: Any) -> bool:
    return (_int(v) or isinstance(v, float)) and math.isfinite(v)


def load(path: str | Path) -> FleetConfig:
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except OSError as e:
        raise FleetConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise FleetConfigError(f"{path}: not valid TOML: {e}") from None
    return from_dict(doc, str(path))


def from_dict(doc: dict[str, Any], where: str = "fleet.toml") -> FleetConfig:
    top: dict[str, Any] = {}
    sections: dict[str, dict[str, Any]] = {}
    for key, value in doc.items():
        if key in _SECTIONS:
            if not isinstance(value, dict):
                raise FleetConfigError(f"{where}: [{key}]: expected a table, got {type(value).__name__}")
            sections[key] = {k: _checked(where, key, k, v) for k, v in value.items()}
        elif key in _WATCH_TABLES:
            if not isinstance(value, dict):
                raise FleetConfigError(f"{where}: [{key}]: expected a table, got {type(value).__name__}")
            top[key] = value
        else:
            top[key] = _checked(where, "", key, value)
    config = FleetConfig(**top, **{name: cls(**sections.get(name, {})) for name, cls in _SECTIONS.items()})
    if config.correlate or config.alerts:
        from fleet.alerts.config import ConfigError
        from fleet.watch_config import WatchSettings
        try:
            WatchSettings.from_config(config, where)
        except ConfigError as e:
            raise FleetConfigError(str(e)) from None
    return config


def _checked(where: str, section: str, key: str, value: Any) -> Any:
    label = f"[{section}] {key}" if section else key
    rule = _RULES.get((section, key))
    if rule is None:
        known = [k for s, k in _RULES if s == section] + ([] if section else [*_SECTIONS, *_WATCH_TABLES])
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise FleetConfigError(f"{where}: {label}: unknown key{hint}")
    check, expected = rule
    if not check(value):
        shown = "***" if (section, key) in _SECRET else repr(value)[:60]
        raise FleetConfigError(f"{where}: {label}: expected {expected}, got {shown}")
    return float(value) if isinstance(_default(section, key), float) else value   # TOML's 1 for a 1.0 key


def _default(section: str, key: str) -> Any:
    cls = _SECTIONS.get(section, FleetConfig)
    return next((f.default for f in fields(cls) if f.name == key), None)
