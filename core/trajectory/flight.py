"""Powered and ballistic flight of one missile, launch to impact: the typed layer above :mod:`.propagate`.

A :class:`Vehicle` is one to three stages (thrust, mass flow or specific impulse, burn time, dry mass, drag
area) under a re-entry vehicle (mass, ballistic coefficient β). A :class:`Steering` is the launch azimuth,
the final pitch of the pitch program and the thrust cut-off time (thrust termination / engine shut-down).
:func:`fly_missile` flies it from a launch site on the rotating WGS-84 Earth (J2 gravity, USSA-1976 drag on
the stack in boost and on the re-entry vehicle after burnout) to geodetic height 0 and returns a
:class:`Flight` with the events (burnout, apogee, re-entry interface, impact) and the dense trajectory.

Times inside a flight are seconds since launch (``t_s``); positions ECEF metres; angles radians.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from triwarn.core.tracks import Phase
from triwarn.core.trajectory import propagate as prop
from triwarn.core.trajectory.atmosphere import upper_table
from triwarn.core.trajectory.constants import G0_M_S2
from triwarn.core.trajectory.frames import ecef_to_geodetic, enu_vec_to_ecef, geodesic_inverse, geodetic_to_ecef

#: Default integration tolerances and limits of a flight.
RTOL = 1e-9
ATOL = 1e-6
H_MAX_S = 30.0
MAX_STEPS = 20_000
MAX_FLIGHT_S = 3.0 * 3600.0


class FlightError(ValueError):
    """A flight could not be flown as asked (bad parameters, or the integration failed); says why."""


@dataclass(frozen=True)
class Stage:
    """One rocket stage. SI units: N, kg/s, s, kg, m²."""

    thrust_n: float
    mdot_kg_s: float
    burn_s: float
    dry_kg: float
    cda_m2: float  # drag coefficient times reference area of the stack while this stage burns

    @classmethod
    def from_isp(cls, thrust_n: float, isp_s: float, burn_s: float, dry_kg: float, cda_m2: float) -> Stage:
        """A stage from its specific impulse: ṁ = T / (Isp g0)."""
        return cls(thrust_n, thrust_n / (isp_s * G0_M_S2), burn_s, dry_kg, cda_m2)

    @property
    def prop_kg(self) -> float:
        return self.mdot_kg_s * self.burn_s

    @property
    def isp_s(self) -> float:
        return self.thrust_n / (self.mdot_kg_s * G0_M_S2)


@dataclass(frozen=True)
class Vehicle:
    """A missile: stages bottom to top, then the re-entry vehicle (RV) that flies on after burnout."""

    name: str
    stages: tuple[Stage, ...]
    rv_mass_kg: float
    rv_beta_kg_m2: float
    t_vert_s: float = 8.0  # vertical rise before the pitch program starts
    t_pitch_s: float = 0.0  # duration of the pitch-over; 0: the pitch turns until cut-off
    rv_lift_to_drag: float = 0.0  # > 0: quasi-ballistic, glides after apogee (KN-23-like); 0: ballistic

    def __post_init__(self) -> None:
        if not 1 <= len(self.stages) <= prop.MAX_STAGES:
            raise FlightError(f"{self.name}: 1 to {prop.MAX_STAGES} stages expected, got {len(self.stages)}")
        for i, s in enumerate(self.stages):
            for label, v in (("thrust_n", s.thrust_n), ("mdot_kg_s", s.mdot_kg_s), ("burn_s", s.burn_s)):
                if not (math.isfinite(v) and v > 0.0):
                    raise FlightError(f"{self.name}: stage {i + 1} {label} must be a positive number, got {v}")
            if not (math.isfinite(s.dry_kg) and s.dry_kg >= 0.0 and math.isfinite(s.cda_m2) and s.cda_m2 >= 0.0):
                raise FlightError(f"{self.name}: stage {i + 1} dry_kg and cda_m2 must be >= 0")
        if not (math.isfinite(self.rv_mass_kg) and self.rv_mass_kg > 0.0):
            raise FlightError(f"{self.name}: rv_mass_kg must be positive, got {self.rv_mass_kg}")
        if not (self.rv_beta_kg_m2 > 0.0):
            raise FlightError(f"{self.name}: rv_beta_kg_m2 must be positive, got {self.rv_beta_kg_m2}")
        if self.launch_mass_kg * G0_M_S2 >= self.stages[0].thrust_n:
            raise FlightError(
                f"{self.name}: first-stage thrust {self.stages[0].thrust_n:.0f} N does not lift the launch "
                f"weight {self.launch_mass_kg * G0_M_S2:.0f} N"
            )

    @property
    def launch_mass_kg(self) -> float:
        return self.rv_mass_kg + sum(s.dry_kg + s.prop_kg for s in self.stages)

    @property
    def total_burn_s(self) -> float:
        return sum(s.burn_s for s in self.stages)

    def as_array(self) -> np.ndarray:
        """The ``veh`` array of :mod:`.propagate` kernels."""
        v = np.zeros(prop.VEH_SIZE)
        v[prop.V_NSTAGES] = len(self.stages)
        v[prop.V_MASS_RV] = self.rv_mass_kg
        v[prop.V_BETA_RV] = self.rv_beta_kg_m2
        v[prop.V_TVERT] = self.t_vert_s
        v[prop.V_TPITCH] = self.t_pitch_s
        v[prop.V_LD] = self.rv_lift_to_drag
        for i, s in enumerate(self.stages):
            b = prop.V_STAGE0 + prop.V_STAGE_STRIDE * i
            v[b + prop.S_THRUST] = s.thrust_n
            v[b + prop.S_MDOT] = s.mdot_kg_s
            v[b + prop.S_BURN] = s.burn_s
            v[b + prop.S_DRY] = s.dry_kg
            v[b + prop.S_PROP] = s.prop_kg
            v[b + prop.S_CDA] = s.cda_m2
        return v

    def segments(self, t_cut_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Segments ``(t_end, mode, mass_after)`` of a flight whose thrust is cut at ``t_cut_s``."""
        t_end: list[float] = []
        mode: list[int] = []
        mass_after: list[float] = []
        t = 0.0
        for i, s in enumerate(self.stages):
            end = t + s.burn_s
            if end >= t_cut_s - 1e-9:
                t_end.append(t_cut_s)
                mode.append(i)
                mass_after.append(self.rv_mass_kg)
                break
            above = self.rv_mass_kg + sum(u.dry_kg + u.prop_kg for u in self.stages[i + 1 :])
            t_end.append(end)
            mode.append(i)
            mass_after.append(above)
            t = end
        t_end.append(math.inf)
        mode.append(prop.MODE_COAST)
        mass_after.append(-1.0)
        return np.array(t_end), np.array(mode, dtype=np.int64), np.array(mass_after)


