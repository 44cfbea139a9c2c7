"""A simple truth source behind the scenario truth interface, for tests and benchmarks of the sensors and
trackers (the real flights come from :mod:`triwarn.scenarios.scenario_file`).

Each object: a vertical rise of ``vertical_s``, then a constant thrust acceleration ``accel_m_s2`` along a
fixed direction (azimuth ``az_deg``, elevation ``pitch_deg`` in the launch site's ENU frame) until
``burn_s``, then free flight with J2 gravity in rotating ECEF and drag −ρ|v|v/(2β) in a single exponential
atmosphere ρ = 1.225 exp(−h / 7200 m) (deliberately not the tracker's atmosphere). Integrated by RK4 at
``dt_s`` into a table until the object reaches the ground, sampled by cubic Hermite interpolation.

Phases: BOOST while thrusting, TERMINAL when descending below 100 km, MIDCOURSE otherwise. An object is
active from its launch time until it reaches the ground.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from triwarn.core.jit import kernel
from triwarn.core.tracks import Phase
from triwarn.core.trajectory.constants import GM_M3_S2, J2, OMEGA_E_RAD_S, RE_J2_M
from triwarn.core.trajectory.frames import ecef_to_geodetic, enu_vec_to_ecef, geodetic_to_ecef
from triwarn.core.trajectory.gravity import accel_j2_ecef_rotating


@dataclass(frozen=True)
class Launch:
    """One synthetic object. The default flight numbers (pitch, acceleration, burn and vertical-rise times,
    ballistic coefficient) are round test values. # assumption: not a published figure"""

    lat_deg: float
    lon_deg: float
    az_deg: float
    t_launch_s: float = 0.0
    pitch_deg: float = 45.0
    accel_m_s2: float = 30.0
    burn_s: float = 120.0
    vertical_s: float = 10.0
    beta_kg_m2: float = 5000.0


@dataclass(frozen=True)
class TruthSample:
    active: np.ndarray  # (k,) bool
    pos_ecef_m: np.ndarray  # (k, 3)
    vel_ecef_m_s: np.ndarray  # (k, 3)
    phase: np.ndarray  # (k,) int64


@kernel
def _accel(x: np.ndarray, thrust: np.ndarray, beta: float, out: np.ndarray) -> None:
    ax, ay, az = accel_j2_ecef_rotating(x[0], x[1], x[2], x[3], x[4], x[5], GM_M3_S2, RE_J2_M, J2, OMEGA_E_RAD_S)
    _, _, h = ecef_to_geodetic(x[0], x[1], x[2])
    rho = 1.225 * math.exp(-max(h, 0.0) / 7200.0)
    sp = math.sqrt(x[3] * x[3] + x[4] * x[4] + x[5] * x[5])
    k = -rho * sp / (2.0 * beta)
    out[0] = x[3]
    out[1] = x[4]
    out[2] = x[5]
    out[3] = ax + k * x[3] + thrust[0]
    out[4] = ay + k * x[4] + thrust[1]
    out[5] = az + k * x[5] + thrust[2]


