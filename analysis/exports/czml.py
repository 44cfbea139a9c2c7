"""CZML for Cesium, written with czml3: the document (its clock spans the recording), then per track

- ``track/<view>/<id>``: its ECEF positions sampled on the evaluation clock (``cartesian`` in the FIXED
  frame, Lagrange interpolation), drawn as a point and a ``path`` over its availability; the point's colour
  follows the warning level and the description the warning changes, both as time intervals;
- ``launch/<view>/<id>``: the latest launch point estimate, on the ground;
- ``impact/<view>/<id>``: the impact point and its native ``ellipse``, both sampled at every change of the
  prediction (semi-axes and rotation as time-tagged numbers, held after the last sample); the ellipse is
  hidden while the prediction is not :func:`~triwarn.analysis.exports.geometry.drawable`;
- ``impact-ellipse/<view>/<id>/<k>``: the same ellipse as a ground ``polygon`` at each key frame
  (:func:`~triwarn.analysis.exports.geometry.ellipse_keyframes`), available until the next one.

Conventions (CZML's own): times are seconds after each property's ``epoch`` (the recording's epoch);
``cartographicDegrees`` is ``[lon, lat, height]`` with the height in metres above the WGS-84 ellipsoid, the
same height the picture uses, so no conversion; ``ellipse.rotation`` is in radians counter-clockwise from
north with the semi-major axis along north at 0, so rotation = −radians(orientation_deg), which the picture
gives clockwise from north. An ellipse is symmetric under a half turn, so the sampled rotation is unwrapped
with period π: interpolation never swings the axis through 90° when the azimuth passes 180° → 0°.
"""

from __future__ import annotations

import json
import math

import numpy as np
from czml3 import CZML_VERSION, Document, Packet
from czml3.enums import ClockRanges, ClockSteps, ExtrapolationTypes, InterpolationAlgorithms
from czml3.properties import (
    Clock,
    Color,
    Ellipse,
    Label,
    Material,
    Path,
    Point,
    Polygon,
    PolylineMaterial,
    Position,
    PositionList,
    SolidColorMaterial,
)
from czml3.types import Cartesian2Value, IntervalValue, NumberValue, TimeInterval, TimeIntervalCollection

from triwarn.analysis.exports.geometry import (
    LEVEL_RGBA,
    drawable,
    ellipse_keyframes,
    ellipse_ring_deg,
    ellipse_text,
    level_intervals,
    warning_text,
)
from triwarn.analysis.exports.recorded import RecordedPicture, RecordedTrack


def to_czml(picture: RecordedPicture, ellipse_every_s: float = 10.0) -> str:
    """The picture as a CZML document (a JSON array of packets)."""
    start, end = picture.iso(picture.start_s), picture.iso(picture.end_s)
    packets = [
        Packet(
            id="document",
            name=f"triwarn {picture.scenario} ({picture.view} view)",
            version=CZML_VERSION,
            clock=Clock(
                interval=TimeInterval(start=start, end=end),
                currentTime=start,
                multiplier=10,
                range=ClockRanges.LOOP_STOP,
                step=ClockSteps.SYSTEM_CLOCK_MULTIPLIER,
            ),
        )
    ]
    for track in picture.tracks:
        packets += _track_packets(picture, track, ellipse_every_s)
    document = Document(packets=packets)
    return json.dumps(json.loads(document.dumps()), separators=(",", ":"))


def _rgba(level: str, alpha: int | None = None) -> list[int]:
    r, g, b, a = LEVEL_RGBA[level]
    return [r, g, b, a if alpha is None else alpha]


