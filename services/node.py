"""A national node: one nation's sensors and command-and-control tracker, publishing local tracks over MQTT.

Life of a node (``run``):

1. load the scenario and build the nation's simulation (``triwarn.sensors.sim.nation.NationSim``);
2. connect to the broker under its node id (one client id, a persistent session) with a DEATH certificate as
   last will, publish BIRTH (retained, QoS 1); both carry the same ``bd_seq`` (Sparkplug-style), a fresh one
   per connection;
3. every ``update_period_s`` of scenario time, step the simulation and publish one ``LocalTrackBatch`` on
   ``triwarn/v1/{nation}/tracks`` (QoS 1) with ``batch_seq`` 0, 1, 2... within the birth;
4. on a lost connection, reconnect with back-off (0.5 s doubling to 10 s); the simulation keeps its state, so
   local track numbers continue and are never reused;
5. at the end of the scenario (or on SIGTERM / Ctrl-C), publish DEATH and disconnect cleanly. With
   ``scenario_loop`` the scenario starts again, with track numbers continuing above the previous ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import numpy as np

from triwarn.core.tracks import LocalTrackBatch
from triwarn.scenarios.scenario_file import load_scenario
from triwarn.sensors.sim.nation import NationSim, warm_up
from triwarn.services.runtime import mqtt
from triwarn.services.runtime.clock import Clock, ClockLike
from triwarn.services.runtime.lifecycle import stop_on_signals
from triwarn.services.runtime.settings import Settings
from triwarn.services.runtime.tls import TlsFiles
from triwarn.services.trust import signing
from triwarn.services.wire import tracks as wire

log = logging.getLogger("triwarn.node")

#: Seconds between the last impact and a looping scenario's next start.
LOOP_GAP_S = 10.0


@dataclass
class _Cycle:
    """One pass through the scenario."""

    t0_ns: int
    sim: object
    number_base: int
    next_tick: int = 0


class Node:
    """Scenario clock, simulation and track numbering of one nation; transport-free (``run`` adds MQTT)."""

    def __init__(self, settings: Settings, clock: ClockLike) -> None:

        self.settings = settings
        self.clock = clock
        self.nation = settings.nation
        self.node_id = settings.effective_node_id
        self.scenario = load_scenario(settings.scenario)
        self.period_s = settings.update_period_s
        self.loop_period_ns = int(math.ceil(self.scenario.duration_s + LOOP_GAP_S) * 1e9)
        self._max_number = 0
        self.cycle = self._new_cycle(self._first_t0_ns())
        self.sensor_ids: tuple[str, ...] = tuple(self.cycle.sim.sensor_ids)  # type: ignore[attr-defined]

    def _first_t0_ns(self) -> int:
        if self.settings.scenario_t0_ns:
            return self.settings.scenario_t0_ns
        now = self.clock.now_ns()
        if self.settings.scenario_loop:
            # aligned to the loop period, so nodes in separate containers agree without talking
            return now - now % self.loop_period_ns
        return now

    def _new_cycle(self, t0_ns: int) -> _Cycle:

        sim = NationSim(self.nation, self.scenario, seed=self.settings.seed)
        return _Cycle(t0_ns=t0_ns, sim=sim, number_base=self._max_number)

    def finished(self) -> bool:
        """True once a non-looping scenario has ended (past its duration plus two periods)."""
        end_ns = self.cycle.t0_ns + int((self.scenario.duration_s + 2 * self.period_s) * 1e9)
        return not self.settings.scenario_loop and self.clock.now_ns() > end_ns

    def next_tick_ns(self) -> int:
        return self.cycle.t0_ns + int(self.cycle.next_tick * self.period_s * 1e9)

    def due_steps(self) -> list[float]:
        """Scenario times (s) of every tick that is due now, oldest first; starts the next loop when due."""
        now = self.clock.now_ns()
        if self.settings.scenario_loop and now >= self.cycle.t0_ns + self.loop_period_ns:
            self.cycle = self._new_cycle(now - now % self.loop_period_ns)
        due = []
        while self.next_tick_ns() <= now:
            t_s = self.cycle.next_tick * self.period_s
            self.cycle.next_tick += 1
            if t_s <= self.scenario.duration_s + 2 * self.period_s:
                due.append(t_s)
        return due

    def fresh(self, t_s: float) -> bool:
        """Whether the tick at scenario time ``t_s`` is recent enough to publish: within half of the fusion
        service's ``max_age_s`` of now (scenario clock). A node that starts (or reconnects) late, e.g. in loop
        mode in the middle of a cycle, steps through the elapsed ticks without sending them: a burst of stale
        batches would only be rejected."""
        tick_ns = self.cycle.t0_ns + round(t_s * 1e9)
        return self.clock.now_ns() - tick_ns <= round(0.5 * self.settings.max_age_s * 1e9)

    def step(self, t_s: float, batch_seq: int, bd_seq: int) -> LocalTrackBatch:
        """Advance the simulation to scenario time ``t_s``; the nation's tracks as a batch."""
        tracks = self.cycle.sim.step(t_s)  # type: ignore[attr-defined]
        numbers = np.asarray(tracks.track_numbers, np.int64) + self.cycle.number_base
        if numbers.size:
            self._max_number = max(self._max_number, int(numbers.max()))
        time_ns = self.cycle.t0_ns + np.round(np.asarray(tracks.t_s) * 1e9).astype(np.int64)
        hit_s = np.asarray(tracks.last_hit_s, np.float64)
        last_update_ns = (  # in integers, as time_ns (float64 near 1.7e18 ns is off by up to 128 ns)
            np.where(np.isfinite(hit_s), self.cycle.t0_ns + np.round(np.nan_to_num(hit_s) * 1e9).astype(np.int64), 0)
            if hit_s.size == numbers.size
            else np.zeros(0, np.int64)
        )
        last_update_ns = np.minimum(last_update_ns, time_ns) if last_update_ns.size else last_update_ns
        objects = np.asarray(tracks.objects, np.int64)
        objects = objects if objects.size == numbers.size else np.zeros(0, np.int64)
        return LocalTrackBatch(
            nation=self.nation,
            node_id=self.node_id,
            batch_seq=batch_seq,
            bd_seq=bd_seq,
            sent_time_ns=self.clock.now_ns(),
            track_numbers=numbers,
            time_ns=time_ns,
            x=np.asarray(tracks.x, np.float64),
            P=np.asarray(tracks.P, np.float64),
            phase=np.asarray(tracks.phase, np.int64),
            status=np.asarray(tracks.status, np.int64),
            quality=np.asarray(tracks.quality, np.float64),
            beta_kg_m2=np.asarray(tracks.beta_kg_m2, np.float64),
            sensor_ids=tuple(tracks.sensor_ids),
            last_update_ns=last_update_ns,
            objects=objects,
        )

    def status(self, birth: bool, bd_seq: int, signer: signing.Signer | None = None) -> bytes:
        """The encoded NodeStatus, signed when ``signer`` is given."""
        payload = wire.encode_status(
            wire.NodeStatusEvent(
                nation=self.nation,
                node_id=self.node_id,
                birth=birth,
                bd_seq=bd_seq,
                time_ns=self.clock.now_ns(),
                sensor_ids=self.sensor_ids,
                update_period_s=self.period_s,
            )
        )
        return payload if signer is None else signer.sign(signing.STATUS, payload)


