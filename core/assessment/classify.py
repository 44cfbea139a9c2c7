"""Flight phase (boost, midcourse, terminal) and missile class (SRBM, MRBM, IRBM, ICBM) of tracks, with evidence.

Evidence per track, computed in one batch kernel (:func:`flight_metrics_batch`) from the fused ECEF state and,
when the caller has one, an earlier state of the same track:

- geodetic height ``h`` and the vertical speed ``v_up`` (velocity along the local geodetic up);
- the non-gravitational acceleration along the velocity, ``a_along`` (thrust > 0, drag < 0), from the change
  of velocity between the two states minus the modelled apparent acceleration (J2 gravity, Coriolis,
  centrifugal) at the mid-point, and its 1-σ ``a_sigma`` from the two velocity covariances; likewise
  ``a_lift``, the part perpendicular to the velocity in the vertical plane, upwards (a gliding re-entry
  vehicle's lift);
- the **energy-equivalent range**: the ground range a minimum-energy shot with the same specific energy would
  fly on a non-rotating spherical Earth (Earth-relative velocity). With ε = v²/2 − μ/r, the speed at the
  surface v₀² = 2(ε + μ/R) and ν = v₀² R/μ, the maximum range angle is Ψ = 2 asin(ν/(2 − ν)) (textbook
  ballistic-missile range equation, e.g. Regan & Anandakrishnan, "Dynamics of Atmospheric Re-Entry", ch. 2;
  events.md's Kepler table uses the same model). ν ≥ 1 is orbital: reported as a half circumference;
- the osculating (Kepler, inertial velocity) apogee height ``r_a − R(φ)``.

Phase rules (in order): thrust seen (``a_along > max(thrust_min, k σ)``) → BOOST; the sources report BOOST
and either no earlier state exists, or the acceleration is too noisy to tell (k σ > thrust_min) and the track
is not surely descending → BOOST; surely descending (``v_up < −k σ_up``, σ_up the vertical speed's 1-σ) below the
re-entry interface (100 km) → TERMINAL; otherwise MIDCOURSE. "Surely": an infrared track's first states can
read hundreds of m/s downward at a σ of a thousand while the missile climbs. Class thresholds on the
energy-equivalent range follow the proto's MissileClass (1,000, 3,000 and 5,500 km). While boosting, the energy
still grows: the class is a lower bound (``provisional``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from triwarn.core.jit import kernel
from triwarn.core.tracks import Phase
from triwarn.core.trajectory.constants import A_M, B_M, GM_M3_S2, J2, OMEGA_E_RAD_S, R_MEAN_M, RE_J2_M
from triwarn.core.trajectory.flight import Steering, fly_missile
from triwarn.core.trajectory.frames import ecef_to_geodetic
from triwarn.core.trajectory.gravity import accel_j2_ecef_rotating
from triwarn.core.trajectory.missiles import missile_classes


class MissileClass(IntEnum):
    """Missile class by energy and range (values match ``triwarn.v1.MissileClass``)."""

    UNKNOWN = 0
    SRBM = 1
    MRBM = 2
    IRBM = 3
    ICBM = 4


#: Upper energy-equivalent range of each class, m (proto MissileClass comments).
CLASS_LIMITS_M: tuple[tuple[MissileClass, float], ...] = (
    (MissileClass.SRBM, 1_000e3),
    (MissileClass.MRBM, 3_000e3),
    (MissileClass.IRBM, 5_500e3),
    (MissileClass.ICBM, math.inf),
)
REENTRY_INTERFACE_M = 100_000.0

# columns of flight_metrics_batch's output
M_H, M_VUP, M_SPEED, M_ERANGE, M_APOGEE, M_A_ALONG, M_A_SIGMA, M_A_LIFT, M_VUP_SIGMA = 0, 1, 2, 3, 4, 5, 6, 7, 8
N_METRICS = 9


@kernel
def energy_range_m(r_m: float, v_m_s: float, mu_m3_s2: float, r_earth_m: float) -> float:
    """Minimum-energy ground range (m) on a sphere of radius r_earth_m for a state at radius r_m with speed
    v_m_s (same specific energy). 0 if the energy does not reach the surface; π R when orbital."""
    eps = 0.5 * v_m_s * v_m_s - mu_m3_s2 / r_m
    v0sq = 2.0 * (eps + mu_m3_s2 / r_earth_m)
    if v0sq <= 0.0:
        return 0.0
    nu = v0sq * r_earth_m / mu_m3_s2
    if nu >= 1.0:
        return math.pi * r_earth_m
    return 2.0 * math.asin(nu / (2.0 - nu)) * r_earth_m


@kernel
def kepler_apogee_radius_m(x: float, y: float, z: float, vx: float, vy: float, vz: float, mu_m3_s2: float) -> float:
    """Apogee radius (m) of the osculating two-body orbit of an inertial state; inf if not bound."""
    r = math.sqrt(x * x + y * y + z * z)
    v2 = vx * vx + vy * vy + vz * vz
    eps = 0.5 * v2 - mu_m3_s2 / r
    if eps >= 0.0:
        return math.inf
    a = -mu_m3_s2 / (2.0 * eps)
    hx = y * vz - z * vy
    hy = z * vx - x * vz
    hz = x * vy - y * vx
    h2 = hx * hx + hy * hy + hz * hz
    e2 = max(1.0 - h2 / (mu_m3_s2 * a), 0.0)
    return a * (1.0 + math.sqrt(e2))


@kernel
def ellipsoid_radius_m(lat_rad: float, a_m: float, b_m: float) -> float:
    """Geocentric radius (m) of the ellipsoid surface at geodetic latitude lat_rad."""
    c = math.cos(lat_rad)
    s = math.sin(lat_rad)
    num = (a_m * a_m * c) ** 2 + (b_m * b_m * s) ** 2
    den = (a_m * c) ** 2 + (b_m * s) ** 2
    return math.sqrt(num / den)


@kernel
def flight_metrics_batch(
    x: np.ndarray,
    P: np.ndarray,
    x_prev: np.ndarray,
    P_prev: np.ndarray,
    dt_s: np.ndarray,
    mu_m3_s2: float,
    re_m: float,
    j2: float,
    omega_rad_s: float,
    r_earth_m: float,
    a_m: float,
    b_m: float,
) -> np.ndarray:
    """Evidence for phase and class of n tracks: (n, N_METRICS), columns ``M_*``.

    x, x_prev: (n, 6) ECEF states now and ``dt_s`` (n,) seconds earlier (dt ≤ 0 or NaN: no earlier state, the
    acceleration columns are NaN). P, P_prev: (n, 6, 6) covariances (only the velocity blocks are used)."""
    n = x.shape[0]
    out = np.full((n, N_METRICS), np.nan)
    for k in range(n):
        px, py, pz = x[k, 0], x[k, 1], x[k, 2]
        vx, vy, vz = x[k, 3], x[k, 4], x[k, 5]
        lat, lon, h = ecef_to_geodetic(px, py, pz)
        upx = math.cos(lat) * math.cos(lon)
        upy = math.cos(lat) * math.sin(lon)
        upz = math.sin(lat)
        speed = math.sqrt(vx * vx + vy * vy + vz * vz)
        r = math.sqrt(px * px + py * py + pz * pz)
        out[k, M_H] = h
        out[k, M_VUP] = vx * upx + vy * upy + vz * upz
        var_up = 0.0  # the vertical speed's variance: up^T P_vv up
        up = (upx, upy, upz)
        for i in range(3):
            for j in range(3):
                var_up += up[i] * P[k, 3 + i, 3 + j] * up[j]
        out[k, M_VUP_SIGMA] = math.sqrt(max(var_up, 0.0))
        out[k, M_SPEED] = speed
        out[k, M_ERANGE] = energy_range_m(r, speed, mu_m3_s2, r_earth_m)
        # inertial velocity (axes of ECEF at this instant): v + ω × r
        ra = kepler_apogee_radius_m(px, py, pz, vx - omega_rad_s * py, vy + omega_rad_s * px, vz, mu_m3_s2)
        out[k, M_APOGEE] = ra - ellipsoid_radius_m(lat, a_m, b_m)
        dt = dt_s[k]
        if dt > 0.0 and speed > 0.0:
            mx = 0.5 * (px + x_prev[k, 0])
            my = 0.5 * (py + x_prev[k, 1])
            mz = 0.5 * (pz + x_prev[k, 2])
            mvx = 0.5 * (vx + x_prev[k, 3])
            mvy = 0.5 * (vy + x_prev[k, 4])
            mvz = 0.5 * (vz + x_prev[k, 5])
            gx, gy, gz = accel_j2_ecef_rotating(mx, my, mz, mvx, mvy, mvz, mu_m3_s2, re_m, j2, omega_rad_s)
            ax = (vx - x_prev[k, 3]) / dt - gx
            ay = (vy - x_prev[k, 4]) / dt - gy
            az = (vz - x_prev[k, 5]) / dt - gz
            ms = math.sqrt(mvx * mvx + mvy * mvy + mvz * mvz)
            if ms > 0.0:
                ux, uy, uz = mvx / ms, mvy / ms, mvz / ms
                out[k, M_A_ALONG] = ax * ux + ay * uy + az * uz
                var = 0.0
                u = (ux, uy, uz)
                for i in range(3):
                    for j in range(3):
                        var += u[i] * (P[k, 3 + i, 3 + j] + P_prev[k, 3 + i, 3 + j]) * u[j]
                out[k, M_A_SIGMA] = math.sqrt(max(var, 0.0)) / dt
                # lift: the part along the local up made perpendicular to the velocity (vertical plane)
                s_up = ux * upx + uy * upy + uz * upz
                nx, ny, nz = upx - s_up * ux, upy - s_up * uy, upz - s_up * uz
                nn = math.sqrt(nx * nx + ny * ny + nz * nz)
                if nn > 0.0:
                    out[k, M_A_LIFT] = (ax * nx + ay * ny + az * nz) / nn
    return out


def flight_metrics(
    x: np.ndarray,
    P: np.ndarray,
    x_prev: np.ndarray | None = None,
    P_prev: np.ndarray | None = None,
    dt_s: np.ndarray | None = None,
) -> np.ndarray:
    """Typed wrapper of :func:`flight_metrics_batch` with the WGS-84/J2 Earth; earlier states optional."""
    x = np.ascontiguousarray(np.atleast_2d(x), dtype=np.float64)
    n = x.shape[0]
    P = np.ascontiguousarray(np.reshape(P, (n, 6, 6)), dtype=np.float64)
    if x_prev is None or P_prev is None or dt_s is None:
        x_prev, P_prev, dt_s = np.zeros((n, 6)), np.zeros((n, 6, 6)), np.full(n, np.nan)
    return flight_metrics_batch(
        x,
        P,
        np.ascontiguousarray(np.reshape(x_prev, (n, 6)), dtype=np.float64),
        np.ascontiguousarray(np.reshape(P_prev, (n, 6, 6)), dtype=np.float64),
        np.ascontiguousarray(np.reshape(dt_s, (n,)), dtype=np.float64),
        GM_M3_S2,
        RE_J2_M,
        J2,
        OMEGA_E_RAD_S,
        R_MEAN_M,
        A_M,
        B_M,
    )


@dataclass(frozen=True)
class PhaseEstimate:
    phase: Phase
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ClassEstimate:
    missile_class: MissileClass
    provisional: bool  # still boosting: the class is a lower bound
    energy_range_m: float
    apogee_m: float  # osculating apogee height (NaN/inf when unknown or unbound)
    reasons: tuple[str, ...]


def surely_descending(m: np.ndarray, k_sigma: float = 3.0) -> bool:
    """Whether the track of metrics row ``m`` descends beyond its state's noise: its vertical speed is below
    −``k_sigma`` times that speed's 1-σ (``M_VUP_SIGMA``; a σ that is not finite: not sure). An infrared track's
    early states can read hundreds of m/s downward at a σ of a thousand while the missile climbs."""
    return bool(m[M_VUP] < -k_sigma * m[M_VUP_SIGMA])


def phase_from_metrics(
    m: np.ndarray,
    reported: Phase = Phase.UNKNOWN,
    *,
    thrust_min_m_s2: float = 5.0,
    k_sigma: float = 3.0,
    reentry_interface_m: float = REENTRY_INTERFACE_M,
) -> PhaseEstimate:
    """Phase of one track from its metrics row ``m`` (see module docstring for the rules)."""
    h, v_up, a_al, a_sig = m[M_H], m[M_VUP], m[M_A_ALONG], m[M_A_SIGMA]
    descending = surely_descending(m, k_sigma)  # a track not surely descending is not taken for a re-entry
    if math.isfinite(a_al):
        limit = max(thrust_min_m_s2, k_sigma * a_sig)
        if a_al > limit:
            return PhaseEstimate(
                Phase.BOOST,
                (f"thrust: non-gravitational acceleration {a_al:.1f} m/s² along the velocity (> {limit:.1f})",),
            )
        if reported == Phase.BOOST and k_sigma * a_sig > thrust_min_m_s2 and not descending:
            return PhaseEstimate(Phase.BOOST, ("sources report boost; the acceleration is within the noise",))
    elif reported == Phase.BOOST:
        return PhaseEstimate(Phase.BOOST, ("sources report boost; no acceleration history yet",))
    if descending and h < reentry_interface_m:
        why = [f"descending ({v_up:.0f} m/s) below the re-entry interface ({h / 1e3:.0f} km)"]
        if math.isfinite(a_al) and a_al < -max(1.0, k_sigma * a_sig):
            why.append(f"drag deceleration {-a_al:.1f} m/s²")
        return PhaseEstimate(Phase.TERMINAL, tuple(why))
    motion = "ascending" if v_up >= 0 else ("descending" if descending else "vertical speed within the noise")
    why = [f"no thrust seen; {motion} at {h / 1e3:.0f} km"]
    if not math.isfinite(a_al):
        why.append("no acceleration history yet")
    return PhaseEstimate(Phase.MIDCOURSE, tuple(why))


def class_from_metrics(m: np.ndarray, phase: Phase, ground_range_m: float = math.nan) -> ClassEstimate:
    """Missile class of one track from its metrics row, its phase and (if known) launch-to-impact range."""
    erange = float(m[M_ERANGE])
    apogee = float(m[M_APOGEE])
    if not math.isfinite(erange) or erange <= 0.0:
        return ClassEstimate(MissileClass.UNKNOWN, True, erange, apogee, ("energy too low to classify",))
    cls = next(c for c, lim in CLASS_LIMITS_M if erange < lim)
    reasons = [f"energy of a {erange / 1e3:,.0f} km minimum-energy shot ({cls.name} range band)"]
    if math.isfinite(apogee) and apogee > 0.0:
        reasons.append(f"Kepler apogee {apogee / 1e3:,.0f} km")
    if math.isfinite(ground_range_m) and ground_range_m > 0.0:
        reasons.append(f"predicted ground range {ground_range_m / 1e3:,.0f} km")
        if ground_range_m < 0.5 * erange and math.isfinite(apogee) and apogee > 0.6 * ground_range_m:
            reasons.append("lofted: far shorter range than its energy allows")
    provisional = phase == Phase.BOOST
    if provisional:
        reasons.append("still boosting: class is a lower bound")
    return ClassEstimate(cls, provisional, erange, apogee, tuple(reasons))


# ----------------------------------------------------------------------------------------------------------
# boost-phase evidence: which classes of the missile catalog could still be burning, and how far they reach
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoostProfile:
    """A catalog class's nominal boost: speed against time since launch, burnout time and longest range."""

    name: str
    category: str
    t_s: np.ndarray  # (m,) 0 .. burnout, 1 s apart
    speed_m_s: np.ndarray  # (m,) Earth-relative speed then
    burnout_t_s: float
    max_range_m: float  # longest ground range flown by the class (over final pitches 10-45°, launched east)


