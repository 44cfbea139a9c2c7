"""Scenario families: ordinary scenario files drawn at random from parameterised families (issue 14 item 1).

:func:`generate` (``triwarn scenario generate FAMILY --seed N``) turns a family name and a seed into the text
of an ordinary scenario file (docs/scenario-format.md), the same for the same seed on every machine (a numpy
``Generator`` seeded with the seed and the family's name). Every launch is planned once here and redrawn if
its class cannot fly it, so each generated file passes ``triwarn scenario validate``. Families
(docs/scenario-families.md):

- ``raid``: 10-30 missiles launched within 120 s, short-range (kn-25, kn-23, hwasong-6) and medium-range
  (nodong, pukguksong-1) classes, from 2-6 named sites; each launcher ripple-fires 1-6 missiles 2-10 s apart
  (a salvo entry: ``count``, ``interval_s``; at least one ripple of 2 or more), aimed into the open Sea of
  Japan, at ROK land or into Japan's EEZ;
- ``close-pair``: two missiles of one class (SRBM to ICBM, lofted or not) from one site, 5-60 s apart, on
  azimuths 0-3 degrees apart;
- ``thin-coverage``: one launch seen by one nation's sensors only, or with the space infrared sensors out,
  or with one nation's ground radars (its forward radars) out: scenario files select sensors by listing
  them (``sensors``), so a mode is a shorter list;
- ``launch-anywhere``: 1-3 launches from points along the whole DPRK coast (both coasts) or at sea off it,
  on azimuths from east (90°) to south (180°), with satellite-launch-like shots southward over the East
  China Sea from Sohae. The missile catalog has no space-launch vehicle; the closest class, ``hwasong-17``
  flown minimum-energy to 2,500-3,800 km, stands in for one (a ballistic flight, not an orbit).

Aim kinds come from the bundled area grid (:class:`triwarn.core.assessment.areas.AreaMap`): ``sea``: a grid
cell with no flag (open water outside Japan's EEZ), ``kr-land``: ROK land, ``jp-eez``: water of Japan's EEZ.
Degrees and km at this edge (the file format's units); coordinates of coast points are approximations.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from triwarn.core.assessment.areas import JP_EEZ, JP_LAND, KR_LAND, LAND, AreaMap
from triwarn.core.trajectory.frames import geodesic_direct, geodesic_inverse
from triwarn.scenarios.scenario_file import FORMAT_VERSION, ScenarioError, parse_scenario, sites

FAMILIES: tuple[str, ...] = ("raid", "close-pair", "thin-coverage", "launch-anywhere")
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

# ---- sensors: the ids of sensors/sim/data/sensors.toml (scenarios may not import sensors/; a test checks
# that this table matches the sensor catalog) -> (nation, role): "ir" (space infrared), "ground" (a land
# radar: the nation's forward radars) or "ship" (a sea-based radar)
SENSORS: dict[str, tuple[str, str]] = {
    "us-tpy2-shariki": ("us", "ground"),
    "us-tpy2-kyogamisaki": ("us", "ground"),
    "us-tpy2-seongju": ("us", "ground"),
    "us-sbirs-geo-1": ("us", "ir"),
    "us-sbirs-geo-2": ("us", "ir"),
    "us-aegis-ddg-1": ("us", "ship"),
    "jp-fps5-shimokoshiki": ("jp", "ground"),
    "jp-fps5-sado": ("jp", "ground"),
    "jp-fps5-ominato": ("jp", "ground"),
    "jp-fps5-yozadake": ("jp", "ground"),
    "jp-aegis-1": ("jp", "ship"),
    "jp-aegis-2": ("jp", "ship"),
    "kr-greenpine-chungcheong": ("kr", "ground"),
    "kr-greenpine-busan": ("kr", "ground"),
    "kr-aegis-sejong": ("kr", "ship"),
}
SENSOR_NATIONS: tuple[str, ...] = ("us", "jp", "kr")
#: thin-coverage modes: sensors of one nation only, space infrared out, one nation's ground radars out
THIN_MODES: tuple[str, ...] = ("one-nation", "no-ir", "no-forward")

# ---- missile classes by role, with the span of ranges (km) the families draw from: inside each class's
# maximum range (minimum-energy, due east from Wonsan: kn-25 291, kn-23 1376, hwasong-6 533, nodong 1171,
# pukguksong-1 2123, hwasong-12 5188, ICBMs > 9000 km); the planner still checks every draw.
SHORT: tuple[str, ...] = ("kn-25", "kn-23", "hwasong-6")
MEDIUM: tuple[str, ...] = ("nodong", "pukguksong-1")
IRBM: tuple[str, ...] = ("hwasong-12",)
ICBM: tuple[str, ...] = ("hwasong-14", "hwasong-15", "hwasong-17", "hwasong-18")
RANGE_KM: dict[str, tuple[float, float]] = {
    "kn-25": (80.0, 270.0),
    "kn-23": (150.0, 900.0),
    "hwasong-6": (150.0, 480.0),
    "nodong": (300.0, 1050.0),
    "pukguksong-1": (300.0, 1300.0),
    "hwasong-12": (700.0, 4000.0),
    "hwasong-14": (1500.0, 6000.0),
    "hwasong-15": (1500.0, 6000.0),
    "hwasong-17": (1500.0, 6000.0),
    "hwasong-18": (1500.0, 6000.0),
}
#: lofted IRBM/ICBM shots as the published events fly them: range (km) and apogee (km) spans
LOFTED_EVENT: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "hwasong-12": ((650.0, 800.0), (1500.0, 2200.0)),
    "hwasong-14": ((800.0, 1000.0), (2500.0, 3000.0)),
    "hwasong-15": ((800.0, 1000.0), (3500.0, 4500.0)),
    "hwasong-17": ((900.0, 1100.0), (5000.0, 6000.0)),
    "hwasong-18": ((900.0, 1100.0), (5000.0, 6000.0)),
}

# ---- aim kinds: (lat_lo, lat_hi, lon_lo, lon_hi) boxes searched, and the flag test of an accepted cell
AIM_KINDS: tuple[str, ...] = ("sea", "kr-land", "jp-eez")
AIM_BOX: dict[str, tuple[float, float, float, float]] = {
    "sea": (37.5, 43.0, 129.5, 137.0),  # Sea of Japan
    "kr-land": (34.5, 38.3, 126.3, 129.4),
    "jp-eez": (34.5, 43.0, 130.5, 140.0),  # Japan's EEZ in the Sea of Japan
}


def aim_kind_of(flags: int) -> str | None:
    """The aim kind of a grid cell's flags (None: land of another country, Japanese land, ...)."""
    if flags == 0:
        return "sea"
    if flags & KR_LAND:
        return "kr-land"
    if flags & JP_EEZ and not flags & (LAND | JP_LAND):
        return "jp-eez"
    return None


