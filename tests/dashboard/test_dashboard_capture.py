"""The capture on the dashboard, in headless Chromium against a real `oomlens serve`: real JVM
dumps uploaded with the sidecar `oomlens watch` sends. The report page shows the trigger, what
crossed which limit and the agent's numbers as the API has them, orders its sections as the
report says (threads first for a thread threshold, descriptors then threads for descriptors),
keeps an OOM's stack trace collapsed; the issue page counts reports by trigger and names each
report's; hostile capture strings are shown as text and run nothing."""

from __future__ import annotations

import pytest
from test_dashboard_issue import table
from test_dashboard_report import api, open_report
from test_dashboard_xss import PAYLOAD_ELEMENTS
from serverrun import wait_done
from test_server_capture import analysed_captures, send, sidecar, started

from browser import ScriptErrors, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.jvm]

OOM = "java.lang.OutOfMemoryError: unable to create native thread: possibly out of memory"
STACK = (f"{OOM}\n\tat java.base/java.lang.Thread.start0(Native Method)\n"
         "\tat java.base/java.lang.Thread.start(Thread.java:809)\n")
HOSTILE = {"host": "<img src=x onerror=alert('host')>",
           "reason": "<script>alert('reason')</script>",
           "oom_thread": "<svg onload=alert('thread')>",
           "oom_stack_trace": "<iframe src=javascript:alert('trace')></iframe>",
           "process": "<b onmouseover=alert('process')>main</b>",
           "jvm": {"name": "<script>alert('jvm')</script>"}}
SECTION_IDS_JS = "els => els.map(e => e.id)"


@pytest.fixture(scope="module")
def served(tmp_path_factory, java_dumps):
    server, keys = started(tmp_path_factory.mktemp("capture-pages"))
    threads, fds = 27, 40  # what the agent counted in the running program (its own view)
    captures = {
        "threads": ("ThreadFixtures", sidecar(
            "thread-threshold", threads=threads, thread_limit=30,
            threshold={"metric": "threads", "value": threads, "limit": 24, "max": 30,
                       "checks": 1, "rule": "sustained"})),
        "fds": ("Resources", sidecar(
            "fd-threshold", open_fds=fds, fd_limit=50, truncated=True,
            threshold={"metric": "fds", "value": fds, "limit": 40, "max": 50})),
        "oom": ("ThreadFixtures", sidecar("oom", oom_message=OOM, oom_stack_trace=STACK,
                                          oom_thread="main")),
        "hostile": ("ThreadFixtures", sidecar("heap-threshold", heap_after_gc_bytes=200 << 20,
                                              **HOSTILE)),
    }
    ids = analysed_captures(server, keys, java_dumps, captures)
    ids["plain"] = send(server, keys, java_dumps("Resources"), "plain").json()["id"]
    assert wait_done(server, keys["read_key"], ids["plain"])["status"] == "done"
    yield server, keys, ids
    server.kill()


def main_sections(page) -> list[str]:
    return page.eval_on_selector_all("main section[id]", SECTION_IDS_JS)


def facts(page) -> dict[str, str]:
    return {key: page.inner_text(f".capture-facts [data-fact={key}]") for key in
            page.eval_on_selector_all(".capture-facts [data-fact]",
                                      "els => els.map(e => e.dataset.fact)")}


def test_a_thread_threshold_report_shows_what_crossed_and_threads_first(served, browser):
    server, keys, ids = served
    row = api(server, keys["read_key"], f"/api/v1/reports/{ids['threads']}")
    capture = api(server, keys["read_key"], f"/api/v1/reports/{ids['threads']}/report")["capture"]
    page, errors = open_report(browser, server, keys, ids["threads"])
    assert page.inner_text("[data-field=trigger]") == row["trigger"] == "thread-threshold"
    assert page.inner_text(".capture-trigger") == "thread-threshold"
    assert page.inner_text(".capture-summary") == capture["summary"] == \
        "27 threads, limit 30 (90%)"
    shown = facts(page)
    assert shown["threads"] == f"{row['capture']['threads']} of a limit of " \
                               f"{row['capture']['thread_limit']}"
    assert shown["host"] == "web-7" and shown["process"] == "pid 4711"
    assert shown["threshold"] == "threads above 24, 1 check, sustained"
    assert "before any OutOfMemoryError" in page.inner_text("#cause")
    assert page.locator("#capture .read-first a").all_inner_texts() == ["threads"]
    # the sections: capture and cause first, then threads before everything else
    sections = main_sections(page)
    assert sections[:4] == ["capture", "cause", "heap", "threads"]
    assert sections.index("threads") < sections.index("leaks")
    toc = page.locator("nav.toc a").all_inner_texts()
    assert toc[:4] == ["Capture", "Cause", "Heap", "Threads"]
    screenshot(page, "report-thread-threshold")
    assert errors.messages == []
    page.close()


def test_an_fd_threshold_report_shows_descriptors_then_threads_first(served, browser):
    server, keys, ids = served
    document = api(server, keys["read_key"], f"/api/v1/reports/{ids['fds']}/report")
    page, errors = open_report(browser, server, keys, ids["fds"])
    assert page.inner_text(".capture-summary") == document["capture"]["summary"] == \
        "40 open files of 50 (80%)"
    assert "cut off" in page.inner_text("#capture .warning")
    assert main_sections(page)[3:5] == ["file-descriptors", "threads"]
    rows = table(page, "table.descriptors")
    assert [(r[0], int(r[1])) for r in rows] == \
        [(g["owner_class"], g["count"]) for g in document["file_descriptors"]["by_owner"]]
    assert sum(int(r[1]) for r in rows) == document["file_descriptors"]["open"]
    assert errors.messages == []
    page.close()


