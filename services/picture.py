"""Picture adapter: domain system tracks -> ``PictureUpdate`` messages (assessments are filled in by the
fusion service with ``triwarn.services.warnings.fill_track_assessment``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from triwarn.core.trajectory.frames import ecef_to_geodetic_batch
from triwarn.core.trajectory.tracks import SystemTrack
from triwarn.services import wire
from triwarn.v1 import picture_pb2


def system_tracks_pb(tracks: Sequence[SystemTrack]) -> list[picture_pb2.SystemTrack]:
    """Messages of ``tracks``, with the display position (geodetic) computed for all of them in one call."""
    if not tracks:
        return []
    x = np.array([t.x for t in tracks], dtype=np.float64)
    lla = ecef_to_geodetic_batch(np.ascontiguousarray(x[:, :3]))
    lat_deg, lon_deg = np.degrees(lla[:, 0]).tolist(), np.degrees(lla[:, 1]).tolist()
    upper = wire.covariance_upper(np.array([t.P for t in tracks], dtype=np.float64)).tolist()
    out = []
    for i, t in enumerate(tracks):
        xi = x[i].tolist()
        msg = picture_pb2.SystemTrack(
            track_id=t.track_id,
            time_ns=t.time_ns,
            phase=int(t.phase),  # type: ignore[arg-type]
            contributing_nations=sorted(wire.NATION_TO_PB[n] for n in t.nations),
            lat_deg=lat_deg[i],
            lon_deg=lon_deg[i],
            altitude_m=float(lla[i, 2]),
            warning_level=picture_pb2.WARNING_LEVEL_ADVISORY,  # tracked; the assessment raises or lowers it
        )
        s = msg.state
        s.x_m, s.y_m, s.z_m, s.vx_m_s, s.vy_m_s, s.vz_m_s = xi
        s.covariance_upper.extend(upper[i])
        for src in t.sources:
            msg.sources.add(
                nation=wire.NATION_TO_PB[src.nation], node_id=src.node_id, local_track_number=src.local_track_number
            )
        out.append(msg)
    return out


def system_track_pb(track: SystemTrack) -> picture_pb2.SystemTrack:
    """The message of one track."""
    return system_tracks_pb([track])[0]


def delta(
    changed: Sequence[SystemTrack], deleted: Sequence[int], now_ns: int, source_sent_time_ns: int = 0
) -> picture_pb2.PictureUpdate:
    """A DELTA update (sequence number and view are set by the hub) for the changed and deleted tracks."""
    update = picture_pb2.PictureUpdate(
        kind=picture_pb2.PictureUpdate.KIND_DELTA, time_ns=now_ns, source_sent_time_ns=source_sent_time_ns
    )
    update.tracks.extend(system_tracks_pb(changed))
    update.deleted_track_ids[:] = [int(i) for i in deleted]
    return update
