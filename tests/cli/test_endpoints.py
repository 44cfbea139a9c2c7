"""A console finds the running demo: the endpoints file the demo writes, and the order of precedence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from triwarn.cli.commands._common import (
    console_tls,
    default_grpc_target,
    demo_endpoints_file,
    read_demo_endpoints,
    remove_demo_endpoints,
    write_demo_endpoints,
)
from triwarn.services.runtime.settings import Settings
from triwarn.services.runtime.tls import TlsFiles

# the demo takes the documented gRPC port 50051 when it is free and its consoles find the latest demo: every
# test file that starts a demo or expects 50051 free runs alone across the workers (tests/demo_lock.py)
pytestmark = pytest.mark.xdist_group("demo")


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where gettempdir() points, for this test only
    return tmp_path


def test_a_running_demo_is_found_and_flags_and_environment_win(private_tmp: Path) -> None:
    default = Settings.load(env={})
    assert default_grpc_target(None, default) == ("127.0.0.1:50051", "the default")
    path = write_demo_endpoints(grpc="127.0.0.1:45678", broker="mqtt://127.0.0.1:1883")
    assert path == demo_endpoints_file() and path.is_relative_to(private_tmp)
    target, source = default_grpc_target(None, default)
    assert target == "127.0.0.1:45678" and "running demo" in source
    assert default_grpc_target("10.0.0.1:1", default) == ("10.0.0.1:1", "--target")
    env = Settings.load(env={"TRIWARN_GRPC_TARGET": "127.0.0.1:5"})
    assert default_grpc_target(None, env) == ("127.0.0.1:5", "TRIWARN_GRPC_TARGET")
    remove_demo_endpoints()
    assert not path.exists()


def test_the_file_of_a_demo_that_is_gone_is_ignored(private_tmp: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    path = demo_endpoints_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'{{"pid": {int(gone.stdout)}, "grpc": "127.0.0.1:45678"}}\n')
    assert read_demo_endpoints() is None
    assert default_grpc_target(None, Settings.load(env={}))[0] == "127.0.0.1:50051"
    path.write_text("not json")
    assert read_demo_endpoints() is None
    remove_demo_endpoints()  # not ours: left alone
    assert path.exists()


def test_an_unreachable_target_names_the_address_and_what_to_do(private_tmp: Path) -> None:
    env = {**os.environ, "TMPDIR": str(private_tmp)}
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "triwarn.cli.main", "subscribe", "--connect-timeout", "0.5"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in env.items() if k != "TRIWARN_GRPC_TARGET"},
    )
    assert proc.returncode == 1
    assert "127.0.0.1:50051" in proc.stderr and "triwarn demo" in proc.stderr and "--target" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_coalition_demo_gives_each_view_its_console_address_and_certificate(private_tmp: Path) -> None:
    """The coalition demo's endpoints name the console of each nation: the hub for us (and no view), the edges
    for jp and kr; a console dialling one of them uses that console's certificate from the demo's PKI, and
    TLS flags (or TRIWARN_TLS_*) win over the file."""
    pki = private_tmp / "pki"
    consoles = {
        "us": {"grpc": "127.0.0.1:50051", "identity": "console-us"},
        "jp": {"grpc": "127.0.0.1:40001", "identity": "console-jp"},
        "kr": {"grpc": "127.0.0.1:40002", "identity": "console-kr"},
    }
    write_demo_endpoints(grpc="127.0.0.1:50051", topology="coalition", tls_dir=str(pki), consoles=consoles)
    plain = Settings.load(env={})
    assert default_grpc_target(None, plain)[0] == "127.0.0.1:50051"
    assert default_grpc_target(None, plain, "us")[0] == "127.0.0.1:50051"
    assert default_grpc_target(None, plain, "jp")[0] == "127.0.0.1:40001"
    assert default_grpc_target(None, plain, "kr")[0] == "127.0.0.1:40002"
    assert console_tls("127.0.0.1:40001", plain) == TlsFiles.in_dir(pki, "console-jp")
    assert console_tls("127.0.0.1:50051", plain) == TlsFiles.in_dir(pki, "console-us")
    assert console_tls("127.0.0.1:9", plain) is None  # not the demo's: plain text, as before
    own = Settings.load(env={"TRIWARN_TLS_CA": "a.crt", "TRIWARN_TLS_CERT": "b.crt", "TRIWARN_TLS_KEY": "c.key"})
    assert console_tls("127.0.0.1:40001", own) == TlsFiles("a.crt", "b.crt", "c.key")
    remove_demo_endpoints()
    assert console_tls("127.0.0.1:40001", plain) is None  # the demo stopped


def test_a_single_broker_demo_gives_no_certificates(private_tmp: Path) -> None:
    write_demo_endpoints(grpc="127.0.0.1:45678", broker="mqtt://127.0.0.1:1883")
    settings = Settings.load(env={})
    assert default_grpc_target(None, settings, "jp")[0] == "127.0.0.1:45678"  # one server, every view
    assert console_tls("127.0.0.1:45678", settings) is None
    remove_demo_endpoints()


def test_two_demos_the_newer_is_found_then_the_older_again(private_tmp: Path) -> None:
    """Two demos of one user: consoles follow the newer; when it stops, the older one (still running) again."""
    older = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        d = demo_endpoints_file().parent
        d.mkdir(parents=True, exist_ok=True)
        (d / f"demo-{older.pid}.json").write_text(json.dumps({"pid": older.pid, "grpc": "127.0.0.1:1111"}))
        write_demo_endpoints(grpc="127.0.0.1:2222")  # this process: the newer demo
        assert read_demo_endpoints()["grpc"] == "127.0.0.1:2222"
        remove_demo_endpoints()
        assert not demo_endpoints_file().exists()
        assert read_demo_endpoints()["grpc"] == "127.0.0.1:1111"
        older.kill()
        older.wait()
        assert read_demo_endpoints() is None
    finally:
        older.kill()
        older.wait()