# ---- the DPRK coast (approx.): points from south to north, east coast and west coast; launch points are
# drawn on the segments between them, sea launch points 20-80 km offshore (seaward azimuths given)
EAST_COAST: tuple[tuple[float, float], ...] = (
    (38.62, 128.35),  # Kosong
    (38.95, 127.90),  # Tongchon
    (39.17, 127.48),  # Wonsan
    (39.83, 127.65),  # Hungnam
    (40.03, 128.18),  # Sinpo
    (40.45, 128.90),  # Tanchon
    (40.67, 129.20),  # Kimchaek
    (40.86, 129.67),  # Musudan-ri
    (41.78, 129.80),  # Chongjin
    (42.25, 130.30),  # Rason
)
WEST_COAST: tuple[tuple[float, float], ...] = (
    (37.95, 125.55),  # Kangryong
    (38.03, 125.70),  # Haeju
    (38.73, 125.38),  # Nampo
    (39.30, 125.20),  # Onchon / Jungsan
    (39.66, 124.71),  # Cholsan / Sohae
    (40.10, 124.40),  # Sinuiju
)
SEAWARD_AZ_DEG: dict[str, tuple[float, float]] = {"east": (80.0, 135.0), "west": (225.0, 270.0)}
#: Sohae satellite launching station (Tongchang-ri), approx.
SOHAE: tuple[float, float] = (39.66, 124.71)
#: the stand-in for a space-launch vehicle (the catalog has none) and its span of range (km) and azimuth (deg)
SLV_CLASS = "hwasong-17"
SLV_RANGE_KM: tuple[float, float] = (2500.0, 3800.0)
SLV_AZIMUTH_DEG: tuple[float, float] = (170.0, 180.0)


