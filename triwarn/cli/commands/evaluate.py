"""``triwarn evaluate DIR``: score a recorded picture against truth with Stone Soup's SIAP and OSPA metrics."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score a recorded picture (triwarn replay --record DIR): Stone Soup's SIAP and OSPA, impact and launch "
        "point errors, the impact ellipse's coverage",
        description="Read DIR/truth.csv and DIR/picture.csv (one evaluation clock, ECEF) and score every view of "
        "the picture against the truth with Stone Soup's SIAP metrics (completeness, ambiguity, spuriousness, "
        "position and velocity accuracy, track-number changes, longest track segment) and OSPA (Stone Soup is "
        "slow: long recordings are subsampled to --max-steps evenly spaced times). With the impact and launch "
        "columns of the recording, also per view, over every (track, time) matched to its nearest true object "
        "within --association-m: the impact-point error by time to go and at 300 s and 60 s to go (rows tracked "
        "then, and the latest prediction made by then with its age), the 95% ellipse's coverage (fraction of rows "
        "whose true impact lies inside the reported ellipse; also after the true boost phase), the launch-point "
        "and launch-time errors (each object's primary track, every track, every row), and the delay from each "
        "object's first track to its first impact prediction. "
        "Monte Carlo: record with `triwarn replay SCENARIO --record DIR --runs N` (DIR/run-001 .. DIR/run-N, seeds "
        "SEED..SEED+N-1); `triwarn evaluate DIR` then pools every run-*/ folder (SIAP/OSPA: mean over runs; "
        "impact, launch and coverage: over all runs' rows), --runs N the first N.",
    )
    p.add_argument(
        "directory", metavar="DIR", help="directory with truth.csv and picture.csv, or with run-*/ folders of them"
    )
    p.add_argument(
        "--runs",
        type=int,
        metavar="N",
        help="pool the first N Monte Carlo runs DIR/run-*/ (default: every run found)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--max-steps", type=int, default=100, help="most evaluation times scored (default 100; 0 = all)")
    p.add_argument(
        "--association-m",
        type=float,
        default=10_000.0,
        help="track-to-truth association threshold, metres (default 10000)",
    )
    p.add_argument("--ospa-c-m", type=float, default=10_000.0, help="OSPA cut-off c, metres (default 10000)")
    p.add_argument(
        "--from-first-track",
        action="store_true",
        help="score each object from the first time any view holds a track of it (record with a policy that "
        "releases nothing to get one view per nation: then this is 'once any nation holds a track')",
    )
    p.add_argument(
        "--held-only",
        action="store_true",
        help="score only the truth rows whose 'held' column is 1 (some nation holds a local track then)",
    )
    p.add_argument("--view", action="append", help="score only this view (repeatable; default: every view)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from triwarn.analysis.evaluate import EvaluationError, evaluate_runs, format_table

    try:
        result = evaluate_runs(
            args.directory,
            runs=args.runs,
            max_steps=args.max_steps,
            association_m=args.association_m,
            ospa_c_m=args.ospa_c_m,
            views=args.view,
            from_first_track=args.from_first_track,
            held_only=args.held_only,
        )
    except EvaluationError as exc:
        print(f"triwarn evaluate: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0