#: final pitches (degrees above the launch horizontal) flown to find a class's longest range
_RANGE_PITCHES_DEG = (10.0, 20.0, 30.0, 45.0)


@functools.cache
def boost_profiles() -> tuple[BoostProfile, ...]:
    """The nominal boost of every class of ``data/missiles.toml`` (flown once per process, then cached).

    The speed profile hardly depends on the pitch program (thrust dominates: measured under 2% between final
    pitches of 20° and 70°); the longest range is the most any of :data:`_RANGE_PITCHES_DEG` flies, launched
    east from 39°N (Earth's rotation helps: an upper bound for the peninsula's launches)."""
    out = []
    lat, lon, east = math.radians(39.0), math.radians(127.0), math.radians(90.0)
    for name, mc in missile_classes().items():
        best = 0.0
        f = None
        for pitch in _RANGE_PITCHES_DEG:
            f = fly_missile(mc.vehicle, lat, lon, Steering(east, math.radians(pitch), 1e9))
            if math.isfinite(f.range_m):
                best = max(best, f.range_m)
        assert f is not None
        t = np.arange(0.0, f.burnout_t_s, 1.0)
        _, v = f.sample(t)
        out.append(BoostProfile(name, mc.category, t, np.linalg.norm(v, axis=1), f.burnout_t_s, best))
    return tuple(out)


