"""The wire adapter: MQTT topics, and protobuf <-> domain conversion with validation (STYLE.md item 9).

The one place where ``triwarn.v1`` messages meet domain types. Everything that arrives from the network goes
through :func:`decode_batch` or :func:`decode_status`, which either return a validated domain object or raise
:class:`RejectedInput` with a short machine-readable ``reason`` (the metrics label) and a message a human can
act on.

MQTT topics (all QoS 1):

======================================  =========================================================================
``triwarn/v1/{nation}/tracks``          one ``LocalTrackBatch`` per node update cycle (not retained)
``triwarn/v1/{nation}/status``          ``NodeStatus`` BIRTH on connect; DEATH as the node's last will (retained)
======================================  =========================================================================

``{nation}`` is ``us``, ``jp`` or ``kr``. A batch is accepted or rejected whole: it is the unit a node numbers.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from google.protobuf.message import DecodeError

from triwarn.core.fusion import invariants
from triwarn.core.tracks import NATIONS, LocalTrackBatch, Phase, Status
from triwarn.services.wire.nations import NATION_TO_PB, PB_TO_NATION
from triwarn.v1 import tracks_pb2

TOPIC_PREFIX = "triwarn/v1"
TRACKS_SUBSCRIPTION = f"{TOPIC_PREFIX}/+/tracks"
STATUS_SUBSCRIPTION = f"{TOPIC_PREFIX}/+/status"

#: Indices of the 21 upper-triangle elements of a 6x6 covariance, row by row (the wire order).
_IU = np.triu_indices(6)
_MAX_ID_LEN = 64
_MAX_SENSORS_PER_TRACK = 64
#: Phase and Status values are 0..max without holes (checked here), so a range test validates them.
_MAX_PHASE, _MAX_STATUS = max(Phase), max(Status)
assert sorted(Phase) == list(range(_MAX_PHASE + 1)) and sorted(Status) == list(range(_MAX_STATUS + 1))


def tracks_topic(nation: str) -> str:
    return f"{TOPIC_PREFIX}/{nation}/tracks"


def status_topic(nation: str) -> str:
    return f"{TOPIC_PREFIX}/{nation}/status"


def topic_nation(topic: str) -> str:
    """The ``{nation}`` part of a triwarn topic ('' if the topic is not triwarn's)."""
    parts = topic.split("/")
    if len(parts) != 4 or f"{parts[0]}/{parts[1]}" != TOPIC_PREFIX:
        return ""
    return parts[2]


class RejectedInput(ValueError):
    """Input refused at the edge. ``reason`` is a short label for metrics; str(self) says what is wrong."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    """What the fusion service accepts (from Settings)."""

    max_payload_bytes: int = 4 * 1024 * 1024
    max_tracks_per_batch: int = 20_000
    max_future_s: float = 5.0
    max_age_s: float = 60.0
    max_radius_m: float = 1.4e7
    min_radius_m: float = 6.3e6  # below the Earth's surface (polar radius 6,356.8 km) less a margin
    max_speed_m_s: float = 1.5e4

    @property
    def envelope(self) -> invariants.Envelope:
        """The bounds of a track state (flight envelope and covariance) a batch's tracks must satisfy."""
        return invariants.Envelope(
            min_radius_m=self.min_radius_m, max_radius_m=self.max_radius_m, max_speed_m_s=self.max_speed_m_s
        )


@dataclass(frozen=True)
class NodeStatusEvent:
    nation: str
    node_id: str
    birth: bool
    bd_seq: int
    time_ns: int
    sensor_ids: tuple[str, ...]
    update_period_s: float


# ------------------------------------------------------------------------------------------------ encode


def covariance_upper(P: np.ndarray) -> np.ndarray:
    """(..., 6, 6) -> (..., 21) upper triangle, row by row."""
    return np.ascontiguousarray(P[..., _IU[0], _IU[1]])


def covariance_full(upper: np.ndarray) -> np.ndarray:
    """(..., 21) upper triangle -> (..., 6, 6) symmetric matrix."""
    P = np.zeros((*upper.shape[:-1], 6, 6))
    P[..., _IU[0], _IU[1]] = upper
    P[..., _IU[1], _IU[0]] = upper
    return P


def fill_state(msg: tracks_pb2.CartesianState, x: np.ndarray, P: np.ndarray) -> None:
    msg.x_m, msg.y_m, msg.z_m, msg.vx_m_s, msg.vy_m_s, msg.vz_m_s = (float(v) for v in x)
    msg.covariance_upper[:] = covariance_upper(P).tolist()


def encode_batch(batch: LocalTrackBatch) -> bytes:
    """Serialize a domain batch to the bytes a node publishes."""
    msg = tracks_pb2.LocalTrackBatch(
        nation=NATION_TO_PB[batch.nation],
        node_id=batch.node_id,
        batch_seq=batch.batch_seq,
        bd_seq=batch.bd_seq,
        sent_time_ns=batch.sent_time_ns,
    )
    upper = covariance_upper(batch.P)
    for i in range(len(batch)):
        t = msg.tracks.add(
            local_track_number=int(batch.track_numbers[i]),
            time_ns=int(batch.time_ns[i]),
            phase=int(batch.phase[i]),
            quality=float(batch.quality[i]),
            status=int(batch.status[i]),
            ballistic_coefficient_kg_m2=float(batch.beta_kg_m2[i]),
        )
        s = t.state
        s.x_m, s.y_m, s.z_m, s.vx_m_s, s.vy_m_s, s.vz_m_s = batch.x[i].tolist()
        s.covariance_upper[:] = upper[i].tolist()
        if batch.sensor_ids:
            t.sensor_ids[:] = list(batch.sensor_ids[i])
        if batch.last_update_ns.size == len(batch):
            t.last_update_ns = int(batch.last_update_ns[i])
        if batch.objects.size == len(batch):
            t.estimated_objects = int(batch.objects[i])
    return msg.SerializeToString()


def with_sent_time(payload: bytes, sent_time_ns: int) -> bytes:
    """An encoded ``LocalTrackBatch`` with its ``sent_time_ns`` set to ``sent_time_ns``, without re-encoding:
    protobuf merges concatenated messages and the last value of a scalar field wins. Publishers stamp the
    batch with this right before handing it to MQTT, so the encoding is not counted as transport time."""
    return payload + tracks_pb2.LocalTrackBatch(sent_time_ns=sent_time_ns).SerializeToString()


def encode_status(event: NodeStatusEvent) -> bytes:
    kind = tracks_pb2.NodeStatus.KIND_BIRTH if event.birth else tracks_pb2.NodeStatus.KIND_DEATH
    return tracks_pb2.NodeStatus(
        nation=NATION_TO_PB[event.nation],
        node_id=event.node_id,
        kind=kind,
        bd_seq=event.bd_seq,
        time_ns=event.time_ns,
        sensor_ids=list(event.sensor_ids),
        update_period_s=event.update_period_s,
    ).SerializeToString()


# ------------------------------------------------------------------------------------------------ decode


def _check_id(value: str, what: str) -> None:
    if not _good_id(value):
        raise RejectedInput("bad_id", f"{what} must be 1-{_MAX_ID_LEN} printable characters, got {value[:80]!r}")


def _nation_of(pb_nation: int, topic_nation_code: str) -> str:
    if topic_nation_code not in NATIONS:
        raise RejectedInput("unknown_nation", f"topic nation {topic_nation_code!r} is not one of {', '.join(NATIONS)}")
    nation = PB_TO_NATION.get(pb_nation)
    if nation is None:
        raise RejectedInput("unknown_nation", f"message nation {pb_nation} is not one of {', '.join(NATIONS)}")
    if nation != topic_nation_code:
        raise RejectedInput(
            "nation_mismatch",
            f"message says nation {nation!r} but was published on the {topic_nation_code!r} topic",
        )
    return nation


def decode_batch(payload: bytes, topic_nation_code: str, now_ns: int, limits: Limits) -> LocalTrackBatch:
    """Parse and validate one ``LocalTrackBatch``; raise :class:`RejectedInput` on anything wrong, including
    one bad track (strict: replays and tests; the service uses :func:`decode_batch_tracks`)."""
    batch, rejected = decode_batch_tracks(payload, topic_nation_code, now_ns, limits)
    if rejected:
        raise RejectedInput(rejected[0].reason, rejected[0].detail)
    return batch


@dataclass(frozen=True)
class RejectedTrack:
    """One track of an otherwise good batch refused at the edge (the rest of the batch is kept)."""

    local_track_number: int
    reason: str  # metrics label
    detail: str  # what a human can act on


#: a last_update_ns at most this far after its track's time_ns is a rounding, taken as time_ns (1 ms)
_LAST_UPDATE_SLACK_NS = 1_000_000
#: a track may stand for at most this many objects (estimated_objects): more is no group a sensor resolves into
#: plumes, it is a broken count (the raids' largest salvo from one launcher is 6; engineering bound)
MAX_ESTIMATED_OBJECTS = 100


def decode_batch_tracks(
    payload: bytes, topic_nation_code: str, now_ns: int, limits: Limits
) -> tuple[LocalTrackBatch, list[RejectedTrack]]:
    """Parse and validate one ``LocalTrackBatch``: the batch of its good tracks, and the tracks refused with
    their reasons. What concerns the whole batch (size, parse, nation, node id, sent time, track count)
    raises :class:`RejectedInput`; a bad track (non-finite, outside the flight envelope or the covariance
    bounds of :class:`~triwarn.core.fusion.invariants.Envelope`, bad enum, time, ids) is left out alone."""
    if len(payload) > limits.max_payload_bytes:
        raise RejectedInput(
            "oversized", f"payload of {len(payload)} bytes exceeds the limit of {limits.max_payload_bytes}"
        )
    msg = tracks_pb2.LocalTrackBatch()
    try:
        msg.ParseFromString(payload)
    except (DecodeError, RuntimeWarning, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise RejectedInput("malformed", f"not a triwarn.v1.LocalTrackBatch ({exc})") from None
    nation = _nation_of(msg.nation, topic_nation_code)
    _check_id(msg.node_id, "node_id")
    n = len(msg.tracks)
    if n > limits.max_tracks_per_batch:
        raise RejectedInput("too_many_tracks", f"{n} tracks exceed the limit of {limits.max_tracks_per_batch}")
    _check_time(msg.sent_time_ns, now_ns, limits, "sent_time_ns")

    # Column-wise, one pass per field group: a per-track loop filling numpy rows costs ~3x more (0.5 ms for
    # 30 tracks on a busy 2-core machine, on the latency path of every batch).
    tracks = msg.tracks
    states = [t.state for t in tracks]
    numbers_l = [t.local_track_number for t in tracks]
    numbers = np.array(numbers_l, np.int64)
    reason = np.zeros(n, dtype=object)  # "" = good, else the first reason of the track
    reason[:] = ""
    detail: dict[int, str] = {}

    def refuse(mask: np.ndarray, why: str, what: str) -> None:
        for i in np.nonzero(mask & (reason == ""))[0].tolist():
            reason[i] = why
            detail[i] = f"track {numbers_l[i]}: {what}"

    if len(set(numbers_l)) != n:
        unique, counts = np.unique(numbers, return_counts=True)
        repeated = np.isin(numbers, unique[counts > 1])
        refuse(repeated, "duplicate_track", "appears more than once in the batch")
    times = np.array([t.time_ns for t in tracks], np.int64)
    x = np.array([(s.x_m, s.y_m, s.z_m, s.vx_m_s, s.vy_m_s, s.vz_m_s) for s in states], np.float64).reshape(n, 6)
    covs = [s.covariance_upper for s in states]
    cov_len = np.array([len(c) for c in covs], np.int64)
    refuse(cov_len != 21, "bad_covariance", "covariance_upper does not have 21 values")
    upper = np.full((n, 21), np.nan)
    for i in np.nonzero(cov_len == 21)[0].tolist():
        upper[i] = covs[i]
    phase = np.array([t.phase for t in tracks], np.int64)
    status = np.array([t.status for t in tracks], np.int64)
    refuse(
        (phase < 0) | (phase > _MAX_PHASE) | (status < 0) | (status > _MAX_STATUS),
        "out_of_range",
        "unknown phase or status value",
    )
    status[status == 0] = int(Status.CONFIRMED)
    quality = np.array([t.quality for t in tracks], np.float64)
    beta = np.array([t.ballistic_coefficient_kg_m2 for t in tracks], np.float64)
    sensors = [tuple(t.sensor_ids) for t in tracks]
    too_many = np.array([len(ids) > _MAX_SENSORS_PER_TRACK for ids in sensors], bool)
    refuse(too_many, "out_of_range", "too many sensor ids")
    bad_sensor = {sid for sid in set(itertools.chain.from_iterable(sensors)) if not _good_id(sid)}
    if bad_sensor:
        refuse(np.array([not bad_sensor.isdisjoint(ids) for ids in sensors], bool), "bad_id", "bad sensor id")
    with np.errstate(invalid="ignore"):
        refuse(~(np.isfinite(quality) & np.isfinite(beta)), "not_finite", "quality or beta is NaN or infinite")
        refuse((quality < 0) | (quality > 1) | (beta < 0), "out_of_range", "quality not in [0, 1] or negative beta")
    last_update = np.array([t.last_update_ns for t in tracks], np.int64)
    refuse(
        (last_update < 0) | (last_update > times + _LAST_UPDATE_SLACK_NS),
        "out_of_range",
        "last_update_ns is negative or after time_ns",
    )
    last_update = np.minimum(last_update, times)  # (a rounding's worth after time_ns: taken as time_ns)
    objects = np.array([t.estimated_objects for t in tracks], np.int64)
    refuse(objects > MAX_ESTIMATED_OBJECTS, "out_of_range", f"estimated_objects above {MAX_ESTIMATED_OBJECTS}")
    objects = np.maximum(objects, 1)  # 0: not reported, one object
    dt_s = (times - now_ns) * 1e-9
    refuse(dt_s > limits.max_future_s, "future_time", f"time_ns more than {limits.max_future_s:g} s ahead")
    refuse(-dt_s > limits.max_age_s, "stale_time", f"time_ns more than {limits.max_age_s:g} s old")
    P = covariance_full(upper)
    code = invariants.violations(x, P, limits.envelope)
    for c in np.unique(code[code != invariants.OK]).tolist():
        refuse(code == c, invariants.REASONS[c], _INVARIANT_DETAIL[c])

    good = reason == ""
    rejected = [RejectedTrack(numbers_l[i], str(reason[i]), detail[i]) for i in np.nonzero(~good)[0].tolist()]
    if rejected:
        keep = np.nonzero(good)[0]
        numbers, times, x, P = numbers[keep], times[keep], x[keep], P[keep]
        phase, status, quality, beta = phase[keep], status[keep], quality[keep], beta[keep]
        last_update, objects = last_update[keep], objects[keep]
        sensors = [sensors[i] for i in keep.tolist()]
    batch = LocalTrackBatch(
        nation=nation,
        node_id=msg.node_id,
        batch_seq=msg.batch_seq,
        bd_seq=msg.bd_seq,
        sent_time_ns=msg.sent_time_ns,
        track_numbers=numbers,
        time_ns=times,
        x=np.ascontiguousarray(x),
        P=np.ascontiguousarray(P),
        phase=phase,
        status=status,
        quality=quality,
        beta_kg_m2=beta,
        sensor_ids=tuple(sensors),
        last_update_ns=last_update,
        objects=objects,
    )
    return batch, rejected


_INVARIANT_DETAIL = {
    invariants.NOT_FINITE: "state or covariance is NaN or infinite",
    invariants.POSITION: "position outside the flight envelope (inside the Earth or too far out)",
    invariants.SPEED: "speed outside the flight envelope",
    invariants.VARIANCE: "a variance of the covariance is outside its bounds",
    invariants.ASYMMETRIC: "covariance is not symmetric",
    invariants.ILL_CONDITIONED: "covariance is not positive definite or too ill-conditioned",
}


def _good_id(value: str) -> bool:
    return bool(value) and len(value) <= _MAX_ID_LEN and value.isprintable()


def _check_time(time_ns: int, now_ns: int, limits: Limits, what: str) -> None:
    dt_s = (time_ns - now_ns) * 1e-9
    if dt_s > limits.max_future_s:
        raise RejectedInput(
            "future_time",
            f"{what} is {dt_s:.1f} s in the future (limit {limits.max_future_s:g} s): check the clock",
        )
    if -dt_s > limits.max_age_s:
        raise RejectedInput("stale_time", f"{what} is {-dt_s:.1f} s old (limit {limits.max_age_s:g} s)")


def decode_status(payload: bytes, topic_nation_code: str, limits: Limits) -> NodeStatusEvent:
    """Parse and validate one ``NodeStatus``."""
    if len(payload) > limits.max_payload_bytes:
        raise RejectedInput("oversized", f"payload of {len(payload)} bytes exceeds {limits.max_payload_bytes}")
    msg = tracks_pb2.NodeStatus()
    try:
        msg.ParseFromString(payload)
    except (DecodeError, RuntimeWarning, ValueError) as exc:
        raise RejectedInput("malformed", f"not a triwarn.v1.NodeStatus ({exc})") from None
    nation = _nation_of(msg.nation, topic_nation_code)
    _check_id(msg.node_id, "node_id")
    if msg.kind not in (tracks_pb2.NodeStatus.KIND_BIRTH, tracks_pb2.NodeStatus.KIND_DEATH):
        raise RejectedInput("out_of_range", "NodeStatus.kind must be BIRTH or DEATH")
    if not math.isfinite(msg.update_period_s) or msg.update_period_s < 0:
        raise RejectedInput("out_of_range", "update_period_s must be a non-negative number")
    return NodeStatusEvent(
        nation=nation,
        node_id=msg.node_id,
        birth=msg.kind == tracks_pb2.NodeStatus.KIND_BIRTH,
        bd_seq=msg.bd_seq,
        time_ns=msg.time_ns,
        sensor_ids=tuple(msg.sensor_ids),
        update_period_s=msg.update_period_s,
    )
