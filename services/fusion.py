"""The fusion service: MQTT track batches in, one shared warning picture per recipient out over gRPC.

Data path of one batch (``FusionService.handle_tracks``, then ``_consume``):

    MQTT payload --wire.decode_batch--> LocalTrackBatch (validated; bad input rejected, counted, logged once)
      --> each fusion engine whose releasable sources include the batch's nation (one engine per distinct
          source set; the default policy gives one engine shared by every view)
      --> one PictureUpdate DELTA per view, each track carrying its latest assessment
      --> PictureHub.submit_many (durable log first, then subscribers; with SQLite committed and queued for
          every subscriber before it returns)

Assessment (phase, class, launch point, impact point with its ellipse, threatened areas, warning level) and
warnings propagate many sigma points to impact: milliseconds per track. So it is kept off that path: a track
is due for assessment when it is new or its last assessment is ``assess_period_s`` old (data time); the live
service assesses due tracks in a child process of low CPU priority (``AssessProcess``: no GIL shared with the
event loop, and the CPU goes to the latency path first) and publishes the result as a DELTA of its own, while
track updates keep flowing; a replay assesses them inline after every batch (``assess_due``), which keeps it
deterministic.

``run(settings)`` wires it to a broker (with reconnection) and starts the gRPC WarningService; the health
check says SERVING only after the numba kernels are compiled and warmed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import itertools
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import aiomqtt
import numba
import numpy as np

from triwarn.core.assessment.assess import Assessor
from triwarn.core.assessment.warnings import WarningBook
from triwarn.core.fusion import invariants
from triwarn.core.fusion.config import FusionConfig
from triwarn.core.fusion.engine import FusionEngine
from triwarn.core.tracks import NATIONS, SystemTrack
from triwarn.services.distribution.hub import PictureHub
from triwarn.services.distribution.release import ReleasePublisher
from triwarn.services.distribution.server import start_server
from triwarn.services.intake import Intake
from triwarn.services.policy import load_policy
from triwarn.services.runtime import mqtt
from triwarn.services.runtime.clock import Clock, ClockLike, ManualClock
from triwarn.services.runtime.lifecycle import stop_on_signals
from triwarn.services.runtime.logs import RateLimitedLog
from triwarn.services.runtime.metrics import Metrics
from triwarn.services.runtime.observer import StageObserver
from triwarn.services.runtime.settings import Settings
from triwarn.services.runtime.tls import TlsFiles
from triwarn.services.synthetic import synthetic_batches
from triwarn.services.trust import signing
from triwarn.services.trust.labels import Labeller, Releaser
from triwarn.services.trust.registry import load_registry
from triwarn.services.trust.topology import fusion_identity
from triwarn.services.wire import picture
from triwarn.services.wire import tracks as wire
from triwarn.v1 import picture_pb2

log = logging.getLogger("triwarn.fusion")


@dataclass
class _Group:
    """The views that share one releasable-source set, and the engine and warning book that serve them."""

    sources: frozenset[str]
    views: list[str]
    engine: Any
    assessor: Any
    warnings: Any  # the WarningBook of these views
    track_count: int = 0
    assessed: dict[int, tuple[int, Any]] = field(default_factory=dict)  # track id -> (time_ns, assessment)
    assessed_pb: dict[int, picture_pb2.SystemTrack] = field(default_factory=dict)  # its fields, to merge
    latest: dict[int, picture_pb2.SystemTrack] = field(default_factory=dict)  # the last message of each track
    held: dict[int, tuple[Any, Any]] = field(default_factory=dict)  # (nations, sources) its last message holds
    due: dict[int, SystemTrack] = field(default_factory=dict)  # tracks waiting for assessment
    forget: list[int] = field(default_factory=list)  # deleted tracks the assessor has not forgotten yet
    track_gauges: list[Any] = field(default_factory=list)  # triwarn_system_tracks of each view
    #: tracks restored from the durable picture after a restart and not confirmed by a sensor yet: track id ->
    #: end of their grace period (ns, service clock); and the restored warnings of each such track
    restored: dict[int, int] = field(default_factory=dict)
    restored_warnings: dict[int, list[picture_pb2.Warning]] = field(default_factory=dict)


class FusionService:
    """Transport-free core of the service: decode, validate, fuse, build picture updates."""

    def __init__(self, settings: Settings, clock: ClockLike, metrics: Metrics) -> None:
        # coalition (issue 15): with a node-key registry, only messages signed by a registered node of the
        # topic's nation are parsed (triwarn.services.trust.signing), and the node ids the intake accepts are
        # the registry's (one list of nodes: services/trust/registry.py)
        key_registry = load_registry(settings.node_keys) if settings.node_keys else None
        if key_registry is not None:
            settings = settings.with_node_keys(key_registry.node_ids_by_nation())
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
        self.log_limit = RateLimitedLog(log)
        self.intake = Intake(settings, metrics)
        self._errors_logged: set[tuple[str, str]] = set()
        policy = load_policy(settings.policy_file or None)
        self.policy_id = policy.source
        groups: dict[frozenset[str], _Group] = {}
        for view in NATIONS:
            sources = frozenset(policy.sources_for(view))
            if sources not in groups:
                engine = FusionEngine(FusionConfig(), sources=sources)
                groups[sources] = _Group(sources, [], engine, Assessor(), WarningBook())
            groups[sources].views.append(view)
        self.groups = list(groups.values())
        # metric children looked up once (a labels() call costs ~4-7 us, a dozen of them per batch)
        self._per_nation = {
            n: (metrics.batches_received.labels(nation=n), metrics.tracks_received.labels(nation=n)) for n in NATIONS
        }
        for group in self.groups:
            group.track_gauges = [metrics.system_tracks.labels(view=v) for v in group.views]
        self.births: dict[tuple[str, str], int] = {}  # (nation, node) -> bd_seq of its current birth
        self.dying: dict[tuple[str, str], int] = {}  # (nation, node) -> end of its DEATH grace period, ns
        #: Saves a durable counter (name, value) before any picture update built after the call (the warning
        #: log's ``save_counter_soon``); None: numbers are not kept across restarts (replays, tests).
        self.save_counter: Callable[[str, int], None] | None = None
        self._reserved = {"next_track_id": 0, "next_warning_id": 0}
        #: Told each stage of a batch's way (see :mod:`~triwarn.services.runtime.observer`; None: off).
        self.observer: StageObserver | None = None
        self.verifier = signing.Verifier(key_registry) if key_registry is not None else None
        self.replays = signing.ReplayGuard()

    def _signer(self, kind: str, topic_nation: str, payload: bytes) -> str | None:
        """Coalition: the registered node that signed ``payload`` ('' when signatures are off), or None when
        it is rejected (counted by reason: unsigned, unknown_node, wrong_nation, bad_signature, oversized)."""
        if self.verifier is None:
            return ""
        try:
            if len(payload) > self.limits.max_payload_bytes:
                raise wire.RejectedInput("oversized", f"payload of {len(payload)} bytes exceeds the limit")
            return self.verifier.verify(kind, topic_nation, payload)
        except wire.RejectedInput as exc:
            self.reject(topic_nation, exc)
            return None

    def _check_signed(self, signer: str, node_id: str, seq: tuple[int, int] | None) -> None:
        """Coalition: the message names the node that signed it, and (batches) is not a replay."""
        if not signer:
            return
        if node_id != signer:
            raise wire.RejectedInput("node_mismatch", f"message of node {node_id[:64]!r} signed by {signer}")
        if seq is not None:
            self.replays.check(signer, *seq)

    def internal_error(self, stage: str, exc: Exception) -> None:
        """A bug, not bad input: counted per stage, logged with its traceback once per (stage, error type)."""
        self.metrics.internal_errors.labels(stage=stage).inc()
        key = (stage, type(exc).__name__)
        if key not in self._errors_logged:
            self._errors_logged.add(key)
            log.error("internal error in %s (further ones of this kind only counted)", stage, exc_info=exc)

    def reject(self, nation: str, exc: wire.RejectedInput) -> None:
        label = nation if nation in NATIONS else "unknown"
        self.metrics.batches_rejected.labels(nation=label, reason=exc.reason).inc()
        self.log_limit.warning(exc.reason, "rejected input on topic nation %r (%s): %s", nation, exc.reason, str(exc))

    def handle_tracks(self, topic_nation: str, payload: bytes) -> list[tuple[str, picture_pb2.PictureUpdate]]:
        """One MQTT track message -> picture updates per view (empty when rejected or nothing changed)."""
        started = time.perf_counter()
        signer = self._signer(signing.BATCH, topic_nation, payload)
        if signer is None:
            return []
        # --- intake: decode and validate (bad tracks refused alone), signer, node registry, exactly-once -----
        try:
            batch, refused = wire.decode_batch_tracks(payload, topic_nation, self.clock.now_ns(), self.limits)
            self._check_signed(signer, batch.node_id, (batch.bd_seq, batch.batch_seq))
            self.intake.admit(batch.nation, batch.node_id, batch.bd_seq, batch.batch_seq)
        except wire.RejectedInput as exc:
            self.reject(topic_nation, exc)
            return []
        for track in refused:
            self.metrics.tracks_rejected.labels(nation=batch.nation, reason=track.reason).inc()
            where = f"{batch.nation}/{batch.node_id}"
            self.log_limit.warning(track.reason, "rejected track from %s (%s): %s", where, track.reason, track.detail)
        # --- end of intake --------------------------------------------------------------------------------
        observer = self.observer
        if observer is not None:
            observer.stamp(batch.sent_time_ns, "decoded")
        received, tracks_received = self._per_nation[batch.nation]
        received.inc()
        tracks_received.inc(len(batch))
        self._reserve("next_track_id", max(g.engine.next_track_number for g in self.groups) + len(batch))

        updates: list[tuple[str, picture_pb2.PictureUpdate]] = []
        for group in self.groups:
            if batch.nation in group.sources:
                result = group.engine.ingest(batch)
                if observer is not None:
                    observer.stamp(batch.sent_time_ns, "fused")
                if result.late_dropped:
                    self.metrics.batches_late.labels(nation=batch.nation).inc(result.late_dropped)
                if result.renumbered:
                    self.metrics.local_renumbered.labels(nation=batch.nation).inc(result.renumbered)
                    self.log_limit.warning(
                        f"renumbered-{batch.nation}",
                        "%s/%s: %d local track number(s) now on another object (the node restarted?): taken as"
                        " new tracks, their system track numbers stay with the old objects",
                        batch.nation,
                        batch.node_id[:80],
                        result.renumbered,
                    )
                updates += self._picture_updates(group, result, batch.sent_time_ns)
        if observer is not None:
            observer.stamp(batch.sent_time_ns, "built")
        self.metrics.fusion_cycle_seconds.observe(time.perf_counter() - started)
        return updates

    def _checked(self, group: _Group, changed: list[SystemTrack]) -> tuple[list[SystemTrack], list[int]]:
        """The engine's output tracks that satisfy the invariants (finite, symmetric positive-definite
        covariance of bounded condition, inside the flight envelope), and the numbers of those that do not:
        never published; counted per reason and logged (rate-limited); a broken track the picture holds is
        deleted from it."""
        if not changed:
            return changed, []
        x = np.stack([t.x for t in changed])
        P = np.stack([t.P for t in changed])
        code = invariants.violations(x, P, self.limits.envelope)
        if not code.any():
            return changed, []
        good, broken = [], []
        for track, c in zip(changed, code.tolist(), strict=True):
            if c == invariants.OK:
                good.append(track)
                continue
            reason = invariants.REASONS[c]
            self.metrics.tracks_dropped.labels(reason=reason).inc()
            self.log_limit.log(
                logging.ERROR, f"invariant:{reason}", "fusion: system track %d dropped (%s)", track.track_id, reason
            )
            if track.track_id in group.latest:
                broken.append(track.track_id)
        return good, broken

    def _picture_updates(
        self, group: _Group, result: Any, source_sent_time_ns: int
    ) -> list[tuple[str, picture_pb2.PictureUpdate]]:
        """One DELTA per view of ``group`` for an engine result (none when nothing changed). Each track
        carries its latest assessment; tracks that are new or whose assessment is older than
        ``assess_period_s`` become due for assessment; deleted tracks end their warnings."""
        changed, broken = self._checked(group, result.changed)
        deleted = [*result.deleted, *broken]
        if not changed and not deleted:
            return []
        # restored tracks a sensor confirmed (reacquired under their number) stay; their restored warnings stay
        # until the track's first assessment replaces them (assessment_updates)
        for t in changed if group.restored else ():
            group.restored.pop(t.track_id, None)
        now_ns = self.clock.now_ns()
        # a track's message starts as a copy of its last one, which carries its latest assessment
        copied = [track.track_id in group.latest for track in changed]
        update = picture.delta(
            changed,
            deleted,
            now_ns=now_ns,
            source_sent_time_ns=source_sent_time_ns,
            previous=group.latest,
            previous_sources=group.held,
        )
        period_ns = int(self.settings.assess_period_s * 1e9)
        for track, msg, was_copied in zip(changed, update.tracks, copied, strict=True):
            last = group.assessed.get(track.track_id)
            if last is None:
                msg.phase = int(track.phase)  # type: ignore[assignment]  # not assessed yet: the tracker's phase
            elif not was_copied:
                picture.merge_assessment(msg, group.assessed_pb[track.track_id])
            if last is None or track.time_ns - last[0] >= period_ns:
                group.due[track.track_id] = track
            group.latest[track.track_id] = msg
            group.held[track.track_id] = (track.nations, track.sources)
        for track_id in map(int, deleted):
            group.latest.pop(track_id, None)
            group.held.pop(track_id, None)
            group.due.pop(track_id, None)
            group.assessed.pop(track_id, None)
            group.assessed_pb.pop(track_id, None)
            group.forget.append(track_id)
        if deleted:
            update.warnings.extend(picture.warning_to_proto(w) for w in group.warnings.update({}, deleted, now_ns))
        for track_id in deleted if group.restored_warnings else ():
            group.restored.pop(track_id, None)
            update.warnings.extend(self._end_restored_warnings(group, track_id))
        group.track_count = len(group.latest)
        for gauge in group.track_gauges:
            gauge.set(group.track_count)
        return [(view, update) for view in group.views]

    # --- assessment: take the due tracks (event loop), assess them (any thread), publish (event loop) ---

    def take_due(self) -> list[tuple[_Group, list[SystemTrack], list[int]]]:
        """The due tracks and the tracks to forget of every group, handed over to ``assess``."""
        work = []
        for group in self.groups:
            if group.due or group.forget:
                work.append((group, list(group.due.values()), group.forget))
                group.due, group.forget = {}, []
        return work

    @staticmethod
    def assess(group: _Group, tracks: list[SystemTrack], forget: list[int], now_ns: int) -> dict[int, Any]:
        """Run the assessor of ``group`` (the only code that touches it; safe in a worker thread)."""
        if forget:
            group.assessor.forget(forget)
        return group.assessor.assess(tracks, now_ns) if tracks else {}

    def assessment_updates(
        self, group: _Group, assessments: dict[int, Any], now_ns: int
    ) -> list[tuple[str, picture_pb2.PictureUpdate]]:
        """A DELTA per view with the newly assessed tracks (their latest state) and the warnings that
        changed. Tracks deleted while they were being assessed are left out."""
        live = {tid: a for tid, a in assessments.items() if tid in group.latest}
        if not live:
            return []
        self._reserve("next_warning_id", group.warnings.next_warning_id + len(live))
        update = picture_pb2.PictureUpdate(kind=picture_pb2.PictureUpdate.KIND_DELTA, time_ns=now_ns)
        for tid, a in live.items():
            group.assessed[tid] = (int(a.time_ns), a)
            group.assessed_pb[tid] = picture.assessment_pb(a)
            msg = update.tracks.add()
            msg.CopyFrom(group.latest[tid])
            picture.fill_track_assessment(msg, a)
            group.latest[tid] = msg
        update.warnings.extend(picture.warning_to_proto(w) for w in group.warnings.update(live, (), now_ns))
        for tid in live if group.restored_warnings else ():  # current warnings replace the restored ones
            update.warnings.extend(self._end_restored_warnings(group, tid))
        return [(view, update) for view in group.views]

    def assess_due(self) -> list[tuple[str, picture_pb2.PictureUpdate]]:
        """Assess every due track now, in this thread (replays: deterministic)."""
        now_ns = self.clock.now_ns()
        updates: list[tuple[str, picture_pb2.PictureUpdate]] = []
        for group, tracks, forget in self.take_due():
            updates += self.assessment_updates(group, self.assess(group, tracks, forget, now_ns), now_ns)
        return updates

    def handle_status(self, topic_nation: str, payload: bytes) -> list[tuple[str, picture_pb2.PictureUpdate]]:
        """A node's BIRTH or DEATH. A DEATH that pairs with the node's current BIRTH (same bd_seq) drops the
        node's local tracks from the picture after ``Settings.node_death_grace_s`` (at once with 0): a broker
        restart delivers every node's last will, and a node back within the grace period (a newer BIRTH)
        keeps its tracks, which coast meanwhile. A DEATH of an older session (a retained will from before a
        reconnect) changes nothing."""
        signer = self._signer(signing.STATUS, topic_nation, payload)
        if signer is None:
            return []
        try:
            event = wire.decode_status(payload, topic_nation, self.limits)
            self._check_signed(signer, event.node_id, None)
            self.intake.check_node(event.nation, event.node_id)
        except wire.RejectedInput as exc:
            self.reject(topic_nation, exc)
            return []
        key = (event.nation, event.node_id)
        log.info("node %s (%s): %s, bd_seq=%d", *key, "BIRTH" if event.birth else "DEATH", event.bd_seq)
        if event.birth:
            self.births[key] = max(event.bd_seq, self.births.get(key, 0))
            self.intake.birth(event.nation, event.node_id, event.bd_seq)
            self.dying.pop(key, None)
            self.metrics.node_status.labels(nation=event.nation).set(1)
            return []
        if event.bd_seq < self.births.get(key, 0):
            return []  # the death of an earlier session
        self.metrics.node_status.labels(nation=event.nation).set(0)
        self.dying[key] = self.clock.now_ns() + round(self.settings.node_death_grace_s * 1e9)
        return self.expire_deaths()

    def restore(
        self, snapshots: Mapping[str, picture_pb2.PictureUpdate], next_track_id: int, next_warning_id: int
    ) -> None:
        """After a restart: take back the picture of every view (its durable SNAPSHOT) and the durable
        counters. Each group's engine holds the restored tracks dormant under their numbers, so a sensor's new
        local track of the same object takes its old number back (:meth:`FusionEngine.restore`), and numbers
        continue from the counters (never below a number issued before). A restored track that no sensor
        confirms within ``Settings.restore_grace_s`` is deleted from the picture with its warnings
        (:meth:`expire`); a confirmed one keeps its restored warnings until its first assessment issues
        current ones in their place."""
        deadline = self.clock.now_ns() + round(self.settings.restore_grace_s * 1e9)
        for group in self.groups:
            snap = snapshots.get(group.views[0])
            msgs = list(snap.tracks) if snap is not None else []
            warnings = list(snap.warnings) if snap is not None else []
            group.engine.restore([picture.system_track_from_pb(m) for m in msgs])
            group.engine.reserve_numbers(next_track_id)
            group.warnings.reserve_ids(max([next_warning_id, *(w.warning_id + 1 for w in warnings)]))
            group.restored = {int(m.track_id): deadline for m in msgs}
            for w in warnings:
                group.restored_warnings.setdefault(int(w.track_id), []).append(w)
            if msgs:
                log.info("fusion: %d tracks restored for views %s, waiting for a sensor", len(msgs), group.views)
        self._reserved = {"next_track_id": next_track_id, "next_warning_id": next_warning_id}

    @staticmethod
    def _end_restored_warnings(group: _Group, track_id: int) -> list[picture_pb2.Warning]:
        """The ENDED messages of a restored track's restored warnings (they are forgotten)."""
        ended = []
        for w in group.restored_warnings.pop(track_id, []):
            e = picture_pb2.Warning()
            e.CopyFrom(w)
            e.state = picture_pb2.Warning.STATE_ENDED
            ended.append(e)
        return ended

    def _reserve(self, name: str, needed: int) -> None:
        """Make sure the durable counter ``name`` is at least ``needed`` (in blocks of ``_RESERVE_BLOCK``,
        so it is written rarely) before a number below it is published."""
        if self.save_counter is None or needed <= self._reserved[name]:
            return
        self._reserved[name] = needed + _RESERVE_BLOCK
        self.save_counter(name, self._reserved[name])

    def expire(self) -> list[tuple[str, picture_pb2.PictureUpdate]]:
        """The updates of grace periods that ran out: of DEATHs (:meth:`expire_deaths`) and of restored
        tracks no sensor confirmed (deleted from the picture with their warnings; the engine keeps them
        dormant, so the same object seen later still gets its number back)."""
        updates = self.expire_deaths()
        now_ns = self.clock.now_ns()
        for group in self.groups:
            gone = [tid for tid, deadline in group.restored.items() if deadline <= now_ns]
            if not gone:
                continue
            update = picture_pb2.PictureUpdate(kind=picture_pb2.PictureUpdate.KIND_DELTA, time_ns=now_ns)
            update.deleted_track_ids.extend(gone)
            for tid in gone:
                del group.restored[tid]
                update.warnings.extend(self._end_restored_warnings(group, tid))
            log.info("fusion: %d restored tracks not confirmed by any sensor: deleted", len(gone))
            updates += [(view, update) for view in group.views]
        return updates

    def expire_deaths(self) -> list[tuple[str, picture_pb2.PictureUpdate]]:
        """Drop the tracks of the nodes whose DEATH grace period has passed (service clock)."""
        if not self.dying:
            return []
        now_ns = self.clock.now_ns()
        updates: list[tuple[str, picture_pb2.PictureUpdate]] = []
        for key, deadline_ns in list(self.dying.items()):
            if deadline_ns > now_ns:
                continue
            del self.dying[key]
            log.info("node %s (%s): no new BIRTH within the grace period; its tracks are dropped", *key)
            for group in self.groups:
                if key[0] in group.sources:
                    updates += self._picture_updates(group, group.engine.drop_source(*key), 0)
        return updates

    def warm_up(self, assess: bool = True) -> None:
        """Run the hot path once on synthetic batches from every nation, in a throw-away service, so that
        every kernel it uses is compiled (or loaded from numba's on-disk cache) before SERVING; with
        ``assess`` also the assessment's (the live service leaves those to its assessment process)."""
        # a clock that stands still: on a cold cache compiling takes minutes, and the batches must not go stale
        now_ns = self.clock.now_ns()
        scratch = FusionService(self.settings.replace(node_keys=""), ManualClock(now_ns), Metrics())  # unsigned
        for payload, nation in synthetic_batches(now_ns, n_objects=3):
            scratch.handle_tracks(nation, payload)
        if assess:
            scratch.assess_due()


