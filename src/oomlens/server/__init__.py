"""The oomlens server (``oomlens serve``, ``oomlens worker``, ``oomlens project``), as the
command line and scripts use it: this module is its public surface, and nothing outside the
server imports its packages.

Inside, lowest first (each imports only the ones before it; tests/test_layers.py checks):
``core`` (configuration, database, storage, keys, the job queue), ``reports``, ``issues``,
``notify``, ``jobs``, then ``api`` and ``web`` (the JSON API and the dashboard) and ``app``,
which puts them together.

The server's dependencies (FastAPI, SQLAlchemy, Alembic, Celery, ...) are the ``server`` extra:
``pip install 'oomlens[server]'``. A host that only strips and uploads dumps installs oomlens
without it, so importing this module loads none of them; each function below checks that they
are there first (``ServerExtraMissing``, one line, instead of a traceback).
"""

from __future__ import annotations

import functools
import importlib.util

from oomlens.errors import OomlensError
from oomlens.server.core.config import ServerSettings

__all__ = ["ServerExtraMissing", "ServerSettings", "create_app", "create_project",
           "make_celery", "require_extra", "serve"]

# The modules the server imports, from the distributions of the ``server`` extra (pyproject.toml;
# psycopg too, but only a PostgreSQL URL needs it, and SQLAlchemy names it then).
EXTRA_MODULES = (("fastapi",), ("uvicorn",), ("sqlalchemy",), ("alembic",), ("celery",),
                 ("fsspec",), ("python_multipart", "multipart"))


class ServerExtraMissing(OomlensError):
    """oomlens was installed without the server's dependencies."""

    def __init__(self):
        super().__init__("the server needs its extra: pip install 'oomlens[server]'")


@functools.cache
def _extra_installed() -> bool:
    return all(any(importlib.util.find_spec(name) is not None for name in names)
               for names in EXTRA_MODULES)


def require_extra() -> None:
    """``ServerExtraMissing`` unless the server's dependencies are installed."""
    if not _extra_installed():
        raise ServerExtraMissing()


def create_app(settings: ServerSettings, run_jobs: bool = True):
    """The FastAPI application (database migrated, runner or dispatcher ready to start)."""
    require_extra()
    from oomlens.server.app import create_app as make

    return make(settings, run_jobs)


def serve(settings: ServerSettings, host: str, port: int) -> None:
    """Run the server on ``host``:``port`` until interrupted."""
    require_extra()
    import uvicorn

    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


def make_celery(settings: ServerSettings):
    """The Celery application of ``oomlens worker`` (the analysis task, the scratch sweep)."""
    require_extra()
    from oomlens.server.jobs.celery_mode import make_celery as make

    return make(settings)


class ProjectExists(OomlensError):
    """A project of that slug exists already."""


def create_project(settings: ServerSettings, slug: str, name: str | None = None) -> dict:
    """Make project ``slug`` with an ingest, a read and an admin key (the database migrated
    first); returns ``{"project", "ingest_key", "read_key", "admin_key"}``, the only time the
    keys are available."""
    require_extra()
    from datetime import UTC, datetime

    from sqlalchemy.exc import IntegrityError

    from oomlens.server.core import db, keys
    from oomlens.server.core.models import Project
    from oomlens.server.core.vocabulary import KeyKind

    db.upgrade(settings.database_url)
    engine = db.make_engine(settings.database_url)
    try:
        with db.sessions(engine)() as s:
            project = Project(slug=slug, name=name or slug, created_at=datetime.now(UTC))
            s.add(project)
            try:
                s.flush()
            except IntegrityError:
                raise ProjectExists(f"project {slug!r} exists already") from None
            made = {kind: keys.create_key(s, project, kind)
                    for kind in KeyKind}
            s.commit()
    finally:
        engine.dispose()
    return {"project": slug, **{f"{kind}_key": key.secret for kind, key in made.items()}}
