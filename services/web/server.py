"""``triwarn web``: an aiohttp server that subscribes to the WarningService like any console and serves a live map.

One process, one event loop (asyncio ``TaskGroup``): the subscriber's client loop (snapshot, then gap-free
deltas, resumed after a dropped connection: ``triwarn.services.subscriber.run``) feeds a :class:`Feed`, and
the HTTP server streams the feed to each browser as server-sent events. Routes:

``/``                  the page (``static/index.html``)
``/static/...``        its scripts, styles and map layers (vendored: nothing is fetched from the internet)
``/events``            ``text/event-stream``: a ``snapshot`` message, then ``delta`` and ``status`` messages
``/api/picture``       the current picture as one JSON snapshot (for scripts and tests)
``/healthz``           200 once the first update arrived, else 503

SIGINT and SIGTERM end it cleanly (exit code 0); an unreachable target at start is exit code 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from triwarn.services import subscriber
from triwarn.services.runtime.tls import TlsFiles
from triwarn.services.web.feed import Feed

STATIC = Path(__file__).resolve().parent / "static"
#: seconds between ``status`` messages (the page's staleness check also runs without them)
STATUS_PERIOD_S = 1.0


@dataclass(frozen=True)
class WebOptions:
    target: str = "127.0.0.1:50051"  # the fusion service's (or an edge's) gRPC address
    view: str | None = None  # "us", "jp", "kr"; None: the server's default view
    listen: str = "127.0.0.1:8080"  # HOST:PORT to serve on (port 0: any free port)
    connect_timeout_s: float = 5.0
    duration_s: float | None = None  # stop after this many seconds (None: until stopped)
    tls: TlsFiles | None = None  # mutual TLS to the gRPC server (a console's certificate); None: plain text
    label_public_key: str = ""  # the fusion service's label public key: check label signatures ("": do not)


def split_host_port(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--listen wants HOST:PORT, not {listen!r}")
    return host.strip("[]"), int(port)


def make_app(feed: Feed) -> web.Application:
    """The routes of the module docstring, over ``feed``."""

    async def index(_: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def picture(_: web.Request) -> web.Response:
        return web.json_response(feed.snapshot())

    async def healthz(_: web.Request) -> web.Response:
        ok = feed.last_update_wall_s is not None
        return web.json_response(feed.status(), status=200 if ok else 503)

    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )
        await response.prepare(request)
        q = feed.connect()
        try:
            while True:
                try:
                    async with asyncio.timeout(STATUS_PERIOD_S):
                        text = await q.get()
                except TimeoutError:
                    text = json.dumps({"kind": "status", **feed.status()})
                if text is None:
                    break
                await response.write(f"data: {text}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            feed.disconnect(q)
        return response

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/events", events)
    app.router.add_get("/api/picture", picture)
    app.router.add_get("/healthz", healthz)
    app.router.add_static("/static/", STATIC, follow_symlinks=False)
    return app


async def run(options: WebOptions, stop: asyncio.Event, ready: asyncio.Future[str] | None = None) -> int:
    """Serve until ``stop`` is set; ``ready`` gets the page's URL once the server listens."""
    host, port = split_host_port(options.listen)
    feed = Feed(options.target, options.view)
    sub_options = subscriber.SubscribeOptions(
        target=options.target,
        view=options.view,
        connect_timeout_s=options.connect_timeout_s,
        duration_s=options.duration_s,
        tls=options.tls,
        label_public_key=options.label_public_key,
    )
    runner = web.AppRunner(make_app(feed), handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0]
    url = f"http://{host if ':' not in host else f'[{host}]'}:{bound[1]}/"
    if ready is not None and not ready.done():
        ready.set_result(url)
    try:
        return await subscriber.run(sub_options, feed, stop)
    finally:
        feed.stop()
        with contextlib.suppress(Exception):
            await runner.cleanup()


def main(options: WebOptions) -> int:
    """The ``triwarn web`` command in this process."""

    async def go() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        ready: asyncio.Future[str] = loop.create_future()
        ready.add_done_callback(
            lambda f: print(f"triwarn web: serving {f.result()} (picture from {options.target})", flush=True)
        )
        started = time.monotonic()
        try:
            return await run(options, stop, ready)
        except subscriber.TargetUnavailable as exc:
            print(f"triwarn web: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:
            if time.monotonic() - started < 5 and not ready.done():
                print(f"triwarn web: cannot listen on {options.listen}: {exc}", file=sys.stderr)
                return 1
            raise

    return asyncio.run(go())
