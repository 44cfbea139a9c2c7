"""Picture adapter, the one place where the warning picture meets ``triwarn.v1`` (STYLE.md item 9): domain
system tracks -> ``SystemTrack`` messages and ``PictureUpdate`` deltas; assessments
(:class:`~triwarn.core.assessment.assess.Assessment`) -> the assessment fields of a ``SystemTrack``
(:func:`fill_track_assessment`, or :func:`assessment_pb` once and :func:`merge_assessment` per message);
warnings (:class:`~triwarn.core.assessment.warnings.WarningChange`) -> ``Warning`` messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, cast

import numpy as np

from triwarn.core.assessment.assess import Assessment, ThreatenedArea
from triwarn.core.assessment.warnings import WarningChange
from triwarn.core.tracks import Phase, SystemTrack
from triwarn.core.trajectory.frames import ecef_to_geodetic_batch
from triwarn.services.wire import tracks as wire
from triwarn.services.wire.nations import NATION_TO_PB
from triwarn.v1 import picture_pb2

#: MQTT topics of the views' picture updates, which the fusion service publishes at the hub for the national
#: edges: ``triwarn/v1/picture/{view}/updates`` (one signed, labelled, sequence-numbered update per message).
PICTURE_PREFIX = f"{wire.TOPIC_PREFIX}/picture"


def picture_topic(view: str) -> str:
    return f"{PICTURE_PREFIX}/{view}/updates"


_NO_PREVIOUS: Mapping[int, Any] = MappingProxyType({})

#: One ``CartesianState`` as protobuf wire bytes, fixed layout: fields 1-6 (double: tag byte, 8 bytes little
#: endian) then field 7 (packed doubles: tag, length 168 as a two-byte varint, 21 doubles). Every field is
#: written, zeros included (valid protobuf: a parser stores a zero as unset, so the message is the same).
_STATE_WIRE = np.dtype(
    [(f"tag{k}", "u1") if j == 0 else (f"v{k}", "<f8") for k in range(6) for j in range(2)]
    + [("tag_cov", "u1"), ("len_cov", "u1", (2,)), ("cov", "<f8", (21,))]
)
_STATE_TAGS = tuple((k + 1) << 3 | 1 for k in range(6))  # field k + 1, wire type 1 (64-bit)
_COV_TAG = 7 << 3 | 2  # field 7, wire type 2 (length-delimited)
_COV_LEN = (168 & 0x7F | 0x80, 168 >> 7)  # varint of 21 * 8


def state_wire(x: np.ndarray, upper: np.ndarray) -> bytes:
    """(n, 6) states and (n, 21) covariance upper triangles -> n ``CartesianState`` messages, serialized, back
    to back, each ``_STATE_WIRE.itemsize`` (225) bytes: ``msg.state.ParseFromString`` of one slice replaces a
    message's state and covariance in one C call (vs 7 attribute sets and a list copy, ~2.5 us per track)."""
    rec = np.empty(x.shape[0], _STATE_WIRE)
    for k in range(6):
        rec[f"tag{k}"] = _STATE_TAGS[k]
        rec[f"v{k}"] = x[:, k]
    rec["tag_cov"] = _COV_TAG
    rec["len_cov"] = _COV_LEN
    rec["cov"] = upper
    return rec.tobytes()


