"""Trajectory planning: the steering that flies a missile class from a launch site to an aim point.

Unknowns: the launch azimuth, the final pitch θ of the pitch program and the thrust cut-off time t_c
(:class:`~triwarn.core.trajectory.flight.Steering`). Conditions: the impact lands on the aim point (range and
azimuth) and the trajectory has the requested shape:

- ``lofted`` / ``depressed`` with an apogee: the apogee equals it;
- ``minimum_energy``: the least impulse (smallest t_c) that reaches the range;
- ``lofted`` / ``depressed`` without an apogee: twice / half the minimum-energy apogee.

Method (every flight is the full physical model of :func:`fly_missile`: J2, rotating Earth, drag):

1. the range at full burn R(θ) is unimodal in θ; its maximum (golden section) is the class's maximum range
   along this azimuth, and the pitches with R(θ) ≥ D form an interval [θ_lo, θ_hi] (bisection);
2. for a pitch θ in that interval, t_c(θ) solves range(θ, t_c) = D (Brent); the apogee A(θ) at that solution
   increases with θ from the flattest (most depressed) to the steepest (most lofted) trajectory the class
   can fly to D, so an apogee request is solved by Brent on A(θ) = H, and minimum energy by a golden-section
   minimum of t_c(θ);
3. Earth rotation and J2 bend the path: the azimuth is corrected by the miss in azimuth and steps 1-2
   repeat until the impact is within :data:`AIM_TOL_M` of the aim point.

Requests outside the class's limits raise :class:`PlanningError` naming the limit (maximum range, apogee
interval at that range); the solver never returns NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq

from triwarn.core.trajectory.constants import R_MEAN_M
from triwarn.core.trajectory.flight import Flight, Steering, Vehicle, fly_missile
from triwarn.core.trajectory.frames import ecef_to_geodetic, geodesic_direct, geodesic_inverse

SHAPES = ("minimum_energy", "lofted", "depressed")
PITCH_MIN_RAD = math.radians(0.5)
PITCH_MAX_RAD = math.radians(89.5)
#: Miss distance at which the azimuth iteration stops, m.
AIM_TOL_M = 50.0
MAX_AZIMUTH_ITERATIONS = 8
#: Shortest range planned, m (below it the flight is a vertical shot; not a planning problem).
MIN_RANGE_M = 5_000.0
GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


class PlanningError(ValueError):
    """The request cannot be flown (or is malformed); the message names the limit that was hit."""


@dataclass(frozen=True)
class Plan:
    """A solved trajectory. ``flight`` holds the dense trajectory and events (t = 0 at launch)."""

    missile: str
    shape: str
    steering: Steering
    flight: Flight
    launch_lat_deg: float
    launch_lon_deg: float
    aim_lat_deg: float
    aim_lon_deg: float
    max_range_m: float  # of the class along this azimuth, at full burn

    @property
    def apogee_m(self) -> float:
        return self.flight.apogee_m

    @property
    def range_m(self) -> float:
        return self.flight.range_m

    @property
    def flight_time_s(self) -> float:
        return self.flight.impact_t_s

    @property
    def impact_lat_deg(self) -> float:
        return math.degrees(self.flight.impact_lat_rad)

    @property
    def impact_lon_deg(self) -> float:
        return math.degrees(self.flight.impact_lon_rad)

    @property
    def miss_m(self) -> float:
        return geodesic_inverse(
            self.flight.impact_lat_rad,
            self.flight.impact_lon_rad,
            math.radians(self.aim_lat_deg),
            math.radians(self.aim_lon_deg),
        )[0]

    def summary(self) -> dict[str, Any]:
        """The numbers a user asks for, in display units (km, s, degrees)."""
        f = self.flight
        bo = f.burnout_state
        bo_lat, bo_lon, bo_h = ecef_to_geodetic(bo[0], bo[1], bo[2])
        return {
            "missile": self.missile,
            "shape": self.shape,
            "apogee_km": f.apogee_m / 1e3,
            "range_km": f.range_m / 1e3,
            "flight_time_s": f.impact_t_s,
            "impact_lat_deg": self.impact_lat_deg,
            "impact_lon_deg": self.impact_lon_deg,
            "miss_m": self.miss_m,
            "launch_azimuth_deg": math.degrees(self.steering.azimuth_rad) % 360.0,
            "pitch_end_deg": math.degrees(self.steering.pitch_end_rad),
            "burnout_t_s": f.burnout_t_s,
            "burnout_speed_m_s": f.burnout_speed_m_s,
            "burnout_height_km": bo_h / 1e3,
            "burnout_lat_deg": math.degrees(bo_lat),
            "burnout_lon_deg": math.degrees(bo_lon),
            "apogee_t_s": f.apogee_t_s,
            "reentry_t_s": f.reentry_t_s,
            "staging_t_s": list(f.staging_t_s),
            "max_range_km": self.max_range_m / 1e3,
        }


def _check_coord(label: str, lat_deg: float, lon_deg: float) -> None:
    for what, v in (("latitude", lat_deg), ("longitude", lon_deg)):
        if not isinstance(v, int | float) or not math.isfinite(v):
            raise PlanningError(f"{label} {what} must be a finite number of degrees, got {v!r}")
    if not -90.0 <= lat_deg <= 90.0:
        raise PlanningError(f"{label} latitude {lat_deg}° is outside [-90°, 90°]")
    if not -180.0 <= lon_deg <= 360.0:
        raise PlanningError(f"{label} longitude {lon_deg}° is outside [-180°, 360°]")


class _Solver:
    """Flights of one vehicle from one site along one azimuth, with the 1-D solves of the method."""

    N_SCAN = 16

    def __init__(self, vehicle: Vehicle, lat_rad: float, lon_rad: float, az_rad: float, az_ref_rad: float) -> None:
        self.v = vehicle
        self.lat = lat_rad
        self.lon = lon_rad
        self.az = az_rad  # launch azimuth
        self.az_ref = az_ref_rad  # azimuth along which ranges are measured (towards the aim point)
        self.t_full = vehicle.total_burn_s
        self.t_min = min(vehicle.t_vert_s + 2.0, 0.5 * self.t_full)
        self.t_grid = np.linspace(self.t_min, self.t_full, self.N_SCAN)
        self._scans: dict[float, np.ndarray] = {}

    def fly(self, pitch: float, t_cut: float, store: bool = False) -> Flight:
        return fly_missile(self.v, self.lat, self.lon, Steering(self.az, pitch, t_cut), store=store)

    def range_m(self, pitch: float, t_cut: float) -> float:
        """Downrange distance (m) of the impact towards the aim point: negative when a steep shot falls
        back behind the site (Coriolis)."""
        f = self.fly(pitch, t_cut)
        if not f.hit_ground:
            return 4.0e7  # orbit or escape: further than any range on Earth
        return f.range_m * math.cos(f.impact_azimuth_rad - self.az_ref)

    def scan(self, pitch: float) -> np.ndarray:
        """Ranges (m) at the cut-off grid ``t_grid`` for this pitch (cached)."""
        if pitch not in self._scans:
            self._scans[pitch] = np.array([self.range_m(pitch, t) for t in self.t_grid])
        return self._scans[pitch]

    def feasible(self, pitch: float, d_m: float) -> bool:
        return bool(np.any(self.scan(pitch) >= d_m))

    def max_range(self) -> tuple[float, float]:
        """(pitch, range) of the longest full-burn flight (golden section on the unimodal R(θ))."""
        return _golden_max(lambda p: self.range_m(p, self.t_full), PITCH_MIN_RAD, PITCH_MAX_RAD, 1e-4)

    def cut_for_range(self, pitch: float, d_m: float) -> float:
        """The smallest cut-off time giving downrange ``d_m`` at this pitch; for a pitch that cannot reach it,
        the full burn plus a penalty growing with the shortfall (so that a minimum search avoids it)."""
        ranges = self.scan(pitch)
        above = np.flatnonzero(ranges >= d_m)
        if above.size == 0:
            return self.t_full * (1.0 + (d_m - float(ranges.max())) / d_m)
        k = int(above[0])
        if k == 0:
            return float(self.t_grid[0])
        return float(
            brentq(lambda t: self.range_m(pitch, t) - d_m, self.t_grid[k - 1], self.t_grid[k], xtol=1e-7, rtol=1e-12)
        )

    def apogee_m(self, pitch: float, t_cut: float) -> float:
        f = self.fly(pitch, t_cut)
        return f.apogee_m if math.isfinite(f.apogee_m) else 4.0e7

    def cut_for_apogee(self, pitch: float, h_m: float) -> float:
        """Cut-off time giving apogee ``h_m`` at this pitch (the apogee grows with the impulse)."""
        if self.apogee_m(pitch, self.t_min) >= h_m:
            return self.t_min
        if self.apogee_m(pitch, self.t_full) <= h_m:
            return self.t_full
        return float(brentq(lambda t: self.apogee_m(pitch, t) - h_m, self.t_min, self.t_full, xtol=1e-7, rtol=1e-12))

    def highest_apogee(self) -> tuple[float, float]:
        """(pitch, apogee) of the highest full-burn flight (near vertical; golden section)."""
        return _golden_max(lambda p: self.apogee_m(p, self.t_full), math.radians(45.0), PITCH_MAX_RAD, 1e-4)

    def flattest_pitch_for_apogee(self, h_m: float, p_top: float) -> float:
        """The flattest pitch whose full burn still climbs to ``h_m`` (the apogee grows with the pitch up to
        ``p_top``)."""
        if self.apogee_m(PITCH_MIN_RAD, self.t_full) >= h_m:
            return PITCH_MIN_RAD
        return float(brentq(lambda p: self.apogee_m(p, self.t_full) - h_m, PITCH_MIN_RAD, p_top, xtol=1e-9))

    def range_at_apogee(self, pitch: float, h_m: float) -> float:
        return self.range_m(pitch, self.cut_for_apogee(pitch, h_m))

    def solve_apogee_and_range(self, h_m: float, d_m: float) -> tuple[float, float]:
        """(pitch, cut-off) of the flight with apogee ``h_m`` and downrange ``d_m``. At a fixed apogee the
        range shrinks as the pitch steepens, so one Brent search on the pitch finds it; the limits of the
        search are the class's limits, reported by :class:`PlanningError`."""
        name = self.v.name
        p_top, h_max = self.highest_apogee()
        if h_m > h_max:
            raise PlanningError(
                f"apogee {h_m / 1e3:.1f} km is beyond what {name} can reach: {h_max / 1e3:.1f} km even on a "
                f"vertical shot"
            )
        p_flat = self.flattest_pitch_for_apogee(h_m, p_top)
        r_far = self.range_at_apogee(p_flat, h_m)
        if r_far < d_m:
            raise PlanningError(
                f"with apogee {h_m / 1e3:.1f} km, {name} reaches at most {r_far / 1e3:.0f} km, short of "
                f"{d_m / 1e3:.0f} km: " + ("lower the apogee" if p_flat > PITCH_MIN_RAD + 1e-6 else "raise the apogee")
            )
        r_near = self.range_at_apogee(PITCH_MAX_RAD, h_m)
        p_near = PITCH_MAX_RAD
        if r_near > d_m and p_top < PITCH_MAX_RAD:
            p_near, r_near = p_top, self.range_at_apogee(p_top, h_m)
        if r_near > d_m:
            raise PlanningError(
                f"with apogee {h_m / 1e3:.1f} km, {name} flies at least {r_near / 1e3:.0f} km, beyond "
                f"{d_m / 1e3:.0f} km: raise the apogee"
            )
        pitch = float(brentq(lambda p: self.range_at_apogee(p, h_m) - d_m, p_flat, p_near, xtol=1e-10))
        return pitch, self.cut_for_apogee(pitch, h_m)


