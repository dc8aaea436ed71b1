"""Exponential backoff, one definition for every retry loop (the AT port's reopen, the MQTT reconnect, the data
session's retry). Pure: the caller counts attempts and passes the random draw in, so tests get exact delays.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Attempt n (from 0) waits initial_s * factor**n, capped at max_s.

    jitter (0 to 1) spreads the delay down towards initial_s: with rand in [0, 1) the delay is
    cap - jitter * rand * (cap - initial_s). jitter=1 draws it from [initial_s, cap] — a fleet that lost its
    server does not come back in the same second; jitter=0 is the bare exponential.
    """
    initial_s: float
    max_s: float
    factor: float = 2.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if not self.initial_s > 0 or not self.max_s > 0:
            raise ValueError(f"backoff delays must be > 0 (initial_s={self.initial_s}, max_s={self.max_s})")
        if not self.factor >= 1:
            raise ValueError(f"backoff factor must be at least 1, got {self.factor}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"backoff jitter must be between 0 and 1, got {self.jitter}")

    def delay(self, attempt: int, rand: float = 0.0) -> float:
        if attempt < 0:
            raise ValueError(f"attempt counts from 0, got {attempt}")
        if not 0 <= rand <= 1:
            raise ValueError(f"rand must be between 0 and 1, got {rand}")
        try:
            cap = min(self.initial_s * self.factor ** attempt, self.max_s)
        except OverflowError:                    # thousands of attempts: long since at the cap
            cap = self.max_s
        return cap - self.jitter * rand * max(0.0, cap - self.initial_s)
