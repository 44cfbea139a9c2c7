"""Refresh the vendored browser libraries of the web map (``services/web/static/vendor/``) from the npm registry.

The page loads nothing from the internet at run time: every script and style it uses is committed here, with
its licence. This script runs ``npm pack NAME@VERSION`` (the registry's tarball, checked by npm against its
recorded integrity), and copies the listed files out of it.

    python tools/vendor_web.py           # fetch the pinned versions and rewrite the vendored files
    python tools/vendor_web.py --check   # compare the committed files with fresh tarballs (needs npm)

To move to a new version: change ``PACKAGES``, run the script, look at the diff, run the web tests.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "services" / "web" / "static" / "vendor"

#: npm package -> (version, files inside the tarball's ``package/`` folder to copy)
PACKAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "leaflet": (
        "1.9.4",
        (
            "LICENSE",
            "dist/leaflet.js",
            "dist/leaflet.css",
            "dist/images/layers.png",
            "dist/images/layers-2x.png",
            "dist/images/marker-icon.png",
            "dist/images/marker-icon-2x.png",
            "dist/images/marker-shadow.png",
        ),
    ),
}


def fetch(name: str, version: str, files: tuple[str, ...], work: Path) -> dict[str, bytes]:
    """The listed files of ``name@version``'s npm tarball, keyed by their path without ``dist/``."""
    subprocess.run(["npm", "pack", f"{name}@{version}", "--silent"], cwd=work, check=True, stdout=subprocess.DEVNULL)
    tarball = next(work.glob(f"{name}-{version}.tgz"))
    out = {}
    with tarfile.open(tarball) as tar:
        for f in files:
            member = tar.extractfile(f"package/{f}")
            if member is None:
                raise SystemExit(f"{name}@{version}: no {f} in the tarball")
            out[f.removeprefix("dist/")] = member.read()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed file differs from the registry's")
    args = parser.parse_args()
    differs = []
    with tempfile.TemporaryDirectory(prefix="triwarn-vendor-") as tmp:
        for name, (version, files) in PACKAGES.items():
            for rel, data in fetch(name, version, files, Path(tmp)).items():
                path = VENDOR / name / rel
                if args.check:
                    if not path.is_file() or path.read_bytes() != data:
                        differs.append(str(path.relative_to(ROOT)))
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            (VENDOR / name / "VERSION").write_text(f"{name}@{version} from the npm registry (tools/vendor_web.py)\n")
    for f in differs:
        print(f"differs: {f}")
    if not args.check:
        print(f"vendored {', '.join(f'{n}@{v}' for n, (v, _) in PACKAGES.items())} into {VENDOR.relative_to(ROOT)}")
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main())
