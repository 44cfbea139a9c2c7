"""Flight propagation: adaptive Dormand–Prince 5(4) in numba, with events and dense output.

One integrator flies every phase of a missile: powered flight stage by stage, free flight with J2 on the
rotating Earth, and re-entry through the USSA-1976 atmosphere. A batch form flies many ballistic states
(sigma points, Monte Carlo samples) to the ground in one call, in parallel across cores.

Glossary (SI units; frames in names)
------------------------------------
- state ``y`` (7,): ``[x, y, z, vx, vy, vz, m]`` in rotating ECEF (WGS-84), m, m/s, kg. The atmosphere turns
  with the Earth, so the ECEF velocity is the air-relative velocity.
- equations of motion (docs/trajectory.md, "Model"):
  ``r' = v``; ``v' = g_J2(r) − 2ω×v − ω×(ω×r) + (T/m) û − ρ(h)|v|v/(2β)``;
  ``m' = −ṁ`` while a stage burns. ``β = m / (C_D A)`` in kg/m²: for the boosting stack ``m / CdA`` of the
  stage, after burnout the re-entry vehicle's ``beta_rv``.
- ``earth`` (6,): the Earth model, built by :func:`earth_model`: ``[μ, Re_J2, J2, ω, R_sphere, drag]``.
  ``R_sphere > 0`` replaces the WGS-84 geodetic height by ``|r| − R_sphere`` (a spherical Earth, used for the
  Kepler cross-check); ``drag = 0`` switches the atmosphere off.
- ``veh`` (VEH_SIZE,): the vehicle, built by :func:`triwarn.core.trajectory.flight.Vehicle.as_array`: number
  of stages, re-entry-vehicle mass and β, vertical-rise time, pitch-over time (0: until cut-off), the
  re-entry vehicle's lift-to-drag ratio (0: ballistic; > 0: a quasi-ballistic glide after apogee, see
  :func:`_glide_lift`), then per stage thrust (N), mass flow (kg/s),
  burn time (s), dry mass (kg), propellant (kg), drag area C_D·A (m²). Offsets are the ``V_*`` names.
- ``steer`` (STEER_SIZE,): the steering: final pitch angle above the launch horizontal (rad), the cut-off
  time (s), the launch-site up unit vector and the horizontal unit vector along the launch azimuth (ECEF).
  Pitch program: vertical for ``t_vert_s``, then the thrust direction turns linearly in time, in the plane of
  those two vectors, from vertical to the final pitch at cut-off (a common open-loop program), or, when the
  vehicle sets a pitch-over time ``t_pitch_s > 0``, reaches the final pitch after that time and holds it.
- segment ``mode``: a stage index 0..2 while that stage burns; ``MODE_COAST`` (−1) in free flight.

Dormand–Prince 5(4) with its 4th-order continuous extension: Hairer, Nørsett & Wanner, "Solving Ordinary
Differential Equations I", 2nd ed., section II.5 and II.6 (the DOPRI5 code; coefficients as in dopri5.f).
Events are located by Illinois-secant root finding on the dense output.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

from triwarn.core.jit import kernel
from triwarn.core.trajectory.atmosphere import upper_table, ussa1976_density
from triwarn.core.trajectory.constants import A_M, B_M, GM_M3_S2, J2, OMEGA_E_RAD_S, RE_J2_M
from triwarn.core.trajectory.frames import ecef_to_geodetic, height_along_radius_m
from triwarn.core.trajectory.gravity import accel_j2_ecef_rotating

# --- array layouts (plain ints: immutable) -------------------------------------------------------------
E_MU, E_RE, E_J2, E_OMEGA, E_SPHERE, E_DRAG = 0, 1, 2, 3, 4, 5
EARTH_SIZE = 6

V_NSTAGES, V_MASS_RV, V_BETA_RV, V_TVERT, V_TPITCH, V_LD = 0, 1, 2, 3, 4, 5
V_STAGE0 = 6
V_STAGE_STRIDE = 6
S_THRUST, S_MDOT, S_BURN, S_DRY, S_PROP, S_CDA = 0, 1, 2, 3, 4, 5
MAX_STAGES = 3
VEH_SIZE = V_STAGE0 + V_STAGE_STRIDE * MAX_STAGES

ST_PITCH_END, ST_TCUT, ST_UP, ST_HOR = 0, 1, 2, 5
STEER_SIZE = 8

MODE_COAST = -1

#: Integrator status codes.
STATUS_IMPACT = 1
STATUS_TIME_LIMIT = 0
STATUS_MAX_STEPS = -1
STATUS_STEP_UNDERFLOW = -2

#: Events recorded by :func:`fly` (rows of its ``events`` output, columns ``[t_s, y(7)]``; t = NaN if none).
EV_BURNOUT, EV_APOGEE, EV_REENTRY, EV_IMPACT = 0, 1, 2, 3
N_EVENTS = 4

#: Geodetic height of the re-entry interface, m (the common 100 km convention).
REENTRY_INTERFACE_M = 100_000.0
#: Above this height the USSA-1976 density is taken as zero (its table ends at 1000 km).
ATMOSPHERE_TOP_M = 1_000_000.0

# --- Dormand–Prince 5(4) tableau (Hairer's dopri5.f) --------------------------------------------------
C2, C3, C4, C5 = 0.2, 0.3, 0.8, 8.0 / 9.0
A21 = 0.2
A31, A32 = 3.0 / 40.0, 9.0 / 40.0
A41, A42, A43 = 44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0
A51, A52, A53, A54 = 19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0
A61, A62, A63, A64, A65 = 9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0
A71, A73, A74, A75, A76 = 35.0 / 384.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0
E1, E3, E4, E5, E6, E7 = (
    71.0 / 57600.0,
    -71.0 / 16695.0,
    71.0 / 1920.0,
    -17253.0 / 339200.0,
    22.0 / 525.0,
    -1.0 / 40.0,
)
D1, D3, D4, D5, D6, D7 = (
    -12715105075.0 / 11282082432.0,
    87487479700.0 / 32700410799.0,
    -10690763975.0 / 1880347072.0,
    701980252875.0 / 199316789632.0,
    -1453857185.0 / 822651844.0,
    69997945.0 / 29380423.0,
)
NY = 7


def earth_model(
    *,
    mu_m3_s2: float = GM_M3_S2,
    re_m: float = RE_J2_M,
    j2: float = J2,
    omega_rad_s: float = OMEGA_E_RAD_S,
    sphere_radius_m: float = 0.0,
    drag: bool = True,
) -> np.ndarray:
    """The ``earth`` array of the kernels. Defaults: WGS-84, J2, rotating, with the USSA-1976 atmosphere."""
    return np.array([mu_m3_s2, re_m, j2, omega_rad_s, sphere_radius_m, 1.0 if drag else 0.0])


@kernel
def height_m(x_m: float, y_m: float, z_m: float, earth: np.ndarray) -> float:
    """Height above the Earth's surface (m): WGS-84 geodetic height, or ``|r| − R`` on a spherical Earth."""
    if earth[E_SPHERE] > 0.0:
        return math.sqrt(x_m * x_m + y_m * y_m + z_m * z_m) - earth[E_SPHERE]
    return ecef_to_geodetic(x_m, y_m, z_m)[2]


