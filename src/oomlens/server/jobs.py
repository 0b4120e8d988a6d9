"""The durable job queue over the ``reports`` table: claim, finish, fail, give up.

A runner claims the oldest ``queued`` report (or a ``running`` one whose lease has expired: its
runner died, since a live runner renews the leases of its jobs every few seconds) by an UPDATE that only succeeds if nobody else claimed it first, which works the
same on SQLite and PostgreSQL. Each claim counts an attempt; a report claimed more than
``max_attempts`` times is ``dead``. A report whose dump is bad (not an HPROF, corrupt, too big
once decompressed) is ``failed`` at once with the reason: retrying would not change the bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from oomlens.server.models import DEAD, DONE, FAILED, QUEUED, RUNNING, Report


def _claimable(now: datetime):
    return or_(Report.status == QUEUED,
               (Report.status == RUNNING) & (Report.lease_until < now))


def claim_next(session: Session, lease: timedelta, max_attempts: int) -> str | None:
    """The id of a report this runner now owns (state running, leased), or None."""
    while True:
        now = datetime.now(UTC)
        candidate = session.scalar(select(Report.id).where(_claimable(now))
                                   .order_by(Report.received_at).limit(1))
        if candidate is None:
            return None
        claimed = session.execute(
            update(Report).where(Report.id == candidate, _claimable(now))
            .values(status=RUNNING, lease_until=now + lease, attempts=Report.attempts + 1)
        ).rowcount
        session.commit()
        if not claimed:
            continue  # another runner was quicker: look again
        report = session.get(Report, candidate)
        session.refresh(report)
        if report.attempts > max_attempts:
            report.status = DEAD
            report.lease_until = None
            report.error = (f"gave up after {max_attempts} attempts"
                            + (f"; last: {report.error}" if report.error else ""))
            session.commit()
            continue
        return candidate


def renew(session: Session, report_ids: list[str], lease: timedelta) -> None:
    """Extend the leases of jobs this runner is still working on (its heartbeat)."""
    if report_ids:
        session.execute(update(Report).where(Report.id.in_(report_ids), Report.status == RUNNING)
                        .values(lease_until=datetime.now(UTC) + lease))
        session.commit()


def finish(session: Session, report_id: str, report_json: str, oom_cause: str,
           commit: bool = True) -> None:
    """The report is analysed (without ``commit``, the caller commits it together with what
    else it wrote, e.g. the findings folded into issues)."""
    session.execute(update(Report).where(Report.id == report_id).values(
        status=DONE, report_json=report_json, oom_cause=oom_cause, error="",
        analysed_at=datetime.now(UTC), lease_until=None))
    if commit:
        session.commit()


def fail(session: Session, report_id: str, reason: str) -> None:
    """The dump cannot be analysed (bad input): final, with the reason shown to users."""
    session.execute(update(Report).where(Report.id == report_id).values(
        status=FAILED, error=reason, analysed_at=datetime.now(UTC), lease_until=None))
    session.commit()


def retry_later(session: Session, report_id: str, reason: str) -> None:
    """The analysis broke (crash, time or memory limit): back in the queue, reason kept."""
    session.execute(update(Report).where(Report.id == report_id).values(
        status=QUEUED, error=reason, lease_until=None))
    session.commit()
