"""``oomlens serve``: the server (API and, without a broker, the embedded job runner)."""

from __future__ import annotations

import click


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8270, show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Where the embedded database, the dumps and the analyses' scratch folder "
                   "live (default: $OOMLENS_DATA_DIR or ./oomlens-data).")
def command(host: str, port: int, data_dir: str | None) -> None:
    """Run the oomlens server: uploads at /api/v1/reports, OpenAPI at /docs. Configured by
    OOMLENS_* environment variables (README, "Server")."""
    from oomlens import server

    server.require_extra()
    settings = server.ServerSettings.from_env(data_dir=data_dir)
    click.echo(f"oomlens server on http://{host}:{port}/ (data: {settings.data_dir})", err=True)
    server.serve(settings, host, port)
