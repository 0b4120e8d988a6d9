"""API keys: made, shown once, stored as a SHA-256, checked on every request.

A key reads ``oomlens_<kind>_<random>`` so that a leaked key found in a log says what it opens;
the random part is 32 bytes from ``secrets``. Its first characters (the prefix) are kept in
clear to tell keys apart in the settings page.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from oomlens.errors import OomlensError
from oomlens.server.core.models import ApiKey, Project, WebSession
from oomlens.server.core.vocabulary import KeyKind

PREFIX_CHARS = 16


@dataclass(frozen=True)
class NewKey:
    id: int
    kind: KeyKind
    secret: str  # the only time it is available


class LastAdminKey(OomlensError):
    """Revoking this key would leave its project without an admin key, and so without any way
    to make keys, change settings or undo the revocation."""


@dataclass(frozen=True)
class Caller:
    project_id: int
    kind: KeyKind
    key_id: int  # which key: a dashboard session remembers it, so revoking the key ends it


def bearer_secret(authorization: str | None) -> str | None:
    """The key in an ``Authorization: Bearer <key>`` header (the API's and scripts' way)."""
    scheme, _, secret = (authorization or "").partition(" ")
    return secret.strip() or None if scheme.lower() == "bearer" else None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, project: Project, kind: str) -> NewKey:
    if kind not in tuple(KeyKind):
        raise ValueError(f"kind: one of {', '.join(KeyKind)} (not {kind!r})")
    kind = KeyKind(kind)
    secret = f"oomlens_{kind}_{secrets.token_urlsafe(32)}"
    key = ApiKey(project_id=project.id, kind=kind, prefix=secret[:PREFIX_CHARS],
                 digest=digest(secret), created_at=datetime.now(UTC))
    session.add(key)
    session.flush()
    return NewKey(key.id, kind, secret)


def authenticate(session: Session, secret: str | None) -> Caller | None:
    """The project and kind of a valid, unrevoked key; None otherwise."""
    if not secret or len(secret) > 200:
        return None
    wanted = digest(secret)
    key = session.scalar(select(ApiKey).where(ApiKey.digest == wanted))
    if key is None or key.revoked_at is not None or not hmac.compare_digest(key.digest, wanted):
        return None
    return Caller(key.project_id, KeyKind(key.kind), key.id)


def project_keys(session: Session, project_id: int) -> list[ApiKey]:
    """Every key the project ever had, revoked ones included (oldest first)."""
    return list(session.scalars(select(ApiKey).where(ApiKey.project_id == project_id)
                                .order_by(ApiKey.id)))


def describe(key: ApiKey) -> dict:
    """A key as settings show it: never its secret, which is not stored."""
    return {"id": key.id, "kind": key.kind, "prefix": key.prefix,
            "created_at": key.created_at, "revoked_at": key.revoked_at}


def revoke(session: Session, project_id: int, key_id: int) -> bool:
    """Revoke the project's key ``key_id`` and end the dashboard sessions opened with it (no
    commit). False when the project has no such active key; ``LastAdminKey`` when it is the
    project's only admin key."""
    # the project row is locked so that two admins revoking each other's key at once cannot
    # both see another admin key left
    session.get(Project, project_id, with_for_update=True)
    key = session.get(ApiKey, key_id)
    if key is None or key.project_id != project_id or key.revoked_at is not None:
        return False
    if key.kind == KeyKind.ADMIN and _active_admin_keys(session, project_id) <= 1:
        raise LastAdminKey("this is the project's last admin key: create another admin key "
                           "before revoking it")
    key.revoked_at = datetime.now(UTC)
    session.execute(delete(WebSession).where(WebSession.key_id == key.id))
    return True


def _active_admin_keys(session: Session, project_id: int) -> int:
    return session.scalar(select(func.count()).select_from(ApiKey).where(
        ApiKey.project_id == project_id, ApiKey.kind == KeyKind.ADMIN, ApiKey.revoked_at.is_(None)))
