"""Missile classes (SRBM, MRBM, IRBM, ICBM, SLBM; liquid and solid) read from ``data/missiles.toml``.

Every parameter in that file is an assumption (not a published figure): plausible round values, one set per
class, never tuned per event. :func:`missile_classes` returns them as :class:`MissileClass` entries whose
``vehicle`` is ready for :func:`triwarn.core.trajectory.flight.fly_missile`.
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

from triwarn.core.trajectory.constants import G0_M_S2
from triwarn.core.trajectory.flight import FlightError, Stage, Vehicle

CATEGORIES = ("SRBM", "MRBM", "IRBM", "ICBM", "SLBM")
PROPULSION = ("liquid", "solid")
FORMAT_VERSION = 1


class MissileError(ValueError):
    """A missile class is unknown or its data is broken; the message says which and what is expected."""


@dataclass(frozen=True)
class MissileClass:
    name: str
    label: str
    category: str
    propulsion: str
    vehicle: Vehicle


def _number(table: dict[str, Any], key: str, where: str, *, positive: bool = True) -> float:
    if key not in table:
        raise MissileError(f"{where}: missing key '{key}' (expected a number)")
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise MissileError(f"{where}: '{key}' = {v!r} is not a finite number")
    if (positive and v <= 0) or v < 0:
        raise MissileError(f"{where}: '{key}' = {v!r} must be {'> 0' if positive else '>= 0'}")
    return float(v)


def parse_missiles(doc: dict[str, Any], source: str = "missiles.toml") -> dict[str, MissileClass]:
    """Missile classes from a parsed TOML document (format version 1), by name."""
    meta = doc.get("meta", {})
    if meta.get("format_version") != FORMAT_VERSION:
        raise MissileError(f"{source}: [meta] format_version must be {FORMAT_VERSION}")
    out: dict[str, MissileClass] = {}
    for i, m in enumerate(doc.get("missile", [])):
        where = f"{source}: missile[{i}]"
        name = m.get("name")
        if not isinstance(name, str) or not name:
            raise MissileError(f"{where}: 'name' must be a non-empty string")
        where = f"{source}: missile '{name}'"
        if name in out:
            raise MissileError(f"{where}: defined twice")
        if m.get("category") not in CATEGORIES:
            raise MissileError(f"{where}: 'category' must be one of {', '.join(CATEGORIES)}")
        if m.get("propulsion") not in PROPULSION:
            raise MissileError(f"{where}: 'propulsion' must be one of {', '.join(PROPULSION)}")
        if m.get("assumption") is not True:
            raise MissileError(f"{where}: every class must carry 'assumption = true' (its values are not published)")
        stages = []
        for j, s in enumerate(m.get("stage", [])):
            sw = f"{where} stage {j + 1}"
            d = _number(s, "diameter_m", sw)
            burn_s = _number(s, "burn_s", sw)
            mdot = _number(s, "prop_kg", sw) / burn_s
            if ("isp_s" in s) == ("thrust_kn" in s):
                raise MissileError(f"{sw}: give exactly one of 'isp_s' or 'thrust_kn'")
            thrust_n = mdot * _number(s, "isp_s", sw) * G0_M_S2 if "isp_s" in s else 1e3 * _number(s, "thrust_kn", sw)
            stages.append(
                Stage(
                    thrust_n=thrust_n,
                    mdot_kg_s=mdot,
                    burn_s=burn_s,
                    dry_kg=_number(s, "dry_kg", sw, positive=False),
                    cda_m2=_number(s, "cd", sw) * math.pi * d * d / 4.0,
                )
            )
        try:
            vehicle = Vehicle(
                name=name,
                stages=tuple(stages),
                rv_mass_kg=_number(m, "rv_mass_kg", where),
                rv_beta_kg_m2=_number(m, "rv_beta_kg_m2", where),
                t_vert_s=_number(m, "t_vert_s", where, positive=False),
                t_pitch_s=_number(m, "t_pitch_s", where, positive=False) if "t_pitch_s" in m else 0.0,
                rv_lift_to_drag=_number(m, "rv_lift_to_drag", where, positive=False) if "rv_lift_to_drag" in m else 0.0,
            )
        except FlightError as exc:
            raise MissileError(f"{source}: {exc}") from None
        out[name] = MissileClass(name, str(m.get("label", name)), m["category"], m["propulsion"], vehicle)
    if not out:
        raise MissileError(f"{source}: no [[missile]] tables")
    return out


@functools.cache
def missile_classes() -> Mapping[str, MissileClass]:
    """The built-in classes of ``data/missiles.toml``, by name (parsed once; a read-only mapping)."""
    text = resources.files("triwarn.core.trajectory.data").joinpath("missiles.toml").read_text("utf-8")
    return MappingProxyType(parse_missiles(tomllib.loads(text)))


def get_missile(name: str) -> MissileClass:
    """One class by name; :class:`MissileError` listing the known names otherwise."""
    classes = missile_classes()
    try:
        return classes[name]
    except KeyError:
        raise MissileError(f"unknown missile class '{name}'; known: {', '.join(classes)}") from None
