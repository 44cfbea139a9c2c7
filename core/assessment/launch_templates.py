"""Time since launch of a track from the catalog classes' flights (template matching), with the uncertainty of
which class, pitch program and thrust cut-off it flies.

The gravity-turn back-propagation of :mod:`.launch` places the pad well from any ascending state, but its
elapsed time is good only from early-boost states: from a state after burnout (a short-burn SRBM a radar first
sees coasting, a missile whose thrust was cut early to fly a short range) or late in a multi-stage boost it
is off by tens of seconds to minutes. Here instead every catalog class (``data/missiles.toml``) is flown once
per process over a grid of final pitches and cut-off fractions; each flight is sampled every
:data:`STEP_S` s from launch to apogee (at most :data:`SPAN_AFTER_BURNOUT_S` after burnout) into rows of
(height, Earth-relative speed, flight-path angle, time since launch, ground distance from the pad). A track
state is compared with every row (Mahalanobis distance with the state's own uncertainty plus a template
tolerance: the classes are nominal, real missiles scatter around them); the rows that fit give the time since
launch:

- per class, its best-fitting rows (within ``row_window`` of its best χ²) give a mean time and a spread;
- the classes whose best χ² passes the gate (χ²₃ 99%) are mixed with weights ``exp(-χ²/2)``: the result is
  the mixture's mean and standard deviation, so the uncertainty of which class it is is in the sigma; the
  ground distance flown from the pad is mixed the same way and places the pad (:func:`template_launch`).

After burnout one state cannot tell a short-burn class from a longer-burning one cut early (both coast on the
same arc from different pads at different times): that ambiguity is physical, and the sigma carries it. Two
states of the track can: given the track's state ``dt`` seconds before, a row fits only as well as its flight
``dt`` before it fits that state too, and a long burner cut early was still thrusting (slower, lower) when
the short-burn missile was already coasting.

Contract: heights geodetic (m), speeds Earth-relative (m/s, ECEF), the flight-path angle is the angle of the
ECEF velocity above the local horizontal (rad); times in s since launch. Launch site (39°N, 127°E), azimuth
east: the catalog's region; the templates' dependence on site and azimuth (Earth's rotation adds up to
~0.4 km/s along east) is covered by the speed tolerance.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from triwarn.core.assessment.impact import CHI2_2DOF_95, ellipse_from_cov
from triwarn.core.assessment.launch import LaunchEstimate
from triwarn.core.trajectory.constants import R_MEAN_M
from triwarn.core.trajectory.flight import Steering, fly_missile
from triwarn.core.trajectory.frames import (
    ecef_to_geodetic,
    ecef_to_geodetic_batch,
    ecef_vec_to_enu,
    geodesic_direct,
    geodesic_inverse,
)
from triwarn.core.trajectory.missiles import missile_classes

#: template rows every STEP_S seconds of flight
STEP_S = 2.0
#: rows are kept from launch to apogee, and at most this long after burnout (launch estimates are made for
#: young, ascending tracks)
SPAN_AFTER_BURNOUT_S = 400.0
#: final pitches (degrees above the launch horizontal) and cut-off fractions of the full burn flown per class;
#: the planner (trajectory/planning.py) flies any pitch in 0.5-89.5° and any cut-off: these span it coarsely
PITCHES_DEG = (10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 88.0)
CUT_FRACTIONS = (0.3, 0.45, 0.6, 0.75, 0.9, 1.0)
#: 3-D χ² gate at 99%: a class fits when its best row is within it (6-D: with an earlier state as well)
CHI2_3DOF_99 = 11.345
CHI2_6DOF_99 = 16.812


@dataclass(frozen=True)
class Templates:
    """Rows of every class flight: ``cls`` (m,) index into ``names``, and the features (m,) each."""

    names: tuple[str, ...]
    cls: np.ndarray
    h_m: np.ndarray
    v_m_s: np.ndarray
    gamma_rad: np.ndarray
    tau_s: np.ndarray
    ground_m: np.ndarray  # ground distance from the launch point to the sub-point (m, spherical)
    start: np.ndarray  # index of the first row of the row's flight (rows of a flight are contiguous, τ = STEP_S k)
    count: np.ndarray  # rows of the row's flight
    stopped: np.ndarray  # bool: the row's flight was still climbing where its rows stop (SPAN_AFTER_BURNOUT_S)


def _features(p: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Geodetic (lat rad, lon rad, height m) (m, 3), speed m/s (m,) and flight-path angle rad (m,) of ECEF
    positions ``p`` and velocities ``v`` (m, 3)."""
    geo = ecef_to_geodetic_batch(np.ascontiguousarray(p, dtype=np.float64))
    la, lo = geo[:, 0], geo[:, 1]
    # the velocity's component along the geodetic up, and its angle above the local horizontal
    up = np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=1)
    vu = np.einsum("ij,ij->i", v, up)
    sp = np.linalg.norm(v, axis=1)
    return geo, sp, np.arctan2(vu, np.sqrt(np.maximum(sp * sp - vu * vu, 0.0)))


