"""The signature envelope on its own: it is wire-compatible (a reader without the field parses the signed
batch as before), it signs the exact bytes, and the verifier refuses before anything is parsed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from triwarn.sensors.sim.synthetic import nation_batch, truth_states
from triwarn.services.fusion import FusionService
from triwarn.services.runtime.clock import ManualClock
from triwarn.services.runtime.metrics import Metrics
from triwarn.services.runtime.settings import Settings, SettingsError
from triwarn.services.trust import signing
from triwarn.services.trust.pki import Identity, default_identities, init_pki
from triwarn.services.trust.registry import RegistryError, load_registry
from triwarn.services.wire import tracks as wire
from triwarn.v1 import tracks_pb2


def _payload() -> bytes:
    return wire.encode_batch(nation_batch("kr", truth_states(3, 0), time.time_ns()))


def test_signed_batch_parses_as_the_unsigned_one(pki: Path) -> None:
    payload = _payload()
    signed = signing.Signer.load(pki / "kr-c2.ed25519", "kr-c2").sign(signing.BATCH, payload)
    a, b = tracks_pb2.LocalTrackBatch.FromString(payload), tracks_pb2.LocalTrackBatch.FromString(signed)
    assert b.signature.key_id == "kr-c2" and len(b.signature.ed25519) == 64
    b.ClearField("signature")
    assert a == b
    assert signed.startswith(payload)


def test_verifier_accepts_the_registered_node_and_refuses_the_rest(pki: Path) -> None:
    verifier = signing.Verifier(load_registry(pki / "node-keys.toml"))
    signer = signing.Signer.load(pki / "kr-c2.ed25519", "kr-c2")
    signed = signer.sign(signing.BATCH, _payload())
    assert verifier.verify(signing.BATCH, "kr", signed) == "kr-c2"
    reasons = {}
    for name, kind, nation, payload in [
        ("unsigned", signing.BATCH, "kr", _payload()),
        ("other topic", signing.BATCH, "jp", signed),
        ("other type", signing.STATUS, "kr", signed),
        ("appended bytes", signing.BATCH, "kr", signed + b"\x08\x01"),
        ("garbage", signing.BATCH, "kr", b"\xff" * 40),
        (
            "other key",
            signing.BATCH,
            "kr",
            signing.Signer("kr-c2", Ed25519PrivateKey.generate()).sign(signing.BATCH, _payload()),
        ),
    ]:
        with pytest.raises(wire.RejectedInput) as err:
            verifier.verify(kind, nation, payload)
        reasons[name] = err.value.reason
    assert reasons == {
        "unsigned": "unsigned",
        "other topic": "wrong_nation",
        "other type": "bad_signature",
        "appended bytes": "bad_signature",  # the payload no longer ends with its signature field
        "garbage": "bad_signature",
        "other key": "bad_signature",
    }


def test_replay_guard() -> None:
    guard = signing.ReplayGuard()
    guard.check("jp-c2", 5, 0)
    guard.check("jp-c2", 5, 1)
    guard.check("jp-c2", 6, 0)
    for seq in [(6, 0), (5, 9)]:
        with pytest.raises(wire.RejectedInput, match="not after"):
            guard.check("jp-c2", *seq)


def test_registry_refuses_a_bad_key(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    path.write_text('[node.jp-c2]\nnation = "jp"\ned25519 = "AAAA"\n')
    with pytest.raises(RegistryError, match="32-byte"):
        load_registry(path)


def test_the_intakes_node_registry_is_the_view_of_the_key_registry(tmp_path: Path) -> None:
    """One list of nodes: a node registered with a key (here a second jp node) is one the intake accepts,
    with no second list to edit; a node_registry that disagrees with the key registry is an error."""
    pki = init_pki(tmp_path / "pki", [*default_identities(), Identity("jp-radar2", "node", "jp")])
    settings = Settings.load(env={}, node_keys=str(pki / "node-keys.toml"))
    assert not settings.registered("jp", "jp-radar2")  # the default list alone would refuse it
    now_ns = time.time_ns()
    metrics = Metrics()
    service = FusionService(settings, ManualClock(now_ns), metrics)
    assert service.settings.node_registry == {"us": ("us-c2",), "jp": ("jp-c2", "jp-radar2"), "kr": ("kr-c2",)}
    assert not service.settings.registered("kr", "jp-radar2")

    batch = nation_batch("jp", truth_states(2, 0), now_ns, batch_seq=0, bd_seq=3)
    payload = wire.encode_batch(batch) + tracks_pb2.LocalTrackBatch(node_id="jp-radar2").SerializeToString()
    service.handle_tracks(
        "jp", signing.Signer.load(pki / "jp-radar2.ed25519", "jp-radar2").sign(signing.BATCH, payload)
    )
    assert metrics.value("triwarn_batches_received_total", nation="jp") == 1
    assert metrics.value("triwarn_batches_rejected_total", nation="jp", reason="unregistered_node") == 0

    same = settings.replace(node_registry={"us": ("us-c2",), "jp": ("jp-c2", "jp-radar2"), "kr": ("kr-c2",)})
    assert FusionService(same, ManualClock(now_ns), Metrics()).settings.node_registry == same.node_registry
    other = settings.replace(node_registry={"jp": ("jp-x",)})
    with pytest.raises(SettingsError, match="disagrees with the node-key registry"):
        FusionService(other, ManualClock(now_ns), Metrics())
