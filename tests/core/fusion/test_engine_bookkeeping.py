"""The engine's vectorised bookkeeping and the kernels' scratch workspaces give exactly the results of plain
reference implementations (NumPy's set routines; one prediction, one d², one fusion at a time)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triwarn.core.fusion.align import BallisticModel, drag_context, predict_many, predict_one
from triwarn.core.fusion.association import mahalanobis2, min_d2_to_others
from triwarn.core.fusion.covariance_intersection import ci_fuse, ci_fuse_groups
from triwarn.core.fusion.engine import FusionEngine
from triwarn.core.fusion.store import group_starts, in_slots, slots_not_in
from triwarn.core.tracks import SystemTrack
from triwarn.sensors.sim.synthetic import batch_of, churned_batches, make_scenario

slot_lists = st.lists(st.integers(0, 199), max_size=120)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.integers(-1, 199), max_size=150), members=slot_lists)
def test_in_slots_is_isin(values: list[int], members: list[int]) -> None:
    v = np.asarray(values, dtype=np.int64)
    m = np.asarray(members, dtype=np.int64)
    np.testing.assert_array_equal(in_slots(v, m, 200), np.isin(v, m))


@settings(max_examples=200, deadline=None)
@given(a=st.sets(st.integers(0, 199), max_size=120), b=slot_lists)
def test_slots_not_in_is_setdiff1d(a: set[int], b: list[int]) -> None:
    aa = np.asarray(sorted(a), dtype=np.int64)
    bb = np.asarray(b, dtype=np.int64)
    got = slots_not_in(aa, bb, 200)
    np.testing.assert_array_equal(got, np.setdiff1d(aa, bb))
    assert got.dtype == np.int64


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.integers(0, 30), max_size=100))
def test_group_starts_is_unique_with_index(keys: list[int]) -> None:
    k = np.sort(np.asarray(keys, dtype=np.int64))
    got_keys, got_starts = group_starts(k)
    ref_keys, ref_starts = np.unique(k, return_index=True)
    np.testing.assert_array_equal(got_keys, ref_keys)
    np.testing.assert_array_equal(got_starts, ref_starts)


def _run_with_churn(n: int, cycles: int) -> list[tuple[object, ...]]:
    """Every result of an engine fed the benchmark's scenario with churn: each batch drops a random 5 % of its
    tracks (they end or come back), some tracks are renumbered (new local tracks), one node's batch now and
    then marks tracks DELETED."""
    engine = FusionEngine()
    out: list[tuple[object, ...]] = []
    last_ns = 0
    for b in churned_batches(n, cycles, seed=3, churn_seed=5):
        r = engine.ingest(b)
        for t in r.changed:
            out.append((t.track_id, t.time_ns, t.x.tobytes(), t.P.tobytes(), t.nations, t.sources, t.phase))
        out.append((tuple(r.deleted), r.late_dropped))
        last_ns = b.sent_time_ns
    for t in engine.at(last_ns):
        out.append((t.track_id, t.x.tobytes(), t.P.tobytes(), t.sources))
    return out


@settings(max_examples=100, deadline=None)
@given(
    alive=st.lists(st.booleans(), min_size=1, max_size=200),
    present=slot_lists,
    seed=st.integers(0, 2**31),
)
def test_set_operations_as_the_engine_calls_them_match_numpy(alive: list[bool], present: list[int], seed: int) -> None:
    """The engine's three call shapes (the same expressions on slot tables): a node's live local tracks missing
    from its batch (``slots_not_in`` of an ascending ``np.nonzero``), the local tracks of some system tracks
    (``in_slots`` of system slots with -1 for none), and the run starts of system slots after a stable sort
    (``group_starts``): each equals NumPy's set routine on the same arrays, so the engine's results are those
    of NumPy's routines."""
    rng = np.random.default_rng(seed)
    n = len(alive)
    live = np.asarray(alive, dtype=np.bool_)
    mine = np.nonzero(live)[0]
    pres = np.asarray([p for p in present if p < n], dtype=np.int64)
    np.testing.assert_array_equal(slots_not_in(mine, pres, n), np.setdiff1d(mine, pres))
    sys_of = rng.integers(-1, 50, n).astype(np.int64)
    wanted = np.unique(rng.integers(0, 50, rng.integers(0, 20))).astype(np.int64)
    np.testing.assert_array_equal(in_slots(sys_of, wanted, 50), np.isin(sys_of, wanted))
    sel = np.nonzero(live & in_slots(sys_of, wanted, 50))[0]
    sel = sel[np.argsort(sys_of[sel], kind="stable")]
    got_keys, got_starts = group_starts(sys_of[sel])
    ref_keys, ref_starts = np.unique(sys_of[sel], return_index=True)
    np.testing.assert_array_equal(got_keys, ref_keys)
    np.testing.assert_array_equal(got_starts, ref_starts)


