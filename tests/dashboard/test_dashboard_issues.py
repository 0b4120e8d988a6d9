"""The issues page in headless Chromium against a real `oomlens serve` with real analysed
uploads: every row, filter, sort, search and sparkline checked against `GET /api/v1/issues` with
the same parameters; htmx swapping the table with the address following, the plain form without
JavaScript; at 1280 px, ~400 px and in dark mode; by keyboard."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import select

from browser import ScriptErrors, log_in, screenshot
from conftest import DATA
from oomlens.server.core import db
from oomlens.server.core.models import Project, Report
from oomlens.server.core.vocabulary import ReportStatus
from oomlens.server.issues import fold
from oomlens.server.issues.queries import SORTABLE
from oomlens.units import human_bytes
from serverrun import Server, upload, wait_done

pytestmark = pytest.mark.browser

UPLOADS = [  # dump (what it finds), app version, device
    ("dalvik_leak_service_binder.hprof.gz", "1.0", "Pixel 7"),  # a leak
    ("dalvik_leak_service_binder.hprof.gz", "1.10", "Galaxy S9"),
    ("dalvik_dialer.hprof.gz", "1.9", "Pixel 7"),  # another leak
    ("openjdk_jdk11_04_x64.hprof.gz", "1.10", "Moto G"),  # a big object
    ("art_ahat_test-dump.hprof.gz", "1.10", "Moto G"),  # nothing: the OOM cause
    ("oracle_jdk8_05_x64.hprof.gz", "1.9", "Galaxy S9"),  # the same cause
]
OWNERSHIP = b"com.example.leakcanary.** @leaks-team\nandroid.** @platform @leaks-team\n"
TITLE, OWNER, STATUS, REPORTS, DEVICES, VERSIONS, TOTAL, MEDIAN = 1, 2, 3, 4, 5, 6, 7, 8


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A server with one project, six analysed reports of five dumps, owners for some."""
    server = Server(tmp_path_factory.mktemp("dashboard-issues") / "data")
    keys = server.create_project("app")
    server.start()
    ids = [upload(server, keys["ingest_key"], path=DATA / dump, idem=f"u{n}", app_version=version,
                  device_model=device).json()["id"]
           for n, (dump, version, device) in enumerate(UPLOADS)]
    for report_id in ids:
        assert wait_done(server, keys["read_key"], report_id)["status"] == "done"
    answer = httpx.put(f"{server.url}/api/v1/ownership", content=OWNERSHIP, timeout=30,
                       headers={"Authorization": f"Bearer {keys['admin_key']}"})
    assert answer.status_code == 200, answer.text
    yield server, keys
    server.kill()



