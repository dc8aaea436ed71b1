"""Configuration: one TOML file, validated into frozen dataclasses, one per section.

A config file is input from outside: every problem is a ConfigError of one line, "<file>: [section] key: expected
..., got ...", never a traceback. Unknown keys are errors too (a typo must not silently fall back to a default on a
router nobody visits). Secrets (PINs, passwords, keys) are typed `Secret` so they never print.

    schema.py     the constraint markers (Range, NonEmpty, Pattern, File...) and the one check() that applies them
    sections.py   [device] [modem] [board] [led] [storage] [probes] [failover] [mqtt] [time] [usage] [[services]]
                  [drills] [console] [business] [[contracts]]
    cellular.py   [cellular] and [sms]
    notify.py     [email] (the incident notice)
    speedtest.py  [speedtest] (speed evidence)
    plan.py       [plan] and [[contacts]] (the continuity sheet)
    power.py      [power] (the UPS through NUT)
    traffic.py    [traffic] and [[traffic.critical]] / normal / bulk (traffic classes on cellular)
    uplinks.py    [[uplinks]] (N uplinks; without them, "primary" and "backup" from [board])
    grammar.py    probe targets, service checks and phone numbers, parsed by the loader and again by the probers and the SMS code
    loader.py     read_toml() and build(): walks any tree of such dataclasses, knows no section's meaning
    toml_text.py  dump_toml(): TOML text from plain data (set_config writes the file with it)
    render.py     the effective configuration back as TOML or JSON, secrets masked (`relais config show`)
    cli.py        `relais config check FILE` and `relais config show`
    doc.py        docs/config.md, generated from the dataclasses (`python -m agent.config.doc`)
    atomic.py     write_atomically(), for set_config and the status file

The package imports nothing else from agent/: everything reads the config, so the config depends on nothing.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from agent.config.atomic import write_atomically
from agent.config.cellular import (CellularConfig, DataPathRule, LadderConfig, SimConfig, SimRule, SimRules,
                                   SmsConfig, WeakSignalRule)
from agent.config.loader import ConfigError, build, problems, read_toml
from agent.config.notify import EmailConfig
from agent.config.schema import Secret
from agent.config.sections import (BoardConfig, BusinessConfig, ConsoleConfig, ContractConfig, DeviceConfig,
                                   DrillsConfig, FailoverConfig, LedConfig, ModemConfig, MqttConfig, ProbesConfig,
                                   ServiceConfig, StorageConfig, TimeConfig, UsageConfig)
from agent.config.plan import ContactConfig, PlanConfig
from agent.config.power import PowerConfig
from agent.config.speedtest import SpeedtestConfig, check_links as check_speedtest_links
from agent.config.traffic import TrafficConfig, TrafficRule
from agent.config.uplinks import UplinkConfig, check_uplinks, effective


@dataclass(frozen=True)
class Config:
    device: DeviceConfig = field(default_factory=DeviceConfig)
    modem: ModemConfig = field(default_factory=ModemConfig)
    board: BoardConfig = field(default_factory=BoardConfig)
    led: LedConfig = field(default_factory=LedConfig)        # [board] led = "gpio"
    storage: StorageConfig = field(default_factory=StorageConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    probes: ProbesConfig = field(default_factory=ProbesConfig)
    failover: FailoverConfig = field(default_factory=FailoverConfig)
    cellular: CellularConfig = field(default_factory=CellularConfig)
    usage: UsageConfig = field(default_factory=UsageConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)
    time: TimeConfig = field(default_factory=TimeConfig)
    services: tuple[ServiceConfig, ...] = ()    # [[services]]: checked through the backup by drills
    email: EmailConfig = field(default_factory=EmailConfig)
    drills: DrillsConfig = field(default_factory=DrillsConfig)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    business: BusinessConfig = field(default_factory=BusinessConfig)   # for `relais report`
    contracts: tuple[ContractConfig, ...] = ()   # [[contracts]]: each uplink's promises, checked by the report
    speedtest: SpeedtestConfig = field(default_factory=SpeedtestConfig)
    plan: PlanConfig = field(default_factory=PlanConfig)        # the continuity sheet (`relais plan`)
    contacts: tuple[ContactConfig, ...] = ()   # [[contacts]]: whom to call, in the order of the escalation
    power: PowerConfig = field(default_factory=PowerConfig)   # the UPS through NUT
    traffic: TrafficConfig = field(default_factory=TrafficConfig)   # classes on cellular, [[traffic.critical]] ...
    uplinks: tuple[UplinkConfig, ...] = ()   # [[uplinks]]: none = [board] primary_interface + cellular_interface
    source: str = "<defaults>"

    def validate(self) -> None:
        """What involves several sections (the loader runs it once every section has loaded)."""
        check_uplinks(self.board, self.uplinks, self.probes.method, self.contracts)
        check_speedtest_links(self.speedtest, self.effective_uplinks())

    def effective_uplinks(self) -> tuple[UplinkConfig, ...]:
        """Every uplink in priority order: the [[uplinks]], or "primary" and "backup" from [board]."""
        return effective(self.board, self.uplinks)

    def route_options(self) -> dict:
        """Keyword arguments for board.routes.open_backend(self.board.backend, **options): [board]'s, and the
        [[uplinks]] when there are some (board.routes.base.UplinkRoute's fields)."""
        options = self.board.route_options()
        if self.uplinks:
            options["uplinks"] = tuple(
                {"name": u.name, "interface": u.interface, "cellular": u.cellular, "gateway": u.gateway,
                 "gateway6": u.gateway6, "table": u.table, "connection": u.connection}
                for u in self.effective_uplinks())
        return options


DEFAULT_PATH = "/etc/relais/relais.toml"    # where the packages install the site's configuration


def load(path: str | os.PathLike) -> Config:
    return build(Config, read_toml(path), source=str(path))


def load_or_defaults(path: str | os.PathLike | None) -> Config:
    """The file at `path`; without one, DEFAULT_PATH when it exists, else the built-in defaults (a command run on a
    workstation, or before the site is configured). ConfigError as load()."""
    if path is None and not os.path.exists(DEFAULT_PATH):
        return Config()
    return load(path or DEFAULT_PATH)


def problems_in(path: str | os.PathLike) -> list[str]:
    """Every problem of the file at `path`, one line each ([] = it loads); ConfigError when it cannot be read or
    is not TOML at all."""
    return problems(Config, read_toml(path), source=str(path))


def from_dict(raw: dict, source: str = "<dict>") -> Config:
    return build(Config, raw, source)


__all__ = ["Config", "ConfigError", "Secret", "DEFAULT_PATH", "load", "load_or_defaults", "problems_in", "from_dict", "write_atomically",
           "DeviceConfig", "ModemConfig", "BoardConfig", "StorageConfig", "ProbesConfig", "FailoverConfig",
           "MqttConfig", "TimeConfig", "UsageConfig", "ServiceConfig", "CellularConfig", "SmsConfig", "SimConfig",
           "SimRule", "SimRules", "DataPathRule", "WeakSignalRule", "LadderConfig", "EmailConfig", "DrillsConfig",
           "ConsoleConfig", "BusinessConfig", "ContractConfig", "SpeedtestConfig",
           "PlanConfig", "ContactConfig", "PowerConfig", "UplinkConfig"]
