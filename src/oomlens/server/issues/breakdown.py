"""Where an issue was seen and how much it held: its reports counted by app version, device
model, OS level and the capture's trigger, and the spread of the bytes it retained across them.

The counts are ``GROUP BY``s in the database (an issue seen a million times must not send a
million rows to count); the OS and the trigger only the report row keeps, so those counts join
``reports``. The
spread needs every size, but only that one column.
"""

from __future__ import annotations

import math

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oomlens.server.core.models import IssueReport, Report
from oomlens.server.issues.versions import version_key

MAX_BINS = 12


def breakdown(session: Session, issue_id: int) -> dict:
    """``{"versions", "devices", "os_levels", "triggers", "retained_histogram"}`` of one
    issue."""
    return {"versions": by_version(session, issue_id),
            "devices": by_device(session, issue_id),
            "os_levels": by_os_level(session, issue_id),
            "triggers": by_trigger(session, issue_id),
            "retained_histogram": retained_histogram(session.scalars(
                select(IssueReport.retained_bytes).where(IssueReport.issue_id == issue_id)))}


def by_version(session: Session, issue_id: int) -> list[dict]:
    """Reports per app version, oldest version first (1.9 before 1.10), as a chart reads."""
    rows = session.execute(select(IssueReport.app_version, func.count())
                           .where(IssueReport.issue_id == issue_id)
                           .group_by(IssueReport.app_version)).all()
    return [{"version": version, "reports": count}
            for version, count in sorted(rows, key=lambda row: version_key(row[0]))]


def by_device(session: Session, issue_id: int) -> list[dict]:
    """Reports per device model, most first."""
    rows = session.execute(select(IssueReport.device_model, func.count())
                           .where(IssueReport.issue_id == issue_id)
                           .group_by(IssueReport.device_model)).all()
    return [{"device_model": model, "reports": count}
            for model, count in sorted(rows, key=lambda row: (-row[1], row[0]))]


def by_os_level(session: Session, issue_id: int) -> list[dict]:
    """Reports per (OS version, API level) as the apps sent them, most first; ties newest
    API level first."""
    rows = session.execute(select(Report.os_version, Report.api_level, func.count())
                           .join(IssueReport, IssueReport.report_id == Report.id)
                           .where(IssueReport.issue_id == issue_id)
                           .group_by(Report.os_version, Report.api_level)).all()
    rows = sorted(rows, key=lambda row: (-row[2], -(row[1] or -1), row[0]))
    return [{"os_version": os_version, "api_level": api_level, "reports": count}
            for os_version, api_level, count in rows]


def by_trigger(session: Session, issue_id: int) -> list[dict]:
    """Reports per capture trigger (an OutOfMemoryError, or which threshold the agent saw
    crossed; '' for an upload that named none), most first: whether a problem is caught before
    it crashes the app."""
    rows = session.execute(select(Report.trigger, func.count())
                           .join(IssueReport, IssueReport.report_id == Report.id)
                           .where(IssueReport.issue_id == issue_id)
                           .group_by(Report.trigger)).all()
    return [{"trigger": trigger, "reports": count}
            for trigger, count in sorted(rows, key=lambda row: (-row[1], row[0]))]


def retained_histogram(sizes) -> list[dict]:
    """Equal-width bins from the smallest to the largest size: ``[{"from", "to", "reports"}]``,
    both bounds included (whole bytes, so that no report falls between two bins). As many bins
    as Sturges' rule gives, at most MAX_BINS, never more than there are distinct sizes: one
    size seen ten times is one bar, not ten empty ones around it."""
    sizes = sorted(sizes)
    if not sizes:
        return []
    low, high = sizes[0], sizes[-1]
    bins = min(MAX_BINS, len(set(sizes)), math.ceil(math.log2(len(sizes))) + 1)
    width = math.ceil((high - low + 1) / bins)
    bins = math.ceil((high - low + 1) / width)  # rounding the width up may leave one spare
    counts = [0] * bins
    for size in sizes:
        counts[(size - low) // width] += 1
    return [{"from": low + i * width, "to": min(high, low + (i + 1) * width - 1),
             "reports": count} for i, count in enumerate(counts)]
