"""End to end through the real stack: protobuf batches -> real MQTT broker -> fusion service -> real gRPC stream.

Nothing on the data path is mocked: the batches are the bytes a node publishes, the broker is a private
Mosquitto (or the embedded broker where Mosquitto is absent), the picture arrives over a gRPC socket.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import grpc
import numpy as np
import pytest

from triwarn.services import synthetic
from triwarn.services.runtime import mqtt
from triwarn.services.wire import tracks as wire
from triwarn.v1 import picture_pb2, tracks_pb2, warning_service_pb2, warning_service_pb2_grpc

NATION_PB = {"us": tracks_pb2.NATION_US, "jp": tracks_pb2.NATION_JP, "kr": tracks_pb2.NATION_KR}


def publish(broker_url: str, messages: list[tuple[str, bytes]]) -> None:
    """Publish (topic, payload) pairs with QoS 1, in order, and wait for the broker's acknowledgements."""

    async def main() -> None:
        async with mqtt.client(broker_url, f"test-publisher-{time.time_ns()}") as client:
            for topic, payload in messages:
                await client.publish(topic, payload, qos=1)

    asyncio.run(main())


def wait_for(predicate: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met within the timeout")


def good_batches(n_objects: int = 3, seq: int = 0, seed: int = 0, bd_seq: int = 0) -> list[tuple[str, bytes]]:
    """One batch per nation, each of a fresh birth (bd_seq from the clock unless given), so that the service's
    exactly-once intake takes every call's batches however often a test repeats ``seq``."""
    now = time.time_ns()
    truth = synthetic.truth_states(n_objects, seed)
    bd_seq = bd_seq or now // 1000
    return [
        (
            wire.tracks_topic(n),
            wire.encode_batch(synthetic.nation_batch(n, truth, now, batch_seq=seq, bd_seq=bd_seq, seed=seed)),
        )
        for n in ("us", "jp", "kr")
    ]


def test_batches_from_three_nations_reach_a_grpc_subscriber_as_one_fused_picture(fusion) -> None:
    settings = fusion.settings
    with grpc.insecure_channel(settings.grpc_target) as channel:
        stub = warning_service_pb2_grpc.WarningServiceStub(channel)
        stream = stub.Subscribe(warning_service_pb2.SubscribeRequest(view=tracks_pb2.NATION_JP), timeout=60)
        first = next(stream)
        assert first.kind == picture_pb2.PictureUpdate.KIND_SNAPSHOT
        assert first.view == tracks_pb2.NATION_JP

        publish(settings.broker_url, good_batches(n_objects=3))
        tracks: dict[int, picture_pb2.SystemTrack] = {}
        seqs = [first.seq]
        while not tracks or any(len(t.contributing_nations) < 3 for t in tracks.values()):
            update = next(stream)
            assert update.kind == picture_pb2.PictureUpdate.KIND_DELTA
            seqs.append(update.seq)
            for t in update.tracks:
                tracks[t.track_id] = t
        stream.cancel()

    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"sequence numbers have gaps: {seqs}"
    assert len(tracks) == 3, "three objects seen by three nations must fuse into three system tracks"
    truth = synthetic.truth_states(3, 0)
    for t in tracks.values():
        assert sorted(t.contributing_nations) == sorted(NATION_PB.values())
        pos = np.array([t.state.x_m, t.state.y_m, t.state.z_m])
        miss_m = np.linalg.norm(truth[:, :3] - pos, axis=1).min()
        assert miss_m < 5 * synthetic.POS_SIGMA_M, f"fused track {t.track_id} is {miss_m:.0f} m from any truth"
        assert 100e3 < t.altitude_m < 700e3

    # the same picture is what GetPicture returns, as a snapshot
    with grpc.insecure_channel(settings.grpc_target) as channel:
        stub = warning_service_pb2_grpc.WarningServiceStub(channel)
        snap = stub.GetPicture(warning_service_pb2.GetPictureRequest(view=tracks_pb2.NATION_JP), timeout=10)
    assert snap.kind == picture_pb2.PictureUpdate.KIND_SNAPSHOT
    assert {t.track_id for t in snap.tracks} == set(tracks)
    assert fusion.metrics.value("triwarn_batches_received_total", nation="kr") >= 1


def _with_nation(payload: bytes, nation: int) -> bytes:
    msg = tracks_pb2.LocalTrackBatch.FromString(payload)
    msg.nation = nation
    return msg.SerializeToString()


def _with_track(payload: bytes, **changes: float) -> bytes:
    msg = tracks_pb2.LocalTrackBatch.FromString(payload)
    for key, value in changes.items():
        if key == "time_ns":
            msg.tracks[0].time_ns = int(value)
        else:
            setattr(msg.tracks[0].state, key, value)
    return msg.SerializeToString()


def _good_us() -> bytes:
    return good_batches(1)[0][1]


BAD_INPUTS: dict[str, tuple[str, Callable[[], bytes], str]] = {
    # case: (topic nation, payload factory, expected reason label)
    "garbage bytes": ("us", lambda: b"\xff\xfe garbage \x00\x01" * 10, "malformed"),
    "truncated protobuf": ("us", lambda: _good_us()[:-7], "malformed"),
    "unknown nation in topic": ("cn", _good_us, "unknown_nation"),
    "unknown nation in message": ("us", lambda: _with_nation(_good_us(), 42), "unknown_nation"),
    "nation differs from topic": ("jp", _good_us, "nation_mismatch"),
    "NaN state": ("us", lambda: _with_track(_good_us(), x_m=float("nan")), "not_finite"),
    "position beyond GEO": ("us", lambda: _with_track(_good_us(), x_m=9e9), "out_of_envelope_position"),
    "time far in the future": (
        "us",
        lambda: _with_track(_good_us(), time_ns=time.time_ns() + 3600 * 10**9),
        "future_time",
    ),
    "time far in the past": (
        "us",
        lambda: _with_track(_good_us(), time_ns=time.time_ns() - 3600 * 10**9),
        "stale_time",
    ),
    "oversized payload": ("us", lambda: b"\x00" * (4 * 1024 * 1024 + 1), "oversized"),  # the broker passes it
}


#: Reasons that refuse one track (the batch's other tracks are kept): counted in triwarn_tracks_rejected.
TRACK_REASONS = {"not_finite", "out_of_envelope_position", "future_time", "stale_time"}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_rejected_counted_logged_once_and_the_service_keeps_serving(fusion, caplog, case) -> None:
    topic_nation, make_payload, reason = BAD_INPUTS[case]
    settings = fusion.settings
    label = topic_nation if topic_nation in NATION_PB else "unknown"
    metric = {"nation": label, "reason": reason}
    name = "triwarn_tracks_rejected_total" if reason in TRACK_REASONS else "triwarn_batches_rejected_total"
    before = fusion.metrics.value(name, **metric)
    topic = f"triwarn/v1/{topic_nation}/tracks"
    with caplog.at_level(logging.WARNING, logger="triwarn.fusion"):
        publish(settings.broker_url, [(topic, make_payload()), (topic, make_payload())])
        wait_for(lambda: fusion.metrics.value(name, **metric) >= before + 2)
    logged = [r for r in caplog.records if r.name == "triwarn.fusion" and reason in r.getMessage()]
    assert len(logged) == 1, f"expected one log line for {reason}, got {[r.getMessage() for r in logged]}"

    # the service still serves: a good batch after the bad ones reaches a subscriber
    with grpc.insecure_channel(settings.grpc_target) as channel:
        stub = warning_service_pb2_grpc.WarningServiceStub(channel)
        stream = stub.Subscribe(warning_service_pb2.SubscribeRequest(view=tracks_pb2.NATION_US), timeout=60)
        snapshot = next(stream)
        publish(settings.broker_url, good_batches(1, seq=1, seed=7)[:1])
        update = next(stream)
        stream.cancel()
    assert update.seq == snapshot.seq + 1
    assert len(update.tracks) >= 1
    # and nothing of the bad input reached the picture
    for t in update.tracks:
        assert np.isfinite([t.state.x_m, t.state.y_m, t.state.z_m]).all()
        assert abs(t.state.x_m) < 1e8


def _status(nation: str, birth: bool, bd_seq: int) -> tuple[str, bytes]:
    event = wire.NodeStatusEvent(nation, f"{nation}-c2", birth, bd_seq, time.time_ns(), (), 1.0)
    return wire.status_topic(nation), wire.encode_status(event)


def test_a_nodes_death_removes_its_contribution_and_an_old_death_changes_nothing(make_fusion, fusion_settings) -> None:
    settings = fusion_settings.replace(node_death_grace_s=1.0)  # after its grace period
    make_fusion(settings)
    with grpc.insecure_channel(settings.grpc_target) as channel:
        stub = warning_service_pb2_grpc.WarningServiceStub(channel)
        stream = stub.Subscribe(warning_service_pb2.SubscribeRequest(view=tracks_pb2.NATION_US), timeout=60)
        next(stream)
        publish(settings.broker_url, [_status(n, True, 5) for n in ("us", "jp", "kr")] + good_batches(2, bd_seq=5))
        tracks: dict[int, picture_pb2.SystemTrack] = {}
        while len(tracks) < 2 or any(len(t.contributing_nations) < 3 for t in tracks.values()):
            for t in next(stream).tracks:
                tracks[t.track_id] = t
        # a retained will of an earlier session (bd_seq 4 < 5) must not touch the picture: after it, a US
        # batch still updates tracks fused with the ROK's (assessment updates may come in between)
        us_only = [m for m in good_batches(2, seq=1, bd_seq=5) if m[0] == wire.tracks_topic("us")]
        publish(settings.broker_url, [_status("kr", False, 4), *us_only])
        after_old_death = next(u for u in stream if u.source_sent_time_ns)
        assert after_old_death.tracks
        assert all(tracks_pb2.NATION_KR in t.contributing_nations for t in after_old_death.tracks)
        # the death that pairs with the current birth removes the ROK's contribution at once
        publish(settings.broker_url, [_status("kr", False, 5)])
        for update in stream:
            for t in update.tracks:
                tracks[t.track_id] = t
            if all(tracks_pb2.NATION_KR not in t.contributing_nations for t in tracks.values()):
                break
        stream.cancel()
    assert len(tracks) == 2
    for t in tracks.values():
        assert sorted(t.contributing_nations) == [tracks_pb2.NATION_US, tracks_pb2.NATION_JP]


def test_the_metrics_endpoint_serves_prometheus_text_with_the_counters(fusion_settings, make_fusion) -> None:
    import urllib.request

    from triwarn.services.runtime.broker import free_port

    port = free_port()
    service = make_fusion(fusion_settings.replace(metrics_port=port))
    publish(fusion_settings.broker_url, [*good_batches(2), ("triwarn/v1/kr/tracks", b"garbage")])
    wait_for(lambda: service.metrics.value("triwarn_batches_rejected_total", nation="kr", reason="malformed") >= 1)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert 'triwarn_batches_received_total{nation="jp"} 1.0' in text
    assert 'triwarn_batches_rejected_total{nation="kr",reason="malformed"} 1.0' in text
    for name in ("triwarn_fusion_cycle_seconds_bucket", "triwarn_subscribers", "triwarn_system_tracks"):
        assert name in text


def test_health_is_serving_only_while_the_broker_is_consumed(fusion_settings, make_fusion) -> None:
    """Warm kernels are not enough: without its broker the service says NOT_SERVING, and SERVING once it is
    subscribed (so nothing published after SERVING is missed)."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from triwarn.services.runtime.broker import free_port, start_broker

    port = free_port()
    settings = fusion_settings.replace(broker_url=f"mqtt://127.0.0.1:{port}")
    with pytest.raises(TimeoutError):
        make_fusion(settings, timeout_s=8.0)
    with grpc.insecure_channel(settings.grpc_target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        status = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
        assert status == health_pb2.HealthCheckResponse.NOT_SERVING
        with start_broker(prefer="auto", port=port):
            wait_for(
                lambda: (
                    stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
                    == health_pb2.HealthCheckResponse.SERVING
                ),
                timeout_s=30,
            )
