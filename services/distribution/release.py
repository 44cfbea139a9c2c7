"""The fusion service's release of each view to its national edge: every committed update of view v,
labelled and signed (:mod:`triwarn.services.trust.labels`), on ``triwarn/v1/picture/v/updates`` at the hub
(QoS 1, in seq order), and the view's snapshot, retained, on ``triwarn/v1/picture/v/snapshot`` whenever the
view changed in the last ``SNAPSHOT_PERIOD_S`` (an edge that starts, restarts or finds a gap resynchronizes
from it). Each release's label is the one the update (or snapshot) carries for its consoles
(``PictureUpdate.label``, made by the hub's labeller). The hub's bridges carry view v to nation v's broker
only (:mod:`triwarn.services.trust.topology`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from triwarn.services.distribution.hub import PictureHub
from triwarn.services.trust.labels import Releaser
from triwarn.services.wire.picture import PICTURE_PREFIX
from triwarn.v1 import release_pb2

log = logging.getLogger(__name__)

#: Seconds between two retained snapshots of a view that changed.
SNAPSHOT_PERIOD_S = 1.0
#: Released updates waiting for the MQTT connection, at most (beyond: dropped; edges resync from a snapshot).
MAX_WAITING = 100_000


def updates_topic(view: str) -> str:
    return f"{PICTURE_PREFIX}/{view}/updates"


def snapshot_topic(view: str) -> str:
    return f"{PICTURE_PREFIX}/{view}/snapshot"


def link_topic(view: str) -> str:
    """Where a national broker says whether its bridge to the hub is up (``1``) or down (``0``), retained."""
    return f"{PICTURE_PREFIX}/{view}/link"


class ReleasePublisher:
    """Queues the hub's committed updates (``hub.on_release``) and publishes them while connected."""

    def __init__(self, hub: PictureHub, releaser: Releaser) -> None:
        self._hub = hub
        self._releaser = releaser
        self._queue: asyncio.Queue[tuple[str, int, bytes, release_pb2.ReleaseLabel | None]] = asyncio.Queue(MAX_WAITING)
        self._snapshot_seq: dict[str, int] = {}
        self.dropped = 0
        hub.on_release = self.put

    def put(self, view: str, seq: int, payload: bytes, label: release_pb2.ReleaseLabel | None = None) -> None:
        try:
            self._queue.put_nowait((view, seq, payload, label))
        except asyncio.QueueFull:
            self.dropped += 1

    async def run(self, client: Any) -> None:
        """Publish queued updates and periodic snapshots through ``client`` until cancelled."""
        snapshots = asyncio.create_task(self._snapshots(client))
        try:
            while True:
                view, seq, payload, label = await self._queue.get()
                await client.publish(
                    updates_topic(view), self._releaser.release(view, seq, payload, label=label), qos=1
                )
        finally:
            snapshots.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await snapshots

    async def _snapshots(self, client: Any) -> None:
        self._snapshot_seq.clear()  # a new connection: publish every view's snapshot once
        while True:
            for view in self._hub.views:
                seq = self._hub.last_seq(view)
                if self._snapshot_seq.get(view) != seq:
                    snap = self._hub.snapshot(view)
                    label = snap.label if snap.HasField("label") else None
                    data = snap.SerializeToString()
                    await client.publish(
                        snapshot_topic(view), self._releaser.release(view, seq, data, label=label), qos=1, retain=True
                    )
                    self._snapshot_seq[view] = seq
            await asyncio.sleep(SNAPSHOT_PERIOD_S)
