"""Events into the outbox, in the caller's transaction.

``record_fold`` runs right after a report is folded into issues, before the commit that marks the
report done: the events of the fold and the fold itself are committed together or not at all. A
report folded again (a job redone, or re-analysed once its version's mapping arrives) notifies
nothing about the issues it already counted for (``counted_for``, asked before the re-fold): it
was news the first time. Issues that a re-fold creates under real names in place of obfuscated
ones are new issues, and notified as such.

Each event is one outbox row per active webhook subscribed to it; its payload is a snapshot of
the issue at that moment (the generic JSON document; ``payloads`` shapes it per format when
sending).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oomlens.server.core.models import (NEW_ISSUE, REGRESSION, SPIKE, TEST, Issue, IssueReport,
                                        Notification, Project, Report, Webhook)
from oomlens.server.core.vocabulary import DeliveryState
from oomlens.server.issues.fold import Folded
from oomlens.server.notify import spikes


def active_webhooks(session: Session, project_id: int) -> list[Webhook]:
    return list(session.scalars(select(Webhook).where(Webhook.project_id == project_id,
                                                      Webhook.revoked_at.is_(None))))


def subscribed(webhook: Webhook, event: str) -> bool:
    return event in webhook.events.split(",")


def counted_for(session: Session, report: Report) -> set[int]:
    """The issues ``report`` counts for so far (none if it was never folded)."""
    return set(session.scalars(select(IssueReport.issue_id)
                               .where(IssueReport.report_id == report.id)))


def record_fold(session: Session, report: Report, folded: Folded, counted_before: set[int],
                now: datetime | None = None) -> list[Notification]:
    """Queue the notifications of ``report``'s fold (no commit); ``counted_before``: the
    issues it counted for before this fold (``counted_for``), which it does not notify again."""
    hooks = active_webhooks(session, report.project_id)
    if not hooks:
        return []
    now = now or datetime.now(UTC)
    events = [(NEW_ISSUE, issue, {}) for issue in folded.new]
    events += [(REGRESSION, issue, {}) for issue in folded.regressed
               if issue.id not in counted_before]
    if any(subscribed(h, SPIKE) for h in hooks):
        seen = _utc(report.received_at) if report.received_at else now
        for issue in _issues(session, set(folded.issue_ids) - counted_before):
            recent = spikes.spiking(session, issue, seen, now)
            if recent is not None:
                events.append((SPIKE, issue, {"spike": {"reports_last_hour": recent}}))
    project = session.get(Project, report.project_id)
    queued = []
    for event, issue, extra in events:
        doc = {**document(session, event, project, issue), **extra, "report_id": report.id}
        queued += queue(session, [h for h in hooks if subscribed(h, event)], event, doc,
                        now, issue_id=issue.id, report_id=report.id)
    return queued


def record_test(session: Session, webhook: Webhook) -> Notification:
    """A ``test`` event for ``webhook`` alone, whatever it subscribes to (no commit)."""
    project = session.get(Project, webhook.project_id)
    return queue(session, [webhook], TEST, document(session, TEST, project, None),
                 datetime.now(UTC))[0]


def queue(session: Session, hooks: list[Webhook], event: str, doc: dict, now: datetime,
          issue_id: int | None = None, report_id: str | None = None) -> list[Notification]:
    rows = [Notification(webhook_id=h.id, event=event, issue_id=issue_id, report_id=report_id,
                         payload=json.dumps(doc), state=DeliveryState.PENDING, attempts=0,
                         next_attempt_at=now, last_error="", created_at=now) for h in hooks]
    session.add_all(rows)
    session.flush()  # their ids are the delivery ids
    return rows


def document(session: Session, event: str, project: Project, issue: Issue | None) -> dict:
    """The generic JSON body of an event (``sent_at`` is added when it is sent)."""
    return {"event": event, "project": project.slug,
            "issue": None if issue is None else _issue(session, issue)}


def _issue(session: Session, issue: Issue) -> dict:
    reports = session.scalar(select(func.count()).select_from(IssueReport)
                             .where(IssueReport.issue_id == issue.id))
    return {"id": issue.id, "kind": issue.kind, "title": issue.title,
            "signature": issue.signature, "status": issue.status, "owner": issue.owner or "",
            "fixed_in_version": issue.fixed_in_version or None, "reports": reports,
            "first_seen": _utc(issue.first_seen).isoformat(),
            "last_seen": _utc(issue.last_seen).isoformat(),
            "path": f"/api/v1/issues/{issue.id}"}


def _issues(session: Session, ids: set[int]) -> list[Issue]:
    return [session.get(Issue, i) for i in sorted(ids)]


def _utc(t: datetime) -> datetime:
    """SQLite gives back naive datetimes; everything here is UTC."""
    return t if t.tzinfo else t.replace(tzinfo=UTC)
