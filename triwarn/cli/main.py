"""The ``triwarn`` command: one entry point, one subcommand per job.

Each subcommand lives in ``triwarn.cli.commands.<name>`` and exposes ``register(subparsers)``, which
adds its parser and sets ``func`` to a callable taking the parsed ``argparse.Namespace`` and returning an
exit code. Command modules import heavy libraries (numba, grpc) inside their functions, so that
``triwarn --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Subcommands in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "demo",
    "broker",
    "node",
    "fusion",
    "subscribe",
    "replay",
    "evaluate",
    "trajectory",
    "scenario",
    "bench",
    "health",
    "pki",
    "edge",
    "audit",
)

DESCRIPTION = """\
triwarn: trilateral (US, Japan, ROK) missile-warning data sharing, a working prototype.

National nodes (us, jp, kr) track simulated launches with their own sensors and publish local tracks over
MQTT; the fusion service fuses them into one shared warning picture and streams it to subscribers over gRPC.

Start here:   triwarn demo            (everything on this machine, with a built-in launch scenario)
Then:         triwarn <command> --help
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="triwarn", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging threshold (default INFO)",
    )
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for name in COMMANDS:
        importlib.import_module(f"triwarn.cli.commands.{name}").register(sub)
    return parser


def _version() -> str:
    from triwarn import __version__

    return f"triwarn {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    from triwarn.services.runtime.logs import setup_logging

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    setup_logging(args.log_level)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
