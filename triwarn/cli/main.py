"""The ``triwarn`` command: one entry point, one subcommand per job.

Each subcommand lives in ``triwarn.cli.commands.<name>`` and exposes ``register(subparsers)``, which
adds its parser and sets ``func`` to a callable taking the parsed ``argparse.Namespace`` and returning an
exit code. Command modules import heavy libraries (numba, grpc) inside their functions, so that
``triwarn --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

#: exit codes of the shell's conventions: 128 + the signal's number (SIGINT 2, SIGPIPE 13)
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

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
        print(f"triwarn {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (`triwarn subscribe --json | head`): end quietly, as a process killed by SIGPIPE
        # would, and keep Python from complaining when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
