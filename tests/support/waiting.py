"""Waiting in tests for something another process does (a server, a worker, ``oomlens watch``)."""

from __future__ import annotations

import time


def wait_for(condition, timeout: float, what: str, every: float = 0.1):
    """``condition()``'s first true value within ``timeout`` seconds; AssertionError naming
    ``what`` when there is none."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"{what} did not happen in {timeout} s")
