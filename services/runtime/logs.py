"""Logging set-up, and the log-once helper for rejected input (bad input is logged once, counted always)."""

from __future__ import annotations

import logging
import sys


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )


class LogOnce:
    """Log the first occurrence of each (source, reason) key; later ones are only counted by the caller.

    The set of keys is bounded so that a flood of distinct keys cannot grow memory without limit.
    """

    def __init__(self, logger: logging.Logger, max_keys: int = 10_000) -> None:
        self._logger = logger
        self._seen: set[tuple[str, str]] = set()
        self._max_keys = max_keys

    def warning(self, source: str, reason: str, detail: str) -> bool:
        key = (source, reason)
        if key in self._seen:
            return False
        if len(self._seen) < self._max_keys:
            self._seen.add(key)
        self._logger.warning("rejected input from %s (%s): %s [further ones only counted]", source, reason, detail)
        return True
