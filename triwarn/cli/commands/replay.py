"""``triwarn replay``: drive the nations' sensors and trackers and the fusion through a scenario."""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from triwarn.cli.commands._common import settings_from


def register(sub: Any) -> None:
    p = sub.add_parser(
        "replay",
        help="replay a scenario through sensors, trackers and fusion (optionally record it for evaluation)",
        description="Replay SCENARIO (a file or a catalog name, see `triwarn scenario list`) through every "
        "nation's sensors and tracker and the fusion service, in real time, faster, or as fast as possible, "
        "deterministically for a given seed. --record DIR writes DIR/truth.csv and DIR/picture.csv on one "
        "evaluation clock (score them with `triwarn evaluate DIR`).",
    )
    p.add_argument("scenario", help="scenario file or catalog name")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, help="times faster than real time (default 1)")
    pace.add_argument("--fast", action="store_true", help="as fast as possible")
    p.add_argument("--seed", type=int, help="random seed (default 1)")
    p.add_argument("--record", type=Path, metavar="DIR", help="write truth.csv, picture.csv and meta.json here")
    p.add_argument(
        "--runs",
        type=int,
        default=1,
        metavar="N",
        help="Monte Carlo: replay N times with seeds SEED..SEED+N-1, recording DIR/run-001 .. DIR/run-N "
        "(needs --record; `triwarn evaluate DIR` pools every run, e.g. for the ellipse's coverage)",
    )
    p.add_argument("--eval-period", type=float, default=1.0, help="evaluation clock period, seconds (default 1)")
    p.add_argument("--broker", help="also publish every batch to this MQTT broker (mqtt://HOST:PORT)")
    p.add_argument("--policy", dest="policy_file", help="releasability policy file (default: release all)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from triwarn.analysis.replay import replay
    from triwarn.scenarios.scenario_file import ScenarioError

    settings = settings_from(args, "seed", "policy_file", scenario=args.scenario)
    speed = None if args.fast else (args.speed or 1.0)
    if speed is not None and speed <= 0:
        print("triwarn replay: --speed must be positive")
        return 2
    columns = (
        TextColumn("replay {task.description}"),
        BarColumn(),
        TextColumn("{task.fields[t]}"),
        TimeElapsedColumn(),
    )
    if args.runs < 1 or (args.runs > 1 and args.record is None):
        print("triwarn replay: --runs N needs N >= 1, and --record DIR when N > 1")
        return 2
    runs = [(settings, args.record)]
    if args.runs > 1:
        runs = [(settings.replace(seed=settings.seed + i), args.record / f"run-{i + 1:03d}") for i in range(args.runs)]
    try:
        with Progress(*columns, transient=args.json) as bar:
            for run_settings, record in runs:
                name = args.scenario if len(runs) == 1 else f"{args.scenario} seed {run_settings.seed}"
                task = bar.add_task(name, total=1.0, t="compiling numba kernels (first run only)...")

                def progress(t_s: float, end_s: float, task: Any = task) -> None:
                    bar.update(task, completed=t_s / end_s if end_s else 1.0, t=f"T+{t_s:.0f} s of {end_s:.0f} s")

                result = asyncio.run(
                    replay(run_settings, speed, record, args.eval_period, publish_to=args.broker, progress=progress)
                )
                if len(runs) > 1 and not args.json:
                    bar.console.print(f"run seed {result.seed}: recorded in {record}")
    except ScenarioError as exc:
        print(f"triwarn replay: {exc}")
        return 2
    if args.json:
        print(json.dumps(asdict(result)))
    else:
        print(
            f"replayed {result.scenario!r} (seed {result.seed}): {result.simulated_s:.0f} s simulated in "
            f"{result.wall_s:.1f} s, {result.batches} batches, {result.tracks_published} local tracks, "
            f"{result.picture_updates} picture updates, {result.rejected} rejected"
        )
        if args.record:
            where = args.record if len(runs) == 1 else f"{args.record}/run-*/ ({len(runs)} runs, last shown)"
            print(f"recorded {result.truth_rows} truth rows and {result.picture_rows} picture rows in {where}")
            print(f"score it: triwarn evaluate {args.record}")
    return 0
