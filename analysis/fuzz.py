"""Mutations of valid track batches, and the check that nothing broken reaches the picture.

Used by the property test of the fusion service's intake and engine (tests/services/test_fuzz.py, with
hypothesis choosing the seeds) and by ``benches/bench_fuzz.py`` (100,000+ batches outside CI).

:class:`BatchStream` makes the valid traffic: three nations' nodes seeing the same ballistic objects (truth
propagated by the fusion engine's own ballistic model), one batch per nation per cycle. :func:`mutate` breaks
one payload the way a bit-flipping link, a buggy node or a hostile one would: bit flips, truncation, extreme
or non-finite field values, degenerate covariances (tiny, huge, rank-deficient, almost perfectly correlated),
forged node ids. :func:`picture_violations` lists what is wrong with the picture updates the service made.
"""

from __future__ import annotations

import numpy as np

from triwarn.core.fusion import invariants
from triwarn.core.fusion.config import FusionConfig
from triwarn.core.fusion.prediction import Predictor
from triwarn.core.tracks import NATIONS, Phase
from triwarn.sensors.sim.synthetic import nation_batch, truth_states
from triwarn.services.wire import tracks as wire
from triwarn.v1 import picture_pb2, tracks_pb2

#: Values a mutated double field takes (besides random ones).
EXTREMES = (
    float("nan"),
    float("inf"),
    -float("inf"),
    0.0,
    -0.0,
    5e-324,
    2.2e-304,
    1e-300,
    1e-30,
    1e-8,
    1.0,
    1e15,
    1e30,
    1e154,
    1e300,
    1.7976931348623157e308,
    -1e300,
)
_STATE_FIELDS = ("x_m", "y_m", "z_m", "vx_m_s", "vy_m_s", "vz_m_s")


class BatchStream:
    """Valid encoded batches of three nations' nodes: ``next()`` gives the cycle's (nation, payload) list."""

    def __init__(self, n_objects: int = 4, seed: int = 0, period_s: float = 1.0, t0_ns: int = 0) -> None:
        self.truth0 = truth_states(n_objects, seed)
        self.seed = seed
        self.period_ns = round(period_s * 1e9)
        self.t0_ns = t0_ns
        self.cycle = 0
        self._pred = Predictor(FusionConfig(), dict.fromkeys(("align", "gate", "assign", "fuse", "total"), 0.0))

    def time_ns(self) -> int:
        return self.t0_ns + self.cycle * self.period_ns

    def truth(self, t_ns: int) -> np.ndarray:
        n = self.truth0.shape[0]
        P = np.broadcast_to(np.eye(6), (n, 6, 6)).copy()
        dt = np.full(n, (t_ns - self.t0_ns) * 1e-9)
        x, _ = self._pred.predict(self.truth0.copy(), P, dt, np.full(n, int(Phase.MIDCOURSE), np.int64), np.zeros(n))
        return np.asarray(x)

    def births(self) -> list[tuple[str, bytes]]:
        """The nodes' BIRTH statuses (bd_seq 1), as the broker's retained messages give them first."""
        return [
            (n, wire.encode_status(wire.NodeStatusEvent(n, f"{n}-c2", True, 1, self.t0_ns, (), 1.0))) for n in NATIONS
        ]

    def next(self) -> list[tuple[str, bytes]]:
        t_ns = self.time_ns()
        truth = self.truth(t_ns)
        out = []
        for nation in NATIONS:
            b = nation_batch(nation, truth, t_ns, batch_seq=self.cycle, bd_seq=1, seed=self.seed * 100_003 + self.cycle)
            out.append((nation, wire.encode_batch(b)))
        self.cycle += 1
        return out


