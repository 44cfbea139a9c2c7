"""Exports of a recording (``triwarn replay --record DIR``) in the formats other tools read: CZML for Cesium
(:mod:`.czml`), KML for Google Earth (:mod:`.kml`), GeoJSON for GIS (:mod:`.geojson`). Each draws one view's
tracks as time-dynamic paths, their launch points, impact points with the 95% ellipses (as polygons, and as
CZML's native ellipse) and their warnings, each in its format's own conventions for heights, angles and time
(documented in each module). :mod:`.recorded` reads the recording, :mod:`.geometry` holds what they share.
"""

from __future__ import annotations

from pathlib import Path

from triwarn.analysis.exports.czml import to_czml
from triwarn.analysis.exports.geojson import to_geojson
from triwarn.analysis.exports.kml import to_kml
from triwarn.analysis.exports.recorded import RecordedPicture, RecordingError, load_picture

#: Formats and their usual file suffixes.
FORMATS: dict[str, str] = {"czml": ".czml", "kml": ".kml", "geojson": ".geojson"}

__all__ = ["FORMATS", "RecordedPicture", "RecordingError", "export", "load_picture", "render"]


def render(picture: RecordedPicture, fmt: str, ellipse_every_s: float = 10.0) -> str:
    """The picture in ``fmt`` (one of :data:`FORMATS`) as text. ``ellipse_every_s``: least time between two
    impact ellipses drawn as polygons (0: every change of the prediction)."""
    writers = {"czml": to_czml, "kml": to_kml, "geojson": to_geojson}
    if fmt not in writers:
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    return writers[fmt](picture, ellipse_every_s)


def export(
    record_dir: Path, fmt: str, out: Path | None = None, view: str = "us", ellipse_every_s: float = 10.0
) -> Path:
    """Write ``view`` of the recording in ``record_dir`` as ``fmt`` to ``out`` (default
    ``record_dir/picture-<view><suffix>``); returns the path written."""
    picture = load_picture(record_dir, view)
    text = render(picture, fmt, ellipse_every_s)
    path = out if out is not None else Path(record_dir) / f"picture-{view}{FORMATS[fmt]}"
    path.write_text(text, encoding="utf-8")
    return path
