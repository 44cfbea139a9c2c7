"""Generate the Python code for proto/triwarn/v1/*.proto into triwarn/v1/.

The one place generated code comes from. The generator is grpcio-tools, pinned in pyproject.toml's `dev`
extra (its version decides the protobuf runtime floor). Run after editing a .proto file:

    python tools/gen_proto.py          # regenerate
    python tools/gen_proto.py --check  # exit 1 if the committed code differs from what the .proto files give

CI runs --check, so generated code never drifts from the contracts.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
OUT_PACKAGE = ROOT / "triwarn" / "v1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def generate(out_root: Path) -> None:
    from grpc_tools import protoc  # imported here: only the generator needs grpcio-tools

    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / "triwarn" / "v1").glob("*.proto"))
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *protos,
    ]
    if protoc.main(args) != 0:
        sys.exit("protoc failed: see the messages above")


def generated_files(package_dir: Path) -> dict[str, Path]:
    return {p.name: p for p in package_dir.iterdir() if p.name.endswith(GENERATED_SUFFIXES)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if the committed code is out of date")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        fresh = generated_files(Path(tmp) / "triwarn" / "v1")
        current = generated_files(OUT_PACKAGE)
        stale = sorted(
            set(fresh) ^ set(current)
            | {n for n in set(fresh) & set(current) if not filecmp.cmp(fresh[n], current[n], shallow=False)}
        )
        if args.check:
            if stale:
                print("generated code is out of date: " + ", ".join(stale))
                print("run `python tools/gen_proto.py` and commit the result")
                return 1
            print(f"generated code matches proto/ ({len(fresh)} files)")
            return 0
        for name in set(current) - set(fresh):
            current[name].unlink()
        for name, path in fresh.items():
            shutil.copyfile(path, OUT_PACKAGE / name)
        print(f"wrote {len(fresh)} files to {OUT_PACKAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
