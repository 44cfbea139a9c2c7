"""The fusion engine: local tracks of several nations in, one picture of system tracks out.

The service calls :meth:`FusionEngine.ingest` with each validated :class:`LocalTrackBatch` (one node's current
tracks at one update cycle). The engine

1. keeps the latest state of every local track (key: nation, node, local track number), dropping states
   older than the late window (counted in ``late_dropped``) or older than the state already held;
2. drops local tracks that their node no longer reports (a newer batch without them, status DELETED, or no
   refresh within ``source_timeout_s``);
3. aligns the batch's tracks to one common time with the ballistic model (:mod:`.align`);
4. keeps each local track with its system track while the chi-square gate against the (aligned) system track
   holds (stability); the others are gated against the system tracks that have no track of the same source
   yet (:mod:`.association`, grid gating, no all-pairs work) and assigned globally (Hungarian/JV on the
   gated components); a local track nothing accepts starts a new system track;
5. fuses every changed system track from its members aligned to the newest member's time by N-way
   covariance intersection with optimal weights (:mod:`.fusion`);
6. merges duplicates: two system tracks without a common source whose fused states gate together become one,
   keeping the reported one over a tentative one, else the older (smaller) system track number;
7. deletes system tracks that have lost all their members;
8. reports a new system track only once it is not a possible duplicate of a reported one: a track fed by one
   source that gates against a reported track under a manoeuvre allowance (a node's tracker re-initiating an
   object it lost, or a false track next to it) stays tentative, unseen, and is usually merged into the
   reported one when the old local track ends (``FusionConfig.duplicate_manoeuvre_s``).

A new local track that nothing accepts takes over the number of a system track that lost its last source
within ``FusionConfig.handover_s`` (one nation's track of an object ends, another's begins) if it gates
against that track's prediction under the same manoeuvre allowance, and only if that is unambiguous.

System track numbers start at 1, never change for a track, and are never reused. The engine only fuses
nations in ``sources`` (releasability): batches of other nations are ignored.

Time: int64 nanoseconds at this interface; differences are taken in integer nanoseconds and only then turned
into float seconds, so absolute times never lose precision. "Now" is the newest track time seen (data time,
not wall clock), so a replay behaves like a live run.

All the work on arrays runs in numba kernels; Python does the per-batch bookkeeping (NumPy on slot arrays:
binary search for a batch's local tracks, boolean slot tables for set operations) and builds the
:class:`SystemTrack` objects of the result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from triwarn.core.fusion.align import BallisticModel, drag_context, predict_many
from triwarn.core.fusion.association import CHI2_6DOF_0999, assign_sparse, gate_pairs, min_d2_to_others
from triwarn.core.fusion.covariance_intersection import ci_fuse_groups, keyed_warm_start, store_keyed_weights
from triwarn.core.tracks import (
    NATIONS,
    FloatArray,
    IntArray,
    LocalTrackBatch,
    Phase,
    SourceRef,
    Status,
    SystemTrack,
)

_NS = 1e-9
#: χ²(3) quantile 0.999 (the position-only gate of the duplicate check)
CHI2_3DOF_0999 = 16.26623619623813
_PHASES = tuple(Phase)


@dataclass(frozen=True)
class FusionConfig:
    """Tuning of the fusion engine. Defaults are sensible for 1 s node update cycles."""

    #: chi-square gate on the 6-D aligned difference (default: 0.999 quantile for 6 degrees of freedom)
    gate_chi2: float = CHI2_6DOF_0999
    #: a local track leaves its system track only when its aligned difference exceeds this (hysteresis
    #: against the gate: the 1 - 1e-6 quantile for 6 degrees of freedom)
    release_chi2: float = 38.25833637714585
    #: gate for merging two system tracks without a common source into one
    merge_chi2: float = CHI2_6DOF_0999
    #: track states older than the newest time seen minus this are dropped and counted, seconds
    late_window_s: float = 10.0
    #: a local track not refreshed for this long (data time) is dropped, seconds; at least late_window_s, so
    #: that a state accepted as late-but-in-window is not dropped as stale in the same breath
    source_timeout_s: float = 10.0
    #: white-noise acceleration density of the alignment model per flight phase (UNKNOWN, BOOST,
    #: MIDCOURSE, TERMINAL), m²/s³: covers thrust in boost and drag in re-entry, which the ballistic model
    #: leaves out; in midcourse only gravity harmonics beyond J2 remain (~1e-5 m/s²), so a prediction across
    #: a long coverage gap stays tight. # assumption: not a published figure
    q_by_phase_m2_s3: tuple[float, float, float, float] = (400.0, 2500.0, 0.01, 2500.0)
    #: the ballistic alignment model (WGS-84, J2, rotating Earth)
    model: BallisticModel = field(default_factory=BallisticModel)
    #: smallest cell of the gating grid, metres
    min_cell_m: float = 100.0
    #: a system track that lost every source is reported deleted, but kept dormant this long (data time,
    #: seconds): a new local track that gates against its ballistic prediction (the same object reacquired
    #: after a coverage gap) brings it back under its old number. 0 disables.
    reacquire_s: float = 7200.0
    #: ... unless its predicted position is this uncertain (sqrt of the trace of the position covariance,
    #: metres): a track that died in boost cannot be predicted across a gap
    reacquire_max_sigma_m: float = 300_000.0
    #: a new system track fed by one source is held back (tentative: fused, associated, merged, but not
    #: reported) while it may be a duplicate of a reported one, i.e. while it gates against a reported system
    #: track under a gate widened by an unmodelled constant acceleration (``duplicate_accel_m_s2``) over this
    #: many seconds plus the time since a sensor last updated it (a COASTING track that missed a thrust or
    #: drag change drifts off quadratically). A node's tracker can start a second track on one object when it
    #: loses it (staging, burnout, re-entry); the same-source rule keeps the two apart, and the held track
    #: joins the reported one unseen (a merge) once the old local track ends or is released. 0 disables
    #: (every new system track is reported at once). # assumption: engineering choice
    duplicate_manoeuvre_s: float = 10.0
    #: 1-sigma per axis of that unmodelled acceleration, m/s² (thrust near burnout, or drag in re-entry, of
    #: the order of 30-60 m/s²; with 10 s: 1.5 km and 300 m/s per axis). # assumption: not a published figure
    duplicate_accel_m_s2: float = 30.0
    #: hand-over of a number that just went dormant: for this long (data time, seconds) after a reported
    #: system track lost its last source, a new local track that nothing else accepts takes its number if it
    #: gates against the dormant track's prediction widened by the manoeuvre allowance above (over
    #: ``duplicate_manoeuvre_s`` plus the time since a sensor last updated it: thrust or burnout the dead track
    #: did not see), and only if that is unambiguous: that one dormant track and no other, no other new track
    #: of the batch fits it, and the new track does not fit any live system track under the same allowance
    #: (a salvo). 0 disables. # assumption: engineering choice (one node's track ends, another nation's
    #: begins on the same object a cycle or two later)
    handover_s: float = 10.0
    #: warm start of the CI weights (speed only: the optimum is the same to the weights' tolerance): from the
    #: weights of the last fusion of the group in which the same source held the newest member (False: from
    #: the last fusion, whichever source was newest). A track's optimal weights follow which member is fresh
    #: and which ones are predicted, and the nodes report in turn, so the last fusion is the wrong start by a
    #: whole turn and the same turn one round earlier is almost exactly the optimum (bench, 1,000 objects:
    #: 6-8 % of the groups need no Newton step from the last fusion, all of them from the same turn).
    ci_warm_by_newest: bool = True

    def __post_init__(self) -> None:
        if not self.gate_chi2 > 0 or not self.merge_chi2 >= 0 or not self.release_chi2 >= self.gate_chi2:
            raise ValueError("gate_chi2 must be > 0, merge_chi2 >= 0 and release_chi2 >= gate_chi2")
        if not self.late_window_s >= 0 or not self.source_timeout_s >= max(self.late_window_s, 1e-9):
            raise ValueError("late_window_s must be >= 0 and source_timeout_s > 0 and >= late_window_s")
        if not self.reacquire_s >= 0:
            raise ValueError("reacquire_s must be >= 0")
        if not self.duplicate_manoeuvre_s >= 0 or not self.duplicate_accel_m_s2 >= 0:
            raise ValueError("duplicate_manoeuvre_s and duplicate_accel_m_s2 must be >= 0")
        if not self.handover_s >= 0:
            raise ValueError("handover_s must be >= 0")
        if len(self.q_by_phase_m2_s3) != 4 or min(self.q_by_phase_m2_s3) < 0:
            raise ValueError("q_by_phase_m2_s3 needs 4 non-negative values (UNKNOWN, BOOST, MIDCOURSE, TERMINAL)")


@dataclass(frozen=True)
class FusionResult:
    """What one :meth:`FusionEngine.ingest` changed."""

    changed: list[SystemTrack]  # new or updated system tracks, by track_id
    #: system track numbers that ended (all sources dropped, or merged into another). A track that ended
    #: because every source dropped it comes back under the same number if the same object is reacquired
    #: within ``FusionConfig.reacquire_s`` (numbers are never given to another object).
    deleted: list[int]
    late_dropped: int  # track states dropped as too old (late window, or older than the state held)


@dataclass(frozen=True)
class _Groups:
    """Members of some system tracks, grouped by system track and aligned to each group's newest time."""

    requested: IntArray  # the system track slots asked for
    sel: IntArray  # (m,) local track slots, grouped by system track
    slots: IntArray  # (g,) system track slots that have members, ascending
    offsets: IntArray  # (g + 1,) group g is sel[offsets[g]:offsets[g + 1]]
    t_f: IntArray  # (g,) each group's newest member time, ns
    x: FloatArray  # (m, 6) members' states aligned to their group's t_f
    P: FloatArray  # (m, 6, 6)
    size_of_member: IntArray  # (m,) size of each member's group


