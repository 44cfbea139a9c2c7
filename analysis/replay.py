"""Replay a scenario through the nations' sensors and trackers and the fusion service, and record it.

``replay`` runs in one process, tick by tick on a :class:`~triwarn.services.runtime.clock.ManualClock` that reads the
scenario's own time (its ``epoch`` is scenario time 0): every node's batch is encoded to the protobuf bytes it
would publish, optionally published to a broker (``--broker``) for outside subscribers, and decoded and fused
by the same ``FusionService`` code as the live service. So a replay is deterministic for a given seed and
runs in real time (``speed=1``), faster, or as fast as possible (``speed=None``).

With ``record_dir`` it writes, on a fixed evaluation clock (every ``eval_period_s`` of scenario time):

``truth.csv``    ``t_s, object_id, x_m, y_m, z_m, vx_m_s, vy_m_s, vz_m_s`` (ECEF), then ``phase``,
                 ``impact_lat_deg, impact_lon_deg, impact_t_s`` (the true impact of the object) and
                 ``launch_lat_deg, launch_lon_deg, launch_t_s`` (its true launch), and ``held``: 1 when some
                 nation's latest batch holds a local track on the object: within ``HELD_RADIUS_M`` and closer to
                 it than to any other object (so "once any nation holds a track" can be scored: ``triwarn
                 evaluate --held-only``), else 0
``picture.csv``  ``t_s, view, track_id, x_m, y_m, z_m, vx_m_s, vy_m_s, vz_m_s`` (system tracks of each view
                 propagated to ``t_s``), then ``nations`` (contributing, "+"-joined), the track's latest
                 impact prediction ``ipp_lat_deg, ipp_lon_deg, ipp_time_s, ipp_semi_major_m, ipp_semi_minor_m,
                 ipp_orientation_deg`` (95% ellipse; orientation of the major axis clockwise from north) and
                 launch point estimate ``lp_lat_deg, lp_lon_deg, lp_time_s`` (empty while there is none)
``warnings.csv`` every warning change as it was published: ``t_s, view, warning_id, track_id, level, state,
                 areas`` ("+"-joined area kinds; empty when no area is threatened) and ``first_track_t_s``, when
                 that view first held the track (so "first warning with an impact area within 5 s of the first
                 fused track" can be read off)
``meta.json``    scenario, seed, speed, evaluation period, counts

``t_s`` is seconds since the scenario's epoch.
"""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from triwarn.analysis import recording
from triwarn.analysis.recording import IPP_COLUMNS, LAUNCH_COLUMNS, OBJECTS_COLUMN, ipp_cells, launch_cells
from triwarn.analysis.siap import closest_objects
from triwarn.core.tracks import NATIONS, Status
from triwarn.scenarios.scenario_file import load_scenario
from triwarn.services.fusion import FusionService
from triwarn.services.node import Node
from triwarn.services.runtime import mqtt
from triwarn.services.runtime.clock import ManualClock
from triwarn.services.runtime.metrics import Metrics
from triwarn.services.runtime.settings import Settings
from triwarn.services.wire import tracks as wire
from triwarn.v1 import picture_pb2

log = logging.getLogger("triwarn.replay")

TRUTH_COLUMNS = list(recording.TRUTH_COLUMNS)
PICTURE_COLUMNS = list(recording.PICTURE_COLUMNS)
#: A nation "holds" an object when one of its local tracks is this close to it (the evaluation's association
#: threshold is 10 km).
HELD_RADIUS_M = 10_000.0


