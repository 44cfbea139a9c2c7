"""``triwarn scenario``: list the scenario catalog, validate a scenario file (and fly it), generate one from a
family (scenarios/families.py)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "scenario",
        help="list the scenario catalog; validate a scenario file; generate one from a family",
        description="Scenario files describe launches, salvos and the sensors that take part "
        "(docs/scenario-format.md). `list` shows the catalog; `validate FILE` checks a file (or a catalog "
        "name) key by key and flies every launch, reporting a precise error: file, key, what is wrong and "
        "what is expected. `generate FAMILY --seed N` writes a scenario file drawn from a parameterised "
        "family (docs/scenario-families.md), the same for the same seed.",
    )
    inner = p.add_subparsers(dest="scenario_command", metavar="<list|validate|generate>", required=True)
    ls = inner.add_parser("list", help="list the scenario catalog")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=run_list)
    va = inner.add_parser("validate", help="validate a scenario file (or catalog name) and fly its launches")
    va.add_argument("file", help="scenario file or catalog name")
    va.add_argument("--no-fly", action="store_true", help="only check the file, do not plan the flights")
    va.add_argument("--json", action="store_true", help="print JSON")
    va.set_defaults(func=run_validate)
    ge = inner.add_parser(
        "generate",
        help="write a scenario file drawn from a family (raid, close-pair, thin-coverage, launch-anywhere)",
        description="Write an ordinary scenario file (valid by `triwarn scenario validate`) drawn at random from "
        "a parameterised family, deterministically per seed. Families: raid, close-pair, thin-coverage, "
        "launch-anywhere (docs/scenario-families.md).",
    )
    ge.add_argument("family", help="raid | close-pair | thin-coverage | launch-anywhere")
    ge.add_argument("--seed", type=int, required=True, help="integer >= 0; the same seed gives the same file")
    ge.add_argument("--out", help="write the file here (default: print it)")
    ge.set_defaults(func=run_generate)


def run_list(args: argparse.Namespace) -> int:
    from triwarn.scenarios.scenario_file import catalog_names, load_scenario

    rows = []
    for name in catalog_names():
        sc = load_scenario(name)
        rows.append(
            {
                "name": name,
                "launches": len(sc.launches),
                "missiles": sorted({ln.missile for ln in sc.launches}),
                "sensors": len(sc.sensor_ids),
                "description": sc.description,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            missiles = ", ".join(str(m) for m in r["missiles"])  # type: ignore[attr-defined]
            print(f"{r['name']:36s} {r['launches']:2d} launch(es)  {missiles:28s} {r['description']}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from triwarn.scenarios.scenario_file import ScenarioError, load_scenario

    try:
        sc = load_scenario(args.file)
        flights = []
        if not args.no_fly:
            truth = sc.truth()
            for i, oid in enumerate(truth.object_ids):
                flights.append(
                    {
                        "id": oid,
                        "missile": truth.missiles[i],
                        "launch_time_s": float(truth.launch_time_s[i]),
                        "apogee_km": float(truth.apogee_m[i] / 1e3),
                        "range_km": float(truth.range_m[i] / 1e3),
                        "flight_time_s": float(truth.impact_time_s[i] - truth.launch_time_s[i]),
                        "impact_lat_deg": float(truth.impact_lat_deg[i]),
                        "impact_lon_deg": float(truth.impact_lon_deg[i]),
                    }
                )
    except ScenarioError as exc:
        if args.json:
            print(json.dumps({"valid": False, "error": str(exc)}))
        else:
            print(f"invalid: {exc}")
        return 1
    if args.json:
        print(json.dumps({"valid": True, "name": sc.name, "sensors": list(sc.sensor_ids), "flights": flights}))
        return 0
    print(f"valid: {sc.source}: '{sc.name}', {len(sc.launches)} launch(es), {len(sc.sensor_ids)} sensor(s)")
    for f in flights:
        print(f"  {f['id']:18s} {f['missile']:13s} T+{f['launch_time_s']:6.0f} s  apogee {f['apogee_km']:7.1f} km  "
              f"range {f['range_km']:7.1f} km  flight {f['flight_time_s']:6.0f} s")  # fmt: skip
    return 0


def run_generate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from triwarn.scenarios.families import FamilyError, generate

    try:
        text = generate(args.family, args.seed).toml()
    except FamilyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out} ({args.family}, seed {args.seed}); check it with: triwarn scenario validate {out}")
    else:
        print(text, end="")
    return 0
