"""``triwarn fusion``: the fusion service (MQTT in, gRPC WarningService out)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from triwarn.cli.commands._common import (
    add_broker,
    add_start_gate,
    add_tls,
    settings_from,
    tls_overrides,
    wait_at_start_gate,
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "fusion",
        help="run the fusion service: nations' tracks -> shared picture -> gRPC subscribers",
        description="Subscribe to every nation's track batches, fuse them into one warning picture per "
        "recipient, log every update durably and stream it over gRPC (WarningService).",
    )
    add_broker(p)
    p.add_argument("--listen", dest="grpc_listen", help="gRPC listen address (default 127.0.0.1:50051)")
    p.add_argument("--metrics-port", dest="metrics_port", type=int, help="Prometheus port (default 9108; 0 = off)")
    p.add_argument("--warning-log", dest="warning_log", help="SQLite file or postgresql:// URL of the warning log")
    p.add_argument("--policy", dest="policy_file", help="releasability policy file (default: release all)")
    p.add_argument("--speed", dest="clock_speed", type=float, help="clock speed; must match the nodes' --speed")
    p.add_argument("--t0-ns", dest="scenario_t0_ns", type=int, help="clock start; must match the nodes' --t0-ns")
    add_start_gate(p)
    p.add_argument("--audit-log", dest="audit_log", help="hash-chained audit log of releases to consoles")
    p.add_argument(
        "--mqtt-max-packet-bytes",
        dest="mqtt_max_packet_bytes",
        type=int,
        help="largest MQTT packet the broker may send this service (MQTT 5; default 4 MiB + 64 kB); "
        "0 = speak MQTT 3.1.1 (a broker that has no MQTT 5, such as the embedded one)",
    )
    add_tls(p, default_identity="fusion-us")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from triwarn.services import fusion

    extra: dict[str, Any] = tls_overrides(args, "fusion")
    assessor = None
    if args.start_gate:
        # ready means warm: the fusion kernels loaded (or compiled) in this process and the assessment process
        # started and warm, before the launcher may start the clock. Otherwise the first seconds of a fast
        # demo pass without assessments while that process loads its kernels (9 s on a busy machine).
        from triwarn.services.runtime.clock import Clock
        from triwarn.services.runtime.metrics import Metrics

        early = settings_from(args, "policy_file", **extra)
        service = fusion.FusionService(early, Clock(), Metrics())
        assessor = fusion.AssessProcess(early, len(service.groups))  # warms in its own process meanwhile
        service.warm_up(assess=False)
        try:
            assessor.wait_ready()
        except Exception as exc:  # BrokenProcessPool: it died while loading its kernels
            raise SystemExit(
                f"triwarn fusion: the assessment process did not start ({exc!r}); see its output above"
            ) from None
        extra["scenario_t0_ns"] = wait_at_start_gate(args.start_gate, "fusion")
    settings = settings_from(
        args,
        "broker_url",
        "grpc_listen",
        "metrics_port",
        "warning_log",
        "policy_file",
        "audit_log",
        "mqtt_max_packet_bytes",
        "clock_speed",
        "scenario_t0_ns",
        **extra,
    )
    return asyncio.run(fusion.run(settings, assessor=assessor))
