"""The numbers kept on each issue's row (reports, devices, total and median retained bytes,
versions, first and last seen) against the same numbers computed here from the issue_reports
rows, after folds, a re-fold that moves a report to another issue, and a migration backfill; and
the issue list filtered, sorted and paged by the database. On a SQLite file and the local
PostgreSQL, a fresh database per test.

The median convention: for an even number of reports, the mean of the two middle sizes rounded
down to a whole byte (``int(statistics.median(sizes))``); for an odd number, the middle one."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select

from services import NO_POSTGRES, drop_postgres, postgres_url
from oomlens.server.core import db
from oomlens.server.core.models import Issue, IssueReport, Project, Report
from oomlens.server.core.vocabulary import ReportStatus
from oomlens.server.issues import fold, queries as issue_queries, trends
from oomlens.server.issues.versions import version_key

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FIRST_DAY, TREND_DAYS = T0.date() - timedelta(days=1), 4  # the reports come over 2 days


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'oomlens.db'}" if request.param == "sqlite" else \
        postgres_url()
    if url is None:
        pytest.fail(NO_POSTGRES)
    db.upgrade(url)
    engine = db.make_engine(url)
    yield url, db.sessions(engine)
    engine.dispose()
    if request.param == "postgresql":
        drop_postgres(url)


def leak(signature: str, retained: int, cls: str = "com.example.Leaky") -> dict:
    return {"signature": signature, "class": cls, "reason": "destroyed",
            "retained_bytes": retained}


def document(*leaks: dict) -> dict:
    """The part of an oomlens.report/1 document that folding reads."""
    return {"leaks": list(leaks), "oom_cause": {"kind": "heap-exhausted"}}


def add_report(s, project: Project, name: str, version: str, device: str, hours: float) -> Report:
    report = Report(id=name, project_id=project.id, idempotency_key=name, status=ReportStatus.DONE,
                    received_at=T0 + timedelta(hours=hours), app_version=version,
                    device_model=device, dump_key=f"{name}.dump", dump_bytes=1,
                    dump_format="gzip")
    s.add(report)
    s.flush()
    return report


def expected_numbers(s, issue_id: int) -> dict:
    """What the issue's row (and its days) must say, from its issue_reports rows, in Python."""
    rows = s.scalars(select(IssueReport).where(IssueReport.issue_id == issue_id)).all()
    sizes = [r.retained_bytes for r in rows]
    per_day = Counter(naive_utc(r.seen_at).date() for r in rows)
    return {"reports": len(rows), "devices": len({r.device_model for r in rows}),
            "total_retained_bytes": sum(sizes),
            "median_retained_bytes": int(statistics.median(sizes)),
            "versions": sorted({r.app_version for r in rows}, key=version_key),
            "first_seen": naive_utc(min(r.seen_at for r in rows)),
            "last_seen": naive_utc(max(r.seen_at for r in rows)),
            "trend": [per_day[FIRST_DAY + timedelta(days=n)] for n in range(TREND_DAYS)]}


def naive_utc(t: datetime) -> datetime:
    """SQLite gives back UTC wall times, PostgreSQL instants in the session's zone."""
    return t if t.tzinfo is None else t.astimezone(UTC).replace(tzinfo=None)


def listed_numbers(s, issue: dict) -> dict:
    shown = {k: issue[k] for k in ("reports", "devices", "total_retained_bytes",
                                    "median_retained_bytes", "versions")}
    trend = trends.reports_per_day(s, [issue["id"]], TREND_DAYS,
                                   today=FIRST_DAY + timedelta(days=TREND_DAYS - 1))
    return {**shown, "first_seen": naive_utc(issue["first_seen"]),
            "last_seen": naive_utc(issue["last_seen"]),
            "trend": trend[issue["id"]]["reports_per_day"]}


def assert_exact(s, project: Project) -> list[dict]:
    issues = issue_queries.list_issues(s, project.id)
    assert issues
    for issue in issues:
        assert listed_numbers(s, issue) == expected_numbers(s, issue["id"]), issue["title"]
    return issues


@pytest.fixture
def folded(database):
    """Issue A: 4 reports of 100, 200, 301 and 1000 bytes (3 devices, versions 1.9, 1.10,
    2.0); issue B: 1 report; C: 3 reports; folded one report at a time, 8 hours apart."""
    _, sessions = database
    with sessions() as s:
        project = Project(slug="app", name="App", created_at=T0)
        s.add(project)
        s.flush()
        plan = [("r1", "1.9", "Pixel 7", [leak("A", 100), leak("C", 7)]),
                ("r2", "1.10", "Pixel 7", [leak("A", 1000), leak("C", 9)]),
                ("r3", "2.0", "Galaxy S9", [leak("A", 301), leak("B", 5000, "com.x.Big")]),
                ("r4", "1.10", "Moto G", [leak("A", 200), leak("C", 8)])]
        for n, (name, version, device, leaks) in enumerate(plan):
            fold.fold(s, add_report(s, project, name, version, device, 8 * n),
                      document(*leaks))
            s.commit()
        return sessions, project


def by_signature(issues: list[dict]) -> dict[str, dict]:
    """Issues by the signatures these documents gave ("A"): folding stores them versioned, as
    the scheme-1 signatures of bare digests (``leak/1:A``)."""
    return {i["signature"].removeprefix("leak/1:"): i for i in issues}


