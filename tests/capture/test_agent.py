"""The JVM capture agent (oomlens-agent.jar, docs/capture.md) in real JVMs: each test runs a
program of tests/java/capture under ``-javaagent:$(oomlens agent path)=...`` and checks the spool
it leaves: file names, the sidecar (parsed by the reader every receiver uses, so agent and reader
cannot drift apart), the dump (opened with oomlens), the agent's lines on stderr, and that the
app itself ran as it would have without the agent.

Threshold checks run every 200 ms here (a test setting; the default is 15 s).
"""

from __future__ import annotations

import fcntl
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

import oomlens
from agentrun import (agent_jar, compile_programs, completed_captures, run_under_agent,
                      spool_names, start_under_agent)
from jvmdump import java_available, list_elements
from oomlens.capture.sidecar import parse_sidecar
from oomlens.cli.commands.agent import OPTION_KEYS

pytestmark = pytest.mark.jvm

REPO = Path(__file__).parents[2]
BASE_NAME = re.compile(r"(?P<app>[A-Za-z0-9._-]{1,64})-(?P<stamp>\d{8}T\d{9}Z)-(?P<pid>\d+)-"
                       r"(?P<trigger>oom|heap-threshold|thread-threshold|fd-threshold)")
SMALL_HEAP = ("-Xmx64m", "-XX:+UseSerialGC")
OOM_MESSAGE = "java.lang.OutOfMemoryError: Java heap space"
MB = 1 << 20


@pytest.fixture(scope="session")
def programs(tmp_path_factory) -> Path:
    if not java_available():
        pytest.fail("java and javac are needed for these tests (make test installs a JDK)")
    return compile_programs(tmp_path_factory.mktemp("capture-programs"))


@pytest.fixture
def spool(tmp_path):
    """The spool folder (the agent makes it); its dumps are deleted afterwards (pytest keeps
    the last runs' folders, and these add up to gigabytes), the rest is left to look at."""
    folder = tmp_path / "spool"
    yield folder
    for dump in folder.glob("*.hprof"):
        dump.unlink()


def only_capture(spool: Path):
    """The one complete capture in the spool, with nothing else beside it."""
    captures = completed_captures(spool)
    assert len(captures) == 1, spool_names(spool)
    capture = captures[0]
    assert spool_names(spool) == sorted([f"{capture.base}.hprof", f"{capture.base}.json"])
    return capture


