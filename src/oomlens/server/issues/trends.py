"""Reports per day, for the sparklines next to each issue.

The counts are the ``issue_days`` rows (issue, UTC day of the report's arrival, reports), which
folding keeps with the issue's other aggregates (``counters``, one ``GROUP BY`` over the
issue's ``issue_reports``): a trend reads at most one row per day, so an issue seen a million
times costs a page of sparklines no more than one seen once. Days are UTC days on every
database: SQLite keeps the UTC wall time as text (its ``date()`` is the day), PostgreSQL keeps an
instant, which is turned to UTC before the cast (its own ``date()`` would use the connection's
time zone).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Date, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement

from oomlens.server.core.models import IssueDay

MAX_DAYS = 365


class utc_day(FunctionElement):  # noqa: N801 (a SQL function, named like one)
    """The UTC calendar day of a timestamp column."""

    type = Date()
    inherit_cache = True


@compiles(utc_day)
def _utc_day_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element, compiler, **kw):
    return f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) AS DATE)"


def window(days: int, today: date | None = None) -> tuple[date, datetime]:
    """The first day of the last ``days`` UTC days (today included), and its midnight."""
    first = (today or datetime.now(UTC).date()) - timedelta(days=days - 1)
    return first, datetime.combine(first, time(), UTC)


def reports_per_day(session: Session, issue_ids: Collection[int], days: int,
                    today: date | None = None) -> dict[int, dict]:
    """For each issue: ``{"from": first day, "to": today, "reports_per_day": [n, ...]}``, one
    count per day, oldest first, days without reports as 0."""
    first, _ = window(days, today)
    trends = {i: [0] * days for i in issue_ids}
    if issue_ids:
        query = (select(IssueDay.issue_id, IssueDay.day, IssueDay.reports)
                 .where(IssueDay.issue_id.in_(trends), IssueDay.day >= first))
        for issue_id, when, count in session.execute(query):
            offset = (when - first).days
            if 0 <= offset < days:  # a report stamped in the future (clock skew) is left out
                trends[issue_id][offset] = count
    last = (first + timedelta(days=days - 1)).isoformat()
    return {i: {"from": first.isoformat(), "to": last, "reports_per_day": counts}
            for i, counts in trends.items()}