def test_an_oom_capture_keeps_its_stack_trace_collapsed(served, browser):
    server, keys, ids = served
    document = api(server, keys["read_key"], f"/api/v1/reports/{ids['oom']}/report")
    page, errors = open_report(browser, server, keys, ids["oom"])
    assert page.inner_text(".cause-kind") == document["oom_cause"]["kind"] == "thread-limit"
    assert page.inner_text(".capture-summary") == OOM
    trace = page.locator("pre.oom-stack-trace")
    assert not trace.is_visible()
    page.click("details.stack-trace > summary")
    assert trace.is_visible()
    assert trace.inner_text() == document["capture"]["oom_stack_trace"] == STACK
    assert "in thread main" in page.inner_text("details.stack-trace > summary")
    assert main_sections(page)[3] == "threads"  # the OOM cause's look_first
    assert page.locator("#capture .read-first").count() == 0  # the cause says it
    assert errors.messages == []
    page.close()


def test_the_issue_page_counts_reports_by_trigger(served, browser):
    server, keys, ids = served
    issues = api(server, keys["read_key"], "/api/v1/issues")
    threshold = next(i for i in issues if i["signature"] == "oom-cause/1:thread-threshold")
    detail = api(server, keys["read_key"], f"/api/v1/issues/{threshold['id']}")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = ScriptErrors(page)
    log_in(page, server.url, keys["read_key"], f"/issues/{threshold['id']}")
    assert page.inner_text("[data-field=cause_kind]") == "thread-threshold"
    assert page.inner_text("[data-field=capture_summary]") == \
        detail["representative"]["summary"] == "27 threads, limit 30 (90%)"
    assert table(page, "[data-table=triggers]") == [["thread-threshold", "1"]]
    assert page.inner_text(f"tr[data-report='{ids['threads']}'] [data-field=trigger]") == \
        "thread-threshold"
    # a finding of the Resources program, seen plain and at the descriptor threshold
    fds = api(server, keys["read_key"], f"/api/v1/reports/{ids['fds']}/report")
    signature = fds["big_objects"][0]["signature"]
    found = next(i for i in issues if i["signature"] == signature)
    breakdown = api(server, keys["read_key"], f"/api/v1/issues/{found['id']}")["breakdown"]
    page.goto(f"{server.url}/issues/{found['id']}")
    assert table(page, "[data-table=triggers]") == \
        [[t["trigger"] or "(not sent)", str(t["reports"])] for t in breakdown["triggers"]] == \
        [["(not sent)", "1"], ["fd-threshold", "1"]]
    cells = {r: page.inner_text(f"tr[data-report='{r}'] [data-field=trigger]")
             for r in (ids["fds"], ids["plain"])}
    assert cells == {ids["fds"]: "fd-threshold", ids["plain"]: "–"}
    screenshot(page, "issue-triggers")
    assert errors.messages == []
    page.close()


def test_hostile_capture_strings_are_text(served, browser):
    server, keys, ids = served
    page, errors = open_report(browser, server, keys, ids["hostile"])
    shown = facts(page)
    assert shown["host"] == HOSTILE["host"]
    assert shown["reason"] == HOSTILE["reason"]
    assert shown["process"] == f"pid 4711, {HOSTILE['process']}"
    assert shown["jvm"] == HOSTILE["jvm"]["name"]
    page.click("details.stack-trace > summary")
    assert page.inner_text("pre.oom-stack-trace") == HOSTILE["oom_stack_trace"]
    assert HOSTILE["oom_thread"] in page.inner_text("details.stack-trace > summary")
    pages = [f"/reports/{ids['hostile']}"]
    issues = api(server, keys["read_key"], "/api/v1/issues")
    pages += [f"/issues/{i['id']}" for i in issues if i["signature"] == "oom-cause/1:heap-threshold"]
    assert len(pages) == 2  # the dump has no findings: the report counts for its threshold
    for path in pages:
        page.goto(f"{server.url}{path}")
        page.wait_for_load_state("networkidle")
        for selector in PAYLOAD_ELEMENTS:
            assert page.locator(selector).count() == 0, (path, selector)
        assert HOSTILE["host"] in page.inner_text("main"), path
    assert errors.messages == []
    page.close()


def test_the_overview_charts_threshold_reports_by_their_trigger(served, browser):
    server, keys, ids = served
    listed = api(server, keys["read_key"], "/api/v1/reports", limit=500)["reports"]
    per_cause = {}
    for r in listed:
        if r["oom_cause"]:
            per_cause[r["oom_cause"]] = per_cause.get(r["oom_cause"], 0) + 1
    assert per_cause == {"thread-threshold": 1, "fd-threshold": 1, "heap-threshold": 1,
                         "thread-limit": 1}
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = ScriptErrors(page)
    log_in(page, server.url, keys["read_key"], "/overview")
    causes = page.eval_on_selector_all("#causes-table th[data-cause]",
                                       "els => els.map(e => e.dataset.cause)")
    assert sorted(causes) == sorted(per_cause)
    label = page.get_attribute("#chart-causes", "aria-label")
    assert all(f"{cause}: {n}" in label for cause, n in per_cause.items()), label
    assert errors.messages == []
    page.close()
