"""The read side of the server, through a real `oomlens serve`: the report list and its filters
and pages, a report's dump downloaded as a standard HPROF (restored from a stripped upload,
renamed with its version's R8 mapping), issue status changes and per-day trends, and the upload
size limit applied before a body is read. The day grouping and the page order are also checked
on the local PostgreSQL, where time zones and ties behave differently from SQLite."""

from __future__ import annotations

import gzip
import json
import select
import socket
import sqlite3
import subprocess
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import text
from serverrun import DUMP, OOMLENS, Server, upload, wait_done
from test_server_store import database, project  # noqa: F401 (fixtures: SQLite, PostgreSQL)

from conftest import DATA
from oomlens.server.core import db
from oomlens.server.core.models import Issue, IssueReport, Report
from oomlens.server.issues import trends
from oomlens.server.issues.counters import recompute
from oomlens.server.reports import queries as report_queries

THREADS_OOM = "java.lang.OutOfMemoryError: pthread_create (1040KB stack) failed: Try again"
AHAT = DATA / "art_ahat_test-dump.hprof.gz"
AHAT_MAP = DATA / "art_ahat_test-dump.map"
LIMIT_MB = 2


def cli_json(*args) -> dict:
    out = subprocess.run([*OOMLENS, *map(str, args), "--no-progress"], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def analyze(path, *extra) -> dict:
    return cli_json("analyze", "--format", "json", *extra, path)


class Api:
    def __init__(self, server: Server, key: str):
        self.url, self.headers = f"{server.url}/api/v1", {"Authorization": f"Bearer {key}"}

    def get(self, path: str, **params) -> httpx.Response:
        return httpx.get(self.url + path, params=params, headers=self.headers, timeout=60)

    def ok(self, path: str, **params):
        answer = self.get(path, **params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def ids(self, **params) -> set[str]:
        return {r["id"] for r in self.ok("/reports", **params)["reports"]}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One server, two projects. In "app": four reports of two real dumps (versions 1.0, 1.1
    and r8; two devices; two OOM causes; one stripped by `oomlens strip` before its upload);
    the first is moved three days back in time. In "other": one report."""
    work = tmp_path_factory.mktemp("reads")
    server = Server(work / "data")
    server.env.update({"OOMLENS_MAX_UPLOAD_MB": str(LIMIT_MB), "OOMLENS_ANALYSIS_WORKERS": "2"})
    keys = server.create_project("app")
    other = server.create_project("other")
    stripped = work / "stripped.hprof"
    subprocess.run([*OOMLENS, "strip", DUMP, stripped, "--no-progress"], check=True,
                   capture_output=True, timeout=120)
    server.start()
    ingest = keys["ingest_key"]
    sent = {
        "old": upload(server, ingest, idem="old", app_version="1.0", device_model="Pixel 7"),
        "threads": upload(server, ingest, idem="threads", app_version="1.1",
                          device_model="Galaxy S9", oom_message=THREADS_OOM),
        "stripped": upload(server, ingest, path=stripped, idem="stripped", app_version="1.1",
                           device_model="Pixel 7"),
        "r8": upload(server, ingest, path=AHAT, idem="r8", app_version="r8",
                     device_model="Emulator", oom_message=""),
    }
    ids = {name: answer.json()["id"] for name, answer in sent.items()}
    foreign = upload(server, other["ingest_key"], idem="x").json()["id"]
    for report_id in [*ids.values(), foreign]:
        assert wait_done(server, keys["read_key"] if report_id != foreign else
                         other["read_key"], report_id)["status"] == "done"
    three_days_ago = datetime.now(UTC) - timedelta(days=3)
    stamp = three_days_ago.strftime("%Y-%m-%d %H:%M:%S.%f")  # as SQLAlchemy stores it
    with sqlite3.connect(server.data_dir / "oomlens.db") as db:
        db.execute("update reports set received_at=? where id=?", (stamp, ids["old"]))
        db.execute("update issue_reports set seen_at=? where report_id=?", (stamp, ids["old"]))
    recount(server, ids["old"])
    yield {"server": server, "keys": keys, "other": other, "ids": ids, "foreign": foreign,
           "stripped": stripped, "work": work, "three_days_ago": three_days_ago}
    if server.process and server.process.poll() is None:
        server.kill()


def recount(server: Server, report_id: str) -> None:
    """After moving a report in time behind the server's back: its issues' aggregates and
    days counted again, as folding keeps them."""
    engine = db.make_engine(f"sqlite:///{server.data_dir / 'oomlens.db'}")
    with db.sessions(engine)() as s:
        recompute(s, [row.issue_id for row in s.query(IssueReport.issue_id)
                      .filter(IssueReport.report_id == report_id)])
        s.commit()
    engine.dispose()


def test_report_list_filters_return_exactly_the_matching_reports(world):
    api, ids = Api(world["server"], world["keys"]["read_key"]), world["ids"]
    everything = set(ids.values())
    assert api.ids() == everything  # not the other project's report
    assert api.ids(version="1.1") == {ids["threads"], ids["stripped"]}
    assert api.ids(device="Pixel 7") == {ids["old"], ids["stripped"]}
    assert api.ids(version="1.1", device="Pixel 7") == {ids["stripped"]}
    assert api.ids(cause="thread-limit") == {ids["threads"]}
    assert api.ids(cause="heap-exhausted") == {ids["old"], ids["stripped"]}
    assert api.ids(status="done") == everything and api.ids(status="queued") == set()
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert api.ids(since=yesterday) == everything - {ids["old"]}
    assert api.ids(until=yesterday) == {ids["old"]}
    naive = (datetime.now(UTC) - timedelta(days=1)).replace(tzinfo=None).isoformat()
    assert api.ids(until=naive) == {ids["old"]}  # no zone: UTC
    row = api.ok(f"/reports/{ids['threads']}")
    listed = [r for r in api.ok("/reports")["reports"] if r["id"] == ids["threads"]]
    assert listed == [row] and row["oom_cause"] == "thread-limit"
    for bad, word in (({"status": "finished"}, "status"), ({"cause": "oom"}, "cause"),
                      ({"since": "last week"}, "since"), ({"limit": 0}, "limit"),
                      ({"limit": 100000}, "limit"), ({"cursor": "!!"}, "cursor"),
                      ({"since": yesterday, "until": yesterday}, "since")):
        answer = api.get("/reports", **bad)
        assert answer.status_code == 422, (bad, answer.text)
        detail = answer.json()["detail"]
        assert isinstance(detail, str) and word in detail and "\n" not in detail
    assert Api(world["server"], world["keys"]["ingest_key"]).get("/reports").status_code == 403


@pytest.mark.parametrize("limit", [1, 3])
def test_pages_show_every_report_once_newest_first(world, limit):
    api = Api(world["server"], world["keys"]["read_key"])
    seen, cursor, pages = [], None, 0
    while True:
        page = api.ok("/reports", limit=limit, **({"cursor": cursor} if cursor else {}))
        assert len(page["reports"]) <= limit
        seen += page["reports"]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert sorted(r["id"] for r in seen) == sorted(world["ids"].values())
    assert pages == -(-len(world["ids"]) // limit)
    times = [r["received_at"] for r in seen]
    assert times == sorted(times, reverse=True)
    assert seen[-1]["id"] == world["ids"]["old"]


def download(world, name: str, target, **params) -> httpx.Response:
    api = Api(world["server"], world["keys"]["read_key"])
    answer = api.get(f"/reports/{world['ids'][name]}/dump", **params)
    if answer.status_code == 200:
        target.write_bytes(answer.content)
    return answer


def test_a_stripped_upload_downloads_as_a_restored_hprof_with_the_same_findings(world):
    target = world["work"] / "restored.hprof"
    answer = download(world, "stripped", target)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"] == \
        f'attachment; filename="oomlens-report-{world["ids"]["stripped"]}.hprof"'
    original = gzip.decompress(DUMP.read_bytes())
    restored = target.read_bytes()
    assert restored.startswith(b"JAVA PROFILE 1.0.3\0") and len(restored) == len(original)
    assert restored != original  # the strings strip emptied are zeros now, not the text
    ignore = ("file", "file_bytes", "compression")
    info, expected_info = cli_json("info", "--json", target), cli_json("info", "--json", DUMP)
    assert {k: v for k, v in info.items() if k not in ignore} == \
        {k: v for k, v in expected_info.items() if k not in ignore}
    doc, expected = analyze(target), analyze(DUMP)
    for section in ("summary", "histogram", "big_objects", "class_clusters", "top_retained",
                    "library_leaks"):
        assert doc[section] == expected[section], section
    shape = lambda leaks: [(x["signature"], x["class"], x["retained_bytes"], x["objects"])  # noqa: E731
                           for x in leaks]
    assert shape(doc["leaks"]) == shape(expected["leaks"]) and doc["leaks"]


def test_an_unstripped_upload_downloads_byte_for_byte_also_gzip_compressed(world):
    target = world["work"] / "old.hprof.gz"
    answer = download(world, "old", target, format="gzip")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/gzip"
    assert answer.headers["content-disposition"].endswith('.hprof.gz"')
    assert gzip.decompress(target.read_bytes()) == gzip.decompress(DUMP.read_bytes())
    bad = download(world, "old", target, format="zip")
    assert bad.status_code == 422 and "format" in bad.json()["detail"]
    other = Api(world["server"], world["other"]["read_key"])
    assert other.get(f"/reports/{world['ids']['old']}/dump").status_code == 404


def test_an_r8_dump_downloads_with_the_real_names_of_its_versions_mapping(world):
    server, keys = world["server"], world["keys"]
    put = httpx.put(f"{server.url}/api/v1/mappings/r8", content=AHAT_MAP.read_bytes(),
                    headers={"Authorization": f"Bearer {keys['ingest_key']}"}, timeout=60)
    assert put.status_code == 200, put.text
    scratch = server.data_dir / "scratch"  # where downloads are made (server/core/scratch.py)
    target = world["work"] / "r8.hprof"
    answer = download(world, "r8", target)
    assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + 5  # removed once the response is sent
    while list(scratch.glob("download-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(scratch.glob("download-*"))
    histogram = {row["class"]: row["instances"] for row in analyze(target)["histogram"]}
    obfuscated = {row["class"]: row["instances"] for row in analyze(AHAT)["histogram"]}
    retraced = {row["class"]: row["instances"]
                for row in analyze(AHAT, "--mapping", AHAT_MAP)["histogram"]}
    assert histogram == retraced
    assert obfuscated["o"] == 20000 and "o" not in histogram
    assert histogram["DumpedStuff$StackSmasher"] == 20000
    # the mapping queued the report again: let it finish before other tests count states
    assert wait_done(server, keys["read_key"], world["ids"]["r8"])["status"] == "done"


def test_a_dump_that_is_not_an_hprof_is_409_with_the_reason(world):
    server, keys = world["server"], world["other"]  # "app" keeps its four reports
    bad = world["work"] / "bad.hprof.gz"
    bad.write_bytes(gzip.compress(b"JAVA PROFILE 1.0.2\0" + b"\0\0\0\x09" + bytes(64)))
    report_id = upload(server, keys["ingest_key"], path=bad, idem="bad",
                       app_version="0.9").json()["id"]
    state = wait_done(server, keys["read_key"], report_id)
    assert state["status"] == "failed" and "identifier size 9" in state["error"]
    answer = Api(server, keys["read_key"]).get(f"/reports/{report_id}/dump")
    assert answer.status_code == 409
    detail = answer.json()["detail"]
    assert "identifier size 9" in detail and "/tmp" not in detail and "oomlens-" not in detail


def test_issue_trends_count_the_reports_of_each_day(world):
    api = Api(world["server"], world["keys"]["read_key"])
    leak = api.ok(f"/reports/{world['ids']['old']}/report")["leaks"][0]
    issues = api.ok("/issues")
    issue = next(i for i in issues if i["signature"] == leak["signature"])
    reports = api.ok(f"/issues/{issue['id']}/reports")
    assert {r["id"] for r in reports["reports"]} == \
        {world["ids"][n] for n in ("old", "threads", "stripped")}
    assert {r["retained_bytes"] for r in reports["reports"]} == {leak["retained_bytes"]}
    per_day = Counter(r["received_at"][:10] for r in reports["reports"])
    for days in (2, 30):
        trend = api.ok(f"/issues/{issue['id']}", days=days)["trend"]
        first = date.fromisoformat(trend["from"])
        assert (date.fromisoformat(trend["to"]) - first).days == days - 1
        assert trend["reports_per_day"] == [per_day[(first + timedelta(d)).isoformat()]
                                            for d in range(days)]
    assert sum(trend["reports_per_day"]) == 3 and max(trend["reports_per_day"]) == 2
    listed = next(i for i in api.ok("/issues", days=30) if i["id"] == issue["id"])
    assert listed["trend"] == trend
    paged = api.ok(f"/issues/{issue['id']}/reports", limit=2)
    rest = api.ok(f"/issues/{issue['id']}/reports", limit=2, cursor=paged["next"])
    assert [r["id"] for r in paged["reports"] + rest["reports"]] == \
        [r["id"] for r in reports["reports"]] and rest["next"] is None
    for bad in ({"days": 0}, {"days": 366}):
        assert api.get(f"/issues/{issue['id']}", **bad).status_code == 422
    assert api.get("/issues/999999/reports").status_code == 404


def test_issue_list_filters_and_sorts(world):
    api = Api(world["server"], world["keys"]["read_key"])
    issues = api.ok("/issues")
    leak = next(i for i in issues if i["kind"] == "leak")
    found = api.ok("/issues", q="leakyservice")  # a class name, in another case
    assert leak["id"] in {i["id"] for i in found}
    assert all("leakyservice" in (i["title"] + i["signature"]).lower() for i in found)
    assert [i["id"] for i in api.ok("/issues", q=leak["signature"][2:9].upper())] == [leak["id"]]
    assert api.ok("/issues", q="no class is called this") == []
    for column in ("reports", "total_retained_bytes", "title", "last_seen", "kind"):
        for direction in ("asc", "desc"):
            got = api.ok("/issues", sort=column, direction=direction)
            values = [i[column].casefold() if isinstance(i[column], str) else i[column]
                      for i in got]
            assert values == sorted(values, reverse=direction == "desc"), (column, direction)
            assert len(got) == len(issues)
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert api.ok("/issues", since=future) == []
    assert len(api.ok("/issues", until=future)) == len(issues)
    bad = api.get("/issues", sort="colour")
    assert bad.status_code == 422 and bad.json()["detail"].startswith("sort:")


def test_issue_status_changes_need_the_admin_key_fixed_reopens_ignored_stays(world):
    """Its own project, so that the later uploads change no other test's counts."""
    server = world["server"]
    keys = server.create_project("status")
    read, admin = Api(server, keys["read_key"]), Api(server, keys["admin_key"])

    def analysed(version: str) -> None:
        answer = upload(server, keys["ingest_key"], idem=version, app_version=version)
        assert wait_done(server, keys["read_key"], answer.json()["id"])["status"] == "done"

    analysed("1.0")
    issues = read.ok("/issues")
    leak = next(i for i in issues if i["kind"] == "leak")

    def patch(api: Api, issue: dict, **body) -> httpx.Response:
        return httpx.patch(f"{api.url}/issues/{issue['id']}", json=body, headers=api.headers,
                           timeout=30)

    assert patch(read, leak, status="ignored").status_code == 403
    for body in ({"status": "fixed"}, {"status": "closed"},
                 {"status": "open", "fixed_in_version": "1.1"}, {}):
        answer = patch(admin, leak, **body)
        assert answer.status_code == 422, body
        assert isinstance(answer.json()["detail"], str)
    fixed = patch(admin, leak, status="fixed", fixed_in_version="1.1").json()
    assert (fixed["status"], fixed["fixed_in_version"]) == ("fixed", "1.1")
    assert [i["id"] for i in read.ok("/issues", status="fixed")] == [leak["id"]]
    foreign = Api(server, world["keys"]["admin_key"])
    assert patch(foreign, leak, status="open").status_code == 404
    analysed("1.1")  # the version with the fix, on an old install: still fixed
    assert read.ok(f"/issues/{leak['id']}")["status"] == "fixed"
    analysed("1.2")  # a later version than the fix: the leak is back
    again = read.ok(f"/issues/{leak['id']}")
    assert again["status"] == "open" and again["regressed_at"] and again["reports"] == 3
    ignored = patch(admin, leak, status="ignored").json()
    assert ignored["status"] == "ignored" and ignored["fixed_in_version"] is None
    analysed("1.3")  # an ignored issue stays ignored, whatever version shows it
    last = read.ok(f"/issues/{leak['id']}")
    assert last["status"] == "ignored" and last["reports"] == 4
    assert patch(admin, leak, status="open").json()["status"] == "open"


def raw_request(server: Server, head: str) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    conn.sendall(head.encode())
    return conn


def read_response(conn: socket.socket, timeout: float = 10) -> bytes:
    data, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = conn.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
        if b"\r\n\r\n" in data and data.split(b"\r\n\r\n", 1)[1].endswith(b"}"):
            break
    return data


def test_a_declared_2_gb_upload_is_refused_at_once_without_its_body(world):
    server, keys = world["server"], world["keys"]
    for method, path in (("POST", "/api/v1/reports"), ("PUT", "/api/v1/mappings/9.9")):
        started = time.monotonic()
        conn = raw_request(server, f"{method} {path} HTTP/1.1\r\nHost: x\r\n"
                                   f"Authorization: Bearer {keys['ingest_key']}\r\n"
                                   "Idempotency-Key: huge\r\nContent-Length: 2147483648\r\n"
                                   "Content-Type: multipart/form-data; boundary=b\r\n\r\n")
        answer = read_response(conn)
        conn.close()
        assert time.monotonic() - started < 1.0
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"2,147,483,648 bytes" in answer


def test_a_chunked_upload_is_cut_off_once_past_the_limit(world):
    server, keys = world["server"], world["keys"]
    api = Api(server, keys["read_key"])
    before = api.ids()
    conn = raw_request(server, "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n"
                               f"Authorization: Bearer {keys['ingest_key']}\r\n"
                               "Idempotency-Key: chunked\r\nTransfer-Encoding: chunked\r\n"
                               "Content-Type: multipart/form-data; boundary=b\r\n\r\n")
    part = (b'--b\r\nContent-Disposition: form-data; name="dump"; filename="d.hprof"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\nJAVA PROFILE 1.0.2\0")
    chunks = [part] + [bytes(64 << 10)] * 1024  # 64 MiB if nobody stops it
    sent, answer = 0, b""
    for chunk in chunks:
        if select.select([conn], [], [], 0)[0]:
            answer = read_response(conn)
            break
        try:
            conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            answer = read_response(conn)
            break
        sent += len(chunk)
    conn.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"OOMLENS_MAX_UPLOAD_MB" in answer
    assert sent < 32 << 20  # cut off: most of the 64 MiB was never taken
    assert api.ids() == before  # nothing was stored
    assert httpx.get(f"{server.url}/api/v1/health", timeout=10).status_code == 200


def test_days_are_utc_days_and_ties_page_by_id_on_sqlite_and_postgresql(database, project):  # noqa: F811
    """Reports at 23:30 and 00:30 UTC fall on two days even when the database session's zone
    is Tokyo's; reports received at the same instant page in id order, none lost."""
    today = date(2026, 3, 10)
    at = lambda day, hh, mm: datetime(2026, 3, day, hh, mm, tzinfo=UTC)  # noqa: E731
    tokyo = timezone(timedelta(hours=9))
    times = {"a": at(9, 23, 30), "b": at(10, 0, 30).astimezone(tokyo), "c": at(10, 12, 0),
             "d": at(10, 12, 0), "e": at(10, 12, 0), "f": at(3, 12, 0)}  # f: before the window
    with database() as s:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SET TIME ZONE 'Asia/Tokyo'"))
        issue = Issue(project_id=project.id, kind="leak", signature="s", title="t",
                      first_seen=times["f"], last_seen=times["e"], representative_report_id="a",
                      representative_bytes=1, representative="{}")
        s.add(issue)
        s.flush()
        for name, when in times.items():
            s.add(Report(id=name, project_id=project.id, idempotency_key=name, status="done",
                         received_at=when, dump_key=name, dump_bytes=1, dump_format="hprof"))
            s.flush()
            s.add(IssueReport(issue_id=issue.id, report_id=name, retained_bytes=1,
                              app_version="1", device_model="d", seen_at=when))
        recompute(s, [issue.id])  # what fold does after adding rows: the days are counted
        s.commit()
        trend = trends.reports_per_day(s, [issue.id], 3, today=today)[issue.id]
        assert trend == {"from": "2026-03-08", "to": "2026-03-10", "reports_per_day": [0, 1, 4]}
        seen, cursor = [], None
        while True:
            page = report_queries.issue_reports(s, project.id, issue.id, limit=2, cursor=cursor)
            seen += [r["id"] for r in page["reports"]]
            if not (cursor := page["next"]):
                break
        assert seen == ["e", "d", "c", "b", "a", "f"]
        window = report_queries.ReportFilter(since=at(9, 23, 30), until=at(10, 12, 0))
        assert [r["id"] for r in report_queries.list_reports(s, project.id, window)["reports"]] \
            == ["b", "a"]
