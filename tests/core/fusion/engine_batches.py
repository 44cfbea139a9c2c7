"""Shared by the engine tests: one object in ballistic flight and the batches a nation's node reports of it.

Imported by module name (pytest puts each test file's folder on sys.path; tests/ has no packages).
"""

from __future__ import annotations

import numpy as np

from triwarn.core.fusion.align import predict
from triwarn.core.tracks import LocalTrackBatch, Phase, Status

T0 = 1_800_000_000_000_000_000
S = 1_000_000_000  # one second in ns
X_OBJ = np.array([-3.40e6, 3.55e6, 4.25e6, 2500.0, 1800.0, -2600.0])
P_OBJ = np.diag([200.0, 200.0, 200.0, 5.0, 5.0, 5.0]) ** 2


def make_batch(
    nation: str,
    t_ns: int,
    numbers: list[int],
    xs: list[np.ndarray],
    status: list[int] | None = None,
    sd: float = 1.0,
) -> LocalTrackBatch:
    """Node ``{nation}-c2``'s batch at ``t_ns``: local tracks ``numbers`` with states ``xs`` (ECEF, m and m/s),
    covariance P_OBJ scaled by ``sd``², MIDCOURSE, ``status`` (default CONFIRMED)."""
    n = len(numbers)
    return LocalTrackBatch(
        nation=nation,
        node_id=f"{nation}-c2",
        batch_seq=0,
        bd_seq=0,
        sent_time_ns=t_ns,
        track_numbers=np.asarray(numbers, dtype=np.int64),
        time_ns=np.full(n, t_ns, dtype=np.int64),
        x=np.asarray(xs, dtype=np.float64).reshape(n, 6),
        P=np.tile(P_OBJ * sd**2, (n, 1, 1)),
        phase=np.full(n, int(Phase.MIDCOURSE), dtype=np.int64),
        status=np.asarray(status if status is not None else [int(Status.CONFIRMED)] * n, dtype=np.int64),
        quality=np.ones(n),
        beta_kg_m2=np.zeros(n),
    )


def true_state(t_ns: int, x0: np.ndarray = X_OBJ) -> np.ndarray:
    """The true state at ``t_ns`` of the object at ``x0`` at T0 (ballistic flight), ECEF m and m/s."""
    x, _ = predict(x0[None], np.zeros((1, 6, 6)), (t_ns - T0) * 1e-9)
    return x[0]
