"""The hub and a national domain as separate network hosts (Linux network namespaces joined by a veth pair):
a jp node's batch crosses the bridge from jp's host to the hub's over mutual TLS, the bridge verifying the
hub's certificate against the address it dials. Needs root, ``ip`` and mosquitto's command-line clients."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from triwarn.services.policy import Policy
from triwarn.services.trust.pki import Identity, default_identities, init_pki
from triwarn.services.trust.registry import load_registry
from triwarn.services.trust.topology import write_configs

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (ip netns)"),
    pytest.mark.skipif(
        not all(shutil.which(x) for x in ("ip", "mosquitto", "mosquitto_pub", "mosquitto_sub")),
        reason="needs ip, mosquitto and mosquitto-clients",
    ),
    pytest.mark.timeout(120),
]

HUB_IP, JP_IP = "10.77.0.1", "10.77.0.2"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def hosts() -> Iterator[dict[str, str]]:
    tag = str(os.getpid())[-5:]
    ns = {"hub": f"tw-hub-{tag}", "jp": f"tw-jp-{tag}"}
    veth = (f"twh{tag}", f"twj{tag}")
    try:
        for name in ns.values():
            _ip("netns", "add", name)
            _ip("-n", name, "link", "set", "lo", "up")
        _ip("link", "add", veth[0], "type", "veth", "peer", "name", veth[1])
        for dev, name, addr in ((veth[0], ns["hub"], HUB_IP), (veth[1], ns["jp"], JP_IP)):
            _ip("link", "set", dev, "netns", name)
            _ip("-n", name, "addr", "add", f"{addr}/24", "dev", dev)
            _ip("-n", name, "link", "set", dev, "up")
        yield ns
    finally:
        for name in ns.values():
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _client(pki: Path, identity: str) -> list[str]:
    return [
        "--cafile",
        str(pki / "ca.crt"),
        "--cert",
        str(pki / f"{identity}.crt"),
        "--key",
        str(pki / f"{identity}.key"),
    ]


def test_a_batch_crosses_from_the_jp_host_to_the_hub_host(hosts: dict[str, str], tmp_path: Path) -> None:
    idents = [
        Identity(i.name, i.role, i.nation, (HUB_IP,)) if i.name == "broker-hub" else i for i in default_identities()
    ]
    pki = init_pki(tmp_path / "pki", [*idents, Identity("monitor-hub", "console", "us")])
    configs = write_configs(
        tmp_path / "brokers",
        pki,
        Policy.release_all(),
        load_registry(pki / "node-keys.toml"),
        {"hub": 8883, "jp": 8883},
        host="0.0.0.0",
        hub_host=HUB_IP,
        run_as="root",
        extra_acl={"hub": "user monitor-hub\ntopic read #\n"},
    )
    procs = [
        subprocess.Popen(
            ["ip", "netns", "exec", hosts[name], "mosquitto", "-c", str(configs[name])],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("hub", "jp")
    ]
    try:
        time.sleep(1.0)
        sub = subprocess.Popen(
            ["ip", "netns", "exec", hosts["hub"], "mosquitto_sub", "-h", HUB_IP, "-p", "8883",
             *_client(pki, "monitor-hub"), "-t", "triwarn/v1/#", "-v", "-C", "1", "-W", "30"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while sub.poll() is None and time.monotonic() < deadline:
            subprocess.run(
                ["ip", "netns", "exec", hosts["jp"], "mosquitto_pub", "-h", "127.0.0.1", "-p", "8883",
                 *_client(pki, "jp-c2"), "-t", "triwarn/v1/jp/tracks", "-m", "across", "-q", "1"],
                capture_output=True, timeout=10,
            )  # fmt: skip
            time.sleep(0.5)
        out, _ = sub.communicate(timeout=35)
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
    assert out.strip() == "triwarn/v1/jp/tracks across"
