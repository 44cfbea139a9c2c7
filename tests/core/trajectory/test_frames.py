"""Frames and geodesy against closed forms, round trips and pymap3d (an independent pure-Python oracle)."""

from __future__ import annotations

import math
import re

import numpy as np
import pymap3d
import pytest
from geographiclib.geodesic import Geodesic
from hypothesis import given, settings
from hypothesis import strategies as st
from pymap3d.vincenty import vdist, vreckon

from triwarn.core.trajectory.constants import A_M, B_M, E2, OMEGA_E_RAD_S, SECONDS_PER_DAY
from triwarn.core.trajectory.frames import (
    GeodeticPoint,
    aer_to_ecef,
    aer_to_ecef_batch,
    aer_to_enu,
    aer_to_enu_batch,
    earth_rotation_angle,
    ecef_to_aer,
    ecef_to_aer_batch,
    ecef_to_eci,
    ecef_to_eci_batch,
    ecef_to_enu,
    ecef_to_enu_batch,
    ecef_to_geodetic,
    ecef_to_geodetic_batch,
    ecef_vec_to_enu,
    eci_to_ecef,
    eci_to_ecef_batch,
    enu_to_aer,
    enu_to_aer_batch,
    enu_to_ecef,
    enu_to_ecef_batch,
    enu_vec_to_ecef,
    geodesic_direct,
    geodesic_direct_batch,
    geodesic_inverse,
    geodesic_inverse_batch,
    geodesic_inverse_bisection,
    geodetic_to_ecef,
    geodetic_to_ecef_batch,
    height_along_radius_m,
)

MM = 1e-3
ARCSEC = math.pi / (180.0 * 3600.0)
GEOD = Geodesic.WGS84

lats = st.floats(-math.pi / 2, math.pi / 2)
lons = st.floats(-math.pi, math.pi)
heights = st.floats(-1_000.0, 40_000_000.0)


def _wgs84() -> pymap3d.Ellipsoid:
    return pymap3d.Ellipsoid.from_name("wgs84")


def test_constants_match_nima_tr8350_2() -> None:
    """b and e² as NIMA TR8350.2 table 3.1 derives them from a and 1/f; a and b as pymap3d has them."""
    assert pytest.approx(6356752.314245, abs=1e-6) == B_M
    assert pytest.approx(6.69437999014e-3, rel=1e-11) == E2
    ell = _wgs84()
    assert ell.semimajor_axis == A_M
    assert pytest.approx(ell.semiminor_axis, abs=1e-6) == B_M


def test_geodetic_to_ecef_closed_form_points() -> None:
    # equator / prime meridian, north pole, equator at 90° E: values that follow from a and b alone
    assert geodetic_to_ecef(0.0, 0.0, 0.0) == pytest.approx((A_M, 0.0, 0.0), abs=1e-9)
    assert geodetic_to_ecef(math.pi / 2, 0.0, 100.0) == pytest.approx((0.0, 0.0, B_M + 100.0), abs=1e-6)
    assert geodetic_to_ecef(0.0, math.pi / 2, -50.0) == pytest.approx((0.0, A_M - 50.0, 0.0), abs=1e-6)


@settings(max_examples=300, deadline=None)
@given(lats, lons, heights)
def test_geodetic_ecef_round_trip_within_1mm(lat: float, lon: float, h: float) -> None:
    x, y, z = geodetic_to_ecef(lat, lon, h)
    lat2, lon2, h2 = ecef_to_geodetic(x, y, z)
    assert abs(h2 - h) < 1 * MM
    x2, y2, z2 = geodetic_to_ecef(lat2, lon2, h2)
    assert math.dist((x, y, z), (x2, y2, z2)) < 1 * MM
    # latitude error expressed as a distance along the meridian (at least the polar radius of curvature)
    assert abs(lat2 - lat) * (B_M + h) < 1 * MM


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-60_000_000.0, 60_000_000.0),
    st.floats(-60_000_000.0, 60_000_000.0),
    st.floats(-60_000_000.0, 60_000_000.0),
)
def test_ecef_geodetic_round_trip_anywhere(x: float, y: float, z: float) -> None:
    r = math.sqrt(x * x + y * y + z * z)
    if r < B_M - 1_000.0 or r > A_M + 50_000_000.0:
        return  # inside the Earth deeper than 1 km or beyond 50 000 km: outside the stated domain
    lat, lon, h = ecef_to_geodetic(x, y, z)
    assert math.dist((x, y, z), geodetic_to_ecef(lat, lon, h)) < 1 * MM