@functools.cache
def templates() -> Templates:
    """The template rows (flown once per process, then cached: about a second)."""
    lat, lon, east = math.radians(39.0), math.radians(127.0), math.radians(90.0)
    names = []
    parts: list[np.ndarray] = []
    n_rows = 0
    for ci, (name, mc) in enumerate(missile_classes().items()):
        names.append(name)
        full = mc.vehicle.total_burn_s
        for pitch in PITCHES_DEG:
            for frac in CUT_FRACTIONS:
                f = fly_missile(mc.vehicle, lat, lon, Steering(east, math.radians(pitch), frac * full))
                if not f.hit_ground:
                    continue
                top = f.apogee_t_s if math.isfinite(f.apogee_t_s) else f.impact_t_s
                end = min(top, f.burnout_t_s + SPAN_AFTER_BURNOUT_S)
                t = np.arange(STEP_S, max(end, STEP_S), STEP_S)
                p, v = f.sample(t)
                ok = np.isfinite(p).all(axis=1)
                k = t.size if ok.all() else int(np.argmin(ok))  # the rows up to the first non-finite one
                p, v, t = p[:k], v[:k], t[:k]
                geo, sp, gam = _features(p, v)
                gr = R_MEAN_M * _central_angle(lat, lon, geo[:, 0], geo[:, 1])
                stopped = float(end < top or k < t.size)  # cut short of its apogee (or of its finite rows)
                rows = np.column_stack(
                    [np.full(k, ci), geo[:, 2], sp, gam, t, gr, np.full(k, n_rows), np.full(k, k), np.full(k, stopped)]
                )
                parts.append(rows)
                n_rows += k
    allr = np.concatenate(parts)
    return Templates(
        tuple(names),
        allr[:, 0].astype(np.int64),
        np.ascontiguousarray(allr[:, 1]),
        np.ascontiguousarray(allr[:, 2]),
        np.ascontiguousarray(allr[:, 3]),
        np.ascontiguousarray(allr[:, 4]),
        np.ascontiguousarray(allr[:, 5]),
        allr[:, 6].astype(np.int64),
        allr[:, 7].astype(np.int64),
        allr[:, 8] > 0.5,
    )


@functools.cache
def _earliest_by_height() -> tuple[np.ndarray, np.ndarray]:
    """Template heights sorted ascending (m,) and, per entry, the earliest time since launch of any row at
    that height or above (m,): the suffix minimum of τ over the sorted heights."""
    tp = templates()
    order = np.argsort(tp.h_m, kind="stable")
    h = tp.h_m[order]
    tau = np.minimum.accumulate(tp.tau_s[order][::-1])[::-1]
    # a flight's rows stop SPAN_AFTER_BURNOUT_S after burnout, maybe still climbing: above its last row it may
    # still come, but no earlier than that row's time; so no height's bound exceeds the earliest such time
    last = np.unique((tp.start + tp.count - 1)[tp.stopped])
    if last.size:
        tau = np.minimum(tau, float(tp.tau_s[last].min()))
    return np.ascontiguousarray(h), np.ascontiguousarray(tau)


