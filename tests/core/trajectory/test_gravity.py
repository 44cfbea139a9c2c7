"""Point-mass + J2 gravity against the closed form, a finite difference of the potential, and known values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triwarn.core.trajectory.constants import A_M, B_M, GM_M3_S2, J2, OMEGA_E_RAD_S, RE_J2_M
from triwarn.core.trajectory.gravity import (
    accel_j2_ecef_rotating,
    accel_j2_ecef_rotating_batch,
    accel_j2_inertial,
    accel_j2_inertial_batch,
    jacobi_energy,
    potential_j2,
)

MU, RE, W = GM_M3_S2, RE_J2_M, OMEGA_E_RAD_S

coord = st.floats(-5e7, 5e7)


def _closed_form(x: float, y: float, z: float) -> np.ndarray:
    """Vallado (4th ed.) eq. 8-30, written independently:
    −μr/r³ − (3/2)J2 μ Re²/r⁵ [x(1−5z²/r²), y(1−5z²/r²), z(3−5z²/r²)]."""
    r = math.sqrt(x * x + y * y + z * z)
    s = z * z / (r * r)
    pm = -MU / r**3 * np.array([x, y, z])
    j2 = -1.5 * J2 * MU * RE**2 / r**5 * np.array([x * (1 - 5 * s), y * (1 - 5 * s), z * (3 - 5 * s)])
    return pm + j2


def test_surface_gravity_magnitudes() -> None:
    # gravitation alone (no centrifugal term) at the equator and pole: 9.814 and 9.832 m/s² (J2 model; WGS-84
    # normal gravity without the centrifugal part, NIMA TR8350.2 table 3.4: γe = 9.7803253359 = 9.8142 − ω²a)
    ax, _, _ = accel_j2_inertial(A_M, 0.0, 0.0, MU, RE, J2)
    assert -ax == pytest.approx(9.7803253359 + W**2 * A_M, abs=2e-3)
    _, _, az = accel_j2_inertial(0.0, 0.0, B_M, MU, RE, J2)
    assert -az == pytest.approx(9.8321849378, abs=5e-3)
    # the apparent gravity in ECEF at the equator on the surface at rest (adds the centrifugal term)
    ax_rot, _, _ = accel_j2_ecef_rotating(A_M, 0.0, 0.0, 0.0, 0.0, 0.0, MU, RE, J2, W)
    assert -ax_rot == pytest.approx(9.7803253359, abs=2e-3)


@settings(max_examples=200, deadline=None)
@given(coord, coord, coord)
def test_j2_matches_closed_form(x: float, y: float, z: float) -> None:
    if math.sqrt(x * x + y * y + z * z) < 6.3e6:
        return
    ours = np.array(accel_j2_inertial(x, y, z, MU, RE, J2))
    ref = _closed_form(x, y, z)
    assert np.max(np.abs(ours - ref)) < 1e-12 * np.linalg.norm(ref) + 1e-15


@settings(max_examples=100, deadline=None)
@given(coord, coord, coord)
def test_acceleration_is_minus_gradient_of_potential(x: float, y: float, z: float) -> None:
    r = math.sqrt(x * x + y * y + z * z)
    if r < 6.3e6:
        return
    # subtract the point mass analytically so the finite difference sees the J2 term with full precision
    d = 1e-3 * r
    grad = np.empty(3)
    for k in range(3):
        p = [x, y, z]
        m = [x, y, z]
        p[k] += d
        m[k] -= d
        # 4th-order central difference of the J2 part of the potential
        p2 = [x, y, z]
        m2 = [x, y, z]
        p2[k] += 2 * d
        m2[k] -= 2 * d

        def vj2(q: list[float]) -> float:
            return potential_j2(q[0], q[1], q[2], MU, RE, J2) - potential_j2(q[0], q[1], q[2], MU, RE, 0.0)

        grad[k] = (-vj2(p2) + 8 * vj2(p) - 8 * vj2(m) + vj2(m2)) / (12 * d)
    a_j2 = np.array(accel_j2_inertial(x, y, z, MU, RE, J2)) - np.array(accel_j2_inertial(x, y, z, MU, RE, 0.0))
    assert np.max(np.abs(a_j2 + grad)) < 1e-6 * np.linalg.norm(a_j2) + 1e-14
    # point mass part: V = −μ/r exactly
    assert potential_j2(x, y, z, MU, RE, 0.0) == pytest.approx(-MU / r, rel=1e-14)


def test_rotating_frame_terms() -> None:
    x, y, z, vx, vy, vz = 4.0e6, 3.0e6, 3.5e6, 1200.0, -700.0, 3000.0
    g = np.array(accel_j2_inertial(x, y, z, MU, RE, J2))
    w = np.array([0.0, 0.0, W])
    r = np.array([x, y, z])
    v = np.array([vx, vy, vz])
    expected = g - 2 * np.cross(w, v) - np.cross(w, np.cross(w, r))
    ours = accel_j2_ecef_rotating(x, y, z, vx, vy, vz, MU, RE, J2, W)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12)


def test_batch_forms_match_scalar() -> None:
    rng = np.random.default_rng(7)
    pos = rng.normal(size=(64, 3)) * 7e6
    vel = rng.normal(size=(64, 3)) * 3e3
    b1 = accel_j2_inertial_batch(pos, MU, RE, J2)
    b2 = accel_j2_ecef_rotating_batch(pos, vel, MU, RE, J2, W)
    for i in range(64):
        assert tuple(b1[i]) == pytest.approx(accel_j2_inertial(*pos[i], MU, RE, J2), rel=1e-15)
        assert tuple(b2[i]) == pytest.approx(accel_j2_ecef_rotating(*pos[i], *vel[i], MU, RE, J2, W), rel=1e-15)


def test_jacobi_energy_is_conserved_along_a_drag_free_ecef_arc() -> None:
    # classic RK4 with a small step on a 20-minute ballistic arc in ECEF; the Jacobi integral must stay put
    s = np.array([A_M + 300e3, 0.0, 0.0, 1000.0, 6000.0, 2000.0])

    def f(u: np.ndarray) -> np.ndarray:
        a = accel_j2_ecef_rotating(*u, MU, RE, J2, W)
        return np.array([u[3], u[4], u[5], *a])

    e0 = jacobi_energy(*s, MU, RE, J2, W)
    h = 1.0
    for _ in range(1200):
        k1 = f(s)
        k2 = f(s + 0.5 * h * k1)
        k3 = f(s + 0.5 * h * k2)
        k4 = f(s + h * k3)
        s = s + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    e1 = jacobi_energy(*s, MU, RE, J2, W)
    assert abs(e1 - e0) < 1e-6 * abs(e0)
    # the same quantity is not conserved if the rotation term is dropped (guards against a vacuous test)
    assert abs(jacobi_energy(*s, MU, RE, J2, 0.0) - e0) > 1e3
