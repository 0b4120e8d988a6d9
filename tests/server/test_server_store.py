"""The server's storage layer against real databases (SQLite file, local PostgreSQL) and a real
blob folder: schema migrations, API keys, upload acceptance, and the durable job queue."""

from __future__ import annotations

import gzip
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import zstandard
from sqlalchemy import select, text

from conftest import DATA
from services import migrated_sessions
from oomlens.server.core import db, keys, queue
from oomlens.server.core.models import Project, Report
from oomlens.server.core.storage import BlobStore
from oomlens.server.core.vocabulary import KeyKind, ReportStatus
from oomlens.server.reports.ingest import ReportMetadata, UploadRejected, accept_upload

DUMP_GZ = (DATA / "oracle_jdk8_05_x64.hprof.gz").read_bytes()
@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """Sessions on a migrated SQLite file, then on a fresh PostgreSQL database."""
    with migrated_sessions(f"sqlite:///{tmp_path / 'oomlens.db'}"
                           if request.param == "sqlite" else None) as sessions:
        yield sessions


@pytest.fixture
def store(tmp_path):
    return BlobStore((tmp_path / "blobs").as_uri())


@pytest.fixture
def project(database):
    with database() as s:
        p = Project(slug="app", name="App", created_at=datetime.now(UTC))
        s.add(p)
        s.commit()
        return p


def upload(database, store, project, body: bytes, key="k1", **meta):
    with database() as s:
        return accept_upload(s, store, project.id, key, io.BytesIO(body), ReportMetadata(**meta),
                             max_upload_bytes=64 << 20, max_hprof_bytes=256 << 20)


def test_migrations_are_idempotent(database, tmp_path):
    with database() as s:
        url = str(s.get_bind().url.render_as_string(hide_password=False))
    db.upgrade(url)  # a second time changes nothing
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    newest = max(f.name[:4] for f in (db.MIGRATIONS / "versions").glob("[0-9]*.py"))
    assert head == newest  # one chain: the highest-numbered file is the head
    with database() as s:
        assert s.execute(text("select version_num from alembic_version")).scalar() == head


def test_keys_are_stored_hashed_and_checked(database, project):
    with database() as s:
        ingest = keys.create_key(s, project, KeyKind.INGEST)
        read = keys.create_key(s, project, KeyKind.READ)
        s.commit()
        stored = s.execute(text("select digest, prefix from api_keys")).all()
    assert all(ingest.secret not in row and read.secret not in row for row in stored)
    with database() as s:
        assert keys.authenticate(s, ingest.secret) == keys.Caller(project.id, KeyKind.INGEST,
                                                                 ingest.id)
        assert keys.authenticate(s, read.secret) == keys.Caller(project.id, KeyKind.READ, read.id)
        assert keys.authenticate(s, ingest.secret + "x") is None
        assert keys.authenticate(s, "") is None
        assert keys.revoke(s, project.id, ingest.id)
        s.commit()
        assert keys.authenticate(s, ingest.secret) is None
        assert not keys.revoke(s, project.id + 1, read.id)  # another project's key


def test_an_upload_is_stored_then_queued(database, store, project):
    report, created = upload(database, store, project, DUMP_GZ, app_version="1.2",
                             oom_message="java.lang.OutOfMemoryError: Java heap space")
    assert created and report.status == ReportStatus.QUEUED and report.dump_format == "gzip"
    assert report.dump_bytes == len(DUMP_GZ)
    with store.open(report.dump_key) as f:
        assert f.read() == DUMP_GZ
    with database() as s:
        row = s.get(Report, report.id)
        assert (row.app_version, row.oom_message) == ("1.2", report.oom_message)


def test_a_retry_with_the_same_key_returns_the_first_report(database, store, project):
    first, created = upload(database, store, project, DUMP_GZ, key="same")
    again, created_again = upload(database, store, project, DUMP_GZ, key="same")
    assert created and not created_again and again.id == first.id
    with database() as s:
        assert len(s.scalars(select(Report)).all()) == 1
    assert len(list(Path(store.root).rglob("*.dump"))) == 1


