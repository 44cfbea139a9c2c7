"""The EKF/IMM kernels: measurement models against pymap3d and finite differences, the motion model against
an independent integrator (scipy), and filter consistency (NEES) over Monte Carlo runs."""

from __future__ import annotations

import math

import numpy as np
import pymap3d
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.stats import chi2

from triwarn.core.tracking import kalman
from triwarn.core.trajectory.constants import GM_M3_S2, J2, OMEGA_E_RAD_S, RE_J2_M
from triwarn.core.trajectory.frames import geodetic_to_ecef

MM = 1e-3
SITE = (math.radians(35.97), math.radians(128.15), 400.0)


def _radar_row(rr: bool = True, sig=(1e-3, 1e-3, 10.0, 1.0)) -> np.ndarray:
    site = np.array(geodetic_to_ecef(*SITE))
    return kalman.radar_row(site, SITE[0], SITE[1], sig[0], sig[1], sig[2], sig[3] if rr else 0.0)


def _state(lat_deg: float, lon_deg: float, h_m: float, v=(1000.0, -2000.0, 500.0)) -> np.ndarray:
    x = np.zeros(kalman.NX)
    x[:3] = geodetic_to_ecef(math.radians(lat_deg), math.radians(lon_deg), h_m)
    x[3:6] = v
    x[6] = math.log(5000.0)
    return x


@settings(max_examples=60, deadline=None)
@given(
    lat=st.floats(30.0, 45.0),
    lon=st.floats(120.0, 140.0),
    h=st.floats(1e3, 1.5e6),
)
def test_radar_model_matches_pymap3d_and_its_jacobian_finite_differences(lat: float, lon: float, h: float) -> None:
    sp = _radar_row()
    x = _state(lat, lon, h)
    z = np.empty(kalman.MAX_Z)
    H = np.empty((kalman.MAX_Z, kalman.NX))
    m = kalman.measure_h(x, sp, z, H)
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
    zp = np.empty(kalman.MAX_Z)
    zm = np.empty(kalman.MAX_Z)
    Hd = np.empty((kalman.MAX_Z, kalman.NX))
    for j in range(kalman.NX):
        xp = x.copy()
        xm = x.copy()
        xp[j] += steps[j]
        xm[j] -= steps[j]
        kalman.measure_h(xp, sp, zp, Hd)
        kalman.measure_h(xm, sp, zm, Hd)
        d = (zp - zm) / (2 * steps[j])
        d[0] = math.remainder(zp[0] - zm[0], 2 * math.pi) / (2 * steps[j])
        # rounding of z itself bounds what a difference can resolve: a few ulps of |z| over the 2-step span
        # (range ~1e6 m over 2 m: ~1e-10 absolute, more than 1e-5 relative of a small line-of-sight component)
        rounding = 8 * np.finfo(float).eps * np.maximum(np.abs(zp[:4]), np.abs(zm[:4])) / (2 * steps[j])
        np.testing.assert_array_less(np.abs(H[:4, j] - d[:4]), 1e-5 * np.abs(d[:4]) + rounding + 1e-12)


