"""Synthetic track batches: N objects in mid-course over the Sea of Japan, seen by each nation with its own
error. Used to warm the fusion kernels before SERVING, by the end-to-end tests and by the end-to-end
benchmark. Not a sensor model (that is ``triwarn.sensors.sim``): a fixed, documented stand-in.

The errors are assumptions, not published figures: 200 m and 5 m/s (1 sigma) per axis.
"""

from __future__ import annotations

import numpy as np

from triwarn.core.tracks import NATIONS, LocalTrackBatch, Phase, Status
from triwarn.core.trajectory.frames import geodetic_to_ecef_batch
from triwarn.services.wire import tracks as wire

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


def synthetic_batches(now_ns: int, n_objects: int = 3, seed: int = 0) -> list[tuple[bytes, str]]:
    """Encoded batches of every nation at ``now_ns``: a list of (payload, nation)."""
    truth = truth_states(n_objects, seed)
    return [(wire.encode_batch(nation_batch(nation, truth, now_ns, seed=seed)), nation) for nation in NATIONS]
