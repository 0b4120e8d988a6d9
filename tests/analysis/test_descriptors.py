"""Open file descriptors grouped by owner class, with who holds the owners; on a JVM program that
leaves files and sockets open, and on real Android and Windows HotSpot dumps."""

from __future__ import annotations

import json
from collections import Counter

import pytest

import oomlens
from jvmdump import list_elements, read_facts
from oomlens.analysis.descriptors import NO_OWNER, open_descriptor_number, summarize_descriptors

FILE_DESCRIPTOR = "java.io.FileDescriptor"


@pytest.fixture(scope="module")
def resources(java_dumps):
    dump = java_dumps("Resources")
    with oomlens.open_heap(dump) as heap:
        yield heap, read_facts(dump), summarize_descriptors(heap)


def by_owner(summary) -> dict:
    return {g.owner_class: g for g in summary.by_owner}


def fd_number(fd_object) -> int:
    return fd_object.get("fd", fd_object.get("descriptor"))


@pytest.mark.jvm
def test_open_and_closed_counts_match_the_heap(resources):
    heap, _, summary = resources
    numbers = [fd_number(o) for o in heap.instances_of(FILE_DESCRIPTOR)]
    assert summary.open == sum(1 for n in numbers if n >= 0)
    assert summary.closed == sum(1 for n in numbers if n < 0)
    assert sum(g.count for g in summary.by_owner) == summary.open
    assert all(g.unreachable == 0 for g in summary.by_owner)
    assert summary.cursor_windows is None  # no Android cursors on HotSpot


@pytest.mark.jvm
def test_owner_classes_match_what_references_each_descriptor(resources):
    """JDK 17 links a stream's FileDescriptor back to it (``parent``); socket implementations
    have an ``fd`` field. Either way, the owner class per open descriptor, read directly."""
    heap, _, summary = resources
    expected = Counter()
    for fd in heap.instances_of(FILE_DESCRIPTOR):
        if fd["fd"] >= 0 and fd["parent"] is not None:
            expected[fd["parent"].class_name] += 1
    for impl in heap.instances_of("java.net.SocketImpl"):
        fd = impl.get("fd")
        if fd is not None and fd["fd"] >= 0:
            expected[impl.class_name] += 1
    assert {g.owner_class: g.count for g in summary.by_owner} == dict(expected)


@pytest.mark.jvm
def test_leaked_streams_are_held_by_the_static_list(resources):
    heap, facts, summary = resources
    readers = heap.find_class("com.example.res.LogReaders").static_fields()
    open_streams = list_elements(readers["sOpen"])
    closed_streams = list_elements(readers["sClosed"])
    assert len(open_streams) == facts["readers.open"]
    assert all(s["fd"]["fd"] >= 0 for s in open_streams)
    assert len(closed_streams) == facts["readers.closed"]
    assert all(s["fd"]["fd"] == -1 for s in closed_streams)  # closed: not counted

    streams = by_owner(summary)["java.io.FileInputStream"]
    assert streams.holders["class com.example.res.LogReaders"] == facts["readers.open"]
    # the rest are the JDK's own: System.in, and SecureRandom's /dev/random and /dev/urandom
    others = streams.count - facts["readers.open"]
    assert sum(n for holder, n in streams.holders.items()
               if holder != "class com.example.res.LogReaders") == others
    assert streams.holders.get("class java.lang.System") == 1
    # the group shows the lowest numbers of its open descriptors
    numbers = sorted(fd["fd"] for fd in heap.instances_of(FILE_DESCRIPTOR)
                     if fd["fd"] >= 0 and fd["parent"] is not None
                     and fd["parent"].class_name == "java.io.FileInputStream")
    assert len(numbers) == streams.count and streams.descriptors == numbers[:10]
    assert {s["fd"]["fd"] for s in open_streams} <= set(numbers)


@pytest.mark.jvm
def test_random_access_file_and_sockets(resources):
    heap, facts, summary = resources
    groups = by_owner(summary)
    journal = heap.find_class("Resources").static_fields()["journal"]
    assert groups["java.io.RandomAccessFile"].count == 1
    assert groups["java.io.RandomAccessFile"].holders == {"com.example.res.Journal": 1}
    assert groups["java.io.RandomAccessFile"].owner_ids == [journal["file"].id]
    assert groups["java.io.RandomAccessFile"].descriptors == [journal["file"]["fd"]["fd"]]

    clients = facts["sockets.clients"]
    sockets = groups["sun.nio.ch.NioSocketImpl"]
    # each client socket, the server's end of each connection, and the listening socket
    assert sockets.count == 2 * clients + 1
    # client: Socket <- SocksSocketImpl <- NioSocketImpl; server side: Socket <- NioSocketImpl
    assert sockets.holders == {"com.example.res.Clients": clients,
                               "com.example.res.Server": clients + 1}


