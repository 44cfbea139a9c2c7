"""Subscriber filters: which tracks and warnings of a picture update a subscriber receives. A filter drops
tracks and warnings, never an update (a filtered-out track of a DELTA becomes a deletion)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from triwarn.v1 import picture_pb2, warning_service_pb2


@dataclass(frozen=True)
class FilterSpec:
    """A subscriber's filter (hashable: subscribers with equal filters share one serialization)."""

    areas: frozenset[int] = frozenset()
    min_level: int = 0
    classes: frozenset[int] = frozenset()

    @classmethod
    def from_proto(cls, f: warning_service_pb2.Filter) -> FilterSpec:
        return cls(frozenset(f.areas), int(f.min_level), frozenset(f.missile_classes))

    @property
    def empty(self) -> bool:
        return not self.areas and not self.min_level and not self.classes

    def track_passes(self, t: picture_pb2.SystemTrack) -> bool:
        if self.min_level and t.warning_level < self.min_level:
            return False
        if self.classes and t.missile_class not in self.classes:
            return False
        return not self.areas or any(a.kind in self.areas for a in t.threatened_areas)

    def warning_passes(self, w: picture_pb2.Warning, missile_class: int | None) -> bool:
        """``missile_class``: the class of the warned track, None when unknown (then the class test passes)."""
        if self.min_level and w.level < self.min_level:
            return False
        if self.classes and missile_class is not None and missile_class not in self.classes:
            return False
        return not self.areas or any(a.kind in self.areas for a in w.areas)


def filter_update(
    update: picture_pb2.PictureUpdate, spec: FilterSpec, class_of: Callable[[int], int | None]
) -> picture_pb2.PictureUpdate:
    """A copy of ``update`` with only what passes ``spec``; filtered-out tracks of a DELTA become deletions.

    ``class_of(track_id)`` gives the missile class of a track not in this update (None when unknown), to
    filter a warning by class."""
    out = picture_pb2.PictureUpdate(
        seq=update.seq,
        kind=update.kind,
        view=update.view,
        time_ns=update.time_ns,
        source_sent_time_ns=update.source_sent_time_ns,
    )
    if update.HasField("label"):
        out.label.CopyFrom(update.label)
    if update.HasField("label_signature"):
        out.label_signature.CopyFrom(update.label_signature)
    out.deleted_track_ids.extend(update.deleted_track_ids)
    classes = {t.track_id: t.missile_class for t in update.tracks}
    is_delta = update.kind == picture_pb2.PictureUpdate.KIND_DELTA
    for t in update.tracks:
        if spec.track_passes(t):
            out.tracks.append(t)
        elif is_delta:
            out.deleted_track_ids.append(t.track_id)
    for w in update.warnings:
        cls = classes.get(w.track_id)
        if spec.warning_passes(w, cls if cls is not None else class_of(w.track_id)):
            out.warnings.append(w)
    return out
