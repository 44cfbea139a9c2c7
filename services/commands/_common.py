"""Flags shared by the service commands; each maps onto a ``Settings`` field (flag wins over TRIWARN_*)."""

from __future__ import annotations

import argparse
from typing import Any

from triwarn.services.settings import Settings, SettingsError


def add_broker(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker", dest="broker_url", help="MQTT broker URL, mqtt://HOST:PORT (env TRIWARN_BROKER_URL)")


def add_scenario(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", help="scenario file or catalog name (default: demo; env TRIWARN_SCENARIO)")
    p.add_argument("--seed", type=int, help="random seed of the simulation (default 1)")
    p.add_argument(
        "--speed",
        dest="clock_speed",
        type=float,
        help="run the scenario this many times faster than real time (every process of a stack must agree)",
    )
    p.add_argument(
        "--t0-ns",
        dest="scenario_t0_ns",
        type=int,
        help="wall-clock start of scenario time 0, ns since the Unix epoch (default: now, or loop-aligned)",
    )


def settings_from(args: argparse.Namespace, *names: str, **extra: Any) -> Settings:
    """Settings from the environment, overridden by the flags ``names`` that were given."""
    overrides = {name: getattr(args, name, None) for name in names}
    overrides.update(extra)
    try:
        return Settings.load(**overrides)
    except SettingsError as exc:
        raise SystemExit(f"triwarn: {exc}") from None
