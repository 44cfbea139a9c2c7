"""``triwarn node``: one nation's sensors and tracker, publishing local tracks over MQTT."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from triwarn.cli.commands._common import (
    add_broker,
    add_scenario,
    add_start_gate,
    add_tls,
    settings_from,
    tls_overrides,
    wait_at_start_gate,
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "node",
        help="run one national node (us, jp or kr): sensors + tracker -> MQTT",
        description="Run one nation's simulated sensors and command-and-control tracker on a scenario and "
        "publish its local tracks on triwarn/v1/<nation>/tracks (birth/death on triwarn/v1/<nation>/status).",
    )
    p.add_argument("--nation", choices=["us", "jp", "kr"], help="the node's nation (env TRIWARN_NATION)")
    p.add_argument("--node-id", dest="node_id", help="node id (default <nation>-c2)")
    p.add_argument("--period", dest="update_period_s", type=float, help="seconds between batches (default 1)")
    p.add_argument(
        "--loop", dest="scenario_loop", action="store_true", default=None, help="replay the scenario forever"
    )
    add_broker(p)
    add_scenario(p)
    add_start_gate(p)
    add_tls(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from triwarn.scenarios.scenario_file import ScenarioError
    from triwarn.services import node

    # its certificate and signing key from --tls-dir: the node id's (default <nation>-c2)
    node_id = args.node_id or (f"{args.nation}-c2" if args.nation else "")
    extra: dict[str, Any] = tls_overrides(args, "node", identity=node_id)
    if args.start_gate:
        from triwarn.sensors.sim.nation import warm_up

        warm_up()  # the numba kernels, from the cache
        extra["scenario_t0_ns"] = wait_at_start_gate(args.start_gate, f"node-{args.nation}")
    settings = settings_from(
        args,
        "nation",
        "node_id",
        "update_period_s",
        "scenario_loop",
        "broker_url",
        "scenario",
        "seed",
        "clock_speed",
        "scenario_t0_ns",
        **extra,
    )
    try:
        return asyncio.run(node.run(settings))
    except ScenarioError as exc:
        print(f"triwarn node: {exc}")
        return 2
