"""The motion model against an independent integrator (scipy), its Jacobian against finite differences, and
the filter's exponential atmosphere against its table and USSA-1976."""

from __future__ import annotations

import math

import numpy as np
import pymap3d
import pytest
from filter_cases import scipy_rhs, state_at
from scipy.integrate import solve_ivp

from triwarn.core.tracking import layout, motion
from triwarn.core.trajectory.frames import geodetic_to_ecef


@pytest.mark.parametrize(
    ("h0_m", "v_enu", "beta", "thrust", "dt"),
    [
        (300e3, (1500.0, 2500.0, 1500.0), 5000.0, (0.0, 0.0, 0.0), 300.0),  # exo-atmospheric arc
        (60e3, (500.0, 1500.0, -2500.0), 2000.0, (0.0, 0.0, 0.0), 20.0),  # re-entry with drag
        (40e3, (300.0, 800.0, 1200.0), 5000.0, (5.0, 10.0, 20.0), 30.0),  # boosting
    ],
)
def test_prediction_matches_an_independent_integrator(h0_m, v_enu, beta, thrust, dt) -> None:
    lat, lon = math.radians(39.0), math.radians(128.0)
    x = np.zeros(layout.NX)
    x[:3] = geodetic_to_ecef(lat, lon, h0_m)
    x[3:6] = pymap3d.enu2uvw(*v_enu, lat, lon, deg=False)
    x[6] = math.log(beta)
    x[7:10] = thrust
    atm = motion.VALLADO_EXP_ATMOSPHERE
    sol = solve_ivp(scipy_rhs(beta, atm, np.array(thrust)), (0.0, dt), x[:6], rtol=1e-11, atol=1e-6)
    P = np.eye(layout.NX)
    motion.predict_one(x, P, dt, 0.0, 0.0, 0.0, motion.model_params(0.5), atm)
    assert np.linalg.norm(x[:3] - sol.y[:3, -1]) < 0.05  # metres
    assert np.linalg.norm(x[3:6] - sol.y[3:, -1]) < 1e-3  # m/s
    np.testing.assert_allclose(P, P.T, atol=1e-9)
    assert np.all(np.linalg.eigvalsh(P) > 0)


def test_dynamics_jacobian_matches_finite_differences_in_the_atmosphere() -> None:
    x = state_at(38.0, 130.0, 33e3, v=(1500.0, -2500.0, -1000.0))  # not on a layer boundary
    x[6] = math.log(3000.0)
    x[7:10] = (1.0, 2.0, 3.0)
    params = motion.model_params()
    atm = motion.VALLADO_EXP_ATMOSPHERE
    A = np.empty((layout.NX, layout.NX))
    motion.jacobian(x, params, atm, A)
    fp, fm = np.empty(layout.NX), np.empty(layout.NX)
    steps = np.array([1.0, 1.0, 1.0, 1e-2, 1e-2, 1e-2, 1e-5, 1e-3, 1e-3, 1e-3])
    for j in range(layout.NX):
        xp, xm = x.copy(), x.copy()
        xp[j] += steps[j]
        xm[j] -= steps[j]
        motion.derivative(xp, params, atm, fp)
        motion.derivative(xm, params, atm, fm)
        num = (fp - fm) / (2 * steps[j])
        # A leaves out J2's gradient (~1e-3 of the point mass gradient, ~3e-9 /s²) and takes ∂h/∂r = r̂
        # (the ellipsoid's slope changes drag's position derivative by ~0.3 %)
        np.testing.assert_allclose(A[:, j], num, rtol=5e-3, atol=2e-8)


def test_exponential_atmosphere_reproduces_its_table_and_stays_near_ussa1976() -> None:
    import ussa1976

    atm = motion.VALLADO_EXP_ATMOSPHERE
    for h, rho, _ in atm:
        assert motion.exp_density(h, atm)[0] == pytest.approx(rho, rel=1e-12)
    # against the independent ussa1976 package: within 30 % from 0 to 120 km (the worst, -26 %, near the
    # tropopause where one exponential spans 0-25 km), within 15 % above 25 km where re-entry drag acts
    z = np.arange(0.0, 120e3, 1e3)
    ref = ussa1976.compute(z=z, variables=["rho"])["rho"].values
    model = np.array([motion.exp_density(h, atm)[0] for h in z])
    rel = model / ref - 1.0
    assert np.abs(rel).max() < 0.30
    assert np.abs(rel[z >= 25e3]).max() < 0.15
