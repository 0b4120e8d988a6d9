"""What an issue's reports add up to, kept on the issue's row: reports, distinct devices, total
and median retained bytes, app versions, first and last seen; and its reports per UTC day (the
``issue_days`` rows that sparklines read).

Lists of ten thousand issues filter, sort and page in SQL only if these numbers are columns; so
folding a report recomputes them for the issues it touched, in the same transaction, from
``issue_reports`` with SQL aggregates: the rows never travel to Python, only one line of numbers
per issue does. Recomputing rather than adding keeps them exact when a re-fold takes a report
back (``fold.refold``).

The median is exact: the mean of the two middle sizes, rounded down to a whole byte, for an even
number of reports (the middle one for an odd number), as ``int(statistics.median(sizes))``. The
database numbers each issue's sizes in order with a window function that reads the index on
``issue_id, retained_bytes, ...`` in its order (SQLite's plan has no sort step), and keeps the
one or two middle rows. Every query here reads that one index, which holds all the columns they
need: a fold costs O(reports of the issues it touched) index entries, ~25,000 for the busiest
issue of the benchmark (bench/issues_page.py prints the time).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterator

from sqlalchemy import delete, distinct, func, insert, select, update
from sqlalchemy.orm import Session

from oomlens.server.core.models import Issue, IssueDay, IssueReport
from oomlens.server.issues.trends import utc_day

CHUNK = 500  # issue ids per IN (...), under every database's limit on parameters


def recompute(session: Session, issue_ids: Collection[int]) -> None:
    """Set the aggregates of ``issue_ids`` from their ``issue_reports`` rows (no commit).
    Issues without any row get zeros and no day; the caller deletes those it no longer wants."""
    for chunk in _chunks(sorted(set(issue_ids))):
        _replace_days(session, chunk)
        totals = _totals(session, chunk)
        medians = _medians(session, chunk)
        versions = _versions(session, chunk)
        rows = []
        for issue_id in chunk:
            reports, devices, total, first, last = totals.get(issue_id, (0, 0, 0, None, None))
            listed = versions.get(issue_id, [])
            row = {"id": issue_id, "reports": reports, "devices": devices,
                   "total_retained_bytes": total or 0,
                   "median_retained_bytes": medians.get(issue_id, 0),
                   "versions": json.dumps(listed), "version_count": len(listed)}
            if first is not None:  # an issue keeps its dates while it has no report
                row.update(first_seen=first, last_seen=last)
            rows.append(row)
        _write(session, rows)


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _totals(session: Session, ids: list[int]) -> dict[int, tuple]:
    query = (select(IssueReport.issue_id, func.count(), func.count(distinct(
                 IssueReport.device_model)), func.sum(IssueReport.retained_bytes),
                    func.min(IssueReport.seen_at), func.max(IssueReport.seen_at))
             .where(IssueReport.issue_id.in_(ids)).group_by(IssueReport.issue_id))
    return {issue_id: tuple(rest) for issue_id, *rest in session.execute(query)}


def _medians(session: Session, ids: list[int]) -> dict[int, int]:
    """Per issue: (lower middle + upper middle) // 2, the two being one row for an odd count."""
    in_order = {"partition_by": IssueReport.issue_id, "order_by": IssueReport.retained_bytes}
    ranked = (select(IssueReport.issue_id, IssueReport.retained_bytes,
                     func.row_number().over(**in_order).label("rank"),
                     # the same window over all the issue's rows: one pass in index order
                     func.count().over(**in_order, rows=(None, None)).label("n"))
              .where(IssueReport.issue_id.in_(ids)).subquery())
    middle = ((ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2)
    query = (select(ranked.c.issue_id, func.min(ranked.c.retained_bytes),
                    func.max(ranked.c.retained_bytes))
             .where(ranked.c.rank.in_(middle)).group_by(ranked.c.issue_id))
    return {issue_id: (low + high) // 2 for issue_id, low, high in session.execute(query)}


def _versions(session: Session, ids: list[int]) -> dict[int, list[str]]:
    """The distinct app versions of each issue, in text order (readers order them by
    ``versions.version_key``: 1.9 before 1.10)."""
    found: dict[int, list[str]] = defaultdict(list)
    query = (select(IssueReport.issue_id, IssueReport.app_version).distinct()
             .where(IssueReport.issue_id.in_(ids)))
    for issue_id, version in session.execute(query):
        found[issue_id].append(version)
    return {issue_id: sorted(listed) for issue_id, listed in found.items()}


def _replace_days(session: Session, ids: list[int]) -> None:
    session.execute(delete(IssueDay).where(IssueDay.issue_id.in_(ids)))
    day = utc_day(IssueReport.seen_at)
    session.execute(insert(IssueDay).from_select(
        ["issue_id", "day", "reports"],
        select(IssueReport.issue_id, day, func.count()).where(IssueReport.issue_id.in_(ids))
        .group_by(IssueReport.issue_id, day)))


def _write(session: Session, rows: list[dict]) -> None:
    """One UPDATE per issue, sent as one batch; issues loaded in the session forget the old
    values (fold holds them), so they read the new ones."""
    if not rows:
        return
    session.execute(update(Issue), rows)
    for row in rows:
        loaded = session.identity_map.get(session.identity_key(Issue, row["id"]))
        if loaded is not None:
            session.expire(loaded, [key for key in row if key != "id"])