@pytest.mark.parametrize("body, status, fragment", [
    (b"PK\x03\x04 a zip file", 415, "not a heap dump"),
    (b"", 415, "not a heap dump"),
    (gzip.compress(b"not an hprof at all, just text"), 422, "does not hold an HPROF"),
    (zstandard.ZstdCompressor().compress(b"hello"), 422, "does not hold an HPROF"),
    (b"\x1f\x8b\x08\x00garbage", 422, "gzip stream"),
])
def test_bad_uploads_are_refused_and_leave_nothing(database, store, project, body, status,
                                                   fragment):
    with pytest.raises(UploadRejected, match=fragment) as info:
        upload(database, store, project, body)
    assert info.value.status == status
    with database() as s:
        assert s.scalars(select(Report)).all() == []
    assert list(Path(store.root).rglob("*")) == []


def test_a_declared_decompression_bomb_is_refused(database, store, project):
    bomb = zstandard.ZstdCompressor().compress(b"JAVA PROFILE 1.0.2\0" + bytes(300 << 20))
    with pytest.raises(UploadRejected, match="decompresses to") as info:
        upload(database, store, project, bomb)
    assert info.value.status == 413


def test_an_oversized_upload_is_refused(database, store, project):
    with database() as s, pytest.raises(UploadRejected, match="larger than") as info:
        accept_upload(s, store, project.id, "big", io.BytesIO(DUMP_GZ), ReportMetadata(),
                      max_upload_bytes=len(DUMP_GZ) - 1, max_hprof_bytes=1 << 30)
    assert info.value.status == 413
    assert list(Path(store.root).rglob("*.dump")) == []


def test_jobs_are_claimed_once_and_leases_expire(database, store, project):
    a, _ = upload(database, store, project, DUMP_GZ, key="a")
    b, _ = upload(database, store, project, DUMP_GZ, key="b")
    lease = timedelta(minutes=5)
    with database() as s1, database() as s2:
        first = queue.claim_next(s1, lease, max_attempts=3)
        second = queue.claim_next(s2, lease, max_attempts=3)
        assert {first, second} == {a.id, b.id}
        assert queue.claim_next(s1, lease, max_attempts=3) is None
        queue.finish(s1, first, '{"ok": true}', "java_heap")
        # the runner of ``second`` died: its lease runs out and another runner takes the job
        s2.execute(text("update reports set lease_until = :t where id = :i"),
                   {"t": datetime.now(UTC) - timedelta(seconds=1), "i": second})
        s2.commit()
        assert queue.claim_next(s1, lease, max_attempts=3) == second
    with database() as s:
        assert s.get(Report, first).status == ReportStatus.DONE
        row = s.get(Report, second)
        assert (row.status, row.attempts) == (ReportStatus.RUNNING, 2)


def test_a_job_that_keeps_failing_becomes_dead_and_a_bad_dump_fails_at_once(database, store,
                                                                          project):
    crashing, _ = upload(database, store, project, DUMP_GZ, key="crash")
    bad, _ = upload(database, store, project, DUMP_GZ, key="bad")
    lease = timedelta(minutes=5)
    with database() as s:
        claims = []
        while (got := queue.claim_next(s, lease, max_attempts=2)) is not None:
            claims.append(got)
            if got == bad.id:
                queue.fail(s, bad.id, "corrupt heap dump at offset 12")
            else:
                queue.retry_later(s, crashing.id, "worker killed (memory limit)", timedelta(0))
        assert sorted(claims) == sorted([bad.id, crashing.id, crashing.id])
        dead, failed = s.get(Report, crashing.id), s.get(Report, bad.id)
        assert (dead.status, dead.attempts) == (ReportStatus.DEAD, 3)
        assert "memory limit" in dead.error
        assert (failed.status, failed.error) == (ReportStatus.FAILED,
                                                 "corrupt heap dump at offset 12")


def test_a_retried_job_waits_a_backoff_that_doubles_per_attempt(database, store, project):
    report, _ = upload(database, store, project, DUMP_GZ, key="flaky")
    lease, backoff = timedelta(minutes=5), timedelta(seconds=40)
    with database() as s:
        waits = []
        for _ in range(2):
            assert queue.claim_next(s, lease, max_attempts=5) == report.id
            queue.retry_later(s, report.id, "killed", backoff)
            row = s.get(Report, report.id)
            s.refresh(row)
            assert row.status == ReportStatus.QUEUED
            assert queue.claim_next(s, lease, max_attempts=5) is None  # not yet
            waits.append((_aware(row.not_before) - datetime.now(UTC)).total_seconds())
            s.execute(text("update reports set not_before = :t where id = :i"),
                      {"t": datetime.now(UTC) - timedelta(seconds=1), "i": report.id})
            s.commit()
        assert 35 < waits[0] <= 40 and 75 < waits[1] <= 80  # 40 s, then 80 s
        assert queue.claim_next(s, lease, max_attempts=5) == report.id  # its time has come


