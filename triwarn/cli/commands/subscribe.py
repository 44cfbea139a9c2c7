"""``triwarn subscribe``: watch the shared warning picture live, or print it as JSON lines for scripts."""

from __future__ import annotations

import argparse
from typing import Any

from triwarn.cli.commands._common import (
    add_grpc_target,
    add_tls,
    console_label_key,
    console_tls,
    default_grpc_target,
    settings_from,
    tls_overrides,
)

_LEVELS = ("none", "advisory", "watch", "warning")
_AREAS = ("jp-land", "kr-land", "jp-eez", "jp-overflight", "kr-overflight")
_CLASSES = ("srbm", "mrbm", "irbm", "icbm")

EPILOG = """\
examples:
  triwarn subscribe                                  live view of the default view (us) of the running demo
  triwarn subscribe --view jp --min-level watch      Japan's view, tracks at WATCH or above
  triwarn subscribe --json --count 10                ten updates as JSON lines, then exit
  triwarn subscribe --json --from-seq 1200           everything after update 1200 (if still retained)

A dropped connection is resumed after the last sequence number received; if that point is no longer
retained, the subscriber takes a new snapshot and says so (on stderr).
"""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "subscribe",
        help="show the shared warning picture live (or as JSON lines) from the fusion service",
        description="Subscribe to the fusion service's WarningService: a snapshot of the picture, then every "
        "update, each with a gap-free sequence number.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_grpc_target(p)
    p.add_argument("--view", choices=("us", "jp", "kr"), help="whose view of the picture (default: server's)")
    p.add_argument(
        "--from-seq",
        type=int,
        metavar="N",
        help="resume after update N instead of starting with a snapshot",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object per update (with its seq)")
    p.add_argument("--count", type=int, metavar="N", help="exit after N updates (the snapshot counts)")
    p.add_argument("--duration", type=float, metavar="S", help="exit after S seconds")
    p.add_argument("--min-level", choices=_LEVELS, help="only tracks and warnings at this level or above")
    p.add_argument("--area", action="append", choices=_AREAS, help="only tracks threatening this area (repeat)")
    p.add_argument("--class", dest="missile_class", action="append", choices=_CLASSES, help="only this missile class")
    p.add_argument(
        "--connect-timeout", type=float, default=5.0, metavar="S", help="wait this long for the first connection"
    )
    add_tls(p)
    p.set_defaults(func=run)


def build_filter(args: argparse.Namespace) -> Any:
    from triwarn.v1 import warning_service_pb2

    return warning_service_pb2.Filter(
        min_level=f"WARNING_LEVEL_{args.min_level.upper()}" if args.min_level else None,
        areas=[f"AREA_KIND_{a.upper().replace('-', '_')}" for a in args.area or ()],
        missile_classes=[f"MISSILE_CLASS_{c.upper()}" for c in args.missile_class or ()],
    )


def run(args: argparse.Namespace) -> int:
    from triwarn.services import subscriber

    settings = settings_from(args, "grpc_target", **tls_overrides(args))
    if args.count is not None and args.count < 1:
        raise SystemExit("triwarn subscribe: --count must be at least 1")
    if args.from_seq is not None and args.from_seq < 0:
        raise SystemExit("triwarn subscribe: --from-seq must be 0 or more")
    target, source = default_grpc_target(args.grpc_target, settings, args.view)
    tls = console_tls(target, settings)  # the flags', else the running demo's for its address
    options = subscriber.SubscribeOptions(
        target=target,
        view=args.view,
        from_seq=args.from_seq,
        filter=build_filter(args),
        count=args.count,
        duration_s=args.duration,
        connect_timeout_s=args.connect_timeout,
        tls=tls,
        label_public_key=console_label_key(tls),  # the key beside its CA (a `triwarn pki init` folder)
    )
    return subscriber.main(options, json_output=args.json, target_source=source)
