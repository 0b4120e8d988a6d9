"""The report page in headless Chromium against a real `oomlens serve` with real analysed uploads:
every number, trace step and table row shown is checked against the server's JSON API; the
dominator tree explorer expands lazily, by mouse and by keyboard, to the API's children; both
downloads are what the API gives; screenshots at 1280 px, narrow and dark."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from browser import ScriptErrors, log_in, screenshot
from conftest import DATA
from oomlens.units import human_bytes
from serverrun import Server, upload, wait_done

pytestmark = pytest.mark.browser

OOM = ("java.lang.OutOfMemoryError: Failed to allocate a 65548 byte allocation with 3200 free "
       "bytes and 3KB until OOM, target footprint 268435456, growth limit 268435456")
META = {"app_version": "2.3.1", "build": "231", "device_model": "Pixel <b>7</b>",
        "os_version": "14", "api_level": "34", "process": "com.example.app",
        "heap_limit_bytes": "268435456", "occurred_at": "2026-11-20T10:00:00Z",
        "oom_message": OOM}


@pytest.fixture(scope="module")
def served(tmp_path_factory, java_dumps):
    """One server: project "app" with the LeakCanary sample's leak (with its metadata), the
    AndroidLeaks program's dump (leaks, library leaks, big objects, a cluster) and a file that
    is no dump; project "other" with a report of its own."""
    server = Server(tmp_path_factory.mktemp("report-page") / "data")
    keys = server.create_project("app")
    other = server.create_project("other")
    server.start()
    stripped = tmp_path_factory.mktemp("stripped") / "leak.oomp"  # as `oomlens upload` sends it
    subprocess.run([sys.executable, "-m", "oomlens.cli.main", "strip",
                    str(DATA / "dalvik_leak_service_binder.hprof.gz"), str(stripped)], check=True,
                   capture_output=True)
    not_a_dump = tmp_path_factory.mktemp("bad") / "junk.hprof"
    not_a_dump.write_bytes(b"JAVA PROFILE 1.0.2\0<script>alert(1)</script>" + b"\0" * 64)
    ids = {"leak": upload(server, keys["ingest_key"], DATA / "dalvik_leak_service_binder.hprof.gz",
                          idem="leak", **META).json()["id"],
           "android": upload(server, keys["ingest_key"], java_dumps("AndroidLeaks"),
                             idem="android").json()["id"],
           "junk": upload(server, keys["ingest_key"], not_a_dump, idem="junk").json()["id"],
           "stripped": upload(server, keys["ingest_key"], stripped, idem="stripped").json()["id"],
           "other": upload(server, other["ingest_key"], idem="other").json()["id"]}
    for name, report_id in ids.items():
        key = (other if name == "other" else keys)["read_key"]
        assert wait_done(server, key, report_id)["status"] == ("failed" if name == "junk"
                                                               else "done")
    yield server, keys, ids
    server.kill()



def api(server, key, path, **params):
    answer = httpx.get(f"{server.url}{path}", params=params,
                       headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def open_report(browser, server, keys, report_id, **context):
    page = browser.new_page(**{"viewport": {"width": 1280, "height": 900}, **context})
    errors = ScriptErrors(page)
    log_in(page, server.url, keys["read_key"], f"/reports/{report_id}")
    assert page.url == f"{server.url}/reports/{report_id}"
    return page, errors


def texts(locator) -> list[str]:
    return [t.strip() for t in locator.all_inner_texts()]


def test_the_page_shows_the_reports_metadata_cause_heap_and_leak_traces(served, browser):
    server, keys, ids = served
    document = api(server, keys["read_key"], f"/api/v1/reports/{ids['leak']}/report")
    page, errors = open_report(browser, server, keys, ids["leak"])
    meta = dict(zip(texts(page.locator("dl.meta dt")), texts(page.locator("dl.meta dd")),
                    strict=True))
    assert meta["App version"] == "2.3.1 (build 231)"
    assert meta["Device"] == "Pixel <b>7</b>"  # escaped: shown as typed, not as markup
    assert meta["OS"] == "14 (API 34)" and meta["Process"] == "com.example.app"
    assert meta["Heap limit"] == human_bytes(268435456) and meta["Occurred"] == "2026-11-20 10:00"
    # the OOM cause with each number the message gave, formatted
    cause = document["oom_cause"]
    assert page.inner_text(".cause-kind") == cause["kind"] == "heap-exhausted"
    assert page.inner_text("pre.oom-message") == OOM
    for name, value in cause["numbers"].items():
        assert page.inner_text(f"[data-number={name}]") == human_bytes(value)
    assert page.get_attribute("[data-number=until_oom_bytes]", "title") == "3,072 bytes"
    dump = document["dump"]
    assert page.get_attribute(".heap-summary [data-bytes]", "data-bytes") == \
        str(dump["shallow_bytes"])
    assert human_bytes(dump["reachable_bytes"]) in page.inner_text(".heap-summary")
    assert page.inner_text("[data-summary=leaks]") == str(document["summary"]["leaks"])
    # leaks: one article per group, its numbers, and its first trace step by step
    groups = document["leaks"]
    articles = page.locator("#leaks article.leak")
    assert articles.count() == len(groups) == 1
    for article, group in zip(articles.all(), groups, strict=True):
        assert article.locator(".leak-instances").inner_text() == str(group["instances"])
        assert article.locator(".leak-retained").inner_text() == \
            human_bytes(group["retained_bytes"])
        first = article.locator("ol.trace").first
        nodes = group["traces"][0]["nodes"]
        assert texts(first.locator(".trace-class")) == [n["class"] for n in nodes]
        assert texts(first.locator(".trace-field")) == [n["reference"]["name"]
                                                         for n in nodes[:-1]]
        assert texts(first.locator(".verdict")) == [n["leaking"].upper() for n in nodes]
        suspects = [n["reference"]["name"] for n in nodes[:-1] if n["reference"]["suspect"]]
        assert texts(first.locator("u.suspect")) == suspects and suspects
        assert first.locator(".trace-retained strong").inner_text() == \
            human_bytes(group["traces"][0]["retained_bytes"])
        assert first.locator(".trace-root-kinds").inner_text() == \
            ", ".join(group["traces"][0]["root_kinds"])
        # the other traces are folded below the first
        assert article.locator("details.trace-more").count() == len(group["traces"]) - 1
    # the histogram is the document's, row by row
    rows = page.locator("table.histogram tbody tr")
    assert rows.count() == len(document["histogram"])
    for i in (0, 7, len(document["histogram"]) - 1):
        cells = texts(rows.nth(i).locator("td"))
        h = document["histogram"][i]
        assert cells[:4] == [h["class"], f"{h['instances']:,}", human_bytes(h["shallow_bytes"]),
                             human_bytes(h["retained_bytes"])]
    screenshot(page, "report-1280")
    assert errors.messages == []
    page.close()


def test_a_redacted_text_says_where_it_went(served, browser):
    server, keys, ids = served
    document = api(server, keys["read_key"], f"/api/v1/reports/{ids['stripped']}/report")
    assert document["leaks"][0]["watch_keys"] == ["<redacted>"]
    page, errors = open_report(browser, server, keys, ids["stripped"])
    assert "LeakCanary watch keys: <redacted>" in page.inner_text("#leaks article.leak")
    note = page.inner_text("#leaks .redaction")
    assert note.startswith("<redacted>: the text was removed from the dump by oomlens strip")
    assert "on the client by default" in note
    # threads keep their names at the default level: nothing to explain there
    assert page.locator("#threads .redaction").count() == 0
    assert "FinalizerDaemon" in page.inner_text("#threads")
    page.close()
    page, _ = open_report(browser, server, keys, ids["leak"])  # the unstripped upload
    assert page.locator(".redaction").count() == 0
    assert errors.messages == []
    page.close()


def test_read_first_links_only_sections_with_findings_and_ids_are_in_bytes(served, browser):
    from oomlens.report.sections import has_findings

    server, keys, ids = served
    document = api(server, keys["read_key"], f"/api/v1/reports/{ids['leak']}/report")
    first = document["oom_cause"]["look_first"]
    full = [s for s in first if has_findings(document, s)]
    assert full and len(full) < len(first)
    page, errors = open_report(browser, server, keys, ids["leak"])
    line = page.locator(".read-first")
    assert texts(line.locator("a")) == [s.replace("_", " ") for s in full]
    for s in set(first) - set(full):
        assert f"{s.replace('_', ' ')} (none found)" in line.inner_text()
    assert f"{document['dump']['id_size']}-byte ids" in page.inner_text("main")
    assert errors.messages == []
    page.close()


def test_library_leaks_big_objects_and_clusters_narrow(served, browser):
    server, keys, ids = served
    document = api(server, keys["read_key"], f"/api/v1/reports/{ids['android']}/report")
    page, errors = open_report(browser, server, keys, ids["android"],
                               viewport={"width": 400, "height": 800})
    library = document["library_leaks"]
    articles = page.locator("#library-leaks article.leak")
    assert articles.count() == len(library) == 3
    for article, group in zip(articles.all(), library, strict=True):
        flag = article.locator(".trace-library")
        assert group["library_leak"]["pattern"] in flag.inner_text()
        assert group["library_leak"]["description"] in flag.inner_text()
        tagged = [n["reference"]["library_leak"] for n in group["traces"][0]["nodes"][:-1]
                  if n["reference"]["library_leak"]]
        assert texts(article.locator("ol.trace").first.locator(".trace-ref .library")) == \
            [f"library leak {p}" for p in tagged] and tagged
    assert page.locator("#leaks article.leak").count() == len(document["leaks"]) == 13
    # big objects: holder, the path to it (no verdicts made on it), what it holds
    big = document["big_objects"]
    shown = page.locator("#big-objects > article.finding")
    assert shown.count() == len(big) == 4
    first = shown.first
    assert big[0]["holder"] in first.locator("dl.facts").inner_text()
    path = first.locator("ol.trace").first
    assert texts(path.locator(".trace-class")) == [n["class"] for n in big[0]["path"]]
    assert path.locator(".verdict").count() == 0
    held = texts(first.locator("table").first.locator("tbody td:nth-child(2)"))
    assert held == [d["class"] for d in big[0]["dominates"]]
    # the cluster with its owners
    cluster = document["class_clusters"][0]
    article = page.locator("#class-clusters > article.finding").first
    assert cluster["class"] in article.locator(":scope > h3").inner_text()
    owners = article.locator(":scope > .table-wrap table tbody tr")
    assert [texts(r.locator("td")) for r in owners.all()] == \
        [[o["holder"], f"{o['instances']:,}"] for o in cluster["owners"]]
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    screenshot(page, "report-narrow")
    assert errors.messages == []
    page.close()


ROWS_JS = """level => [...level.querySelectorAll(":scope > li.dt-node")].map(item => {
  const row = item.querySelector(":scope > .dt-row");
  const text = name => row.querySelector(name).innerText.trim();
  return [item.dataset.object, text(".dt-class"), text(".dt-shallow"), text(".dt-retained"),
          text(".dt-percent")];
})"""


def rows_of(level) -> list[tuple]:
    """(object, class, shallow, retained, percent) of each node row directly in ``level``."""
    return [tuple(row) for row in level.evaluate(ROWS_JS)]


def expected(children: list[dict]) -> list[tuple]:
    return [(c["object"], c["class"], human_bytes(c["shallow_bytes"]),
             human_bytes(c["retained_bytes"]), f"{c['percent']:.2f}%") for c in children]


def expand(page, object_id: str):
    """Click the node's button; wait for its children to arrive and show."""
    page.click(f"li[data-object='{object_id}'] > .dt-row button.dt-toggle")
    level = page.locator(f"#dt-{object_id}")
    level.locator(":scope > li").first.wait_for()
    assert level.is_visible()
    return level


