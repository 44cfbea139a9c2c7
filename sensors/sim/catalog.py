"""The editable sensor catalog: load, validate and look up the sensors of the three nations.

The catalog is a TOML file with one ``[[sensor]]`` table per sensor (the default one is
``triwarn/sensors/sim/data/sensors.toml``). Units sit in the key names (``_deg``, ``_km``, ``_mrad``, ``_urad``,
``_m``, ``_s``); :func:`load_catalog` converts them to SI (metres, radians, seconds) once, at this edge.

Every sensor must carry ``assumption = true``: its accuracies, ranges, rates, latencies and exact coordinates
are not published figures. A broken file raises :class:`SensorCatalogError` whose message names the file,
the sensor, the key and what was expected.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from triwarn.core.tracks import NATIONS

KINDS: tuple[str, ...] = ("radar", "ir")

#: Geostationary orbit radius, metres (a standard derived constant: (GM / ω_E²)^(1/3)).
GEO_RADIUS_M: float = 42_164_172.0


class SensorCatalogError(ValueError):
    """A sensor file cannot be used; the message names the file, the sensor, the key and what is expected."""


@dataclass(frozen=True)
class Sensor:
    """One sensor in SI units. Radar fields are 0 for an infrared sensor and vice versa.

    Angles in radians, distances in metres, times in seconds. ``pd`` is the probability of detecting a
    visible target on one scan; ``false_alarms_per_scan`` the mean number of false reports per scan
    (Poisson). Biases are fixed registration errors added to every measurement of this sensor.
    """

    id: str
    nation: str
    kind: str  # "radar" or "ir"
    public: str  # what about this sensor is public
    assumption: bool
    revisit_s: float
    scan_offset_s: float
    pd: float
    false_alarms_per_scan: float
    latency_s: float
    # radar
    lat_rad: float = 0.0
    lon_rad: float = 0.0
    h_m: float = 0.0
    sigma_range_m: float = 0.0
    sigma_az_rad: float = 0.0
    sigma_el_rad: float = 0.0
    sigma_range_rate_m_s: float = 0.0  # 0: this radar reports no range rate
    max_range_m: float = 0.0
    elevation_mask_rad: float = 0.0
    bias_range_m: float = 0.0
    bias_az_rad: float = 0.0
    bias_el_rad: float = 0.0
    # infrared (geostationary)
    geo_lon_rad: float = 0.0
    sigma_los_rad: float = 0.0
    bias_los_rad: float = 0.0

    @property
    def has_range_rate(self) -> bool:
        return self.sigma_range_rate_m_s > 0.0


@dataclass(frozen=True)
class SensorCatalog:
    """All sensors of one catalog file, in file order."""

    path: str
    sensors: tuple[Sensor, ...]

    def __getitem__(self, sensor_id: str) -> Sensor:
        for s in self.sensors:
            if s.id == sensor_id:
                return s
        raise KeyError(f"{self.path}: no sensor {sensor_id!r}; known: {', '.join(self.ids)}")

    def __contains__(self, sensor_id: object) -> bool:
        return any(s.id == sensor_id for s in self.sensors)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.sensors)

    def of_nation(self, nation: str, only: Iterable[str] | None = None) -> tuple[Sensor, ...]:
        """The sensors of ``nation`` (in file order), restricted to the ids in ``only`` when given."""
        keep = None if only is None else set(only)
        return tuple(s for s in self.sensors if s.nation == nation and (keep is None or s.id in keep))


# key -> (SI factor, lower bound, lower bound inclusive, upper bound, description of what is expected)
_Spec = tuple[float, float, bool, float, str]
_MRAD = 1e-3
_URAD = 1e-6
_DEG = math.pi / 180.0

_COMMON: dict[str, _Spec] = {
    "revisit_s": (1.0, 0.0, False, 3600.0, "a revisit period in seconds, > 0 and <= 3600"),
    "scan_offset_s": (1.0, 0.0, True, 3600.0, "a scan time offset in seconds, >= 0"),
    "pd": (1.0, 0.0, True, 1.0, "a detection probability in [0, 1]"),
    "false_alarms_per_scan": (1.0, 0.0, True, 1000.0, "a mean number of false alarms per scan, >= 0"),
    "latency_s": (1.0, 0.0, True, 600.0, "a reporting latency in seconds, >= 0"),
}
_RADAR: dict[str, _Spec] = {
    "lat_deg": (_DEG, -90.0, True, 90.0, "a geodetic latitude in degrees, in [-90, 90]"),
    "lon_deg": (_DEG, -180.0, True, 360.0, "a longitude in degrees, in [-180, 360]"),
    "h_m": (1.0, -500.0, True, 10_000.0, "a height above the WGS-84 ellipsoid in metres, in [-500, 10000]"),
    "sigma_range_m": (1.0, 0.0, False, 1e5, "a range noise standard deviation in metres, > 0"),
    "sigma_az_mrad": (_MRAD, 0.0, False, 1e3, "an azimuth noise standard deviation in mrad, > 0"),
    "sigma_el_mrad": (_MRAD, 0.0, False, 1e3, "an elevation noise standard deviation in mrad, > 0"),
    "sigma_range_rate_m_s": (1.0, 0.0, True, 1e3, "a range-rate noise in m/s, >= 0 (0: no range rate)"),
    "max_range_km": (1e3, 0.0, False, 1e5, "a maximum range in km, > 0"),
    "elevation_mask_deg": (_DEG, 0.0, True, 90.0, "an elevation mask in degrees, in [0, 90]"),
    "bias_range_m": (1.0, -1e4, True, 1e4, "a range bias in metres"),
    "bias_az_mrad": (_MRAD, -1e3, True, 1e3, "an azimuth bias in mrad"),
    "bias_el_mrad": (_MRAD, -1e3, True, 1e3, "an elevation bias in mrad"),
}
_IR: dict[str, _Spec] = {
    "geo_lon_deg": (_DEG, -180.0, True, 360.0, "a geostationary slot longitude in degrees"),
    "sigma_los_urad": (_URAD, 0.0, False, 1e6, "a line-of-sight noise standard deviation in µrad, > 0"),
    "bias_los_urad": (_URAD, -1e6, True, 1e6, "a line-of-sight bias in µrad"),
}
_TEXT = ("id", "nation", "kind", "public")
_SI_NAME = {
    "lat_deg": "lat_rad",
    "lon_deg": "lon_rad",
    "sigma_az_mrad": "sigma_az_rad",
    "sigma_el_mrad": "sigma_el_rad",
    "max_range_km": "max_range_m",
    "elevation_mask_deg": "elevation_mask_rad",
    "bias_az_mrad": "bias_az_rad",
    "bias_el_mrad": "bias_el_rad",
    "geo_lon_deg": "geo_lon_rad",
    "sigma_los_urad": "sigma_los_rad",
    "bias_los_urad": "bias_los_rad",
}


def default_catalog_path() -> Path:
    return Path(str(resources.files("triwarn.sensors.sim").joinpath("data/sensors.toml")))


def load_catalog(path: str | Path | None = None) -> SensorCatalog:
    """Read and validate a sensor catalog (the default one when ``path`` is None)."""
    p = default_catalog_path() if path is None else Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SensorCatalogError(f"{p}: cannot read the sensor catalog: {exc.strerror or exc}") from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SensorCatalogError(f"{p}: not valid TOML: {exc}") from exc
    return parse_catalog(doc, source=str(p))


def parse_catalog(doc: Mapping[str, Any], source: str = "<catalog>") -> SensorCatalog:
    """Validate an already parsed catalog document (``{"sensor": [ {...}, ... ]}``)."""
    unknown_top = sorted(set(doc) - {"sensor"})
    if unknown_top:
        raise SensorCatalogError(f"{source}: unknown top-level key {unknown_top[0]!r}; expected [[sensor]] tables")
    tables = doc.get("sensor")
    if not isinstance(tables, list) or not tables:
        raise SensorCatalogError(f"{source}: expected at least one [[sensor]] table")
    sensors: list[Sensor] = []
    seen: set[str] = set()
    for i, table in enumerate(tables):
        s = _parse_sensor(table, source, i)
        if s.id in seen:
            raise SensorCatalogError(f"{source}: sensor {s.id!r}: key 'id': duplicate id, expected unique ids")
        seen.add(s.id)
        sensors.append(s)
    return SensorCatalog(path=source, sensors=tuple(sensors))


def _parse_sensor(table: Any, source: str, index: int) -> Sensor:
    where = f"{source}: sensor #{index + 1}"
    if not isinstance(table, Mapping):
        raise SensorCatalogError(f"{where}: expected a table of keys")
    sid = table.get("id")
    if not isinstance(sid, str) or not sid:
        raise SensorCatalogError(f"{where}: key 'id': expected a non-empty string such as 'us-tpy2-shariki'")
    where = f"{source}: sensor {sid!r}"
    for key in _TEXT:
        if not isinstance(table.get(key), str) or not table[key]:
            raise SensorCatalogError(f"{where}: key {key!r}: expected a non-empty string, got {table.get(key)!r}")
    nation, kind = table["nation"], table["kind"]
    if nation not in NATIONS:
        raise SensorCatalogError(f"{where}: key 'nation': expected one of {', '.join(NATIONS)}, got {nation!r}")
    if kind not in KINDS:
        raise SensorCatalogError(f"{where}: key 'kind': expected one of {', '.join(KINDS)}, got {kind!r}")
    if table.get("assumption") is not True:
        raise SensorCatalogError(
            f"{where}: key 'assumption': expected `assumption = true` (sensor performance figures are not "
            f"published), got {table.get('assumption')!r}"
        )
    specs = {**_COMMON, **(_RADAR if kind == "radar" else _IR)}
    allowed = set(specs) | set(_TEXT) | {"assumption"}
    extra = sorted(set(table) - allowed)
    if extra:
        raise SensorCatalogError(
            f"{where}: key {extra[0]!r}: unknown key for a {kind} sensor; expected keys: {', '.join(sorted(allowed))}"
        )
    values: dict[str, Any] = {"id": sid, "nation": nation, "kind": kind, "public": table["public"]}
    values["assumption"] = True
    for key, (factor, lo, lo_incl, hi, what) in specs.items():
        if key not in table:
            raise SensorCatalogError(f"{where}: key {key!r}: missing; expected {what}")
        v = table[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(float(v)):
            raise SensorCatalogError(f"{where}: key {key!r}: expected {what}, got {v!r}")
        v = float(v)
        if (v < lo if lo_incl else v <= lo) or v > hi:
            raise SensorCatalogError(f"{where}: key {key!r}: expected {what}, got {v!r}")
        values[_SI_NAME.get(key, key)] = v * factor
    return Sensor(**values)
