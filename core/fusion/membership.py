"""Which system track each local track of a batch belongs to: the stability check of the members it has, the
association of the free ones (gating against system tracks without a track of the same source, then global
assignment), the hand-over of a number that just went dormant to a new local track, and the reacquisition of a
number that ended in boost by the new track's path back to it.

Gate and assignment kernel times are added to ``timings_s["gate"]`` and ``timings_s["assign"]``.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import numpy.typing as npt

from triwarn.core.fusion.association import assign_sparse, gate_pairs, mahalanobis2, min_d2_to_others
from triwarn.core.fusion.prediction import NS, EngineStep, MemberGroups, reach_bound
from triwarn.core.fusion.store import in_slots
from triwarn.core.tracks import FloatArray, IntArray, Phase


class Membership(EngineStep):
    """The membership steps of the engine (see the module docstring)."""

    def associate(self, src: int, upd: IntArray, changed_sys: set[int], groups: MemberGroups) -> bool:
        """Stability check and association of the batch's updated local tracks ``upd`` (slots of source ``src``);
        the system tracks they join go into ``changed_sys``.

        Returns True if any system track's membership changed.
        """
        cfg, store, pred, timings_s = self.cfg, self.store, self.pred, self.timings_s
        lt, st = store.lt, store.st
        bit = np.int64(1) << np.int64(src)
        # stability: a local track stays with its system track unless it is inconsistent (beyond the wider
        # release gate) with every other member, aligned to the same time (classic track-to-track test)
        changed = False
        # released tracks that the other members, consistent among themselves, outvoted in the last
        # cfg.outvoted_updates updates of their own (a drift, not one cycle of trackers seeing a burnout at different
        # times): local slot -> the system track slot it left. Such a track does not rejoin that system track in
        # this batch: that track's state still holds the released track's contribution (fused again only after
        # this association), so it would gate at once and keep the number on the drifting track
        outvoted: dict[int, int] = {}
        if groups.sel.size:
            flag = np.zeros(groups.sel.size, dtype=np.bool_)
            flag[in_slots(groups.sel, upd, store.lt_n)] = True
            d2 = np.full(groups.sel.size, np.inf)
            t_k = time.perf_counter()
            min_d2_to_others(groups.offsets, groups.x, groups.P, flag, d2)
            timings_s["gate"] += time.perf_counter() - t_k
            bad = flag & (groups.size_of_member > 1) & ~(d2 <= cfg.release_chi2)
            lt.outvoted[groups.sel[flag & ~bad]] = 0
            for i in np.nonzero(bad)[0].tolist():
                s = int(groups.sel[i])
                if self.outvoted(groups, i):  # counted per system track: in another one it starts again
                    tid = store.st.id[lt.sys[s]]
                    lt.outvoted[s] = lt.outvoted[s] + 1 if lt.outvoted_of[s] == tid else 1
                    lt.outvoted_of[s] = tid
                else:
                    lt.outvoted[s] = 0
                if lt.outvoted[s] >= cfg.outvoted_updates:
                    outvoted[s] = int(lt.sys[s])
                store.detach(s)
                changed = True
        free = np.nonzero(lt.sys[upd] < 0)[0]
        if free.size == 0:
            return changed
        # the free tracks aligned to one time, and the candidates: live system tracks without a track of this
        # source (masks are kept exact), predicted to the same time
        t_c = int(lt.t_ns[upd[free]].max())
        dt = (t_c - lt.t_ns[upd[free]]).astype(np.float64) * NS
        xf, Pf = pred.predict(lt.x[upd[free]], lt.P[upd[free]], dt, lt.phase[upd[free]], lt.beta[upd[free]])
        live = np.nonzero(st.alive[: store.st_n])[0]
        cand = live[(st.mask[live] & bit) == 0]
        dormant = np.nonzero(st.dormant[: store.st_n])[0]
        if dormant.size:
            cand = np.concatenate([cand, dormant])
        col_of_row = np.full(free.size, -1, dtype=np.int64)
        if cand.size:
            xs, Ps = pred.systems(store, cand, t_c)
            if dormant.size:
                sigma2 = Ps[:, 0, 0] + Ps[:, 1, 1] + Ps[:, 2, 2]
                usable = ~st.dormant[cand] | (sigma2 <= cfg.reacquire_max_sigma_m**2)
                if not cfg.reacquire_boost:  # a track that ended in boost: its prediction is no path
                    usable &= ~(st.dormant[cand] & (st.phase[cand] == int(Phase.BOOST)))
                if not usable.all():
                    cand, xs, Ps = cand[usable], np.ascontiguousarray(xs[usable]), np.ascontiguousarray(Ps[usable])
        if cand.size:
            mask_a = np.full(free.size, bit, dtype=np.int64)
            mask_b = st.mask[cand]
            t_k = time.perf_counter()
            rows, cols, d2 = gate_pairs(
                xf,
                Pf,
                mask_a,
                xs,
                Ps,
                np.ascontiguousarray(mask_b),
                cfg.gate_chi2,
                cfg.min_cell_m,
                False,
            )
            timings_s["gate"] += time.perf_counter() - t_k
            if rows.size and st.dormant[cand[cols]].any():
                keep = self.reacquisition_clear(free.size, rows, cols, d2, cand, xs, Ps, t_c, xf, Pf)
                rows, cols, d2 = rows[keep], cols[keep], d2[keep]
            if rows.size and outvoted:  # after reacquisition_clear: its gate on the track left counts there
                back = np.array([outvoted.get(s, -1) for s in upd[free[rows]].tolist()], dtype=np.int64)
                keep = back != cand[cols]
                rows, cols, d2 = rows[keep], cols[keep], d2[keep]
            if rows.size:
                t_k = time.perf_counter()
                col_of_row = assign_sparse(free.size, cand.size, rows, cols, d2, cfg.gate_chi2)
                timings_s["assign"] += time.perf_counter() - t_k
        taken = cand[col_of_row[col_of_row >= 0]] if cand.size else np.empty(0, dtype=np.int64)
        handover = self.hand_over(xf, Pf, col_of_row < 0, t_c, bit, taken)
        lost = (col_of_row < 0) & (handover < 0)
        if lost.any():
            handed = np.concatenate([taken, handover[handover >= 0]])
            path = self.boost_path(xf, Pf, lt.phase[upd[free]], lt.beta[upd[free]], lost, t_c, handed)
            handover = np.where(path >= 0, path, handover)
        for r, s in enumerate(upd[free].tolist()):
            c = int(col_of_row[r])
            h = int(handover[r])
            sys_slot = int(cand[c]) if c >= 0 else (h if h >= 0 else store.new_system())
            if store.st.dormant[sys_slot]:  # the same object reacquired: back under its old number
                store.st.dormant[sys_slot] = False
                store.st.alive[sys_slot] = True
                store.st.mask[sys_slot] = 0
            store.lt.sys[s] = sys_slot
            store.refs_dirty.add(sys_slot)
            store.st.mask[sys_slot] |= bit
            changed_sys.add(sys_slot)
        return True

    def outvoted(self, groups: MemberGroups, i: int) -> bool:
        """Whether member row ``i`` of ``groups`` (beyond the release gate from every other member of its group)
        is the odd one out: two other members of its group agree (aligned d² within ``release_chi2``). Without
        such a majority (two members, or all of them apart: e.g. trackers that see a burnout at different
        cycles) nobody is known to be wrong, and the released track may rejoin at once."""
        g = int(np.searchsorted(groups.offsets, i, side="right")) - 1
        a, b = int(groups.offsets[g]), int(groups.offsets[g + 1])
        others = [k for k in range(a, b) if k != i]
        for j, k in itertools.combinations(others, 2):
            if mahalanobis2(groups.x[j], groups.P[j], groups.x[k], groups.P[k]) <= self.cfg.release_chi2:
                return True
        return False

    def reacquisition_clear(
        self,
        n_rows: int,
        rows: IntArray,
        cols: IntArray,
        d2: FloatArray,
        cand: IntArray,
        xs: FloatArray,
        Ps: FloatArray,
        t_c: int,
        xf: FloatArray,
        Pf: FloatArray,
    ) -> npt.NDArray[np.bool_]:
        """Which gated pairs (``rows``: free local tracks 0..``n_rows``-1, states ``xf``, ``Pf`` at ``t_c``,
        ``cols``: candidates ``cand`` whose predictions to ``t_c`` are ``xs``, ``Ps``) may go to the assignment:
        every pair with a live system track, and a pair with a dormant one (a reacquisition: the dormant number
        comes back) only when nothing else could be that object. When in doubt, a new number (issue 14: a
        number never passes to another missile):

        - the local track gates no live system track (then it is, or may be, that object);
        - it fits that dormant track clearly better than any other dormant one: d² smaller by at least
          ``reacquire_margin_chi2`` (a likelihood ratio of 100 by default), else it fits none of them;
        - no other free local track of the batch gates that dormant track;
        - the dormant track's prediction gates no live system track (of any source): another object sits where
          it is predicted, e.g. the next missile of a ripple-fired salvo on the same path seconds behind;
        - nor the prediction of another dormant track (twins: the numbers of a ripple-fired salvo that ended
          together, each prediction wide enough to hold the next missile; a new track fitting one of them best
          may be the other's missile, whose own number may have ended too long ago to be a candidate), unless
          the new track is well inside its number's side of the way between the two predicted positions: its
          Mahalanobis distance to that prediction's position below ``twin_split`` times the distance between
          the two predicted positions, both in the pair's position metric (the new track's position covariance
          plus that prediction's; with ``twin_split`` ≤ 0.5 it is then nearer its number's predicted position
          than the twin's, by the triangle inequality; positions only: a young track's velocity is poor, and
          which prediction it is at is a question of where it is).
          The case: two missiles that ended hundreds of kilometres apart, whose
          predictions over an hour's gap gate each other, while the new track sits on one of them.

        The gate itself is the 6-D one on the dormant track's ballistic prediction (position and velocity with
        the prediction's covariance, drag by the track's β, no thrust after burnout): the new track must be on
        the same arc, at the same point of it, as the missile whose number it takes.
        """
        cfg, store = self.cfg, self.store
        st = store.st
        dorm = st.dormant[cand[cols]]
        keep = np.ones(rows.size, dtype=np.bool_)
        gates_live = np.zeros(n_rows, dtype=np.bool_)
        gates_live[rows[~dorm]] = True
        keep &= ~(dorm & gates_live[rows])
        per_col = np.bincount(cols[dorm], minlength=cand.size)
        keep &= ~(dorm & (per_col[cols] > 1))
        for r in np.unique(rows[dorm & keep]).tolist():
            mine = np.nonzero(dorm & (rows == r) & keep)[0]
            if mine.size < 2:
                continue
            order = mine[np.argsort(d2[mine])]
            keep[order[1:]] = False
            if d2[order[1]] - d2[order[0]] < cfg.reacquire_margin_chi2:
                keep[order[0]] = False
        left = np.nonzero(dorm & keep)[0]
        if left.size:
            crowded = self.crowded(np.ascontiguousarray(xs[cols[left]]), np.ascontiguousarray(Ps[cols[left]]), t_c)
            keep[left[crowded]] = False
        left = np.nonzero(dorm & keep)[0]
        if left.size:
            # twins: two dormant tracks whose predictions gate each other; a new track tells them apart only
            # from well inside its number's side of the way between them (FusionConfig.twin_split)
            dc = np.nonzero(st.dormant[cand])[0]
            t_k = time.perf_counter()
            ia, ib, _ = gate_pairs(
                np.ascontiguousarray(xs[dc]), np.ascontiguousarray(Ps[dc]), np.zeros(dc.size, dtype=np.int64),
                np.ascontiguousarray(xs[dc]), np.ascontiguousarray(Ps[dc]), np.zeros(dc.size, dtype=np.int64),
                cfg.gate_chi2, cfg.min_cell_m, True,
            )  # fmt: skip
            self.timings_s["gate"] += time.perf_counter() - t_k
            twins: dict[int, list[int]] = {}  # candidate position -> its twins' positions
            for a, b in zip(dc[ia].tolist(), dc[ib].tolist(), strict=True):
                twins.setdefault(a, []).append(b)
                twins.setdefault(b, []).append(a)
            for i in left.tolist():
                c, r = int(cols[i]), int(rows[i])
                if c not in twins:
                    continue
                # where the new track is between the predicted positions, in the pair's position metric (its
                # position covariance plus the prediction's; +inf where not definite: in doubt)
                pf, ps = np.ascontiguousarray(Pf[r, :3, :3]), np.ascontiguousarray(Ps[c, :3, :3])
                at = mahalanobis2(xf[r, :3], pf, xs[c, :3], ps)
                apart = min(mahalanobis2(xs[o, :3], pf, xs[c, :3], ps) for o in twins[c])
                if not at < cfg.twin_split**2 * apart:
                    keep[i] = False
        return keep

    def crowded(self, xd: FloatArray, Pd: FloatArray, t_c: int) -> npt.NDArray[np.bool_]:
        """(k,) bool: which predictions ``xd``, ``Pd`` (at ``t_c``) gate some live system track (any source)
        predicted to ``t_c``; only live tracks within a coarse distance bound are predicted."""
        cfg, store, pred, timings_s = self.cfg, self.store, self.pred, self.timings_s
        st = store.st
        out = np.zeros(xd.shape[0], dtype=np.bool_)
        live = np.nonzero(st.alive[: store.st_n])[0]
        if live.size:
            bound = reach_bound(cfg, store, live, t_c)
            reach = np.sqrt(cfg.gate_chi2 * np.trace(Pd[:, :3, :3], axis1=1, axis2=2))
            dist = np.linalg.norm(st.x[live, None, :3] - xd[None, :, :3], axis=2)  # (live, k)
            live = live[np.any(dist <= bound[:, None] + reach[None, :], axis=1)]
        if live.size:
            xl, Pl = pred.systems(store, live, t_c)
            t_k = time.perf_counter()
            hit, _, _ = gate_pairs(
                xd, Pd, np.zeros(xd.shape[0], dtype=np.int64),
                xl, Pl, np.zeros(live.size, dtype=np.int64), cfg.gate_chi2, cfg.min_cell_m, False,
            )  # fmt: skip
            timings_s["gate"] += time.perf_counter() - t_k
            out[hit] = True
        return out

    def hand_over(
        self,
        xf: FloatArray,
        Pf: FloatArray,
        new: npt.NDArray[np.bool_],
        t_c: int,
        bit: np.int64,
        taken: IntArray,
    ) -> IntArray:
        """For each free local track (states ``xf``, ``Pf`` at ``t_c``) that would start a new system track
        (``new``): the slot of a system track that went dormant within ``handover_s`` (within
        ``handover_lone_s`` if no other system track is within ``handover_lone_m`` of it), and is not
        reacquired in this batch (``taken``), whose number it takes over, or -1.

        A hand-over needs a 6-D gate (``gate_chi2``) against the dormant track's prediction widened by the
        manoeuvre allowance (:meth:`.prediction.Predictor.widened`), and no ambiguity: the local track fits that
        dormant track only, no other new local track fits it, and the local track fits no live system track under
        the same allowance (two objects close together in a salvo: no number goes to the wrong one), and the
        dormant track's widened prediction gates no live system track (:meth:`crowded`).
        """
        cfg, store, pred, timings_s = self.cfg, self.store, self.pred, self.timings_s
        st = store.st
        out = np.full(new.size, -1, dtype=np.int64)
        n = store.st_n
        if cfg.handover_s <= 0 or not new.any() or not st.dormant[:n].any():
            return out
        now_ns = store.now_ns if store.now_ns is not None else 0
        window_s = max(cfg.handover_s, cfg.handover_lone_s)
        recent = np.nonzero(st.dormant[:n] & (st.dormant_since_ns[:n] >= now_ns - round(window_s * 1e9)))[0]
        recent = recent[~np.isin(recent, taken)]
        late = recent[st.dormant_since_ns[recent] < now_ns - round(cfg.handover_s * 1e9)]
        if late.size:  # beyond handover_s: lone dormant tracks only (handover_lone_s)
            recent = recent[~np.isin(recent, late[self._neighboured(late)])]
        if recent.size == 0:
            return out
        rows_new = np.nonzero(new)[0]
        xa, Pa = np.ascontiguousarray(xf[rows_new]), np.ascontiguousarray(Pf[rows_new])
        mask_a = np.full(rows_new.size, bit, dtype=np.int64)
        xd, Pd = pred.widened(store, recent, t_c)
        t_k = time.perf_counter()
        rows, cols, _ = gate_pairs(
            xa, Pa, mask_a, xd, Pd, np.zeros(recent.size, dtype=np.int64), cfg.gate_chi2, cfg.min_cell_m, False
        )
        timings_s["gate"] += time.perf_counter() - t_k
        if rows.size == 0:
            return out
        # one dormant track per local track, one local track per dormant track
        per_row = np.bincount(rows, minlength=rows_new.size)
        per_col = np.bincount(cols, minlength=recent.size)
        one = (per_row[rows] == 1) & (per_col[cols] == 1)
        rows, cols = rows[one], cols[one]
        if rows.size == 0:
            return out
        # and the local track fits no live system track (any source) under the same allowance; only live tracks
        # within a coarse distance bound are predicted (the gate implies |dr| <= sqrt(gamma tr S_rr), and
        # sqrt(a + b) <= sqrt(a) + sqrt(b); 1 km covers the process noise of the prediction)
        live = np.nonzero(st.alive[:n])[0]
        if live.size:
            tau = cfg.duplicate_manoeuvre_s + np.maximum(t_c - st.fresh_ns[live], 0).astype(np.float64) * NS
            bound = reach_bound(cfg, store, live, t_c, 3.0 * cfg.duplicate_accel_m_s2**2 * tau**4 / 4.0)
            reach = np.sqrt(cfg.gate_chi2 * np.trace(Pa[rows, :3, :3], axis1=1, axis2=2))
            dist = np.linalg.norm(st.x[live, None, :3] - xa[None, rows, :3], axis=2)  # (live, rows)
            live = live[np.any(dist <= bound[:, None] + reach[None, :], axis=1)]
        if live.size:
            xl, Pl = pred.widened(store, live, t_c)
            t_k = time.perf_counter()
            hit_rows, _, _ = gate_pairs(
                np.ascontiguousarray(xa[rows]), np.ascontiguousarray(Pa[rows]), np.zeros(rows.size, dtype=np.int64),
                xl, Pl, np.zeros(live.size, dtype=np.int64), cfg.gate_chi2, cfg.min_cell_m, False,
            )  # fmt: skip
            timings_s["gate"] += time.perf_counter() - t_k
            keep = np.ones(rows.size, dtype=np.bool_)
            keep[hit_rows] = False
            rows, cols = rows[keep], cols[keep]
        # and no live system track sits where the dormant one is predicted (another missile there)
        if rows.size:
            keep = ~self.crowded(np.ascontiguousarray(xd[cols]), np.ascontiguousarray(Pd[cols]), t_c)
            rows, cols = rows[keep], cols[keep]
        out[rows_new[rows]] = recent[cols]
        return out

    def boost_path(
        self,
        xf: FloatArray,
        Pf: FloatArray,
        phase: IntArray,
        beta: FloatArray,
        new: npt.NDArray[np.bool_],
        t_c: int,
        taken: IntArray,
    ) -> IntArray:
        """For each free local track (states ``xf``, ``Pf`` at ``t_c``, flight ``phase``, ballistic coefficient
        ``beta``) that would start a new system track (``new``): the slot of a system track that ended in BOOST
        within ``boost_path_s`` and is not taken in this batch (``taken``), whose number it takes back, or -1.

        The test runs backwards, where the physics is known: the new track (after burnout, not in BOOST) coasted
        back ballistically to the dormant track's last time must pass its last position, d² = Δrᵀ S⁻¹ Δr within
        ``boost_path_chi2`` with S the two position covariances plus ``boost_path_pos_m``² per axis. (Forwards,
        the dormant track's prediction knows neither the thrust left nor the burnout: that is why such a track
        is not reacquired, ``reacquire_boost``.) Not in a salvo: no other system track (live or dormant) born
        within ``boost_path_salvo_s`` of it is within ``handover_lone_m`` of its last state (in a ripple an
        infrared track may have held several missiles in turn, and its number would come back on another one).
        When in doubt, a new number: the new track passes that dormant track only, no other new track of the
        batch passes it, and no live system track after burnout passes it (that missile may hold another
        number already)."""
        cfg, store = self.cfg, self.store
        st = store.st
        out = np.full(new.size, -1, dtype=np.int64)
        n = store.st_n
        if cfg.boost_path_s <= 0 or not new.any() or not st.dormant[:n].any():
            return out
        now_ns = store.now_ns if store.now_ns is not None else t_c
        dorm = np.nonzero(
            st.dormant[:n]
            & (st.phase[:n] == int(Phase.BOOST))
            & (st.dormant_since_ns[:n] >= now_ns - round(cfg.boost_path_s * 1e9))
            & (st.t_ns[:n] <= t_c)
        )[0]
        dorm = dorm[~np.isin(dorm, taken) & (st.objects_max[dorm] <= 1)]  # never an unresolved group
        rows = np.nonzero(new & (phase != int(Phase.BOOST)))[0]
        if dorm.size and cfg.boost_path_salvo_s > 0:  # no salvo: no other track born that close in time and space
            dorm = dorm[~self._neighboured(dorm, born_within_s=cfg.boost_path_salvo_s)]
        if not dorm.size or not rows.size:
            return out
        t_rows = np.full(rows.size, t_c, dtype=np.int64)
        passes = self._path_passes(xf[rows], Pf[rows], phase[rows], beta[rows], t_rows, dorm)  # (rows, dorm)
        if not passes.any():
            return out
        per_row = passes.sum(axis=1)
        per_dorm = passes.sum(axis=0)
        r_idx, d_idx = np.nonzero(passes & (per_row[:, None] == 1) & (per_dorm[None, :] == 1))
        if not r_idx.size:
            return out
        # no live system track after burnout passes the dormant track: its missile may hold a number already
        live = np.nonzero(st.alive[:n] & (st.phase[:n] != int(Phase.BOOST)))[0]
        if live.size:
            held = self._path_passes(
                st.x[live], st.P[live], st.phase[live], st.beta[live], st.t_ns[live], dorm[d_idx]
            ).any(axis=0)
            r_idx, d_idx = r_idx[~held], d_idx[~held]
        out[rows[r_idx]] = dorm[d_idx]
        return out

    def _neighboured(self, slots: IntArray, born_within_s: float | None = None) -> npt.NDArray[np.bool_]:
        """(k,) bool: which system tracks ``slots`` have another system track, live or dormant, within
        ``handover_lone_m`` of their last state (and, with ``born_within_s``, born within that many seconds of
        them): the lone hand-over's and the boost path's test of a crowd."""
        st, n = self.store.st, self.store.st_n
        others = np.nonzero(st.alive[:n] | st.dormant[:n])[0]
        near = np.linalg.norm(st.x[slots, None, :3] - st.x[None, others, :3], axis=2) < self.cfg.handover_lone_m
        if born_within_s is not None:
            near &= np.abs(st.born_ns[slots, None] - st.born_ns[None, others]) <= round(born_within_s * 1e9)
        return near.sum(axis=1) > 1  # each slot is one of the others

    def _path_passes(
        self, x: FloatArray, P: FloatArray, phase: IntArray, beta: FloatArray, t_ns: IntArray, dorm: IntArray
    ) -> npt.NDArray[np.bool_]:
        """(k, d) bool: which states ``x`` (k, 6), ``P`` at times ``t_ns`` (k,), coasted to the last time of each
        dormant track ``dorm``, pass its last position (:meth:`boost_path`). Pairs farther apart than the
        distance flown in between at the state's speed (× 1.5) plus 100 km are not coasted."""
        cfg, st = self.cfg, self.store.st
        out = np.zeros((x.shape[0], dorm.size), dtype=np.bool_)
        dt = (st.t_ns[None, dorm] - t_ns[:, None]).astype(np.float64) * NS  # (k, d); < 0: backwards
        speed = np.linalg.norm(x[:, 3:6], axis=1)
        dist = np.linalg.norm(x[:, None, :3] - st.x[None, dorm, :3], axis=2)
        ia, ib = np.nonzero(dist <= speed[:, None] * np.abs(dt) * 1.5 + 100e3)
        if not ia.size:
            return out
        xb, Pb = self.pred.predict(x[ia], P[ia], dt[ia, ib], phase[ia], beta[ia])
        dr = xb[:, :3] - st.x[dorm[ib], :3]
        S = Pb[:, :3, :3] + st.P[dorm[ib], :3, :3] + np.eye(3)[None] * cfg.boost_path_pos_m**2
        d2 = np.einsum("ki,ki->k", dr, np.linalg.solve(S, dr[:, :, None])[:, :, 0])
        out[ia, ib] = d2 <= cfg.boost_path_chi2
        return out
