"""Interacting multiple model (IMM) across flight phases.

Models j = 0 (ballistic: gravity + drag, a_T pinned to 0 with no uncertainty) and j = 1 (boost: the same
dynamics plus the thrust acceleration a_T as a random walk). Per track: model states xm (n, 2, 10),
covariances Pm (n, 2, 10, 10) and model probabilities mu (n, 2). Mode switching is a continuous-time Markov
chain with rates ``rates`` (2,) [ballistic -> boost, boost -> ballistic] (1/s), so the transition matrix
over Δt is π01 = 1 − exp(−rates[0] Δt), π10 = 1 − exp(−rates[1] Δt). Blom & Bar-Shalom (1988); Bar-Shalom,
Li & Kirubarajan (2001) §11.6.6: mixing, model-matched prediction and update, probability update,
combination.
"""

from __future__ import annotations

import math

import numpy as np

from triwarn.core.jit import kernel
from triwarn.core.tracking.ekf import update_one_with_bias
from triwarn.core.tracking.layout import I_ACC, MAX_Z, NX
from triwarn.core.tracking.motion import height_above_ellipsoid_radial, predict_one_with_bias


@kernel
def imm_predict_batch(
    xm: np.ndarray,
    Pm: np.ndarray,
    Cm: np.ndarray,
    mu: np.ndarray,
    t_s: np.ndarray,
    live: np.ndarray,
    t_to_s: float,
    q_acc: np.ndarray,
    q_jerk: np.ndarray,
    q_theta: float,
    rates: np.ndarray,
    params: np.ndarray,
    atm: np.ndarray,
) -> None:
    """IMM mixing and prediction of every live track in place to ``t_to_s``; ``q_acc``, ``q_jerk`` (2,) per
    model. After mixing, the ballistic model's thrust acceleration is set to exactly 0. Cm (n, 2, s, 10,
    MAX_Z): the bias cross-covariances of each model, mixed with the same weights (the biases have zero mean
    under every model) and predicted with the state.

    ``rates`` (2,) or (3,): [ballistic -> accelerating, accelerating -> ballistic(, ballistic -> accelerating
    while descending in the air)]. The third rate applies to a track whose ballistic-model state is below
    ``params[5]`` (the atmosphere height) and descending: there the accelerating model's a_T stands for an
    aerodynamic manoeuvre (the lift of a quasi-ballistic glide), which a coasting missile in vacuum cannot
    make (Bar-Shalom, Li & Kirubarajan 2001, §11.7: a manoeuvre model in the IMM)."""
    ns = Cm.shape[2]
    x0 = np.empty((2, NX))
    P0 = np.empty((2, NX, NX))
    C0 = np.empty((2, ns, NX, MAX_Z))
    for i in range(xm.shape[0]):
        if not live[i] or t_s[i] == t_to_s:
            continue
        dt = abs(t_to_s - t_s[i])
        r01 = rates[0]
        qa1 = q_acc[1]
        qj1 = q_jerk[1]
        if rates.shape[0] > 2:
            xb = xm[i, 0]
            radial_v = xb[0] * xb[3] + xb[1] * xb[4] + xb[2] * xb[5]
            if radial_v < 0.0 and height_above_ellipsoid_radial(xb[0], xb[1], xb[2]) < params[5]:
                r01 = max(r01, rates[2])
                if q_acc.shape[0] > 2:
                    qa1 = q_acc[2]
                if q_jerk.shape[0] > 2:
                    qj1 = q_jerk[2]
        p01 = 1.0 - math.exp(-r01 * dt)
        p10 = 1.0 - math.exp(-rates[1] * dt)
        pi00 = 1.0 - p01
        pi11 = 1.0 - p10
        c0 = pi00 * mu[i, 0] + p10 * mu[i, 1]
        c1 = p01 * mu[i, 0] + pi11 * mu[i, 1]
        # mixing weights w[a, j] = P(model a before | model j after)
        w00 = pi00 * mu[i, 0] / c0
        w10 = p10 * mu[i, 1] / c0
        w01 = p01 * mu[i, 0] / c1
        w11 = pi11 * mu[i, 1] / c1
        for j in range(2):
            wa = w00 if j == 0 else w01
            wb = w10 if j == 0 else w11
            for a in range(NX):
                x0[j, a] = wa * xm[i, 0, a] + wb * xm[i, 1, a]
            for a in range(NX):
                da0 = xm[i, 0, a] - x0[j, a]
                da1 = xm[i, 1, a] - x0[j, a]
                for b in range(NX):
                    db0 = xm[i, 0, b] - x0[j, b]
                    db1 = xm[i, 1, b] - x0[j, b]
                    P0[j, a, b] = wa * (Pm[i, 0, a, b] + da0 * db0) + wb * (Pm[i, 1, a, b] + da1 * db1)
            for si in range(ns):
                for a in range(NX):
                    for c in range(MAX_Z):
                        C0[j, si, a, c] = wa * Cm[i, 0, si, a, c] + wb * Cm[i, 1, si, a, c]
        for a in range(I_ACC, NX):
            x0[0, a] = 0.0
            for b in range(NX):
                P0[0, a, b] = 0.0
                P0[0, b, a] = 0.0
            for si in range(ns):
                for c in range(MAX_Z):
                    C0[0, si, a, c] = 0.0
        for j in range(2):
            for a in range(NX):
                xm[i, j, a] = x0[j, a]
                for b in range(NX):
                    Pm[i, j, a, b] = P0[j, a, b]
                for si in range(ns):
                    for c in range(MAX_Z):
                        Cm[i, j, si, a, c] = C0[j, si, a, c]
            qa = q_acc[j] if j == 0 else qa1
            qj = q_jerk[j] if j == 0 else qj1
            predict_one_with_bias(xm[i, j], Pm[i, j], Cm[i, j], t_to_s - t_s[i], qa, qj, q_theta, params, atm)
        mu[i, 0] = c0
        mu[i, 1] = c1
        t_s[i] = t_to_s


