"""Hand-over of a system track number that just went dormant (FusionConfig.handover_s): the recorded KN-23
segment where it changed, constructed cases, and salvos where no number may go to the wrong missile."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from engine_batches import T0, X_OBJ, S, make_batch, true_state

from triwarn.core.fusion.config import FusionConfig
from triwarn.core.fusion.engine import FusionEngine
from triwarn.core.tracks import LocalTrackBatch

RECORDED = Path(__file__).resolve().parent / "data" / "engine_handover_kn23.npz"
FIELDS = ("batch", "nation", "sent", "num", "t", "x", "P", "phase", "status", "beta")


def _recorded() -> tuple[list[LocalTrackBatch], np.ndarray, np.ndarray]:
    data = np.load(RECORDED)
    g = {f: data[f"s0_{f}"] for f in FIELDS}
    batches = []
    for b in range(int(g["batch"].max()) + 1):
        of_b = g["batch"] == b
        rows = np.nonzero(of_b & (g["num"] >= 0))[0]
        nation = ("us", "jp", "kr")[int(g["nation"][of_b][0])]
        batches.append(
            LocalTrackBatch(
                nation=nation,
                node_id=nation,
                batch_seq=b,
                bd_seq=1,
                sent_time_ns=int(g["sent"][of_b][0]),
                track_numbers=g["num"][rows],
                time_ns=g["t"][rows],
                x=g["x"][rows],
                P=g["P"][rows],
                phase=g["phase"][rows],
                status=g["status"][rows],
                quality=np.ones(rows.size),
                beta_kg_m2=g["beta"][rows],
            )
        )
    return batches, data["s0_truth_t"], data["s0_truth_r"]


def test_recorded_kn23_keeps_one_number_when_the_infrared_track_ends_and_a_radar_track_begins() -> None:
    """KN-23 seed 3: the US infrared-only boost track (3-5 km, 0.4-0.8 km/s off) is deleted at T+38 s and the
    KR radar track starts in the same cycle; before the hand-over it became number 2 until T+68 s."""
    batches, truth_t, truth_r = _recorded()
    engine = FusionEngine()
    seen: set[int] = set()
    kr_numbers: set[int] = set()
    for batch in batches:
        res = engine.ingest(batch)
        for t in [*res.changed, *engine.snapshot()]:
            seen.add(t.track_id)
            if any(s.nation == "kr" for s in t.sources):
                kr_numbers.add(t.track_id)
        assert len(engine) <= 1
    assert seen == {1} and kr_numbers == {1}
    (track,) = engine.at(int(truth_t[-1]))
    assert np.linalg.norm(track.x[:3] - truth_r[-1]) < 5e3  # the one track is the missile
    # the boost path alone (no hand-over) keeps the number too: the radar track, coasted back, passes where the
    # infrared track ended
    engine = FusionEngine(dataclasses.replace(FusionConfig(), handover_s=0.0))
    seen.clear()
    for batch in batches:
        seen.update(t.track_id for t in engine.ingest(batch).changed)
    assert seen == {1}
    # without either, the radar track is a second number (what the test guards against)
    engine = FusionEngine(dataclasses.replace(FusionConfig(), handover_s=0.0, boost_path_s=0.0))
    seen.clear()
    for batch in batches:
        seen.update(t.track_id for t in engine.ingest(batch).changed)
    # (2 stays: at T+68 s the JP track does not bring 1 back, since 1's prediction holds the live track 2, the
    # same missile under its second number; a reacquisition in doubt is no reacquisition)
    assert seen == {1, 2} and [t.track_id for t in engine.snapshot()] == [2]


def test_a_new_track_of_another_nation_takes_over_the_number_that_just_ended() -> None:
    engine = FusionEngine()
    engine.ingest(make_batch("us", T0, [1], [X_OBJ], sd=5.0))  # a poor boost track: 1 km, 25 m/s
    res = engine.ingest(make_batch("us", T0 + S, [], []))  # ... deleted
    assert res.deleted == [1] and len(engine) == 0
    # kr starts on the object in the next cycle, 3 km and 300 m/s from the dead track's prediction: outside
    # the plain gate, inside the manoeuvre allowance
    off = np.array([3000.0, -1000.0, 0.0, 300.0, 0.0, -100.0])
    (track,) = engine.ingest(make_batch("kr", T0 + 2 * S, [4], [true_state(T0 + 2 * S) + off])).changed
    assert track.track_id == 1 and track.nations == ("kr",)
    # switched off, or once the dormant track is older than handover_s (10 s) with another system track within
    # handover_lone_m (a missile 100 km away, tracked by jp), or older than handover_lone_s (20 s): a new number
    away = np.array([1e5, 0.0, 0.0, 0.0, 0.0, 0.0])
    off_cfg = dataclasses.replace(FusionConfig(), handover_s=0.0, handover_lone_s=0.0)
    for cfg, gap, crowd, number in (
        (off_cfg, 2, "", 2),
        (FusionConfig(), 13, "live", 3),
        (FusionConfig(), 13, "dormant", 3),  # the other missile's track ended too
        (FusionConfig(), 13, "", 1),  # lone: an infrared track ended at burnout, a radar track 12 s later
        (FusionConfig(), 23, "", 2),
    ):
        engine = FusionEngine(cfg)
        engine.ingest(make_batch("us", T0, [1], [X_OBJ], sd=5.0))
        if crowd:
            engine.ingest(make_batch("jp", T0, [7], [true_state(T0) + away]))
        engine.ingest(make_batch("us", T0 + S, [], []))
        if crowd:
            t_jp = T0 + gap * S - S // 2
            held = crowd == "live"
            engine.ingest(make_batch("jp", t_jp, [7] if held else [], [true_state(t_jp) + away] if held else []))
        (track,) = engine.ingest(make_batch("kr", T0 + gap * S, [4], [true_state(T0 + gap * S) + off])).changed
        assert track.track_id == number, (gap, crowd)


def test_no_hand_over_far_from_the_dead_track() -> None:
    engine = FusionEngine()
    engine.ingest(make_batch("us", T0, [1], [X_OBJ], sd=5.0))
    engine.ingest(make_batch("us", T0 + S, [], []))
    off = np.array([40e3, 0.0, 0.0, 0.0, 0.0, 0.0])
    (track,) = engine.ingest(make_batch("kr", T0 + 2 * S, [4], [true_state(T0 + 2 * S) + off])).changed
    assert track.track_id == 2


def _salvo(sep_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Two missiles ``sep_m`` apart across track, same velocity (a salvo off one pad)."""
    return X_OBJ, X_OBJ + np.array([sep_m, 0.0, 0.0, 0.0, 0.0, 0.0])


