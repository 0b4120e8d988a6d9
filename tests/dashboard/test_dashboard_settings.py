"""The overview and settings pages in headless Chromium against a real `oomlens serve` with real
analysed uploads: the overview's numbers against the API, and every settings change made on the
page checked through the API (keys, mappings, the ownership file, webhooks with a real
receiver). Also the keys API over HTTP, and the overview's counting on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import json
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import text

import test_server_store
from browser import ScriptErrors, log_in, screenshot
from conftest import DATA
from oomlens.server.core.models import Issue, Project, Report
from oomlens.server.core.vocabulary import IssueStatus
from oomlens.server.web import overview
from serverrun import Server, upload, wait_done
from test_server_webhooks import Receiver, verifies

# a fresh SQLite file or PostgreSQL database per test, with a project in it
database = test_server_store.database
project = test_server_store.project


AHAT = DATA / "art_ahat_test-dump.hprof.gz"
AHAT_MAP = DATA / "art_ahat_test-dump.map"
THREADS = "java.lang.OutOfMemoryError: pthread_create (1040KB stack) failed: Try again"


class Api:
    def __init__(self, server, key: str):
        self.url, self.headers = f"{server.url}/api/v1", {"Authorization": f"Bearer {key}"}

    def get(self, path: str, **params):
        return httpx.get(self.url + path, params=params, headers=self.headers, timeout=10)

    def json(self, path: str, **params):
        answer = self.get(path, **params)
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A server with project "app": reports of two OOM causes, an issue that regressed, an R8
    dump without its mapping yet, a dump that failed; and project "other" with nothing."""
    work = tmp_path_factory.mktemp("settings")
    server = Server(work / "data")
    keys = server.create_project("app")
    other = server.create_project("other")
    server.start()
    ingest, read = keys["ingest_key"], keys["read_key"]
    bad = work / "bad.hprof.gz"
    bad.write_bytes(gzip.compress(b"JAVA PROFILE 1.0.2\0" + b"\0\0\0\x09" + bytes(64)))
    ids = {"leak": upload(server, ingest, idem="leak").json()["id"],
           "r8": upload(server, ingest, path=AHAT, idem="r8", app_version="r8").json()["id"],
           "bad": upload(server, ingest, path=bad, idem="bad").json()["id"]}
    assert wait_done(server, read, ids["leak"])["status"] == "done"
    leak = next(i for i in Api(server, read).json("/issues", version="1.0") if i["kind"] == "leak")
    fixed = httpx.patch(f"{server.url}/api/v1/issues/{leak['id']}", timeout=10,
                        json={"status": "fixed", "fixed_in_version": "1.0"},
                        headers={"Authorization": f"Bearer {keys['admin_key']}"})
    assert fixed.status_code == 200, fixed.text
    # the same leak in a later version (it regresses), of another OOM cause
    ids["again"] = upload(server, ingest, idem="again", app_version="1.1", oom_message=THREADS,
                          device_model="Pixel 8").json()["id"]
    for name, report_id in ids.items():
        assert wait_done(server, read, report_id)["status"] == \
            ("failed" if name == "bad" else "done")
    yield {"server": server, "keys": keys, "other": other, "ids": ids, "regressed": leak["id"],
           "work": work}
    server.kill()



def open_page(browser, served, key: str, path: str, **options):
    """A new browser context (its own cookies) logged in with ``key`` at ``path``."""
    context = browser.new_context(**options)
    page = context.new_page()
    errors = ScriptErrors(page)
    log_in(page, served["server"].url, key, path)
    return page, errors


def all_reports(api: Api, **filters) -> list[dict]:
    reports, cursor = [], None
    while True:
        found = api.json("/reports", limit=200, **filters, **({"cursor": cursor} if cursor
                                                                else {}))
        reports += found["reports"]
        if not (cursor := found["next"]):
            return reports


# the overview (first: the mapping test below queues the R8 report again)


@pytest.mark.browser
def test_the_overview_counts_what_the_api_says(served, browser):
    server, keys = served["server"], served["keys"]
    api = Api(server, keys["read_key"])
    page, errors = open_page(browser, served, keys["read_key"], "/",
                             viewport={"width": 1280, "height": 900})
    assert page.url == f"{server.url}/overview"  # the home page is the overview

    # OOMs per day by cause: the chart's data and its table against the reports API
    chart = json.loads(page.text_content("script[data-chart=oomCauses]"))
    reports = all_reports(api)
    analysed = [r for r in reports if r["oom_cause"]]
    expected = Counter((r["received_at"][:10], r["oom_cause"]) for r in analysed)
    shown = Counter({(day, s["cause"]): n for s in chart["series"]
                     for day, n in zip(chart["days"], s["counts"], strict=True) if n})
    assert shown == expected and {c for _, c in expected} == {"heap-exhausted", "thread-limit"}
    for cause in ("heap-exhausted", "thread-limit"):
        assert sum(next(s for s in chart["series"] if s["cause"] == cause)["counts"]) == \
            len(all_reports(api, cause=cause))
    assert len(chart["days"]) == 30
    table = page.locator("#causes-table")
    causes = [c.get_attribute("data-cause") for c in table.locator("th[data-cause]").all()]
    for row in table.locator("tbody tr").all():
        cells = [int(c.text_content().replace(",", "")) for c in row.locator("td").all()]
        day = row.get_attribute("data-day")
        assert cells == [expected[(day, c)] for c in causes] + \
            [sum(expected[(day, c)] for c in causes)]
    assert page.locator("#chart-causes canvas").count() == 1  # uPlot drew it
    # with no day hovered the legend shows the range and each cause's total (the top cause
    # is drawn first), never a bare "heap-exhausted:"
    legend = page.locator("#chart-causes .u-legend .u-value").all_inner_texts()
    totals = {s["cause"]: sum(s["counts"]) for s in chart["series"]}
    assert legend == [f"{chart['days'][0]} to {chart['days'][-1]}",
                      *[str(totals[s["cause"]]) for s in reversed(chart["series"])]]

    # top issues by reports and by retained bytes, against the issues API
    issues = [i for i in api.json("/issues") if i["status"] != "ignored"]
    for table_id, order in (("top-by-reports", ("reports", "total_retained_bytes")),
                            ("top-by-retained", ("total_retained_bytes", "reports"))):
        rows = page.locator(f"#{table_id} tbody tr[data-issue]")
        shown = [(int(r.get_attribute("data-issue")), int(r.locator("[data-field=reports]")
                  .text_content()), int(r.locator("[data-bytes]").get_attribute("data-bytes")))
                 for r in rows.all()]
        ranked = sorted(issues, key=lambda i: (-i[order[0]], -i[order[1]], i["id"]))[:10]
        assert shown == [(i["id"], i["reports"], i["total_retained_bytes"]) for i in ranked]
        assert shown
    # the issue marked fixed in 1.0 and seen again in 1.1
    regressions = page.locator("#regressions tr[data-issue]")
    assert [int(r.get_attribute("data-issue")) for r in regressions.all()] == \
        [served["regressed"]]
    assert api.json(f"/issues/{served['regressed']}")["regressed_at"]

    # the analysis states, and the failed dump with its reason
    states = Counter(r["status"] for r in reports)
    for state in ("queued", "running", "done", "failed", "dead"):
        assert int(page.text_content(f"dd[data-state={state}]")) == states[state]
    failed = api.json(f"/reports/{served['ids']['bad']}")
    row = page.locator(f"#problem-reports tr[data-report='{failed['id']}']")
    assert row.locator("td.reason").text_content() == failed["error"]
    assert "identifier size 9" in failed["error"]
    assert row.locator("a").get_attribute("href") == f"/reports/{failed['id']}"
    screenshot(page, "overview-1280")

    # keyboard: Tab reaches the first top issue, Enter opens it
    first = page.locator("#top-by-reports tbody a").first
    href = first.get_attribute("href")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == href:
            break
    assert page.evaluate("document.activeElement.getAttribute('href')") == href
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}{href}")
    assert errors.messages == []
    page.context.close()


@pytest.mark.browser
def test_the_overview_reads_narrow_and_dark_and_shows_only_its_project(served, browser):
    page, errors = open_page(browser, served, served["other"]["read_key"], "/overview",
                             viewport={"width": 400, "height": 800}, color_scheme="dark")
    assert page.locator("tr[data-issue]").count() == 0  # "other" has no reports at all
    assert "No analysed reports" in page.text_content("main")
    assert errors.messages == []
    page.context.close()
    page, errors = open_page(browser, served, served["keys"]["read_key"], "/overview",
                             viewport={"width": 400, "height": 800}, color_scheme="dark")
    assert page.locator("#chart-causes canvas").count() == 1
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400  # nothing makes the narrow page scroll sideways
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"  # the dark palette
    screenshot(page, "overview-400-dark")
    assert errors.messages == []
    page.context.close()


# settings


@pytest.mark.browser
def test_a_key_created_on_the_page_works_until_revoked_there(served, browser):
    server, keys = served["server"], served["keys"]
    admin = Api(server, keys["admin_key"])
    page, errors = open_page(browser, served, keys["admin_key"], "/settings",
                             viewport={"width": 1280, "height": 900})
    page.select_option("#new-key-kind", "read")
    page.click("#new-key-form button[type=submit]")
    secret = page.text_content("#new-secret")
    assert secret.startswith("oomlens_read_")
    assert Api(server, secret).get("/issues").status_code == 200
    made = next(k for k in admin.json("/keys") if secret.startswith(k["prefix"]))
    assert made["kind"] == "read" and made["revoked_at"] is None
    # the list on the page is the API's
    listed = {int(r.get_attribute("data-key")): r.get_attribute("data-kind")
              for r in page.locator("#key-list tr[data-key]").all()}
    assert listed == {k["id"]: k["kind"] for k in admin.json("/keys")}
    page.goto(f"{server.url}/settings")  # shown once: never again
    assert secret not in page.content() and page.locator("#new-secret").count() == 0
    page.click(f"tr[data-key='{made['id']}'] button:has-text('Revoke')")
    page.wait_for_url(f"{server.url}/settings")
    assert Api(server, secret).get("/issues").status_code == 401
    revoked = next(k for k in admin.json("/keys") if k["id"] == made["id"])
    assert revoked["revoked_at"] is not None
    assert page.locator(f"tr[data-key='{made['id']}'] button").count() == 0
    assert errors.messages == []
    page.context.close()


@pytest.mark.browser
def test_revoking_the_sessions_own_key_logs_it_out_but_not_the_last_admin_key(served, browser):
    server, keys = served["server"], served["keys"]
    page, _ = open_page(browser, served, keys["admin_key"], "/settings")
    page.select_option("#new-key-kind", "admin")
    page.click("#new-key-form button[type=submit]")
    second_admin = page.text_content("#new-secret")
    page.context.close()
    page, errors = open_page(browser, served, second_admin, "/settings")
    own = next(k for k in Api(server, keys["admin_key"]).json("/keys")
               if second_admin.startswith(k["prefix"]))
    page.click(f"tr[data-key='{own['id']}'] button:has-text('Revoke')")
    page.wait_for_load_state("networkidle")
    assert page.url.startswith(f"{server.url}/login")
    page.goto(f"{server.url}/settings")
    assert page.url.startswith(f"{server.url}/login")
    assert errors.messages == []
    page.context.close()
    # a project's only admin key cannot be revoked: nothing could make another one
    other = served["other"]
    page, _ = open_page(browser, served, other["admin_key"], "/settings")
    only = next(k for k in Api(server, other["admin_key"]).json("/keys") if k["kind"] == "admin")
    page.click(f"tr[data-key='{only['id']}'] button:has-text('Revoke')")
    assert "last admin key" in page.text_content("#keys-notice[role=alert]")
    assert Api(server, other["admin_key"]).get("/keys").status_code == 200
    page.context.close()


@pytest.mark.browser
def test_a_mapping_uploaded_on_the_page_is_the_apis_and_retraces_its_reports(served, browser):
    server, keys = served["server"], served["keys"]
    read = Api(server, keys["read_key"])
    report = served["ids"]["r8"]
    assert read.json(f"/reports/{report}/report")["retrace"] is None
    page, errors = open_page(browser, served, keys["admin_key"], "/settings")
    # a bad file: the reason, escaped, and the version typed kept as text
    hostile = "<img src=x id=injected>"
    not_a_map = served["work"] / "notes.map"
    not_a_map.write_text("this is not <b>a mapping</b>\n")
    page.fill("#mapping-version", hostile)
    page.set_input_files("#mapping-file", str(not_a_map))
    page.click("#mapping-form button[type=submit]")
    alert = page.text_content("#mappings-notice[role=alert]")
    api_answer = httpx.put(f"{server.url}/api/v1/mappings/x", content=not_a_map.read_bytes(),
                           headers={"Authorization": f"Bearer {keys['ingest_key']}"}, timeout=30)
    assert api_answer.status_code == 422 and alert.strip() == api_answer.json()["detail"]
    assert page.input_value("#mapping-version") == hostile
    assert page.locator("#injected").count() == 0 and read.json("/mappings") == []

    page.fill("#mapping-version", "r8")
    page.set_input_files("#mapping-file", str(AHAT_MAP))
    page.click("#mapping-form button[type=submit]")
    notice = page.text_content("#mappings-notice[role=status]")
    assert "1 report of that version queued" in notice
    [stored] = read.json("/mappings")
    row = page.locator("#mapping-list tr[data-version='r8']")
    assert stored["version"] == "r8" and stored["classes"] > 0
    assert int(row.locator("td.num").text_content().replace(",", "")) == stored["classes"]
    # the report of that version is analysed again, retraced with it
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = wait_done(server, keys["read_key"], report)
        doc = read.get(f"/reports/{report}/report")
        if state["status"] == "done" and doc.status_code == 200 and doc.json()["retrace"]:
            break
        time.sleep(0.3)
    assert doc.json()["retrace"]["mapping"] == "mapping of version r8"
    assert errors.messages == []
    page.context.close()


@pytest.mark.browser
def test_the_ownership_file_saved_on_the_page_is_the_apis(served, browser):
    server, keys = served["server"], served["keys"]
    read = Api(server, keys["read_key"])
    page, errors = open_page(browser, served, keys["admin_key"], "/settings")
    rules = "# teams\n** @platform\ncom.example.leakcanary.** @leaks-team  # the sample app\n"
    page.fill("#ownership-file", rules)
    page.click("#ownership-form button[type=submit]")
    assert "Saved: 2 rules" in page.text_content("#ownership-notice")
    stored = read.get("/ownership").text
    assert stored == rules
    owners = {i["owner"] for i in read.json("/issues")}
    assert owners <= {"@platform", "@leaks-team"} and "@leaks-team" in owners
    # a bad line: its number in the message, the stored file unchanged, the draft kept
    bad = "** @platform\ncom..example @x\n"
    page.fill("#ownership-file", bad)
    page.click("#ownership-form button[type=submit]")
    alert = page.text_content("#ownership-notice[role=alert]")
    assert "line 2" in alert and "empty name between dots" in alert
    assert read.get("/ownership").text == rules
    assert page.input_value("#ownership-file") == bad
    assert errors.messages == []
    page.context.close()


@pytest.mark.browser
def test_a_webhook_added_on_the_page_gets_one_signed_test_event(served, browser):
    server, keys = served["server"], served["keys"]
    admin = Api(server, keys["admin_key"])
    receiver = Receiver()
    page, errors = open_page(browser, served, keys["admin_key"], "/settings",
                             viewport={"width": 1280, "height": 900})
    # refused as the API refuses it
    page.fill("#webhook-url", "ftp://example.com/hook")
    page.click("#webhook-form button[type=submit]")
    assert page.text_content("#webhooks-notice[role=alert]").strip() == \
        "url: an http:// or https:// address is required"
    assert page.input_value("#webhook-url") == "ftp://example.com/hook"
    page.fill("#webhook-url", receiver.url("/hook"))
    page.uncheck("input[name=events][value=spike]")
    page.click("#webhook-form button[type=submit]")
    secret = page.text_content("#new-secret")
    [hook] = admin.json("/webhooks")
    assert hook["url"] == receiver.url("/hook") and hook["events"] == ["new_issue", "regression"]
    assert secret not in json.dumps(hook)
    card = page.locator(f"article[data-webhook='{hook['id']}']")
    card.locator("button:has-text('Send test')").click()
    [request] = receiver.wait_for("/hook", 1)
    assert json.loads(request["body"])["event"] == "test" and verifies(request, secret)
    card.locator("[data-state=sent]").wait_for(timeout=15_000)  # the page polled it
    [delivery] = admin.json(f"/webhooks/{hook['id']}/deliveries")
    assert (delivery["event"], delivery["state"], delivery["attempts"]) == ("test", "sent", 1)
    assert card.locator(f"tr[data-delivery='{delivery['id']}'] td.reason").text_content() == \
        "HTTP 200"
    time.sleep(1)
    assert len(receiver.received("/hook")) == 1  # one event, once
    screenshot(page, "settings-1280")
    page.goto(f"{server.url}/settings")
    assert secret not in page.content()
    card.locator("button:has-text('Delete')").click()
    page.wait_for_url(f"{server.url}/settings")
    assert admin.json("/webhooks") == [] and page.locator("article[data-webhook]").count() == 0
    assert errors.messages == []
    page.context.close()
    receiver.http.shutdown()


@pytest.mark.browser
def test_a_read_session_sees_no_forms_and_changes_need_admin_and_csrf(served, browser):
    server, keys = served["server"], served["keys"]
    rules = "** @platform\n"
    assert httpx.put(f"{server.url}/api/v1/ownership", content=rules, timeout=10,
                     headers={"Authorization": f"Bearer {keys['admin_key']}"}).status_code == 200
    page, errors = open_page(browser, served, keys["read_key"], "/settings")
    assert page.locator("main form").count() == 0
    assert page.locator("#key-list tr[data-key]").count() >= 3  # the keys, without buttons
    assert "admin keys only" in page.text_content("#webhooks")
    assert page.text_content("pre#ownership-file") == rules  # to read, not to edit
    csrf_less = page.request.post(f"{server.url}/settings/keys", form={"kind": "read"})
    assert csrf_less.status == 403
    page.context.close()
    page, _ = open_page(browser, served, keys["admin_key"], "/settings")
    token = page.get_attribute("input[name=csrf]", "value")
    before = len(Api(server, keys["admin_key"]).json("/keys"))
    for form in ({"kind": "read"}, {"kind": "read", "csrf": "forged"}):
        assert page.request.post(f"{server.url}/settings/keys", form=form).status == 403
    assert len(Api(server, keys["admin_key"]).json("/keys")) == before
    assert page.request.post(f"{server.url}/settings/keys",
                             form={"kind": "read", "csrf": token}).status == 201
    assert errors.messages == []
    page.context.close()


@pytest.mark.browser
def test_settings_by_keyboard_narrow_and_dark(served, browser):
    server, keys = served["server"], served["keys"]
    page, errors = open_page(browser, served, keys["admin_key"], "/settings",
                             viewport={"width": 400, "height": 900}, color_scheme="dark")
    before = len(Api(server, keys["admin_key"]).json("/keys"))
    for _ in range(60):  # Tab to the "Create key" button, Enter presses it
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Create key":
            break
    assert page.evaluate("document.activeElement.textContent") == "Create key"
    page.keyboard.press("Enter")
    page.wait_for_selector("#new-secret")
    assert len(Api(server, keys["admin_key"]).json("/keys")) == before + 1
    for selector in ("#mapping-version", "#mapping-file", "#ownership-file", "#webhook-url",
                     "#webhook-form button[type=submit]"):
        page.focus(selector)
        assert page.evaluate("document.activeElement.tabIndex") >= 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    screenshot(page, "settings-400-dark")
    assert errors.messages == []
    page.context.close()


# the keys API, and the overview's SQL


def test_the_keys_api_makes_lists_and_revokes_keys_for_an_admin_only(served):
    server, keys, other = served["server"], served["keys"], served["other"]
    url = f"{server.url}/api/v1/keys"

    def call(method: str, key: str, path: str = "", **body):
        return httpx.request(method, url + path, headers={"Authorization": f"Bearer {key}"},
                             timeout=10, **({"json": body} if body else {}))

    made = call("POST", keys["admin_key"], kind="ingest")
    assert made.status_code == 201 and made.json()["key"].startswith(made.json()["prefix"])
    assert made.json()["kind"] == "ingest" and made.json()["revoked_at"] is None
    listed = call("GET", keys["admin_key"]).json()
    assert made.json()["id"] in [k["id"] for k in listed]
    assert all("key" not in k and "digest" not in k for k in listed)
    assert upload(server, made.json()["key"], path=DATA / "art_ahat_test-dump.hprof.gz",
                  idem="new-key").status_code == 202  # the new ingest key uploads
    for key in (keys["read_key"], keys["ingest_key"]):  # not an admin: no keys
        assert call("GET", key).status_code == 403
        assert call("POST", key, kind="read").status_code == 403
    refused = call("POST", keys["admin_key"], kind="root")
    assert refused.status_code == 422 and "'root'" in refused.json()["detail"]
    assert call("DELETE", other["admin_key"], f"/{made.json()['id']}").status_code == 404
    assert call("DELETE", keys["admin_key"], f"/{made.json()['id']}").status_code == 204
    assert call("DELETE", keys["admin_key"], f"/{made.json()['id']}").status_code == 404
    assert upload(server, made.json()["key"], idem="revoked").status_code == 401
    mappings = httpx.get(f"{server.url}/api/v1/mappings", timeout=10,
                         headers={"Authorization": f"Bearer {keys['ingest_key']}"})
    assert mappings.status_code == 403


def test_the_overview_counts_utc_days_and_only_its_project_on_sqlite_and_postgresql(database,
                                                                                     project):
    """Reports at 23:30 and 00:30 UTC fall on two days even when the database session's zone
    is Tokyo's; reports without a cause (not analysed), too old, or of another project are not
    counted."""
    today = date(2026, 3, 10)
    at = lambda day, hh, mm: datetime(2026, 3, day, hh, mm, tzinfo=UTC)  # noqa: E731
    tokyo = timezone(timedelta(hours=9))
    with database() as s:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SET TIME ZONE 'Asia/Tokyo'"))
        stranger = Project(slug="stranger", name="Stranger", created_at=at(1, 0, 0))
        s.add(stranger)
        s.flush()
        rows = [("a", project.id, at(9, 23, 30), "heap-exhausted", "done", ""),
                ("b", project.id, at(10, 0, 30).astimezone(tokyo), "heap-exhausted", "done", ""),
                ("c", project.id, at(10, 12, 0), "thread-limit", "done", ""),
                ("d", project.id, at(10, 13, 0), "", "queued", ""),
                ("e", project.id, at(10, 14, 0), "", "failed", "not an HPROF"),
                ("f", project.id, at(10, 15, 0), "", "dead", "gave up after 3 attempts"),
                ("g", project.id, at(1, 12, 0), "thread-limit", "done", ""),  # before the window
                ("h", stranger.id, at(10, 12, 0), "thread-limit", "done", "")]
        for name, owner, when, cause, status, error in rows:
            s.add(Report(id=name, project_id=owner, idempotency_key=name, status=status,
                         received_at=when, oom_cause=cause, error=error, dump_key=name,
                         dump_bytes=1, dump_format="hprof"))
        s.commit()
        chart = overview.causes_per_day(s, project.id, days=3, today=today)
        assert chart.days == ["2026-03-08", "2026-03-09", "2026-03-10"]
        assert chart.counts == {"heap-exhausted": [0, 1, 1], "thread-limit": [0, 0, 1]}
        assert chart.rows == [("2026-03-10", [1, 1], 2), ("2026-03-09", [1, 0], 1)]
        assert overview.job_states(s, project.id) == \
            {"queued": 1, "running": 0, "done": 4, "failed": 1, "dead": 1}
        assert [(r.id, r.error) for r in overview.problem_reports(s, project.id)] == \
            [("f", "gave up after 3 attempts"), ("e", "not an HPROF")]
        # top issues by the counts kept on their rows, ignored ones left out
        for name, reports, retained, status, regressed in (
                ("few-big", 1, 900, "open", at(8, 0, 0)), ("many-small", 3, 30, "open", None),
                ("ignored", 9, 9000, IssueStatus.IGNORED, None),
                ("middle", 2, 500, "open", at(9, 0, 0))):
            s.add(Issue(project_id=project.id, kind="leak", signature=name, title=name,
                        first_seen=at(1, 0, 0), last_seen=at(10, 0, 0), regressed_at=regressed,
                        representative_report_id="a", representative_bytes=1,
                        representative="{}", reports=reports, total_retained_bytes=retained,
                        status=status))
        s.commit()
        assert [i.title for i in overview.top_issues(s, project.id, "reports")] == \
            ["many-small", "middle", "few-big"]
        assert [i.title for i in overview.top_issues(s, project.id, "retained")] == \
            ["few-big", "middle", "many-small"]
        assert [i.title for i in overview.newest_regressions(s, project.id)] == \
            ["middle", "few-big"]
        assert overview.causes_per_day(s, stranger.id, days=3, today=today).counts == \
            {"thread-limit": [0, 0, 1]}
