"""The CI weights' warm start keyed by the group's newest source (FusionConfig.ci_warm_by_newest) changes only
where Newton's method starts: the fused picture equals the one from the last fusion's weights to far below a
millimetre, and it starts nearer the optimum (fewer Newton steps)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from triwarn.core.fusion.config import FusionConfig
from triwarn.core.fusion.covariance_intersection import keyed_warm_start, store_keyed_weights
from triwarn.core.fusion.engine import FusionEngine
from triwarn.core.tracks import SystemTrack
from triwarn.sensors.sim.synthetic import churned_batches


def _run(n: int, cycles: int, keyed: bool) -> list[tuple[list[SystemTrack], tuple[int, ...]]]:
    """Every result of an engine on the benchmark's scenario with churn (5 % of each batch dropped, some tracks
    renumbered, now and then tracks DELETED), so groups change composition and keyed weights go stale."""
    engine = FusionEngine(FusionConfig(ci_warm_by_newest=keyed))
    out = []
    for b in churned_batches(n, cycles, seed=7, churn_seed=11):
        r = engine.ingest(b)
        out.append((r.changed, tuple(r.deleted)))
    return out


def test_keyed_warm_start_gives_the_same_picture_to_below_a_millimetre() -> None:
    keyed = _run(150, 12, keyed=True)
    last = _run(150, 12, keyed=False)
    assert len(keyed) == len(last)
    n_tracks = 0
    worst_pos = worst_vel = worst_cov = 0.0
    for (ck, dk), (cl, dl) in zip(keyed, last, strict=True):
        assert dk == dl
        assert [(t.track_id, t.time_ns, t.sources, t.nations, t.phase) for t in ck] == [
            (t.track_id, t.time_ns, t.sources, t.nations, t.phase) for t in cl
        ]
        for a, b in zip(ck, cl, strict=True):
            worst_pos = max(worst_pos, float(np.abs(a.x[:3] - b.x[:3]).max()))
            worst_vel = max(worst_vel, float(np.abs(a.x[3:] - b.x[3:]).max()))
            scale = np.sqrt(np.outer(np.diag(b.P), np.diag(b.P)))
            worst_cov = max(worst_cov, float((np.abs(a.P - b.P) / scale).max()))
            n_tracks += 1
    assert n_tracks > 150 * 30
    assert worst_pos < 1e-3  # m
    assert worst_vel < 1e-3  # m/s
    assert worst_cov < 1e-5  # relative to the standard deviations


def _newton_steps(keyed: bool) -> int:
    """Newton steps the CI weights of a churn run need (the engine's public counter)."""
    engine = FusionEngine(FusionConfig(ci_warm_by_newest=keyed))
    for b in churned_batches(60, 8, seed=7, churn_seed=11):
        engine.ingest(b)
    return engine.ci_newton_steps


def test_keyed_warm_start_needs_fewer_newton_steps() -> None:
    keyed = _newton_steps(True)
    last = _newton_steps(False)
    assert last > 0
    assert keyed < 0.7 * last, (keyed, last)


@settings(max_examples=100, deadline=None)
@given(sizes=st.lists(st.integers(1, 4), min_size=1, max_size=30), seed=st.integers(0, 2**31))
def test_keyed_weight_kernels_match_the_numpy_formulation(sizes: list[int], seed: int) -> None:
    """Key = source of the group's first member at its newest time; a group starts from its keyed weights only
    if every member holds one under that key (column key % K); the store writes each member's weight there."""
    rng = np.random.default_rng(seed)
    n_slots, k = 200, 4
    sel = rng.choice(n_slots, size=sum(sizes), replace=False).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    starts, counts = offsets[:-1], np.diff(offsets)
    t_ns = rng.integers(0, 3, n_slots).astype(np.int64)
    src = rng.integers(0, 6, n_slots).astype(np.int64)
    t_f = np.maximum.reduceat(t_ns[sel], starts)
    w_key = rng.integers(-1, 6, (n_slots, k)).astype(np.int64)
    w_by = rng.random((n_slots, k))
    w = rng.random(sel.size)
    # reference: the vectorised NumPy formulation
    pos = np.arange(sel.size)
    first = np.minimum.reduceat(np.where(t_ns[sel] == np.repeat(t_f, counts), pos, sel.size), starts)
    key_ref = np.repeat(src[sel[first]], counts)
    col = key_ref % k
    use = np.repeat(np.logical_and.reduceat(w_key[sel, col] == key_ref, starts), counts)
    w_ref = w.copy()
    w_ref[use] = w_by[sel[use], col[use]]
    w_out, key = w.copy(), np.empty(sel.size, dtype=np.int64)
    keyed_warm_start(offsets, sel, t_ns, src, t_f, w_key, w_by, w_out, key)
    np.testing.assert_array_equal(key, key_ref)
    np.testing.assert_array_equal(w_out, w_ref)
    wk_ref, wb_ref = w_key.copy(), w_by.copy()
    wk_ref[sel, col] = key_ref
    wb_ref[sel, col] = w_out
    store_keyed_weights(sel, key, w_out, w_key, w_by)
    np.testing.assert_array_equal(w_key, wk_ref)
    np.testing.assert_array_equal(w_by, wb_ref)