@kernel
def air_height_m(x_m: float, y_m: float, z_m: float, earth: np.ndarray) -> float:
    """Height (m) for the atmosphere model: the distance above the WGS-84 ellipsoid along the geocentric
    ray, r (1 − a b / √(b² p² + a² z²)). It differs from the geodetic height by the tilt between the ray and
    the ellipsoid normal (≤ 0.2°): under 1 m below 120 km, under 20 m at 1000 km, i.e. < 0.02 % in density,
    for a seventh of the cost of the iterative geodetic height (which the ground events keep using)."""
    if earth[E_SPHERE] > 0.0:
        return math.sqrt(x_m * x_m + y_m * y_m + z_m * z_m) - earth[E_SPHERE]
    return height_along_radius_m(x_m, y_m, z_m, A_M, B_M)


@kernel
def deriv(
    t_s: float,
    y: np.ndarray,
    mode: int,
    veh: np.ndarray,
    steer: np.ndarray,
    earth: np.ndarray,
    atm_z_m: np.ndarray,
    atm_ln_rho: np.ndarray,
    dy: np.ndarray,
):
    """Right-hand side ``dy = f(t, y)`` of the equations of motion (see the module glossary)."""
    ax, ay, az = accel_j2_ecef_rotating(
        y[0], y[1], y[2], y[3], y[4], y[5], earth[E_MU], earth[E_RE], earth[E_J2], earth[E_OMEGA]
    )
    m = y[6]
    dm = 0.0
    if mode >= 0:
        base = V_STAGE0 + V_STAGE_STRIDE * mode
        thrust = veh[base + S_THRUST]
        dm = -veh[base + S_MDOT]
        cda = veh[base + S_CDA]
        beta = m / cda if cda > 0.0 else 0.0
        # pitch program in the launch plane: vertical, then linear in time to the final pitch at cut-off
        t_vert = veh[V_TVERT]
        t_turn = steer[ST_TCUT]
        if veh[V_TPITCH] > 0.0:
            t_turn = min(t_turn, t_vert + veh[V_TPITCH])
        pitch = 0.5 * math.pi
        if t_s > t_vert and t_turn > t_vert:
            frac = min(1.0, (t_s - t_vert) / (t_turn - t_vert))
            pitch = 0.5 * math.pi + (steer[ST_PITCH_END] - 0.5 * math.pi) * frac
        sp = math.sin(pitch)
        cp = math.cos(pitch)
        k = thrust / m
        ax += k * (cp * steer[ST_HOR] + sp * steer[ST_UP])
        ay += k * (cp * steer[ST_HOR + 1] + sp * steer[ST_UP + 1])
        az += k * (cp * steer[ST_HOR + 2] + sp * steer[ST_UP + 2])
    else:
        beta = veh[V_BETA_RV]
    if earth[E_DRAG] > 0.0 and beta > 0.0:
        h = air_height_m(y[0], y[1], y[2], earth)
        if h < ATMOSPHERE_TOP_M:
            rho = ussa1976_density(max(h, 0.0), atm_z_m, atm_ln_rho)
            speed = math.sqrt(y[3] * y[3] + y[4] * y[4] + y[5] * y[5])
            kd = -rho * speed / (2.0 * beta)
            ax += kd * y[3]
            ay += kd * y[4]
            az += kd * y[5]
            if mode < 0 and veh[V_LD] > 0.0 and speed > 0.0:
                ax, ay, az = _glide_lift(y, ax, ay, az, veh[V_LD] * (-kd) * speed, speed)
    dy[0] = y[3]
    dy[1] = y[4]
    dy[2] = y[5]
    dy[3] = ax
    dy[4] = ay
    dy[5] = az
    dy[6] = dm


