"""What every export draws the same way: the impact ellipse as a ring of ground points, the ellipse key frames
over time, each track's warning level over time, and the colours of the warning levels.

The 95% impact ellipse is defined in the local east-north plane at its centre (semi-axes in metres, major axis
at ``orientation_deg`` clockwise from true north). Its ring is drawn on the WGS-84 ellipsoid by walking, for
each parametric angle θ, the geodesic from the centre at azimuth ``orientation + atan2(b sin θ, a cos θ)``
for the tangent-plane radius ``hypot(a cos θ, b sin θ)``; the ground distance then equals the plane radius
(an orthographic projection would be shorter by r³/6R², 0.04% at r = 300 km).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from triwarn.analysis.exports.recorded import ImpactSample, RecordedPicture, RecordedTrack, WarningChange
from triwarn.core.trajectory.frames import geodesic_direct_batch

#: Warning levels from least to most severe (the picture's WarningLevel names without the prefix).
LEVELS: tuple[str, ...] = ("NONE", "ADVISORY", "WATCH", "WARNING")
#: RGBA (0-255) of each level on a map: grey, cyan, amber, red.
LEVEL_RGBA: dict[str, tuple[int, int, int, int]] = {
    "NONE": (170, 170, 170, 255),
    "ADVISORY": (0, 190, 230, 255),
    "WATCH": (255, 170, 0, 255),
    "WARNING": (230, 30, 30, 255),
}


#: Impact ellipses with a larger semi-major axis are not drawn as polygons (nor as CZML's native ellipse):
#: only their point and numbers are exported. Early in boost the picture's 95% ellipse can span thousands of
#: kilometres (7,700 km in the demo); a plane ellipse that size has no faithful footprint on the globe, its
#: ring may circle a pole, and no map format draws it as meant.
MAX_DRAWN_SEMI_MAJOR_M = 2_500_000.0


def drawable(s: ImpactSample) -> bool:
    """Whether the prediction's ellipse is drawn (finite, positive, not beyond :data:`MAX_DRAWN_SEMI_MAJOR_M`)."""
    return 0.0 < s.semi_minor_m <= s.semi_major_m <= MAX_DRAWN_SEMI_MAJOR_M


def split_at_antimeridian(ring_lonlat: np.ndarray, center_lon_deg: float) -> list[np.ndarray]:
    """A closed ring of ``[lon, lat]`` (degrees, (n, 2)) that does not enclose a pole, as one or two closed
    rings with longitudes in [-180, 180] that meet at the antimeridian (RFC 7946 §3.1.9). The ring's
    longitudes are first made continuous around ``center_lon_deg``; the cut interpolates linearly in
    longitude and latitude. Orientation is kept."""
    lon = center_lon_deg + (ring_lonlat[:, 0] - center_lon_deg + 180.0) % 360.0 - 180.0
    ring = np.column_stack([lon, ring_lonlat[:, 1]])
    if ring[:, 0].max() <= 180.0 and ring[:, 0].min() >= -180.0:
        return [ring]
    edge = 180.0 if ring[:, 0].max() > 180.0 else -180.0
    inside = _clip(ring, edge, keep_below=edge > 0)
    outside = _clip(ring, edge, keep_below=edge < 0)
    outside[:, 0] -= np.sign(edge) * 360.0
    return [r for r in (inside, outside) if len(r) >= 4]


def _clip(ring: np.ndarray, lon_edge: float, keep_below: bool) -> np.ndarray:
    """Sutherland-Hodgman: the part of a closed ring on one side of the meridian ``lon_edge``, closed."""
    out: list[np.ndarray] = []

    def keep(p: np.ndarray) -> bool:
        return bool(p[0] <= lon_edge) if keep_below else bool(p[0] >= lon_edge)

    for a, b in itertools.pairwise(ring):
        if keep(a):
            out.append(a)
        if keep(a) != keep(b):
            f = (lon_edge - a[0]) / (b[0] - a[0])
            out.append(np.array([lon_edge, a[1] + f * (b[1] - a[1])]))
    if out and not np.array_equal(out[0], out[-1]):
        out.append(out[0])
    return np.array(out)


