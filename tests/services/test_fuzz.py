"""Property-based fuzzing of the batch decoder and the fusion engine behind it: valid traffic of three
nations with mutated batches mixed in (analysis/fuzz.py: bit flips, truncation, extreme and non-finite values,
degenerate covariances, forged node ids and sequence numbers). Whatever the mutation, the service neither
raises nor publishes a track that is non-finite, outside the flight envelope, with a covariance that is not
a bounded-condition SPD matrix, or with more sources than registered nodes.

The service is the real one on real protobuf bytes (FusionService.handle_tracks, as the MQTT consumer calls
it), with a manual clock following the data. ``benches/bench_fuzz.py`` runs the same over 100,000+ batches.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triwarn.analysis.fuzz import BatchStream, mutate, picture_violations
from triwarn.services.fusion import FusionService
from triwarn.services.runtime.clock import ManualClock
from triwarn.services.runtime.metrics import Metrics
from triwarn.services.runtime.settings import Settings

T0_NS = 1_800_000_000 * 10**9


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), rate=st.sampled_from([0.0, 0.1, 0.5, 1.0]))
def test_no_mutation_makes_the_service_raise_or_publish_a_broken_track(seed: int, rate: float) -> None:
    rng = np.random.default_rng(seed)
    clock = ManualClock(T0_NS)
    service = FusionService(Settings(), clock, Metrics())
    stream = BatchStream(n_objects=3, seed=seed % 1000, t0_ns=T0_NS)
    envelope = service.limits.envelope
    for nation, payload in stream.births():
        service.handle_status(nation, payload)
    published = 0
    for _ in range(12):
        clock.set(stream.time_ns())
        for nation, payload in stream.next():
            if rng.random() < rate:
                payload = mutate(payload, rng)
            updates = service.handle_tracks(nation, payload)
            assert picture_violations(updates, envelope, max_sources=3) == []
            published += sum(len(u.tracks) for _, u in updates)
        assert picture_violations(service.assess_due(), envelope, max_sources=3) == []
    if rate == 0.0:  # valid traffic: every object published, nothing refused or dropped
        assert published >= 3 * 12
        assert service.metrics.total("triwarn_system_tracks_dropped_total") == 0
        assert service.metrics.total("triwarn_tracks_rejected_total") == 0
        assert service.metrics.total("triwarn_batches_rejected_total") == 0
