"""``triwarn audit verify FILE``: check the hash chain of an audit log of releases."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "audit",
        help="check the audit log of releases to consoles (append-only, hash-chained)",
        description="`triwarn audit verify FILE` recomputes the hash chain of an audit log (TRIWARN_AUDIT_LOG of "
        "the fusion service or an edge) and exits 0 if intact, 1 naming the first broken record.",
    )
    actions = p.add_subparsers(dest="action", metavar="<action>")
    verify = actions.add_parser("verify", help="check the hash chain")
    verify.add_argument("file", help="the audit log (JSON lines)")
    verify.set_defaults(func=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    from triwarn.services.trust.audit import verify

    try:
        result = verify(args.file)
    except OSError as exc:
        print(f"triwarn audit: {exc}")
        return 2
    print(("OK: " if result.ok else "BROKEN: ") + result.message)
    return 0 if result.ok else 1