@pytest.mark.jvm
def test_json_shape(resources):
    _, _, summary = resources
    data = json.loads(json.dumps(summary.to_json()))
    assert data["open"] == summary.open and data["closed"] == summary.closed
    first = data["by_owner"][0]
    assert set(first) == {"owner_class", "count", "unreachable", "holders", "descriptors",
                          "owner_objects"}
    assert all(i.startswith("0x") for g in data["by_owner"] for i in g["owner_objects"])
    assert [g["count"] for g in data["by_owner"]] == sorted(
        (g["count"] for g in data["by_owner"]), reverse=True)


def open_numbers(heap) -> list[int]:
    return sorted(n for n in map(open_descriptor_number, heap.instances_of(FILE_DESCRIPTOR))
                  if n is not None)


def test_dalvik_dialer_descriptors(open_dump):
    heap = open_dump("dalvik_dialer.hprof.gz")
    numbers = [o["descriptor"] for o in heap.instances_of(FILE_DESCRIPTOR)]
    assert sorted(n for n in numbers if n >= 0) == [0, 1, 2, 9, 28, 31, 32]
    summary = summarize_descriptors(heap)
    assert (summary.open, summary.closed) == (7, 4)
    groups = by_owner(summary)
    # two jars opened by java.util.jar.JarFile through RandomAccessFile
    assert groups["java.io.RandomAccessFile"].count == 2
    assert groups["java.io.RandomAccessFile"].holders == {"java.util.jar.JarFile": 2}
    assert groups["java.io.RandomAccessFile"].descriptors == [28, 31]
    # stdin: System.in -> BufferedInputStream -> FileInputStream -> descriptor 0
    stdin = heap.find_class("java.lang.System").static_fields()["in"]["in"]
    assert stdin.class_name == "java.io.FileInputStream" and stdin["fd"]["descriptor"] == 0
    assert groups["java.io.FileInputStream"].owner_ids == [stdin.id]
    assert groups["java.io.FileInputStream"].holders == {"class java.lang.System": 1}
    # Dalvik's stdout/stderr descriptors are referenced only by FileDescriptor.out/err (and a
    # garbage FileChannelImpl): the statics own them
    statics = heap.find_class(FILE_DESCRIPTOR).static_fields()
    assert [statics["out"]["descriptor"], statics["err"]["descriptor"]] == [1, 2]
    assert groups["class java.io.FileDescriptor"].descriptors == [1, 2]
    # 9 and 32 sit in arrays that only GC roots hold
    assert groups[NO_OWNER].descriptors == [9, 32]
    # one CursorWindow, disposed (native pointer zeroed)
    assert (summary.cursor_windows, summary.open_cursor_windows) == (1, 0)
    assert heap.instances_of("android.database.CursorWindow")[0]["mWindowPtr"] == 0


def test_art_dump_has_the_standard_streams(open_dump):
    heap = open_dump("art_ahat_test-dump.hprof.gz")
    assert open_numbers(heap) == [0, 1, 2]
    summary = summarize_descriptors(heap)
    assert {g.owner_class: (g.count, g.descriptors, g.holders) for g in summary.by_owner} == {
        "java.io.FileOutputStream": (2, [1, 2], {"class java.lang.System": 2}),
        "java.io.FileInputStream": (1, [0], {"class java.lang.System": 1})}
    assert summary.cursor_windows is None


def test_windows_hotspot_opens_handles(open_dump):
    """JDK 8 on Windows: files have fd -1 and a handle; the handle is the open number."""
    heap = open_dump("oracle_jdk8_05_x64.hprof.gz")
    handles = sorted(o["handle"] for o in heap.instances_of(FILE_DESCRIPTOR)
                     if o["fd"] == -1 and o["handle"] != -1)
    assert handles == [3, 7, 11]
    summary = summarize_descriptors(heap)
    assert summary.open == 3 and open_numbers(heap) == handles
    assert by_owner(summary)["java.io.FileInputStream"].descriptors == [3]
    assert by_owner(summary)["java.io.FileOutputStream"].descriptors == [7, 11]