def mutate(payload: bytes, rng: np.random.Generator) -> bytes:
    """One random mutation of an encoded ``LocalTrackBatch``."""
    kind = int(rng.integers(0, 8))
    if kind == 0:  # bit flips anywhere in the bytes
        data = bytearray(payload)
        for _ in range(int(rng.integers(1, 9))):
            i = int(rng.integers(0, len(data) * 8))
            data[i // 8] ^= 1 << (i % 8)
        return bytes(data)
    if kind == 1:  # truncated, or garbage appended (protobuf merges a second message)
        if rng.random() < 0.5:
            return payload[: int(rng.integers(0, len(payload)))]
        return payload + rng.bytes(int(rng.integers(1, 64)))
    msg = tracks_pb2.LocalTrackBatch.FromString(payload)
    if not msg.tracks:
        return payload
    t = msg.tracks[int(rng.integers(0, len(msg.tracks)))]
    s = t.state
    value = float(EXTREMES[int(rng.integers(0, len(EXTREMES)))]) * (1.0 if rng.random() < 0.5 else -1.0)
    if kind == 2:  # one state component
        setattr(s, _STATE_FIELDS[int(rng.integers(0, 6))], value)
    elif kind == 3:  # one covariance entry (both halves of the symmetric matrix are the same wire value)
        s.covariance_upper[int(rng.integers(0, 21))] = value
    elif kind == 4:  # the whole covariance degenerate
        P = wire.covariance_full(np.asarray(s.covariance_upper))
        how = int(rng.integers(0, 4))
        if how == 0:
            P = P * 10.0 ** float(rng.integers(-320, 300))
        elif how == 1:  # rank-deficient: one row and column copied onto another
            i, j = (int(v) for v in rng.choice(6, 2, replace=False))
            P[i, :], P[:, i] = P[j, :], P[:, j]
            P[i, i] = P[j, j]
        elif how == 2:  # almost perfectly correlated
            i, j = (int(v) for v in rng.choice(6, 2, replace=False))
            P[i, j] = P[j, i] = (1.0 - 10.0 ** -float(rng.integers(1, 17))) * np.sqrt(P[i, i] * P[j, j])
        else:
            P[int(rng.integers(0, 6)), int(rng.integers(0, 6))] = value  # asymmetric on purpose
            P = np.triu(P) + np.triu(P, 1).T
        with np.errstate(all="ignore"):
            s.covariance_upper[:] = wire.covariance_upper(P).tolist()
    elif kind == 5:  # scalar fields of a track
        field = int(rng.integers(0, 7))
        if field == 0:
            t.time_ns = int(t.time_ns + rng.integers(-(10**12), 10**12))
        elif field == 1:
            t.quality = float(np.float32(value)) if np.isfinite(value) and abs(value) < 1e38 else value
        elif field == 2:
            t.ballistic_coefficient_kg_m2 = value
        elif field == 3:
            t.local_track_number = int(rng.integers(0, 2**32))
        elif field == 4:
            t.phase = int(rng.integers(0, 4))  # type: ignore[assignment]
        elif field == 5:  # the measurement-update time: anywhere, before or after the state's
            t.last_update_ns = int(t.time_ns + rng.integers(-(10**12), 10**12))
        else:  # the count of unresolved objects: 0 (not reported) to far beyond any salvo
            t.estimated_objects = int(rng.choice([0, 1, 2, 100, 101, 2**32 - 1]))
    elif kind == 6:  # a forged or bit-flipped node id, or another node's sequence numbers
        if rng.random() < 0.5:
            msg.node_id = "".join(chr(int(c)) for c in rng.integers(33, 127, int(rng.integers(1, 12))))
        else:
            msg.batch_seq = int(rng.integers(0, 2**63))
            msg.bd_seq = int(rng.integers(0, 2**63))
    else:  # a track copied with a nearby state (same number twice, or a near-duplicate under a new number)
        extra = msg.tracks.add()
        extra.CopyFrom(t)
        if rng.random() < 0.5:
            extra.local_track_number = int(rng.integers(0, 2**32))
        extra.state.x_m += float(rng.normal(0.0, 1e3))
    return msg.SerializeToString()


def picture_violations(
    updates: list[tuple[str, picture_pb2.PictureUpdate]], envelope: invariants.Envelope, max_sources: int
) -> list[str]:
    """What is wrong with the tracks of these picture updates: a state or covariance that breaks an invariant
    (non-finite, outside the flight envelope, not a bounded-condition SPD matrix), or more sources than
    ``max_sources`` nodes can give. Empty: nothing."""
    out = []
    for view, update in updates:
        for t in update.tracks:
            s = t.state
            x = np.array([[s.x_m, s.y_m, s.z_m, s.vx_m_s, s.vy_m_s, s.vz_m_s]])
            P = wire.covariance_full(np.asarray(s.covariance_upper, dtype=np.float64))[None]
            code = int(invariants.violations(x, P, envelope)[0])
            if code:
                out.append(f"view {view} track {t.track_id}: {invariants.REASONS[code]}")
            if len(t.sources) > max_sources:
                out.append(f"view {view} track {t.track_id}: {len(t.sources)} sources")
            if not np.isfinite([t.altitude_m, t.lat_deg, t.lon_deg]).all():
                out.append(f"view {view} track {t.track_id}: non-finite position fields")
    return out
