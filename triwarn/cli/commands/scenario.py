"""``triwarn scenario``: list the scenario catalog, validate a scenario file (and fly it)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "scenario",
        help="list the scenario catalog; validate a scenario file",
        description="Scenario files describe launches, salvos and the sensors that take part "
        "(docs/scenario-format.md). `list` shows the catalog; `validate FILE` checks a file (or a catalog "
        "name) key by key and flies every launch, reporting a precise error: file, key, what is wrong and "
        "what is expected.",
    )
    inner = p.add_subparsers(dest="scenario_command", metavar="<list|validate>", required=True)
    ls = inner.add_parser("list", help="list the scenario catalog")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=run_list)
    va = inner.add_parser("validate", help="validate a scenario file (or catalog name) and fly its launches")
    va.add_argument("file", help="scenario file or catalog name")
    va.add_argument("--no-fly", action="store_true", help="only check the file, do not plan the flights")
    va.add_argument("--json", action="store_true", help="print JSON")
    va.set_defaults(func=run_validate)


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
