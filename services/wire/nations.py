"""The one map between the domain's nation codes (``"us"``, ``"jp"``, ``"kr"``: ``triwarn.core.tracks.NATIONS``,
also the names of the views) and ``triwarn.v1.Nation``, for every wire adapter, server and client."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from triwarn.v1 import tracks_pb2

NATION_TO_PB: Mapping[str, tracks_pb2.Nation] = MappingProxyType(
    {"us": tracks_pb2.NATION_US, "jp": tracks_pb2.NATION_JP, "kr": tracks_pb2.NATION_KR}
)
PB_TO_NATION: Mapping[int, str] = MappingProxyType({v: k for k, v in NATION_TO_PB.items()})
