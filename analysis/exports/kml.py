"""KML 2.2 for Google Earth (and any KML reader), written with fastkml: one folder per track holding

- ``track <id>``: a ``gx:Track`` (``when``/``gx:coord`` pairs on the evaluation clock) that time-aware
  viewers animate, and ``path of track <id>``, the same trajectory as a plain ``LineString`` for viewers
  without the gx extension;
- ``launch point of track <id>``: the latest launch point estimate (a ground ``Point``);
- ``95% impact ellipse of track <id> at T+<s> s``: at each key frame the impact point and its ellipse as a
  ground ``Polygon`` in a ``MultiGeometry``, with a ``TimeSpan`` until the next key frame and the ellipse's
  semi-axes and orientation in ``ExtendedData``;
- ``<LEVEL> warning <id>``: each warning change as a ``Point`` at the track's position then, with a
  ``TimeSpan`` until the next change of that track.

fastkml, not simplekml: simplekml's output is not valid against the OGC KML 2.2 schema (numeric ``id``s,
elements out of order), which fastkml's validating reader refuses.

Conventions (KML's own): coordinates are ``lon,lat[,alt]`` in WGS-84 degrees; KML has no ellipse, so the
ellipse is the ring of :func:`~triwarn.analysis.exports.geometry.ellipse_ring_deg`; colours are ``aabbggrr``.
Heights: ``altitudeMode absolute`` means above *mean sea level* (the geoid), while the picture's heights are
above the WGS-84 ellipsoid. triwarn bundles no geoid model, so trajectories carry the ellipsoidal height as
is: the geoid undulation (within ±110 m worldwide, a few tens of metres in the theatre) is far below the
tracks' own height errors and invisible at the scale of a trajectory. Ground objects (launch point, impact
point, ellipses) are ``clampToGround``, which needs no height at all.
"""

from __future__ import annotations

from fastkml import KML, Data, Document, ExtendedData, Folder, Placemark
from fastkml.enums import AltitudeMode
from fastkml.geometry import LineString, MultiGeometry, Point, Polygon
from fastkml.gx import Track
from fastkml.styles import IconStyle, LineStyle, PolyStyle, Style
from fastkml.times import KmlDateTime, TimeSpan
from pygeoif import geometry as geo

from triwarn.analysis.exports.geometry import (
    LEVEL_RGBA,
    LEVELS,
    ellipse_keyframes,
    ellipse_ring_deg,
    ellipse_text,
    level_intervals,
    warning_marks,
    warning_text,
)
from triwarn.analysis.exports.recorded import RecordedPicture, RecordedTrack


def _colour(level: str, alpha: int | None = None) -> str:
    """``aabbggrr`` hex of a warning level's colour."""
    r, g, b, a = LEVEL_RGBA[level]
    return f"{a if alpha is None else alpha:02x}{b:02x}{g:02x}{r:02x}"


def _span(picture: RecordedPicture, start_s: float, end_s: float) -> TimeSpan:
    return TimeSpan(begin=KmlDateTime(picture.utc(start_s)), end=KmlDateTime(picture.utc(end_s)))


def _data(**values: object) -> ExtendedData:
    return ExtendedData(elements=[Data(name=k, value=str(v)) for k, v in values.items()])


def to_kml(picture: RecordedPicture, ellipse_every_s: float = 10.0) -> str:
    """The picture as a KML document (text)."""
    folders = [_track_folder(picture, track, ellipse_every_s) for track in picture.tracks]
    doc = Document(name=f"triwarn {picture.scenario} ({picture.view} view)", features=folders)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + KML(features=[doc]).to_string(prettyprint=True)


def _track_folder(picture: RecordedPicture, track: RecordedTrack, every_s: float) -> Folder:
    tid = track.track_id
    coords = list(zip(track.lon_deg.tolist(), track.lat_deg.tolist(), track.h_m.tolist(), strict=True))
    levels = level_intervals(picture, track)
    worst = max((iv.level for iv in levels), key=LEVELS.index)
    line_style = Style(styles=[LineStyle(color=_colour(worst), width=3)])
    features: list[Placemark] = [
        Placemark(
            name=f"track {tid}",
            description=f"system track {tid}, contributing nations {track.nations}",
            styles=[line_style],
            extended_data=_data(track_id=tid, nations=track.nations),
            kml_geometry=Track(
                altitude_mode=AltitudeMode.absolute,
                whens=[KmlDateTime(picture.utc(float(t))) for t in track.t_s],
                coords=coords,
            ),
        ),
        Placemark(
            name=f"path of track {tid}",
            times=_span(picture, float(track.t_s[0]), float(track.t_s[-1])),
            styles=[line_style],
            kml_geometry=LineString(
                altitude_mode=AltitudeMode.absolute,
                geometry=geo.LineString(coords if len(coords) > 1 else coords * 2),
            ),
        ),
    ]
    if track.launch is not None:
        lp = track.launch
        features.append(
            Placemark(
                name=f"launch point of track {tid}",
                description=f"estimated launch point (as of T+{lp.t_s:.0f} s), launch at {picture.iso(lp.launch_t_s)}",
                extended_data=_data(launch_time=picture.iso(lp.launch_t_s)),
                kml_geometry=Point(
                    altitude_mode=AltitudeMode.clamp_to_ground, geometry=geo.Point(lp.lon_deg, lp.lat_deg)
                ),
            )
        )
    for key in ellipse_keyframes(picture, track, every_s):
        s = key.impact
        ring = ellipse_ring_deg(s.lat_deg, s.lon_deg, s.semi_major_m, s.semi_minor_m, s.orientation_deg)
        level = next((iv.level for iv in reversed(levels) if iv.start_s <= key.start_s), "NONE")
        features.append(
            Placemark(
                name=f"95% impact ellipse of track {tid} at T+{s.t_s:.0f} s",
                description=f"{ellipse_text(s)}; impact at {picture.iso(s.impact_t_s)}",
                times=_span(picture, key.start_s, key.end_s),
                styles=[Style(styles=[LineStyle(color=_colour(level), width=2), PolyStyle(color=_colour(level, 90))])],
                extended_data=_data(
                    semi_major_m=f"{s.semi_major_m:.1f}",
                    semi_minor_m=f"{s.semi_minor_m:.1f}",
                    orientation_deg_cw_from_north=f"{s.orientation_deg:.2f}",
                    confidence="0.95",
                    impact_time=picture.iso(s.impact_t_s),
                ),
                kml_geometry=MultiGeometry(
                    kml_geometries=[
                        Point(altitude_mode=AltitudeMode.clamp_to_ground, geometry=geo.Point(s.lon_deg, s.lat_deg)),
                        Polygon(
                            altitude_mode=AltitudeMode.clamp_to_ground,
                            tessellate=True,
                            geometry=geo.Polygon([(float(lon), float(lat)) for lat, lon in ring]),
                        ),
                    ]
                ),
            )
        )
    for iv, w, i in warning_marks(picture, track):
        features.append(
            Placemark(
                name=f"{w.level} warning {w.warning_id}",
                description=warning_text(w),
                times=_span(picture, iv.start_s, iv.end_s),
                styles=[Style(styles=[IconStyle(color=_colour(w.level))])],
                extended_data=_data(warning_id=w.warning_id, level=w.level, state=w.state, areas="+".join(w.areas)),
                kml_geometry=Point(altitude_mode=AltitudeMode.absolute, geometry=geo.Point(*coords[i])),
            )
        )
    return Folder(name=f"track {tid}", features=features)
