"""Celery mode: analyses run as tasks on ``oomlens worker`` processes, on any number of machines.

The database stays the record of what is to be done (``core.queue``); a task only carries the id of
the report a worker should try to claim. So the broker may lose a message (a Redis restart
without persistence), deliver one twice (a late acknowledgement after a crash) or be down when a
dump arrives, and still every accepted upload is analysed exactly once: the server's
``Dispatcher`` sends a task for every report that is due and has none in flight, and a worker
that cannot claim its report (another one has it, it is done) acknowledges and moves on.

Workers take one task per process at a time (prefetch 1) and acknowledge it only when it is
finished (late acknowledgement; a worker process lost mid-task gives it back). The analysis
itself runs in a child process under the memory ceiling and time limit (``sandbox``); the worker
renews the report's lease while it runs, so a worker killed mid-task leaves a lease that runs
out, and the report is sent to another worker.

A starting worker sweeps its scratch root (``core.scratch``) before it takes a task: what its killed
predecessor's analyses left there (a decompressed dump each) is removed, and a folder of a live
analysis of another worker sharing that root is not.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from celery import Celery, bootsteps
from sqlalchemy import and_, or_, select, update

from oomlens.server.core import db, queue, scratch
from oomlens.server.core.config import ServerSettings
from oomlens.server.core.models import Report
from oomlens.server.core.polling import PollingThread
from oomlens.server.jobs.sandbox import AnalysisProcess

TASK = "oomlens.analyse"
POLL_SECONDS = 0.5
BATCH = 100  # reports dispatched per round at most


def make_celery(settings: ServerSettings) -> Celery:
    """The Celery application for ``settings.broker_url``, with the analysis task."""
    app = Celery("oomlens", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=settings.broker_queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # the child's own clock stops the analysis first; this catches a stuck worker
        task_time_limit=settings.analysis_time_limit_s + 120,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        # unacknowledged messages return to the queue after this (Redis transport)
        broker_transport_options={"visibility_timeout": max(3600,
                                                           2 * settings.analysis_time_limit_s)},
        worker_hijack_root_logger=False,
    )

    @app.task(name=TASK)
    def analyse(report_id: str) -> str:
        return run_task(settings, report_id)

    class SweepScratch(bootsteps.Step):
        """Runs in the worker's main process as it is set up, before its pool starts."""

        def __init__(self, worker, **kwargs):
            super().__init__(worker, **kwargs)
            scratch.sweep_at_start(settings.scratch_dir, "oomlens worker")

    app.steps["worker"].add(SweepScratch)
    return app


def run_task(settings: ServerSettings, report_id: str) -> str:
    """Claim report ``report_id`` and analyse it in a child process, renewing the lease while
    it runs; a broken analysis goes back to the queue with a backoff. Returns what happened."""
    lease = timedelta(seconds=settings.lease_seconds)
    renew_every = max(1.0, settings.lease_seconds / 3)
    engine = db.make_engine(settings.database_url)
    sessions = db.sessions(engine)
    try:
        with sessions() as session:
            if not queue.claim(session, report_id, lease, settings.max_attempts):
                return "not claimed"
        child = AnalysisProcess(settings, report_id)
        renewed = time.monotonic()
        try:
            while (outcome := child.finished()) is None:
                time.sleep(POLL_SECONDS)
                if time.monotonic() - renewed >= renew_every:
                    with sessions() as session:
                        queue.renew(session, [report_id], lease)
                    renewed = time.monotonic()
        finally:
            child.kill()  # only does something when we leave by an exception
        succeeded, reason = outcome
        if succeeded:
            return "analysed"
        with sessions() as session:
            queue.retry_later(session, report_id, reason[:500],
                              timedelta(seconds=settings.retry_backoff_s))
        return f"retry: {reason[:200]}"
    finally:
        engine.dispose()


def _due(now: datetime, redispatch: timedelta):
    """Reports that need a task: due ones never sent (or sent so long ago that the broker may
    have lost it), and ones whose worker stopped renewing the lease since it was sent."""
    return or_(
        and_(queue.waiting(now),
             or_(Report.dispatched_at.is_(None), Report.dispatched_at < now - redispatch)),
        and_(queue.abandoned(now),
             or_(Report.dispatched_at.is_(None), Report.dispatched_at < Report.lease_until)))


class Dispatcher(PollingThread):
    """A thread in the server that sends a task for every report that is due (see ``_due``).

    Each report is marked sent by a conditional UPDATE before its message goes out, so two
    servers never both send it; a send that fails (broker down) unmarks it for the next round.
    """

    name = "oomlens dispatcher"

    def __init__(self, settings: ServerSettings):
        super().__init__()
        self.settings = settings
        self.redispatch = timedelta(seconds=settings.redispatch_s)
        self._celery = make_celery(settings)
        self._engine = db.make_engine(settings.database_url)
        self._sessions = db.sessions(self._engine)

    def close(self) -> None:
        self._engine.dispose()

    def poll_once(self) -> None:
        self.dispatch_due()

    def dispatch_due(self) -> int:
        sent = 0
        with self._sessions() as session:
            now = datetime.now(UTC)
            due = session.scalars(select(Report.id).where(_due(now, self.redispatch))
                                  .order_by(Report.received_at).limit(BATCH)).all()
            for report_id in due:
                marked = session.execute(
                    update(Report).where(Report.id == report_id, _due(now, self.redispatch))
                    .values(dispatched_at=now)
                    .execution_options(synchronize_session=False)).rowcount
                session.commit()
                if not marked:
                    continue  # another server sent it
                try:
                    self._celery.send_task(TASK, args=[report_id],
                                           queue=self.settings.broker_queue)
                except Exception:
                    session.execute(update(Report).where(Report.id == report_id)
                                    .values(dispatched_at=None)
                                    .execution_options(synchronize_session=False))
                    session.commit()
                    raise
                sent += 1
        return sent
