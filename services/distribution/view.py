"""One view's picture as the hub holds it: its tracks and active warnings, its sequence numbers, and its
subscribers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from triwarn.v1 import picture_pb2, release_pb2, tracks_pb2

if TYPE_CHECKING:  # a cycle: a subscription reads its view (for annotations only)
    from triwarn.services.distribution.subscription import Subscription

_ENDED_WARNING_STATES = frozenset({picture_pb2.Warning.STATE_ENDED, picture_pb2.Warning.STATE_CANCELLED})


@dataclass
class ViewState:
    """The picture of view ``name`` (``nation``: its ``triwarn.v1.Nation``) as of update ``last_seq``."""

    name: str
    nation: tracks_pb2.Nation
    tracks: dict[int, picture_pb2.SystemTrack] = field(default_factory=dict)
    warnings: dict[int, picture_pb2.Warning] = field(default_factory=dict)
    last_seq: int = 0  # last update applied (committed and fanned out)
    next_seq: int = 0  # last seq assigned by publish
    checkpoint_seq: int = 0
    last_time_ns: int = 0  # time_ns of the last update applied (the fusion service's clock)
    #: the releasability label of the last update applied and its signature (None: none), which snapshots carry
    label: release_pb2.ReleaseLabel | None = None
    label_signature: release_pb2.LabelSignature | None = None
    subscribers: set[Subscription] = field(default_factory=set)

    def apply(
        self,
        update: picture_pb2.PictureUpdate,
        seq: int | None = None,
        label: tuple[release_pb2.ReleaseLabel | None, release_pb2.LabelSignature | None] | None = None,
    ) -> None:
        """Apply a DELTA (or replace everything with a SNAPSHOT) as update ``seq`` (default: its own), labelled
        ``label`` (label, signature; default: the update's own)."""
        if update.kind == picture_pb2.PictureUpdate.KIND_SNAPSHOT:
            self.tracks.clear()
            self.warnings.clear()
        for t in update.tracks:
            self.tracks[t.track_id] = t
        for track_id in update.deleted_track_ids:
            self.tracks.pop(track_id, None)
        for w in update.warnings:
            if w.state in _ENDED_WARNING_STATES:
                self.warnings.pop(w.warning_id, None)
            else:
                self.warnings[w.warning_id] = w
        self.last_seq = update.seq if seq is None else seq
        self.last_time_ns = update.time_ns
        if label is None:
            label = (
                update.label if update.HasField("label") else None,
                update.label_signature if update.HasField("label_signature") else None,
            )
        self.label, self.label_signature = label

    def class_of(self, track_id: int) -> int | None:
        t = self.tracks.get(track_id)
        return None if t is None else int(t.missile_class)

    def snapshot(self) -> picture_pb2.PictureUpdate:
        snap = picture_pb2.PictureUpdate(
            seq=self.last_seq,
            kind=picture_pb2.PictureUpdate.KIND_SNAPSHOT,
            view=self.nation,
            time_ns=self.last_time_ns,  # a snapshot is the picture as of its last update
        )
        if self.label is not None:
            snap.label.CopyFrom(self.label)
            if self.label_signature is not None:
                snap.label_signature.CopyFrom(self.label_signature)
        snap.tracks.extend(self.tracks[k] for k in sorted(self.tracks))
        snap.warnings.extend(self.warnings[k] for k in sorted(self.warnings))
        return snap
