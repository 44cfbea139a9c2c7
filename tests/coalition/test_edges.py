"""National edges end to end: nodes on their national brokers, the fusion service at the hub under a
bilateral policy, edges at jp and kr serving their consoles over mutual TLS. Routing on the wire (a jp console
never sees a kr local track, the kr broker never carries jp data), the edge's refusals, and an edge that keeps
serving while the hub is down."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import grpc
import pytest
from coalition_helpers import (
    BILATERAL_POLICY,
    MONITORS,
    Recorder,
    ServiceThread,
    SignedPublishers,
    fusion_at_hub,
    tls,
    wait_until,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from grpc_health.v1 import health_pb2, health_pb2_grpc

from triwarn.cli.main import main
from triwarn.services import edge, subscriber
from triwarn.services.runtime import mqtt
from triwarn.services.runtime.broker import free_port
from triwarn.services.runtime.settings import Settings
from triwarn.services.trust import labels
from triwarn.services.trust.topology import CoalitionBrokers
from triwarn.v1 import picture_pb2, release_pb2, tracks_pb2, warning_service_pb2, warning_service_pb2_grpc

pytestmark = pytest.mark.timeout(900)

JP, KR, US = tracks_pb2.NATION_JP, tracks_pb2.NATION_KR, tracks_pb2.NATION_US


def _edge(coalition: CoalitionBrokers, pki: Path, tmp: Path, nation: str) -> tuple[ServiceThread, list[edge.EdgeFeed]]:
    port = free_port()
    files = tls(pki, f"edge-{nation}")
    settings = Settings.load(
        env={},
        nation=nation,
        default_view=nation,
        broker_url=coalition.url(nation),
        grpc_listen=f"127.0.0.1:{port}",
        grpc_target=f"127.0.0.1:{port}",
        warning_log=str(tmp / f"edge-{nation}.sqlite"),
        tls_ca=files.ca,
        tls_cert=files.cert,
        tls_key=files.key,
        label_public_key=str(pki / "fusion-us.ed25519.pub"),
    )
    feeds: list[edge.EdgeFeed] = []
    thread = ServiceThread(lambda stop: edge.run(settings, stop=stop, feed_out=feeds), f"edge-{nation}")
    return thread.start_serving(settings.grpc_target, files), feeds


@pytest.fixture(scope="module")
def stack(coalition: CoalitionBrokers, pki: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("edges")
    (tmp / "policy.toml").write_text(BILATERAL_POLICY)
    state: dict = {"tmp": tmp, "feeds": {}}  # "fusion", "jp", "kr": the running services (a test may restart one)
    try:
        state["fusion"], _ = fusion_at_hub(
            coalition, pki, tmp, policy_file=str(tmp / "policy.toml"), label_key=str(pki / "fusion-us.ed25519")
        )
        for nation in ("jp", "kr"):
            state[nation], state["feeds"][nation] = _edge(coalition, pki, tmp, nation)
        yield state
    finally:
        for name in ("kr", "jp", "fusion"):
            if name in state:
                state[name].stop()


async def _stream(
    target: str, pki: Path, console: str, n: int, timeout_s: float = 30
) -> list[picture_pb2.PictureUpdate]:
    """The first ``n`` updates a console receives (snapshot first)."""
    files = tls(pki, console)
    out: list[picture_pb2.PictureUpdate] = []
    async with grpc.aio.secure_channel(target, files.grpc_channel_credentials()) as channel:
        stub = warning_service_pb2_grpc.WarningServiceStub(channel)
        call = stub.Subscribe(warning_service_pb2.SubscribeRequest(), timeout=timeout_s)
        async for update in call:
            out.append(update)
            if len(out) >= n:
                call.cancel()
                break
    return out


def _nations_in(updates: list[picture_pb2.PictureUpdate]) -> set[int]:
    return {n for u in updates for t in u.tracks for n in t.contributing_nations}


def test_consoles_through_their_edges_see_only_what_is_released(
    coalition: CoalitionBrokers, pki: Path, stack: dict
) -> None:
    async def run() -> tuple[list, list, Recorder, Recorder]:
        mon_kr = Recorder(coalition.url("kr"), tls(pki, MONITORS["kr"]), ["#"])
        mon_jp = Recorder(coalition.url("jp"), tls(pki, MONITORS["jp"]), ["#"])
        async with mon_kr, mon_jp, SignedPublishers(coalition, pki):
            jp_updates, kr_updates = await asyncio.gather(
                _stream(stack["jp"].target, pki, "console-jp", 30), _stream(stack["kr"].target, pki, "console-kr", 30)
            )
        return jp_updates, kr_updates, mon_jp, mon_kr

    jp_updates, kr_updates, mon_jp, mon_kr = asyncio.run(run())
    # seqs gap-free from the snapshot on, in each edge's own log
    for updates in (jp_updates, kr_updates):
        assert updates[0].kind == picture_pb2.PictureUpdate.KIND_SNAPSHOT
        seqs = [u.seq for u in updates]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert _nations_in(jp_updates) == {JP, US}  # a jp console never sees a kr local track
    assert _nations_in(kr_updates) == {KR, US}
    assert all(u.view == JP for u in jp_updates) and all(u.view == KR for u in kr_updates)
    # on the wire: the kr broker carries kr's own tracks and kr's view, nothing of jp (and vice versa)
    for mon, own, other in ((mon_kr, "kr", "jp"), (mon_jp, "jp", "kr")):
        assert not [t for t in mon.topics_seen() if f"/{other}/" in t], mon.topics_seen()
        released = [
            release_pb2.ReleasedUpdate.FromString(p)
            for t, p in mon.messages
            if t.startswith("triwarn/v1/picture/") and not t.endswith("/link")
        ]
        assert released
        nations = {
            n
            for r in released
            for t in picture_pb2.PictureUpdate.FromString(r.update).tracks
            for n in t.contributing_nations
        }
        assert nations <= {tracks_pb2.NATION_US, JP if own == "jp" else KR}


def test_an_edge_refuses_what_is_not_released_to_its_nation(
    coalition: CoalitionBrokers, pki: Path, stack: dict
) -> None:
    fusion_key = labels.Releaser.load(pki / "fusion-us.ed25519", "fusion-us", "test")
    other_key = labels.Releaser("fusion-us", Ed25519PrivateKey.generate(), "x")
    feed = stack["feeds"]["jp"][0]
    before = dict(feed.counters.refused)
    update = picture_pb2.PictureUpdate(
        seq=10**9, view=JP, kind=picture_pb2.PictureUpdate.KIND_DELTA
    ).SerializeToString()

    async def run() -> None:
        async with mqtt.client(coalition.url("hub"), "f", tls=tls(pki, "fusion-us")) as hub:
            # labelled for kr only (a misrouted release), then signed by another key
            await hub.publish("triwarn/v1/picture/jp/updates", fusion_key.release("jp", 10**9, update, ("kr",)), qos=1)
            await hub.publish("triwarn/v1/picture/jp/updates", other_key.release("jp", 10**9, update), qos=1)
            await hub.publish("triwarn/v1/picture/jp/updates", b"\x0a\x03abc", qos=1)
        await wait_until(lambda: sum(feed.counters.refused.values()) >= sum(before.values()) + 3, 10)

    asyncio.run(run())
    got = {k: v - before.get(k, 0) for k, v in feed.counters.refused.items()}
    assert got == {"not_released": 1, "bad_signature": 2}


class _Keep(subscriber.JsonSink):
    """A console's sink that also keeps the updates it shows, and its picture."""

    def __init__(self) -> None:
        self.err = io.StringIO()
        super().__init__(io.StringIO(), self.err)
        self.updates: list[picture_pb2.PictureUpdate] = []
        self.picture: subscriber.ClientPicture | None = None

    def start(self, picture: subscriber.ClientPicture) -> None:
        self.picture = picture

    def update(self, update: picture_pb2.PictureUpdate, picture: subscriber.ClientPicture) -> None:
        super().update(update, picture)
        self.updates.append(update)


