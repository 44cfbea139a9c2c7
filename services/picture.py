"""Picture adapter: domain system tracks -> ``PictureUpdate`` messages (assessments are filled in by the
fusion service with ``triwarn.services.warnings.fill_track_assessment``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from triwarn.core.trajectory.frames import ecef_to_geodetic_batch
from triwarn.core.trajectory.tracks import SystemTrack
from triwarn.services import wire
from triwarn.v1 import picture_pb2

_NO_PREVIOUS: Mapping[int, picture_pb2.SystemTrack] = {}


def fill_system_tracks(
    out: Any, tracks: Sequence[SystemTrack], previous: Mapping[int, picture_pb2.SystemTrack] = _NO_PREVIOUS
) -> None:
    """Append the messages of ``tracks`` to the repeated field ``out``, with the display position (geodetic)
    computed for all of them in one call.

    A track with a message in ``previous`` (its last one) starts as a copy of it: what the fusion service
    added (the assessment: phase, class, warning level, launch and impact points, areas) carries over, and
    the time, position, state, covariance, contributing nations and sources are replaced. One C-level copy
    instead of building the message field by field: 0.15 vs 0.48 ms for 30 tracks. The phase of a copy is
    the previous message's; a new track gets the tracker's phase and level ADVISORY (tracked; the assessment
    raises or lowers it)."""
    if not tracks:
        return
    x = np.array([t.x for t in tracks], dtype=np.float64)
    lla = ecef_to_geodetic_batch(np.ascontiguousarray(x[:, :3]))
    lat_deg, lon_deg = np.degrees(lla[:, 0]).tolist(), np.degrees(lla[:, 1]).tolist()
    alt_m = lla[:, 2].tolist()
    upper = wire.covariance_upper(np.array([t.P for t in tracks], dtype=np.float64)).tolist()
    nation_pb = wire.NATION_TO_PB
    for i, t in enumerate(tracks):
        msg = out.add()
        prev = previous.get(t.track_id)
        if prev is not None:
            msg.CopyFrom(prev)
            del msg.sources[:]
            msg.contributing_nations[:] = sorted(nation_pb[n] for n in t.nations)
        else:
            msg.track_id = t.track_id
            msg.phase = int(t.phase)
            msg.warning_level = picture_pb2.WARNING_LEVEL_ADVISORY
            msg.contributing_nations.extend(sorted(nation_pb[n] for n in t.nations))
        msg.time_ns = t.time_ns
        msg.lat_deg = lat_deg[i]
        msg.lon_deg = lon_deg[i]
        msg.altitude_m = alt_m[i]
        s = msg.state
        s.x_m, s.y_m, s.z_m, s.vx_m_s, s.vy_m_s, s.vz_m_s = x[i].tolist()
        s.covariance_upper[:] = upper[i]
        for src in t.sources:
            number = src.local_track_number
            msg.sources.add(nation=nation_pb[src.nation], node_id=src.node_id, local_track_number=number)


def system_tracks_pb(tracks: Sequence[SystemTrack]) -> list[picture_pb2.SystemTrack]:
    """Messages of ``tracks`` (new ones: no previous message)."""
    update = picture_pb2.PictureUpdate()
    fill_system_tracks(update.tracks, tracks)
    return list(update.tracks)


def system_track_pb(track: SystemTrack) -> picture_pb2.SystemTrack:
    """The message of one track."""
    return system_tracks_pb([track])[0]


def delta(
    changed: Sequence[SystemTrack],
    deleted: Sequence[int],
    now_ns: int,
    source_sent_time_ns: int = 0,
    previous: Mapping[int, picture_pb2.SystemTrack] = _NO_PREVIOUS,
) -> picture_pb2.PictureUpdate:
    """A DELTA update (sequence number and view are set by the hub) for the changed and deleted tracks;
    ``previous``: the last message of each track (see :func:`fill_system_tracks`)."""
    update = picture_pb2.PictureUpdate(
        kind=picture_pb2.PictureUpdate.KIND_DELTA, time_ns=now_ns, source_sent_time_ns=source_sent_time_ns
    )
    fill_system_tracks(update.tracks, changed, previous)
    update.deleted_track_ids[:] = [int(i) for i in deleted]
    return update
