"""Logging set-up, and a per-reason rate limit for log lines about bad input and broken invariants (counted
always in metrics, logged at most once a minute per reason)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )


class RateLimitedLog:
    """Log lines rate-limited per reason: the first line of a reason is logged at once, then at most one per
    ``interval_s`` (monotonic clock), each saying how many of that reason were suppressed since the last one.
    Callers count every occurrence in metrics; this only bounds the log.

    Memory is bounded: past ``max_reasons`` distinct reasons, the further ones share the key ``"other"``
    (so a flood of distinct reasons costs one line per interval, not one line per message)."""

    def __init__(
        self,
        logger: logging.Logger,
        interval_s: float = 60.0,
        max_reasons: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval_s = interval_s
        self._max_reasons = max_reasons
        self._clock = clock
        self._state: dict[str, list[float]] = {}  # reason -> [time of its last line, suppressed since]

    def warning(self, reason: str, msg: str, *args: object) -> bool:
        """Log ``msg % args`` unless a line of ``reason`` was logged less than ``interval_s`` ago; True if
        logged."""
        return self.log(logging.WARNING, reason, msg, *args)

    def log(self, level: int, reason: str, msg: str, *args: object, **kwargs: Any) -> bool:
        if reason not in self._state and len(self._state) >= self._max_reasons:
            reason = "other"
        now = self._clock()
        state = self._state.get(reason)
        if state is not None and now - state[0] < self._interval_s:
            state[1] += 1
            return False
        suppressed = 0 if state is None else int(state[1])
        self._state[reason] = [now, 0]
        tail = f" [{suppressed} more of {reason!r} suppressed in the last {self._interval_s:g} s]" if suppressed else ""
        self._logger.log(level, msg + "%s", *args, tail, **kwargs)
        return True
