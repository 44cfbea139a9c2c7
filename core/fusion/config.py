"""Tuning of the fusion engine (:class:`FusionConfig`) and what one call of it changed (:class:`FusionResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from triwarn.core.fusion.align import BallisticModel
from triwarn.core.fusion.association import CHI2_6DOF_0999
from triwarn.core.tracks import SystemTrack


@dataclass(frozen=True)
class FusionConfig:
    """Tuning of the fusion engine. Defaults are sensible for 1 s node update cycles."""

    #: chi-square gate on the 6-D aligned difference (default: 0.999 quantile for 6 degrees of freedom)
    gate_chi2: float = CHI2_6DOF_0999
    #: a local track leaves its system track only when its aligned difference exceeds this (hysteresis
    #: against the gate: the 1 - 1e-6 quantile for 6 degrees of freedom)
    release_chi2: float = 38.25833637714585
    #: a local track beyond the release gate while two other members of its system track agree (outvoted) in
    #: this many consecutive updates of its own is drifting off the object: it may no longer rejoin that system
    #: track at once, and the number stays with the members that agree. Fewer updates are the trackers of
    #: several nations seeing one burnout a cycle or two apart (it rejoins). # assumption: not a published figure
    outvoted_updates: int = 3
    #: a local track whose new state is this far (d², aligned: its previous state predicted to the new time,
    #: both covariances) from its previous state is another object under a reused number (a node that
    #: restarted numbers its tracks again): it is taken as a new local track and leaves its system track, so
    #: that its old number never passes to that object. The 1 - 1e-200 quantile of 6 degrees of freedom,
    #: far above any update of one object (docs/fusion.md "Reused local numbers"); inf switches the check off.
    #: # assumption
    renumbered_chi2: float = 1000.0
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
    #: ... and only when nothing else could be that object (membership.Membership.reacquisition_clear): the
    #: new local track gates no live system track, no other new local track gates the dormant one, the dormant
    #: one's prediction gates no live system track, and it fits the dormant track better than any other dormant
    #: one by at least this much d² (9.21: a likelihood ratio of 100). # assumption: engineering choice
    reacquire_margin_chi2: float = 9.21
    #: twin dormant tracks (their predictions gate each other) are told apart by a new track only when its
    #: Mahalanobis distance to one's predicted position is below this fraction of the distance between the two
    #: predicted positions, both in that pair's position metric (0.5: nearer than half-way; 0: never). A close
    #: pair of lofted ICBMs 270 km apart, whose predictions after an hour without a sensor (σ ~70 km) gate each
    #: other, lost both numbers at re-entry (docs/quality.md, "Session 17"). # assumption: engineering choice
    twin_split: float = 0.5
    #: ... and a track that ended in BOOST is not reacquired at all (only handed over, ``handover_s``): its
    #: prediction is a ball of white-noise acceleration around the last state, not the thrusting missile's
    #: path, and fits a missile just launched nearby (raid seed 2: a number came back 30 s later on a launch
    #: 49 km from its missile). True: reacquire it like any other dormant track.
    reacquire_boost: bool = False
    #: a track that ended in BOOST is reacquired by its path instead (``membership.Membership.boost_path``):
    #: for this long (data time, seconds) after it went dormant, a new local track seen after burnout (not in
    #: BOOST) takes its number when that track's state, coasted back ballistically (the fusion model, the
    #: track's β) to the dormant track's last time, passes the dormant track's last position within the χ²
    #: gate ``boost_path_chi2`` (3-D) on both covariances plus ``boost_path_pos_m`` per axis (the missile
    #: thrusts on for a few seconds after an infrared track's last update), and nothing else is in doubt: the
    #: new track passes no other such dormant track, no other new track of the batch passes this one, and no
    #: live system track after burnout passes it (the missile may already hold another number). An infrared
    #: track ends at burnout and a radar's first track begins 5-50 s later; in a raid 148 of 287 number changes
    #: were this (docs/quality.md, "Session 12"). 0 disables, and so does ``reacquire_s = 0`` (no track goes
    #: dormant). # assumption: engineering choice (the infrared
    #: track's end to the first radar track: 4-52 s, 10th-90th percentile, raid family)
    boost_path_s: float = 90.0
    #: ... the allowance per axis, metres: thrust for ~3 s after the last state (the node coasts an infrared
    #: track ~4 s before it deletes it) and the triangulated position's error. # assumption: not a published figure
    boost_path_pos_m: float = 3_000.0
    #: ... and the gate (χ² with 3 degrees of freedom; 11.34: 99%). # assumption: engineering choice
    boost_path_chi2: float = 11.34
    #: ... and not in a salvo: no other system track, live or dormant, born within this many seconds of the
    #: dormant one and within ``handover_lone_m`` of its last state. In a ripple-fired salvo one infrared track
    #: can hold several missiles in turn, unresolved, and its number came back on another missile than the one
    #: it held longest: raids passed 11 → 25 numbers (docs/quality.md, "Session 12"). # assumption: engineering
    #: choice (a salvo's launches fall within a minute or two). 0 switches this rule off, and so does
    #: ``handover_lone_m = 0`` (the salvo test reuses that distance).
    boost_path_salvo_s: float = 120.0
    #: a node's count of the objects one of its tracks stands for (``LocalTrack.estimated_objects``: plumes its
    #: infrared track cannot resolve) is taken less the other reported system tracks within this distance of
    #: the system track (metres): those objects have their own numbers already. # assumption: a few infrared
    #: gates at geostationary range (~1-2 km each); engineering choice
    group_near_m: float = 10_000.0
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
    #: ... and up to this long for a lone dormant track: no other system track, live or dormant, within
    #: ``handover_lone_m`` of its last state. An infrared track ends at burnout (the plume goes out) and the
    #: first radar track may begin 10-20 s later; in a salvo a longer window passes numbers between missiles
    #: (docs/quality.md, "Session 11"), which the lone test keeps out. # assumption: engineering choice
    handover_lone_s: float = 20.0
    #: no other system track, live or dormant (of any age up to ``reacquire_s``: stricter than needed), this
    #: close (metres, last states) for the longer window: beyond any salvo's spread and any other object's
    #: manoeuvre allowance over it. ``handover_lone_s <= handover_s`` switches the longer window off (0 here
    #: makes every track lone). # assumption: engineering choice
    handover_lone_m: float = 300_000.0
    #: a node's reported last measurement update of a local track (what SystemTrack.fresh_ns reports) counts as
    #: at most this old (data time, s): a node deletes a track it no longer updates after 20 s
    #: (TrackerConfig.delete_after_s); an older value is taken as this old. # assumption: engineering choice
    last_update_max_age_s: float = 30.0
    #: warm start of the CI weights (speed only: the optimum is the same to the weights' tolerance): from the
    #: weights of the last fusion of the group in which the same source held the newest member (False: from
    #: the last fusion, whichever source was newest). A track's optimal weights follow which member is fresh
    #: and which ones are predicted, and the nodes report in turn, so the last fusion is the wrong start by a
    #: whole turn and the same turn one round earlier is almost exactly the optimum (docs/fusion.md, "Fusion:
    #: covariance intersection"; FusionEngine.ci_newton_steps counts the steps).
    ci_warm_by_newest: bool = True

    def __post_init__(self) -> None:
        if not self.gate_chi2 > 0 or not self.merge_chi2 >= 0 or not self.release_chi2 >= self.gate_chi2:
            raise ValueError("gate_chi2 must be > 0, merge_chi2 >= 0 and release_chi2 >= gate_chi2")
        if not self.renumbered_chi2 >= self.release_chi2:
            raise ValueError("renumbered_chi2 must be >= release_chi2")
        if not self.outvoted_updates >= 1:
            raise ValueError("outvoted_updates must be >= 1")
        if not self.late_window_s >= 0 or not self.source_timeout_s >= max(self.late_window_s, 1e-9):
            raise ValueError("late_window_s must be >= 0 and source_timeout_s > 0 and >= late_window_s")
        if not self.reacquire_s >= 0 or not self.reacquire_margin_chi2 >= 0 or not 0 <= self.twin_split <= 0.5:
            raise ValueError("reacquire_s and reacquire_margin_chi2 must be >= 0, twin_split within [0, 0.5]")
        if not self.duplicate_manoeuvre_s >= 0 or not self.duplicate_accel_m_s2 >= 0:
            raise ValueError("duplicate_manoeuvre_s and duplicate_accel_m_s2 must be >= 0")
        if not self.group_near_m >= 0:
            raise ValueError("group_near_m must be >= 0")
        boost_path = (self.boost_path_s, self.boost_path_pos_m, self.boost_path_chi2, self.boost_path_salvo_s)
        if not all(v >= 0 for v in boost_path):  # (NaN fails too)
            raise ValueError("boost_path_s, boost_path_pos_m, boost_path_chi2 and boost_path_salvo_s must be >= 0")
        if not self.handover_s >= 0 or not self.handover_lone_s >= 0 or not self.handover_lone_m >= 0:
            raise ValueError("handover_s, handover_lone_s and handover_lone_m must be >= 0")
        if not self.last_update_max_age_s > 0:
            raise ValueError("last_update_max_age_s must be > 0")
        if len(self.q_by_phase_m2_s3) != 4 or min(self.q_by_phase_m2_s3) < 0:
            raise ValueError("q_by_phase_m2_s3 needs 4 non-negative values (UNKNOWN, BOOST, MIDCOURSE, TERMINAL)")


@dataclass(frozen=True)
class FusionResult:
    """What one :meth:`.engine.FusionEngine.ingest` changed."""

    changed: list[SystemTrack]  # new or updated system tracks, by track_id
    #: system track numbers that ended (all sources dropped, or merged into another). A track that ended
    #: because every source dropped it comes back under the same number if the same object is reacquired
    #: within ``FusionConfig.reacquire_s`` (numbers are never given to another object).
    deleted: list[int]
    late_dropped: int  # track states dropped as too old (late window, or older than the state held)
    #: local tracks whose number came back on another object (``FusionConfig.renumbered_chi2``): taken as new
    renumbered: int = 0
