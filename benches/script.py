"""The command line of a benchmark harness run as a script (``python benches/bench_NAME.py``): its own options,
the defaults the script has over ``triwarn bench NAME`` (e.g. where its results go), its exit code."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def script_main(
    doc: str | None,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
    **defaults: Any,
) -> int:
    """Parse the command line with the harness's options and ``defaults``, and run it."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0] if doc else None)
    add_arguments(parser)
    parser.set_defaults(**defaults)
    return run(parser.parse_args())
