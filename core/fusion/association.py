"""Track-to-track association: chi-square gating on time-aligned differences, then a global assignment.

Gating (docs/fusion.md, "Association"): two estimates ``a`` and ``b`` of the same time are candidates if

    d² = (x_a - x_b)ᵀ (P_a + P_b)⁻¹ (x_a - x_b) ≤ γ,

γ a chi-square quantile for 6 degrees of freedom (22.458 at 0.999). ``P_a + P_b`` ignores the
cross-covariance of the two estimates; that makes the gate wider, never narrower.

No all-pairs work: the position part of d² bounds the distance, |Δr|² ≤ γ λ_max(S_rr) ≤ γ (tr P_a,rr +
tr P_b,rr), so |Δr| ≤ ρ_a + ρ_b with ρ = √(γ tr P_rr). The ``b`` estimates are put in a uniform hash grid of
cell size c (four times the 90 % quantile of the ρ, at least ``min_cell_m``); an ``a`` estimate looks only in its own
and the 26 neighbouring cells. Estimates with ρ > c/2 (rare: a huge covariance) are compared with everything
(each costs one pass over the other set). Cost per query is O(neighbours), so 10,000 objects gate in
milliseconds.

Assignment: the gated pairs form a sparse bipartite graph; it splits into connected components (union-find),
almost all of size 1×1 when objects are well separated. Each component is solved exactly as a dense
rectangular assignment with a "no partner" column per row at cost ``miss_cost`` (the Hungarian method with
potentials and shortest augmenting paths, as in Jonker & Volgenant 1987 / Crouse 2016, "On implementing 2D
rectangular assignment algorithms", IEEE TAES 52(4), O(k² l) for a k×l component).

Glossary: ``xa`` (na, 6), ``Pa`` (na, 6, 6), ``xb``, ``Pb`` likewise: two sets of states at one common time;
``mask_a``, ``mask_b`` (int64 bit sets of sources): a pair whose masks share a bit is never gated (a system
track never takes two local tracks of one source); ``gamma`` the gate; pairs are returned as row indices into
``a``, column indices into ``b`` and their d².
"""

from __future__ import annotations

import numpy as np
from numba import prange

from triwarn.core.jit import kernel
from triwarn.core.tracks import FloatArray, IntArray

#: χ²(6) quantile 0.999 (the default gate)
CHI2_6DOF_0999 = 22.457744484825326

_BIG = 1.0e300
_GRID_BITS = 21
_GRID_OFFSET = 1 << 20


@kernel
def mahalanobis2(xa, Pa, xb, Pb):
    """d² = (xa - xb)ᵀ (Pa + Pb)⁻¹ (xa - xb) for one pair (6,), (6, 6); +inf if Pa + Pb is not definite."""
    n = xa.shape[0]
    return _mahalanobis2(xa, Pa, xb, Pb, np.empty((n, n)), np.empty(n))


