"""The issue page in headless Chromium against a real `oomlens serve` with real analysed uploads:
LeakCanary's sample dump four times from other versions, devices and OS levels, the Dialer dump,
a JVM dump with big objects, a class cluster and library leaks (tests/java/AndroidLeaks), and a
dump without findings whose OOM message makes an OOM-cause issue. Every number and trace step
shown is checked against the JSON API and the metadata sent; status changes made through the
page (with htmx, with the keyboard, without scripts) against what the API then says; and who may
see and change what."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import httpx
import pytest

from browser import ScriptErrors, log_in, screenshot
from conftest import DATA
from oomlens.units import human_bytes
from serverrun import Server, upload, wait_done

pytestmark = [pytest.mark.browser, pytest.mark.jvm]

LEAK_UPLOADS = [  # app version, device model, OS version, API level
    ("1.0", "Pixel 7", "13", 33),
    ("1.0", "Pixel 8", "14", 34),
    ("1.1", "Pixel 8", "14", 34),
    ("1.1", "Galaxy S23", "12", 31),
]
DIALER = DATA / "dalvik_dialer.hprof.gz"


@dataclass
class World:
    server: Server
    app: dict  # the keys of project "app"
    other: dict  # of project "other"

    def api(self, path: str, key: str | None = None):
        answer = httpx.get(f"{self.server.url}{path}", timeout=10,
                           headers={"Authorization": f"Bearer {key or self.app['read_key']}"})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def issue(self, kind: str, leaking_class: str) -> dict:
        """The API's issue of that kind whose representative finding is of that class."""
        for listed in self.api(f"/api/v1/issues?kind={kind}"):
            found = self.api(f"/api/v1/issues/{listed['id']}")
            if found["representative"].get("class") == leaking_class:
                return found
        raise AssertionError(f"no {kind} issue of {leaking_class}")

    def reports(self, issue_id: int) -> list[dict]:
        return self.api(f"/api/v1/issues/{issue_id}/reports?limit=500")["reports"]


@pytest.fixture(scope="module")
def world(tmp_path_factory, java_dumps):
    server = Server(tmp_path_factory.mktemp("issue-page") / "data")
    server.env["OOMLENS_ANALYSIS_WORKERS"] = "2"  # eight analyses to wait for
    app, other = server.create_project("app"), server.create_project("other")
    server.start()
    sent = [upload(server, app["ingest_key"], idem=f"leak-{i}", app_version=version,
                   device_model=device, os_version=os_version, api_level=str(api_level))
            for i, (version, device, os_version, api_level) in enumerate(LEAK_UPLOADS)]
    sent += [upload(server, app["ingest_key"], path=DIALER, idem="dialer", app_version="1.5"),
             upload(server, app["ingest_key"], path=DATA / "art_ahat_test-dump.hprof.gz",
                    idem="no-findings", app_version="1.0", device_model="Pixel 7"),
             upload(server, app["ingest_key"], path=java_dumps("AndroidLeaks", "a"), idem="jvm",
                    app_version="1.2"),
             upload(server, other["ingest_key"], idem="other")]
    for answer in sent:
        assert answer.status_code == 202, answer.text
        key = other["read_key"] if answer is sent[-1] else app["read_key"]
        assert wait_done(server, key, answer.json()["id"])["status"] == "done"
    yield World(server, app, other)
    server.kill()



def open_page(browser, world: World, key: str, path: str, **context):
    """A fresh browser context logged in with ``key``, at ``path``; and its error collector."""
    options = {"viewport": {"width": 1280, "height": 900}, **context}
    page = browser.new_context(**options).new_page()
    errors = ScriptErrors(page)
    log_in(page, world.server.url, key, path)
    return page, errors


def close(page) -> None:
    page.context.close()


def text(page, selector: str) -> str:
    return page.locator(selector).inner_text().strip()


def table(page, selector: str) -> list[list[str]]:
    """The body rows of a table, cell texts (hidden ones too: a chart's numbers are in a closed
    <details>)."""
    return page.eval_on_selector_all(
        f"{selector} tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))")


def status_now(world: World, issue_id: int) -> tuple[str, str | None]:
    found = world.api(f"/api/v1/issues/{issue_id}")
    return found["status"], found["fixed_in_version"]


