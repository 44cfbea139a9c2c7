"""The life of a system track after association: its state fused again from its members, its end (dormant,
and reacquirable, if it was ever reported), the expiry of dormant tracks, the merge of duplicates, and the
confirmation (first report) of tentative tracks that are not possible duplicates of a reported one.

Times are int64 nanoseconds (data time). Kernel times are added to ``timings_s["fuse"]`` and
``timings_s["gate"]``.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from triwarn.core.fusion.association import gate_pairs
from triwarn.core.fusion.covariance_intersection import ci_fuse_groups, keyed_warm_start, store_keyed_weights
from triwarn.core.fusion.prediction import NS, EngineStep, MemberGroups, reach_bound, widen
from triwarn.core.fusion.store import in_slots, slots_not_in, sorted_slots
from triwarn.core.tracks import IntArray

#: χ²(3) quantile 0.999 (the position-only gate of the duplicate check)
CHI2_3DOF_0999 = 16.26623619623813


class Lifecycle(EngineStep):
    """The life-cycle steps of the engine (see the module docstring)."""

    def fuse_from_members(self, changed_sys: set[int], deleted_ids: list[int], g: MemberGroups | None = None) -> int:
        """Fuse the system tracks ``changed_sys`` again from their members aligned to one time (``g``, or aligned
        here), by covariance intersection; end those without members (their numbers go into ``deleted_ids``).
        Returns the Newton steps the CI weights took (all groups)."""
        cfg, store, pred, timings_s = self.cfg, self.store, self.pred, self.timings_s
        if not changed_sys:
            return 0
        if g is None:
            g = pred.groups(store, changed_sys)
        lt, st = store.lt, store.st
        for s in slots_not_in(g.requested, g.slots, store.st_n).tolist():
            if st.alive[s]:
                self.end_system(int(s), deleted_ids, reacquirable=True)
            changed_sys.discard(int(s))
        if g.slots.size == 0:
            return 0
        sel, starts = g.sel, g.offsets[:-1]
        x_out = np.empty((g.slots.size, 6))
        P_out = np.empty((g.slots.size, 6, 6))
        w_out = lt.w[sel].copy()
        key = np.empty(sel.size, dtype=np.int64)
        if cfg.ci_warm_by_newest:
            keyed_warm_start(g.offsets, sel, lt.t_ns, lt.src, g.t_f, lt.w_key, lt.w_by, w_out, key)
        ok = np.empty(g.slots.size, dtype=np.bool_)
        steps = np.empty(g.slots.size, dtype=np.int64)
        t_k = time.perf_counter()
        ci_fuse_groups(g.offsets, g.x, g.P, x_out, P_out, w_out, ok, steps)
        timings_s["fuse"] += time.perf_counter() - t_k
        lt.w[sel] = w_out
        if cfg.ci_warm_by_newest:
            store_keyed_weights(sel, key, w_out, lt.w_key, lt.w_by)
        good = g.slots[ok]
        st.x[good] = x_out[ok]
        st.P[good] = P_out[ok]
        st.t_ns[good] = g.t_f[ok]
        bits = np.left_shift(np.int64(1), lt.src[sel])
        st.mask[g.slots] = np.bitwise_or.reduceat(bits, starts)
        st.phase[g.slots] = np.maximum.reduceat(lt.phase[sel], starts)
        st.fresh_ns[g.slots] = np.maximum.reduceat(lt.fresh_ns[sel], starts)
        st.hit_ns[g.slots] = np.maximum.reduceat(lt.hit_ns[sel], starts)
        known = lt.beta[sel] > 0.0
        n_known = np.add.reduceat(known.astype(np.float64), starts)
        st.beta[g.slots] = np.where(n_known > 0, np.add.reduceat(lt.beta[sel], starts) / np.maximum(n_known, 1), 0.0)
        return int(steps.sum())

    def end_system(self, s: int, deleted_ids: list[int], reacquirable: bool) -> None:
        """System track slot ``s`` ends: reported in ``deleted_ids`` (and kept dormant if ``reacquirable`` and
        ``cfg.reacquire_s`` > 0) if it was ever reported; a tentative one ends silently."""
        cfg, store = self.cfg, self.store
        st = store.st
        st.alive[s] = False
        store.tentative.discard(s)
        if st.published[s]:
            deleted_ids.append(int(st.id[s]))
            if reacquirable and cfg.reacquire_s > 0:
                st.dormant[s] = True
                st.dormant_since_ns[s] = store.now_ns if store.now_ns is not None else 0
                return
        store.st_free.append(s)

    def expire_dormant(self, now_ns: int) -> None:
        """Dormant system tracks past the reacquisition window (``cfg.reacquire_s`` before ``now_ns``) end for
        good: their slots are freed (their numbers are never given out again)."""
        cfg, store = self.cfg, self.store
        if cfg.reacquire_s > 0:
            st = store.st
            limit = now_ns - round(cfg.reacquire_s * 1e9)
            for s in np.nonzero(st.dormant[: store.st_n] & (st.dormant_since_ns[: store.st_n] < limit))[0].tolist():
                st.dormant[s] = False
                store.st_free.append(int(s))

    def merge_duplicates(self, changed_sys: set[int], deleted_ids: list[int]) -> int:
        """Merge changed system tracks into others without a common source when their states gate. Returns the
        Newton steps of the CI weights of the tracks fused again."""
        cfg, store, pred, timings_s = self.cfg, self.store, self.pred, self.timings_s
        if not changed_sys or cfg.merge_chi2 <= 0:
            return 0
        st = store.st
        a = sorted_slots(changed_sys)
        a = a[st.alive[a]]
        live = np.nonzero(st.alive[: store.st_n])[0]
        if a.size == 0 or live.size < 2:
            return 0
        # a track holding every source that any track holds cannot be disjoint from another: skip those
        all_bits = np.bitwise_or.reduce(st.mask[live])
        a = a[st.mask[a] != all_bits]
        live = live[st.mask[live] != all_bits]
        if a.size == 0 or live.size < 2:
            return 0
        t_c = int(st.t_ns[a].max())
        xa, Pa = pred.systems(store, a, t_c)
        xb, Pb = pred.systems(store, live, t_c)
        t_k = time.perf_counter()
        rows, cols, d2 = gate_pairs(
            xa, Pa, np.ascontiguousarray(st.mask[a]), xb, Pb, np.ascontiguousarray(st.mask[live]),
            cfg.merge_chi2, cfg.min_cell_m, False,
        )  # fmt: skip
        timings_s["gate"] += time.perf_counter() - t_k
        if rows.size == 0:
            return 0
        lt = store.lt
        done: set[int] = set()
        merged_any: set[int] = set()
        for k in np.argsort(d2, kind="stable").tolist():
            s1 = int(a[rows[k]])
            s2 = int(live[cols[k]])
            if s1 == s2 or s1 in done or s2 in done:
                continue
            if int(st.mask[s1]) & int(st.mask[s2]):
                continue
            # the reported one stays (a tentative track is folded in unseen); of two, the older number
            keep, gone = (s1, s2) if (not st.published[s1], st.id[s1]) < (not st.published[s2], st.id[s2]) else (s2, s1)
            n = store.lt_n
            lt.sys[:n][lt.alive[:n] & (lt.sys[:n] == gone)] = keep
            store.refs_dirty.add(keep)
            st.mask[keep] |= st.mask[gone]
            st.objects_max[keep] = max(int(st.objects_max[keep]), int(st.objects_max[gone]))
            done.update((s1, s2))
            merged_any.add(keep)
            changed_sys.add(keep)
            self.end_system(gone, deleted_ids, reacquirable=False)
            changed_sys.discard(gone)
        if merged_any:
            return self.fuse_from_members(merged_any, deleted_ids)
        return 0

    def confirm_tentative(self, changed_sys: set[int]) -> None:
        """Report the tentative system tracks that are not possible duplicates; the ones confirmed go into
        ``changed_sys``.

        A tentative track fed by a single source is held while, against some reported system track (both
        aligned to one time, its covariance widened by the manoeuvre allowance of
        ``FusionConfig.duplicate_manoeuvre_s``), the 6-D gate passes, or the position-only gate (χ²₃ 0.999)
        passes and a sensor has updated it for less than ``duplicate_manoeuvre_s`` since its system track
        began (a young track near a reported one: a node's re-initiation, or a false track on the same
        object). Tracks of two or more sources are reported at once.

        Also sets each reported track's object count (:meth:`_set_objects`): 1 + its held tentative neighbours fed
        by one of its own sources, or what a member's node reports (``LocalTrack.estimated_objects``) less the
        other reported tracks within ``FusionConfig.group_near_m``, whichever is more; and every live track's
        ``objects_max``, the most it ever stood for.
        """
        cfg, store = self.cfg, self.store
        st = store.st
        counts: dict[int, int] = {}
        tent = np.asarray(sorted(store.tentative), dtype=np.int64)
        hold = np.zeros(tent.size, dtype=np.bool_)
        if tent.size and cfg.duplicate_manoeuvre_s > 0:
            masks = st.mask[tent]
            ask = np.nonzero((masks & (masks - 1)) == 0)[0]
            pub = np.nonzero(st.alive[: store.st_n] & st.published[: store.st_n])[0]
            if ask.size and pub.size:
                hold[ask], near = self.possible_duplicates(tent[ask], pub)
                # a held track whose one source also feeds the reported track it may duplicate, and still
                # updates its own track there: that source holds two objects, which the picture shows as one
                # track (an unresolved group). A source whose old track coasts has re-initiated the object.
                lt, n = store.lt, store.lt_n
                for i, p in zip(ask.tolist(), near.tolist(), strict=True):
                    if p < 0 or not hold[i] or not int(st.mask[tent[i]]) & int(st.mask[p]):
                        continue
                    src = int(st.mask[tent[i]]).bit_length() - 1
                    mine = np.nonzero(lt.alive[:n] & (lt.sys[:n] == p) & (lt.src[:n] == src))[0]
                    if mine.size and int(lt.fresh_ns[mine[0]]) == int(lt.t_ns[mine[0]]):
                        counts[p] = counts.get(p, 1) + 1
        # a member whose node reports an unresolved group (LocalTrack.estimated_objects): that many, less the
        # other reported system tracks within group_near_m of it (another nation may have resolved one of them
        # already: it has its own number)
        lt, n = store.lt, store.lt_n
        grouped_members = np.nonzero(lt.alive[:n] & (lt.objects[:n] > 1) & (lt.sys[:n] >= 0))[0]
        if grouped_members.size:
            shown = np.nonzero(st.alive[: store.st_n] & st.published[: store.st_n])[0]
            for m in grouped_members.tolist():
                p = int(lt.sys[m])
                if not st.alive[p]:
                    continue
                near = np.linalg.norm(st.x[shown, :3] - st.x[p, :3], axis=1) <= cfg.group_near_m
                c = int(lt.objects[m]) - int(np.count_nonzero(near & (shown != p)))
                if c > 1:
                    st.objects_max[p] = max(int(st.objects_max[p]), c)
                    if st.published[p]:
                        counts[p] = max(counts.get(p, 1), c)
        self._set_objects(counts, changed_sys)
        for s in tent[~hold].tolist():
            st.published[s] = True
            store.tentative.discard(s)
            changed_sys.add(s)

    def _set_objects(self, counts: dict[int, int], changed_sys: set[int]) -> None:
        """Set the object count of the reported tracks in ``counts`` (slot -> count) and reset the others that
        had one above 1; the tracks whose count changed go into ``changed_sys``."""
        st, store = self.store.st, self.store
        for s in store.grouped - counts.keys():
            st.objects[s] = 1
            if st.alive[s]:
                changed_sys.add(s)
        for s, c in counts.items():
            st.objects_max[s] = max(int(st.objects_max[s]), c)
            if int(st.objects[s]) != c:
                st.objects[s] = c
                changed_sys.add(s)
        store.grouped = set(counts)

    def possible_duplicates(self, a: IntArray, pub: IntArray) -> tuple[npt.NDArray[np.bool_], IntArray]:
        """Which of the tentative system tracks ``a`` (ascending slots) may duplicate a reported one (``pub``),
        and for each the slot of the nearest (smallest 6-D distance) reported track it gates with (-1: none)."""
        cfg, store, pred, timings_s = self.cfg, self.store, self.pred, self.timings_s
        st, lt = store.st, store.lt
        t_c = int(st.t_ns[a].max())
        xa, Pa = pred.systems(store, a, t_c)
        # the newest sensor update (not COASTING) of each tentative track's members
        n = store.lt_n
        sel = np.nonzero(lt.alive[:n] & in_slots(lt.sys[:n], a, store.st_n))[0]
        fresh = np.full(a.size, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(fresh, np.searchsorted(a, lt.sys[sel]), lt.fresh_ns[sel])
        fresh = np.where(fresh > np.iinfo(np.int64).min, fresh, t_c)
        young = (fresh - st.born_ns[a]).astype(np.float64) * NS < cfg.duplicate_manoeuvre_s
        # manoeuvre allowance over tau = duplicate_manoeuvre_s plus the time since the last sensor update (a
        # young track: since its system track began; its velocity is not established)
        since = np.where(young, np.minimum(st.born_ns[a], fresh), fresh)
        widen(cfg, Pa, cfg.duplicate_manoeuvre_s + np.maximum(t_c - since, 0).astype(np.float64) * NS)
        # candidate pairs by a coarse distance bound before predicting the reported tracks
        reach = np.sqrt(cfg.gate_chi2 * (Pa[:, 0, 0] + Pa[:, 1, 1] + Pa[:, 2, 2]))
        bound = reach_bound(cfg, store, pub, t_c)
        rb = st.x[pub, :3]
        step = max(1, 2_000_000 // max(pub.size, 1))  # rows per chunk: the distance matrix stays small
        ia_parts, jb_parts = [], []
        for r0 in range(0, a.size, step):
            dist = np.linalg.norm(rb[None, :, :] - xa[r0 : r0 + step, None, :3], axis=2)
            i_c, j_c = np.nonzero(dist <= bound[None, :] + reach[r0 : r0 + step, None])
            ia_parts.append(i_c + r0)
            jb_parts.append(j_c)
        ia, jb = np.concatenate(ia_parts), np.concatenate(jb_parts)
        out = np.zeros(a.size, dtype=np.bool_)
        nearest = np.full(a.size, -1, dtype=np.int64)
        if ia.size == 0:
            return out, nearest
        near, jb = np.unique(jb, return_inverse=True)
        xb, Pb = pred.systems(store, pub[near], t_c)
        t_k = time.perf_counter()
        d = xa[ia] - xb[jb]
        S = Pa[ia] + Pb[jb]
        with np.errstate(all="ignore"):
            try:
                d2 = np.einsum("ki,ki->k", d, np.linalg.solve(S, d[:, :, None])[:, :, 0])
                d2_pos = np.einsum("ki,ki->k", d[:, :3], np.linalg.solve(S[:, :3, :3], d[:, :3, None])[:, :, 0])
            except np.linalg.LinAlgError:  # a singular sum: compare positions only
                d2 = d2_pos = np.sum(d[:, :3] ** 2, axis=1) / np.maximum(np.trace(S[:, :3, :3], axis1=1, axis2=2), 1.0)
        timings_s["gate"] += time.perf_counter() - t_k
        hit = (d2 <= cfg.gate_chi2) | (young[ia] & (d2_pos <= CHI2_3DOF_0999))
        out[ia[hit]] = True
        # the nearest gating reported track of each held one (pairs in ascending distance; the first wins)
        order = np.argsort(np.where(hit, d2, np.inf), kind="stable")
        order = order[hit[order]]
        rev = order[::-1]
        nearest[ia[rev]] = pub[near[jb[rev]]]
        return out, nearest
