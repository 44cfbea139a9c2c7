"""Scenarios: launches (site, time, missile class, aim point, shape or apogee), salvos and taking-part sensors.

A scenario is a TOML file (format in docs/scenario-format.md), either a catalog name (a file of the
``triwarn.scenarios`` package, e.g. ``"demo"``) or a path. :func:`load_scenario` validates it completely
and raises :class:`ScenarioError` naming the file, the key, what is wrong and what is expected.
:meth:`Scenario.truth` flies every launch once (cached) and returns the :class:`Truth`: the true state of
every missile at any scenario time.

Time: ``epoch_ns`` (UTC ns since the Unix epoch) is scenario time 0; inside, float seconds since it
(``t_s``). Positions and velocities ECEF (WGS-84) in m and m/s. This module reads files (the only I/O of
the trajectory core, at load time); kernels never do.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from triwarn.core.trajectory.missiles import MissileError, get_missile, missile_classes
from triwarn.core.trajectory.planning import SHAPES, Plan, PlanningError, plan_trajectory

FORMAT_VERSION = 1
#: Seconds added after the last impact to make ``duration_s``.
DEFAULT_TAIL_S = 5.0
CATALOG_PACKAGE = "triwarn.scenarios"


class ScenarioError(ValueError):
    """A scenario file is broken or cannot be flown; the message names file, key, problem and expectation."""


@dataclass(frozen=True)
class Published:
    """Published figures of a real event (for validation): each a closed interval (lo, hi), or None."""

    apogee_km: tuple[float, float] | None = None
    range_km: tuple[float, float] | None = None
    flight_time_s: tuple[float, float] | None = None
    source: str = ""


@dataclass(frozen=True)
class Launch:
    """One missile launch (a salvo entry expands into several of these)."""

    object_id: str
    missile: str
    time_s: float  # launch time, seconds after the scenario epoch
    launch_lat_deg: float
    launch_lon_deg: float
    aim_lat_deg: float | None
    aim_lon_deg: float | None
    azimuth_deg: float | None
    range_km: float | None
    shape: str | None
    apogee_km: float | None
    published: Published | None = None

    def plan_key(self) -> tuple[Any, ...]:
        return (
            self.missile, self.launch_lat_deg, self.launch_lon_deg, self.aim_lat_deg, self.aim_lon_deg,
            self.azimuth_deg, self.range_km, self.shape, self.apogee_km,
        )  # fmt: skip


@dataclass(frozen=True)
class TruthSample:
    """True state of all k objects at one time; rows of objects not in flight are zeros."""

    t_s: float
    active: np.ndarray  # (k,) bool: launched and not yet impacted
    pos_ecef_m: np.ndarray  # (k, 3)
    vel_ecef_m_s: np.ndarray  # (k, 3)
    phase: np.ndarray  # (k,) int64 triwarn.core.tracks.Phase values (UNKNOWN when inactive)


@dataclass(frozen=True)
class Truth:
    """The flown scenario: one planned flight per object, shifted to its launch time."""

    object_ids: tuple[str, ...]
    missiles: tuple[str, ...]
    plans: tuple[Plan, ...]
    launch_time_s: np.ndarray  # (k,)
    impact_time_s: np.ndarray  # (k,) scenario seconds
    launch_lat_deg: np.ndarray
    launch_lon_deg: np.ndarray
    impact_lat_deg: np.ndarray
    impact_lon_deg: np.ndarray
    apogee_m: np.ndarray
    range_m: np.ndarray
    burnout_time_s: np.ndarray  # (k,) scenario seconds

    def __len__(self) -> int:
        return len(self.object_ids)

    def sample(self, t_s: float) -> TruthSample:
        """True states at scenario time ``t_s`` (seconds since the epoch)."""
        k = len(self.object_ids)
        pos = np.zeros((k, 3))
        vel = np.zeros((k, 3))
        phase = np.zeros(k, dtype=np.int64)
        active = (t_s >= self.launch_time_s) & (t_s <= self.impact_time_s)
        for i in np.flatnonzero(active):
            tl = t_s - self.launch_time_s[i]
            f = self.plans[i].flight
            p, v = f.sample(np.array([tl]))
            pos[i] = p[0]
            vel[i] = v[0]
            phase[i] = f.phase(np.array([tl]))[0]
        return TruthSample(float(t_s), active, pos, vel, phase)

    def sample_times(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Vectorised :meth:`sample` over times (m,): ``active (m,k), pos (m,k,3), vel (m,k,3), phase (m,k)``."""
        t = np.asarray(t_s, dtype=np.float64).reshape(-1)
        m, k = t.shape[0], len(self.object_ids)
        active = (t[:, None] >= self.launch_time_s[None, :]) & (t[:, None] <= self.impact_time_s[None, :])
        pos = np.zeros((m, k, 3))
        vel = np.zeros((m, k, 3))
        phase = np.zeros((m, k), dtype=np.int64)
        for i in range(k):
            rows = np.flatnonzero(active[:, i])
            if rows.size == 0:
                continue
            tl = t[rows] - self.launch_time_s[i]
            f = self.plans[i].flight
            p, v = f.sample(tl)
            pos[rows, i] = p
            vel[rows, i] = v
            phase[rows, i] = f.phase(tl)
        return active, pos, vel, phase


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    epoch_ns: int
    sensor_ids: tuple[str, ...]
    launches: tuple[Launch, ...]
    source: str = ""
    tail_s: float = DEFAULT_TAIL_S
    _cache: dict[str, Truth] = field(default_factory=dict, repr=False, compare=False)

    def truth(self) -> Truth:
        """Fly every launch (once; cached on this scenario). Raises :class:`ScenarioError` if one cannot be
        flown, naming the launch and the limit."""
        if "truth" not in self._cache:
            self._cache["truth"] = _fly(self)
        return self._cache["truth"]

    @property
    def duration_s(self) -> float:
        """Scenario seconds until the last impact plus ``tail_s``."""
        return float(np.max(self.truth().impact_time_s)) + self.tail_s


