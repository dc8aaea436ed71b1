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


@dataclass(frozen=True)
class StorageConfig:
    dir: str = "/var/lib/relais"


@dataclass(frozen=True)
class Config:
    device: DeviceConfig = field(default_factory=DeviceConfig)
    modem: ModemConfig = field(default_factory=ModemConfig)
    board: BoardConfig = field(default_factory=BoardConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
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
