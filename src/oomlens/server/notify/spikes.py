"""The spike rule: when an issue's reports suddenly come much faster than they used to.

An issue spikes when its reports received in the last hour number at least
``max(FLOOR, FACTOR x its average per hour over the 7 days before that hour)``: five reports in
an hour for an issue that was quiet, or three times its usual rate for one that never is. Reports
count by when they were received, not when they were analysed, so a backlog drained at once or
reports re-analysed after a mapping arrives do not make a spike. A spike is notified at most once
per issue a day (``issues.spike_notified_at``, claimed by a conditional UPDATE so two workers
folding reports of one issue at once notify it once); ignored issues never spike.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from oomlens.server.core.models import Issue, IssueReport
from oomlens.server.core.vocabulary import IssueStatus

WINDOW = timedelta(hours=1)
BASELINE = timedelta(days=7)  # the span before the window that sets the usual rate
FLOOR = 5
FACTOR = 3
QUIET = timedelta(days=1)  # at most one spike notification per issue in this span


def threshold(baseline_reports: int) -> float:
    """How many reports in the window make a spike, given the issue's reports in the
    baseline span before it."""
    return max(FLOOR, FACTOR * baseline_reports / (BASELINE / WINDOW))


def recent_and_baseline(session: Session, issue_id: int, now: datetime) -> tuple[int, int]:
    """The issue's reports received in the window ending ``now``, and in the baseline before."""
    start = now - WINDOW

    def count(since: datetime, until: datetime) -> int:
        return session.scalar(select(func.count()).select_from(IssueReport).where(
            IssueReport.issue_id == issue_id, IssueReport.seen_at >= since,
            IssueReport.seen_at <= until)) or 0

    return count(start, now), count(start - BASELINE, start)


def spiking(session: Session, issue: Issue, seen: datetime, now: datetime) -> int | None:
    """If a report of ``issue`` received at ``seen`` makes it spike now, and no spike of it was
    notified in the last day: the reports of the window (and the spike is claimed, in the
    caller's transaction). None otherwise."""
    if issue.status == IssueStatus.IGNORED or seen < now - WINDOW:
        return None
    recent, baseline = recent_and_baseline(session, issue.id, now)
    if recent < threshold(baseline):
        return None
    claimed = session.execute(
        update(Issue).where(Issue.id == issue.id, or_(Issue.spike_notified_at.is_(None),
                                                      Issue.spike_notified_at < now - QUIET))
        .values(spike_notified_at=now).execution_options(synchronize_session=False)).rowcount
    return recent if claimed else None
