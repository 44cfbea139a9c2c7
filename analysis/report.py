"""After-action report: a recording (``triwarn replay --record DIR``) as one self-contained HTML file and a PNG map.

The HTML file needs nothing else (no server, no internet): the vendored Leaflet, the map layers and the page's
script of ``triwarn web`` (``services/web/static``) are inlined, with the recording's data as JSON and the
plots as PNG images. It holds:

- the map of one view at a time with a time slider and a play button: each system track's ground track up
  to the time, its position, its latest 95% impact ellipse and launch point; the true flights (grey); areas
  threatened at that time highlighted by warning level;
- the warnings timeline (one row per track, coloured by its warning level over time);
- the picture's quality, from ``triwarn.analysis.evaluate``: SIAP and OSPA per view, impact-point error
  against time to go, the 95% ellipse's coverage by time to go;
- with ``singles`` (a second recording of the same scenario and seed under a policy that releases nothing,
  docs/quality.md), each nation's own picture against the shared one: when each object was first tracked, first
  had an impact prediction and first raised a warning with an area, and the impact error at fixed times to go.

Units: times in the data are seconds since the scenario's epoch (``meta.json`` ``epoch_ns``); distances km.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import itertools
import json
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from triwarn.analysis.evaluate import TABLE, evaluate
from triwarn.analysis.impact_scoring import (
    AT_TGO_S,
    Matched,
    ground_offset_en_m,
    match_assessments,
    score_assessments,
    score_impacts,
)
from triwarn.core.trajectory.frames import ecef_to_geodetic_batch

LEVELS = ("WARNING_LEVEL_UNSPECIFIED", "WARNING_LEVEL_NONE", "WARNING_LEVEL_ADVISORY", "WARNING_LEVEL_WATCH",
          "WARNING_LEVEL_WARNING")  # fmt: skip
LEVEL_COLOUR = {"warning": "#d7191c", "watch": "#f08c00", "advisory": "#e6c619", "none": "#7f8c8d"}


@dataclass(frozen=True)
class ReportResult:
    html_path: Path
    png_path: Path
    html_bytes: int
    seconds: float


def _static() -> Any:
    return resources.files("triwarn.services.web").joinpath("static")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _f(cell: str) -> float | None:
    return float(cell) if cell not in ("", None) else None


def _geodetic(rows: list[dict[str, str]]) -> np.ndarray:
    """(n, 3) lat deg, lon deg, height km of the ECEF positions of ``rows``."""
    if not rows:
        return np.empty((0, 3))
    pos = np.array([[float(r["x_m"]), float(r["y_m"]), float(r["z_m"])] for r in rows])
    lla = ecef_to_geodetic_batch(np.ascontiguousarray(pos))
    return np.column_stack([np.degrees(lla[:, 0]), np.degrees(lla[:, 1]), lla[:, 2] / 1e3])


def map_data(directory: Path) -> dict[str, Any]:
    """The recording as the page's JSON: ``truth`` per object, ``views`` -> tracks, ``warnings`` (time order).

    A track is ``[[t_s, lat, lon, alt_km, ipp_lat, ipp_lon, smaj_m, smin_m, orient_deg, ipp_t_s, lp_lat,
    lp_lon, nations], ...]`` (None where the recording has no prediction)."""
    meta = json.loads((directory / "meta.json").read_text()) if (directory / "meta.json").is_file() else {}
    truth_rows = _rows(directory / "truth.csv")
    pic_rows = _rows(directory / "picture.csv")
    truth: dict[str, Any] = {}
    for r, (la, lo, h) in zip(truth_rows, _geodetic(truth_rows), strict=True):
        o = truth.setdefault(
            r["object_id"],
            {
                "impact": [
                    _f(r.get("impact_lat_deg", "")),
                    _f(r.get("impact_lon_deg", "")),
                    _f(r.get("impact_t_s", "")),
                ],
                "launch": [
                    _f(r.get("launch_lat_deg", "")),
                    _f(r.get("launch_lon_deg", "")),
                    _f(r.get("launch_t_s", "")),
                ],
                "points": [],
            },
        )
        o["points"].append([float(r["t_s"]), round(la, 4), round(lo, 4), round(h, 2)])
    views: dict[str, dict[str, list[list[Any]]]] = defaultdict(lambda: defaultdict(list))
    for r, (la, lo, h) in zip(pic_rows, _geodetic(pic_rows), strict=True):
        ipp = [_f(r.get(c, "")) for c in ("ipp_lat_deg", "ipp_lon_deg", "ipp_semi_major_m", "ipp_semi_minor_m")]
        ipp += [_f(r.get("ipp_orientation_deg", "")), _f(r.get("ipp_time_s", ""))]
        lp = [_f(r.get("lp_lat_deg", "")), _f(r.get("lp_lon_deg", ""))]
        row = [float(r["t_s"]), round(la, 4), round(lo, 4), round(h, 2), *ipp, *lp, r.get("nations", "")]
        views[r["view"]][r["track_id"]].append(row)
    warnings = [
        [float(r["t_s"]), r["view"], int(r["warning_id"]), r["track_id"], _level(r["level"]), _state(r["state"]),
         [a.removeprefix("AREA_KIND_").lower() for a in r["areas"].split("+") if a]]
        for r in _rows(directory / "warnings.csv")
    ]  # fmt: skip
    times = [float(r["t_s"]) for r in truth_rows] + [float(r["t_s"]) for r in pic_rows]
    return {
        "scenario": meta.get("scenario", directory.name),
        "seed": meta.get("seed"),
        "epoch_ns": meta.get("epoch_ns"),
        "period_s": meta.get("eval_period_s", 1.0),
        "t0_s": min(times, default=0.0),
        "t1_s": max(times, default=0.0),
        "truth": truth,
        "views": {v: dict(tracks) for v, tracks in sorted(views.items())},
        "warnings": sorted(warnings, key=lambda w: w[0]),
    }


def _level(name: str) -> str:
    return name.removeprefix("WARNING_LEVEL_").lower()


def _state(name: str) -> str:
    return name.removeprefix("STATE_").lower()


def view_groups(directory: Path) -> list[list[str]]:
    """The views of ``picture.csv`` grouped by identical rows, each group sorted (a recording under the default
    policy, which releases everything to everyone, holds one picture three times)."""
    rows: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    with (directory / "picture.csv").open(newline="") as f:
        reader = csv.reader(f)
        k = next(reader).index("view")
        for row in reader:
            rows[row[k]].append(tuple(row[:k] + row[k + 1 :]))
    groups: dict[tuple[tuple[str, ...], ...], list[str]] = {}
    for view in sorted(rows):
        groups.setdefault(tuple(rows[view]), []).append(view)
    return list(groups.values())


# --- quality -------------------------------------------------------------------------------------------


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _impact_errors(matched: list[Matched]) -> tuple[np.ndarray, np.ndarray]:
    """(time to go s, impact error km) of every matched row with an impact prediction."""
    tgo, err = [], []
    for m in matched:
        if m.ipp is None:
            continue
        tgo.append(m.impact[2] - m.t_s)
        err.append(math.hypot(*ground_offset_en_m(m.ipp[0], m.ipp[1], m.impact[0], m.impact[1])) / 1e3)
    return np.array(tgo), np.array(err)


def quality_plots(matched: dict[str, list[Matched]], singles: dict[str, list[Matched]] | None) -> dict[str, str]:
    """PNG data URLs: ``impact_error`` (error against time to go per view, and per nation alone when
    ``singles``), ``coverage`` (fraction of rows whose 95% ellipse holds the true impact, by time to go)."""
    import matplotlib  # heavy: imported only when a report is made

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    for view, rows in sorted(matched.items()):
        tgo, err = _impact_errors(rows)
        if tgo.size:
            ax.scatter(tgo, np.maximum(err, 0.01), s=6, alpha=0.6, label=f"{view} (shared)")
    for nation, rows in sorted((singles or {}).items()):
        tgo, err = _impact_errors(rows)
        if tgo.size:
            ax.scatter(tgo, np.maximum(err, 0.01), s=6, alpha=0.5, marker="x", label=f"{nation} alone")
    ax.set_yscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("time to go, s")
    ax.set_ylabel("impact point error, km")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    out["impact_error"] = _png(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7.5, 3.0))
    edges = (0.0, 30.0, 60.0, 120.0, 300.0, 600.0, math.inf)
    labels = [f"{a:.0f}-{b:.0f}" if math.isfinite(b) else f">{a:.0f}" for a, b in itertools.pairwise(edges)]
    series = [(f"{v} (shared)", rows) for v, rows in sorted(matched.items())]
    series += [(f"{n} alone", rows) for n, rows in sorted((singles or {}).items())]
    width = 0.8 / max(1, len(series))
    for k, (label, rows) in enumerate(series):
        ipp_rows = [(m.t_s, *m.ipp, m.impact[0], m.impact[1], m.impact[2]) for m in rows if m.ipp is not None]
        bins = score_impacts(ipp_rows, edges)["bins"]
        cov = [b["coverage"] if b["n"] else np.nan for b in bins]
        ax.bar(np.arange(len(bins)) + k * width, cov, width, label=label)
    ax.axhline(0.95, color="k", lw=1, ls="--")
    ax.set_xticks(np.arange(len(labels)) + 0.4 - width / 2, labels)
    ax.set_xlabel("time to go, s")
    ax.set_ylabel("95% ellipse coverage")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, ncol=3)
    out["coverage"] = _png(fig)
    plt.close(fig)
    return out


def _objects_of_tracks(rows: list[Matched]) -> dict[str, str]:
    """track id -> the object it was matched to most often."""
    count: dict[tuple[str, str], int] = defaultdict(int)
    for m in rows:
        count[(m.track_id, m.object_id)] += 1
    best: dict[str, tuple[int, str]] = {}
    for (tid, obj), n in count.items():
        if tid not in best or n > best[tid][0]:
            best[tid] = (n, obj)
    return {tid: obj for tid, (_, obj) in best.items()}


def firsts(rows: list[Matched], warnings: list[list[Any]], view: str) -> dict[str, dict[str, float | None]]:
    """Per object: first time (s) the view held a track of it, had an impact prediction, and raised a warning
    at WATCH or above naming one of the areas of its last such warning (its final call: a brief early warning
    about an area that was then dropped does not count)."""
    out: dict[str, dict[str, float | None]] = {}
    for m in sorted(rows, key=lambda m: m.t_s):
        o = out.setdefault(m.object_id, {"track": m.t_s, "impact": None, "warning": None})
        if m.ipp is not None and o["impact"] is None:
            o["impact"] = m.t_s
    owner = _objects_of_tracks(rows)
    calls: dict[str, list[tuple[float, set[str]]]] = defaultdict(list)  # object -> (t, areas), time order
    for t, v, _, tid, level, _, areas in warnings:
        obj = owner.get(tid)
        if v == view and obj in out and level in ("watch", "warning") and areas:
            calls[obj].append((t, set(areas)))
    for obj, seq in calls.items():
        final = seq[-1][1]
        out[obj]["warning"] = next(t for t, areas in seq if areas & final)
    return out


def sharing_table(
    shared: dict[str, list[Matched]], alone: dict[str, list[Matched]], warnings: list[list[Any]],
    warnings_alone: list[list[Any]],
) -> list[dict[str, Any]]:  # fmt: skip
    """One row per (nation, object): the firsts of :func:`firsts` in the nation's shared view and in its own
    picture, and the latest impact error at :data:`AT_TGO_S` to go in each."""
    rows = []
    for nation in sorted(set(shared) & set(alone)):
        fs, fa = firsts(shared[nation], warnings, nation), firsts(alone[nation], warnings_alone, nation)
        ss = score_assessments(shared[nation])["impact_latest_at_tgo"]
        sa = score_assessments(alone[nation])["impact_latest_at_tgo"]
        for obj in sorted(set(fs) | set(fa)):
            rows.append(
                {
                    "nation": nation,
                    "object": obj,
                    "shared": fs.get(obj, {}),
                    "alone": fa.get(obj, {}),
                }
            )
        rows.append(
            {
                "nation": nation,
                "object": "(all objects)",
                "error_at_tgo_km": {
                    tgo: (ss.get(tgo, {}).get("mean_km"), sa.get(tgo, {}).get("mean_km"))
                    for tgo in (f"{t:.0f}" for t in AT_TGO_S)
                },
            }
        )
    return rows


# --- the PNG map ---------------------------------------------------------------------------------------


def png_map(data: dict[str, Any], view: str, path: Path) -> None:
    """The whole recording of ``view`` on one map: land and Japan's EEZ, true flights (grey), fused ground
    tracks, each track's last 95% impact ellipse, launch points (triangles), true impacts (x)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    areas = json.loads(_static().joinpath("map/areas.geojson").read_text())
    fig, ax = plt.subplots(figsize=(9, 7.5))
    ax.set_facecolor("#b9d3e8")
    style = {"land": ("#e9e6da", "#8a8a7a"), "jp_eez": ("#cfe3f570", "#3f7fbf"), "jp_land": ("#dcd8c4", "#6b6b5c"),
             "kr_land": ("#dcd8c4", "#6b6b5c")}  # fmt: skip
    for f in areas["features"]:  # one collection per layer: hundreds of islands drawn in one call
        face, edge = style[f["properties"]["layer"]]
        rings = [np.asarray(poly[0]) for poly in f["geometry"]["coordinates"]]
        ax.add_collection(PolyCollection(rings, closed=True, facecolors=face, edgecolors=edge, linewidths=0.5))
    lats: list[float] = []
    lons: list[float] = []
    for obj in data["truth"].values():
        p = np.array([q[1:3] for q in obj["points"]])
        ax.plot(_unwrap(p[:, 1]), p[:, 0], color="#555", lw=1, ls=":", zorder=3)
        if obj["impact"][0] is not None:
            ax.plot(_unwrap(np.array([obj["impact"][1]])), [obj["impact"][0]], "kx", ms=7, zorder=6)
        lats += p[:, 0].tolist()
        lons += _unwrap(p[:, 1]).tolist()
    colours = plt.get_cmap("tab10")
    for k, (tid, rows) in enumerate(sorted(data["views"].get(view, {}).items(), key=lambda kv: int(kv[0]))):
        r = np.array([row[:4] for row in rows], dtype=float)
        c = colours(k % 10)
        ax.plot(_unwrap(r[:, 2]), r[:, 1], color=c, lw=1.8, zorder=4, label=f"track {tid}")
        with_ipp = [row for row in rows if row[4] is not None and row[6] is not None]
        if with_ipp:
            last = with_ipp[-1]
            ring = _ellipse_ring(last[4], last[5], last[6], last[7], last[8])
            ax.fill(_unwrap(ring[:, 1]), ring[:, 0], color=c, alpha=0.3, zorder=5)
            ax.plot(_unwrap(ring[:, 1]), ring[:, 0], color=c, lw=1, zorder=5)
            ax.plot(_unwrap(np.array([last[5]])), [last[4]], "o", color=c, mec="k", ms=5, zorder=6)
        lps = [row for row in rows if row[10] is not None]
        if lps:
            ax.plot(_unwrap(np.array([lps[-1][11]])), [lps[-1][10]], "^", color=c, mec="k", ms=8, zorder=6)
    if lats:
        pad = 2.0
        ax.set_xlim(min(lons) - pad, max(lons) + pad)
        ax.set_ylim(min(lats) - pad, max(lats) + pad)
    ax.set_aspect(1.0 / math.cos(math.radians(float(np.mean(ax.get_ylim())))))
    ax.set_xlabel("longitude, ° E")
    ax.set_ylabel("latitude, ° N")
    ax.set_title(
        f"{data['scenario']} (seed {data['seed']}), view {view}: fused tracks, last impact predictions and ellipses"
    )
    ax.legend(fontsize=7, loc="lower right", ncol=2)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _unwrap(lon_deg: np.ndarray) -> np.ndarray:
    return np.where(np.asarray(lon_deg) < 0.0, np.asarray(lon_deg) + 360.0, np.asarray(lon_deg))


