"""The one generator of synthetic domain data (numpy arrays and :mod:`triwarn.core.tracks` types), seeded, for
tests, benchmarks and the fusion service's warm-up. Not a sensor model; the real flights come from
:mod:`triwarn.scenarios.scenario_file`. Three kinds, each drawing from its own seeded generator:

**Flights** (:class:`Launch`, :class:`SyntheticTruth`, :class:`SyntheticScenario`, :func:`salvo`): a truth
source behind the scenario truth interface, for tests and benchmarks of the sensors and trackers. Each
object: a vertical rise of ``vertical_s``, then a constant thrust acceleration ``accel_m_s2`` along a fixed
direction (azimuth ``az_deg``, elevation ``pitch_deg`` in the launch site's ENU frame) until ``burn_s``, then
free flight with J2 gravity in rotating ECEF and drag −ρ|v|v/(2β) in a single exponential atmosphere
ρ = 1.225 exp(−h / 7200 m) (deliberately not the tracker's atmosphere). Integrated by RK4 at ``dt_s`` into a
table until the object reaches the ground, sampled by cubic Hermite interpolation. Phases: BOOST while
thrusting, TERMINAL when descending below 100 km, MIDCOURSE otherwise. An object is active from its launch
time until it reaches the ground.

**Confirmed national tracks** (:func:`truth_states`, :func:`nation_batch`): N objects in mid-course over the
Sea of Japan, each seen by every nation as a confirmed local track with independent errors of
``POS_SIGMA_M`` and ``VEL_SIGMA_M_S`` (1 sigma per axis; assumptions, not published figures). The fusion
service's warm-up, the end-to-end tests and the end-to-end benchmark send them, encoded by
:mod:`triwarn.services.synthetic`.

**Correlated nation reports for fusion** (:class:`FusionScenario`, :func:`make_scenario`, :func:`batch_of`,
:func:`churned_batches`): N objects in free flight over north-east Asia (altitude 150-900 km, speed
2-6 km/s), seen by the three nations us, jp and kr. Each nation reports every object once per cycle at its
own time offset (0, 0.3 and 0.6 s into the 1 s cycle, so alignment has real work) with its own anisotropic
covariance, and errors that are correlated between nations (a common component of fraction ``rho``: shared
process noise and shared sensors), which is the case covariance intersection exists for, and correlated in
time (AR(1), 0.9 from one cycle to the next), as a tracker's errors are. For the fusion engine's tests and
``triwarn bench fusion``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from triwarn.core.fusion.align import predict
from triwarn.core.jit import kernel
from triwarn.core.tracks import NATIONS, LocalTrackBatch, Phase, Status
from triwarn.core.trajectory.constants import GM_M3_S2, J2, OMEGA_E_RAD_S, RE_J2_M
from triwarn.core.trajectory.frames import ecef_to_geodetic, enu_vec_to_ecef, geodetic_to_ecef, geodetic_to_ecef_batch
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


POS_SIGMA_M = 200.0  # assumption: not a published figure
VEL_SIGMA_M_S = 5.0  # assumption: not a published figure


def truth_states(n_objects: int, seed: int = 0) -> np.ndarray:
    """(n, 6) ECEF states of objects at 150-600 km altitude over 36-42 N, 129-137 E, moving east at ~3 km/s."""
    rng = np.random.default_rng(seed)
    lla = np.column_stack(
        [
            np.radians(rng.uniform(36.0, 42.0, n_objects)),
            np.radians(rng.uniform(129.0, 137.0, n_objects)),
            rng.uniform(150e3, 600e3, n_objects),
        ]
    )
    pos = geodetic_to_ecef_batch(lla)
    east = np.column_stack([-np.sin(lla[:, 1]), np.cos(lla[:, 1]), np.zeros(n_objects)])
    up = pos / np.linalg.norm(pos, axis=1, keepdims=True)
    vel = 3000.0 * east + rng.uniform(-500.0, 500.0, (n_objects, 1)) * up
    return np.hstack([pos, vel])


def nation_batch(
    nation: str,
    truth: np.ndarray,
    time_ns: int,
    batch_seq: int = 0,
    bd_seq: int = 1,
    seed: int = 0,
    first_track_number: int = 1,
) -> LocalTrackBatch:
    """One nation's batch: every truth object as a confirmed local track with independent noise."""
    n = truth.shape[0]
    rng = np.random.default_rng([seed, NATIONS.index(nation), batch_seq])
    sigma = np.array([POS_SIGMA_M] * 3 + [VEL_SIGMA_M_S] * 3)
    P = np.broadcast_to(np.diag(sigma**2), (n, 6, 6)).copy()
    return LocalTrackBatch(
        nation=nation,
        node_id=f"{nation}-c2",
        batch_seq=batch_seq,
        bd_seq=bd_seq,
        sent_time_ns=time_ns,
        track_numbers=np.arange(first_track_number, first_track_number + n, dtype=np.int64),
        time_ns=np.full(n, time_ns, np.int64),
        x=truth + rng.normal(size=(n, 6)) * sigma,
        P=P,
        phase=np.full(n, int(Phase.MIDCOURSE), np.int64),
        status=np.full(n, int(Status.CONFIRMED), np.int64),
        quality=np.full(n, 0.9),
        beta_kg_m2=np.zeros(n),
        sensor_ids=tuple((f"{nation}-synthetic",) for _ in range(n)),
    )


