"""Impact point prediction (IPP) with a 95% error ellipse, by the unscented transform through the trajectory core.

For each track, the fused ECEF state ``x`` (6,) with covariance ``P`` (6, 6) is augmented with the log of the
ballistic coefficient, ``ln β`` with variance ``var_ln_beta`` (a prior per class unless the track measured its
drag), and expanded into 2L + 1 = 15 symmetric sigma points (Julier & Uhlmann 1997, "A new extension of the
Kalman filter to nonlinear systems", with κ: W0 = κ/(L + κ), Wi = 1/(2(L + κ)), points x ± √(L + κ) Sᵢ,
S Sᵀ = P). All points of all tracks fly to the ground in ONE call of the trajectory core's batch propagator
(:func:`triwarn.core.trajectory.propagate.propagate_to_impact`: J2, rotating Earth, USSA-1976 drag), in
parallel across cores. Then per track:

- mean impact point = weighted mean of the impact points (ECEF), put on the ellipsoid (geodetic, h dropped);
- covariance of the impact points in the local east-north plane at the mean (``cov_en_m2``, m²);
- time of impact mean and 1-σ (s after the state's time);
- the 95% ellipse: semi-axes √(χ²₂(0.95) λᵢ) with χ²₂(0.95) = −2 ln 0.05 = 5.9915, λᵢ the eigenvalues of
  ``cov_en_m2``; orientation = azimuth of the major axis, degrees clockwise from north in [0, 180).

A track whose points do not all come down (an orbit or escape, or a failed integration) is not valid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numba
import numpy as np

from triwarn.core.jit import kernel
from triwarn.core.trajectory.frames import (
    ecef_to_enu,
    ecef_to_enu_batch,
    ecef_to_geodetic,
    enu_to_ecef,
    geodesic_direct,
    geodesic_inverse,
    geodetic_to_ecef,
    geodetic_to_ecef_batch,
)
from triwarn.core.trajectory.gravity import accel_j2_ecef_rotating
from triwarn.core.trajectory.propagate import propagate_to_impact

#: χ² quantile, 2 degrees of freedom, 95%: −2 ln(0.05)
CHI2_2DOF_95 = -2.0 * math.log(0.05)
#: augmented dimension (6 state + ln β) and the number of sigma points
L_AUG = 7
N_SIGMA = 2 * L_AUG + 1
#: default κ of the sigma points (κ = 1: positive weights, spread √8 σ)
KAPPA = 1.0


@kernel
def cholesky_lower(A: np.ndarray, L: np.ndarray) -> bool:
    """Cholesky factor L (lower) of the symmetric matrix A (d, d), in place; False if A is not PD.

    A relative jitter of 1e-12 of the trace is added to the diagonal."""
    d = A.shape[0]
    jitter = 0.0
    for i in range(d):
        jitter += abs(A[i, i])
    jitter *= 1e-12
    for i in range(d):
        for j in range(d):
            L[i, j] = 0.0
    for j in range(d):
        s = A[j, j] + jitter
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not (s > 0.0):
            return False
        L[j, j] = math.sqrt(s)
        for i in range(j + 1, d):
            t = 0.5 * (A[i, j] + A[j, i])
            for k in range(j):
                t -= L[i, k] * L[j, k]
            L[i, j] = t / L[j, j]
    return True


@kernel
def sigma_points_batch(
    x: np.ndarray, P: np.ndarray, ln_beta: np.ndarray, var_ln_beta: np.ndarray, kappa: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sigma points of n tracks: states (n·N_SIGMA, 6), β (n·N_SIGMA,) kg/m², and ok (n,) (P positive
    definite). Rows k·N_SIGMA .. (k+1)·N_SIGMA − 1 belong to track k: the mean, then +Sᵢ, then −Sᵢ."""
    n = x.shape[0]
    pts = np.empty((n * N_SIGMA, 6))
    beta = np.empty(n * N_SIGMA)
    ok = np.zeros(n, dtype=np.bool_)
    c = math.sqrt(L_AUG + kappa)
    for k in range(n):
        Lc = np.empty((6, 6))
        Pk = np.empty((6, 6))
        for i in range(6):
            for j in range(6):
                Pk[i, j] = P[k, i, j]
        ok[k] = cholesky_lower(Pk, Lc) and var_ln_beta[k] >= 0.0
        sb = math.sqrt(max(var_ln_beta[k], 0.0))
        base = k * N_SIGMA
        for i in range(6):
            pts[base, i] = x[k, i]
        beta[base] = math.exp(ln_beta[k])
        for a in range(L_AUG):
            for i in range(6):
                d = c * Lc[i, a] if a < 6 else 0.0
                pts[base + 1 + a, i] = x[k, i] + d
                pts[base + 1 + L_AUG + a, i] = x[k, i] - d
            db = c * sb if a == 6 else 0.0
            beta[base + 1 + a] = math.exp(ln_beta[k] + db)
            beta[base + 1 + L_AUG + a] = math.exp(ln_beta[k] - db)
    return pts, beta, ok


