"""Infrared lines of sight: where two satellites' lines of sight cross, their weighted triangulation, and the
angles a track is predicted at (the infrared model of :func:`.measurement.measure_h`)."""

from __future__ import annotations

import math

import numpy as np

from triwarn.core.jit import kernel
from triwarn.core.tracking.layout import I_BIAS, MAX_Z, NX
from triwarn.core.tracking.measurement import measure_h
from triwarn.core.tracking.motion import height_above_ellipsoid_radial


@kernel
def los_unit(z: np.ndarray, sp: np.ndarray) -> tuple[float, float, float]:
    """Unit line of sight (ECEF) of the angles z = [α, δ] of the infrared sensor ``sp``:
    u = cos δ cos α X + cos δ sin α Y + sin δ Z (the inverse of :func:`measure_h`'s infrared model)."""
    ca = math.cos(z[0])
    sa = math.sin(z[0])
    cd = math.cos(z[1])
    sd = math.sin(z[1])
    return (
        cd * ca * sp[11] + cd * sa * sp[14] + sd * sp[17],
        cd * ca * sp[12] + cd * sa * sp[15] + sd * sp[18],
        cd * ca * sp[13] + cd * sa * sp[16] + sd * sp[19],
    )


@kernel
def los_crossings(
    za: np.ndarray,
    spa: np.ndarray,
    zb: np.ndarray,
    spb: np.ndarray,
    gate_extra_m: float,
    n_sigma: float,
    max_height_m: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Where lines of sight za (ka, 2) of satellite ``spa`` and zb (kb, 2) of ``spb`` cross.

    For the rays pa + s ua and pb + t ub the closest points are s = (b e − d)/(1 − b²), t = (e − b d)/(1 − b²)
    with b = ua·ub, d = ua·(pa − pb), e = ub·(pa − pb). A pair crosses when both are in front of their
    satellites, the miss distance is at most n_sigma (σa s + σb t) + ``gate_extra_m`` (σ the sensors' angle
    noise, sp[7]) and the midpoint's height is in [0, ``max_height_m``]. Returns (midpoints (ka, kb, 3),
    crossing (ka, kb) bool)."""
    ka = za.shape[0]
    kb = zb.shape[0]
    mid = np.zeros((ka, kb, 3))
    ok = np.zeros((ka, kb), np.bool_)
    wx = spa[1] - spb[1]
    wy = spa[2] - spb[2]
    wz = spa[3] - spb[3]
    for i in range(ka):
        ax, ay, az = los_unit(za[i], spa)
        d = ax * wx + ay * wy + az * wz
        for j in range(kb):
            bx, by, bz = los_unit(zb[j], spb)
            b = ax * bx + ay * by + az * bz
            den = 1.0 - b * b
            if den < 1e-8:
                continue
            e = bx * wx + by * wy + bz * wz
            s = (b * e - d) / den
            t = (e - b * d) / den
            if s <= 0.0 or t <= 0.0:
                continue
            c1x = spa[1] + s * ax
            c1y = spa[2] + s * ay
            c1z = spa[3] + s * az
            c2x = spb[1] + t * bx
            c2y = spb[2] + t * by
            c2z = spb[3] + t * bz
            miss = math.sqrt((c1x - c2x) ** 2 + (c1y - c2y) ** 2 + (c1z - c2z) ** 2)
            if miss > n_sigma * (spa[7] * s + spb[7] * t) + gate_extra_m:
                continue
            mx = 0.5 * (c1x + c2x)
            my = 0.5 * (c1y + c2y)
            mz = 0.5 * (c1z + c2z)
            h = height_above_ellipsoid_radial(mx, my, mz)
            if h < 0.0 or h > max_height_m:
                continue
            mid[i, j, 0] = mx
            mid[i, j, 1] = my
            mid[i, j, 2] = mz
            ok[i, j] = True
    return mid, ok


@kernel
def triangulate_los(za: np.ndarray, spa: np.ndarray, zb: np.ndarray, spb: np.ndarray) -> tuple:
    """Weighted closest approach of two lines of sight (angles za, zb (2,) of the infrared sensors ``spa``,
    ``spb``): the point X minimising Σᵢ |(I − uᵢuᵢᵀ)(X − pᵢ)|² / (σᵢ rᵢ)², with pᵢ the satellite, uᵢ its unit
    line of sight, rᵢ the range to X and σᵢ² = σ² + σ_b² the angle noise plus registration bias of the
    sensor (sp[7], sp[I_BIAS]). Normal equations Σᵢ Wᵢ (X − pᵢ) = 0 with Wᵢ = (I − uᵢuᵢᵀ)/(σᵢ rᵢ)²; the
    ranges are those of the unweighted closest points, then refined once. The covariance of X is
    (Σᵢ Wᵢ)⁻¹: small across both lines of sight, largest along the bisector when they cross at a shallow angle.
    Returns (X (3,), P (3, 3), ok); ok is False when the lines are parallel or the point is behind a
    satellite."""
    X = np.zeros(3)
    P = np.zeros((3, 3))
    ua = np.array(los_unit(za, spa))
    ub = np.array(los_unit(zb, spb))
    pa = spa[1:4].copy()
    pb = spb[1:4].copy()
    w = pa - pb
    b = ua @ ub
    den = 1.0 - b * b
    if den < 1e-8:
        return X, P, False
    d = ua @ w
    e = ub @ w
    s = (b * e - d) / den
    t = (e - b * d) / den
    if s <= 0.0 or t <= 0.0:
        return X, P, False
    X[:] = 0.5 * (pa + s * ua + pb + t * ub)
    va = spa[7] * spa[7] + spa[I_BIAS] * spa[I_BIAS]
    vb = spb[7] * spb[7] + spb[I_BIAS] * spb[I_BIAS]
    eye = np.eye(3)
    for _ in range(2):
        ra = math.sqrt(np.sum((X - pa) ** 2))
        rb = math.sqrt(np.sum((X - pb) ** 2))
        Wa = (eye - np.outer(ua, ua)) / (va * ra * ra)
        Wb = (eye - np.outer(ub, ub)) / (vb * rb * rb)
        Wsum = Wa + Wb
        P[:, :] = np.linalg.inv(Wsum)
        X[:] = P @ (Wa @ pa + Wb @ pb)
    return X, P, True


@kernel
def predicted_angles(x: np.ndarray, P: np.ndarray, rows: np.ndarray, sp: np.ndarray) -> tuple:
    """Predicted line-of-sight angles of the tracks ``rows`` (r,) of x (n, 10), P (n, 10, 10) as seen by the
    infrared sensor ``sp`` and their covariances H P Hᵀ (position block: the angles depend on the position
    only; no measurement noise): (z (r, MAX_Z), S (r, MAX_Z, MAX_Z)), the first two components used."""
    r = rows.shape[0]
    z = np.zeros((r, MAX_Z))
    S = np.zeros((r, MAX_Z, MAX_Z))
    H = np.empty((MAX_Z, NX))
    zi = np.empty(MAX_Z)
    for a in range(r):
        i = rows[a]
        m = measure_h(x[i], sp, zi, H)
        for u in range(m):
            z[a, u] = zi[u]
            for v in range(m):
                s = 0.0
                for p in range(3):
                    for q in range(3):
                        s += H[u, p] * P[i, p, q] * H[v, q]
                S[a, u, v] = s
    return z, S
