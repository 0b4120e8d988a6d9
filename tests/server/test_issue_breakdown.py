"""Where an issue was seen (issue_breakdown) on a real SQLite file and the local PostgreSQL: counts
by version, device, OS level and capture trigger grouped in the database, and the retained size
histogram."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from test_server_store import database, project  # noqa: F401 (fixtures: SQLite, PostgreSQL)

from oomlens.server.core.models import Issue, IssueReport, Report
from oomlens.server.issues.breakdown import breakdown, retained_histogram

SEEN = [  # app version, device, OS version, API level, retained bytes
    ("1.10", "Pixel 8", "14", 34, 900), ("1.9", "Pixel 8", "14", 34, 1000),
    ("1.9", "Pixel 7", "13", 33, 1100), ("1.9", "Pixel 7", "", None, 5000),
    ("", "", "", None, 5001),
]
TRIGGERS = ["oom", "thread-threshold", "oom", "", "oom"]  # the capture of each report


def test_counts_are_grouped_per_issue_and_versions_sort_by_their_numbers(database, project):  # noqa: F811
    now = datetime.now(UTC)
    with database() as s:
        issues = [Issue(project_id=project.id, kind="leak", signature=name, title=name,
                        first_seen=now, last_seen=now, representative_report_id="r0",
                        representative_bytes=1, representative="{}") for name in ("a", "b")]
        s.add_all(issues)
        s.flush()
        for i, (version, device, os_version, api_level, size) in enumerate(SEEN):
            s.add(Report(id=f"r{i}", project_id=project.id, idempotency_key=f"r{i}",
                         status="done", received_at=now, app_version=version,
                         device_model=device, os_version=os_version, api_level=api_level,
                         trigger=TRIGGERS[i], dump_key="k", dump_bytes=1, dump_format="hprof"))
            s.flush()
            s.add(IssueReport(issue_id=issues[0].id, report_id=f"r{i}", retained_bytes=size,
                              app_version=version, device_model=device, seen_at=now))
        # the other issue's report must not be counted for the first one
        s.add(IssueReport(issue_id=issues[1].id, report_id="r0", retained_bytes=7,
                          app_version="1.10", device_model="Pixel 8", seen_at=now))
        s.commit()
        found = breakdown(s, issues[0].id)
    assert found["versions"] == [{"version": "", "reports": 1}, {"version": "1.9", "reports": 3},
                                 {"version": "1.10", "reports": 1}]
    assert found["devices"] == [{"device_model": "Pixel 7", "reports": 2},
                                {"device_model": "Pixel 8", "reports": 2},
                                {"device_model": "", "reports": 1}]
    assert found["os_levels"] == [{"os_version": "14", "api_level": 34, "reports": 2},
                                  {"os_version": "", "api_level": None, "reports": 2},
                                  {"os_version": "13", "api_level": 33, "reports": 1}]
    assert found["triggers"] == [{"trigger": "oom", "reports": 3},  # most first, then by name
                                 {"trigger": "", "reports": 1},
                                 {"trigger": "thread-threshold", "reports": 1}]
    # 5 sizes: Sturges gives 4 bins of 1,026 bytes from 900 to 5,001
    assert found["retained_histogram"] == [
        {"from": 900, "to": 1925, "reports": 3}, {"from": 1926, "to": 2951, "reports": 0},
        {"from": 2952, "to": 3977, "reports": 0}, {"from": 3978, "to": 5001, "reports": 2}]


def test_histogram_bins_cover_every_size_once():
    assert retained_histogram([]) == []
    assert retained_histogram([848] * 9) == [{"from": 848, "to": 848, "reports": 9}]
    generator = random.Random(6)
    for _ in range(500):
        high = generator.choice([3, 40, 10**6, 10**10])
        sizes = [generator.randint(0, high) for _ in range(generator.randint(1, 400))]
        bins = retained_histogram(sizes)
        assert bins[0]["from"] == min(sizes) and bins[-1]["to"] == max(sizes)
        assert len(bins) <= min(12, len(set(sizes)))
        for before, after in zip(bins, bins[1:], strict=False):
            assert after["from"] == before["to"] + 1  # adjacent, no gap, no overlap
        for b in bins:
            assert b["reports"] == sum(b["from"] <= size <= b["to"] for size in sizes)