def _sorted_array(slots: set[int]) -> IntArray:
    """A set of slots as an ascending int64 array."""
    a = np.fromiter(slots, np.int64, len(slots))
    a.sort()
    return a


# Set operations on slot numbers (small non-negative ints below a known bound) by a boolean table instead of
# NumPy's sorting set routines: np.setdiff1d of two 1,000-slot arrays takes ~0.3 ms, the table ~5 µs, and the
# engine does several per batch. Same results as np.isin / np.setdiff1d / np.unique (tests/core/
# test_engine_bookkeeping.py compares them).


def _in_slots(values: IntArray, members: IntArray, size: int) -> npt.NDArray[np.bool_]:
    """``np.isin(values, members)`` for slots ``members`` in [0, size) and ``values`` in [-1, size) (-1: none)."""
    table = np.zeros(size + 1, dtype=np.bool_)  # the last entry answers -1
    table[members] = True
    return table[values]


def _slots_not_in(a: IntArray, b: IntArray, size: int) -> IntArray:
    """``np.setdiff1d(a, b)`` for unique ascending slots ``a`` and any slots ``b``, all in [0, size)."""
    return a[~_in_slots(a, b, size)]


def _group_starts(keys: IntArray) -> tuple[IntArray, IntArray]:
    """``np.unique(keys, return_index=True)`` for ``keys`` sorted ascending: the distinct keys and the index
    where each run starts."""
    if keys.size == 0:
        return keys[:0].copy(), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate((np.zeros(1, dtype=np.int64), starts))
    return keys[starts], starts


#: most sources (nation, node pairs) one engine tracks: a system track's sources are an int64 bit set
MAX_SOURCES = 63
#: warm-start weights kept per local track, by the source of its group's newest member (direct-mapped: more
#: sources than this share columns, and a miss falls back to the last weights)
_W_KEYS = 4


class _Arrays:
    """Growable struct-of-arrays storage (capacity doubles)."""

    def __init__(self, specs: dict[str, tuple[tuple[int, ...], type, float | int | bool]]) -> None:
        self._specs = specs
        self.capacity = 0
        for name, (shape, dtype, fill) in specs.items():
            setattr(self, name, np.full((0, *shape), fill, dtype=dtype))

    def ensure(self, n: int) -> None:
        if n <= self.capacity:
            return
        cap = max(64, self.capacity * 2, n)
        for name, (shape, dtype, fill) in self._specs.items():
            old = getattr(self, name)
            new = np.full((cap, *shape), fill, dtype=dtype)
            new[: old.shape[0]] = old
            setattr(self, name, new)
        self.capacity = cap