def _check_numbers(engine: FusionEngine, t_ns: int, truth: dict[int, np.ndarray], tol_m: float) -> None:
    """Numbers 1 and 2 (given to missiles A and B at the start) stay on their own missile."""
    for t in engine.at(t_ns):
        if t.track_id in truth:
            mine = np.linalg.norm(t.x[:3] - true_state(t_ns, truth[t.track_id])[:3])
            for other_id, x0 in truth.items():
                if other_id != t.track_id:
                    assert mine < np.linalg.norm(t.x[:3] - true_state(t_ns, x0)[:3]), (t.track_id, t_ns)
            assert mine < tol_m, (t.track_id, t_ns)


def test_salvo_a_new_track_of_the_other_missile_does_not_take_the_dead_tracks_number() -> None:
    """Missiles A (1) and B (2) 3 km apart, both tracked by the US; A's track ends; KR starts a poor track on
    B, outside B's plain gate. It fits A's dormant prediction under the manoeuvre allowance, but also B under
    the same allowance: no hand-over, so number 1 never lands on missile B."""
    xa, xb = _salvo(3000.0)
    engine = FusionEngine()
    res = engine.ingest(make_batch("us", T0, [1, 2], [xa, xb]))
    assert [t.track_id for t in res.changed] == [1, 2]
    res = engine.ingest(make_batch("us", T0 + S, [2], [true_state(T0 + S, xb)]))  # A's track ends
    assert res.deleted == [1]
    t2 = T0 + 2 * S
    engine.ingest(make_batch("us", t2, [2], [true_state(t2, xb)]))
    # 800 m toward A and 150 m/s off: outside B's plain gate and A's (a reacquisition), inside both allowances
    res = engine.ingest(make_batch("kr", t2, [9], [true_state(t2, xb) - np.array([800.0, 0, 0, 150.0, 0, 0])], sd=3.0))
    seen = {t.track_id for t in res.changed}
    for k in range(3, 20):
        t = T0 + k * S
        seen.update(tr.track_id for tr in engine.ingest(make_batch("us", t, [2], [true_state(t, xb)])).changed)
        seen.update(tr.track_id for tr in engine.ingest(make_batch("kr", t, [9], [true_state(t, xb)], sd=3.0)).changed)
        _check_numbers(engine, t, {1: xa, 2: xb}, 1500.0)
    assert 1 not in seen
    (track,) = engine.snapshot()  # the KR track joined B's number once it settled
    assert track.track_id == 2 and track.nations == ("kr", "us")


