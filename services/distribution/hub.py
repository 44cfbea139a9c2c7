"""The picture hub: the current picture of every view, its durable log, and its subscribers.

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
import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from triwarn.services.distribution.filters import FilterSpec, filter_update
from triwarn.services.distribution.subscription import Subscription
from triwarn.services.distribution.view import ViewState
from triwarn.services.distribution.warning_log import WarningLog
from triwarn.services.policy import load_policy
from triwarn.services.runtime.metrics import Metrics
from triwarn.services.runtime.observer import StageObserver
from triwarn.services.runtime.settings import Settings
from triwarn.services.trust.labels import Labeller
from triwarn.services.wire.nations import NATION_TO_PB
from triwarn.v1 import picture_pb2, release_pb2

log = logging.getLogger(__name__)

#: Most updates between two checkpoints of a view (a checkpoint stores its snapshot and prunes the log).
_MAX_CHECKPOINT_EVERY = 1000


class ResumeOutOfRange(Exception):
    """A resume point that is no longer (or not yet) in the log: the client takes a new snapshot."""


@dataclass
class _Pending:
    view: ViewState
    seq: int
    update: picture_pb2.PictureUpdate  # may be shared between views: read its seq and view from here, not it
    payload: bytes
    done: asyncio.Future[int]
    #: the label the hub's labeller gave this update, and its signature (None: the update keeps its own)
    label: tuple[release_pb2.ReleaseLabel, release_pb2.LabelSignature | None] | None = None


class PictureHub:
    """The current picture of every view, its durable log, and its subscribers."""

    def __init__(
        self, settings: Settings, wlog: WarningLog, views: dict[str, ViewState], metrics: Metrics | None
    ) -> None:
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
        #: Told each stage of a batch's way (see :mod:`~triwarn.services.runtime.observer`; None: off).
        self.observer: StageObserver | None = None
        #: Called with (view, seq, update bytes, its label) of every update once it is committed, in seq order
        #: (the coalition's release of each view to its national edge; None: off).
        self.on_release: Callable[[str, int, bytes, release_pb2.ReleaseLabel | None], None] | None = None
        #: Labels every update published, and the snapshot of a view with nothing published yet: stored in the
        #: log with the update, so resumed updates carry the label they were served with. By default unsigned,
        #: under the policy of ``settings.policy_file``; the fusion service sets its own (signed with a label
        #: key). None: updates keep the label they carry (an edge: the fusion service's, verified upstream).
        self.labeller: Labeller | None = Labeller(load_policy(settings.policy_file or None).source)

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
                state = ViewState(name, NATION_TO_PB[name])
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
    def metrics(self) -> Metrics | None:
        return self._metrics

    @property
    def log(self) -> WarningLog:
        """The durable log (the fusion service keeps its track number counter there)."""
        return self._log

    @property
    def views(self) -> tuple[str, ...]:
        return tuple(self._views)

    def last_seq(self, view: str) -> int:
        return self._view(view).last_seq

    def set_label(
        self, view: str, label: release_pb2.ReleaseLabel, signature: release_pb2.LabelSignature | None = None
    ) -> None:
        """Label the picture of ``view`` as it is until its next update (an edge's empty picture)."""
        state = self._view(view)
        state.label, state.label_signature = label, signature

    def subscriber_count(self, view: str | None = None) -> int:
        states = self._views.values() if view is None else [self._view(view)]
        return sum(len(s.subscribers) for s in states)

    def _view(self, view: str) -> ViewState:
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
        labelled = None
        if self.labeller is not None:  # set now, serialized with the update (a shared update is relabelled)
            labelled = self.labeller.label(state.name, state.next_seq)
            update.label.CopyFrom(labelled[0])
            if labelled[1] is None:
                update.ClearField("label_signature")
            else:
                update.label_signature.CopyFrom(labelled[1])
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(state, state.next_seq, update, update.SerializeToString(), done, labelled))
        if self.observer is not None:
            self.observer.stamp(update.source_sent_time_ns, "enqueued")
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

    def _committed(self, batch: list[_Pending], started: float) -> list[ViewState]:
        """After the commit of ``batch``: apply and fan out in seq order; the views due for a checkpoint."""
        if self._metrics is not None:
            self._metrics.log_commit_seconds.observe(time.perf_counter() - started)
        if self.observer is not None:
            t_ns = time.time_ns()
            for p in batch:
                self.observer.stamp(p.update.source_sent_time_ns, "committed", t_ns)
        for p in batch:
            self._deliver(p)
            if self.on_release is not None:
                self.on_release(p.view.name, p.seq, p.payload, p.view.label)
            p.done.set_result(p.seq)
        states = {p.view.name: p.view for p in batch}.values()
        return [s for s in states if s.last_seq - s.checkpoint_seq >= self._checkpoint_every]

    def _deliver(self, p: _Pending) -> None:
        state = p.view
        state.apply(p.update, p.seq, p.label)
        by_filter: dict[FilterSpec, bytes] = {}
        deepest = 0
        dropped = 0
        observer = self.observer
        pushed: dict[int, list[Any]] | None = None if observer is None else {}  # id(bytes) -> [bytes, copies]
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
            if sub.push(data, p.seq):
                deepest = max(deepest, sub.depth)
                if pushed is not None:
                    pushed.setdefault(id(data), [data, 0])[1] += 1
            else:
                state.subscribers.discard(sub)
                dropped += 1
        if observer is not None and pushed:
            source = p.update.source_sent_time_ns
            for data, copies in pushed.values():
                observer.queued(data, source, copies)
            observer.stamp(source, "delivered")
        m = self._metrics
        if m is not None:
            published, depth = self._view_metrics[state.name]
            published.inc()
            depth.set(deepest)
            if dropped:
                m.subscribers_dropped.labels(state.name).inc(dropped)
                m.subscribers.labels(state.name).set(len(state.subscribers))

    def _checkpoint_args(self, state: ViewState) -> tuple[str, int, bytes, int]:
        return state.name, state.last_seq, state.snapshot().SerializeToString(), self._retention

    async def _checkpoint(self, state: ViewState) -> None:
        seq = state.last_seq
        await self._log.checkpoint(*self._checkpoint_args(state))
        state.checkpoint_seq = seq

    # --- reading ---

    def snapshot(self, view: str, spec: FilterSpec | None = None) -> picture_pb2.PictureUpdate:
        """The current picture of ``view`` as a SNAPSHOT at its last seq (filtered by ``spec`` if given)."""
        state = self._view(view)
        if state.label is None and self.labeller is not None:  # nothing published yet (or an unlabelled log)
            state.label, state.label_signature = self.labeller.label(view, state.last_seq)
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
        sub = Subscription(
            state,
            spec,
            max(1, self._settings.subscriber_queue),
            snapshot,
            history,
            self._log,
            functools.partial(self._unregister, state),
        )
        sub.max_lag_s = self._settings.subscriber_max_lag_s
        state.subscribers.add(sub)
        if self._metrics is not None:
            self._metrics.subscribers.labels(view).set(len(state.subscribers))
        return sub

    def _unregister(self, state: ViewState, sub: Subscription) -> None:
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
