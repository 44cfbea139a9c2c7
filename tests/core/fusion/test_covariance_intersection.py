"""Covariance intersection against closed forms, the consistency bound and a brute-force weight scan."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triwarn.core.fusion.covariance_intersection import (
    ci_fuse_groups,
    ci_weights,
    covariance_intersection,
    spd_inverse,
    spd_inverse_logdet,
)


def _random_spd(rng: np.random.Generator, n: int = 6, lo: float = 1.0, hi: float = 1e4) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return (q * np.exp(rng.uniform(np.log(lo), np.log(hi), n))) @ q.T


def _det_ci(Ps: list[np.ndarray], w: np.ndarray) -> float:
    Y = sum(wk * np.linalg.inv(P) for wk, P in zip(w, Ps, strict=True))
    return float(-np.linalg.slogdet(Y)[1])  # log det P


def test_spd_inverse_matches_numpy() -> None:
    rng = np.random.default_rng(1)
    A = _random_spd(rng)
    out = np.empty((6, 6))
    L = np.empty((6, 6))
    logdet = spd_inverse_logdet(A, out, L)
    np.testing.assert_allclose(out, np.linalg.inv(A), rtol=1e-9, atol=1e-15)
    assert logdet == pytest.approx(np.linalg.slogdet(A)[1], rel=1e-12)
    assert spd_inverse(A, out, L)
    assert not spd_inverse(-A, out, L)
    assert not spd_inverse(np.full((6, 6), np.nan), out, L)


def test_two_equal_estimates_give_the_same_estimate() -> None:
    rng = np.random.default_rng(2)
    P = _random_spd(rng)
    x = rng.normal(size=6) * 1e3
    xf, Pf, w = covariance_intersection(np.stack([x, x]), np.stack([P, P]))
    np.testing.assert_allclose(xf, x, atol=1e-9)
    np.testing.assert_allclose(Pf, P, rtol=1e-9)
    assert w.sum() == pytest.approx(1.0)


def test_one_estimate_dominating_in_every_direction_takes_all_the_weight() -> None:
    # Pa < Pb (Loewner order): the optimum is ω_a = 1, P = Pa, x = xa (Julier & Uhlmann 1997)
    rng = np.random.default_rng(3)
    Pa = _random_spd(rng)
    Pb = Pa + _random_spd(rng, lo=0.1, hi=10.0)
    xa, xb = rng.normal(size=6), rng.normal(size=6)
    xf, Pf, w = covariance_intersection(np.stack([xa, xb]), np.stack([Pa, Pb]))
    assert w[0] == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(Pf, Pa, rtol=1e-9)
    np.testing.assert_allclose(xf, xa, atol=1e-9)


def test_scalar_closed_form() -> None:
    # 1-D analogue through diagonal 6x6: for Pa = a I, Pb = b I the det-optimal CI picks the smaller one
    xf, Pf, w = covariance_intersection(np.stack([np.zeros(6), np.ones(6)]), np.stack([2.0 * np.eye(6), np.eye(6)]))
    np.testing.assert_allclose(w, [0.0, 1.0], atol=1e-9)
    np.testing.assert_allclose(Pf, np.eye(6), atol=1e-12)
    # complementary directions: Pa = diag(1, 4), Pb = diag(4, 1) (x2 per axis pair): symmetric, ω = 1/2
    Pa = np.diag([1.0, 4.0, 1.0, 4.0, 1.0, 4.0])
    Pb = np.diag([4.0, 1.0, 4.0, 1.0, 4.0, 1.0])
    xf, Pf, w = covariance_intersection(np.stack([np.zeros(6), np.ones(6)]), np.stack([Pa, Pb]))
    np.testing.assert_allclose(w, [0.5, 0.5], atol=1e-7)
    # P = (0.5 Pa⁻¹ + 0.5 Pb⁻¹)⁻¹ = 1/(0.5 + 0.125) = 1.6 on every axis; x = P (0.5 Pb⁻¹ 1)
    np.testing.assert_allclose(np.diag(Pf), 1.6, rtol=1e-7)
    np.testing.assert_allclose(xf, 1.6 * 0.5 * np.diag(np.linalg.inv(Pb)), rtol=1e-7)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_two_way_weight_is_optimal_against_a_brute_force_scan(seed: int) -> None:
    rng = np.random.default_rng(seed)
    Pa, Pb = _random_spd(rng), _random_spd(rng)
    _, Pf, w = covariance_intersection(np.zeros((2, 6)), np.stack([Pa, Pb]))
    grid = np.linspace(0.0, 1.0, 2001)
    best = min(_det_ci([Pa, Pb], np.array([o, 1 - o])) for o in grid)
    ours = float(np.linalg.slogdet(Pf)[1])
    assert ours <= best + 1e-9
    assert ours == pytest.approx(_det_ci([Pa, Pb], w), abs=1e-9)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_three_way_weights_are_optimal_against_a_brute_force_scan(seed: int) -> None:
    rng = np.random.default_rng(seed)
    Ps = [_random_spd(rng) for _ in range(3)]
    _, Pf, w = covariance_intersection(np.zeros((3, 6)), np.stack(Ps))
    assert np.all(w >= 0) and w.sum() == pytest.approx(1.0)
    g = np.linspace(0.0, 1.0, 101)
    best = min(_det_ci(Ps, np.array([a, b, 1 - a - b])) for a in g for b in g if a + b <= 1 + 1e-12)
    assert float(np.linalg.slogdet(Pf)[1]) <= best + 1e-9


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rho=st.floats(-0.99, 0.99))
def test_ci_covariance_is_never_smaller_than_the_true_error_covariance(seed: int, rho: float) -> None:
    # whatever the cross-covariance Pab, the CI estimate's true error covariance is bounded by its P:
    # e = P (ωa Ia ea + ωb Ib eb), E[e eᵀ] = P [ωa Ia, ωb Ib] Σ [ωa Ia, ωb Ib]ᵀ P ≤ P
    rng = np.random.default_rng(seed)
    Pa, Pb = _random_spd(rng), _random_spd(rng)
    La, Lb = np.linalg.cholesky(Pa), np.linalg.cholesky(Pb)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    Pab = rho * La @ q @ Lb.T  # any such Pab keeps the joint covariance positive semi-definite
    joint = np.block([[Pa, Pab], [Pab.T, Pb]])
    _, Pf, w = covariance_intersection(np.zeros((2, 6)), np.stack([Pa, Pb]))
    G = Pf @ np.hstack([w[0] * np.linalg.inv(Pa), w[1] * np.linalg.inv(Pb)])
    true = G @ joint @ G.T
    gap = Pf - true
    assert np.linalg.eigvalsh((gap + gap.T) / 2).min() >= -1e-9 * np.abs(Pf).max()


def test_weights_from_a_warm_start_and_from_uniform_agree() -> None:
    rng = np.random.default_rng(5)
    I = np.stack([np.linalg.inv(_random_spd(rng)) for _ in range(4)])
    w1 = np.full(4, 0.25)
    ci_weights(I, w1, 1e-10, 50)
    w2 = np.array([1.0, 0.0, 0.0, 0.0])
    ci_weights(I, w2, 1e-10, 50)
    f = [np.linalg.slogdet(np.einsum("k,kij->ij", w, I))[1] for w in (w1, w2)]
    assert f[0] == pytest.approx(f[1], abs=1e-8)


def test_groups_match_single_fusions_and_pass_singletons_through() -> None:
    rng = np.random.default_rng(6)
    sizes = [1, 2, 3, 1, 4]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    m = offsets[-1]
    x = rng.normal(size=(m, 6)) * 100
    P = np.stack([_random_spd(rng) for _ in range(m)])
    x_out = np.empty((len(sizes), 6))
    P_out = np.empty((len(sizes), 6, 6))
    w_out = np.zeros(m)
    ok = np.zeros(len(sizes), dtype=np.bool_)
    ci_fuse_groups(offsets, x, P, x_out, P_out, w_out, ok, np.empty(len(sizes), dtype=np.int64))
    assert ok.all()
    for g in range(len(sizes)):
        a, b = offsets[g], offsets[g + 1]
        xf, Pf, _ = covariance_intersection(x[a:b], P[a:b])
        np.testing.assert_allclose(x_out[g], xf, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(P_out[g], Pf, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(x_out[0], x[0])
    np.testing.assert_array_equal(P_out[3], P[offsets[3]])


def test_a_member_with_a_broken_covariance_is_left_out() -> None:
    rng = np.random.default_rng(7)
    P = _random_spd(rng)
    bad = np.full((6, 6), np.nan)
    xf, _, w = covariance_intersection(np.stack([np.ones(6), np.zeros(6)]), np.stack([P, bad]))
    np.testing.assert_allclose(xf, np.ones(6))
    assert w[1] == 0.0
    with pytest.raises(ValueError):
        covariance_intersection(np.zeros((1, 6)), bad[None])
