"""``oomlens worker``: a Celery worker that runs analyses sent by ``oomlens serve``."""

from __future__ import annotations

import os

import click


@click.command("worker")
@click.option("--concurrency", type=click.IntRange(1, 256), default=None,
              help="Analyses at once (default: $OOMLENS_ANALYSIS_WORKERS, 1). Each takes about "
                   "as much memory as the dump is large.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=str), default=None,
              help="As for oomlens serve (where its database and dumps are, unless "
                   "OOMLENS_DATABASE_URL and OOMLENS_STORAGE_URL say otherwise, and its "
                   "analyses' scratch folder, unless OOMLENS_SCRATCH_DIR does).")
@click.option("--loglevel", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
def command(concurrency: int | None, data_dir: str | None, loglevel: str) -> None:
    """Run analyses as Celery tasks from OOMLENS_BROKER_URL (redis://... or amqp://...), one per
    worker process at a time, acknowledged when done; with the same OOMLENS_DATABASE_URL and
    OOMLENS_STORAGE_URL as the server."""
    from oomlens import server
    from oomlens.errors import OomlensError

    server.require_extra()
    settings = server.ServerSettings.from_env(data_dir=data_dir)
    if not settings.broker_url:
        raise OomlensError("oomlens worker needs OOMLENS_BROKER_URL (redis://host:6379/0 or "
                           "amqp://user:password@host:5672//); without one, oomlens serve runs "
                           "the analyses itself")
    os.environ.update(settings.to_env())  # the analysis processes read the same settings
    app = server.make_celery(settings)
    click.echo(f"oomlens worker on {settings.broker_url.split('@')[-1]} "
               f"queue {settings.broker_queue}", err=True)
    # a node name of its own: Celery's default (celery@host) is the same for every worker on a
    # machine, and RabbitMQ refuses the second one's control queue
    app.worker_main(["worker", f"--hostname=oomlens-{os.getpid()}@%h",
                     f"--loglevel={loglevel.upper()}", "--pool=prefork",
                     f"--concurrency={concurrency or settings.analysis_workers}",
                     "--optimization=fair", "--without-gossip", "--without-mingle",
                     f"--queues={settings.broker_queue}"])
