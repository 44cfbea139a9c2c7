"""Impact prediction speed (1 track, 100 tracks in one batch) and the issue-6 quality figures.

Run: ``python benches/bench_impact.py [--tracks 100] [--runs 20] [--no-quality] [--json]``. Writes
``benches/results/bench_impact.json``. The details are in ``triwarn.services.benchmarks.impact``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "bench_impact.json"


def main() -> int:
    from triwarn.services.benchmarks import impact

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    impact.add_arguments(parser)
    parser.set_defaults(output=RESULTS)
    return impact.run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
