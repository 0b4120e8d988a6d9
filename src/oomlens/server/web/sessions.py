"""Who is looking at the dashboard: a session opened with a read or admin key, or the key itself.

A person pastes a key once (``/login``); the browser then holds a random session token in an
HttpOnly, SameSite=Lax cookie and the database its SHA-256, the key it was opened with and a
CSRF token. Every request checks the key again, so revoking a key ends its sessions at once.
Scripts may skip the login and send ``Authorization: Bearer KEY`` as with the API.

Forms that change something carry the session's CSRF token (a hidden field, or the
``X-CSRF-Token`` header htmx sends); requests authenticated by a header need none, since a
browser never adds that header by itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import delete
from sqlalchemy.orm import Session

from oomlens.server.core import keys
from oomlens.server.core.deps import SessionDep
from oomlens.server.core.models import ApiKey, Project, WebSession
from oomlens.server.core.vocabulary import KeyKind

COOKIE = "oomlens_session"
LIFETIME = timedelta(days=7)


class LoginRequired(Exception):
    """No valid session: the page answers with a redirect to /login (handled in ``pages``)."""


class Forbidden(Exception):
    """Logged in, but this needs another kind of key (or a missing CSRF token)."""


@dataclass(frozen=True)
class Viewer:
    project_id: int
    project_slug: str
    project_name: str
    kind: KeyKind  # READ or ADMIN
    csrf: str  # "" when authenticated by a header

    @property
    def is_admin(self) -> bool:
        return self.kind == KeyKind.ADMIN


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(s: Session, secret: str) -> tuple[str, Viewer] | None:
    """A new session for a valid read or admin key: (cookie token, viewer); None otherwise."""
    caller = keys.authenticate(s, secret)
    if caller is None or caller.kind == KeyKind.INGEST:
        return None
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    row = WebSession(digest=_digest(token), key_id=caller.key_id,
                     csrf=secrets.token_urlsafe(24),
                     created_at=now, expires_at=now + LIFETIME)
    s.add(row)
    s.commit()
    return token, _viewer(s, caller, row.csrf)


def close_session(s: Session, token: str | None) -> None:
    if token:
        s.execute(delete(WebSession).where(WebSession.digest == _digest(token)))
        s.commit()


def _viewer(s: Session, caller: keys.Caller, csrf: str) -> Viewer:
    project = s.get(Project, caller.project_id)
    return Viewer(project.id, project.slug, project.name, caller.kind, csrf)


def _from_cookie(s: Session, token: str) -> Viewer | None:
    row = s.get(WebSession, _digest(token))
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    key = s.get(ApiKey, row.key_id)
    if expires < datetime.now(UTC) or key is None or key.revoked_at is not None:
        return None
    return _viewer(s, keys.Caller(key.project_id, KeyKind(key.kind), key.id), row.csrf)


def viewer(request: Request, s: SessionDep) -> Viewer:
    """The dependency of every page: the viewer, or LoginRequired."""
    secret = keys.bearer_secret(request.headers.get("authorization"))
    if secret:
        caller = keys.authenticate(s, secret)
        if caller is None or caller.kind == KeyKind.INGEST:
            raise LoginRequired()
        return _viewer(s, caller, "")
    token = request.cookies.get(COOKIE)
    found = _from_cookie(s, token) if token else None
    if found is None:
        raise LoginRequired()
    return found


ViewerDep = Annotated[Viewer, Depends(viewer)]  # a page's viewer (read or admin)


async def admin_form(request: Request, v: ViewerDep) -> Viewer:
    """For pages that change the project: an admin, and (with a cookie) the CSRF token."""
    if not v.is_admin:
        raise Forbidden("this needs the project's admin key: log in with it")
    if v.csrf:
        sent = request.headers.get("x-csrf-token")
        if sent is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            sent = (await request.form()).get("csrf")
        if not sent or not hmac.compare_digest(str(sent), v.csrf):
            raise Forbidden("the form is stale or came from another site: reload the page")
    return v


AdminViewer = Annotated[Viewer, Depends(admin_form)]  # a page that changes the project