def _ellipse_ring(lat_deg: float, lon_deg: float, smaj_m: float, smin_m: float, orient_deg: float) -> np.ndarray:
    """(73, 2) lat, lon (deg) of the ellipse (major axis at ``orient_deg`` clockwise from north), local plane."""
    a = np.linspace(0.0, 2.0 * np.pi, 73)
    o = math.radians(orient_deg)
    along, across = smaj_m * np.cos(a), smin_m * np.sin(a)
    e = along * math.sin(o) + across * math.cos(o)
    n = along * math.cos(o) - across * math.sin(o)
    r = 6_371_008.8
    return np.column_stack(
        [lat_deg + np.degrees(n / r), lon_deg + np.degrees(e / (r * math.cos(math.radians(lat_deg))))]
    )


# --- the HTML file -------------------------------------------------------------------------------------


def _siap_table(result: dict[str, Any]) -> str:
    views = sorted(result["views"])
    head = "".join(f"<th>{html.escape(v)}</th>" for v in views)
    body = []
    for key, label, fmt in TABLE:
        cells = []
        for v in views:
            x = result["views"][v].get(key)
            cells.append(f"<td>{fmt.format(x) if isinstance(x, float) and math.isfinite(x) else '–'}</td>")
        body.append(f"<tr><td>{label}</td>{''.join(cells)}</tr>")
    cov = []
    for v in views:
        a = result["views"][v].get("assessment", {})
        c = a.get("coverage", math.nan)
        cov.append(f"<td>{c:.2f}</td>" if isinstance(c, float) and math.isfinite(c) else "<td>–</td>")
    body.append(f"<tr><td>95% ellipse coverage (ideal 0.95)</td>{''.join(cov)}</tr>")
    return f"<table class='q'><tr><th>view</th>{head}</tr>{''.join(body)}</table>"


