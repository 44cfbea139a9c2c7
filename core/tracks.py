"""Domain types for tracks: what the services hand to the core and get back. No protobuf here.

Glossary (used across ``triwarn.core``):

- state ``x``: ``[x, y, z, vx, vy, vz]`` in ECEF (WGS-84), metres and metres per second; shape ``(6,)`` or
  ``(n, 6)`` for ``n`` tracks (struct of arrays, C-contiguous).
- covariance ``P``: ``(6, 6)`` or ``(n, 6, 6)``, units m², m²/s, m²/s².
- time: integer nanoseconds since the Unix epoch (UTC) at the edges (``time_ns``); inside the math float
  seconds relative to an epoch close to the data (``t_s``).
- nations: the lower-case codes of :data:`NATIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import numpy.typing as npt

#: The nations of the mechanism, by lower-case code. The US is the hub.
NATIONS: tuple[str, ...] = ("us", "jp", "kr")


class Phase(IntEnum):
    """Flight phase (values match ``triwarn.v1.FlightPhase``)."""

    UNKNOWN = 0
    BOOST = 1
    MIDCOURSE = 2
    TERMINAL = 3


class Status(IntEnum):
    """Local track status (values match ``triwarn.v1.TrackStatus``)."""

    UNKNOWN = 0
    CONFIRMED = 1
    COASTING = 2
    DELETED = 3


FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class LocalTrackBatch:
    """One node's local tracks at one update cycle (n tracks), already validated by the wire adapter."""

    nation: str
    node_id: str
    batch_seq: int
    bd_seq: int
    sent_time_ns: int
    track_numbers: IntArray  # (n,) local track numbers
    time_ns: IntArray  # (n,) time of validity of each state
    x: FloatArray  # (n, 6) ECEF state
    P: FloatArray  # (n, 6, 6) covariance
    phase: IntArray  # (n,) Phase values
    status: IntArray  # (n,) Status values
    quality: FloatArray  # (n,) in [0, 1]
    beta_kg_m2: FloatArray  # (n,) ballistic coefficient estimate, 0 when unknown
    sensor_ids: tuple[tuple[str, ...], ...] = field(default=())  # per track
    #: (n,) when a measurement last updated each track (ns, at or before time_ns; 0: not reported); empty: the
    #: node reports none (the engine then takes a state not reported COASTING as updated)
    last_update_ns: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: (n,) how many objects each track may stand for (1; more: an unresolved group the node's tracker cannot
    #: resolve; 0: not reported); empty: the node reports none
    objects: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.track_numbers.shape[0])


@dataclass(frozen=True)
class SourceRef:
    """A local track that contributes to a system track."""

    nation: str
    node_id: str
    local_track_number: int


@dataclass(frozen=True)
class SystemTrack:
    """One fused object of the picture, as the fusion core reports it."""

    track_id: int  # system track number: never changes, never reused
    time_ns: int  # time of validity of x and P
    x: FloatArray  # (6,) fused ECEF state
    P: FloatArray  # (6, 6) fused covariance
    nations: tuple[str, ...]  # contributing nations, sorted
    sources: tuple[SourceRef, ...]
    phase: Phase = Phase.UNKNOWN
    #: time of the newest measurement update among its members (a node's reported last_update_ns, else its
    #: newest state not reported COASTING); 0 = unknown.
    #: ``time_ns - fresh_ns`` is how long the state has only been predicted (coasted).
    fresh_ns: int = 0
    #: objects this track may stand for: 1, or more while a node reports several objects here that the picture
    #: has not resolved into tracks of their own yet (a ripple-fired salvo in boost: issue 14 item 2)
    objects: int = 1