class FusionEngine:
    """Fuses the local tracks of the nations in ``sources`` (None: all nations) into system tracks."""

    def __init__(self, config: FusionConfig | None = None, sources: frozenset[str] | None = None) -> None:
        self.config = config or FusionConfig()
        self.sources = frozenset(NATIONS) if sources is None else frozenset(sources)
        self._q = np.asarray(self.config.q_by_phase_m2_s3, dtype=np.float64)
        self._drag = drag_context(self.config.model)
        # sources: (nation, node_id) -> index (bit in the masks)
        self._src_index: dict[tuple[str, str], int] = {}
        self._src_names: list[tuple[str, str]] = []
        self._src_last_batch_ns: list[int] = []
        # local tracks
        self._lt = _Arrays(
            {
                "src": ((), np.int64, -1),
                "num": ((), np.int64, 0),
                "x": ((6,), np.float64, 0.0),
                "P": ((6, 6), np.float64, 0.0),
                "t_ns": ((), np.int64, 0),
                "sys": ((), np.int64, -1),
                "alive": ((), np.bool_, False),
                "phase": ((), np.int64, 0),
                "w": ((), np.float64, 0.0),  # last CI weight (warm start of the next fusion)
                # CI weights of its last fusions keyed by the source of the group's newest member, direct-mapped
                # (column = source index % _W_KEYS; -1: none), see FusionConfig.ci_warm_by_newest
                "w_key": ((_W_KEYS,), np.int64, -1),
                "w_by": ((_W_KEYS,), np.float64, 0.0),
                "beta": ((), np.float64, 0.0),  # ballistic coefficient, kg/m² (0: unknown)
                "fresh_ns": ((), np.int64, 0),  # time of its newest state not reported COASTING
            }
        )
        # per source: its local track numbers sorted and their slots (a vectorised look-up of a batch), rebuilt
        # after a local track of that source is created or freed
        self._src_lookup: list[tuple[IntArray, IntArray] | None] = []
        self._lt_ref: list[SourceRef | None] = []
        self._lt_free: list[int] = []
        self._lt_n = 0  # slots ever used
        # system tracks
        self._st = _Arrays(
            {
                "id": ((), np.int64, 0),
                "x": ((6,), np.float64, 0.0),
                "P": ((6, 6), np.float64, 0.0),
                "t_ns": ((), np.int64, 0),
                "alive": ((), np.bool_, False),
                "dormant": ((), np.bool_, False),  # deleted, but may be reacquired (reacquire_s)
                "dormant_since_ns": ((), np.int64, 0),
                "mask": ((), np.int64, 0),
                "phase": ((), np.int64, 0),
                "beta": ((), np.float64, 0.0),  # mean of the members' known ballistic coefficients
                "published": ((), np.bool_, False),  # reported at least once (False: tentative)
                "born_ns": ((), np.int64, 0),  # data time of its creation
                "fresh_ns": ((), np.int64, 0),  # newest sensor update (not COASTING) of its members
            }
        )
        self._st_free: list[int] = []
        self._st_n = 0
        # per system track slot: (sources, nations), rebuilt when its membership changed
        self._st_refs: list[tuple[tuple[SourceRef, ...], tuple[str, ...]] | None] = []
        self._refs_dirty: set[int] = set()
        self._next_id = 1
        self._tentative: set[int] = set()  # live system track slots not reported yet
        self._now_ns: int | None = None
        #: seconds spent per stage since construction (the benchmark reads these): align (ballistic
        #: predictions), gate (gating and gate checks), assign, fuse (CI), total (whole ingest calls)
        self.timings_s: dict[str, float] = dict.fromkeys(("align", "gate", "assign", "fuse", "total"), 0.0)

    # ------------------------------------------------------------------------------------------- public
    def ingest(self, batch: LocalTrackBatch) -> FusionResult:
        """Take one node's batch of current tracks; return the system tracks it changed or ended."""
        if batch.nation not in self.sources:
            return FusionResult(changed=[], deleted=[], late_dropped=0)
        t_start = time.perf_counter()
        cfg = self.config
        src = self._source(batch.nation, batch.node_id)
        n = len(batch)
        t_ns = np.asarray(batch.time_ns, dtype=np.int64)
        batch_ns = int(batch.sent_time_ns) if batch.sent_time_ns > 0 else (int(t_ns.max()) if n else 0)
        newest_batch = batch_ns >= self._src_last_batch_ns[src]
        if newest_batch:
            self._src_last_batch_ns[src] = batch_ns
        if n:
            t_max = int(t_ns.max())
            self._now_ns = t_max if self._now_ns is None else max(self._now_ns, t_max)
        now_ns = self._now_ns if self._now_ns is not None else 0
        late_limit_ns = now_ns - round(cfg.late_window_s * 1e9)

        changed_sys: set[int] = set()
        deleted_ids: list[int] = []
        late = 0
        lt = self._lt
        # --- 1. local track store -----------------------------------------------------------------------
        nums = np.asarray(batch.track_numbers, dtype=np.int64)
        status = np.asarray(batch.status, dtype=np.int64)
        slots = self._slots_of(src, nums)
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
            mine = np.nonzero(lt.alive[: self._lt_n] & (lt.src[: self._lt_n] == src))[0]
            present = slots[existing & ~deleted_status]
            remove.extend(_slots_not_in(mine, present, self._lt_n).tolist())
        take = ~drop & ~deleted_status
        upd_idx = np.nonzero(take)[0]
        upd_slots = slots[upd_idx].copy()
        for j in np.nonzero(upd_slots < 0)[0].tolist():
            upd_slots[j] = self._new_local(src, int(nums[upd_idx[j]]))
        lt = self._lt  # may have grown
        lt.x[upd_slots] = batch.x[upd_idx]
        lt.P[upd_slots] = batch.P[upd_idx]
        lt.t_ns[upd_slots] = t_ns[upd_idx]
        lt.phase[upd_slots] = np.clip(np.asarray(batch.phase, dtype=np.int64)[upd_idx], 0, 3)
        beta = np.asarray(batch.beta_kg_m2, dtype=np.float64)[upd_idx]
        lt.beta[upd_slots] = np.where(np.isfinite(beta) & (beta > 0.0), beta, 0.0)
        # the newest state that a sensor updated (COASTING: only predicted by the node's tracker; a track first
        # seen coasting counts from then)
        coasting = status[upd_idx] == int(Status.COASTING)
        first_seen = lt.fresh_ns[upd_slots] == 0
        lt.fresh_ns[upd_slots] = np.where(coasting & ~first_seen, lt.fresh_ns[upd_slots], t_ns[upd_idx])
        # timeouts (data time) over every source
        timeout_ns = now_ns - round(cfg.source_timeout_s * 1e9)
        stale = np.nonzero(lt.alive[: self._lt_n] & (lt.t_ns[: self._lt_n] < timeout_ns))[0]
        remove.extend(int(s) for s in stale)
        for s in set(remove):
            if lt.alive[s]:
                sys_slot = int(lt.sys[s])
                if sys_slot >= 0:
                    changed_sys.add(sys_slot)
                self._free_local(s)

        # dormant system tracks past the reacquisition window end for good
        if cfg.reacquire_s > 0:
            st = self._st
            limit = now_ns - round(cfg.reacquire_s * 1e9)
            for s in np.nonzero(st.dormant[: self._st_n] & (st.dormant_since_ns[: self._st_n] < limit))[0].tolist():
                st.dormant[s] = False
                self._st_free.append(int(s))

        # --- 2. alignment of every affected system track's members, stability check, association --------
        sys_of_upd = lt.sys[upd_slots]
        changed_sys.update(sys_of_upd[sys_of_upd >= 0].tolist())
        groups = self._align_groups(changed_sys)
        membership_changed = False
        if upd_slots.size:
            membership_changed = self._associate(src, upd_slots, changed_sys, groups)
        if membership_changed:
            groups = self._align_groups(changed_sys)

        # --- 3. fusion, deletion, merging --------------------------------------------------------------
        self._refuse(changed_sys, deleted_ids, groups)
        self._merge(changed_sys, deleted_ids)
        self._confirm(changed_sys)
        changed = self._tracks(self._reportable(changed_sys))
        self.timings_s["total"] += time.perf_counter() - t_start
        return FusionResult(changed=changed, deleted=deleted_ids, late_dropped=late)

    def drop_source(self, nation: str, node_id: str) -> FusionResult:
        """Remove every local track of one node (e.g. on its MQTT death certificate) and refuse what it fed."""
        idx = self._src_index.get((nation, node_id))
        if idx is None:
            return FusionResult(changed=[], deleted=[], late_dropped=0)
        t_start = time.perf_counter()
        lt = self._lt
        n = self._lt_n
        mine = np.nonzero(lt.alive[:n] & (lt.src[:n] == idx))[0]
        changed_sys: set[int] = set()
        for s in mine.tolist():
            if lt.sys[s] >= 0:
                changed_sys.add(int(lt.sys[s]))
            self._free_local(s)
        deleted_ids: list[int] = []
        self._refuse(changed_sys, deleted_ids)
        self._confirm(changed_sys)
        changed = self._tracks(self._reportable(changed_sys))
        self.timings_s["total"] += time.perf_counter() - t_start
        return FusionResult(changed=changed, deleted=deleted_ids, late_dropped=0)

    def snapshot(self) -> list[SystemTrack]:
        """Every reported live system track at its own time of validity, by track number (tentative ones,
        possible duplicates not reported yet, are left out, here and in :meth:`at` and ``len``)."""
        return self._tracks(self._live_systems())

    def at(self, time_ns: int) -> list[SystemTrack]:
        """Every live system track predicted (ballistic model) to ``time_ns``, by track number."""
        slots = self._live_systems()
        if slots.size == 0:
            return []
        x, P = self._predict_systems(slots, int(time_ns))
        return self._build(slots, np.full(slots.size, int(time_ns), dtype=np.int64), x, P)

    @property
    def now_ns(self) -> int | None:
        """The newest track time seen so far (ns), or None before the first track."""
        return self._now_ns

    def __len__(self) -> int:
        return int(self._live_systems().size)

    # ------------------------------------------------------------------------------------------ helpers
    def _source(self, nation: str, node_id: str) -> int:
        key = (nation, node_id)
        idx = self._src_index.get(key)
        if idx is None:
            if len(self._src_names) >= MAX_SOURCES:
                raise ValueError(f"more than {MAX_SOURCES} sources (nation, node) in one fusion engine")
            idx = len(self._src_names)
            self._src_index[key] = idx
            self._src_names.append(key)
            self._src_last_batch_ns.append(-(2**62))
            self._src_lookup.append(None)
        return idx

    def _slots_of(self, src: int, nums: IntArray) -> IntArray:
        """Slots of source ``src``'s local tracks ``nums`` (-1: not held); the same as looking each
        (src, number) up in a dict, by a binary search in the source's sorted numbers."""
        cache = self._src_lookup[src]
        if cache is None:
            lt = self._lt
            mine = np.nonzero(lt.alive[: self._lt_n] & (lt.src[: self._lt_n] == src))[0]
            order = np.argsort(lt.num[mine], kind="stable")
            cache = (lt.num[mine][order], mine[order])
            self._src_lookup[src] = cache
        keys, vals = cache
        if keys.size == 0:
            return np.full(nums.size, -1, dtype=np.int64)
        i = np.minimum(np.searchsorted(keys, nums), keys.size - 1)
        return np.where(keys[i] == nums, vals[i], -1).astype(np.int64, copy=False)

    def _new_local(self, src: int, num: int) -> int:
        if self._lt_free:
            s = self._lt_free.pop()
        else:
            s = self._lt_n
            self._lt_n += 1
            self._lt.ensure(self._lt_n)
            self._lt_ref.append(None)
        lt = self._lt
        lt.src[s] = src
        lt.num[s] = num
        lt.sys[s] = -1
        lt.alive[s] = True
        lt.w[s] = 0.0
        lt.w_key[s] = -1
        lt.fresh_ns[s] = 0
        self._src_lookup[src] = None
        nation, node = self._src_names[src]
        self._lt_ref[s] = SourceRef(nation=nation, node_id=node, local_track_number=num)
        return s

    def _detach(self, s: int) -> None:
        """Take local track ``s`` out of its system track (clearing its source bit there)."""
        lt = self._lt
        sys_slot = int(lt.sys[s])
        if sys_slot >= 0:
            self._st.mask[sys_slot] &= ~(np.int64(1) << lt.src[s])
            lt.sys[s] = -1
            lt.w_key[s] = -1  # its keyed weights were for that group
            self._refs_dirty.add(sys_slot)

    def _free_local(self, s: int) -> None:
        self._detach(s)
        lt = self._lt
        self._src_lookup[int(lt.src[s])] = None
        lt.alive[s] = False
        lt.sys[s] = -1
        lt.src[s] = -1
        self._lt_ref[s] = None
        self._lt_free.append(s)

    def _new_system(self) -> int:
        if self._st_free:
            s = self._st_free.pop()
        else:
            s = self._st_n
            self._st_n += 1
            self._st.ensure(self._st_n)
            self._st_refs.append(None)
        self._st.id[s] = self._next_id
        self._next_id += 1
        self._st.alive[s] = True
        self._st.dormant[s] = False
        self._st.published[s] = False
        self._st.born_ns[s] = self._now_ns if self._now_ns is not None else 0
        self._st.mask[s] = 0
        self._st_refs[s] = None
        self._tentative.add(s)
        return s

    def _live_systems(self) -> IntArray:
        """Reported live system track slots, by track number."""
        st = self._st
        slots = np.nonzero(st.alive[: self._st_n] & st.published[: self._st_n])[0]
        return slots[np.argsort(st.id[slots], kind="stable")]

    def _reportable(self, changed_sys: set[int]) -> IntArray:
        """The reported live slots among ``changed_sys``, by track number."""
        st = self._st
        a = _sorted_array(changed_sys)
        a = a[st.alive[a] & st.published[a]]
        return a[np.argsort(st.id[a], kind="stable")]

    def _end_system(self, s: int, deleted_ids: list[int], reacquirable: bool) -> None:
        """System track slot ``s`` ends: reported in ``deleted_ids`` (and kept dormant) if it was ever reported;
        a tentative one ends silently."""
        st = self._st
        st.alive[s] = False
        self._tentative.discard(s)
        if st.published[s]:
            deleted_ids.append(int(st.id[s]))
            if reacquirable and self.config.reacquire_s > 0:
                st.dormant[s] = True
                st.dormant_since_ns[s] = self._now_ns if self._now_ns is not None else 0
                return
        self._st_free.append(s)

    def _confirm(self, changed_sys: set[int]) -> None:
        """Report the tentative system tracks that are not possible duplicates; the ones confirmed go into
        ``changed_sys``.

        A tentative track fed by a single source is held while, against some reported system track (both
        aligned to one time, its covariance widened by the manoeuvre allowance of
        ``FusionConfig.duplicate_manoeuvre_s``), the 6-D gate passes, or the position-only gate (χ²₃ 0.999)
        passes and a sensor has updated it for less than ``duplicate_manoeuvre_s`` since its system track
        began (a young track near a reported one: a node's re-initiation, or a false track on the same
        object). Tracks of two or more sources are reported at once.
        """
        if not self._tentative:
            return
        cfg = self.config
        st = self._st
        tent = np.asarray(sorted(self._tentative), dtype=np.int64)
        hold = np.zeros(tent.size, dtype=np.bool_)
        if cfg.duplicate_manoeuvre_s > 0:
            masks = st.mask[tent]
            ask = np.nonzero((masks & (masks - 1)) == 0)[0]
            pub = np.nonzero(st.alive[: self._st_n] & st.published[: self._st_n])[0]
            if ask.size and pub.size:
                hold[ask] = self._possible_duplicates(tent[ask], pub)
        for s in tent[~hold].tolist():
            st.published[s] = True
            self._tentative.discard(s)
            changed_sys.add(s)

    def _possible_duplicates(self, a: IntArray, pub: IntArray) -> npt.NDArray[np.bool_]:
        """Which of the tentative system tracks ``a`` (ascending slots) may duplicate a reported one (``pub``)."""
        cfg = self.config
        st, lt = self._st, self._lt
        t_c = int(st.t_ns[a].max())
        xa, Pa = self._predict_systems(a, t_c)
        # the newest sensor update (not COASTING) of each tentative track's members
        n = self._lt_n
        sel = np.nonzero(lt.alive[:n] & _in_slots(lt.sys[:n], a, self._st_n))[0]
        fresh = np.full(a.size, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(fresh, np.searchsorted(a, lt.sys[sel]), lt.fresh_ns[sel])
        fresh = np.where(fresh > np.iinfo(np.int64).min, fresh, t_c)
        young = (fresh - st.born_ns[a]).astype(np.float64) * _NS < cfg.duplicate_manoeuvre_s
        # manoeuvre allowance over tau = duplicate_manoeuvre_s plus the time since the last sensor update (a
        # young track: since its system track began; its velocity is not established)
        since = np.where(young, np.minimum(st.born_ns[a], fresh), fresh)
        self._widen(Pa, cfg.duplicate_manoeuvre_s + np.maximum(t_c - since, 0).astype(np.float64) * _NS)
        # candidate pairs by a coarse distance bound before predicting the reported tracks
        reach = np.sqrt(cfg.gate_chi2 * (Pa[:, 0, 0] + Pa[:, 1, 1] + Pa[:, 2, 2]))
        bound = self._reach_bound(pub, t_c)
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
        if ia.size == 0:
            return out
        near, jb = np.unique(jb, return_inverse=True)
        xb, Pb = self._predict_systems(pub[near], t_c)
        t_k = time.perf_counter()
        d = xa[ia] - xb[jb]
        S = Pa[ia] + Pb[jb]
        with np.errstate(all="ignore"):
            try:
                d2 = np.einsum("ki,ki->k", d, np.linalg.solve(S, d[:, :, None])[:, :, 0])
                d2_pos = np.einsum("ki,ki->k", d[:, :3], np.linalg.solve(S[:, :3, :3], d[:, :3, None])[:, :, 0])
            except np.linalg.LinAlgError:  # a singular sum: compare positions only
                d2 = d2_pos = np.sum(d[:, :3] ** 2, axis=1) / np.maximum(np.trace(S[:, :3, :3], axis1=1, axis2=2), 1.0)
        self.timings_s["gate"] += time.perf_counter() - t_k
        hit = (d2 <= cfg.gate_chi2) | (young[ia] & (d2_pos <= CHI2_3DOF_0999))
        out[ia[hit]] = True
        return out

    def _predict(
        self, x: FloatArray, P: FloatArray, dt_s: FloatArray, phase: IntArray, beta: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        m = self.config.model
        x_out = np.empty_like(x)
        P_out = np.empty_like(P)
        t_k = time.perf_counter()
        predict_many(
            np.ascontiguousarray(x),
            np.ascontiguousarray(P),
            np.ascontiguousarray(dt_s, dtype=np.float64),
            np.ascontiguousarray(self._q[phase]),
            np.ascontiguousarray(beta, dtype=np.float64),
            m.gm_m3_s2,
            m.re_m,
            m.j2,
            m.omega_rad_s,
            m.max_step_s,
            m.max_substeps,
            self._drag,
            x_out,
            P_out,
        )
        self.timings_s["align"] += time.perf_counter() - t_k
        return x_out, P_out

    def _predict_systems(self, slots: IntArray, time_ns: int) -> tuple[FloatArray, FloatArray]:
        st = self._st
        dt = (time_ns - st.t_ns[slots]).astype(np.float64) * _NS
        return self._predict(st.x[slots], st.P[slots], dt, st.phase[slots], st.beta[slots])

    def _associate(self, src: int, upd: IntArray, changed_sys: set[int], groups: _Groups) -> bool:
        """Stability check and association of the batch's updated local tracks ``upd``.

        Returns True if any system track's membership changed.
        """
        cfg = self.config
        lt, st = self._lt, self._st
        bit = np.int64(1) << np.int64(src)
        # stability: a local track stays with its system track unless it is inconsistent (beyond the wider
        # release gate) with every other member, aligned to the same time (classic track-to-track test)
        changed = False
        if groups.sel.size:
            flag = np.zeros(groups.sel.size, dtype=np.bool_)
            flag[_in_slots(groups.sel, upd, self._lt_n)] = True
            d2 = np.full(groups.sel.size, np.inf)
            t_k = time.perf_counter()
            min_d2_to_others(groups.offsets, groups.x, groups.P, flag, d2)
            self.timings_s["gate"] += time.perf_counter() - t_k
            bad = flag & (groups.size_of_member > 1) & ~(d2 <= cfg.release_chi2)
            for s in groups.sel[bad].tolist():
                self._detach(s)
                changed = True
        free = np.nonzero(lt.sys[upd] < 0)[0]
        if free.size == 0:
            return changed
        # the free tracks aligned to one time, and the candidates: live system tracks without a track of this
        # source (masks are kept exact), predicted to the same time
        t_c = int(lt.t_ns[upd[free]].max())
        dt = (t_c - lt.t_ns[upd[free]]).astype(np.float64) * _NS
        xf, Pf = self._predict(lt.x[upd[free]], lt.P[upd[free]], dt, lt.phase[upd[free]], lt.beta[upd[free]])
        live = np.nonzero(st.alive[: self._st_n])[0]
        cand = live[(st.mask[live] & bit) == 0]
        dormant = np.nonzero(st.dormant[: self._st_n])[0]
        if dormant.size:
            cand = np.concatenate([cand, dormant])
        col_of_row = np.full(free.size, -1, dtype=np.int64)
        if cand.size:
            xs, Ps = self._predict_systems(cand, t_c)
            if dormant.size:
                sigma2 = Ps[:, 0, 0] + Ps[:, 1, 1] + Ps[:, 2, 2]
                usable = ~st.dormant[cand] | (sigma2 <= cfg.reacquire_max_sigma_m**2)
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
            self.timings_s["gate"] += time.perf_counter() - t_k
            if rows.size:
                t_k = time.perf_counter()
                col_of_row = assign_sparse(free.size, cand.size, rows, cols, d2, cfg.gate_chi2)
                self.timings_s["assign"] += time.perf_counter() - t_k
        taken = cand[col_of_row[col_of_row >= 0]] if cand.size else np.empty(0, dtype=np.int64)
        handover = self._handover(xf, Pf, col_of_row < 0, t_c, bit, taken)
        for r, s in enumerate(upd[free].tolist()):
            c = int(col_of_row[r])
            h = int(handover[r])
            sys_slot = int(cand[c]) if c >= 0 else (h if h >= 0 else self._new_system())
            if self._st.dormant[sys_slot]:  # the same object reacquired: back under its old number
                self._st.dormant[sys_slot] = False
                self._st.alive[sys_slot] = True
                self._st.mask[sys_slot] = 0
            self._lt.sys[s] = sys_slot
            self._refs_dirty.add(sys_slot)
            self._st.mask[sys_slot] |= bit
            changed_sys.add(sys_slot)
        return True

    def _widen(self, P: FloatArray, tau: FloatArray) -> None:
        """The manoeuvre allowance, added to covariances ``P`` (k, 6, 6) in place: an unknown acceleration
        (1-sigma ``duplicate_accel_m_s2`` per axis) over ``tau`` (k,) seconds, dr = a tau²/2, dv = a tau, added
        uncorrelated (wider than the rank-one constant-acceleration form: the acceleration varies)."""
        s2 = self.config.duplicate_accel_m_s2**2
        eye = np.eye(3)[None, :, :]
        P[:, 0:3, 0:3] += eye * (s2 * tau**4 / 4.0)[:, None, None]
        P[:, 3:6, 3:6] += eye * (s2 * tau**2)[:, None, None]

    def _reach_bound(self, slots: IntArray, t_c: int, extra_var_m2: FloatArray | float = 0.0) -> FloatArray:
        """A coarse bound on how far from its stored position system track ``slots`` can be gated at ``t_c``
        (to pick candidate pairs before predicting): the gate's reach on its position variance (plus
        ``extra_var_m2``), the distance flown since its time at up to 10 m/s² more, and 1 km for the process
        noise of the prediction."""
        cfg, st = self.config, self._st
        dt = np.abs(t_c - st.t_ns[slots]).astype(np.float64) * _NS
        rho = np.sqrt(cfg.gate_chi2 * (st.P[slots, 0, 0] + st.P[slots, 1, 1] + st.P[slots, 2, 2] + extra_var_m2))
        return rho + dt * (np.linalg.norm(st.x[slots, 3:], axis=1) + 10.0 * dt) + 1000.0

    def _widened(self, slots: IntArray, t_c: int) -> tuple[FloatArray, FloatArray]:
        """System tracks ``slots`` predicted to ``t_c``, their covariance widened by the manoeuvre allowance
        over ``duplicate_manoeuvre_s`` plus the time since a sensor last updated them (:meth:`_widen`)."""
        cfg = self.config
        x, P = self._predict_systems(slots, t_c)
        self._widen(
            P, cfg.duplicate_manoeuvre_s + np.maximum(t_c - self._st.fresh_ns[slots], 0).astype(np.float64) * _NS
        )
        return x, P

    def _handover(
        self, xf: FloatArray, Pf: FloatArray, new: npt.NDArray[np.bool_], t_c: int, bit: np.int64, taken: IntArray
    ) -> IntArray:
        """For each free local track (states ``xf``, ``Pf`` at ``t_c``) that would start a new system track
        (``new``): the slot of a system track that went dormant within ``handover_s`` (and is not reacquired in
        this batch: ``taken``) whose number it takes over, or -1.

        A hand-over needs a 6-D gate (``gate_chi2``) against the dormant track's prediction widened by the
        manoeuvre allowance (:meth:`_widened`), and no ambiguity: the local track fits that dormant track
        only, no other new local track fits it, and the local track fits no live system track under the
        same allowance (two objects close together in a salvo: no number goes to the wrong one).
        """
        cfg = self.config
        st = self._st
        out = np.full(new.size, -1, dtype=np.int64)
        n = self._st_n
        if cfg.handover_s <= 0 or not new.any() or not st.dormant[:n].any():
            return out
        now_ns = self._now_ns if self._now_ns is not None else 0
        recent = np.nonzero(st.dormant[:n] & (st.dormant_since_ns[:n] >= now_ns - round(cfg.handover_s * 1e9)))[0]
        recent = recent[~np.isin(recent, taken)]
        if recent.size == 0:
            return out
        rows_new = np.nonzero(new)[0]
        xa, Pa = np.ascontiguousarray(xf[rows_new]), np.ascontiguousarray(Pf[rows_new])
        mask_a = np.full(rows_new.size, bit, dtype=np.int64)
        xd, Pd = self._widened(recent, t_c)
        t_k = time.perf_counter()
        rows, cols, _ = gate_pairs(
            xa, Pa, mask_a, xd, Pd, np.zeros(recent.size, dtype=np.int64), cfg.gate_chi2, cfg.min_cell_m, False
        )
        self.timings_s["gate"] += time.perf_counter() - t_k
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
            tau = cfg.duplicate_manoeuvre_s + np.maximum(t_c - st.fresh_ns[live], 0).astype(np.float64) * _NS
            bound = self._reach_bound(live, t_c, 3.0 * cfg.duplicate_accel_m_s2**2 * tau**4 / 4.0)
            reach = np.sqrt(cfg.gate_chi2 * np.trace(Pa[rows, :3, :3], axis1=1, axis2=2))
            dist = np.linalg.norm(st.x[live, None, :3] - xa[None, rows, :3], axis=2)  # (live, rows)
            live = live[np.any(dist <= bound[:, None] + reach[None, :], axis=1)]
        if live.size:
            xl, Pl = self._widened(live, t_c)
            t_k = time.perf_counter()
            hit_rows, _, _ = gate_pairs(
                np.ascontiguousarray(xa[rows]), np.ascontiguousarray(Pa[rows]), np.zeros(rows.size, dtype=np.int64),
                xl, Pl, np.zeros(live.size, dtype=np.int64), cfg.gate_chi2, cfg.min_cell_m, False,
            )  # fmt: skip
            self.timings_s["gate"] += time.perf_counter() - t_k
            keep = np.ones(rows.size, dtype=np.bool_)
            keep[hit_rows] = False
            rows, cols = rows[keep], cols[keep]
        out[rows_new[rows]] = recent[cols]
        return out

    def _members_of(self, sys_slots: IntArray) -> dict[int, list[int]]:
        lt = self._lt
        n = self._lt_n
        sel = np.nonzero(lt.alive[:n] & _in_slots(lt.sys[:n], sys_slots, self._st_n))[0]
        out: dict[int, list[int]] = {}
        for s, m in zip(lt.sys[sel].tolist(), sel.tolist(), strict=True):
            out.setdefault(s, []).append(m)
        return out

    def _align_groups(self, sys_slots: set[int]) -> _Groups:
        """Members of the system tracks ``sys_slots``, grouped, each aligned to its group's newest time."""
        lt = self._lt
        n = self._lt_n
        sys_arr = _sorted_array(sys_slots)
        sel = np.nonzero(lt.alive[:n] & _in_slots(lt.sys[:n], sys_arr, self._st_n))[0]
        sel = sel[np.argsort(lt.sys[sel], kind="stable")]
        slots, starts = _group_starts(lt.sys[sel])
        offsets = np.append(starts, sel.size).astype(np.int64)
        counts = np.diff(offsets)
        if sel.size:
            t_f = np.maximum.reduceat(lt.t_ns[sel], starts)
            dt = (np.repeat(t_f, counts) - lt.t_ns[sel]).astype(np.float64) * _NS
            x, P = self._predict(lt.x[sel], lt.P[sel], dt, lt.phase[sel], lt.beta[sel])
        else:
            t_f = np.empty(0, dtype=np.int64)
            x, P = np.empty((0, 6)), np.empty((0, 6, 6))
        return _Groups(sys_arr, sel, slots, offsets, t_f, x, P, np.repeat(counts, counts))

    def _refuse(self, changed_sys: set[int], deleted_ids: list[int], g: _Groups | None = None) -> None:
        """Fuse the changed system tracks from their aligned members; delete those without members."""
        if not changed_sys:
            return
        if g is None:
            g = self._align_groups(changed_sys)
        lt, st = self._lt, self._st
        for s in _slots_not_in(g.requested, g.slots, self._st_n).tolist():
            if st.alive[s]:
                self._end_system(int(s), deleted_ids, reacquirable=True)
            changed_sys.discard(int(s))
        if g.slots.size == 0:
            return
        sel, starts = g.sel, g.offsets[:-1]
        x_out = np.empty((g.slots.size, 6))
        P_out = np.empty((g.slots.size, 6, 6))
        w_out = lt.w[sel].copy()
        key = np.empty(sel.size, dtype=np.int64)
        if self.config.ci_warm_by_newest:
            keyed_warm_start(g.offsets, sel, lt.t_ns, lt.src, g.t_f, lt.w_key, lt.w_by, w_out, key)
        ok = np.empty(g.slots.size, dtype=np.bool_)
        t_k = time.perf_counter()
        ci_fuse_groups(g.offsets, g.x, g.P, x_out, P_out, w_out, ok)
        self.timings_s["fuse"] += time.perf_counter() - t_k
        lt.w[sel] = w_out
        if self.config.ci_warm_by_newest:
            store_keyed_weights(sel, key, w_out, lt.w_key, lt.w_by)
        good = g.slots[ok]
        st.x[good] = x_out[ok]
        st.P[good] = P_out[ok]
        st.t_ns[good] = g.t_f[ok]
        bits = np.left_shift(np.int64(1), lt.src[sel])
        st.mask[g.slots] = np.bitwise_or.reduceat(bits, starts)
        st.phase[g.slots] = np.maximum.reduceat(lt.phase[sel], starts)
        st.fresh_ns[g.slots] = np.maximum.reduceat(lt.fresh_ns[sel], starts)
        known = lt.beta[sel] > 0.0
        n_known = np.add.reduceat(known.astype(np.float64), starts)
        st.beta[g.slots] = np.where(n_known > 0, np.add.reduceat(lt.beta[sel], starts) / np.maximum(n_known, 1), 0.0)

    def _merge(self, changed_sys: set[int], deleted_ids: list[int]) -> None:
        """Merge changed system tracks into others without a common source when their states gate."""
        cfg = self.config
        if not changed_sys or cfg.merge_chi2 <= 0:
            return
        st = self._st
        a = _sorted_array(changed_sys)
        a = a[st.alive[a]]
        live = np.nonzero(st.alive[: self._st_n])[0]
        if a.size == 0 or live.size < 2:
            return
        # a track holding every source that any track holds cannot be disjoint from another: skip those
        all_bits = np.bitwise_or.reduce(st.mask[live])
        a = a[st.mask[a] != all_bits]
        live = live[st.mask[live] != all_bits]
        if a.size == 0 or live.size < 2:
            return
        t_c = int(st.t_ns[a].max())
        xa, Pa = self._predict_systems(a, t_c)
        xb, Pb = self._predict_systems(live, t_c)
        t_k = time.perf_counter()
        rows, cols, d2 = gate_pairs(
            xa, Pa, np.ascontiguousarray(st.mask[a]), xb, Pb, np.ascontiguousarray(st.mask[live]),
            cfg.merge_chi2, cfg.min_cell_m, False,
        )  # fmt: skip
        self.timings_s["gate"] += time.perf_counter() - t_k
        if rows.size == 0:
            return
        lt = self._lt
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
            n = self._lt_n
            lt.sys[:n][lt.alive[:n] & (lt.sys[:n] == gone)] = keep
            self._refs_dirty.add(keep)
            st.mask[keep] |= st.mask[gone]
            done.update((s1, s2))
            merged_any.add(keep)
            changed_sys.add(keep)
            self._end_system(gone, deleted_ids, reacquirable=False)
            changed_sys.discard(gone)
        if merged_any:
            self._refuse(merged_any, deleted_ids)

    def _tracks(self, slots: IntArray) -> list[SystemTrack]:
        st = self._st
        return self._build(slots, st.t_ns[slots], st.x[slots], st.P[slots])

    def _build(self, slots: IntArray, t_ns: IntArray, x: FloatArray, P: FloatArray) -> list[SystemTrack]:
        """SystemTrack objects for system track ``slots`` with the given times and states ``x``, ``P``: arrays
        that the caller made for this call (a gather or a prediction), which the results keep as views."""
        st = self._st
        refs = self._st_refs
        stale = [s for s in slots.tolist() if refs[s] is None or s in self._refs_dirty]
        if stale:
            members = self._members_of(np.asarray(stale, dtype=np.int64))
            for s in stale:
                src = sorted(
                    (r for r in (self._lt_ref[m] for m in members.get(s, [])) if r is not None),
                    key=lambda r: (r.nation, r.node_id, r.local_track_number),
                )
                refs[s] = (tuple(src), tuple(sorted({r.nation for r in src})))
                self._refs_dirty.discard(s)
        x = np.asarray(x, dtype=np.float64)  # never engine state itself: the results do not alias it
        P = np.asarray(P, dtype=np.float64)
        # Frozen dataclass construction costs ~1 µs per object in __init__ (object.__setattr__ per field);
        # filling the instance dict directly, key by key in field order, gives the identical object (same fields,
        # eq, repr) in under half the time (a keyword update(...) builds a second dict: ~20 % slower), which
        # matters at thousands of tracks per batch.
        new = object.__new__
        out: list[SystemTrack] = []
        append = out.append
        ids, phases, fresh = st.id[slots].tolist(), st.phase[slots].tolist(), st.fresh_ns[slots].tolist()
        for s, i, t, ph, xk, Pk, f in zip(
            slots.tolist(), ids, t_ns.tolist(), phases, list(x), list(P), fresh, strict=True
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
            append(obj)
        return out
