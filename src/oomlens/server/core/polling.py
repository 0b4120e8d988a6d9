"""A background thread that does one round of work every so often: the embedded job runner,
the Celery dispatcher and the webhook notifier are all one.

A round that fails (the database or the broker briefly away) is reported on stderr and tried
again next round: none of these threads may die while the server lives.
"""

from __future__ import annotations

import sys
import threading


class PollingThread:
    """Calls ``poll_once`` every ``interval`` seconds from ``start()`` until ``stop()``, which
    then calls ``close`` (subclasses release what they hold there)."""

    name = "oomlens-poller"
    interval = 0.5

    def __init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.close()

    def poll_once(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:
                print(f"{self.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            self._stop.wait(self.interval)
