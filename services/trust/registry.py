"""The node-key registry: which node ids each nation may use, and the Ed25519 public key of each.

A TOML file (``triwarn pki init`` writes ``node-keys.toml``)::

    [node.jp-c2]
    nation = "jp"
    ed25519 = "<base64 of the 32 raw public-key bytes>"

Node ids are registered, not free-form: the fusion service verifies a batch against the key of the node it
names, and only if that node is registered for the nation of the topic it came on; the broker ACLs
(``triwarn.services.trust.topology``) let a node's certificate write only its nation's topics.

One list of nodes: where a key registry is given (``Settings.node_keys``), the intake's node registry
(``Settings.node_registry``, issue 16) is its view, :meth:`NodeRegistry.node_ids_by_nation`, and a
``TRIWARN_NODE_REGISTRY`` that says otherwise is an error; without one, ``node_registry`` stands alone.
"""

from __future__ import annotations

import base64
import binascii
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from triwarn.core.tracks import NATIONS


class RegistryError(ValueError):
    """The registry file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class RegisteredNode:
    node_id: str
    nation: str
    public_key: Ed25519PublicKey


@dataclass(frozen=True)
class NodeRegistry:
    nodes: Mapping[str, RegisteredNode]

    def node_ids(self, nation: str) -> list[str]:
        """The node ids registered for ``nation``, sorted."""
        return sorted(n.node_id for n in self.nodes.values() if n.nation == nation)

    def lookup(self, node_id: str) -> RegisteredNode | None:
        return self.nodes.get(node_id)

    def node_ids_by_nation(self) -> dict[str, tuple[str, ...]]:
        """Nation -> its registered node ids (every nation, possibly none): the shape of
        ``Settings.node_registry``, which is this view of the key registry wherever one is given."""
        return {n: tuple(self.node_ids(n)) for n in NATIONS}


def load_registry(path: str | Path) -> NodeRegistry:
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"{p}: node-key registry not found (`triwarn pki init DIR` writes one)") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RegistryError(f"{p}: cannot read the node-key registry: {exc}") from None
    nodes: dict[str, RegisteredNode] = {}
    for node_id, entry in doc.get("node", {}).items():
        where = f"{p}: [node.{node_id}]"
        if not isinstance(entry, dict) or entry.get("nation") not in NATIONS:
            raise RegistryError(f"{where}: needs nation = one of {', '.join(NATIONS)}")
        try:
            raw = base64.b64decode(str(entry.get("ed25519", "")), validate=True)
            key = Ed25519PublicKey.from_public_bytes(raw)
        except (binascii.Error, ValueError):
            raise RegistryError(f"{where}: ed25519 must be the base64 of a 32-byte Ed25519 public key") from None
        nodes[node_id] = RegisteredNode(node_id, entry["nation"], key)
    return NodeRegistry(MappingProxyType(nodes))
