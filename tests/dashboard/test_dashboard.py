"""The dashboard in headless Chromium against a real `oomlens serve` with real analysed uploads:
logging in and out, and the issues page showing what the API says."""

from __future__ import annotations

import httpx
import pytest

from browser import ScriptErrors, log_in, screenshot
from serverrun import Server, upload, wait_done

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A server with one project and two analysed reports (a leak, an OOM cause)."""
    server = Server(tmp_path_factory.mktemp("dashboard") / "data")
    keys = server.create_project("app")
    server.start()
    ids = [upload(server, keys["ingest_key"], idem="leak").json()["id"],
           upload(server, keys["ingest_key"], idem="other", app_version="1.1",
                  device_model="Pixel 8").json()["id"]]
    for report_id in ids:
        assert wait_done(server, keys["read_key"], report_id)["status"] == "done"
    yield server, keys
    server.kill()



def api(server, key, path):
    return httpx.get(f"{server.url}{path}", headers={"Authorization": f"Bearer {key}"},
                     timeout=10).json()


def test_pages_need_a_login_that_only_read_and_admin_keys_open(served, browser):
    server, keys = served
    page = browser.new_page()
    errors = ScriptErrors(page)
    page.goto(f"{server.url}/issues")
    assert page.url == f"{server.url}/login?next=/issues"
    # where the keys are, for both ways of getting them
    hint = page.inner_text(".login p")
    assert "oomlens project create" in hint and "make run" in hint
    assert "samples-keys.json" in hint
    page.fill("#key", keys["ingest_key"])
    page.click("button[type=submit]")
    assert "not a valid read or admin key" in page.text_content("[role=alert]")
    log_in(page, server.url, keys["read_key"], "/issues")
    assert page.url == f"{server.url}/issues"
    page.click("text=Log out")
    page.wait_for_url(f"{server.url}/login")
    page.goto(f"{server.url}/issues")  # the session ended with the logout
    assert page.url.startswith(f"{server.url}/login")
    assert errors.messages == []
    page.close()


def test_issues_page_lists_the_apis_issues(served, browser):
    server, keys = served
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors = ScriptErrors(page)
    log_in(page, server.url, keys["read_key"], "/issues")
    rows = page.locator("tr[data-issue]")
    shown = {int(rows.nth(i).get_attribute("data-issue")):
             rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())}
    expected = {i["id"]: i["title"] for i in api(server, keys["read_key"], "/api/v1/issues")}
    assert shown == expected and expected
    screenshot(page, "issues-1280")
    assert errors.messages == []
    page.close()


def test_click_through_issues_issue_report_and_the_dominator_explorer(served, browser):
    """As someone fixing an OOM does: the issues list, one issue, one of its reports, then down
    the dominator tree; each page's numbers against the JSON API."""
    server, keys = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = ScriptErrors(page)
    log_in(page, server.url, keys["read_key"], "/")
    page.click("header nav >> text=Issues")
    page.wait_for_url(f"{server.url}/issues*")
    screenshot(page, "click-1-issues")
    issue = api(server, keys["read_key"], "/api/v1/issues")[0]
    page.click(f"tr[data-issue='{issue['id']}'] a")
    page.wait_for_url(f"{server.url}/issues/{issue['id']}")
    screenshot(page, "click-2-issue")
    detail = api(server, keys["read_key"], f"/api/v1/issues/{issue['id']}")
    report_id = detail["report_ids"][-1]
    page.click(f"a[href='/reports/{report_id}']")
    page.wait_for_url(f"{server.url}/reports/{report_id}")
    document = api(server, keys["read_key"], f"/api/v1/reports/{report_id}/report")
    assert document["leaks"][0]["class"] in page.inner_text("main")
    # the explorer's first level is the report's biggest objects; open the biggest one
    tree = api(server, keys["read_key"], f"/api/v1/reports/{report_id}/dominators?node=root")
    first = tree["children"][0]
    assert first["object"] == document["top_retained"][0]["object"]
    row = page.locator(f"li.dt-node[data-object='{first['object']}']").first
    row.locator("button.dt-toggle").first.click()
    expected = api(server, keys["read_key"],
                   f"/api/v1/reports/{report_id}/dominators?node={first['object']}")
    level = page.locator(f"#dt-{first['object']} > li.dt-node")
    level.first.wait_for()
    shown = [level.nth(i).get_attribute("data-object") for i in range(level.count())]
    assert shown == [c["object"] for c in expected["children"]]
    screenshot(page, "click-3-report-explorer")
    assert errors.messages == []
    page.close()


def test_forms_posted_from_another_site_are_refused(served):
    server, keys = served
    login = {"key": keys["read_key"], "next": "/issues"}
    foreign = httpx.post(f"{server.url}/login", data=login, timeout=10,
                         headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and "oomlens_session" not in foreign.cookies
    own = httpx.post(f"{server.url}/login", data=login, timeout=10,
                     headers={"Origin": server.url})
    assert own.status_code == 303 and own.cookies.get("oomlens_session")