def test_leak_issue_page_shows_what_the_api_says(world, browser):
    issue = world.issue("leak", "com.example.leakcanary.LeakyService")
    reports = world.reports(issue["id"])
    page, errors = open_page(browser, world, world.app["read_key"], f"/issues/{issue['id']}")

    assert text(page, "[data-field=title]") == issue["title"]
    assert text(page, "[data-field=reports]") == str(issue["reports"]) == str(len(LEAK_UPLOADS))
    assert text(page, "[data-field=devices]") == str(issue["devices"]) == "3"
    assert text(page, "[data-field=versions]") == ", ".join(issue["versions"]) == "1.0, 1.1"
    assert text(page, "[data-field=total_retained_bytes]") == \
        human_bytes(issue["total_retained_bytes"])
    assert text(page, "[data-field=median_retained_bytes]") == \
        human_bytes(issue["median_retained_bytes"])
    assert text(page, "[data-field=status]") == issue["status"] == "open"
    assert text(page, "[data-field=owner]") == "unowned" and issue["unowned"]

    # the representative trace, step by step, as the API has it (root first)
    nodes = issue["representative"]["traces"][0]["nodes"]
    assert nodes[0]["reference"]["name"] == "leakAllTheBinders"  # tests/data/README.md
    steps = page.locator(".trace-finding > ol.trace > li.trace-node")
    assert steps.count() == len(nodes)
    for i, node in enumerate(nodes):
        step = steps.nth(i)
        assert step.locator(".trace-class").inner_text() == node["class"]
        assert step.get_attribute("data-object") == node["object"]
        assert step.locator(".verdict").inner_text() == node["leaking"].upper()
        if node["reference"]:
            assert step.locator(".trace-field").inner_text() == node["reference"]["name"]
    assert text(page, "[data-field=finding_retained]") == \
        human_bytes(issue["representative"]["retained_bytes"])

    # where it was seen: the API's breakdown, which is what the uploads said
    devices = Counter(device for _, device, _, _ in LEAK_UPLOADS)
    assert {d["device_model"]: d["reports"] for d in issue["breakdown"]["devices"]} == devices
    assert table(page, "[data-table=devices]") == [  # most reports first, then by name
        [model, str(count)] for model, count in sorted(devices.items(), key=lambda d: (-d[1], d[0]))]
    os_levels = Counter((os_version, str(api)) for _, _, os_version, api in LEAK_UPLOADS)
    assert {(o["os_version"], str(o["api_level"])): o["reports"]
            for o in issue["breakdown"]["os_levels"]} == os_levels
    assert {(row[0], row[1]): int(row[2]) for row in table(page, "[data-table=os_levels]")} == \
        os_levels

    # the charts' numbers are what the reports say
    per_day = Counter(r["received_at"][:10] for r in reports)
    assert table(page, "[data-numbers=days]") == [[day, str(n)] for day, n in sorted(per_day.items())]
    per_version = Counter(r["app_version"] for r in reports)
    assert table(page, "[data-numbers=versions]") == \
        [[version, str(per_version[version])] for version in ("1.0", "1.1")]
    sizes = Counter(human_bytes(r["retained_bytes"]) for r in reports)
    assert len(sizes) == 1  # the same dump each time: one bar
    assert table(page, "[data-numbers=retained]") == [[size, str(n)] for size, n in sizes.items()]
    for chart in ("retained", "days", "versions"):
        assert page.locator(f"#chart-{chart} canvas").count() == 1  # uPlot drew it
    assert "1.0: 2; 1.1: 2" in page.get_attribute("#chart-versions", "aria-label")
    # with no bar hovered, each legend says the totals, never a bare "reports:"
    for chart in ("retained", "days", "versions"):
        values = page.locator(f"#chart-{chart} .u-legend .u-value").all_inner_texts()
        assert values == ["all", str(len(reports))], chart

    # every report, newest first, linked
    rows = page.locator("tr[data-report]")
    assert [rows.nth(i).get_attribute("data-report") for i in range(rows.count())] == \
        [r["id"] for r in reports]
    assert rows.first.locator("a").get_attribute("href") == f"/reports/{reports[0]['id']}"
    screenshot(page, "issue-leak-1280")
    assert errors.messages == []
    close(page)


def test_reports_are_paged_newest_first_like_the_api(world, browser):
    issue = world.issue("leak", "com.example.leakcanary.LeakyService")
    expected = [r["id"] for r in world.reports(issue["id"])]
    page, errors = open_page(browser, world, world.app["read_key"],
                             f"/issues/{issue['id']}?limit=3")
    shown = page.eval_on_selector_all("tr[data-report]", "rows => rows.map(r => r.dataset.report)")
    assert shown == expected[:3]
    page.click("[data-action=older]")  # htmx loads the next page in place
    page.wait_for_url("**cursor=**")
    page.wait_for_function("document.querySelectorAll('tr[data-report]').length === 1")
    shown += page.eval_on_selector_all("tr[data-report]", "rows => rows.map(r => r.dataset.report)")
    assert shown == expected and page.locator("[data-action=older]").count() == 0
    page.reload()  # the pushed address is a whole page too
    assert page.eval_on_selector_all("tr[data-report]",
                                     "rows => rows.map(r => r.dataset.report)") == expected[3:]
    assert errors.messages == []
    close(page)


