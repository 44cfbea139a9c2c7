"""Releasability labels on picture updates (``triwarn.v1.ReleaseLabel``, proto/triwarn/v1/release.proto).

The fusion service labels every update of view v as releasable to v only, under its policy's id
(``Labeller``: ``PictureUpdate.label``, and with a label key the label's own signature, ``label_signature``);
over MQTT it signs label and update together (``Releaser``); a national edge accepts an update only if the
signature is the fusion service's and the label releases it to the edge's nation (``Acceptor``), and refuses,
counts and logs anything else. A console refuses an update whose label does not release it to its nation
(``refusal``) and may check the label's signature (``verify_label``). Modelled on STANAG 4774 (label fields)
and 4778 (a cryptographic binding of label and data).
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
LABEL_DOMAIN = b"triwarn/v1 label\x00"
#: The classification marking of everything triwarn releases (a prototype on simulated data).
CLASSIFICATION = "UNCLASSIFIED//DEVELOPMENT"
#: How labels name nations (ISO 3166 trigraphs, as STANAG 4774 releasability markings do).
TRIGRAPH = {"us": "USA", "jp": "JPN", "kr": "KOR"}


def signed_data(key_id: str, label: bytes, update: bytes) -> bytes:
    return b"".join((DOMAIN, key_id.encode(), b"\x00", len(label).to_bytes(8, "big"), label, update))


def label_bytes(label: release_pb2.ReleaseLabel) -> bytes:
    """The bytes a label's own signature covers: its deterministic serialization."""
    return label.SerializeToString(deterministic=True)


def signed_label_data(key_id: str, label: release_pb2.ReleaseLabel) -> bytes:
    return b"".join((LABEL_DOMAIN, key_id.encode(), b"\x00", label_bytes(label)))


def make_label(
    policy_id: str, view: str, seq: int, releasable_to: tuple[str, ...] | None = None
) -> release_pb2.ReleaseLabel:
    """The label of update ``seq`` of ``view``, releasable to ``releasable_to`` (default: the view's nation)."""
    return release_pb2.ReleaseLabel(
        policy_id=policy_id,
        classification=CLASSIFICATION,
        releasable_to=[NATION_TO_PB[n] for n in (releasable_to or (view,))],
        view=NATION_TO_PB[view],
        seq=seq,
        created_time_ns=time.time_ns(),
    )


def releasable_to(label: release_pb2.ReleaseLabel) -> tuple[str, ...]:
    """The nations (``"us"``, ...) a label releases to, in its order (unknown values left out)."""
    return tuple(PB_TO_NATION[n] for n in label.releasable_to if n in PB_TO_NATION)


def describe(label: release_pb2.ReleaseLabel) -> str:
    """A label as a console shows it: ``UNCLASSIFIED//DEVELOPMENT REL TO JPN (policy ...)``."""
    nations = ", ".join(TRIGRAPH[n] for n in releasable_to(label)) or "nobody"
    return f"{label.classification or 'no classification'} REL TO {nations} (policy {label.policy_id or '?'})"


def refusal(update: picture_pb2.PictureUpdate, nation: str) -> tuple[str, str] | None:
    """Why a console of ``nation`` must not show ``update``: (reason, text), the reason ``unlabelled`` or
    ``not_released``; None when its label releases it to ``nation``."""
    if not update.HasField("label"):
        return "unlabelled", f"update {update.seq} carries no releasability label"
    if nation not in releasable_to(update.label):
        to = TRIGRAPH.get(nation, nation)
        return "not_released", f"update {update.seq} is labelled {describe(update.label)}, not releasable to {to}"
    return None


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

    def release(
        self,
        view: str,
        seq: int,
        update: bytes,
        releasable_to: tuple[str, ...] | None = None,
        label: release_pb2.ReleaseLabel | None = None,
    ) -> bytes:
        """The ``ReleasedUpdate`` bytes of ``update`` (a serialized PictureUpdate of ``view`` at ``seq``)
        under ``label`` (the one the update carries), or a new label releasable to ``releasable_to`` (default:
        the view's own nation)."""
        data = label_bytes(label if label is not None else make_label(self.policy_id, view, seq, releasable_to))
        signature = self.key.sign(signed_data(self.key_id, data, update))
        return release_pb2.ReleasedUpdate(
            update=update, label=data, key_id=self.key_id, ed25519=signature
        ).SerializeToString()

    def sign_label(self, label: release_pb2.ReleaseLabel) -> release_pb2.LabelSignature:
        """The label's own signature (``PictureUpdate.label_signature``)."""
        return release_pb2.LabelSignature(
            key_id=self.key_id, ed25519=self.key.sign(signed_label_data(self.key_id, label))
        )


@dataclass(frozen=True)
class Labeller:
    """Labels a view's updates for its consoles: under ``policy_id``, releasable to the view's nation, signed
    by ``signer`` (the fusion service with a label key) or unsigned (None: the single-broker demo)."""

    policy_id: str
    signer: Releaser | None = None

    def label(self, view: str, seq: int) -> tuple[release_pb2.ReleaseLabel, release_pb2.LabelSignature | None]:
        label = make_label(self.policy_id, view, seq)
        return label, (self.signer.sign_label(label) if self.signer is not None else None)


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
        if update.HasField("label") and update.label != label:
            raise RejectedInput("wrong_view", f"update {label.seq} carries another label than its release")
        return Accepted(label, update)


def verify_label(
    label: release_pb2.ReleaseLabel, signature: release_pb2.LabelSignature, key_id: str, public_key: Ed25519PublicKey
) -> bool:
    """Whether ``signature`` is ``key_id``'s (the fusion service's) over ``label``."""
    if signature.key_id != key_id:
        return False
    try:
        public_key.verify(signature.ed25519, signed_label_data(key_id, label))
    except InvalidSignature:
        return False
    return True
