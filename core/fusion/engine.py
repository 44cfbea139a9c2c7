"""The fusion engine: local tracks of several nations in, one picture of system tracks out.

The service calls :meth:`FusionEngine.ingest` with each validated :class:`LocalTrackBatch` (one node's current
tracks at one update cycle). The engine

1. keeps the latest state of every local track (key: nation, node, local track number), dropping states
   older than the late window (counted in ``late_dropped``) or older than the state already held; a held
   number whose new state is far beyond its own prediction (``FusionConfig.renumbered_chi2``) is another object
   under a reused number (a restarted node): it starts a new local track (counted in ``renumbered``);
2. drops local tracks that their node no longer reports (a newer batch without them, status DELETED, or no
   refresh within ``source_timeout_s``);
3. aligns the batch's tracks to one common time with the ballistic model (:mod:`.align`);
4. keeps each local track with its system track while the chi-square gate against the (aligned) system track
   holds (stability); the others are gated against the system tracks that have no track of the same source
   yet (:mod:`.association`, grid gating, no all-pairs work) and assigned globally (Hungarian/JV on the
   gated components); a local track nothing accepts starts a new system track;
5. fuses every changed system track from its members aligned to the newest member's time by N-way
   covariance intersection with optimal weights (:mod:`.covariance_intersection`);
6. merges duplicates: two system tracks without a common source whose fused states gate together become one,
   keeping the reported one over a tentative one, else the older (smaller) system track number;
7. deletes system tracks that have lost all their members;
8. reports a new system track only once it is not a possible duplicate of a reported one: a track fed by one
   source that gates against a reported track under a manoeuvre allowance (a node's tracker re-initiating an
   object it lost, or a false track next to it) stays tentative, unseen, and is usually merged into the
   reported one when the old local track ends (``FusionConfig.duplicate_manoeuvre_s``).

A new local track that nothing accepts takes over the number of a system track that lost its last source
within ``FusionConfig.handover_s`` (one nation's track of an object ends, another's begins), or within
``handover_lone_s`` when no other system track is within ``handover_lone_m`` of it, if it gates
against that track's prediction under the same manoeuvre allowance, and only if that is unambiguous. A number
that ended in BOOST comes back on a new local track after burnout whose path, coasted back, passes where it
ended, outside salvos and groups and only if unambiguous (``FusionConfig.boost_path_s``).

System track numbers start at 1, never change for a track, and are never reused. The engine only fuses
nations in ``sources`` (releasability): batches of other nations are ignored.

Time: int64 nanoseconds at this interface; differences are taken in integer nanoseconds and only then turned
into float seconds, so absolute times never lose precision. "Now" is the newest track time seen (data time,
not wall clock), so a replay behaves like a live run.

All the work on arrays runs in numba kernels; Python does the per-batch bookkeeping (NumPy on slot arrays:
binary search for a batch's local tracks, boolean slot tables for set operations) and builds the
:class:`SystemTrack` objects of the result.

This module holds the steps' order; the steps live beside it: :mod:`.config` (tuning and result types),
:mod:`.store` (slot storage of local and system tracks), :mod:`.prediction` (stored tracks predicted to one
time, member groups, manoeuvre allowance), :mod:`.membership` (stability, association, hand-over) and
:mod:`.lifecycle` (fusion from members, end, dormancy, merge, confirmation).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np

from triwarn.core.fusion.association import mahalanobis2_rows
from triwarn.core.fusion.config import FusionConfig, FusionResult
from triwarn.core.fusion.lifecycle import Lifecycle
from triwarn.core.fusion.membership import Membership
from triwarn.core.fusion.prediction import NS, Predictor
from triwarn.core.fusion.store import TrackStore, slots_not_in
from triwarn.core.tracks import NATIONS, FloatArray, IntArray, LocalTrackBatch, Phase, Status, SystemTrack

_PHASES = tuple(Phase)


class FusionEngine:
    """Fuses the local tracks of the nations in ``sources`` (None: all nations) into system tracks."""

    def __init__(self, config: FusionConfig | None = None, sources: frozenset[str] | None = None) -> None:
        self.config = config or FusionConfig()
        self.sources = frozenset(NATIONS) if sources is None else frozenset(sources)
        #: seconds spent per stage since construction (the benchmark reads these): align (ballistic
        #: predictions), gate (gating and gate checks), assign, fuse (CI), total (whole ingest calls)
        self.timings_s: dict[str, float] = dict.fromkeys(("align", "gate", "assign", "fuse", "total"), 0.0)
        #: Newton steps the covariance intersection weights took since construction (all fusions): how far
        #: their warm start was from the optimum (FusionConfig.ci_warm_by_newest)
        self.ci_newton_steps = 0
        self._store = TrackStore()
        self._pred = Predictor(self.config, self.timings_s)
        self._membership = Membership(self.config, self._store, self._pred, self.timings_s)
        self._life = Lifecycle(self.config, self._store, self._pred, self.timings_s)

    def ingest(self, batch: LocalTrackBatch) -> FusionResult:
        """Take one node's batch of current tracks; return the system tracks it changed or ended."""
        if batch.nation not in self.sources:
            return FusionResult(changed=[], deleted=[], late_dropped=0)
        t_start = time.perf_counter()
        cfg = self.config
        store = self._store
        src = store.source(batch.nation, batch.node_id)
        n = len(batch)
        t_ns = np.asarray(batch.time_ns, dtype=np.int64)
        batch_ns = int(batch.sent_time_ns) if batch.sent_time_ns > 0 else (int(t_ns.max()) if n else 0)
        newest_batch = batch_ns >= store.src_last_batch_ns[src]
        if newest_batch:
            store.src_last_batch_ns[src] = batch_ns
        if n:
            t_max = int(t_ns.max())
            store.now_ns = t_max if store.now_ns is None else max(store.now_ns, t_max)
        now_ns = store.now_ns if store.now_ns is not None else 0
        late_limit_ns = now_ns - round(cfg.late_window_s * 1e9)

        changed_sys: set[int] = set()
        deleted_ids: list[int] = []
        late = 0
        lt = store.lt
        # --- 1. local track store -----------------------------------------------------------------------
        nums = np.asarray(batch.track_numbers, dtype=np.int64)
        status = np.asarray(batch.status, dtype=np.int64)
        slots = store.slots_of(src, nums)
        deleted_status = status == int(Status.DELETED)
        # a track number twice in one batch: only its newest state counts (the others are dropped as stale)
        repeated = np.zeros(n, dtype=np.bool_)
        if n > 1:
            order = np.lexsort((t_ns, nums))
            repeated[order[:-1][nums[order[:-1]] == nums[order[1:]]]] = True
        too_old = (t_ns < late_limit_ns) | repeated
        existing = slots >= 0
        superseded = np.zeros(n, dtype=np.bool_)
        superseded[existing] = t_ns[existing] < lt.t_ns[slots[existing]]
        new_in_old_batch = ~existing & ~newest_batch
        drop = (too_old | superseded | new_in_old_batch) & ~deleted_status
        late += int(drop.sum())
        # local tracks to remove: DELETED status, or missing from the node's newest batch
        remove: list[int] = [int(s) for s in slots[deleted_status & existing]]
        if newest_batch:
            mine = np.nonzero(lt.alive[: store.lt_n] & (lt.src[: store.lt_n] == src))[0]
            present = slots[existing & ~deleted_status]
            remove.extend(slots_not_in(mine, present, store.lt_n).tolist())
        take = ~drop & ~deleted_status
        upd_idx = np.nonzero(take)[0]
        upd_slots = slots[upd_idx].copy()
        renumbered = self._renumbered(batch, upd_idx, upd_slots, t_ns)
        if renumbered.size:  # their slots are freed here and may be handed out again below: not for ``remove``
            freed = set(upd_slots[renumbered].tolist())
            remove = [s for s in remove if s not in freed]
        for j in renumbered.tolist():  # another object under a reused number: a new local track
            sys_slot = int(lt.sys[upd_slots[j]])
            if sys_slot >= 0:
                changed_sys.add(sys_slot)
            store.free_local(int(upd_slots[j]))
            upd_slots[j] = -1
        for j in np.nonzero(upd_slots < 0)[0].tolist():
            upd_slots[j] = store.new_local(src, int(nums[upd_idx[j]]))
        lt = store.lt  # may have grown
        lt.x[upd_slots] = batch.x[upd_idx]
        lt.P[upd_slots] = batch.P[upd_idx]
        lt.t_ns[upd_slots] = t_ns[upd_idx]
        lt.phase[upd_slots] = np.clip(np.asarray(batch.phase, dtype=np.int64)[upd_idx], 0, 3)
        beta = np.asarray(batch.beta_kg_m2, dtype=np.float64)[upd_idx]
        lt.beta[upd_slots] = np.where(np.isfinite(beta) & (beta > 0.0), beta, 0.0)
        # the newest state that a sensor updated (COASTING: only predicted by the node's tracker; a track first
        # seen coasting counts from then); where the node reports its last measurement update, that time: a
        # track still CONFIRMED may have gone without a measurement for up to the node's coast_after_s
        coasting = status[upd_idx] == int(Status.COASTING)
        first_seen = lt.fresh_ns[upd_slots] == 0
        fresh = np.where(coasting & ~first_seen, lt.fresh_ns[upd_slots], t_ns[upd_idx])
        lt.fresh_ns[upd_slots] = fresh
        # the last measurement update, where the node reports it (no older than last_update_max_age_s): what the
        # picture says of the track (SystemTrack.fresh_ns); the engine's own allowances keep the status' time
        hit = fresh
        if batch.last_update_ns.size == len(batch):
            reported = np.asarray(batch.last_update_ns, dtype=np.int64)[upd_idx]
            oldest = t_ns[upd_idx] - round(cfg.last_update_max_age_s * 1e9)
            hit = np.where(reported > 0, np.clip(reported, oldest, t_ns[upd_idx]), fresh)
        lt.hit_ns[upd_slots] = hit
        if batch.objects.size == len(batch):
            lt.objects[upd_slots] = np.maximum(np.asarray(batch.objects, dtype=np.int64)[upd_idx], 1)
        # timeouts (data time) over every source
        timeout_ns = now_ns - round(cfg.source_timeout_s * 1e9)
        stale = np.nonzero(lt.alive[: store.lt_n] & (lt.t_ns[: store.lt_n] < timeout_ns))[0]
        remove.extend(int(s) for s in stale)
        for s in set(remove):
            if lt.alive[s]:
                sys_slot = int(lt.sys[s])
                if sys_slot >= 0:
                    changed_sys.add(sys_slot)
                store.free_local(s)

        # dormant system tracks past the reacquisition window end for good
        self._life.expire_dormant(now_ns)

        # --- 2. alignment of every affected system track's members, stability check, association --------
        sys_of_upd = lt.sys[upd_slots]
        changed_sys.update(sys_of_upd[sys_of_upd >= 0].tolist())
        groups = self._pred.groups(store, changed_sys)
        membership_changed = False
        if upd_slots.size:
            membership_changed = self._membership.associate(src, upd_slots, changed_sys, groups)
        if membership_changed:
            groups = self._pred.groups(store, changed_sys)

        # --- 3. fusion, deletion, merging --------------------------------------------------------------
        self.ci_newton_steps += self._life.fuse_from_members(changed_sys, deleted_ids, groups)
        self.ci_newton_steps += self._life.merge_duplicates(changed_sys, deleted_ids)
        self._life.confirm_tentative(changed_sys)
        changed = self._tracks(store.reportable(changed_sys))
        self.timings_s["total"] += time.perf_counter() - t_start
        return FusionResult(changed=changed, deleted=deleted_ids, late_dropped=late, renumbered=int(renumbered.size))

    def _renumbered(self, batch: LocalTrackBatch, upd_idx: IntArray, upd_slots: IntArray, t_ns: IntArray) -> IntArray:
        """Positions in ``upd_idx`` (rows of ``batch``) whose local track is held (``upd_slots`` >= 0) and whose
        new state is beyond ``FusionConfig.renumbered_chi2`` of the held state predicted to its time (none when
        that is infinite: the check is off, even for a d² that is not finite)."""
        held = np.nonzero(upd_slots >= 0)[0]
        if held.size == 0 or self.config.renumbered_chi2 == math.inf:
            return held[:0]
        lt = self._store.lt
        s = upd_slots[held]
        dt = (t_ns[upd_idx[held]] - lt.t_ns[s]).astype(np.float64) * NS
        xp, Pp = self._pred.predict(lt.x[s], lt.P[s], dt, lt.phase[s], lt.beta[s])
        rows = upd_idx[held]
        d2 = np.empty(held.size)
        mahalanobis2_rows(np.ascontiguousarray(batch.x), np.ascontiguousarray(batch.P), rows, xp, Pp, d2)
        return held[~(d2 <= self.config.renumbered_chi2)]

    def drop_source(self, nation: str, node_id: str) -> FusionResult:
        """Remove every local track of one node (e.g. on its MQTT death certificate) and fuse again what it fed."""
        store = self._store
        idx = store.src_index.get((nation, node_id))
        if idx is None:
            return FusionResult(changed=[], deleted=[], late_dropped=0)
        t_start = time.perf_counter()
        lt = store.lt
        n = store.lt_n
        mine = np.nonzero(lt.alive[:n] & (lt.src[:n] == idx))[0]
        changed_sys: set[int] = set()
        for s in mine.tolist():
            if lt.sys[s] >= 0:
                changed_sys.add(int(lt.sys[s]))
            store.free_local(s)
        deleted_ids: list[int] = []
        self.ci_newton_steps += self._life.fuse_from_members(changed_sys, deleted_ids)
        self._life.confirm_tentative(changed_sys)
        changed = self._tracks(store.reportable(changed_sys))
        self.timings_s["total"] += time.perf_counter() - t_start
        return FusionResult(changed=changed, deleted=deleted_ids, late_dropped=0)

    def snapshot(self) -> list[SystemTrack]:
        """Every reported live system track at its own time of validity, by track number (tentative ones,
        possible duplicates not reported yet, are left out, here and in :meth:`at` and ``len``)."""
        return self._tracks(self._store.live_systems())

    def at(self, time_ns: int) -> list[SystemTrack]:
        """Every live system track predicted (ballistic model) to ``time_ns``, by track number."""
        store = self._store
        slots = store.live_systems()
        if slots.size == 0:
            return []
        x, P = self._pred.systems(store, slots, int(time_ns))
        return self._build(slots, np.full(slots.size, int(time_ns), dtype=np.int64), x, P)

    @property
    def now_ns(self) -> int | None:
        """The newest track time seen so far (ns), or None before the first track."""
        return self._store.now_ns

    @property
    def next_track_number(self) -> int:
        """The number the next new system track gets."""
        return self._store.next_id

    def reserve_numbers(self, first: int) -> None:
        """Never give a number below ``first`` to a new system track (numbers issued before a restart)."""
        self._store.next_id = max(self._store.next_id, int(first))

    def restore(self, tracks: Sequence[SystemTrack]) -> None:
        """Take back system tracks reported before a restart (e.g. from a durable picture) as dormant tracks
        under their numbers, dormant since their time of validity: a new local track of the same object
        reacquires its old number, exactly as after a coverage gap (``FusionConfig.reacquire_s``, and the
        hand-over of ``handover_s`` and ``handover_lone_s``); no number at or below the largest restored one is
        given to another object. The tracks are not reported (not live) until a source confirms them."""
        store = self._store
        for t in tracks:
            s = store.new_system()
            store.tentative.discard(s)
            st = store.st
            st.id[s] = int(t.track_id)
            st.alive[s] = False
            st.dormant[s] = True
            st.dormant_since_ns[s] = int(t.time_ns)
            st.published[s] = True
            st.x[s] = t.x
            st.P[s] = t.P
            st.t_ns[s] = int(t.time_ns)
            st.phase[s] = int(t.phase)
            st.born_ns[s] = int(t.time_ns)
            st.fresh_ns[s] = int(t.fresh_ns or t.time_ns)
            st.hit_ns[s] = st.fresh_ns[s]
            st.objects_max[s] = max(int(t.objects), 1)  # a number that was a group stays one (boost path)
            store.next_id = max(store.next_id, int(t.track_id) + 1)

    def __len__(self) -> int:
        return int(self._store.live_systems().size)

    def _tracks(self, slots: IntArray) -> list[SystemTrack]:
        st = self._store.st
        return self._build(slots, st.t_ns[slots], st.x[slots], st.P[slots])

    def _build(self, slots: IntArray, t_ns: IntArray, x: FloatArray, P: FloatArray) -> list[SystemTrack]:
        """SystemTrack objects for system track ``slots`` with the given times and states ``x``, ``P``: arrays
        that the caller made for this call (a gather or a prediction), which the results keep as views."""
        store = self._store
        st = store.st
        refs = store.st_refs
        stale = [s for s in slots.tolist() if refs[s] is None or s in store.refs_dirty]
        if stale:
            members = store.members_of(np.asarray(stale, dtype=np.int64))
            for s in stale:
                src = sorted(
                    (r for r in (store.lt_ref[m] for m in members.get(s, [])) if r is not None),
                    key=lambda r: (r.nation, r.node_id, r.local_track_number),
                )
                refs[s] = (tuple(src), tuple(sorted({r.nation for r in src})))
                store.refs_dirty.discard(s)
        x = np.asarray(x, dtype=np.float64)  # never engine state itself: the results do not alias it
        P = np.asarray(P, dtype=np.float64)
        # Filled instance dicts instead of the frozen dataclass's __init__ (one object.__setattr__ per field):
        # the identical object (same fields, eq, repr) in less time, at thousands of tracks per batch
        # (docs/fusion.md, "Speed").
        new = object.__new__
        out: list[SystemTrack] = []
        append = out.append
        ids, phases, fresh = st.id[slots].tolist(), st.phase[slots].tolist(), st.hit_ns[slots].tolist()
        objects = st.objects[slots].tolist()
        for s, i, t, ph, xk, Pk, f, nobj in zip(
            slots.tolist(), ids, t_ns.tolist(), phases, list(x), list(P), fresh, objects, strict=True
        ):
            sources, nations = refs[s]  # type: ignore[misc]
            obj = new(SystemTrack)
            d = obj.__dict__
            d["track_id"] = i
            d["time_ns"] = t
            d["x"] = xk
            d["P"] = Pk
            d["nations"] = nations
            d["sources"] = sources
            d["phase"] = _PHASES[ph]
            d["fresh_ns"] = f
            d["objects"] = nobj
            append(obj)
        return out
