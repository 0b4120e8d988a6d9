"""Benchmark: the dashboard's issues page with 10,000 issues and 100,000 reports.

    python bench/issues_page.py [--issues 10000] [--reports 100000] [--requests 30]
    (or: make bench-issues)

The goal (issue 6): the issues page answers in under 300 ms with 10,000 issues and 100,000
reports in the database. The rows are generated straight into a fresh SQLite file and a fresh
database on the local PostgreSQL (dropped afterwards), with a realistic spread: issue popularity
falls off as a power law (the commonest issues have thousands of reports, most have a handful),
each report counts for one to three issues, 30 days of arrival times, 20 app versions (newer ones
later in the month), 200 device models, owners for most issues, a few fixed or ignored. Their
aggregates are then computed by ``issues.counters.recompute`` (the code that fold runs), timed.

A real ``oomlens serve`` runs on each database; requests carry a read key as a Bearer token
(the page accepts it like a login). Timed per view, after 3 unmeasured requests: ``--requests``
sequential GETs over one keep-alive connection, p50 and p95 of the wall time from request to
the last byte:

- ``/issues``: the default view (most reports first, page 1 of 50 rows, sparklines);
- a filtered view (kind, status and version); the list sorted by median retained size; a search
  for a class name;
- ``/api/v1/issues?limit=50``, the same query as JSON.

Not a unit test: nothing here asserts a time. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, select, text

from oomlens.server.core import db, keys
from oomlens.server.core.models import Issue, IssueReport, Project, Report
from oomlens.server.core.vocabulary import KeyKind, ReportStatus
from oomlens.server.issues import counters
from oomlens.server.probe import free_port, wait_until_up

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dominators_vs_visualvm import log  # noqa: E402

OOMLENS = [sys.executable, "-m", "oomlens.cli.main"]
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
GOAL_MS = 300
DAYS = 30
VERSIONS = [f"4.{n}.0" for n in range(20)]
BRANDS = ["Pixel", "Galaxy S", "Galaxy A", "Redmi Note", "Moto G", "OnePlus", "Xperia",
          "Nokia G", "Oppo A", "Vivo Y"]
DEVICES = [f"{brand} {n}" for brand in BRANDS for n in range(1, 21)]  # 200
FEATURES = ["checkout", "feed", "profile", "search", "player", "camera", "maps", "chat",
            "settings", "onboarding", "wallet", "stories", "upload", "inbox", "catalog"]
SCREENS = ["Activity", "Fragment", "Presenter", "ViewModel", "Adapter", "Service", "Cache",
           "Repository", "Controller", "Listener"]
TEAMS = ["@payments", "@feed", "@growth", "@media", "@platform", "@maps", "@messaging",
         "@search", "@identity", "@commerce", "@infra", "@android-core"]
KINDS = [("leak", 40), ("library_leak", 10), ("big_object", 30), ("class_cluster", 15),
         ("oom_cause", 5)]
VIEWS = [("default view", "/issues"),
         ("filtered: kind, status, version", "/issues?kind=leak&status=open&version=4.12.0"),
         ("sorted by median retained", "/issues?sort=median_retained_bytes&direction=desc"),
         ("search a class", "/issues?q=feed42"),
         ("API ?limit=50", "/api/v1/issues?limit=50")]




def _class_name(rng: random.Random, n: int) -> str:
    feature = FEATURES[n % len(FEATURES)]
    return f"com.example.{feature}{n}.ui.{feature.title()}{rng.choice(SCREENS)}"


def _title(kind: str, cls: str) -> str:
    return {"leak": f"{cls} leaked (Activity#mDestroyed is true)",
            "library_leak": f"{cls} held by a known library leak (InputMethodManager)",
            "big_object": f"big byte[] held by {cls}.buffer",
            "class_cluster": f"many {cls} instances",
            "oom_cause": "heap exhausted"}[kind]


def generate(url: str, n_issues: int, n_reports: int, seed: int = 6) -> tuple[str, dict]:
    """Fill a fresh database; returns a read key and what was made."""
    rng = random.Random(seed)
    db.upgrade(url)
    engine = db.make_engine(url)
    sessions = db.sessions(engine)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=DAYS)
    made = {}
    with sessions() as s:
        project = Project(slug="bench", name="Bench", created_at=start)
        s.add(project)
        s.flush()
        read_key = keys.create_key(s, project, KeyKind.READ).secret
        t0 = time.perf_counter()
        reports = []
        for n in range(n_reports):
            at = start + timedelta(seconds=rng.uniform(0, DAYS * 86400 - 60))
            # versions roll out over the month: mostly the newest two or three of the day
            newest = int((at - start) / timedelta(days=DAYS) * len(VERSIONS))
            version = VERSIONS[max(0, min(len(VERSIONS) - 1, newest - int(rng.expovariate(0.7))))]
            reports.append({"id": f"r{n:07d}", "project_id": project.id, "idempotency_key": f"k{n}",
                            "status": ReportStatus.DONE, "received_at": at, "app_version": version,
                            "device_model": rng.choice(DEVICES), "dump_key": f"bench/{n}.dump",
                            "dump_bytes": 1 << 20, "dump_format": "packed", "analysed_at": at,
                            "attempts": 1})
        _insert(s, Report, reports)
        issues = []
        for n in range(n_issues):
            kind = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
            cls = _class_name(rng, n)
            roll = rng.random()
            status, fixed = ("fixed", rng.choice(VERSIONS)) if roll < 0.12 else \
                ("ignored", "") if roll < 0.2 else ("open", "")
            issues.append({"id": n + 1, "project_id": project.id, "kind": kind,
                           "signature": f"{kind}:{cls}:{n}", "title": _title(kind, cls),
                           "status": status, "fixed_in_version": fixed,
                           "owner": "" if rng.random() < 0.3 else rng.choice(TEAMS),
                           "first_seen": start, "last_seen": start,
                           "representative_report_id": "r0000000", "representative_bytes": 0,
                           "representative": _representative(rng, kind, cls)})
        _insert(s, Issue, issues)
        links = _links(rng, n_issues, n_reports)
        typical = [rng.lognormvariate(14, 1.5) for _ in range(n_issues)]  # bytes, per issue
        rows = []
        for issue, report in links:
            r = reports[report]
            rows.append({"issue_id": issue + 1, "report_id": r["id"],
                         "retained_bytes": int(typical[issue] * rng.uniform(0.5, 1.5)),
                         "app_version": r["app_version"], "device_model": r["device_model"],
                         "seen_at": r["received_at"]})
        _insert(s, IssueReport, rows)
        s.commit()
        made["insert_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        counters.recompute(s, range(1, n_issues + 1))
        s.commit()
        made["recompute_all_s"] = time.perf_counter() - t0
        hottest = s.scalar(select(Issue.id).order_by(Issue.reports.desc()).limit(1))
        made["most_reports_per_issue"] = s.get(Issue, hottest).reports
        made["recompute_hottest_ms"] = _time_recompute(s, hottest)
        made["issue_reports"] = len(rows)
        counts = sorted(s.scalars(select(Issue.reports)))
        made["median_reports_per_issue"] = counts[len(counts) // 2]
    engine.dispose()
    return read_key, made


def _representative(rng: random.Random, kind: str, cls: str) -> str:
    """A finding of the size the analysis stores: a leak's trace of a dozen holders (~3 KB)."""
    nodes = [{"class": _class_name(rng, rng.randrange(10_000)), "field": f"m{name}",
              "leaking": "UNKNOWN", "reason": "not an Activity nor a View", "app": True,
              "retained_bytes": rng.randrange(1 << 20)}
             for name in ("Listener", "Callback", "Cache", "Context") * 3]
    return json.dumps({"class": cls, "kind": kind, "traces": [{"root": "static field",
                                                              "nodes": nodes}]})