def earliest_time_at_height(h_m: float, *, tol_h_frac: float = 0.05, tol_h_m: float = 1_000.0) -> float:
    """The least time since launch (s, ≥ 0) at which any catalog class, flown at any of the templates' pitches
    and cut-offs, reaches height ``h_m`` (m, geodetic) less the templates' height scatter (``tol_h_frac`` of it
    plus ``tol_h_m``: the defaults of :func:`time_since_launch`), less one template step (rows are
    :data:`STEP_S` apart), and never more than the earliest last row of a flight whose rows stop while it still
    climbs (:data:`SPAN_AFTER_BURNOUT_S`). 0 at or below the ground. A lower bound on the time since launch of
    an object seen at that height."""
    h_eff = h_m * (1.0 - tol_h_frac) - tol_h_m
    if not h_eff > 0.0:
        return 0.0
    h, tau = _earliest_by_height()
    i = min(int(np.searchsorted(h, h_eff, side="left")), h.size - 1)
    return max(float(tau[i]) - STEP_S, 0.0)


def _central_angle(lat0: float, lon0: float, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Great-circle angle (rad) from one point to many (haversine; geodetic latitudes on a sphere)."""
    a = np.sin(0.5 * (lat - lat0)) ** 2 + math.cos(lat0) * np.cos(lat) * np.sin(0.5 * (lon - lon0)) ** 2
    return 2.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _distances(
    tp: Templates,
    x: np.ndarray,
    P: np.ndarray,
    tol_h_frac: float,
    tol_h_m: float,
    tol_v_frac: float,
    tol_v_m_s: float,
    tol_gamma_rad: float,
    before_s: float = 0.0,
) -> np.ndarray | None:
    """Squared normalised distance (m,) of the ECEF state ``x`` (covariance ``P``) to every row's flight
    ``before_s`` seconds before the row (interpolated between its flight's rows; inf where that is before
    launch). None when the state has no usable features."""
    geo, spd, gam = _features(x[None, :3], x[None, 3:6])
    h, v, g = float(geo[0, 2]), float(spd[0]), float(gam[0])
    if not (math.isfinite(h) and math.isfinite(v) and math.isfinite(g)) or v <= 0.0:
        return None
    # the state's own uncertainty in the features: position variance on the height, velocity on the speed
    # and on the angle (σ_v / v)
    sp = math.sqrt(max(float(np.trace(P[:3, :3])) / 3.0, 0.0))
    sv = math.sqrt(max(float(np.trace(P[3:, 3:])) / 3.0, 0.0))
    var_h = sp * sp + (tol_h_frac * h + tol_h_m) ** 2
    var_v = sv * sv + (tol_v_frac * v + tol_v_m_s) ** 2
    var_g = (sv / v) ** 2 + tol_gamma_rad**2
    if before_s <= 0.0:
        th, tv, tg = tp.h_m, tp.v_m_s, tp.gamma_rad
    else:  # the row's flight at τ - before_s: between its rows k and k + 1 (τ_k = STEP_S (k + 1))
        tau = tp.tau_s - before_s
        k = np.clip(np.floor(tau / STEP_S).astype(np.int64) - 1, 0, np.maximum(tp.count - 2, 0))
        j0 = tp.start + k
        j1 = np.minimum(j0 + 1, tp.start + tp.count - 1)
        w = np.clip((tau - tp.tau_s[j0]) / STEP_S, 0.0, 1.0)
        th = tp.h_m[j0] + w * (tp.h_m[j1] - tp.h_m[j0])
        tv = tp.v_m_s[j0] + w * (tp.v_m_s[j1] - tp.v_m_s[j0])
        tg = tp.gamma_rad[j0] + w * (tp.gamma_rad[j1] - tp.gamma_rad[j0])
    d2 = (th - h) ** 2 / var_h + (tv - v) ** 2 / var_v + (tg - g) ** 2 / var_g
    if before_s > 0.0:
        d2 = np.where(tp.tau_s - before_s >= 0.0, d2, np.inf)
    return d2


@dataclass(frozen=True)
class TimeSinceLaunch:
    """Time since launch at the state's time (s), its 1-σ (s), the classes that fit (best first), and the ground
    distance flown from the launch point to the state's sub-point (m) with its 1-σ."""

    valid: bool
    tau_s: float
    sigma_s: float
    classes: tuple[str, ...]
    ground_m: float = math.nan
    ground_sigma_m: float = math.nan


def time_since_launch(
    x: np.ndarray,
    P: np.ndarray,
    *,
    tol_h_frac: float = 0.05,  # assumption: template scatter of the height, fraction (not a published figure)
    tol_h_m: float = 1_000.0,  # assumption: ... plus this (m)
    tol_v_frac: float = 0.04,  # assumption: template scatter of the speed, fraction
    tol_v_m_s: float = 60.0,  # assumption: ... plus this (m/s): Earth rotation by azimuth and site
    tol_gamma_rad: float = math.radians(3.0),  # assumption: template scatter of the flight-path angle
    row_window: float = 2.0,
    earlier: tuple[np.ndarray, np.ndarray, float] | None = None,
    templ: Templates | None = None,
) -> TimeSinceLaunch:
    """Time since launch of one ascending ECEF state ``x`` (6,) with covariance ``P`` (6, 6) (see the module
    docstring). Not valid when no class fits.

    ``earlier``: the same track's state ``dt_s`` seconds before (ECEF (6,), its covariance (6, 6), ``dt_s`` > 0).
    A row then fits only as well as its flight, ``dt_s`` earlier, fits that state too (the features' distances
    add: χ²₆). That is what tells a short-burn class seen coasting from a longer-burning class cut early that
    reaches the same state later: ``dt_s`` earlier the long burner was still thrusting, slower. A hypothesis
    that puts the earlier state before launch does not fit. When no class fits both states, ``x`` alone."""
    tp = templ if templ is not None else templates()
    d2 = _distances(tp, x, P, tol_h_frac, tol_h_m, tol_v_frac, tol_v_m_s, tol_gamma_rad)
    if d2 is None:
        return TimeSinceLaunch(False, math.nan, math.nan, ())
    n_cls = len(tp.names)
    best = np.full(n_cls, np.inf)
    if earlier is not None and earlier[2] > 0.0:
        x0, p0, dt_s = earlier
        d0 = _distances(tp, x0, p0, tol_h_frac, tol_h_m, tol_v_frac, tol_v_m_s, tol_gamma_rad, before_s=dt_s)
        if d0 is not None:
            both = d2 + d0
            np.minimum.at(best, tp.cls, both)
            if (best <= CHI2_6DOF_99).any():
                d2, gate = both, CHI2_6DOF_99
            else:
                best[:] = np.inf
    if not np.isfinite(best).any():
        np.minimum.at(best, tp.cls, d2)
        gate = CHI2_3DOF_99
    fits = np.nonzero(best <= gate)[0]
    if fits.size == 0:
        return TimeSinceLaunch(False, math.nan, math.nan, ())
    # per class: the weighted mean and variance of (time, ground distance) over its best rows
    mom = np.empty((fits.size, 5))  # weight, mean time, var time, mean ground, var ground
    for i, c in enumerate(fits.tolist()):
        sel = (tp.cls == c) & (d2 <= best[c] + row_window)
        w = np.exp(-0.5 * (d2[sel] - best[c]))
        mt = float(np.average(tp.tau_s[sel], weights=w))
        mg = float(np.average(tp.ground_m[sel], weights=w))
        mom[i] = (
            math.exp(-0.5 * (best[c] - best[fits].min())),
            mt,
            float(np.average((tp.tau_s[sel] - mt) ** 2, weights=w)) + STEP_S**2 / 12.0,
            mg,
            float(np.average((tp.ground_m[sel] - mg) ** 2, weights=w)),
        )
    wa = mom[:, 0] / mom[:, 0].sum()
    mu = float(wa @ mom[:, 1])
    var = float(wa @ (mom[:, 2] + (mom[:, 1] - mu) ** 2))
    mug = float(wa @ mom[:, 3])
    varg = float(wa @ (mom[:, 4] + (mom[:, 3] - mug) ** 2))
    order = np.argsort(-wa, kind="stable")
    names = tuple(tp.names[int(fits[i])] for i in order)
    return TimeSinceLaunch(True, mu, math.sqrt(var), names, mug, math.sqrt(varg))


def template_launch(
    x: np.ndarray,
    P: np.ndarray,
    est: LaunchEstimate,
    boosting: bool,
    *,
    earlier: tuple[np.ndarray, np.ndarray, float] | None = None,
    az_floor_rad: float = math.radians(2.0),  # assumption: the ground track's bend (Earth rotation) back to the pad
    templ: Templates | None = None,
) -> LaunchEstimate:
    """The launch estimate of one ascending ECEF state ``x`` (6,) (covariance ``P``) from the back-propagated
    one ``est`` (:func:`.launch.estimate_launch`) and the templates.

    A state seen boosting keeps ``est`` (time and point) when its time lies within 2σ of the templates' (the
    gravity-turn model is best early in the boost, and the templates cannot tell the pitch program there).
    Otherwise (late in a multi-stage boost, where the one-stage model fails) and after burnout: the templates'
    time, and as the point the state's sub-point moved back along its ground-track azimuth by the templates'
    ground distance, unless ``est``'s point is consistent with it (3σ) and tighter. Without a template fit,
    ``est`` unchanged. ``earlier``: see :func:`time_since_launch`."""
    tl = time_since_launch(x, P, earlier=earlier, templ=templ)
    if not tl.valid:
        return est
    if est.valid and boosting and abs(-est.t_s - tl.tau_s) <= 2.0 * tl.sigma_s:
        return est
    t_s, t_sig = -tl.tau_s, tl.sigma_s
    la, lo, _ = ecef_to_geodetic(x[0], x[1], x[2])
    e, n, _ = ecef_vec_to_enu(x[3], x[4], x[5], la, lo)
    hs = math.hypot(e, n)
    sv = math.sqrt(max(float(np.trace(P[3:, 3:])) / 3.0, 0.0))
    az_back = math.atan2(e, n) + math.pi
    if hs > 3.0 * sv and tl.ground_m > 0.0:
        la2, lo2, _ = geodesic_direct(la, lo, az_back % (2.0 * math.pi), tl.ground_m)
    else:  # no heading yet (vertical rise): the pad is under the state
        la2, lo2 = la, lo
    sig_az = min(sv / hs, 1.0) if hs > 0.0 else 1.0
    s_along = math.hypot(tl.ground_sigma_m, 0.02 * tl.ground_m) + 500.0
    s_cross = tl.ground_m * math.hypot(sig_az, az_floor_rad) + 500.0
    # covariance in east/north: along-track axis at the back azimuth
    ca, sa = math.cos(az_back), math.sin(az_back)
    rot = np.array([[sa, ca], [ca, -sa]])  # columns: along (east, north), cross
    cov = rot @ np.diag([s_along**2, s_cross**2]) @ rot.T
    a, b, o = ellipse_from_cov(cov[0, 0], cov[0, 1], cov[1, 1], CHI2_2DOF_95)
    lat_deg, lon_deg = math.degrees(la2), math.degrees(lo2)
    use_est = False
    if est.valid and est.semi_major_m < a:
        d = geodesic_inverse(la2, lo2, math.radians(est.lat_deg), math.radians(est.lon_deg))[0]
        use_est = d <= 3.0 * math.sqrt(s_along**2 + s_cross**2 + float(np.trace(est.cov_en_m2)))
    if use_est:
        lat_deg, lon_deg, cov = est.lat_deg, est.lon_deg, est.cov_en_m2
        a, b, o = est.semi_major_m, est.semi_minor_m, est.orientation_deg
    return LaunchEstimate(
        True, lat_deg, lon_deg, t_s, t_sig, cov, a, b, o,
        est.thrust_accel_m_s2 if est.valid else math.nan, tl.ground_m,
    )  # fmt: skip