def test_salvo_both_tracks_end_and_two_new_tracks_take_neither_number() -> None:
    """Both US tracks of a two-missile salvo end together; KR starts on both: each new track fits both dormant
    numbers, so neither is handed over (no swap)."""
    xa, xb = _salvo(2500.0)
    engine = FusionEngine()
    engine.ingest(make_batch("us", T0, [1, 2], [xa, xb], sd=3.0))
    res = engine.ingest(make_batch("us", T0 + S, [], []))
    assert sorted(res.deleted) == [1, 2]
    t2 = T0 + 2 * S
    # kr's numbers in the opposite order of the missiles, each track 1 km off toward the other missile and
    # 150 m/s off (outside the plain gate of a reacquisition)
    off = np.array([1000.0, 0, 0, 150.0, 0, 0])
    res = engine.ingest(make_batch("kr", t2, [5, 6], [true_state(t2, xb) - off, true_state(t2, xa) + off]))
    assert sorted(t.track_id for t in res.changed) == [3, 4]
    for k in range(3, 15):
        t = T0 + k * S
        engine.ingest(make_batch("kr", t, [5, 6], [true_state(t, xb), true_state(t, xa)]))
        _check_numbers(engine, t, {1: xa, 2: xb}, 1500.0)
        assert sorted(tr.track_id for tr in engine.snapshot()) == [3, 4]


def test_salvo_far_apart_hands_over_to_the_right_missile() -> None:
    """Two missiles 60 km apart: each one's new track fits only its own dormant number, so both are handed
    over, each to its own missile (kr's numbers in the opposite order)."""
    xa, xb = _salvo(60e3)
    engine = FusionEngine()
    engine.ingest(make_batch("us", T0, [1, 2], [xa, xb], sd=5.0))
    engine.ingest(make_batch("us", T0 + S, [], []))
    t2 = T0 + 2 * S
    off = np.array([2000.0, 1000.0, 0.0, 200.0, 0.0, 0.0])
    res = engine.ingest(make_batch("kr", t2, [5, 6], [true_state(t2, xb) + off, true_state(t2, xa) - off]))
    assert sorted(t.track_id for t in res.changed) == [1, 2]
    for k in range(3, 10):
        t = T0 + k * S
        engine.ingest(make_batch("kr", t, [5, 6], [true_state(t, xb), true_state(t, xa)]))
        _check_numbers(engine, t, {1: xa, 2: xb}, 1500.0)
    assert {t.track_id: t.sources[0].local_track_number for t in engine.snapshot()} == {1: 6, 2: 5}
