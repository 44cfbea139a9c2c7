"""`triwarn demo` runs the coalition by default where mosquitto is installed, and the consoles of this machine
find it: the endpoints file names the hub and the edges, and `triwarn subscribe` connects with mutual TLS as
the console of the view it asks for (console-us at the hub, console-jp at edge-jp, console-kr at edge-kr)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from triwarn.cli.commands import demo as demo_command
from triwarn.services.runtime import mqtt
from triwarn.services.runtime.tls import TlsFiles

# the demo takes the documented gRPC port 50051 when it is free and its consoles find the latest demo: every
# test file that starts a demo or expects 50051 free runs alone across the workers (tests/demo_lock.py)
pytestmark = [
    pytest.mark.skipif(shutil.which("mosquitto") is None, reason="needs mosquitto"),
    pytest.mark.xdist_group("demo"),
]

CLI = [sys.executable, "-P", "-m", "triwarn.cli.main"]


def _endpoints(tmpdir: Path) -> dict[str, object] | None:
    path = tmpdir / f"triwarn-{os.getuid()}" / "demo.json"
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


async def _publish(url: str, files: TlsFiles, topic: str) -> None:
    async with mqtt.client(url, "spoof", tls=files) as client:
        await client.publish(topic, b"spoof", qos=1)


def _subscribe(env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [*CLI, "subscribe", "--json", "--count", "1", "--connect-timeout", "20", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.slow
def test_the_default_demo_is_the_coalition_and_consoles_find_each_view(tmp_path: Path) -> None:
    # a private TMPDIR: the endpoints file of this demo is not another demo's on this machine
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIWARN_")} | {"TMPDIR": str(tmp_path)}
    work = tmp_path / "demo"
    cmd = [*CLI, "demo", "--json", "--speed", "25", "--workdir", str(work)]  # no --topology: the default
    log = (tmp_path / "demo.err").open("w")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env=env)
    try:
        deadline = time.monotonic() + 600
        while (found := _endpoints(tmp_path)) is None or found.get("pid") != proc.pid:
            assert proc.poll() is None, (tmp_path / "demo.err").read_text()[-3000:]
            assert time.monotonic() < deadline, "the demo did not write its endpoints within 10 minutes"
            time.sleep(0.5)
        assert found["topology"] == "coalition" and Path(str(found["tls_dir"])).is_dir()
        consoles = found["consoles"]
        assert isinstance(consoles, dict) and consoles["us"]["grpc"] == found["grpc"]
        assert len({c["grpc"] for c in consoles.values()}) == 3, "the hub and two edges"

        for view, args in (("us", ()), ("jp", ("--view", "jp")), ("kr", ("--view", "kr"))):
            got = _subscribe(env, *args)
            assert got.returncode == 0, got.stderr[-3000:]
            assert json.loads(got.stdout.splitlines()[0])["view"] == f"NATION_{view.upper()}"
        # a publish the hub's ACL denies (console-jp writing jp's tracks) is counted in the brokers' metrics
        files = TlsFiles.in_dir(str(found["tls_dir"]), "console-jp")
        asyncio.run(_publish(str(found["broker"]), files, "triwarn/v1/jp/tracks"))
        metric = 'triwarn_broker_publishes_denied_total{broker="hub",client="console-jp"} 1.0'
        deadline = time.monotonic() + 15
        while metric not in (
            scraped := urllib.request.urlopen(str(found["broker_metrics"]), timeout=10).read().decode()
        ):
            assert time.monotonic() < deadline, scraped
            time.sleep(0.2)
        # the hub's address given by hand: the demo's certificate for it is still found (console-us) ...
        got = _subscribe(env, "--target", str(found["grpc"]))
        assert got.returncode == 0 and '"view":"NATION_US"' in got.stdout, got.stderr[-3000:]
        # ... and console-us asking the hub for jp's view is refused: the certificate decides, not the flag
        got = _subscribe(env, "--target", str(found["grpc"]), "--view", "jp")
        assert got.returncode != 0 and "PERMISSION_DENIED" in got.stderr.upper().replace(" ", "_"), got.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        log.close()
    err = (tmp_path / "demo.err").read_text()
    assert "topology: coalition" in err and "stopped (SIGTERM)" in err
    assert proc.returncode == 0, err[-3000:]  # SIGTERM: a clean stop (brokers and endpoints file included)
    assert _endpoints(tmp_path) is None, "the demo left its endpoints file behind"


def test_without_mosquitto_the_default_is_the_single_broker_and_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = argparse.Namespace(topology="auto", broker=None)
    assert demo_command._topology(args) == "coalition"
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without mosquitto
    assert demo_command._topology(args) == "single"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "mosquitto is not installed" in err[0]
    monkeypatch.undo()
    assert demo_command._topology(argparse.Namespace(topology="auto", broker="mqtt://h:1")) == "single"
    assert "--broker was given" in capsys.readouterr().err
