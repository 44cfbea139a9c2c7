"""Admission of a decoded batch or node status: the node registry and exactly-once effect.

The fusion service calls :meth:`Intake.admit` for every decoded batch and :meth:`Intake.check_node` for
every node status, after the wire adapter validated them and before anything is fused:

- **node registry** (``Settings.node_registry``): a nation's topic carries only the node ids registered for
  that nation; anything else is refused (reason ``unregistered_node``). The ids come from the registry, not
  from the payload: a bit-flipped or forged node id cannot become a new source of the engine. (Keys that
  authenticate a node are bound to these ids elsewhere; this holds either way.)
- **exactly-once**: a node numbers its batches ``batch_seq`` 0, 1, 2... within a birth ``bd_seq`` (which
  increases across the node's reconnects and restarts). A batch whose (node, bd_seq, batch_seq) is not newer
  than the last one admitted is a duplicate (a QoS 1 redelivery, a replay) and is refused (reason
  ``duplicate``); a batch of an older birth than the node's newest is refused too (``stale_session``). A jump
  forward in ``batch_seq`` counts the batches skipped as lost (``triwarn_batch_sequence_gaps``), as does a
  new birth whose first batch is not 0.
- **no lock-out by one bad batch**: sequence numbers are not authenticated (until batches are signed), and a
  single batch with a bit-flipped or forged ``bd_seq`` or ``batch_seq`` far ahead must not make every later
  genuine batch look like a duplicate or stale. So the sequence is kept per session (``bd_seq``), for the
  node's ``SESSIONS_KEPT`` newest sessions: a forged ``bd_seq`` opens a session of its own and leaves the
  genuine one alone; a ``batch_seq`` more than ``MAX_SEQ_JUMP`` ahead is refused (``sequence_jump``) without
  moving the session's sequence. A batch of a session older than the node's newest BIRTH (:meth:`birth`) and
  than every session kept is refused (``stale_session``). A batch of a session whose BIRTH was missed (the
  node reconnected before the service re-subscribed) is taken: its first batch number counts as lost.

MQTT delivers one publisher's QoS 1 messages to one subscriber in order, so "not newer than the last" is
exactly "seen before". The state is at most ``SESSIONS_KEPT`` pairs per registered node (bounded by the
registry).
"""

from __future__ import annotations

from triwarn.services.runtime.metrics import Metrics
from triwarn.services.runtime.settings import Settings
from triwarn.services.wire.tracks import RejectedInput

#: Largest forward jump of ``batch_seq`` taken as batches lost (more: the batch is refused, not the sequence
#: moved): ~3 hours of batches at one per second.
MAX_SEQ_JUMP = 10_000


#: Sessions (births) remembered per node: a batch of any of them is checked against that session's sequence.
SESSIONS_KEPT = 4


class Intake:
    """Node registry and per-node sequence state of one fusion service."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self._settings = settings
        self._metrics = metrics
        #: (nation, node) -> {bd_seq: last batch_seq taken}, the newest SESSIONS_KEPT sessions
        self._sessions: dict[tuple[str, str], dict[int, int]] = {}
        self._births: dict[tuple[str, str], int] = {}  # (nation, node) -> bd_seq of its newest BIRTH

    def birth(self, nation: str, node_id: str, bd_seq: int) -> None:
        """A registered node's BIRTH: batches of older births are refused from now on."""
        key = (nation, node_id)
        self._births[key] = max(bd_seq, self._births.get(key, bd_seq))

    def check_node(self, nation: str, node_id: str) -> None:
        """Raise :class:`RejectedInput` unless ``node_id`` is registered for ``nation``."""
        if not self._settings.registered(nation, node_id):
            raise RejectedInput(
                "unregistered_node",
                f"node id {node_id[:80]!r} is not in the node registry of {nation!r} (Settings.node_registry)",
            )

    def admit(self, nation: str, node_id: str, bd_seq: int, batch_seq: int) -> None:
        """Admit one batch (and remember its sequence) or raise :class:`RejectedInput`."""
        self.check_node(nation, node_id)
        key = (nation, node_id)
        sessions = self._sessions.setdefault(key, {})
        last = sessions.get(bd_seq)
        if last is not None:
            if batch_seq <= last:
                raise RejectedInput(
                    "duplicate", f"{nation}/{node_id}: batch {batch_seq} of birth {bd_seq} was already taken"
                )
            lost = batch_seq - last - 1
        else:
            oldest = min(self._births.get(key, bd_seq), min(sessions, default=bd_seq))
            if bd_seq < oldest:
                raise RejectedInput(
                    "stale_session", f"{nation}/{node_id}: batch of birth {bd_seq}, older than birth {oldest}"
                )
            lost = batch_seq  # the first batch taken of a session (a node numbers each birth from 0)
        if lost > MAX_SEQ_JUMP:
            raise RejectedInput(
                "sequence_jump", f"{nation}/{node_id}: batch {batch_seq} is {lost} batches ahead: refused"
            )
        if lost > 0:
            self._metrics.batch_gaps.labels(nation=nation).inc(lost)
        sessions[bd_seq] = batch_seq
        if len(sessions) > SESSIONS_KEPT:
            del sessions[min(sessions)]
