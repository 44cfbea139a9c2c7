"""Releasability policy: which nation's track data may be released to which recipient.

The policy file is TOML (format and examples in docs/releasability.md)::

    version = 1
    default = "all"          # nations without a [release.<nation>] table release to everyone ("none": nobody)

    [release.jp]
    to = ["us"]              # Japan's data goes to the US (and, always, to Japan itself)

    [release.kr]
    to = ["us"]

A nation's own data is always released to itself. ``Policy.sources_for(recipient)`` gives the nations whose
data that recipient's view may be fused from; the fusion service keeps one fusion engine per distinct set.
Without a file, everything is released to everyone.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from triwarn.core.tracks import NATIONS

#: the file format version this module reads
POLICY_VERSION = 1


class PolicyError(ValueError):
    """The policy file cannot be used; the message names the file, the key and what is expected."""


@dataclass(frozen=True)
class Policy:
    """Owner nation -> the recipients its data may be released to (always including the owner)."""

    release: Mapping[str, frozenset[str]]
    source: str = "default: release everything to everyone"

    @classmethod
    def release_all(cls) -> Policy:
        return cls(MappingProxyType({n: frozenset(NATIONS) for n in NATIONS}))

    def sources_for(self, recipient: str) -> frozenset[str]:
        """The nations whose data may be released to ``recipient`` (its view is fused from these only)."""
        if recipient not in NATIONS:
            raise PolicyError(f"unknown recipient {recipient!r}; expected one of {', '.join(NATIONS)}")
        return frozenset(owner for owner in NATIONS if recipient in self.release.get(owner, frozenset()))

    def describe(self) -> str:
        """One line per recipient: ``us <- jp, kr, us``."""
        return "\n".join(f"{r} <- {', '.join(sorted(self.sources_for(r)))}" for r in NATIONS)


def load_policy(path: str | Path | None) -> Policy:
    """Read a policy file; ``None`` or ``""`` gives the default policy (release everything to everyone)."""
    if path is None or str(path) == "":
        return Policy.release_all()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"{p}: policy file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{p}: cannot read the policy file: {exc}") from None
    return parse_policy(text, source=str(p))


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Parse the TOML text of a policy; errors name ``source`` and the offending key."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from None
    known = {"version", "default", "release"}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise PolicyError(f"{source}: unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(known))}")
    version = doc.get("version", POLICY_VERSION)
    if version != POLICY_VERSION or isinstance(version, bool):
        raise PolicyError(f"{source}: version = {version!r} is not supported; expected {POLICY_VERSION}")
    default = doc.get("default", "all")
    if default not in ("all", "none"):
        raise PolicyError(f'{source}: default = {default!r}; expected "all" or "none"')
    table = doc.get("release", {})
    if not isinstance(table, dict):
        raise PolicyError(f"{source}: release must be a table of [release.<nation>] tables")
    release: dict[str, frozenset[str]] = {}
    for owner in NATIONS:
        release[owner] = frozenset(NATIONS) if default == "all" else frozenset({owner})
    for owner, entry in table.items():
        where = f"{source}: [release.{owner}]"
        if owner not in NATIONS:
            raise PolicyError(f"{where}: unknown nation {owner!r}; expected one of {', '.join(NATIONS)}")
        if not isinstance(entry, dict):
            raise PolicyError(f"{where}: must be a table with a key 'to'")
        extra = sorted(set(entry) - {"to"})
        if extra:
            raise PolicyError(f"{where}: unknown key(s) {', '.join(extra)}; expected 'to'")
        if "to" not in entry:
            raise PolicyError(f"{where}: missing key 'to' (a list of recipient nations, may be empty)")
        to = entry["to"]
        if not isinstance(to, list) or not all(isinstance(r, str) for r in to):
            raise PolicyError(f"{where}: 'to' must be a list of nation codes, got {to!r}")
        bad = [r for r in to if r not in NATIONS]
        if bad:
            raise PolicyError(f"{where}: unknown recipient(s) {', '.join(bad)}; expected {', '.join(NATIONS)}")
        release[owner] = frozenset(to) | {owner}
    return Policy(MappingProxyType(release), source=source)
