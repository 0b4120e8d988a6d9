"""What every endpoint needs, as FastAPI dependencies: the server's services (settings,
database sessions, blob store) and the caller's project key.

The services hang off ``app.state`` so that the routers in ``server/api`` and ``server/web`` are
plain module-level ``APIRouter``s, not closures inside ``create_app``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from oomlens.server.core import keys
from oomlens.server.core.config import ServerSettings
from oomlens.server.core.storage import BlobStore


@dataclass(frozen=True)
class Services:
    settings: ServerSettings
    engine: Engine
    sessions: sessionmaker
    store: BlobStore


def services(request: Request) -> Services:
    return request.app.state.services


def session(s: Services = Depends(services)) -> Iterator[Session]:
    with s.sessions() as opened:
        yield opened


def caller(authorization: Annotated[str | None, Header()] = None,
           s: Session = Depends(session)) -> keys.Caller:
    found = keys.authenticate(s, keys.bearer_secret(authorization))
    if found is None:
        raise HTTPException(401, "a valid project key is required (Authorization: Bearer)")
    return found


def reader(c: keys.Caller = Depends(caller)) -> keys.Caller:
    if c.kind not in (keys.READ, keys.ADMIN):
        raise HTTPException(403, "this key may only upload")
    return c


def admin(c: keys.Caller = Depends(caller)) -> keys.Caller:
    """Changes to the project itself (issue states, ownership, webhooks) need an admin key: a
    read key is handed to dashboards and scripts that only look."""
    if c.kind != keys.ADMIN:
        raise HTTPException(403, "this change needs the project's admin key")
    return c


def ingester(c: keys.Caller = Depends(caller)) -> keys.Caller:
    if c.kind != keys.INGEST:
        raise HTTPException(403, "uploads need an ingest key")
    return c
