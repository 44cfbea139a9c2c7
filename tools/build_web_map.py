"""Derive the web map's outlines (GeoJSON) from the bundled land/EEZ grid.

Input: ``core/assessment/data/areas_nw_pacific.npz`` (docs/map-data.md: one cell per arc-minute, bits 1 LAND,
2 JP_LAND, 4 KR_LAND, 8 JP_EEZ). Output: ``services/web/static/map/areas.geojson``, one feature per layer
(``land``, ``jp_eez``, ``jp_land``, ``kr_land``), each a MultiPolygon in WGS-84 degrees (lon, lat), traced
with contourpy's filled contours at the cell edges of a grid pooled to ``--pool`` arc-minutes (a pooled
cell is set if any of its cells is, so small islands survive) and rounded to 0.01° (~1 km).

    python tools/build_web_map.py            # rewrite the committed file
    python tools/build_web_map.py --check    # exit 1 if the committed file differs
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import contourpy
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "core" / "assessment" / "data" / "areas_nw_pacific.npz"
OUTPUT = ROOT / "services" / "web" / "static" / "map" / "areas.geojson"

#: layer name -> (bit of ``flags``, title)
LAYERS: dict[str, tuple[int, str]] = {
    "land": (1, "land"),
    "jp_eez": (8, "Japan EEZ (approximation: docs/map-data.md)"),
    "jp_land": (2, "Japan land"),
    "kr_land": (4, "ROK land"),
}


def pooled(mask: np.ndarray, pool: int) -> np.ndarray:
    """(n_lat // pool, n_lon // pool) boolean: any cell of each pool x pool block set."""
    n_lat, n_lon = (mask.shape[0] // pool) * pool, (mask.shape[1] // pool) * pool
    blocks = mask[:n_lat, :n_lon].reshape(n_lat // pool, pool, n_lon // pool, pool)
    return blocks.any(axis=(1, 3))


def outline(mask: np.ndarray, lat0_deg: float, lon0_deg: float, step_deg: float) -> list[list[list[list[float]]]]:
    """MultiPolygon coordinates (GeoJSON: polygons of rings of [lon, lat]) of the set cells of ``mask``.

    ``mask[i, j]`` covers latitudes ``lat0 + [i, i+1]·step``, longitudes ``lon0 + [j, j+1]·step``; the
    contour at 0.5 of the mask padded by one empty cell runs through the cell edges' midpoints, close to
    the edges themselves at this resolution."""
    padded = np.pad(mask.astype(np.float64), 1)
    lat = lat0_deg + (np.arange(padded.shape[0]) - 0.5) * step_deg
    lon = lon0_deg + (np.arange(padded.shape[1]) - 0.5) * step_deg
    gen = contourpy.contour_generator(lon, lat, padded, fill_type=contourpy.FillType.OuterOffset)
    points, offsets = gen.filled(0.5, 2.0)
    polygons = []
    for pts, offs in zip(points, offsets, strict=True):
        rings = []
        for a, b in itertools.pairwise(offs):
            ring = np.round(pts[a:b], 2)
            keep = np.ones(len(ring), dtype=bool)
            keep[1:] = np.any(np.diff(ring, axis=0) != 0.0, axis=1)
            ring = ring[keep]
            if len(ring) >= 4:
                rings.append([[float(x), float(y)] for x, y in ring])
        if rings:
            polygons.append(rings)
    return polygons


def build(pool: int) -> str:
    with np.load(SOURCE) as d:
        flags = d["flags"]
        lat0, lon0, step = float(d["lat0_deg"]), float(d["lon0_deg"]), float(d["step_deg"])
    features = []
    for name, (bit, title) in LAYERS.items():
        mask = pooled((flags & bit) != 0, pool)
        features.append(
            {
                "type": "Feature",
                "properties": {"layer": name, "title": title},
                "geometry": {"type": "MultiPolygon", "coordinates": outline(mask, lat0, lon0, step * pool)},
            }
        )
    doc = {
        "type": "FeatureCollection",
        "source": f"tools/build_web_map.py --pool {pool} from core/assessment/data/areas_nw_pacific.npz",
        "features": features,
    }
    return json.dumps(doc, separators=(",", ":")) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pool", type=int, default=3, help="arc-minutes per output cell (default 3)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file differs")
    args = parser.parse_args()
    text = build(args.pool)
    if args.check:
        same = OUTPUT.is_file() and OUTPUT.read_text() == text
        print(f"{OUTPUT.relative_to(ROOT)}: {'up to date' if same else 'DIFFERS: run tools/build_web_map.py'}")
        return 0 if same else 1
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({len(text) / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
