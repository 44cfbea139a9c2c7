"""The services' clock: wall time, optionally running faster than real time from a common start.

``now_ns = t0_ns + (wall_ns - t0_ns) * speed``. With ``speed == 1`` it is the wall clock. The demo runs a
scenario faster than real time by giving every process (nodes and fusion) the same ``t0_ns`` and ``speed``,
so that track times, the fusion service's staleness checks and time-to-impact all agree.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


class ClockLike(Protocol):
    """What the services need of a clock: :class:`Clock` (live) or :class:`ManualClock` (replay)."""

    @property
    def t0_ns(self) -> int: ...

    @property
    def speed(self) -> float: ...

    def now_ns(self) -> int: ...


@dataclass(frozen=True)
class Clock:
    t0_ns: int = 0
    speed: float = 1.0

    def now_ns(self) -> int:
        wall = time.time_ns()
        if self.speed == 1.0:
            return wall
        return self.t0_ns + int((wall - self.t0_ns) * self.speed)

    def wall_delay_s(self, target_ns: int) -> float:
        """Wall-clock seconds until this clock reads ``target_ns`` (negative if already past)."""
        return (target_ns - self.now_ns()) * 1e-9 / self.speed


class ManualClock:
    """A clock that reads what it was last set to: replays drive it tick by tick, so a replay is
    deterministic and its timestamps are the scenario's own, however fast it runs."""

    speed = 1.0

    def __init__(self, now_ns: int) -> None:
        self.t0_ns = now_ns
        self._now_ns = now_ns

    def now_ns(self) -> int:
        return self._now_ns

    def set(self, now_ns: int) -> None:
        self._now_ns = now_ns