def test_consoles_get_signed_labels_that_release_to_their_nation(
    pki: Path, coalition: CoalitionBrokers, stack: dict
) -> None:
    """`triwarn subscribe`'s client at the jp edge (console-jp) and at the hub (console-us): every update it
    shows carries the fusion service's label, releasable to its own nation only, naming the policy, signed (it
    checks the signature); at the edge the label's seq is the fusion service's, and nothing is refused."""
    key = labels.load_public_key(pki / "fusion-us.ed25519.pub")

    async def console(target: str, identity: str) -> _Keep:
        sink = _Keep()
        options = subscriber.SubscribeOptions(
            target=target, count=25, tls=tls(pki, identity), label_public_key=str(pki / "fusion-us.ed25519.pub")
        )
        assert await asyncio.wait_for(subscriber.run(options, sink), 60) == 0
        return sink

    async def run() -> tuple[_Keep, _Keep]:
        async with SignedPublishers(coalition, pki):
            jp = console(stack["jp"].target, "console-jp")
            return await asyncio.gather(jp, console(stack["fusion"].target, "console-us"))

    jp, us = asyncio.run(run())
    policy = str(stack["tmp"] / "policy.toml")
    for sink, nation in ((jp, JP), (us, US)):
        assert sink.picture is not None and sink.picture.refused == {}
        assert len(sink.updates) == 25
        for u in sink.updates:
            assert u.HasField("label") and u.label.view == nation and list(u.label.releasable_to) == [nation]
            assert (u.label.policy_id, u.label.classification) == (policy, labels.CLASSIFICATION)
            assert labels.verify_label(u.label, u.label_signature, "fusion-us", key)
        upstream = [u.label.seq for u in sink.updates]
        assert upstream == sorted(upstream) and upstream[-1] > upstream[0]
        assert "REL TO " + {JP: "JPN", US: "USA"}[nation] in sink.err.getvalue()
    assert all(u.label.seq == u.seq for u in us.updates)  # at the hub, the label's seq is the update's
    # the edge re-sequences: its first update (a snapshot) is at its own seq, labelled with the fusion service's
    assert jp.updates[0].kind == picture_pb2.PictureUpdate.KIND_SNAPSHOT
    assert tls(pki, "console-jp").nation() == "jp"  # the nation the console checks labels against


