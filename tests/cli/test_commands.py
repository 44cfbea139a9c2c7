"""Every subcommand's help, and the commands that take no service, work as a user types them."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from triwarn.cli.main import build_parser, main


def _parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    out = []

    def walk(prefix: str, parser: argparse.ArgumentParser) -> None:
        out.append((prefix, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(f"{prefix} {name}".strip(), sub)

    walk("", build_parser())
    return out


@pytest.mark.parametrize(("name", "parser"), _parsers(), ids=[n or "triwarn" for n, _ in _parsers()])
def test_every_help_text_renders(name: str, parser: argparse.ArgumentParser) -> None:
    text = parser.format_help()
    assert "usage:" in text


def test_bench_help_from_the_shell() -> None:
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "triwarn.cli.main", "bench", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "impact" in proc.stdout and "Traceback" not in proc.stderr


def test_list_missiles_needs_no_launch_or_impact(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trajectory", "--list-missiles"]) == 0
    out = capsys.readouterr().out
    assert "hwasong-15" in out and "kn-23" in out


def test_trajectory_without_launch_says_what_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trajectory", "--impact", "41.5,137.0"]) == 2
    err = capsys.readouterr().err
    assert "--launch" in err and "--list-missiles" in err
