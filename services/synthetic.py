"""The wire encoding of the synthetic national track batches of :mod:`triwarn.sensors.sim.synthetic` (every
nation's batch as the protobuf bytes a node publishes). Used to warm the fusion kernels before SERVING and by
the end-to-end tests, which also take the truth, the batches and their errors from here (re-exported)."""

from __future__ import annotations

from triwarn.core.tracks import NATIONS
from triwarn.sensors.sim.synthetic import POS_SIGMA_M, VEL_SIGMA_M_S, nation_batch, truth_states
from triwarn.services.wire import tracks as wire

__all__ = ["POS_SIGMA_M", "VEL_SIGMA_M_S", "nation_batch", "synthetic_batches", "truth_states"]


def synthetic_batches(now_ns: int, n_objects: int = 3, seed: int = 0, batch_seq: int = 0) -> list[tuple[bytes, str]]:
    """Encoded batches of every nation at ``now_ns``: a list of (payload, nation). The fusion service takes a
    node's batch once: give each later call a higher ``batch_seq``."""
    truth = truth_states(n_objects, seed)
    return [
        (wire.encode_batch(nation_batch(nation, truth, now_ns, batch_seq=batch_seq, seed=seed)), nation)
        for nation in NATIONS
    ]
