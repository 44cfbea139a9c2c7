"""Warning distribution: the picture hub and the gRPC ``WarningService`` (grpc.aio).

Data path of one update (``PictureHub.submit_many``; ``publish`` and ``publish_many`` await it)::

    fusion ─▶ submit_many([(view, delta)]) ─ seq := last + 1, serialize once ─▶ pending
                                                                          │  one transaction for all pending:
                                                                          ▼  SQLite inline, on this thread;
                                                             durable log  ▼  FULL / PostgreSQL in its thread
                                                                          │  after commit, in seq order
                                                                          ▼
                                 apply to the view's picture ─▶ push the bytes into each subscriber's queue
                                                                          │  (filtered once per distinct filter)
                                                                          ▼
                                   Subscribe handler (one per subscriber) ─▶ context.write(bytes) ─▶ client

Guarantees:

- Gap-free: every view has its own sequence, 1, 2, 3...; a filter drops tracks and warnings from updates but
  never drops an update, so a subscriber sees every seq.
- Nothing is streamed before it is in the log; a new subscriber atomically gets the snapshot at seq N and is
  registered for N + 1 onwards; a resuming subscriber gets N + 1 ... last from the log, then live updates.
- Backpressure: each subscriber has one bounded queue (``Settings.subscriber_queue``). ``publish`` never
  waits on a subscriber; a subscriber whose queue is full is removed at once and its stream ends with
  RESOURCE_EXHAUSTED (after what it has been sent), and it can resume from its last seq.
- A filtered-out track that appears in a DELTA is reported in ``deleted_track_ids`` of that subscriber's
  update (it may have matched before: the client drops it). So ``deleted_track_ids`` may name tracks the
  client never held: clients ignore unknown ids.
- Warnings in state ENDED or CANCELLED are delivered in their DELTA and then leave the picture (they are not
  in later snapshots).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from triwarn.services.distribution.warning_log import WarningLog
from triwarn.services.runtime.metrics import Metrics
from triwarn.services.runtime.settings import Settings
from triwarn.services.wire.nations import NATION_TO_PB, PB_TO_NATION
from triwarn.v1 import picture_pb2, tracks_pb2, warning_service_pb2

log = logging.getLogger(__name__)

#: Full name of the service, as reflection and health checking list it.
SERVICE_NAME: str = warning_service_pb2.DESCRIPTOR.services_by_name["WarningService"].full_name

_ENDED_WARNING_STATES = frozenset({picture_pb2.Warning.STATE_ENDED, picture_pb2.Warning.STATE_CANCELLED})

#: Keepalive: ping an idle connection every 20 s, drop it if no answer within 10 s, so a vanished subscriber
#: does not hold a stream forever. Clients may ping every 10 s (see ``CLIENT_OPTIONS``).
SERVER_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
)
CLIENT_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
)

#: Rows read from the log per page when a subscriber resumes.
_HISTORY_PAGE = 500
#: Most updates between two checkpoints of a view (a checkpoint stores its snapshot and prunes the log).
_MAX_CHECKPOINT_EVERY = 1000


class ResumeOutOfRange(Exception):
    """A resume point that is no longer (or not yet) in the log: the client takes a new snapshot."""


# --- filters -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterSpec:
    """A subscriber's filter (hashable: subscribers with equal filters share one serialization)."""

    areas: frozenset[int] = frozenset()
    min_level: int = 0
    classes: frozenset[int] = frozenset()

    @classmethod
    def from_proto(cls, f: warning_service_pb2.Filter) -> FilterSpec:
        return cls(frozenset(f.areas), int(f.min_level), frozenset(f.missile_classes))

    @property
    def empty(self) -> bool:
        return not self.areas and not self.min_level and not self.classes

    def track_passes(self, t: picture_pb2.SystemTrack) -> bool:
        if self.min_level and t.warning_level < self.min_level:
            return False
        if self.classes and t.missile_class not in self.classes:
            return False
        return not self.areas or any(a.kind in self.areas for a in t.threatened_areas)

    def warning_passes(self, w: picture_pb2.Warning, missile_class: int | None) -> bool:
        """``missile_class``: the class of the warned track, None when unknown (then the class test passes)."""
        if self.min_level and w.level < self.min_level:
            return False
        if self.classes and missile_class is not None and missile_class not in self.classes:
            return False
        return not self.areas or any(a.kind in self.areas for a in w.areas)


