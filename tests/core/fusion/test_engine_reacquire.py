"""Reacquisition of a dormant system track's number (FusionConfig.reacquire_s) only when nothing else could be
that object (Membership.reacquisition_clear): a number never comes back on another missile."""

from __future__ import annotations

import dataclasses

import numpy as np
from engine_batches import T0, X_OBJ, S, make_batch, true_state

from triwarn.core.fusion.config import FusionConfig
from triwarn.core.fusion.engine import FusionEngine

#: missile B, the next of a ripple-fired pair: on A's path, 5 s behind it (where A was 5 s before T0)
X_B = true_state(T0 - 5 * S)


def _numbers(results) -> set[int]:
    return {t.track_id for r in results for t in r.changed}


def test_a_node_restarting_its_track_on_the_next_missile_does_not_get_the_dormant_number() -> None:
    """A (1) and B (2) on one path, 5 s apart (~21 km), both poorly tracked by the US; A's track ends, and a
    minute later the US tracker starts a second track on B (its first track of B still live: the same-source
    rule keeps it out of 2). That track fits 1's prediction (σ ~ 6 km along the path after 60 s), but 1's
    prediction also holds B's live track: in doubt, a new number; 1 never lands on B."""
    engine = FusionEngine()
    engine.ingest(make_batch("us", T0, [1, 2], [X_OBJ, X_B], sd=20.0))
    res = engine.ingest(make_batch("us", T0 + S, [2], [true_state(T0 + S, X_B)], sd=20.0))
    assert res.deleted == [1]
    out = []
    for k in range(2, 62):
        t = T0 + k * S
        out.append(engine.ingest(make_batch("us", t, [2], [true_state(t, X_B)], sd=20.0)))
    t = T0 + 62 * S
    xb = true_state(t, X_B)
    res = engine.ingest(make_batch("us", t, [2, 7], [xb, xb + np.array([300.0, 0, 0, 0, 0, 0])], sd=20.0))
    assert 1 not in _numbers([*out, res])