def test_engine_results_repeat_bit_for_bit_under_churn() -> None:
    """Two engines fed the benchmark's scenario with churn (5 % of each batch dropped, some tracks renumbered,
    now and then tracks DELETED) give the same results bit for bit: slot reuse and the cached look-ups carry
    no state between engines or out of order."""
    fast = _run_with_churn(120, 12)
    again = _run_with_churn(120, 12)
    assert len(fast) == len(again) > 120 * 12
    assert fast == again


def test_result_objects_are_the_dataclass_objects() -> None:
    """The engine fills SystemTrack instance dicts directly: the same object as the dataclass constructor."""
    sc = make_scenario(5, 2, seed=4)
    engine = FusionEngine()
    for c in range(2):
        for j in range(3):
            for t in engine.ingest(batch_of(sc, c, j)).changed:
                ref = SystemTrack(**{f.name: getattr(t, f.name) for f in dataclasses.fields(SystemTrack)})
                assert list(vars(t)) == list(vars(ref)) and repr(t) == repr(ref)
                with pytest.raises(dataclasses.FrozenInstanceError):
                    t.track_id = 0  # type: ignore[misc]


def _random_tracks(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    centre_m = np.array([3e6, 3e6, 4e6])
    x = np.column_stack([rng.normal(0, 3e6, (n, 3)) + centre_m, rng.normal(0, 3e3, (n, 3))])
    A = rng.normal(size=(n, 6, 6)) * np.array([300.0] * 3 + [10.0] * 3)[None, :, None]
    P = A @ A.transpose(0, 2, 1) + np.diag([1e4] * 3 + [1.0] * 3)[None]
    return x, P


def test_predict_many_with_a_workspace_matches_predict_one_exactly() -> None:
    rng = np.random.default_rng(7)
    n = 200
    x, P = _random_tracks(rng, n)
    dt = rng.choice([0.0, 0.3, -0.6, 2.5, 40.0], n)
    q = rng.choice([0.01, 400.0, 2500.0], n)
    beta = rng.choice([0.0, 5000.0], n)
    m = BallisticModel()
    drag = drag_context(m)
    args = (m.gm_m3_s2, m.re_m, m.j2, m.omega_rad_s, m.max_step_s, m.max_substeps, drag)
    x_out, P_out = np.empty_like(x), np.empty_like(P)
    predict_many(x, P, dt, q, beta, *args, x_out, P_out)
    for i in range(n):
        xi, Pi = np.empty(6), np.empty((6, 6))
        predict_one(x[i], P[i], dt[i], q[i], beta[i], *args, xi, Pi)
        assert xi.tobytes() == x_out[i].tobytes() and Pi.tobytes() == P_out[i].tobytes()


def test_min_d2_to_others_matches_pairwise_mahalanobis2_exactly() -> None:
    rng = np.random.default_rng(8)
    sizes = rng.integers(1, 5, 150)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    x, P = _random_tracks(rng, int(offsets[-1]))
    flag = rng.random(x.shape[0]) < 0.7
    out = np.full(x.shape[0], -1.0)
    min_d2_to_others(offsets, x, P, flag, out)
    for g in range(sizes.size):
        a, b = offsets[g], offsets[g + 1]
        for m in range(a, b):
            if not flag[m]:
                assert out[m] == -1.0
                continue
            ref = min((mahalanobis2(x[m], P[m], x[k], P[k]) for k in range(a, b) if k != m), default=np.inf)
            assert out[m] == ref


def test_ci_fuse_groups_matches_ci_fuse_group_by_group_exactly() -> None:
    rng = np.random.default_rng(9)
    sizes = rng.integers(1, 5, 120)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    m = int(offsets[-1])
    centre, _ = _random_tracks(rng, sizes.size)
    x = centre[np.repeat(np.arange(sizes.size), sizes)] + rng.normal(0, 100.0, (m, 6))
    _, P = _random_tracks(rng, m)
    w0 = rng.random(m)
    x_out, P_out, w_out = np.empty((sizes.size, 6)), np.empty((sizes.size, 6, 6)), w0.copy()
    ok = np.empty(sizes.size, dtype=np.bool_)
    ci_fuse_groups(offsets, x, P, x_out, P_out, w_out, ok, np.empty(sizes.size, dtype=np.int64))
    for g in range(sizes.size):
        a, b = offsets[g], offsets[g + 1]
        xr, Pr, wr = np.empty(6), np.empty((6, 6)), w0[a:b].copy()
        if b - a == 1:
            assert ok[g] and x_out[g].tobytes() == x[a].tobytes() and w_out[a] == 1.0
            continue
        assert ci_fuse(x[a:b], P[a:b], wr, xr, Pr) == ok[g]
        assert xr.tobytes() == x_out[g].tobytes() and Pr.tobytes() == P_out[g].tobytes()
        assert wr.tobytes() == w_out[a:b].tobytes()