def _held(pos_m: np.ndarray, active: np.ndarray, local_pos_m: np.ndarray) -> np.ndarray:
    """(n,) bool: which objects (positions ``pos_m`` (n, 3) ECEF m; only the ``active`` ones count) some local
    track (``local_pos_m`` (m, 3)) holds: a local track holds the active object closest to it, if within
    ``HELD_RADIUS_M``, and no other (as Stone Soup's TrackToTruth associates a track with one truth: a missile
    ripple-fired seconds after another is not held by the first one's track a few km ahead of it)."""
    held = np.zeros(pos_m.shape[0], np.bool_)
    idx = np.flatnonzero(active)
    if not idx.size or not local_pos_m.size:
        return held
    j, d = closest_objects(local_pos_m, pos_m[idx])
    held[idx[j[d < HELD_RADIUS_M]]] = True
    return held


TRUTH_EXTRA_COLUMNS = [*recording.TRUTH_ASSESSMENT_COLUMNS, "held"]


@dataclass(frozen=True)
class ReplayResult:
    scenario: str
    seed: int
    speed: float | None
    simulated_s: float
    wall_s: float
    batches: int
    tracks_published: int
    picture_updates: int
    rejected: int
    truth_rows: int
    picture_rows: int


class _Recorder:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.truth_file = (directory / "truth.csv").open("w", newline="")
        self.picture_file = (directory / "picture.csv").open("w", newline="")
        self.truth = csv.writer(self.truth_file)
        self.picture = csv.writer(self.picture_file)
        self.truth.writerow([*TRUTH_COLUMNS, "phase", *TRUTH_EXTRA_COLUMNS])
        self.picture.writerow([*PICTURE_COLUMNS, "nations", OBJECTS_COLUMN, *IPP_COLUMNS, *LAUNCH_COLUMNS])
        self.warnings_file = (directory / "warnings.csv").open("w", newline="")
        self.warnings = csv.writer(self.warnings_file)
        self.warnings.writerow(["t_s", "view", "warning_id", "track_id", "level", "state", "areas", "first_track_t_s"])
        self.first_seen: dict[tuple[str, int], float] = {}
        self.truth_rows = 0
        self.picture_rows = 0

    def updates(self, t_s: float, updates: list[tuple[str, Any]]) -> None:
        """Note when each view first holds each track, and write every warning change."""
        for view, update in updates:
            for track in update.tracks:
                self.first_seen.setdefault((view, int(track.track_id)), t_s)
            for w in update.warnings:
                first = self.first_seen.get((view, int(w.track_id)), t_s)
                areas = "+".join(picture_pb2.AreaKind.Name(a.kind) for a in w.areas)
                level, state = picture_pb2.WarningLevel.Name(w.level), picture_pb2.Warning.State.Name(w.state)
                row = [f"{t_s:.3f}", view, w.warning_id, w.track_id, level, state, areas, f"{first:.3f}"]
                self.warnings.writerow(row)

    def record(
        self, t_s: float, truth: Any, service: FusionService, t_ns: int, epoch_ns: int, local_pos_m: np.ndarray
    ) -> None:
        """One evaluation time. ``local_pos_m``: (m, 3) positions of every nation's latest local tracks."""
        sample = truth.sample(t_s)
        held_by = _held(sample.pos_ecef_m, sample.active, local_pos_m)
        for k in np.flatnonzero(sample.active):
            p, v = sample.pos_ecef_m[k], sample.vel_ecef_m_s[k]
            impact = (truth.impact_lat_deg[k], truth.impact_lon_deg[k], truth.impact_time_s[k])
            launch = (truth.launch_lat_deg[k], truth.launch_lon_deg[k], truth.launch_time_s[k])
            row = [f"{t_s:.3f}", truth.object_ids[k], *_fmt(p), *_fmt(v), int(sample.phase[k])]
            row += [f"{impact[0]:.6f}", f"{impact[1]:.6f}", f"{impact[2]:.3f}"]
            self.truth.writerow([*row, f"{launch[0]:.6f}", f"{launch[1]:.6f}", f"{launch[2]:.3f}", int(held_by[k])])
            self.truth_rows += 1
        for group in service.groups:
            tracks = group.engine.at(t_ns)
            for view in group.views:
                for tr in tracks:
                    row = [f"{t_s:.3f}", view, tr.track_id, *_fmt(tr.x[:3]), *_fmt(tr.x[3:]), "+".join(tr.nations)]
                    row.append(int(tr.objects))
                    last = group.assessed.get(tr.track_id)
                    assessment = last[1] if last is not None else None
                    row += ipp_cells(assessment, epoch_ns) + launch_cells(assessment, epoch_ns)
                    self.picture.writerow(row)
                    self.picture_rows += 1

    def close(self) -> None:
        self.truth_file.close()
        self.picture_file.close()
        self.warnings_file.close()


