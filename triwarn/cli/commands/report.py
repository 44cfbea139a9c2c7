"""``triwarn report``: a recording as one self-contained HTML report and a PNG map."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EPILOG = """\
examples:
  triwarn replay 2022-11-02-salvo --fast --record /tmp/salvo
  triwarn report /tmp/salvo                          /tmp/salvo/report.html and /tmp/salvo/report.png
  printf 'version = 1\\ndefault = "none"\\n' > none.toml
  triwarn replay 2022-11-02-salvo --fast --record /tmp/salvo-none --policy none.toml
  triwarn report /tmp/salvo --singles /tmp/salvo-none   also each nation alone against the shared picture

The HTML file opens in any browser with no network: everything it needs is inside (docs/web.md).
"""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="turn a recording (triwarn replay --record) into an HTML report and a PNG map",
        description="An after-action report of a recording: the map with a time slider, the warnings timeline, "
        "the picture's quality (SIAP, impact error against time to go, ellipse coverage) and, with --singles, "
        "each nation's own picture against the shared one.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("directory", type=Path, metavar="DIR", help="a recording: truth.csv, picture.csv, warnings.csv")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="the HTML file (default DIR/report.html)")
    p.add_argument("--png", type=Path, metavar="FILE", help="the PNG map (default DIR/report.png)")
    p.add_argument(
        "--singles", type=Path, metavar="DIR2", help="the same scenario and seed recorded under a no-release policy"
    )
    p.add_argument("--view", choices=("us", "jp", "kr"), help="the view of the PNG map (default us)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from triwarn.analysis.recording import EvaluationError
    from triwarn.analysis.report import make_report

    for d in (args.directory, args.singles):
        if d is not None and not (d / "picture.csv").is_file():
            runs = sorted(d.glob("run-*/picture.csv"))
            hint = (
                f"report one run, e.g. {runs[0].parent}" if runs else "record one: triwarn replay SCENARIO --record DIR"
            )
            print(f"triwarn report: {d} holds no picture.csv ({hint})", file=sys.stderr)
            return 2
    try:
        r = make_report(args.directory, args.output, args.png, args.singles, args.view)
    except (EvaluationError, ValueError, KeyError) as exc:
        print(f"triwarn report: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {r.html_path} ({r.html_bytes / 1e6:.2f} MB) and {r.png_path} in {r.seconds:.1f} s")
    return 0
