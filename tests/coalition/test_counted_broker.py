"""`triwarn broker --config FILE`: one coalition broker run on its own (docker-compose.coalition.yml), its ACL
denials counted and served for Prometheus like those of the brokers the demo starts (real Mosquitto, mTLS)."""

from __future__ import annotations

import asyncio
import getpass
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from coalition_helpers import Recorder, publish, tls

from triwarn.services.runtime.broker import free_port, wait_for_port

pytestmark = pytest.mark.timeout(120)
CLI = [sys.executable, "-P", "-m", "triwarn.cli.main"]


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def test_a_broker_run_from_its_config_counts_what_its_acl_denies(pki: Path, tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    out = tmp_path / "brokers"
    made = subprocess.run(
        [
            *CLI,
            "pki",
            "brokers",
            str(out),
            "--pki-dir",
            str(pki),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--run-as",
            getpass.getuser(),
        ],
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    config = out / "hub" / "mosquitto.conf"
    assert "log_type debug" in config.read_text()
    metrics = f"127.0.0.1:{metrics_port}"
    proc = subprocess.Popen(
        [*CLI, "broker", "--config", str(config), "--metrics", metrics],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_port("127.0.0.1", port, 15.0)
        url = f"mqtts://127.0.0.1:{port}"

        async def spoof() -> None:
            async with Recorder(url, tls(pki, "edge-jp"), ["triwarn/v1/picture/kr/#"]):  # no rule at the hub
                await asyncio.sleep(0.3)
                await publish(url, tls(pki, "console-jp"), "triwarn/v1/jp/tracks", b"spoof")  # denied

        asyncio.run(spoof())
        want = (
            'triwarn_broker_publishes_denied_total{broker="hub",client="console-jp"} 1.0',
            'triwarn_broker_subscriptions_denied_total{broker="hub",client="edge-jp"} 1.0',
        )
        deadline = time.monotonic() + 10
        while not all(w in (text := _scrape(f"http://{metrics}/metrics")) for w in want):
            assert time.monotonic() < deadline, text
            time.sleep(0.2)
        kept = (out / "hub" / "mosquitto.log").read_text()
        assert "Denied PUBLISH from console-jp" in kept and "Received PUBLISH" not in kept
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert "MQTT broker hub" in output


def test_a_missing_config_says_how_to_make_one(tmp_path: Path) -> None:
    got = subprocess.run([*CLI, "broker", "--config", str(tmp_path / "nope.conf")], capture_output=True, text=True)
    assert got.returncode == 2 and "triwarn pki brokers" in got.stdout