@kernel
def impact_stats_batch(
    impact_pos_ecef_m: np.ndarray, impact_t_s: np.ndarray, ok_in: np.ndarray, kappa: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted statistics of the sigma-point impacts of n tracks.

    Returns lat_deg (n,), lon_deg (n,), t_mean_s (n,), t_sigma_s (n,), cov_en_m2 (n, 2, 2), valid (n,)."""
    n = ok_in.shape[0]
    lat_deg = np.full(n, np.nan)
    lon_deg = np.full(n, np.nan)
    t_mean = np.full(n, np.nan)
    t_sig = np.full(n, np.nan)
    cov = np.full((n, 2, 2), np.nan)
    valid = np.zeros(n, dtype=np.bool_)
    w0 = kappa / (L_AUG + kappa)
    wi = 0.5 / (L_AUG + kappa)
    for k in range(n):
        if not ok_in[k]:
            continue
        base = k * N_SIGMA
        good = True
        for s in range(N_SIGMA):
            if not (math.isfinite(impact_t_s[base + s]) and math.isfinite(impact_pos_ecef_m[base + s, 0])):
                good = False
        if not good:
            continue
        mx = 0.0
        my = 0.0
        mz = 0.0
        mt = 0.0
        for s in range(N_SIGMA):
            w = w0 if s == 0 else wi
            mx += w * impact_pos_ecef_m[base + s, 0]
            my += w * impact_pos_ecef_m[base + s, 1]
            mz += w * impact_pos_ecef_m[base + s, 2]
            mt += w * impact_t_s[base + s]
        la, lo, _ = ecef_to_geodetic(mx, my, mz)
        cee = 0.0
        cen = 0.0
        cnn = 0.0
        vt = 0.0
        for s in range(N_SIGMA):
            w = w0 if s == 0 else wi
            e, nn, _ = ecef_to_enu(
                impact_pos_ecef_m[base + s, 0],
                impact_pos_ecef_m[base + s, 1],
                impact_pos_ecef_m[base + s, 2],
                la,
                lo,
                0.0,
            )
            cee += w * e * e
            cen += w * e * nn
            cnn += w * nn * nn
            dt = impact_t_s[base + s] - mt
            vt += w * dt * dt
        lat_deg[k] = math.degrees(la)
        lon_deg[k] = math.degrees(lo)
        t_mean[k] = mt
        t_sig[k] = math.sqrt(max(vt, 0.0))
        cov[k, 0, 0] = cee
        cov[k, 0, 1] = cen
        cov[k, 1, 0] = cen
        cov[k, 1, 1] = cnn
        valid[k] = True
    return lat_deg, lon_deg, t_mean, t_sig, cov, valid


@kernel
def ellipse_from_cov(cee: float, cen: float, cnn: float, chi2: float) -> tuple[float, float, float]:
    """(semi_major_m, semi_minor_m, orientation_deg) of the ellipse δᵀ C⁻¹ δ = chi2 for C = [[cee, cen],
    [cen, cnn]] in east-north metres; orientation = azimuth of the major axis, clockwise from north, [0, 180)."""
    half_tr = 0.5 * (cee + cnn)
    d = math.sqrt(0.25 * (cee - cnn) * (cee - cnn) + cen * cen)
    l1 = max(half_tr + d, 0.0)
    l2 = max(half_tr - d, 0.0)
    theta = 0.5 * math.atan2(2.0 * cen, cee - cnn)  # angle of the major axis from east, counter-clockwise
    az = (90.0 - math.degrees(theta)) % 180.0
    return math.sqrt(chi2 * l1), math.sqrt(chi2 * l2), az


@dataclass(frozen=True)
class ImpactPrediction:
    """Impact of one track. Times in seconds after the state's time of validity."""

    valid: bool
    lat_deg: float
    lon_deg: float
    t_s: float  # mean time to impact
    t_sigma_s: float
    cov_en_m2: np.ndarray  # (2, 2) east-north covariance at the mean impact point
    semi_major_m: float  # 95% ellipse
    semi_minor_m: float
    orientation_deg: float  # azimuth of the major axis, clockwise from north, [0, 180)
    confidence: float = 0.95
    #: while boosting (:func:`boost_corridor`): the corridor's near end (the instantaneous impact point) and far
    #: end (the longest reach), (near_lat_deg, near_lon_deg, far_lat_deg, far_lon_deg); None otherwise
    corridor: tuple[float, float, float, float] | None = None


def predict_impacts(
    x: np.ndarray,
    P: np.ndarray,
    ln_beta: np.ndarray | float,
    var_ln_beta: np.ndarray | float,
    *,
    kappa: float = KAPPA,
    max_flight_s: float = 7200.0,
    rtol: float = 1e-7,
    atol: float = 1e-2,
    confidence: float = 0.95,
    lift_to_drag: np.ndarray | float | None = None,
    lift_to_drag_span: np.ndarray | None = None,
) -> list[ImpactPrediction]:
    """Impact predictions of n tracks: x (n, 6) ECEF m, m/s; P (n, 6, 6); ln β and its variance (n,).

    One batch call of the trajectory core flies the n·15 sigma points to the ground. ``lift_to_drag`` (n,):
    tracks seen gliding fly with the core's equilibrium-glide lift at that L/D (0: ballistic).

    ``lift_to_drag_span`` (n, 2) ``[lo, hi]``: the vehicle's L/D is not known, only that it lies in [lo, hi]
    (uniform; rows with hi ≤ lo, or NaN, are left alone). The sigma points then fly at the middle of the span
    (this replaces ``lift_to_drag`` on those rows), the mean state also flies at lo and at hi (two more rows
    of the same batch call), and the impact covariance gets d dᵀ/12, d the east-north offset between those
    two impacts (the variance of a uniform spread between them: as in :func:`boost_corridor`), and the mean
    impact point moves to the middle between them."""
    x = np.ascontiguousarray(np.atleast_2d(x), dtype=np.float64)
    n = x.shape[0]
    P = np.ascontiguousarray(np.reshape(P, (n, 6, 6)), dtype=np.float64)
    lb = np.ascontiguousarray(np.broadcast_to(np.asarray(ln_beta, dtype=np.float64), (n,)))
    vb = np.ascontiguousarray(np.broadcast_to(np.asarray(var_ln_beta, dtype=np.float64), (n,)))
    ok_fin = np.isfinite(x).all(axis=1) & np.isfinite(P).all(axis=(1, 2)) & np.isfinite(lb) & np.isfinite(vb)
    x_s = np.where(ok_fin[:, None], x, 0.0)
    P_s = np.where(ok_fin[:, None, None], P, np.eye(6))
    pts, beta, ok = sigma_points_batch(x_s, P_s, np.where(ok_fin, lb, 0.0), np.where(ok_fin, vb, 0.0), kappa)
    ok &= ok_fin
    # points of bad tracks: park them on the ground so that they cost nothing
    if not ok.all():
        pts = pts.reshape(n, N_SIGMA, 6)
        pts[~ok] = 0.0
        pts = np.ascontiguousarray(pts.reshape(n * N_SIGMA, 6))
    ld = (
        None
        if lift_to_drag is None
        else np.broadcast_to(np.asarray(lift_to_drag, dtype=np.float64), (n,)).astype(np.float64)
    )
    ld_trk = np.zeros(n) if ld is None else np.where(np.isfinite(ld), ld, 0.0)
    span_rows = np.zeros(0, dtype=np.int64)
    if lift_to_drag_span is not None:
        sp = np.asarray(lift_to_drag_span, dtype=np.float64).reshape(n, 2)
        spanned = ok & np.isfinite(sp).all(axis=1) & (sp[:, 1] > sp[:, 0])
        span_rows = np.flatnonzero(spanned)
        ld_trk = np.where(spanned, 0.5 * (sp[:, 0] + sp[:, 1]), ld_trk)
    ld_pts = np.repeat(ld_trk, N_SIGMA)
    if span_rows.size:
        # the mean state of each spanned track at the low and the high end of its L/D span
        ends = np.repeat(x_s[span_rows], 2, axis=0)
        pts = np.ascontiguousarray(np.vstack([pts, ends]))
        beta = np.concatenate([beta, np.repeat(np.exp(lb[span_rows]), 2)])
        ld_pts = np.concatenate([ld_pts, sp[span_rows].reshape(-1)])
    pos_all, t_all = propagate_to_impact(
        pts, 0.0, beta, lift_to_drag=ld_pts, max_flight_s=max_flight_s, rtol=rtol, atol=atol
    )
    m = n * N_SIGMA
    pos, t_imp = np.ascontiguousarray(pos_all[:m]), np.ascontiguousarray(t_all[:m])
    lat, lon, tm, ts, cov, valid = impact_stats_batch(pos, t_imp, ok, kappa)
    for j, k in enumerate(span_rows):
        lo_p, hi_p = pos_all[m + 2 * j], pos_all[m + 2 * j + 1]
        if not (valid[k] and np.isfinite(lo_p).all() and np.isfinite(hi_p).all()):
            continue
        la, lo = math.radians(lat[k]), math.radians(lon[k])
        e0, n0, _ = ecef_to_enu(lo_p[0], lo_p[1], lo_p[2], la, lo, 0.0)
        e1, n1, _ = ecef_to_enu(hi_p[0], hi_p[1], hi_p[2], la, lo, 0.0)
        d = np.array([e1 - e0, n1 - n0])
        cov[k] = cov[k] + np.outer(d, d) / 12.0
        # the impact moves with the L/D non-linearly (the glide saturates): centre the area between the ends
        cx, cy, cz = enu_to_ecef(0.5 * (e0 + e1), 0.5 * (n0 + n1), 0.0, la, lo, 0.0)
        la_c, lo_c, _ = ecef_to_geodetic(cx, cy, cz)
        lat[k], lon[k] = math.degrees(la_c), math.degrees(lo_c)
    chi2 = -2.0 * math.log(1.0 - confidence)
    out = []
    for k in range(n):
        if valid[k]:
            a, b, o = ellipse_from_cov(cov[k, 0, 0], cov[k, 0, 1], cov[k, 1, 1], chi2)
        else:
            a = b = o = math.nan
        out.append(
            ImpactPrediction(
                bool(valid[k]), float(lat[k]), float(lon[k]), float(tm[k]), float(ts[k]), cov[k], a, b, o, confidence
            )
        )
    return out


def mahalanobis2_en(pred: ImpactPrediction, lat_deg: float, lon_deg: float) -> float:
    """Squared Mahalanobis distance of a ground point from the predicted impact (east-north plane)."""
    la, lo = math.radians(pred.lat_deg), math.radians(pred.lon_deg)
    px, py, pz = geodetic_to_ecef(math.radians(lat_deg), math.radians(lon_deg), 0.0)
    e, n, _ = ecef_to_enu(px, py, pz, la, lo, 0.0)
    d = np.array([e, n])
    return float(d @ np.linalg.solve(pred.cov_en_m2, d))


@kernel
def _coast_deriv(y: np.ndarray, earth: np.ndarray, dy: np.ndarray) -> None:
    gx, gy, gz = accel_j2_ecef_rotating(y[0], y[1], y[2], y[3], y[4], y[5], earth[0], earth[1], earth[2], earth[3])
    dy[0] = y[3]
    dy[1] = y[4]
    dy[2] = y[5]
    dy[3] = gx
    dy[4] = gy
    dy[5] = gz


@kernel
def ground_track_one(x: np.ndarray, earth: np.ndarray, dt_s: float, out: np.ndarray) -> None:
    """Drag-free ground track of one state (6,) into ``out`` (max_points, 3) ``[lat_deg, lon_deg, h_m]``
    every ``dt_s`` (fixed-step RK4, J2 on the rotating Earth, ``earth`` = ``[μ, Re, J2, ω]``) until the ground
    is crossed (that last row is the crossing, h = 0) or the rows run out; unused rows are left as they are.
    Drag is left out: it bends the last few tens of km of the path, not the overflight."""
    max_points = out.shape[0]
    y = np.empty(6)
    yt = np.empty(6)
    k1 = np.empty(6)
    k2 = np.empty(6)
    k3 = np.empty(6)
    k4 = np.empty(6)
    for i in range(6):
        y[i] = x[i]
    la, lo, h = ecef_to_geodetic(y[0], y[1], y[2])
    out[0, 0] = math.degrees(la)
    out[0, 1] = math.degrees(lo)
    out[0, 2] = h
    if not h > 0.0:
        return
    for p in range(1, max_points):
        _coast_deriv(y, earth, k1)
        for i in range(6):
            yt[i] = y[i] + 0.5 * dt_s * k1[i]
        _coast_deriv(yt, earth, k2)
        for i in range(6):
            yt[i] = y[i] + 0.5 * dt_s * k2[i]
        _coast_deriv(yt, earth, k3)
        for i in range(6):
            yt[i] = y[i] + dt_s * k3[i]
        _coast_deriv(yt, earth, k4)
        for i in range(6):
            yt[i] = y[i] + dt_s / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])
        la, lo, h_new = ecef_to_geodetic(yt[0], yt[1], yt[2])
        if h_new <= 0.0:
            f = h / (h - h_new)
            for i in range(3):
                yt[i] = y[i] + f * (yt[i] - y[i])
            la, lo, _ = ecef_to_geodetic(yt[0], yt[1], yt[2])
            out[p, 0] = math.degrees(la)
            out[p, 1] = math.degrees(lo)
            out[p, 2] = 0.0
            return
        out[p, 0] = math.degrees(la)
        out[p, 1] = math.degrees(lo)
        out[p, 2] = h_new
        for i in range(6):
            y[i] = yt[i]
        h = h_new