@dataclass(frozen=True)
class Steering:
    """Launch azimuth (clockwise from north), final pitch above the launch horizontal, cut-off time."""

    azimuth_rad: float
    pitch_end_rad: float
    t_cut_s: float


@dataclass(frozen=True)
class Flight:
    """One flight from launch (t = 0 s) to impact. Heights are WGS-84 geodetic, ranges along the ellipsoid."""

    status: int
    launch_lat_rad: float
    launch_lon_rad: float
    burnout_t_s: float
    burnout_state: np.ndarray  # (7,) [ECEF m, m/s, kg]
    apogee_t_s: float
    apogee_m: float
    reentry_t_s: float  # NaN when the flight never left the atmosphere (apogee < 100 km)
    impact_t_s: float
    impact_state: np.ndarray  # (7,)
    impact_lat_rad: float
    impact_lon_rad: float
    range_m: float
    impact_azimuth_rad: float  # azimuth of the impact point seen from the launch site (geodesic)
    staging_t_s: tuple[float, ...] = ()  # times the spent stages were dropped before burnout
    steps: tuple[np.ndarray, np.ndarray, np.ndarray, int] | None = field(default=None, repr=False)

    @property
    def hit_ground(self) -> bool:
        return self.status == prop.STATUS_IMPACT

    @property
    def flight_time_s(self) -> float:
        return self.impact_t_s

    @property
    def burnout_speed_m_s(self) -> float:
        return float(np.linalg.norm(self.burnout_state[3:6]))

    def sample(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Position (m, 3) and velocity (m, 3) in ECEF at times ``t_s`` (m,) since launch; NaN outside
        [0, impact]. Needs a flight flown with ``store=True``."""
        if self.steps is None:
            raise FlightError("this flight was flown without storing its trajectory (store=False)")
        t = np.ascontiguousarray(np.atleast_1d(np.asarray(t_s, dtype=np.float64)))
        t0, h, rc, n = self.steps
        y = prop.dense_sample(t0, h, rc, n, t)
        y[t > self.impact_t_s] = np.nan
        return y[:, 0:3], y[:, 3:6]

    def phase(self, t_s: np.ndarray) -> np.ndarray:
        """:class:`Phase` values at times ``t_s`` since launch: boost until burnout, terminal once
        descending below the re-entry interface, midcourse between; UNKNOWN outside the flight."""
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        out = np.full(t.shape, int(Phase.MIDCOURSE), dtype=np.int64)
        out[t < self.burnout_t_s] = int(Phase.BOOST)
        t_term = self.terminal_t_s
        out[(t >= t_term) & (t >= self.burnout_t_s)] = int(Phase.TERMINAL)
        out[(t < 0.0) | (t > self.impact_t_s) | ~np.isfinite(t)] = int(Phase.UNKNOWN)
        return out

    @property
    def terminal_t_s(self) -> float:
        """Start of the terminal phase: re-entry interface, or apogee for a flight that stays below it."""
        if math.isfinite(self.reentry_t_s):
            return self.reentry_t_s
        return max(self.apogee_t_s, self.burnout_t_s) if math.isfinite(self.apogee_t_s) else self.burnout_t_s


def launch_frame(lat_rad: float, lon_rad: float, azimuth_rad: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (ECEF) of the local up and of the horizontal along ``azimuth_rad`` at a site."""
    up = np.array(enu_vec_to_ecef(0.0, 0.0, 1.0, lat_rad, lon_rad))
    hor = np.array(enu_vec_to_ecef(math.sin(azimuth_rad), math.cos(azimuth_rad), 0.0, lat_rad, lon_rad))
    return up, hor


def fly_missile(
    vehicle: Vehicle,
    lat_rad: float,
    lon_rad: float,
    steering: Steering,
    *,
    h_m: float = 0.0,
    earth: np.ndarray | None = None,
    store: bool = True,
    rtol: float = RTOL,
    atol: float = ATOL,
    max_flight_s: float = MAX_FLIGHT_S,
) -> Flight:
    """Fly ``vehicle`` from the site (geodetic ``lat_rad, lon_rad, h_m``) at rest on the rotating Earth.

    The thrust follows the pitch program of ``steering`` and is cut at ``steering.t_cut_s`` (clipped to the
    total burn time); the re-entry vehicle then flies ballistically to the ground. ``store=False`` keeps only
    the events (what the planner needs; faster).
    """
    for label, v in (("lat_rad", lat_rad), ("lon_rad", lon_rad), ("h_m", h_m)):
        if not math.isfinite(v):
            raise FlightError(f"launch {label} must be a finite number, got {v}")
    if abs(lat_rad) > 0.5 * math.pi:
        raise FlightError(f"launch latitude must be within ±90°, got {math.degrees(lat_rad):.3f}°")
    t_cut = min(float(steering.t_cut_s), vehicle.total_burn_s)
    if not (math.isfinite(t_cut) and t_cut > 0.0):
        raise FlightError(f"cut-off time must be positive, got {steering.t_cut_s}")
    up, hor = launch_frame(lat_rad, lon_rad, steering.azimuth_rad)
    steer = np.zeros(prop.STEER_SIZE)
    steer[prop.ST_PITCH_END] = steering.pitch_end_rad
    steer[prop.ST_TCUT] = t_cut
    steer[prop.ST_UP : prop.ST_UP + 3] = up
    steer[prop.ST_HOR : prop.ST_HOR + 3] = hor
    y0 = np.zeros(prop.NY)
    y0[0:3] = geodetic_to_ecef(lat_rad, lon_rad, h_m)
    y0[6] = vehicle.launch_mass_kg
    seg_t, seg_mode, seg_mass = vehicle.segments(t_cut)
    e = prop.earth_model() if earth is None else earth
    tab = upper_table()
    status, n, st0, sh, src, _, ev = prop.fly(
        y0, 0.0, seg_t, seg_mode, seg_mass, vehicle.as_array(), steer, e, tab.z_m, tab.ln_rho_kg_m3,
        max_flight_s, rtol, atol, H_MAX_S, MAX_STEPS, store,
    )  # fmt: skip
    imp = ev[prop.EV_IMPACT]
    if status == prop.STATUS_IMPACT:
        if e[prop.E_SPHERE] > 0.0:
            lat_i = math.asin(imp[3] / math.sqrt(imp[1] ** 2 + imp[2] ** 2 + imp[3] ** 2))
            lon_i = math.atan2(imp[2], imp[1])
        else:
            lat_i, lon_i, _ = ecef_to_geodetic(imp[1], imp[2], imp[3])
        if e[prop.E_SPHERE] > 0.0:
            rng, az = _sphere_inverse(lat_rad, lon_rad, lat_i, lon_i, e[prop.E_SPHERE])
        else:
            rng, az, _ = geodesic_inverse(lat_rad, lon_rad, lat_i, lon_i)
    else:
        lat_i = lon_i = rng = az = math.nan
    apo = ev[prop.EV_APOGEE]
    apogee_m = float(prop.height_m(apo[1], apo[2], apo[3], e)) if math.isfinite(apo[0]) else math.nan
    return Flight(
        status=int(status),
        launch_lat_rad=lat_rad,
        launch_lon_rad=lon_rad,
        burnout_t_s=float(ev[prop.EV_BURNOUT, 0]),
        burnout_state=ev[prop.EV_BURNOUT, 1:].copy(),
        apogee_t_s=float(apo[0]),
        apogee_m=apogee_m,
        reentry_t_s=float(ev[prop.EV_REENTRY, 0]),
        impact_t_s=float(imp[0]),
        impact_state=imp[1:].copy(),
        impact_lat_rad=float(lat_i),
        impact_lon_rad=float(lon_i),
        range_m=float(rng),
        impact_azimuth_rad=float(az),
        staging_t_s=tuple(float(t) for t in seg_t[:-2]),
        steps=(st0, sh, src, int(n)) if store else None,
    )


def _sphere_inverse(lat1: float, lon1: float, lat2: float, lon2: float, r_m: float) -> tuple[float, float]:
    """Great-circle distance (m) and initial azimuth (rad) on a sphere of radius ``r_m`` (haversine)."""
    dlat = lat2 - lat1
    dlon = lon2 - lon1
    a = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    s = 2.0 * r_m * math.asin(min(1.0, math.sqrt(a)))
    az = math.atan2(
        math.sin(dlon) * math.cos(lat2),
        math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dlon),
    )
    return s, az % (2.0 * math.pi)
