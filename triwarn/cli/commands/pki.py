"""``triwarn pki init DIR``: a development CA, one certificate per identity, node signing keys, the registry."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "pki",
        help="make the development PKI of the coalition topology (CA, certificates, signing keys)",
        description="`triwarn pki init DIR` writes a development CA and one certificate per broker (us, jp, kr, "
        "hub), bridge, node, fusion service, edge and console, an Ed25519 signing key per node and for the "
        "fusion service, and the node-key registry (node-keys.toml). For development and tests only: "
        "docs/coalition.md says how to replace it with a real PKI.",
    )
    actions = p.add_subparsers(dest="action", metavar="<action>")
    init = actions.add_parser("init", help="write the development PKI into DIR")
    init.add_argument("dir", help="output folder (created; files of the same names are replaced)")
    init.set_defaults(func=run_init)


def run_init(args: argparse.Namespace) -> int:
    from triwarn.services.trust.pki import default_identities, init_pki

    out = init_pki(args.dir)
    idents = default_identities()
    print(f"development PKI in {out}: ca.crt, {len(idents)} certificates, node-keys.toml")
    for ident in idents:
        print(f"  {ident.name:<12} {ident.role:<8} {ident.nation}")
    print("private keys are mode 0600; replace with your nations' PKI for anything but development")
    return 0
