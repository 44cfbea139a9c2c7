"""A national edge: serves one nation's consoles from its own durable log, fed by the hub over the bridge.

Data path (``run``)::

    fusion at the hub ─ ReleasedUpdate on triwarn/v1/picture/{n}/updates ═ bridge ═▶ broker-n ─▶ edge-n
        ─ Acceptor: the fusion service's signature, a label releasing it to n (else refused and counted)
        ─ EdgeFeed: in upstream seq order (duplicates dropped; a gap, a start or a restart resynchronizes
          from the retained snapshot on .../snapshot)
        ─▶ PictureHub (its own SQLite log, its own gap-free seq) ─▶ gRPC WarningService (mutual TLS, view n only)

Every update the edge serves carries the label it verified upstream (``PictureUpdate.label``, with the fusion
service's signature of the label): its ``seq`` is the fusion service's, the update's ``seq`` the edge's own; a
DELTA made from a snapshot after a gap carries that snapshot's label. An edge that has received nothing yet
serves its empty picture under a label of its own, unsigned (``EMPTY_POLICY``).

The edge keeps serving its last picture when the hub link is down: the national broker says so on
``triwarn/v1/picture/{n}/link`` (its bridge's state, ``0`` or ``1``) and the edge marks itself stale
(health of the service name ``triwarn.edge.Upstream`` NOT_SERVING; gauge ``triwarn_edge_stale``) until it is
back. Consoles keep their streams; the updates queued during the outage arrive after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import aiomqtt
from grpc_health.v1 import health_pb2

from triwarn.services.distribution.hub import PictureHub
from triwarn.services.distribution.release import link_topic, snapshot_topic, updates_topic
from triwarn.services.distribution.server import GrpcServerHandle, start_server
from triwarn.services.runtime import mqtt
from triwarn.services.runtime.lifecycle import stop_on_signals
from triwarn.services.runtime.logs import RateLimitedLog
from triwarn.services.runtime.settings import Settings
from triwarn.services.runtime.tls import TlsFiles
from triwarn.services.trust.labels import Acceptor, load_public_key, make_label
from triwarn.services.trust.topology import fusion_identity
from triwarn.services.wire.tracks import RejectedInput
from triwarn.v1 import picture_pb2

log = logging.getLogger("triwarn.edge")

#: Health service name that is SERVING while the hub link is up, NOT_SERVING while the edge is stale.
UPSTREAM_HEALTH = "triwarn.edge.Upstream"
#: Updates held while waiting for a snapshot to resynchronize from, at most.
MAX_HELD = 100_000
#: The policy id of the label on an edge's picture before anything arrived from the fusion service.
EMPTY_POLICY = "none: nothing received from the fusion service yet"


@dataclass
class EdgeCounters:
    accepted: int = 0
    duplicates: int = 0
    gaps: int = 0
    resyncs: int = 0
    refused: dict[str, int] = field(default_factory=dict)


def resync_delta(current: picture_pb2.PictureUpdate, upstream: picture_pb2.PictureUpdate) -> picture_pb2.PictureUpdate:
    """A DELTA that turns the picture ``current`` (a SNAPSHOT) into ``upstream`` (a SNAPSHOT): every upstream
    track and warning, the tracks it no longer has deleted, and its no longer active warnings ENDED."""
    delta = picture_pb2.PictureUpdate(
        kind=picture_pb2.PictureUpdate.KIND_DELTA, time_ns=upstream.time_ns, view=upstream.view
    )
    if upstream.HasField("label"):  # the snapshot's label (its seq: the last upstream update it includes)
        delta.label.CopyFrom(upstream.label)
    if upstream.HasField("label_signature"):
        delta.label_signature.CopyFrom(upstream.label_signature)
    delta.tracks.extend(upstream.tracks)
    live = {t.track_id for t in upstream.tracks}
    delta.deleted_track_ids.extend(sorted(t.track_id for t in current.tracks if t.track_id not in live))
    delta.warnings.extend(upstream.warnings)
    active = {w.warning_id for w in upstream.warnings}
    for w in current.warnings:
        if w.warning_id not in active:
            ended = delta.warnings.add()
            ended.CopyFrom(w)
            ended.state = picture_pb2.Warning.STATE_ENDED
    return delta


class EdgeFeed:
    """Orders the accepted upstream updates of one view into the edge's hub."""

    def __init__(self, hub: PictureHub, view: str) -> None:
        self.hub = hub
        self.view = view
        self.upstream_seq: int | None = None  # None: not synchronized (start, restart, or after a gap)
        self.held: dict[int, picture_pb2.PictureUpdate] = {}
        self.counters = EdgeCounters()

    async def update(self, update: picture_pb2.PictureUpdate) -> None:
        seq = update.seq
        if self.upstream_seq is None:
            if len(self.held) < MAX_HELD:
                self.held[seq] = update
            return
        if seq <= self.upstream_seq:
            self.counters.duplicates += 1
            return
        if seq > self.upstream_seq + 1:
            self.counters.gaps += 1
            log.warning("edge %s: upstream jumps from %d to %d; resynchronizing", self.view, self.upstream_seq, seq)
            self.upstream_seq = None
            self.held[seq] = update
            return
        await self._publish(update)

    async def snapshot(self, snap: picture_pb2.PictureUpdate) -> None:
        """Resynchronize from ``snap`` if not synchronized (or if it is ahead of everything held)."""
        if self.upstream_seq is not None and snap.seq <= self.upstream_seq:
            return
        if self.upstream_seq is not None and snap.seq == self.upstream_seq + 1:
            return  # the update itself is on its way
        self.counters.resyncs += 1
        await self.hub.publish(self.view, resync_delta(self.hub.snapshot(self.view), snap))
        self.upstream_seq = snap.seq
        held, self.held = self.held, {}
        for seq in sorted(s for s in held if s > snap.seq):
            await self.update(held[seq])

    async def _publish(self, update: picture_pb2.PictureUpdate) -> None:
        assert self.upstream_seq is not None
        self.upstream_seq = update.seq
        delta = picture_pb2.PictureUpdate()
        delta.CopyFrom(update)
        await self.hub.publish(self.view, delta)  # the edge's own seq
        self.counters.accepted += 1


