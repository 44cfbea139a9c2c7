"""A number that ended in boost comes back by the new track's path (FusionConfig.boost_path_s): an infrared
track ends at burnout, a radar's first track of the missile begins 5-50 s later; coasted back, the radar track
passes where the infrared track ended. When in doubt (a ripple seconds apart), a new number."""

from __future__ import annotations

import dataclasses

import numpy as np
from engine_batches import T0, X_OBJ, S, make_batch, true_state

from triwarn.core.fusion.config import FusionConfig
from triwarn.core.fusion.engine import FusionEngine
from triwarn.core.tracks import LocalTrackBatch, Phase

#: the infrared track's last state: 2 km off the missile and 300 m/s slow along its velocity (a track of a
#: thrusting missile lags it), its covariance a poor boost track's (1 km, 25 m/s per axis)
LAG = 300.0


def _boost_batch(t_ns: int, numbers: list[int], xs: list[np.ndarray]) -> LocalTrackBatch:
    b = make_batch("us", t_ns, numbers, xs, sd=5.0)
    return dataclasses.replace(b, phase=np.full(len(numbers), int(Phase.BOOST), dtype=np.int64))


def _ir_state(t_ns: int, x0: np.ndarray = X_OBJ) -> np.ndarray:
    x = true_state(t_ns, x0)
    v = x[3:] / np.linalg.norm(x[3:])
    return x + np.concatenate([np.array([2000.0, 0.0, 0.0]), -LAG * v])


def _behind(seconds: float) -> np.ndarray:
    """The state at T0 of a missile on the same path ``seconds`` behind X_OBJ (ripple fire)."""
    return true_state(T0 - round(seconds * S))


def _numbers(cfg: FusionConfig, gap_s: int, ripple_s: float | None = None, held_by_jp: bool = False) -> int:
    """The number the KR radar track of missile A gets ``gap_s`` after A's US infrared track ended in boost
    (0: held back, not reported); with ``ripple_s`` a second missile B flies ``ripple_s`` behind A: its US
    infrared track ends with A's or, with ``held_by_jp``, only JP holds B, from the start."""
    engine = FusionEngine(cfg)
    xb = _behind(ripple_s) if ripple_s is not None else None
    on_us = xb is not None and not held_by_jp
    for k in range(3):
        t = T0 + k * S
        xs = [_ir_state(t)] + ([_ir_state(t, xb)] if on_us else [])
        engine.ingest(_boost_batch(t, [1, 2][: len(xs)], xs))
        if held_by_jp and k == 0:
            assert xb is not None
            engine.ingest(make_batch("jp", t, [7], [true_state(t, xb)]))
    res = engine.ingest(_boost_batch(T0 + 3 * S, [], []))  # the tracks end (burnout: the plumes go out)
    assert len(res.deleted) == (2 if on_us else 1)
    if held_by_jp:  # JP holds B throughout, under its own number
        assert xb is not None
        for k in range(1, gap_s + 3):
            t = T0 + k * S
            engine.ingest(make_batch("jp", t, [7], [true_state(t, xb)]))
    t_kr = T0 + (3 + gap_s) * S
    changed = engine.ingest(make_batch("kr", t_kr, [4], [true_state(t_kr)])).changed
    ids = [t.track_id for t in changed if "kr" in t.nations]
    assert len(ids) <= 1
    return ids[0] if ids else 0


#: the rules below the salvo rule, on their own
NO_SALVO_RULE = dataclasses.replace(FusionConfig(), boost_path_salvo_s=0.0)


def test_a_radar_track_after_burnout_takes_back_the_number_of_the_infrared_track_that_ended_in_boost() -> None:
    assert _numbers(FusionConfig(), gap_s=30) == 1
    assert _numbers(FusionConfig(), gap_s=80) == 1
    # without the salvo rule: a missile of the same launcher 10 s behind (40 km along the path) is told apart
    assert _numbers(NO_SALVO_RULE, gap_s=30, ripple_s=10.0) == 1


def test_off_too_late_in_a_salvo_or_in_doubt_a_new_number() -> None:
    assert _numbers(dataclasses.replace(FusionConfig(), boost_path_s=0.0), gap_s=30) == 2
    assert _numbers(FusionConfig(), gap_s=100) == 2  # beyond boost_path_s (90 s)
    # a salvo: B launched 10 s after A (within boost_path_salvo_s) 40 km behind it: an infrared track may have
    # held both in turn, so its number does not come back
    assert _numbers(FusionConfig(), gap_s=30, ripple_s=10.0) == 3
    # ripple fire 1 s apart: the radar track's path passes where both infrared tracks ended
    assert _numbers(NO_SALVO_RULE, gap_s=30, ripple_s=1.0) == 3
    # B, 2 s behind and never seen by the US, is held by JP under number 2: its path passes where A's infrared
    # track ended too, so the missile of number 1 may be B: no reacquisition (the KR track gets a new number,
    # or is held back while it may be a duplicate of B's)
    assert _numbers(NO_SALVO_RULE, gap_s=30, ripple_s=2.0, held_by_jp=True) not in (1, 2)


def test_a_track_still_in_boost_does_not_take_the_number_by_its_path() -> None:
    engine = FusionEngine()
    for k in range(3):
        engine.ingest(_boost_batch(T0 + k * S, [1], [_ir_state(T0 + k * S)]))
    engine.ingest(_boost_batch(T0 + 3 * S, [], []))
    t = T0 + 33 * S
    b = dataclasses.replace(make_batch("kr", t, [4], [true_state(t)]), phase=np.array([int(Phase.BOOST)]))
    (track,) = engine.ingest(b).changed
    assert track.track_id == 2


def test_a_group_a_node_reports_is_said_in_the_picture_and_its_number_does_not_come_back_by_its_path() -> None:
    """The US infrared track stands for two plumes it cannot resolve (LocalTrack.estimated_objects = 2): the
    system track says 2 objects; when it ends in boost, a radar track that passes where it ended does not take
    its number (it may be either missile)."""
    engine = FusionEngine()
    for k in range(3):
        b = _boost_batch(T0 + k * S, [1], [_ir_state(T0 + k * S)])
        (track,) = engine.ingest(dataclasses.replace(b, objects=np.array([2 if k == 1 else 1]))).changed
        assert track.objects == (2 if k == 1 else 1)
    engine.ingest(_boost_batch(T0 + 3 * S, [], []))
    t_kr = T0 + 33 * S
    (track,) = engine.ingest(make_batch("kr", t_kr, [4], [true_state(t_kr)])).changed
    assert track.track_id == 2  # without the group it comes back: test_a_radar_track_after_burnout_...


def test_a_group_whose_other_missile_has_its_own_number_is_not_counted_twice() -> None:
    """The US infrared track says 2 plumes, but JP already reports the second missile, 9 km away, under its own
    number: the US track's system track stands for 1 object (the other has its number), not 2."""
    engine = FusionEngine()
    other = X_OBJ + np.array([9000.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    for k in range(3):
        t = T0 + k * S
        engine.ingest(make_batch("jp", t, [7], [true_state(t, other)]))
        us = make_batch("us", t, [1], [true_state(t)])
        engine.ingest(dataclasses.replace(us, objects=np.array([2])))
    counts = {t.nations: t.objects for t in engine.snapshot()}
    assert counts == {("jp",): 1, ("us",): 1}
    # without JP's track the US one stands for 2
    engine = FusionEngine()
    for k in range(3):
        t = T0 + k * S
        engine.ingest(dataclasses.replace(make_batch("us", t, [1], [true_state(t)]), objects=np.array([2])))
    assert [t.objects for t in engine.snapshot()] == [2]
