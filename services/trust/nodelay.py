"""TCP_NODELAY for Mosquitto's bridges: an ``LD_PRELOAD`` shim of a few lines of C, compiled on first use.

Mosquitto (2.0.x) never sets TCP_NODELAY on a bridge's outgoing socket (``set_tcp_nodelay`` applies to
accepted sockets only), so Nagle's algorithm and delayed ACKs hold back messages of a few TLS records by
tens of milliseconds per hop (docs/coalition.md, "Latency per hop"). The shim wraps ``connect()`` and sets
TCP_NODELAY on every TCP socket the broker process connects: only bridges connect out. It is compiled with
the system's C compiler (``cc``) into the caller's folder; without a compiler there is no shim (``None``) and
the bridges keep Nagle's algorithm (the benchmark measures both).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SOURCE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    static int (*real_connect)(int, const struct sockaddr *, socklen_t);
    if (!real_connect) real_connect = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
    if (addr && (addr->sa_family == AF_INET || addr->sa_family == AF_INET6)) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails harmlessly on a UDP socket */
    }
    return real_connect(fd, addr, len);
}
"""


def build_shim(folder: str | Path) -> Path | None:
    """``folder/triwarn-nodelay.so`` (compiled if missing), or None when no C compiler is available."""
    out = Path(folder) / "triwarn-nodelay.so"
    if out.exists():
        return out
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    src = out.with_suffix(".c")
    src.write_text(SOURCE)
    result = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(out), str(src), "-ldl"], capture_output=True)
    return out if result.returncode == 0 else None
