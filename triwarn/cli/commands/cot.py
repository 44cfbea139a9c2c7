"""``triwarn cot``: bridge the shared warning picture to a TAK server as Cursor-on-Target events."""

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
  triwarn cot --tak 127.0.0.1:8087                       the default view to a TAK server over TCP
  triwarn cot --tak tak.example:8089 --tls --cert me.pem --key me.key --ca ca.pem --view jp

Each system track is an `a-h-A-W-M-S-S` event (uid triwarn.VIEW.track.ID), its 95% impact ellipse a `u-d-c-e`
ellipse (semi-axes, angle clockwise from true north) and a `u-d-f` polygon, its warning in the remarks.
Conventions and what TAK clients make of them: docs/interop.md.
"""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "cot",
        help="send the shared warning picture to a TAK server as Cursor-on-Target (CoT) events",
        description="Subscribe to the fusion service's WarningService and send every system track, its impact "
        "ellipse (as a CoT ellipse and as a polygon) and its warning to a TAK server, with pytak as transport.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--tak", required=True, metavar="HOST:PORT", help="the TAK server's CoT port (TCP, or TLS with --tls)"
    )
    p.add_argument("--tls", action="store_true", help="connect with TLS and a client certificate (TAK's 8089)")
    p.add_argument("--cert", metavar="FILE", help="client certificate, PEM (with --key) or PKCS#12 (.p12)")
    p.add_argument("--key", metavar="FILE", help="client private key, PEM")
    p.add_argument("--ca", metavar="FILE", help="the CA that signed the server's certificate, PEM")
    p.add_argument("--cert-password", metavar="PW", help="password of a PKCS#12 --cert")
    p.add_argument(
        "--no-check-hostname", action="store_true", help="accept a server certificate issued to another name"
    )
    add_grpc_target(p)
    p.add_argument("--view", choices=("us", "jp", "kr"), help="whose view of the picture (default: server's)")
    p.add_argument(
        "--stale", type=float, default=30.0, metavar="S", help="events go stale S seconds after sending (default 30)"
    )
    p.add_argument(
        "--refresh", type=float, default=10.0, metavar="S", help="re-send the picture every S seconds (default 10)"
    )
    p.add_argument("--duration", type=float, metavar="S", help="exit after S seconds")
    p.add_argument(
        "--connect-timeout", type=float, default=5.0, metavar="S", help="wait this long for the fusion service"
    )
    add_tls(p)  # the gRPC side (the fusion service's or an edge's mutual TLS); --tls/--cert/--key/--ca: TAK's
    p.set_defaults(func=run)


def tak_url(host_port: str, tls: bool) -> str:
    host, sep, port = host_port.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise SystemExit(f"triwarn cot: --tak wants HOST:PORT, not {host_port!r}")
    return f"{'tls' if tls else 'tcp'}://{host}:{port}"


def run(args: argparse.Namespace) -> int:
    import asyncio
    import signal
    import sys

    from triwarn.services import cot, subscriber

    settings = settings_from(args, "grpc_target", **tls_overrides(args))
    if args.tls and not args.cert:
        raise SystemExit("triwarn cot: --tls needs --cert (TAK servers ask for a client certificate)")
    if args.stale <= 0 or args.refresh <= 0:
        raise SystemExit("triwarn cot: --stale and --refresh must be positive")
    options = cot.CotOptions(
        tak_url=tak_url(args.tak, args.tls),
        cert=args.cert,
        key=args.key,
        ca=args.ca,
        cert_password=args.cert_password,
        check_hostname=not args.no_check_hostname,
        stale_s=args.stale,
        refresh_s=args.refresh,
    )
    target, _ = default_grpc_target(args.grpc_target, settings, args.view)  # --target, env, the running demo, default
    tls = console_tls(target, settings)
    subscription = subscriber.SubscribeOptions(
        target=target,
        view=args.view,
        duration_s=args.duration,
        connect_timeout_s=args.connect_timeout,
        tls=tls,
        label_public_key=console_label_key(tls),
    )

    async def go() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            return await cot.run(options, subscription, stop)
        except subscriber.TargetUnavailable as exc:
            print(f"triwarn cot: {exc}", file=sys.stderr)
            return 1
        except cot.TakLinkError as exc:
            print(f"triwarn cot: {exc}", file=sys.stderr)
            return 2

    return asyncio.run(go())