def api_issues(server, keys, **params) -> list[dict]:
    answer = httpx.get(f"{server.url}/api/v1/issues", params=params, timeout=30,
                       headers={"Authorization": f"Bearer {keys['read_key']}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def shown_rows(page) -> list[dict]:
    """Each row of the table: its issue id, the text of each cell, the sparkline's label."""
    return page.eval_on_selector_all("tr[data-issue]", """rows => rows.map(row => ({
        id: Number(row.dataset.issue),
        cells: Array.from(row.cells, cell => cell.innerText.trim()),
        spark: row.querySelector("svg.sparkline").getAttribute("aria-label")}))""")


def shown_ids(page) -> list[int]:
    return [row["id"] for row in shown_rows(page)]


def logged_in(browser, served, **context):
    server, keys = served
    page = browser.new_page(**context)
    errors = ScriptErrors(page)
    log_in(page, server.url, keys["read_key"], "/issues")
    return page, errors


def test_rows_show_the_apis_issues_numbers_and_trends(served, browser):
    server, keys = served
    page, errors = logged_in(browser, served, viewport={"width": 1280, "height": 900})
    issues = api_issues(server, keys)
    rows = shown_rows(page)
    assert [row["id"] for row in rows] == [i["id"] for i in issues]
    assert {i["kind"] for i in issues} == {"leak", "big_object", "oom_cause"}
    assert page.text_content("#issue-count").split() == \
        ["Issues", f"1–{len(issues)}", "of", str(len(issues))]
    for row, issue in zip(rows, issues, strict=True):
        cells = row["cells"]
        assert cells[TITLE] == issue["title"]
        assert cells[OWNER] == (issue["owner"] or "unowned")
        assert cells[STATUS] == issue["status"]
        assert cells[REPORTS] == f"{issue['reports']:,}"
        assert cells[DEVICES] == f"{issue['devices']:,}"
        assert cells[TOTAL] == human_bytes(issue["total_retained_bytes"])
        assert cells[MEDIAN] == human_bytes(issue["median_retained_bytes"])
        assert all(version in cells[VERSIONS] for version in issue["versions"][:1] +
                   issue["versions"][-1:])
        trend = issue["trend"]
        label = re.fullmatch(r"([\d,]+) reports? from (\S+) to (\S+), per day: ([\d, ]+)",
                             row["spark"])
        assert label, row["spark"]
        assert [int(n) for n in label[4].split(", ")] == trend["reports_per_day"]
        assert (label[2], label[3]) == (trend["from"], trend["to"])
        assert int(label[1].replace(",", "")) == sum(trend["reports_per_day"])
    leak = next(i for i in issues if i["kind"] == "leak")
    assert leak["reports"] == 2 and leak["versions"] == ["1.0", "1.10"]  # real counts shown
    assert {i["owner"] for i in issues} >= {None, "@leaks-team"}
    screenshot(page, "issues-list-1280")
    assert errors.messages == []
    page.close()


def views(issues: list[dict]) -> list[dict]:
    """Query strings the page and the API take alike."""
    today = datetime.now(UTC).date()
    found = [{"sort": column, "direction": direction} for column in SORTABLE
             for direction in ("asc", "desc")]
    found += [{"kind": "leak"}, {"kind": "class_cluster", "sort": "title", "direction": "asc"},
              {"status": "open"}, {"status": "fixed"}, {"version": "1.10"}, {"version": "1.9"},
              {"owner": "@leaks-team"}, {"owner": "@platform"}, {"owner": "-"},
              {"q": "LeakyService"}, {"q": issues[-1]["signature"][:12].upper()}]
    found += [{"since": today.isoformat(), "until": today.isoformat()},  # the page's dates
              {"until": (today - timedelta(days=1)).isoformat()}]
    return found


def as_api(params: dict) -> dict:
    """The page takes whole UTC days (both ends included); the API instants (until excluded)."""
    converted = dict(params)
    if "until" in converted:
        end = datetime.fromisoformat(converted["until"]) + timedelta(days=1)
        converted["until"] = end.isoformat()
    return converted


def test_filters_sorts_and_search_give_the_rows_the_api_gives(served, browser):
    server, keys = served
    page, errors = logged_in(browser, served)
    everything = api_issues(server, keys)
    seen_empty = seen_some = 0
    for params in views(everything):
        page.goto(f"{server.url}/issues?{urlencode(params)}")
        expected = [i["id"] for i in api_issues(server, keys, **as_api(params))]
        assert shown_ids(page) == expected, params
        seen_empty += not expected
        seen_some += 0 < len(expected) < len(everything)
        if "sort" in params:
            header = page.locator(f"th:has(#sort-{params['sort']})")
            order = "ascending" if params["direction"] == "asc" else "descending"
            assert header.get_attribute("aria-sort") == order
            assert page.locator("th[aria-sort]").count() == 1
    assert seen_empty and seen_some > 5  # the filters did narrow the list
    found = api_issues(server, keys, q="leakyservice")
    assert found and all("leakyservice" in (i["title"] + i["signature"]).lower() for i in found)
    assert errors.messages == []
    page.close()


def test_htmx_swaps_the_table_and_the_address_follows(served, browser):
    server, keys = served
    page, errors = logged_in(browser, served)
    page.evaluate("window.notReloaded = true")
    with page.expect_response(lambda r: "sort=total_retained_bytes" in r.url):
        page.click("#sort-total_retained_bytes")
    page.wait_for_url(re.compile(r"sort=total_retained_bytes"))
    assert shown_ids(page) == [i["id"] for i in api_issues(
        server, keys, sort="total_retained_bytes", direction="desc")]
    page.click("#sort-total_retained_bytes")  # again: the other way round
    page.wait_for_url(re.compile(r"direction=asc"))
    ascending = [i["id"] for i in api_issues(server, keys, sort="total_retained_bytes",
                                             direction="asc")]
    page.wait_for_function("ids => JSON.stringify(Array.from(document.querySelectorAll("
                           "'tr[data-issue]'), r => Number(r.dataset.issue))) === ids",
                           arg=str(ascending).replace(" ", ""))
    page.select_option("select[name=kind]", "leak")  # a filter keeps the sort
    page.wait_for_url(re.compile(r"kind=leak"))
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"kind": ["leak"], "sort": ["total_retained_bytes"], "direction": ["asc"]}
    assert shown_ids(page) == [i["id"] for i in api_issues(
        server, keys, kind="leak", sort="total_retained_bytes", direction="asc")]
    page.fill("#issue-q", "leakyservice")  # typing searches, after a pause
    page.wait_for_url(re.compile(r"q=leakyservice"))
    assert shown_ids(page) == [i["id"] for i in api_issues(
        server, keys, kind="leak", q="leakyservice", sort="total_retained_bytes",
        direction="asc")]
    assert page.evaluate("window.notReloaded") is True  # swapped, never reloaded
    page.go_back()
    page.wait_for_url(lambda url: "q=" not in url)
    assert "kind=leak" in page.url
    assert errors.messages == []
    page.close()


def test_the_form_works_without_javascript(served, browser):
    server, keys = served
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, server.url, keys["read_key"], quote("/issues?sort=reports&direction=asc"))
    page.select_option("select[name=owner]", "-")
    page.click("#issue-list button[type=submit]")
    page.wait_for_url(re.compile(r"owner=-"))
    assert shown_ids(page) == [i["id"] for i in api_issues(
        server, keys, owner="-", sort="reports", direction="asc")]
    context.close()


