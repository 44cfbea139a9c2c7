"""Space infrared model: a SBIRS-like geostationary sensor that reports line-of-sight angles of boosting
missiles (the plume), :func:`triwarn.sensors.sim.measure.ir_measure_batch` for the geometry and noise."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from triwarn.core.tracking import measurement
from triwarn.core.tracks import Phase
from triwarn.core.trajectory.constants import A_M, B_M
from triwarn.sensors.sim.catalog import GEO_RADIUS_M, Sensor
from triwarn.sensors.sim.measure import Scan, ir_measure_batch

#: Half-angle within which false alarms are drawn around nadir (the Earth disc from GEO is ~8.7°).
FALSE_ALARM_HALF_ANGLE_RAD = math.radians(8.5)


@dataclass(frozen=True)
class InfraredModel:
    sensor: Sensor
    index: int
    sat_ecef_m: np.ndarray = field(init=False)
    axes: np.ndarray = field(init=False)  # (3, 3) rows X (nadir), Y, Z

    def __post_init__(self) -> None:
        s = self.sensor
        if s.kind != "ir":
            raise ValueError(f"sensor {s.id!r} is a {s.kind} sensor, not an infrared sensor")
        sat = np.array([GEO_RADIUS_M * math.cos(s.geo_lon_rad), GEO_RADIUS_M * math.sin(s.geo_lon_rad), 0.0])
        row = measurement.ir_row(sat, s.sigma_los_rad)
        object.__setattr__(self, "sat_ecef_m", sat)
        object.__setattr__(self, "axes", np.ascontiguousarray(row[11:20].reshape(3, 3)))

    @property
    def dim(self) -> int:
        return 2

    def tracker_row(self) -> np.ndarray:
        s = self.sensor
        # the bias magnitude as the standard deviation of an unknown registration error (see RadarModel)
        return measurement.ir_row(self.sat_ecef_m, s.sigma_los_rad, abs(s.bias_los_rad))

    def _run(self, pos: Any, active: Any, phase: Any, normals: Any, uniforms: Any) -> Any:
        s = self.sensor
        boost = np.ascontiguousarray(np.asarray(phase) == Phase.BOOST)
        return ir_measure_batch(
            np.ascontiguousarray(pos, dtype=np.float64), np.ascontiguousarray(active, dtype=np.bool_), boost,
            self.sat_ecef_m, self.axes, s.sigma_los_rad, s.bias_los_rad, s.pd, normals, uniforms, A_M, B_M,
        )  # fmt: skip

    def visible(self, pos_ecef_m: np.ndarray, active: np.ndarray, phase: np.ndarray) -> np.ndarray:
        k = pos_ecef_m.shape[0]
        vis, _, _ = self._run(pos_ecef_m, active, phase, np.zeros((k, 2)), np.zeros(k))
        return vis

    def scan(
        self, t_s: float, pos_ecef_m: np.ndarray, active: np.ndarray, phase: np.ndarray, rng: np.random.Generator
    ) -> Scan:
        s = self.sensor
        k = pos_ecef_m.shape[0]
        normals = rng.standard_normal((k, 2))
        uniforms = rng.random(k)
        vis, det, z = self._run(pos_ecef_m, active, phase, normals, uniforms)
        idx = np.flatnonzero(det)
        zt = z[idx]
        nfa = int(rng.poisson(s.false_alarms_per_scan))
        if nfa:
            fa = rng.uniform(-FALSE_ALARM_HALF_ANGLE_RAD, FALSE_ALARM_HALF_ANGLE_RAD, (nfa, 2))
            zt = np.concatenate([zt, fa])
            idx = np.concatenate([idx, np.full(nfa, -1, np.int64)])
        return Scan(s.id, self.index, float(t_s), float(t_s) + s.latency_s, zt, idx.astype(np.int64), vis)
