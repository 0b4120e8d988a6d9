"""``strip`` keeps threads' names at its default level, and nothing else of Strings.

- Every bundled dump (JDK 6 and 8u05 name threads with a char[], JDK 11+, Dalvik and ART with a
  String): the stripped dump's thread groups (names, patterns, counts, holders) are the
  original's, the only readable Strings are threads' names, and with ``keep_thread_names=False``
  every thread is ``<redacted>``.
- A JVM program with named threads (tests/java/ThreadFixtures), through the command line:
  ``strip``, ``strip --no-keep-thread-names``, and ``upload`` to a real ``oomlens serve``, whose
  report shows the names or not.
- Hand-made dumps in the record orders that the survey must get right whatever the writer: a
  Thread subclass's class dump before Thread's (HotSpot's classes come in any order), after
  instances (Dalvik and ART interleave them), the name String before its Thread, its array
  before it, and a JDK 6-style char[] name that also backs another String.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import oomlens
from conftest import ALL_DUMPS, DATA
from hprof_builder import HprofBuilder, minimal_heap
from oomlens.analysis.threads import group_threads
from oomlens.heap.strings import REDACTED, is_redacted
from oomlens.hprof import constants as C
from oomlens.hprof.strip import strip_dump

OOMLENS = [sys.executable, "-m", "oomlens.cli.main"]
CHAR_ARRAY_NAMES = {"sun_jdk6_18_x64.hprof.gz", "sun_jdk6_32bit.hprof.gz",
                    "oracle_jdk8_05_x64.hprof.gz"}  # Thread.name was a char[] up to JDK 8u05


def run_cli(*args, timeout=300):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OOMLENS_")}
    return subprocess.run([*OOMLENS, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env)


def thread_name_arrays(heap) -> np.ndarray:
    """Ids of the arrays that hold threads' names: the ``value`` of each Thread's name String,
    or the name itself where it is a char[] (JDK 6 to 8u05), read through the heap API."""
    ids = []
    for index in heap.instance_indices("java.lang.Thread").tolist():
        name = heap.object_at(index).get("name")
        if name is not None:
            ids.append(name.id if name.class_name == "char[]" else name["value"].id)
    return np.array(ids, np.int64)


def strings_named_by_threads(heap) -> dict[int, str]:
    """{id: text} of the Strings whose characters are a thread's name (the Strings that name
    threads, and any other String over the same array)."""
    kept_arrays = set(thread_name_arrays(heap).tolist())
    out = {}
    for index in heap.instance_indices("java.lang.String").tolist():
        string = heap.object_at(index)
        value = string.get("value")
        if value is not None and value.id in kept_arrays:
            out[string.id] = string.as_string()
    return out


def groups_of(path) -> list[dict]:
    with oomlens.open_heap(path) as heap:
        return [g.to_json() for g in group_threads(heap)]


def strings_by_state(heap) -> tuple[dict[int, str], int]:
    """({id: text} of the Strings whose characters are there, how many are redacted)."""
    readable, redacted = {}, 0
    for index in heap.instance_indices("java.lang.String").tolist():
        string = heap.object_at(index)
        if string.get("value") is None:
            continue
        if is_redacted(string):
            redacted += 1
        else:
            readable[string.id] = string.as_string()
    return readable, redacted


@pytest.fixture(scope="module")
def stripped(tmp_path_factory):
    """(output, StripResult) per (dump, keep_thread_names), made once."""
    cache = {}

    def get(name: str, keep: bool):
        if (name, keep) not in cache:
            out = tmp_path_factory.mktemp("strip") / f"{name}.oomp"
            cache[name, keep] = out, strip_dump(DATA / name, out, keep_thread_names=keep)
        return cache[name, keep]

    return get


# -- the bundled dumps ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_DUMPS)
def test_thread_groups_are_the_originals(open_dump, stripped, name):
    original = open_dump(name)
    out, result = stripped(name, True)
    before = [g.to_json() for g in group_threads(original)]
    assert groups_of(out) == before
    assert REDACTED not in {n for g in before for n in g["names"]}
    threads = [original.object_at(i) for i in original.instance_indices("java.lang.Thread")]
    names = [t.get("name") for t in threads if t.get("name") is not None]
    assert result.keep_thread_names and result.thread_names == len(names) >= 7
    # each runtime's representation of a name is exercised
    assert {n.class_name for n in names} == \
        ({"char[]"} if name in CHAR_ARRAY_NAMES else {"java.lang.String"})


@pytest.mark.parametrize("name", ALL_DUMPS)
def test_every_other_string_is_still_redacted(open_dump, stripped, name):
    original = open_dump(name)
    out, result = stripped(name, True)
    expected = strings_named_by_threads(original)
    with oomlens.open_heap(out) as heap:
        readable, redacted = strings_by_state(heap)
    assert readable == expected
    assert (len(expected) == 0) == (name in CHAR_ARRAY_NAMES)
    assert redacted > 300 and redacted == result.string_values
    _, before = strings_by_state(original)
    assert before == 0


@pytest.mark.parametrize("name", ALL_DUMPS)
def test_without_keeping_them_every_thread_is_redacted(open_dump, stripped, name):
    out, result = stripped(name, False)
    threads = len(open_dump(name).instance_indices("java.lang.Thread"))
    groups = groups_of(out)
    assert [(g["pattern"], g["count"]) for g in groups] == [(REDACTED, threads)]
    with oomlens.open_heap(out) as heap:
        readable, redacted = strings_by_state(heap)
    assert readable == {}
    assert not result.keep_thread_names
    kept_by_default = len(strings_named_by_threads(open_dump(name)))
    assert result.string_values == redacted == \
        stripped(name, True)[1].string_values + kept_by_default


# -- a JVM program with named threads, through the command line ----------------------------------
@pytest.fixture(scope="module")
def thread_dump(java_dumps):
    return java_dumps("ThreadFixtures")


def test_cli_keeps_the_names_of_a_thread_pool(thread_dump, tmp_path):
    out = tmp_path / "stripped.oomp"
    result = run_cli("strip", "--json", thread_dump, out)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    before = groups_of(thread_dump)
    after = groups_of(out)
    assert after == before
    pool = next(g for g in after if g["pattern"] == "pool-#-thread-#")
    assert pool["count"] == 12
    assert pool["holders"] == {"java.util.concurrent.ThreadPoolExecutor$Worker": 12}
    assert doc["keep_thread_names"] and doc["thread_names"] == sum(g["count"] for g in before)
    text = run_cli("strip", thread_dump, tmp_path / "again.oomp")
    assert f"(the names of {doc['thread_names']} threads kept)" in text.stdout
    report = run_cli("analyze", "--format", "json", "--no-progress", out)
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["threads"] == before


def test_cli_removes_them_when_asked(thread_dump, tmp_path):
    out = tmp_path / "stripped.oomp"
    result = run_cli("strip", "--no-keep-thread-names", thread_dump, out)
    assert result.returncode == 0, result.stderr
    assert "(thread names too)" in result.stdout
    groups = groups_of(out)
    assert len(groups) == 1 and groups[0]["pattern"] == REDACTED
    assert groups[0]["count"] == sum(g["count"] for g in groups_of(thread_dump))


@pytest.mark.parametrize("level", ["arrays", "all"])
def test_keeping_them_at_a_level_that_removes_every_array_is_an_error(thread_dump, tmp_path,
                                                                      level):
    # upload fails the same way, before it sends anything (nothing listens on port 9)
    for args in (["strip", thread_dump, tmp_path / "out.oomp"],
                 ["upload", thread_dump, "--server", "http://127.0.0.1:9", "--key", "k"]):
        result = run_cli(*args, "--level", level, "--keep-thread-names")
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "thread names can only be kept at level strings" in lines[0]
    assert not (tmp_path / "out.oomp").exists()


def test_upload_strips_with_or_without_the_names(thread_dump, tmp_path):
    from serverrun import Server, wait_done

    import httpx

    server = Server(tmp_path / "data")
    keys = server.create_project("app")
    server.start()
    try:
        threads = {}
        for flag in ("--keep-thread-names", "--no-keep-thread-names"):
            result = run_cli("upload", thread_dump, "--server", server.url, "--key",
                             keys["ingest_key"], flag, "--json")
            assert result.returncode == 0, result.stderr
            report_id = json.loads(result.stdout)["id"]
            assert wait_done(server, keys["read_key"], report_id)["status"] == "done"
            doc = httpx.get(f"{server.url}/api/v1/reports/{report_id}/report", timeout=10,
                            headers={"Authorization": f"Bearer {keys['read_key']}"}).json()
            threads[flag] = doc["threads"]
    finally:
        server.kill()
    before = groups_of(thread_dump)
    assert threads["--keep-thread-names"] == before
    assert [g["pattern"] for g in threads["--no-keep-thread-names"]] == [REDACTED]


# -- record orders (made by hand) -----------------------------------------------------------------
STRING, THREAD, WORKER = 0x400, 0x600, 0x700
NAME = "pool-3-thread-7".encode("latin-1")
TASK = "secret task".encode("latin-1")  # a String field of the Worker: removed
LOOSE_NAME = "Finalizer".encode("utf-16-be")  # a JDK 6-style char[] name


def _thread_dump(order: str) -> bytes:
    """A Worker (a Thread subclass with a String field) named by a String, and a plain Thread
    named by a char[] that another String shares, in the record order ``order``:

    - ``hotspot``: every class dump first, the subclass's before Thread's; the name String and
      its array before the Worker;
    - ``interleaved``: Worker's class dump after other instances, before its own (Dalvik);
    - ``late``: the Worker before its class dump;
    - ``name_after``: the Worker before its name String, the String before its array."""
    b = HprofBuilder()
    subs = minimal_heap(b)
    b.load_class(STRING, "java/lang/String")
    b.load_class(THREAD, "java/lang/Thread")
    b.load_class(WORKER, "Worker")
    string_class = b.class_dump(STRING, 0x100, fields=[("hash", C.TYPE_INT),
                                                       ("value", C.TYPE_OBJECT)])
    thread_class = b.class_dump(THREAD, 0x100, fields=[("priority", C.TYPE_INT),
                                                       ("name", C.TYPE_OBJECT)])
    worker_class = b.class_dump(WORKER, THREAD, fields=[("task", C.TYPE_OBJECT)])

    def string(object_id: int, value_id: int) -> bytes:
        return b.instance(object_id, STRING, struct.pack(">i", 99) + b.id(value_id))

    # Worker data: its own fields, then Thread's
    worker = b.instance(0x2000, WORKER, b.id(0x2300) + struct.pack(">i", 5) + b.id(0x2100))
    name, name_chars = string(0x2100, 0x3100), b.primitive_array(0x3100, C.TYPE_BYTE, NAME)
    task, task_chars = string(0x2300, 0x3300), b.primitive_array(0x3300, C.TYPE_BYTE, TASK)
    plain = b.instance(0x2400, THREAD, struct.pack(">i", 5) + b.id(0x3400))
    loose = b.primitive_array(0x3400, C.TYPE_CHAR, LOOSE_NAME)
    sharing = string(0x2500, 0x3400)  # a String over the char[] name: kept with it
    others = [task, task_chars, plain, loose, sharing]
    if order == "hotspot":  # minimal_heap's instances after every class dump too
        body = [worker_class, string_class, thread_class, *subs, name_chars, name, worker,
                *others]
    elif order == "interleaved":
        body = [*subs, string_class, thread_class, name_chars, name, worker_class, worker,
                *others]
    elif order == "late":
        body = [*subs, string_class, thread_class, name_chars, name, worker, worker_class,
                *others]
    else:
        body = [*subs, string_class, thread_class, worker_class, worker, name, name_chars,
                *others]
    roots = [b.root(C.ROOT_THREAD_OBJECT, 0x2000), b.root(C.ROOT_THREAD_OBJECT, 0x2400),
             b.root(C.ROOT_JNI_GLOBAL, 0x2500)]
    b.heap_dump(*body, *roots).heap_dump_end()
    return b.bytes()


@pytest.mark.parametrize("order,passes", [("hotspot", 1), ("interleaved", 1), ("late", 2),
                                          ("name_after", 1)])
def test_names_are_found_whatever_the_record_order(tmp_path, order, passes):
    src = tmp_path / "in.hprof"
    src.write_bytes(_thread_dump(order))
    kept, removed = tmp_path / "kept.hprof", tmp_path / "removed.hprof"
    result = strip_dump(src, kept, form="plain")
    assert result.passes == passes and result.thread_names == 2
    assert result.string_values == 1  # the task; the name and the String sharing the char[] stay
    data = kept.read_bytes()
    assert NAME in data and LOOSE_NAME in data and TASK not in data
    assert struct.pack(">i", 99) not in data  # every String's hash is zeroed, kept ones too
    with oomlens.open_heap(kept) as heap:
        assert heap.object(0x2500).as_string() == "Finalizer"
        assert heap.object(0x2300).as_string() is None
    result = strip_dump(src, removed, form="plain", keep_thread_names=False)
    assert result.passes == passes and result.string_values == 3
    data = removed.read_bytes()
    assert NAME not in data and LOOSE_NAME not in data and TASK not in data


def test_many_threads_keep_the_survey_in_windows(tmp_path):
    """A thread-limit dump holds many names: their chunk fills every few hundred kB, and the
    survey must still pause every window (to release the pages it has read and report
    progress), not only when it is done."""
    from oomlens.hprof.source import DumpFile
    from oomlens.hprof.survey import WINDOW_BYTES, survey

    b = HprofBuilder()
    subs = minimal_heap(b)
    b.load_class(STRING, "java/lang/String")
    b.load_class(THREAD, "java/lang/Thread")
    b.heap_dump(b.class_dump(STRING, 0x100, fields=[("hash", C.TYPE_INT),
                                                    ("value", C.TYPE_OBJECT)]),
                b.class_dump(THREAD, 0x100, fields=[("priority", C.TYPE_INT),
                                                    ("name", C.TYPE_OBJECT)]), *subs)
    threads = 200_000
    parts = []
    for i in range(threads):
        thread, string, chars = 0x100000 + 96 * i, 0x100000 + 96 * i + 32, 0x100000 + 96 * i + 56
        parts += [b.instance(thread, THREAD, struct.pack(">i", 5) + b.id(string)),
                  b.instance(string, STRING, struct.pack(">i", 0) + b.id(chars)),
                  b.primitive_array(chars, C.TYPE_BYTE, b"pool-1-thread-%07d" % i),
                  b.root(C.ROOT_JNI_GLOBAL, thread)]
    b.heap_dump(*parts).heap_dump_end()
    src = tmp_path / "threads.hprof"
    src.write_bytes(b.bytes())
    reached = []
    with DumpFile(src) as dump:
        sv = survey(dump, mark=True, progress=lambda phase, at, size: reached.append(at))
        size = dump.size
    assert size > 3 * WINDOW_BYTES and reached[-1] == size
    steps = np.diff([0, *reached])
    assert len(reached) >= 4 and steps.max() < WINDOW_BYTES + 4096
    assert sv.thread_names == threads == sv.thread_name_strings_kept == sv.string_marks
    names = 0x100000 + 96 * np.arange(threads, dtype=np.int64) + 56
    assert not sv.marks.contains(names).any()  # every String here names a thread: kept
