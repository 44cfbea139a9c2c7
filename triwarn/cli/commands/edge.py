"""``triwarn edge``: a national edge serving one nation's consoles from its own log, fed over the bridge."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from triwarn.cli.commands._common import add_broker, add_tls, settings_from, tls_overrides


def register(sub: Any) -> None:
    p = sub.add_parser(
        "edge",
        help="run a national edge: the hub's releases of one view -> that nation's consoles over gRPC",
        description="Subscribe on a national broker to the fusion service's signed, labelled releases of that "
        "nation's view, keep them in an own durable log, and serve that nation's consoles over the same gRPC "
        "WarningService (snapshot, gap-free resumable deltas, health, reflection), with mutual TLS. Keeps "
        "serving, marked stale, while the hub link is down. docs/coalition.md.",
    )
    p.add_argument("--nation", choices=["us", "jp", "kr"], help="the edge's nation (env TRIWARN_NATION)")
    add_broker(p)
    p.add_argument("--listen", dest="grpc_listen", help="gRPC listen address (default 127.0.0.1:50051)")
    p.add_argument("--warning-log", dest="warning_log", help="SQLite file of the edge's own log")
    p.add_argument("--label-public-key", dest="label_public_key", help="the fusion service's label public key")
    p.add_argument("--audit-log", dest="audit_log", help="hash-chained audit log of releases to consoles")
    add_tls(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from triwarn.services import edge

    nation = args.nation or "us"
    extra: dict[str, Any] = tls_overrides(args, "edge", identity=f"edge-{nation}")
    settings = settings_from(
        args,
        "nation",
        "broker_url",
        "grpc_listen",
        "warning_log",
        "label_public_key",
        "audit_log",
        default_view=nation,
        **extra,
    )
    return asyncio.run(edge.run(settings))