def _fmt(values: np.ndarray) -> list[str]:
    return [f"{float(v):.3f}" for v in values]


async def replay(
    settings: Settings,
    speed: float | None = None,
    record_dir: Path | None = None,
    eval_period_s: float = 1.0,
    publish_to: str | None = None,
    progress: Callable[[float, float], None] | None = None,
) -> ReplayResult:
    """Replay ``settings.scenario`` with ``settings.seed``; ``speed`` None = as fast as possible."""
    scenario = load_scenario(settings.scenario)
    truth = scenario.truth()
    t0_ns = scenario.epoch_ns
    clock = ManualClock(t0_ns)
    base = settings.replace(scenario_t0_ns=t0_ns, scenario_loop=False, clock_speed=1.0)
    nodes = {n: Node(base.replace(nation=n, node_id=""), clock) for n in NATIONS}
    metrics = Metrics()
    service = FusionService(base, clock, metrics)
    recorder = _Recorder(record_dir) if record_dir is not None else None
    period = base.update_period_s
    ticks = np.arange(0.0, scenario.duration_s + 2 * period + 1e-9, period)
    eval_every = max(1, round(eval_period_s / period))
    batches = tracks_published = updates = 0
    client_cm = mqtt.client(publish_to, f"triwarn-replay-{time.time_ns()}") if publish_to else None
    client = await client_cm.__aenter__() if client_cm is not None else None
    wall_start = time.perf_counter()
    try:
        for k, t_s in enumerate(ticks):
            t_ns = t0_ns + round(float(t_s) * 1e9)
            clock.set(t_ns)
            local: list[np.ndarray] = []
            for nation, node in nodes.items():
                batch = node.step(float(t_s), batch_seq=k, bd_seq=1)
                local.append(batch.x[batch.status != Status.DELETED, :3])
                payload = wire.encode_batch(batch)
                if client is not None:
                    await client.publish(wire.tracks_topic(nation), payload, qos=1)
                batches += 1
                tracks_published += len(batch)
                published = service.handle_tracks(nation, payload)
                published += service.assess_due()  # inline, after every batch: deterministic
                updates += len(published)
                if recorder is not None:
                    recorder.updates(float(t_s), published)
            if recorder is not None and k % eval_every == 0:
                recorder.record(float(t_s), truth, service, t_ns, t0_ns, np.concatenate(local))
            if progress is not None:
                progress(float(t_s), float(ticks[-1]))
            if speed is not None:
                delay = wall_start + float(t_s) / speed - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
    finally:
        if client_cm is not None:
            await client_cm.__aexit__(None, None, None)
        if recorder is not None:
            recorder.close()
    rejected = int(metrics.total("triwarn_batches_rejected_total"))
    result = ReplayResult(
        scenario=scenario.name,
        seed=settings.seed,
        speed=speed,
        simulated_s=float(ticks[-1]),
        wall_s=time.perf_counter() - wall_start,
        batches=batches,
        tracks_published=tracks_published,
        picture_updates=updates,
        rejected=rejected,
        truth_rows=recorder.truth_rows if recorder else 0,
        picture_rows=recorder.picture_rows if recorder else 0,
    )
    if record_dir is not None:
        meta = {**asdict(result), "eval_period_s": eval_every * period, "epoch_ns": t0_ns}
        (record_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return result