def test_big_object_cluster_library_leak_and_oom_cause_show_what_they_hold(world, browser):
    page, errors = open_page(browser, world, world.app["read_key"], "/issues")

    big = world.issue("big_object", "com.example.app.ArticleAdapter")
    page.goto(f"{world.server.url}/issues/{big['id']}")
    held = big["representative"]
    assert text(page, "[data-field=holder]") == held["holder"] == \
        "com.example.app.MainActivity.adapter"
    assert page.locator(".trace-finding .trace-class").all_inner_texts() == \
        [node["class"] for node in held["path"]]
    assert text(page, "[data-field=finding_retained]") == human_bytes(held["retained_bytes"])
    assert table(page, "[data-table=dominates]")[0][:3] == \
        [held["dominates"][0]["class"], held["dominates"][0]["object"],
         human_bytes(held["dominates"][0]["retained_bytes"])]
    screenshot(page, "issue-big-object-1280")

    cluster = world.issue("class_cluster", "com.example.app.ArticleCell")
    page.goto(f"{world.server.url}/issues/{cluster['id']}")
    owners = cluster["representative"]["owners"]
    assert {o["holder"]: o["instances"] for o in owners} == \
        {"com.example.app.ArticleAdapter.cells": 280, "com.example.app.Prefetcher.sQueue": 84}
    assert table(page, "[data-table=owners]") == \
        [[o["holder"], f"{o['instances']:,}"] for o in owners]
    assert text(page, "[data-field=instances]") == f"{cluster['representative']['instances']:,}"

    library = world.issue("library_leak", "com.example.app.ReaderActivity")
    page.goto(f"{world.server.url}/issues/{library['id']}")
    pattern = library["representative"]["library_leak"]["pattern"]
    assert pattern in text(page, ".trace-library")
    flagged = [n["reference"]["library_leak"]
               for n in library["representative"]["traces"][0]["nodes"]
               if n["reference"] and n["reference"]["library_leak"]]
    assert flagged and page.locator(".trace-finding > ol.trace .trace-tag.library")\
        .all_inner_texts() == [f"library leak {name}" for name in flagged]

    cause = world.api(f"/api/v1/issues/{world.api('/api/v1/issues?kind=oom_cause')[0]['id']}")
    page.goto(f"{world.server.url}/issues/{cause['id']}")
    numbers = cause["representative"]["numbers"]
    assert numbers == {"allocation_bytes": 65548, "free_bytes": 3200}  # the message sent
    assert table(page, "[data-table=numbers]") == \
        [[name.removesuffix("_bytes").replace("_", " "), human_bytes(value), f"{value:,}"]
         for name, value in numbers.items()]
    assert text(page, "[data-field=cause_kind]") == cause["representative"]["kind"]
    assert page.locator("#chart-retained").count() == 0  # a cause holds no bytes itself
    assert errors.messages == []
    close(page)