def ellipse_ring_deg(
    lat_deg: float, lon_deg: float, semi_major_m: float, semi_minor_m: float, orientation_deg: float, n: int = 72
) -> np.ndarray:
    """(n + 1, 2) ``[lat_deg, lon_deg]`` of the ellipse's boundary, counter-clockwise seen from above (the
    right-hand rule of RFC 7946 for an exterior ring), closed (the last vertex repeats the first). The first
    vertex is the end of the major axis at azimuth ``orientation_deg``."""
    theta = np.linspace(0.0, -2.0 * math.pi, n, endpoint=False)  # decreasing parametric angle: counter-clockwise
    along = semi_major_m * np.cos(theta)
    across = semi_minor_m * np.sin(theta)  # positive to the right of the major axis (clockwise azimuth)
    az = math.radians(orientation_deg) + np.arctan2(across, along)
    dist = np.hypot(along, across)
    lat0 = np.full(n, math.radians(lat_deg))
    lon0 = np.full(n, math.radians(lon_deg))
    end = geodesic_direct_batch(lat0, lon0, np.ascontiguousarray(az), np.ascontiguousarray(dist))
    ring = np.degrees(end[:, :2])
    ring[:, 1] = (ring[:, 1] + 180.0) % 360.0 - 180.0
    return np.vstack([ring, ring[:1]])


@dataclass(frozen=True)
class EllipseKeyframe:
    """An impact prediction shown from ``start_s`` to ``end_s`` (seconds since the recording's epoch)."""

    impact: ImpactSample
    start_s: float
    end_s: float


def ellipse_keyframes(picture: RecordedPicture, track: RecordedTrack, every_s: float) -> list[EllipseKeyframe]:
    """The impact predictions to draw as polygons, among the :func:`drawable` ones: the first, then the first
    one at least ``every_s`` after the previous key frame, and always the last; each shown until the next, the
    last until the track's end (:meth:`RecordedPicture.end_of`). ``every_s`` 0 keeps every change."""
    keys: list[ImpactSample] = []
    for i, s in enumerate(track.impacts):
        last = i == len(track.impacts) - 1
        if drawable(s) and (not keys or s.t_s - keys[-1].t_s >= every_s or last):
            keys.append(s)
    end = picture.end_of(track)
    return [
        EllipseKeyframe(k, k.t_s, keys[i + 1].t_s if i + 1 < len(keys) else max(end, k.t_s)) for i, k in enumerate(keys)
    ]


@dataclass(frozen=True)
class LevelInterval:
    """A track's warning level from ``start_s`` to ``end_s``, with the warning change that set it (None for
    the NONE level before any warning)."""

    start_s: float
    end_s: float
    level: str
    change: WarningChange | None


def level_intervals(picture: RecordedPicture, track: RecordedTrack) -> list[LevelInterval]:
    """The warning level of a track over its life, from its warning changes: the level of its latest warning
    change, NONE before the first and after a warning ended or was cancelled. Covers ``track.t_s[0]`` to
    :meth:`RecordedPicture.end_of`, with no gap."""
    start, end = float(track.t_s[0]), picture.end_of(track)
    out: list[LevelInterval] = []
    level, change, t = "NONE", None, start
    for w in picture.warnings_of(track.track_id):
        at = min(max(w.t_s, start), end)
        if at > t:
            out.append(LevelInterval(t, at, level, change))
            t = at
        level, change = ("NONE" if w.closed else w.level), w
    if end > t or not out:
        out.append(LevelInterval(t, max(end, t), level, change))
    return out


def warning_marks(picture: RecordedPicture, track: RecordedTrack) -> list[tuple[LevelInterval, WarningChange, int]]:
    """Each warning change of a track, with the interval it holds for and the index of the track's position
    when it was published (where the exports place it)."""
    return [
        (iv, iv.change, track.index_at(iv.start_s)) for iv in level_intervals(picture, track) if iv.change is not None
    ]


def warning_text(w: WarningChange) -> str:
    """One line for a warning change, e.g. ``WATCH (impact expected): JP_EEZ``."""
    areas = ", ".join(w.areas) if w.areas else "no area threatened"
    return f"{w.level} ({w.state.lower().replace('_', ' ')}): {areas}"


def ellipse_text(s: ImpactSample) -> str:
    """The 95% ellipse in words, with its convention."""
    return (
        f"95% impact ellipse: semi-axes {s.semi_major_m / 1e3:.1f} x {s.semi_minor_m / 1e3:.1f} km, "
        f"major axis {s.orientation_deg:.1f} deg clockwise from true north"
    )
