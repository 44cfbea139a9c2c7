"""GeoJSON (RFC 7946): one ``FeatureCollection``, each feature's ``properties.kind`` saying what it is:

- ``track``: a ``LineString`` of the trajectory, ``properties.coordTimes`` giving each vertex's UTC time
  (the convention of togeojson and Leaflet time players: RFC 7946 has no time);
- ``launch_point``: a ``Point`` at the latest launch point estimate;
- ``impact_ellipse``: at each key frame a ``Polygon`` (``MultiPolygon`` across the antimeridian) of the 95%
  ellipse, with the impact point, the
  semi-axes, the orientation and the time span it holds for in ``properties``;
- ``warning``: each warning change as a ``Point`` at the track's position then, with level, state, areas
  and the time span until the next change of that track.

Conventions (RFC 7946): WGS-84, positions ``[longitude, latitude]`` or ``[longitude, latitude, height]`` with
the height in metres above the WGS-84 *ellipsoid* (§4), which is the picture's own height, so no conversion;
polygon exterior rings counter-clockwise and closed (§3.1.6); an ellipse that crosses the antimeridian is cut
there into a ``MultiPolygon`` (§3.1.9); coordinates rounded to 7 decimals (about 1 cm, §11.2 advises against
needless precision); times ISO 8601 UTC. A track's path is not cut (the theatre's tracks stay far from the
antimeridian).
"""

from __future__ import annotations

import json
from typing import Any

from triwarn.analysis.exports.geometry import (
    ellipse_keyframes,
    ellipse_ring_deg,
    split_at_antimeridian,
    warning_marks,
    warning_text,
)
from triwarn.analysis.exports.recorded import RecordedPicture, RecordedTrack


def to_geojson(picture: RecordedPicture, ellipse_every_s: float = 10.0) -> str:
    """The picture as a GeoJSON FeatureCollection (text)."""
    features: list[dict[str, Any]] = []
    for track in picture.tracks:
        features += _track_features(picture, track, ellipse_every_s)
    collection = {
        "type": "FeatureCollection",
        "features": features,
    }
    return json.dumps(collection, separators=(",", ":"), allow_nan=False)


def _pos(lon: float, lat: float, h: float | None = None) -> list[float]:
    return [round(lon, 7), round(lat, 7)] if h is None else [round(lon, 7), round(lat, 7), round(h, 2)]


def _feature(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _track_features(picture: RecordedPicture, track: RecordedTrack, every_s: float) -> list[dict[str, Any]]:
    tid, view = track.track_id, picture.view
    coords = [
        _pos(lon, lat, h)
        for lon, lat, h in zip(track.lon_deg.tolist(), track.lat_deg.tolist(), track.h_m.tolist(), strict=True)
    ]
    if len(coords) == 1:
        coords.append(coords[0])  # a LineString needs two positions
    times = [picture.iso(float(t)) for t in track.t_s]
    out = [
        _feature(
            {"type": "LineString", "coordinates": coords},
            kind="track",
            view=view,
            track_id=tid,
            nations=track.nations,
            start=times[0],
            end=times[-1],
            coordTimes=times if len(times) == len(coords) else [times[0], times[0]],
        )
    ]
    if track.launch is not None:
        lp = track.launch
        out.append(
            _feature(
                {"type": "Point", "coordinates": _pos(lp.lon_deg, lp.lat_deg)},
                kind="launch_point",
                view=view,
                track_id=tid,
                estimated_at=picture.iso(lp.t_s),
                launch_time=picture.iso(lp.launch_t_s),
            )
        )
    for key in ellipse_keyframes(picture, track, every_s):
        s = key.impact
        ring = ellipse_ring_deg(s.lat_deg, s.lon_deg, s.semi_major_m, s.semi_minor_m, s.orientation_deg)
        parts = [
            [[_pos(float(lon), float(lat)) for lon, lat in part]]
            for part in split_at_antimeridian(ring[:, ::-1], s.lon_deg)
        ]
        geometry = (
            {"type": "Polygon", "coordinates": parts[0]}
            if len(parts) == 1
            else {"type": "MultiPolygon", "coordinates": parts}
        )
        out.append(
            _feature(
                geometry,
                kind="impact_ellipse",
                view=view,
                track_id=tid,
                impact_lon_deg=round(s.lon_deg, 7),
                impact_lat_deg=round(s.lat_deg, 7),
                impact_time=picture.iso(s.impact_t_s),
                semi_major_m=s.semi_major_m,
                semi_minor_m=s.semi_minor_m,
                orientation_deg=s.orientation_deg,
                orientation_convention="azimuth of the major axis, degrees clockwise from true north",
                confidence=0.95,
                predicted_at=picture.iso(s.t_s),
                start=picture.iso(key.start_s),
                end=picture.iso(key.end_s),
            )
        )
    for iv, w, i in warning_marks(picture, track):
        out.append(
            _feature(
                {"type": "Point", "coordinates": coords[i]},
                kind="warning",
                view=view,
                track_id=tid,
                warning_id=w.warning_id,
                level=w.level,
                state=w.state,
                areas=list(w.areas),
                text=warning_text(w),
                start=picture.iso(iv.start_s),
                end=picture.iso(iv.end_s),
            )
        )
    return out
