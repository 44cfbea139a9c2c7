"""Slot storage of the fusion engine: local and system tracks as growable struct-of-arrays tables.

A local track (key: source, local track number) and a system track each live in a slot, a row of their
table (:class:`SlotArrays`); freed slots are reused, so slot numbers are small non-negative ints below the
number of slots ever used (``lt_n``, ``st_n``). A source is one (nation, node) pair; its index is its bit in
a system track's source mask (int64: at most :data:`MAX_SOURCES`). The set operations on slot numbers below
use a boolean table instead of NumPy's sorting set routines (np.setdiff1d of two 1,000-slot arrays sorts both;
the engine does several per batch) and give the same results as ``np.isin`` / ``np.setdiff1d`` /
``np.unique`` (tests/core/fusion/test_engine_bookkeeping.py compares them).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from triwarn.core.tracks import IntArray, SourceRef

#: most sources (nation, node pairs) one engine tracks: a system track's sources are an int64 bit set
MAX_SOURCES = 63
#: warm-start weights kept per local track, by the source of its group's newest member (direct-mapped: more
#: sources than this share columns, and a miss falls back to the last weights)
W_KEYS = 4


def sorted_slots(slots: set[int]) -> IntArray:
    """A set of slots as an ascending int64 array."""
    a = np.fromiter(slots, np.int64, len(slots))
    a.sort()
    return a


def in_slots(values: IntArray, members: IntArray, size: int) -> npt.NDArray[np.bool_]:
    """``np.isin(values, members)`` for slots ``members`` in [0, size) and ``values`` in [-1, size) (-1: none)."""
    table = np.zeros(size + 1, dtype=np.bool_)  # the last entry answers -1
    table[members] = True
    return table[values]


def slots_not_in(a: IntArray, b: IntArray, size: int) -> IntArray:
    """``np.setdiff1d(a, b)`` for unique ascending slots ``a`` and any slots ``b``, all in [0, size)."""
    return a[~in_slots(a, b, size)]


def group_starts(keys: IntArray) -> tuple[IntArray, IntArray]:
    """``np.unique(keys, return_index=True)`` for ``keys`` sorted ascending: the distinct keys and the index
    where each run starts."""
    if keys.size == 0:
        return keys[:0].copy(), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate((np.zeros(1, dtype=np.int64), starts))
    return keys[starts], starts


class SlotArrays:
    """Growable struct-of-arrays storage (capacity doubles): one array attribute per spec name, of shape
    (capacity, *shape). Read the attributes again after :meth:`ensure`: growing replaces the arrays."""

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


class TrackStore:
    """The engine's state: sources, local tracks (``lt``) and system tracks (``st``) in slots, and the data
    time "now" (``now_ns``: the newest track time seen, int64 ns, None before the first track)."""

    def __init__(self) -> None:
        # sources: (nation, node_id) -> index (bit in the masks)
        self.src_index: dict[tuple[str, str], int] = {}
        self.src_names: list[tuple[str, str]] = []
        self.src_last_batch_ns: list[int] = []
        # local tracks
        self.lt = SlotArrays(
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
                # (column = source index % W_KEYS; -1: none), see FusionConfig.ci_warm_by_newest
                "w_key": ((W_KEYS,), np.int64, -1),
                "w_by": ((W_KEYS,), np.float64, 0.0),
                "beta": ((), np.float64, 0.0),  # ballistic coefficient, kg/m² (0: unknown)
                "fresh_ns": ((), np.int64, 0),  # time of its newest state not reported COASTING
                # newest measurement update: the node's last_update_ns where reported, else fresh_ns
                "hit_ns": ((), np.int64, 0),
                # objects its node says it may stand for (LocalTrack.estimated_objects; 1 when not reported)
                "objects": ((), np.int64, 1),
                # consecutive updates of its own in which it was outvoted (Membership.outvoted) in the system
                # track numbered outvoted_of (-1: none); back to 0 on an update in which it is not (consistent,
                # or no majority) and on slot reuse; a release keeps it (it goes on if it rejoins outvoted_of)
                "outvoted": ((), np.int64, 0),
                "outvoted_of": ((), np.int64, -1),
            }
        )
        # per source: its local track numbers sorted and their slots (a vectorised look-up of a batch), rebuilt
        # after a local track of that source is created or freed
        self.src_lookup: list[tuple[IntArray, IntArray] | None] = []
        self.lt_ref: list[SourceRef | None] = []
        self.lt_free: list[int] = []
        self.lt_n = 0  # slots ever used
        # system tracks
        self.st = SlotArrays(
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
                "hit_ns": ((), np.int64, 0),  # newest measurement update of its members (lt.hit_ns)
                # objects it may stand for: 1, or 1 + the held tentative tracks that one of its own sources
                # reports beside it, or what a member's node reports (LocalTrack.estimated_objects) less the other
                # reported tracks near it (an unresolved group: see Lifecycle.confirm_tentative)
                "objects": ((), np.int32, 1),
                # the most objects it ever stood for (an unresolved group at some time if above 1)
                "objects_max": ((), np.int32, 1),
            }
        )
        self.st_free: list[int] = []
        self.st_n = 0
        # per system track slot: (sources, nations), rebuilt when its membership changed
        self.st_refs: list[tuple[tuple[SourceRef, ...], tuple[str, ...]] | None] = []
        self.refs_dirty: set[int] = set()
        self.next_id = 1
        self.tentative: set[int] = set()  # live system track slots not reported yet
        self.grouped: set[int] = set()  # reported slots whose ``objects`` is above 1
        self.now_ns: int | None = None

    def source(self, nation: str, node_id: str) -> int:
        """The index of source (nation, node_id), registered on first sight."""
        key = (nation, node_id)
        idx = self.src_index.get(key)
        if idx is None:
            if len(self.src_names) >= MAX_SOURCES:
                raise ValueError(f"more than {MAX_SOURCES} sources (nation, node) in one fusion engine")
            idx = len(self.src_names)
            self.src_index[key] = idx
            self.src_names.append(key)
            self.src_last_batch_ns.append(-(2**62))
            self.src_lookup.append(None)
        return idx

    def slots_of(self, src: int, nums: IntArray) -> IntArray:
        """Slots of source ``src``'s local tracks ``nums`` (-1: not held); the same as looking each
        (src, number) up in a dict, by a binary search in the source's sorted numbers."""
        cache = self.src_lookup[src]
        if cache is None:
            lt = self.lt
            mine = np.nonzero(lt.alive[: self.lt_n] & (lt.src[: self.lt_n] == src))[0]
            order = np.argsort(lt.num[mine], kind="stable")
            cache = (lt.num[mine][order], mine[order])
            self.src_lookup[src] = cache
        keys, vals = cache
        if keys.size == 0:
            return np.full(nums.size, -1, dtype=np.int64)
        i = np.minimum(np.searchsorted(keys, nums), keys.size - 1)
        return np.where(keys[i] == nums, vals[i], -1).astype(np.int64, copy=False)

    def new_local(self, src: int, num: int) -> int:
        """A slot for source ``src``'s new local track number ``num``, in no system track."""
        if self.lt_free:
            s = self.lt_free.pop()
        else:
            s = self.lt_n
            self.lt_n += 1
            self.lt.ensure(self.lt_n)
            self.lt_ref.append(None)
        lt = self.lt
        lt.src[s] = src
        lt.num[s] = num
        lt.sys[s] = -1
        lt.alive[s] = True
        lt.w[s] = 0.0
        lt.w_key[s] = -1
        lt.fresh_ns[s] = 0
        lt.hit_ns[s] = 0
        lt.objects[s] = 1
        lt.outvoted[s] = 0
        lt.outvoted_of[s] = -1
        self.src_lookup[src] = None
        nation, node = self.src_names[src]
        self.lt_ref[s] = SourceRef(nation=nation, node_id=node, local_track_number=num)
        return s

    def detach(self, s: int) -> None:
        """Take local track ``s`` out of its system track (clearing its source bit there)."""
        lt = self.lt
        sys_slot = int(lt.sys[s])
        if sys_slot >= 0:
            self.st.mask[sys_slot] &= ~(np.int64(1) << lt.src[s])
            lt.sys[s] = -1
            lt.w_key[s] = -1  # its keyed weights were for that group
            self.refs_dirty.add(sys_slot)

    def free_local(self, s: int) -> None:
        """Detach local track ``s`` and free its slot."""
        self.detach(s)
        lt = self.lt
        self.src_lookup[int(lt.src[s])] = None
        lt.alive[s] = False
        lt.sys[s] = -1
        lt.src[s] = -1
        self.lt_ref[s] = None
        self.lt_free.append(s)

    def new_system(self) -> int:
        """A slot for a new system track under the next number: live, tentative, without members."""
        if self.st_free:
            s = self.st_free.pop()
        else:
            s = self.st_n
            self.st_n += 1
            self.st.ensure(self.st_n)
            self.st_refs.append(None)
        self.st.id[s] = self.next_id
        self.next_id += 1
        self.st.alive[s] = True
        self.st.dormant[s] = False
        self.st.published[s] = False
        self.st.born_ns[s] = self.now_ns if self.now_ns is not None else 0
        self.st.mask[s] = 0
        self.st.objects[s] = 1
        self.st.objects_max[s] = 1
        self.st_refs[s] = None
        self.tentative.add(s)
        return s

    def live_systems(self) -> IntArray:
        """Reported live system track slots, by track number."""
        st = self.st
        slots = np.nonzero(st.alive[: self.st_n] & st.published[: self.st_n])[0]
        return slots[np.argsort(st.id[slots], kind="stable")]

    def reportable(self, changed_sys: set[int]) -> IntArray:
        """The reported live slots among ``changed_sys``, by track number."""
        st = self.st
        a = sorted_slots(changed_sys)
        a = a[st.alive[a] & st.published[a]]
        return a[np.argsort(st.id[a], kind="stable")]

    def members_of(self, sys_slots: IntArray) -> dict[int, list[int]]:
        """The live local track slots of each system track in ``sys_slots`` (those with members only)."""
        lt = self.lt
        n = self.lt_n
        sel = np.nonzero(lt.alive[:n] & in_slots(lt.sys[:n], sys_slots, self.st_n))[0]
        out: dict[int, list[int]] = {}
        for s, m in zip(lt.sys[sel].tolist(), sel.tolist(), strict=True):
            out.setdefault(s, []).append(m)
        return out
