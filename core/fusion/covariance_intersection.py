"""Track-to-track fusion by covariance intersection (CI) with optimised weights, N-way.

The nations' tracks of one object share process noise and sometimes sensors, so their errors are correlated
by an amount nobody knows. Covariance intersection (Julier & Uhlmann, "A non-divergent estimation algorithm
in the presence of unknown correlations", ACC 1997; N-way form in Niehsen, "Information fusion based on fast
covariance intersection filtering", FUSION 2002) fuses N estimates (x_k, P_k) as

    Y = P⁻¹ = Σ ω_k P_k⁻¹,   x = P Σ ω_k P_k⁻¹ x_k,   ω_k ≥ 0, Σ ω_k = 1

and is consistent (P ≥ the true error covariance) for *every* cross-correlation between the inputs.

Weights: we minimise det P, i.e. maximise f(ω) = log det Y(ω). det is the natural criterion here because
the state mixes metres and metres per second (the trace would add m² to m²/s²; det is invariant to the
choice of units). f is concave in ω (log det is concave on positive definite matrices and Y is linear in ω),
so the optimum over the simplex is unique. With g_k = ∂f/∂ω_k = tr(Y⁻¹ P_k⁻¹) and
∂²f/∂ω_k∂ω_l = -tr(Y⁻¹ P_k⁻¹ Y⁻¹ P_l⁻¹), Newton's method with the constraint Σ ω = 1, an active set for
ω ≥ 0 and a backtracking line search finds it to tolerance in a handful of steps (optimality: g_k equal
wherever ω_k > 0, not larger elsewhere). For N = 2 this is the classic 1-D search of Julier & Uhlmann, done
exactly; Niehsen's closed-form "fast CI" weights (ω_k ∝ 1/tr P_k) are not used: they are not optimal
(tests compare ours with a brute-force scan).

Glossary: ``x`` (k, 6) states of the k estimates of one object at one common time (already aligned); ``P``
(k, 6, 6) their covariances; ``w`` (k,) the CI weights.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from triwarn.core.jit import kernel
from triwarn.core.tracks import FloatArray


@kernel
def spd_inverse(A, out, L):
    """Inverse of a symmetric positive definite (n, n) matrix ``A`` by Cholesky into ``out``.

    ``L`` is (n, n) scratch. Returns False (and leaves ``out`` undefined) if ``A`` is not positive definite.
    """
    return spd_inverse_logdet(A, out, L) > -np.inf


@kernel
def spd_inverse_logdet(A, out, L):
    """As :func:`spd_inverse`, returning log det A (-inf if ``A`` is not positive definite)."""
    n = A.shape[0]
    logdet = 0.0
    for j in range(n):
        s = A[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not s > 0.0:  # also catches NaN
            return -np.inf
        logdet += np.log(s)
        d = np.sqrt(s)
        L[j, j] = d
        for i in range(j + 1, n):
            s = A[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            L[i, j] = s / d
    # out = L⁻ᵀ L⁻¹: first invert L in place into the lower triangle of out
    for i in range(n):
        for j in range(n):
            out[i, j] = 0.0
    for j in range(n):
        out[j, j] = 1.0 / L[j, j]
        for i in range(j + 1, n):
            s = 0.0
            for k in range(j, i):
                s -= L[i, k] * out[k, j]
            out[i, j] = s / L[i, i]
    # out = Mᵀ M with M = L⁻¹ lower triangular (held in out); compute into L as scratch, then copy
    for i in range(n):
        for j in range(i, n):
            s = 0.0
            for k in range(j, n):
                s += out[k, i] * out[k, j]
            L[i, j] = s
    for i in range(n):
        for j in range(i, n):
            out[i, j] = L[i, j]
            out[j, i] = L[i, j]
    return logdet


@kernel
def _weighted_info(I, w, Y):
    n = Y.shape[0]
    for a in range(n):
        for b in range(n):
            Y[a, b] = 0.0
    for k in range(I.shape[0]):
        if w[k] == 0.0:
            continue
        for a in range(n):
            for b in range(n):
                Y[a, b] += w[k] * I[k, a, b]


@kernel
def _trace_prod(A, B):
    """tr(A B) for symmetric A, B."""
    s = 0.0
    n = A.shape[0]
    for a in range(n):
        for b in range(n):
            s += A[a, b] * B[b, a]
    return s


@kernel
def _log_det_inv(Y, Yi, L):
    """log det Y and Y⁻¹ (into ``Yi``) of a symmetric matrix; -inf if Y is not positive definite."""
    return spd_inverse_logdet(Y, Yi, L)


#: optimality tolerance of the CI weights: stop when the gradients g_k = tr(Y⁻¹ P_k⁻¹) of the active weights
#: agree to CI_TOL · n. The loss in log det P is then ~ (CI_TOL · n)², far below anything that matters.
CI_TOL = 1e-6


@kernel
def ci_workspace(k, n):
    """Scratch arrays for fusing up to ``k`` estimates of dimension ``n`` (so the kernels never allocate)."""
    return (
        np.empty((n, n)),  # 0 Y
        np.empty((n, n)),  # 1 Yi
        np.empty((n, n)),  # 2 L
        np.empty((k, n, n)),  # 3 M = Y⁻¹ I_k
        np.empty(k),  # 4 g
        np.empty((k, k)),  # 5 K
        np.empty((k, k)),  # 6 K (active block)
        np.empty((k, k)),  # 7 K⁻¹
        np.empty((k, k)),  # 8 Cholesky scratch
        np.empty(k),  # 9 K⁻¹ g
        np.empty(k),  # 10 K⁻¹ 1
        np.empty(k),  # 11 d
        np.empty(k),  # 12 w_try
        np.empty(k),  # 13 active (1.0 / 0.0)
        np.empty((k, n, n)),  # 14 I (information matrices of the usable estimates)
        np.empty(k),  # 15 their weights
        np.empty(n),  # 16 information vector
        np.empty(k, dtype=np.int64),  # 17 index of the usable estimates
    )


@kernel
def ci_weights(I, w, tol, max_iter):
    """Optimal CI weights for information matrices ``I`` (k, n, n): maximise f = log det Σ w_k I_k on the simplex.

    Newton's method with the equality constraint Σ w = 1 and an active set for w ≥ 0: on the active set A
    the step d solves K d = g - λ 1, 1ᵀ d = 0 with K = -∇²f (K_kl = tr(Y⁻¹ I_k Y⁻¹ I_l)), followed by an
    Armijo backtracking line search that stops at the boundary (a weight reaching 0 leaves A). Optimality
    (KKT): g_k equal on A and not larger outside it, to ``tol``·n. ``w`` (k,) is the start on input (on the
    simplex) and the result on output. Returns the number of Newton steps.
    """
    return _ci_weights(I, w, tol, max_iter, ci_workspace(I.shape[0], I.shape[1]))


@kernel
def _ci_weights(I, w, tol, max_iter, ws):
    k = I.shape[0]
    n = I.shape[1]
    if k == 1:
        w[0] = 1.0
        return 0
    Y, Yi, L, M, g, _, Ka, Ki, KL, rhs, ones, d, w_try, active = ws[:14]
    for m in range(k):
        active[m] = 1.0 if w[m] > 0.0 else 0.0
    steps = 0
    _weighted_info(I, w, Y)
    f = _log_det_inv(Y, Yi, L)
    for _ in range(max_iter):
        # gradient g_k = tr(Y⁻¹ I_k) at w (Yi holds Y⁻¹)
        for m in range(k):
            g[m] = _trace_prod(Yi, I[m])
        # KKT check; re-activate a zero weight whose gradient exceeds the active ones
        gmax = -np.inf
        gmin = np.inf
        for m in range(k):
            if active[m] > 0.0:
                gmax = max(gmax, g[m])
                gmin = min(gmin, g[m])
        best_out = -1
        for m in range(k):
            if active[m] == 0.0 and g[m] > gmax + tol * n and (best_out < 0 or g[m] > g[best_out]):
                best_out = m
        if gmax - gmin <= tol * n:
            if best_out < 0:
                break
            active[best_out] = 1.0
        elif best_out >= 0 and g[best_out] - gmax > gmax - gmin:
            active[best_out] = 1.0  # the violation outside the active set dominates: take it in now
        # Newton step on the active set: M_k = Y⁻¹ I_k, K_pq = tr(M_p M_q)
        na = 0
        for m in range(k):
            if active[m] > 0.0:
                for a in range(n):
                    for b in range(n):
                        s = 0.0
                        for c in range(n):
                            s += Yi[a, c] * I[m, c, b]
                        M[m, a, b] = s
                na += 1
        idx = np.empty(na, dtype=np.int64)
        q = 0
        for m in range(k):
            if active[m] > 0.0:
                idx[q] = m
                q += 1
        ridge = 0.0
        for p in range(na):
            for q in range(p, na):
                s = 0.0
                for a in range(n):
                    for b in range(n):
                        s += M[idx[p], a, b] * M[idx[q], b, a]
                Ka[p, q] = s
                Ka[q, p] = s
            ridge += Ka[p, p]
        ridge = 1e-12 * ridge / na + 1e-300
        for p in range(na):
            Ka[p, p] += ridge
        if not spd_inverse(Ka[:na, :na], Ki[:na, :na], KL[:na, :na]):
            break
        # λ = 1ᵀK⁻¹g / 1ᵀK⁻¹1, d = K⁻¹(g - λ1)
        num = 0.0
        den = 0.0
        for p in range(na):
            rp = 0.0
            op = 0.0
            for q in range(na):
                rp += Ki[p, q] * g[idx[q]]
                op += Ki[p, q]
            rhs[p] = rp
            ones[p] = op
            num += rp
            den += op
        lam = num / den
        for m in range(k):
            d[m] = 0.0
        slope = 0.0
        for p in range(na):
            d[idx[p]] = rhs[p] - lam * ones[p]
            slope += g[idx[p]] * d[idx[p]]
        if not slope > 1e-12:
            # the predicted gain of a full Newton step is below what double precision resolves in f: the
            # active set is solved; continue only if a zero weight still violates optimality
            if best_out >= 0 and active[best_out] == 0.0:
                active[best_out] = 1.0
                continue
            break
        # largest step inside the simplex
        a_max = np.inf
        hit = -1
        for m in range(k):
            if d[m] < 0.0 and w[m] / -d[m] < a_max:
                a_max = w[m] / -d[m]
                hit = m
        alpha = 1.0
        if a_max <= 1.0:
            alpha = a_max
        else:
            hit = -1
        accepted = False
        f_try = f
        for _ls in range(30):
            for m in range(k):
                w_try[m] = w[m] + alpha * d[m]
                if w_try[m] < 0.0:
                    w_try[m] = 0.0
            if hit >= 0 and alpha == a_max:
                w_try[hit] = 0.0
            _weighted_info(I, w_try, Y)
            f_try = _log_det_inv(Y, Yi, L)
            if f_try >= f + 1e-4 * alpha * slope:
                accepted = True
                break
            alpha *= 0.5
        if not accepted:
            # no ascent possible to working precision: restore Yi at w and stop
            _weighted_info(I, w, Y)
            _log_det_inv(Y, Yi, L)
            break
        steps += 1
        tot = 0.0
        for m in range(k):
            w[m] = w_try[m]
            tot += w[m]
        for m in range(k):
            w[m] /= tot
            if w[m] == 0.0:
                active[m] = 0.0
        if tot != 1.0:
            _weighted_info(I, w, Y)
            f = _log_det_inv(Y, Yi, L)
        else:
            f = f_try
    return steps


@kernel
def ci_fuse(x, P, w, x_out, P_out):
    """Fuse k estimates ``x`` (k, 6), ``P`` (k, 6, 6) of one object by CI with optimal weights.

    Writes the fused state and covariance into ``x_out`` (6,), ``P_out`` (6, 6). ``w`` (k,) holds the
    starting weights on input (a warm start, e.g. the previous cycle's weights; if they do not sum to a
    positive number the start is uniform) and the optimal weights on output. Estimates whose covariance is not
    positive definite get weight 0. Returns False if none is usable.
    """
    return _ci_fuse(x, P, w, x_out, P_out, ci_workspace(x.shape[0], x.shape[1]), np.zeros(1, dtype=np.int64))


@kernel
def _ci_fuse(x, P, w, x_out, P_out, ws, steps_out):
    """:func:`ci_fuse` with its workspace ``ws`` (:func:`ci_workspace`); writes the number of Newton steps
    of the weights into ``steps_out[0]`` (0 when fewer than two estimates are usable)."""
    k = x.shape[0]
    n = x.shape[1]
    L = ws[2]
    Iall = ws[14]
    wall = ws[15]
    yv = ws[16]
    use = ws[17]
    n_ok = 0
    steps_out[0] = 0
    for m in range(k):
        if spd_inverse(P[m], Iall[n_ok], L):
            use[n_ok] = m
            wall[n_ok] = w[m] if w[m] > 0.0 else 0.0
            n_ok += 1
    if n_ok == 0:
        return False
    if n_ok == 1:
        m = use[0]
        for c in range(k):
            w[c] = 1.0 if c == m else 0.0
        x_out[:] = x[m]
        P_out[:, :] = P[m]
        return True
    Iu = Iall[:n_ok]
    wu = wall[:n_ok]
    tot = 0.0
    for c in range(n_ok):
        tot += wu[c]
    for c in range(n_ok):
        wu[c] = wu[c] / tot if tot > 0.0 else 1.0 / n_ok
    steps_out[0] = _ci_weights(Iu, wu, CI_TOL, 50, ws)
    # on every exit of _ci_weights, ws[1] holds Y⁻¹ at the returned weights: that is the fused covariance
    Yi = ws[1]
    if not np.isfinite(Yi[0, 0]):
        return False
    for a in range(n):
        for b in range(n):
            P_out[a, b] = Yi[a, b]
    for a in range(n):
        yv[a] = 0.0
    for m in range(k):
        w[m] = 0.0
    for c in range(n_ok):
        m = use[c]
        w[m] = wu[c]
        for a in range(n):
            s = 0.0
            for b in range(n):
                s += Iu[c, a, b] * x[m, b]
            yv[a] += wu[c] * s
    for a in range(n):
        s = 0.0
        for b in range(n):
            s += P_out[a, b] * yv[b]
        x_out[a] = s
    return True


@kernel(parallel=True)
def ci_fuse_groups(offsets, x, P, x_out, P_out, w_out, ok_out, steps_out):
    """Fuse groups of estimates: group g is rows ``offsets[g]:offsets[g + 1]`` of ``x`` (m, 6), ``P`` (m, 6, 6).

    Writes each group's fused state into ``x_out[g]`` (6,), covariance into ``P_out[g]`` (6, 6), the weights
    of its members into ``w_out[offsets[g]:offsets[g + 1]]`` (which holds the starting weights on input, see
    :func:`ci_fuse`), whether it worked into ``ok_out[g]`` and the Newton steps its weights took into
    ``steps_out[g]`` (int64; 0 for a group of one).
    """
    n_groups = offsets.shape[0] - 1
    kmax = 1
    for g in range(n_groups):
        kmax = max(kmax, offsets[g + 1] - offsets[g])
    n_chunks = min(n_groups, 64)
    for c in prange(n_chunks):
        ws = ci_workspace(kmax, x.shape[1])
        for g in range(c * n_groups // n_chunks, (c + 1) * n_groups // n_chunks):
            a = offsets[g]
            b = offsets[g + 1]
            if b - a == 1:
                x_out[g] = x[a]
                P_out[g] = P[a]
                w_out[a] = 1.0
                ok_out[g] = True
                steps_out[g] = 0
            else:
                ok_out[g] = _ci_fuse(x[a:b], P[a:b], w_out[a:b], x_out[g], P_out[g], ws, steps_out[g : g + 1])


@kernel
def keyed_warm_start(offsets, sel, t_ns, src, t_f, w_key, w_by, w_out, key_out):
    """Warm-start weights keyed by the source of each group's newest member (the engine's bookkeeping).

    Group g is rows ``offsets[g]:offsets[g + 1]`` of ``sel`` (local track slots); ``t_ns``, ``src`` the slots'
    times and sources, ``t_f[g]`` the group's newest time; ``w_key``, ``w_by`` (slots, K) the keyed weights
    (column key % K, -1: none). Writes each member's key (the source of its group's first member at ``t_f``)
    into ``key_out`` and, where every member of a group holds a weight under that key, those weights into
    ``w_out`` (other groups keep theirs).
    """
    n_keys = w_key.shape[1]
    for g in range(offsets.shape[0] - 1):
        a = offsets[g]
        b = offsets[g + 1]
        key = -1
        for m in range(a, b):
            if t_ns[sel[m]] == t_f[g]:
                key = src[sel[m]]
                break
        for m in range(a, b):
            key_out[m] = key
        if key < 0:
            continue
        c = key % n_keys
        hit = True
        for m in range(a, b):
            if w_key[sel[m], c] != key:
                hit = False
                break
        if hit:
            for m in range(a, b):
                w_out[m] = w_by[sel[m], c]


@kernel
def store_keyed_weights(sel, key, w, w_key, w_by):
    """Keep weights ``w`` of local track slots ``sel`` under ``key`` (column key % K of ``w_key``, ``w_by``)."""
    n_keys = w_key.shape[1]
    for m in range(sel.shape[0]):
        if key[m] >= 0:
            c = key[m] % n_keys
            w_key[sel[m], c] = key[m]
            w_by[sel[m], c] = w[m]


def covariance_intersection(x: FloatArray, P: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Fuse k estimates ``x`` (k, 6), ``P`` (k, 6, 6) of one object: returns fused ``x``, ``P`` and weights."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    P = np.ascontiguousarray(P, dtype=np.float64)
    k, n = x.shape
    x_out = np.empty(n)
    P_out = np.empty((n, n))
    w = np.full(k, 1.0 / k)
    if not ci_fuse(x, P, w, x_out, P_out):
        raise ValueError("no estimate has a positive definite covariance")
    return x_out, P_out, w
