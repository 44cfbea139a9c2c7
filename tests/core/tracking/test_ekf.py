"""The EKF: consistency (NEES) over Monte Carlo runs, and single-point radar initiation."""

from __future__ import annotations

import math

import numpy as np
import pymap3d
import pytest
from filter_cases import MM, radar_row_at_site, scipy_rhs, state_at
from scipy.integrate import solve_ivp
from scipy.stats import chi2

from triwarn.core.tracking import ekf, layout, measurement, motion
from triwarn.core.trajectory.frames import geodetic_to_ecef


def _ballistic_truth(x0: np.ndarray, times: np.ndarray) -> np.ndarray:
    sol = solve_ivp(
        scipy_rhs(1e9, motion.VALLADO_EXP_ATMOSPHERE, np.zeros(3)),
        (times[0], times[-1]), x0, t_eval=times, rtol=1e-11, atol=1e-6,
    )  # fmt: skip
    return sol.y.T


def test_ekf_nees_is_within_the_95_percent_band_over_monte_carlo_runs() -> None:
    """Bar-Shalom, Li & Kirubarajan (2001) §5.4.2: with N runs, N·ANEES ~ χ²(6N) for a consistent filter."""
    rng = np.random.default_rng(42)
    n_runs, n_steps = 60, 60
    lat, lon = math.radians(39.5), math.radians(131.0)
    x_true0 = np.zeros(6)
    x_true0[:3] = geodetic_to_ecef(lat, lon, 250e3)
    x_true0[3:] = pymap3d.enu2uvw(2000.0, 500.0, 1000.0, lat, lon, deg=False)
    times = np.arange(n_steps + 1, dtype=float)
    truth = _ballistic_truth(x_true0, times)
    sig = np.array([1e-3, 1e-3, 20.0, 0.0])
    sp = radar_row_at_site(rr=False, sig=sig)
    P0 = np.diag([300.0**2] * 3 + [30.0**2] * 3 + [1.0] + [0.0] * 3)
    params, atm = motion.model_params(), motion.VALLADO_EXP_ATMOSPHERE
    checkpoints = [10, 20, 30, 40, 50, 60]
    nees = np.zeros((n_runs, len(checkpoints)))
    L0 = np.linalg.cholesky(P0[:7, :7])
    z = np.empty(layout.MAX_Z)
    H = np.empty((layout.MAX_Z, layout.NX))
    for r in range(n_runs):
        x = np.zeros((1, layout.NX))
        x[0, :6] = x_true0
        x[0, 6] = math.log(5000.0)
        x[0, :7] += L0 @ rng.standard_normal(7)
        P = P0[None].copy()
        t = np.zeros(1)
        live = np.ones(1, np.bool_)
        c = 0
        for k in range(1, n_steps + 1):
            motion.predict_batch(x, P, t, live, times[k], np.full(1, 1e-6), np.zeros(1), 0.0, params, atm)
            xt = np.zeros(layout.NX)
            xt[:6] = truth[k]
            measurement.measure_h(xt, sp, z, H)
            zm = z.copy()
            zm[:3] += sig[:3] * rng.standard_normal(3)
            ekf.update_batch(x, P, np.zeros(1, np.int64), zm[None], sp)
            if k in checkpoints:
                e = x[0, :6] - truth[k]
                nees[r, c] = e @ np.linalg.solve(P[0, :6, :6], e)
                c += 1
    lo, hi = chi2.ppf([0.025, 0.975], 6 * n_runs) / n_runs
    anees = nees.mean(axis=0)
    inside = (anees > lo) & (anees < hi)
    assert inside.sum() >= len(checkpoints) - 1, (anees, lo, hi)
    assert lo < anees.mean() < hi


def test_radar_initiation_places_the_point_and_its_covariance() -> None:
    sp = radar_row_at_site(rr=True, sig=(1e-3, 2e-3, 10.0, 1.0))
    xt = state_at(38.5, 129.0, 150e3, v=(100.0, 200.0, 300.0))
    z = np.empty(layout.MAX_Z)
    H = np.empty((layout.MAX_Z, layout.NX))
    measurement.measure_h(xt, sp, z, H)
    x, P, C = ekf.init_from_radar(z[None], sp, math.log(5000.0), 3000.0, 1.5, 30.0)
    assert not C.any()  # no bias in this radar's row
    assert np.linalg.norm(x[0, :3] - xt[:3]) < 1 * MM
    # position covariance equals G R Gᵀ: mapped back through H it returns R
    Hp = H[:3, :3]
    np.testing.assert_allclose(Hp @ P[0, :3, :3] @ Hp.T, np.diag([1e-6, 4e-6, 100.0]), rtol=1e-6, atol=1e-15)
    # the range rate is carried along the line of sight
    los = (xt[:3] - sp[1:4]) / np.linalg.norm(xt[:3] - sp[1:4])
    assert float(los @ x[0, 3:6]) == pytest.approx(z[3], abs=1e-9)
    assert float(los @ P[0, 3:6, 3:6] @ los) == pytest.approx(1.0, rel=1e-9)
    assert P[0, 6, 6] == pytest.approx(1.5**2)
