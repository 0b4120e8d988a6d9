"""The embedded job runner: analyses in child processes, fed from the durable job table.

A thread in the server process claims queued reports (``jobs.claim_next``) and runs each in its
own ``python -m oomlens.server.task`` process under a memory ceiling (RLIMIT_AS) and a time
limit, at most ``analysis_workers`` at once. A child that crashes or is killed leaves its report
claimed; the runner puts it back in the queue with the reason. The runner renews the leases of
its running jobs every round, so when the runner itself dies (the server killed) its jobs are
claimed again once their lease (``lease_seconds``) runs out: every accepted upload is analysed
or ends ``dead`` with why.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from typing import BinaryIO

from oomlens.server import db, jobs
from oomlens.server.settings import ServerSettings

POLL_SECONDS = 0.5


class LocalRunner:
    def __init__(self, settings: ServerSettings):
        self.settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="oomlens-runner", daemon=True)
        self._children: dict[str, tuple[subprocess.Popen, float, BinaryIO]] = {}
        self._engine = db.make_engine(settings.database_url)
        self._sessions = db.sessions(self._engine)
        self.lease = timedelta(seconds=settings.lease_seconds)  # renewed every round

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for child, _, errors in self._children.values():
            child.kill()
            errors.close()
        self._engine.dispose()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._reap()
                with self._sessions() as session:
                    jobs.renew(session, list(self._children), self.lease)
                while len(self._children) < self.settings.analysis_workers:
                    with self._sessions() as session:
                        report_id = jobs.claim_next(session, self.lease,
                                                    self.settings.max_attempts)
                    if report_id is None:
                        break
                    errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed when reaped
                    self._children[report_id] = (self._spawn(report_id, errors),
                                                 time.monotonic(), errors)
            except Exception as exc:  # the database is briefly away: try again next round
                print(f"oomlens runner: {type(exc).__name__}: {exc}", file=sys.stderr)
            self._stop.wait(POLL_SECONDS)

    def _spawn(self, report_id: str, errors: BinaryIO) -> subprocess.Popen:
        """The child's stderr goes to a file, not a pipe: a pipe nobody reads while the child
        runs would block it once full."""
        limit = self.settings.analysis_memory_limit_bytes

        def ceiling() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        env = {**os.environ, **self.settings.to_env()}
        return subprocess.Popen([sys.executable, "-m", "oomlens.server.task", report_id],
                                env=env, preexec_fn=ceiling, stdout=subprocess.DEVNULL,
                                stderr=errors)

    def _reap(self) -> None:
        for report_id, (child, started, errors) in list(self._children.items()):
            code = child.poll()
            overdue = time.monotonic() - started > self.settings.analysis_time_limit_s
            if code is None and not overdue:
                continue
            if code is None:
                child.kill()
                child.wait()
                reason = f"took longer than {self.settings.analysis_time_limit_s} s"
            elif code == 0:
                del self._children[report_id]
                errors.close()
                continue
            else:
                errors.seek(max(0, errors.seek(0, 2) - 4096))
                tail = errors.read().decode(errors="replace").strip()
                reason = (tail.splitlines()[-1] if tail else f"analysis exited with {code}")
            del self._children[report_id]
            errors.close()
            with self._sessions() as session:
                jobs.retry_later(session, report_id, reason[:500])