async def _set_upstream(server: GrpcServerHandle, up: bool) -> None:
    status = health_pb2.HealthCheckResponse.SERVING if up else health_pb2.HealthCheckResponse.NOT_SERVING
    await server.health.set(UPSTREAM_HEALTH, status)


async def run(settings: Settings, stop: asyncio.Event | None = None, feed_out: list[EdgeFeed] | None = None) -> int:
    """Run the edge of ``settings.nation`` until ``stop`` is set. ``feed_out``: receives the feed (tests read
    its counters)."""
    stop = stop or stop_on_signals()
    nation = settings.nation
    if not settings.label_public_key:
        raise SystemExit("triwarn edge: needs the fusion service's label public key (--label-public-key)")
    acceptor = Acceptor(fusion_identity(), load_public_key(settings.label_public_key), nation)
    hub = await PictureHub.open(settings, [nation])
    hub.labeller = None  # its updates keep the fusion service's label
    if not hub.snapshot(nation).HasField("label"):  # an empty log: nothing from the fusion service yet
        hub.set_label(nation, make_label(EMPTY_POLICY, nation, 0))
    server = await start_server(settings, hub)
    feed = EdgeFeed(hub, nation)
    if feed_out is not None:
        feed_out.append(feed)
    refused = RateLimitedLog(log)
    await server.set_serving()  # it serves its last picture whatever the state of the hub link
    await _set_upstream(server, False)
    backoff = mqtt.Backoff()
    try:
        while not stop.is_set():
            try:
                async with mqtt.client(
                    settings.broker_url, f"edge-{nation}", tls=TlsFiles.from_settings(settings), clean_session=False
                ) as client:
                    for topic in (updates_topic(nation), snapshot_topic(nation), link_topic(nation)):
                        await client.subscribe(topic, qos=1)
                    backoff.reset()
                    log.info("edge %s: subscribed on %s", nation, settings.broker_url)
                    consumer = asyncio.create_task(_consume(client, acceptor, feed, server, refused))
                    stopper = asyncio.create_task(stop.wait())
                    try:
                        await asyncio.wait({consumer, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        stopper.cancel()
                        consumer.cancel()
                        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                            await consumer
            except aiomqtt.MqttError as exc:
                await _set_upstream(server, False)
                delay = backoff.next()
                log.warning("edge %s: national broker lost (%s); serving the last picture, stale", nation, exc)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await stop.wait()
    finally:
        await server.stop(2.0)
        await hub.close()
    return 0


async def _consume(
    client: aiomqtt.Client, acceptor: Acceptor, feed: EdgeFeed, server: GrpcServerHandle, refused: RateLimitedLog
) -> None:
    nation = feed.view
    async for message in client.messages:
        topic = str(message.topic)
        payload = bytes(message.payload) if isinstance(message.payload, bytes | bytearray) else b""
        if topic == link_topic(nation):
            up = payload.strip() == b"1"
            await _set_upstream(server, up)
            log.info("edge %s: hub link %s", nation, "up" if up else "down: serving the last picture, stale")
            continue
        try:
            accepted = acceptor.accept(payload)
        except RejectedInput as exc:
            feed.counters.refused[exc.reason] = feed.counters.refused.get(exc.reason, 0) + 1
            refused.warning(exc.reason, "edge %s refused an update (%s): %s", nation, exc.reason, str(exc))
            continue
        accepted.update.label.CopyFrom(accepted.label)  # the label verified (the update's own, if it has one)
        if topic == snapshot_topic(nation):
            await feed.snapshot(accepted.update)
        else:
            await feed.update(accepted.update)
