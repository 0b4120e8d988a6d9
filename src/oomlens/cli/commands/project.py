"""``oomlens project create SLUG``: a project and its first keys (shown once)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from oomlens.cli.format import print_json


@click.group("project")
def command() -> None:
    """Manage the server's projects (apps)."""


@command.command("create")
@click.argument("slug")
@click.option("--name", default=None, help="Display name (default: the slug).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=str), default=None)
def create(slug: str, name: str | None, data_dir: str | None) -> None:
    """Create project SLUG with an ingest key (uploads), a read key and an admin key (changes
    to the project), printed as JSON (only now)."""
    from sqlalchemy.exc import IntegrityError

    from oomlens.errors import OomlensError
    from oomlens.server import db, keys
    from oomlens.server.models import Project
    from oomlens.server.settings import ServerSettings

    settings = ServerSettings.from_env(data_dir=data_dir)
    db.upgrade(settings.database_url)
    engine = db.make_engine(settings.database_url)
    try:
        with db.sessions(engine)() as s:
            project = Project(slug=slug, name=name or slug, created_at=datetime.now(UTC))
            s.add(project)
            try:
                s.flush()
            except IntegrityError:
                raise OomlensError(f"project {slug!r} exists already") from None
            ingest = keys.create_key(s, project, keys.INGEST)
            read = keys.create_key(s, project, keys.READ)
            admin = keys.create_key(s, project, keys.ADMIN)
            s.commit()
            print_json({"project": slug, "ingest_key": ingest.secret, "read_key": read.secret,
                        "admin_key": admin.secret})
    finally:
        engine.dispose()