@dataclass(frozen=True)
class Shot:
    """One [[launch]] entry of a generated file (a salvo when ``count`` > 1)."""

    id: str
    missile: str
    time_s: float
    site: str | None  # a named site of sites.toml, or None with launch_lat_deg/lon_deg
    lat_deg: float
    lon_deg: float
    aim_lat_deg: float | None = None
    aim_lon_deg: float | None = None
    azimuth_deg: float | None = None
    range_km: float | None = None
    shape: str | None = None
    apogee_km: float | None = None
    count: int = 1
    interval_s: float = 0.0
    note: str = ""


@dataclass(frozen=True)
class Generated:
    """A generated scenario: its TOML text, name and the shots and sensors in it."""

    family: str
    seed: int
    name: str
    description: str
    sensors: tuple[str, ...]
    shots: tuple[Shot, ...]
    notes: tuple[str, ...]

    def toml(self) -> str:
        return to_toml(self)


class FamilyError(ValueError):
    """Unknown family or bad seed."""


def generate(family: str, seed: int) -> Generated:
    """The scenario of ``family`` for ``seed`` (an integer ≥ 0); deterministic."""
    if family not in _GENERATORS:
        raise FamilyError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise FamilyError(f"seed {seed!r} is not an integer >= 0")
    rng = np.random.default_rng([seed, zlib.crc32(family.encode())])
    draw = _Draw(rng, AreaMap.load())
    return _GENERATORS[family](draw, seed)


# ---------------------------------------------------------------------------------------------------------
# drawing helpers
# ---------------------------------------------------------------------------------------------------------