@kernel
def imm_combine_bias(Cm: np.ndarray, mu: np.ndarray, C: np.ndarray) -> None:
    """Combined bias cross-covariances C = Σ μj Cj of every track into C (n, s, 10, MAX_Z)."""
    for i in range(Cm.shape[0]):
        for si in range(Cm.shape[2]):
            for a in range(NX):
                for c in range(MAX_Z):
                    C[i, si, a, c] = mu[i, 0] * Cm[i, 0, si, a, c] + mu[i, 1] * Cm[i, 1, si, a, c]


@kernel
def imm_combine(xm: np.ndarray, Pm: np.ndarray, mu: np.ndarray, x: np.ndarray, P: np.ndarray) -> None:
    """Combined estimate of every track: x = Σ μj xj, P = Σ μj (Pj + (xj − x)(xj − x)ᵀ), into x (n,10), P (n,10,10)."""
    for i in range(xm.shape[0]):
        for a in range(NX):
            x[i, a] = mu[i, 0] * xm[i, 0, a] + mu[i, 1] * xm[i, 1, a]
        for a in range(NX):
            for b in range(NX):
                s = 0.0
                for j in range(2):
                    s += mu[i, j] * (Pm[i, j, a, b] + (xm[i, j, a] - x[i, a]) * (xm[i, j, b] - x[i, b]))
                P[i, a, b] = s


@kernel
def imm_update_batch(
    xm: np.ndarray,
    Pm: np.ndarray,
    Cm: np.ndarray,
    mu: np.ndarray,
    idx: np.ndarray,
    zm: np.ndarray,
    sp: np.ndarray,
    sensor: int,
) -> np.ndarray:
    """IMM update of tracks ``idx`` (a,) with measurements ``zm`` (a, MAX_Z) of sensor ``sp`` (index
    ``sensor`` in the bias cross-covariances Cm (n, 2, s, 10, MAX_Z); s may be 0): each model updated
    (:func:`update_one_with_bias`), model probabilities μj ∝ Λj μj with Λj = N(ν; 0, Sj). Returns the NIS of the most
    probable model after the update, (a,)."""
    out = np.empty(idx.shape[0])
    m = int(sp[6])
    for a in range(idx.shape[0]):
        i = idx[a]
        ll = np.empty(2)
        nis = np.empty(2)
        for j in range(2):
            nis[j], logdet = update_one_with_bias(xm[i, j], Pm[i, j], Cm[i, j], sensor, zm[a], sp)
            ll[j] = -0.5 * (nis[j] + logdet + m * math.log(2.0 * math.pi))
        if math.isnan(ll[0]) or math.isnan(ll[1]):
            out[a] = nis[0] if math.isnan(ll[1]) else nis[1]
            continue
        top = max(ll[0], ll[1])
        w0 = mu[i, 0] * math.exp(ll[0] - top)
        w1 = mu[i, 1] * math.exp(ll[1] - top)
        s = w0 + w1
        # keep both models alive: probabilities floored at 1e-6
        mu0 = min(max(w0 / s, 1e-6), 1.0 - 1e-6)
        mu[i, 0] = mu0
        mu[i, 1] = 1.0 - mu0
        out[a] = nis[0] if mu0 >= 0.5 else nis[1]
    return out
