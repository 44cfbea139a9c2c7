"""The end-to-end benchmark's results: one configuration's receipts summarized (latency, throughput, loss,
sequence gaps) and the lines and tables it prints."""

from __future__ import annotations

from typing import Any

import numpy as np


def summarize(
    rate: int,
    n_subs: int,
    n_objects: int,
    duration_s: float,
    period_s: float,
    published: list[tuple[str, int, int]],
    received: list[dict[str, Any]],
) -> dict[str, Any]:
    sent = {t for _, t, _ in published}
    lat_ms: list[float] = []
    to_fusion_ms: list[float] = []
    lost = 0
    gaps = 0
    updates = 0
    tracks = 0
    update_bytes = 0
    for sub in received:
        seqs = np.asarray(sub["seq"], dtype=np.int64)
        gaps += int(np.sum(np.diff(seqs) - 1)) if seqs.size > 1 else 0
        src = np.asarray(sub["source_ns"], dtype=np.int64)
        recv = np.asarray(sub["recv_ns"], dtype=np.int64)
        mine = np.isin(src, list(sent))
        lat_ms += ((recv[mine] - src[mine]) * 1e-6).tolist()
        to_fusion_ms += ((np.asarray(sub["stamp_ns"], dtype=np.int64)[mine] - src[mine]) * 1e-6).tolist()
        lost += len(sent - set(src[mine].tolist()))
        updates += int(mine.sum())
        tracks += int(np.asarray(sub["n_tracks"])[mine].sum())
        update_bytes += int(np.asarray(sub["n_bytes"])[mine].sum())
    lat = np.asarray(lat_ms) if lat_ms else np.asarray([np.nan])
    split = np.asarray(to_fusion_ms) if to_fusion_ms else np.asarray([np.nan])
    rest = lat - split if lat_ms else np.asarray([np.nan])
    return {
        "tracks_per_s_per_nation": rate,
        "nations": 3,
        "objects": n_objects,
        "period_s": period_s,
        "subscribers": n_subs,
        "batches_published": len(published),
        "tracks_published_per_s": sum(n for _, _, n in published) / duration_s,
        "updates_received": updates,
        "delivered_tracks_per_s": tracks / duration_s,
        "update_bytes_mean": update_bytes / updates if updates else 0.0,
        "latency_ms": {
            "p50": float(np.percentile(lat, 50)),
            "p90": float(np.percentile(lat, 90)),
            "p99": float(np.percentile(lat, 99)),
            "max": float(np.max(lat)),
            "samples": len(lat_ms),
        },
        # the split at the fusion service's stamp (update.time_ns, taken once a batch is decoded, before
        # fusing): node -> broker -> fusion ingest, then fusion + log + gRPC -> subscriber
        "publish_to_fusion_ms": {"p50": float(np.percentile(split, 50)), "p99": float(np.percentile(split, 99))},
        "fusion_to_receive_ms": {"p50": float(np.percentile(rest, 50)), "p99": float(np.percentile(rest, 99))},
        "lost": lost,
        "gaps": gaps,
    }


def result_line(r: dict[str, Any], split: bool = True) -> str:
    if not split:
        return (
            f"   p50 {r['latency_ms']['p50']:.2f} ms  p99 {r['latency_ms']['p99']:.2f} ms  "
            f"max {r['latency_ms']['max']:.1f} ms  lost {r['lost']}  gaps {r['gaps']}  "
            f"{r['update_bytes_mean']:.0f} bytes per update"
        )
    return (
        f"   p50 {r['latency_ms']['p50']:.2f} ms  p99 {r['latency_ms']['p99']:.2f} ms  "
        f"max {r['latency_ms']['max']:.1f} ms  {r['delivered_tracks_per_s']:.0f} tracks/s delivered  "
        f"lost {r['lost']}  gaps {r['gaps']}\n"
        f"   of which publish -> fusion p50 {r['publish_to_fusion_ms']['p50']:.2f} ms, "
        f"fusion -> subscriber p50 {r['fusion_to_receive_ms']['p50']:.2f} ms; "
        f"fusion cycle mean {r['fusion_service'].get('fusion_cycle_mean_ms', float('nan')):.1f} ms"
    )


def stage_lines(r: dict[str, Any]) -> str:
    stages = r.get("stages_ms") or {}
    lines = ["   stages (ms)                                      p50      p99     mean"]
    for name, v in stages.items():
        lines.append(f"     {name:<44} {v['p50']:>7.3f}  {v['p99']:>7.3f}  {v['mean']:>7.3f}")
    t = r.get("tail")
    if t:
        lines.append(
            f"   slowest 1% ({t['samples']} receipts, mean {t['latency_ms_mean']:.1f} ms): publish -> consumer "
            f"{t['mqtt_ms_mean']:.1f}, in the service {t['service_ms_mean']:.1f}, queues -> receipt "
            f"{t['to_receipt_ms_mean']:.1f} ms; {100 * t['during_assessment']:.0f}% during one of "
            f"{t['assessments']} assessment runs; {t['gc_count']} collections, longest {t['gc_max_ms']:.1f} ms"
        )
    return "\n".join(lines)


def print_table(results: list[dict[str, Any]]) -> None:
    print()
    print("tracks/s/nation  subscribers  updates  p50 ms  p99 ms  max ms  tracks/s delivered (all subs)  lost")
    for r in results:
        print(
            f"{r['tracks_per_s_per_nation']:>15}  {r['subscribers']:>11}  {r['updates_received']:>7}  "
            f"{r['latency_ms']['p50']:>6.2f}  {r['latency_ms']['p99']:>6.2f}  {r['latency_ms']['max']:>6.1f}  "
            f"{r['delivered_tracks_per_s']:>29.0f}  {r['lost']:>4}"
        )