def filter_update(
    update: picture_pb2.PictureUpdate, spec: FilterSpec, class_of: Callable[[int], int | None]
) -> picture_pb2.PictureUpdate:
    """A copy of ``update`` with only what passes ``spec``; filtered-out tracks of a DELTA become deletions.

    ``class_of(track_id)`` gives the missile class of a track not in this update (None when unknown), to
    filter a warning by class."""
    out = picture_pb2.PictureUpdate(
        seq=update.seq,
        kind=update.kind,
        view=update.view,
        time_ns=update.time_ns,
        source_sent_time_ns=update.source_sent_time_ns,
    )
    out.deleted_track_ids.extend(update.deleted_track_ids)
    classes = {t.track_id: t.missile_class for t in update.tracks}
    is_delta = update.kind == picture_pb2.PictureUpdate.KIND_DELTA
    for t in update.tracks:
        if spec.track_passes(t):
            out.tracks.append(t)
        elif is_delta:
            out.deleted_track_ids.append(t.track_id)
    for w in update.warnings:
        cls = classes.get(w.track_id)
        if spec.warning_passes(w, cls if cls is not None else class_of(w.track_id)):
            out.warnings.append(w)
    return out


# --- one view's picture --------------------------------------------------------------------------------


@dataclass
class _View:
    name: str
    nation: tracks_pb2.Nation
    tracks: dict[int, picture_pb2.SystemTrack] = field(default_factory=dict)
    warnings: dict[int, picture_pb2.Warning] = field(default_factory=dict)
    last_seq: int = 0  # last update applied (committed and fanned out)
    next_seq: int = 0  # last seq assigned by publish
    checkpoint_seq: int = 0
    last_time_ns: int = 0  # time_ns of the last update applied (the fusion service's clock)
    subscribers: set[Subscription] = field(default_factory=set)

    def apply(self, update: picture_pb2.PictureUpdate, seq: int | None = None) -> None:
        """Apply a DELTA (or replace everything with a SNAPSHOT) as update ``seq`` (default: its own)."""
        if update.kind == picture_pb2.PictureUpdate.KIND_SNAPSHOT:
            self.tracks.clear()
            self.warnings.clear()
        for t in update.tracks:
            self.tracks[t.track_id] = t
        for track_id in update.deleted_track_ids:
            self.tracks.pop(track_id, None)
        for w in update.warnings:
            if w.state in _ENDED_WARNING_STATES:
                self.warnings.pop(w.warning_id, None)
            else:
                self.warnings[w.warning_id] = w
        self.last_seq = update.seq if seq is None else seq
        self.last_time_ns = update.time_ns

    def class_of(self, track_id: int) -> int | None:
        t = self.tracks.get(track_id)
        return None if t is None else int(t.missile_class)

    def snapshot(self) -> picture_pb2.PictureUpdate:
        snap = picture_pb2.PictureUpdate(
            seq=self.last_seq,
            kind=picture_pb2.PictureUpdate.KIND_SNAPSHOT,
            view=self.nation,
            time_ns=self.last_time_ns,  # a snapshot is the picture as of its last update
        )
        snap.tracks.extend(self.tracks[k] for k in sorted(self.tracks))
        snap.warnings.extend(self.warnings[k] for k in sorted(self.warnings))
        return snap


# --- one subscriber ------------------------------------------------------------------------------------


class Subscription:
    """One subscriber: its backlog (the snapshot, or the history it resumes), then live updates from a
    bounded queue. Iterate with ``async for data in sub.stream()`` (serialized ``PictureUpdate`` bytes); when
    the stream stops, ``sub.end`` holds the status to end the call with (None: the caller stopped)."""

    def __init__(
        self,
        hub: PictureHub,
        view: _View,
        spec: FilterSpec,
        maxsize: int,
        snapshot: bytes | None,
        history: tuple[int, int] | None,
    ) -> None:
        self._hub = hub
        self._view = view
        self.spec = spec
        self._maxsize = maxsize
        self._snapshot = snapshot
        self._history = history  # (after_seq, up_to_seq): read (after, up_to] from the log
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
        self._hub._unregister(self._view, self)

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
        wlog = self._hub._log
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


