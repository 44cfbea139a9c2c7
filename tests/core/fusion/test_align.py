"""Ballistic alignment against an independent integrator (SciPy), closed forms and finite differences."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pymap3d
import pytest
from scipy.integrate import solve_ivp

from triwarn.core.fusion.align import (
    GM_M3_S2,
    J2,
    OMEGA_E_RAD_S,
    RE_M,
    BallisticModel,
    _transition,
    accel_ecef,
    drag_context,
    gravity_gradient,
    height_m,
    predict,
    predict_one,
)
from triwarn.core.trajectory.atmosphere import density_kg_m3
from triwarn.core.trajectory.constants import A_M, B_M

MM = 1e-3

# a midcourse state over the Sea of Japan: ~500 km up, 4 km/s
X0 = np.array([-3.40e6, 3.55e6, 4.25e6, 2500.0, 1800.0, -2600.0])


def _rhs(_t: float, y: np.ndarray) -> np.ndarray:
    """Vallado (4th ed.) eq. 8-30 and the rotating-frame terms, written out again independently: point mass
    + J2, Coriolis and centrifugal terms."""
    x, yy, z = y[:3]
    r = np.sqrt(x * x + yy * yy + z * z)
    s = z * z / r**2
    a = -GM_M3_S2 / r**3 * y[:3]
    a += -1.5 * J2 * GM_M3_S2 * RE_M**2 / r**5 * np.array([x * (1 - 5 * s), yy * (1 - 5 * s), z * (3 - 5 * s)])
    w = np.array([0.0, 0.0, OMEGA_E_RAD_S])
    a += -2 * np.cross(w, y[3:]) - np.cross(w, np.cross(w, y[:3]))
    return np.concatenate([y[3:], a])


@pytest.mark.parametrize("dt_s", [0.3, 5.0, -7.0, 60.0, 400.0])
def test_prediction_matches_scipy_dop853(dt_s: float) -> None:
    ref = solve_ivp(_rhs, (0.0, dt_s), X0, method="DOP853", rtol=1e-12, atol=1e-9).y[:, -1]
    x, _ = predict(X0[None], np.eye(6)[None], dt_s)
    np.testing.assert_allclose(x[0, :3], ref[:3], atol=1 * MM)
    np.testing.assert_allclose(x[0, 3:], ref[3:], atol=1e-4 * MM)


def test_gravity_is_not_constant_velocity() -> None:
    # over 10 s the ballistic prediction falls ~half g t² below the straight line (~400-500 m here)
    x, _ = predict(X0[None], np.eye(6)[None], 10.0)
    drop = np.linalg.norm(x[0, :3] - (X0[:3] + 10.0 * X0[3:]))
    assert 300.0 < drop < 600.0


def test_acceleration_and_its_gradient() -> None:
    acc = np.empty(3)
    accel_ecef(X0, GM_M3_S2, RE_M, J2, OMEGA_E_RAD_S, acc)
    np.testing.assert_allclose(acc, _rhs(0.0, X0)[3:], rtol=1e-12)
    G = np.empty((3, 3))
    gravity_gradient(X0[:3].copy(), GM_M3_S2, RE_M, J2, G)
    # central differences of the gravity part (no frame terms: ω = 0)
    num = np.empty((3, 3))
    for m in range(3):
        h = np.zeros(6)
        h[m] = 10.0
        ap, am = np.empty(3), np.empty(3)
        accel_ecef(X0 + h, GM_M3_S2, RE_M, J2, 0.0, ap)
        accel_ecef(X0 - h, GM_M3_S2, RE_M, J2, 0.0, am)
        num[:, m] = (ap - am) / 20.0
    np.testing.assert_allclose(G, num, rtol=1e-7, atol=1e-15)
    np.testing.assert_allclose(G, G.T, rtol=1e-12)  # gradient of a potential is symmetric


def test_covariance_follows_the_jacobian_of_the_prediction() -> None:
    # P(t) = J P Jᵀ with J = ∂x(t)/∂x(0) by central differences of the nonlinear prediction (q = 0)
    dt = 8.0
    J = np.empty((6, 6))
    steps = np.array([1.0, 1.0, 1.0, 0.01, 0.01, 0.01])
    for m in range(6):
        h = np.zeros(6)
        h[m] = steps[m]
        xp, _ = predict((X0 + h)[None], np.eye(6)[None], dt)
        xm, _ = predict((X0 - h)[None], np.eye(6)[None], dt)
        J[:, m] = (xp[0] - xm[0]) / (2 * steps[m])
    P0 = np.diag([100.0, 200.0, 300.0, 1.0, 2.0, 3.0]) ** 2
    _, P = predict(X0[None], P0[None], dt)
    ref = J @ P0 @ J.T
    scale = np.sqrt(np.outer(np.diag(ref), np.diag(ref)))
    assert np.abs(P[0] - ref).max() <= 1e-6 * scale.max()
    assert np.all(np.abs(P[0] - ref) <= 1e-5 * scale)  # each entry, on the scale of its correlation


def test_free_particle_gives_the_closed_form_constant_velocity_model() -> None:
    # with no gravity and no rotation the model is constant velocity: Φ = [[I, Δt I], [0, I]] exactly and
    # Q = q [[Δt³/3, Δt²/2], [Δt²/2, Δt]] (continuous white-noise acceleration)
    free = BallisticModel(gm_m3_s2=0.0, j2=0.0, omega_rad_s=0.0, max_step_s=0.7)
    dt, q = 4.0, 2.5
    P0 = np.diag([10.0, 20.0, 30.0, 1.0, 2.0, 3.0])
    x, P = predict(X0[None], P0[None], dt, q, free)
    F = np.eye(6)
    F[:3, 3:] = dt * np.eye(3)
    Q = q * np.block([[dt**3 / 3 * np.eye(3), dt**2 / 2 * np.eye(3)], [dt**2 / 2 * np.eye(3), dt * np.eye(3)]])
    np.testing.assert_allclose(x[0], F @ X0, rtol=1e-14)
    np.testing.assert_allclose(P[0], F @ P0 @ F.T + Q, rtol=1e-12, atol=1e-12)
    # backwards: the position-velocity term of Q changes sign
    _, Pb = predict(X0[None], np.zeros((1, 6, 6)), -dt, q, free)
    np.testing.assert_allclose(Pb[0, 0, 3], -q * dt**2 / 2, rtol=1e-12)


def test_forward_then_back_returns_and_zero_step_is_identity() -> None:
    x1, _ = predict(X0[None], np.eye(6)[None], 30.0)
    x2, _ = predict(x1, np.eye(6)[None], -30.0)
    np.testing.assert_allclose(x2[0, :3], X0[:3], atol=1 * MM)
    x_out, P_out = np.empty(6), np.empty((6, 6))
    P0 = np.diag(np.arange(1.0, 7.0))
    predict_one(X0, P0, 0.0, 5.0, 0.0, GM_M3_S2, RE_M, J2, OMEGA_E_RAD_S, 1.0, 32, drag_context(), x_out, P_out)
    np.testing.assert_array_equal(x_out, X0)
    np.testing.assert_array_equal(P_out, P0)


# a re-entry state: ~40 km up over the Sea of Japan, 4 km/s downwards and eastwards
_LAT, _LON, _H = 38.0, 134.0, 40e3
X_RV = np.concatenate(
    [
        np.array(pymap3d.geodetic2ecef(_LAT, _LON, _H)),
        np.array(pymap3d.enu2uvw(2500.0, 0.0, -3000.0, _LAT, _LON)),
    ]
)
BETA = 8000.0


def _rhs_drag(_t: float, y: np.ndarray) -> np.ndarray:
    """Gravity as above plus drag with the geodetic height from pymap3d and the USSA-1976 density."""
    out = _rhs(_t, y)
    h = pymap3d.ecef2geodetic(*y[:3])[2]
    v = np.linalg.norm(y[3:])
    out[3:] += -float(density_kg_m3(h)) * v * y[3:] / (2 * BETA)
    return out


def test_height_along_the_radius_is_close_to_the_geodetic_height() -> None:
    for lat, h in ((0.0, 0.0), (38.0, 40e3), (70.0, 110e3), (-45.0, 5e3)):
        p = np.array(pymap3d.geodetic2ecef(lat, 20.0, h))
        assert height_m(p, A_M, B_M) == pytest.approx(h, abs=25.0)


def test_prediction_with_drag_matches_scipy() -> None:
    dt = 4.0
    ref = solve_ivp(_rhs_drag, (0.0, dt), X_RV, method="DOP853", rtol=1e-11, atol=1e-9).y[:, -1]
    no_drag = solve_ivp(_rhs, (0.0, dt), X_RV, method="DOP853", rtol=1e-11, atol=1e-9).y[:, -1]
    x, _ = predict(X_RV[None], np.eye(6)[None], dt, beta_kg_m2=BETA)
    assert np.linalg.norm(ref[3:] - no_drag[3:]) > 20.0  # drag matters here: tens of m/s in 4 s
    np.testing.assert_allclose(x[0, :3], ref[:3], atol=0.5)
    np.testing.assert_allclose(x[0, 3:], ref[3:], atol=0.2)
    # β = 0 means unknown: no drag
    x0, _ = predict(X_RV[None], np.eye(6)[None], dt, beta_kg_m2=0.0)
    np.testing.assert_allclose(x0[0, :3], no_drag[:3], atol=1 * MM)


def test_covariance_with_drag_follows_the_jacobian() -> None:
    dt = 2.0
    J = np.empty((6, 6))
    steps = np.array([5.0, 5.0, 5.0, 0.05, 0.05, 0.05])
    for m in range(6):
        h = np.zeros(6)
        h[m] = steps[m]
        xp, _ = predict((X_RV + h)[None], np.eye(6)[None], dt, beta_kg_m2=BETA)
        xm, _ = predict((X_RV - h)[None], np.eye(6)[None], dt, beta_kg_m2=BETA)
        J[:, m] = (xp[0] - xm[0]) / (2 * steps[m])
    P0 = np.diag([100.0, 100.0, 100.0, 5.0, 5.0, 5.0]) ** 2
    _, P = predict(X_RV[None], P0[None], dt, beta_kg_m2=BETA)
    ref = J @ P0 @ J.T
    scale = np.sqrt(np.outer(np.diag(ref), np.diag(ref)))
    ratio = np.abs(P[0] - ref) / scale
    assert ratio.max() <= 1e-3, (ratio.max(), np.unravel_index(ratio.argmax(), ratio.shape))


def _dense_transition(A: np.ndarray, h: float) -> np.ndarray:
    """I + A h + A² h²/2 + A³ h³/6 with every product of the dense 6x6 sums, in their order (plain Python floats:
    IEEE double arithmetic like the kernel without fastmath)."""
    a = A.tolist()
    a2 = [[sum_in_order(a[i][k] * a[k][j] for k in range(6)) for j in range(6)] for i in range(6)]
    phi = [[0.0] * 6 for _ in range(6)]
    for i in range(6):
        for j in range(6):
            a3 = sum_in_order(a2[i][k] * a[k][j] for k in range(6))
            phi[i][j] = a[i][j] * h + a2[i][j] * h * h / 2.0 + a3 * h * h * h / 6.0
        phi[i][i] += 1.0
    return np.array(phi)


def sum_in_order(terms: Iterable[float]) -> float:
    s = 0.0
    for t in terms:
        s += t
    return s


@pytest.mark.parametrize(("state", "beta"), [(X0, 0.0), (X0, 3000.0), ("rv", 0.0), ("rv", 3000.0)])
@pytest.mark.parametrize("h", [0.37, -1.0])
def test_blockwise_transition_equals_the_dense_products_bit_for_bit(state: object, beta: float, h: float) -> None:
    """Φ is formed from A's blocks (A = [[0, I], [B, C]]), skipping only products with A's exact zeros: the
    result equals the dense sums of I + A h + A² h²/2 + A³ h³/6 bit for bit, with and without drag (full C)."""
    x = X_RV if isinstance(state, str) else np.asarray(state)
    Phi, A, A2, G = np.empty((6, 6)), np.empty((6, 6)), np.empty((6, 6)), np.empty((3, 3))
    _transition(x, h, beta, GM_M3_S2, RE_M, J2, OMEGA_E_RAD_S, drag_context(), Phi, A, A2, G)
    if beta > 0.0 and isinstance(state, str):
        assert np.count_nonzero(A[3:, 3:]) == 9  # drag fills the velocity block
    np.testing.assert_array_equal(Phi, _dense_transition(A, h))
