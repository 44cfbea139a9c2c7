"""Picture adapter: domain system tracks (and their assessments and warnings) -> ``PictureUpdate`` messages."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

from triwarn.core.trajectory.frames import ecef_to_geodetic
from triwarn.core.trajectory.tracks import SystemTrack
from triwarn.services import wire
from triwarn.v1 import picture_pb2


def system_track_pb(track: SystemTrack) -> picture_pb2.SystemTrack:
    msg = picture_pb2.SystemTrack(track_id=track.track_id, time_ns=track.time_ns, phase=cast(Any, int(track.phase)))
    wire.fill_state(msg.state, track.x, track.P)
    msg.contributing_nations[:] = sorted(wire.NATION_TO_PB[n] for n in track.nations)
    for src in track.sources:
        msg.sources.add(
            nation=wire.NATION_TO_PB[src.nation], node_id=src.node_id, local_track_number=src.local_track_number
        )
    lat_rad, lon_rad, h_m = ecef_to_geodetic(float(track.x[0]), float(track.x[1]), float(track.x[2]))
    msg.lat_deg, msg.lon_deg, msg.altitude_m = math.degrees(lat_rad), math.degrees(lon_rad), h_m
    msg.warning_level = picture_pb2.WARNING_LEVEL_ADVISORY  # tracked; raised by the assessment when present
    return msg


def delta(
    changed: Sequence[SystemTrack],
    deleted: Sequence[int],
    now_ns: int,
    source_sent_time_ns: int = 0,
    assessor: object | None = None,
    warnings: object | None = None,
) -> picture_pb2.PictureUpdate:
    """A DELTA update (sequence number and view are set by the hub) for the changed and deleted tracks."""
    update = picture_pb2.PictureUpdate(
        kind=picture_pb2.PictureUpdate.KIND_DELTA, time_ns=now_ns, source_sent_time_ns=source_sent_time_ns
    )
    tracks = [system_track_pb(t) for t in changed]
    if assessor is not None:
        from triwarn.services.assessment import apply_assessment

        apply_assessment(assessor, warnings, changed, deleted, tracks, update, now_ns)
    update.tracks.extend(tracks)
    update.deleted_track_ids[:] = [int(i) for i in deleted]
    return update
