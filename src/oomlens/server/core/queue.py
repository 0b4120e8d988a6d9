"""The durable job queue over the ``reports`` table: claim, finish, fail, retry, give up.

The database, not a broker, is the record of what is left to do: the embedded runner claims
reports straight from it, and in Celery mode a task only names the report its worker should try
to claim (so a lost or duplicated message loses or duplicates nothing).

A runner claims a ``queued`` report whose backoff has passed (or a ``running`` one whose lease
has expired: its runner died, since a live runner renews the leases of its jobs every few
seconds) by an UPDATE that only succeeds if nobody else claimed it first, which works the same on
SQLite and PostgreSQL. Each claim counts an attempt; a report claimed more than ``max_attempts``
times is ``dead``. A broken analysis (crash, time or memory limit) is retried after a backoff
that doubles with each attempt. A report whose dump is bad (not an HPROF, corrupt, too big once
decompressed) is ``failed`` at once with the reason: retrying would not change the bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from oomlens.server.core.models import Report
from oomlens.server.core.vocabulary import ReportStatus


MAX_BACKOFF = timedelta(hours=1)


def waiting(now: datetime):
    """Queued and past its backoff."""
    return (Report.status == ReportStatus.QUEUED) & or_(Report.not_before.is_(None),
                                                        Report.not_before <= now)


def abandoned(now: datetime):
    """Claimed by a runner that stopped renewing its lease."""
    return (Report.status == ReportStatus.RUNNING) & (Report.lease_until < now)


def claimable(now: datetime):
    return or_(waiting(now), abandoned(now))


def claim_next(session: Session, lease: timedelta, max_attempts: int) -> str | None:
    """The id of a report this runner now owns (state running, leased), or None."""
    while True:
        candidate = session.scalar(select(Report.id).where(claimable(datetime.now(UTC)))
                                   .order_by(Report.received_at).limit(1))
        if candidate is None:
            return None
        if claim(session, candidate, lease, max_attempts):
            return candidate


def claim(session: Session, report_id: str, lease: timedelta, max_attempts: int) -> bool:
    """Whether this runner now owns report ``report_id``: False when another runner was quicker,
    the report is not claimable (done, leased, backing off) or it has just been declared dead."""
    now = datetime.now(UTC)
    claimed = session.execute(
        update(Report).where(Report.id == report_id, claimable(now))
        .values(status=ReportStatus.RUNNING, lease_until=now + lease, attempts=Report.attempts + 1)
        # the row is refreshed below; SQLite's naive datetimes cannot be compared in Python
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    if not claimed:
        return False
    report = session.get(Report, report_id)
    session.refresh(report)
    if report.attempts > max_attempts:
        report.status = ReportStatus.DEAD
        report.lease_until = None
        report.error = (f"gave up after {max_attempts} attempts"
                        + (f"; last: {report.error}" if report.error else ""))
        session.commit()
        return False
    return True


def renew(session: Session, report_ids: list[str], lease: timedelta) -> None:
    """Extend the leases of jobs this runner is still working on (its heartbeat)."""
    if report_ids:
        session.execute(update(Report).where(Report.id.in_(report_ids),
                                             Report.status == ReportStatus.RUNNING)
                        .values(lease_until=datetime.now(UTC) + lease))
        session.commit()


def finish(session: Session, report_id: str, report_json: str, oom_cause: str,
           commit: bool = True) -> None:
    """The report is analysed (without ``commit``, the caller commits it together with what
    else it wrote, e.g. the findings folded into issues)."""
    session.execute(update(Report).where(Report.id == report_id).values(
        status=ReportStatus.DONE, report_json=report_json, oom_cause=oom_cause, error="",
        analysed_at=datetime.now(UTC), lease_until=None))
    if commit:
        session.commit()


def fail(session: Session, report_id: str, reason: str) -> None:
    """The dump cannot be analysed (bad input): final, with the reason shown to users."""
    session.execute(update(Report).where(Report.id == report_id).values(
        status=ReportStatus.FAILED, error=reason, analysed_at=datetime.now(UTC), lease_until=None))
    session.commit()


def retry_later(session: Session, report_id: str, reason: str, backoff: timedelta) -> None:
    """The analysis broke (crash, time or memory limit): back in the queue with the reason,
    claimable again after ``backoff`` doubled for each attempt so far (at most an hour): a
    crash caused by the machine (another process's memory, a restart) gets time to pass."""
    attempts = session.scalar(select(Report.attempts).where(Report.id == report_id)) or 1
    delay = min(backoff * 2 ** (attempts - 1), MAX_BACKOFF)
    session.execute(update(Report).where(Report.id == report_id).values(
        status=ReportStatus.QUEUED, error=reason, lease_until=None, dispatched_at=None,
        not_before=datetime.now(UTC) + delay))
    session.commit()


def requeue(session: Session, *where) -> int:
    """Queue the matching reports for a new analysis from scratch (attempts reset), e.g. when
    their version's mapping arrives; no commit. Returns how many."""
    return session.execute(update(Report).where(*where).values(
        status=ReportStatus.QUEUED, attempts=0, lease_until=None, not_before=None,
        dispatched_at=None)
    ).rowcount