@kernel
def _glide_lift(y: np.ndarray, ax: float, ay: float, az: float, lift_max: float, speed: float):
    """Add the lift of a quasi-ballistic vehicle descending after apogee: perpendicular to the velocity, in
    the vertical plane, upwards, at most ``lift_max`` (= L/D times the drag) and at most what holds the flight
    path level (equilibrium glide: it slows the descent, never climbs). Returns the new acceleration."""
    r = math.sqrt(y[0] * y[0] + y[1] * y[1] + y[2] * y[2])
    ux, uy, uz = y[0] / r, y[1] / r, y[2] / r
    vx, vy, vz = y[3] / speed, y[4] / speed, y[5] / speed
    s = ux * vx + uy * vy + uz * vz  # sine of the flight-path angle
    if s >= 0.0:
        return ax, ay, az  # climbing or level: no lift (the glide starts after apogee)
    nx, ny, nz = ux - s * vx, uy - s * vy, uz - s * vz  # up, minus its part along v
    nn = math.sqrt(nx * nx + ny * ny + nz * nz)
    if nn <= 0.0:
        return ax, ay, az
    nx, ny, nz = nx / nn, ny / nn, nz / nn
    # the part of the other accelerations (gravity) that bends the path down, along -n
    need = -(ax * nx + ay * ny + az * nz)
    lift = min(lift_max, max(need, 0.0))
    return ax + lift * nx, ay + lift * ny, az + lift * nz


@kernel
def dense_point(rc: np.ndarray, theta: float, out: np.ndarray):
    """Evaluate the DOPRI5 continuous extension ``rc`` (5, 7) of one step at ``theta`` in [0, 1]."""
    t1 = 1.0 - theta
    for i in range(NY):
        out[i] = rc[0, i] + theta * (rc[1, i] + t1 * (rc[2, i] + theta * (rc[3, i] + t1 * rc[4, i])))


