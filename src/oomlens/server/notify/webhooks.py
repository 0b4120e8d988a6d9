"""A project's webhooks as people manage them: checked and created, deleted, and their recent
deliveries (a test event is ``outbox.record_test``). The JSON API (``api/webhooks``) and the
settings page both go through here, so a webhook refused by one is refused by the other with the
same words.

Nothing here commits: the caller does, once what it asked for is all done.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from oomlens.errors import OomlensError
from oomlens.server.core.models import WEBHOOK_EVENTS, WEBHOOK_FORMATS, Notification, Webhook
from oomlens.server.core.vocabulary import DeliveryState
from oomlens.server.notify import outbox
from oomlens.server.notify.delivery import DELETED

MAX_URL = 2000
SECRET_CHARS = (8, 200)
MAX_DELIVERIES = 500


class WebhookRejected(OomlensError):
    """A webhook that cannot be made as asked; the message names the field and why."""


def _checked_url(url: str) -> str:
    url = url.strip()
    if not url or len(url) > MAX_URL:
        raise WebhookRejected(f"url: 1-{MAX_URL} characters")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise WebhookRejected(f"url: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise WebhookRejected("url: an http:// or https:// address is required")
    return url


def _checked_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(WEBHOOK_EVENTS))
    if unknown or not events:
        raise WebhookRejected(f"events: one or more of {', '.join(WEBHOOK_EVENTS)}"
                              + (f" (not {', '.join(unknown)})" if unknown else ""))
    return [e for e in WEBHOOK_EVENTS if e in events]


def create(session: Session, project_id: int, url: str, fmt: str, events: list[str],
           secret: str | None = None) -> Webhook:
    """A new webhook of the project, checked (``WebhookRejected``); without ``secret``, a
    random one signs its requests (Lark: give the bot's signing secret)."""
    if fmt not in WEBHOOK_FORMATS:
        raise WebhookRejected(f"format: one of {', '.join(WEBHOOK_FORMATS)}")
    low, high = SECRET_CHARS
    if secret is not None and not low <= len(secret) <= high:
        raise WebhookRejected(f"secret: {low}-{high} characters")
    hook = Webhook(project_id=project_id, url=_checked_url(url), format=fmt,
                   events=",".join(_checked_events(events)),
                   secret=secret or secrets.token_urlsafe(32), created_at=datetime.now(UTC))
    session.add(hook)
    session.flush()
    return hook


def find(session: Session, project_id: int, webhook_id: int) -> Webhook | None:
    """The project's active webhook ``webhook_id``; None for a deleted one or another
    project's."""
    hook = session.get(Webhook, webhook_id)
    if hook is None or hook.project_id != project_id or hook.revoked_at is not None:
        return None
    return hook


def delete(session: Session, hook: Webhook) -> None:
    """No more notifications to it; those still pending are dropped (``dead``)."""
    hook.revoked_at = datetime.now(UTC)
    session.execute(update(Notification).where(Notification.webhook_id == hook.id,
                                               Notification.state == DeliveryState.PENDING)
                    .values(state=DeliveryState.DEAD, last_error=DELETED))


def recent_deliveries(session: Session, hook: Webhook, limit: int = 50) -> list[dict]:
    """Its latest deliveries, newest first: state, attempts, last answer or error."""
    rows = session.scalars(select(Notification).where(Notification.webhook_id == hook.id)
                           .order_by(Notification.id.desc())
                           .limit(max(1, min(limit, MAX_DELIVERIES))))
    return [{"id": n.id, "event": n.event, "issue_id": n.issue_id, "report_id": n.report_id,
             "state": n.state, "attempts": n.attempts, "last_status": n.last_status,
             "last_error": n.last_error, "created_at": n.created_at, "sent_at": n.sent_at,
             "next_attempt_at": n.next_attempt_at if n.state == DeliveryState.PENDING else None}
            for n in rows]


def describe(hook: Webhook) -> dict:
    """A webhook as lists show it: without its secret."""
    return {"id": hook.id, "url": hook.url, "format": hook.format,
            "events": hook.events.split(","), "created_at": hook.created_at}


def active(session: Session, project_id: int) -> list[dict]:
    return [describe(h) for h in outbox.active_webhooks(session, project_id)]
