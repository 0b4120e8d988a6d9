"""The HTML report: one offline page, everything from the dump escaped, and it works in a real
browser (headless Chromium)."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import subprocess
from html.parser import HTMLParser

import pytest

from browser import chromium_path
from oomlens.analysis.bitmaps import DuplicateBitmaps
from oomlens.config import Settings
from oomlens.report.document import build_report
from oomlens.report.html import render_html, section_order

BINDER = "dalvik_leak_service_binder.hprof.gz"
LEAKING_CLASS = "com.example.leakcanary.LeakyService"
WATCH_KEY = "b3abfae6-2c53-42e1-b8c1-96b0558dbeae"
STATIC_FIELD = "leakAllTheBinders"
SECTION_IDS = ["oom-cause", "summary", "leaks", "library-leaks", "big-objects", "class-clusters",
               "bitmaps", "threads", "file-descriptors", "top-retained", "histogram"]
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
NETWORK = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)


class PageParser(HTMLParser):
    """Collects what the tests look at, and fails on any end tag that does not close the
    innermost open element (html.parser itself accepts anything)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.urls: list[str] = []
        self.scripts: list[tuple[dict, str]] = []
        self.body: dict | None = None
        self.meta: list[dict] = []
        self.numeric_cells: list[str | None] = []
        self.bar_widths: list[str] = []
        self._script: dict | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        for name in ("src", "href", "action", "srcset", "poster", "data", "formaction"):
            if a.get(name):
                self.urls.append(a[name])
        if tag == "body":
            self.body = a
        if tag == "meta":
            self.meta.append(a)
        if tag == "td" and "num" in (a.get("class") or "").split():
            self.numeric_cells.append(a.get("data-value"))
        if tag == "span" and a.get("class") == "bar":
            self.bar_widths.append(a.get("style", ""))
        if tag == "script":
            self._script, self._text = a, []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._text)))
            self._script = None
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()

    def handle_data(self, data):
        if self._script is not None:
            self._text.append(data)


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    assert not parser.errors, parser.errors[:5]
    assert not parser.stack, f"elements left open: {parser.stack}"
    return parser


def json_block(page: str) -> str:
    blocks = re.findall(r'<script type="application/json" id="report-data">(.*?)</script>',
                        page, re.DOTALL)
    assert len(blocks) == 1
    return blocks[0]


def csp(parsed: PageParser) -> str:
    policies = [m["content"] for m in parsed.meta
                if (m.get("http-equiv") or "").lower() == "content-security-policy"]
    assert len(policies) == 1
    return policies[0]


def script_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


@pytest.fixture(scope="module")
def report(open_dump):
    return build_report(open_dump(BINDER), Settings())


@pytest.fixture(scope="module")
def full_report(open_dump):
    """Low thresholds: big objects with nested ones, class clusters inside others, large
    bitmaps; plus a group of identical bitmaps (the bundled dumps have none)."""
    doc = build_report(open_dump(BINDER), Settings(big_object_bytes=2_000,
                                                   cluster_min_bytes=20_000,
                                                   large_bitmap_bytes=10_000))
    large = doc["bitmaps"]["large"]
    dup = DuplicateBitmaps(44, 64, 11264, [0xb0d4db38, 0xb0ec5720, 0xb0ec5758],
                           {"class android.content.res.Resources": 3})
    doc["bitmaps"]["duplicates"] = [dup.to_json()]
    assert any(b["nested"] for b in doc["big_objects"])
    assert any(c["contains"] for c in doc["class_clusters"])
    assert large
    return doc


def hostile(report: dict) -> dict:
    """The document with attacker-chosen strings where a hostile dump can put them."""
    doc = copy.deepcopy(report)
    group = doc["leaks"][0]
    group["class"] = SCRIPT
    group["reason"] = "a & b <b>bold</b> 'quoted'"
    group["watch_descriptions"] = ["<!--<script>", "</script><script>alert(2)</script>"]
    node = group["traces"][0]["nodes"][0]
    node["class"] = SCRIPT
    node["reference"]["name"] = "</script><script>alert(3)</script>"
    node["leaking"] = 'yes" onmouseover="alert(4)'
    doc["dump"]["file"] = IMG
    doc["dump"]["warnings"] = ["</style><script>alert(5)</script>"]
    doc["histogram"][0]["class"] = "</script><!--<script>"
    doc["threads"][0]["pattern"] = "javascript:alert(6)"
    return doc


def test_page_shows_the_leak(report):
    page = render_html(report)
    parsed = parse(page)
    assert LEAKING_CLASS in page
    assert WATCH_KEY in page
    assert STATIC_FIELD in page
    assert 'class="refname suspect"' in page  # the suspect reference, underlined
    assert "Leaking: " in page and ">YES<" in page and ">NO<" in page and ">UNKNOWN<" in page
    assert "Service not in ActivityThread#mServices" in page
    for section in SECTION_IDS:
        assert section in parsed.ids, section
    assert len(parsed.ids) == len(set(parsed.ids)), "duplicate ids"
    assert parsed.body is not None and "data-js-ready" not in parsed.body  # JS sets it
    assert page.startswith("<!DOCTYPE html>")


def test_page_loads_nothing_from_the_network(report):
    page = render_html(report)
    parsed = parse(page)
    assert not [u for u in parsed.urls if NETWORK.match(u)]
    assert all(u.startswith("#") for u in parsed.urls), parsed.urls
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "@import" not in page and "url(" not in page
    for attrs, _ in parsed.scripts:
        assert "src" not in attrs
    policy = csp(parsed)
    assert "default-src 'none'" in policy
    assert "http" not in policy


def test_inline_script_is_the_one_the_policy_allows(report):
    parsed = parse(render_html(report))
    code = [text for attrs, text in parsed.scripts if "type" not in attrs]
    assert len(code) == 1
    assert f"script-src '{script_hash(code[0])}'" in csp(parsed)
    data = [text for attrs, text in parsed.scripts if attrs.get("type") == "application/json"]
    assert len(data) == 1


def test_every_section_renders(full_report):
    page = render_html(full_report)
    parsed = parse(page)
    for section in SECTION_IDS:
        assert section in parsed.ids, section
    assert any(i.startswith("big-") and "." in i for i in parsed.ids)
    assert any(i.startswith("cluster-") and "." in i for i in parsed.ids)
    assert "Identical bitmaps" in page and "0xb0ec5758" in page
    assert full_report["bitmaps"]["large"][0]["object"] in page


def test_numeric_cells_keep_the_raw_number(full_report):
    parsed = parse(render_html(full_report))
    assert parsed.numeric_cells
    for value in parsed.numeric_cells:
        assert value is not None and re.fullmatch(r"-?\d+", value), value
    # human units are shown, the exact number sorts
    page = render_html(full_report)
    biggest = full_report["histogram"][0]["retained_bytes"]
    assert f'data-value="{biggest}"' in page


def test_bars_are_proportional_to_the_largest(report):
    parsed = parse(render_html(report))
    rows = report["top_retained"]
    widths = [float(re.search(r"width:\s*([\d.]+)%", s).group(1)) for s in parsed.bar_widths]
    assert len(widths) == len(rows)
    assert widths[0] == 100.0
    largest = max(r["retained_bytes"] for r in rows)
    for width, row in zip(widths, rows):
        assert width == pytest.approx(max(0.5, 100 * row["retained_bytes"] / largest), abs=0.06)


def test_sections_follow_the_oom_cause(open_dump):
    doc = build_report(open_dump(BINDER), Settings(), oom_message=(
        "java.lang.OutOfMemoryError: pthread_create (1040KB stack) failed: Try again"))
    assert doc["oom_cause"]["look_first"][0] == "threads"
    assert section_order(doc)[0] == "threads"
    page = render_html(doc)
    parse(page)
    assert page.index('<section id="threads">') < page.index('<section id="leaks">')
    assert "pthread_create (1040KB stack) failed" in page
    assert "1,040.0 KB" in page or "1.0 MB" in page  # thread_stack_bytes in human units


def test_optional_parts_may_be_missing(report):
    doc = copy.deepcopy(report)
    doc["oom_cause"] = None
    doc.pop("retrace", None)
    page = render_html(doc)
    parse(page)
    assert "--oom-message" in page
    doc["retrace"] = {"mapping": "app/<mapping>.txt", "classes_renamed": 12}
    page = render_html(doc)
    parse(page)
    assert "app/&lt;mapping&gt;.txt" in page


def test_strings_from_the_dump_are_escaped(report):
    doc = hostile(report)
    page = render_html(doc)
    parsed = parse(page)

    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "<b>bold</b>" not in page
    assert 'onmouseover="' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "a &amp; b &lt;b&gt;bold&lt;/b&gt; &#39;quoted&#39;" in page
    assert "&lt;/script&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in page
    # only the page's own two script elements, and no markup sneaked into the structure
    assert page.count("<script") == 2
    assert len(parsed.scripts) == 2
    assert not [u for u in parsed.urls if not u.startswith("#")]

    block = json_block(page)
    assert "</" not in block and "<!--" not in block and "<" not in block
    assert json.loads(block) == json.loads(json.dumps(doc))


def test_cli_writes_the_page(tmp_path, data_dir):
    from click.testing import CliRunner

    from oomlens.cli.main import cli

    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["analyze", str(data_dir / BINDER), "--format", "html",
                                      "-o", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    page = out.read_text("utf-8")
    parse(page)
    assert WATCH_KEY in page


# A script the browser test adds to the page: it clicks column headers of the histogram and
# writes what it sees into <body data-test-sort>, which --dump-dom then shows.
_SORT_PROBE = """(function () {
  var head = document.querySelectorAll("#histogram thead th");
  function column(i) {
    return Array.prototype.map.call(document.querySelectorAll("#histogram tbody tr"),
      function (row) { return row.cells[i].getAttribute("data-value"); });
  }
  var seen = {};
  head[1].querySelector("button").click();
  seen.first = {order: column(1), sort: head[1].getAttribute("aria-sort")};
  head[1].querySelector("button").click();
  seen.second = {order: column(1), sort: head[1].getAttribute("aria-sort")};
  head[0].querySelector("button").click();
  seen.byName = {order: column(0), sort: head[0].getAttribute("aria-sort"),
                 instancesSort: head[1].getAttribute("aria-sort")};
  document.body.setAttribute("data-test-sort", JSON.stringify(seen));
})();"""


def test_page_in_headless_chromium(report, tmp_path):
    chromium = chromium_path()
    doc = hostile(report)
    page = render_html(doc)
    # Add the probe after the page's own script; the page's policy must allow it too.
    head, tail = page.rsplit("</body>", 1)
    page = head + f"<script>{_SORT_PROBE}</script>\n</body>" + tail
    page = page.replace("script-src '", f"script-src '{script_hash(_SORT_PROBE)}' '", 1)
    path = tmp_path / "report.html"
    path.write_text(page, "utf-8")

    result = subprocess.run(
        [chromium, "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         path.as_uri()], capture_output=True, text=True, timeout=60)
    dom = result.stdout
    assert "<body" in dom, result.stderr[-2000:]

    parsed = PageParser()
    parsed.feed(dom)
    parsed.close()
    for section in SECTION_IDS:
        assert section in parsed.ids, section
    # the page's script ran (so its CSP hash is right), and nothing injected did
    assert parsed.body.get("data-js-ready") == "1", result.stderr[-2000:]
    assert "alert" not in (parsed.body.get("onload") or "")
    assert "<script>alert" not in dom and "<img src=x" not in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert WATCH_KEY in dom

    seen = json.loads(parsed.body["data-test-sort"])
    instances = [row["instances"] for row in doc["histogram"]]
    assert seen["first"]["sort"] == "descending"
    assert [int(v) for v in seen["first"]["order"]] == sorted(instances, reverse=True)
    assert seen["second"]["sort"] == "ascending"
    assert [int(v) for v in seen["second"]["order"]] == sorted(instances)
    names = [row["class"] for row in doc["histogram"]]
    assert seen["byName"]["sort"] == "ascending" and seen["byName"]["instancesSort"] is None
    assert seen["byName"]["order"] == sorted(names, key=str.lower)