@kernel
def _mahalanobis2(xa, Pa, xb, Pb, L, y):
    """:func:`mahalanobis2` with scratch ``L`` (n, n) and ``y`` (n,) (same arithmetic)."""
    n = xa.shape[0]
    for j in range(n):
        s = Pa[j, j] + Pb[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not s > 0.0:
            return np.inf
        d = np.sqrt(s)
        L[j, j] = d
        for i in range(j + 1, n):
            s = Pa[i, j] + Pb[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            L[i, j] = s / d
    # forward substitution L y = Δ; d² = |y|²
    d2 = 0.0
    for i in range(n):
        s = xa[i] - xb[i]
        for k in range(i):
            s -= L[i, k] * y[k]
        y[i] = s / L[i, i]
        d2 += y[i] * y[i]
    return d2


@kernel
def mahalanobis2_rows(xa, Pa, rows_a, xb, Pb, out):
    """``out[k]`` = :func:`mahalanobis2` of ``xa[rows_a[k]]``, ``Pa[rows_a[k]]`` and ``xb[k]``, ``Pb[k]``
    (``xa`` (n, 6), ``Pa`` (n, 6, 6), ``rows_a`` (k,), ``xb`` (k, 6), ``Pb`` (k, 6, 6), ``out`` (k,))."""
    n = xa.shape[1]
    L = np.empty((n, n))
    y = np.empty(n)
    for k in range(rows_a.shape[0]):
        r = rows_a[k]
        out[k] = _mahalanobis2(xa[r], Pa[r], xb[k], Pb[k], L, y)


@kernel
def gate_radius(P, gamma, out):
    """ρ = √(γ tr P_rr) (m) for covariances ``P`` (n, 6, 6) into ``out`` (n,)."""
    for i in range(P.shape[0]):
        out[i] = np.sqrt(gamma * (P[i, 0, 0] + P[i, 1, 1] + P[i, 2, 2]))


@kernel
def _cell_key(ix, iy, iz):
    m = np.int64(1) << _GRID_BITS
    return ((ix + _GRID_OFFSET) * m + (iy + _GRID_OFFSET)) * m + (iz + _GRID_OFFSET)


@kernel
def _cell_of(p, c):
    return (np.int64(np.floor(p[0] / c)), np.int64(np.floor(p[1] / c)), np.int64(np.floor(p[2] / c)))


@kernel
def _try_pair(i, j, pa, ra, mask_a, xb, rb, mask_b, self_join, fill, rows, cols, at):
    """Cheap distance test of one pair; records it at ``at`` when ``fill``. Returns 1 if it passes."""
    if (mask_a[i] & mask_b[j]) != 0 or (self_join and j <= i):
        return 0
    dx = pa[0] - xb[j, 0]
    dy = pa[1] - xb[j, 1]
    dz = pa[2] - xb[j, 2]
    rr = ra[i] + rb[j]
    if dx * dx + dy * dy + dz * dz <= rr * rr:
        if fill:
            rows[at] = i
            cols[at] = j
        return 1
    return 0


@kernel
def _lower_bound(a, v):
    """First index k with a[k] >= v in the sorted array ``a`` (no allocation, unlike np.searchsorted)."""
    lo = 0
    hi = a.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@kernel
def _scan_one(
    i, xa, ra, mask_a, xb, rb, mask_b, c, half, rb_max, sorted_keys, order, big_list, self_join, fill, rows, cols, base
):
    """Candidates of ``a``-row ``i``: grid neighbours plus the huge ``b``; all ``b`` if ``i`` is huge."""
    nb = xb.shape[0]
    n_found = 0
    pa = xa[i]
    if ra[i] > half or not np.isfinite(pa[0] + pa[1] + pa[2]):
        for j in range(nb):
            n_found += _try_pair(i, j, pa, ra, mask_a, xb, rb, mask_b, self_join, fill, rows, cols, base + n_found)
        return n_found
    # only the cells that the sphere of radius ra + (largest ordinary rb) around pa reaches
    reach = ra[i] + rb_max
    for ix in range(np.int64(np.floor((pa[0] - reach) / c)), np.int64(np.floor((pa[0] + reach) / c)) + 1):
        for iy in range(np.int64(np.floor((pa[1] - reach) / c)), np.int64(np.floor((pa[1] + reach) / c)) + 1):
            for iz in range(np.int64(np.floor((pa[2] - reach) / c)), np.int64(np.floor((pa[2] + reach) / c)) + 1):
                key = _cell_key(ix, iy, iz)
                k = _lower_bound(sorted_keys, key)
                while k < nb and sorted_keys[k] == key:
                    n_found += _try_pair(
                        i, order[k], pa, ra, mask_a, xb, rb, mask_b, self_join, fill, rows, cols, base + n_found
                    )
                    k += 1
    for t in range(big_list.shape[0]):
        n_found += _try_pair(
            i, big_list[t], pa, ra, mask_a, xb, rb, mask_b, self_join, fill, rows, cols, base + n_found
        )
    return n_found


@kernel(parallel=True)
def gate_pairs(xa, Pa, mask_a, xb, Pb, mask_b, gamma, min_cell_m, self_join):
    """All pairs (i, j) with d² ≤ ``gamma`` between sets ``a`` and ``b`` (see the module docstring).

    With ``self_join`` (``a`` and ``b`` the same set) only pairs i < j are returned. Returns ``rows``,
    ``cols`` (int64) and ``d2`` (float64) arrays of equal length, sorted by row then column.
    """
    na = xa.shape[0]
    nb = xb.shape[0]
    ra = np.empty(na)
    rb = np.empty(nb)
    gate_radius(Pa, gamma, ra)
    gate_radius(Pb, gamma, rb)
    # cell size: four times the 90 % quantile of the radii (ordinary estimates, ρ ≤ c/2, need only 27 cells)
    if na + nb > 0:
        allr = np.concatenate((ra, rb))
        allr.sort()
        q = allr[min(allr.shape[0] - 1, int(0.9 * allr.shape[0]))]
        c = max(4.0 * q, min_cell_m)
        if not c < 1.0e12:  # NaN or inf radii
            c = 1.0e12
    else:
        c = min_cell_m
    half = 0.5 * c
    # grid over the ordinary b
    keys = np.empty(nb, dtype=np.int64)
    big_b = np.zeros(nb, dtype=np.bool_)
    for j in range(nb):
        if rb[j] > half or not np.isfinite(xb[j, 0] + xb[j, 1] + xb[j, 2]):
            big_b[j] = True
            keys[j] = np.iinfo(np.int64).max
        else:
            ix, iy, iz = _cell_of(xb[j], c)
            keys[j] = _cell_key(ix, iy, iz)
    order = np.argsort(keys, kind="mergesort")
    sorted_keys = keys[order]
    big_list = np.nonzero(big_b)[0]
    rb_max = 0.0
    for j in range(nb):
        if not big_b[j] and rb[j] > rb_max:
            rb_max = rb[j]
    cand = np.zeros(na, dtype=np.int64)
    empty_i = np.empty(0, dtype=np.int64)
    for i in prange(na):
        cand[i] = _scan_one(
            i,
            xa,
            ra,
            mask_a,
            xb,
            rb,
            mask_b,
            c,
            half,
            rb_max,
            sorted_keys,
            order,
            big_list,
            self_join,
            False,
            empty_i,
            empty_i,
            0,
        )
    offsets = np.zeros(na + 1, dtype=np.int64)
    for i in range(na):
        offsets[i + 1] = offsets[i] + cand[i]
    tot = offsets[na]
    rows = np.empty(tot, dtype=np.int64)
    cols = np.empty(tot, dtype=np.int64)
    d2 = np.empty(tot)
    for i in prange(na):
        n_found = _scan_one(
            i,
            xa,
            ra,
            mask_a,
            xb,
            rb,
            mask_b,
            c,
            half,
            rb_max,
            sorted_keys,
            order,
            big_list,
            self_join,
            True,
            rows,
            cols,
            offsets[i],
        )
        for t in range(offsets[i], offsets[i] + n_found):
            d2[t] = mahalanobis2(xa[i], Pa[i], xb[cols[t]], Pb[cols[t]])
    # keep the pairs inside the gate, sorted by row then column
    keep = d2 <= gamma
    rows = rows[keep]
    cols = cols[keep]
    d2 = d2[keep]
    idx = np.argsort(rows * np.int64(nb + 1) + cols, kind="mergesort")
    return rows[idx], cols[idx], d2[idx]


@kernel
def lsa_dense(C):
    """Minimum-cost assignment of every row of a rectangular cost matrix ``C`` (k, l), k ≤ l.

    Shortest augmenting paths with potentials (Hungarian method; Jonker & Volgenant 1987). Returns the
    column of each row (k,).
    """
    k = C.shape[0]
    l = C.shape[1]
    # 1-based arrays as in the classic formulation; column 0 is the virtual start
    u = np.zeros(k + 1)
    v = np.zeros(l + 1)
    p = np.zeros(l + 1, dtype=np.int64)  # p[j]: row matched to column j (0 = none)
    way = np.zeros(l + 1, dtype=np.int64)
    minv = np.empty(l + 1)
    used = np.empty(l + 1, dtype=np.bool_)
    for i in range(1, k + 1):
        p[0] = i
        j0 = 0
        for j in range(l + 1):
            minv[j] = np.inf
            used[j] = False
        while True:
            used[j0] = True
            i0 = p[j0]
            delta = np.inf
            j1 = -1
            for j in range(1, l + 1):
                if not used[j]:
                    cur = C[i0 - 1, j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j] = cur
                        way[j] = j0
                    if minv[j] < delta:
                        delta = minv[j]
                        j1 = j
            for j in range(l + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    col_of_row = np.full(k, -1, dtype=np.int64)
    for j in range(1, l + 1):
        if p[j] != 0:
            col_of_row[p[j] - 1] = j - 1
    return col_of_row


@kernel
def _find(parent, i):
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@kernel
def assign_sparse(n_rows, n_cols, rows, cols, cost, miss_cost):
    """Optimal assignment on a sparse cost list; a row may stay unassigned at cost ``miss_cost``.

    ``rows``, ``cols``, ``cost`` list the allowed pairs (any order, no duplicates). Minimises the sum of the
    chosen pairs' costs plus ``miss_cost`` per unassigned row, each row and column used at most once.
    Returns the column of each row (n_rows,), -1 for unassigned.
    """
    result = np.full(n_rows, -1, dtype=np.int64)
    m = rows.shape[0]
    if m == 0:
        return result
    # union-find over rows (0..n_rows-1) and columns (n_rows..n_rows+n_cols-1)
    parent = np.arange(n_rows + n_cols)
    for t in range(m):
        a = _find(parent, rows[t])
        b = _find(parent, n_rows + cols[t])
        if a != b:
            parent[a] = b
    comp = np.empty(m, dtype=np.int64)
    for t in range(m):
        comp[t] = _find(parent, rows[t])
    order = np.argsort(comp, kind="mergesort")
    local_row = np.full(n_rows, -1, dtype=np.int64)
    local_col = np.full(n_cols, -1, dtype=np.int64)
    s = 0
    while s < m:
        e = s
        while e < m and comp[order[e]] == comp[order[s]]:
            e += 1
        # the component's pairs are order[s:e]
        if e - s == 1:
            t = order[s]
            if cost[t] < miss_cost:
                result[rows[t]] = cols[t]
            s = e
            continue
        nr = 0
        nc = 0
        for q in range(s, e):
            t = order[q]
            if local_row[rows[t]] < 0:
                local_row[rows[t]] = nr
                nr += 1
            if local_col[cols[t]] < 0:
                local_col[cols[t]] = nc
                nc += 1
        row_ids = np.empty(nr, dtype=np.int64)
        col_ids = np.empty(nc, dtype=np.int64)
        C = np.full((nr, nc + nr), _BIG)
        for r in range(nr):
            C[r, nc + r] = miss_cost
        for q in range(s, e):
            t = order[q]
            r = local_row[rows[t]]
            cc = local_col[cols[t]]
            row_ids[r] = rows[t]
            col_ids[cc] = cols[t]
            C[r, cc] = cost[t]
        sol = lsa_dense(C)
        for r in range(nr):
            if sol[r] < nc and C[r, sol[r]] < _BIG:
                result[row_ids[r]] = col_ids[sol[r]]
        for r in range(nr):
            local_row[row_ids[r]] = -1
        for cc in range(nc):
            local_col[col_ids[cc]] = -1
        s = e
    return result


@kernel(parallel=True)
def pair_distances(xa, Pa, xb, Pb, d2_out):
    """d² of matched pairs: row i of ``a`` against row i of ``b``, into ``d2_out`` (n,)."""
    for i in prange(xa.shape[0]):
        d2_out[i] = mahalanobis2(xa[i], Pa[i], xb[i], Pb[i])


@kernel(parallel=True)
def min_d2_to_others(offsets, x, P, flag, out):
    """For each flagged row m of group g (rows ``offsets[g]:offsets[g + 1]`` of ``x`` (m, 6), ``P`` (m, 6, 6)),
    the smallest d² to another row of its group into ``out[m]`` (+inf if it is alone; unflagged rows untouched).
    """
    n_groups = offsets.shape[0] - 1
    n_chunks = min(n_groups, 64)
    n = x.shape[1]
    for c in prange(n_chunks):
        L = np.empty((n, n))  # scratch, once per chunk
        y = np.empty(n)
        for g in range(c * n_groups // n_chunks, (c + 1) * n_groups // n_chunks):
            a = offsets[g]
            b = offsets[g + 1]
            for m in range(a, b):
                if not flag[m]:
                    continue
                best = np.inf
                for k in range(a, b):
                    if k != m:
                        d2 = _mahalanobis2(x[m], P[m], x[k], P[k], L, y)
                        if d2 < best:
                            best = d2
                out[m] = best


def gate(
    xa: FloatArray,
    Pa: FloatArray,
    xb: FloatArray,
    Pb: FloatArray,
    gamma: float = CHI2_6DOF_0999,
    mask_a: IntArray | None = None,
    mask_b: IntArray | None = None,
    min_cell_m: float = 100.0,
) -> tuple[IntArray, IntArray, FloatArray]:
    """Gated pairs between two sets of time-aligned estimates: ``(rows, cols, d2)``."""
    na = xa.shape[0]
    nb = xb.shape[0]
    ma = np.zeros(na, dtype=np.int64) if mask_a is None else np.ascontiguousarray(mask_a, dtype=np.int64)
    mb = np.zeros(nb, dtype=np.int64) if mask_b is None else np.ascontiguousarray(mask_b, dtype=np.int64)
    return gate_pairs(  # type: ignore[no-any-return]
        np.ascontiguousarray(xa, dtype=np.float64),
        np.ascontiguousarray(Pa, dtype=np.float64),
        ma,
        np.ascontiguousarray(xb, dtype=np.float64),
        np.ascontiguousarray(Pb, dtype=np.float64),
        mb,
        float(gamma),
        float(min_cell_m),
        False,
    )


def assign(n_rows: int, n_cols: int, rows: IntArray, cols: IntArray, cost: FloatArray, miss_cost: float) -> IntArray:
    """Column of each row (-1 for none) minimising total cost; see :func:`assign_sparse`."""
    return assign_sparse(  # type: ignore[no-any-return]
        int(n_rows),
        int(n_cols),
        np.ascontiguousarray(rows, dtype=np.int64),
        np.ascontiguousarray(cols, dtype=np.int64),
        np.ascontiguousarray(cost, dtype=np.float64),
        float(miss_cost),
    )
