"""One nation's sensors and its command-and-control tracker, advanced in scenario time: what a national
node publishes.

    sim = NationSim("jp", load_scenario("demo"), seed=1)
    tracks = sim.step(10.0)   # LocalTracks at scenario time 10 s

Each sensor scans on its own clock (``scan_offset_s + j * revisit_s``) and draws from its own random stream
(derived from the seed, the nation and the sensor's position in the nation's list), so a run is deterministic
for a seed. A scan reaches the tracker ``latency_s`` after it was taken; the tracker processes scans in time
order up to the earliest scan of any sensor that is still on its way (:meth:`NationSim.ready_until`), so no
report is ever processed out of sequence. The reported track times lag the step time by about the largest
latency (less when the slow sensor's next scan is later than the fast sensors' reports).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from triwarn.core.tracking import layout
from triwarn.core.tracking.tracker import Tracker, TrackerConfig
from triwarn.core.tracks import NATIONS
from triwarn.sensors.sim.catalog import SensorCatalog, SensorCatalogError, load_catalog
from triwarn.sensors.sim.infrared import InfraredModel
from triwarn.sensors.sim.measure import Scan
from triwarn.sensors.sim.radar import RadarModel


@dataclass(frozen=True)
class LocalTracks:
    """A nation's reportable local tracks at one step (n tracks): confirmed and coasting tracks, and each
    deleted track once with status DELETED."""

    track_numbers: np.ndarray  # (n,) int64, stable, never reused
    t_s: np.ndarray  # (n,) float64 scenario seconds, time of validity of x and P
    x: np.ndarray  # (n, 6) ECEF state, m and m/s
    P: np.ndarray  # (n, 6, 6)
    phase: np.ndarray  # (n,) int64 tracks.Phase
    status: np.ndarray  # (n,) int64 tracks.Status
    quality: np.ndarray  # (n,) float64 in [0, 1]
    beta_kg_m2: np.ndarray  # (n,) float64, 0 when unknown
    sensor_ids: tuple[tuple[str, ...], ...]  # contributing sensors per track
    #: (n,) float64 scenario seconds of each track's last measurement update (empty: not known)
    last_hit_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: (n,) int64 objects each track may stand for (more than 1: an unresolved group; empty: not estimated)
    objects: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.track_numbers.shape[0])


class NationSim:
    """The sensors of ``nation`` that take part in ``scenario`` and the nation's tracker."""

    def __init__(
        self,
        nation: str,
        scenario: Any,
        seed: int,
        sensor_catalog: SensorCatalog | str | Path | None = None,
        tracker_config: TrackerConfig | None = None,
        first_track_number: int = 1,
    ):
        if nation not in NATIONS:
            raise ValueError(f"unknown nation {nation!r}; expected one of {', '.join(NATIONS)}")
        catalog = sensor_catalog if isinstance(sensor_catalog, SensorCatalog) else load_catalog(sensor_catalog)
        wanted = tuple(getattr(scenario, "sensor_ids", ()) or ())
        missing = [s for s in wanted if s not in catalog]
        if missing:
            raise SensorCatalogError(
                f"{catalog.path}: the scenario names sensor {missing[0]!r}, which is not in the catalog; "
                f"known: {', '.join(catalog.ids)}"
            )
        sensors = catalog.of_nation(nation, only=wanted or None)
        self.nation = nation
        self.models: tuple[RadarModel | InfraredModel, ...] = tuple(
            RadarModel(s, i) if s.kind == "radar" else InfraredModel(s, i) for i, s in enumerate(sensors)
        )
        self.sensor_ids: tuple[str, ...] = tuple(s.id for s in sensors)
        self.truth = scenario.truth()
        rows = np.stack([m.tracker_row() for m in self.models]) if self.models else np.zeros((0, layout.SP_LEN))
        self.tracker = Tracker(rows, tracker_config, first_track_number=first_track_number)
        root = np.random.SeedSequence([int(seed), zlib.crc32(nation.encode())])
        self._rngs = [np.random.default_rng(s) for s in root.spawn(len(self.models))]
        #: the largest reporting latency of the nation's sensors, s (the most a track time lags a step)
        self.hold_s = max((m.sensor.latency_s for m in self.models), default=0.0)
        self._next_scan = np.full(len(self.models), np.nan)
        self._queue: list[Scan] = []
        self._t: float | None = None
        self._names: dict[int, tuple[str, ...]] = {}
        #: every scan generated so far is passed to this list when it is not None (tests, diagnostics)
        self.scan_log: list[Scan] | None = None

    def _sensor_names(self, mask: int) -> tuple[str, ...]:
        names = self._names.get(mask)
        if names is None:
            names = tuple(sid for i, sid in enumerate(self.sensor_ids) if mask >> i & 1)
            self._names[mask] = names
        return names

    def _generate(self, t_s: float) -> None:
        """Take every scan due up to ``t_s`` and queue it."""
        samples: dict[float, Any] = {}
        for i, m in enumerate(self.models):
            s = m.sensor
            if math.isnan(self._next_scan[i]):
                j = math.ceil((t_s - s.scan_offset_s) / s.revisit_s - 1e-9)
                self._next_scan[i] = s.scan_offset_s + j * s.revisit_s
            while self._next_scan[i] <= t_s + 1e-9:
                ts = float(self._next_scan[i])
                smp = samples.get(ts)
                if smp is None:
                    smp = samples[ts] = self.truth.sample(ts)
                if isinstance(m, RadarModel):
                    scan = m.scan(ts, smp.pos_ecef_m, smp.vel_ecef_m_s, smp.active, self._rngs[i])
                else:
                    scan = m.scan(ts, smp.pos_ecef_m, smp.active, smp.phase, self._rngs[i])
                self._queue.append(scan)
                if self.scan_log is not None:
                    self.scan_log.append(scan)
                self._next_scan[i] += s.revisit_s

    @property
    def next_track_number(self) -> int:
        """The number the next confirmed track will get: pass it as ``first_track_number`` to a new
        NationSim (a scenario replayed in a loop) so that no number is ever reused."""
        return int(self.tracker.next_number)

    def ready_until(self, t_s: float) -> float:
        """Scan time up to which every report has arrived at ``t_s``: the earliest scan, over all sensors, that
        is still on its way (taken but not yet delivered). Processing stops there: no report can then arrive
        out of sequence."""
        e = math.inf
        for m in self.models:
            s = m.sensor
            k = math.floor((t_s - s.latency_s - s.scan_offset_s) / s.revisit_s + 1e-9) + 1
            e = min(e, s.scan_offset_s + k * s.revisit_s)
        return min(e, t_s)

    def step(self, t_s: float) -> LocalTracks:
        """Advance the sensors and the tracker to scenario time ``t_s`` and report the local tracks."""
        t_s = float(t_s)
        if self._t is not None and t_s < self._t:
            raise ValueError(f"NationSim.step: time went backwards ({t_s} s after {self._t} s)")
        self._t = t_s
        self._generate(t_s)
        ready_until = self.ready_until(t_s) + 1e-9
        ready = sorted(
            (s for s in self._queue if s.t_s <= ready_until and s.t_available_s <= t_s + 1e-9),
            key=lambda s: (s.t_s, s.sensor_index),
        )
        if ready:
            taken = {id(s) for s in ready}
            self._queue = [s for s in self._queue if id(s) not in taken]
            for scan in ready:
                self.tracker.process_scan(scan.sensor_index, scan.t_s, scan.z)
        tf = self.tracker.report(min(t_s, ready_until))
        return LocalTracks(
            track_numbers=tf.track_numbers,
            t_s=tf.t_s,
            x=tf.x,
            P=tf.P,
            phase=tf.phase,
            status=tf.status,
            quality=tf.quality,
            beta_kg_m2=tf.beta_kg_m2,
            sensor_ids=tuple(self._sensor_names(int(mk)) for mk in tf.sensor_mask),
            last_hit_s=tf.last_hit_s,
            objects=tf.objects,
        )


def warm_up(seed: int = 0) -> int:
    """Compile (first run on a machine) or load from numba's cache every kernel a NationSim uses: radar and
    infrared measurement, IMM prediction, gating, update and initiation, by tracking one synthetic missile
    with the US sensors (radars and infrared) through boost and free flight. Call it before serving."""
    from triwarn.sensors.sim.synthetic import Launch, SyntheticScenario

    sc = SyntheticScenario((Launch(lat_deg=39.0, lon_deg=125.7, az_deg=80.0, burn_s=100.0),))
    sim = NationSim("us", sc, seed=seed)
    for t in range(0, 160, 4):
        sim.step(float(t))
    return sim.next_track_number - 1  # tracks confirmed (1 expected)
