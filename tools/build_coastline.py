"""Build ``core/assessment/data/areas_nw_pacific.npz``: the land and sea areas that warnings talk about.

Run once by a developer (``python tools/build_coastline.py``); the result is committed and nothing is fetched
at run time. Needs the PyPI package ``global-land-mask`` (MIT; NOAA GLOBE 30" land/sea mask) at BUILD time
only. See ``docs/map-data.md`` for sources, licences and the approximations made here.

The output is one ``uint8`` grid of bit flags on a regular latitude/longitude grid (cell centres):

- bit 0 ``LAND``: any land (any of the GLOBE 30" sub-cells of the cell is land)
- bit 1 ``JP_LAND``: land administered by Japan
- bit 2 ``KR_LAND``: land administered by the Republic of Korea
- bit 3 ``JP_EEZ``: water within 200 nmi of Japan's coast and nearer to Japan's coast than to any other
  land (an equidistance approximation of the median lines; NOT the legal boundary)

The split of land into nations uses hand-drawn polygons (below) that run through the sea, plus the Military
Demarcation Line on the Korean peninsula approximated by a polyline: errors of a few km near the MDL, the
Northern Limit Line islands and the Nemuro strait are expected.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "core" / "trajectory" / "data" / "areas_nw_pacific.npz"

#: Grid: cell centres lat0 + (i + 0.5) * step, lon0 + (j + 0.5) * step.
LAT0_DEG, LAT1_DEG = 17.0, 50.0
LON0_DEG, LON1_DEG = 118.0, 180.0
STEP_DEG = 1.0 / 60.0  # one arc-minute, ~1.85 km
SUB = 2  # GLOBE sub-cells (30") per grid step in each direction

EEZ_NMI = 200.0
NMI_M = 1852.0
R_EARTH_M = 6_371_008.8  # mean Earth radius (IUGG); distances here are great-circle on the sphere

LAND, JP_LAND, KR_LAND, JP_EEZ = 1, 2, 4, 8

# Republic of Korea, as administered: south of the MDL, with the five NLL islands, Jeju and Dokdo;
# the Korea Strait line passes west of Tsushima. (lon, lat) degrees.
KR_POLYGON = [
    (123.5, 32.0),
    (123.5, 37.5),
    (124.45, 37.85),
    (124.55, 38.05),
    (124.80, 38.03),
    (124.90, 37.85),
    (125.30, 37.62),
    (125.75, 37.60),
    (126.15, 37.72),
    (126.40, 37.81),
    (126.55, 37.80),
    (126.68, 37.96),  # Panmunjom
    (126.85, 38.02),
    (127.05, 38.25),
    (127.30, 38.30),
    (127.60, 38.32),
    (127.90, 38.30),
    (128.10, 38.33),
    (128.25, 38.50),
    (128.36, 38.62),  # the MDL reaches the east coast
    (132.2, 38.62),
    (132.2, 37.0),
    (131.0, 36.5),
    (129.7, 35.3),
    (128.9, 34.5),
    (128.0, 33.0),
]

# Japan, as administered: everything in this polygon that is not in KR_POLYGON. It excludes Taiwan, the
# continent, Sakhalin (La Perouse strait) and the Russian-administered southern Kurils (Nemuro strait).
JP_POLYGON = [
    (122.5, 24.0),
    (122.5, 26.5),
    (126.5, 30.0),
    (128.0, 33.0),
    (128.9, 34.5),
    (129.7, 35.3),
    (131.0, 36.5),
    (131.5, 38.0),
    (138.5, 41.5),
    (139.0, 41.8),
    (140.6, 45.7),
    (142.5, 45.7),
    (145.3, 44.6),
    (145.32, 44.0),
    (145.35, 43.65),
    (145.7, 43.45),
    (145.85, 43.3),
    (146.0, 42.5),
    (150.0, 40.0),
    (160.0, 35.0),
    (160.0, 20.0),
    (135.0, 19.0),
    (122.5, 19.0),
]


def points_in_polygon(lon_deg: np.ndarray, lat_deg: np.ndarray, poly: list[tuple[float, float]]) -> np.ndarray:
    """Even-odd rule point-in-polygon test (vectorised over points)."""
    inside = np.zeros(lon_deg.shape, dtype=bool)
    n = len(poly)
    for k in range(n):
        x1, y1 = poly[k]
        x2, y2 = poly[(k + 1) % n]
        crosses = (y1 > lat_deg) != (y2 > lat_deg)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x1 + (lat_deg - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (lon_deg < x_at)
    return inside


def unit_vectors(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def coast_cells(mask: np.ndarray) -> np.ndarray:
    """Cells of ``mask`` with at least one 4-neighbour outside it."""
    m = mask
    edge = np.zeros_like(m)
    edge[1:, :] |= m[1:, :] & ~m[:-1, :]
    edge[:-1, :] |= m[:-1, :] & ~m[1:, :]
    edge[:, 1:] |= m[:, 1:] & ~m[:, :-1]
    edge[:, :-1] |= m[:, :-1] & ~m[:, 1:]
    return edge


def build() -> dict[str, np.ndarray]:
    from global_land_mask import globe  # build-time only
    from scipy.spatial import cKDTree

    n_lat = round((LAT1_DEG - LAT0_DEG) / STEP_DEG)
    n_lon = round((LON1_DEG - LON0_DEG) / STEP_DEG)
    lat_c = LAT0_DEG + (np.arange(n_lat) + 0.5) * STEP_DEG
    lon_c = LON0_DEG + (np.arange(n_lon) + 0.5) * STEP_DEG

    # land if any 30" GLOBE sample inside the cell is land
    print(f"sampling GLOBE land mask on {n_lat} x {n_lon} cells ({SUB}x{SUB} samples each)...")
    land = np.zeros((n_lat, n_lon), dtype=bool)
    for a in range(SUB):
        lat_s = LAT0_DEG + (np.arange(n_lat) + (a + 0.5) / SUB) * STEP_DEG
        for b in range(SUB):
            lon_s = LON0_DEG + (np.arange(n_lon) + (b + 0.5) / SUB) * STEP_DEG
            lat_g, lon_g = np.meshgrid(lat_s, lon_s, indexing="ij")
            land |= globe.is_land(lat_g, np.where(lon_g >= 180.0, lon_g - 360.0, lon_g))

    lat_g, lon_g = np.meshgrid(lat_c, lon_c, indexing="ij")
    kr_poly = points_in_polygon(lon_g, lat_g, KR_POLYGON)
    jp_poly = points_in_polygon(lon_g, lat_g, JP_POLYGON) & ~kr_poly
    kr_land = land & kr_poly
    jp_land = land & jp_poly
    other_land = land & ~kr_land & ~jp_land

    print("computing the 200 nmi zone with equidistance to other land...")
    jp_coast = coast_cells(jp_land)
    other_coast = coast_cells(other_land)
    tree_jp = cKDTree(unit_vectors(lat_g[jp_coast], lon_g[jp_coast]))
    tree_other = cKDTree(unit_vectors(lat_g[other_coast], lon_g[other_coast]))
    eez_rad = EEZ_NMI * NMI_M / R_EARTH_M
    chord_max = 2.0 * math.sin(eez_rad / 2.0)
    water = ~land
    idx = np.flatnonzero(water.ravel())
    pts = unit_vectors(lat_g.ravel()[idx], lon_g.ravel()[idx])
    d_jp, _ = tree_jp.query(pts, distance_upper_bound=chord_max, workers=2)
    near = np.isfinite(d_jp)
    d_other, _ = tree_other.query(pts[near], workers=2)
    keep = np.zeros(idx.shape, dtype=bool)
    keep[np.flatnonzero(near)] = d_jp[near] <= d_other
    eez = np.zeros(land.size, dtype=bool)
    eez[idx[keep]] = True
    eez = eez.reshape(land.shape)

    flags = (
        land.astype(np.uint8) * LAND
        | jp_land.astype(np.uint8) * JP_LAND
        | kr_land.astype(np.uint8) * KR_LAND
        | eez.astype(np.uint8) * JP_EEZ
    )
    print(f"land cells {land.sum()}, JP land {jp_land.sum()}, KR land {kr_land.sum()}, JP EEZ {eez.sum()}")
    return {
        "flags": flags,
        "lat0_deg": np.float64(LAT0_DEG),
        "lon0_deg": np.float64(LON0_DEG),
        "step_deg": np.float64(STEP_DEG),
        "bits": np.array(["LAND", "JP_LAND", "KR_LAND", "JP_EEZ"]),
        "source": np.array(
            "NOAA NGDC GLOBE 30-arc-second land/sea mask as packaged by global-land-mask 1.0.0 (MIT); "
            "nation polygons and MDL hand-drawn for triwarn (approximate); JP EEZ = 200 nmi buffer clipped "
            "at equidistance to other land (approximation, not the legal boundary). See docs/map-data.md."
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data = build()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **data)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