def _aware(t: datetime) -> datetime:
    """SQLite gives naive datetimes back (stored as UTC)."""
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def analysed_document() -> dict:
    """The report of a real dump, as the analysis makes it."""
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "oomlens.cli.main", "analyze", "--format", "json",
                          "--no-progress", DATA / "dalvik_leak_service_binder.hprof.gz"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_folding_is_per_signature_and_idempotent_per_report(database, store, project,
                                                            analysed_document):
    from oomlens.server.issues import fold, queries as issue_queries

    doc = analysed_document
    expected = {(f.kind, f.signature) for f in fold.findings(doc)}
    assert expected and ("leak", doc["leaks"][0]["signature"]) in expected
    for version in ("2.0", "2.1"):
        report, _ = upload(database, store, project, DUMP_GZ, key=version, app_version=version)
        with database() as s:
            row = s.get(Report, report.id)
            fold.fold(s, row, doc)
            fold.fold(s, row, doc)  # a job redone after a crash counts once
            s.commit()
    with database() as s:
        issues = issue_queries.list_issues(s, project.id)
        assert {(i["kind"], i["signature"]) for i in issues} == expected
        assert all(i["reports"] == 2 and i["versions"] == ["2.0", "2.1"] for i in issues)
        assert issue_queries.list_issues(s, project.id, version="2.1") == issues
        assert issue_queries.list_issues(s, project.id, version="9.9") == []
        assert issue_queries.list_issues(s, project.id + 1) == []


def test_a_refold_gives_an_issue_its_representative_from_the_reports_it_still_counts(
        database, store, project, analysed_document):
    import copy
    import json

    from oomlens.server.core.models import Issue
    from oomlens.server.issues import fold

    def with_leak_bytes(n: int | None) -> dict:
        doc = copy.deepcopy(analysed_document)
        if n is None:
            doc["leaks"] = []
        else:
            doc["leaks"][0]["retained_bytes"] = n
        return doc

    signature = analysed_document["leaks"][0]["signature"]
    documents = {"a": with_leak_bytes(500), "b": with_leak_bytes(900)}
    rows = {}
    for key, doc in documents.items():
        report, _ = upload(database, store, project, DUMP_GZ, key=key)
        rows[key] = report.id
        with database() as s:
            row = s.get(Report, report.id)
            row.report_json = json.dumps(doc)
            fold.fold(s, row, doc)
            s.commit()

    def representative():
        with database() as s:
            issue = s.scalar(select(Issue).where(Issue.signature == signature))
            return (issue.representative_report_id, issue.representative_bytes,
                    json.loads(issue.representative)["retained_bytes"])

    assert representative() == (rows["b"], 900, 900)
    for again, expected in ((with_leak_bytes(300), (rows["a"], 500, 500)),  # b retains less now
                            (with_leak_bytes(None), (rows["a"], 500, 500)),  # b has no leak
                            (with_leak_bytes(700), (rows["b"], 700, 700))):  # b is biggest again
        with database() as s:
            row = s.get(Report, rows["b"])
            row.report_json = json.dumps(again)
            fold.refold(s, row, again)
            s.commit()
        assert representative() == expected


def test_versions_compare_by_their_numbers():
    from oomlens.server.issues.versions import is_later

    assert is_later("1.10", "1.9") and is_later("2.0", "1.99.1") and is_later("1.2", "")
    assert not is_later("1.9", "1.10") and not is_later("1.1", "1.1") and not is_later("", "1")


def test_the_job_stops_decompressing_at_the_limit(tmp_path):
    from oomlens.errors import HprofFormatError
    from oomlens.server.reports.decompress import TooBig, decompressed_copy

    hprof = gzip.decompress(DUMP_GZ)
    target = tmp_path / "dump.hprof"
    decompressed_copy(io.BytesIO(DUMP_GZ), "gzip", target, len(hprof))
    assert target.read_bytes() == hprof
    with pytest.raises(TooBig, match="more than 1,000,000 bytes"):
        decompressed_copy(io.BytesIO(DUMP_GZ), "gzip", target, 1_000_000)
    broken = bytearray(zstandard.ZstdCompressor(write_checksum=True).compress(hprof))
    broken[len(broken) // 2] ^= 0xFF
    with pytest.raises(HprofFormatError, match="the uploaded dump: corrupt zstd stream"):
        decompressed_copy(io.BytesIO(bytes(broken)), "zstd", target, 1 << 30)
