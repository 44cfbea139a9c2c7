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
    brokers = actions.add_parser(
        "brokers", help="write the four brokers' Mosquitto configs and ACLs (docker-compose.coalition.yml uses it)"
    )
    brokers.add_argument("out", help="output folder: OUT/<hub|us|jp|kr>/mosquitto.conf and acl")
    brokers.add_argument("--pki-dir", required=True, help="the PKI folder as the brokers see it")
    brokers.add_argument("--registry", help="node-keys.toml to read (default: PKI-DIR/node-keys.toml)")
    brokers.add_argument("--policy", help="releasability policy file (default: release all)")
    brokers.add_argument("--host", default="0.0.0.0", help="listen address of every broker (default 0.0.0.0)")
    brokers.add_argument("--port", type=int, default=8883, help="port of every broker (default 8883)")
    brokers.add_argument("--hub-host", default="broker-hub", help="address the bridges dial (default broker-hub)")
    brokers.add_argument(
        "--run-as",
        default="",
        metavar="USER",
        help="the user a broker started as root keeps (default: none; Mosquitto then drops to `mosquitto`, who "
        "must be able to read the keys and write the folder); compose runs the brokers as a non-root user",
    )
    brokers.set_defaults(func=run_brokers)


def run_init(args: argparse.Namespace) -> int:
    from triwarn.services.trust.pki import default_identities, init_pki

    out = init_pki(args.dir)
    idents = default_identities()
    print(f"development PKI in {out}: ca.crt, {len(idents)} certificates, node-keys.toml")
    for ident in idents:
        print(f"  {ident.name:<12} {ident.role:<8} {ident.nation}")
    print("private keys are mode 0600; replace with your nations' PKI for anything but development")
    return 0


def run_brokers(args: argparse.Namespace) -> int:
    from pathlib import Path

    from triwarn.services.policy import load_policy
    from triwarn.services.trust.registry import load_registry
    from triwarn.services.trust.topology import HUB, write_configs

    pki = Path(args.pki_dir)
    registry = load_registry(args.registry or pki / "node-keys.toml")
    ports = {name: args.port for name in (HUB, "us", "jp", "kr")}
    # debug level: `triwarn broker --config` (compose) counts the ACL's denials from it and keeps the rest
    configs = write_configs(
        Path(args.out),
        pki,
        load_policy(args.policy),
        registry,
        ports,
        args.host,
        args.hub_host,
        run_as=args.run_as,
        debug_log=True,
    )
    for name, path in configs.items():
        print(f"broker-{name}: {path}")
    return 0