def _insert(s, model, rows: list[dict], batch: int = 5000) -> None:
    for start in range(0, len(rows), batch):
        s.execute(insert(model), rows[start:start + batch])


def _links(rng: random.Random, n_issues: int, n_reports: int) -> set[tuple[int, int]]:
    """(issue, report) pairs: every issue in at least one report, every report in one to three
    issues picked by a power law of popularity."""
    weights = [1 / (rank + 1) ** 1.1 for rank in range(n_issues)]
    order = list(range(n_issues))
    rng.shuffle(order)  # popularity is not the id order
    links = {(issue, rng.randrange(n_reports)) for issue in range(n_issues)}
    for report in range(n_reports):
        for rank in rng.choices(range(n_issues), weights, k=rng.choice((1, 1, 2, 2, 3))):
            links.add((order[rank], report))
    return links


def _time_recompute(s, issue_id: int, repeat: int = 10) -> float:
    """What fold adds for the hottest issue: recomputing its aggregates (ms, median)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        counters.recompute(s, [issue_id])
        s.flush()
        times.append((time.perf_counter() - t0) * 1000)
        s.rollback()
    return statistics.median(times)


def measure(base: str, key: str, requests: int) -> dict[str, list[float]]:
    timings = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"},
                      timeout=60) as client:
        for name, path in VIEWS:
            for _ in range(3):
                _get(client, path)
            times = []
            for _ in range(requests):
                t0 = time.perf_counter()
                _get(client, path)
                times.append((time.perf_counter() - t0) * 1000)
            timings[name] = times
    return timings


def _get(client: httpx.Client, path: str) -> None:
    answer = client.get(path)
    if answer.status_code != 200:
        raise SystemExit(f"GET {path}: {answer.status_code} {answer.text[:200]}")
    if path.startswith("/issues") and "data-issue=" not in answer.text:
        raise SystemExit(f"GET {path}: no issue rows in the page")


def run(database: str, args) -> tuple[dict, dict]:
    with tempfile.TemporaryDirectory(prefix="oomlens-bench-issues-") as tmp:
        data_dir = Path(tmp) / "data"
        pg_name = None
        if database == "SQLite":
            url = f"sqlite:///{data_dir / 'oomlens.db'}"
        else:
            pg_name = f"oomlens_bench_{uuid.uuid4().hex[:10]}"
            _pg_admin(f'CREATE DATABASE "{pg_name}"')
            url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{pg_name}"
        server = None
        try:
            log(f"{database}: generating {args.issues:,} issues and {args.reports:,} reports")
            key, made = generate(url, args.issues, args.reports)
            log(f"{database}: {made}")
            port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("OOMLENS_")}
            env["OOMLENS_DATABASE_URL"] = url
            server = subprocess.Popen([*OOMLENS, "serve", "--port", str(port), "--data-dir",
                                       str(data_dir)], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base, server)
            log(f"{database}: timing {len(VIEWS)} views, {args.requests} requests each")
            return measure(base, key, args.requests), made
        finally:
            if server is not None:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
            if pg_name:
                _pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def _pg_admin(statement: str) -> None:
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(statement))
    engine.dispose()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(p * len(ordered))) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--databases", default="SQLite,PostgreSQL")
    args = parser.parse_args()
    results = {name: run(name, args) for name in args.databases.split(",")}
    print(f"\n{args.issues:,} issues, {args.reports:,} reports; {args.requests} requests per "
          f"view; {datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}\n")
    print("| view | database | p50 ms | p95 ms | goal ms | p95 / goal |")
    print("|---|---|--:|--:|--:|--:|")
    for name, _ in VIEWS:
        for database, (timings, _) in results.items():
            times = timings[name]
            p95 = percentile(times, 0.95)
            print(f"| {name} | {database} | {statistics.median(times):.0f} | {p95:.0f} | "
                  f"{GOAL_MS} | {p95 / GOAL_MS:.2f} |")
    print()
    for database, (_, made) in results.items():
        print(f"- {database}: {made['issue_reports']:,} issue_reports rows; reports per issue: "
              f"median {made['median_reports_per_issue']}, most {made['most_reports_per_issue']:,}; "
              f"aggregates of all issues recomputed in {made['recompute_all_s']:.1f} s; "
              f"recomputing the busiest issue's (what a fold of it adds) "
              f"{made['recompute_hottest_ms']:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
