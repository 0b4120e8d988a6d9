"""Small words in the HTML report that misled (issue 13): links to sections that hold nothing,
"0, 0 B of pixels", and the id size said two ways."""

from __future__ import annotations

import re

from conftest import DATA
from oomlens.report.sections import TITLES, has_findings
from cliutil import oomlens_cli
from test_report_cuts import analysed_json

JDK11 = DATA / "openjdk_jdk11_04_x64.hprof.gz"
DIALER = DATA / "dalvik_dialer.hprof.gz"  # bitmaps in the Java heap, none native


def html_of(path, *args) -> str:
    result = oomlens_cli("analyze", path, "--format", "html", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_look_first_links_only_sections_with_findings():
    message = ("--oom-message", "java.lang.OutOfMemoryError: Java heap space")
    report = analysed_json(JDK11, *message)
    first = report["oom_cause"]["look_first"]
    empty = [s for s in first if not has_findings(report, s)]
    full = [s for s in first if has_findings(report, s)]
    assert empty and full  # the dump has some of what a full heap asks for, not all
    page = html_of(JDK11, *message)
    line = re.search(r"Look first at: (.*?)\.</p>", page).group(1)
    assert re.findall(r">([^<]+)</a>", line) == [TITLES[s] for s in full]
    for s in empty:
        assert f"{TITLES[s]} (none found)" in line


def test_bitmap_counts_say_none_and_ids_are_in_bytes():
    report = analysed_json(DIALER)
    bitmaps = report["bitmaps"]
    assert bitmaps["heap_count"] > 0 and bitmaps["native_count"] == 0
    page = html_of(DIALER)
    assert "<dt>native</dt><dd>none</dd>" in page
    assert f"{bitmaps['heap_count']} bitmaps, " in page and "0, 0 B" not in page
    assert "4-byte ids" in page and "-bit ids" not in page