def test_the_dominator_explorer_expands_two_levels_to_the_apis_children(served, browser):
    server, keys, ids = served
    key, report_id = keys["read_key"], ids["android"]
    document = api(server, key, f"/api/v1/reports/{report_id}/report")
    page, errors = open_report(browser, server, keys, report_id, color_scheme="dark")
    path = f"/api/v1/reports/{report_id}/dominators"
    root = api(server, key, path)
    top = page.locator("#dt-root")
    assert rows_of(top) == expected(root["children"])
    assert [(c["object"], c["class"], c["retained_bytes"]) for c in root["children"][:20]] == \
        [(t["object"], t["class"], t["retained_bytes"]) for t in document["top_retained"]]
    more = top.locator(":scope > li.dt-more").inner_text()  # what was left out, summed
    assert f"{root['more']['objects']:,} more objects" in more
    assert human_bytes(root["more"]["retained_bytes"]) in more
    level = root
    for _ in range(2):
        node = next(c for c in level["children"] if c["has_children"])
        level = api(server, key, path, node=node["object"])
        shown = expand(page, node["object"])
        assert rows_of(shown) == expected(level["children"]) and level["children"]
        kept = sum(c["retained_bytes"] for c in level["children"])
        left = level["more"]["retained_bytes"] if level["more"] else 0
        assert kept + left == node["retained_bytes"] - node["shallow_bytes"]
    # collapsing hides the level; opening it again asks the server nothing more
    button = page.locator(f"li[data-object='{node['object']}'] > .dt-row button.dt-toggle")
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/dominators" in r.url else None)
    button.click()
    assert button.get_attribute("aria-expanded") == "false"
    assert not page.locator(f"#dt-{node['object']}").is_visible()
    button.click()
    assert page.locator(f"#dt-{node['object']}").is_visible() and asked == []
    screenshot(page, "report-dominators-dark")
    assert errors.messages == []
    page.close()


