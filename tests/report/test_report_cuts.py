"""Every rendering that shows part of a list says how much it left out and how to see it
(issue 13): a table cut at 10 rows reads as the whole table otherwise."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console

from conftest import DATA
from oomlens.report.html import render_html
from oomlens.report.text import render_text
from cliutil import oomlens_cli

DIALER = DATA / "dalvik_dialer.hprof.gz"  # 16 threads in 12 name patterns
JDK11 = DATA / "openjdk_jdk11_04_x64.hprof.gz"  # 16 objects retaining 16 KB or more


def analysed_json(path, *args) -> dict:
    result = oomlens_cli("analyze", path, "--format", "json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def dialer_report():
    return analysed_json(DIALER)


def _text(report: dict, **limits) -> str:
    buffer = io.StringIO()
    render_text(report, Console(file=buffer, width=200, highlight=False), **limits)
    return buffer.getvalue()


def _table_column(text: str, title: str) -> list[str]:
    """The first column of the text table titled ``title...``."""
    block = text[text.index(title):].split("\n\n", 1)[0]
    return [m.group(1).strip() for m in re.finditer(r"^│ ([^│]+?)\s*│", block, re.M)]


def test_threads_table_says_what_it_left_out(dialer_report):
    patterns = [g["pattern"] for g in dialer_report["threads"]]
    assert len(patterns) == 12
    result = oomlens_cli("analyze", DIALER)
    assert result.returncode == 0, result.stderr
    assert _table_column(result.stdout, "Threads (16 in 12 name patterns)") == patterns[:10]
    assert "... 2 more name patterns not shown (--rows all lists every row)" in result.stdout

    everything = oomlens_cli("analyze", DIALER, "--rows", "all")
    assert everything.returncode == 0, everything.stderr
    assert _table_column(everything.stdout, "Threads (16") == patterns
    assert "not shown" not in everything.stdout


def test_rows_option_cuts_every_table_and_counts_the_rest(dialer_report):
    result = oomlens_cli("analyze", DIALER, "--rows", "3")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert _table_column(out, "Threads (") == [g["pattern"] for g in dialer_report["threads"]][:3]
    assert "... 9 more name patterns not shown" in out
    owners = dialer_report["file_descriptors"]["by_owner"]
    assert len(owners) == 4
    assert _table_column(out, "Open file descriptors") == [g["owner_class"] for g in owners][:3]
    assert "... 1 more owner class not shown" in out
    top = dialer_report["top_retained"]
    assert f"... {len(top) - 3} more objects not shown" in out


@pytest.mark.parametrize("value", ["0", "-1", "ten", ""])
def test_bad_rows_value_is_one_line(value):
    result = oomlens_cli("analyze", DIALER, "--rows", value)
    assert result.returncode == 2
    assert "--rows" in result.stderr and "Traceback" not in result.stderr


def test_every_text_section_counts_its_cut(java_dumps):
    """One row per table, one group per section: every list longer than that has a line
    saying how many more there are, with the number the document holds."""
    result = oomlens_cli("analyze", java_dumps("ThreadFixtures"), "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    text = _text(report, rows=1, traces=1)
    expected = {"name pattern": len(report["threads"]),
                "owner class": len(report["file_descriptors"].get("by_owner", [])),
                "object": len(report["top_retained"]), "leak group": len(report["leaks"]),
                "big object": len(report["big_objects"])}
    assert expected["name pattern"] > 1 and expected["object"] > 1
    for noun, n in expected.items():
        if n > 1:
            assert re.search(rf"\.\.\. {n - 1} more {noun}e?s? not shown", text), noun
    assert "name pattern" in text


def test_document_lists_the_biggest_and_counts_all(tmp_path):
    """``max_big_objects`` cuts the list in the document; the summary still counts every one,
    and each rendering says the list is the top of a longer one."""
    def analysed(limit: int) -> dict:
        config = tmp_path / f"limit{limit}.toml"
        config.write_text(f"[thresholds]\nbig_object_bytes = 16384\nmax_big_objects = {limit}\n")
        result = oomlens_cli("analyze", JDK11, "--format", "json", "--config", config)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    everything, cut = analysed(1000), analysed(1)
    found = len(everything["big_objects"])
    assert found > 1 and everything["summary"]["big_objects"] == found
    assert cut["summary"]["big_objects"] == found and len(cut["big_objects"]) == 1
    assert cut["big_objects"][0]["object"] == everything["big_objects"][0]["object"]
    note = f"The 1 biggest of {found} are listed: set max_big_objects (now 1)"
    assert note in _text(cut)
    assert note in render_html(cut)
    assert "are listed" not in _text(everything) + render_html(everything)


def test_html_samples_say_how_many_more(java_dumps):
    result = oomlens_cli("analyze", java_dumps("ThreadFixtures"), "--format", "json")
    report = json.loads(result.stdout)
    pool = next(g for g in report["threads"] if g["pattern"] == "pool-#-thread-#")
    assert pool["count"] == 12 and len(pool["names"]) == 5
    page = render_html(report)
    assert ", ".join(pool["names"]) + " and 7 more" in page
    assert ", ...<" not in page