def fill_system_tracks(
    out: Any,
    tracks: Sequence[SystemTrack],
    previous: Mapping[int, picture_pb2.SystemTrack] = _NO_PREVIOUS,
    previous_sources: Mapping[int, tuple[Any, Any]] = _NO_PREVIOUS,
) -> None:
    """Append the messages of ``tracks`` to the repeated field ``out``, with the display position (geodetic)
    computed for all of them in one call.

    A track with a message in ``previous`` (its last one) starts as a copy of it: what the fusion service
    added (the assessment: phase, class, warning level, launch and impact points, areas) carries over, and
    the time, position, state and covariance are replaced, and the contributing nations and sources unless
    ``previous_sources`` says the previous message already holds these ``(nations, sources)`` (the common
    case: rebuilding three sources costs ~3.5 us per track). One C-level copy instead of building the message
    field by field: 0.15 vs 0.48 ms for 30 tracks. The phase of a copy is the previous message's; a new track
    gets the tracker's phase and level ADVISORY (tracked; the assessment raises or lowers it)."""
    if not tracks:
        return
    x = np.array([t.x for t in tracks], dtype=np.float64)
    lla = ecef_to_geodetic_batch(np.ascontiguousarray(x[:, :3]))
    lat_deg, lon_deg = np.degrees(lla[:, 0]).tolist(), np.degrees(lla[:, 1]).tolist()
    alt_m = lla[:, 2].tolist()
    states = memoryview(state_wire(x, wire.covariance_upper(np.array([t.P for t in tracks], dtype=np.float64))))
    size = _STATE_WIRE.itemsize
    nation_pb = NATION_TO_PB
    for i, t in enumerate(tracks):
        msg = out.add()
        prev = previous.get(t.track_id)
        if prev is not None:
            msg.CopyFrom(prev)
            if previous_sources.get(t.track_id) != (t.nations, t.sources):  # else the copy holds them already
                del msg.sources[:]
                msg.contributing_nations[:] = sorted(nation_pb[n] for n in t.nations)
                _add_sources(msg, t)
        else:
            msg.track_id = t.track_id
            msg.phase = int(t.phase)
            msg.warning_level = picture_pb2.WARNING_LEVEL_ADVISORY
            msg.contributing_nations.extend(sorted(nation_pb[n] for n in t.nations))
            _add_sources(msg, t)
        msg.time_ns = t.time_ns
        msg.lat_deg = lat_deg[i]
        msg.lon_deg = lon_deg[i]
        msg.altitude_m = alt_m[i]
        msg.estimated_objects = t.objects
        msg.state.ParseFromString(states[i * size : (i + 1) * size])


def _add_sources(msg: picture_pb2.SystemTrack, t: SystemTrack) -> None:
    nation_pb = NATION_TO_PB
    for src in t.sources:
        msg.sources.add(nation=nation_pb[src.nation], node_id=src.node_id, local_track_number=src.local_track_number)


def system_tracks_pb(tracks: Sequence[SystemTrack]) -> list[picture_pb2.SystemTrack]:
    """Messages of ``tracks`` (new ones: no previous message)."""
    update = picture_pb2.PictureUpdate()
    fill_system_tracks(update.tracks, tracks)
    return list(update.tracks)


def system_track_pb(track: SystemTrack) -> picture_pb2.SystemTrack:
    """The message of one track."""
    return system_tracks_pb([track])[0]


def system_track_from_pb(msg: picture_pb2.SystemTrack) -> SystemTrack:
    """The fusion core's view of a published track (state, covariance, time, phase; no sources): what a
    restarted service takes back from its durable picture."""
    st = msg.state
    x = np.array([st.x_m, st.y_m, st.z_m, st.vx_m_s, st.vy_m_s, st.vz_m_s], dtype=np.float64)
    P = wire.covariance_full(np.asarray(st.covariance_upper, dtype=np.float64))
    return SystemTrack(
        track_id=int(msg.track_id), time_ns=int(msg.time_ns), x=x, P=P, nations=(), sources=(), phase=Phase(msg.phase)
    )


def delta(
    changed: Sequence[SystemTrack],
    deleted: Sequence[int],
    now_ns: int,
    source_sent_time_ns: int = 0,
    previous: Mapping[int, picture_pb2.SystemTrack] = _NO_PREVIOUS,
    previous_sources: Mapping[int, tuple[Any, Any]] = _NO_PREVIOUS,
) -> picture_pb2.PictureUpdate:
    """A DELTA update (sequence number and view are set by the hub) for the changed and deleted tracks;
    ``previous``: the last message of each track, ``previous_sources``: the (nations, sources) it holds (see
    :func:`fill_system_tracks`)."""
    update = picture_pb2.PictureUpdate(
        kind=picture_pb2.PictureUpdate.KIND_DELTA, time_ns=now_ns, source_sent_time_ns=source_sent_time_ns
    )
    fill_system_tracks(update.tracks, changed, previous, previous_sources)
    update.deleted_track_ids[:] = [int(i) for i in deleted]
    return update


