"""One finding of `relais doctor`: what was checked, how it stands, what the technician sees and what to do."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import IntEnum


class Level(IntEnum):
    """Ordered by severity, so that the worst of several is max(). SKIP: the check could not run because an earlier
    one failed (no modem: no SIM to read); it is not OK and it is not the cause, the FAIL above it is."""
    OK = 0
    SKIP = 1
    WARN = 2
    FAIL = 3


@dataclass(frozen=True)
class Check:
    name: str          # "serial port", "SIM", "broker" ...
    level: Level
    detail: str        # what was found, one line
    advice: str = ""   # what to do about it; "" when there is nothing to do

    def to_json(self) -> dict:
        return {**asdict(self), "level": self.level.name}


def ok(name: str, detail: str) -> Check:
    return Check(name, Level.OK, detail)


def warn(name: str, detail: str, advice: str) -> Check:
    return Check(name, Level.WARN, detail, advice)


def fail(name: str, detail: str, advice: str) -> Check:
    return Check(name, Level.FAIL, detail, advice)


def skip(name: str, why: str) -> Check:
    return Check(name, Level.SKIP, why)