def check_agent_capture(capture, trigger: str, app: str) -> dict:
    """What every capture the agent dumps itself has: its name, and the sidecar's facts about
    the dump and the process agreeing with it."""
    name = BASE_NAME.fullmatch(capture.base)
    assert name, capture.base
    s = capture.sidecar
    assert (name["app"], name["trigger"], int(name["pid"])) == (app, trigger, s["pid"])
    assert s["trigger"] == trigger and s["app"] == app
    stamp = datetime.strptime(name["stamp"], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    assert s["captured_at"] == stamp.strftime("%Y-%m-%dT%H:%M:%S.") + name["stamp"][-4:-1] + "Z"
    assert abs(time.time() - stamp.timestamp()) < 120
    assert s["dump_file"] == capture.dump.name
    assert s["dump_bytes"] == capture.dump.stat().st_size
    assert s["dump_millis"] >= 0
    assert str(uuid.UUID(s["capture_id"])) == s["capture_id"]
    assert s["agent"] == f"oomlens-agent/{oomlens.__version__}"
    assert s["jvm"]["version"] and s["os"]["name"] == "Linux" and s["host"]
    assert s["heap_max_bytes"] > 0 and 0 < s["heap_after_gc_bytes"] <= s["heap_max_bytes"]
    return s


def java_percent(value: int, whole: int) -> int:
    """Math.round(value * 100.0 / whole), as the agent rounds the percentages it writes."""
    return math.floor(value * 100 / whole + 0.5)


def printed_max_heap(stdout: str) -> int:
    return int(re.search(r"max(?: heap)? (\d+)", stdout).group(1))


# -- OutOfMemoryError ------------------------------------------------------------------------

# Each collector: G1 (the JVM's default) collects the freed reserve only when the handler's next
# allocation fails, and Parallel GC's overhead limit refuses allocations while a collection frees
# under 2% of the heap, so the reserve must be 5% of it there (the agent says so at start).
COLLECTORS = {"G1": (("-Xmx64m", "-XX:+UseG1GC"), {}),
              "Serial": (SMALL_HEAP, {}),
              "Parallel": (("-Xmx64m", "-XX:+UseParallelGC"), {"reserve": "4m"})}


@pytest.mark.parametrize("collector", COLLECTORS)
def test_an_out_of_memory_error_is_dumped_once_with_the_error(programs, spool, collector):
    jvm_options, options = COLLECTORS[collector]
    run = run_under_agent(programs, "OomLeak", spool=spool, jvm_options=jvm_options,
                          options=options)
    # the app ends as it would without the agent: the error printed as the JVM prints it, status 1
    assert run.returncode == 1, run.stderr
    assert run.stderr.count(f'Exception in thread "main" {OOM_MESSAGE}') == 1
    assert "handler failed" not in run.stderr and "dump failed" not in run.stderr
    capture = only_capture(spool)
    s = check_agent_capture(capture, "oom", "OomLeak")
    assert s["oom_message"] == s["reason"] == OOM_MESSAGE
    assert s["oom_thread"] == "main"
    assert s["oom_stack_trace"].startswith(f'Exception in thread "main" {OOM_MESSAGE}\n\tat ')
    assert "\tat OomLeak.leakUntilOutOfMemory(OomLeak.java:" in s["oom_stack_trace"]
    assert "threshold" not in s
    assert s["heap_max_bytes"] == printed_max_heap(run.stdout)
    assert s["heap_after_gc_bytes"] > 0.9 * s["heap_max_bytes"]
    (dumped,) = [line for line in run.agent_lines if line.startswith("oom: ")]
    assert re.fullmatch(rf"oom: {OOM_MESSAGE}; dumped \d+ MB to {re.escape(str(capture.dump))} "
                        r"in \d+ ms", dumped)
    with oomlens.open_heap(capture.dump) as heap:
        leaked = list_elements(heap.find_class("OomLeak").static_fields()["LEAKED"])
        chunks = heap.instance_indices("OomLeak$Chunk")
        assert [chunk["number"] for chunk in leaked] == list(range(len(leaked)))
        # plus at most the one being made when the heap ran out (dumped too: live=false)
        assert len(leaked) <= len(chunks) <= len(leaked) + 1
        assert len(leaked) * 16 * 1024 > 0.8 * s["heap_max_bytes"]


def test_parallel_gc_with_a_reserve_too_small_for_its_overhead_limit_is_said_at_start(programs,
                                                                                     spool):
    run = run_under_agent(programs, "OomLeak", spool=spool,
                          jvm_options=("-Xmx64m", "-XX:+UseParallelGC"))
    said = [line for line in run.agent_lines if line.startswith("Parallel GC's overhead limit")]
    assert said == ["Parallel GC's overhead limit may refuse the OutOfMemoryError handler's "
                    "allocations with reserve=2 MB: give it 5% of the heap (reserve=3 MB), or "
                    "add -XX:+HeapDumpOnOutOfMemoryError"]


def test_the_jvms_own_oom_dump_in_the_spool_gets_only_a_sidecar(programs, spool):
    run = run_under_agent(programs, "OomLeak", spool=spool, jvm_options=(
        *SMALL_HEAP, "-XX:+HeapDumpOnOutOfMemoryError", f"-XX:HeapDumpPath={spool}"))
    assert run.returncode == 1
    pid = int(re.search(r"java_pid(\d+)\.hprof", run.stdout).group(1))
    assert spool_names(spool) == [f"java_pid{pid}.hprof", f"java_pid{pid}.json"]
    (capture,) = completed_captures(spool)
    s = capture.sidecar
    assert (s["trigger"], s["oom_message"], s["pid"]) == ("oom", OOM_MESSAGE, pid)
    assert s["dump_file"] == f"java_pid{pid}.hprof"
    assert s["dump_bytes"] == capture.dump.stat().st_size
    assert "dump_millis" not in s  # the JVM took it, the agent did not time it
    assert "\tat OomLeak.leakUntilOutOfMemory(" in s["oom_stack_trace"]
    assert [line for line in run.agent_lines if line.startswith("oom: ")] == [
        f"oom: {OOM_MESSAGE}; the JVM dumped {round(capture.dump.stat().st_size / MB)} MB to "
        f"{capture.dump}, described in java_pid{pid}.json"]


def test_an_empty_heap_dump_path_is_set_to_the_spool(programs, spool, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    run = run_under_agent(programs, "OomLeak", spool=spool, cwd=work,
                          jvm_options=(*SMALL_HEAP, "-XX:+HeapDumpOnOutOfMemoryError"))
    assert run.returncode == 1
    assert (f"-XX:+HeapDumpOnOutOfMemoryError without -XX:HeapDumpPath: set it to the spool "
            f"{spool}, where oomlens picks the JVM's dump up") in run.agent_lines
    assert list(work.iterdir()) == []  # not in the working folder, where the JVM would put it
    (capture,) = completed_captures(spool)
    assert capture.base.startswith("java_pid") and capture.dump.exists()


def test_a_heap_dump_path_elsewhere_is_said_and_the_agent_dumps_itself(programs, spool,
                                                                       tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = run_under_agent(programs, "OomLeak", spool=spool, jvm_options=(
        *SMALL_HEAP, "-XX:+HeapDumpOnOutOfMemoryError", f"-XX:HeapDumpPath={elsewhere}"))
    assert run.returncode == 1
    assert (f"-XX:HeapDumpPath={elsewhere} is outside the spool {spool}: the JVM's OOM dumps "
            "will not reach oomlens (the agent takes its own)") in run.agent_lines
    assert [p.name for p in elsewhere.iterdir()][0].startswith("java_pid")
    check_agent_capture(only_capture(spool), "oom", "OomLeak")


@pytest.mark.parametrize("handler, status, printed", [
    ("--own-handler", 7, 0),
    # passes the error on to the agent's handler it replaced, which then only prints it
    ("--chaining-handler", 1, 1),
])
def test_an_apps_own_default_handler_still_runs_after_the_agents(programs, spool, handler,
                                                                 status, printed):
    """The app sets its handler in main, after the agent's: the agent's check puts its own back
    in front (within an interval), and the app's handler then runs as the app wanted."""
    run = run_under_agent(programs, "OomLeak", handler, "--delay-ms", "800", spool=spool,
                          jvm_options=SMALL_HEAP)
    assert run.returncode == status, run.stderr
    assert run.stdout.count(f"handler: {OOM_MESSAGE}") == 1
    assert run.stderr.count(f'Exception in thread "main" {OOM_MESSAGE}') == printed
    assert sum(line.startswith("the app set a default uncaught-exception handler (OomLeak$$")
               for line in run.agent_lines) == 1
    # the agent's handler captured once, though the chaining one passed the error to it again
    assert not [line for line in run.agent_lines if line.startswith("not dumping (oom)")]
    check_agent_capture(only_capture(spool), "oom", "OomLeak")


def test_an_oom_as_the_cause_with_a_long_trace_is_cut_in_the_middle(programs, spool):
    """A library's IllegalStateException caused by the OutOfMemoryError, 3000 calls deep: the
    printed trace (~110 KB) is cut in its middle so that the sidecar stays within 64 KiB, keeping
    where it was thrown and the cause at the end."""
    run = run_under_agent(programs, "OomLeak", "--depth", 3000, "--wrap", spool=spool,
                          jvm_options=(*SMALL_HEAP, "-XX:MaxJavaStackTraceDepth=4000",
                                       "-Xss16m"))
    assert run.returncode == 1
    assert run.stderr.count("\tat OomLeak.leakDeep(") > 3000  # the JVM prints all of it
    capture = only_capture(spool)
    assert (spool / f"{capture.base}.json").stat().st_size <= 64 * 1024
    s = capture.sidecar
    assert s["oom_message"] == s["reason"] == OOM_MESSAGE  # found as the cause
    head, cut, tail = re.split(r"\n\t\.\.\. (\d+) characters left out \.\.\.\n",
                               s["oom_stack_trace"])
    # the trace the agent kept is the one printed after it (the same printStackTrace), cut
    printed = run.stderr[run.stderr.index('Exception in thread "main" '):]
    assert printed.startswith(head) and printed.endswith(tail)
    assert len(head) + int(cut) + len(tail) == len(printed)
    assert head.startswith('Exception in thread "main" java.lang.IllegalStateException: loading '
                           "the cache failed\n\tat OomLeak.leakDeep(")
    assert f"Caused by: {OOM_MESSAGE}" in tail and "\tat OomLeak.leakUntilOutOfMemory(" in tail


def test_names_from_the_app_are_escaped_in_the_sidecar(programs, spool):
    """A thread name with quotes, a backslash, a tab, a character outside the BMP and an
    unpaired surrogate (which UTF-8 cannot hold: it becomes U+FFFD)."""
    run = run_under_agent(programs, "OomLeak", "--odd-thread", spool=spool,
                          jvm_options=SMALL_HEAP)
    assert run.returncode == 0 and "OomLeak: main ends normally" in run.stdout
    name = 'leak "\u03b1" \\ \t \U0001d11e \ufffd'
    s = check_agent_capture(only_capture(spool), "oom", "OomLeak")
    assert s["oom_thread"] == name
    assert s["oom_stack_trace"].startswith(f'Exception in thread "{name}" {OOM_MESSAGE}\n')


# -- heap threshold --------------------------------------------------------------------------

# A 300 MB heap (297 MB usable with serial GC): "auto" means 85% for a max from 246 to 502 MB.
# The young generation is kept small so the held blocks fit in the old one.
HEAP_300M = ("-Xmx300m", "-Xmn30m", "-XX:+UseSerialGC")


def test_heap_over_the_threshold_for_three_checks_is_dumped_once(programs, spool):
    # 70% first, below the threshold: the climb to 87% is then smaller than the step (25% of
    # the max), so a check that lands while a loaded machine is still filling the heap cannot
    # make it a step capture; only three checks over the threshold can
    run = run_under_agent(programs, "HeapHold", "70:1", "87:5", spool=spool,
                          jvm_options=HEAP_300M)
    assert run.returncode == 0 and "never hit OutOfMemoryError" in run.stdout, run.stdout
    capture = only_capture(spool)  # once for the whole run: the cooldown
    s = check_agent_capture(capture, "heap-threshold", "HeapHold")
    heap_max = s["heap_max_bytes"]
    assert heap_max == printed_max_heap(run.stdout) and 246 * MB <= heap_max < 502 * MB
    value = s["threshold"]["value"]
    assert s["threshold"] == {"metric": "heap", "value": value, "limit": math.ceil(heap_max * 0.85),
                              "max": heap_max, "checks": 3, "rule": "sustained"}
    held = int(re.findall(r"holding (\d+) bytes", run.stdout)[-1])  # the 87% phase
    assert value == s["heap_after_gc_bytes"] and held < value and value / heap_max >= 0.85
    assert s["reason"] == (f"heap {java_percent(value, heap_max)}% of {round(heap_max / MB)} MB "
                           "after GC, 3 checks")
    assert sum(line.startswith("heap-threshold: ") for line in run.agent_lines) == 1
    assert sum(line.startswith("not dumping (heap-threshold): it dumped")
               for line in run.agent_lines) <= 1  # said once, not at every check

    # a restart within the cooldown (the state file in the spool) takes no second dump
    again = run_under_agent(programs, "HeapHold", "87:2", spool=spool, jvm_options=HEAP_300M)
    assert again.returncode == 0 and "never hit OutOfMemoryError" in again.stdout
    assert completed_captures(spool) == [capture]
    refused = [line for line in again.agent_lines if line.startswith("not dumping")]
    assert len(refused) == 1 and re.fullmatch(
        r"not dumping \(heap-threshold\): it dumped \d+ s ago \(cooldown=1h\)", refused[0])


def test_heap_rising_by_the_step_is_dumped_at_once(programs, spool):
    """2% of the heap, then 80% at once: the first check over the 40% threshold sees it risen by
    more than the step (25% of the max) since the check before, and dumps without waiting for
    three checks. (Step and threshold are chosen so that this holds wherever collections fall:
    a check between the two levels is either under the threshold or already a step.)"""
    run = run_under_agent(programs, "HeapHold", "2:1.5", "80:3", spool=spool,
                          options={"heap": "40%"},
                          jvm_options=("-Xmx128m", "-Xmn16m", "-XX:+UseSerialGC"))
    assert run.returncode == 0 and "never hit OutOfMemoryError" in run.stdout
    s = check_agent_capture(only_capture(spool), "heap-threshold", "HeapHold")
    t, heap_max = s["threshold"], s["heap_max_bytes"]
    assert (t["rule"], t["checks"], t["limit"]) == ("step", 1, math.ceil(heap_max * 0.4))
    assert t["previous"] < t["limit"] <= t["value"]
    assert t["value"] - t["previous"] >= math.ceil(heap_max * 0.25)
    assert s["reason"] == (f"heap {java_percent(t['value'], heap_max)}% of "
                           f"{round(heap_max / MB)} MB after GC, up "
                           f"{round((t['value'] - t['previous']) / MB)} MB since the last check")


# -- threads and descriptors -----------------------------------------------------------------

def kernel_thread_limits() -> list[int]:
    """The limits besides RLIMIT_NPROC the agent takes the smallest of: threads-max and the
    pids.max of this process's cgroup (v2, or v1's pids hierarchy), where set."""
    limits = [int(Path("/proc/sys/kernel/threads-max").read_text())]
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        root = {"": "/sys/fs/cgroup", "pids": "/sys/fs/cgroup/pids"}.get(controllers)
        if root is not None:
            pids_max = Path(root + path.rstrip("/")) / "pids.max"
            if pids_max.exists() and pids_max.read_text().strip() != "max":
                limits.append(int(pids_max.read_text()))
    return limits


def test_threads_over_the_threshold_are_dumped(programs, spool):
    """RLIMIT_NPROC's soft value lowered to 300 (`ulimit -Su`), threads=50%: 150 threads."""
    limit = min([300, *kernel_thread_limits()])
    run = run_under_agent(programs, "ManyThreads", 170, 2, spool=spool,
                          options={"threads": "50%"}, limits="ulimit -Su 300",
                          jvm_options=("-Xmx64m", "-Xss256k", "-XX:+UseSerialGC"))
    assert run.returncode == 0 and "ManyThreads: done" in run.stdout, run.stderr
    capture = only_capture(spool)
    s = check_agent_capture(capture, "thread-threshold", "ManyThreads")
    threshold = math.ceil(limit * 0.5)
    value = s["threshold"]["value"]
    assert s["threshold"] == {"metric": "threads", "value": value, "limit": threshold,
                              "max": limit, "checks": 1}
    assert s["thread_limit"] == limit and s["threads"] >= value >= threshold
    assert s["reason"] == f"threads {value} of limit {limit} ({java_percent(value, limit)}%)"
    with oomlens.open_heap(capture.dump) as heap:
        owner = heap.find_class("ManyThreads").static_fields()["OWNER"]
        workers = list_elements(owner["workers"])
        names = [w["name"].as_string() for w in workers]
    assert names == [f"worker-{i}" for i in range(1, len(names) + 1)]
    # the other live threads are the JVM's and the agent's own (main, Reference Handler,
    # Finalizer, Signal Dispatcher, Common-Cleaner, Notification Thread, oomlens-agent)
    assert 0 <= value - len(names) <= 10


def test_open_descriptors_over_the_threshold_are_dumped(programs, spool, tmp_path):
    """`ulimit -n 256` (soft and hard: the JVM cannot raise it); the default threshold, 80%, is
    205 descriptors; the program holds 218 open (85%)."""
    run = run_under_agent(programs, "ManyFiles", 218, 2, tmp_path, spool=spool,
                          limits="ulimit -n 256", jvm_options=SMALL_HEAP)
    assert run.returncode == 0 and "ManyFiles: done" in run.stdout, run.stderr
    capture = only_capture(spool)
    s = check_agent_capture(capture, "fd-threshold", "ManyFiles")
    value = s["threshold"]["value"]
    assert s["threshold"] == {"metric": "fds", "value": value, "limit": 205, "max": 256,
                              "checks": 1}
    assert s["fd_limit"] == 256 and 205 <= value <= s["open_fds"] <= 256
    assert s["reason"] == f"open files {value} of 256 ({java_percent(value, 256)}%)"
    with oomlens.open_heap(capture.dump) as heap:
        owner = heap.find_class("ManyFiles").static_fields()["OWNER"]
        streams = list_elements(owner["streams"])
        assert {stream.class_name for stream in streams} == {"java.io.FileInputStream"}
        assert 150 <= len(streams) <= 218


# -- guards and bad settings -----------------------------------------------------------------

def test_no_dump_when_the_spools_disk_is_smaller_than_the_heap(programs, spool):
    """-Xmx above the disk's free space (the JVM only reserves it); threads=3 is crossed at
    every check, and the refusal is said once."""
    spool.mkdir()
    heap_mb = (shutil.disk_usage(spool).free >> 20) + 8 * 1024
    run = run_under_agent(programs, "HeapHold", "0:1.5", spool=spool, options={"threads": 3},
                          jvm_options=(f"-Xmx{heap_mb}m", "-XX:+UseSerialGC"))
    assert run.returncode == 0 and "never hit OutOfMemoryError" in run.stdout, run.stderr
    assert list(spool.iterdir()) == []  # no dump, and no dump counted in a state file
    tenths = printed_max_heap(run.stdout) * 10 // (1 << 30)
    refused = [line for line in run.agent_lines if line.startswith("not dumping")]
    assert len(refused) == 1 and re.fullmatch(
        r"not dumping \(thread-threshold\): the spool's disk has \d+\.\d GB free, less than "
        rf"the heap's maximum {tenths // 10}\.{tenths % 10} GB", refused[0]), refused


def test_bad_options_are_each_one_line_and_the_rest_works(programs, spool):
    env = {**os.environ, "OOMLENS_AGENT_THREADS": "many", "OOMLENS_AGENT_COLOUR": "red"}
    run = run_under_agent(programs, "HeapHold", "1:0.3", env=env,
                          argument=f"spool={spool},interval=abc,colour=red,heap=85,justaword",
                          jvm_options=(*SMALL_HEAP, "-Doomlens.fds=lots"))
    assert run.returncode == 0 and "never hit OutOfMemoryError" in run.stdout
    known = ", ".join(OPTION_KEYS)
    expected = [
        "ignoring option 'interval=abc': expected a duration like 15s",
        f"ignoring unknown option 'colour=red' (known: {known})",
        "ignoring option 'heap=85': expected a percentage like 80%, auto or off",
        "ignoring option 'justaword': expected key=value",
        "ignoring option '-Doomlens.fds=lots': expected a percentage like 80%, a count like 400 "
        "or off",
        "ignoring option 'OOMLENS_AGENT_THREADS=many': expected a percentage like 80%, a count "
        "like 400 or off",
        f"ignoring unknown option 'OOMLENS_AGENT_COLOUR=red' (known: {known})"]
    for line in expected:
        assert run.agent_lines.count(line) == 1, (line, run.agent_lines)
    (start,) = [line for line in run.agent_lines if line.startswith("capturing ")]
    # the ignored settings keep their defaults; the others still apply
    assert start.startswith(f"capturing HeapHold into {spool} (OutOfMemoryError on; checks "
                            "every 15s: heap 90% of ")
    assert len(run.agent_lines) == len(expected) + 1


@pytest.mark.parametrize("argument, prop, env, interval", [
    ("interval=300ms", "5s", "7s", "300ms"),
    (None, "5s", "7s", "5s"),
    (None, None, "7s", "7s"),
    ("interval=abc", "5s", "7s", "5s"),  # an ignored setting is as if not given
    (None, None, None, "15s"),
])
def test_option_precedence_argument_property_environment(programs, spool, argument, prop, env,
                                                          interval):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OOMLENS_AGENT_")}
    if env:
        environment["OOMLENS_AGENT_INTERVAL"] = env
    run = run_under_agent(programs, "HeapHold", "0:0", env=environment,
                          argument=",".join(filter(None, [f"spool={spool}", argument])),
                          jvm_options=(*SMALL_HEAP, *([f"-Doomlens.interval={prop}"] if prop
                                                      else [])))
    assert run.returncode == 0
    assert re.search(rf"\(OutOfMemoryError on; checks every {interval}: ", run.stderr)


def test_an_unwritable_spool_turns_capture_off_and_the_app_runs(programs, tmp_path):
    (tmp_path / "afile").write_text("a file where a folder should be\n")
    spool = tmp_path / "afile" / "spool"
    run = run_under_agent(programs, "HeapHold", "1:0.3", spool=spool, jvm_options=SMALL_HEAP)
    assert run.returncode == 0 and "never hit OutOfMemoryError" in run.stdout
    assert run.agent_lines == [f"spool {spool} is not writable (Not a directory); no dumps will "
                               "be taken"]


def test_without_a_spool_capture_is_off_and_the_app_runs(programs):
    run = run_under_agent(programs, "HeapHold", "1:0.3", spool=None, options={},
                          argument="", jvm_options=SMALL_HEAP)
    assert run.returncode == 0 and "never hit OutOfMemoryError" in run.stdout
    assert run.agent_lines == ["no spool given (spool=DIR, -Doomlens.spool or "
                               "OOMLENS_AGENT_SPOOL): capture is off"]


# -- a JVM killed while it dumps -------------------------------------------------------------

def test_a_jvm_killed_while_dumping_leaves_an_unlocked_lock_and_no_sidecar(programs, spool):
    process = start_under_agent(programs, "HeapHold", "70:30", spool=spool,
                                options={"heap": "50%", "heap_checks": 1, "interval": "100ms"},
                                jvm_options=("-Xmx1g", "-Xmn64m", "-XX:+UseSerialGC"))
    try:
        deadline = time.monotonic() + 60
        while not list(spool.glob("*.partial.hprof")):
            assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
            time.sleep(0.005)
        (partial,) = spool.glob("*.partial.hprof")
        base = partial.name[:-len(".partial.hprof")]
        lock = spool / f"{base}.lock"
        with open(lock, "rb") as f:
            with pytest.raises(OSError):  # held by the agent while it writes
                fcntl.lockf(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        early = parse_sidecar(lock.read_bytes())
        assert early["trigger"] == "heap-threshold" and "dump_file" not in early
        assert early["threshold"]["rule"] == "sustained"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
        process.communicate()
    with open(lock, "rb") as f:
        fcntl.lockf(f, fcntl.LOCK_SH | fcntl.LOCK_NB)  # the kernel let go of it with the process
    assert not (spool / f"{base}.json").exists()
    assert (spool / f"{base}.partial.hprof").exists() or (spool / f"{base}.hprof").exists()
    assert parse_sidecar(lock.read_bytes()) == early


# -- the command line and the jar ------------------------------------------------------------

def oomlens_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "oomlens.cli.main", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_agent_path_is_the_packaged_jar_built_for_java_8():
    jar = agent_jar()
    assert jar.is_absolute() and jar.name == "oomlens-agent.jar"
    assert jar.parent == Path(oomlens.__file__).parent / "capture"
    with zipfile.ZipFile(jar) as z:
        manifest = dict(line.split(": ", 1) for line in
                        z.read("META-INF/MANIFEST.MF").decode().splitlines() if ": " in line)
        classes = [n for n in z.namelist() if n.endswith(".class")]
        majors = {int.from_bytes(z.read(n)[6:8], "big") for n in classes}
    assert manifest["Premain-Class"] == manifest["Agent-Class"] == "oomlens.agent.Agent"
    assert manifest["Implementation-Version"] == oomlens.__version__
    assert "oomlens/agent/Agent.class" in classes and majors == {52}  # class files of Java 8


def test_agent_options_prints_the_jars_own_table():
    result = oomlens_cli("agent", "options")
    assert result.returncode == 0, result.stderr
    keys = re.findall(r"^  ([a-z-]+)=", result.stdout, re.MULTILINE)
    assert tuple(keys) == OPTION_KEYS  # the list --help shows is the agent's
    assert "interval=DURATION" in result.stdout and "[default: 15s]" in result.stdout
    help_text = " ".join(oomlens_cli("agent", "--help").stdout.split())
    assert all(key in help_text for key in OPTION_KEYS) and "oomlens agent path" in help_text


# -- the build -------------------------------------------------------------------------------

def build_wheel(out: Path, env=None) -> tuple[Path, str]:
    """A wheel of this source tree (copied: the shared tree is not built in), as pip builds it
    for a normal install; the wheel and pip's output."""
    tree = out / "tree"
    for name in ("setup.py", "pyproject.toml", "MANIFEST.in", "README.md"):
        tree.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tree / name)
    for folder in ("src", "agent"):
        shutil.copytree(REPO / folder, tree / folder, ignore=shutil.ignore_patterns(
            "__pycache__", "*.so", "oomlens-agent.jar", "*.egg-info"))
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w",
                             str(out / "dist"), str(tree)], capture_output=True, text=True,
                            env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = (out / "dist").glob("oomlens-*.whl")
    return wheel, result.stdout + result.stderr


def path_without_javac(shims: Path) -> str:
    """A PATH with every program of this one but javac (symbolic links in one folder)."""
    shims.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if os.path.isdir(folder):
            for entry in os.scandir(folder):
                target = shims / entry.name
                if entry.name != "javac" and not target.exists():
                    target.symlink_to(entry.path)
    return str(shims)


def test_a_wheel_holds_the_jar(tmp_path):
    wheel, _ = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as z:
        with z.open("oomlens/capture/oomlens-agent.jar") as jar_file:
            jar = zipfile.ZipFile(jar_file)
            assert "Premain-Class: oomlens.agent.Agent" in jar.read("META-INF/MANIFEST.MF").decode()


def test_built_without_a_jdk_agent_path_says_so_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = path_without_javac(tmp_path / "bin")
    wheel, output = build_wheel(tmp_path, env)
    assert output.count("warning: no javac found (JAVA_HOME or PATH): oomlens is built without "
                        "oomlens-agent.jar") == 1
    with zipfile.ZipFile(wheel) as z:
        assert "oomlens/capture/agent_jar.py" in z.namelist()
        assert "oomlens/capture/oomlens-agent.jar" not in z.namelist()
    installed = tmp_path / "installed"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target",
                    str(installed), str(wheel)], check=True, timeout=300)
    result = oomlens_cli("agent", "path", env={**env, "PYTHONPATH": str(installed)})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == ("oomlens: error: this oomlens was built without a JDK, so it has no "
                             "oomlens-agent.jar (install a JDK with javac and reinstall oomlens)\n")
