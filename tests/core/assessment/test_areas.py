"""Area lookups against known places, the Japan MOD's EEZ statements, and an independent sampling oracle."""

from __future__ import annotations

import numpy as np
import pymap3d
import pytest
from pymap3d.vincenty import vreckon

from triwarn.core.assessment.areas import (
    JP_EEZ,
    JP_LAND,
    KR_LAND,
    LAND,
    AreaMap,
    area_flags_batch,
    area_probabilities_batch,
    path_area_flags_batch,
)

NMI = 1852.0
KM = 1000.0


@pytest.fixture(scope="module")
def amap() -> AreaMap:
    return AreaMap.load()


def flag(amap: AreaMap, lat: float, lon: float) -> int:
    return int(amap.flags_at(np.array([lat]), np.array([lon]))[0])


@pytest.mark.parametrize(
    ("name", "lat", "lon", "expected"),
    [
        ("Tokyo", 35.6895, 139.6917, LAND | JP_LAND),
        ("Sapporo", 43.0618, 141.3545, LAND | JP_LAND),
        ("Naha", 26.2124, 127.6809, LAND | JP_LAND),
        ("Tsushima (Izuhara)", 34.2030, 129.2870, LAND | JP_LAND),
        ("Seoul", 37.5665, 126.9780, LAND | KR_LAND),
        ("Busan", 35.1796, 129.0756, LAND | KR_LAND),
        ("Jeju city", 33.4996, 126.5312, LAND | KR_LAND),
        ("Pyongyang", 39.0392, 125.7625, LAND),
        ("Vladivostok", 43.1155, 131.8855, LAND),
        ("Yuzhno-Sakhalinsk", 46.9591, 142.7380, LAND),
        ("Beijing", 39.9042, 116.4074, 0),  # west of the grid
        ("mid-Pacific", 30.0, 170.0, 0),
        ("equator on the date line", 0.0, 180.0, 0),
    ],
)
def test_known_places(amap: AreaMap, name: str, lat: float, lon: float, expected: int) -> None:
    assert flag(amap, lat, lon) == expected, name


def test_eez_150_nmi_west_of_hokkaido(amap: AreaMap) -> None:
    # west of Esashi (SW Hokkaido): within 200 nmi of Japan and nearer to Japan than to Russia or Korea
    lat, lon = vreckon(41.87, 140.12, 150 * NMI, 270.0)
    assert flag(amap, float(lat), float(lon)) == JP_EEZ


def test_eez_ends_at_200_nmi_in_the_open_pacific(amap: AreaMap) -> None:
    # Minamitorishima (24.29 N, 153.98 E) has no neighbour: its zone is a 200 nmi circle, to a cell (~1 nmi)
    inside = [vreckon(24.29, 153.98, d * NMI, az) for d in (100.0, 196.0) for az in (0.0, 90.0, 200.0)]
    outside = [vreckon(24.29, 153.98, d * NMI, az) for d in (204.0, 300.0) for az in (0.0, 90.0, 200.0)]
    assert all(flag(amap, float(a), float(b)) == JP_EEZ for a, b in inside)
    assert all(flag(amap, float(a), float(b)) == 0 for a, b in outside)


@pytest.mark.parametrize(
    ("event", "lat", "lon", "in_eez"),
    [
        # events.md: impact points derived from the published "X km direction of landmark" statements
        ("2017-11-29 Hwasong-15", 40.61, 136.97, True),
        ("2022-11-18 Hwasong-17", 41.49, 136.97, True),
        ("2023-07-12 Hwasong-18", 42.11, 136.44, False),
        ("2017-08-29 Hwasong-12 overflight", 41.05, 157.38, False),
        ("2022-10-04 IRBM overflight", 33.70, 177.25, False),
    ],
)
def test_japan_mod_eez_statements(amap: AreaMap, event: str, lat: float, lon: float, in_eez: bool) -> None:
    f = flag(amap, lat, lon)
    assert bool(f & JP_EEZ) == in_eez, event
    assert not f & LAND


def test_nan_and_out_of_grid_are_zero(amap: AreaMap) -> None:
    lat = np.array([np.nan, 10.0, 60.0, 35.0])
    lon = np.array([139.0, 139.0, 139.0, np.inf])
    assert area_flags_batch(lat, lon, amap.flags, amap.lat0_deg, amap.lon0_deg, amap.step_deg).tolist() == [0] * 4


