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
from oomlens.server.core.vocabulary import KeyKind


@dataclass(frozen=True)
class Services:
    settings: ServerSettings
    engine: Engine
    sessions: sessionmaker
    store: BlobStore


def services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(services)]


def session(s: ServicesDep) -> Iterator[Session]:
    with s.sessions() as opened:
        yield opened


SessionDep = Annotated[Session, Depends(session)]


def caller(s: SessionDep,
           authorization: Annotated[str | None, Header()] = None) -> keys.Caller:
    found = keys.authenticate(s, keys.bearer_secret(authorization))
    if found is None:
        raise HTTPException(401, "a valid project key is required (Authorization: Bearer)")
    return found


CallerDep = Annotated[keys.Caller, Depends(caller)]


def reader(c: CallerDep) -> keys.Caller:
    if c.kind not in (KeyKind.READ, KeyKind.ADMIN):
        raise HTTPException(403, "this key may only upload")
    return c


def admin(c: CallerDep) -> keys.Caller:
    """Changes to the project itself (issue states, ownership, webhooks) need an admin key: a
    read key is handed to dashboards and scripts that only look."""
    if c.kind != KeyKind.ADMIN:
        raise HTTPException(403, "this change needs the project's admin key")
    return c


def ingester(c: CallerDep) -> keys.Caller:
    if c.kind != KeyKind.INGEST:
        raise HTTPException(403, "uploads need an ingest key")
    return c


# What an endpoint declares it needs: ``c: ReadKey`` (a read or admin key of the project),
# ``AdminKey``, ``IngestKey``; ``s: SessionDep``, a database session; ``svc: ServicesDep``.
ReadKey = Annotated[keys.Caller, Depends(reader)]
AdminKey = Annotated[keys.Caller, Depends(admin)]
IngestKey = Annotated[keys.Caller, Depends(ingester)]