def test_folds_keep_every_number_exact_and_the_median_of_an_even_count_rounds_down(folded):
    sessions, project = folded
    with sessions() as s:
        issues = by_signature(assert_exact(s, project))
        a = issues["A"]
        assert (a["reports"], a["devices"], a["total_retained_bytes"]) == (4, 3, 1601)
        assert a["median_retained_bytes"] == 250  # (200 + 301) // 2
        assert a["versions"] == ["1.9", "1.10", "2.0"]  # by number, not as text
        assert listed_numbers(s, a)["trend"] == [0, 2, 2, 0]  # reports per UTC day
        assert (issues["C"]["median_retained_bytes"], issues["B"]["reports"]) == (8, 1)
        # a fifth report: an odd count's median is its middle size
        fold.fold(s, add_report(s, project, "r5", "2.0", "Pixel 7", 40),
                  document(leak("A", 250_000)))
        s.commit()
        a = by_signature(assert_exact(s, project))["A"]
        assert (a["reports"], a["median_retained_bytes"]) == (5, 301)
        assert listed_numbers(s, a)["trend"] == [0, 2, 2, 1]


def test_a_refold_takes_the_report_back_from_what_it_counted_for(folded):
    """A re-analysis with its version's mapping: r3's B was an obfuscated name; r3 now counts
    for A (smaller) and D instead. B, left with no report, goes; A's numbers are recomputed,
    including in the session that re-folded (the loaded issue is not stale)."""
    sessions, project = folded
    with sessions() as s:
        a_id = s.scalar(select(Issue.id).where(Issue.signature == "leak/1:A"))
        loaded = s.get(Issue, a_id)
        assert loaded.reports == 4
        r3 = s.get(Report, "r3")
        fold.refold(s, r3, document(leak("A", 150), leak("D", 42, "com.x.Real")))
        assert (loaded.reports, loaded.median_retained_bytes) == (4, 175)  # (150 + 200) // 2
        assert loaded.total_retained_bytes == 100 + 1000 + 150 + 200
        s.commit()
        issues = by_signature(assert_exact(s, project))
        assert set(issues) == {"A", "C", "D"}
        assert naive_utc(issues["D"]["first_seen"]) == naive_utc(T0 + timedelta(hours=16))
        # r1 leaves A altogether: one report fewer, and A's first sighting is r2's now
        fold.refold(s, s.get(Report, "r1"), document(leak("C", 7)))
        s.commit()
        a = by_signature(assert_exact(s, project))["A"]
        assert (a["reports"], a["versions"], a["median_retained_bytes"]) == \
            (3, ["1.10", "2.0"], 200)
        assert naive_utc(a["first_seen"]) == naive_utc(T0 + timedelta(hours=8))


def test_the_migration_fills_the_numbers_from_the_rows_already_there(folded, database):
    url, _ = database
    sessions, project = folded
    with sessions() as s:
        before = [listed_numbers(s, i) for i in issue_queries.list_issues(s, project.id)]
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    command.downgrade(config, "0007")  # the columns go, the issue_reports rows stay
    db.upgrade(url)
    with sessions() as s:
        assert [listed_numbers(s, i) for i in assert_exact(s, project)] == before


def test_the_list_filters_sorts_and_pages_in_the_database(folded):
    sessions, project = folded
    with sessions() as s:
        for n, title in enumerate(["big b-c", "big bc", "big B d", "big b.c"]):
            s.add(Issue(project_id=project.id, kind="big_object", signature=f"t{n}", title=title,
                        status="open", first_seen=T0, last_seen=T0, representative="{}",
                        representative_report_id="r1", representative_bytes=0,
                        owner="@team" if n % 2 else ""))
        s.commit()
        everything = issue_queries.list_issues(s, project.id)
        assert len(everything) == issue_queries.count_issues(s, project.id) == 7
        for sort in issue_queries.SORTABLE:
            for descending in (False, True):
                got = issue_queries.list_issues(s, project.id, sort=sort, descending=descending)
                key = sort_key(sort)
                assert [i["id"] for i in got] == [i["id"] for i in sorted(
                    everything, key=lambda i: (key(i), i["id"]), reverse=descending)], sort
                pages = [issue_queries.list_issues(s, project.id, sort=sort,
                                                 descending=descending, limit=3, offset=start)
                         for start in (0, 3, 6)]
                assert [i["id"] for page in pages for i in page] == [i["id"] for i in got]
        assert [i["signature"] for i in everything[:3]] == \
            ["leak/1:A", "leak/1:C", "leak/1:B"]  # most reports
        filters = {"version": "1.10", "kind": "leak"}
        assert {i["signature"] for i in issue_queries.list_issues(s, project.id, **filters)} == \
            {"leak/1:A", "leak/1:C"} and issue_queries.count_issues(s, project.id, **filters) == 2
        assert {i["title"] for i in issue_queries.list_issues(s, project.id, owner="-",
                                                            q="BIG B")} == {"big b-c", "big B d"}
        assert issue_queries.count_issues(s, project.id, q="com.x.big") == 1
        # what the page's filter lists offer
        assert issue_queries.known_versions(s, project.id) == ["2.0", "1.10", "1.9"]
        assert issue_queries.known_owners(s, project.id) == ["@team"]


def sort_key(sort: str):
    """How Python orders a column of the list: text by code points of its lower case."""
    def key(issue: dict):
        value = issue[sort]
        if sort == "versions":
            return len(value)
        if isinstance(value, datetime):
            return naive_utc(value)
        return (value or "").lower() if sort in ("title", "owner") else value
    return key

