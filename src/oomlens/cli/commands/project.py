"""``oomlens project create SLUG``: a project and its first keys (shown once)."""

from __future__ import annotations

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
    from oomlens import server

    server.require_extra()
    print_json(server.create_project(server.ServerSettings.from_env(data_dir=data_dir), slug,
                                     name))
