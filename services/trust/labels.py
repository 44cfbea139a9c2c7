"""Releasability labels on picture updates (``triwarn.v1.ReleasedUpdate``, proto/triwarn/v1/release.proto).

The fusion service labels every update of view v as releasable to v only, under its policy's id, and signs
label and update together (``Releaser``); a national edge accepts an update only if the signature is the
fusion service's and the label releases it to the edge's nation (``Acceptor``), and refuses, counts and logs
anything else. Modelled on STANAG 4774 (label fields) and 4778 (a cryptographic binding of label and data).
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from google.protobuf.message import DecodeError

from triwarn.services.wire.nations import NATION_TO_PB, PB_TO_NATION
from triwarn.services.wire.tracks import RejectedInput
from triwarn.v1 import picture_pb2, release_pb2

DOMAIN = b"triwarn/v1 release\x00"
#: The classification marking of everything triwarn releases (a prototype on simulated data).
CLASSIFICATION = "UNCLASSIFIED//DEVELOPMENT"


def signed_data(key_id: str, label: bytes, update: bytes) -> bytes:
    return b"".join((DOMAIN, key_id.encode(), b"\x00", len(label).to_bytes(8, "big"), label, update))


@dataclass(frozen=True)
class Releaser:
    """Labels and signs a view's updates (the fusion service)."""

    key_id: str
    key: Ed25519PrivateKey
    policy_id: str

    @classmethod
    def load(cls, path: str | Path, key_id: str, policy_id: str) -> Releaser:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 private key")
        return cls(key_id, key, policy_id)

    def release(self, view: str, seq: int, update: bytes, releasable_to: tuple[str, ...] | None = None) -> bytes:
        """The ``ReleasedUpdate`` bytes of ``update`` (a serialized PictureUpdate of ``view`` at ``seq``),
        releasable to ``releasable_to`` (default: the view's own nation)."""
        label = release_pb2.ReleaseLabel(
            policy_id=self.policy_id,
            classification=CLASSIFICATION,
            releasable_to=[NATION_TO_PB[n] for n in (releasable_to or (view,))],
            view=NATION_TO_PB[view],
            seq=seq,
            created_time_ns=time.time_ns(),
        ).SerializeToString()
        signature = self.key.sign(signed_data(self.key_id, label, update))
        return release_pb2.ReleasedUpdate(
            update=update, label=label, key_id=self.key_id, ed25519=signature
        ).SerializeToString()


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """A public key file of ``triwarn pki init`` (``fusion-us.ed25519.pub``: base64 of the 32 raw bytes)."""
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(Path(path).read_text().strip(), validate=True))


@dataclass(frozen=True)
class Accepted:
    label: release_pb2.ReleaseLabel
    update: picture_pb2.PictureUpdate


@dataclass(frozen=True)
class Acceptor:
    """Verifies released updates for the edge of ``nation`` (its view is ``nation``)."""

    key_id: str
    public_key: Ed25519PublicKey
    nation: str

    def accept(self, data: bytes) -> Accepted:
        """The label and update of ``data``, or RejectedInput: ``malformed``, ``bad_signature`` (not the
        fusion service's), ``not_released`` (the label does not release it to this nation), ``wrong_view``."""
        try:
            msg = release_pb2.ReleasedUpdate.FromString(data)
        except (DecodeError, UnicodeDecodeError):
            raise RejectedInput("malformed", "not a triwarn.v1.ReleasedUpdate") from None
        if msg.key_id != self.key_id:
            raise RejectedInput("bad_signature", f"released by {msg.key_id[:64]!r}, not {self.key_id}")
        try:
            self.public_key.verify(msg.ed25519, signed_data(msg.key_id, msg.label, msg.update))
        except InvalidSignature:
            raise RejectedInput("bad_signature", "the release signature does not verify") from None
        try:
            label = release_pb2.ReleaseLabel.FromString(msg.label)
            update = picture_pb2.PictureUpdate.FromString(msg.update)
        except (DecodeError, UnicodeDecodeError):
            raise RejectedInput("malformed", "a signed label or update that does not parse") from None
        released = {PB_TO_NATION.get(n) for n in label.releasable_to}
        if self.nation not in released:
            raise RejectedInput(
                "not_released",
                f"update {label.seq} of view {PB_TO_NATION.get(label.view, '?')} is releasable to "
                f"{', '.join(sorted(str(n) for n in released)) or 'nobody'}, not {self.nation}",
            )
        if PB_TO_NATION.get(label.view) != self.nation or update.view != label.view or update.seq != label.seq:
            raise RejectedInput("wrong_view", f"label of view {label.view} seq {label.seq} does not match its update")
        return Accepted(label, update)
