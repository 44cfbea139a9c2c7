"""The four brokers on the wire: routing through the hub, and every MQTT-level spoof refused (real Mosquitto,
real TLS, certificates from ``triwarn pki init``). Deliveries are what is checked: Mosquitto drops a denied
publish silently under MQTT 3.1.1 and grants a denied subscription, filtering at delivery."""

from __future__ import annotations

import asyncio
import gc
import ssl
import time
import warnings
from pathlib import Path

import aiomqtt
import pytest
from coalition_helpers import MONITORS, Recorder, publish, tls, wait_until
from prometheus_client import CollectorRegistry

from triwarn.services.runtime import mqtt
from triwarn.services.runtime.tls import TlsFiles
from triwarn.services.trust.topology import CoalitionBrokers

pytestmark = pytest.mark.timeout(120)

SETTLE_S = 1.5  # a denied message would have arrived well within this (bridged messages take ~1 ms)


def _monitors(coalition: CoalitionBrokers, pki: Path) -> dict[str, Recorder]:
    return {n: Recorder(coalition.url(n), tls(pki, name), ["#"]) for n, name in MONITORS.items()}


async def _with_monitors(coalition: CoalitionBrokers, pki: Path, body) -> dict[str, Recorder]:  # type: ignore[no-untyped-def]
    recs = _monitors(coalition, pki)
    for r in recs.values():
        await r.__aenter__()
    try:
        await asyncio.sleep(0.3)  # the bridges' subscriptions are in place long before; let monitors settle
        await body()
        await asyncio.sleep(SETTLE_S)
    finally:
        for r in recs.values():
            await r.__aexit__(None, None, None)
    return recs


def test_national_tracks_reach_the_hub_and_no_other_nation(coalition: CoalitionBrokers, pki: Path) -> None:
    async def body() -> None:
        await publish(coalition.url("jp"), tls(pki, "jp-c2"), "triwarn/v1/jp/tracks", b"jp-batch")
        await publish(coalition.url("kr"), tls(pki, "kr-c2"), "triwarn/v1/kr/tracks", b"kr-batch")
        await publish(coalition.url("us"), tls(pki, "us-c2"), "triwarn/v1/us/tracks", b"us-batch")

    recs = asyncio.run(_with_monitors(coalition, pki, body))
    assert recs["hub"].payloads("triwarn/v1/jp/tracks") == [b"jp-batch"]
    assert recs["hub"].payloads("triwarn/v1/kr/tracks") == [b"kr-batch"]
    assert recs["hub"].payloads("triwarn/v1/us/tracks") == [b"us-batch"]
    # the kr broker never carries jp data, nor jp kr data; national tracks never come back down
    assert recs["kr"].topics_seen() == {"triwarn/v1/kr/tracks"}
    assert recs["jp"].topics_seen() == {"triwarn/v1/jp/tracks"}
    assert recs["us"].topics_seen() == {"triwarn/v1/us/tracks"}


def test_each_view_goes_down_to_its_nation_only(coalition: CoalitionBrokers, pki: Path) -> None:
    async def body() -> None:
        async with mqtt.client(coalition.url("hub"), "fusion", tls=tls(pki, "fusion-us")) as fusion:
            for view in ("us", "jp", "kr"):
                await fusion.publish(f"triwarn/v1/picture/{view}/updates", f"view-{view}".encode(), qos=1)

    async def run() -> tuple[dict[str, Recorder], Recorder]:
        edge = Recorder(coalition.url("jp"), tls(pki, "edge-jp"), ["#"])
        async with edge:
            recs = await _with_monitors(coalition, pki, body)
        return recs, edge

    recs, edge = asyncio.run(run())
    for n in ("us", "jp", "kr"):
        assert recs[n].payloads(f"triwarn/v1/picture/{n}/updates") == [f"view-{n}".encode()]
        assert recs[n].topics_seen() == {f"triwarn/v1/picture/{n}/updates"}, n
    assert [m for m in edge.messages if not m[0].endswith("/link")] == [("triwarn/v1/picture/jp/updates", b"view-jp")]


