"""The fusion service: MQTT track batches in, one shared warning picture per recipient out over gRPC.

Data path of one batch (``FusionService.handle_message``):

    MQTT payload --wire.decode_batch--> LocalTrackBatch (validated; bad input rejected, counted, logged once)
      --> each fusion engine whose releasable sources include the batch's nation (one engine per distinct
          source set; the default policy gives one engine shared by every view)
      --> assessment (phase, class, launch point, impact point, threatened areas) and warnings
      --> one PictureUpdate DELTA per view --> PictureHub.publish (durable log first, then subscribers)

``run(settings)`` wires it to a broker (with reconnection) and starts the gRPC WarningService; the health
check says SERVING only after the numba kernels are compiled and warmed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from triwarn.core.trajectory.tracks import NATIONS
from triwarn.services import mqtt, picture, wire
from triwarn.services.clock import Clock, ClockLike
from triwarn.services.lifecycle import stop_on_signals
from triwarn.services.logs import LogOnce
from triwarn.services.metrics import Metrics
from triwarn.services.settings import Settings
from triwarn.v1 import picture_pb2

log = logging.getLogger("triwarn.fusion")


@dataclass
class _Group:
    """The views that share one releasable-source set, and the engine and warning book that serve them."""

    sources: frozenset[str]
    views: list[str]
    engine: object
    assessor: object | None = None
    warnings: object | None = None
    track_count: int = 0
    assessed: dict[int, tuple[int, object]] = field(default_factory=dict)  # track id -> (time_ns, assessment)


class FusionService:
    """Transport-free core of the service: decode, validate, fuse, build picture updates."""

    def __init__(self, settings: Settings, clock: ClockLike, metrics: Metrics) -> None:
        from triwarn.core.trajectory.engine import FusionConfig, FusionEngine
        from triwarn.services.policy import load_policy

        self.settings = settings
        self.clock = clock
        self.metrics = metrics
        self.limits = wire.Limits(
            max_payload_bytes=settings.max_payload_bytes,
            max_tracks_per_batch=settings.max_tracks_per_batch,
            max_future_s=settings.max_future_s,
            max_age_s=settings.max_age_s,
            max_radius_m=settings.max_radius_m,
            max_speed_m_s=settings.max_speed_m_s,
        )
        self.rejections = LogOnce(log)
        policy = load_policy(settings.policy_file or None)
        groups: dict[frozenset[str], _Group] = {}
        for view in NATIONS:
            sources = frozenset(policy.sources_for(view))
            if sources not in groups:
                groups[sources] = _Group(sources, [], FusionEngine(FusionConfig(), sources=sources))
                groups[sources].assessor, groups[sources].warnings = _assessment_for(settings)
            groups[sources].views.append(view)
        self.groups = list(groups.values())
        self.views: tuple[str, ...] = NATIONS
        self.last_batch: dict[tuple[str, str], tuple[int, int]] = {}  # (nation, node) -> (bd_seq, batch_seq)
        self.births: dict[tuple[str, str], int] = {}  # (nation, node) -> bd_seq of its current birth

    def reject(self, nation: str, exc: wire.RejectedInput) -> None:
        label = nation if nation in NATIONS else "unknown"
        self.metrics.batches_rejected.labels(nation=label, reason=exc.reason).inc()
        self.rejections.warning(f"topic nation {nation!r}", exc.reason, str(exc))

    def handle_tracks(self, topic_nation: str, payload: bytes) -> list[tuple[str, picture_pb2.PictureUpdate]]:
        """One MQTT track message -> picture updates per view (empty when rejected or nothing changed)."""
        started = time.perf_counter()
        try:
            batch = wire.decode_batch(payload, topic_nation, self.clock.now_ns(), self.limits)
        except wire.RejectedInput as exc:
            self.reject(topic_nation, exc)
            return []
        self.metrics.batches_received.labels(nation=batch.nation).inc()
        self.metrics.tracks_received.labels(nation=batch.nation).inc(len(batch))
        key = (batch.nation, batch.node_id)
        last = self.last_batch.get(key)
        if last is not None and last[0] == batch.bd_seq and batch.batch_seq > last[1] + 1:
            self.metrics.batch_gaps.labels(nation=batch.nation).inc(batch.batch_seq - last[1] - 1)
        self.last_batch[key] = (batch.bd_seq, batch.batch_seq)

        updates: list[tuple[str, picture_pb2.PictureUpdate]] = []
        for group in self.groups:
            if batch.nation in group.sources:
                result = group.engine.ingest(batch)  # type: ignore[attr-defined]
                if result.late_dropped:
                    self.metrics.batches_late.labels(nation=batch.nation).inc(result.late_dropped)
                updates += self._picture_updates(group, result, batch.sent_time_ns)
        self.metrics.fusion_cycle_seconds.observe(time.perf_counter() - started)
        return updates

    def _picture_updates(
        self, group: _Group, result: object, source_sent_time_ns: int
    ) -> list[tuple[str, picture_pb2.PictureUpdate]]:
        """One DELTA per view of ``group`` for an engine result (none when nothing changed)."""
        changed, deleted = result.changed, result.deleted  # type: ignore[attr-defined]
        if not changed and not deleted:
            return []
        update = picture.delta(
            changed,
            deleted,
            now_ns=self.clock.now_ns(),
            source_sent_time_ns=source_sent_time_ns,
            assessor=group.assessor,
            warnings=group.warnings,
            assessed=group.assessed,
            assess_period_ns=int(self.settings.assess_period_s * 1e9),
        )
        group.track_count = len(group.engine.snapshot())  # type: ignore[attr-defined]
        for view in group.views:
            self.metrics.system_tracks.labels(view=view).set(group.track_count)
        return [(view, update) for view in group.views]

    def handle_status(self, topic_nation: str, payload: bytes) -> list[tuple[str, picture_pb2.PictureUpdate]]:
        """A node's BIRTH or DEATH. A DEATH that pairs with the node's current BIRTH (same bd_seq) drops the
        node's local tracks from the picture at once, instead of waiting for them to time out; a DEATH of an
        older session (a retained will from before a reconnect) changes nothing."""
        try:
            event = wire.decode_status(payload, topic_nation, self.limits)
        except wire.RejectedInput as exc:
            self.reject(topic_nation, exc)
            return []
        key = (event.nation, event.node_id)
        log.info("node %s (%s): %s, bd_seq=%d", *key, "BIRTH" if event.birth else "DEATH", event.bd_seq)
        if event.birth:
            self.births[key] = max(event.bd_seq, self.births.get(key, 0))
            self.metrics.node_status.labels(nation=event.nation).set(1)
            return []
        if event.bd_seq < self.births.get(key, 0):
            return []  # the death of an earlier session
        self.metrics.node_status.labels(nation=event.nation).set(0)
        updates: list[tuple[str, picture_pb2.PictureUpdate]] = []
        for group in self.groups:
            if event.nation in group.sources:
                result = group.engine.drop_source(event.nation, event.node_id)  # type: ignore[attr-defined]
                updates += self._picture_updates(group, result, 0)
        return updates

    def warm_up(self) -> None:
        """Run the hot path once on synthetic batches from every nation, in a throw-away service, so that
        every kernel it uses is compiled (or loaded from numba's on-disk cache) before SERVING."""
        from triwarn.services.synthetic import synthetic_batches

        scratch = FusionService(self.settings, self.clock, Metrics())
        for payload, nation in synthetic_batches(self.clock.now_ns(), n_objects=3):
            scratch.handle_tracks(nation, payload)


def _assessment_for(settings: Settings) -> tuple[object | None, object | None]:
    """The assessor (impact/launch point, areas) and warning book of one engine, when installed."""
    try:
        from triwarn.core.trajectory.assess import Assessor
        from triwarn.services.warnings import WarningBook
    except ModuleNotFoundError:
        return None, None
    return Assessor(), WarningBook()


async def run(
    settings: Settings,
    stop: asyncio.Event | None = None,
    views: Sequence[str] = NATIONS,
    metrics: Metrics | None = None,
) -> int:
    """Run the fusion service until ``stop`` is set (SIGTERM / SIGINT by default). ``metrics``: pass one to
    read the counters in-process (tests, benchmarks); the HTTP endpoint serves the same registry."""
    from triwarn.services.distribution import PictureHub, start_server

    stop = stop or stop_on_signals()
    metrics = metrics or Metrics()
    metrics.serve(settings.metrics_host, settings.metrics_port)
    clock = Clock(t0_ns=settings.scenario_t0_ns, speed=settings.clock_speed)
    service = FusionService(settings, clock, metrics)
    hub = await PictureHub.open(settings, list(views), metrics=metrics)
    server = await start_server(settings, hub)
    log.info("fusion: gRPC WarningService on %s (NOT_SERVING until warmed up)", settings.grpc_listen)
    log.info("fusion: compiling and warming numba kernels (first run only; cached afterwards)...")
    t = time.perf_counter()
    await asyncio.to_thread(service.warm_up)
    log.info("fusion: kernels ready in %.1f s", time.perf_counter() - t)
    await server.set_serving()
    backoff = mqtt.Backoff()
    try:
        while not stop.is_set():
            try:
                async with mqtt.client(settings.broker_url, f"triwarn-fusion-{time.time_ns()}") as client:
                    await client.subscribe(wire.TRACKS_SUBSCRIPTION, qos=1)
                    await client.subscribe(wire.STATUS_SUBSCRIPTION, qos=1)
                    log.info("fusion: subscribed to %s on %s", wire.TRACKS_SUBSCRIPTION, settings.broker_url)
                    backoff.reset()
                    consumer = asyncio.create_task(_consume(client, service, hub))
                    stopper = asyncio.create_task(stop.wait())
                    try:
                        await asyncio.wait({consumer, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        stopper.cancel()
                        if not consumer.done():
                            consumer.cancel()
                    if consumer.done() and not consumer.cancelled():
                        consumer.result()  # re-raises what ended the consumer (a lost connection)
            except Exception as exc:
                import aiomqtt

                if not isinstance(exc, aiomqtt.MqttError):
                    raise
                delay = backoff.next()
                log.warning("fusion: broker connection lost (%s); reconnecting in %.1f s", exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
    finally:
        log.info("fusion: shutting down")
        await server.stop(2.0)
        await hub.close()
    return 0


async def _consume(client: object, service: FusionService, hub: object) -> None:
    async for message in client.messages:  # type: ignore[attr-defined]
        topic = str(message.topic)
        nation = wire.topic_nation(topic)
        payload = message.payload if isinstance(message.payload, bytes | bytearray) else b""
        if topic.endswith("/status"):
            updates = service.handle_status(nation, bytes(payload))
        else:
            updates = service.handle_tracks(nation, bytes(payload))
        if not updates:
            continue
        await hub.publish_many(updates)  # type: ignore[attr-defined]  # one log transaction for every view
        for _, update in updates[:1]:
            if update.source_sent_time_ns:
                latency_ns = service.clock.now_ns() - update.source_sent_time_ns
                service.metrics.e2e_latency_seconds.observe(latency_ns * 1e-9 / service.clock.speed)
