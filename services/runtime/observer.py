"""The latency path's hook for instrumentation: an optional observer that the fusion service, the picture hub
and the gRPC server call as a node batch passes each stage. The end-to-end benchmark supplies one
(``benches/stage_trace.py``); the live service runs without (None), and then the path does nothing extra."""

from __future__ import annotations

from typing import Protocol

#: The stages in path order (see ``benches`` and docs/distribution.md): MQTT message taken by the consumer,
#: decoded and validated, fused (engine), picture update built, handed to the hub (seq, serialized),
#: committed to the log, fanned out into the subscribers' queues.
STAGES = ("received", "decoded", "fused", "built", "enqueued", "committed", "delivered")


class StageObserver(Protocol):
    """What the path reports. Batches are keyed by their ``sent_time_ns`` (the ``source_sent_time_ns`` of
    their updates; 0: not a node batch); times are wall-clock ``time.time_ns()``."""

    def stamp(self, source_ns: int, stage: str, t_ns: int | None = None) -> None:
        """Batch ``source_ns`` reached ``stage`` (one of :data:`STAGES`) at ``t_ns`` (None: now)."""

    def event(self, kind: str, start_ns: int, end_ns: int) -> None:
        """Something else the service did from ``start_ns`` to ``end_ns`` ("assess": an assessment run)."""

    def queued(self, data: bytes, source_ns: int, copies: int) -> None:
        """The bytes ``data`` of batch ``source_ns`` were pushed into ``copies`` subscriber queues."""

    def wrote(self, data: bytes, started_ns: int, done_ns: int) -> None:
        """One gRPC write of ``data`` to a subscriber, from ``started_ns`` to ``done_ns``."""

    def serving(self) -> None:
        """The service is warm, its start-up garbage frozen, and about to take batches."""