# For each element, the places its text goes on to a new line: (text before, text after).
LINE_BREAKS = """cells => cells.map(cell => {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    const chars = [];
    while (walker.nextNode()) {
        const node = walker.currentNode;
        for (let i = 0; i < node.length; i++) {
            const range = document.createRange();
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            const box = range.getClientRects()[0];
            chars.push([node.data[i], box ? box.top : null]);
        }
    }
    const text = chars.map(c => c[0]).join("");
    const breaks = [];
    let top = null;
    chars.forEach(([_, y], i) => {
        if (y === null) return;
        if (top !== null && y > top + 2) breaks.push([text.slice(0, i), text.slice(i)]);
        top = y;
    });
    return breaks;
})"""


def test_narrow_window_and_dark_mode(served, browser):
    page, errors = logged_in(browser, served, viewport={"width": 400, "height": 800})
    assert not page.is_visible("th:has(#sort-median_retained_bytes)")  # less important: hidden
    assert page.is_visible("#sort-total_retained_bytes") and page.is_visible("#issue-q")
    wrap = page.locator(".table-wrap")
    assert wrap.evaluate("e => e.scrollWidth > e.clientWidth")  # the rest scrolls sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 400  # not the page
    # titles wrap between the parts of a class name or between words, never inside a word
    breaks = page.eval_on_selector_all("td.issue-title", LINE_BREAKS)
    assert any(breaks), "no title wrapped at 400 px: the check checks nothing"
    for cell in breaks:
        for before, after in cell:
            assert before[-1] in " .$(,-" or after[0] == " ", (before, after)
    screenshot(page, "issues-list-400")
    page.close()
    page, more = logged_in(browser, served, viewport={"width": 1280, "height": 900},
                           color_scheme="dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    bar = page.evaluate("getComputedStyle(document.querySelector('svg.sparkline path')).fill")
    assert background == "rgb(13, 17, 23)" and bar == "rgb(108, 182, 255)"
    screenshot(page, "issues-list-dark")
    assert errors.messages == [] and more.messages == []
    page.close()


def test_the_keyboard_reaches_the_filters_and_the_first_issue(served, browser):
    server, keys = served
    page, errors = logged_in(browser, served)
    first = api_issues(server, keys)[0]
    reached = []
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate("[document.activeElement.id, document.activeElement.name,"
                                " document.activeElement.getAttribute('href')]")
        reached.append(tuple(focused))
        if focused[2] == f"/issues/{first['id']}":
            break
    names = [name for _, name, _ in reached]
    assert {"q", "kind", "status", "owner", "version", "since", "until"} <= set(names)
    assert reached[-1][2] == f"/issues/{first['id']}", reached
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/issues/{first['id']}")
    assert errors.messages == []
    page.close()


def test_an_address_the_page_cannot_show_is_a_one_line_422(served):
    server, keys = served
    headers = {"Authorization": f"Bearer {keys['read_key']}"}
    for query, fragment in (("sort=colour", "sort: one of"), ("since=yesterday", "since:"),
                            ("page=two", "page:"), ("direction=up", "direction:")):
        answer = httpx.get(f"{server.url}/issues?{query}", headers=headers, timeout=30)
        assert answer.status_code == 422 and fragment in answer.text, query
    last = httpx.get(f"{server.url}/issues?page=99", headers=headers, timeout=30)
    assert last.status_code == 200 and "data-issue=" in last.text  # the last page there is


def test_the_api_pages_with_limit_and_offset(served):
    server, keys = served
    headers = {"Authorization": f"Bearer {keys['read_key']}"}
    everything = api_issues(server, keys, sort="title", direction="asc")
    answer = httpx.get(f"{server.url}/api/v1/issues", params={"sort": "title", "direction": "asc",
                       "limit": 2, "offset": 1}, headers=headers, timeout=30)
    assert [i["id"] for i in answer.json()] == [i["id"] for i in everything[1:3]]
    assert answer.headers["x-total-count"] == str(len(everything))
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}):
        answer = httpx.get(f"{server.url}/api/v1/issues", params=bad, headers=headers, timeout=30)
        assert answer.status_code == 422 and answer.json()["detail"].startswith(next(iter(bad)))