NATION_OFFSETS_S: dict[str, float] = {"us": 0.0, "jp": 0.3, "kr": 0.6}


@dataclass(frozen=True)
class FusionScenario:
    """Truth and the nations' batches of a synthetic multi-object scenario."""

    truth_x: np.ndarray  # (cycles, nations, n, 6) true state at each nation's report time
    est_x: np.ndarray  # (cycles, nations, n, 6) nation estimates
    est_cov: np.ndarray  # (nations, n, 6, 6) each nation's covariance of each object (fixed over time)
    time_ns: np.ndarray  # (cycles, nations) report times
    track_numbers: np.ndarray  # (nations, n) local track numbers
    nations: tuple[str, ...]


def _random_rotations(rng: np.random.Generator, n: int) -> np.ndarray:
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        1,
    )


def make_scenario(
    n_objects: int,
    cycles: int,
    seed: int = 1,
    rho: float = 0.5,
    t0_ns: int = 1_800_000_000_000_000_000,
    period_s: float = 1.0,
    nations: tuple[str, ...] = ("us", "jp", "kr"),
    sigma_pos_m: tuple[float, float] = (30.0, 300.0),
    sigma_vel_m_s: tuple[float, float] = (3.0, 30.0),
    time_corr: float = 0.9,
) -> FusionScenario:
    """N ballistic objects seen by ``nations`` with correlated errors (see the module docstring)."""
    rng = np.random.default_rng(seed)
    lat = np.radians(rng.uniform(25.0, 45.0, n_objects))
    lon = np.radians(rng.uniform(115.0, 145.0, n_objects))
    alt = rng.uniform(150e3, 900e3, n_objects)
    r = 6371e3 + alt
    pos = np.stack([r * np.cos(lat) * np.cos(lon), r * np.cos(lat) * np.sin(lon), r * np.sin(lat)], -1)
    up = pos / r[:, None]
    d = rng.normal(size=(n_objects, 3))
    d -= (d * up).sum(1, keepdims=True) * up
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    climb = rng.uniform(-0.4, 0.4, n_objects)[:, None]
    speed = rng.uniform(2000.0, 6000.0, n_objects)[:, None]
    vel = speed * (d * np.sqrt(1 - climb**2) + up * climb)
    x0 = np.concatenate([pos, vel], 1)
    k = len(nations)
    offsets = np.array([NATION_OFFSETS_S.get(n, 0.1 * i) for i, n in enumerate(nations)])
    time_ns = (t0_ns + np.round((np.arange(cycles)[:, None] * period_s + offsets[None, :]) * 1e9)).astype(np.int64)
    truth = np.empty((cycles, k, n_objects, 6))
    zeroP = np.zeros((n_objects, 6, 6))
    state = x0
    t_prev = float(t0_ns)
    for c in range(cycles):
        for j in range(k):
            dt = (time_ns[c, j] - t_prev) * 1e-9
            state, _ = predict(state, zeroP, dt, 0.0)
            t_prev = float(time_ns[c, j])
            truth[c, j] = state
    # each nation: anisotropic covariance, random orientation per object
    P = np.zeros((k, n_objects, 6, 6))
    for j in range(k):
        R = _random_rotations(rng, n_objects)
        sp = np.exp(rng.uniform(np.log(sigma_pos_m[0]), np.log(sigma_pos_m[1]), (n_objects, 3)))
        sv = np.exp(rng.uniform(np.log(sigma_vel_m_s[0]), np.log(sigma_vel_m_s[1]), (n_objects, 3)))
        P[j, :, :3, :3] = np.einsum("nij,nj,nkj->nik", R, sp**2, R)
        P[j, :, 3:, 3:] = np.einsum("nij,nj,nkj->nik", R, sv**2, R)
    A = np.linalg.cholesky(P)
    z0 = rng.normal(size=(cycles, n_objects, 6))
    zk = rng.normal(size=(cycles, k, n_objects, 6))
    # a tracker's error changes slowly: AR(1) in time with correlation ``time_corr`` from cycle to cycle
    for c in range(1, cycles):
        z0[c] = time_corr * z0[c - 1] + math.sqrt(1.0 - time_corr**2) * z0[c]
        zk[c] = time_corr * zk[c - 1] + math.sqrt(1.0 - time_corr**2) * zk[c]
    z = math.sqrt(rho) * z0[:, None] + math.sqrt(1.0 - rho) * zk
    est = truth + np.einsum("knij,cknj->ckni", A, z)
    numbers = np.stack([rng.permutation(n_objects) + 1000 * (j + 1) for j in range(k)])
    return FusionScenario(
        truth_x=truth, est_x=est, est_cov=P, time_ns=time_ns, track_numbers=numbers.astype(np.int64), nations=nations
    )


