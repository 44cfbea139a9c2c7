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

from scipy.optimize import brentq

from triwarn.core.trajectory.flight import Flight, Steering, Vehicle, fly_missile
from triwarn.core.trajectory.frames import geodesic_direct, geodesic_inverse

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

    def summary(self) -> dict[str, float | str]:
        """The numbers a user asks for, in display units (km, s, degrees)."""
        f = self.flight
        bo = f.burnout_state
        from triwarn.core.trajectory.frames import ecef_to_geodetic

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

    def __init__(self, vehicle: Vehicle, lat_rad: float, lon_rad: float, az_rad: float) -> None:
        self.v = vehicle
        self.lat = lat_rad
        self.lon = lon_rad
        self.az = az_rad
        self.t_full = vehicle.total_burn_s
        self.t_min = vehicle.t_vert_s + 2.0

    def fly(self, pitch: float, t_cut: float, store: bool = False) -> Flight:
        return fly_missile(self.v, self.lat, self.lon, Steering(self.az, pitch, t_cut), store=store)

    def range_m(self, pitch: float, t_cut: float) -> float:
        f = self.fly(pitch, t_cut)
        if not f.hit_ground:
            return 4.0e7  # orbit or escape: further than any range on Earth
        return f.range_m

    def max_range(self) -> tuple[float, float]:
        """(pitch, range) of the longest full-burn flight (golden section on the unimodal R(θ))."""
        return _golden_max(lambda p: self.range_m(p, self.t_full), PITCH_MIN_RAD, PITCH_MAX_RAD, 1e-4)

    def pitch_limits(self, d_m: float, pitch_me: float) -> tuple[float, float]:
        """[θ_lo, θ_hi]: the pitches whose full-burn range reaches ``d_m``."""

        def g(p: float) -> float:
            return self.range_m(p, self.t_full) - d_m

        lo = PITCH_MIN_RAD if g(PITCH_MIN_RAD) >= 0.0 else brentq(g, PITCH_MIN_RAD, pitch_me, xtol=1e-7)
        hi = PITCH_MAX_RAD if g(PITCH_MAX_RAD) >= 0.0 else brentq(g, pitch_me, PITCH_MAX_RAD, xtol=1e-7)
        return lo, hi

    def cut_for_range(self, pitch: float, d_m: float) -> float:
        """Cut-off time giving range ``d_m`` at pitch ``pitch`` (the full burn if it only just reaches)."""

        def g(t: float) -> float:
            return self.range_m(pitch, t) - d_m

        g_full = g(self.t_full)
        if g_full <= 0.0:
            return self.t_full
        if g(self.t_min) >= 0.0:
            return self.t_min
        return brentq(g, self.t_min, self.t_full, xtol=1e-7, rtol=1e-12)

    def apogee_at_range(self, pitch: float, d_m: float) -> float:
        return self.fly(pitch, self.cut_for_range(pitch, d_m)).apogee_m


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
    for _ in range(MAX_AZIMUTH_ITERATIONS):
        s = _Solver(vehicle, lat0, lon0, az)
        pitch_me, max_range = s.max_range()
        if d_m > max_range:
            raise PlanningError(
                f"aim point at {d_m / 1e3:.0f} km is beyond the maximum range of {vehicle.name}: "
                f"{max_range / 1e3:.0f} km on this azimuth"
            )
        lo, hi = s.pitch_limits(d_m, pitch_me)
        if shape == "minimum_energy" or (apogee_km is None):
            pitch = _golden_max(lambda p, s=s: -s.cut_for_range(p, d_m), lo, hi, 1e-5)[0]
            if shape != "minimum_energy":
                apo_me = s.apogee_at_range(pitch, d_m)
                target_km = (2.0 if shape == "lofted" else 0.5) * apo_me / 1e3
                pitch = _solve_apogee(s, d_m, target_km, lo, hi, shape, vehicle.name)
        else:
            pitch = _solve_apogee(s, d_m, float(apogee_km), lo, hi, shape, vehicle.name)
        t_cut = s.cut_for_range(pitch, d_m)
        flight = s.fly(pitch, t_cut, store=True)
        steering = Steering(az, pitch, t_cut)
        miss = geodesic_inverse(
            flight.impact_lat_rad, flight.impact_lon_rad, math.radians(aim_lat_deg), math.radians(aim_lon_deg)
        )[0]
        if miss <= AIM_TOL_M:
            break
        daz = (az_target - flight.impact_azimuth_rad + math.pi) % (2.0 * math.pi) - math.pi
        az = (az + daz) % (2.0 * math.pi)
    assert steering is not None and flight is not None
    if not (math.isfinite(flight.apogee_m) and math.isfinite(flight.impact_t_s)):
        raise PlanningError(f"{vehicle.name}: the planned flight did not come down (numerical failure)")
    final_shape = shape if shape != "apogee" else "by_apogee"
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


def _solve_apogee(s: _Solver, d_m: float, apogee_km: float, lo: float, hi: float, shape: str, name: str) -> float:
    h_m = apogee_km * 1e3
    a_lo = s.apogee_at_range(lo, d_m)
    a_hi = s.apogee_at_range(hi, d_m)
    if not a_lo <= h_m <= a_hi:
        raise PlanningError(
            f"apogee {apogee_km:.1f} km is outside what {name} can fly to {d_m / 1e3:.0f} km: "
            f"between {a_lo / 1e3:.1f} km (most depressed) and {a_hi / 1e3:.1f} km (most lofted)"
        )
    return brentq(lambda p: s.apogee_at_range(p, d_m) - h_m, lo, hi, xtol=1e-8)