def test_ir_model_angles_and_jacobian() -> None:
    sat = np.array([42_164_172.0 * math.cos(math.radians(100.0)), 42_164_172.0 * math.sin(math.radians(100.0)), 0.0])
    sp = kalman.ir_row(sat, 20e-6)
    X, Y, Z = sp[11:14], sp[14:17], sp[17:20]
    # an orthonormal right-handed frame with X to nadir
    np.testing.assert_allclose(np.array([X, Y, Z]) @ np.array([X, Y, Z]).T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(np.cross(X, Y), Z, atol=1e-12)
    np.testing.assert_allclose(X, -sat / np.linalg.norm(sat), atol=1e-12)
    x = _state(39.0, 127.0, 80e3)
    z = np.empty(kalman.MAX_Z)
    H = np.empty((kalman.MAX_Z, kalman.NX))
    assert kalman.measure_h(x, sp, z, H) == 2
    u = (x[:3] - sat) / np.linalg.norm(x[:3] - sat)
    assert z[0] == pytest.approx(math.atan2(u @ Y, u @ X), abs=1e-12)
    assert z[1] == pytest.approx(math.asin(u @ Z), abs=1e-12)
    zp, zm, Hd = np.empty(kalman.MAX_Z), np.empty(kalman.MAX_Z), np.empty((kalman.MAX_Z, kalman.NX))
    for j in range(3):
        xp, xm = x.copy(), x.copy()
        xp[j] += 10.0
        xm[j] -= 10.0
        kalman.measure_h(xp, sp, zp, Hd)
        kalman.measure_h(xm, sp, zm, Hd)
        np.testing.assert_allclose(H[:2, j], (zp[:2] - zm[:2]) / 20.0, rtol=1e-5, atol=1e-16)
    assert np.all(H[:2, 3:] == 0.0)


def _scipy_rhs(beta: float, atm: np.ndarray, thrust: np.ndarray):
    """An independent right-hand side: gravity with J2 written here from Vallado (4th ed.) eq. 8-30, rotating
    frame, drag."""

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        r = y[:3]
        v = y[3:]
        rn = np.linalg.norm(r)
        zz = 5 * r[2] ** 2 / rn**2
        g = -GM_M3_S2 * r / rn**3
        k = -1.5 * J2 * GM_M3_S2 * RE_J2_M**2 / rn**5
        g = g + k * np.array([r[0] * (1 - zz), r[1] * (1 - zz), r[2] * (3 - zz)])
        w = np.array([0.0, 0.0, OMEGA_E_RAD_S])
        a = g - 2 * np.cross(w, v) - np.cross(w, np.cross(w, r))
        h = kalman.height_above_ellipsoid_radial(r[0], r[1], r[2])
        rho, _ = kalman.exp_density(h, atm)
        a = a - rho * np.linalg.norm(v) * v / (2 * beta) + thrust
        return np.concatenate([v, a])

    return rhs


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
    x = np.zeros(kalman.NX)
    x[:3] = geodetic_to_ecef(lat, lon, h0_m)
    x[3:6] = pymap3d.enu2uvw(*v_enu, lat, lon, deg=False)
    x[6] = math.log(beta)
    x[7:10] = thrust
    atm = kalman.VALLADO_EXP_ATMOSPHERE
    sol = solve_ivp(_scipy_rhs(beta, atm, np.array(thrust)), (0.0, dt), x[:6], rtol=1e-11, atol=1e-6)
    P = np.eye(kalman.NX)
    kalman.predict_one(x, P, dt, 0.0, 0.0, 0.0, kalman.model_params(0.5), atm)
    assert np.linalg.norm(x[:3] - sol.y[:3, -1]) < 0.05  # metres
    assert np.linalg.norm(x[3:6] - sol.y[3:, -1]) < 1e-3  # m/s
    np.testing.assert_allclose(P, P.T, atol=1e-9)
    assert np.all(np.linalg.eigvalsh(P) > 0)


def test_dynamics_jacobian_matches_finite_differences_in_the_atmosphere() -> None:
    x = _state(38.0, 130.0, 33e3, v=(1500.0, -2500.0, -1000.0))  # not on a layer boundary
    x[6] = math.log(3000.0)
    x[7:10] = (1.0, 2.0, 3.0)
    params = kalman.model_params()
    atm = kalman.VALLADO_EXP_ATMOSPHERE
    A = np.empty((kalman.NX, kalman.NX))
    kalman.jacobian(x, params, atm, A)
    fp, fm = np.empty(kalman.NX), np.empty(kalman.NX)
    steps = np.array([1.0, 1.0, 1.0, 1e-2, 1e-2, 1e-2, 1e-5, 1e-3, 1e-3, 1e-3])
    for j in range(kalman.NX):
        xp, xm = x.copy(), x.copy()
        xp[j] += steps[j]
        xm[j] -= steps[j]
        kalman.derivative(xp, params, atm, fp)
        kalman.derivative(xm, params, atm, fm)
        num = (fp - fm) / (2 * steps[j])
        # A leaves out J2's gradient (~1e-3 of the point mass gradient, ~3e-9 /s²) and takes ∂h/∂r = r̂
        # (the ellipsoid's slope changes drag's position derivative by ~0.3 %)
        np.testing.assert_allclose(A[:, j], num, rtol=5e-3, atol=2e-8)


def test_exponential_atmosphere_reproduces_its_table_and_stays_near_ussa1976() -> None:
    import ussa1976

    atm = kalman.VALLADO_EXP_ATMOSPHERE
    for h, rho, _ in atm:
        assert kalman.exp_density(h, atm)[0] == pytest.approx(rho, rel=1e-12)
    # against the independent ussa1976 package: within 30 % from 0 to 120 km (the worst, -26 %, near the
    # tropopause where one exponential spans 0-25 km), within 15 % above 25 km where re-entry drag acts
    z = np.arange(0.0, 120e3, 1e3)
    ref = ussa1976.compute(z=z, variables=["rho"])["rho"].values
    model = np.array([kalman.exp_density(h, atm)[0] for h in z])
    rel = model / ref - 1.0
    assert np.abs(rel).max() < 0.30
    assert np.abs(rel[z >= 25e3]).max() < 0.15


def _ballistic_truth(x0: np.ndarray, times: np.ndarray) -> np.ndarray:
    sol = solve_ivp(
        _scipy_rhs(1e9, kalman.VALLADO_EXP_ATMOSPHERE, np.zeros(3)),
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
    sp = _radar_row(rr=False, sig=sig)
    P0 = np.diag([300.0**2] * 3 + [30.0**2] * 3 + [1.0] + [0.0] * 3)
    params, atm = kalman.model_params(), kalman.VALLADO_EXP_ATMOSPHERE
    checkpoints = [10, 20, 30, 40, 50, 60]
    nees = np.zeros((n_runs, len(checkpoints)))
    L0 = np.linalg.cholesky(P0[:7, :7])
    z = np.empty(kalman.MAX_Z)
    H = np.empty((kalman.MAX_Z, kalman.NX))
    for r in range(n_runs):
        x = np.zeros((1, kalman.NX))
        x[0, :6] = x_true0
        x[0, 6] = math.log(5000.0)
        x[0, :7] += L0 @ rng.standard_normal(7)
        P = P0[None].copy()
        t = np.zeros(1)
        live = np.ones(1, np.bool_)
        c = 0
        for k in range(1, n_steps + 1):
            kalman.predict_batch(x, P, t, live, times[k], np.full(1, 1e-6), np.zeros(1), 0.0, params, atm)
            xt = np.zeros(kalman.NX)
            xt[:6] = truth[k]
            kalman.measure_h(xt, sp, z, H)
            zm = z.copy()
            zm[:3] += sig[:3] * rng.standard_normal(3)
            kalman.update_batch(x, P, np.zeros(1, np.int64), zm[None], sp)
            if k in checkpoints:
                e = x[0, :6] - truth[k]
                nees[r, c] = e @ np.linalg.solve(P[0, :6, :6], e)
                c += 1
    lo, hi = chi2.ppf([0.025, 0.975], 6 * n_runs) / n_runs
    anees = nees.mean(axis=0)
    inside = (anees > lo) & (anees < hi)
    assert inside.sum() >= len(checkpoints) - 1, (anees, lo, hi)
    assert lo < anees.mean() < hi


def test_imm_probabilities_follow_the_thrust() -> None:
    """A target under 30 m/s² of thrust drives the boost model's probability up; after burnout it falls."""
    rng = np.random.default_rng(1)
    lat, lon = math.radians(39.0), math.radians(127.0)
    x0 = np.zeros(6)
    x0[:3] = geodetic_to_ecef(lat, lon, 80e3)
    x0[3:] = pymap3d.enu2uvw(800.0, 300.0, 1500.0, lat, lon, deg=False)
    thrust = np.array(pymap3d.enu2uvw(10.0, 5.0, 25.0, lat, lon, deg=False))
    atm = kalman.VALLADO_EXP_ATMOSPHERE
    boost = solve_ivp(_scipy_rhs(1e9, atm, thrust), (0, 40), x0, t_eval=np.arange(41.0), rtol=1e-10, atol=1e-6).y.T
    coast = solve_ivp(_scipy_rhs(1e9, atm, np.zeros(3)), (40, 100), boost[-1], t_eval=np.arange(40.0, 101.0),
                      rtol=1e-10, atol=1e-6).y.T  # fmt: skip
    truth = np.concatenate([boost, coast[1:]])
    sig = np.array([1e-3, 1e-3, 10.0, 0.0])
    sp = _radar_row(rr=False, sig=sig)
    xm = np.zeros((1, 2, kalman.NX))
    Pm = np.zeros((1, 2, kalman.NX, kalman.NX))
    for j in range(2):
        xm[0, j, :6] = truth[0] + np.r_[rng.normal(0, 50, 3), rng.normal(0, 20, 3)]
        xm[0, j, 6] = math.log(5000.0)
        Pm[0, j] = np.diag([100.0**2] * 3 + [50.0**2] * 3 + [1.0] + ([30.0**2] * 3 if j else [0.0] * 3))
    Cm = np.zeros((1, 2, 0, kalman.NX, kalman.MAX_Z))  # no registration bias considered
    mu = np.array([[0.5, 0.5]])
    t = np.zeros(1)
    live = np.ones(1, np.bool_)
    mu_boost = []
    z = np.empty(kalman.MAX_Z)
    H = np.empty((kalman.MAX_Z, kalman.NX))
    for k in range(1, truth.shape[0]):
        kalman.imm_predict_batch(
            xm, Pm, Cm, mu, t, live, float(k), np.array([0.5, 10.0]), np.array([0.0, 4.0]), 1e-5,
            np.array([1 / 2000, 1 / 60]), kalman.model_params(), atm,
        )  # fmt: skip
        xt = np.zeros(kalman.NX)
        xt[:6] = truth[k]
        kalman.measure_h(xt, sp, z, H)
        zm = z.copy()
        zm[:3] += sig[:3] * rng.standard_normal(3)
        nis = kalman.imm_update_batch(xm, Pm, Cm, mu, np.zeros(1, np.int64), zm[None], sp, 0)
        assert np.isfinite(nis[0])
        mu_boost.append(mu[0, 1])
    mu_boost = np.array(mu_boost)
    assert mu_boost[20:40].mean() > 0.9  # thrusting
    assert mu_boost[70:].mean() < 0.1  # coasting
    x = np.empty((1, kalman.NX))
    P = np.empty((1, kalman.NX, kalman.NX))
    kalman.imm_combine(xm, Pm, mu, x, P)
    assert np.linalg.norm(x[0, :3] - truth[-1, :3]) < 100.0


def test_radar_initiation_places_the_point_and_its_covariance() -> None:
    sp = _radar_row(rr=True, sig=(1e-3, 2e-3, 10.0, 1.0))
    xt = _state(38.5, 129.0, 150e3, v=(100.0, 200.0, 300.0))
    z = np.empty(kalman.MAX_Z)
    H = np.empty((kalman.MAX_Z, kalman.NX))
    kalman.measure_h(xt, sp, z, H)
    x, P, C = kalman.init_from_radar(z[None], sp, math.log(5000.0), 3000.0, 1.5, 30.0)
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


def _geo_row(lon_deg: float, sigma: float = 20e-6) -> np.ndarray:
    r = 42_164_172.0
    return kalman.ir_row(
        np.array([r * math.cos(math.radians(lon_deg)), r * math.sin(math.radians(lon_deg)), 0.0]), sigma
    )


def test_two_satellite_lines_of_sight_cross_at_the_target() -> None:
    spa, spb = _geo_row(100.0), _geo_row(150.0)
    targets = [_state(39.0, 125.7, 20e3), _state(40.0, 128.0, 150e3)]
    za = np.empty((2, 2))
    zb = np.empty((2, 2))
    z = np.empty(kalman.MAX_Z)
    H = np.empty((kalman.MAX_Z, kalman.NX))
    for i, x in enumerate(targets):
        kalman.measure_h(x, spa, z, H)
        za[i] = z[:2]
        kalman.measure_h(x, spb, z, H)
        zb[i] = z[:2]
    mid, ok = kalman.los_crossings(za, spa, zb, spb, 0.0, 3.0, 1e6)
    assert ok.tolist() == [[True, False], [False, True]]  # 200 km apart: no ghost pairing
    for i, x in enumerate(targets):
        assert np.linalg.norm(mid[i, i] - x[:3]) < 1 * MM
    # the unit line of sight inverts the angles
    u = np.array(kalman.los_unit(za[0], spa))
    np.testing.assert_allclose(u, (targets[0][:3] - spa[1:4]) / np.linalg.norm(targets[0][:3] - spa[1:4]), atol=1e-12)
    # a line of sight 1 mrad off (37 km at GEO range) misses; one that crosses below the ground is refused
    zoff = za.copy()
    zoff[0, 1] += 1e-3
    assert not kalman.los_crossings(zoff, spa, zb, spb, 0.0, 3.0, 1e6)[1][0, 0]
    under = _state(39.0, 125.7, -50e3)
    kalman.measure_h(under, spa, z, H)
    zu_a = z[:2].copy()
    kalman.measure_h(under, spb, z, H)
    assert not kalman.los_crossings(zu_a[None], spa, z[None, :2], spb, 0.0, 3.0, 1e6)[1][0, 0]


def test_weighted_triangulation_recovers_a_point_within_its_covariance() -> None:
    """Two GEO sensors (100° E, 150° E) see a point over the Korean peninsula; their noisy lines of sight
    are triangulated (weighted closest approach). Over 400 draws the errors are unbiased and their NEES
    (3-D) is χ²₃: mean inside its 95 % band; the 1-σ size is about σ·range (~0.75 km for 20 µrad)."""
    spa, spb = _geo_row(100.0, 20e-6), _geo_row(150.0, 20e-6)
    x = _state(39.0, 126.0, 40e3)
    z = np.empty(kalman.MAX_Z)
    H = np.empty((kalman.MAX_Z, kalman.NX))
    kalman.measure_h(x, spa, z, H)
    za0 = z[:2].copy()
    kalman.measure_h(x, spb, z, H)
    zb0 = z[:2].copy()
    X, P, ok = kalman.triangulate_los(za0, spa, zb0, spb)
    assert ok and np.linalg.norm(X - x[:3]) < 1e-3  # noise-free: exact
    rng = np.random.default_rng(3)
    n = 400
    err = np.empty((n, 3))
    nees = np.empty(n)
    for i in range(n):
        X, P, ok = kalman.triangulate_los(
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
    assert not kalman.triangulate_los(za0, spa, za0, spa)[2]
