"""The IMM across flight phases: model probabilities follow the thrust."""

from __future__ import annotations

import math

import numpy as np
import pymap3d
from filter_cases import radar_row_at_site, scipy_rhs
from scipy.integrate import solve_ivp

from triwarn.core.tracking import imm, layout, measurement, motion
from triwarn.core.trajectory.frames import geodetic_to_ecef


def test_imm_probabilities_follow_the_thrust() -> None:
    """A target under 30 m/s² of thrust drives the boost model's probability up; after burnout it falls."""
    rng = np.random.default_rng(1)
    lat, lon = math.radians(39.0), math.radians(127.0)
    x0 = np.zeros(6)
    x0[:3] = geodetic_to_ecef(lat, lon, 80e3)
    x0[3:] = pymap3d.enu2uvw(800.0, 300.0, 1500.0, lat, lon, deg=False)
    thrust = np.array(pymap3d.enu2uvw(10.0, 5.0, 25.0, lat, lon, deg=False))
    atm = motion.VALLADO_EXP_ATMOSPHERE
    boost = solve_ivp(scipy_rhs(1e9, atm, thrust), (0, 40), x0, t_eval=np.arange(41.0), rtol=1e-10, atol=1e-6).y.T
    coast = solve_ivp(scipy_rhs(1e9, atm, np.zeros(3)), (40, 100), boost[-1], t_eval=np.arange(40.0, 101.0),
                      rtol=1e-10, atol=1e-6).y.T  # fmt: skip
    truth = np.concatenate([boost, coast[1:]])
    sig = np.array([1e-3, 1e-3, 10.0, 0.0])
    sp = radar_row_at_site(rr=False, sig=sig)
    xm = np.zeros((1, 2, layout.NX))
    Pm = np.zeros((1, 2, layout.NX, layout.NX))
    for j in range(2):
        xm[0, j, :6] = truth[0] + np.r_[rng.normal(0, 50, 3), rng.normal(0, 20, 3)]
        xm[0, j, 6] = math.log(5000.0)
        Pm[0, j] = np.diag([100.0**2] * 3 + [50.0**2] * 3 + [1.0] + ([30.0**2] * 3 if j else [0.0] * 3))
    Cm = np.zeros((1, 2, 0, layout.NX, layout.MAX_Z))  # no registration bias considered
    mu = np.array([[0.5, 0.5]])
    t = np.zeros(1)
    live = np.ones(1, np.bool_)
    mu_boost = []
    z = np.empty(layout.MAX_Z)
    H = np.empty((layout.MAX_Z, layout.NX))
    for k in range(1, truth.shape[0]):
        imm.imm_predict_batch(
            xm, Pm, Cm, mu, t, live, float(k), np.array([0.5, 10.0]), np.array([0.0, 4.0]), 1e-5,
            np.array([1 / 2000, 1 / 60]), motion.model_params(), atm,
        )  # fmt: skip
        xt = np.zeros(layout.NX)
        xt[:6] = truth[k]
        measurement.measure_h(xt, sp, z, H)
        zm = z.copy()
        zm[:3] += sig[:3] * rng.standard_normal(3)
        nis = imm.imm_update_batch(xm, Pm, Cm, mu, np.zeros(1, np.int64), zm[None], sp, 0)
        assert np.isfinite(nis[0])
        mu_boost.append(mu[0, 1])
    mu_boost = np.array(mu_boost)
    assert mu_boost[20:40].mean() > 0.9  # thrusting
    assert mu_boost[70:].mean() < 0.1  # coasting
    x = np.empty((1, layout.NX))
    P = np.empty((1, layout.NX, layout.NX))
    imm.imm_combine(xm, Pm, mu, x, P)
    assert np.linalg.norm(x[0, :3] - truth[-1, :3]) < 100.0