def _track_packets(picture: RecordedPicture, track: RecordedTrack, ellipse_every_s: float) -> list[Packet]:
    view, tid = picture.view, track.track_id
    epoch = picture.iso(0.0)
    t0, t1 = float(track.t_s[0]), float(track.t_s[-1])
    levels = level_intervals(picture, track)
    samples = np.column_stack([track.t_s, track.pos_ecef_m]).ravel().tolist()
    descriptions = [
        IntervalValue(
            start=picture.iso(iv.start_s),
            end=picture.iso(iv.end_s),
            value=f"<p>system track {tid} ({track.nations})</p><p>"
            + (warning_text(iv.change) if iv.change is not None else "no warning")
            + "</p>",
        )
        for iv in levels
    ]
    colours = [
        IntervalValue(start=picture.iso(iv.start_s), end=picture.iso(iv.end_s), value=Color(rgba=_rgba(iv.level)))
        for iv in levels
    ]
    packets = [
        Packet(
            id=f"track/{view}/{tid}",
            name=f"track {tid}",
            description=TimeIntervalCollection(values=descriptions),
            availability=TimeInterval(start=picture.iso(t0), end=picture.iso(t1)),
            position=Position(
                referenceFrame="FIXED",
                epoch=epoch,
                cartesian=samples,
                interpolationAlgorithm=InterpolationAlgorithms.LAGRANGE,
                interpolationDegree=min(5, max(1, len(track.t_s) - 1)),
            ),
            point=Point(pixelSize=9, color=TimeIntervalCollection(values=colours)),
            label=Label(text=f"{tid}", pixelOffset=Cartesian2Value(values=[12, -12]), scale=0.6),
            path=Path(
                width=2,
                resolution=1,
                leadTime=0,
                material=PolylineMaterial(solidColor=SolidColorMaterial(color=Color(rgba=[255, 255, 255, 200]))),
            ),
        )
    ]
    if track.launch is not None:
        lp = track.launch
        packets.append(
            Packet(
                id=f"launch/{view}/{tid}",
                name=f"launch point of track {tid}",
                description=f"<p>estimated launch point, launch at {picture.iso(lp.launch_t_s)}</p>"
                if math.isfinite(lp.launch_t_s)
                else "<p>estimated launch point</p>",
                availability=TimeInterval(start=picture.iso(t0), end=picture.iso(picture.end_of(track))),
                position=Position(cartographicDegrees=[lp.lon_deg, lp.lat_deg, 0.0]),
                point=Point(pixelSize=7, color=Color(rgba=[255, 255, 255, 255]), outlineWidth=2),
            )
        )
    if track.impacts:
        packets += _impact_packets(picture, track, ellipse_every_s)
    return packets


def _impact_packets(picture: RecordedPicture, track: RecordedTrack, ellipse_every_s: float) -> list[Packet]:
    view, tid = picture.view, track.track_id
    epoch = picture.iso(0.0)
    imp = track.impacts
    shown = [s for s in imp if drawable(s)]
    t = [s.t_s for s in shown]
    rotation = np.unwrap([-math.radians(s.orientation_deg) for s in shown], period=math.pi)

    def sampled(values: list[float]) -> NumberValue:
        return NumberValue(
            epoch=epoch,
            values=[x for pair in zip(t, values, strict=True) for x in pair],
            forwardExtrapolationType=ExtrapolationTypes.HOLD,
        )

    end = picture.end_of(track)
    last = imp[-1]
    packets = [
        Packet(
            id=f"impact/{view}/{tid}",
            name=f"impact point of track {tid}",
            description=f"<p>{ellipse_text(last)}; impact at {picture.iso(last.impact_t_s)}</p>",
            availability=TimeInterval(start=picture.iso(imp[0].t_s), end=picture.iso(max(end, imp[0].t_s))),
            position=Position(
                epoch=epoch,
                cartographicDegrees=[x for s in imp for x in (s.t_s, s.lon_deg, s.lat_deg, 0.0)],
                forwardExtrapolationType=ExtrapolationTypes.HOLD,
            ),
            point=Point(pixelSize=6, color=Color(rgba=[255, 255, 255, 255])),
            ellipse=Ellipse(
                semiMajorAxis=sampled([s.semi_major_m for s in shown]),
                semiMinorAxis=sampled([s.semi_minor_m for s in shown]),
                rotation=sampled(rotation.tolist()),
                show=TimeIntervalCollection(
                    values=[
                        IntervalValue(start=picture.iso(s.t_s), end=picture.iso(e), value=drawable(s))
                        for s, e in zip(imp, [*(x.t_s for x in imp[1:]), max(end, imp[-1].t_s)], strict=True)
                    ]
                ),
                fill=False,
                outline=True,
                outlineColor=Color(rgba=[255, 255, 255, 255]),
                outlineWidth=2,
            )
            if shown
            else None,
        )
    ]
    for k, key in enumerate(ellipse_keyframes(picture, track, ellipse_every_s)):
        s = key.impact
        ring = ellipse_ring_deg(s.lat_deg, s.lon_deg, s.semi_major_m, s.semi_minor_m, s.orientation_deg)
        level = _level_at(picture, track, key.start_s)
        packets.append(
            Packet(
                id=f"impact-ellipse/{view}/{tid}/{k}",
                name=f"95% impact ellipse of track {tid}",
                parent=f"impact/{view}/{tid}",
                description=f"<p>{ellipse_text(s)}; predicted at {picture.iso(s.t_s)}</p>",
                availability=TimeInterval(start=picture.iso(key.start_s), end=picture.iso(key.end_s)),
                polygon=Polygon(
                    positions=PositionList(
                        cartographicDegrees=[x for lat, lon in ring[:-1] for x in (float(lon), float(lat), 0.0)]
                    ),
                    material=Material(solidColor=SolidColorMaterial(color=Color(rgba=_rgba(level, 90)))),
                    outline=True,
                    outlineColor=Color(rgba=_rgba(level)),
                ),
            )
        )
    return packets


def _level_at(picture: RecordedPicture, track: RecordedTrack, t_s: float) -> str:
    level = "NONE"
    for iv in level_intervals(picture, track):
        if iv.start_s <= t_s:
            level = iv.level
    return level
