"""One subscriber of a view: its backlog (the snapshot, or the history it resumes from the log), then the live
updates the hub pushes into its bounded queue."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable

import grpc

from triwarn.services.distribution.filters import FilterSpec, filter_update
from triwarn.services.distribution.view import ViewState
from triwarn.services.distribution.warning_log import WarningLog
from triwarn.v1 import picture_pb2

#: Rows read from the log per page when a subscriber resumes.
_HISTORY_PAGE = 500


class Subscription:
    """One subscriber: its backlog (the snapshot, or the history it resumes), then live updates from a
    bounded queue. Iterate with ``async for data in sub.stream()`` (serialized ``PictureUpdate`` bytes); when
    the stream stops, ``sub.end`` holds the status to end the call with (None: the caller stopped)."""

    def __init__(
        self,
        view: ViewState,
        spec: FilterSpec,
        maxsize: int,
        snapshot: bytes | None,
        history: tuple[int, int] | None,
        wlog: WarningLog,
        unregister: Callable[[Subscription], None],
    ) -> None:
        """``history``: (after_seq, up_to_seq), the updates to read from ``wlog`` before the live ones;
        ``unregister``: called by :meth:`close`."""
        self._view = view
        self.spec = spec
        self._maxsize = maxsize
        self._snapshot = snapshot
        self._history = history  # (after_seq, up_to_seq): read (after, up_to] from the log
        self._log = wlog
        self._unregister = unregister
        self._items: deque[tuple[int, float, bytes]] = deque()  # (seq, monotonic time pushed, data)
        self._event = asyncio.Event()
        self.end: tuple[grpc.StatusCode, str] | None = None
        #: Longest an update may wait for gRPC to accept it (seconds; 0: no bound), see :meth:`push`.
        self.max_lag_s = 0.0
        #: While the gRPC handler waits in ``write``: how to end the call from outside it (set by the handler).
        self.abort_stuck_write: Callable[[grpc.StatusCode, str], None] | None = None
        self.writing = False
        self._current: tuple[int, float] | None = None  # (seq, pushed) of the live update being written
        #: Lag of the last update gRPC accepted: in updates (the view's last seq minus its seq) and seconds
        #: (from the hub's push to gRPC's acceptance).
        self.lag_updates = 0
        self.lag_s = 0.0

    @property
    def depth(self) -> int:
        return len(self._items)

    def push(self, data: bytes, seq: int = 0) -> bool:
        """Queue update ``seq``; False (and the subscription ended with RESOURCE_EXHAUSTED) when the queue is
        full, or when its oldest update has waited more than ``max_lag_s`` for gRPC to accept it: the
        subscriber reads too slowly (or not at all), whatever gRPC's own buffers hold."""
        if self.end is not None:
            return False
        now = time.monotonic()
        if len(self._items) >= self._maxsize:
            self.finish(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"subscriber fell behind by more than {self._maxsize} updates: resume after the last seq you received",
            )
            return False
        oldest = self._items[0][1] if self._items else (self._current[1] if self.writing and self._current else now)
        if self.max_lag_s > 0 and now - oldest > self.max_lag_s:
            self.finish(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"subscriber fell behind by more than {self.max_lag_s:g} s: read faster (or with a smaller receive "
                "window) and resume after the last seq you received",
            )
            return False
        self._items.append((seq, now, data))
        self._event.set()
        return True

    def accepted(self) -> None:
        """gRPC accepted the update last taken from the stream: its lag is measured here."""
        if self._current is not None:
            seq, pushed = self._current
            self.lag_updates = max(0, self._view.last_seq - seq)
            self.lag_s = time.monotonic() - pushed

    def finish(self, code: grpc.StatusCode, details: str) -> None:
        if self.end is None:
            self.end = (code, details)
            if self.writing and self.abort_stuck_write is not None:
                self.abort_stuck_write(code, details)  # the handler is stuck in write: end the call from here
        self._event.set()

    def close(self) -> None:
        """Unregister (the call ended)."""
        self._unregister(self)

    async def stream(self) -> AsyncGenerator[bytes, None]:
        if self._snapshot is not None:
            yield self._snapshot
            self._snapshot = None
        if self._history is not None:
            after, up_to = self._history
            self._history = None
            async for data in self._read_history(after, up_to):
                yield data
            if self.end is not None:
                return
        while True:
            while not self._items:
                if self.end is not None:
                    return
                self._event.clear()
                await self._event.wait()
            if self.end is not None:
                return
            seq, pushed, data = self._items.popleft()
            self._current = (seq, pushed)
            yield data

    async def _read_history(self, after: int, up_to: int) -> AsyncIterator[bytes]:
        wlog = self._log
        while after < up_to:
            rows = await wlog.read_after(self._view.name, after, min(_HISTORY_PAGE, up_to - after))
            if not rows:
                break
            for seq, payload in rows:
                if seq != after + 1:
                    break
                if self.spec.empty:
                    yield payload
                else:
                    update = picture_pb2.PictureUpdate.FromString(payload)
                    yield filter_update(update, self.spec, self._view.class_of).SerializeToString()
                after = seq
            else:
                continue
            break
        if after < up_to:
            self.finish(
                grpc.StatusCode.OUT_OF_RANGE,
                f"update {after + 1} of view {self._view.name} is no longer retained: take a new snapshot "
                "(subscribe without resume_after_seq)",
            )
