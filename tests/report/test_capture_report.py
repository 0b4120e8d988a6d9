"""The capture's sidecar in the report: what crossed which limit, composed from the agent's
numbers; threads or descriptors first for those thresholds; the OOM cause left to the message;
the same facts in the terminal and HTML reports, escaped. On real JVM dumps (tests/java's
ThreadFixtures and Resources), with sidecars whose numbers are those of the dumped program."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console
from test_report_html import parse
from test_report_schema import CAPTURE_ONLY, as_printed, assert_valid, check_shapes
from test_report_schema import schema, validator  # noqa: F401 (fixtures)

import oomlens
from oomlens.analysis.descriptors import summarize_descriptors
from oomlens.analysis.look_first import DESCRIPTORS, HEAP, THREADS
from oomlens.analysis.trigger import summary
from oomlens.capture.sidecar import checked_sidecar
from oomlens.config import Settings
from oomlens.report.document import build_report
from oomlens.report.html import render_html
from oomlens.report.text import render_text
from oomlens.units import human_bytes

pytestmark = pytest.mark.jvm

MB = 1 << 20
HEAP_MAX = 256 * MB  # tests/support/jvmdump.py runs the programs with -Xmx256m
OOM = "java.lang.OutOfMemoryError: unable to create native thread: possibly out of memory"
STACK = (f"{OOM}\n\tat java.base/java.lang.Thread.start0(Native Method)\n"
         "\tat java.base/java.lang.Thread.start(Thread.java:809)\n"
         "\tat ThreadFixtures.main(ThreadFixtures.java:36)\n")
HOSTILE = "<img src=x onerror=alert('host')>"


def sidecar(trigger: str, **fields) -> dict:
    """A checked sidecar as the agent would write it for the dumped program."""
    return checked_sidecar({"schema": "oomlens.capture/1", "capture_id": "c-" + trigger,
                            "trigger": trigger, "pid": 4711, "host": "ci-runner",
                            "heap_max_bytes": HEAP_MAX,
                            "jvm": {"name": "OpenJDK 64-Bit Server VM", "vendor": "Debian",
                                    "version": "17.0.9"},
                            "captured_at": "2026-12-03T11:34:24.512Z", **fields})


def text_of(doc: dict) -> str:
    out = io.StringIO()
    render_text(doc, Console(file=out, width=160, highlight=False))
    return out.getvalue()


def section_ids(page: str) -> list[str]:
    return [i for i in parse(page).ids if i in ("threads", "file-descriptors", "leaks",
                                                 "big-objects", "bitmaps")]


@pytest.fixture(scope="module")
def thread_heap(java_dumps):
    with oomlens.open_heap(java_dumps("ThreadFixtures")) as heap:
        yield heap


@pytest.fixture(scope="module")
def resources_heap(java_dumps):
    with oomlens.open_heap(java_dumps("Resources")) as heap:
        yield heap


@pytest.fixture(scope="module")
def live_threads(thread_heap) -> int:
    """The program's threads as the agent counts them (Thread objects in the heap)."""
    return sum(1 for _ in thread_heap.instances_of("java.lang.Thread"))


# -- the sentence, from the numbers ------------------------------------------------------------

def test_heap_threshold_says_how_full_after_gc_and_for_how_many_checks():
    sustained = {"metric": "heap", "value": 440 * MB, "limit": 410 * MB, "max": 512 * MB,
                 "checks": 3, "rule": "sustained"}
    assert summary(sidecar("heap-threshold", threshold=sustained)) == \
        "heap 86% of 512 MB after GC, 3 checks"
    step = {"metric": "heap", "value": 466 * MB, "previous": 282 * MB, "max": 512 * MB,
            "checks": 1, "rule": "step"}
    assert summary(sidecar("heap-threshold", threshold=step)) == \
        "heap rose to 91% of 512 MB after GC (from 55%) between two checks"
    # without a known max: the sizes themselves
    unbounded = {"metric": "heap", "value": 3 * MB // 2, "limit": MB, "checks": 1}
    assert summary(checked_sidecar({"trigger": "heap-threshold", "threshold": unbounded})) == \
        "heap 1.5 MB after GC, threshold 1 MB, 1 check"


def test_thread_and_descriptor_thresholds_say_how_close_to_the_limit():
    threads = {"metric": "threads", "value": 412, "limit": 400, "max": 500, "checks": 2}
    assert summary(sidecar("thread-threshold", threshold=threads)) == \
        "412 threads, limit 500 (82%)"
    fds = {"metric": "fds", "value": 205, "limit": 204, "max": 256}
    assert summary(sidecar("fd-threshold", threshold=fds)) == "205 open files of 256 (80%)"
    # no threshold object: the sidecar's own counts stand in
    assert summary(sidecar("fd-threshold", open_fds=900, fd_limit=1024)) == \
        "900 open files of 1,024 (88%)"
    assert summary(sidecar("thread-threshold", threads=12_000)) == "12,000 threads"


def test_without_numbers_the_agents_reason_and_then_the_trigger_say_it():
    assert summary(sidecar("thread-threshold", reason="threads 900 of 1000")) == \
        "threads 900 of 1000"
    assert summary(sidecar("fd-threshold")) == \
        "The open file descriptors crossed the agent's threshold"
    # a threshold about another metric is not this trigger's numbers
    other = {"metric": "heap", "value": 5, "max": 10}
    assert summary(sidecar("thread-threshold", threshold=other, reason="r")) == "r"
    assert summary(sidecar("oom", oom_message=STACK, reason="ignored")) == OOM
    assert summary(sidecar("oom", reason="OutOfMemoryError in main")) == \
        "OutOfMemoryError in main"


# -- real dumps: the report ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def thread_doc(thread_heap, live_threads) -> dict:
    limit = 2 * live_threads
    threshold = {"metric": "threads", "value": live_threads, "limit": live_threads - 1,
                 "max": limit, "checks": 1, "rule": "sustained"}
    return as_printed(build_report(thread_heap, Settings(), capture=sidecar(
        "thread-threshold", threshold=threshold, threads=live_threads, thread_limit=limit,
        reason=f"threads {live_threads}")))


@pytest.fixture(scope="module")
def fd_doc(resources_heap) -> dict:
    open_fds = summarize_descriptors(resources_heap).open
    threshold = {"metric": "fds", "value": open_fds, "limit": open_fds, "max": 4 * open_fds,
                 "checks": 1}
    return as_printed(build_report(resources_heap, Settings(), capture=sidecar(
        "fd-threshold", threshold=threshold, open_fds=open_fds, fd_limit=4 * open_fds,
        truncated=True)))


def test_a_thread_threshold_report_puts_threads_first(thread_doc, live_threads,
                                                      validator):  # noqa: F811
    capture = thread_doc["capture"]
    assert thread_doc["oom_cause"] is None  # no error was thrown: none is guessed
    assert capture["trigger"] == "thread-threshold"
    assert capture["look_first"] == list(THREADS)
    assert capture["summary"] == f"{live_threads} threads, limit {2 * live_threads} (50%)"
    assert (capture["threads"], capture["thread_limit"]) == (live_threads, 2 * live_threads)
    assert capture["jvm"] == {"name": "OpenJDK 64-Bit Server VM", "vendor": "Debian",
                              "version": "17.0.9"}
    assert capture["truncated"] is False and capture["oom_stack_trace"] is None
    # the dump's threads are the program's: 12 in the pool, 3 uploaders
    assert {g["pattern"]: g["count"] for g in thread_doc["threads"]}["pool-#-thread-#"] == 12
    assert sum(g["count"] for g in thread_doc["threads"]) == live_threads
    assert_valid(validator, thread_doc)

    out = text_of(thread_doc)
    assert f"Trigger: thread-threshold - {capture['summary']}" in out
    assert f"Threads: {live_threads} of a limit of {2 * live_threads}" in out
    assert out.index("Threads (") < out.index("Leaks")
    page = render_html(thread_doc)
    assert section_ids(page)[0] == "threads"
    assert f'<dd data-fact="threads">{live_threads} of a limit of {2 * live_threads}</dd>' \
        in page
    assert "before any OutOfMemoryError" in page


def test_an_fd_threshold_report_puts_descriptors_then_threads_first(fd_doc,
                                                                    validator):  # noqa: F811
    capture = fd_doc["capture"]
    open_fds = fd_doc["file_descriptors"]["open"]
    assert open_fds > 10  # 7 readers, a journal, a listener, 3 client and 3 accepted sockets
    assert fd_doc["oom_cause"] is None
    assert capture["look_first"] == list(DESCRIPTORS)
    assert capture["summary"] == f"{open_fds} open files of {4 * open_fds} (25%)"
    assert capture["truncated"] is True
    assert_valid(validator, fd_doc)
    out = text_of(fd_doc)
    assert out.index("Open file descriptors (") < out.index("Threads (") < out.index("Leaks")
    assert "the capture was cut off" in out
    page = render_html(fd_doc)
    assert section_ids(page)[:2] == ["file-descriptors", "threads"]
    assert "The capture was cut off" in page


def test_the_capture_shapes_validate(schema, thread_doc, fd_doc):  # noqa: F811
    check_shapes(schema, [thread_doc, fd_doc], CAPTURE_ONLY)


def test_a_heap_threshold_puts_the_heap_sections_first(thread_heap, validator):  # noqa: F811
    threshold = {"metric": "heap", "value": 220 * MB, "limit": 205 * MB, "max": HEAP_MAX,
                 "checks": 3, "rule": "sustained"}
    doc = as_printed(build_report(thread_heap, Settings(), capture=sidecar(
        "heap-threshold", threshold=threshold, heap_after_gc_bytes=220 * MB)))
    assert doc["oom_cause"] is None
    assert doc["capture"]["look_first"] == list(HEAP)
    assert doc["capture"]["summary"] == "heap 86% of 256 MB after GC, 3 checks"
    assert_valid(validator, doc)
    assert f"{human_bytes(220 * MB)} after GC, max {human_bytes(HEAP_MAX)}" in text_of(doc)


def test_an_oom_capture_classifies_its_message_as_the_option_would(thread_heap,
                                                                   validator):  # noqa: F811
    plain = build_report(thread_heap, Settings(), oom_message=OOM)
    doc = as_printed(build_report(thread_heap, Settings(), capture=sidecar(
        "oom", oom_message=OOM, oom_stack_trace=STACK, oom_thread="main")))
    assert doc["oom_cause"] == as_printed(plain["oom_cause"])
    assert doc["oom_cause"]["kind"] == "thread-limit"
    capture = doc["capture"]
    assert capture["look_first"] == []  # the cause says which sections
    assert capture["summary"] == OOM and capture["oom_thread"] == "main"
    assert_valid(validator, doc)
    # --oom-message wins over the sidecar's
    given = build_report(thread_heap, Settings(), oom_message="Java heap space",
                         capture=sidecar("oom", oom_message=OOM))
    assert given["oom_cause"]["kind"] == "heap-exhausted"
    page = render_html(doc)
    parse(page)
    collapsed = page[page.index('<details class="stack-trace">'):]
    assert "in thread <code>main</code>" in collapsed
    assert "\tat java.base/java.lang.Thread.start0(Native Method)" in collapsed
    out = text_of(doc)
    assert "stack trace:" in out and "ThreadFixtures.main(ThreadFixtures.java:36)" in out


def test_capture_strings_are_escaped(thread_doc):
    doc = json.loads(json.dumps(thread_doc))
    capture = doc["capture"]
    capture.update(host=HOSTILE, reason="</script><script>alert('reason')</script>",
                   oom_thread="<b onmouseover=alert(1)>t</b>",
                   oom_stack_trace="<script>alert('trace')</script>",
                   summary="<svg onload=alert('summary')>", trigger="oom")
    page = render_html(doc)
    parsed = parse(page)
    assert "<img src=x" not in page and "<svg" not in page and "<b onmouseover" not in page
    assert page.count("<script") == 2 and len(parsed.scripts) == 2
    assert "&lt;img src=x onerror=alert(&#39;host&#39;)&gt;" in page
    assert "&lt;/script&gt;&lt;script&gt;alert(&#39;reason&#39;)&lt;/script&gt;" in page
    out = text_of(doc)
    assert f"Host: {HOSTILE}" in out  # shown as typed, not read as markup
