"""Starting a local server and waiting for it (scripts, benchmarks and tests start `oomlens
serve` as a process and must not talk to it before it listens)."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx

from oomlens.errors import OomlensError


def wait_until_up(url: str, process: subprocess.Popen | None = None,
                  timeout: float = 60) -> None:
    """Return once ``url``/api/v1/health answers 200; OomlensError when ``process`` exits
    first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise OomlensError(f"the server at {url} stopped (exit status {process.returncode})")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise OomlensError(f"the server at {url} did not answer within {timeout:.0f} s")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for a server to be started)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
