"""`triwarn demo` as a user runs it: a picture that changes over time, exit 0, no orphan processes."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

# the demo takes the documented gRPC port 50051 when it is free and its consoles find the latest demo: every
# test file that starts a demo or expects 50051 free runs alone across the workers (tests/demo_lock.py)
pytestmark = pytest.mark.xdist_group("demo")

PR_SET_CHILD_SUBREAPER = 36


def _children() -> set[int]:
    """Live (non-zombie) processes whose parent is this process."""
    me = os.getpid()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] != "Z":
            found.add(int(entry.name))
    return found


@pytest.fixture
def subreaper() -> None:
    """Orphans of the demo are re-parented to this process instead of init, so the test can see them."""
    if ctypes.CDLL("libc.so.6").prctl(PR_SET_CHILD_SUBREAPER, 1) != 0:
        pytest.fail("prctl(PR_SET_CHILD_SUBREAPER) failed")


def _reap_and_check(before: set[int]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with_zombies_reaped = _children() - before
        if not with_zombies_reaped:
            return
        time.sleep(0.2)
    left = _children() - before
    cmdlines = [Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode() for p in left]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    raise AssertionError(f"the demo left orphan processes: {cmdlines}")


@pytest.mark.slow
def test_the_demo_takes_50051_again_right_after_a_demo_stopped_and_not_while_one_serves() -> None:
    from triwarn.cli.commands import demo

    def server() -> socket.socket:
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC's listener
        srv.bind(("127.0.0.1", demo.DEFAULT_GRPC_PORT))
        srv.listen()
        return srv

    srv = server()
    try:
        assert demo._grpc_port() != demo.DEFAULT_GRPC_PORT  # a server listens there
        # the stopped demo's side closes its console's connection first: TIME_WAIT on 50051 for a minute
        client = socket.create_connection(("127.0.0.1", demo.DEFAULT_GRPC_PORT))
        conn, _ = srv.accept()
        conn.close()
        time.sleep(0.1)
        client.close()
    finally:
        srv.close()
    assert demo._grpc_port() == demo.DEFAULT_GRPC_PORT
    server().close()  # the gRPC server's bind succeeds there too


def test_demo_shows_a_changing_fused_picture_and_exits_cleanly(subreaper: None, tmp_path: Path) -> None:
    before = _children()
    # no --duration: the demo must stop by itself when the scenario ends (379 s at 25x: ~15 s)
    cmd = [
        sys.executable,
        "-P",
        "-m",
        "triwarn.cli.main",
        "demo",
        "--json",
        "--speed",
        "25",
        "--workdir",
        str(tmp_path),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    _reap_and_check(before)

    updates = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert updates and updates[0]["kind"] == "KIND_SNAPSHOT"
    seqs = [int(u["seq"]) for u in updates]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "gap in the picture's sequence numbers"
    tracks = [t for u in updates for t in u.get("tracks", [])]
    assert len({t["track_id"] for t in tracks}) >= 1, "the demo's picture never held a track"
    fused = [t for t in tracks if len(t.get("contributing_nations", [])) >= 2]
    assert fused, "no track was fused from two or more nations"
    altitudes = [t["altitude_m"] for t in tracks if t["track_id"] == tracks[0]["track_id"]]
    assert max(altitudes) - min(altitudes) > 10e3, "the picture did not change over time"
    assert (tmp_path / "services.log").exists()


@pytest.mark.slow
def test_ctrl_c_stops_the_demo_and_everything_it_started(subreaper: None, tmp_path: Path) -> None:
    before = _children()
    cmd = [sys.executable, "-P", "-m", "triwarn.cli.main", "demo", "--json", "--workdir", str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until the picture streams
        if line.startswith("{"):
            break
    time.sleep(2)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out[-3000:]  # the shell's code for "ended by SIGINT"
    assert "triwarn demo: interrupted" in out
    assert "Traceback" not in out
    _reap_and_check(before)


@pytest.mark.slow
def test_demo_json_writes_only_json_to_stdout_and_ends_quietly_when_the_reader_goes(
    subreaper: None, tmp_path: Path
) -> None:
    """`triwarn demo --json | head -5`: stdout holds the picture only (progress goes to stderr), and when the
    reader closes the pipe the demo and everything it started end at once, quietly, with the code of a process
    ended by SIGPIPE (141), as `yes | head` does."""
    before = _children()
    cmd = [
        sys.executable,
        "-P",
        "-m",
        "triwarn.cli.main",
        "demo",
        "--json",
        "--speed",
        "25",
        "--workdir",
        str(tmp_path),
    ]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        lines = [proc.stdout.readline() for _ in range(5)]
        proc.stdout.close()  # what `head -5` does after its fifth line
        closed = time.monotonic()
        err = proc.stderr.read()
        proc.wait(timeout=60)
    assert time.monotonic() - closed < 20, "the demo ran on after its reader went away"
    assert [json.loads(line)["seq"] for line in lines] == sorted(json.loads(line)["seq"] for line in lines)
    assert proc.returncode == 141, err[-3000:]
    assert "Traceback" not in err and "BrokenPipeError" not in err, err[-3000:]
    assert "kernels ready" in err  # the progress went to stderr
    _reap_and_check(before)