def test_a_nation_writes_only_its_own_topics(coalition: CoalitionBrokers, pki: Path) -> None:
    """The kr node's certificate: refused on kr's broker for jp topics, and on jp's broker for anything; a
    bridge's certificate cannot be used by a client at the hub for another nation; only fusion-us writes
    pictures."""

    async def body() -> None:
        kr = tls(pki, "kr-c2")
        await publish(coalition.url("kr"), kr, "triwarn/v1/jp/tracks", b"spoof-1")
        await publish(coalition.url("jp"), kr, "triwarn/v1/jp/tracks", b"spoof-2")
        await publish(coalition.url("jp"), kr, "triwarn/v1/kr/tracks", b"spoof-3")
        await publish(coalition.url("hub"), tls(pki, "bridge-kr"), "triwarn/v1/jp/tracks", b"spoof-4")
        await publish(coalition.url("hub"), tls(pki, "bridge-kr"), "triwarn/v1/picture/jp/updates", b"spoof-5")
        await publish(coalition.url("jp"), tls(pki, "jp-c2"), "triwarn/v1/picture/jp/updates", b"spoof-6")
        await publish(coalition.url("jp"), tls(pki, "edge-jp"), "triwarn/v1/jp/tracks", b"spoof-7")
        await publish(coalition.url("hub"), tls(pki, "console-jp"), "triwarn/v1/jp/tracks", b"spoof-8")

    recs = asyncio.run(_with_monitors(coalition, pki, body))
    for n, rec in recs.items():
        assert not [p for _, p in rec.messages if p.startswith(b"spoof")], n


def test_every_denied_publish_is_counted_per_broker_and_client(coalition: CoalitionBrokers, pki: Path) -> None:
    """A publish the ACL refuses is dropped (no one receives it) and counted, at the broker that refused it,
    for the identity that tried, in the brokers' metric; the log file keeps the denial, not the per-packet
    debug lines it came with."""
    spoofs = [  # (broker, identity, topic): each one refused by that broker's ACL
        ("kr", "kr-c2", "triwarn/v1/jp/tracks"),
        ("jp", "kr-c2", "triwarn/v1/kr/tracks"),
        ("jp", "jp-c2", "triwarn/v1/picture/jp/updates"),
        ("jp", "edge-jp", "triwarn/v1/jp/tracks"),
        ("hub", "console-jp", "triwarn/v1/jp/tracks"),
        ("hub", "console-jp", "triwarn/v1/picture/jp/updates"),
    ]
    brokers = ("hub", "us", "jp", "kr")
    before = {b: coalition.denied_publishes(b) for b in brokers}

    async def body() -> None:
        for broker, identity, topic in spoofs:
            await publish(coalition.url(broker), tls(pki, identity), topic, b"spoof-counted")
        await publish(coalition.url("kr"), tls(pki, "kr-c2"), "triwarn/v1/kr/tracks", b"allowed")  # not counted

        def all_counted() -> bool:
            return sum(sum(coalition.denied_publishes(b).values()) for b in brokers) >= sum(
                sum(before[b].values()) for b in brokers
            ) + len(spoofs)

        assert await wait_until(all_counted, 5.0), {b: coalition.denied_publishes(b) for b in brokers}

    recs = asyncio.run(_with_monitors(coalition, pki, body))
    assert not [p for rec in recs.values() for _, p in rec.messages if p == b"spoof-counted"]
    assert any(p == b"allowed" for _, p in recs["hub"].messages)  # the allowed one went through, uncounted
    for b in brokers:
        expected = {c: n for c, n in before[b].items()}
        for broker, identity, _ in spoofs:
            if broker == b:
                expected[identity] = expected.get(identity, 0) + 1
        assert coalition.denied_publishes(b) == expected, b
    registry = CollectorRegistry()
    registry.register(coalition.metrics())
    value = registry.get_sample_value(
        "triwarn_broker_publishes_denied_total", {"broker": "hub", "client": "console-jp"}
    )
    assert value == before["hub"].get("console-jp", 0) + 2
    log = coalition.log("jp")
    assert "Denied PUBLISH from edge-jp" in log and "triwarn/v1/jp/tracks" in log
    assert "Received PUBLISH" not in log and "Sending PUBACK" not in log  # per-packet lines are not kept