def test_a_long_level_comes_a_page_at_a_time(served, browser):
    server, keys, ids = served
    key, report_id = keys["read_key"], ids["leak"]
    path = f"/api/v1/reports/{report_id}/dominators"
    first = api(server, key, path)
    assert first["next_offset"] == 100 and first["kept_children"] > 200
    second = api(server, key, path, offset=100)
    page, errors = open_report(browser, server, keys, report_id)
    top = page.locator("#dt-root")
    assert rows_of(top) == expected(first["children"])
    top.locator("button.dt-next").click()
    top.locator(":scope > li.dt-node").nth(199).wait_for()
    assert rows_of(top) == expected(first["children"] + second["children"])
    assert errors.messages == []
    page.close()


def test_the_explorer_works_from_the_keyboard(served, browser):
    server, keys, ids = served
    page, errors = open_report(browser, server, keys, ids["android"])
    for _ in range(300):  # Tab from the top of the page to the first expand button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('dt-toggle')"):
            break
    else:
        pytest.fail("no expand button is reachable with Tab")
    controls = page.evaluate("document.activeElement.getAttribute('aria-controls')")
    page.keyboard.press("Enter")
    page.locator(f"#{controls} > li").first.wait_for()
    assert page.evaluate("document.activeElement.getAttribute('aria-expanded')") == "true"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.getAttribute('aria-expanded')") == "false"
    assert not page.locator(f"#{controls}").is_visible()
    assert errors.messages == []
    page.close()


