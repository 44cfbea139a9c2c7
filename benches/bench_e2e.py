"""End-to-end latency and loss: nodes -> Mosquitto -> fusion -> gRPC -> N subscribers, on loopback.

Run: ``python benches/bench_e2e.py [--rates 100,300,1000] [--subscribers 1,10] [--duration 10] [--json]``.
Prints p50/p99 publish-to-receive latency, throughput and the count of anything lost per configuration, the
stages and the slowest 1%, the bare transport floor beside it (the same publishers, broker and subscribers with a
consumer that does no fusion and keeps no log), the distribution alone, and writes
``benches/results/bench_e2e.json``. The same benchmark is ``triwarn bench e2e``; the details are in
``triwarn.services.benchmarks.e2e``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "bench_e2e.json"


def main() -> int:
    from triwarn.services.benchmarks import e2e

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    e2e.add_arguments(parser)
    parser.set_defaults(output=RESULTS)
    return e2e.run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