def test_a_jp_identity_cannot_read_kr_data(coalition: CoalitionBrokers, pki: Path) -> None:
    """Mosquitto grants a subscription its ACL denies and delivers nothing on it: nothing arrives, and each such
    subscription is counted for the identity that made it (the metric, and a line in the broker's log)."""
    before_hub, before_jp = coalition.denied_subscriptions("hub"), coalition.denied_subscriptions("jp")

    async def run() -> tuple[Recorder, Recorder]:
        edge_at_hub = Recorder(
            coalition.url("hub"), tls(pki, "edge-jp"), ["triwarn/v1/kr/#", "triwarn/v1/picture/kr/#"]
        )
        node_at_jp = Recorder(coalition.url("jp"), tls(pki, "jp-c2"), ["#"])
        async with edge_at_hub, node_at_jp:
            await asyncio.sleep(0.3)
            await publish(coalition.url("kr"), tls(pki, "kr-c2"), "triwarn/v1/kr/tracks", b"kr-secret")
            async with mqtt.client(coalition.url("hub"), "f", tls=tls(pki, "fusion-us")) as fusion:
                await fusion.publish("triwarn/v1/picture/kr/updates", b"kr-view", qos=1)
                await fusion.publish("triwarn/v1/picture/jp/updates", b"jp-view", qos=1)
            await asyncio.sleep(SETTLE_S)
        return edge_at_hub, node_at_jp

    at_hub, at_jp = asyncio.run(run())
    assert at_hub.messages == []
    assert at_jp.messages == []  # a node reads nothing, not even its own view
    # edge-jp has no read rule at the hub: both its filters are counted; jp-c2's "#" is not (it may read its
    # nation's status topic, so the filter is not wholly denied)
    assert coalition.denied_subscriptions("hub") == {**before_hub, "edge-jp": before_hub.get("edge-jp", 0) + 2}
    assert coalition.denied_subscriptions("jp") == before_jp
    registry = CollectorRegistry()
    registry.register(coalition.metrics())
    labels = {"broker": "hub", "client": "edge-jp"}
    assert (
        registry.get_sample_value("triwarn_broker_subscriptions_denied_total", labels)
        == before_hub.get("edge-jp", 0) + 2
    )
    assert "Denied SUBSCRIBE (by ACL: nothing readable) from edge-jp: triwarn/v1/picture/kr/#" in coalition.log("hub")


@pytest.mark.parametrize("who", ["no certificate", "rogue CA", "plain text"])
def test_connections_without_a_coalition_certificate_are_refused(
    coalition: CoalitionBrokers, pki: Path, rogue_pki: Path, who: str
) -> None:
    async def attempt() -> None:
        url = coalition.url("jp")
        if who == "no certificate":
            ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
            host, port = url.removeprefix("mqtts://").split(":")
            client = aiomqtt.Client(host, int(port), tls_context=ctx, identifier="x", timeout=3)
        elif who == "rogue CA":
            # the rogue's client certificate, but the real CA to trust the server: the broker must refuse it
            rogue = TlsFiles(str(pki / "ca.crt"), str(rogue_pki / "jp-c2.crt"), str(rogue_pki / "jp-c2.key"))
            client = mqtt.client(url, "x", tls=rogue)
        else:
            client = mqtt.client(url.replace("mqtts://", "mqtt://"), "x")
        async with client:
            await client.publish("triwarn/v1/jp/tracks", b"spoof", qos=1)

    before = coalition.tls_refusals("jp")
    with pytest.raises(aiomqtt.MqttError):
        asyncio.run(asyncio.wait_for(attempt(), 15))
    _collect_failed_sockets()
    time.sleep(0.3)  # the broker's log line
    after = coalition.tls_refusals("jp")
    counted = {k: after[k] - before[k] for k in after}
    expected = {"no certificate": "no_certificate", "rogue CA": "untrusted_certificate"}.get(who)
    if expected is not None:
        assert counted[expected] == 1, counted


def test_the_client_trusts_no_rogue_broker(pki: Path, rogue_pki: Path, coalition: CoalitionBrokers) -> None:
    """A client with the coalition CA refuses a server certificate from another CA (here: our own client
    certificate presented to a broker trusted through the rogue CA fails verification)."""
    wrong_ca = TlsFiles(str(rogue_pki / "ca.crt"), str(pki / "jp-c2.crt"), str(pki / "jp-c2.key"))

    async def attempt() -> None:
        async with mqtt.client(coalition.url("jp"), "x", tls=wrong_ca) as client:
            await client.publish("triwarn/v1/jp/tracks", b"x", qos=1)

    with pytest.raises(aiomqtt.MqttError):
        asyncio.run(asyncio.wait_for(attempt(), 15))
    _collect_failed_sockets()