def _sharing_html(rows: list[dict[str, Any]]) -> str:
    def t(x: Any) -> str:
        return f"{x:.0f}" if isinstance(x, (int, float)) and math.isfinite(x) else "never"

    def gain(shared: Any, alone: Any) -> str:
        if not isinstance(shared, (int, float)):
            return "–"
        if not isinstance(alone, (int, float)):
            return "only shared"
        d = alone - shared
        return f"{d:+.0f} s" if abs(d) >= 0.5 else "same"

    parts = [
        "<table class='q'><tr><th>nation</th><th>object</th><th colspan=3>first track, s</th>"
        "<th colspan=3>first impact prediction, s</th><th colspan=3>first warning naming its final area, s</th></tr>"
        "<tr><th></th><th></th>" + "<th>shared</th><th>alone</th><th>sooner by</th>" * 3 + "</tr>"
    ]
    errors = []
    for r in rows:
        if "error_at_tgo_km" in r:
            cells = "".join(f"<td>{_km(s)} / {_km(a)}</td>" for s, a in r["error_at_tgo_km"].values())
            errors.append(f"<tr><td>{html.escape(r['nation'])}</td>{cells}</tr>")
            continue
        s, a = r["shared"], r["alone"]
        cells = "".join(
            f"<td>{t(s.get(k))}</td><td>{t(a.get(k))}</td><td>{gain(s.get(k), a.get(k))}</td>"
            for k in ("track", "impact", "warning")
        )
        parts.append(f"<tr><td>{html.escape(r['nation'])}</td><td>{html.escape(r['object'])}</td>{cells}</tr>")
    parts.append("</table>")
    tgo_head = "".join(f"<th>{t:.0f} s to go</th>" for t in AT_TGO_S)
    parts.append(
        "<p>Impact point error of the latest prediction before each time to go, mean over objects, km "
        f"(shared / alone):</p><table class='q'><tr><th>nation</th>{tgo_head}</tr>{''.join(errors)}</table>"
    )
    return "".join(parts)