@kernel
def fly(
    lat_rad: float,
    lon_rad: float,
    az_rad: float,
    pitch_rad: float,
    accel_m_s2: float,
    burn_s: float,
    vertical_s: float,
    beta: float,
    dt_s: float,
    max_t_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Integrate one flight; returns (t_s (n,), state (n, 6)) from launch to the ground."""
    n_max = int(max_t_s / dt_s) + 2
    ts = np.empty(n_max)
    xs = np.empty((n_max, 6))
    x = np.zeros(6)
    x[0], x[1], x[2] = geodetic_to_ecef(lat_rad, lon_rad, 0.0)
    ux, uy, uz = enu_vec_to_ecef(0.0, 0.0, 1.0, lat_rad, lon_rad)
    ce = math.cos(pitch_rad)
    dx, dy, dz = enu_vec_to_ecef(ce * math.sin(az_rad), ce * math.cos(az_rad), math.sin(pitch_rad), lat_rad, lon_rad)
    k = np.empty((4, 6))
    tmp = np.empty(6)
    thrust = np.zeros(3)
    t = 0.0
    n = 0
    while n < n_max:
        ts[n] = t
        xs[n] = x
        n += 1
        _, _, h = ecef_to_geodetic(x[0], x[1], x[2])
        if t > vertical_s and h < 0.0:
            break
        # thrust is held constant over the step, chosen at its start
        if t < vertical_s:
            thrust[0], thrust[1], thrust[2] = accel_m_s2 * ux, accel_m_s2 * uy, accel_m_s2 * uz
        elif t < burn_s:
            thrust[0], thrust[1], thrust[2] = accel_m_s2 * dx, accel_m_s2 * dy, accel_m_s2 * dz
        else:
            thrust[:] = 0.0
        _accel(x, thrust, beta, k[0])
        for i in range(6):
            tmp[i] = x[i] + 0.5 * dt_s * k[0, i]
        _accel(tmp, thrust, beta, k[1])
        for i in range(6):
            tmp[i] = x[i] + 0.5 * dt_s * k[1, i]
        _accel(tmp, thrust, beta, k[2])
        for i in range(6):
            tmp[i] = x[i] + dt_s * k[2, i]
        _accel(tmp, thrust, beta, k[3])
        for i in range(6):
            x[i] += dt_s / 6.0 * (k[0, i] + 2.0 * k[1, i] + 2.0 * k[2, i] + k[3, i])
        t += dt_s
    return ts[:n].copy(), xs[:n].copy()


class SyntheticTruth:
    """Truth of a set of :class:`Launch` es with ``sample(t_s)`` and ``object_ids`` like the scenario truth."""

    def __init__(self, launches: list[Launch] | tuple[Launch, ...], dt_s: float = 0.25, max_t_s: float = 4000.0):
        self.launches = tuple(launches)
        self.object_ids = tuple(f"obj-{i + 1}" for i in range(len(self.launches)))
        self._tables: list[tuple[np.ndarray, np.ndarray]] = []
        for L in self.launches:
            ts, xs = fly(
                math.radians(L.lat_deg), math.radians(L.lon_deg), math.radians(L.az_deg), math.radians(L.pitch_deg),
                L.accel_m_s2, L.burn_s, L.vertical_s, L.beta_kg_m2, dt_s, max_t_s,
            )  # fmt: skip
            self._tables.append((ts + L.t_launch_s, xs))

    def end_s(self) -> float:
        return max(float(ts[-1]) for ts, _ in self._tables)

    def sample(self, t_s: float) -> TruthSample:
        k = len(self._tables)
        active = np.zeros(k, np.bool_)
        pos = np.zeros((k, 3))
        vel = np.zeros((k, 3))
        phase = np.zeros(k, np.int64)
        for i, (ts, xs) in enumerate(self._tables):
            if t_s < ts[0] or t_s > ts[-1]:
                continue
            j = min(int(np.searchsorted(ts, t_s, side="right")) - 1, ts.shape[0] - 2)
            h = ts[j + 1] - ts[j]
            s = (t_s - ts[j]) / h
            p0, p1 = xs[j, :3], xs[j + 1, :3]
            v0, v1 = xs[j, 3:], xs[j + 1, 3:]
            h00 = 2 * s**3 - 3 * s**2 + 1
            h10 = s**3 - 2 * s**2 + s
            h01 = -2 * s**3 + 3 * s**2
            h11 = s**3 - s**2
            pos[i] = h00 * p0 + h10 * h * v0 + h01 * p1 + h11 * h * v1
            d00 = (6 * s**2 - 6 * s) / h
            d10 = 3 * s**2 - 4 * s + 1
            d01 = (-6 * s**2 + 6 * s) / h
            d11 = 3 * s**2 - 2 * s
            vel[i] = d00 * p0 + d10 * v0 + d01 * p1 + d11 * v1
            active[i] = True
            L = self.launches[i]
            if t_s - L.t_launch_s < L.burn_s:
                phase[i] = Phase.BOOST
            else:
                _, _, hgt = ecef_to_geodetic(pos[i, 0], pos[i, 1], pos[i, 2])
                descending = float(pos[i] @ vel[i]) < 0.0
                phase[i] = Phase.TERMINAL if (descending and hgt < 100e3) else Phase.MIDCOURSE
        return TruthSample(active, pos, vel, phase)


@dataclass(frozen=True)
class SyntheticScenario:
    """A scenario stand-in: ``truth()``, ``sensor_ids`` (empty: all of a nation's sensors) and ``epoch_ns``."""

    launches: tuple[Launch, ...]
    sensor_ids: tuple[str, ...] = ()
    epoch_ns: int = 0
    name: str = "synthetic"

    def truth(self) -> SyntheticTruth:
        return SyntheticTruth(self.launches)


def salvo(
    n: int, seed: int = 0, lat_deg: float = 39.2, lon_deg: float = 125.7, spread_s: float = 60.0
) -> tuple[Launch, ...]:
    """``n`` launches from around Pyongyang towards the Sea of Japan, staggered over ``spread_s`` seconds."""
    rng = np.random.default_rng(seed)
    return tuple(
        Launch(
            lat_deg=lat_deg + float(rng.uniform(-0.5, 0.5)),
            lon_deg=lon_deg + float(rng.uniform(-0.5, 0.5)),
            az_deg=float(rng.uniform(60.0, 110.0)),
            t_launch_s=float(rng.uniform(0.0, spread_s)),
            pitch_deg=float(rng.uniform(40.0, 60.0)),
            accel_m_s2=float(rng.uniform(25.0, 35.0)),
            burn_s=float(rng.uniform(80.0, 120.0)),
            beta_kg_m2=float(rng.uniform(3000.0, 8000.0)),
        )
        for _ in range(n)
    )
