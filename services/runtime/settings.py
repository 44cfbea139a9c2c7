"""One frozen ``Settings``, read once at start from the environment and the command line (STYLE.md item 10).

No other module reads ``os.environ``. Every field can be set by an environment variable ``TRIWARN_<FIELD>``
(upper case), which is what docker-compose.yml uses; a command-line flag given explicitly wins over it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from triwarn.core.tracks import NATIONS


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names it and says what is expected."""


@dataclass(frozen=True)
class Settings:
    # --- transport ---------------------------------------------------------------------------------------
    #: MQTT broker, ``mqtt://HOST:PORT`` (optionally ``mqtt://USER:PASSWORD@HOST:PORT``).
    broker_url: str = "mqtt://127.0.0.1:1883"
    #: Address the fusion service's gRPC server listens on.
    grpc_listen: str = "127.0.0.1:50051"
    #: Address a subscriber connects to.
    grpc_target: str = "127.0.0.1:50051"
    #: Port of the fusion service's Prometheus metrics endpoint on ``metrics_host``; 0 disables it.
    metrics_port: int = 9108
    metrics_host: str = "127.0.0.1"
    #: The fusion service's MQTT client id, kept across reconnects and restarts so that its persistent session
    #: (subscriptions and the QoS 1 batches queued for it) outlives a broker restart or a restart of the
    #: service. Empty: ``triwarn-fusion-`` and a hash of ``warning_log`` and ``grpc_listen`` (one id per
    #: service instance, the same after a restart on the same log). Under mutual TLS the broker uses the
    #: certificate's CN instead.
    mqtt_client_id: str = ""
    #: Seconds the broker keeps the fusion service's session (subscriptions, queued batches) after it
    #: disconnects (MQTT 5 Session Expiry Interval; a 3.1.1 session never expires).
    mqtt_session_expiry_s: int = 600
    #: Largest MQTT packet the fusion service accepts, bytes (MQTT 5 Maximum Packet Size in its CONNECT): the
    #: broker never sends it a larger one (it drops it), so an oversized publish is never read into memory.
    #: ``max_payload_bytes`` plus 64 kB, so that a payload just over ``max_payload_bytes`` still arrives and is
    #: counted as ``oversized``. 0: connect with MQTT 3.1.1 and ask no limit (a broker that speaks only 3.1.1,
    #: such as the embedded one); the size check before parsing still refuses what is larger.
    mqtt_max_packet_bytes: int = 4 * 1024 * 1024 + 64 * 1024

    # --- identity (coalition topology, docs/coalition.md) ----------------------------------------------
    #: CA certificate (PEM) every peer's certificate must chain to; with ``tls_cert`` and ``tls_key`` it turns
    #: on mutual TLS for MQTT (``mqtts://`` only) and for the gRPC server and clients. Empty: no TLS.
    tls_ca: str = ""
    #: This process's certificate (PEM); its CN is its MQTT user name and client id.
    tls_cert: str = ""
    #: This process's private key (PEM).
    tls_key: str = ""
    #: Registry of node signing keys (TOML, ``triwarn pki init`` writes ``node-keys.toml``): with it, the
    #: fusion service accepts only batches and node status signed by a registered node of the topic's nation.
    node_keys: str = ""
    #: A node's Ed25519 signing key (PEM): its batches and status messages are signed with it. Empty: unsigned.
    signing_key: str = ""
    #: The fusion service's Ed25519 label-signing key (PEM): with it, the service releases each view's updates,
    #: labelled and signed, on the hub's picture topics for the national edges. Empty: no release over MQTT.
    label_key: str = ""
    #: An edge's copy of the fusion service's label public key (``fusion-us.ed25519.pub``).
    label_public_key: str = ""
    #: Append-only, hash-chained audit log of releases to consoles (JSON lines); empty: none.
    audit_log: str = ""

    # --- national node -----------------------------------------------------------------------------------
    #: The node's nation: us, jp or kr.
    nation: str = "us"
    #: The node's id; empty means ``<nation>-c2``.
    node_id: str = ""
    #: Seconds between two track batches of a node. (assumption: not a published figure)
    update_period_s: float = 1.0
    #: Scenario file or catalog name that nodes observe.
    scenario: str = "demo"
    #: Wall-clock start of the scenario, ns since the Unix epoch; 0 = aligned to a multiple of the
    #: scenario's repeat period (so nodes in separate containers agree without talking to each other).
    scenario_t0_ns: int = 0
    #: Replay the scenario again and again (compose) instead of once.
    scenario_loop: bool = False
    #: A file the node touches after every published batch (for health checks); empty = none.
    heartbeat_file: str = ""
    #: Random seed of the simulation.
    seed: int = 1
    #: How many times faster than real time the scenario runs (1 = real time). Every process of one stack
    #: needs the same value and the same scenario_t0_ns (the demo sets both).
    clock_speed: float = 1.0

    # --- fusion service: input validation ----------------------------------------------------------------
    #: Largest MQTT payload accepted, bytes.
    max_payload_bytes: int = 4 * 1024 * 1024
    #: Largest number of tracks in one batch.
    max_tracks_per_batch: int = 20_000
    #: A track time more than this far ahead of the service's clock is rejected, seconds.
    max_future_s: float = 5.0
    #: A track time more than this far behind the service's clock is rejected as stale, seconds.
    max_age_s: float = 60.0
    #: Largest plausible distance from the Earth's centre, metres: ~7,600 km above the surface (the highest
    #: apogee of the scenario catalog is 6,650 km). Bounds the tracks accepted and the tracks published.
    max_radius_m: float = 1.4e7
    #: Largest plausible speed, m/s.
    max_speed_m_s: float = 1.5e4
    #: The node ids each nation may publish as: a batch or status from any other node id on that nation's
    #: topic is rejected (reason ``unregistered_node``) and counted. Environment: ``us=us-c2,us-x;jp=jp-c2``
    #: (a nation left out may use no node id). Default: the demo's one node per nation, ``<nation>-c2``.
    node_registry: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=lambda: _default_node_registry())
    #: How long (seconds, wall clock) a node's tracks stay in the picture, coasting, after its DEATH (last will)
    #: before they are dropped: a broker restart delivers every node's will, and the node is back within
    #: seconds. A new BIRTH of the node within the grace period keeps them. 0: drop them at once.
    node_death_grace_s: float = 15.0
    #: After a restart, how long (seconds, service clock) the tracks restored from the warning log stay in the
    #: picture, waiting for a sensor to confirm them (a new local track of the same object takes the old
    #: number back); unconfirmed ones are then deleted with their warnings.
    restore_grace_s: float = 15.0

    # --- fusion service: picture and distribution --------------------------------------------------------
    #: Seconds (data time) between two assessments of one track (impact point, areas, warning level); in
    #: between, a track's updates carry its last assessment. New tracks are assessed at once.
    assess_period_s: float = 1.0
    #: SQLite file (path) or PostgreSQL URL (postgresql://...) of the durable warning log.
    warning_log: str = "triwarn-warnings.sqlite"
    #: Releasability policy file (TOML); empty = release everything to everyone.
    policy_file: str = ""
    #: The view a subscriber gets when it names none.
    default_view: str = "us"
    #: Updates retained per view for resumption.
    retention_updates: int = 100_000
    #: Queue length per subscriber before it is told it fell behind.
    subscriber_queue: int = 1_000
    #: Longest a picture update may wait for a subscriber's gRPC stream to accept it, seconds (0: no bound):
    #: past it the subscriber is ended with RESOURCE_EXHAUSTED (it resumes after the last seq it received).
    #: gRPC accepts a write once it fits the client's receive window: see docs/reliability.md for the window a
    #: client should use so that this bound means what it says.
    subscriber_max_lag_s: float = 10.0

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``TRIWARN_*`` variables from ``env`` (the process environment if None), then
        ``overrides`` whose value is not None (command-line flags)."""
        source = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = source.get(f"TRIWARN_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, f.type, raw)
        for name, value in overrides.items():
            if value is None:
                continue
            if name not in {f.name for f in fields(cls)}:
                raise SettingsError(f"unknown setting {name!r}")
            values[name] = value
        settings = cls(**values)
        settings.validate()
        return settings

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def effective_node_id(self) -> str:
        return self.node_id or f"{self.nation}-c2"

    @property
    def fusion_client_id(self) -> str:
        """The fusion service's MQTT client id: ``mqtt_client_id``, or one derived from the warning log and
        the gRPC address (the same for a restart of the same service, different for another service)."""
        if self.mqtt_client_id:
            return self.mqtt_client_id
        log = self.warning_log if "://" in self.warning_log else os.path.abspath(self.warning_log)
        digest = hashlib.sha256(f"{log}|{self.grpc_listen}".encode()).hexdigest()
        return f"triwarn-fusion-{digest[:16]}"

    def validate(self) -> None:
        if self.nation not in NATIONS:
            raise SettingsError(f"nation must be one of {', '.join(NATIONS)}, not {self.nation!r}")
        if self.default_view not in NATIONS:
            raise SettingsError(f"default_view must be one of {', '.join(NATIONS)}, not {self.default_view!r}")
        if not self.broker_url.startswith(("mqtt://", "mqtts://")):
            raise SettingsError(f"broker_url must look like mqtt://HOST:PORT, not {self.broker_url!r}")
        tls_files = (self.tls_ca, self.tls_cert, self.tls_key)
        if any(tls_files) and not all(tls_files):
            raise SettingsError("tls_ca, tls_cert and tls_key go together (mutual TLS): give all three or none")
        if self.broker_url.startswith("mqtts://") and not self.tls_ca:
            raise SettingsError(
                f"broker_url {self.broker_url!r} asks for TLS: give tls_ca, tls_cert and tls_key (--tls-dir), "
                "or use mqtt:// for a plain-text broker"
            )
        if self.clock_speed <= 0:
            raise SettingsError("clock_speed must be positive")
        if self.clock_speed != 1.0 and self.scenario_t0_ns <= 0:
            raise SettingsError(
                "clock_speed other than 1 needs scenario_t0_ns, the common start of every process's clock "
                "(--t0-ns; `triwarn demo` sets both)"
            )
        if self.update_period_s <= 0:
            raise SettingsError("update_period_s must be positive")
        unknown = set(self.node_registry) - set(NATIONS)
        if unknown:
            raise SettingsError(f"node_registry names unknown nations {sorted(unknown)}")
        if self.mqtt_max_packet_bytes and self.mqtt_max_packet_bytes <= self.max_payload_bytes:
            raise SettingsError("mqtt_max_packet_bytes must be 0 or larger than max_payload_bytes")
        if self.mqtt_session_expiry_s < 0:
            raise SettingsError("mqtt_session_expiry_s must be >= 0")
        for name in ("node_death_grace_s", "restore_grace_s", "subscriber_max_lag_s"):
            if not getattr(self, name) >= 0:
                raise SettingsError(f"{name} must be >= 0")

    def with_node_keys(self, ids_by_nation: dict[str, tuple[str, ...]]) -> Settings:
        """These settings with ``node_registry`` the view of the node-key registry's ids (``node_keys``): one
        list of nodes. A ``node_registry`` set to anything but its default or that view is an error (two lists
        that disagree); the default is replaced."""
        default = _default_node_registry()
        mine = {n: tuple(ids) for n, ids in self.node_registry.items() if ids}
        theirs = {n: tuple(ids) for n, ids in ids_by_nation.items() if ids}
        if self.node_registry != default and mine != theirs:
            raise SettingsError(
                f"node_registry {mine} disagrees with the node-key registry {self.node_keys} ({theirs}): "
                "leave node_registry unset, the key registry is the list of nodes"
            )
        return self.replace(node_registry=dict(ids_by_nation))

    def registered(self, nation: str, node_id: str) -> bool:
        """Whether ``node_id`` is in the node registry of ``nation``."""
        return node_id in self.node_registry.get(nation, ())


def _default_node_registry() -> dict[str, tuple[str, ...]]:
    """The demo's one node per nation, ``<nation>-c2``."""
    return {n: (f"{n}-c2",) for n in NATIONS}


def _parse(name: str, type_name: Any, raw: str) -> Any:
    kind = type_name if isinstance(type_name, str) else getattr(type_name, "__name__", str(type_name))
    if kind.startswith("dict"):
        return _parse_registry(name, raw)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
    except ValueError:
        raise SettingsError(f"TRIWARN_{name.upper()}={raw!r} is not a valid {kind}") from None
    return raw


def _parse_registry(name: str, raw: str) -> dict[str, tuple[str, ...]]:
    """``us=us-c2,us-x;jp=jp-c2`` -> {"us": ("us-c2", "us-x"), "jp": ("jp-c2",)}."""
    out: dict[str, tuple[str, ...]] = {}
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        nation, sep, ids = part.partition("=")
        if not sep:
            raise SettingsError(f"TRIWARN_{name.upper()}: {part!r} is not NATION=ID,ID...")
        out[nation.strip()] = tuple(i.strip() for i in ids.split(",") if i.strip())
    return out