def test_an_edge_serves_stale_while_the_hub_is_down_and_catches_up(
    coalition: CoalitionBrokers, pki: Path, stack: dict
) -> None:
    target = stack["jp"].target
    files = tls(pki, "console-jp")

    async def upstream() -> int:
        async with grpc.aio.secure_channel(target, files.grpc_channel_credentials()) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            return (await stub.Check(health_pb2.HealthCheckRequest(service=edge.UPSTREAM_HEALTH), timeout=3)).status

    async def picture() -> picture_pb2.PictureUpdate:
        async with grpc.aio.secure_channel(target, files.grpc_channel_credentials()) as channel:
            stub = warning_service_pb2_grpc.WarningServiceStub(channel)
            return await stub.GetPicture(warning_service_pb2.GetPictureRequest(), timeout=5)

    async def run() -> tuple[int, int, int, int, int]:
        async with SignedPublishers(coalition, pki):
            serving = health_pb2.HealthCheckResponse.SERVING
            assert await _wait(lambda: upstream(), serving, 20)
            before = (await picture()).seq
            coalition.kill("hub")
            down = await _wait(lambda: upstream(), health_pb2.HealthCheckResponse.NOT_SERVING, 20)
            during = await picture()  # still served, from the edge's own log
            await asyncio.sleep(3)
            coalition.start("hub")
            up = await _wait(lambda: upstream(), serving, 30)
            await asyncio.sleep(5)
            after = (await picture()).seq
        return before, int(down), len(during.tracks), int(up), after

    before, down, tracks_during, up, after = asyncio.run(run())
    assert down and up
    assert tracks_during > 0
    assert after > before


async def _wait(probe, value: int, timeout_s: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        try:
            if await probe() == value:
                return True
        except grpc.aio.AioRpcError:
            pass
        await asyncio.sleep(0.2)
    return False


def test_a_restarted_edge_resumes_its_consoles_from_its_own_log(
    coalition: CoalitionBrokers, pki: Path, stack: dict, tmp_path: Path
) -> None:
    """The kr edge stops and starts again on the same log: a console resumes after the last seq it had, gap
    free, and the edge resynchronizes from the hub's retained snapshot."""
    files = tls(pki, "console-kr")

    async def last_seq(target: str) -> int:
        async with grpc.aio.secure_channel(target, files.grpc_channel_credentials()) as channel:
            stub = warning_service_pb2_grpc.WarningServiceStub(channel)
            return (await stub.GetPicture(warning_service_pb2.GetPictureRequest(), timeout=5)).seq

    async def resume(target: str, after: int, n: int) -> list[int]:
        async with grpc.aio.secure_channel(target, files.grpc_channel_credentials()) as channel:
            stub = warning_service_pb2_grpc.WarningServiceStub(channel)
            call = stub.Subscribe(warning_service_pb2.SubscribeRequest(resume_after_seq=after), timeout=30)
            seqs = []
            async for u in call:
                seqs.append(u.seq)
                if len(seqs) >= n:
                    call.cancel()
                    break
            return seqs

    async def run() -> tuple[int, list[int], int]:
        async with SignedPublishers(coalition, pki):
            await asyncio.sleep(2.0)
            before = await last_seq(stack["kr"].target)
        stack["kr"].stop()
        restarted, _ = _edge(coalition, pki, stack["tmp"], "kr")
        stack["kr"] = restarted
        async with SignedPublishers(coalition, pki):
            seqs = await resume(restarted.target, before, 10)
        return before, seqs, await last_seq(restarted.target)

    before, seqs, after = asyncio.run(run())
    assert before > 0
    assert seqs == list(range(before + 1, before + 11))
    assert after >= before + 10


def test_health_over_mutual_tls(pki: Path, stack: dict) -> None:
    target = stack["jp"].target
    assert main(["health", "--target", target, "--tls-dir", str(pki), "--identity", "console-jp"]) == 0
    assert main(["health", "--target", target]) == 1  # plain text gets no answer
