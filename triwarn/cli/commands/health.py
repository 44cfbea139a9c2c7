"""``triwarn health``: exit 0 when a service is healthy, 1 otherwise (docker-compose health checks use it)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from triwarn.cli.commands._common import add_tls, tls_overrides


def register(sub: Any) -> None:
    p = sub.add_parser(
        "health",
        help="check a service: the fusion service's gRPC health, or a node's heartbeat file",
        description="Exit 0 if healthy, 1 if not, printing why. With --target, asks the gRPC health service "
        "(SERVING once the kernels are warm). With --heartbeat, checks that a node touched its heartbeat file "
        "within --max-age seconds.",
    )
    p.add_argument("--target", help="gRPC address of the fusion service, HOST:PORT")
    p.add_argument("--heartbeat", help="a node's heartbeat file (TRIWARN_HEARTBEAT_FILE)")
    p.add_argument("--max-age", type=float, default=15.0, help="heartbeat age limit, seconds (default 15)")
    p.add_argument(
        "--service",
        default="",
        help="health service name (default: the server; an edge's hub link: triwarn.edge.Upstream)",
    )
    add_tls(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if bool(args.target) == bool(args.heartbeat):
        print("give exactly one of --target HOST:PORT or --heartbeat FILE")
        return 2
    if args.heartbeat:
        path = Path(args.heartbeat)
        if not path.exists():
            print(f"unhealthy: {path} does not exist (the node has not published yet)")
            return 1
        age_s = time.time() - path.stat().st_mtime
        if age_s > args.max_age:
            print(f"unhealthy: last heartbeat {age_s:.0f} s ago (limit {args.max_age:g} s)")
            return 1
        print(f"healthy: last heartbeat {age_s:.1f} s ago")
        return 0
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from triwarn.services.runtime.tls import TlsFiles

    tls = tls_overrides(args)
    if tls["tls_ca"] and tls["tls_cert"] and tls["tls_key"]:
        creds = TlsFiles(tls["tls_ca"], tls["tls_cert"], tls["tls_key"]).grpc_channel_credentials()
        channel_cm = grpc.secure_channel(args.target, creds)
    else:
        channel_cm = grpc.insecure_channel(args.target)
    with channel_cm as channel:
        try:
            request = health_pb2.HealthCheckRequest(service=args.service)
            reply = health_pb2_grpc.HealthStub(channel).Check(request, timeout=3)
        except grpc.RpcError as exc:
            print(f"unhealthy: {args.target} does not answer ({exc.code().name})")
            return 1
    name = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(f"{'healthy' if reply.status == health_pb2.HealthCheckResponse.SERVING else 'unhealthy'}: {name}")
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1