async def run(
    settings: Settings,
    stop: asyncio.Event | None = None,
    views: Sequence[str] = NATIONS,
    metrics: Metrics | None = None,
    observer: StageObserver | None = None,
    assessor: AssessProcess | None = None,
) -> int:
    """Run the fusion service until ``stop`` is set (SIGTERM / SIGINT by default). ``metrics``: pass one to
    read the counters in-process (tests, benchmarks); the HTTP endpoint serves the same registry.
    ``observer``: told each stage of every batch's way (the end-to-end benchmark's stage trace).
    ``assessor``: an assessment process started earlier for this policy's groups (the launcher's start gate
    waits for it to be warm); it is closed when the service stops. By default one is started here."""
    stop = stop or stop_on_signals()
    metrics = metrics or Metrics()
    metrics.serve(settings.metrics_host, settings.metrics_port)
    clock = Clock(t0_ns=settings.scenario_t0_ns, speed=settings.clock_speed)
    service = FusionService(settings, clock, metrics)
    _limit_kernel_threads(LOOP_KERNEL_THREADS)
    hub = await PictureHub.open(settings, list(views), metrics=metrics)
    service.observer = hub.observer = observer
    service.save_counter = hub.log.save_counter_soon
    # coalition (issue 15): every update carries its releasability label (signed with a label key), and each
    # view is released, labelled and signed, to its national edge over the hub
    releaser = Releaser.load(settings.label_key, fusion_identity(), service.policy_id) if settings.label_key else None
    hub.labeller = Labeller(service.policy_id, releaser)
    releases = ReleasePublisher(hub, releaser) if releaser is not None else None
    server = await start_server(settings, hub)
    log.info("fusion: gRPC WarningService on %s (NOT_SERVING until warm and subscribed)", settings.grpc_listen)
    log.info("fusion: compiling and warming numba kernels (first run only; cached afterwards)...")
    t = time.perf_counter()
    if assessor is None:
        assessor = AssessProcess(settings, len(service.groups))  # starts and warms up alongside
    try:
        await asyncio.to_thread(service.warm_up, False)  # the assessment process warms the assessment
    except BaseException:
        await assessor.close()
        raise
    log.info("fusion: fusion kernels ready in %.1f s", time.perf_counter() - t)
    # The fusion path serves now; the assessment process may still be loading (or, on a cold cache, compiling)
    # its kernels: assessments queue behind its warm-up and the tracks go out meanwhile, so a slow assessment
    # start never makes the service drop the nodes' first batches as stale.
    assessor_ready = asyncio.create_task(_log_ready(assessor, t))
    # everything allocated so far (modules, kernels, warm-up garbage) lives for the whole run: keep it out
    # of the collector's generations, which takes the collector's pauses out of the fusion cycle's p99
    # the picture restored from the log goes back into the engines now, when batches can come: the restored
    # tracks' grace period starts here, not before the warm-up
    service.restore(
        {v: hub.snapshot(v) for v in hub.views},
        await hub.log.load_counter("next_track_id"),
        await hub.log.load_counter("next_warning_id"),
    )
    gc.collect()
    gc.freeze()
    if observer is not None:
        observer.serving()
    backoff = mqtt.Backoff()
    wake = asyncio.Event()
    worker = asyncio.create_task(_assess_worker(service, hub, wake, assessor))
    expirer = asyncio.create_task(_expire(service, hub))
    try:
        while not stop.is_set():
            try:
                # a persistent session under one client id (under mutual TLS the broker takes the certificate's
                # CN): the broker keeps the subscriptions and queues the batches that arrive while this service
                # reconnects or restarts, and, with its persistence on, across its own restart
                async with mqtt.client(
                    settings.broker_url,
                    settings.fusion_client_id,
                    tls=TlsFiles.from_settings(settings),
                    clean_session=False,
                    max_packet_bytes=settings.mqtt_max_packet_bytes,
                    session_expiry_s=settings.mqtt_session_expiry_s,
                ) as client:
                    await client.subscribe(wire.TRACKS_SUBSCRIPTION, qos=1)
                    await client.subscribe(wire.STATUS_SUBSCRIPTION, qos=1)
                    log.info("fusion: subscribed to %s on %s", wire.TRACKS_SUBSCRIPTION, settings.broker_url)
                    backoff.reset()
                    # SERVING only now: kernels warm AND the track topics subscribed (nothing published from
                    # here on is missed); NOT_SERVING again while the broker is lost
                    await server.set_serving()
                    consumer = asyncio.create_task(_consume(client, service, hub, wake))
                    stopper = asyncio.create_task(stop.wait())
                    release = asyncio.create_task(releases.run(client)) if releases is not None else None
                    try:
                        await asyncio.wait({consumer, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        stopper.cancel()
                        if release is not None:
                            release.cancel()
                        if not consumer.done():
                            consumer.cancel()
                    if consumer.done() and not consumer.cancelled():
                        consumer.result()  # re-raises what ended the consumer (a lost connection)
            except Exception as exc:
                if not isinstance(exc, aiomqtt.MqttError):
                    raise
                delay = backoff.next()
                await server.set_serving(False)
                log.warning("fusion: broker connection lost (%s); reconnecting in %.1f s", exc, delay)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await stop.wait()
    finally:
        log.info("fusion: shutting down")
        assessor_ready.cancel()
        for task in (worker, expirer):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await assessor.close()
        await server.stop(2.0)
        await hub.close()
        metrics.close()
    return 0


async def _consume(client: Any, service: FusionService, hub: Any, assess: asyncio.Event) -> None:
    """Fuse every message in arrival order and hand its updates to the hub at once (``submit_many`` fixes
    their order and sequence numbers). With the SQLite log the hub commits and fans them out before it
    returns: no task and no thread hand-off between a fused batch and the subscribers' queues. With a log in a
    worker thread (PostgreSQL) publishing is pipelined: the next message is fused while the log commits, and
    at most ``_IN_FLIGHT`` batches wait for their commit (backpressure)."""
    in_flight = asyncio.Semaphore(_IN_FLIGHT)
    pending: set[asyncio.Future[list[int]]] = set()
    failed: list[asyncio.Future[list[int]]] = []

    def published(done: asyncio.Future[list[int]], sent_ns: int) -> None:
        in_flight.release()
        pending.discard(done)
        if done.cancelled():
            return
        if done.exception() is not None:
            failed.append(done)  # surfaced by the loop below
            return
        assess.set()
        if sent_ns:
            latency_ns = service.clock.now_ns() - sent_ns
            service.metrics.e2e_latency_seconds.observe(latency_ns * 1e-9 / service.clock.speed)

    try:
        async for message in client.messages:
            received_ns = time.time_ns()
            topic = str(message.topic)
            nation = wire.topic_nation(topic)
            payload = message.payload if isinstance(message.payload, bytes | bytearray) else b""
            try:
                if topic.endswith("/status"):
                    updates = service.handle_status(nation, bytes(payload))
                else:
                    updates = service.handle_tracks(nation, bytes(payload))
            except Exception as exc:  # a bug must not take the picture down: count, log once, go on
                service.internal_error("fusion", exc)
                continue
            if not updates:
                continue
            sent_ns = updates[0][1].source_sent_time_ns
            if service.observer is not None:
                service.observer.stamp(sent_ns, "received", received_ns)
            await in_flight.acquire()
            try:
                done = hub.submit_many(updates)
            except BaseException:
                in_flight.release()
                raise
            pending.add(done)
            done.add_done_callback(lambda f, sent_ns=sent_ns: published(f, sent_ns))
            if failed:
                failed[0].result()  # a failed log surfaces here
            # let the Subscribe handlers write this batch before the next one is fused: with messages already
            # waiting (after any stall) the loop would otherwise fuse them back to back, each batch's writes
            # waiting behind the next batches' fusing
            await asyncio.sleep(0)
    finally:
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


#: Track numbers and warning ids reserved in the durable log at a time (one write per this many).
_RESERVE_BLOCK = 10_000

#: Batches handed to the hub whose log commit has not finished yet, at most.
_IN_FLIGHT = 64


#: numba threads for the kernels run on the event loop's thread (fusing a batch): one. A parallel region waits
#: for its slowest thread, and on a busy 2-core machine that thread is often not scheduled at once; measured
#: with ``FusionService.handle_tracks`` on 2 cores (load ~5): 30 tracks per batch, p50 3.3 ms with 1 thread vs
#: 5.3 ms with 2; 100 tracks 8.5 vs 9.0 ms; 1,000 tracks 63 vs 69 ms.
LOOP_KERNEL_THREADS = 1
#: numba threads for the assessment (process): every core but one, which stays with the event loop (fusing,
#: MQTT, gRPC). With both cores the assessment of 30 tracks (~0.1-0.3 s) held the loop's p99 wake-up delay at
#: 15 ms (once 1.6 s); with one, 6 ms, and the assessment took as long.
ASSESS_KERNEL_THREADS = max(1, (os.cpu_count() or 2) - 1)


def _limit_kernel_threads(n: int) -> None:
    """Parallel numba kernels called from this thread use at most ``n`` threads (numba's setting is
    per thread)."""
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]


#: CPU priority (nice value, 0-19) of the assessment process. The assessment is background work: a run of
#: 30 tracks keeps a core busy for 20-200 ms (1 s for the first one of new tracks), and at the default priority
#: it took that core from the event loop, the broker and the subscribers on a 2-core machine (the updates of
#: those moments were the end-to-end tail). At nice 19 it still gets every idle cycle but yields the CPU to the
#: latency path at once. It runs in a process of its own, not a thread: a low-priority thread that holds the
#: GIL while it waits for the CPU blocks the event loop (priority inversion; seen as 40 ms MQTT-hop stalls).
ASSESS_NICE = 19


def _assess_process_main(conn: Connection, settings: Settings, n_groups: int, parent_pid: int) -> None:
    """The assessment process. First its set-up: low CPU priority, its numba thread count, and the assessment
    kernels loaded (a warm-up on synthetic tracks), so that the first real run is not slow. Ctrl-C is the
    parent's to handle: the service ends this process when it stops. If the service is killed outright
    (SIGKILL, OOM killer) the process ends with it (Linux: PR_SET_PDEATHSIG), so no orphan is left.

    Then it answers the calls ``(call_id, fn, args)`` that come through ``conn``, in order, with
    ``(call_id, ok, result or exception)``, until ``conn`` closes or brings None. This loop owns the assessors,
    one per fusion group (index in ``FusionService.groups``): a call with ``fn`` None is an assessment,
    ``_assess_in_process(assessors, *args)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent_pid)
    with contextlib.suppress(AttributeError, OSError):
        os.nice(ASSESS_NICE)
    _limit_kernel_threads(ASSESS_KERNEL_THREADS)
    FusionService(settings, Clock(), Metrics()).warm_up()
    assessors = {i: Assessor() for i in range(n_groups)}
    while True:
        try:
            call = conn.recv()
        except EOFError:
            return
        if call is None:
            return
        call_id, fn, args = call
        try:
            reply = (call_id, True, _assess_in_process(assessors, *args) if fn is None else fn(*args))
        except Exception as exc:
            reply = (call_id, False, exc)
        conn.send(reply)


def _die_with_parent(parent_pid: int) -> None:
    """Ask the kernel to kill this process when its parent dies (Linux only; elsewhere a no-op), and exit now
    if the parent is already gone (it died before the request was made)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:
        os._exit(0)


def _assess_in_process(
    assessors: dict[int, Assessor], group_index: int, tracks: list[SystemTrack], forget: list[int], now_ns: int
) -> dict[int, Any]:
    """In the assessment process: :meth:`FusionService.assess` with that process's assessor of the group."""
    assessor = assessors[group_index]
    if forget:
        assessor.forget(forget)
    return assessor.assess(tracks, now_ns) if tracks else {}


def _ready() -> bool:
    return True


class _AssessExecutor(Executor):
    """An executor of one spawned process, :func:`_assess_process_main`, that runs what is submitted in
    order, as ``ProcessPoolExecutor(1)`` would, plus :meth:`assess` with the assessors that process owns. The
    process starts with the first call. Calls are pickled and written by a writer thread and the replies read
    by a reader thread, so the caller's thread (the event loop) only queues them. When the process dies, the
    calls waiting for it and every later one fail with ``BrokenProcessPool``."""

    def __init__(self, settings: Settings, n_groups: int) -> None:
        self._args = (settings, n_groups, os.getpid())
        self._lock = threading.Lock()
        self._process: Any = None
        self._reader: threading.Thread | None = None
        self._outbox: queue.SimpleQueue[tuple[int, Callable[..., Any] | None, tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._calls = itertools.count()
        self._waiting: dict[int, Future[Any]] = {}
        self._broken = False
        self._shutdown = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if kwargs:
            raise TypeError("the assessment process takes positional arguments only")
        return self._call(fn, args)

    def assess(
        self, group_index: int, tracks: list[SystemTrack], forget: list[int], now_ns: int
    ) -> Future[dict[int, Any]]:
        """:meth:`FusionService.assess` of group ``group_index`` in the process, with its assessor."""
        return self._call(None, (group_index, tracks, forget, now_ns))

    def _call(self, fn: Callable[..., Any] | None, args: tuple[Any, ...]) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("the assessment process was shut down")
            if self._broken:
                raise BrokenProcessPool("the assessment process died")
            if self._process is None:
                self._start()
            call_id = next(self._calls)
            self._waiting[call_id] = future
            self._outbox.put((call_id, fn, args))
        return future

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")  # the service has threads (gRPC): no fork
        conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_assess_process_main, args=(child, *self._args), name="triwarn-assess", daemon=True
        )
        self._process.start()
        child.close()
        writer = threading.Thread(target=self._write, args=(conn,), name="triwarn-assess-writer", daemon=True)
        writer.start()
        self._reader = threading.Thread(
            target=self._read, args=(conn, writer), name="triwarn-assess-reader", daemon=True
        )
        self._reader.start()

    def _write(self, conn: Connection) -> None:
        """Send the queued calls (not those cancelled meanwhile) until None: then ask the process to end."""
        while True:
            item = self._outbox.get()
            if item is None:
                with contextlib.suppress(OSError):
                    conn.send(None)
                return
            call_id = item[0]
            with self._lock:
                future = self._waiting.get(call_id)
                if future is None or future.cancelled():
                    self._waiting.pop(call_id, None)
                    continue
            try:
                conn.send(item)
            except Exception as exc:  # the process is gone (the reader fails the call), or the call won't pickle
                with self._lock:
                    future = self._waiting.pop(call_id, None)
                if future is not None and future.set_running_or_notify_cancel():
                    future.set_exception(
                        BrokenProcessPool("the assessment process died") if isinstance(exc, OSError) else exc
                    )

    def _read(self, conn: Connection, writer: threading.Thread) -> None:
        """Hand the replies to their futures until the process's end of the pipe closes; then fail (or, after
        :meth:`shutdown`, cancel) the calls still waiting, stop the writer and close the pipe."""
        while True:
            try:
                call_id, ok, value = conn.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                future = self._waiting.pop(call_id, None)
            if future is not None and future.set_running_or_notify_cancel():
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        with self._lock:
            self._broken = True
            waiting, self._waiting = self._waiting, {}
            self._outbox.put(None)
        for future in waiting.values():
            if self._shutdown:
                future.cancel()
            elif future.set_running_or_notify_cancel():
                future.set_exception(BrokenProcessPool("the assessment process died"))
        writer.join()
        conn.close()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Let the process finish the call it runs and end; the calls queued behind it are cancelled with
        ``cancel_futures``, else they run first."""
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                for future in self._waiting.values():
                    future.cancel()
            self._outbox.put(None)
        if wait and self._process is not None:
            self._process.join()
            assert self._reader is not None
            self._reader.join()

    def stop(self, grace_s: float) -> None:
        """:meth:`shutdown`, then wait at most ``grace_s`` for the process to end, and end it if it has not (it
        may still be compiling or loading its kernels: a stop must not wait for that)."""
        self.shutdown(wait=False, cancel_futures=True)
        if self._process is None:
            return
        self._process.join(grace_s)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5.0)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        assert self._reader is not None
        self._reader.join()


#: seconds the assessment process gets to end by itself when the service stops, before it is terminated
CLOSE_GRACE_S = 3.0


class AssessProcess:
    """The assessment of the live service, in one child process of low CPU priority (``ASSESS_NICE``) that
    holds the assessors; tracks go there and assessments come back pickled (~0.3 ms each way for 30 tracks,
    in the executor's threads). Restarted, with fresh assessors, if it dies."""

    def __init__(self, settings: Settings, n_groups: int) -> None:
        """Starts the process now: it warms its kernels while the caller goes on (``ready``, ``wait_ready``)."""
        self._settings = settings
        self._n_groups = n_groups
        self._pool = _AssessExecutor(settings, n_groups)
        self._started = self._pool.submit(_ready)

    async def ready(self) -> None:
        """Wait until the process has started and warmed its kernels."""
        await asyncio.shield(asyncio.wrap_future(self._started))  # a cancelled waiter leaves the others waiting

    def wait_ready(self, timeout_s: float | None = None) -> None:
        """:meth:`ready` for a caller without an event loop (the launcher's start gate); raises what ended the
        process (``BrokenProcessPool``), or ``TimeoutError`` after ``timeout_s``."""
        self._started.result(timeout_s)

    async def assess(
        self, group_index: int, tracks: list[SystemTrack], forget: list[int], now_ns: int
    ) -> dict[int, Any]:
        try:
            return await asyncio.wrap_future(self._pool.assess(group_index, tracks, forget, now_ns))
        except BrokenProcessPool:
            log.error("fusion: the assessment process died; starting a new one (assessments start afresh)")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = _AssessExecutor(self._settings, self._n_groups)
            raise

    async def close(self) -> None:
        """End the process: a running assessment is dropped, and a process still warming up is ended after
        ``CLOSE_GRACE_S`` rather than waited for."""
        await asyncio.to_thread(self._pool.stop, CLOSE_GRACE_S)


async def _expire(service: FusionService, hub: Any, period_s: float = 0.5) -> None:
    """End the grace periods that ran out (``FusionService.expire``: DEATHs, restored tracks)."""
    while True:
        await asyncio.sleep(period_s)
        updates = service.expire()
        if updates:
            await hub.publish_many(updates)


async def _log_ready(assessor: AssessProcess, started: float) -> None:
    await assessor.ready()
    log.info("fusion: assessment kernels ready in %.1f s", time.perf_counter() - started)


async def _assess_worker(service: FusionService, hub: Any, wake: asyncio.Event, assessor: AssessProcess) -> None:
    """Assess due tracks in the assessment process and publish the results, for as long as the service runs."""
    while True:
        await wake.wait()
        wake.clear()
        await _assess_once(service, hub, assessor)


async def _assess_once(service: FusionService, hub: Any, assessor: AssessProcess) -> None:
    """Assess every group's due tracks and publish the results."""
    for group, tracks, forget in service.take_due():
        now_ns = service.clock.now_ns()
        started_ns = time.time_ns()
        try:
            assessments = await assessor.assess(service.groups.index(group), tracks, forget, now_ns)
            if service.observer is not None:
                service.observer.event("assess", started_ns, time.time_ns())
            updates = service.assessment_updates(group, assessments, service.clock.now_ns())
        except Exception as exc:  # these tracks keep their last assessment; the next period tries again
            service.internal_error("assessment", exc)
            continue
        if updates:
            await hub.publish_many(updates)