@kernel
def ground_track_batch(x: np.ndarray, earth: np.ndarray, dt_s: float, max_points: int) -> np.ndarray:
    """Ground tracks of n states (n, 6): (n, max_points, 3) rows as :func:`ground_track_one`, NaN where unused.
    Serial: for a few tracks a parallel launch costs more than the work (see the parallel form below)."""
    n = x.shape[0]
    out = np.full((n, max_points, 3), np.nan)
    for k in range(n):
        ground_track_one(x[k], earth, dt_s, out[k])
    return out


@kernel(parallel=True)
def ground_track_batch_parallel(x: np.ndarray, earth: np.ndarray, dt_s: float, max_points: int) -> np.ndarray:
    """:func:`ground_track_batch` across cores, for many tracks."""
    n = x.shape[0]
    out = np.full((n, max_points, 3), np.nan)
    for k in numba.prange(n):
        ground_track_one(x[k], earth, dt_s, out[k])
    return out


def boost_corridor(
    iip: ImpactPrediction,
    origin_lat_deg: float,
    origin_lon_deg: float,
    azimuth_deg: float,
    range_max_m: float,
    *,
    cross_frac: float = 0.03,  # assumption: across-track spread, a fraction of the corridor's length
    confidence: float = 0.95,
) -> ImpactPrediction:
    """Impact area of a missile still boosting: a corridor along its ground track.

    The remaining burn is unknown (it may be cut at any time, or run to the longest range the evidence
    allows, ``range_max_m`` from ``origin`` along ``azimuth_deg``), so the impact lies between the
    instantaneous impact point ``iip`` (thrust cut now) and the far end. The final range is taken as uniform
    along that segment (variance ℓ²/12: the 95% ellipse's semi-major axis √(5.99/12) ℓ = 0.71 ℓ reaches past
    both ends), plus ``iip``'s own covariance and an across-track spread of ``cross_frac`` ℓ (the path bends
    with Earth's rotation and the steering). The centre is the segment's middle; the time of impact stays the
    instantaneous one (a lower bound) with a 1-σ of a quarter of the extra range at 4 km/s.

    ``azimuth_deg`` NaN (a vertical rise: no direction yet): the area is the disc of radius ``range_max_m``
    around the origin (its 95% ellipse), and no corridor. Returns ``iip`` unchanged when it is invalid, and
    with a corridor of one point (both ends at ``iip``) when it is already at least as far as ``range_max_m``.
    The result's ``corridor`` holds the two ends (degrees): near (``iip``) and far."""
    if not iip.valid or not (range_max_m > 0.0):
        return iip
    la0, lo0 = math.radians(origin_lat_deg), math.radians(origin_lon_deg)
    chi2 = -2.0 * math.log(1.0 - confidence)
    if not math.isfinite(azimuth_deg):
        var = range_max_m**2 / chi2
        cov = np.array([[var, 0.0], [0.0, var]]) + iip.cov_en_m2
        a, b, o = ellipse_from_cov(cov[0, 0], cov[0, 1], cov[1, 1], chi2)
        t_sig = math.hypot(iip.t_sigma_s, 0.25 * range_max_m / 4000.0)
        return ImpactPrediction(True, origin_lat_deg, origin_lon_deg, iip.t_s, t_sig, cov, a, b, o, confidence)
    la_a, lo_a = math.radians(iip.lat_deg), math.radians(iip.lon_deg)
    r_a = geodesic_inverse(la0, lo0, la_a, lo_a)[0]
    if r_a >= range_max_m:
        return replace(iip, corridor=(iip.lat_deg, iip.lon_deg, iip.lat_deg, iip.lon_deg))
    la_b, lo_b, _ = geodesic_direct(la0, lo0, math.radians(azimuth_deg), range_max_m)
    s_ab, az_ab, _ = geodesic_inverse(la_a, lo_a, la_b, lo_b)
    la_c, lo_c, _ = geodesic_direct(la_a, lo_a, az_ab, 0.5 * s_ab)
    ends = []
    for la, lo in ((la_a, lo_a), (la_b, lo_b)):
        x, y, z = geodetic_to_ecef(la, lo, 0.0)
        e, n, _ = ecef_to_enu(x, y, z, la_c, lo_c, 0.0)
        ends.append((e, n))
    d = np.array([ends[1][0] - ends[0][0], ends[1][1] - ends[0][1]])
    length = float(np.hypot(d[0], d[1]))
    u = d / length if length > 0.0 else np.array([1.0, 0.0])
    w = np.array([-u[1], u[0]])
    cov = np.outer(d, d) / 12.0 + (cross_frac * s_ab) ** 2 * np.outer(w, w) + iip.cov_en_m2
    a, b, o = ellipse_from_cov(cov[0, 0], cov[0, 1], cov[1, 1], chi2)
    t_sig = math.hypot(iip.t_sigma_s, 0.25 * s_ab / 4000.0)
    ends_deg = (iip.lat_deg, iip.lon_deg, math.degrees(la_b), math.degrees(lo_b))
    return ImpactPrediction(
        True, math.degrees(la_c), math.degrees(lo_c), iip.t_s, t_sig, cov, a, b, o, confidence, ends_deg
    )


