"""Prometheus metrics of the fusion service, on a registry of its own (no module-level mutable state).

``Metrics.serve(host, port)`` exposes them over HTTP at ``/metrics``; scrape with Prometheus or
``curl http://127.0.0.1:9108/metrics``.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

_LATENCY_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class Metrics:
    """Every metric the fusion service and its distribution expose."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._server: Any = None  # the HTTP endpoint's server, while it runs
        r = self.registry
        # --- ingest ---
        self.batches_received = Counter(
            "triwarn_batches_received", "Track batches accepted, per nation", ["nation"], registry=r
        )
        self.batches_rejected = Counter(
            "triwarn_batches_rejected",
            "MQTT messages rejected as bad input, per nation (topic) and reason",
            ["nation", "reason"],
            registry=r,
        )
        self.tracks_received = Counter(
            "triwarn_tracks_received", "Local tracks accepted, per nation", ["nation"], registry=r
        )
        self.tracks_rejected = Counter(
            "triwarn_tracks_rejected",
            "Tracks refused alone from a batch whose other tracks were kept, per nation and reason",
            ["nation", "reason"],
            registry=r,
        )
        self.tracks_dropped = Counter(
            "triwarn_system_tracks_dropped",
            "Fused system tracks that broke an invariant (non-finite, covariance, flight envelope) and were not"
            " published, per reason",
            ["reason"],
            registry=r,
        )
        self.batches_late = Counter(
            "triwarn_batches_late_dropped",
            "Local tracks dropped as older than the late window, per nation",
            ["nation"],
            registry=r,
        )
        self.local_renumbered = Counter(
            "triwarn_local_tracks_renumbered",
            "Local track numbers that came back on another object (a restarted node numbering again), taken as"
            " new local tracks, per nation",
            ["nation"],
            registry=r,
        )
        self.batch_gaps = Counter(
            "triwarn_batch_sequence_gaps",
            "Batches lost: missing in a node's sequence (gaps in batch_seq), per nation",
            ["nation"],
            registry=r,
        )
        self.node_status = Gauge(
            "triwarn_node_online",
            "1 while a node's last status is BIRTH, 0 after DEATH",
            ["nation"],
            registry=r,
        )
        # --- fusion ---
        self.fusion_cycle_seconds = Histogram(
            "triwarn_fusion_cycle_seconds",
            "Time to fuse one batch into every view (alignment, gating, assignment, fusion, picture)",
            buckets=_LATENCY_BUCKETS_S,
            registry=r,
        )
        self.internal_errors = Counter(
            "triwarn_internal_errors",
            "Errors inside the service (a bug, not bad input), per stage; the service logs and goes on",
            ["stage"],
            registry=r,
        )
        self.system_tracks = Gauge("triwarn_system_tracks", "Live system tracks, per view", ["view"], registry=r)
        # --- distribution ---
        self.updates_published = Counter(
            "triwarn_picture_updates", "Picture updates appended to the log, per view", ["view"], registry=r
        )
        self.subscribers = Gauge("triwarn_subscribers", "Connected subscribers, per view", ["view"], registry=r)
        self.subscriber_queue_depth = Gauge(
            "triwarn_subscriber_queue_depth_max", "Deepest subscriber queue, per view", ["view"], registry=r
        )
        self.subscriber_lag_updates = Gauge(
            "triwarn_subscriber_lag_updates",
            "Updates a subscriber is behind the view when gRPC accepts a write to it, per subscriber (peer)",
            ["view", "subscriber"],
            registry=r,
        )
        self.subscriber_lag_seconds = Gauge(
            "triwarn_subscriber_lag_seconds",
            "Seconds from an update's publication to gRPC accepting it for a subscriber, per subscriber (peer)",
            ["view", "subscriber"],
            registry=r,
        )
        self.subscribers_dropped = Counter(
            "triwarn_subscribers_fell_behind",
            "Subscribers ended with RESOURCE_EXHAUSTED because they fell behind, per view",
            ["view"],
            registry=r,
        )
        self.log_commit_seconds = Histogram(
            "triwarn_warning_log_commit_seconds",
            "Time to commit one group of picture updates to the warning log (before they are streamed)",
            buckets=_LATENCY_BUCKETS_S,
            registry=r,
        )
        self.e2e_latency_seconds = Histogram(
            "triwarn_node_to_picture_latency_seconds",
            "From a node's sent_time to the picture update being handed to subscribers",
            buckets=_LATENCY_BUCKETS_S,
            registry=r,
        )

    def serve(self, host: str, port: int) -> None:
        """Start the HTTP endpoint in a daemon thread (port 0 disables it); ``close`` stops it."""
        if port:
            self._server, _ = start_http_server(port, addr=host, registry=self.registry)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def value(self, name: str, **labels: str) -> float:
        """The current value of a sample (tests and benchmarks read metrics through this)."""
        v = self.registry.get_sample_value(name, labels)
        return 0.0 if v is None else float(v)

    def total(self, name: str) -> float:
        """The sum of a sample over every label combination."""
        return float(sum(s.value for metric in self.registry.collect() for s in metric.samples if s.name == name))
