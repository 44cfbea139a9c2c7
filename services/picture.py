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
    assessed: dict[int, tuple[int, object]] | None = None,
    assess_period_ns: int = 0,
) -> picture_pb2.PictureUpdate:
    """A DELTA update (sequence number and view are set by the hub) for the changed and deleted tracks.

    With an ``assessor``, the tracks are assessed (phase, class, launch and impact point, areas, warning
    level) and the warning book updated. Assessment propagates many sigma points to impact, so it is not
    repeated on every batch: a track assessed less than ``assess_period_ns`` ago (in data time) carries its
    last assessment (``assessed``: track id -> (time_ns, assessment), kept by the caller), which is at most
    that old. New tracks are always assessed at once."""
    update = picture_pb2.PictureUpdate(
        kind=picture_pb2.PictureUpdate.KIND_DELTA, time_ns=now_ns, source_sent_time_ns=source_sent_time_ns
    )
    tracks = [system_track_pb(t) for t in changed]
    if assessor is not None:
        from triwarn.services.assessment import apply_assessment
        from triwarn.services.warnings import fill_track_assessment

        cache = assessed if assessed is not None else {}
        due = [
            i
            for i, t in enumerate(changed)
            if t.track_id not in cache or t.time_ns - cache[t.track_id][0] >= assess_period_ns
        ]
        fresh = apply_assessment(
            assessor, warnings, [changed[i] for i in due], deleted, [tracks[i] for i in due], update, now_ns
        )
        for i in due:
            if changed[i].track_id in fresh:
                cache[changed[i].track_id] = (changed[i].time_ns, fresh[changed[i].track_id])
        for i, t in enumerate(changed):
            if t.track_id in cache and t.track_id not in fresh:
                fill_track_assessment(tracks[i], cache[t.track_id][1])  # type: ignore[arg-type]
        for track_id in deleted:
            cache.pop(int(track_id), None)
    update.tracks.extend(tracks)
    update.deleted_track_ids[:] = [int(i) for i in deleted]
    return update
