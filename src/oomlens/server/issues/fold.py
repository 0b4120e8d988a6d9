"""Folding a report's findings into the project's issues, by signature.

Each leak, library leak, big object and class cluster of a report carries a signature (the
analysis makes them: the leaking class and the app's own reference holding it, the big object's
class and holder, the cluster's class); a report without any but with a known OOM cause counts
for an issue of that cause, and one the agent took at a threshold (no error was thrown, so no
cause) for an issue of that threshold's trigger, of kind ``oom_cause`` all the same. An issue
keeps its first and last sighting, the finding of the report where it retained the most (its
representative trace), and one row per report it was seen in (version, device, bytes), from
which its counts, versions and median are recomputed in the same transaction
(``counters``).

An issue marked fixed in version X re-opens when a report of a later version shows it again (a
regression); reports of X or earlier do not re-open it (old installs keep crashing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from oomlens.analysis import signatures
from oomlens.analysis.trigger import DESCRIPTIONS
from oomlens.capture.sidecar import THRESHOLD_TRIGGERS
from oomlens.server.core.models import Issue, IssueReport, Report
from oomlens.server.core.vocabulary import FindingKind, IssueStatus
from oomlens.server.issues.counters import recompute
from oomlens.server.issues.owners import ProjectOwners
from oomlens.server.issues.versions import is_later

# the kind of each section's findings in the report document
SECTIONS = ((FindingKind.LEAK, "leaks"), (FindingKind.LIBRARY_LEAK, "library_leaks"),
            (FindingKind.BIG_OBJECT, "big_objects"), (FindingKind.CLASS_CLUSTER, "class_clusters"))
# an issue's kind -> the kind its signatures name (signatures.py; migration 0010)
SIGNATURE_KINDS = {FindingKind.LEAK: signatures.LEAK,
                   FindingKind.LIBRARY_LEAK: signatures.LIBRARY_LEAK,
                   FindingKind.BIG_OBJECT: signatures.BIG_OBJECT,
                   FindingKind.CLASS_CLUSTER: signatures.CLASS_CLUSTER,
                   FindingKind.OOM_CAUSE: signatures.OOM_CAUSE}


@dataclass
class Folded:
    """What folding one report did: every issue it counts for, and which of them it created or
    re-opened (what notifications are about)."""

    issue_ids: list[int] = field(default_factory=list)
    new: list[Issue] = field(default_factory=list)
    regressed: list[Issue] = field(default_factory=list)


@dataclass(frozen=True)
class Finding:
    kind: str
    signature: str
    title: str
    retained_bytes: int
    detail: dict


def _title(kind: str, item: dict) -> str:
    cls = item.get("class", "?")
    if kind == "leak":
        return f"{cls} leaked ({item.get('reason', '')})"
    if kind == "library_leak":
        pattern = (item.get("library_leak") or {}).get("pattern", "")
        return f"{cls} held by a known library leak ({pattern})"
    if kind == "big_object":
        return f"big {cls}" + (f" held by {item['holder']}" if item.get("holder") else "")
    return f"many {cls} instances"


def findings(document: dict) -> list[Finding]:
    """The findings ``document`` folds into, each under its versioned signature (a document
    older than versioned signatures holds bare scheme-1 digests: the same issues)."""
    found = [Finding(kind, signatures.versioned(item["signature"], SIGNATURE_KINDS[kind]),
                     _title(kind, item),
                     int(item.get("retained_bytes", 0)), item)
             for kind, section in SECTIONS for item in document.get(section) or []
             if item.get("signature")]
    if found:
        return found
    cause = document.get("oom_cause")
    capture = document.get("capture") or {}
    if capture.get("trigger") in THRESHOLD_TRIGGERS:  # the threshold, not a guessed error
        trigger = capture["trigger"]
        return [Finding(FindingKind.OOM_CAUSE, signatures.oom_cause_signature(trigger),
                        DESCRIPTIONS[trigger], 0, capture)]
    if cause and cause.get("kind") and cause["kind"] != "unknown":
        return [Finding(FindingKind.OOM_CAUSE, signatures.oom_cause_signature(cause["kind"]),
                        cause.get("summary") or cause["kind"], 0, cause)]
    return []


def fold(session: Session, report: Report, document: dict) -> Folded:
    """Add ``report``'s findings to its project's issues (no commit)."""
    folded = _add_findings(session, report, document)
    recompute(session, folded.issue_ids)
    return folded


def _add_findings(session: Session, report: Report, document: dict) -> Folded:
    seen = _aware(report.received_at) if report.received_at else datetime.now(UTC)
    folded = Folded()
    owners = ProjectOwners(session, report.project_id)  # parsed once, if an issue is new
    for f in findings(document):
        issue, created = _issue(session, report.project_id, f, seen, report.id, owners)
        if created:
            folded.new.append(issue)
        if f.retained_bytes > issue.representative_bytes:
            issue.representative_bytes = f.retained_bytes
            issue.representative_report_id = report.id
            issue.representative = json.dumps(f.detail)
        if issue.status == IssueStatus.FIXED \
                and is_later(report.app_version, issue.fixed_in_version):
            issue.status = IssueStatus.OPEN
            issue.regressed_at = datetime.now(UTC)
            folded.regressed.append(issue)
        if session.get(IssueReport, (issue.id, report.id)) is None:
            session.add(IssueReport(issue_id=issue.id, report_id=report.id,
                                    retained_bytes=f.retained_bytes,
                                    app_version=report.app_version,
                                    device_model=report.device_model, seen_at=seen))
        folded.issue_ids.append(issue.id)
    return folded


def refold(session: Session, report: Report, document: dict) -> Folded:
    """Fold ``report`` again after a new analysis (e.g. retraced with its version's mapping):
    what it counted for before is taken back first, and issues left with no report go (their
    signatures were the obfuscated names)."""
    before = set(session.scalars(select(IssueReport.issue_id)
                                 .where(IssueReport.report_id == report.id)))
    session.execute(delete(IssueReport).where(IssueReport.report_id == report.id))
    folded = _add_findings(session, report, document)
    recompute(session, before | set(folded.issue_ids))
    session.execute(delete(Issue).where(Issue.id.in_(before - set(folded.issue_ids)),
                                        Issue.reports == 0))
    _reelect_representatives(session, report.id, before | set(folded.issue_ids))
    return folded


def _reelect_representatives(session: Session, report_id: str, issue_ids: set[int]) -> None:
    """Issues whose representative finding came from ``report_id`` take it again from the
    report where they now retain the most: after a re-analysis that report may no longer count
    for them, or retain less than another one does (the page would link a report that is not
    among the issue's, or show a size no report has)."""
    stale = session.scalars(select(Issue).where(Issue.id.in_(issue_ids),
                                                Issue.representative_report_id == report_id))
    for issue in stale:
        best = session.execute(
            select(IssueReport.report_id, IssueReport.retained_bytes, Report.report_json)
            .join(Report, Report.id == IssueReport.report_id)
            .where(IssueReport.issue_id == issue.id)
            .order_by(IssueReport.retained_bytes.desc(), IssueReport.seen_at)
            .limit(1)).first()
        if best is None or best.report_json is None:
            continue  # no report left: the issue is being deleted
        for f in findings(json.loads(best.report_json)):
            if (f.kind, f.signature) == (issue.kind, issue.signature):
                issue.representative_report_id = best.report_id
                issue.representative_bytes = best.retained_bytes
                issue.representative = json.dumps(f.detail)
                break


def _issue(session: Session, project_id: int, f: Finding, seen: datetime,
           report_id: str, owners: ProjectOwners) -> tuple[Issue, bool]:
    """The project's issue for ``f``'s signature, and whether this call created it."""
    query = select(Issue).where(Issue.project_id == project_id, Issue.kind == f.kind,
                                Issue.signature == f.signature)
    issue = session.scalar(query)
    if issue is not None:
        return issue, False
    issue = Issue(project_id=project_id, kind=f.kind, signature=f.signature, title=f.title,
                  status=IssueStatus.OPEN, first_seen=seen, last_seen=seen,
                  representative_report_id=report_id, representative_bytes=f.retained_bytes,
                  representative=json.dumps(f.detail), owner=owners.owner(f.kind, f.detail))
    try:
        with session.begin_nested():  # another worker may create the same issue right now
            session.add(issue)
    except IntegrityError:
        return session.scalar(query), False
    return issue, True


def _aware(t: datetime) -> datetime:
    """SQLite gives back naive datetimes; everything here is UTC."""
    return t if t.tzinfo else t.replace(tzinfo=UTC)
