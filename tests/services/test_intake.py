"""Intake of the fusion service through the real stack (real Mosquitto, real gRPC): per-track rejection,
the node registry, exactly-once effect (duplicates dropped, gaps counted as lost), the DEATH grace period."""

from __future__ import annotations

import asyncio
import logging
import time

import grpc
import numpy as np
import pytest
from test_end_to_end import publish, wait_for  # tests/services is on sys.path (rootdir import mode)

from triwarn.core.fusion import invariants
from triwarn.services import synthetic
from triwarn.services.intake import Intake
from triwarn.services.runtime import mqtt
from triwarn.services.runtime.logs import RateLimitedLog
from triwarn.services.runtime.metrics import Metrics
from triwarn.services.runtime.settings import Settings
from triwarn.services.wire import tracks as wire
from triwarn.services.wire.tracks import RejectedInput
from triwarn.v1 import picture_pb2, tracks_pb2, warning_service_pb2, warning_service_pb2_grpc


def _batch(
    nation: str, seq: int, bd_seq: int = 7, node_id: str = "", n: int = 3, t_ns: int = 0, objects_seed: int = 0
) -> bytes:
    truth = synthetic.truth_states(n, objects_seed)
    b = synthetic.nation_batch(nation, truth, t_ns or time.time_ns(), seq, bd_seq, seed=seq)
    if node_id:
        msg = tracks_pb2.LocalTrackBatch.FromString(wire.encode_batch(b))
        msg.node_id = node_id
        return msg.SerializeToString()
    return wire.encode_batch(b)


def status(birth: bool, bd_seq: int) -> tuple[str, bytes]:
    """The jp-c2 node's BIRTH or DEATH message, on its topic."""
    event = wire.NodeStatusEvent("jp", "jp-c2", birth, bd_seq, time.time_ns(), (), 1.0)
    return wire.status_topic("jp"), wire.encode_status(event)


def _with_bad_track(payload: bytes, index: int) -> bytes:
    """The batch with track ``index``'s x variance set to 2.2e-304 (positive definite, inverse overflows)."""
    msg = tracks_pb2.LocalTrackBatch.FromString(payload)
    msg.tracks[index].state.covariance_upper[0] = 2.2e-304
    return msg.SerializeToString()


def _stream_tracks(stream, until) -> dict[int, picture_pb2.SystemTrack]:  # type: ignore[no-untyped-def]
    tracks: dict[int, picture_pb2.SystemTrack] = {}
    for update in stream:
        for t in update.tracks:
            tracks[t.track_id] = t
        for k in update.deleted_track_ids:
            tracks.pop(k, None)
        if until(tracks):
            return tracks
    raise AssertionError("stream ended")


def test_duplicates_are_dropped_gaps_counted_unregistered_nodes_refused_bad_tracks_refused_alone(fusion) -> None:
    settings, m = fusion.settings, fusion.metrics
    with grpc.insecure_channel(settings.grpc_target) as channel:
        stub = warning_service_pb2_grpc.WarningServiceStub(channel)
        stream = stub.Subscribe(warning_service_pb2.SubscribeRequest(view=tracks_pb2.NATION_US), timeout=60)
        next(stream)
        # one good batch and 200 copies of it; a batch from a node id the registry does not know; then seq 4
        first = _with_bad_track(_batch("jp", 0), 1)
        publish(
            settings.broker_url,
            [(wire.tracks_topic("jp"), first)] * 201
            + [(wire.tracks_topic("kr"), _batch("kr", 0, node_id="kr-c3", n=5))]
            + [(wire.tracks_topic("jp"), _batch("jp", 4))],
        )
        wait_for(lambda: m.value("triwarn_batches_received_total", nation="jp") == 2)
        tracks = _stream_tracks(stream, lambda t: len(t) == 3)
        stream.cancel()
    assert m.value("triwarn_batches_rejected_total", nation="jp", reason="duplicate") == 200
    assert m.value("triwarn_batches_rejected_total", nation="kr", reason="unregistered_node") == 1
    assert m.value("triwarn_batch_sequence_gaps_total", nation="jp") == 3  # 1, 2 and 3 lost
    assert m.value("triwarn_tracks_rejected_total", nation="jp", reason="variance_out_of_bounds") == 1
    assert m.value("triwarn_tracks_received_total", nation="jp") == 2 + 3  # the bad track refused alone
    assert m.total("triwarn_batches_received_total") == 2
    assert all(t.contributing_nations == [tracks_pb2.NATION_JP] for t in tracks.values())