def _golden_max(f: Callable[[float], float], a: float, b: float, tol: float) -> tuple[float, float]:
    c = b - GOLDEN * (b - a)
    d = a + GOLDEN * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol:
        if fc > fd:
            b, d, fd = d, c, fc
            c = b - GOLDEN * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + GOLDEN * (b - a)
            fd = f(d)
    return (c, fc) if fc > fd else (d, fd)


def plan_trajectory(
    vehicle: Vehicle,
    launch_lat_deg: float,
    launch_lon_deg: float,
    *,
    aim_lat_deg: float | None = None,
    aim_lon_deg: float | None = None,
    azimuth_deg: float | None = None,
    range_km: float | None = None,
    shape: str | None = None,
    apogee_km: float | None = None,
) -> Plan:
    """Solve the steering that flies ``vehicle`` from the launch site to the aim point with the given shape.

    Give the aim point either as ``aim_lat_deg, aim_lon_deg`` or as ``azimuth_deg, range_km``. ``shape`` is
    one of :data:`SHAPES`; with ``apogee_km`` and no shape, the shape follows from the apogee. Raises
    :class:`PlanningError` for malformed or impossible requests (naming the limit).
    """
    _check_coord("launch", launch_lat_deg, launch_lon_deg)
    lat0, lon0 = math.radians(launch_lat_deg), math.radians(launch_lon_deg)
    if aim_lat_deg is not None or aim_lon_deg is not None:
        if aim_lat_deg is None or aim_lon_deg is None or azimuth_deg is not None or range_km is not None:
            raise PlanningError("give the aim point as both latitude and longitude, or as azimuth and range")
        _check_coord("aim point", aim_lat_deg, aim_lon_deg)
        d_m, az_target, _ = geodesic_inverse(lat0, lon0, math.radians(aim_lat_deg), math.radians(aim_lon_deg))
    else:
        if azimuth_deg is None or range_km is None:
            raise PlanningError("an aim point (latitude, longitude) or an azimuth and a range is required")
        if not (math.isfinite(azimuth_deg) and math.isfinite(range_km)):
            raise PlanningError(f"azimuth and range must be finite numbers, got {azimuth_deg!r}, {range_km!r}")
        if not 0.0 < range_km < 20_000.0:
            raise PlanningError(f"range {range_km} km is outside (0, 20000) km")
        d_m = range_km * 1e3
        az_target = math.radians(azimuth_deg) % (2.0 * math.pi)
        la, lo, _ = geodesic_direct(lat0, lon0, az_target, d_m)
        aim_lat_deg, aim_lon_deg = math.degrees(la), math.degrees(lo)
    if d_m < MIN_RANGE_M:
        raise PlanningError(
            f"range {d_m / 1e3:.3f} km is below the shortest plannable range {MIN_RANGE_M / 1e3:.0f} km"
        )
    if apogee_km is not None and not (isinstance(apogee_km, int | float) and math.isfinite(apogee_km)):
        raise PlanningError(f"apogee must be a finite number of km, got {apogee_km!r}")
    if apogee_km is not None and apogee_km <= 0.0:
        raise PlanningError(f"apogee {apogee_km} km must be above the ground (> 0 km)")
    if shape is None:
        shape = "minimum_energy" if apogee_km is None else "apogee"
    elif shape not in SHAPES:
        raise PlanningError(f"shape '{shape}' is not one of {', '.join(SHAPES)}")
    if shape == "minimum_energy" and apogee_km is not None:
        raise PlanningError("a minimum-energy trajectory has its own apogee: give a shape of lofted or depressed")

    az = az_target
    steering: Steering | None = None
    flight: Flight | None = None
    max_range = math.nan
    pitch_me: float | None = None  # minimum-energy pitch, kept while the azimuth converges
    prev: tuple[float, float] | None = None  # (azimuth, azimuth miss) of the previous iteration
    for _ in range(MAX_AZIMUTH_ITERATIONS):
        s = _Solver(vehicle, lat0, lon0, az, az_target)
        if pitch_me is None and (shape == "minimum_energy" or apogee_km is None):
            pitch_far, max_range = s.max_range()
            if d_m > max_range:
                raise PlanningError(
                    f"aim point at {d_m / 1e3:.0f} km is beyond the maximum range of {vehicle.name}: "
                    f"{max_range / 1e3:.0f} km on this azimuth"
                )
            pitch_me = _golden_max(lambda p, s=s: -s.cut_for_range(p, d_m), pitch_far, PITCH_MAX_RAD, 1e-5)[0]
            if shape != "minimum_energy":
                apo_me = s.apogee_m(pitch_me, s.cut_for_range(pitch_me, d_m))
                apogee_km = (2.0 if shape == "lofted" else 0.5) * apo_me / 1e3
        if apogee_km is None:
            assert pitch_me is not None
            pitch = pitch_me
            t_cut = s.cut_for_range(pitch, d_m)
        else:
            pitch, t_cut = s.solve_apogee_and_range(float(apogee_km) * 1e3, d_m)
        flight = s.fly(pitch, t_cut, store=True)
        steering = Steering(az, pitch, t_cut)
        if not flight.hit_ground:
            raise PlanningError(f"{vehicle.name}: the planned flight did not come down (numerical failure)")
        miss = geodesic_inverse(
            flight.impact_lat_rad, flight.impact_lon_rad, math.radians(aim_lat_deg), math.radians(aim_lon_deg)
        )[0]
        if miss <= AIM_TOL_M:
            break
        daz = _wrap(az_target - flight.impact_azimuth_rad)
        step = daz
        if prev is not None and abs(daz - prev[1]) > 1e-12:
            step = daz * _wrap(az - prev[0]) / (prev[1] - daz)  # secant on the azimuth miss
        prev = (az, daz)
        az = (az + step) % (2.0 * math.pi)
    else:
        raise PlanningError(
            f"{vehicle.name}: the aim point could not be hit within {AIM_TOL_M:.0f} m "
            f"(miss {miss:.0f} m after {MAX_AZIMUTH_ITERATIONS} azimuth corrections)"
        )
    if math.isnan(max_range):
        max_range = _Solver(vehicle, lat0, lon0, az, az_target).max_range()[1]
    assert steering is not None and flight is not None
    if not (math.isfinite(flight.apogee_m) and math.isfinite(flight.impact_t_s)):
        raise PlanningError(f"{vehicle.name}: the planned flight did not come down (numerical failure)")
    final_shape = shape if shape == "minimum_energy" else _shape_of(flight, d_m)
    return Plan(
        missile=vehicle.name,
        shape=final_shape,
        steering=steering,
        flight=flight,
        launch_lat_deg=launch_lat_deg,
        launch_lon_deg=launch_lon_deg,
        aim_lat_deg=float(aim_lat_deg),
        aim_lon_deg=float(aim_lon_deg),
        max_range_m=max_range,
    )


def _shape_of(flight: Flight, d_m: float) -> str:
    """``lofted`` or ``depressed``: the burnout flight-path angle against the minimum-energy angle of a
    vacuum arc over a spherical Earth, γ* = 45° − (range / R) / 4 (textbook)."""
    r = flight.burnout_state[0:3]
    v = flight.burnout_state[3:6]
    gamma = math.asin(float(r @ v) / (float(np.linalg.norm(r)) * float(np.linalg.norm(v))))
    gamma_me = math.pi / 4.0 - d_m / R_MEAN_M / 4.0
    return "lofted" if gamma > gamma_me else "depressed"


def _wrap(a_rad: float) -> float:
    """An angle difference folded into [-π, π)."""
    return (a_rad + math.pi) % (2.0 * math.pi) - math.pi