def mixture_of_predictions(
    lat_deg: np.ndarray,
    lon_deg: np.ndarray,
    t_impact_s: np.ndarray,
    t_sigma_s: np.ndarray,
    cov_en_m2: np.ndarray,
    confidence: float = 0.95,
) -> tuple[float, float, float, float, np.ndarray, float, float, float]:
    """One impact area from k successive predictions of one object (k,) (impact times ``t_impact_s`` on one
    clock, east-north covariances (k, 2, 2)), by covariance intersection (Julier & Uhlmann 1997; Niehsen
    2002 for k estimates): C⁻¹ = Σ ωᵢ Cᵢ⁻¹, m = C Σ ωᵢ Cᵢ⁻¹ mᵢ, with the weights ωᵢ ∝ 1/√det Cᵢ (the inverse
    of each ellipse's area: the tighter, better-informed predictions count more) summing to 1; the same for
    the impact time.

    Why: the impact point is a constant of the motion, so successive predictions estimate one quantity;
    their scatter is estimation noise of the states they come from (a manoeuvring track's velocity), which
    the combination averages down, and a prediction from a coasted state (its ellipse grown) weighs little.
    The errors of successive predictions are correlated (one filter, overlapping data), in a way nobody
    tracks: covariance intersection is consistent (C bounds the error) whatever that correlation, for any
    weights on the simplex, so the ellipse is not overconfident if the predictions' ellipses are not.
    The offsets are taken in the tangent plane at the last prediction. Returns (lat_deg, lon_deg,
    t_impact_s, t_sigma_s, cov_en_m2 (2, 2), semi_major_m, semi_minor_m, orientation_deg)."""
    la0, lo0 = math.radians(float(lat_deg[-1])), math.radians(float(lon_deg[-1]))
    lla = np.column_stack([np.radians(lat_deg), np.radians(lon_deg), np.zeros(lat_deg.shape[0])])
    d = ecef_to_enu_batch(geodetic_to_ecef_batch(lla), la0, lo0, 0.0)[:, :2]
    c = cov_en_m2 + 1e-6 * np.eye(2)  # + 1 mm² against a degenerate ellipse
    det = c[:, 0, 0] * c[:, 1, 1] - c[:, 0, 1] * c[:, 1, 0]
    w = 1.0 / np.sqrt(np.maximum(det, 1.0))
    w /= w.sum()
    inv = np.empty_like(c)  # 2 x 2 inverses in closed form
    inv[:, 0, 0] = c[:, 1, 1] / det
    inv[:, 1, 1] = c[:, 0, 0] / det
    inv[:, 0, 1] = -c[:, 0, 1] / det
    inv[:, 1, 0] = -c[:, 1, 0] / det
    info = np.einsum("i,ijk->jk", w, inv)
    cov = np.linalg.inv(info)
    m = cov @ np.einsum("i,ijk,ik->j", w, inv, d)
    wt = w / np.maximum(t_sigma_s, 1e-3) ** 2
    t_var = 1.0 / float(wt.sum())
    t_mean = t_var * float(wt @ t_impact_s)
    cx, cy, cz = enu_to_ecef(float(m[0]), float(m[1]), 0.0, la0, lo0, 0.0)
    la, lo, _ = ecef_to_geodetic(cx, cy, cz)
    chi2 = -2.0 * math.log(1.0 - confidence)
    a, b, o = ellipse_from_cov(cov[0, 0], cov[0, 1], cov[1, 1], chi2)
    return math.degrees(la), math.degrees(lo), t_mean, math.sqrt(t_var), cov, a, b, o
