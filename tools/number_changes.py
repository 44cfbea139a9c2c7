"""Sort the track-number changes of recordings (``triwarn replay --record DIR``) by how they came about.

    python tools/number_changes.py DIR [DIR ...] [--view us] [--list]

A change is the one the families' benchmark counts (``analysis.siap.number_change_events``: at every time of
truth.csv each track goes to the missile closest to it, within 10 km, as Stone Soup's TrackToTruth associates,
and a missile's track, the nearest of those, has another number than before). Each is put in the
first of these kinds that applies:

- ``group``: into or out of a track that stood for an unresolved group (picture.csv ``objects`` > 1);
- ``after-end``: the new track began after the old one left the picture (the gap is printed, and how long
  after its launch the missile was when the old track ended: a track lost in boost ends early);
- ``new-while-alive``: the new track began while the old one was still in the picture;
- ``to-existing``: the missile went to a track that existed before the old one ended and was older than the
  change by more than 10 s (a shift to another missile's track).

Prints one summary line per kind (``--list``: every change). A diagnostic for docs/quality.md, not a test.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections import Counter
from pathlib import Path

from triwarn.analysis.evaluate import select_times
from triwarn.analysis.recording import read_grouped, read_picture, read_truth
from triwarn.analysis.siap import number_change_events

KINDS = ("group", "after-end", "new-while-alive", "to-existing")


def classify(directory: Path, view: str) -> list[dict[str, object]]:
    held = read_truth(directory / "truth.csv", held_only=True)
    truth = read_truth(directory / "truth.csv")
    tracks = read_picture(directory / "picture.csv").get(view)
    if tracks is None:
        return []
    grouped = read_grouped(directory / "picture.csv")[view]
    launch_s = {obj: float(t[0]) * 1e-6 for obj, (t, _) in truth.rows.items()}
    span = {tid: (float(t[0]) * 1e-6, float(t[-1]) * 1e-6) for tid, (t, _) in tracks.rows.items()}
    out: list[dict[str, object]] = []
    for obj, changes in number_change_events(held, tracks, select_times(held, 0), 10_000.0).items():
        for t_us, new, old, t_old_us in changes:
            t_s = t_us * 1e-6
            new_first, _ = span[new]
            _, old_last = span[old]
            if (new, t_us) in grouped or (old, t_old_us) in grouped:
                kind = "group"
            elif new_first > old_last:
                kind = "after-end"
            elif new_first >= t_s - 10.0:
                kind = "new-while-alive"
            else:
                kind = "to-existing"
            out.append(
                {
                    "recording": directory.name,
                    "object": obj,
                    "t_after_launch_s": round(t_s - launch_s[obj], 1),
                    "old": old,
                    "new": new,
                    "kind": kind,
                    "gap_s": round(new_first - old_last, 1),
                    "old_ended_after_launch_s": round(old_last - launch_s[obj], 1),
                }
            )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("recordings", nargs="+", type=Path, help="recording folders (truth.csv, picture.csv)")
    p.add_argument("--view", default="us")
    p.add_argument("--list", action="store_true", help="print every change, not only the counts")
    args = p.parse_args(argv)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends it quietly
    rows: list[dict[str, object]] = []
    for d in args.recordings:
        if not (d / "picture.csv").is_file():
            print(
                f"number_changes: {d} has no picture.csv (record one with `triwarn replay --record DIR`)",
                file=sys.stderr,
            )
            return 2
        rows += classify(d, args.view)
    if args.list:
        for r in rows:
            print("\t".join(f"{k}={v}" for k, v in r.items()))
    counts = Counter(str(r["kind"]) for r in rows)
    print(f"{len(rows)} number changes in {len(args.recordings)} recordings (view {args.view})")
    for kind in KINDS:
        print(f"  {kind:16s} {counts.get(kind, 0)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
