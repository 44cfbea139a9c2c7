"""Process lifecycle helpers shared by the services: SIGTERM/SIGINT set an asyncio Event."""

from __future__ import annotations

import asyncio
import signal


def stop_on_signals() -> asyncio.Event:
    """An Event that SIGTERM (``docker compose stop``) and SIGINT (Ctrl-C) set; call inside the event loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop
