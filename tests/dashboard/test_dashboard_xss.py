"""Nothing from a dump or an upload runs in the dashboard. Real dumps are given hostile names
(`oomlens deobfuscate` with tests/data/hostile.map renames classes and fields into markup and
scripts; tests/java/HostileNames names a thread with a script tag), uploaded with hostile
metadata, analysed; then every dashboard page reachable from the overview is opened (issues,
issue, report, the dominator explorer expanded, settings) and each must show the markup as text:
no dialog opens, no script error, no element the payloads would create."""

from __future__ import annotations

import json
import subprocess
from collections import deque
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from browser import ScriptErrors, log_in, screenshot
from conftest import DATA
from jvmdump import dump_program, java_available
from serverrun import OOMLENS, Server, upload, wait_done

pytestmark = pytest.mark.browser

# the capture's sidecar, as an agent in a hostile app could write it
CAPTURE_HOST = "<svg onload=alert('capture host')>"
HOSTILE_CAPTURE = {
    "trigger": "oom", "host": CAPTURE_HOST, "reason": "<script>alert('reason')</script>",
    "oom_thread": "<img src=x onerror=alert('oom thread')>",
    "oom_stack_trace": "</pre><script>alert('stack')</script>", "process": "<b onmouseover=x>",
    "jvm": {"name": "<iframe src=javascript:alert('jvm')></iframe>"}}
HOSTILE_METADATA = {"device_model": "<iframe src=javascript:alert('device')></iframe>",
                    "app_version": "1.0<script>alert('version')</script>",
                    "oom_message": "java.lang.OutOfMemoryError: <img src=x "
                                   "onerror=alert('message')>Failed to allocate a 65548 byte "
                                   "allocation with 3200 free bytes",
                    "trigger": "oom", "capture": json.dumps(HOSTILE_CAPTURE)}
# what the payloads would create if any were parsed as HTML
PAYLOAD_ELEMENTS = ("script:not([src]):not([type='application/json'])", "img[src='x']",
                    "iframe", "svg[onload]", "[onmouseover]", "[onerror]", "[onload]")
THREAD_NAME = "<script>alert('thread')</script>"  # tests/java/HostileNames.java
MAX_PAGES = 60


def hostile_dump(source, mapping, out_dir):
    out = out_dir / f"{source.name.split('.')[0]}-hostile.hprof"
    done = subprocess.run([*OOMLENS, "deobfuscate", str(source), str(out), "--mapping",
                           str(mapping)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if not java_available():
        pytest.fail("java and javac are needed (they are on every machine this runs on)")
    work = tmp_path_factory.mktemp("xss")
    dumps = [hostile_dump(DATA / "dalvik_leak_service_binder.hprof.gz", DATA / "hostile.map",
                          work),
             hostile_dump(dump_program("HostileNames", work), DATA / "hostile.map", work)]
    server = Server(work / "data")
    keys = server.create_project("app")
    server.start()
    ids = [upload(server, keys["ingest_key"], path=dump, idem=dump.name,
                  **HOSTILE_METADATA).json()["id"] for dump in dumps]
    for report_id in ids:
        assert wait_done(server, keys["read_key"], report_id)["status"] == "done"
    yield server, keys, ids
    server.kill()


def same_site_links(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    links = []
    for href in hrefs:
        url = urljoin(page.url, href)
        parts = urlsplit(url)
        if url.startswith(base) and not parts.path.startswith(("/static", "/api", "/logout")) \
                and "/download/" not in parts.path:
            links.append(url.split("#")[0])
    return links


def expand_everything(page, rounds: int = 3) -> None:
    """Open the lazily loaded parts (the dominator explorer's levels)."""
    for _ in range(rounds):
        closed = page.locator("button[aria-expanded='false']")
        if closed.count() == 0:
            return
        for _ in range(min(closed.count(), 5)):
            closed.nth(0).click()
            page.wait_for_load_state("networkidle")


def test_no_dashboard_page_runs_what_a_dump_or_upload_contains(served, browser):
    server, keys, report_ids = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = ScriptErrors(page)
    log_in(page, server.url, keys["admin_key"], "/overview")
    queue = deque([f"{server.url}/overview", f"{server.url}/issues", f"{server.url}/settings",
                   *(f"{server.url}/reports/{r}" for r in report_ids)])
    seen: set[str] = set()
    texts = []
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        answer = page.goto(url)
        assert answer.status == 200, (url, answer.status)
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        expand_everything(page)
        for selector in PAYLOAD_ELEMENTS:
            assert page.locator(selector).count() == 0, (url, selector)
        texts.append(page.inner_text("body"))
        queue.extend(same_site_links(page, server.url))
    screenshot(page, "xss-last-page")
    page.close()
    assert errors.messages == []
    visited = {urlsplit(u).path.split("/")[1] for u in seen}
    assert {"overview", "issues", "reports", "settings"} <= visited
    everything = "\n".join(texts)
    titles = [i["title"] for i in httpx.get(f"{server.url}/api/v1/issues", timeout=10, headers={
        "Authorization": f"Bearer {keys['read_key']}"}).json()]
    assert any("<script>" in title for title in titles)  # the hostile class names got through
    for markup in [*titles, THREAD_NAME, HOSTILE_METADATA["device_model"],
                   HOSTILE_METADATA["app_version"], CAPTURE_HOST]:
        assert markup in everything, markup  # shown, as text
