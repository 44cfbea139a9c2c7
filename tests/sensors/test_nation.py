"""NationSim end to end on a synthetic salvo: tracks form, follow the truth, and nothing else is reported."""

from __future__ import annotations

import numpy as np
import pytest

from triwarn.core.tracking import ekf, imm
from triwarn.core.tracks import Phase, Status
from triwarn.sensors.sim import measure
from triwarn.sensors.sim.nation import NationSim, warm_up
from triwarn.sensors.sim.synthetic import SyntheticScenario, salvo


def _run(nation: str, seed: int, scenario: SyntheticScenario, t_end: float = 520.0):
    sim = NationSim(nation, scenario, seed=seed)
    sim.scan_log = []
    out = [sim.step(t) for t in np.arange(0.0, t_end, 1.0)]
    return sim, out


@pytest.fixture(scope="module")
def scenario() -> SyntheticScenario:
    return SyntheticScenario(salvo(4, seed=3))


@pytest.mark.parametrize("nation", ["us", "jp", "kr"])
def test_one_confirmed_track_per_object_and_no_false_tracks(nation: str, scenario: SyntheticScenario) -> None:
    sim, out = _run(nation, 7, scenario)
    truth = sim.truth
    numbers: set[int] = set()
    deleted: list[int] = []
    followed: dict[int, set[int]] = {}  # object -> track numbers that followed it
    n_fa = sum(int((s.truth_index < 0).sum()) for s in sim.scan_log or [])
    assert n_fa > 50  # false alarms were really generated
    for lt in out:
        numbers.update(int(n) for n in lt.track_numbers)
        deleted += [int(n) for n, s in zip(lt.track_numbers, lt.status, strict=True) if s == Status.DELETED]
        now: dict[int, int] = {}
        for i in range(len(lt)):
            if lt.status[i] != Status.CONFIRMED:
                continue  # coasting past the radar horizon or the impact, or the final report
            s = truth.sample(float(lt.t_s[i]))
            d = np.linalg.norm(s.pos_ecef_m - lt.x[i, :3], axis=1)
            d[~s.active] = np.inf
            # every updated track is near a true object: no false-alarm tracks
            assert d.min() < 20_000.0, (nation, lt.track_numbers[i], d.min())
            j = int(np.argmin(d))
            followed.setdefault(j, set()).add(int(lt.track_numbers[i]))
            now[j] = now.get(j, 0) + 1
        # never two updated tracks on one object at once (these four are tens of km apart)
        assert all(c == 1 for c in now.values()), now
    # every object is tracked; a track may break once where no sensor covers the object for longer than the
    # deletion time (e.g. from the end of the infrared's boost coverage to the first radar detection)
    assert set(followed) == set(range(len(scenario.launches)))
    assert all(len(v) <= 2 for v in followed.values()), followed
    # each track deleted exactly once (after impact or loss)
    assert sorted(deleted) == sorted(numbers)
    assert set(deleted) == numbers and len(deleted) == len(set(deleted))


def test_deterministic_for_a_seed(scenario: SyntheticScenario) -> None:
    _, a = _run("kr", 11, scenario, 200.0)
    _, b = _run("kr", 11, scenario, 200.0)
    _, c = _run("kr", 12, scenario, 200.0)
    assert all(
        np.array_equal(x.x, y.x) and np.array_equal(x.track_numbers, y.track_numbers) for x, y in zip(a, b, strict=True)
    )
    assert any(len(x) and not np.array_equal(x.x, y.x) for x, y in zip(a, c, strict=True))


def test_fields_shapes_and_ranges(scenario: SyntheticScenario) -> None:
    sim, out = _run("us", 1, scenario, 300.0)
    lt = out[-1]
    n = len(lt)
    assert n > 0
    assert lt.x.shape == (n, 6) and lt.P.shape == (n, 6, 6) and lt.t_s.shape == (n,)
    assert lt.track_numbers.dtype == np.int64 and lt.phase.dtype == np.int64 and lt.status.dtype == np.int64
    assert np.all((lt.quality >= 0) & (lt.quality <= 1))
    assert set(lt.phase.tolist()) <= {int(p) for p in Phase}
    assert all(set(ids) <= set(sim.sensor_ids) and ids for ids in lt.sensor_ids)
    assert np.all(np.linalg.eigvalsh(lt.P) > 0)
    # time of validity: the last scan processed, at most the largest latency (+ a scan) before the step time
    t_step = 299.0
    assert np.all(lt.t_s <= t_step) and np.all(lt.t_s >= t_step - sim.hold_s - 1.0)
    assert sim.ready_until(t_step) <= t_step
    # the last measurement update of each track: at or before its state, and not older than the node lets a
    # track coast (CONFIRMED within coast_after_s of it, COASTING after)
    assert lt.last_hit_s.shape == (n,) and np.all(lt.last_hit_s <= lt.t_s + 1e-9)
    age = lt.t_s - lt.last_hit_s
    cfg = sim.tracker.cfg
    assert np.all(age[lt.status == Status.CONFIRMED] <= cfg.coast_after_s + sim.hold_s + 1.0)
    stale = [o for o in out if np.any(o.status == Status.COASTING)]
    assert all(np.all(o.t_s - o.last_hit_s >= 0.0) for o in stale)
    # how many objects each track may stand for: reported for every track, at least one
    assert all(o.objects.shape == o.track_numbers.shape and np.all(o.objects >= 1) for o in out)
    with pytest.raises(ValueError, match="backwards"):
        sim.step(10.0)


def test_ballistic_coefficient_is_estimated_in_reentry(scenario: SyntheticScenario) -> None:
    """The truth's drag uses its own exponential atmosphere (scale height 7.2 km), the tracker Vallado's
    piecewise one, so β is estimated through a model mismatch of up to ~25 % in density."""
    sim, out = _run("kr", 5, scenario)
    last: dict[int, tuple[float, int]] = {}
    for lt in out:
        for i in np.flatnonzero((lt.status == Status.CONFIRMED) & (lt.beta_kg_m2 > 0)):
            s = sim.truth.sample(float(lt.t_s[i]))
            d = np.linalg.norm(s.pos_ecef_m - lt.x[i, :3], axis=1)
            d[~s.active] = np.inf
            last[int(lt.track_numbers[i])] = (float(lt.beta_kg_m2[i]), int(np.argmin(d)))
    assert len(last) >= 2
    for beta, obj in last.values():
        true_beta = scenario.launches[obj].beta_kg_m2
        assert abs(beta / true_beta - 1.0) < 0.25, (beta, true_beta)


def test_a_new_sim_can_continue_the_track_numbers_of_the_last(scenario: SyntheticScenario) -> None:
    first, out = _run("jp", 2, scenario, 300.0)
    used = {int(n) for lt in out for n in lt.track_numbers}
    assert used and first.next_track_number == max(used) + 1
    second = NationSim("jp", scenario, seed=2, first_track_number=first.next_track_number)
    again = {int(n) for t in np.arange(0.0, 300.0, 1.0) for n in second.step(t).track_numbers}
    assert again and min(again) == first.next_track_number and not (again & used)


def test_warm_up_runs_every_kernel_through_a_real_track() -> None:
    assert warm_up() == 1
    if hasattr(imm.imm_update_batch, "signatures"):  # compiled (not under NUMBA_DISABLE_JIT)
        for fn in (imm.imm_update_batch, ekf.gate_batch, ekf.init_from_radar, measure.ir_measure_batch):
            assert fn.signatures
