"""The local services server tests talk to (``make test`` starts them: scripts/start-services.sh):
a fresh PostgreSQL database per test, dropped afterwards; Redis and RabbitMQ as Celery brokers."""

from __future__ import annotations

import contextlib
import uuid

from sqlalchemy import create_engine, text

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/0"
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"


def postgres_url() -> str | None:
    """A fresh database on the local PostgreSQL, or None when there is none."""
    name = f"oomlens_test_{uuid.uuid4().hex[:12]}"
    try:
        engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
    except Exception:
        return None
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def drop_postgres(url: str) -> None:
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    engine.dispose()


NO_POSTGRES = ("no PostgreSQL answers on 127.0.0.1:5432 (make test starts it with "
               "scripts/start-services.sh)")


@contextlib.contextmanager
def migrated_sessions(url: str | None):
    """Sessions on the database at ``url`` with the schema brought up to date; ``None`` for a
    fresh PostgreSQL database, dropped afterwards."""
    import pytest

    from oomlens.server.core import db

    fresh = url is None
    if fresh:
        url = postgres_url()
        if url is None:
            pytest.fail(NO_POSTGRES)
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        yield db.sessions(engine)
    finally:
        engine.dispose()
        if fresh:
            drop_postgres(url)


def delete_queue(broker_url: str, queue: str) -> None:
    """Remove a test's broker queue (RabbitMQ keeps declared queues until deleted)."""
    from kombu import Connection

    with Connection(broker_url, connect_timeout=5) as connection:
        connection.default_channel.queue_delete(queue)
