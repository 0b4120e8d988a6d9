"""Celery mode for real: `oomlens serve` with OOMLENS_BROKER_URL (the local Redis, and RabbitMQ
for the worker-killing test) and
OOMLENS_DATABASE_URL (a fresh database on the local PostgreSQL), and two `oomlens worker`
processes. A worker killed mid-analysis does not lose its report; a broker that is down when
dumps arrive delays them, it does not drop them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid

import httpx
import pytest
from sqlalchemy import create_engine, text

from services import (NO_POSTGRES, RABBITMQ, REDIS, delete_queue, drop_postgres,
                      postgres_url)
from serverrun import OOMLENS, Server, free_port, upload, wait_done
from waiting import wait_for


@pytest.fixture
def database_url():
    url = postgres_url()
    if url is None:
        pytest.fail(NO_POSTGRES)
    yield url
    drop_postgres(url)


class Workers:
    """`oomlens worker` processes, each in its own process group (so that killing one kills its
    pool and analysis children too, as when a machine dies)."""

    def __init__(self, env: dict, data_dir):
        self.env, self.data_dir, self.processes = env, data_dir, []

    def start(self) -> subprocess.Popen:
        process = subprocess.Popen([*OOMLENS, "worker", "--concurrency", "1", "--data-dir",
                                    str(self.data_dir)], env=self.env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                self.kill(process)


@pytest.fixture
def broker_url():
    """The broker of a test: Redis, unless the test is parametrized with another."""
    return REDIS


@pytest.fixture
def celery_server(tmp_path, database_url, broker_url):
    server = Server(tmp_path / "data")
    queue = f"oomlens-test-{uuid.uuid4().hex[:12]}"  # its own: other runs may share the broker
    server.env.update(OOMLENS_DATABASE_URL=database_url, OOMLENS_BROKER_URL=broker_url,
                      OOMLENS_BROKER_QUEUE=queue, OOMLENS_RETRY_BACKOFF_S="1")
    workers = Workers(server.env, server.data_dir)
    yield server, workers
    workers.stop_all()
    if server.process and server.process.poll() is None:
        server.kill()
    if server.env["OOMLENS_BROKER_URL"] == broker_url:  # not a private broker, gone already
        delete_queue(broker_url, queue)


def report_states(database_url: str) -> list[tuple[str, str, int]]:
    engine = create_engine(database_url)
    with engine.connect() as c:
        rows = c.execute(text("select id, status, attempts from reports order by id")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


@pytest.mark.parametrize("broker_url", [REDIS, RABBITMQ], ids=["redis", "rabbitmq"])
def test_a_worker_killed_mid_analysis_loses_nothing(celery_server, database_url):
    server, workers = celery_server
    keys = server.create_project("app")
    server.start()
    first, second = workers.start(), workers.start()
    ids = [upload(server, keys["ingest_key"], idem=f"u{i}").json()["id"] for i in range(4)]
    # both workers busy, each with one report (prefetch 1, one process each)
    wait_for(lambda: sum(s == "running" for _, s, _ in report_states(database_url)) == 2,
             120, "two analyses running at once")
    workers.kill(first)
    states = {r: wait_done(server, keys["read_key"], r, timeout=300) for r in ids}
    assert {s["status"] for s in states.values()} == {"done"}, states
    attempts = sorted(a for _, _, a in report_states(database_url))
    assert attempts == [1, 1, 1, 2]  # the killed worker's report was redone once, by the other
    assert second.poll() is None
    issues = httpx.get(f"{server.url}/api/v1/issues", timeout=10,
                       headers={"Authorization": f"Bearer {keys['read_key']}"}).json()
    assert [i["reports"] for i in issues if i["kind"] == "leak"] == [4]  # each counted once


def test_an_analysis_that_keeps_crashing_ends_dead_after_its_attempts(celery_server,
                                                                     database_url):
    server, workers = celery_server
    # llvmlite cannot even load under a 200 MB address-space ceiling: every attempt crashes
    server.env.update(OOMLENS_ANALYSIS_MEMORY_MB="200", OOMLENS_MAX_ATTEMPTS="2")
    keys = server.create_project("app")
    server.start()
    workers.start()
    report_id = upload(server, keys["ingest_key"]).json()["id"]
    state = wait_done(server, keys["read_key"], report_id, timeout=120)
    assert state["status"] == "dead" and state["attempts"] == 3, state
    assert "gave up after 2 attempts" in state["error"]


def test_dumps_sent_while_the_broker_is_down_are_analysed_once_it_is_back(celery_server,
                                                                         tmp_path):
    server, workers = celery_server
    redis_server = shutil.which("redis-server")
    assert redis_server, "redis-server is installed by scripts/start-services.sh"
    port = free_port()
    server.env["OOMLENS_BROKER_URL"] = f"redis://127.0.0.1:{port}/0"  # nobody there yet
    keys = server.create_project("app")
    server.start()
    answer = upload(server, keys["ingest_key"])
    assert answer.status_code == 202  # the database is the queue: the upload is safe
    report_id = answer.json()["id"]
    time.sleep(2)
    broker = subprocess.Popen([redis_server, "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL)
    try:
        workers.start()
        state = wait_done(server, keys["read_key"], report_id, timeout=180)
        assert state["status"] == "done" and state["attempts"] == 1, state
    finally:
        workers.stop_all()
        broker.kill()
        broker.wait()
