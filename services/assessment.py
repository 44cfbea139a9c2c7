"""Assessment and warnings in a picture update: the glue the picture adapter calls (services/picture.py).

Per update of one view: assess the changed system tracks (:class:`triwarn.core.trajectory.assess.Assessor`),
fill their ``SystemTrack`` messages, run the view's :class:`triwarn.services.warnings.WarningBook` and append
the new or changed warnings to the update.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from triwarn.core.trajectory.assess import Assessment
from triwarn.services.warnings import fill_track_assessment, warning_to_proto


def apply_assessment(
    assessor: Any,
    book: Any,
    changed: Sequence[Any],
    deleted: Sequence[int],
    tracks_pb: Sequence[Any],
    update: Any,
    now_ns: int,
) -> dict[int, Assessment]:
    """Assess ``changed`` (domain SystemTracks; ``tracks_pb[i]`` is the message of ``changed[i]``), fill the
    messages, update the warning book with the assessments and the ``deleted`` track ids, and append the
    changed warnings to ``update.warnings``. Returns the assessments by track id."""
    assessments: dict[int, Assessment] = assessor.assess(list(changed), now_ns)
    for track, msg in zip(changed, tracks_pb, strict=True):
        a = assessments.get(track.track_id)
        if a is not None:
            fill_track_assessment(msg, a)
    if book is not None:
        for w in book.update(assessments, deleted, now_ns):
            update.warnings.append(warning_to_proto(w))
    assessor.forget(list(deleted))
    return assessments
