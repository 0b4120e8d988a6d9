"""A text removed by strip explains itself where it is shown (issue 13): ``<redacted>`` in the
text and HTML reports comes with where the text went; the default strip keeps threads' names,
so a stripped dump's thread groups read as the original's."""

from __future__ import annotations

import json

import pytest

from conftest import DATA
from oomlens.heap.strings import REDACTED
from oomlens.report.redaction import EXPLANATION
from cliutil import oomlens_cli

LEAKCANARY = DATA / "dalvik_leak_service_binder.hprof.gz"  # a LeakCanary-watched leak
DIALER = DATA / "dalvik_dialer.hprof.gz"  # 16 threads in 12 name patterns
WHERE = EXPLANATION.split("(")[0]  # "<redacted>: the text was removed from the dump by oomlens strip "


@pytest.fixture(scope="module")
def stripped(tmp_path_factory):
    """name -> path of the bundled dumps stripped as upload does (--level strings), and the
    dialer dump stripped with --no-keep-thread-names."""
    out = tmp_path_factory.mktemp("stripped")
    made = {}
    for name, dump, extra in (("leakcanary", LEAKCANARY, ()), ("dialer", DIALER, ()),
                              ("dialer-nameless", DIALER, ("--no-keep-thread-names",))):
        made[name] = out / f"{name}.oomp"
        result = oomlens_cli("strip", *extra, dump, made[name])
        assert result.returncode == 0, result.stderr
    return made


def analysed(path, *args) -> str:
    result = oomlens_cli("analyze", path, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_redacted_watch_description_says_where_its_text_went(stripped):
    report = json.loads(analysed(stripped["leakcanary"], "--format", "json"))
    group = report["leaks"][0]
    assert group["watch_descriptions"] == [REDACTED] and group["watch_keys"] == [REDACTED]
    text = analysed(stripped["leakcanary"])
    assert f"LeakCanary: {REDACTED}" in text
    assert WHERE in " ".join(text.split())  # rich wraps the line
    html = analysed(stripped["leakcanary"], "--format", "html")
    assert "watch keys and descriptions are removed at every level" in html
    # the original dump has the texts and no explanation
    original = analysed(LEAKCANARY)
    assert REDACTED not in original and WHERE not in " ".join(original.split())


def test_default_strip_keeps_thread_names_and_removing_them_is_explained(stripped):
    def groups(path) -> list[tuple]:
        report = json.loads(analysed(path, "--format", "json"))
        return [(g["pattern"], g["count"], g["names"]) for g in report["threads"]]

    original = groups(DIALER)
    assert len(original) == 12 and all(REDACTED not in g[0] for g in original)
    assert groups(stripped["dialer"]) == original
    assert WHERE not in " ".join(analysed(stripped["dialer"], "--rows", "all").split())

    nameless = groups(stripped["dialer-nameless"])
    assert nameless == [(REDACTED, 16, [REDACTED] * 5)]
    text = " ".join(analysed(stripped["dialer-nameless"]).split())
    assert "Threads (16 in 1 name pattern)" in text
    assert WHERE in text and "--no-keep-thread-names" in text
    html = analysed(stripped["dialer-nameless"], "--format", "html")
    assert "threads&#39; names are kept unless --no-keep-thread-names" in html