# --- assessments and warnings ------------------------------------------------------------------------------


def _ellipse_pb(msg: Any, semi_major_m: float, semi_minor_m: float, orientation_deg: float, conf: float) -> None:
    msg.semi_major_m = semi_major_m
    msg.semi_minor_m = semi_minor_m
    msg.orientation_deg = orientation_deg
    msg.confidence = conf


def _area_pb(msg: Any, area: ThreatenedArea) -> None:
    msg.kind = int(area.kind)
    msg.name = area.name
    msg.probability = area.probability


def warning_to_proto(w: WarningChange) -> Any:
    """A :class:`WarningChange` as a ``triwarn.v1.Warning``."""
    msg = picture_pb2.Warning(
        warning_id=w.warning_id,
        track_id=w.track_id,
        level=cast(Any, int(w.level)),
        state=cast(Any, int(w.state)),
        issued_time_ns=w.issued_time_ns,
        updated_time_ns=w.updated_time_ns,
        last_sensor_update_ns=w.sensor_time_ns,
    )
    for area in w.areas:
        _area_pb(msg.areas.add(), area)
    msg.reasons[:] = list(w.reasons)
    return msg


def fill_track_assessment(msg: Any, a: Assessment) -> None:
    """Fill the assessment fields of a ``triwarn.v1.SystemTrack``: phase, missile_class, launch_point,
    impact (with its corridor while boosting), threatened_areas, warning_level. ``msg`` may hold an earlier
    assessment (a copy of the track's last message): every field set here replaces it."""
    msg.phase = int(a.phase)
    msg.missile_class = int(a.missile_class)
    msg.warning_level = int(a.level)
    lp = msg.launch_point
    lp.valid = a.launch.valid
    if a.launch.valid:
        lp.lat_deg, lp.lon_deg = a.launch.lat_deg, a.launch.lon_deg
        lp.launch_time_ns = a.launch.time_ns
        lp.launch_time_sigma_s = a.launch.time_sigma_s
        e = a.launch.ellipse
        _ellipse_pb(lp.ellipse, e.semi_major_m, e.semi_minor_m, e.orientation_deg, e.confidence)
    ip = msg.impact
    ip.valid = a.impact.valid
    if a.impact.valid:
        ip.lat_deg, ip.lon_deg = a.impact.lat_deg, a.impact.lon_deg
        ip.impact_time_ns = a.impact.time_ns
        ip.impact_time_sigma_s = a.impact.time_sigma_s
        e = a.impact.ellipse
        _ellipse_pb(ip.ellipse, e.semi_major_m, e.semi_minor_m, e.orientation_deg, e.confidence)
    ip.ClearField("corridor")
    c = a.impact.corridor
    if a.impact.valid and c is not None:
        ip.corridor.valid = True
        ip.corridor.near_lat_deg, ip.corridor.near_lon_deg = c.near_lat_deg, c.near_lon_deg
        ip.corridor.far_lat_deg, ip.corridor.far_lon_deg = c.far_lat_deg, c.far_lon_deg
    del msg.threatened_areas[:]
    for area in a.areas:
        _area_pb(msg.threatened_areas.add(), area)


def assessment_pb(assessment: Assessment) -> picture_pb2.SystemTrack:
    """A ``SystemTrack`` holding only the fields ``fill_track_assessment`` sets, for :func:`merge_assessment`."""
    msg = picture_pb2.SystemTrack()
    fill_track_assessment(msg, assessment)
    return msg


def merge_assessment(msg: picture_pb2.SystemTrack, assessment: picture_pb2.SystemTrack) -> None:
    """``fill_track_assessment(msg, a)`` for a fresh track message (no assessment yet), from
    ``assessment_pb(a)``: one C-level merge instead of ~40 field assignments (0.04 vs 0.12 ms for 30 tracks).
    Phase and warning level are cleared first, because a merge does not copy a proto3 zero."""
    msg.ClearField("phase")
    msg.ClearField("warning_level")
    msg.MergeFrom(assessment)
