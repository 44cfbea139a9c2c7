"""EKF steps of the tracking filter: gating (NIS), update and single-point initiation from radar.

- update: EKF with the Joseph form P = (I − KH) P (I − KH)ᵀ + K R Kᵀ; innovation ν = z − h(x) with the
  azimuth difference wrapped to (−π, π]; NIS = νᵀ S⁻¹ ν.
- registration biases considered, not estimated (Schmidt-Kalman, :mod:`.layout`): :func:`update_one_with_bias`.
"""

from __future__ import annotations

import math

import numpy as np

from triwarn.core.jit import kernel
from triwarn.core.tracking.layout import I_BIAS, MAX_Z, NX
from triwarn.core.tracking.measurement import measure_h
from triwarn.core.tracking.motion import nonzero_bias_blocks


@kernel
def _innovation(
    x: np.ndarray,
    P: np.ndarray,
    Cs: np.ndarray,
    zm: np.ndarray,
    sp: np.ndarray,
    nu: np.ndarray,
    S: np.ndarray,
    H: np.ndarray,
) -> int:
    """ν = z − h(x) (azimuth / α wrapped) and S = H P Hᵀ + H Cs + Csᵀ Hᵀ + B + R; returns m. Cs (10, MAX_Z)
    is the cross-covariance of the state error (truth − estimate) with this sensor's bias, B its covariance
    (diagonal, standard deviations sp[I_BIAS:]): the bias enters the measurement additively, z = h(x) + b + v."""
    zp = np.empty(MAX_Z)
    m = measure_h(x, sp, zp, H)
    for i in range(m):
        nu[i] = zm[i] - zp[i]
    if nu[0] > math.pi:
        nu[0] -= 2.0 * math.pi
    elif nu[0] < -math.pi:
        nu[0] += 2.0 * math.pi
    for i in range(m):
        for j in range(m):
            s = 0.0
            for a in range(NX):
                ha = H[i, a]
                if ha != 0.0:
                    for b in range(NX):
                        s += ha * P[a, b] * H[j, b]
            for a in range(NX):
                s += H[i, a] * Cs[a, j] + Cs[a, i] * H[j, a]
            S[i, j] = s
        S[i, i] += sp[7 + i] * sp[7 + i] + sp[I_BIAS + i] * sp[I_BIAS + i]
    return m