# --------------------------------------------------------------------------------------------------------
# flying
# --------------------------------------------------------------------------------------------------------


def _fly(sc: Scenario) -> Truth:
    plans: dict[tuple[Any, ...], Plan] = {}
    per_object: list[Plan] = []
    for ln in sc.launches:
        key = ln.plan_key()
        if key not in plans:
            try:
                plans[key] = plan_trajectory(
                    get_missile(ln.missile).vehicle,
                    ln.launch_lat_deg,
                    ln.launch_lon_deg,
                    aim_lat_deg=ln.aim_lat_deg,
                    aim_lon_deg=ln.aim_lon_deg,
                    azimuth_deg=ln.azimuth_deg,
                    range_km=ln.range_km,
                    shape=ln.shape,
                    apogee_km=ln.apogee_km,
                )
            except (PlanningError, MissileError) as exc:
                raise ScenarioError(f"{sc.source}: launch '{ln.object_id}' cannot be flown: {exc}") from None
        per_object.append(plans[key])
    t_launch = np.array([ln.time_s for ln in sc.launches])

    def arr(fn: Any) -> np.ndarray:
        return np.array([fn(p) for p in per_object], dtype=np.float64)

    return Truth(
        object_ids=tuple(ln.object_id for ln in sc.launches),
        missiles=tuple(ln.missile for ln in sc.launches),
        plans=tuple(per_object),
        launch_time_s=t_launch,
        impact_time_s=t_launch + arr(lambda p: p.flight_time_s),
        launch_lat_deg=arr(lambda p: p.launch_lat_deg),
        launch_lon_deg=arr(lambda p: p.launch_lon_deg),
        impact_lat_deg=arr(lambda p: p.impact_lat_deg),
        impact_lon_deg=arr(lambda p: p.impact_lon_deg),
        apogee_m=arr(lambda p: p.apogee_m),
        range_m=arr(lambda p: p.range_m),
        burnout_time_s=t_launch + arr(lambda p: p.flight.burnout_t_s),
    )


# --------------------------------------------------------------------------------------------------------
# loading and validation
# --------------------------------------------------------------------------------------------------------


@functools.cache
def sites() -> Mapping[str, tuple[float, float]]:
    """Named launch sites of ``scenarios/sites.toml``: name -> (lat_deg, lon_deg)."""
    text = resources.files(CATALOG_PACKAGE).joinpath("sites.toml").read_text("utf-8")
    doc = tomllib.loads(text)
    return MappingProxyType({k: (float(v["lat_deg"]), float(v["lon_deg"])) for k, v in doc["site"].items()})


