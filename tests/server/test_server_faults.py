"""The database or the storage briefly unavailable: an upload fails cleanly (503, which
`oomlens upload` retries), and nothing half-written remains: no stored dump without its report,
no report without its dump."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from conftest import DATA
from services import NO_POSTGRES, drop_postgres, postgres_url
from tcp_proxy import TcpProxy
from serverrun import OOMLENS, DUMP, Server, upload, wait_done
from oomlens.server.core import db
from oomlens.server.core.models import Project
from oomlens.server.core.storage import BlobStore
from oomlens.server.reports.ingest import ReportMetadata, accept_upload


@pytest.fixture
def proxied_postgres():
    """A fresh PostgreSQL database reached through a proxy the test can cut."""
    url = postgres_url()
    if url is None:
        pytest.fail(NO_POSTGRES)
    proxy = TcpProxy(("127.0.0.1", 5432))
    yield url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}"), url, proxy
    proxy.close()
    drop_postgres(url)


def blobs(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def report_count(direct_url: str) -> int:
    engine = create_engine(direct_url)
    with engine.connect() as c:
        count = c.execute(text("select count(*) from reports")).scalar()
    engine.dispose()
    return count


class CutAtEnd(io.RawIOBase):
    """A dump whose connection to the database is lost just as its last byte is read: between
    storing the blob and committing its row, the worst moment."""

    def __init__(self, data: bytes, proxy: TcpProxy):
        self.data, self.offset, self.proxy = data, 0, proxy

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), len(self.data) - self.offset)
        buffer[:n] = self.data[self.offset:self.offset + n]
        self.offset += n
        if n == 0:
            self.proxy.cut()
        return n


def test_database_lost_between_storing_and_committing_leaves_nothing(proxied_postgres,
                                                                     tmp_path):
    url, direct, proxy = proxied_postgres
    db.upgrade(url)
    engine = db.make_engine(url)
    store = BlobStore((tmp_path / "blobs").as_uri())
    with db.sessions(engine)() as s:
        project = Project(slug="app", name="app", created_at=datetime.now(UTC))
        s.add(project)
        s.commit()
        body = CutAtEnd((DATA / "oracle_jdk8_05_x64.hprof.gz").read_bytes(), proxy)
        with pytest.raises(SQLAlchemyError):
            accept_upload(s, store, project.id, "k", io.BufferedReader(body), ReportMetadata(),
                          max_upload_bytes=64 << 20, max_hprof_bytes=256 << 20)
    engine.dispose()
    proxy.restore()
    assert body.offset == len(body.data)  # the dump was read (and stored) before the loss
    assert blobs(tmp_path / "blobs") == []  # and removed again: its row never committed
    assert report_count(direct) == 0


def test_an_upload_while_the_database_is_away_is_retried_into_one_report(proxied_postgres,
                                                                         tmp_path):
    url, direct, proxy = proxied_postgres
    server = Server(tmp_path / "data")
    server.env["OOMLENS_DATABASE_URL"] = url
    keys = server.create_project("app")
    server.start()
    try:
        proxy.cut()
        refused = upload(server, keys["ingest_key"], idem="direct")
        assert refused.status_code == 503, refused.text
        assert refused.json()["detail"] == "database unavailable, retry later"
        threading.Timer(4, proxy.restore).start()
        started = time.monotonic()
        out = subprocess.run([*OOMLENS, "upload", str(DUMP), "--server", server.url, "--key",
                              keys["ingest_key"], "--no-strip", "--json", "--retries", "8"],
                             capture_output=True, text=True, env=server.env, timeout=120)
        assert out.returncode == 0, out.stderr
        assert time.monotonic() - started >= 3.5  # it did wait for the database
        assert "retrying" in out.stderr
        report_id = json.loads(out.stdout)["id"]
        assert wait_done(server, keys["read_key"], report_id)["status"] == "done"
        assert report_count(direct) == 1
        dumps = [b for b in blobs(server.data_dir / "dumps") if b.endswith(".dump")]
        assert len(dumps) == 1 and report_id in dumps[0]
    finally:
        server.kill()


def test_an_upload_while_the_storage_is_away_fails_cleanly_and_works_after(tmp_path):
    server = Server(tmp_path / "data")
    keys = server.create_project("app")
    server.start()
    try:
        folder = server.data_dir / "dumps"
        moved = tmp_path / "dumps-away"
        shutil.move(folder, moved)
        folder.write_text("the storage volume is not mounted")  # nothing can be written under it
        refused = upload(server, keys["ingest_key"], idem="one")
        assert refused.status_code == 503, refused.text
        assert refused.json()["detail"] == "storage unavailable, retry later"
        folder.unlink()
        shutil.move(moved, folder)
        assert blobs(folder) == []  # no partial file left behind
        again = upload(server, keys["ingest_key"], idem="one")  # the client's retry
        assert again.status_code == 202 and again.json()["created"], again.text
        assert wait_done(server, keys["read_key"], again.json()["id"])["status"] == "done"
        assert [b.rsplit(".", 1)[1] for b in blobs(folder)] == ["domtree", "dump"]  # the
        # uploaded dump, and the dominator tree its analysis kept
    finally:
        server.kill()
