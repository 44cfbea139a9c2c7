"""The gRPC ``WarningService`` (grpc.aio) over a :class:`~triwarn.services.distribution.hub.PictureHub`:
Subscribe streams the hub's pre-serialized updates of a view, GetPicture answers its snapshot; with health
checking and server reflection (the hub's data path and guarantees: :mod:`triwarn.services.distribution.hub`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import _async as reflection_aio
from grpc_reflection.v1alpha import reflection, reflection_pb2

from triwarn.services.distribution.filters import FilterSpec
from triwarn.services.distribution.hub import PictureHub, ResumeOutOfRange
from triwarn.services.distribution.keepalive import SERVER_OPTIONS
from triwarn.services.runtime.settings import Settings
from triwarn.services.runtime.tls import TlsFiles, peer_name, peer_nation
from triwarn.services.trust.audit import AuditLog, leading_seq
from triwarn.services.wire.nations import PB_TO_NATION
from triwarn.v1 import picture_pb2, tracks_pb2, warning_service_pb2

log = logging.getLogger(__name__)

#: Full name of the service, as reflection and health checking list it.
SERVICE_NAME: str = warning_service_pb2.DESCRIPTOR.services_by_name["WarningService"].full_name


class WarningService:
    """The ``triwarn.v1.WarningService`` servicer. Registered through a generic handler so that Subscribe
    writes the hub's pre-serialized bytes (one serialization per update, whatever the number of subscribers)."""

    def __init__(self, settings: Settings, hub: PictureHub, tls: bool = False, audit: AuditLog | None = None) -> None:
        self._settings = settings
        self._hub = hub
        self._tls = tls
        self._audit = audit
        #: calls refused a view (PERMISSION_DENIED), by the nation the client's certificate names
        self.denied: dict[str, int] = {}

    def rpc_handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(
            SERVICE_NAME,
            {
                "Subscribe": grpc.unary_stream_rpc_method_handler(
                    self.Subscribe,
                    request_deserializer=warning_service_pb2.SubscribeRequest.FromString,
                    response_serializer=None,  # the handler writes bytes
                ),
                "GetPicture": grpc.unary_unary_rpc_method_handler(
                    self.GetPicture,
                    request_deserializer=warning_service_pb2.GetPictureRequest.FromString,
                    response_serializer=picture_pb2.PictureUpdate.SerializeToString,
                ),
            },
        )

    async def _view(self, nation: tracks_pb2.Nation, context: grpc.aio.ServicerContext[Any, Any]) -> str:
        """The view a call asks for. Under mutual TLS the client's certificate names its nation: that nation's
        view is the default, and any other is PERMISSION_DENIED (counted, logged)."""
        peer = peer_nation(context.auth_context()) if self._tls else None
        if self._tls and peer is None:
            self._deny(context, "none")
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "the client certificate names no nation")
        if nation == tracks_pb2.NATION_UNSPECIFIED:
            name: str | None = peer or self._settings.default_view
        else:
            name = PB_TO_NATION.get(nation)
        if name is None or name not in self._hub.views:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"unknown view {nation}; this service serves {', '.join(self._hub.views)}",
            )
        if self._tls and name != peer:
            self._deny(context, str(peer))
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"{peer_name(context.auth_context())} is a {peer} identity: view {name} is not released to it",
            )
        assert name is not None
        return name

    def _deny(self, context: grpc.aio.ServicerContext[Any, Any], nation: str) -> None:
        self.denied[nation] = self.denied.get(nation, 0) + 1
        log.warning("denied a view to %s (%s)", peer_name(context.auth_context()) or "?", nation)

    async def Subscribe(
        self, request: warning_service_pb2.SubscribeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        view = await self._view(request.view, context)
        spec = FilterSpec.from_proto(request.filter)
        resume = request.resume_after_seq if request.HasField("resume_after_seq") else None
        try:
            sub = self._hub.subscribe(view, spec, resume)
        except ResumeOutOfRange as exc:
            await context.abort(grpc.StatusCode.OUT_OF_RANGE, str(exc))
        except RuntimeError as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        first: bytes | None = None  # the first and the last update written (the audit's range)
        last = b""
        metrics = self._hub.metrics
        lag = None
        if metrics is not None:
            peer = context.peer() or "unknown"
            lag = (metrics.subscriber_lag_updates.labels(view, peer), metrics.subscriber_lag_seconds.labels(view, peer))
        aborted: list[asyncio.Task[None]] = []
        sub.abort_stuck_write = lambda code, details: aborted.append(
            asyncio.get_running_loop().create_task(_abort(context, code, details))
        )
        try:
            observer = self._hub.observer
            async with contextlib.aclosing(sub.stream()) as stream:
                async for data in stream:
                    sub.writing = True
                    started = time.time_ns()
                    await context.write(data)
                    sub.writing = False
                    sub.accepted()
                    if lag is not None:
                        lag[0].set(sub.lag_updates)
                        lag[1].set(sub.lag_s)
                    if observer is not None:
                        observer.wrote(data, started, time.time_ns())
                    if first is None:
                        first = data
                    last = data
            if sub.end is not None and not aborted:
                await context.abort(*sub.end)
        finally:
            sub.close()
            if metrics is not None:
                with contextlib.suppress(KeyError):
                    metrics.subscriber_lag_updates.remove(view, peer)
                    metrics.subscriber_lag_seconds.remove(view, peer)
            if first is not None and self._audit is not None:
                self._record(context, view, "Subscribe", first, last)

    async def GetPicture(
        self, request: warning_service_pb2.GetPictureRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> picture_pb2.PictureUpdate:
        view = await self._view(request.view, context)
        snapshot = self._hub.snapshot(view, FilterSpec.from_proto(request.filter))
        if self._audit is not None:
            self._audit.record(*self._who(context), view, "GetPicture", snapshot.seq, snapshot.seq)
        return snapshot

    def close(self) -> None:
        if self._audit is not None:
            self._audit.close()

    def _who(self, context: grpc.aio.ServicerContext[Any, Any]) -> tuple[str, str]:
        auth = context.auth_context()
        return peer_name(auth) or context.peer(), peer_nation(auth) or ""

    def _record(
        self, context: grpc.aio.ServicerContext[Any, Any], view: str, call: str, first: bytes, last: bytes
    ) -> None:
        """Audit: ``call`` released updates ``first`` .. ``last`` (serialized) of ``view`` to the caller."""
        assert self._audit is not None
        self._audit.record(*self._who(context), view, call, leading_seq(first), leading_seq(last))


@dataclass
class GrpcServerHandle:
    """A running gRPC server: ``address`` (host:port actually bound), ``set_serving()``, ``stop(grace_s)``."""

    server: grpc.aio.Server
    health: Any  # grpc_health.v1.health.aio.HealthServicer
    hub: PictureHub
    host: str
    port: int
    service: WarningService | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def set_serving(self, serving: bool = True) -> None:
        """Health says SERVING (the fusion service calls this once its kernels are warm and it consumes the
        broker's track topics), or NOT_SERVING with ``serving=False`` (while it has lost the broker)."""
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ("", SERVICE_NAME):
            await self.health.set(name, status)

    async def stop(self, grace_s: float = 5.0) -> None:
        """Graceful stop: health NOT_SERVING, end subscriber streams with UNAVAILABLE (they resume after a
        restart), let in-flight unary calls finish within ``grace_s``, then close."""
        await self.health.enter_graceful_shutdown()
        self.hub.end_subscriptions(
            grpc.StatusCode.UNAVAILABLE,
            "the server (fusion service or edge) is shutting down: reconnect and resume after your last seq",
        )
        await self.server.stop(grace_s)
        if self.service is not None:
            self.service.close()

    async def wait_for_termination(self) -> None:
        await self.server.wait_for_termination()


#: The stable reflection service (grpcurl and recent clients ask it first). grpcio-reflection 1.85 ships only
#: v1alpha; v1's messages are v1alpha's with the package renamed (same fields, same numbers: the same bytes),
#: so v1alpha's servicer answers both.
REFLECTION_V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"


def _reflection_v1_handler(service_names: tuple[str, ...]) -> grpc.GenericRpcHandler:
    servicer = reflection_aio.ReflectionServicer(service_names)
    method = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    return grpc.method_handlers_generic_handler(REFLECTION_V1_SERVICE_NAME, {"ServerReflectionInfo": method})


async def _abort(context: grpc.aio.ServicerContext[Any, Any], code: grpc.StatusCode, details: str) -> None:
    """End a call with a status from outside its handler (which waits in ``write`` for a client that does
    not read): gRPC sends the status after what it already accepted, and the handler's write fails."""
    with contextlib.suppress(Exception):
        await context.abort(code, details)


async def start_server(settings: Settings, hub: PictureHub) -> GrpcServerHandle:
    """Start the gRPC server on ``settings.grpc_listen`` (port 0 picks a free port: read ``handle.port``) with
    WarningService, health checking (NOT_SERVING until ``handle.set_serving()``) and server reflection."""
    server = grpc.aio.server(options=SERVER_OPTIONS)
    tls = TlsFiles.from_settings(settings)
    audit = AuditLog(settings.audit_log) if settings.audit_log else None
    service = WarningService(settings, hub, tls=tls is not None, audit=audit)
    server.add_generic_rpc_handlers((service.rpc_handler(),))
    health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME, REFLECTION_V1_SERVICE_NAME)
    reflection.enable_server_reflection(names, server)
    server.add_generic_rpc_handlers((_reflection_v1_handler(names),))
    if tls is None:
        port = server.add_insecure_port(settings.grpc_listen)
    else:  # mutual TLS: a client certificate from the CA is required, and its nation decides the view
        port = server.add_secure_port(settings.grpc_listen, tls.grpc_server_credentials())
    if not port:
        raise RuntimeError(f"cannot listen on {settings.grpc_listen}")
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    await server.start()
    host = settings.grpc_listen.rsplit(":", 1)[0] or "127.0.0.1"
    if host in ("0.0.0.0", "[::]", "::"):
        host = "127.0.0.1"
    log.info("WarningService listening on %s:%d%s", host, port, " (mutual TLS)" if tls else "")
    return GrpcServerHandle(server, health_servicer, hub, host, port, service)
