"""Infrared lines of sight: crossings of two satellites' lines of sight and their weighted triangulation."""

from __future__ import annotations

import math

import numpy as np
from filter_cases import MM, state_at
from scipy.stats import chi2

from triwarn.core.tracking import layout, measurement, triangulation


def _geo_row(lon_deg: float, sigma: float = 20e-6) -> np.ndarray:
    r = 42_164_172.0
    return measurement.ir_row(
        np.array([r * math.cos(math.radians(lon_deg)), r * math.sin(math.radians(lon_deg)), 0.0]), sigma
    )


def test_two_satellite_lines_of_sight_cross_at_the_target() -> None:
    spa, spb = _geo_row(100.0), _geo_row(150.0)
    targets = [state_at(39.0, 125.7, 20e3), state_at(40.0, 128.0, 150e3)]
    za = np.empty((2, 2))
    zb = np.empty((2, 2))
    z = np.empty(layout.MAX_Z)
    H = np.empty((layout.MAX_Z, layout.NX))
    for i, x in enumerate(targets):
        measurement.measure_h(x, spa, z, H)
        za[i] = z[:2]
        measurement.measure_h(x, spb, z, H)
        zb[i] = z[:2]
    mid, ok = triangulation.los_crossings(za, spa, zb, spb, 0.0, 3.0, 1e6)
    assert ok.tolist() == [[True, False], [False, True]]  # 200 km apart: no ghost pairing
    for i, x in enumerate(targets):
        assert np.linalg.norm(mid[i, i] - x[:3]) < 1 * MM
    # the unit line of sight inverts the angles
    u = np.array(triangulation.los_unit(za[0], spa))
    np.testing.assert_allclose(u, (targets[0][:3] - spa[1:4]) / np.linalg.norm(targets[0][:3] - spa[1:4]), atol=1e-12)
    # a line of sight 1 mrad off (37 km at GEO range) misses; one that crosses below the ground is refused
    zoff = za.copy()
    zoff[0, 1] += 1e-3
    assert not triangulation.los_crossings(zoff, spa, zb, spb, 0.0, 3.0, 1e6)[1][0, 0]
    under = state_at(39.0, 125.7, -50e3)
    measurement.measure_h(under, spa, z, H)
    zu_a = z[:2].copy()
    measurement.measure_h(under, spb, z, H)
    assert not triangulation.los_crossings(zu_a[None], spa, z[None, :2], spb, 0.0, 3.0, 1e6)[1][0, 0]


def test_weighted_triangulation_recovers_a_point_within_its_covariance() -> None:
    """Two GEO sensors (100° E, 150° E) see a point over the Korean peninsula; their noisy lines of sight
    are triangulated (weighted closest approach). Over 400 draws the errors are unbiased and their NEES
    (3-D) is χ²₃: mean inside its 95 % band; the 1-σ size is about σ·range (~0.75 km for 20 µrad)."""
    spa, spb = _geo_row(100.0, 20e-6), _geo_row(150.0, 20e-6)
    x = state_at(39.0, 126.0, 40e3)
    z = np.empty(layout.MAX_Z)
    H = np.empty((layout.MAX_Z, layout.NX))
    measurement.measure_h(x, spa, z, H)
    za0 = z[:2].copy()
    measurement.measure_h(x, spb, z, H)
    zb0 = z[:2].copy()
    X, P, ok = triangulation.triangulate_los(za0, spa, zb0, spb)
    assert ok and np.linalg.norm(X - x[:3]) < 1e-3  # noise-free: exact
    rng = np.random.default_rng(3)
    n = 400
    err = np.empty((n, 3))
    nees = np.empty(n)
    for i in range(n):
        X, P, ok = triangulation.triangulate_los(
            za0 + 20e-6 * rng.standard_normal(2), spa, zb0 + 20e-6 * rng.standard_normal(2), spb
        )
        err[i] = X - x[:3]
        nees[i] = err[i] @ np.linalg.solve(P, err[i])
    lo, hi = chi2.ppf([0.025, 0.975], 3 * n) / n
    assert lo < nees.mean() < hi, (nees.mean(), lo, hi)
    sig = np.sqrt(np.linalg.eigvalsh(P))
    assert sig.min() > 400.0 and sig.max() < 3000.0, sig
    assert np.all(np.abs(err.mean(axis=0)) < 3 * err.std(axis=0) / math.sqrt(n))
    # parallel lines of sight (the same satellite twice) are refused
    assert not triangulation.triangulate_los(za0, spa, za0, spa)[2]
