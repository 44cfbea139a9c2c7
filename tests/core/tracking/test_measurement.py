"""The measurement models: radar against pymap3d, both models' Jacobians against finite differences."""

from __future__ import annotations

import math

import numpy as np
import pymap3d
import pytest
from filter_cases import MM, SITE, radar_row_at_site, state_at
from hypothesis import given, settings
from hypothesis import strategies as st

from triwarn.core.tracking import layout, measurement


@settings(max_examples=60, deadline=None)
@given(
    lat=st.floats(30.0, 45.0),
    lon=st.floats(120.0, 140.0),
    h=st.floats(1e3, 1.5e6),
)
def test_radar_model_matches_pymap3d_and_its_jacobian_finite_differences(lat: float, lon: float, h: float) -> None:
    sp = radar_row_at_site()
    x = state_at(lat, lon, h)
    z = np.empty(layout.MAX_Z)
    H = np.empty((layout.MAX_Z, layout.NX))
    m = measurement.measure_h(x, sp, z, H)
    assert m == 4
    az, el, rng = pymap3d.ecef2aer(x[0], x[1], x[2], SITE[0], SITE[1], SITE[2], deg=False)
    assert z[2] == pytest.approx(rng, abs=1 * MM)
    assert z[1] == pytest.approx(el, abs=1e-9)
    if math.cos(el) > 1e-3:
        assert math.remainder(z[0] - az, 2 * math.pi) == pytest.approx(0.0, abs=1e-9)
    # range rate: projection of the velocity on the line of sight
    site = sp[1:4]
    los = (x[:3] - site) / np.linalg.norm(x[:3] - site)
    assert z[3] == pytest.approx(float(los @ x[3:6]), abs=1e-9)
    # Jacobian by central differences (1 m, 1 mm/s)
    steps = np.array([1.0, 1.0, 1.0, 1e-3, 1e-3, 1e-3, 1e-6, 1e-6, 1e-6, 1e-6])
    zp = np.empty(layout.MAX_Z)
    zm = np.empty(layout.MAX_Z)
    Hd = np.empty((layout.MAX_Z, layout.NX))
    for j in range(layout.NX):
        xp = x.copy()
        xm = x.copy()
        xp[j] += steps[j]
        xm[j] -= steps[j]
        measurement.measure_h(xp, sp, zp, Hd)
        measurement.measure_h(xm, sp, zm, Hd)
        d = (zp - zm) / (2 * steps[j])
        d[0] = math.remainder(zp[0] - zm[0], 2 * math.pi) / (2 * steps[j])
        # rounding of z itself bounds what a difference can resolve: a few ulps of |z| over the 2-step span
        # (range ~1e6 m over 2 m: ~1e-10 absolute, more than 1e-5 relative of a small line-of-sight component)
        rounding = 8 * np.finfo(float).eps * np.maximum(np.abs(zp[:4]), np.abs(zm[:4])) / (2 * steps[j])
        np.testing.assert_array_less(np.abs(H[:4, j] - d[:4]), 1e-5 * np.abs(d[:4]) + rounding + 1e-12)


def test_ir_model_angles_and_jacobian() -> None:
    sat = np.array([42_164_172.0 * math.cos(math.radians(100.0)), 42_164_172.0 * math.sin(math.radians(100.0)), 0.0])
    sp = measurement.ir_row(sat, 20e-6)
    X, Y, Z = sp[11:14], sp[14:17], sp[17:20]
    # an orthonormal right-handed frame with X to nadir
    np.testing.assert_allclose(np.array([X, Y, Z]) @ np.array([X, Y, Z]).T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(np.cross(X, Y), Z, atol=1e-12)
    np.testing.assert_allclose(X, -sat / np.linalg.norm(sat), atol=1e-12)
    x = state_at(39.0, 127.0, 80e3)
    z = np.empty(layout.MAX_Z)
    H = np.empty((layout.MAX_Z, layout.NX))
    assert measurement.measure_h(x, sp, z, H) == 2
    u = (x[:3] - sat) / np.linalg.norm(x[:3] - sat)
    assert z[0] == pytest.approx(math.atan2(u @ Y, u @ X), abs=1e-12)
    assert z[1] == pytest.approx(math.asin(u @ Z), abs=1e-12)
    zp, zm, Hd = np.empty(layout.MAX_Z), np.empty(layout.MAX_Z), np.empty((layout.MAX_Z, layout.NX))
    for j in range(3):
        xp, xm = x.copy(), x.copy()
        xp[j] += 10.0
        xm[j] -= 10.0
        measurement.measure_h(xp, sp, zp, Hd)
        measurement.measure_h(xm, sp, zm, Hd)
        np.testing.assert_allclose(H[:2, j], (zp[:2] - zm[:2]) / 20.0, rtol=1e-5, atol=1e-16)
    assert np.all(H[:2, 3:] == 0.0)
