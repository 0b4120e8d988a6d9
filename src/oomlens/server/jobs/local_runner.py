"""The embedded job runner: analyses in child processes, fed from the durable job table.

A thread in the server process claims queued reports (``core.queue.claim_next``) and runs each in
its own process (``sandbox.AnalysisProcess``: memory ceiling, time limit), at most
``analysis_workers`` at once. A child that crashes or is killed leaves its report claimed; the
runner puts it back in the queue with the reason. The runner renews the leases of its running
jobs every round, so when the runner itself dies (the server killed) its jobs are claimed again
once their lease (``lease_seconds``) runs out: every accepted upload is analysed or ends ``dead``
with why.
"""

from __future__ import annotations

from datetime import timedelta

from oomlens.server.core import db, queue
from oomlens.server.core.config import ServerSettings
from oomlens.server.core.polling import PollingThread
from oomlens.server.jobs.sandbox import AnalysisProcess

class LocalRunner(PollingThread):
    name = "oomlens runner"

    def __init__(self, settings: ServerSettings):
        super().__init__()
        self.settings = settings
        self._children: dict[str, AnalysisProcess] = {}
        self._engine = db.make_engine(settings.database_url)
        self._sessions = db.sessions(self._engine)
        self.lease = timedelta(seconds=settings.lease_seconds)  # renewed every round

    def close(self) -> None:
        for child in self._children.values():
            child.kill()
            child.finished()
        self._engine.dispose()

    def poll_once(self) -> None:
        self._reap()
        with self._sessions() as session:
            queue.renew(session, list(self._children), self.lease)
        while len(self._children) < self.settings.analysis_workers:
            with self._sessions() as session:
                report_id = queue.claim_next(session, self.lease, self.settings.max_attempts)
            if report_id is None:
                break
            self._children[report_id] = AnalysisProcess(self.settings, report_id)

    def _reap(self) -> None:
        for report_id, child in list(self._children.items()):
            outcome = child.finished()
            if outcome is None:
                continue
            del self._children[report_id]
            succeeded, reason = outcome
            if not succeeded:
                with self._sessions() as session:
                    queue.retry_later(session, report_id, reason[:500],
                                      timedelta(seconds=self.settings.retry_backoff_s))