def test_both_downloads_are_what_the_api_gives(served, browser, tmp_path):
    server, keys, ids = served
    report_id = ids["leak"]
    page, errors = open_report(browser, server, keys, report_id)
    with page.expect_download() as got:
        page.click("text=Download the JSON report")
    document = json.loads(got.value.path().read_bytes())
    assert document == api(server, keys["read_key"], f"/api/v1/reports/{report_id}/report")
    with page.expect_download() as got:
        page.click("text=Download the HPROF")
    assert got.value.suggested_filename == f"oomlens-report-{report_id}.hprof"
    dump = tmp_path / "downloaded.hprof"
    got.value.save_as(dump)
    info = subprocess.run([sys.executable, "-m", "oomlens.cli.main", "info", str(dump),
                           "--json"], capture_output=True, text=True, timeout=120)
    assert info.returncode == 0, info.stderr
    facts = json.loads(info.stdout)
    assert facts["objects"] == document["dump"]["objects"]
    assert facts["reachable_bytes"] == document["dump"]["reachable_bytes"]
    assert errors.messages == []
    page.close()


def test_a_failed_report_shows_its_error_and_another_projects_report_is_404(served, browser):
    server, keys, ids = served
    failed = api(server, keys["read_key"], f"/api/v1/reports/{ids['junk']}")
    page, errors = open_report(browser, server, keys, ids["junk"])
    assert page.inner_text(".status") == "failed"
    assert failed["error"] and failed["error"] in page.inner_text("[role=alert]")
    assert page.locator("#dominators").count() == 0  # nothing analysed, nothing to explore
    for path in (f"/reports/{ids['other']}", f"/reports/{ids['other']}/download/report.json",
                 f"/reports/{ids['other']}/download/dump",
                 f"/reports/{ids['other']}/dominators?node=root", "/reports/no-such-report"):
        answer = page.goto(f"{server.url}{path}")
        assert answer.status == 404, path
        assert "no such report" in page.inner_text("main")
    assert errors.messages == []
    page.close()
