"""The overview page: how a project's OOMs are going, at a glance. Reports per day by OOM cause
over the last month, the issues with the most reports and the most retained bytes, the newest
regressions, and the analysis queue, with the reports that failed or died and why (the dead
letters an operator has to look at: they never turn into issues on their own).

Every number is counted by the database (``GROUP BY``, or the counts kept on each issue's row):
the page reads a few dozen rows, never the reports themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from fastapi import APIRouter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oomlens.server.core.deps import SessionDep
from oomlens.server.core.models import Issue, Report
from oomlens.server.core.vocabulary import IssueStatus, ReportStatus
from oomlens.server.issues.trends import utc_day, window
from oomlens.server.web.render import page
from oomlens.server.web.sessions import ViewerDep

router = APIRouter(include_in_schema=False)

CAUSE_DAYS = 30
TOP_ISSUES = 10
REGRESSIONS = 10
PROBLEM_REPORTS = 20


@dataclass(frozen=True)
class CausesPerDay:
    """Reports per UTC day (by arrival) for each OOM cause, oldest day first."""

    days: list[str]  # ISO dates
    counts: dict[str, list[int]]  # cause -> one count per day; the most frequent cause first

    def data(self) -> dict:
        """What the chart script gets (as JSON through ``|tojson``)."""
        return {"days": self.days,
                "series": [{"cause": cause, "counts": n} for cause, n in self.counts.items()]}

    @property
    def rows(self) -> list[tuple[str, list[int], int]]:
        """The table's rows, newest day first: (day, count per cause, total), days with
        reports only."""
        rows = []
        for i, day in enumerate(self.days):
            per_cause = [n[i] for n in self.counts.values()]
            if any(per_cause):
                rows.append((day, per_cause, sum(per_cause)))
        return rows[::-1]

    def summary(self) -> str:
        """The chart in words, for screen readers."""
        if not self.counts:
            return f"No analysed reports in the last {len(self.days)} days."
        totals = "; ".join(f"{cause}: {sum(n)}" for cause, n in self.counts.items())
        return f"Reports in the last {len(self.days)} days by OOM cause: {totals}."


def causes_per_day(session: Session, project_id: int, days: int = CAUSE_DAYS,
                   today: date | None = None) -> CausesPerDay:
    """The analysed reports (those with a cause) received in the last ``days`` UTC days."""
    first, start = window(days, today)
    day = utc_day(Report.received_at)
    query = (select(day, Report.oom_cause, func.count())
             .where(Report.project_id == project_id, Report.oom_cause != "",
                    Report.received_at >= start)
             .group_by(day, Report.oom_cause))
    counts: dict[str, list[int]] = {}
    for when, cause, count in session.execute(query):
        offset = (date.fromisoformat(str(when)[:10]) - first).days
        if 0 <= offset < days:  # a report stamped in the future (clock skew) is left out
            counts.setdefault(cause, [0] * days)[offset] = count
    ordered = sorted(counts.items(), key=lambda item: (-sum(item[1]), item[0]))
    return CausesPerDay([(first + timedelta(days=i)).isoformat() for i in range(days)],
                        dict(ordered))


def top_issues(session: Session, project_id: int, by: str, limit: int = TOP_ISSUES) -> list:
    """The issues (ignored ones left out) with the most reports (``by="reports"``) or the most
    bytes retained over all their reports (``by="retained"``), by the counts kept on each
    issue's row (``issues.counters``), which the issues list shows too."""
    first, then = (Issue.reports, Issue.total_retained_bytes) if by == "reports" else \
        (Issue.total_retained_bytes, Issue.reports)
    return list(session.scalars(select(Issue).where(Issue.project_id == project_id,
                                                    Issue.status != IssueStatus.IGNORED)
                                .order_by(first.desc(), then.desc(), Issue.id).limit(limit)))


def newest_regressions(session: Session, project_id: int, limit: int = REGRESSIONS) -> list:
    """Issues that came back after being marked fixed, the latest comeback first."""
    return list(session.scalars(select(Issue).where(Issue.project_id == project_id,
                                                    Issue.regressed_at.is_not(None))
                                .order_by(Issue.regressed_at.desc(), Issue.id.desc())
                                .limit(limit)))


def job_states(session: Session, project_id: int) -> dict[str, int]:
    """How many of the project's reports are in each state (every state, zeros too)."""
    counted = dict(session.execute(select(Report.status, func.count())
                                   .where(Report.project_id == project_id)
                                   .group_by(Report.status)).all())
    return {state: counted.get(state, 0) for state in ReportStatus}


def problem_reports(session: Session, project_id: int, limit: int = PROBLEM_REPORTS) -> list:
    """The newest reports that failed (a bad dump) or died (analysis kept breaking)."""
    ended = (ReportStatus.FAILED, ReportStatus.DEAD)
    return list(session.scalars(select(Report).where(Report.project_id == project_id,
                                                     Report.status.in_(ended))
                                .order_by(Report.received_at.desc(), Report.id.desc())
                                .limit(limit)))


@router.get("/overview")
def overview_page(v: ViewerDep, s: SessionDep):
    states = job_states(s, v.project_id)
    return page("overview.html", viewer=v, section="overview",
                causes=causes_per_day(s, v.project_id),
                by_reports=top_issues(s, v.project_id, "reports"),
                by_retained=top_issues(s, v.project_id, "retained"),
                regressions=newest_regressions(s, v.project_id), states=states,
                problems=problem_reports(s, v.project_id),
                problem_total=states[ReportStatus.FAILED] + states[ReportStatus.DEAD])