def test_ecef_to_geodetic_at_poles_and_axes() -> None:
    for h in (-1_000.0, 0.0, 10_000.0, 50_000_000.0):
        lat, _, h2 = ecef_to_geodetic(0.0, 0.0, B_M + h)
        assert lat == pytest.approx(math.pi / 2, abs=1e-15) and h2 == pytest.approx(h, abs=1 * MM)
        lat, _, h2 = ecef_to_geodetic(0.0, 0.0, -(B_M + h))
        assert lat == pytest.approx(-math.pi / 2, abs=1e-15) and h2 == pytest.approx(h, abs=1 * MM)
        lat, lon, h2 = ecef_to_geodetic(0.0, -(A_M + h), 0.0)
        assert lat == 0.0 and lon == pytest.approx(-math.pi / 2) and h2 == pytest.approx(h, abs=1 * MM)


def test_geodetic_against_pymap3d() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    lla = np.column_stack(
        [rng.uniform(-math.pi / 2, math.pi / 2, n), rng.uniform(-math.pi, math.pi, n), rng.uniform(-1e3, 4e7, n)]
    )
    lla[::4, 2] = rng.uniform(-1e3, 1e5, n // 4)
    ours = geodetic_to_ecef_batch(lla)
    x, y, z = pymap3d.geodetic2ecef(lla[:, 0], lla[:, 1], lla[:, 2], _wgs84(), deg=False)
    assert np.max(np.abs(ours - np.column_stack([x, y, z]))) < 1e-6
    back = ecef_to_geodetic_batch(ours)
    lat_p, lon_p, h_p = pymap3d.ecef2geodetic(ours[:, 0], ours[:, 1], ours[:, 2], _wgs84(), deg=False)
    assert np.max(np.abs(back[:, 2] - h_p)) < 1 * MM
    # pymap3d's closed form loses latitude accuracy far above the surface (5 m at 10 000 km, where our
    # round trip is exact to 1e-16 rad), so its latitude is the oracle only up to 100 km.
    low = lla[:, 2] < 100_000.0
    assert np.count_nonzero(low) > 0
    assert np.max(np.abs(back[low, 0] - lat_p[low]) * (B_M + lla[low, 2])) < 1 * MM
    assert np.max(np.abs(back[:, 0] - lla[:, 0])) < 1e-14
    assert np.max(np.abs(np.angle(np.exp(1j * (back[:, 1] - lon_p))))) < 1e-4 * ARCSEC


def test_enu_and_aer_against_pymap3d() -> None:
    rng = np.random.default_rng(4)
    lat0, lon0, h0 = math.radians(35.68), math.radians(139.77), 40.0  # a site near Tokyo
    n = 1000
    lla = np.column_stack(
        [
            lat0 + rng.uniform(-0.3, 0.3, n),
            lon0 + rng.uniform(-0.3, 0.3, n),
            rng.uniform(0.0, 2e6, n),
        ]
    )
    pos = geodetic_to_ecef_batch(lla)
    enu = ecef_to_enu_batch(pos, lat0, lon0, h0)
    e, nn, u = pymap3d.ecef2enu(pos[:, 0], pos[:, 1], pos[:, 2], lat0, lon0, h0, _wgs84(), deg=False)
    assert np.max(np.abs(enu - np.column_stack([e, nn, u]))) < 1 * MM
    aer = ecef_to_aer_batch(pos, lat0, lon0, h0)
    az, el, rng_m = pymap3d.ecef2aer(pos[:, 0], pos[:, 1], pos[:, 2], lat0, lon0, h0, _wgs84(), deg=False)
    assert np.max(np.abs(np.angle(np.exp(1j * (aer[:, 0] - az))))) < 1e-3 * ARCSEC
    assert np.max(np.abs(aer[:, 1] - el)) < 1e-3 * ARCSEC
    assert np.max(np.abs(aer[:, 2] - rng_m)) < 1 * MM
    assert np.all((aer[:, 0] >= 0.0) & (aer[:, 0] < 2 * math.pi))
    np.testing.assert_allclose(enu_to_aer_batch(enu), aer, atol=1e-9, rtol=0)
    # scalar forms agree with the batch forms, and the inverses close the loop
    for i in range(0, n, 97):
        assert ecef_to_aer(pos[i, 0], pos[i, 1], pos[i, 2], lat0, lon0, h0) == pytest.approx(tuple(aer[i]), abs=1e-9)
        assert ecef_to_enu(pos[i, 0], pos[i, 1], pos[i, 2], lat0, lon0, h0) == pytest.approx(tuple(enu[i]), abs=1e-9)
        assert math.dist(enu_to_ecef(*enu[i], lat0, lon0, h0), pos[i]) < 1 * MM
        assert math.dist(aer_to_ecef(*aer[i], lat0, lon0, h0), pos[i]) < 1 * MM
        assert math.dist(aer_to_enu(*aer[i]), enu[i]) < 1 * MM
        assert enu_to_aer(*enu[i]) == pytest.approx(tuple(aer[i]), abs=1e-12)
    assert np.max(np.abs(enu_to_ecef_batch(enu, lat0, lon0, h0) - pos)) < 1 * MM
    assert np.max(np.abs(aer_to_ecef_batch(aer, lat0, lon0, h0) - pos)) < 1 * MM
    assert np.max(np.abs(aer_to_enu_batch(aer) - enu)) < 1 * MM


def test_aer_against_pymap3d_geodetic2aer() -> None:
    # a target 1000 km up over Pyongyang, seen from a site near Busan
    lat0, lon0, h0 = math.radians(35.18), math.radians(129.08), 100.0
    tgt = geodetic_to_ecef(math.radians(39.02), math.radians(125.75), 1_000_000.0)
    az, el, r = pymap3d.geodetic2aer(39.02, 125.75, 1_000_000.0, 35.18, 129.08, 100.0, _wgs84())
    ours = ecef_to_aer(*tgt, lat0, lon0, h0)
    assert math.degrees(ours[0]) == pytest.approx(az, abs=1e-9)
    assert math.degrees(ours[1]) == pytest.approx(el, abs=1e-9)
    assert ours[2] == pytest.approx(r, abs=1 * MM)


@settings(max_examples=100, deadline=None)
@given(lats, lons, st.floats(-1e4, 1e4), st.floats(-1e4, 1e4), st.floats(-1e4, 1e4))
def test_enu_vector_rotation_is_orthonormal(lat: float, lon: float, vx: float, vy: float, vz: float) -> None:
    e, n, u = ecef_vec_to_enu(vx, vy, vz, lat, lon)
    assert math.hypot(e, n, u) == pytest.approx(math.hypot(vx, vy, vz), abs=1e-9)
    assert enu_vec_to_ecef(e, n, u, lat, lon) == pytest.approx((vx, vy, vz), abs=1e-9)
    ev, nv, uv = pymap3d.ecef2enuv(vx, vy, vz, lat, lon, deg=False)
    assert (e, n, u) == pytest.approx((ev, nv, uv), abs=1e-9)


def test_up_is_ellipsoid_normal_and_zenith_elevation() -> None:
    lat0, lon0 = math.radians(-33.0), math.radians(151.0)
    x, y, z = geodetic_to_ecef(lat0, lon0, 500_000.0)
    _, el, r = ecef_to_aer(x, y, z, lat0, lon0, 0.0)
    assert el == pytest.approx(math.pi / 2, abs=1e-12) and r == pytest.approx(500_000.0, abs=1 * MM)


def test_earth_rotation_angle_matches_sofa_era00() -> None:
    # SOFA iauEra00 test case: UT1 = 2400000.5 + 54388.0 (JD) -> 0.4022837240028158102 rad
    t = (2400000.5 + 54388.0 - 2451545.0) * SECONDS_PER_DAY
    assert earth_rotation_angle(t) == pytest.approx(0.4022837240028158102, abs=1e-11)  # 0.06 mm at the surface
    # at J2000.0 itself, 0.7790572732640 revolutions
    assert earth_rotation_angle(0.0) == pytest.approx(2 * math.pi * 0.7790572732640, abs=1e-15)
    # one sidereal rotation later the angle is back (rate 1.00273781191135448 rev/day)
    sidereal_day_s = SECONDS_PER_DAY / 1.00273781191135448
    assert earth_rotation_angle(1e8 + sidereal_day_s) == pytest.approx(earth_rotation_angle(1e8), abs=1e-10)


@settings(max_examples=100, deadline=None)
@given(
    st.floats(-4e7, 4e7),
    st.floats(-4e7, 4e7),
    st.floats(-4e7, 4e7),
    st.floats(-8e3, 8e3),
    st.floats(-8e3, 8e3),
    st.floats(-8e3, 8e3),
    st.floats(0.0, 2 * math.pi),
)
def test_ecef_eci_round_trip(x: float, y: float, z: float, vx: float, vy: float, vz: float, th: float) -> None:
    eci = ecef_to_eci(x, y, z, vx, vy, vz, th, OMEGA_E_RAD_S)
    back = eci_to_ecef(*eci, th, OMEGA_E_RAD_S)
    assert math.dist(back[:3], (x, y, z)) < 1 * MM
    assert math.dist(back[3:], (vx, vy, vz)) < 1e-6
    assert math.hypot(*eci[:3]) == pytest.approx(math.hypot(x, y, z), abs=1 * MM)


def test_eci_velocity_is_the_derivative_of_eci_position() -> None:
    # a point at rest on the equator moves at ω a eastward in ECI
    eci = ecef_to_eci(A_M, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, OMEGA_E_RAD_S)
    assert eci[3:] == pytest.approx((0.0, OMEGA_E_RAD_S * A_M, 0.0), abs=1e-12)
    # an ECEF state moving in a straight line: central difference of r_eci(t) equals v_eci
    r0 = np.array([3.1e6, -4.2e6, 3.9e6])
    v0 = np.array([1500.0, 2500.0, -700.0])
    t0, dt = 1234.5, 1e-2

    def r_eci(t: float) -> np.ndarray:
        r = r0 + v0 * (t - t0)
        th = 0.3 + OMEGA_E_RAD_S * t
        return np.array(ecef_to_eci(*r, *v0, th, OMEGA_E_RAD_S)[:3])

    fd = (r_eci(t0 + dt) - r_eci(t0 - dt)) / (2 * dt)
    v_eci = np.array(ecef_to_eci(*r0, *v0, 0.3 + OMEGA_E_RAD_S * t0, OMEGA_E_RAD_S)[3:])
    assert np.max(np.abs(fd - v_eci)) < 1e-5


def test_eci_batch_matches_scalar_and_pymap3d_rotation() -> None:
    rng = np.random.default_rng(11)
    pos = rng.normal(size=(50, 3)) * 7e6
    vel = rng.normal(size=(50, 3)) * 5e3
    th = rng.uniform(0, 2 * math.pi, 50)
    p_eci, v_eci = ecef_to_eci_batch(pos, vel, th, OMEGA_E_RAD_S)
    p_back, v_back = eci_to_ecef_batch(p_eci, v_eci, th, OMEGA_E_RAD_S)
    assert np.max(np.abs(p_back - pos)) < 1 * MM and np.max(np.abs(v_back - vel)) < 1e-6
    for i in range(50):
        assert ecef_to_eci(*pos[i], *vel[i], th[i], OMEGA_E_RAD_S) == pytest.approx((*p_eci[i], *v_eci[i]), rel=1e-15)
    # the position rotation is pymap3d's R3(θ) transposed (pymap3d.eci.R3 is the ECI->ECEF rotation)
    from pymap3d.eci import R3

    for i in range(5):
        assert np.max(np.abs(R3(th[i]).T @ pos[i] - p_eci[i])) < 1 * MM


# --- geodesics: against GeographicLib (Karney 2013, accurate to 15 nm) and pymap3d's Vincenty ---


def _angle_diff_rad(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray | float:
    return np.abs(np.angle(np.exp(1j * (np.asarray(a) - np.asarray(b)))))


def test_geodesic_inverse_against_geographiclib_incl_nearly_antipodal() -> None:
    rng = np.random.default_rng(5)
    n = 1500
    lat1 = rng.uniform(-90, 90, n)
    lon1 = rng.uniform(-180, 180, n)
    lat2 = rng.uniform(-90, 90, n)
    lon2 = rng.uniform(-180, 180, n)
    # every third pair nearly antipodal, where Vincenty's iteration fails and the bisection takes over
    k = slice(0, n, 3)
    lat2[k] = np.clip(-lat1[k] + rng.normal(0, 0.3, lat1[k].size), -90, 90)
    lon2[k] = lon1[k] + 180 + rng.normal(0, 0.3, lat1[k].size)
    out = geodesic_inverse_batch(*(np.radians(v) for v in (lat1, lon1, lat2, lon2)))
    for i in range(n):
        r = GEOD.Inverse(lat1[i], lon1[i], lat2[i], lon2[i])
        assert abs(out[i, 0] - r["s12"]) < 1 * MM
        assert _angle_diff_rad(out[i, 1], math.radians(r["azi1"])) < 0.01 * ARCSEC
        assert _angle_diff_rad(out[i, 2], math.radians(r["azi2"])) < 0.01 * ARCSEC
        assert 0.0 <= out[i, 1] < 2 * math.pi and 0.0 <= out[i, 2] < 2 * math.pi


def test_bisection_fallback_agrees_with_vincenty_where_both_work() -> None:
    rng = np.random.default_rng(6)
    for _ in range(300):
        p = (rng.uniform(-1.5, 1.5), rng.uniform(-3, 3), rng.uniform(-1.5, 1.5), rng.uniform(-3, 3))
        s, a1, a2 = geodesic_inverse(*p)
        sb, b1, b2 = geodesic_inverse_bisection(*p)
        assert abs(s - sb) < 1 * MM
        assert _angle_diff_rad(a1, b1) < 0.01 * ARCSEC and _angle_diff_rad(a2, b2) < 0.01 * ARCSEC


@pytest.mark.parametrize(
    "pts",
    [
        (0.0, 0.0, 0.0, 180.0),  # exactly antipodal on the equator (via a pole)
        (0.0, 0.0, 0.0, 179.5),  # equatorial, nearly antipodal: the geodesic leaves the equator
        (0.0, 0.0, 0.0, -179.7),
        (90.0, 0.0, -90.0, 0.0),  # pole to pole
        (90.0, 0.0, 0.0, 10.0),
        (-90.0, 0.0, 10.0, 20.0),
        (30.0, 0.0, -30.0, 180.0),
        (30.0, 0.0, -29.9, 179.8),
        (0.0, 0.0, 0.0, 90.0),
        (89.999, 0.0, -89.999, 180.0),
    ],
)
def test_geodesic_inverse_edge_cases(pts: tuple[float, float, float, float]) -> None:
    r = GEOD.Inverse(*pts)
    s, a1, a2 = geodesic_inverse(*(math.radians(v) for v in pts))
    assert s == pytest.approx(r["s12"], abs=1 * MM)
    if abs(pts[0]) < 90.0:  # azimuth from a pole is a convention
        assert _angle_diff_rad(a1, math.radians(r["azi1"])) < 0.01 * ARCSEC
        assert _angle_diff_rad(a2, math.radians(r["azi2"])) < 0.01 * ARCSEC


def test_geodesic_coincident_points() -> None:
    assert geodesic_inverse(0.3, 1.2, 0.3, 1.2) == (0.0, 0.0, 0.0)


def test_geodesic_direct_against_geographiclib_incl_poles() -> None:
    rng = np.random.default_rng(8)
    n = 1500
    lat1 = rng.uniform(-90, 90, n)
    lat1[::10] = rng.choice([-90.0, 90.0], lat1[::10].size)
    lon1 = rng.uniform(-180, 180, n)
    az1 = rng.uniform(0, 360, n)
    s = rng.uniform(0, 2.5e7, n)
    out = geodesic_direct_batch(np.radians(lat1), np.radians(lon1), np.radians(az1), s)
    for i in range(n):
        r = GEOD.Direct(lat1[i], lon1[i], az1[i], s[i])
        lat_ref, lon_ref = math.radians(r["lat2"]), math.radians(r["lon2"])
        # compare positions in ECEF on the surface, to be fair at the poles
        d = math.dist(geodetic_to_ecef(out[i, 0], out[i, 1], 0.0), geodetic_to_ecef(lat_ref, lon_ref, 0.0))
        assert d < 1 * MM
        assert -math.pi < out[i, 1] <= math.pi
        if abs(r["lat2"]) < 89.9:
            assert _angle_diff_rad(out[i, 2], math.radians(r["azi2"])) < 0.01 * ARCSEC


def test_geodesics_against_pymap3d_vincenty() -> None:
    rng = np.random.default_rng(9)
    n = 500
    lat1, lon1 = rng.uniform(-80, 80, n), rng.uniform(-180, 180, n)
    lat2, lon2 = rng.uniform(-80, 80, n), rng.uniform(-180, 180, n)
    keep = np.hypot(lat1 + lat2, ((lon1 - lon2) % 360) - 180) > 5.0  # pymap3d degrades near antipodes
    lat1, lon1, lat2, lon2 = lat1[keep], lon1[keep], lat2[keep], lon2[keep]
    dist, az = vdist(lat1, lon1, lat2, lon2)
    out = geodesic_inverse_batch(*(np.radians(v) for v in (lat1, lon1, lat2, lon2)))
    assert np.max(np.abs(out[:, 0] - dist)) < 1 * MM
    assert np.max(_angle_diff_rad(out[:, 1], np.radians(az))) < 0.01 * ARCSEC
    s = rng.uniform(0, 1.5e7, lat1.size)
    la2, lo2 = vreckon(lat1, lon1, s, np.degrees(out[:, 1]))
    direct = geodesic_direct_batch(np.radians(lat1), np.radians(lon1), out[:, 1], s)
    assert np.max(np.abs(direct[:, 0] - np.radians(la2)) * B_M) < 1 * MM
    assert np.max(_angle_diff_rad(direct[:, 1], np.radians(lo2)) * A_M) < 1 * MM


@settings(max_examples=200, deadline=None)
@given(lats, lons, st.floats(0.0, 2 * math.pi), st.floats(0.0, 1.99e7))
def test_geodesic_direct_inverse_round_trip(lat: float, lon: float, az: float, s: float) -> None:
    lat2, lon2, _ = geodesic_direct(lat, lon, az, s)
    s2, _, _ = geodesic_inverse(lat, lon, lat2, lon2)
    # the inverse gives the SHORTEST geodesic: never longer than s, equal while s is below ~half a meridian
    assert s2 <= s + 1 * MM
    if s < 1.9e7:
        assert s2 == pytest.approx(s, abs=1 * MM)


def test_geodetic_point_layer() -> None:
    pyongyang = GeodeticPoint(39.02, 125.75)
    tokyo = GeodeticPoint(35.68, 139.77, 40.0)
    s, az1, az2 = pyongyang.geodesic_to(tokyo)
    r = GEOD.Inverse(39.02, 125.75, 35.68, 139.77)
    assert s == pytest.approx(r["s12"], abs=1 * MM)
    assert az1 == pytest.approx(r["azi1"] % 360, abs=1e-9) and az2 == pytest.approx(r["azi2"] % 360, abs=1e-9)
    end = pyongyang.travel(az1, s)
    assert end.lat_deg == pytest.approx(35.68, abs=1e-9) and end.lon_deg == pytest.approx(139.77, abs=1e-9)
    back = GeodeticPoint.from_ecef_m(*tokyo.to_ecef_m())
    assert back.h_m == pytest.approx(40.0, abs=1 * MM) and back.lat_deg == pytest.approx(35.68, abs=1e-12)
    az, el, rng_m = tokyo.aer_to(GeodeticPoint(39.02, 125.75, 500_000.0))
    ref = pymap3d.geodetic2aer(39.02, 125.75, 500_000.0, 35.68, 139.77, 40.0)
    assert (az, el) == pytest.approx(ref[:2], abs=1e-9) and rng_m == pytest.approx(ref[2], abs=1 * MM)


@pytest.mark.parametrize(
    ("args", "limit"),
    [
        ((91.0, 0.0), "[-90, 90]"),
        ((float("nan"), 0.0), "finite"),
        ((0.0, 400.0), "[-360, 360]"),
        ((0.0, 0.0, -2e4), "height"),
        ((0.0, float("inf")), "finite"),
    ],
)
def test_geodetic_point_rejects_bad_input(args: tuple[float, ...], limit: str) -> None:
    with pytest.raises(ValueError, match=re.escape(limit)):
        GeodeticPoint(*args)
    with pytest.raises(ValueError, match="distance"):
        GeodeticPoint(0.0, 0.0).travel(10.0, -1.0)


def test_kernels_return_nan_not_hang_on_nan_input() -> None:
    nan = math.nan
    assert all(math.isnan(v) for v in ecef_to_geodetic(nan, 1.0, 2.0)[::2])
    assert math.isnan(geodesic_inverse(nan, 0.0, 0.5, 0.5)[0])
    assert math.isnan(geodesic_direct(0.1, 0.2, 0.3, nan)[0])


@settings(max_examples=200, deadline=None)
@given(lat=st.floats(-90.0, 90.0), lon=st.floats(-180.0, 180.0), h=st.floats(-1e3, 1e6))
def test_height_along_radius_is_close_to_the_geodetic_height(lat: float, lon: float, h: float) -> None:
    # pymap3d gives the point at geodetic height h; the radial height differs by the ray's tilt to the normal
    x, y, z = pymap3d.geodetic2ecef(lat, lon, h)
    radial = height_along_radius_m(x, y, z, A_M, B_M)
    assert abs(radial - h) <= (1.0 if h <= 120e3 else 20.0)
    # on the ellipsoid itself both are zero; at the poles and the equator the ray is the normal
    assert height_along_radius_m(A_M + h, 0.0, 0.0, A_M, B_M) == pytest.approx(h, abs=1e-6)
    assert height_along_radius_m(0.0, 0.0, -(B_M + h), A_M, B_M) == pytest.approx(h, abs=1e-6)
