"""``triwarn bench``: benchmarks that print numbers (and write them to a results file).

Each benchmark is a module ``triwarn.benches.bench_<name>`` with ``add_arguments(parser)`` and
``run(args) -> int``; the scripts in benches/ call the same functions.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

#: benchmark name -> one-line help
BENCHMARKS: dict[str, str] = {
    "fusion": "per-cycle fusion latency for N objects seen by three nations (and Stone Soup for comparison)",
    "e2e": "nodes -> Mosquitto -> fusion -> gRPC -> subscribers: publish-to-receive latency and loss",
    "impact": "impact point prediction with its 95% ellipse: per track and for 100 tracks in one batch",
}


def register(sub: Any) -> None:
    parser = sub.add_parser("bench", help="measure speed: fusion latency, end-to-end latency")
    inner = parser.add_subparsers(dest="benchmark", metavar="<benchmark>", required=True)
    for name, help_text in BENCHMARKS.items():
        # argparse %-formats help strings (not descriptions): "95%" must be written "95%%" there
        p = inner.add_parser(name, help=help_text.replace("%", "%%"), description=help_text)
        module = f"triwarn.benches.bench_{name}"
        importlib.import_module(module).add_arguments(p)
        p.set_defaults(func=_runner(module))


def _runner(module: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        return int(importlib.import_module(module).run(args))

    return run