def test_a_death_within_the_grace_period_keeps_the_tracks_and_a_new_birth_keeps_them_for_good(
    make_fusion, fusion_settings
) -> None:
    settings = fusion_settings.replace(node_death_grace_s=3.0)
    service = make_fusion(settings)

    with grpc.insecure_channel(settings.grpc_target) as channel:
        stub = warning_service_pb2_grpc.WarningServiceStub(channel)
        stream = stub.Subscribe(warning_service_pb2.SubscribeRequest(view=tracks_pb2.NATION_US), timeout=60)
        next(stream)
        publish(settings.broker_url, [status(True, 7), (wire.tracks_topic("jp"), _batch("jp", 0, bd_seq=7))])
        _stream_tracks(stream, lambda t: len(t) == 3)
        # the broker restarts: the node's will arrives, then its new birth 1 s later (within the grace period)
        publish(settings.broker_url, [status(False, 7)])
        time.sleep(1.0)
        publish(settings.broker_url, [status(True, 8), (wire.tracks_topic("jp"), _batch("jp", 0, bd_seq=8))])
        wait_for(lambda: service.metrics.value("triwarn_batches_received_total", nation="jp") == 2)
        time.sleep(settings.node_death_grace_s + 1.0)  # past the first DEATH's grace period
        assert service.metrics.value("triwarn_system_tracks", view="us") == 3
        # a DEATH not followed by a BIRTH drops the tracks once its grace period ends
        publish(settings.broker_url, [status(False, 8)])
        t0 = time.monotonic()
        _stream_tracks(stream, lambda t: not t)
        stream.cancel()
    assert settings.node_death_grace_s - 0.5 < time.monotonic() - t0 < settings.node_death_grace_s + 3.0


def test_a_restarted_node_numbering_other_objects_again_never_gives_them_the_old_system_numbers(
    make_fusion, fusion_settings
) -> None:
    """The node's numbers 1-3 come back after its restart on three other objects (hundreds of km away): they are
    new local tracks under new system numbers, counted, and the old objects' numbers leave the picture."""
    service = make_fusion(fusion_settings)
    settings = fusion_settings
    with grpc.insecure_channel(settings.grpc_target) as channel:
        stub = warning_service_pb2_grpc.WarningServiceStub(channel)
        stream = stub.Subscribe(warning_service_pb2.SubscribeRequest(view=tracks_pb2.NATION_US), timeout=60)
        next(stream)
        publish(settings.broker_url, [status(True, 7), (wire.tracks_topic("jp"), _batch("jp", 0, bd_seq=7))])
        old = _stream_tracks(stream, lambda t: len(t) == 3)
        publish(
            settings.broker_url, [status(True, 8), (wire.tracks_topic("jp"), _batch("jp", 0, bd_seq=8, objects_seed=5))]
        )
        new = _stream_tracks(stream, lambda t: len(t) == 3 and not set(t) & set(old))
        stream.cancel()
    assert service.metrics.value("triwarn_local_tracks_renumbered_total", nation="jp") == 3
    assert min(new) > max(old)
    far = synthetic.truth_states(3, 5)[:, :3]
    for t in new.values():  # each new number is on one of the new objects
        pos = np.array([t.state.x_m, t.state.y_m, t.state.z_m])
        assert np.linalg.norm(far - pos, axis=1).min() < 5_000.0


def test_invariants_name_the_first_broken_one() -> None:
    x = np.array([[6.4e6, 0, 1e6, 0, 7e3, 0]] * 7)
    P = np.broadcast_to(np.diag([1e4] * 3 + [25.0] * 3), (7, 6, 6)).copy()
    x[1, 0] = np.nan
    x[2, 2] = 1.5e7  # 8,700 km up
    x[3, 4] = 2e4
    P[4, 0, 0] = 2.2e-304
    P[5, 0, 1] = 1.0  # P[1, 0] stays 0
    P[6, 0, 1] = P[6, 1, 0] = (1 - 1e-13) * 1e4
    code = invariants.violations(x, P, invariants.Envelope())
    # one state per reason, in the order of REASONS (the first is good)
    assert code.tolist() == list(range(len(invariants.REASONS)))
    assert invariants.REASONS[invariants.VARIANCE] == "variance_out_of_bounds"


