"""Ed25519 signatures of node messages: the node signs the exact bytes it publishes, the fusion service verifies
them against the node-key registry before it parses anything.

Envelope (``triwarn.v1.Signature``, field 15 of ``LocalTrackBatch`` and ``NodeStatus``, proto/triwarn/v1/
tracks.proto): the publisher serializes its message, signs those bytes, and appends the signature field at
the end. The bytes on the wire are therefore ``message bytes || SignedTail(signature).SerializeToString()``;
a reader without the field (an older fusion service) skips it as unknown: the change is wire-compatible.

Verification order (``Verifier.verify``): parse only the tail (``SignedTail``: every other field is skipped
unparsed), check that the payload ends with exactly that tail, look the key id up in the registry, check that
the node is registered for the topic's nation, verify the signature over the bytes before the tail; only then
does the caller parse the message. Replays of validly signed messages are the caller's to refuse (by node,
bd_seq and seq, after parsing: ``ReplayGuard``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import DecodeError

from triwarn.services.trust.registry import NodeRegistry
from triwarn.services.wire.tracks import RejectedInput
from triwarn.v1 import tracks_pb2

DOMAIN = b"triwarn/v1 signed\x00"
BATCH = "LocalTrackBatch"
STATUS = "NodeStatus"


def signed_data(kind: str, key_id: str, message: bytes) -> bytes:
    """What is signed: domain, message type, key id, then the message's exact bytes."""
    return b"".join((DOMAIN, kind.encode(), b"\x00", key_id.encode(), b"\x00", message))


def tail(key_id: str, signature: bytes) -> bytes:
    return tracks_pb2.SignedTail(signature=tracks_pb2.Signature(key_id=key_id, ed25519=signature)).SerializeToString()


@dataclass(frozen=True)
class Signer:
    """A node's signing key; ``key_id`` is its registered node id."""

    key_id: str
    key: Ed25519PrivateKey

    @classmethod
    def load(cls, path: str | Path, key_id: str) -> Signer:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 private key")
        return cls(key_id, key)

    def sign(self, kind: str, message: bytes) -> bytes:
        """``message`` with its signature appended (the bytes to publish)."""
        return message + tail(self.key_id, self.key.sign(signed_data(kind, self.key_id, message)))


@dataclass
class Verifier:
    """Checks signed node messages against the registry (see the module docstring for the order)."""

    registry: NodeRegistry

    def verify(self, kind: str, topic_nation: str, payload: bytes) -> str:
        """The id of the registered node of ``topic_nation`` that signed ``payload``, or RejectedInput with
        reason ``unsigned``, ``unknown_node``, ``wrong_nation`` or ``bad_signature``."""
        try:
            sig = tracks_pb2.SignedTail.FromString(payload).signature
        except (DecodeError, UnicodeDecodeError):
            raise RejectedInput("bad_signature", f"{kind}: not a protobuf message with a signature") from None
        if not sig.key_id and not sig.ed25519:
            raise RejectedInput("unsigned", f"{kind} on nation {topic_nation!r} carries no signature")
        node = self.registry.lookup(sig.key_id)
        if node is None:
            raise RejectedInput("unknown_node", f"{kind} signed by {sig.key_id[:64]!r}, which is not registered")
        if node.nation != topic_nation:
            raise RejectedInput(
                "wrong_nation", f"{kind} on nation {topic_nation!r} signed by {node.node_id}, a node of {node.nation}"
            )
        end = tail(sig.key_id, sig.ed25519)
        if len(sig.ed25519) != 64 or not payload.endswith(end):
            raise RejectedInput("bad_signature", f"{kind} from {node.node_id}: malformed signature field")
        message = payload[: len(payload) - len(end)]
        try:
            node.public_key.verify(sig.ed25519, signed_data(kind, node.node_id, message))
        except InvalidSignature:
            raise RejectedInput("bad_signature", f"{kind} from {node.node_id}: the signature does not verify") from None
        return node.node_id


@dataclass
class ReplayGuard:
    """Refuses a signed message seen before: per node, (bd_seq, seq) must increase. A validly signed batch
    sent again (by an attacker who recorded it, or as a QoS 1 duplicate) is refused as ``replayed``."""

    last: dict[str, tuple[int, int]] = field(default_factory=dict)

    def check(self, node_id: str, bd_seq: int, seq: int) -> None:
        previous = self.last.get(node_id)
        if previous is not None and (bd_seq, seq) <= previous:
            raise RejectedInput(
                "replayed", f"{node_id}: batch ({bd_seq}, {seq}) is not after the last accepted {previous}"
            )
        self.last[node_id] = (bd_seq, seq)
