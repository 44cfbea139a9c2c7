"""Build ``core/trajectory/data/ussa1976_upper.npz``: US Standard Atmosphere 1976 above 86 km.

Run once by a developer (``python tools/build_ussa1976_table.py``); the result is committed and nothing is
computed from the package at run time. Needs the PyPI package ``ussa1976`` (MIT; an independent
implementation of NOAA-S/T 76-1562, which integrates the species number densities above 86 km) at BUILD time
only.

The table is on a uniform grid of geometric altitude from 86 km to 1000 km (250 m step, 3657 rows); the
kernel in ``triwarn.core.trajectory.atmosphere`` interpolates temperature linearly and ln p, ln ρ linearly
(log-linear). At 250 m the interpolation error against the package at the mid-points is < 0.03 % for ρ, p and
T (the builder checks this and fails otherwise).

Arrays in the file (all float64 except the two strings):

- ``z_m`` geometric altitude [m] (uniform: z_m[i] = z_m[0] + i * step)
- ``t_k`` kinetic temperature [K]
- ``ln_p_pa`` natural log of pressure [ln Pa]
- ``ln_rho_kg_m3`` natural log of mass density [ln kg/m³]
- ``source`` the generating package and version; ``note`` the provenance in one sentence
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "core" / "trajectory" / "data" / "ussa1976_upper.npz"

Z0_M = 86_000.0
Z1_M = 1_000_000.0
STEP_M = 250.0
MAX_INTERP_ERR = 3e-4  # relative, checked at the mid-points


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    from importlib.metadata import version

    import ussa1976  # build-time only

    ussa_version = version("ussa1976")

    n = round((Z1_M - Z0_M) / STEP_M) + 1
    z = Z0_M + STEP_M * np.arange(n)
    print(f"computing USSA-1976 with ussa1976 {ussa_version} on {n} altitudes {Z0_M / 1e3:.0f}-{Z1_M / 1e3:.0f} km")
    ds = ussa1976.compute(z=z, variables=["t", "p", "rho"])
    t = np.asarray(ds["t"].values, dtype=np.float64)
    ln_p = np.log(np.asarray(ds["p"].values, dtype=np.float64))
    ln_rho = np.log(np.asarray(ds["rho"].values, dtype=np.float64))
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(ln_p)) and np.all(np.isfinite(ln_rho))):
        raise SystemExit("ussa1976 returned non-finite values")

    print("checking log-linear interpolation at the mid-points")
    mid = ussa1976.compute(z=z[:-1] + 0.5 * STEP_M, variables=["t", "p", "rho"])
    err_t = np.max(np.abs(0.5 * (t[:-1] + t[1:]) / mid["t"].values - 1.0))
    err_p = np.max(np.abs(np.exp(0.5 * (ln_p[:-1] + ln_p[1:])) / mid["p"].values - 1.0))
    err_rho = np.max(np.abs(np.exp(0.5 * (ln_rho[:-1] + ln_rho[1:])) / mid["rho"].values - 1.0))
    print(f"max relative interpolation error: T {err_t:.2e}, p {err_p:.2e}, rho {err_rho:.2e}")
    if max(err_t, err_p, err_rho) > MAX_INTERP_ERR:
        raise SystemExit(f"interpolation error above {MAX_INTERP_ERR:g}: use a finer step")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        z_m=z,
        t_k=t,
        ln_p_pa=ln_p,
        ln_rho_kg_m3=ln_rho,
        source=np.array(f"ussa1976 {ussa_version} (PyPI), ussa1976.compute"),
        note=np.array(
            "US Standard Atmosphere 1976 (NOAA-S/T 76-1562) above 86 km, built by tools/build_ussa1976_table.py"
        ),
    )
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