def test_log_lines_are_rate_limited_per_reason_and_say_how_many_were_suppressed(caplog) -> None:
    now = [0.0]
    limiter = RateLimitedLog(logging.getLogger("test.limit"), interval_s=60.0, max_reasons=3, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="test.limit"):
        for i in range(300):
            limiter.warning("unknown_topic", "topic %d", i)
        for i in range(10_000):
            limiter.warning(f"reason-{i}", "distinct %d", i)  # past 3 reasons they share "other"
        now[0] = 61.0
        limiter.warning("unknown_topic", "topic %d", 300)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 + 3 + 1  # unknown_topic; reason-0, reason-1, other; unknown_topic again
    assert lines[-1] == "topic 300 [299 more of 'unknown_topic' suppressed in the last 60 s]"


def test_one_forged_sequence_number_locks_no_node_out() -> None:
    metrics = Metrics()
    intake = Intake(Settings(), metrics)
    intake.birth("us", "us-c2", 5)
    intake.admit("us", "us-c2", 5, 0)
    intake.admit("us", "us-c2", 2**62, 3)  # a forged (or bit-flipped) birth: a session of its own
    with pytest.raises(RejectedInput, match="ahead"):
        intake.admit("us", "us-c2", 5, 50_000)  # a forged batch number far ahead: refused, sequence unmoved
    intake.admit("us", "us-c2", 5, 1)  # the genuine node goes on
    with pytest.raises(RejectedInput) as dup:
        intake.admit("us", "us-c2", 5, 1)
    assert dup.value.reason == "duplicate"
    with pytest.raises(RejectedInput) as stale:
        intake.admit("us", "us-c2", 4, 9)
    assert stale.value.reason == "stale_session"
    intake.admit("us", "us-c2", 7, 2)  # a newer session whose BIRTH was missed: taken, 0 and 1 lost
    assert metrics.value("triwarn_batch_sequence_gaps_total", nation="us") == 3 + 2


def test_a_payload_over_the_services_packet_limit_never_reaches_it_and_one_over_its_payload_limit_is_counted(
    broker, make_fusion, fusion_settings, caplog
) -> None:
    """The service announces an MQTT 5 Maximum Packet Size; the broker's own limit (4 MiB + 64 kB) is far
    above it here, so only the client's limit keeps a 1 MB publish away from the service (another subscriber
    receives it). A payload just over ``max_payload_bytes`` still arrives: refused before parsing, counted as
    ``oversized`` and logged once; the connection stays up and the next good batch is fused."""
    if broker.kind != "mosquitto":
        pytest.skip("the embedded broker has no MQTT 5")
    settings = fusion_settings.replace(max_payload_bytes=100_000, mqtt_max_packet_bytes=164_000)
    m = make_fusion(settings).metrics
    good = _batch("us", 0)
    sent = [b"\0" * 100_001, b"\1" * 1_000_000, good]

    async def observe() -> list[int]:
        sizes: list[int] = []
        async with mqtt.client(settings.broker_url, f"size-observer-{time.time_ns()}") as observer:
            await observer.subscribe(wire.tracks_topic("us"), qos=1)
            async with mqtt.client(settings.broker_url, f"size-publisher-{time.time_ns()}") as publisher:
                for payload in sent:
                    await publisher.publish(wire.tracks_topic("us"), payload, qos=1)
            async for message in observer.messages:
                sizes.append(len(message.payload))  # type: ignore[arg-type]
                if message.payload == good:
                    return sizes
        return sizes

    with caplog.at_level(logging.WARNING, logger="triwarn"):
        assert asyncio.run(asyncio.wait_for(observe(), timeout=30)) == [len(p) for p in sent]
        wait_for(lambda: m.value("triwarn_batches_received_total", nation="us") == 1)
    assert m.value("triwarn_batches_rejected_total", nation="us", reason="oversized") == 1  # not the 1 MB one
    assert m.total("triwarn_batches_rejected_total") == 1
    assert len([r for r in caplog.records if "oversized" in r.getMessage()]) == 1
