"""``triwarn web``: the shared warning picture as a live map in the browser."""

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

EPILOG = """\
examples:
  triwarn web                                   the running demo's (or 127.0.0.1:50051's) picture on http://127.0.0.1:8080/
  triwarn web --view jp --listen 0.0.0.0:8080   Japan's view, reachable from other machines
  triwarn demo --web                            the demo with the web map (prints the address)

The page needs no internet: its scripts, styles and map layers ship with triwarn (docs/web.md).
"""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "web",
        help="serve the shared warning picture as a live map in the browser",
        description="Subscribe to the fusion service's WarningService like any console (snapshot, then gap-free "
        "deltas, resumed after a dropped connection) and serve a page that draws the picture live.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--listen", default="127.0.0.1:8080", metavar="HOST:PORT", help="serve here (default %(default)s)")
    p.add_argument("--view", choices=("us", "jp", "kr"), help="the console's nation: whose view it shows")
    add_grpc_target(p)
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (default: run until Ctrl-C)")
    p.add_argument(
        "--connect-timeout", type=float, default=5.0, metavar="S", help="wait this long for the first connection"
    )
    add_tls(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from triwarn.services.web import server

    settings = settings_from(args, "grpc_target", **tls_overrides(args))
    try:
        server.split_host_port(args.listen)
    except ValueError as exc:
        raise SystemExit(f"triwarn web: {exc}") from None
    target, _ = default_grpc_target(args.grpc_target, settings, args.view)
    tls = console_tls(target, settings)  # the flags', else the running demo's for its address
    options = server.WebOptions(
        target=target,
        view=args.view,
        listen=args.listen,
        connect_timeout_s=args.connect_timeout,
        duration_s=args.duration,
        tls=tls,
        label_public_key=console_label_key(tls),
    )
    return server.main(options)
