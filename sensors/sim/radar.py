"""Radar model: a catalog :class:`~triwarn.sensors.sim.catalog.Sensor` of kind "radar" turned into scans.

Geometry and noise are in :func:`triwarn.sensors.sim.measure.radar_measure_batch`; this layer places the site,
draws the random numbers, adds false alarms and builds the tracker's view of the sensor (its sensor row).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from triwarn.core.tracking import measurement
from triwarn.core.trajectory.constants import A_M, B_M
from triwarn.core.trajectory.frames import geodetic_to_ecef
from triwarn.sensors.sim.catalog import Sensor
from triwarn.sensors.sim.measure import Scan, radar_measure_batch

#: Closest range at which false alarms are drawn, metres. # assumption: not a published figure
FALSE_ALARM_MIN_RANGE_M = 50e3
#: Highest elevation at which false alarms are drawn, above the mask. # assumption: not a published figure
FALSE_ALARM_ELEVATION_SPAN_RAD = math.radians(60.0)
#: Largest range rate drawn for a false alarm, m/s (±). # assumption: not a published figure
FALSE_ALARM_MAX_RANGE_RATE_M_S = 7000.0


@dataclass(frozen=True)
class RadarModel:
    sensor: Sensor
    index: int  # index of the sensor within its nation
    site_ecef_m: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        s = self.sensor
        if s.kind != "radar":
            raise ValueError(f"sensor {s.id!r} is a {s.kind} sensor, not a radar")
        object.__setattr__(self, "site_ecef_m", np.array(geodetic_to_ecef(s.lat_rad, s.lon_rad, s.h_m)))

    @property
    def dim(self) -> int:
        return 4 if self.sensor.has_range_rate else 3

    @property
    def sigma(self) -> np.ndarray:
        s = self.sensor
        return np.array([s.sigma_az_rad, s.sigma_el_rad, s.sigma_range_m, s.sigma_range_rate_m_s])

    @property
    def bias(self) -> np.ndarray:
        s = self.sensor
        return np.array([s.bias_az_rad, s.bias_el_rad, s.bias_range_m, 0.0])

    def tracker_row(self) -> np.ndarray:
        """The tracker's model of this radar: the noise standard deviations, and the magnitude of the
        registration bias as the standard deviation of a bias the tracker considers but does not know (nor
        its sign). # assumption: the tracker knows how well each radar is registered, not its error"""
        s = self.sensor
        b = np.abs(self.bias)
        return measurement.radar_row(
            self.site_ecef_m, s.lat_rad, s.lon_rad, s.sigma_az_rad, s.sigma_el_rad, s.sigma_range_m,
            s.sigma_range_rate_m_s if s.has_range_rate else 0.0, (float(b[0]), float(b[1]), float(b[2])),
        )  # fmt: skip

    def visible(self, pos_ecef_m: np.ndarray, vel_ecef_m_s: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Which objects this radar can see (noise-free geometry: horizon, mask, range), (k,) bool."""
        k = pos_ecef_m.shape[0]
        vis, _, _ = self._run(pos_ecef_m, vel_ecef_m_s, active, np.zeros((k, 4)), np.zeros(k))
        return vis

    def _run(self, pos: Any, vel: Any, active: Any, normals: Any, uniforms: Any) -> Any:
        s = self.sensor
        return radar_measure_batch(
            np.ascontiguousarray(pos, dtype=np.float64), np.ascontiguousarray(vel, dtype=np.float64),
            np.ascontiguousarray(active, dtype=np.bool_), self.site_ecef_m, s.lat_rad, s.lon_rad,
            s.elevation_mask_rad, s.max_range_m, self.sigma, self.bias, s.pd, normals, uniforms, A_M, B_M,
        )  # fmt: skip

    def scan(
        self,
        t_s: float,
        pos_ecef_m: np.ndarray,
        vel_ecef_m_s: np.ndarray,
        active: np.ndarray,
        rng: np.random.Generator,
    ) -> Scan:
        """One scan at ``t_s`` of the k objects given (truth positions, velocities, active flags)."""
        s = self.sensor
        k = pos_ecef_m.shape[0]
        normals = rng.standard_normal((k, 4))
        uniforms = rng.random(k)
        vis, det, z = self._run(pos_ecef_m, vel_ecef_m_s, active, normals, uniforms)
        idx = np.flatnonzero(det)
        zt = z[idx, : self.dim]
        nfa = int(rng.poisson(s.false_alarms_per_scan))
        if nfa:
            fa = np.empty((nfa, 4))
            fa[:, 0] = rng.uniform(0.0, 2.0 * math.pi, nfa)
            fa[:, 1] = rng.uniform(s.elevation_mask_rad, s.elevation_mask_rad + FALSE_ALARM_ELEVATION_SPAN_RAD, nfa)
            fa[:, 2] = rng.uniform(FALSE_ALARM_MIN_RANGE_M, s.max_range_m, nfa)
            fa[:, 3] = rng.uniform(-FALSE_ALARM_MAX_RANGE_RATE_M_S, FALSE_ALARM_MAX_RANGE_RATE_M_S, nfa)
            zt = np.concatenate([zt, fa[:, : self.dim]])
            idx = np.concatenate([idx, np.full(nfa, -1, np.int64)])
        return Scan(s.id, self.index, float(t_s), float(t_s) + s.latency_s, zt, idx.astype(np.int64), vis)