def _km(x: Any) -> str:
    return f"{x:.1f}" if isinstance(x, float) and math.isfinite(x) else "–"


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>triwarn report: {title}</title>
<style>{leaflet_css}</style><style>{css}</style></head>
<body class="report">
<header><span class="title">triwarn after-action report</span><span>{title}</span>
<label>view <select id="view"></select></label></header>
<main><div id="map"></div><aside id="side">
<div id="controls"><button id="play">▶ play</button>
<input id="time" type="range" min="0" max="1" step="1" value="0"><span id="tlabel"></span></div>
<table id="tracks"><thead><tr><th>id</th><th>nations</th><th>level</th><th>alt km</th><th>to impact</th>
</tr></thead><tbody></tbody></table>
<h3>warnings timeline</h3><canvas id="timeline" width="460" height="160"></canvas>
<p class="dim legend">solid: fused ground track to the time shown; grey dotted: true flights; filled ellipse:
latest 95% impact area (huge while boosting: the reachable corridor); triangle: estimated launch point.</p>
</aside></main>
<section class="doc">
<h2>Picture quality</h2>
<p>Scored against the simulation's truth with Stone Soup's SIAP and OSPA (<code>triwarn evaluate</code>,
docs/quality.md).</p>
{siap}
<h3>Impact point error against time to go</h3><img alt="impact error" src="{impact_error}">
<h3>95% ellipse coverage by time to go</h3><img alt="coverage" src="{coverage}">
{sharing}
<p class="dim">{footer}</p>
</section>
<script>{leaflet_js}</script>
<script type="application/json" id="triwarn-areas">{areas}</script>
<script type="application/json" id="triwarn-report">{data}</script>
<script>{map_js}</script>
<script>{report_js}</script>
</body></html>
"""


def make_report(
    directory: str | Path,
    out_html: str | Path | None = None,
    out_png: str | Path | None = None,
    singles: str | Path | None = None,
    view: str | None = None,
    max_steps: int = 40,
) -> ReportResult:
    """Write the report of recording ``directory`` (default ``DIR/report.html`` and ``DIR/report.png``).

    ``singles``: a recording of the same scenario and seed under a policy that releases nothing (one view
    per nation, each from its own sensors only); ``view``: the view of the PNG map (default: the first);
    ``max_steps``: evaluation times for Stone Soup's SIAP (see ``triwarn evaluate``)."""
    t_start = time.perf_counter()
    d = Path(directory)
    html_path = Path(out_html) if out_html else d / "report.html"
    png_path = Path(out_png) if out_png else d / "report.png"
    data = map_data(d)
    if not data["views"]:
        raise ValueError(f"{d / 'picture.csv'}: no picture rows")
    groups = view_groups(d)  # Stone Soup scores each distinct picture once
    result = evaluate(d, max_steps=max_steps, views=[g[0] for g in groups])
    for g in groups:
        for v in g[1:]:
            result["views"][v] = result["views"][g[0]]
    matched = match_assessments(d)
    sharing = ""
    alone: dict[str, list[Matched]] | None = None
    if singles is not None:
        s = Path(singles)
        data_alone = map_data(s)
        if (data_alone["scenario"], data_alone["seed"]) != (data["scenario"], data["seed"]):
            raise ValueError(
                f"{s} holds {data_alone['scenario']} seed {data_alone['seed']}, {d} holds {data['scenario']} seed "
                f"{data['seed']}: --singles must be the same scenario and seed"
            )
        alone = match_assessments(s)
        warnings_alone = data_alone["warnings"]
        rows = sharing_table(matched, alone, data["warnings"], warnings_alone)
        sharing = (
            "<h2>Each nation alone against the shared picture</h2><p>The shared view of each nation (this "
            f"recording) against its own picture (<code>{html.escape(str(s))}</code>: the same scenario and seed "
            "under a policy that releases nothing). Times are seconds of scenario time; <em>sooner by</em> is how "
            "much earlier the shared picture had it.</p>" + _sharing_html(rows)
        )
    plots = quality_plots({" = ".join(g): matched.get(g[0], []) for g in groups}, alone)
    static = _static()
    png_view = view or ("us" if "us" in data["views"] else next(iter(data["views"])))
    png_map(data, png_view, png_path)
    page = PAGE.format(
        title=html.escape(f"{data['scenario']} (seed {data['seed']})"),
        leaflet_css=static.joinpath("vendor/leaflet/leaflet.css").read_text(),
        css=static.joinpath("app.css").read_text(),
        leaflet_js=static.joinpath("vendor/leaflet/leaflet.js").read_text(),
        map_js=static.joinpath("map.js").read_text(),
        report_js=static.joinpath("report.js").read_text(),
        areas=static.joinpath("map/areas.geojson").read_text().strip().replace("</", "<\\/"),
        data=json.dumps(data, separators=(",", ":")).replace("</", "<\\/"),
        siap=_siap_table(result),
        impact_error=plots["impact_error"],
        coverage=plots["coverage"],
        sharing=sharing,
        footer=html.escape(
            f"triwarn report {d}; Leaflet 1.9.4 (BSD-2-Clause) inlined; land: NOAA GLOBE via "
            "global-land-mask (MIT); Japan EEZ approximate (docs/map-data.md)."
        ),
    )
    html_path.write_text(page)
    return ReportResult(html_path, png_path, html_path.stat().st_size, time.perf_counter() - t_start)
