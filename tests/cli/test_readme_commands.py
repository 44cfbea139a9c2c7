"""Every ``triwarn …`` command in the README's code blocks runs, as written, with the installed ``triwarn``.

The commands are read from README.md, so a command added there without a way to run it here fails the test.
``HOW`` says, per command, only what keeps it short or puts it on this test's own resources: a shorter duration
or a faster clock appended (argparse takes the last value), the test's private broker in place of a URL that
names the user's, a file the command reads made first. Commands that talk to a running stack get a demo
started in the background, found the way a user's console finds it (its endpoints file).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from taky_server import Taky  # tests/taky_server.py (tests/ is on sys.path)

from triwarn.cli.commands._common import read_demo_endpoints
from triwarn.services.runtime.broker import BrokerHandle, free_port, start_broker

# the demo takes the documented gRPC port 50051 when it is free and its consoles find the latest demo: every
# test file that starts a demo or expects 50051 free runs alone across the workers (tests/demo_lock.py)
pytestmark = pytest.mark.xdist_group("demo")

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


@dataclass(frozen=True)
class How:
    """How the test runs one README command."""

    #: appended to the command (shorter runs; argparse keeps the last value): a demo's --duration counts from
    #: its common start, after its services are up, so a few seconds still show a fused picture
    append: tuple[str, ...] = ()
    needs_demo: bool = False  # a demo must be running (the command finds it by itself)
    needs: tuple[str, ...] = ()  # README commands that must have run first (their output is read)
    exit_code: int = 0
    timeout_s: float = 240.0  # below pytest's own timeout (300 s), so that a hang shows the command's stderr
    tak_port: int | None = None  # a TAK server (taky) must listen on this loopback port


#: README command (as written, comment removed) -> how the test runs it. {broker} is the test's own broker.
HOW: dict[str, How] = {
    "triwarn demo --duration 60": How(append=("--duration", "5")),
    "triwarn demo --json": How(append=("--speed", "25", "--duration", "6")),
    "triwarn demo --broker {broker} --speed 1": How(append=("--duration", "5")),
    "triwarn subscribe --target 127.0.0.1:50051": How(append=("--duration", "3"), needs_demo=True),
    "triwarn subscribe": How(append=("--duration", "3"), needs_demo=True),
    "triwarn subscribe --view jp --json": How(append=("--duration", "3"), needs_demo=True),
    "triwarn subscribe --from-seq 1200": How(append=("--duration", "3"), needs_demo=True),
    "triwarn demo --topology coalition --duration 60": How(append=("--duration", "6")),
    "triwarn demo --topology single --duration 60": How(append=("--duration", "5")),
    "triwarn pki init ./pki": How(),
    "triwarn scenario list": How(),
    "triwarn scenario generate raid --seed 7 --out /tmp/raid-7.toml": How(),
    "triwarn scenario validate my-scenario.toml": How(),
    "triwarn replay 2022-11-18-hwasong17-lofted --fast --record runs/hs17": How(),
    "triwarn replay demo --speed 1 --broker {broker}": How(append=("--speed", "25")),
    "triwarn evaluate runs/hs17 --held-only": How(
        needs=("triwarn replay 2022-11-18-hwasong17-lofted --fast --record runs/hs17",)
    ),
    "triwarn trajectory --launch 39.22,125.67 --impact 41.49,136.97 --apogee-km 6000 --json": How(),
    "triwarn trajectory --list-missiles": How(),
    "triwarn replay demo --fast --record rec/demo": How(),
    "triwarn export rec/demo --format czml": How(needs=("triwarn replay demo --fast --record rec/demo",)),
    "triwarn export rec/demo --format kml --view jp": How(needs=("triwarn replay demo --fast --record rec/demo",)),
    "triwarn export rec/demo --format geojson": How(needs=("triwarn replay demo --fast --record rec/demo",)),
    "triwarn demo --web": How(append=("--speed", "25", "--duration", "6", "--web", f"127.0.0.1:{free_port()}")),
    "triwarn web --view jp": How(append=("--duration", "5", "--listen", f"127.0.0.1:{free_port()}"), needs_demo=True),
    "triwarn report rec/demo": How(needs=("triwarn replay demo --fast --record rec/demo",)),
    "triwarn cot --tak 127.0.0.1:8087": How(append=("--duration", "5"), needs_demo=True, tak_port=8087),
    # an example with a made-up server and files: it must end with a clear error, not a traceback
    "triwarn cot --tak tak.example:8089 --tls --cert me.pem --key me.key --ca ca.pem": How(
        append=("--duration", "3"), exit_code=2
    ),
}

#: the user's broker as the README writes it; the test puts its own there
USER_BROKER = "mqtt://127.0.0.1:1883"


def readme_commands() -> list[str]:
    """The ``triwarn …`` lines of the README's code blocks, comments removed, the user's broker as {broker}."""
    text = README.read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.strip()
            if not line.startswith("triwarn "):
                continue
            line = re.split(r"\s+#\s", line, maxsplit=1)[0].strip()
            line = " ".join(line.split()).replace(USER_BROKER, "{broker}")
            if line not in out:
                out.append(line)
    return out


COMMANDS = readme_commands()


def _triwarn() -> str:
    exe = shutil.which("triwarn") or str(Path(sys.executable).parent / "triwarn")
    assert Path(exe).exists(), "the installed `triwarn` command is missing: pip install the package first"
    return exe


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the commands run in, as a user's shell would; holds the scenario file a command reads."""
    d = tmp_path_factory.mktemp("readme")
    (d / "my-scenario.toml").write_text((ROOT / "scenarios" / "demo.toml").read_text(encoding="utf-8"))
    return d


