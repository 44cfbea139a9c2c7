"""``triwarn trajectory``: plan one missile flight from a launch site to an aim point and report it."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "trajectory",
        help="plan a missile flight: apogee, range, flight time, burnout state, impact point",
        description="Solve the steering that flies a missile class from --launch to --impact with the "
        "requested apogee (or a shape), with J2 gravity on the rotating Earth and USSA-1976 drag, and report "
        "apogee, range, flight time, burnout state and impact point. Without --missile, the first class "
        "(smallest first) that can fly the request is chosen. Impossible requests are refused with the "
        "limit that was hit.",
    )
    p.add_argument("--launch", metavar="LAT,LON", help="launch site, degrees (required unless --list-missiles)")
    p.add_argument("--impact", metavar="LAT,LON", help="aim point, degrees (required unless --list-missiles)")
    p.add_argument("--apogee-km", type=float, help="apogee in km (lofted above, depressed below minimum energy)")
    p.add_argument(
        "--shape",
        choices=["minimum_energy", "lofted", "depressed"],
        help="trajectory shape when no apogee is given (default minimum_energy)",
    )
    p.add_argument("--missile", metavar="CLASS", help="missile class (see --list-missiles)")
    p.add_argument("--list-missiles", action="store_true", help="list the missile classes and exit")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def _latlon(text: str, what: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise ValueError(f"--{what} must be LAT,LON in degrees, got {text!r}")
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(f"--{what} must be LAT,LON in degrees, got {text!r}") from None
    return lat, lon


def run(args: argparse.Namespace) -> int:
    from triwarn.core.trajectory.missiles import MissileError, get_missile, missile_classes
    from triwarn.core.trajectory.planning import PlanningError, plan_trajectory

    classes = missile_classes()
    if args.list_missiles:
        for mc in classes.values():
            v = mc.vehicle
            print(f"{mc.name:14s} {mc.category:5s} {mc.propulsion:6s} {len(v.stages)} stage(s) "
                  f"{v.launch_mass_kg / 1e3:6.1f} t  {mc.label}")  # fmt: skip
        return 0
    missing = [f"--{name}" for name in ("launch", "impact") if getattr(args, name) is None]
    if missing:
        return _fail(args, f"{' and '.join(missing)} required (LAT,LON in degrees), or --list-missiles")
    try:
        launch = _latlon(args.launch, "launch")
        aim = _latlon(args.impact, "impact")
    except ValueError as exc:
        return _fail(args, str(exc))
    names = [args.missile] if args.missile else list(classes)
    errors: list[str] = []
    for name in names:
        try:
            vehicle = get_missile(name).vehicle
            plan = plan_trajectory(
                vehicle,
                launch[0],
                launch[1],
                aim_lat_deg=aim[0],
                aim_lon_deg=aim[1],
                shape=args.shape,
                apogee_km=args.apogee_km,
            )
        except MissileError as exc:
            return _fail(args, str(exc))
        except PlanningError as exc:
            if args.missile or _request_error(str(exc)):
                return _fail(args, str(exc))
            errors.append(f"{name}: {exc}")
            continue
        out = plan.summary()
        out["chosen_automatically"] = not args.missile
        if args.json:
            print(json.dumps(out, indent=2))
        else:
            _print(out)
        return 0
    return _fail(args, "no missile class can fly this request:\n  " + "\n  ".join(errors))


def _request_error(message: str) -> bool:
    """Errors about the request itself (not about one class's limits): no point trying other classes."""
    markers = ("must be", "is outside", "is not one of", "has its own apogee", "shortest plannable", "required")
    return any(m in message for m in markers)


def _fail(args: argparse.Namespace, message: str) -> int:
    if args.json:
        print(json.dumps({"error": message}))
    else:
        print(f"triwarn trajectory: {message}", file=sys.stderr)
    return 2


def _print(s: dict[str, Any]) -> None:
    def f(key: str, fmt: str) -> str:
        v = s[key]
        return "n/a" if isinstance(v, float) and not math.isfinite(v) else format(v, fmt)

    print(f"missile           {s['missile']}{' (chosen automatically)' if s['chosen_automatically'] else ''}")
    print(f"shape             {s['shape']}")
    print(f"apogee            {f('apogee_km', '.1f')} km at T+{f('apogee_t_s', '.0f')} s")
    print(f"range             {f('range_km', '.1f')} km")
    print(f"flight time       {f('flight_time_s', '.0f')} s ({s['flight_time_s'] / 60:.1f} min)")
    print(f"impact            {f('impact_lat_deg', '.4f')}, {f('impact_lon_deg', '.4f')} (miss {f('miss_m', '.0f')} m)")
    where = f"{f('burnout_height_km', '.1f')} km at {f('burnout_lat_deg', '.3f')}, {f('burnout_lon_deg', '.3f')}"
    print(f"burnout           T+{f('burnout_t_s', '.1f')} s, {f('burnout_speed_m_s', '.0f')} m/s, {where}")
    print(f"re-entry (100 km) T+{f('reentry_t_s', '.0f')} s")
    print(
        f"steering          azimuth {f('launch_azimuth_deg', '.2f')} deg, final pitch {f('pitch_end_deg', '.2f')} deg"
    )
    print(f"class max range   {f('max_range_km', '.0f')} km on this azimuth")