@kernel
def _cholesky_inverse(S: np.ndarray, m: int, Sinv: np.ndarray) -> float:
    """Inverse of the symmetric positive definite top-left m×m block of S by Cholesky into Sinv; returns
    ln det S, or NaN if S is not positive definite."""
    L = np.zeros((MAX_Z, MAX_Z))
    for i in range(m):
        for j in range(i + 1):
            s = S[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            if i == j:
                if s <= 0.0:
                    return np.nan
                L[i, i] = math.sqrt(s)
            else:
                L[i, j] = s / L[j, j]
    Linv = np.zeros((MAX_Z, MAX_Z))
    for i in range(m):
        Linv[i, i] = 1.0 / L[i, i]
        for j in range(i):
            s = 0.0
            for k in range(j, i):
                s -= L[i, k] * Linv[k, j]
            Linv[i, j] = s / L[i, i]
    for i in range(m):
        for j in range(m):
            s = 0.0
            for k in range(max(i, j), m):
                s += Linv[k, i] * Linv[k, j]
            Sinv[i, j] = s
    logdet = 0.0
    for i in range(m):
        logdet += 2.0 * math.log(L[i, i])
    return logdet


@kernel
def gate_batch(
    x: np.ndarray,
    P: np.ndarray,
    C: np.ndarray,
    live: np.ndarray,
    zm: np.ndarray,
    sp: np.ndarray,
    sensor: int,
    d2_max: float,
    logdet: np.ndarray,
) -> np.ndarray:
    """Normalised innovation squared (NIS) of every (track, measurement) pair, (n, k); +inf for non-live
    tracks and for pairs beyond ``d2_max``. zm (k, MAX_Z) are measurements of the sensor ``sp``; x, P are
    already predicted to the measurement time; C (n, s, 10, MAX_Z) the bias cross-covariances (s may be 0:
    none), ``sensor`` the index of ``sp`` among them. ``logdet`` (n,) receives ln det S of each live track's
    innovation covariance (S formed once per track, at the first measurement), NaN where none was formed."""
    n = x.shape[0]
    Cz = np.zeros((NX, MAX_Z))
    k = zm.shape[0]
    out = np.full((n, k), np.inf)
    nu = np.empty(MAX_Z)
    S = np.empty((MAX_Z, MAX_Z))
    Sinv = np.empty((MAX_Z, MAX_Z))
    H = np.empty((MAX_Z, NX))
    zp = np.empty(MAX_Z)
    for i in range(n):
        logdet[i] = np.nan
        if not live[i] or k == 0:
            continue
        Cs = C[i, sensor] if C.shape[1] > sensor else Cz
        # S and the predicted measurement once per track: ν = z − zp for each measurement
        m = _innovation(x[i], P[i], Cs, zm[0], sp, nu, S, H)
        ld = _cholesky_inverse(S, m, Sinv)
        if math.isnan(ld):
            continue
        logdet[i] = ld
        for a in range(m):
            zp[a] = zm[0, a] - nu[a]
        for j in range(k):
            for a in range(m):
                nu[a] = zm[j, a] - zp[a]
            while nu[0] > math.pi:
                nu[0] -= 2.0 * math.pi
            while nu[0] < -math.pi:
                nu[0] += 2.0 * math.pi
            d2 = 0.0
            for a in range(m):
                for b in range(m):
                    d2 += nu[a] * Sinv[a, b] * nu[b]
            if d2 <= d2_max:
                out[i, j] = d2
    return out


@kernel
def update_one(x: np.ndarray, P: np.ndarray, zm: np.ndarray, sp: np.ndarray) -> tuple[float, float]:
    """EKF update of one track in place with measurement ``zm`` of sensor ``sp``; returns (NIS, ln det S)
    (NaN, NaN if S was not positive definite, in which case nothing is changed)."""
    return update_one_with_bias(x, P, np.zeros((0, NX, MAX_Z)), 0, zm, sp)


@kernel
def update_one_with_bias(
    x: np.ndarray, P: np.ndarray, C: np.ndarray, sensor: int, zm: np.ndarray, sp: np.ndarray
) -> tuple[float, float]:
    """:func:`update_one` with the registration biases considered (Schmidt-Kalman; Tapley, Schutz & Born
    2004, §6.3): C (s, 10, MAX_Z) are the cross-covariances of the state error (truth − estimate) with every
    sensor's bias, ``sensor`` the index of ``sp``. With A = I − KH and B this sensor's bias covariance:
    K = (P Hᵀ + Cs) S⁻¹, P ← A P Aᵀ − A Cs Kᵀ − K Csᵀ Aᵀ + K (B + R) Kᵀ, Cs ← A Cs − K B, and for every
    other sensor C ← A C. The biases themselves are not estimated."""
    nu = np.empty(MAX_Z)
    S = np.empty((MAX_Z, MAX_Z))
    Sinv = np.empty((MAX_Z, MAX_Z))
    H = np.empty((MAX_Z, NX))
    has_c = C.shape[0] > sensor
    Cs = C[sensor] if has_c else np.zeros((NX, MAX_Z))
    m = _innovation(x, P, Cs, zm, sp, nu, S, H)
    logdet = _cholesky_inverse(S, m, Sinv)
    if math.isnan(logdet):
        return np.nan, np.nan
    nis = 0.0
    for a in range(m):
        for b in range(m):
            nis += nu[a] * Sinv[a, b] * nu[b]
    # PHᵀ + Cs (10, m), K = (PHᵀ + Cs) S⁻¹
    PHt = np.zeros((NX, MAX_Z))
    for i in range(NX):
        for a in range(m):
            s = Cs[i, a]
            for b in range(NX):
                s += P[i, b] * H[a, b]
            PHt[i, a] = s
    K = np.zeros((NX, MAX_Z))
    for i in range(NX):
        for a in range(m):
            s = 0.0
            for b in range(m):
                s += PHt[i, b] * Sinv[b, a]
            K[i, a] = s
    for i in range(NX):
        s = 0.0
        for a in range(m):
            s += K[i, a] * nu[a]
        x[i] += s
    # Joseph form: P = (I − KH) P (I − KH)ᵀ − (I − KH) Cs Kᵀ − K Csᵀ (I − KH)ᵀ + K (R + B) Kᵀ
    IKH = np.empty((NX, NX))
    for i in range(NX):
        for j in range(NX):
            s = 0.0
            for a in range(m):
                s += K[i, a] * H[a, j]
            IKH[i, j] = (1.0 if i == j else 0.0) - s
    T = np.empty((NX, NX))
    for i in range(NX):
        for j in range(NX):
            s = 0.0
            for c in range(NX):
                s += IKH[i, c] * P[c, j]
            T[i, j] = s
    # ACs = (I − KH) Cs (10, m)
    ACs = np.zeros((NX, MAX_Z))
    if has_c:
        for i in range(NX):
            for a in range(m):
                s = 0.0
                for c in range(NX):
                    s += IKH[i, c] * Cs[c, a]
                ACs[i, a] = s
    for i in range(NX):
        for j in range(i, NX):
            s = 0.0
            for c in range(NX):
                s += T[i, c] * IKH[j, c]
            for a in range(m):
                s += K[i, a] * K[j, a] * (sp[7 + a] * sp[7 + a] + sp[I_BIAS + a] * sp[I_BIAS + a])
                s -= ACs[i, a] * K[j, a] + K[i, a] * ACs[j, a]
            P[i, j] = s
            P[j, i] = s
    if has_c:
        Cn = np.empty((NX, MAX_Z))
        used = nonzero_bias_blocks(C)
        for si in range(C.shape[0]):
            if not used[si] and si != sensor:
                continue
            for i in range(NX):
                for a in range(MAX_Z):
                    s = 0.0
                    for c in range(NX):
                        s += IKH[i, c] * C[si, c, a]
                    Cn[i, a] = s
            if si == sensor:
                for i in range(NX):
                    for a in range(m):
                        Cn[i, a] -= K[i, a] * sp[I_BIAS + a] * sp[I_BIAS + a]
            for i in range(NX):
                for a in range(MAX_Z):
                    C[si, i, a] = Cn[i, a]
    return nis, logdet


@kernel
def update_batch(x: np.ndarray, P: np.ndarray, idx: np.ndarray, zm: np.ndarray, sp: np.ndarray) -> np.ndarray:
    """EKF update of tracks ``idx`` (a,) with measurements ``zm`` (a, MAX_Z) of sensor ``sp``; returns NIS (a,)."""
    out = np.empty(idx.shape[0])
    for a in range(idx.shape[0]):
        out[a] = update_one(x[idx[a]], P[idx[a]], zm[a], sp)[0]
    return out


@kernel
def init_from_radar(
    zm: np.ndarray, sp: np.ndarray, theta0: float, sigma_v_m_s: float, sigma_theta: float, sigma_a_m_s2: float
) -> tuple:
    """Single-point initiation from radar measurements zm (k, MAX_Z): position from (az, el, range), velocity
    zero with standard deviation ``sigma_v_m_s`` per axis (plus the range rate along the line of sight
    when measured), θ = ``theta0`` ± ``sigma_theta``, thrust acceleration 0 ± ``sigma_a_m_s2`` per axis.
    The position error includes the radar's registration bias: P_pos = G (R + B) Gᵀ, and its cross-covariance
    with the bias is −G B (G = ∂position/∂(az, el, range)). Returns (x (k,10), P (k,10,10), C (k,10,MAX_Z))."""
    k = zm.shape[0]
    x = np.zeros((k, NX))
    P = np.zeros((k, NX, NX))
    C = np.zeros((k, NX, MAX_Z))
    lat = sp[4]
    lon = sp[5]
    sl = math.sin(lat)
    cl = math.cos(lat)
    so = math.sin(lon)
    co = math.cos(lon)
    # columns of Rᵀ (ENU -> ECEF)
    M = np.array([[-so, -sl * co, cl * co], [co, -sl * so, cl * so], [0.0, cl, sl]])
    for i in range(k):
        az = zm[i, 0]
        el = zm[i, 1]
        r = zm[i, 2]
        ce = math.cos(el)
        se = math.sin(el)
        ca = math.cos(az)
        sa = math.sin(az)
        enu = np.array([r * ce * sa, r * ce * ca, r * se])
        # ∂enu/∂(az, el, r)
        J = np.array([[r * ce * ca, -r * se * sa, ce * sa], [-r * ce * sa, -r * se * ca, ce * ca], [0.0, r * ce, se]])
        G = M @ J  # ∂ecef/∂(az, el, r)
        for a in range(3):
            x[i, a] = sp[1 + a] + M[a, 0] * enu[0] + M[a, 1] * enu[1] + M[a, 2] * enu[2]
        for a in range(3):
            for b in range(3):
                s = 0.0
                for c in range(3):
                    s += G[a, c] * G[b, c] * (sp[7 + c] * sp[7 + c] + sp[I_BIAS + c] * sp[I_BIAS + c])
                P[i, a, b] = s
            for c in range(3):
                C[i, a, c] = -G[a, c] * sp[I_BIAS + c] * sp[I_BIAS + c]
        for a in range(3):
            P[i, 3 + a, 3 + a] = sigma_v_m_s * sigma_v_m_s
        if int(sp[6]) == 4:
            # velocity along the line of sight from the range rate: v = rr los + (isotropic rest)
            los = G[:, 2]  # unit line of sight in ECEF
            rr = zm[i, 3]
            for a in range(3):
                x[i, 3 + a] = rr * los[a]
            s2 = sp[10] * sp[10] - sigma_v_m_s * sigma_v_m_s
            for a in range(3):
                for b in range(3):
                    P[i, 3 + a, 3 + b] += s2 * los[a] * los[b]
        x[i, 6] = theta0
        P[i, 6, 6] = sigma_theta * sigma_theta
        for a in range(3):
            P[i, 7 + a, 7 + a] = sigma_a_m_s2 * sigma_a_m_s2
    return x, P, C
