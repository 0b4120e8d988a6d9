"""The settings page: the project's API keys, mapping files, ownership file and webhooks.

Read and admin sessions see it; only an admin session changes anything, and each change is a
form that carries the session's CSRF token (``sessions.admin_form``). Every change goes through
the functions the JSON API uses (``core.keys``, ``reports.mappings``, ``issues.owners``,
``notify.webhooks``), so the page and the API accept and refuse the same things with the same
words.

A change answers with the page itself, holding what happened: a secret (a new key's, a new
webhook's) is in that answer and nowhere else, ever; a refused change keeps what was typed and
says why, beside the form it came from. Webhook addresses are shown to admin sessions only, as
over the API: a Slack or Lark address is itself a credential.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from oomlens.server.core import keys
from oomlens.server.core.deps import Services, ServicesDep, SessionDep
from oomlens.server.core.models import WEBHOOK_EVENTS, WEBHOOK_FORMATS, Project
from oomlens.server.core.vocabulary import DeliveryState, KeyKind
from oomlens.server.issues.owners import replace_ownership
from oomlens.server.issues.ownership import OwnershipError
from oomlens.server.notify import outbox, webhooks
from oomlens.server.reports import mappings
from oomlens.server.reports.ingest import UploadRejected
from oomlens.server.web.render import page
from oomlens.server.web.sessions import AdminViewer, Forbidden, Viewer, ViewerDep

router = APIRouter(include_in_schema=False)

DELIVERIES_SHOWN = 5
POLLS = 10  # "Send test" watches the delivery this many times, a second apart


@dataclass(frozen=True)
class Notice:
    """What a change did, shown in its section: a result, or the reason it was refused."""

    section: str  # keys, mappings, ownership, webhooks
    text: str
    error: bool = False
    secret: str = ""  # a new key or webhook secret: shown in this answer only


@dataclass(frozen=True)
class Drafts:
    """What was typed in a refused form, to be put back in it."""

    ownership: str | None = None
    version: str = ""
    webhook: dict = field(default_factory=dict)


def _settings(s: Session, v: Viewer, notice: Notice | None = None, status: int = 200,
              drafts: Drafts = Drafts()):
    project = s.get(Project, v.project_id)
    hooks = []
    if v.is_admin:
        for hook in outbox.active_webhooks(s, v.project_id):
            hooks.append({**webhooks.describe(hook), "deliveries": webhooks.recent_deliveries(
                s, hook, DELIVERIES_SHOWN)})
    return page("settings.html", status=status, viewer=v, section="settings", notice=notice,
                drafts=drafts, keys=keys.project_keys(s, v.project_id), kinds=tuple(KeyKind),
                mappings=mappings.list_mappings(s, v.project_id),
                ownership=(project.ownership or "") if drafts.ownership is None
                else drafts.ownership,
                webhooks=hooks, formats=WEBHOOK_FORMATS, events=WEBHOOK_EVENTS)


def _back() -> RedirectResponse:
    return RedirectResponse("/settings", status_code=303)


@router.get("/settings")
def settings_page(v: ViewerDep, s: SessionDep):
    return _settings(s, v)


@router.post("/settings/keys")
def create_key(v: AdminViewer, s: SessionDep, kind: Annotated[str, Form()] = ""):
    try:
        made = keys.create_key(s, s.get(Project, v.project_id), kind)
    except ValueError as exc:
        return _settings(s, v, Notice("keys", str(exc), True), 422)
    s.commit()
    return _settings(s, v, Notice("keys", f"New {kind} key: copy it now. Only its SHA-256 is "
                                  "kept, so it cannot be shown again.", secret=made.secret), 201)


@router.post("/settings/keys/{key_id}/revoke")
def revoke_key(key_id: int, v: AdminViewer, s: SessionDep):
    """Revoking this session's own key ends the session: the page it goes back to asks for a
    login."""
    try:
        revoked = keys.revoke(s, v.project_id, key_id)
    except keys.LastAdminKey as exc:
        return _settings(s, v, Notice("keys", str(exc), True), 409)
    if not revoked:
        return _settings(s, v, Notice("keys", "no such active key", True), 404)
    s.commit()
    return _back()


@router.post("/settings/mappings")
async def upload_mapping(v: AdminViewer, s: SessionDep, svc: ServicesDep,
                         version: Annotated[str, Form()] = "",
                         mapping: Annotated[UploadFile | None, File()] = None):
    limit = svc.settings.max_upload_bytes
    body = None if mapping is None or not mapping.filename else await mapping.read(limit + 1)
    return await run_in_threadpool(_store_mapping, s, v, svc, version.strip(), body)


def _store_mapping(s: Session, v: Viewer, svc: Services, version: str, body: bytes | None):
    limit = svc.settings.max_upload_bytes
    try:
        if body is None:
            raise UploadRejected("choose the mapping file to upload", 400)
        if len(body) > limit:
            raise mappings.too_large(limit)
        stored = mappings.store_mapping(s, svc.store, v.project_id, version, body)
    except UploadRejected as exc:
        return _settings(s, v, Notice("mappings", str(exc), True), exc.status,
                         Drafts(version=version))
    requeued = stored["requeued_reports"]
    return _settings(s, v, Notice("mappings", f"Stored the mapping of {version}: "
                                  f"{stored['classes']:,} classes; {requeued:,} report"
                                  f"{'' if requeued == 1 else 's'} of that version queued to "
                                  "be analysed again with it."))


@router.post("/settings/ownership")
def save_ownership(v: AdminViewer, s: SessionDep, ownership: Annotated[str, Form()] = ""):
    # a textarea sends its lines ended by CRLF (HTML's form encoding); the file keeps LF
    text = ownership.replace("\r\n", "\n")
    try:
        counts = replace_ownership(s, v.project_id, text.encode("utf-8"))
    except OwnershipError as exc:
        s.rollback()
        return _settings(s, v, Notice("ownership", f"Not saved: {exc}", True), 422,
                         Drafts(ownership=text))
    s.commit()
    return _settings(s, v, Notice("ownership", f"Saved: {counts['rules']:,} rules; "
                                  f"{counts['owned']:,} of {counts['issues']:,} issues owned."))


@router.post("/settings/webhooks")
def create_webhook(v: AdminViewer, s: SessionDep, url: Annotated[str, Form()] = "",
                   format: Annotated[str, Form()] = "json",
                   events: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies it)
                   secret: Annotated[str, Form()] = ""):
    try:
        hook = webhooks.create(s, v.project_id, url, format, events, secret or None)
    except webhooks.WebhookRejected as exc:
        s.rollback()
        return _settings(s, v, Notice("webhooks", str(exc), True), 422,
                         Drafts(webhook={"url": url, "format": format, "events": events}))
    s.commit()
    return _settings(s, v, Notice("webhooks", f"Added the webhook to {hook.url}. Its signing "
                                  "secret is below: copy it now, it is not shown again.",
                                  secret=hook.secret), 201)


@router.post("/settings/webhooks/{webhook_id}/delete")
def delete_webhook(webhook_id: int, v: AdminViewer, s: SessionDep):
    hook = webhooks.find(s, v.project_id, webhook_id)
    if hook is None:
        return _settings(s, v, Notice("webhooks", "no such webhook", True), 404)
    webhooks.delete(s, hook)
    s.commit()
    return _back()


def _deliveries(s: Session, v: Viewer, webhook_id: int, poll: int | None):
    """A webhook's recent deliveries (the part ``Send test`` swaps in); with ``poll``, it
    fetches itself again a second later while a delivery is pending, ``POLLS`` times at most."""
    hook = webhooks.find(s, v.project_id, webhook_id)
    if hook is None:
        return page("error.html", status=404, viewer=None, title="Not found",
                    message="no such webhook")
    rows = webhooks.recent_deliveries(s, hook, DELIVERIES_SHOWN)
    pending = any(d["state"] == DeliveryState.PENDING for d in rows)
    return page("settings_deliveries.html", hook=webhooks.describe(hook), deliveries=rows,
                poll=poll if poll is not None and pending and poll < POLLS else None,
                gave_up=poll is not None and pending and poll >= POLLS)


@router.post("/settings/webhooks/{webhook_id}/test")
def send_test(webhook_id: int, request: Request, v: AdminViewer, s: SessionDep):
    hook = webhooks.find(s, v.project_id, webhook_id)
    if hook is not None:
        outbox.record_test(s, hook)
        s.commit()
    if not request.headers.get("hx-request"):  # a plain form: back to the page
        return _back()
    return _deliveries(s, v, webhook_id, 0)


@router.get("/settings/webhooks/{webhook_id}/deliveries")
def deliveries(webhook_id: int, v: ViewerDep, s: SessionDep, poll: int | None = None):
    if not v.is_admin:
        raise Forbidden("webhooks are shown to admin keys only")
    return _deliveries(s, v, webhook_id, poll)
