"""``triwarn export``: a recording as CZML (Cesium), KML (Google Earth) or GeoJSON (GIS)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EPILOG = """\
examples:
  triwarn replay demo --fast --record rec/demo
  triwarn export rec/demo --format czml                     writes rec/demo/picture-us.czml
  triwarn export rec/demo --format kml --view jp --out demo-jp.kml
  triwarn export rec/demo --format geojson --out -          GeoJSON on stdout

Each format in its own conventions: docs/interop.md.
"""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="export a recording as CZML (Cesium), KML (Google Earth) or GeoJSON (GIS)",
        description="Export one view of a recording (`triwarn replay SCENARIO --record DIR`): each system track "
        "as a time-dynamic path, its launch point, its impact points with their 95%% ellipses (as polygons, and "
        "as CZML's native ellipse) and its warnings.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("record_dir", type=Path, metavar="DIR", help="a recording of `triwarn replay --record DIR`")
    p.add_argument("--format", required=True, choices=("czml", "kml", "geojson"), help="output format")
    p.add_argument("--out", metavar="FILE", help="output file, - for stdout (default DIR/picture-VIEW.FORMAT)")
    p.add_argument("--view", default="us", choices=("us", "jp", "kr"), help="whose view of the picture (default us)")
    p.add_argument(
        "--ellipse-every",
        type=float,
        default=10.0,
        metavar="S",
        help="draw an impact ellipse polygon at most every S seconds of scenario time (0: every change; default 10)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from triwarn.analysis.exports import FORMATS, RecordingError, load_picture, render

    if args.ellipse_every < 0:
        raise SystemExit("triwarn export: --ellipse-every must be 0 or more")
    try:
        picture = load_picture(args.record_dir, args.view)
    except RecordingError as exc:
        print(f"triwarn export: {exc}", file=sys.stderr)
        return 1
    text = render(picture, args.format, args.ellipse_every)
    if args.out == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.out) if args.out else args.record_dir / f"picture-{args.view}{FORMATS[args.format]}"
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out} ({len(picture.tracks)} tracks, {len(picture.warnings)} warning changes, {len(text):,} bytes)")
    return 0