def test_a_track_between_two_dormant_numbers_gets_a_new_one() -> None:
    """A (1) and B (2) side by side 4 km apart end together; 30 s later JP starts a track half-way between
    their predictions: it fits both about equally (d² within 9.21): a new number, not either of theirs."""
    xa, xb = X_OBJ, X_OBJ + np.array([4000.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    engine = FusionEngine()
    engine.ingest(make_batch("us", T0, [1, 2], [xa, xb], sd=10.0))
    res = engine.ingest(make_batch("us", T0 + S, [], []))
    assert sorted(res.deleted) == [1, 2]
    t = T0 + 30 * S
    mid = 0.5 * (true_state(t, xa) + true_state(t, xb))
    (track,) = engine.ingest(make_batch("jp", t, [5], [mid], sd=10.0)).changed
    assert track.track_id == 3


def test_a_clear_reacquisition_next_to_another_dormant_number_keeps_its_number() -> None:
    """The same pair 40 km apart: a track on B fits 2 and not 1 (or far worse): 2 comes back."""
    xa, xb = X_OBJ, X_OBJ + np.array([40e3, 0.0, 0.0, 0.0, 0.0, 0.0])
    engine = FusionEngine()
    engine.ingest(make_batch("us", T0, [1, 2], [xa, xb], sd=10.0))
    engine.ingest(make_batch("us", T0 + S, [], []))
    t = T0 + 30 * S
    (track,) = engine.ingest(make_batch("jp", t, [5], [true_state(t, xb)], sd=10.0)).changed
    assert track.track_id == 2


def test_two_new_tracks_fitting_one_dormant_number_both_get_new_ones() -> None:
    """One dormant number, and in one batch two new tracks 3 km apart that both fit its prediction (a pair
    resolved only now): neither takes it (which one is the missile that had it is not known)."""
    engine = FusionEngine()
    engine.ingest(make_batch("us", T0, [1], [X_OBJ], sd=10.0))
    engine.ingest(make_batch("us", T0 + S, [], []))
    t = T0 + 30 * S
    x = true_state(t)
    res = engine.ingest(make_batch("jp", t, [5, 6], [x, x + np.array([3000.0, 0, 0, 0, 0, 0])], sd=10.0))
    assert 1 not in _numbers([res])


def test_a_track_fitting_one_of_two_twin_dormant_numbers_gets_a_new_one() -> None:
    """Ripple fire C, A, B on one path 5 s apart; the US held A (1) and B (2), poorly, and never C (unresolved
    from A). Both numbers end; a minute later JP starts a track on C. It fits 1's prediction best (A is 20 km
    behind C) and clearly better than 2's, but 1's and 2's predictions gate each other: twins, which no new
    track can tell apart, and whose missiles may not be the only ones there. A new number, not A's."""
    x_c = true_state(T0 + 5 * S)
    engine = FusionEngine()
    engine.ingest(make_batch("us", T0, [1, 2], [X_OBJ, X_B], sd=20.0))
    res = engine.ingest(make_batch("us", T0 + S, [], []))
    assert sorted(res.deleted) == [1, 2]
    t = T0 + 61 * S
    (track,) = engine.ingest(make_batch("jp", t, [5], [true_state(t, x_c)], sd=20.0)).changed
    assert track.track_id == 3


def test_a_number_that_ended_in_boost_is_not_reacquired_by_its_forward_prediction() -> None:
    """A boost track ends; 30 s later a new track fits its prediction (a ball of white-noise acceleration, not
    the thrusting missile's path: it fits a missile just launched nearby as well): a new number. With
    ``reacquire_boost`` it comes back. (With the default ``boost_path_s`` it comes back by the new track's path
    back to it, a different test: tests/core/fusion/test_engine_boost_path.py.)"""
    no_path = FusionConfig(boost_path_s=0.0)
    for cfg, expected in ((no_path, 2), (FusionConfig(reacquire_boost=True, boost_path_s=0.0), 1), (FusionConfig(), 1)):
        engine = FusionEngine(cfg)
        engine.ingest(dataclasses.replace(make_batch("us", T0, [1], [X_OBJ], sd=5.0), phase=np.array([1])))
        assert engine.ingest(make_batch("us", T0 + S, [], [])).deleted == [1]
        t = T0 + 30 * S
        (track,) = engine.ingest(make_batch("jp", t, [5], [true_state(t)], sd=5.0)).changed
        assert track.track_id == expected


def _twins_then_jp(split: float, off_a_m: float = 0.0) -> tuple[int, int]:
    """Missiles A and B 270 km apart (along y), tracked poorly (σ 43 km, 1.1 km/s), end together; 30 s later
    (their predictions gate each other: twins) JP starts a track on A, ``off_a_m`` off it across the A-B line
    (along x), and in the next batch one on B. The numbers the two JP tracks get."""
    xa, xb = X_OBJ, X_OBJ + np.array([0.0, 270e3, 0.0, 0.0, 0.0, 0.0])
    engine = FusionEngine(FusionConfig(twin_split=split))
    engine.ingest(make_batch("us", T0, [1, 2], [xa, xb], sd=215.0))
    assert sorted(engine.ingest(make_batch("us", T0 + S, [], [])).deleted) == [1, 2]
    t = T0 + 30 * S
    off = np.array([off_a_m, 0.0, 0.0, 0.0, 0.0, 0.0])
    (on_a,) = engine.ingest(make_batch("jp", t, [5], [true_state(t, xa) + off])).changed
    res = engine.ingest(make_batch("jp", t + S, [5, 6], [true_state(t + S, xa) + off, true_state(t + S, xb)]))
    (on_b,) = [tr for tr in res.changed if tr.track_id != on_a.track_id]
    return on_a.track_id, on_b.track_id


def test_twin_numbers_far_apart_come_back_each_on_its_own_missile() -> None:
    """Close-pair seed 2: two lofted Hwasong-18s 270 km apart, predictions of σ ~70 km after an hour without a
    sensor, lost both numbers at re-entry (twins). A new track tells twins apart when its Mahalanobis distance to
    its number's predicted position is below FusionConfig.twin_split (0.5) times the two predicted positions'
    distance in the same metric: on A, both numbers come back, each on its own missile (with ``twin_split`` = 0,
    the rule before: two new numbers); 108 km (0.4 of the way) off A across the A-B line, still A's; 162 km (0.6)
    off, a new one (it fits only A's prediction, d² 14 against 39 between the predicted positions, but not from
    well inside A's side)."""
    assert _twins_then_jp(0.5) == (1, 2)
    assert _twins_then_jp(0.0) == (3, 4)
    assert _twins_then_jp(0.5, 0.4 * 270e3)[0] == 1
    assert _twins_then_jp(0.5, 0.6 * 270e3)[0] == 3