def test_an_admin_changes_the_status_through_the_page(world, browser):
    issue = world.issue("leak", "com.android.dialer.calllog.CallLogNotificationsService")
    path = f"/issues/{issue['id']}"
    owned = httpx.put(f"{world.server.url}/api/v1/ownership", timeout=10,
                      content=b"com.android.dialer.**  @team-dialer\n",
                      headers={"Authorization": f"Bearer {world.app['admin_key']}"})
    assert owned.status_code == 200, owned.text
    page, errors = open_page(browser, world, world.app["admin_key"], path)
    assert text(page, "[data-field=owner]") == world.api(path.replace("/", "/api/v1/", 1))[
        "owner"] == "@team-dialer"
    page.evaluate("window.notReloaded = true")  # htmx swaps a part; the page stays

    page.click("button[data-action=ignored]")
    page.wait_for_selector("[data-field=status]:text-is('ignored')")
    assert status_now(world, issue["id"]) == ("ignored", None)
    page.click("button[data-action=open]")
    page.wait_for_selector("[data-field=status]:text-is('open')")
    assert status_now(world, issue["id"]) == ("open", None)

    # a change the server refuses shows its reason in place (the browser's own check, which
    # stops an empty version first, taken away)
    page.evaluate("document.getElementById('fixed-in-version').removeAttribute('required')")
    page.click("button[data-action=fixed]")
    assert "needs fixed_in_version" in page.locator("[data-field=status_error]").inner_text()
    assert status_now(world, issue["id"]) == ("open", None)

    # with the keyboard only: Tab to the version field, type, Enter
    page.evaluate("document.activeElement.blur()")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "fixed-in-version":
            break
    assert page.evaluate("document.activeElement.id") == "fixed-in-version"
    page.keyboard.type("2.0")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-field=status]:text-is('fixed')")
    assert text(page, "[data-field=fixed_in_version]") == "2.0"
    assert status_now(world, issue["id"]) == ("fixed", "2.0")
    assert page.evaluate("document.activeElement.id") == "status"  # focus stays in the part
    assert page.evaluate("window.notReloaded") is True

    # a report of a later version re-opens it
    again = upload(world.server, world.app["ingest_key"], path=DIALER, idem="dialer-2.1",
                   app_version="2.1")
    assert wait_done(world.server, world.app["read_key"], again.json()["id"])["status"] == "done"
    assert status_now(world, issue["id"]) == ("open", "2.0")  # the version is kept, as a note
    page.reload()
    assert text(page, "[data-field=status]") == "open"
    assert "was marked fixed in 2.0" in text(page, ".status-line")
    assert "re-opened" in text(page, ".status-line")
    assert "2.1" in text(page, "[data-field=versions]")
    assert errors.messages == [f"422 {world.server.url}{path}/status"]  # the refused change
    close(page)

    # without scripts the same forms post and come back to the page
    page, errors = open_page(browser, world, world.app["admin_key"], path,
                             java_script_enabled=False)
    page.click("button[data-action=ignored]")
    page.wait_for_load_state()
    assert page.url.startswith(f"{world.server.url}{path}")
    assert text(page, "[data-field=status]") == "ignored"
    assert status_now(world, issue["id"]) == ("ignored", None)
    token = page.get_attribute("#status input[name=csrf]", "value")
    refused = page.request.post(f"{world.server.url}{path}/status", form={
        "csrf": token, "status": "fixed", "fixed_in_version": ""})
    assert refused.status == 422 and "needs fixed_in_version" in refused.text()
    assert status_now(world, issue["id"]) == ("ignored", None)
    page.click("button[data-action=open]")
    page.wait_for_load_state()
    assert status_now(world, issue["id"]) == ("open", None)
    assert errors.messages == []
    close(page)


def test_a_reader_sees_no_actions_and_a_post_without_the_token_is_refused(world, browser):
    issue = world.issue("leak", "com.example.leakcanary.LeakyService")
    path = f"/issues/{issue['id']}"
    page, errors = open_page(browser, world, world.app["read_key"], path)
    assert text(page, "[data-field=status]") == "open"
    assert page.locator("form[action$='/status'], button[data-action]").count() == 0
    own_token = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))"
                              "['X-CSRF-Token']")
    as_reader = page.request.post(f"{world.server.url}{path}/status",
                                  form={"csrf": own_token, "status": "ignored"})
    assert as_reader.status == 403 and "admin key" in as_reader.text()
    close(page)

    page, errors = open_page(browser, world, world.app["admin_key"], path)
    assert page.locator("button[data-action=ignored]").count() == 1
    for form in ({"status": "ignored"}, {"status": "ignored", "csrf": "forged"}):
        forged = page.request.post(f"{world.server.url}{path}/status", form=form)
        assert forged.status == 403, form
    assert status_now(world, issue["id"]) == ("open", None)
    assert errors.messages == []
    close(page)


def test_another_projects_issue_is_not_found(world, browser):
    issue = world.issue("leak", "com.example.leakcanary.LeakyService")
    path = f"/issues/{issue['id']}"
    own = world.api("/api/v1/issues", world.other["read_key"])
    assert own and issue["id"] not in {i["id"] for i in own}
    page, errors = open_page(browser, world, world.other["admin_key"], f"/issues/{own[0]['id']}")
    assert text(page, "[data-field=reports]") == "1"  # its own issue opens
    token = page.get_attribute("#status input[name=csrf]", "value")
    answer = page.goto(f"{world.server.url}{path}")
    assert answer.status == 404
    assert "No such issue" in page.content() and issue["title"] not in page.content()
    assert page.request.get(f"{world.server.url}{path}/reports").status == 404
    post = page.request.post(f"{world.server.url}{path}/status",
                             form={"csrf": token, "status": "ignored"})
    assert post.status == 404
    assert status_now(world, issue["id"]) == ("open", None)
    close(page)


def test_narrow_and_dark(world, browser):
    issue = world.issue("leak", "com.example.leakcanary.LeakyService")
    page, errors = open_page(browser, world, world.app["admin_key"], f"/issues/{issue['id']}",
                             viewport={"width": 400, "height": 900}, color_scheme="dark")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(13, 17, 23)"
    assert page.evaluate("document.documentElement.scrollWidth") <= 400  # no sideways scroll
    for chart in ("retained", "days", "versions"):
        box = page.locator(f"#chart-{chart} canvas").bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 400
    assert page.locator("button[data-action=ignored]").is_visible()
    screenshot(page, "issue-leak-400-dark")
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, "issue-leak-1280-dark")
    assert errors.messages == []
    close(page)