def test_more_than_fifty_issues_come_in_pages(served, browser):
    """Another project of the same server, its 61 issues folded by the server's own code into
    its database: fifty on the first page, the rest on the second, as the API pages them; none
    of the first project's issues."""
    server, _ = served
    keys = server.create_project("many")
    engine = db.make_engine(f"sqlite:///{server.data_dir / 'oomlens.db'}")
    with db.sessions(engine)() as s:
        project = s.scalar(select(Project).where(Project.slug == "many"))
        for n in range(61):
            report = Report(id=f"many{n}", project_id=project.id, idempotency_key=f"m{n}",
                            status=ReportStatus.DONE, received_at=datetime.now(UTC),
                            app_version="2.0", device_model="Pixel 8", dump_key="-", dump_bytes=1,
                            dump_format="hprof")
            s.add(report)
            s.flush()
            fold.fold(s, report, {"leaks": [{"signature": f"many-{n}", "reason": "test",
                                             "class": f"com.example.Many{n}",
                                             "retained_bytes": 1000 + n}]})
        s.commit()
    engine.dispose()
    page, errors = logged_in(browser, (server, keys))
    pages = [api_issues(server, keys, limit=50, offset=offset) for offset in (0, 50)]
    assert shown_ids(page) == [i["id"] for i in pages[0]] and len(pages[0]) == 50
    assert page.text_content("#issue-count").split()[1:] == ["1–50", "of", "61"]
    page.click("#page-next")
    page.wait_for_url(re.compile(r"page=2"))
    page.wait_for_selector("#page-prev")
    assert shown_ids(page) == [i["id"] for i in pages[1]] and len(pages[1]) == 11
    assert page.text_content("#issue-count").split()[1:] == ["51–61", "of", "61"]
    assert errors.messages == []
    page.close()
