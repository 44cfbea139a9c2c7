"""Fuzz the fusion service's intake and engine with 100,000+ batches, outside CI.

    python benches/bench_fuzz.py [--batches 100000] [--rate 0.5] [--seed 1] [--minutes M]

Valid traffic of three nations (analysis/fuzz.py: ``BatchStream``, fresh streams of 4 objects every 200
cycles) with a fraction ``--rate`` of the batches mutated (``mutate``), through ``FusionService.handle_tracks``
(the code the MQTT consumer calls, on real protobuf bytes); assessments every 10 cycles. Counts the batches,
the rejections per reason, the published track states, and every picture track that breaks an invariant
(``picture_violations``) or an exception: the result must be zero of both. Prints a summary and writes
benches/results/fuzz.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from triwarn.analysis.fuzz import BatchStream, mutate, picture_violations
from triwarn.services.fusion import FusionService
from triwarn.services.runtime.clock import ManualClock
from triwarn.services.runtime.metrics import Metrics
from triwarn.services.runtime.settings import Settings

T0_NS = 1_800_000_000 * 10**9
STREAM_CYCLES = 200


def _by_reason(metrics: Metrics, name: str) -> dict[str, int]:
    """A counter's totals per reason (summed over its other labels)."""
    out: Counter[str] = Counter()
    for m in metrics.registry.collect():
        if m.name == name:
            for s in m.samples:
                if s.name.endswith("_total"):
                    out[s.labels["reason"]] += int(s.value)
    return dict(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batches", type=int, default=100_000)
    p.add_argument("--rate", type=float, default=0.5, help="fraction of batches mutated")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--minutes", type=float, default=0.0, help="stop after this long even if short of --batches")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "fuzz.json"))
    args = p.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    batches = mutated = published = 0
    violations: list[str] = []
    errors: Counter[str] = Counter()
    metrics = Metrics()
    started = time.perf_counter()
    stream_no = 0
    deadline = started + 60.0 * args.minutes if args.minutes > 0 else float("inf")
    while batches < args.batches and time.perf_counter() < deadline:
        # a fresh service and stream now and then: many births of the engine's state, not one long run
        clock = ManualClock(T0_NS)
        service = FusionService(Settings(), clock, metrics)
        envelope = service.limits.envelope
        stream = BatchStream(n_objects=4, seed=args.seed * 1000 + stream_no, t0_ns=T0_NS)
        stream_no += 1
        for nation, payload in stream.births():
            service.handle_status(nation, payload)
        for cycle in range(STREAM_CYCLES):
            clock.set(stream.time_ns())
            for nation, payload in stream.next():
                if rng.random() < args.rate:
                    payload = mutate(payload, rng)
                    mutated += 1
                batches += 1
                try:
                    updates = service.handle_tracks(nation, payload)
                    if cycle % 10 == 9:
                        updates += service.assess_due()
                except Exception as exc:
                    errors[f"{type(exc).__name__}: {exc}"[:200]] += 1
                    continue
                published += sum(len(u.tracks) for _, u in updates)
                violations += picture_violations(updates, envelope, max_sources=3)
            if batches >= args.batches:
                break
        if stream_no % 10 == 0:
            rate = batches / (time.perf_counter() - started)
            print(f"{batches:>8} batches, {len(violations)} violations, {sum(errors.values())} errors, {rate:.0f}/s")
    elapsed = time.perf_counter() - started
    rejected = _by_reason(metrics, "triwarn_batches_rejected")
    tracks_rejected = _by_reason(metrics, "triwarn_tracks_rejected")
    result = {
        "batches": batches,
        "mutated": mutated,
        "published_track_states": published,
        "violations": len(violations),
        "violation_examples": violations[:20],
        "exceptions": sum(errors.values()),
        "exception_examples": dict(errors.most_common(10)),
        "batches_rejected_by_reason": rejected,
        "tracks_rejected_by_reason": tracks_rejected,
        "system_tracks_dropped": metrics.total("triwarn_system_tracks_dropped_total"),
        "seconds": round(elapsed, 1),
        "command": "python benches/bench_fuzz.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if not violations and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
