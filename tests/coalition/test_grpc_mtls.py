"""gRPC with mutual TLS: a console's certificate names its nation, which is the only view it gets; no
certificate, another CA's certificate or plain text never get an answer (real grpc.aio server and clients)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import grpc
import pytest

from triwarn.cli.main import main
from triwarn.services.distribution.hub import PictureHub
from triwarn.services.distribution.server import start_server
from triwarn.services.runtime.broker import free_port
from triwarn.services.runtime.settings import Settings
from triwarn.services.runtime.tls import TlsFiles
from triwarn.services.trust.audit import verify
from triwarn.v1 import picture_pb2, tracks_pb2, warning_service_pb2, warning_service_pb2_grpc

pytestmark = pytest.mark.timeout(60)


def _settings(pki: Path, tmp_path: Path, identity: str = "fusion-us") -> Settings:
    port = free_port()
    files = TlsFiles.in_dir(pki, identity)
    return Settings.load(
        env={},
        grpc_listen=f"127.0.0.1:{port}",
        grpc_target=f"127.0.0.1:{port}",
        warning_log=str(tmp_path / "log.sqlite"),
        tls_ca=files.ca,
        tls_cert=files.cert,
        tls_key=files.key,
    )


async def _serve_and(settings: Settings, body):  # type: ignore[no-untyped-def]
    hub = await PictureHub.open(settings, ["us", "jp", "kr"])
    server = await start_server(settings, hub)
    await server.set_serving()
    try:
        for view in ("us", "jp", "kr"):
            await hub.publish(view, picture_pb2.PictureUpdate(time_ns=1))
        return await body(server)
    finally:
        await server.stop(0.5)
        await hub.close()


def _channel(target: str, files: TlsFiles | None) -> grpc.aio.Channel:
    if files is None:
        return grpc.aio.insecure_channel(target)
    return grpc.aio.secure_channel(target, files.grpc_channel_credentials())


async def _get(target: str, files: TlsFiles | None, view: int) -> picture_pb2.PictureUpdate:
    async with _channel(target, files) as channel:
        stub = warning_service_pb2_grpc.WarningServiceStub(channel)
        return await stub.GetPicture(warning_service_pb2.GetPictureRequest(view=view), timeout=5)


def test_a_console_gets_its_own_view_and_no_other(pki: Path, tmp_path: Path) -> None:
    settings = _settings(pki, tmp_path)
    jp = TlsFiles.in_dir(pki, "console-jp")

    async def body(server):  # type: ignore[no-untyped-def]
        own = await _get(settings.grpc_target, jp, tracks_pb2.NATION_JP)
        default = await _get(settings.grpc_target, jp, tracks_pb2.NATION_UNSPECIFIED)
        codes = []
        for view in (tracks_pb2.NATION_KR, tracks_pb2.NATION_US):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await _get(settings.grpc_target, jp, view)
            codes.append(err.value.code())
        async with _channel(settings.grpc_target, jp) as channel:
            stub = warning_service_pb2_grpc.WarningServiceStub(channel)
            call = stub.Subscribe(warning_service_pb2.SubscribeRequest(view=tracks_pb2.NATION_KR), timeout=5)
            with pytest.raises(grpc.aio.AioRpcError) as err:
                async for _ in call:
                    pass
            codes.append(err.value.code())
        return own, default, codes, dict(server.service.denied)

    own, default, codes, denied = asyncio.run(_serve_and(settings, body))
    assert own.view == tracks_pb2.NATION_JP and default.view == tracks_pb2.NATION_JP
    assert codes == [grpc.StatusCode.PERMISSION_DENIED] * 3
    assert denied == {"jp": 3}


@pytest.mark.parametrize("who", ["no certificate", "rogue CA", "plain text"])
def test_no_answer_without_a_coalition_certificate(pki: Path, rogue_pki: Path, tmp_path: Path, who: str) -> None:
    settings = _settings(pki, tmp_path)
    files: TlsFiles | None
    if who == "no certificate":
        creds = grpc.ssl_channel_credentials(root_certificates=(pki / "ca.crt").read_bytes())
    elif who == "rogue CA":
        files = TlsFiles(str(pki / "ca.crt"), str(rogue_pki / "console-jp.crt"), str(rogue_pki / "console-jp.key"))
        creds = files.grpc_channel_credentials()

    async def body(server):  # type: ignore[no-untyped-def]
        if who == "plain text":
            channel = grpc.aio.insecure_channel(settings.grpc_target)
        else:
            channel = grpc.aio.secure_channel(settings.grpc_target, creds)
        async with channel:
            stub = warning_service_pb2_grpc.WarningServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.GetPicture(warning_service_pb2.GetPictureRequest(view=tracks_pb2.NATION_JP), timeout=5)
            return err.value.code()

    code = asyncio.run(_serve_and(settings, body))
    assert code in {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


def test_releases_are_audited_in_a_chain_that_detects_an_edit(pki: Path, tmp_path: Path) -> None:
    audit_path = tmp_path / "audit.jsonl"
    settings = _settings(pki, tmp_path).replace(audit_log=str(audit_path))
    jp = TlsFiles.in_dir(pki, "console-jp")

    async def body(server):  # type: ignore[no-untyped-def]
        await _get(settings.grpc_target, jp, tracks_pb2.NATION_JP)
        async with _channel(settings.grpc_target, jp) as channel:
            stub = warning_service_pb2_grpc.WarningServiceStub(channel)
            call = stub.Subscribe(warning_service_pb2.SubscribeRequest(resume_after_seq=0))
            got = [await call.read() for _ in range(1)]
            await server.hub.publish("jp", picture_pb2.PictureUpdate(time_ns=2))
            got.append(await call.read())
            call.cancel()
        await asyncio.sleep(0.2)
        return [u.seq for u in got]

    seqs = asyncio.run(_serve_and(settings, body))
    assert seqs == [1, 2]
    records = [json.loads(line) for line in audit_path.read_text().splitlines()]
    assert [(r["who"], r["nation"], r["view"], r["call"], r["first_seq"], r["last_seq"]) for r in records] == [
        ("console-jp", "jp", "jp", "GetPicture", 1, 1),
        ("console-jp", "jp", "jp", "Subscribe", 1, 2),
    ]
    assert main(["audit", "verify", str(audit_path)]) == 0
    lines = audit_path.read_text().splitlines()
    lines[0] = lines[0].replace('"last_seq": 1', '"last_seq": 9')
    audit_path.write_text("\n".join(lines) + "\n")
    result = verify(audit_path)
    assert not result.ok and "record 0 was altered" in result.message
    assert main(["audit", "verify", str(audit_path)]) == 1