async def run(settings: Settings, stop: asyncio.Event | None = None) -> int:
    """Run one national node until the scenario ends (or forever with ``scenario_loop``) or ``stop`` is set."""
    stop = stop or stop_on_signals()
    clock = Clock(t0_ns=settings.scenario_t0_ns, speed=settings.clock_speed)
    log.info("node %s: preparing sensors and tracker (the first run compiles numba kernels)", settings.nation)

    await asyncio.to_thread(warm_up)
    node = await asyncio.to_thread(Node, settings, clock)
    log.info(
        "node %s (%s): %d sensors, scenario %r, %.0f s, publishing to %s",
        node.nation,
        node.node_id,
        len(node.sensor_ids),
        node.scenario.name,
        node.scenario.duration_s,
        settings.broker_url,
    )
    # coalition (issue 15): sign every batch and status with the node's registered key
    signer = signing.Signer.load(settings.signing_key, node.node_id) if settings.signing_key else None
    backoff = mqtt.Backoff()
    batch_topic = wire.tracks_topic(node.nation)
    status_topic = wire.status_topic(node.nation)
    unsent: LocalTrackBatch | None = None  # the batch whose publish the lost connection interrupted
    while not stop.is_set() and not node.finished():
        bd_seq = time.time_ns() // 1_000_000  # increases across reconnects and restarts
        will = aiomqtt.Will(status_topic, node.status(False, bd_seq, signer), qos=1, retain=True)
        try:
            # one client id per node, kept across reconnects and restarts, with a persistent session: a second
            # process with the same node id takes the connection over instead of publishing beside it
            async with mqtt.client(
                settings.broker_url,
                node.node_id,
                will=will,
                tls=TlsFiles.from_settings(settings),
                clean_session=False,
            ) as client:
                await client.publish(status_topic, node.status(True, bd_seq, signer), qos=1, retain=True)
                log.info("node %s: connected, birth bd_seq=%d", node.nation, bd_seq)
                backoff.reset()
                batch_seq = 0
                if unsent is not None:  # sent again as the first batch of this birth (fusion drops it if stale)
                    batch = dataclasses.replace(unsent, bd_seq=bd_seq, batch_seq=batch_seq)
                    payload = wire.with_sent_time(wire.encode_batch(batch), clock.now_ns())
                    if signer is not None:
                        payload = signer.sign(signing.BATCH, payload)
                    await client.publish(batch_topic, payload, qos=1)
                    unsent = None
                    batch_seq += 1
                while not stop.is_set() and not node.finished():
                    for t_s in node.due_steps():
                        batch = await asyncio.to_thread(node.step, t_s, batch_seq, bd_seq)
                        if not node.fresh(t_s):
                            continue  # the elapsed part of a (looping) scenario: simulated, not sent
                        payload = wire.with_sent_time(wire.encode_batch(batch), clock.now_ns())
                        if signer is not None:
                            payload = signer.sign(signing.BATCH, payload)
                        unsent = batch
                        await client.publish(batch_topic, payload, qos=1)
                        unsent = None
                        batch_seq += 1
                        if settings.heartbeat_file:
                            Path(settings.heartbeat_file).touch()
                    delay = min(max(clock.wall_delay_s(node.next_tick_ns()), 0.0), 1.0)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await stop.wait()
                await client.publish(status_topic, node.status(False, bd_seq, signer), qos=1, retain=True)
                log.info("node %s: clean shutdown after %d batches, death bd_seq=%d", node.nation, batch_seq, bd_seq)
        except aiomqtt.MqttError as exc:
            delay = backoff.next()
            log.warning("node %s: broker connection lost (%s); reconnecting in %.1f s", node.nation, exc, delay)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await stop.wait()
    return 0
