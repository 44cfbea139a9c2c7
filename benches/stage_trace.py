"""The stage trace of the end-to-end benchmark: the :class:`~triwarn.services.runtime.observer.StageObserver`
it passes to ``fusion.run`` (or sets on a hub) to time every node batch stage by stage."""

from __future__ import annotations

import gc
import time
from typing import Any

from triwarn.services.runtime.observer import STAGES


class StageTrace:
    """Wall-clock stamps (``time.time_ns()``) of node batches on their way through the fusion service, keyed by
    the batch's ``sent_time_ns`` (the ``source_sent_time_ns`` of its updates). The end-to-end benchmark passes
    one to ``fusion.run`` as its ``observer`` and joins it with its subscribers' receive times into a
    per-stage breakdown. The first stamp of a stage wins (a batch updates several
    views); at most ``limit`` batches are kept."""

    #: The stages in path order (``observer.STAGES``).
    STAGES = STAGES

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

    def serving(self) -> None:
        """From now on, record the garbage collections too (:meth:`watch_gc`)."""
        self.watch_gc()

    def watch_gc(self) -> None:
        """Record every garbage collection of this process as a "gc" event (``gc.callbacks``)."""

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
