"""Gating against brute force, assignment against SciPy's linear_sum_assignment, and scale."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment
from scipy.stats import chi2

from triwarn.core.fusion.association import (
    CHI2_6DOF_0999,
    assign,
    gate,
    gate_pairs,
    gate_radius,
    lsa_dense,
    mahalanobis2,
    min_d2_to_others,
    pair_distances,
)


def _cov(rng: np.random.Generator, n: int, sigma_pos_m: float, sigma_vel_m_s: float) -> np.ndarray:
    P = np.zeros((n, 6, 6))
    s = np.exp(rng.uniform(-1.0, 1.0, (n, 6))) * np.array([sigma_pos_m] * 3 + [sigma_vel_m_s] * 3)
    P[:, range(6), range(6)] = s**2
    return P


def test_gate_constant_is_the_chi2_quantile() -> None:
    assert chi2.ppf(0.999, 6) == pytest.approx(CHI2_6DOF_0999, rel=1e-12)


def test_mahalanobis_matches_numpy() -> None:
    rng = np.random.default_rng(1)
    P = _cov(rng, 2, 100.0, 10.0)
    xa, xb = rng.normal(size=6) * 100, rng.normal(size=6) * 100
    d = xa - xb
    expected = d @ np.linalg.solve(P[0] + P[1], d)
    assert mahalanobis2(xa, P[0], xb, P[1]) == pytest.approx(expected, rel=1e-12)
    assert mahalanobis2(xa, -P[0], xb, -P[1]) == np.inf
    out = np.empty(1)
    pair_distances(xa[None], P[:1], xb[None], P[1:], out)
    assert out[0] == pytest.approx(expected, rel=1e-12)
    r = np.empty(2)
    gate_radius(P, 9.0, r)
    np.testing.assert_allclose(r, 3.0 * np.sqrt(np.trace(P[:, :3, :3], axis1=1, axis2=2)))


def _brute_force_pairs(xa, Pa, xb, Pb, gamma, ma, mb):
    out = set()
    for i in range(len(xa)):
        for j in range(len(xb)):
            if ma[i] & mb[j]:
                continue
            d = xa[i] - xb[j]
            if d @ np.linalg.solve(Pa[i] + Pb[j], d) <= gamma:
                out.add((i, j))
    return out


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_grid_gating_finds_exactly_the_brute_force_pairs(seed: int) -> None:
    # dense clusters (many candidate pairs), mixed covariance sizes, one huge covariance, masks
    rng = np.random.default_rng(seed)
    n = 120
    centres = rng.uniform(-3e6, 3e6, (6, 3)) + np.array([4e6, 3e6, 3e6])
    xa = np.zeros((n, 6))
    xa[:, :3] = centres[rng.integers(0, 6, n)] + rng.normal(size=(n, 3)) * 2e3
    xa[:, 3:] = rng.normal(size=(n, 3)) * 20
    xb = xa[rng.permutation(n)] + rng.normal(size=(n, 6)) * np.array([300.0] * 3 + [3.0] * 3)
    Pa = _cov(rng, n, 300.0, 5.0)
    Pb = _cov(rng, n, 300.0, 5.0)
    Pb[0, :3, :3] *= 1e6  # a huge one: compared with everything
    ma = rng.integers(0, 4, n).astype(np.int64)
    mb = rng.integers(0, 4, n).astype(np.int64)
    rows, cols, d2 = gate(xa, Pa, xb, Pb, CHI2_6DOF_0999, ma, mb)
    got = set(zip(rows.tolist(), cols.tolist(), strict=True))
    assert got == _brute_force_pairs(xa, Pa, xb, Pb, CHI2_6DOF_0999, ma, mb)
    assert np.all(d2 <= CHI2_6DOF_0999)
    assert len(got) > n // 2  # the test exercised real candidates


def test_self_join_returns_each_pair_once() -> None:
    rng = np.random.default_rng(3)
    x = np.zeros((40, 6))
    x[:, :3] = rng.normal(size=(40, 3)) * 500 + 6.5e6
    P = _cov(rng, 40, 300.0, 5.0)
    z = np.zeros(40, dtype=np.int64)
    rows, cols, _ = gate_pairs(x, P, z, x, P, z, CHI2_6DOF_0999, 100.0, True)
    assert np.all(rows < cols)
    assert set(zip(rows.tolist(), cols.tolist(), strict=True)) == {
        (i, j) for i, j in _brute_force_pairs(x, P, x, P, CHI2_6DOF_0999, z, z) if i < j
    }


def test_gating_10000_objects_finds_the_right_pairs() -> None:
    rng = np.random.default_rng(4)
    n = 10_000
    xa = np.zeros((n, 6))
    # objects spread over a 4000 km box at 300-900 km altitude, typical separation ~100 km
    xa[:, :3] = rng.uniform(-2e6, 2e6, (n, 3)) + np.array([-3.5e6, 4.0e6, 3.6e6])
    xa[:, 3:] = rng.normal(size=(n, 3)) * 3000
    Pa = _cov(rng, n, 200.0, 10.0)
    Pb = _cov(rng, n, 200.0, 10.0)
    perm = rng.permutation(n)
    L = np.linalg.cholesky(Pa[perm] + Pb)
    xb = xa[perm] + np.einsum("nij,nj->ni", L, rng.normal(size=(n, 6))) * 0.5
    rows, cols, d2 = gate(xa, Pa, xb, Pb)
    col_of_row = assign(n, n, rows, cols, d2, CHI2_6DOF_0999)
    # xb[j] is object perm[j]: row perm[j] must take column j
    expected = np.empty(n, dtype=np.int64)
    expected[perm] = np.arange(n)
    assert np.mean(col_of_row == expected) > 0.999
    assert rows.size < 3 * n  # gating kept the candidate list sparse


@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(1, 9),
    extra=st.integers(0, 6),
    seed=st.integers(0, 2**32 - 1),
    integer=st.booleans(),
)
def test_dense_assignment_matches_scipy(k: int, extra: int, seed: int, integer: bool) -> None:
    rng = np.random.default_rng(seed)
    C = rng.integers(0, 5, (k, k + extra)).astype(float) if integer else rng.uniform(0, 100, (k, k + extra))
    cols = lsa_dense(C)
    assert len(set(cols.tolist())) == k and cols.min() >= 0
    r, c = linear_sum_assignment(C)
    assert C[np.arange(k), cols].sum() == pytest.approx(C[r, c].sum(), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(n_rows=st.integers(1, 12), n_cols=st.integers(1, 12), seed=st.integers(0, 2**32 - 1))
def test_sparse_assignment_with_misses_matches_scipy(n_rows: int, n_cols: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    allowed = rng.uniform(size=(n_rows, n_cols)) < 0.4
    cost = rng.uniform(0.0, 30.0, (n_rows, n_cols))
    miss = 22.0
    rows, cols = np.nonzero(allowed)
    got = assign(n_rows, n_cols, rows, cols, cost[rows, cols], miss)
    # reference: SciPy on the padded matrix [C | miss on the diagonal], forbidden pairs at a large cost
    big = 1e9
    C = np.full((n_rows, n_cols + n_rows), big)
    C[:, :n_cols] = np.where(allowed, cost, big)
    C[np.arange(n_rows), n_cols + np.arange(n_rows)] = miss
    r, c = linear_sum_assignment(C)
    ref = C[r, c].sum()
    ours = sum(cost[i, j] if j >= 0 else miss for i, j in enumerate(got.tolist()))
    assert ours == pytest.approx(ref, abs=1e-9)
    used = got[got >= 0]
    assert len(set(used.tolist())) == used.size
    assert all(allowed[i, j] for i, j in enumerate(got.tolist()) if j >= 0)


def test_assignment_of_nothing() -> None:
    empty = np.empty(0, dtype=np.int64)
    np.testing.assert_array_equal(assign(3, 2, empty, empty, np.empty(0), 1.0), [-1, -1, -1])
    rows, cols, d2 = gate(np.empty((0, 6)), np.empty((0, 6, 6)), np.zeros((2, 6)), np.tile(np.eye(6), (2, 1, 1)))
    assert rows.size == cols.size == d2.size == 0


def test_min_distance_to_the_other_members_of_a_group() -> None:
    rng = np.random.default_rng(8)
    offsets = np.array([0, 1, 4, 6], dtype=np.int64)
    x = rng.normal(size=(6, 6)) * 50
    P = _cov(rng, 6, 40.0, 4.0)
    flag = np.array([True, True, False, True, True, True])
    out = np.full(6, -1.0)
    min_d2_to_others(offsets, x, P, flag, out)
    assert out[0] == np.inf  # alone in its group
    assert out[2] == -1.0  # not flagged: untouched
    for m, others in ((1, (2, 3)), (3, (1, 2)), (4, (5,)), (5, (4,))):
        expected = min((x[m] - x[k]) @ np.linalg.solve(P[m] + P[k], x[m] - x[k]) for k in others)
        assert out[m] == pytest.approx(expected, rel=1e-10)