def catalog_names() -> tuple[str, ...]:
    """Names of the scenario files shipped in ``triwarn.scenarios`` (without ``.toml``)."""
    root = resources.files(CATALOG_PACKAGE)
    names = [p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml") and p.name != "sites.toml"]
    return tuple(sorted(names))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A scenario from the catalog (``"demo"``) or from a TOML file path; validated completely."""
    s = str(name_or_path)
    path = Path(s)
    if path.suffix == ".toml" or path.exists() or "/" in s:
        if not path.is_file():
            raise ScenarioError(f"{s}: no such scenario file")
        source = str(path)
        text = path.read_text("utf-8")
    else:
        res = resources.files(CATALOG_PACKAGE).joinpath(f"{s}.toml")
        if not res.is_file() or s == "sites":
            raise ScenarioError(f"unknown scenario '{s}'; the catalog has: {', '.join(catalog_names())}")
        source = f"scenarios/{s}.toml"
        text = res.read_text("utf-8")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    return parse_scenario(doc, source)


_TOP_KEYS = frozenset({"format_version", "name", "description", "epoch", "sensors", "tail_s", "launch"})
_LAUNCH_KEYS = frozenset({
    "id", "missile", "site", "launch_lat_deg", "launch_lon_deg", "time_s", "aim_lat_deg", "aim_lon_deg",
    "azimuth_deg", "range_km", "shape", "apogee_km", "count", "interval_s", "published",
})  # fmt: skip
_PUBLISHED_KEYS = frozenset({"apogee_km", "range_km", "flight_time_s", "source"})


def _err(source: str, key: str, problem: str, expected: str) -> ScenarioError:
    return ScenarioError(f"{source}: {key}: {problem}; expected {expected}")


def _num(
    source: str, table: Mapping[str, Any], key: str, where: str, lo: float, hi: float, *, default: Any = ...
) -> float:
    if key not in table:
        if default is ...:
            raise _err(source, f"{where}{key}", "missing", f"a number in [{lo:g}, {hi:g}]")
        return default
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise _err(source, f"{where}{key}", f"{v!r} is not a number", f"a number in [{lo:g}, {hi:g}]")
    if not math.isfinite(v) or not lo <= v <= hi:
        raise _err(source, f"{where}{key}", f"{v!r} is out of range", f"a number in [{lo:g}, {hi:g}]")
    return float(v)


def _interval(source: str, table: Mapping[str, Any], key: str, where: str) -> tuple[float, float] | None:
    if key not in table:
        return None
    v = table[key]
    if isinstance(v, int | float) and not isinstance(v, bool):
        v = [v, v]
    ok = (
        isinstance(v, list)
        and len(v) == 2
        and all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in v)
        and 0 < v[0] <= v[1]
    )
    if not ok:
        raise _err(source, f"{where}{key}", f"{v!r} is not a valid interval", "a positive number or [low, high]")
    return float(v[0]), float(v[1])


def parse_scenario(doc: Mapping[str, Any], source: str = "<scenario>") -> Scenario:
    """A :class:`Scenario` from a parsed TOML document; every key checked (see docs/scenario-format.md)."""
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise _err(source, unknown[0], "unknown key", f"one of {', '.join(sorted(_TOP_KEYS))}")
    if doc.get("format_version") != FORMAT_VERSION:
        raise _err(source, "format_version", f"{doc.get('format_version')!r} is not supported", str(FORMAT_VERSION))
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _err(source, "name", "missing or empty", "a non-empty string")
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise _err(source, "description", "not a string", "a string")
    epoch = doc.get("epoch")
    if not isinstance(epoch, dt.datetime) or epoch.tzinfo is None:
        raise _err(source, "epoch", f"{epoch!r} is not a date-time with a UTC offset", "e.g. 2022-11-18T10:14:00+09:00")
    epoch_ns = _datetime_ns(epoch)
    sensors = doc.get("sensors")
    if not isinstance(sensors, list) or not sensors or not all(isinstance(s, str) and s.strip() for s in sensors):
        raise _err(source, "sensors", f"{sensors!r} is not a list of sensor ids", 'e.g. ["jp-fps5-sado"]')
    if len(set(sensors)) != len(sensors):
        dup = next(s for s in sensors if sensors.count(s) > 1)
        raise _err(source, "sensors", f"'{dup}' is listed twice", "each sensor id once")
    tail_s = _num(source, doc, "tail_s", "", 0.0, 3600.0, default=DEFAULT_TAIL_S)
    raw = doc.get("launch")
    if not isinstance(raw, list) or not raw:
        raise _err(source, "launch", "no [[launch]] tables", "at least one [[launch]] table")
    launches: list[Launch] = []
    for i, t in enumerate(raw):
        launches.extend(_parse_launch(source, t, i))
    ids = [ln.object_id for ln in launches]
    if len(set(ids)) != len(ids):
        dup = next(x for x in ids if ids.count(x) > 1)
        raise _err(source, "launch.id", f"object id '{dup}' occurs twice", "unique ids")
    return Scenario(
        name=name.strip(),
        description=description.strip(),
        epoch_ns=epoch_ns,
        sensor_ids=tuple(sensors),
        launches=tuple(launches),
        source=source,
        tail_s=tail_s,
    )


def _datetime_ns(t: dt.datetime) -> int:
    utc = t.astimezone(dt.UTC)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    delta = utc - epoch
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _parse_launch(source: str, t: Any, i: int) -> list[Launch]:
    where = f"launch[{i}]."
    if not isinstance(t, dict):
        raise _err(source, f"launch[{i}]", "not a table", "a [[launch]] table")
    oid = t.get("id")
    if not isinstance(oid, str) or not oid.strip():
        raise _err(source, where + "id", "missing or empty", "a non-empty string naming the missile")
    where = f"launch '{oid}'."
    unknown = sorted(set(t) - _LAUNCH_KEYS)
    if unknown:
        raise _err(source, where + unknown[0], "unknown key", f"one of {', '.join(sorted(_LAUNCH_KEYS))}")
    missile = t.get("missile")
    if not isinstance(missile, str) or missile not in missile_classes():
        raise _err(source, where + "missile", f"{missile!r} is not a known class", ", ".join(missile_classes()))
    if "site" in t:
        if "launch_lat_deg" in t or "launch_lon_deg" in t:
            raise _err(source, where + "site", "given together with launch_lat_deg/launch_lon_deg", "one of them")
        site = t["site"]
        if site not in sites():
            raise _err(source, where + "site", f"{site!r} is not a known site", ", ".join(sites()))
        lat0, lon0 = sites()[site]
    else:
        lat0 = _num(source, t, "launch_lat_deg", where, -90.0, 90.0)
        lon0 = _num(source, t, "launch_lon_deg", where, -180.0, 360.0)
    time_s = _num(source, t, "time_s", where, 0.0, 86_400.0, default=0.0)
    has_aim = "aim_lat_deg" in t or "aim_lon_deg" in t
    has_polar = "azimuth_deg" in t or "range_km" in t
    if has_aim == has_polar:
        raise _err(
            source, where + "aim_lat_deg", "the aim point is missing or given twice",
            "either aim_lat_deg and aim_lon_deg, or azimuth_deg and range_km",
        )  # fmt: skip
    aim_lat = aim_lon = az = rng = None
    if has_aim:
        aim_lat = _num(source, t, "aim_lat_deg", where, -90.0, 90.0)
        aim_lon = _num(source, t, "aim_lon_deg", where, -180.0, 360.0)
    else:
        az = _num(source, t, "azimuth_deg", where, 0.0, 360.0)
        rng = _num(source, t, "range_km", where, 5.0, 20_000.0)
    shape = t.get("shape")
    if shape is not None and shape not in SHAPES:
        raise _err(source, where + "shape", f"{shape!r} is not a shape", ", ".join(SHAPES))
    apogee = _num(source, t, "apogee_km", where, 1.0, 20_000.0, default=None)
    if shape == "minimum_energy" and apogee is not None:
        raise _err(
            source, where + "apogee_km", "given with shape minimum_energy", "no apogee, or shape lofted/depressed"
        )
    count = t.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100:
        raise _err(source, where + "count", f"{count!r} is not a salvo size", "an integer from 1 to 100")
    interval = _num(source, t, "interval_s", where, 0.0, 3600.0, default=0.0)
    published = None
    if "published" in t:
        pub = t["published"]
        if not isinstance(pub, dict):
            raise _err(source, where + "published", "not a table", "a table of published figures")
        unknown = sorted(set(pub) - _PUBLISHED_KEYS)
        if unknown:
            raise _err(source, where + "published." + unknown[0], "unknown key", ", ".join(sorted(_PUBLISHED_KEYS)))
        pw = where + "published."
        published = Published(
            apogee_km=_interval(source, pub, "apogee_km", pw),
            range_km=_interval(source, pub, "range_km", pw),
            flight_time_s=_interval(source, pub, "flight_time_s", pw),
            source=str(pub.get("source", "")),
        )
    out = []
    for j in range(count):
        out.append(
            Launch(
                object_id=oid if count == 1 else f"{oid}-{j + 1}",
                missile=missile,
                time_s=time_s + j * interval,
                launch_lat_deg=lat0,
                launch_lon_deg=lon0,
                aim_lat_deg=aim_lat,
                aim_lon_deg=aim_lon,
                azimuth_deg=az,
                range_km=rng,
                shape=shape,
                apogee_km=apogee,
                published=published,
            )
        )
    return out


__all__ = [
    "Launch",
    "Published",
    "Scenario",
    "ScenarioError",
    "Truth",
    "TruthSample",
    "catalog_names",
    "load_scenario",
    "parse_scenario",
    "sites",
]