@kernel
def _event_value(kind: int, y: np.ndarray, level: float, earth: np.ndarray) -> float:
    """kind 0: height − level (m); kind 1: r·v (apogee when it turns negative)."""
    if kind == 0:
        return height_m(y[0], y[1], y[2], earth) - level
    return y[0] * y[3] + y[1] * y[4] + y[2] * y[5]


@kernel
def _locate(rc: np.ndarray, kind: int, level: float, g0: float, g1: float, earth: np.ndarray, tmp: np.ndarray) -> float:
    """Root of an event function inside one step, by Illinois regula falsi on the dense output; theta."""
    a, b = 0.0, 1.0
    ga, gb = g0, g1
    side = 0
    theta = 1.0
    for _ in range(60):
        theta = 0.5 * (a + b) if gb == ga else (a * gb - b * ga) / (gb - ga)
        dense_point(rc, theta, tmp)
        g = _event_value(kind, tmp, level, earth)
        if g == 0.0 or (b - a) < 1e-13:
            break
        if (g > 0.0) == (ga > 0.0):
            a, ga = theta, g
            if side == -1:
                gb *= 0.5
            side = -1
        else:
            b, gb = theta, g
            if side == 1:
                ga *= 0.5
            side = 1
    return theta


@kernel
def fly(
    y0: np.ndarray,
    t0_s: float,
    seg_t_end: np.ndarray,
    seg_mode: np.ndarray,
    seg_mass_after: np.ndarray,
    veh: np.ndarray,
    steer: np.ndarray,
    earth: np.ndarray,
    atm_z_m: np.ndarray,
    atm_ln_rho: np.ndarray,
    t_max_s: float,
    rtol: float,
    atol: float,
    h_max_s: float,
    max_steps: int,
    store: bool,
):
    """Integrate one flight through its segments until the ground (height 0 crossed downward) or ``t_max_s``.

    Segments (n_seg,): segment ``k`` ends at ``seg_t_end[k]`` (s; the last one is cut by the impact or
    ``t_max_s``) and flies in ``seg_mode[k]``; at its end the mass becomes ``seg_mass_after[k]`` (kg; staging
    drops a dry stage, cut-off releases the re-entry vehicle) unless that is negative.

    Returns ``(status, n_steps, step_t0 (max_steps,), step_h (max_steps,), step_rc (max_steps, 5, 7),
    step_mode (max_steps,), events (N_EVENTS, 8))``. With ``store`` False the step arrays have length 1 and
    stay unused. ``events[k] = [t_s, y(7)]`` for burnout, apogee, re-entry interface and impact (NaN rows
    when the event did not happen). Status: :data:`STATUS_IMPACT`, :data:`STATUS_TIME_LIMIT`,
    :data:`STATUS_MAX_STEPS` or :data:`STATUS_STEP_UNDERFLOW`.
    """
    n_store = max_steps if store else 1
    step_t0 = np.empty(n_store)
    step_h = np.empty(n_store)
    step_rc = np.empty((n_store, 5, NY))
    step_mode = np.empty(n_store, dtype=np.int64)
    events = np.full((N_EVENTS, 1 + NY), np.nan)

    y = y0.copy()
    ynew = np.empty(NY)
    ytmp = np.empty(NY)
    k1 = np.empty(NY)
    k2 = np.empty(NY)
    k3 = np.empty(NY)
    k4 = np.empty(NY)
    k5 = np.empty(NY)
    k6 = np.empty(NY)
    k7 = np.empty(NY)
    rc = np.empty((5, NY))
    tmp = np.empty(NY)

    t = t0_s
    h = 0.5
    n_steps = 0
    n_seg = seg_t_end.shape[0]
    status = STATUS_TIME_LIMIT
    g_h_prev = _event_value(0, y, 0.0, earth)
    g_apo_prev = _event_value(1, y, 0.0, earth)
    g_re_prev = g_h_prev - REENTRY_INTERFACE_M
    done = False
    if seg_mode[0] == MODE_COAST and g_h_prev <= 0.0:  # already on or below the ground
        events[EV_IMPACT, 0] = t
        events[EV_IMPACT, 1:] = y
        return STATUS_IMPACT, n_steps, step_t0, step_h, step_rc, step_mode, events
    for seg in range(n_seg):
        mode = seg_mode[seg]
        t_end = min(seg_t_end[seg], t_max_s) if seg < n_seg - 1 else t_max_s
        deriv(t, y, mode, veh, steer, earth, atm_z_m, atm_ln_rho, k1)
        h = min(h, h_max_s)
        while t < t_end and not done:
            if n_steps >= max_steps:
                status = STATUS_MAX_STEPS
                done = True
                break
            last = False
            if t + h >= t_end:
                h = t_end - t
                last = True
            # stages 2..7
            for i in range(NY):
                ytmp[i] = y[i] + h * A21 * k1[i]
            deriv(t + C2 * h, ytmp, mode, veh, steer, earth, atm_z_m, atm_ln_rho, k2)
            for i in range(NY):
                ytmp[i] = y[i] + h * (A31 * k1[i] + A32 * k2[i])
            deriv(t + C3 * h, ytmp, mode, veh, steer, earth, atm_z_m, atm_ln_rho, k3)
            for i in range(NY):
                ytmp[i] = y[i] + h * (A41 * k1[i] + A42 * k2[i] + A43 * k3[i])
            deriv(t + C4 * h, ytmp, mode, veh, steer, earth, atm_z_m, atm_ln_rho, k4)
            for i in range(NY):
                ytmp[i] = y[i] + h * (A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i])
            deriv(t + C5 * h, ytmp, mode, veh, steer, earth, atm_z_m, atm_ln_rho, k5)
            for i in range(NY):
                ytmp[i] = y[i] + h * (A61 * k1[i] + A62 * k2[i] + A63 * k3[i] + A64 * k4[i] + A65 * k5[i])
            deriv(t + h, ytmp, mode, veh, steer, earth, atm_z_m, atm_ln_rho, k6)
            for i in range(NY):
                ynew[i] = y[i] + h * (A71 * k1[i] + A73 * k3[i] + A74 * k4[i] + A75 * k5[i] + A76 * k6[i])
            deriv(t + h, ynew, mode, veh, steer, earth, atm_z_m, atm_ln_rho, k7)
            err = 0.0
            for i in range(NY):
                e = h * (E1 * k1[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i] + E6 * k6[i] + E7 * k7[i])
                sc = atol + rtol * max(abs(y[i]), abs(ynew[i]))
                err += (e / sc) ** 2
            err = math.sqrt(err / NY)
            if not err <= 1.0:  # also rejects NaN
                h *= max(0.2, 0.9 * err**-0.2) if math.isfinite(err) else 0.1
                if h < 1e-9 * max(1.0, abs(t)):
                    status = STATUS_STEP_UNDERFLOW
                    done = True
                continue
            # accepted: continuous extension
            for i in range(NY):
                ydiff = ynew[i] - y[i]
                bspl = h * k1[i] - ydiff
                rc[0, i] = y[i]
                rc[1, i] = ydiff
                rc[2, i] = bspl
                rc[3, i] = ydiff - h * k7[i] - bspl
                rc[4, i] = h * (D1 * k1[i] + D3 * k3[i] + D4 * k4[i] + D5 * k5[i] + D6 * k6[i] + D7 * k7[i])
            if store:
                step_t0[n_steps] = t
                step_h[n_steps] = h
                step_mode[n_steps] = mode
                for j in range(5):
                    for i in range(NY):
                        step_rc[n_steps, j, i] = rc[j, i]
            n_steps += 1
            # events
            g_h = _event_value(0, ynew, 0.0, earth)
            g_apo = _event_value(1, ynew, 0.0, earth)
            g_re = g_h - REENTRY_INTERFACE_M
            if g_apo_prev > 0.0 and g_apo <= 0.0 and math.isnan(events[EV_APOGEE, 0]):
                th = _locate(rc, 1, 0.0, g_apo_prev, g_apo, earth, tmp)
                dense_point(rc, th, tmp)
                events[EV_APOGEE, 0] = t + th * h
                events[EV_APOGEE, 1:] = tmp
            if (
                g_re_prev > 0.0
                and g_re <= 0.0
                and mode == MODE_COAST
                and not math.isnan(events[EV_APOGEE, 0])
                and math.isnan(events[EV_REENTRY, 0])
            ):
                th = _locate(rc, 0, REENTRY_INTERFACE_M, g_re_prev, g_re, earth, tmp)
                dense_point(rc, th, tmp)
                events[EV_REENTRY, 0] = t + th * h
                events[EV_REENTRY, 1:] = tmp
            if g_h <= 0.0 and (g_h_prev > 0.0 or t > t0_s + 5.0):
                th = 1.0
                if g_h_prev > 0.0:
                    th = _locate(rc, 0, 0.0, g_h_prev, g_h, earth, tmp)
                dense_point(rc, th, tmp)
                events[EV_IMPACT, 0] = t + th * h
                events[EV_IMPACT, 1:] = tmp
                if store:
                    step_h[n_steps - 1] = h  # the polynomial stays valid on the whole step
                status = STATUS_IMPACT
                done = True
                break
            g_h_prev, g_apo_prev, g_re_prev = g_h, g_apo, g_re
            # advance
            t = t + h
            for i in range(NY):
                y[i] = ynew[i]
                k1[i] = k7[i]
            if last:
                break
            fac = 5.0 if err == 0.0 else min(5.0, max(0.2, 0.9 * err**-0.2))
            h = min(h * fac, h_max_s)
        if done:
            break
        # end of a segment: staging or cut-off
        if seg < n_seg - 1:
            if seg_mass_after[seg] >= 0.0:
                y[6] = seg_mass_after[seg]
            if mode >= 0 and seg_mode[seg + 1] == MODE_COAST:
                events[EV_BURNOUT, 0] = t
                events[EV_BURNOUT, 1:] = y
            h = max(h, 0.5)
        if t >= t_max_s:
            break
    return status, n_steps, step_t0, step_h, step_rc, step_mode, events


