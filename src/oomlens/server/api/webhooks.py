"""Webhooks: where a project's notifications go (all of it needs the project's admin key)."""

from __future__ import annotations

from fastapi import HTTPException, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from oomlens.server.core import keys
from oomlens.server.api.responses import (Delivery, NewWebhookInfo, TestQueued, WebhookInfo,
                                          api_router)
from oomlens.server.core.deps import AdminKey, SessionDep
from oomlens.server.core.models import WEBHOOK_EVENTS, Webhook
from oomlens.server.notify import outbox, webhooks

router = api_router("webhooks")


class NewWebhook(BaseModel):
    url: str
    format: str = "json"
    events: list[str] = list(WEBHOOK_EVENTS)
    secret: str | None = None  # generated when not given (Lark: the bot's signing secret)


def _own_webhook(webhook_id: int, c: keys.Caller, s: Session) -> Webhook:
    hook = webhooks.find(s, c.project_id, webhook_id)
    if hook is None:
        raise HTTPException(404, "no such webhook")
    return hook


@router.post("/webhooks", status_code=201, response_model=NewWebhookInfo)
def create_webhook(new: NewWebhook, c: AdminKey, s: SessionDep):
    """Notifications of ``events`` to ``url``, in ``format`` (json, slack, lark). The answer holds
    the signing secret: the only time it is shown."""
    try:
        hook = webhooks.create(s, c.project_id, new.url, new.format, new.events, new.secret)
    except webhooks.WebhookRejected as exc:
        raise HTTPException(422, str(exc)) from None
    s.commit()
    return {**webhooks.describe(hook), "secret": hook.secret}


@router.get("/webhooks", response_model=list[WebhookInfo])
def list_webhooks(c: AdminKey, s: SessionDep):
    """The project's webhooks (without their secrets)."""
    return webhooks.active(s, c.project_id)


@router.delete("/webhooks/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: int, c: AdminKey, s: SessionDep):
    """No more notifications to it; those still pending are dropped (``dead``)."""
    webhooks.delete(s, _own_webhook(webhook_id, c, s))
    s.commit()
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/test", status_code=202, response_model=TestQueued)
def send_test_event(webhook_id: int, c: AdminKey, s: SessionDep):
    """Queue a ``test`` event to it; its delivery shows in ``/deliveries``."""
    row = outbox.record_test(s, _own_webhook(webhook_id, c, s))
    s.commit()
    return {"delivery_id": row.id, "state": row.state}


@router.get("/webhooks/{webhook_id}/deliveries", response_model=list[Delivery])
def list_deliveries(webhook_id: int, c: AdminKey, s: SessionDep, limit: int = 50):
    """Its most recent deliveries, newest first: state, attempts, last answer or error."""
    return webhooks.recent_deliveries(s, _own_webhook(webhook_id, c, s), limit)