# --- stage timing (benchmarks) --------------------------------------------------------------------------


class StageTrace:
    """Wall-clock stamps (``time.time_ns()``) of node batches on their way through the fusion service, keyed by
    the batch's ``sent_time_ns`` (the ``source_sent_time_ns`` of its updates). The end-to-end benchmark passes
    one to ``fusion.run`` and joins it with its subscribers' receive times into a per-stage breakdown; the
    service runs without one (None) otherwise. The first stamp of a stage wins (a batch updates several
    views); at most ``limit`` batches are kept."""

    #: The stages in path order (see ``benches`` and docs/distribution.md): MQTT message taken by the consumer,
    #: decoded and validated, fused (engine), picture update built, handed to the hub (seq, serialized),
    #: committed to the log, fanned out into the subscribers' queues.
    STAGES = ("received", "decoded", "fused", "built", "enqueued", "committed", "delivered")

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self.batches: dict[int, dict[str, int]] = {}
        self.writes: dict[int, list[tuple[int, int]]] = {}  # source -> (write started, write done) per write
        #: id(bytes in subscriber queues) -> [source, writes still to come]. An entry lives exactly as long as
        #: its bytes are queued (while they are alive their id is theirs alone); keeping it longer attributed
        #: the writes of later updates whose bytes got the same id to the wrong batch.
        self._payload_source: dict[int, list[int]] = {}
        #: What else the service did, as (kind, start ns, end ns): "gc" (a garbage collection, see
        #: :meth:`watch_gc`) and "assess" (an assessment run in the worker thread), to attribute the tail.
        self.events: list[tuple[str, int, int]] = []
        self._gc_started = 0

    def event(self, kind: str, start_ns: int, end_ns: int) -> None:
        if len(self.events) < self.limit:
            self.events.append((kind, start_ns, end_ns))

    def watch_gc(self) -> None:
        """Record every garbage collection of this process as a "gc" event (``gc.callbacks``)."""
        import gc

        def callback(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                self._gc_started = time.time_ns()
            elif self._gc_started:
                self.event(f"gc{info.get('generation', 0)}", self._gc_started, time.time_ns())

        gc.callbacks.append(callback)

    def stamp(self, source_ns: int, stage: str, t_ns: int | None = None) -> None:
        if not source_ns:
            return
        stamps = self.batches.get(source_ns)
        if stamps is None:
            if len(self.batches) >= self.limit:
                return
            stamps = self.batches[source_ns] = {}
        stamps.setdefault(stage, time.time_ns() if t_ns is None else t_ns)

    def queued(self, data: bytes, source_ns: int, copies: int) -> None:
        """``data`` was pushed into ``copies`` subscriber queues (each of which will write it once)."""
        if copies:
            self._payload_source[id(data)] = [source_ns, copies]

    def wrote(self, data: bytes, started_ns: int, done_ns: int) -> None:
        entry = self._payload_source.get(id(data))
        if entry is None:
            return  # a snapshot or a resume: not queued
        source = entry[0]
        entry[1] -= 1
        if entry[1] <= 0:
            del self._payload_source[id(data)]
        if source and source in self.batches:
            self.writes.setdefault(source, []).append((started_ns, done_ns))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: {"batches": {source: {stage: ns}}, "writes": {source: [[start, done], ...]},
        "events": [[kind, start, end], ...]}."""
        return {
            "batches": {str(k): v for k, v in self.batches.items()},
            "writes": {str(k): v for k, v in self.writes.items()},
            "events": self.events,
        }


# --- the hub -------------------------------------------------------------------------------------------


@dataclass
class _Pending:
    view: _View
    seq: int
    update: picture_pb2.PictureUpdate  # may be shared between views: read its seq and view from here, not it
    payload: bytes
    done: asyncio.Future[int]


class PictureHub:
    """The current picture of every view, its durable log, and its subscribers."""

    def __init__(self, settings: Settings, wlog: WarningLog, views: dict[str, _View], metrics: Metrics | None) -> None:
        self._settings = settings
        self._log = wlog
        self._views = views
        self._metrics = metrics
        self._pending: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None
        self._failed: BaseException | None = None
        self._closed = False
        self._retention = max(1, settings.retention_updates)
        self._checkpoint_every = max(1, min(_MAX_CHECKPOINT_EVERY, self._retention // 2))
        self._view_metrics = {
            name: (metrics.updates_published.labels(name), metrics.subscriber_queue_depth.labels(name))
            for name in views
            if metrics is not None
        }
        #: Stage stamps for the end-to-end benchmark (None: off).
        self.trace: StageTrace | None = None

    @classmethod
    async def open(cls, settings: Settings, views: Sequence[str], *, metrics: Metrics | None = None) -> PictureHub:
        """Open the log at ``settings.warning_log`` and rebuild every view from its checkpoint and deltas."""
        unknown = [v for v in views if v not in NATION_TO_PB]
        if unknown or not views:
            raise ValueError(f"views must be among {sorted(NATION_TO_PB)}, not {list(views)!r}")
        wlog = await WarningLog.open(settings.warning_log)
        try:
            states = {}
            for name in views:
                state = _View(name, NATION_TO_PB[name])
                cp = await wlog.load_checkpoint(name)
                if cp is not None:
                    state.apply(picture_pb2.PictureUpdate.FromString(cp[1]))
                    state.last_seq = state.checkpoint_seq = cp[0]
                while True:
                    rows = await wlog.read_after(name, state.last_seq, 2000)
                    if not rows:
                        break
                    for seq, payload in rows:
                        if seq != state.last_seq + 1:
                            raise RuntimeError(
                                f"warning log {settings.warning_log}: view {name} jumps from seq "
                                f"{state.last_seq} to {seq}"
                            )
                        state.apply(picture_pb2.PictureUpdate.FromString(payload))
                state.next_seq = state.last_seq
                states[name] = state
                if state.last_seq:
                    log.info(
                        "view %s restored at seq %d (%d tracks, %d warnings)",
                        name,
                        state.last_seq,
                        len(state.tracks),
                        len(state.warnings),
                    )
        except BaseException:
            await wlog.close()
            raise
        return cls(settings, wlog, states, metrics)

    @property
    def views(self) -> tuple[str, ...]:
        return tuple(self._views)

    def last_seq(self, view: str) -> int:
        return self._view(view).last_seq

    def subscriber_count(self, view: str | None = None) -> int:
        states = self._views.values() if view is None else [self._view(view)]
        return sum(len(s.subscribers) for s in states)

    def _view(self, view: str) -> _View:
        try:
            return self._views[view]
        except KeyError:
            raise KeyError(f"unknown view {view!r}; this hub serves {', '.join(self._views)}") from None

    # --- publishing ---

    async def publish(self, view: str, update: picture_pb2.PictureUpdate) -> int:
        """Assign the next seq of ``view``, append to the log, apply, fan out; returns the seq.

        The hub takes ownership of ``update`` (it sets seq, kind=DELTA, view, and time_ns if 0) and keeps
        references to its tracks and warnings: do not modify them afterwards. One message may be published to
        several views, one after the other or concurrently (see :meth:`publish_many`)."""
        return (await self.publish_many([(view, update)]))[0]

    async def publish_many(self, items: Sequence[tuple[str, picture_pb2.PictureUpdate]]) -> list[int]:
        """Publish several (view, update) pairs in one log transaction (e.g. one fused batch for every view);
        returns their seqs. Cheaper than awaiting ``publish`` for each: one commit, one wake-up."""
        return list(await asyncio.shield(self.submit_many(items)))

    def submit_many(self, items: Sequence[tuple[str, picture_pb2.PictureUpdate]]) -> asyncio.Future[list[int]]:
        """:meth:`publish_many` without waiting: the seqs are assigned now, in call order, and with an inline
        log (SQLite, ``WarningLog.inline``) the updates are committed and fanned out before this returns (no
        task, no thread hand-off on the way to the subscribers). The future gives their seqs, or the log's
        error."""
        futures = [self._enqueue(view, update) for view, update in items]
        if self._flusher is None and self._pending:
            if self._log.inline:
                self._flush_now()
            else:
                self._flusher = asyncio.create_task(self._flush(), name="triwarn-hub-flush")
        return asyncio.gather(*futures)

    def _enqueue(self, view: str, update: picture_pb2.PictureUpdate) -> asyncio.Future[int]:
        if self._failed is not None:
            raise RuntimeError("the warning log failed; the hub cannot publish") from self._failed
        if self._closed:
            raise RuntimeError("the hub is closed")
        state = self._view(view)
        state.next_seq += 1
        update.seq = state.next_seq
        update.kind = picture_pb2.PictureUpdate.KIND_DELTA
        update.view = state.nation
        if not update.time_ns:
            update.time_ns = time.time_ns()
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(state, state.next_seq, update, update.SerializeToString(), done))
        if self.trace is not None:
            self.trace.stamp(update.source_sent_time_ns, "enqueued")
        return done

    @staticmethod
    def _rows(batch: list[_Pending]) -> list[tuple[str, int, int, bytes]]:
        return [(p.view.name, p.seq, p.update.time_ns, p.payload) for p in batch]

    def _flush_now(self) -> None:
        """Commit what is pending in one transaction on this thread (inline log), apply, fan out."""
        batch, self._pending = self._pending, []
        started = time.perf_counter()
        try:
            self._log.append_many_now(self._rows(batch))
        except Exception as exc:
            self._fail(batch, exc)
            return
        for state in self._committed(batch, started):
            try:
                self._log.checkpoint_now(*self._checkpoint_args(state))
            except Exception as exc:  # the deltas stay in the log: the next checkpoint covers them
                log.error("checkpoint of view %s failed: %s", state.name, exc)
                continue
            state.checkpoint_seq = state.last_seq

    async def _flush(self) -> None:
        """Commit everything pending in one transaction (in the log's thread), then apply and fan out in seq
        order; repeat while updates were published meanwhile (group commit)."""
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                started = time.perf_counter()
                try:
                    await self._log.append_many(self._rows(batch))
                except BaseException as exc:
                    self._fail(batch, exc)
                    return
                for state in self._committed(batch, started):
                    try:
                        await self._checkpoint(state)
                    except Exception as exc:  # the deltas stay in the log: the next checkpoint covers them
                        log.error("checkpoint of view %s failed: %s", state.name, exc)
        finally:
            self._flusher = None

    def _fail(self, batch: list[_Pending], exc: BaseException) -> None:
        self._failed = exc
        log.error("warning log append failed: %s", exc)
        for p in batch + self._pending:
            if not p.done.done():
                p.done.set_exception(RuntimeError(f"warning log append failed: {exc}"))
        self._pending = []

    def _committed(self, batch: list[_Pending], started: float) -> list[_View]:
        """After the commit of ``batch``: apply and fan out in seq order; the views due for a checkpoint."""
        if self._metrics is not None:
            self._metrics.log_commit_seconds.observe(time.perf_counter() - started)
        if self.trace is not None:
            t_ns = time.time_ns()
            for p in batch:
                self.trace.stamp(p.update.source_sent_time_ns, "committed", t_ns)
        for p in batch:
            self._deliver(p)
            p.done.set_result(p.seq)
        states = {p.view.name: p.view for p in batch}.values()
        return [s for s in states if s.last_seq - s.checkpoint_seq >= self._checkpoint_every]

    def _deliver(self, p: _Pending) -> None:
        state = p.view
        state.apply(p.update, p.seq)
        by_filter: dict[FilterSpec, bytes] = {}
        deepest = 0
        dropped = 0
        trace = self.trace
        pushed: dict[int, list[Any]] | None = None if trace is None else {}  # id(bytes) -> [bytes, copies]
        for sub in list(state.subscribers):
            if sub.spec.empty:
                data = p.payload
            else:
                cached = by_filter.get(sub.spec)
                if cached is None:
                    filtered = filter_update(p.update, sub.spec, state.class_of)
                    filtered.seq, filtered.view = p.seq, state.nation
                    cached = filtered.SerializeToString()
                    by_filter[sub.spec] = cached
                data = cached
            if sub.push(data):
                deepest = max(deepest, sub.depth)
                if pushed is not None:
                    pushed.setdefault(id(data), [data, 0])[1] += 1
            else:
                state.subscribers.discard(sub)
                dropped += 1
        if trace is not None and pushed:
            source = p.update.source_sent_time_ns
            for data, copies in pushed.values():
                trace.queued(data, source, copies)
            trace.stamp(source, "delivered")
        m = self._metrics
        if m is not None:
            published, depth = self._view_metrics[state.name]
            published.inc()
            depth.set(deepest)
            if dropped:
                m.subscribers_dropped.labels(state.name).inc(dropped)
                m.subscribers.labels(state.name).set(len(state.subscribers))

    def _checkpoint_args(self, state: _View) -> tuple[str, int, bytes, int]:
        return state.name, state.last_seq, state.snapshot().SerializeToString(), self._retention

    async def _checkpoint(self, state: _View) -> None:
        seq = state.last_seq
        await self._log.checkpoint(*self._checkpoint_args(state))
        state.checkpoint_seq = seq

    # --- reading ---

    def snapshot(self, view: str, spec: FilterSpec | None = None) -> picture_pb2.PictureUpdate:
        """The current picture of ``view`` as a SNAPSHOT at its last seq (filtered by ``spec`` if given)."""
        state = self._view(view)
        snap = state.snapshot()
        if spec is not None and not spec.empty:
            snap = filter_update(snap, spec, state.class_of)
        return snap

    def subscribe(self, view: str, spec: FilterSpec | None = None, resume_after_seq: int | None = None) -> Subscription:
        """Register a subscriber of ``view``: snapshot first (or, with ``resume_after_seq`` = N, updates N + 1
        onwards from the log), then every live update. Raises :class:`ResumeOutOfRange` when N + 1 is no longer
        retained or N is ahead of the log."""
        if self._closed:
            raise RuntimeError("the hub is closed")
        state = self._view(view)
        spec = spec or FilterSpec()
        last = state.last_seq
        snapshot: bytes | None = None
        history: tuple[int, int] | None = None
        if resume_after_seq is None:
            snapshot = self.snapshot(view, spec).SerializeToString()
        else:
            first_retained = max(1, last - self._retention + 1)
            if resume_after_seq > last:
                raise ResumeOutOfRange(
                    f"seq {resume_after_seq} is ahead of view {view}, whose last update is {last} "
                    "(a different or reset log): take a new snapshot (subscribe without resume_after_seq)"
                )
            if resume_after_seq + 1 < first_retained:
                raise ResumeOutOfRange(
                    f"update {resume_after_seq + 1} of view {view} is beyond the retention window (updates "
                    f"{first_retained}..{last} are kept): take a new snapshot (subscribe without "
                    "resume_after_seq)"
                )
            history = (resume_after_seq, last)
        sub = Subscription(self, state, spec, max(1, self._settings.subscriber_queue), snapshot, history)
        state.subscribers.add(sub)
        if self._metrics is not None:
            self._metrics.subscribers.labels(view).set(len(state.subscribers))
        return sub

    def _unregister(self, state: _View, sub: Subscription) -> None:
        state.subscribers.discard(sub)
        if self._metrics is not None:
            self._metrics.subscribers.labels(state.name).set(len(state.subscribers))

    def end_subscriptions(self, code: grpc.StatusCode, details: str) -> None:
        """End every subscriber's stream with ``code`` (shutdown: UNAVAILABLE, so clients resume elsewhere)."""
        for state in self._views.values():
            for sub in list(state.subscribers):
                sub.finish(code, details)
            state.subscribers.clear()

    async def close(self) -> None:
        """Finish pending appends, checkpoint every view, end subscribers, close the log."""
        if self._closed:
            return
        self._closed = True
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher
        self.end_subscriptions(grpc.StatusCode.UNAVAILABLE, "the picture hub closed: resume after your last seq")
        try:
            if self._failed is None:
                for state in self._views.values():
                    if state.last_seq > state.checkpoint_seq:
                        await self._checkpoint(state)
        finally:
            await self._log.close()


# --- the gRPC service ----------------------------------------------------------------------------------


class WarningService:
    """The ``triwarn.v1.WarningService`` servicer. Registered through a generic handler so that Subscribe
    writes the hub's pre-serialized bytes (one serialization per update, whatever the number of subscribers)."""

    def __init__(self, settings: Settings, hub: PictureHub) -> None:
        self._settings = settings
        self._hub = hub

    def rpc_handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(
            SERVICE_NAME,
            {
                "Subscribe": grpc.unary_stream_rpc_method_handler(
                    self.Subscribe,
                    request_deserializer=warning_service_pb2.SubscribeRequest.FromString,
                    response_serializer=None,  # the handler writes bytes
                ),
                "GetPicture": grpc.unary_unary_rpc_method_handler(
                    self.GetPicture,
                    request_deserializer=warning_service_pb2.GetPictureRequest.FromString,
                    response_serializer=picture_pb2.PictureUpdate.SerializeToString,
                ),
            },
        )

    async def _view(self, nation: tracks_pb2.Nation, context: grpc.aio.ServicerContext[Any, Any]) -> str:
        if nation == tracks_pb2.NATION_UNSPECIFIED:
            name: str | None = self._settings.default_view
        else:
            name = PB_TO_NATION.get(nation)
        if name is None or name not in self._hub.views:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"unknown view {nation}; this service serves {', '.join(self._hub.views)}",
            )
        assert name is not None
        return name

    async def Subscribe(
        self, request: warning_service_pb2.SubscribeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        view = await self._view(request.view, context)
        spec = FilterSpec.from_proto(request.filter)
        resume = request.resume_after_seq if request.HasField("resume_after_seq") else None
        try:
            sub = self._hub.subscribe(view, spec, resume)
        except ResumeOutOfRange as exc:
            await context.abort(grpc.StatusCode.OUT_OF_RANGE, str(exc))
        except RuntimeError as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        try:
            trace = self._hub.trace
            async with contextlib.aclosing(sub.stream()) as stream:
                async for data in stream:
                    if trace is None:
                        await context.write(data)
                    else:
                        started = time.time_ns()
                        await context.write(data)
                        trace.wrote(data, started, time.time_ns())
            if sub.end is not None:
                await context.abort(*sub.end)
        finally:
            sub.close()

    async def GetPicture(
        self, request: warning_service_pb2.GetPictureRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> picture_pb2.PictureUpdate:
        view = await self._view(request.view, context)
        return self._hub.snapshot(view, FilterSpec.from_proto(request.filter))


@dataclass
class GrpcServerHandle:
    """A running gRPC server: ``address`` (host:port actually bound), ``set_serving()``, ``stop(grace_s)``."""

    server: grpc.aio.Server
    health: Any  # grpc_health.v1.health.aio.HealthServicer
    hub: PictureHub
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def set_serving(self, serving: bool = True) -> None:
        """Health says SERVING (the fusion service calls this once its kernels are warm and it consumes the
        broker's track topics), or NOT_SERVING with ``serving=False`` (while it has lost the broker)."""
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ("", SERVICE_NAME):
            await self.health.set(name, status)

    async def stop(self, grace_s: float = 5.0) -> None:
        """Graceful stop: health NOT_SERVING, end subscriber streams with UNAVAILABLE (they resume after a
        restart), let in-flight unary calls finish within ``grace_s``, then close."""
        await self.health.enter_graceful_shutdown()
        self.hub.end_subscriptions(
            grpc.StatusCode.UNAVAILABLE,
            "the fusion service is shutting down: reconnect and resume after your last seq",
        )
        await self.server.stop(grace_s)

    async def wait_for_termination(self) -> None:
        await self.server.wait_for_termination()


async def start_server(settings: Settings, hub: PictureHub) -> GrpcServerHandle:
    """Start the gRPC server on ``settings.grpc_listen`` (port 0 picks a free port: read ``handle.port``) with
    WarningService, health checking (NOT_SERVING until ``handle.set_serving()``) and server reflection."""
    server = grpc.aio.server(options=SERVER_OPTIONS)
    server.add_generic_rpc_handlers((WarningService(settings, hub).rpc_handler(),))
    health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    port = server.add_insecure_port(settings.grpc_listen)
    if not port:
        raise RuntimeError(f"cannot listen on {settings.grpc_listen}")
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    await server.start()
    host = settings.grpc_listen.rsplit(":", 1)[0] or "127.0.0.1"
    if host in ("0.0.0.0", "[::]", "::"):
        host = "127.0.0.1"
    log.info("WarningService listening on %s:%d", host, port)
    return GrpcServerHandle(server, health_servicer, hub, host, port)