class _Draw:
    """Random draws of one generation: the seeded generator, the area grid, and a planner check."""

    def __init__(self, rng: np.random.Generator, areas: AreaMap) -> None:
        self.rng = rng
        self.areas = areas

    def uniform(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def integer(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi] (both included)."""
        return int(self.rng.integers(lo, hi + 1))

    def choice(self, items: Sequence[Any]) -> Any:
        return items[int(self.rng.integers(len(items)))]

    def aim(self, kind: str, lat_deg: float, lon_deg: float, range_km: tuple[float, float]) -> tuple[float, float]:
        """A point of aim ``kind`` whose geodesic range from (lat, lon) lies in ``range_km``; raises
        :class:`LookupError` when 200 draws find none."""
        lat_lo, lat_hi, lon_lo, lon_hi = AIM_BOX[kind]
        for _ in range(200):
            la, lo = self.uniform(lat_lo, lat_hi), self.uniform(lon_lo, lon_hi)
            if aim_kind_of(int(self.areas.flags_at(np.array([la]), np.array([lo]))[0])) != kind:
                continue
            if range_km[0] <= distance_km(lat_deg, lon_deg, la, lo) <= range_km[1]:
                return round(la, 3), round(lo, 3)
        raise LookupError(kind)


def distance_km(lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float) -> float:
    """Geodesic distance on WGS-84, km."""
    s_m, _, _ = geodesic_inverse(
        math.radians(lat1_deg), math.radians(lon1_deg), math.radians(lat2_deg), math.radians(lon2_deg)
    )
    return float(s_m) / 1e3


def azimuth_deg(lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float) -> float:
    """Forward geodesic azimuth at point 1, degrees clockwise from north in [0, 360)."""
    _, az1, _ = geodesic_inverse(
        math.radians(lat1_deg), math.radians(lon1_deg), math.radians(lat2_deg), math.radians(lon2_deg)
    )
    return math.degrees(float(az1)) % 360.0


def destination(lat_deg: float, lon_deg: float, az_deg: float, dist_km: float) -> tuple[float, float]:
    """The point ``dist_km`` from (lat, lon) along start azimuth ``az_deg``, degrees."""
    la, lo, _ = geodesic_direct(math.radians(lat_deg), math.radians(lon_deg), math.radians(az_deg), dist_km * 1e3)
    return math.degrees(float(la)), math.degrees(float(lo))


def flies(shot: Shot) -> bool:
    """Whether ``shot`` can be flown: a one-launch scenario of it passes the scenario loader and its
    :meth:`~triwarn.scenarios.scenario_file.Scenario.truth` (the checks of ``triwarn scenario validate``)."""
    doc = {
        "format_version": FORMAT_VERSION,
        "name": "check",
        "epoch": EPOCH,
        "sensors": list(SENSORS),
        "launch": [launch_table(shot)],
    }
    try:
        parse_scenario(doc, "<generated>").truth()
    except ScenarioError:
        return False
    return True


def _first_flying(make: Callable[[], Shot | None], what: str, tries: int = 40) -> Shot:
    """The first shot ``make`` draws that the planner can fly (``make`` returns None for a failed draw)."""
    for _ in range(tries):
        shot = make()
        if shot is not None and flies(shot):
            return shot
    raise RuntimeError(f"no flyable {what} in {tries} draws")  # a family whose spans are wrong


def _site_shot(draw: _Draw, site: str, missile: str, kind: str, shot_id: str, time_s: float) -> Shot | None:
    lat, lon = sites()[site]
    try:
        aim = draw.aim(kind, lat, lon, RANGE_KM[missile])
    except LookupError:
        return None
    return Shot(shot_id, missile, round(time_s, 1), site, lat, lon, aim_lat_deg=aim[0], aim_lon_deg=aim[1])


def _sensors(exclude: Callable[[str, str, str], bool] = lambda sid, nation, role: False) -> tuple[str, ...]:
    return tuple(sid for sid, (nation, role) in SENSORS.items() if not exclude(sid, nation, role))


# ---------------------------------------------------------------------------------------------------------
# the families
# ---------------------------------------------------------------------------------------------------------

RAID_MISSILES: tuple[int, int] = (10, 30)
RAID_SITES: tuple[int, int] = (2, 6)
RAID_RIPPLE: tuple[int, int] = (2, 6)
RAID_RIPPLE_INTERVAL_S: tuple[float, float] = (2.0, 10.0)
RAID_WINDOW_S = 120.0  # every launch within this many seconds of the first


def _raid(draw: _Draw, seed: int) -> Generated:
    n_total = draw.integer(*RAID_MISSILES)
    n_sites = draw.integer(*RAID_SITES)
    site_names = list(sites())
    chosen = [site_names[i] for i in draw.rng.permutation(len(site_names))[:n_sites]]
    # launchers: every site gets at least one; the first launcher ripple-fires 2-6 missiles
    sizes: list[int] = []
    left = n_total
    while left > 0:
        size = draw.integer(RAID_RIPPLE[0], RAID_RIPPLE[1]) if not sizes or draw.uniform(0, 1) < 0.6 else 1
        # keep one missile for every site still without a launcher
        size = max(1, min(size, left - max(0, n_sites - len(sizes) - 1)))
        sizes.append(size)
        left -= size
    shots: list[Shot] = []
    for j, size in enumerate(sizes):
        site = chosen[j] if j < n_sites else draw.choice(chosen)
        # mixed classes: the first launcher short-range, the second medium-range, the rest either
        pool = SHORT if j == 0 else MEDIUM if j == 1 else draw.choice((SHORT, SHORT, MEDIUM))
        interval = round(draw.uniform(*RAID_RIPPLE_INTERVAL_S), 1) if size > 1 else 0.0
        span = (size - 1) * interval

        def make(site: str = site, pool: tuple[str, ...] = pool, j: int = j, interval: float = interval,
                 span: float = span, size: int = size) -> Shot | None:  # fmt: skip
            missile = draw.choice(pool)
            kind = draw.choice(AIM_KINDS)
            t0 = draw.uniform(0.0, RAID_WINDOW_S - 1.0 - span)
            shot = _site_shot(draw, site, missile, kind, f"l{j + 1:02d}", t0)
            if shot is None:
                return None
            note = f"launcher {j + 1} at {site}: {size} x {missile} at {kind}"
            return replace(shot, count=size, interval_s=interval, note=note)

        shots.append(_first_flying(make, f"raid launcher at {site}"))
    name = f"raid-{seed}"
    desc = f"raid family, seed {seed}: {n_total} missiles from {n_sites} sites within {RAID_WINDOW_S:.0f} s"
    return Generated("raid", seed, name, desc, _sensors(), tuple(shots), ())


CLOSE_PAIR_CLASSES: tuple[str, ...] = SHORT + MEDIUM + IRBM + ICBM
CLOSE_PAIR_GAP_S: tuple[float, float] = (5.0, 60.0)
CLOSE_PAIR_DAZ_DEG: tuple[float, float] = (0.0, 3.0)
CLOSE_PAIR_AZIMUTH_DEG: tuple[float, float] = (60.0, 120.0)


def _close_pair(draw: _Draw, seed: int) -> Generated:
    missile = draw.choice(CLOSE_PAIR_CLASSES)
    site = draw.choice(list(sites()))
    lat, lon = sites()[site]
    lofted = draw.uniform(0, 1) < 0.5
    gap = round(draw.uniform(*CLOSE_PAIR_GAP_S), 1)

    def make() -> Shot | None:
        az = round(draw.uniform(*CLOSE_PAIR_AZIMUTH_DEG), 2)
        shape: str | None = None
        apogee = None
        if lofted and missile in LOFTED_EVENT:
            (r_lo, r_hi), (a_lo, a_hi) = LOFTED_EVENT[missile]
            rng_km, apogee = round(draw.uniform(r_lo, r_hi), 1), round(draw.uniform(a_lo, a_hi), 0)
        else:
            lo, hi = RANGE_KM[missile]
            rng_km = round(draw.uniform(lo, hi * (0.7 if lofted else 1.0)), 1)
            shape = "lofted" if lofted else "minimum_energy"
        return Shot("a", missile, 0.0, site, lat, lon, azimuth_deg=az, range_km=rng_km, shape=shape,
                    apogee_km=apogee)  # fmt: skip

    first = _first_flying(make, f"close pair of {missile}")
    az0 = float(first.azimuth_deg or 0.0)  # make() always sets it
    az1 = round(az0 + draw.uniform(*CLOSE_PAIR_DAZ_DEG) * draw.choice((-1.0, 1.0)), 2)
    second = replace(first, id="b", time_s=gap, azimuth_deg=az1)
    if not flies(second):
        az1 = az0
        second = replace(second, azimuth_deg=az1)
    pair = (
        replace(first, note=f"first of the pair: {missile}, {'lofted' if lofted else 'not lofted'}"),
        replace(second, note=f"second, {gap:.1f} s later, azimuth {az1 - az0:+.2f} deg"),
    )
    desc = f"close-pair family, seed {seed}: two {missile} from {site} {gap:.1f} s apart"
    return Generated("close-pair", seed, f"close-pair-{seed}", desc, _sensors(), pair, ())


THIN_CLASSES: tuple[str, ...] = SHORT + MEDIUM + IRBM


def _thin_coverage(draw: _Draw, seed: int) -> Generated:
    mode = draw.choice(THIN_MODES)
    nation = draw.choice(SENSOR_NATIONS)
    if mode == "one-nation":
        sensors = _sensors(lambda sid, n, role: n != nation)
        what = f"sensors of {nation} only"
    elif mode == "no-ir":
        sensors = _sensors(lambda sid, n, role: role == "ir")
        what = "space infrared sensors out"
    else:
        sensors = _sensors(lambda sid, n, role: n == nation and role == "ground")
        what = f"ground (forward) radars of {nation} out"
    missile = draw.choice(THIN_CLASSES)
    site = draw.choice(list(sites()))

    def make() -> Shot | None:
        return _site_shot(draw, site, missile, draw.choice(AIM_KINDS), "m", 0.0)

    shot = _first_flying(make, f"thin-coverage {missile} from {site}")
    desc = f"thin-coverage family, seed {seed}: one {missile} from {site}, {what}"
    notes = (f"mode = {mode}" + (f", nation = {nation}" if mode != "no-ir" else ""),)
    return Generated("thin-coverage", seed, f"thin-coverage-{seed}", desc, sensors, (shot,), notes)


ANYWHERE_LAUNCHES: tuple[int, int] = (1, 3)
ANYWHERE_AZIMUTH_DEG: tuple[float, float] = (90.0, 180.0)
ANYWHERE_CLASSES: tuple[str, ...] = SHORT + MEDIUM + IRBM + ICBM
ANYWHERE_SEA_KM: tuple[float, float] = (20.0, 80.0)
ANYWHERE_GAP_S: tuple[float, float] = (0.0, 300.0)


def coast_point(draw: _Draw) -> tuple[str, float, float]:
    """A point on the DPRK coast (either coast, on a segment between two :data:`EAST_COAST` or
    :data:`WEST_COAST` points): (coast, lat_deg, lon_deg)."""
    coast = draw.choice(("east", "west"))
    pts = EAST_COAST if coast == "east" else WEST_COAST
    k = draw.integer(0, len(pts) - 2)
    f = draw.uniform(0.0, 1.0)
    (la0, lo0), (la1, lo1) = pts[k], pts[k + 1]
    return coast, la0 + f * (la1 - la0), lo0 + f * (lo1 - lo0)


def _slv_shot(draw: _Draw, shot_id: str, t_s: float) -> Shot:
    lat, lon = SOHAE
    return Shot(shot_id, SLV_CLASS, round(t_s, 1), None, lat, lon,
                azimuth_deg=round(draw.uniform(*SLV_AZIMUTH_DEG), 2),
                range_km=round(draw.uniform(*SLV_RANGE_KM), 1), shape="minimum_energy",
                note="space-launch-like shot southward from Sohae (stand-in class)")  # fmt: skip


def _coast_shot(draw: _Draw, shot_id: str, t_s: float, lat: float, lon: float, note: str) -> Shot:
    missile = draw.choice(ANYWHERE_CLASSES)
    lo, hi = RANGE_KM[missile]
    return Shot(shot_id, missile, round(t_s, 1), None, lat, lon,
                azimuth_deg=round(draw.uniform(*ANYWHERE_AZIMUTH_DEG), 2),
                range_km=round(draw.uniform(lo, hi), 1), shape="minimum_energy", note=note)  # fmt: skip


def _launch_anywhere(draw: _Draw, seed: int) -> Generated:
    n = draw.integer(*ANYWHERE_LAUNCHES)
    shots: list[Shot] = []
    t = 0.0
    for j in range(n):
        where = draw.choice(("coast", "coast", "sea", "slv"))
        if where == "slv":
            make = functools.partial(_slv_shot, draw, f"m{j + 1}", t)
        else:
            coast, lat, lon = coast_point(draw)
            if where == "sea":
                lat, lon = destination(lat, lon, draw.uniform(*SEAWARD_AZ_DEG[coast]), draw.uniform(*ANYWHERE_SEA_KM))
            note = f"{'at sea off' if where == 'sea' else 'on'} the {coast} coast"
            make = functools.partial(_coast_shot, draw, f"m{j + 1}", t, round(lat, 3), round(lon, 3), note)
        shots.append(_first_flying(make, f"launch-anywhere shot {j + 1}"))
        t += draw.uniform(*ANYWHERE_GAP_S)
    desc = f"launch-anywhere family, seed {seed}: {n} launch(es) from the DPRK coast or sea, azimuth 90-180 deg"
    return Generated("launch-anywhere", seed, f"launch-anywhere-{seed}", desc, _sensors(), tuple(shots), ())


_GENERATORS: dict[str, Callable[[_Draw, int], Generated]] = {
    "raid": _raid,
    "close-pair": _close_pair,
    "thin-coverage": _thin_coverage,
    "launch-anywhere": _launch_anywhere,
}


# ---------------------------------------------------------------------------------------------------------
# TOML text
# ---------------------------------------------------------------------------------------------------------


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"no TOML for {v!r}")


def launch_table(s: Shot) -> dict[str, Any]:
    """The ``[[launch]]`` table of a shot, keys in file order."""
    items: dict[str, Any] = {"id": s.id, "missile": s.missile}
    if s.site is not None:
        items["site"] = s.site
    else:
        items |= {"launch_lat_deg": s.lat_deg, "launch_lon_deg": s.lon_deg}
    items["time_s"] = float(s.time_s)
    if s.aim_lat_deg is not None:
        items |= {"aim_lat_deg": s.aim_lat_deg, "aim_lon_deg": s.aim_lon_deg}
    else:
        items |= {"azimuth_deg": s.azimuth_deg, "range_km": s.range_km}
    if s.shape is not None:
        items["shape"] = s.shape
    if s.apogee_km is not None:
        items["apogee_km"] = float(s.apogee_km)
    if s.count > 1:
        items |= {"count": s.count, "interval_s": float(s.interval_s)}
    return items


def to_toml(g: Generated) -> str:
    """The scenario file of ``g`` (format version 1)."""
    lines = [
        f"# Generated by `triwarn scenario generate {g.family} --seed {g.seed}` (scenarios/families.py).",
        *(f"# {n}" for n in g.notes),
        f"format_version = {FORMAT_VERSION}",
        f"name = {_value(g.name)}",
        f"description = {_value(g.description)}",
        f"epoch = {EPOCH.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"sensors = {_value(list(g.sensors))}",
    ]
    for s in g.shots:
        lines.append("")
        if s.note:
            lines.append(f"# {s.note}")
        lines.append("[[launch]]")
        lines += [f"{k} = {_value(v)}" for k, v in launch_table(s).items()]
    return "\n".join(lines) + "\n"


__all__ = [
    "AIM_KINDS",
    "FAMILIES",
    "SENSORS",
    "FamilyError",
    "Generated",
    "Shot",
    "aim_kind_of",
    "generate",
    "to_toml",
]
