"""Fixtures of the coalition tests: a development PKI, the four brokers (hub, us, jp, kr) with their bridges,
mTLS and generated ACLs, and MQTT helpers that record what a given identity receives. All real: Mosquitto
processes on free loopback ports, TLS with certificates from ``triwarn pki init``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from coalition_helpers import MONITORS

from triwarn.services.policy import Policy
from triwarn.services.trust.pki import Identity, default_identities, init_pki
from triwarn.services.trust.registry import load_registry
from triwarn.services.trust.topology import CoalitionBrokers, start_coalition

pytestmark = pytest.mark.skipif(shutil.which("mosquitto") is None, reason="needs mosquitto")


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    extra = [Identity(name, "console", "us" if n == "hub" else n) for n, name in MONITORS.items()]
    return init_pki(tmp_path_factory.mktemp("pki"), default_identities() + extra)


@pytest.fixture(scope="session")
def rogue_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another CA with certificates of the same names."""
    return init_pki(tmp_path_factory.mktemp("rogue-pki"))


@pytest.fixture(scope="session")
def coalition(pki: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoalitionBrokers]:
    if shutil.which("mosquitto") is None:
        pytest.skip("needs mosquitto")
    brokers = start_coalition(
        pki,
        Policy.release_all(),
        load_registry(pki / "node-keys.toml"),
        workdir=tmp_path_factory.mktemp("coalition"),
        extra_acl={n: f"user {name}\ntopic read #\n" for n, name in MONITORS.items()},
    )
    try:
        yield brokers
    finally:
        brokers.stop()
