"""Areas a warning talks about: land of Japan and of the ROK, Japan's EEZ (approximation), on a lat/lon grid.

The grid is the bundled ``data/areas_nw_pacific.npz`` (built by ``tools/build_coastline.py``; sources, licences
and approximations in ``docs/map-data.md``): one ``uint8`` of bit flags per one-arc-minute cell (~1.85 km),
17-50° N, 118-180° E. Outside the grid every flag is 0 (open sea, no area).

Bits: :data:`LAND` (any land), :data:`JP_LAND`, :data:`KR_LAND`, :data:`JP_EEZ` (water within 200 nmi of
Japan's coast and nearer to it than to other land: an approximation of the real EEZ, which is delimited by
agreed or claimed median lines).

Kernels (numba; degrees at this edge because the grid is in degrees):

- ``area_flags_batch(lat_deg (n,), lon_deg (n,), flags, lat0_deg, lon0_deg, step_deg) -> (n,) uint8``
- ``area_probabilities_batch(lat_deg (n,), lon_deg (n,), cov_en_m2 (n,2,2), z (m,2), flags, ...) -> (n,4)``:
  the probability that an impact with mean (lat, lon) and east-north covariance ``cov_en_m2`` falls in each
  bit's area, by sampling the Gaussian with the fixed standard-normal samples ``z`` (x = mean + L z, L the
  Cholesky factor; offsets to degrees with the WGS-84 meridian and prime-vertical radii of curvature).
- ``path_area_flags_batch(path_lat_deg (n,k), path_lon_deg (n,k), n_points (n,), flags, ...) -> (n,) uint8``:
  the OR of the flags under a ground track (a polyline of ``n_points`` points per row, densified to half a
  cell), for overflight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from triwarn.core.jit import kernel
from triwarn.core.trajectory.constants import A_M, E2

LAND: int = 1
JP_LAND: int = 2
KR_LAND: int = 4
JP_EEZ: int = 8
#: bit -> column of the probability array of :func:`area_probabilities_batch`
AREA_BITS: tuple[int, ...] = (LAND, JP_LAND, KR_LAND, JP_EEZ)

DATA_FILE = Path(__file__).with_name("data") / "areas_nw_pacific.npz"


@kernel
def cell_flag(
    lat_deg: float, lon_deg: float, flags: np.ndarray, lat0_deg: float, lon0_deg: float, step_deg: float
) -> int:
    """Flags of the grid cell holding (lat_deg, lon_deg); 0 outside the grid or for NaN input."""
    if not (math.isfinite(lat_deg) and math.isfinite(lon_deg)):
        return 0
    dlon = (lon_deg - lon0_deg) % 360.0
    i = math.floor((lat_deg - lat0_deg) / step_deg)
    j = math.floor(dlon / step_deg)
    if i < 0 or j < 0 or i >= flags.shape[0] or j >= flags.shape[1]:
        return 0
    return int(flags[i, j])


@kernel
def area_flags_batch(
    lat_deg: np.ndarray,
    lon_deg: np.ndarray,
    flags: np.ndarray,
    lat0_deg: float,
    lon0_deg: float,
    step_deg: float,
) -> np.ndarray:
    """(n,) lat, lon degrees -> (n,) uint8 flags."""
    n = lat_deg.shape[0]
    out = np.zeros(n, dtype=np.uint8)
    for k in range(n):
        out[k] = cell_flag(lat_deg[k], lon_deg[k], flags, lat0_deg, lon0_deg, step_deg)
    return out


@kernel
def en_offset_to_deg(lat_deg: float, e_m: float, n_m: float) -> tuple[float, float]:
    """East/north offsets (m) at latitude lat_deg -> (dlat_deg, dlon_deg), with the WGS-84 radii of curvature
    M = a(1 − e²)/W³ (meridian) and N = a/W (prime vertical), W = √(1 − e² sin²φ). Good to ~0.1% of the
    offset up to a few hundred km."""
    s = math.sin(math.radians(lat_deg))
    w = math.sqrt(1.0 - E2 * s * s)
    m_r = A_M * (1.0 - E2) / (w * w * w)
    n_r = A_M / w
    c = max(math.cos(math.radians(lat_deg)), 1e-9)
    return math.degrees(n_m / m_r), math.degrees(e_m / (n_r * c))


@kernel
def area_probabilities_batch(
    lat_deg: np.ndarray,
    lon_deg: np.ndarray,
    cov_en_m2: np.ndarray,
    z: np.ndarray,
    flags: np.ndarray,
    lat0_deg: float,
    lon0_deg: float,
    step_deg: float,
) -> np.ndarray:
    """Probability per track (n) and area bit (4: LAND, JP_LAND, KR_LAND, JP_EEZ) that the impact falls in it.

    cov_en_m2: (n, 2, 2) covariance of the impact point in local east-north metres. z: (m, 2) standard-normal
    samples (fixed by the caller for repeatable answers). Non-positive-definite covariances are clipped."""
    n = lat_deg.shape[0]
    m = z.shape[0]
    out = np.zeros((n, 4), dtype=np.float64)
    for k in range(n):
        a = max(cov_en_m2[k, 0, 0], 0.0)
        b = cov_en_m2[k, 0, 1]
        c = max(cov_en_m2[k, 1, 1], 0.0)
        l11 = math.sqrt(a)
        l21 = b / l11 if l11 > 0.0 else 0.0
        l22 = math.sqrt(max(c - l21 * l21, 0.0))
        counts = np.zeros(4, dtype=np.int64)
        for s in range(m):
            e = l11 * z[s, 0]
            nn = l21 * z[s, 0] + l22 * z[s, 1]
            dlat, dlon = en_offset_to_deg(lat_deg[k], e, nn)
            f = cell_flag(lat_deg[k] + dlat, lon_deg[k] + dlon, flags, lat0_deg, lon0_deg, step_deg)
            if f & 1:
                counts[0] += 1
            if f & 2:
                counts[1] += 1
            if f & 4:
                counts[2] += 1
            if f & 8:
                counts[3] += 1
        for q in range(4):
            out[k, q] = counts[q] / m if m > 0 else 0.0
    return out


@kernel
def path_area_flags_batch(
    path_lat_deg: np.ndarray,
    path_lon_deg: np.ndarray,
    n_points: np.ndarray,
    flags: np.ndarray,
    lat0_deg: float,
    lon0_deg: float,
    step_deg: float,
) -> np.ndarray:
    """OR of the flags of every cell under each polyline (rows of (n, k) arrays, n_points[i] points used).

    Segments are densified to half a cell in latitude and longitude (interpolation in lat/lon, fine for the
    ~10-100 km spacing of a sampled trajectory); a longitude step across ±180° takes the short way."""
    n = path_lat_deg.shape[0]
    out = np.zeros(n, dtype=np.uint8)
    for k in range(n):
        acc = 0
        npts = n_points[k]
        if npts >= 1:
            acc |= cell_flag(path_lat_deg[k, 0], path_lon_deg[k, 0], flags, lat0_deg, lon0_deg, step_deg)
        for p in range(1, npts):
            la0 = path_lat_deg[k, p - 1]
            lo0 = path_lon_deg[k, p - 1]
            dla = path_lat_deg[k, p] - la0
            dlo = (path_lon_deg[k, p] - lo0 + 540.0) % 360.0 - 180.0
            steps = int(max(abs(dla), abs(dlo)) / (0.5 * step_deg)) + 1
            for s in range(1, steps + 1):
                t = s / steps
                acc |= cell_flag(la0 + t * dla, lo0 + t * dlo, flags, lat0_deg, lon0_deg, step_deg)
        out[k] = acc
    return out


@dataclass(frozen=True)
class AreaMap:
    """The bundled area grid: ``flags[i, j]`` for the cell with centre (lat0 + (i+½)·step, lon0 + (j+½)·step)."""

    flags: np.ndarray  # (n_lat, n_lon) uint8
    lat0_deg: float
    lon0_deg: float
    step_deg: float

    @classmethod
    def load(cls, path: Path | None = None) -> AreaMap:
        with np.load(path or DATA_FILE) as d:
            return cls(
                flags=np.ascontiguousarray(d["flags"], dtype=np.uint8),
                lat0_deg=float(d["lat0_deg"]),
                lon0_deg=float(d["lon0_deg"]),
                step_deg=float(d["step_deg"]),
            )

    def flags_at(self, lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
        """(n,) flags at points given in degrees."""
        la = np.ascontiguousarray(np.atleast_1d(lat_deg), dtype=np.float64)
        lo = np.ascontiguousarray(np.atleast_1d(lon_deg), dtype=np.float64)
        return area_flags_batch(la, lo, self.flags, self.lat0_deg, self.lon0_deg, self.step_deg)

    def probabilities(
        self, lat_deg: np.ndarray, lon_deg: np.ndarray, cov_en_m2: np.ndarray, z: np.ndarray
    ) -> np.ndarray:
        """(n, 4) probabilities per bit of :data:`AREA_BITS` (see :func:`area_probabilities_batch`)."""
        return area_probabilities_batch(
            np.ascontiguousarray(lat_deg, dtype=np.float64),
            np.ascontiguousarray(lon_deg, dtype=np.float64),
            np.ascontiguousarray(cov_en_m2, dtype=np.float64),
            np.ascontiguousarray(z, dtype=np.float64),
            self.flags,
            self.lat0_deg,
            self.lon0_deg,
            self.step_deg,
        )

    def path_flags(self, path_lat_deg: np.ndarray, path_lon_deg: np.ndarray, n_points: np.ndarray) -> np.ndarray:
        """(n,) OR of flags under each ground track (see :func:`path_area_flags_batch`)."""
        return path_area_flags_batch(
            np.ascontiguousarray(path_lat_deg, dtype=np.float64),
            np.ascontiguousarray(path_lon_deg, dtype=np.float64),
            np.ascontiguousarray(n_points, dtype=np.int64),
            self.flags,
            self.lat0_deg,
            self.lon0_deg,
            self.step_deg,
        )