def boost_range_bound_m(
    tau_lo_s: float,
    tau_hi_s: float,
    speed_m_s: float,
    speed_sigma_m_s: float,
    profiles: tuple[BoostProfile, ...],
    *,
    rel_tol: float = 0.35,  # assumption: spread of real missiles around the catalog's nominal boosts
    abs_tol_m_s: float = 200.0,  # assumption: same, absolute
) -> tuple[float, tuple[str, ...]]:
    """Longest range a track still boosting can reach: the largest ``max_range_m`` of the catalog classes whose
    nominal boost is consistent with its speed ``speed_m_s`` (1-σ ``speed_sigma_m_s``) at some time since
    launch in [tau_lo_s, tau_hi_s] (still burning then, and the nominal speed within the tolerances and 3σ).
    When no class fits (an unknown missile), the longest range of the whole catalog. Returns (range_m, names
    of the consistent classes)."""
    fits = []
    slack = 3.0 * max(speed_sigma_m_s, 0.0) + abs_tol_m_s
    for p in profiles:
        lo = max(tau_lo_s, 0.0)
        if lo > p.burnout_t_s:
            continue  # it would have burnt out already
        hi = min(max(tau_hi_s, lo), p.burnout_t_s)
        v_lo = float(np.interp(lo, p.t_s, p.speed_m_s))
        v_hi = float(np.interp(hi, p.t_s, p.speed_m_s))
        if speed_m_s + slack < (1.0 - rel_tol) * v_lo or speed_m_s - slack > (1.0 + rel_tol) * v_hi:
            continue
        fits.append(p)
    if not fits:
        return max(p.max_range_m for p in profiles), ()
    return max(p.max_range_m for p in fits), tuple(p.name for p in fits)
