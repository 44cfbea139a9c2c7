"""The wire adapter: round trips of real protobuf bytes, and each kind of bad input named precisely."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triwarn.core.assessment.assess import Assessment, Corridor, Ellipse, ImpactPoint, LaunchPoint, WarningLevel
from triwarn.core.assessment.classify import MissileClass
from triwarn.core.assessment.warnings import WarningChange, WarningState
from triwarn.core.tracks import LocalTrackBatch, Phase
from triwarn.services import synthetic
from triwarn.services.wire import tracks as wire
from triwarn.services.wire.picture import fill_track_assessment, warning_to_proto
from triwarn.v1 import picture_pb2, tracks_pb2

LIMITS = wire.Limits()


def _batch(n: int = 4, seed: int = 0, now_ns: int | None = None) -> LocalTrackBatch:
    now_ns = time.time_ns() if now_ns is None else now_ns
    return synthetic.nation_batch("jp", synthetic.truth_states(n, seed), now_ns, batch_seq=5, bd_seq=9, seed=seed)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 40), seed=st.integers(0, 2**31 - 1))
def test_a_batch_survives_encode_and_decode_unchanged(n: int, seed: int) -> None:
    now = time.time_ns()
    batch = _batch(n, seed, now)
    back = wire.decode_batch(wire.encode_batch(batch), "jp", now, LIMITS)
    assert (back.nation, back.node_id, back.batch_seq, back.bd_seq) == ("jp", "jp-c2", 5, 9)
    np.testing.assert_array_equal(back.track_numbers, batch.track_numbers)
    np.testing.assert_array_equal(back.time_ns, batch.time_ns)
    np.testing.assert_array_equal(back.x, batch.x)  # doubles travel exactly
    np.testing.assert_array_equal(back.P, batch.P)
    assert back.sensor_ids == batch.sensor_ids
    assert back.last_update_ns.tolist() == [0] * n  # the synthetic nodes report no last update


def test_the_last_measurement_update_travels_and_absent_reads_as_zero() -> None:
    now = time.time_ns()
    batch = _batch(3, 1, now)
    hit = batch.time_ns - np.array([0, 2, 7]) * 10**9  # the second and third: 2 and 7 s without a measurement
    sent = LocalTrackBatch(**{**batch.__dict__, "last_update_ns": hit})
    back = wire.decode_batch(wire.encode_batch(sent), "jp", now, LIMITS)
    assert back.last_update_ns.tolist() == hit.tolist()
    # a rounding's worth (up to 1 ms) after the state's time is taken as the state's time, not refused
    late = LocalTrackBatch(**{**batch.__dict__, "last_update_ns": batch.time_ns + 500})
    back = wire.decode_batch(wire.encode_batch(late), "jp", now, LIMITS)
    assert back.last_update_ns.tolist() == batch.time_ns.tolist()


def test_the_object_count_travels_and_absent_reads_as_one() -> None:
    now = time.time_ns()
    batch = _batch(3, 1, now)
    back = wire.decode_batch(wire.encode_batch(batch), "jp", now, LIMITS)
    assert back.objects.tolist() == [1, 1, 1]  # not reported: one object each
    sent = LocalTrackBatch(**{**batch.__dict__, "objects": np.array([1, 3, 0], np.int64)})
    back = wire.decode_batch(wire.encode_batch(sent), "jp", now, LIMITS)
    assert back.objects.tolist() == [1, 3, 1]  # 0: not reported


def test_covariance_upper_triangle_is_row_major_and_symmetric() -> None:
    A = np.arange(36.0).reshape(6, 6)
    P = A + A.T
    upper = wire.covariance_upper(P)
    assert upper.shape == (21,)
    assert upper[:6].tolist() == P[0].tolist()  # first row whole
    assert upper[6:11].tolist() == P[1, 1:].tolist()  # then row 1 from the diagonal
    np.testing.assert_array_equal(wire.covariance_full(upper), P)


def _mutated(**changes: object) -> bytes:
    msg = tracks_pb2.LocalTrackBatch.FromString(wire.encode_batch(_batch()))
    for key, value in changes.items():
        if key == "cov":
            del msg.tracks[1].state.covariance_upper[:]
            msg.tracks[1].state.covariance_upper.extend(value)  # type: ignore[arg-type]
        elif key == "dup":
            msg.tracks[1].local_track_number = msg.tracks[0].local_track_number
        elif key in {"quality", "time_ns", "last_update_ns", "estimated_objects"}:
            setattr(msg.tracks[1], key, value)
        elif key in {"node_id"}:
            setattr(msg, key, value)
        else:
            setattr(msg.tracks[1].state, key, value)
    return msg.SerializeToString()


def _cov(var_x_m2: float, rho: float = 0.0) -> list[float]:
    """Upper triangle of a covariance with x variance ``var_x_m2``, x-y correlation ``rho``, others plausible."""
    P = np.diag([var_x_m2, 1e4, 1e4, 25.0, 25.0, 25.0])
    P[0, 1] = P[1, 0] = rho * np.sqrt(P[0, 0] * P[1, 1])
    return wire.covariance_upper(P).tolist()


@pytest.mark.parametrize(
    ("payload", "nation", "reason", "words"),
    [
        (lambda: b"\x0a\xff\xff", "jp", "malformed", "not a triwarn.v1.LocalTrackBatch"),
        (lambda: b"", "xx", "unknown_nation", "not one of us, jp, kr"),
        (lambda: wire.encode_batch(_batch()), "kr", "nation_mismatch", "published on the 'kr' topic"),
        (lambda: _mutated(vx_m_s=float("inf")), "jp", "not_finite", "NaN or infinite"),
        (lambda: _mutated(z_m=1e12), "jp", "out_of_envelope_position", "position outside the flight envelope"),
        (lambda: _mutated(z_m=1.5e7), "jp", "out_of_envelope_position", "too far out"),  # 8,700 km up
        (lambda: _mutated(vz_m_s=1e6), "jp", "out_of_envelope_speed", "speed"),
        (lambda: _mutated(x_m=0.0, y_m=0.0, z_m=0.0), "jp", "out_of_envelope_position", "inside the Earth"),
        (lambda: _mutated(quality=1.5), "jp", "out_of_range", "quality"),
        (lambda: _mutated(last_update_ns=time.time_ns() + 10**12), "jp", "out_of_range", "last_update_ns"),
        (lambda: _mutated(last_update_ns=-1), "jp", "out_of_range", "last_update_ns"),
        (lambda: _mutated(estimated_objects=101), "jp", "out_of_range", "estimated_objects"),
        (lambda: _mutated(cov=[1.0] * 20), "jp", "bad_covariance", "does not have 21 values"),
        (lambda: _mutated(cov=[-1.0] + [0.0] * 20), "jp", "variance_out_of_bounds", "variance"),
        (lambda: _mutated(cov=_cov(2.2e-304)), "jp", "variance_out_of_bounds", "variance"),  # PD, inverse overflows
        (lambda: _mutated(cov=_cov(1e4, rho=1 - 1e-13)), "jp", "ill_conditioned_covariance", "ill-conditioned"),
        (lambda: _mutated(dup=True), "jp", "duplicate_track", "more than once"),
        (lambda: _mutated(node_id=""), "jp", "bad_id", "node_id"),
    ],
)
def test_bad_batches_are_rejected_with_a_reason_and_a_clear_message(payload, nation, reason, words) -> None:
    with pytest.raises(wire.RejectedInput) as info:  # payloads made now: their times are fresh
        wire.decode_batch(payload(), nation, time.time_ns(), LIMITS)
    assert info.value.reason == reason
    assert words in str(info.value)


def test_a_bad_track_is_refused_alone_and_the_good_ones_of_its_batch_are_kept() -> None:
    good = _batch()
    batch, rejected = wire.decode_batch_tracks(_mutated(cov=_cov(2.2e-304)), "jp", time.time_ns(), LIMITS)
    assert [(r.local_track_number, r.reason) for r in rejected] == [
        (int(good.track_numbers[1]), "variance_out_of_bounds")
    ]
    assert batch.track_numbers.tolist() == [k for i, k in enumerate(good.track_numbers.tolist()) if i != 1]
    assert batch.x.shape == (len(good) - 1, 6) and batch.P.shape == (len(good) - 1, 6, 6)
    assert len(batch.sensor_ids) == len(good) - 1


def test_times_outside_the_window_are_rejected_as_future_or_stale() -> None:
    now = time.time_ns()
    payload = wire.encode_batch(_batch(now_ns=now))
    ahead = now - int((LIMITS.max_future_s + 1) * 1e9)  # the service's clock is behind the data
    with pytest.raises(wire.RejectedInput) as info:
        wire.decode_batch(payload, "jp", ahead, LIMITS)
    assert info.value.reason == "future_time"
    later = now + int((LIMITS.max_age_s + 1) * 1e9)
    with pytest.raises(wire.RejectedInput) as info:
        wire.decode_batch(payload, "jp", later, LIMITS)
    assert info.value.reason == "stale_time"
    wire.decode_batch(payload, "jp", now + int(1e9), LIMITS)  # within the window: accepted


def test_oversized_payloads_are_refused_before_parsing() -> None:
    small = wire.Limits(max_payload_bytes=100)
    with pytest.raises(wire.RejectedInput) as info:
        wire.decode_batch(wire.encode_batch(_batch(10)), "jp", time.time_ns(), small)
    assert info.value.reason == "oversized"


def test_status_round_trip_pairs_birth_and_death_by_bd_seq() -> None:
    birth = wire.NodeStatusEvent("kr", "kr-c2", True, 42, time.time_ns(), ("kr-greenpine-a",), 1.0)
    death = wire.NodeStatusEvent("kr", "kr-c2", False, 42, time.time_ns(), (), 0.0)
    got_birth = wire.decode_status(wire.encode_status(birth), "kr", LIMITS)
    got_death = wire.decode_status(wire.encode_status(death), "kr", LIMITS)
    assert got_birth.birth and not got_death.birth
    assert got_birth.bd_seq == got_death.bd_seq == 42
    assert got_birth.sensor_ids == ("kr-greenpine-a",)


def test_topics() -> None:
    assert wire.tracks_topic("us") == "triwarn/v1/us/tracks"
    assert wire.status_topic("jp") == "triwarn/v1/jp/status"
    assert wire.topic_nation("triwarn/v1/kr/tracks") == "kr"
    assert wire.topic_nation("other/v1/kr/tracks") == ""


def test_with_sent_time_restamps_an_encoded_batch_without_changing_anything_else() -> None:
    now = time.time_ns()
    batch = _batch(5, now_ns=now)
    later = now + 1_234_567
    back = wire.decode_batch(wire.with_sent_time(wire.encode_batch(batch), later), "jp", later, LIMITS)
    assert back.sent_time_ns == later
    assert (back.nation, back.node_id, back.batch_seq, back.bd_seq) == ("jp", "jp-c2", 5, 9)
    np.testing.assert_array_equal(back.x, batch.x)
    np.testing.assert_array_equal(back.time_ns, batch.time_ns)


# --- the picture: assessments and warnings as real protobuf bytes ------------------------------------------


def _boost_assessment(corridor: bool) -> Assessment:
    ends = Corridor(39.9, 130.5, 41.2, 141.8) if corridor else None
    impact = ImpactPoint(True, 40.6, 136.1, 10**18 + 400 * 10**9, 30.0, Ellipse(5.0e5, 3.0e4, 80.0), ends)
    phase = Phase.BOOST if corridor else Phase.MIDCOURSE
    mrbm = (MissileClass.MRBM, True, ("test",), 3.0e5, LaunchPoint(False))
    return Assessment(12, 10**18, phase, ("test",), *mrbm, impact, (), (), WarningLevel.WATCH, ("test",))


def test_the_boost_corridor_survives_the_wire_and_leaves_with_the_boost() -> None:
    msg = picture_pb2.SystemTrack(track_id=12)
    fill_track_assessment(msg, _boost_assessment(corridor=True))
    back = picture_pb2.SystemTrack.FromString(msg.SerializeToString())
    c = back.impact.corridor
    assert back.impact.valid and c.valid
    assert (c.near_lat_deg, c.near_lon_deg, c.far_lat_deg, c.far_lon_deg) == (39.9, 130.5, 41.2, 141.8)
    # the track's next message starts as a copy of this one: an assessment after burnout clears the corridor
    fill_track_assessment(back, _boost_assessment(corridor=False))
    again = picture_pb2.SystemTrack.FromString(back.SerializeToString())
    assert again.impact.valid and not again.impact.HasField("corridor") and not again.impact.corridor.valid


def test_a_coasting_warning_survives_the_wire_with_its_last_sensor_update() -> None:
    w = WarningChange(3, 12, WarningLevel.WARNING, WarningState.COASTING, (), ("out of coverage",), 5, 9, 7)
    back = picture_pb2.Warning.FromString(warning_to_proto(w).SerializeToString())
    assert back.state == picture_pb2.Warning.STATE_COASTING and back.last_sensor_update_ns == 7
    assert (back.warning_id, back.track_id, back.updated_time_ns) == (3, 12, 9)
