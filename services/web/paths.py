"""Predicted paths for display: where a system track goes from its fused state if it flies ballistically.

For the map and the altitude profile only (the warning's impact point and ellipse are the fusion service's,
from the picture). Drag-free flight in the rotating ECEF frame under central gravity with J2, integrated by
RK4 for all tracks at once (struct of arrays, ``(n, 3)``), each track with its own step: 1/``steps`` of its
predicted time to impact (or of ``horizon_s`` without one), so a short-range and an intercontinental flight
both get about ``steps`` points, until every path has reached the ground.
"""

from __future__ import annotations

import numpy as np

from triwarn.core.trajectory.constants import A_M, OMEGA_E_RAD_S, F
from triwarn.core.trajectory.frames import ecef_to_geodetic_batch

MU_M3_S2 = 3.986004418e14  # Earth's gravitational parameter GM (WGS-84 / EGM96), m³/s²
J2 = 1.08262668e-3  # Earth's second zonal harmonic (WGS-84)


def gravity_ecef(pos_m: np.ndarray) -> np.ndarray:
    """(n, 3) gravitational acceleration (m/s²: central term plus J2) at (n, 3) ECEF positions (m)."""
    x, y, z = pos_m[:, 0], pos_m[:, 1], pos_m[:, 2]
    r2 = np.einsum("ij,ij->i", pos_m, pos_m)
    r = np.sqrt(r2)
    k = -MU_M3_S2 / (r2 * r)
    j = 1.5 * J2 * (A_M * A_M / r2)
    zz = 5.0 * z * z / r2
    return np.column_stack(
        [k * x * (1.0 + j * (1.0 - zz)), k * y * (1.0 + j * (1.0 - zz)), k * z * (1.0 + j * (3.0 - zz))]
    )


def _accel(pos_m: np.ndarray, vel_m_s: np.ndarray) -> np.ndarray:
    """Acceleration in the rotating ECEF frame: gravity, Coriolis and centrifugal terms (ω along +z)."""
    w = OMEGA_E_RAD_S
    a = gravity_ecef(pos_m)
    a[:, 0] += 2.0 * w * vel_m_s[:, 1] + w * w * pos_m[:, 0]
    a[:, 1] += -2.0 * w * vel_m_s[:, 0] + w * w * pos_m[:, 1]
    return a


def rk4_step(r_m: np.ndarray, v_m_s: np.ndarray, dt_s: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """One RK4 step of drag-free flight in ECEF: (n, 3) positions (m) and velocities (m/s) after ``dt_s``
    (seconds; a scalar or (n, 1))."""
    r, v, dt = r_m, v_m_s, dt_s
    a1 = _accel(r, v)
    r2, v2 = r + 0.5 * dt * v, v + 0.5 * dt * a1
    a2 = _accel(r2, v2)
    r3, v3 = r + 0.5 * dt * v2, v + 0.5 * dt * a2
    a3 = _accel(r3, v3)
    r4, v4 = r + dt * v3, v + dt * a3
    a4 = _accel(r4, v4)
    return r + dt / 6.0 * (v + 2.0 * v2 + 2.0 * v3 + v4), v + dt / 6.0 * (a1 + 2.0 * a2 + 2.0 * a3 + a4)


def predict_paths(
    state_ecef: np.ndarray, time_to_go_s: np.ndarray, steps: int = 60, horizon_s: float = 1800.0
) -> list[np.ndarray]:
    """Ballistic paths from ``state_ecef`` ((n, 6): ECEF position m, velocity m/s).

    ``time_to_go_s``: (n,) predicted time to impact (s), NaN where unknown (``horizon_s`` is used); the step
    is ``time_to_go / steps``, and the integration goes on (up to ``4 * steps`` steps) until every path is on
    the ground, so a prediction that is short still gives a path to the ground. Returns one ``(k, 3)`` array
    per track of geodetic latitude (deg), longitude (deg east) and height (m), from the state to the first
    point at or below the ground (its height clipped to 0)."""
    n = state_ecef.shape[0]
    if n == 0:
        return []
    tgo = np.where(np.isfinite(time_to_go_s) & (time_to_go_s > 0.0), time_to_go_s, horizon_s)
    dt = np.clip(tgo / steps, 0.5, 120.0)[:, None]
    r = np.ascontiguousarray(state_ecef[:, :3], dtype=np.float64)
    v = np.ascontiguousarray(state_ecef[:, 3:6], dtype=np.float64)
    out = [r]
    for _ in range(4 * steps):
        r, v = rk4_step(r, v, dt)
        out.append(r)
        # below the ellipsoid (its geocentric radius to first order in the flattening): every path has landed
        sin2_lat = (r[:, 2] / np.linalg.norm(r, axis=1)) ** 2
        if np.all(np.linalg.norm(r, axis=1) < A_M * (1.0 - F * sin2_lat)):
            break
    k = len(out)
    lla = ecef_to_geodetic_batch(np.ascontiguousarray(np.stack(out).reshape(-1, 3))).reshape(k, n, 3)
    paths = []
    for i in range(n):
        h = lla[:, i, 2]
        below = np.flatnonzero(h[1:] <= 0.0)
        end = int(below[0]) + 2 if below.size else k
        p = np.column_stack([np.degrees(lla[:end, i, 0]), np.degrees(lla[:end, i, 1]), np.maximum(h[:end], 0.0)])
        paths.append(p)
    return paths
