"""One subscriber of a view: its backlog (the snapshot, or the history it resumes from the log), then the live
updates the hub pushes into its bounded queue."""

from __future__ import annotations

import asyncio
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
        self._items: deque[bytes] = deque()
        self._event = asyncio.Event()
        self.end: tuple[grpc.StatusCode, str] | None = None

    @property
    def depth(self) -> int:
        return len(self._items)

    def push(self, data: bytes) -> bool:
        """Queue one update; False (and the subscription ended) when the queue is full."""
        if self.end is not None:
            return False
        if len(self._items) >= self._maxsize:
            self.finish(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"subscriber fell behind by more than {self._maxsize} updates: resume after the last seq you received",
            )
            return False
        self._items.append(data)
        self._event.set()
        return True

    def finish(self, code: grpc.StatusCode, details: str) -> None:
        if self.end is None:
            self.end = (code, details)
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
            yield self._items.popleft()

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