def batch_of(sc: FusionScenario, cycle: int, j: int, seq: int | None = None) -> LocalTrackBatch:
    """The LocalTrackBatch nation ``j`` sends in ``cycle``."""
    n = sc.est_x.shape[2]
    t = int(sc.time_ns[cycle, j])
    return LocalTrackBatch(
        nation=sc.nations[j],
        node_id=f"{sc.nations[j]}-c2",
        batch_seq=cycle if seq is None else seq,
        bd_seq=0,
        sent_time_ns=t,
        track_numbers=sc.track_numbers[j],
        time_ns=np.full(n, t, dtype=np.int64),
        x=np.ascontiguousarray(sc.est_x[cycle, j]),
        P=np.ascontiguousarray(sc.est_cov[j]),
        phase=np.full(n, int(Phase.MIDCOURSE), dtype=np.int64),
        status=np.full(n, int(Status.CONFIRMED), dtype=np.int64),
        quality=np.ones(n),
        beta_kg_m2=np.zeros(n),
    )


def churned_batches(n: int, cycles: int, seed: int, churn_seed: int) -> Iterator[LocalTrackBatch]:
    """The batches of ``make_scenario(n, cycles, seed)`` with churn, in sending order: each batch drops a random
    5 % of its tracks (they end or come back), every 4th cycle renumbers ~3 % of them (new local tracks), and
    every 5th cycle the second nation marks ~5 % DELETED. For tests that compare engines on changing groups."""
    sc = make_scenario(n, cycles, seed=seed)
    rng = np.random.default_rng(churn_seed)
    for c in range(cycles):
        for j in range(len(sc.nations)):
            b = batch_of(sc, c, j)
            keep = rng.random(len(b)) > 0.05
            nums = b.track_numbers.copy()
            if c % 4 == 3:
                nums = np.where(rng.random(len(b)) < 0.03, nums + 1_000_000 * (c + 1), nums)
            status = b.status.copy()
            if c % 5 == 4 and j == 1:
                status[rng.random(len(b)) < 0.05] = int(Status.DELETED)
            yield LocalTrackBatch(
                nation=b.nation, node_id=b.node_id, batch_seq=b.batch_seq, bd_seq=b.bd_seq,
                sent_time_ns=b.sent_time_ns, track_numbers=nums[keep], time_ns=b.time_ns[keep], x=b.x[keep],
                P=b.P[keep], phase=b.phase[keep], status=status[keep], quality=b.quality[keep],
                beta_kg_m2=b.beta_kg_m2[keep],
            )  # fmt: skip
