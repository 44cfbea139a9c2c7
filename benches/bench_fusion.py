"""Fusion core latency per update cycle (alignment, gating, assignment, fusion) for N objects x 3 nations,
and Stone Soup on the same job in the same run.

Run: ``python benches/bench_fusion.py [--objects 1000,10000] [--cycles 30] [--no-stonesoup]
[--stonesoup-objects 100] [--stonesoup-cycles 2]``.
Prints p50/p99 per cycle for each N with progress, and writes ``benches/results/bench_fusion.json`` (one
object per N under ``runs``; the first run's numbers also at the top level). The same measurement is
``triwarn bench fusion --objects N``; the details are in ``triwarn.services.benchmarks.fusion``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "bench_fusion.json"


def main() -> int:
    from triwarn.services.benchmarks import fusion

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", default="1000,10000", help="comma-separated object counts (default 1000,10000)")
    parser.add_argument("--cycles", type=int, default=30, help="measured cycles per run (default 30)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-stonesoup", action="store_true", help="skip the Stone Soup comparison")
    parser.add_argument("--stonesoup-objects", type=int, default=100, help="objects for Stone Soup (default 100)")
    parser.add_argument("--stonesoup-cycles", type=int, default=2, help="cycles for Stone Soup (default 2)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    args = parser.parse_args()
    runs = []
    for k, n in enumerate(int(v) for v in args.objects.split(",")):
        print(f"== {n} objects ==", flush=True)
        result = fusion.measure(
            n,
            args.cycles,
            seed=args.seed,
            stonesoup=(k == 0 and not args.no_stonesoup),
            log=sys.stdout,
            stonesoup_objects=args.stonesoup_objects,
            stonesoup_cycles=args.stonesoup_cycles,
        )
        fusion.print_table(result)
        runs.append(result)
    out = {**runs[0], "runs": runs}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
