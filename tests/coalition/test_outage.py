"""A 60 s hub outage at the demo's rates (three nodes, 5 signed batches/s each): the national brokers queue,
the hub restarts from its persistence, and the fusion service receives every batch exactly once (the
bridges' resends are refused as replays). SIGKILL, not a clean stop: the hub has no chance to save more than
its last autosave (1 s)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from coalition_helpers import SignedPublishers, fusion_at_hub, wait_until

from triwarn.services.trust.topology import CoalitionBrokers

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

OUTAGE_S = 60.0


def test_a_60_s_hub_outage_loses_nothing(coalition: CoalitionBrokers, pki: Path, tmp_path: Path) -> None:
    thread, metrics = fusion_at_hub(coalition, pki, tmp_path, max_age_s=OUTAGE_S + 60)

    def received(nation: str) -> int:
        return int(metrics.value("triwarn_batches_received_total", nation=nation))

    async def run() -> dict[str, int]:
        async with SignedPublishers(coalition, pki, period_s=0.2) as pubs:
            assert await wait_until(lambda: all(received(n) > 5 for n in ("us", "jp", "kr")), 30)
            await asyncio.sleep(3.0)  # the hub's autosave (1 s) has its sessions and subscriptions on disk
            coalition.kill("hub")
            await asyncio.sleep(OUTAGE_S)
            coalition.start("hub")
            await asyncio.sleep(2.0)
        sent = dict(pubs.sent)
        await wait_until(lambda: all(received(n) >= sent[n] for n in sent), 60)
        await asyncio.sleep(1.0)
        return sent

    try:
        sent = asyncio.run(run())
        got = {n: received(n) for n in sent}
        stale = metrics.total("triwarn_batches_rejected_total") - sum(
            metrics.value("triwarn_batches_rejected_total", nation=n, reason="replayed") for n in sent
        )
    finally:
        thread.stop()
    assert min(sent.values()) > OUTAGE_S * 4  # they kept publishing through the outage
    assert got == sent
    assert stale == 0