def _collect_failed_sockets() -> None:
    """paho leaves the socket of a refused TLS handshake to the garbage collector: collect it here, where its
    ResourceWarning is expected, not in a later test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def test_mqtts_without_tls_files_is_an_error_not_plain_text() -> None:
    with pytest.raises(ValueError, match="TLS"):
        mqtt.client("mqtts://127.0.0.1:8883", "x")


def test_client_id_takeover_is_impossible(coalition: CoalitionBrokers, pki: Path) -> None:
    """The kr node's certificate connecting to jp's broker with client id ``jp-c2`` does not replace the jp
    node's session: the broker forces the client id to the certificate's CN."""

    async def run() -> tuple[Recorder, bool]:
        mon = Recorder(coalition.url("hub"), tls(pki, MONITORS["hub"]), ["triwarn/v1/jp/tracks"])
        async with mon, mqtt.client(coalition.url("jp"), "jp-c2", tls=tls(pki, "jp-c2")) as legit:
            async with mqtt.client(coalition.url("jp"), "jp-c2", tls=tls(pki, "kr-c2")) as intruder:
                await intruder.publish("triwarn/v1/jp/tracks", b"intruder", qos=1)
                await asyncio.sleep(0.5)
                await legit.publish("triwarn/v1/jp/tracks", b"legit", qos=1)
            arrived = await wait_until(lambda: b"legit" in mon.payloads("triwarn/v1/jp/tracks"), 5)
            await asyncio.sleep(0.5)
        return mon, arrived

    mon, arrived = asyncio.run(run())
    assert arrived
    assert mon.payloads("triwarn/v1/jp/tracks") == [b"legit"]


def test_a_bridge_identity_cannot_take_over_another_bridge(coalition: CoalitionBrokers, pki: Path) -> None:
    """A client holding the kr bridge's certificate connects to the hub as ``bridge-jp``: the jp bridge keeps
    its session, and jp tracks still flow."""

    async def run() -> bool:
        mon = Recorder(coalition.url("hub"), tls(pki, MONITORS["hub"]), ["triwarn/v1/jp/tracks"])
        async with mon, mqtt.client(coalition.url("hub"), "bridge-jp", tls=tls(pki, "bridge-kr")):
            await asyncio.sleep(1.0)
            await publish(coalition.url("jp"), tls(pki, "jp-c2"), "triwarn/v1/jp/tracks", b"after")
            return await wait_until(lambda: b"after" in mon.payloads("triwarn/v1/jp/tracks"), 5)

    assert asyncio.run(run())


def test_a_subscription_is_denied_only_when_no_read_rule_can_match_it() -> None:
    from triwarn.services.trust.broker_log import AclRules

    acl = AclRules.parse(
        "# comment\nuser edge-jp\ntopic read triwarn/v1/picture/jp/#\n\nuser jp-c2\ntopic write triwarn/v1/jp/tracks\n"
        "topic readwrite triwarn/v1/jp/status\npattern read clients/%c/#\n"
    )
    readable = [
        ("edge-jp", "triwarn/v1/picture/jp/updates"),
        ("edge-jp", "triwarn/v1/picture/+/snapshot"),  # may match jp's
        ("edge-jp", "triwarn/#"),
        ("edge-jp", "$share/g/triwarn/v1/picture/jp/#"),
        ("jp-c2", "triwarn/v1/jp/status"),
        ("jp-c2", "clients/jp-c2/x"),  # the pattern, with its client id
    ]
    denied = [
        ("edge-jp", "triwarn/v1/picture/kr/#"),
        ("edge-jp", "triwarn/v1/picture"),  # a level above: "#" matches its parent, not the reverse here
        ("jp-c2", "triwarn/v1/jp/tracks"),  # write only
        ("jp-c2", "clients/kr-c2/x"),
        ("console-jp", "triwarn/#"),  # no rule of its own (the pattern gives it clients/console-jp/# only)
    ]
    assert [c for c in readable if not acl.readable(*c)] == []
    assert [c for c in denied if acl.readable(*c)] == []
