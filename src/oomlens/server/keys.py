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

from sqlalchemy import select
from sqlalchemy.orm import Session

from oomlens.server.models import ApiKey, Project

INGEST = "ingest"  # may upload reports and mappings, nothing else (it ships inside apps and CI)
READ = "read"  # may read the project's data
ADMIN = "admin"  # may read, and change the project: issue states, owners, webhooks, keys
KINDS = (INGEST, READ, ADMIN)
PREFIX_CHARS = 16


@dataclass(frozen=True)
class NewKey:
    id: int
    kind: str
    secret: str  # the only time it is available


@dataclass(frozen=True)
class Caller:
    project_id: int
    kind: str


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, project: Project, kind: str) -> NewKey:
    if kind not in KINDS:
        raise ValueError(f"unknown key kind {kind!r}")
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
    return Caller(key.project_id, key.kind)


def revoke(session: Session, project_id: int, key_id: int) -> bool:
    key = session.get(ApiKey, key_id)
    if key is None or key.project_id != project_id or key.revoked_at is not None:
        return False
    key.revoked_at = datetime.now(UTC)
    return True