@pytest.fixture(scope="module")
def broker(request: pytest.FixtureRequest) -> Iterator[BrokerHandle]:
    """A broker of this module's own: the README's demo and replay leave retained node status on the broker
    they use, which the session's broker must not carry into other tests."""
    handle = start_broker(prefer=request.config.getoption("--broker"))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def ran() -> set[str]:
    """README commands that ran here already (a later command may read what an earlier one wrote)."""
    return set()


#: a background demo older than this is replaced before a console uses it (its scenario lasts ~76 s at 5x)
MAX_DEMO_AGE_S = 40.0


class BackgroundDemo:
    """A demo in the background for the consoles, at the README demo's own speed (5x). It ends by itself with
    its scenario, so :meth:`ensure` starts a new one when the last has ended."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._log = (workdir / "background-demo.log").open("a")  # closed by close()
        self._proc: subprocess.Popen[bytes] | None = None
        self._serving_since = 0.0

    def ensure(self) -> None:
        """A demo is serving, with most of its scenario (76 s at 5x) still to run."""
        proc = self._proc
        if proc is not None and proc.poll() is None and time.monotonic() - self._serving_since < MAX_DEMO_AGE_S:
            return
        self.stop()
        # the README's consoles use the documented port: a demo that found it taken (by a test on the other
        # pytest-xdist worker, or a client's ephemeral port) serves elsewhere, so start it again
        for _ in range(3):
            self._proc = proc = subprocess.Popen(
                [_triwarn(), "demo", "--json"], stdout=subprocess.DEVNULL, stderr=self._log, cwd=self._workdir
            )
            deadline = time.monotonic() + 600
            while not _serving(proc):
                assert proc.poll() is None, (self._workdir / "background-demo.log").read_text()
                assert time.monotonic() < deadline, "the background demo did not come up within 10 minutes"
                time.sleep(0.5)
            self._serving_since = time.monotonic()
            if (read_demo_endpoints() or {}).get("grpc") == "127.0.0.1:50051":
                return
            self.stop()
            time.sleep(5.0)
        pytest.fail("the background demo never got the documented port 127.0.0.1:50051 (taken three times)")

    def close(self) -> None:
        self._log.close()

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(10)
        self._proc = None


def _serving(proc: subprocess.Popen[bytes]) -> bool:
    """Whether ``proc`` is the demo whose endpoints a console finds now."""
    endpoints = read_demo_endpoints()
    return bool(endpoints and endpoints.get("pid") == proc.pid)


@pytest.fixture(scope="module")
def demo(workdir: Path) -> Iterator[BackgroundDemo]:
    background = BackgroundDemo(workdir)
    try:
        yield background
    finally:
        background.stop()
        background.close()


def _run(command: str, how: How, workdir: Path, broker: BrokerHandle) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command.replace("{broker}", broker.url))
    argv = [_triwarn(), *argv[1:], *how.append]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIWARN_")}
    try:
        return subprocess.run(argv, cwd=workdir, capture_output=True, text=True, timeout=how.timeout_s, env=env)
    except subprocess.TimeoutExpired as exc:  # what it printed says where it hung
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
        pytest.fail(f"{command}: still running after {how.timeout_s:g} s\n{err[-3000:]}")


def test_every_readme_command_has_a_way_to_run_here() -> None:
    assert len(COMMANDS) >= 10, "the README's code blocks lost their commands?"
    missing = [c for c in COMMANDS if c not in HOW]
    assert not missing, f"README commands this test does not know how to run (add them to HOW): {missing}"


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs_as_written(
    command: str, workdir: Path, broker: BrokerHandle, ran: set[str], request: pytest.FixtureRequest
) -> None:
    how = HOW.get(command)
    if how is None:
        pytest.fail(f"no entry in HOW for {command!r}")
    if how.needs_demo:
        request.getfixturevalue("demo").ensure()
    tak = Taky(workdir / f"taky-{how.tak_port}", port=how.tak_port) if how.tak_port else None
    for before in how.needs:
        if before not in ran:
            done = _run(before, HOW[before], workdir, broker)
            assert done.returncode == 0, done.stderr[-2000:]
            ran.add(before)
    try:
        proc = _run(command, how, workdir, broker)
    finally:
        if tak is not None:
            tak.stop()
    ran.add(command)
    assert proc.returncode == how.exit_code, f"{command}: exit {proc.returncode}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