@kernel
def dense_sample(
    step_t0: np.ndarray, step_h: np.ndarray, step_rc: np.ndarray, n_steps: int, t_s: np.ndarray
) -> np.ndarray:
    """State ``y`` (m, 7) at the sorted or unsorted times ``t_s`` (m,) from stored DOPRI5 steps.

    Times before the first step or after the last step's end give NaN rows.
    """
    m = t_s.shape[0]
    out = np.full((m, NY), np.nan)
    tmp = np.empty(NY)
    if n_steps == 0:
        return out
    t_first = step_t0[0]
    t_last = step_t0[n_steps - 1] + step_h[n_steps - 1]
    for j in range(m):
        t = t_s[j]
        if not (t >= t_first and t <= t_last):
            continue
        k = np.searchsorted(step_t0[:n_steps], t, side="right") - 1
        if k < 0:
            k = 0
        theta = (t - step_t0[k]) / step_h[k] if step_h[k] > 0.0 else 0.0
        dense_point(step_rc[k], theta, tmp)
        for i in range(NY):
            out[j, i] = tmp[i]
    return out


@kernel(parallel=True)
def propagate_to_impact_kernel(
    states_ecef: np.ndarray,
    t0_s: float,
    beta_kg_m2: np.ndarray,
    lift_to_drag: np.ndarray,
    earth: np.ndarray,
    atm_z_m: np.ndarray,
    atm_ln_rho: np.ndarray,
    t_max_s: float,
    rtol: float,
    atol: float,
    h_max_s: float,
    max_steps: int,
    n_chunks: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Ballistic (or gliding) flight of n states (n, 6) [ECEF m, m/s] from ``t0_s`` to the ground, in
    parallel (``n_chunks`` tasks; a few per thread).

    ``beta_kg_m2`` (n,): ballistic coefficient per state (≤ 0 or inf: no drag). ``lift_to_drag`` (n,): L/D
    of a quasi-ballistic re-entry vehicle's equilibrium-glide lift (``_glide_lift``; ≤ 0: ballistic). Returns
    ``(impact_pos_ecef_m (n, 3), impact_t_s (n,))``; rows that do not reach the ground before ``t_max_s``
    (orbit, escape) or whose integration fails are NaN.
    """
    n = states_ecef.shape[0]
    pos = np.full((n, 3), np.nan)
    t_imp = np.full(n, np.nan)
    # Rows go in chunks, one chunk per task, each with private copies of the shared read-only arrays: numba
    # increments and decrements the reference count of every array passed to a call, and threads doing that
    # on the same arrays fight over one cache line (docs/trajectory.md, "Batch impact propagation").
    n_chunks = max(1, min(n, n_chunks))
    for c in prange(n_chunks):
        lo = c * n // n_chunks
        hi = (c + 1) * n // n_chunks
        seg_t_end = np.array([t_max_s])
        seg_mode = np.array([MODE_COAST], dtype=np.int64)
        seg_mass = np.array([-1.0])
        steer = np.zeros(STEER_SIZE)
        earth_c = earth.copy()
        z_c = atm_z_m.copy()
        rho_c = atm_ln_rho.copy()
        veh = np.zeros(VEH_SIZE)
        veh[V_MASS_RV] = 1.0
        y0 = np.empty(NY)
        for i in range(lo, hi):
            b = beta_kg_m2[i]
            veh[V_BETA_RV] = b if (b > 0.0 and math.isfinite(b)) else 0.0
            ld = lift_to_drag[i]
            veh[V_LD] = ld if (ld > 0.0 and math.isfinite(ld)) else 0.0
            for j in range(6):
                y0[j] = states_ecef[i, j]
            y0[6] = 1.0
            status, _, _, _, _, _, ev = fly(
                y0, t0_s, seg_t_end, seg_mode, seg_mass, veh, steer, earth_c, z_c, rho_c, t_max_s, rtol, atol,
                h_max_s, max_steps, False,
            )  # fmt: skip
            if status == STATUS_IMPACT:
                t_imp[i] = ev[EV_IMPACT, 0]
                pos[i, 0] = ev[EV_IMPACT, 1]
                pos[i, 1] = ev[EV_IMPACT, 2]
                pos[i, 2] = ev[EV_IMPACT, 3]
    return pos, t_imp


def propagate_to_impact(
    states_ecef: np.ndarray,
    t0_s: float,
    beta_kg_m2: np.ndarray | float = 0.0,
    *,
    lift_to_drag: np.ndarray | float = 0.0,
    earth: np.ndarray | None = None,
    max_flight_s: float = 7200.0,
    rtol: float = 1e-6,
    atol: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray]:
    """Fly ballistic states to the ground (geodetic height 0), many at once, in parallel across cores.

    ``states_ecef`` (n, 6) or (6,): ``[x, y, z, vx, vy, vz]`` in ECEF, m and m/s, valid at ``t0_s`` (s, any
    epoch). ``beta_kg_m2``: ballistic coefficient m/(C_D A) per state (n,) or one for all; 0 (or inf)
    means no drag. ``lift_to_drag``: L/D per state (n,) or one for all, for quasi-ballistic re-entry
    vehicles (0: ballistic). Free flight with J2 on the rotating Earth and USSA-1976 drag (``earth`` from
    :func:`earth_model`, default the real Earth).

    Returns ``(impact_pos_ecef_m (n, 3), impact_t_s (n,))`` on the same time axis as ``t0_s``. Rows that do
    not come down within ``max_flight_s`` (an orbit or escape) are NaN. A state already below the
    ground is returned as it is, at ``t0_s``. The default tolerance ``rtol = 1e-6`` puts the impact point
    within ~1 m of a converged integration (rtol 1e-11) for 1000 km-class shots; each decade tighter costs
    about 1.7x.
    """
    x = np.ascontiguousarray(np.atleast_2d(np.asarray(states_ecef, dtype=np.float64)))
    if x.ndim != 2 or x.shape[1] != 6:
        raise ValueError(f"states_ecef must have shape (n, 6), got {np.shape(states_ecef)}")
    n = x.shape[0]
    beta = np.broadcast_to(np.asarray(beta_kg_m2, dtype=np.float64), (n,)).copy()
    ld = np.broadcast_to(np.asarray(lift_to_drag, dtype=np.float64), (n,)).copy()
    e = earth_model() if earth is None else np.asarray(earth, dtype=np.float64)
    tab = upper_table()
    return propagate_to_impact_kernel(
        x, float(t0_s), beta, ld, e, tab.z_m, tab.ln_rho_kg_m3, float(t0_s) + max_flight_s, rtol, atol, 60.0, 20000,
        8 * numba.get_num_threads(),
    )  # fmt: skip