def test_longitude_wraps(amap: AreaMap) -> None:
    assert flag(amap, 35.6895, 139.6917 - 360.0) == LAND | JP_LAND


def oracle_probabilities(amap: AreaMap, lat: float, lon: float, cov: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Sample the same ellipse, but convert offsets with pymap3d (ENU on the tangent plane -> geodetic)."""
    L = np.linalg.cholesky(cov)
    en = z @ L.T
    la, lo, _ = pymap3d.enu2geodetic(en[:, 0], en[:, 1], 0.0, lat, lon, 0.0)
    f = amap.flags_at(np.asarray(la), np.asarray(lo))
    return np.array([np.mean((f & b) > 0) for b in (LAND, JP_LAND, KR_LAND, JP_EEZ)])


@pytest.mark.parametrize(
    ("lat", "lon", "sig_e_km", "sig_n_km", "rho"),
    [
        (35.3, 139.4, 20.0, 8.0, 0.5),  # Sagami bay: land and sea
        (41.0, 138.5, 60.0, 30.0, -0.3),  # Sea of Japan west of Tsugaru
        (34.6, 129.2, 40.0, 40.0, 0.0),  # Korea Strait: both nations' land
    ],
)
def test_area_probabilities_match_independent_sampling(
    amap: AreaMap, lat: float, lon: float, sig_e_km: float, sig_n_km: float, rho: float
) -> None:
    z = np.random.default_rng(1).standard_normal((4000, 2))
    se, sn = sig_e_km * KM, sig_n_km * KM
    cov = np.array([[se * se, rho * se * sn], [rho * se * sn, sn * sn]])
    p = amap.probabilities(np.array([lat]), np.array([lon]), cov[None], z)[0]
    # the kernel uses radii of curvature, the oracle the tangent plane: they differ by < 0.1% of the offset
    np.testing.assert_allclose(p, oracle_probabilities(amap, lat, lon, cov, z), atol=0.01)
    assert 0.0 < p[1] + p[2] < 1.0 or p[3] > 0.0


def test_tiny_ellipse_is_certain(amap: AreaMap) -> None:
    z = np.random.default_rng(2).standard_normal((500, 2))
    cov = np.diag([100.0**2, 100.0**2])[None]
    p = area_probabilities_batch(
        np.array([35.6895]), np.array([139.6917]), cov, z, amap.flags, amap.lat0_deg, amap.lon0_deg, amap.step_deg
    )
    assert p[0].tolist() == [1.0, 1.0, 0.0, 0.0]


def great_circle(lat1: float, lon1: float, lat2: float, lon2: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    az, dist = pymap3d.vincenty.vdist(lat1, lon1, lat2, lon2)[:2][::-1]
    pts = [vreckon(lat1, lon1, float(dist) * k / (n - 1), float(az)) for k in range(n)]
    return np.array([float(p[0]) for p in pts]), np.array([float(p[1]) % 360.0 for p in pts])


def test_overflight_of_the_2022_10_04_path(amap: AreaMap) -> None:
    # Mupyong-ri to the published impact area: the ground track crosses Aomori (JP land), not the ROK
    lat, lon = great_circle(40.6, 126.4, 33.70, 177.25, 40)
    lat_sea, lon_sea = great_circle(39.22, 125.67, 41.49, 136.97, 40)  # 2022-11-18: stays over the sea
    k = max(lat.size, lat_sea.size)
    path_lat = np.zeros((2, k))
    path_lon = np.zeros((2, k))
    path_lat[0, : lat.size], path_lon[0, : lon.size] = lat, lon
    path_lat[1, : lat_sea.size], path_lon[1, : lon_sea.size] = lat_sea, lon_sea
    # skip the launch point itself (DPRK land) by starting the second path a bit out: use all points
    f = path_area_flags_batch(
        path_lat,
        path_lon,
        np.array([lat.size, lat_sea.size]),
        amap.flags,
        amap.lat0_deg,
        amap.lon0_deg,
        amap.step_deg,
    )
    assert f[0] & JP_LAND and not f[0] & KR_LAND
    assert not f[1] & JP_LAND and not f[1] & KR_LAND and f[1] & JP_EEZ
