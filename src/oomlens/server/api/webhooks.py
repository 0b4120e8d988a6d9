"""Webhooks: where a project's notifications go (all of it needs the project's admin key)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import httpx
from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from oomlens.server import keys
from oomlens.server.deps import admin, session
from oomlens.server.models import (DEAD, PENDING, WEBHOOK_EVENTS, WEBHOOK_FORMATS, Notification,
                                   Webhook)
from oomlens.server.notify import outbox
from oomlens.server.notify.delivery import DELETED

router = APIRouter(prefix="/api/v1", tags=["webhooks"])

MAX_URL = 2000
SECRET_CHARS = (8, 200)


class NewWebhook(BaseModel):
    url: str
    format: str = "json"
    events: list[str] = list(WEBHOOK_EVENTS)
    secret: str | None = None  # generated when not given (Lark: the bot's signing secret)


def _checked_url(url: str) -> str:
    url = url.strip()
    if not url or len(url) > MAX_URL:
        raise HTTPException(422, f"url: 1-{MAX_URL} characters")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise HTTPException(422, f"url: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise HTTPException(422, "url: an http:// or https:// address is required")
    return url


def _checked_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(WEBHOOK_EVENTS))
    if unknown or not events:
        raise HTTPException(422, f"events: one or more of {', '.join(WEBHOOK_EVENTS)}"
                                 + (f" (not {', '.join(unknown)})" if unknown else ""))
    return [e for e in WEBHOOK_EVENTS if e in events]


def _view(w: Webhook) -> dict:
    return {"id": w.id, "url": w.url, "format": w.format, "events": w.events.split(","),
            "created_at": w.created_at}


def _own_webhook(webhook_id: int, c: keys.Caller, s: Session) -> Webhook:
    w = s.get(Webhook, webhook_id)
    if w is None or w.project_id != c.project_id or w.revoked_at is not None:
        raise HTTPException(404, "no such webhook")
    return w


@router.post("/webhooks", status_code=201)
def create_webhook(new: NewWebhook, c: keys.Caller = Depends(admin),
                   s: Session = Depends(session)):
    """Notifications of ``events`` to ``url``, in ``format`` (json, slack, lark). The answer holds
    the signing secret: the only time it is shown."""
    if new.format not in WEBHOOK_FORMATS:
        raise HTTPException(422, f"format: one of {', '.join(WEBHOOK_FORMATS)}")
    low, high = SECRET_CHARS
    if new.secret is not None and not low <= len(new.secret) <= high:
        raise HTTPException(422, f"secret: {low}-{high} characters")
    w = Webhook(project_id=c.project_id, url=_checked_url(new.url), format=new.format,
                events=",".join(_checked_events(new.events)),
                secret=new.secret or secrets.token_urlsafe(32), created_at=datetime.now(UTC))
    s.add(w)
    s.commit()
    return {**_view(w), "secret": w.secret}


@router.get("/webhooks")
def list_webhooks(c: keys.Caller = Depends(admin), s: Session = Depends(session)):
    """The project's webhooks (without their secrets)."""
    return [_view(w) for w in outbox.active_webhooks(s, c.project_id)]


@router.delete("/webhooks/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: int, c: keys.Caller = Depends(admin),
                   s: Session = Depends(session)):
    """No more notifications to it; those still pending are dropped (``dead``)."""
    w = _own_webhook(webhook_id, c, s)
    w.revoked_at = datetime.now(UTC)
    s.execute(update(Notification).where(Notification.webhook_id == w.id,
                                         Notification.state == PENDING)
              .values(state=DEAD, last_error=DELETED))
    s.commit()
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/test", status_code=202)
def send_test_event(webhook_id: int, c: keys.Caller = Depends(admin),
                 s: Session = Depends(session)):
    """Queue a ``test`` event to it; its delivery shows in ``/deliveries``."""
    row = outbox.record_test(s, _own_webhook(webhook_id, c, s))
    s.commit()
    return {"delivery_id": row.id, "state": row.state}


@router.get("/webhooks/{webhook_id}/deliveries")
def list_deliveries(webhook_id: int, limit: int = 50, c: keys.Caller = Depends(admin),
                    s: Session = Depends(session)):
    """Its most recent deliveries, newest first: state, attempts, last answer or error."""
    w = _own_webhook(webhook_id, c, s)
    rows = s.scalars(select(Notification).where(Notification.webhook_id == w.id)
                     .order_by(Notification.id.desc()).limit(max(1, min(limit, 500))))
    return [{"id": n.id, "event": n.event, "issue_id": n.issue_id, "report_id": n.report_id,
             "state": n.state, "attempts": n.attempts, "last_status": n.last_status,
             "last_error": n.last_error, "created_at": n.created_at, "sent_at": n.sent_at,
             "next_attempt_at": n.next_attempt_at if n.state == PENDING else None}
            for n in rows]
