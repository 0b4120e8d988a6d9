"""``oomlens strip`` and ``oomlens restore`` on every bundled dump, at every level.

- The stripped dump is the same heap: object ids, classes, shallow sizes, GC roots, the reference
  graph, dominators and retained sizes, compared array by array with the original's.
- At the ``strings`` level exactly the arrays that back a String or a Bitmap lose their
  elements, except those holding threads' names (found independently here, through the heap
  API; tests/hprof/test_strip_thread_names.py tests the names).
- ``restore`` gives back the original file byte for byte, except the bytes strip removed, which
  are zero; VisualVM reads the restored HotSpot dumps with the same instance counts, shallow and
  retained sizes as the originals, and Debian's hprof-conv converts the restored Android dumps.
- ``analyze`` finds the same leaks, big objects, clusters and histogram in a stripped dump (and
  at ``strings`` the same thread groups); Strings show as ``<redacted>``.
- Damaged input and bad paths: one line, exit status 2, no output left behind.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import oomlens
from conftest import ALL_DUMPS, ANDROID_DUMPS, DATA, HOTSPOT_DUMPS
from hprof_builder import HprofBuilder, minimal_heap
from mutations import damaged_copies
from oomlens.config import Settings
from oomlens.heap.strings import REDACTED, is_redacted, text_or_redacted
from oomlens.hprof import constants as C
from oomlens.hprof.restore import restore_dump
from oomlens.hprof import pack
from oomlens.hprof.source import DumpFile
from oomlens.hprof.scan import KIND_INSTANCE, KIND_PRIMITIVE_ARRAY, data_offset
from oomlens.hprof.strip import LEVELS, strip_dump
from oomlens.hprof.marks import MarkSpool, build_mark_set
from oomlens.hprof import _rewrite
from oomlens.hprof import rewrite as R
from oomlens.hprof import survey as S
from oomlens.report.document import build_report
from test_strip_thread_names import thread_name_arrays

OOMLENS = [sys.executable, "-m", "oomlens.cli.main"]
HPROF_CONV = shutil.which("hprof-conv") or "/usr/lib/android-sdk/platform-tools/hprof-conv"
STRING_HASH_FIELDS = ("hash", "hashCode", "hashIsZero")


def run_cli(*args, timeout=300):
    env = {k: v for k, v in os.environ.items() if k != "OOMLENS_DEBUG"}
    return subprocess.run([*OOMLENS, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env)


def plain_bytes(path: Path) -> bytes:
    """The HPROF in a plain, gzip, zstd or packed file."""
    with DumpFile(path) as dump:
        return bytes(dump.data)


@functools.lru_cache(maxsize=1)  # the levels of one dump run one after the other
def original_bytes(name: str) -> bytes:
    return plain_bytes(DATA / name)


@pytest.fixture(scope="module")
def stripped(tmp_path_factory):
    """(stripped .hprof.zst, restored .hprof, StripResult) per (dump, level), made once."""
    cache = {}

    def get(name: str, level: str):
        if (name, level) not in cache:
            folder = tmp_path_factory.mktemp("strip")
            out = folder / f"{name}.{level}.hprof.zst"
            result = strip_dump(DATA / name, out, level)
            restored = folder / f"{name}.{level}.restored.hprof"
            restore_dump(out, restored)
            cache[name, level] = (out, restored, result)
        return cache[name, level]

    return get


# -- helpers that read the original heap independently of strip --------------------------------
def reference_field(heap, class_name: str, field: str) -> np.ndarray:
    """The ids held in reference ``field`` of every instance of ``class_name`` and its
    subclasses (0 for null), read from the mapped file with NumPy."""
    objects = heap.index.objects
    ids = []
    for k in heap.class_indices_with_subclasses(heap.index.classes.by_name(class_name)):
        slot = heap.field_slots(int(k)).get(field)
        members = heap.instance_indices_of([int(k)], subclasses=False)
        if slot is None or slot[0] != C.TYPE_OBJECT or len(members) == 0:
            continue
        start = objects.offset[members].astype(np.int64) + data_offset(KIND_INSTANCE,
                                                                       heap.id_size) + slot[1]
        raw = heap.index.file.data[start[:, None] + np.arange(heap.id_size)]
        value = np.zeros(len(members), np.uint64)
        for b in range(heap.id_size):
            value = (value << np.uint64(8)) | raw[:, b].astype(np.uint64)
        ids.append(value.view(np.int64))
    return np.concatenate(ids) if ids else np.zeros(0, np.int64)


def strings_level_arrays(heap) -> np.ndarray:
    """Ids of the arrays the ``strings`` level empties: Strings' values and Bitmaps' pixels,
    but not threads' names."""
    marked = np.concatenate([reference_field(heap, "java.lang.String", "value"),
                             reference_field(heap, "android.graphics.Bitmap", "mBuffer")])
    return np.setdiff1d(marked, thread_name_arrays(heap))


def emptied_arrays(heap) -> np.ndarray:
    """Indices of the primitive arrays whose elements are not in the dump."""
    objects = heap.index.objects
    prim = np.nonzero(objects.kind == KIND_PRIMITIVE_ARRAY)[0]
    tags = heap.index.file.data[objects.offset[prim].astype(np.int64)]
    return prim[tags == C.SUB_PRIMITIVE_ARRAY_NODATA]


def payload_ranges(heap, indices) -> list[tuple[int, int]]:
    objects, classes = heap.index.objects, heap.index.classes
    out = []
    for i in np.asarray(indices).tolist():
        elem = int(classes.element_type[objects.class_index[i]])
        start = int(objects.offset[i]) + data_offset(KIND_PRIMITIVE_ARRAY, heap.id_size)
        out.append((start, start + int(objects.length[i]) * C.PRIMITIVE_SIZES[elem]))
    return out


def field_ranges(heap, class_indices, wanted) -> list[tuple[int, int]]:
    """Byte ranges of the primitive fields ``wanted(name)`` of the instances of the classes
    (every field of the superclass chain, hidden ones included)."""
    objects, classes, ranges = heap.index.objects, heap.index.classes, []
    for k in np.asarray(class_indices).tolist():
        members = heap.instance_indices_of([k], subclasses=False)
        members = members[objects.kind[members] == KIND_INSTANCE]  # not the arrays of a class
        if len(members) == 0:
            continue
        starts = objects.offset[members].astype(np.int64) + data_offset(KIND_INSTANCE,
                                                                        heap.id_size)
        offset = 0
        for j in classes.superclass_chain(k):
            for f in range(int(classes.field_begin[j]), int(classes.field_end[j])):
                code = int(classes.field_type[f])
                size = C.value_size(code, heap.id_size)
                if code != C.TYPE_OBJECT and wanted(heap.field_name(f)):
                    ranges.extend((int(s) + offset, int(s) + offset + size) for s in starts)
                offset += size
    return ranges


def expected_restore(original: bytes, heap, level: str) -> np.ndarray:
    """The original dump with the bytes ``level`` removes set to zero."""
    data = np.frombuffer(original, np.uint8).copy()
    objects, classes = heap.index.objects, heap.index.classes
    prim = np.nonzero(objects.kind == KIND_PRIMITIVE_ARRAY)[0]
    if level == "strings":
        prim = prim[np.isin(objects.ids[prim], strings_level_arrays(heap))]
    ranges = payload_ranges(heap, prim)
    strings = heap.class_indices_with_subclasses(classes.by_name("java.lang.String"))
    if level == "all":
        ranges += field_ranges(heap, range(len(classes)), lambda name: True)
        for s in range(len(classes.static_type)):
            t = int(classes.static_type[s])
            if t != C.TYPE_OBJECT:
                a = int(classes.static_value_offset[s])
                ranges.append((a, a + C.PRIMITIVE_SIZES[t]))
    else:
        ranges += field_ranges(heap, strings, lambda name: name in STRING_HASH_FIELDS)
    for a, b in ranges:
        data[a:b] = 0
    return data


# -- the stripped heap is the same heap ---------------------------------------------------------
@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("name", ALL_DUMPS)
def test_stripped_dump_is_the_same_heap(open_dump, stripped, name, level):
    original = open_dump(name)
    out, _, result = stripped(name, level)
    assert pack.is_packed(out.read_bytes()[:8])  # packed by default
    assert result.stripped_bytes < result.hprof_bytes
    assert result.stored_bytes == out.stat().st_size
    with oomlens.open_heap(out) as heap:
        a, b = original.index, heap.index
        for column in ("ids", "kind", "class_index", "length", "heap", "shallow"):
            assert np.array_equal(getattr(a.objects, column), getattr(b.objects, column)), column
        assert a.classes.names == b.classes.names
        assert np.array_equal(a.roots.object_id, b.roots.object_id)
        assert np.array_equal(a.roots.kind, b.roots.kind)
        assert np.array_equal(a.graph.begin, b.graph.begin)
        assert np.array_equal(a.graph.targets, b.graph.targets)
        assert np.array_equal(original.dominator_tree.idom, heap.dominator_tree.idom)
        assert np.array_equal(original.dominator_tree.retained, heap.dominator_tree.retained)
        assert heap.warnings == original.warnings
        emptied = emptied_arrays(heap)
        assert result.arrays_emptied == len(emptied) - len(emptied_arrays(original))
        if level == "strings":
            prim = np.nonzero(a.objects.kind == KIND_PRIMITIVE_ARRAY)[0]
            backing = prim[np.isin(a.objects.ids[prim], strings_level_arrays(original))]
            assert np.array_equal(np.union1d(backing, emptied_arrays(original)), emptied)
            assert len(backing) > 100
        else:
            assert len(emptied) == int((a.objects.kind == KIND_PRIMITIVE_ARRAY).sum())


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("name", ALL_DUMPS)
def test_restore_gives_the_original_with_the_removed_bytes_zeroed(open_dump, stripped, name,
                                                                 level):
    original = original_bytes(name)
    _, restored, _ = stripped(name, level)
    got = np.fromfile(restored, np.uint8)
    expected = expected_restore(original, open_dump(name), level)
    assert len(got) == len(expected)
    differs = np.nonzero(got != expected)[0]
    assert len(differs) == 0, f"first difference at offset {differs[:5]}"
    removed = np.count_nonzero(np.frombuffer(original, np.uint8) != expected)
    assert removed > 1000  # the test compares something


def test_strip_of_a_restored_dump_is_the_same_stripped_dump(stripped, tmp_path):
    out, restored, _ = stripped("dalvik_leak_service_binder.hprof.gz", "arrays")
    again = tmp_path / "again.hprof"
    strip_dump(restored, again, "arrays", form="plain")
    assert again.read_bytes() == plain_bytes(out)


# -- other tools read the restored dumps ---------------------------------------------------------
@pytest.fixture(scope="module")
def visualvm(tmp_path_factory):
    sys.path.insert(0, str(DATA.parent / "reference"))
    from run_reference import load_classes, iter_objects, run_visualvm_reference, \
        visualvm_available

    if not visualvm_available():
        pytest.fail("VisualVM's heap library is needed (make test installs Debian's visualvm)")

    def run(path: Path):
        out = run_visualvm_reference(path, tmp_path_factory.mktemp("vvm"), retained=True)
        classes = {r["class_id"]: (r["name"], r["instances"], r["shallow_bytes"])
                   for r in load_classes(out)}
        objects = {r["object_id"]: (r["shallow_bytes"], r["retained_bytes"])
                   for r in iter_objects(out)}
        return classes, objects

    return run


@pytest.mark.visualvm
@pytest.mark.parametrize("name", HOTSPOT_DUMPS)
def test_visualvm_reads_the_restored_dump_as_the_original(visualvm, stripped, name):
    _, restored, _ = stripped(name, "strings")
    classes, objects = visualvm(DATA / name)
    restored_classes, restored_objects = visualvm(restored)
    assert restored_classes == classes  # per class: name, instance count, shallow bytes
    assert restored_objects == objects  # per object: shallow and retained size
    assert sum(n for _, n, _ in classes.values()) > 10_000


@pytest.mark.parametrize("level", ["strings", "all"])
@pytest.mark.parametrize("name", ANDROID_DUMPS)
def test_hprof_conv_converts_the_restored_android_dump(stripped, tmp_path, name, level):
    if not os.path.exists(HPROF_CONV):
        pytest.fail("hprof-conv is needed (make test installs Debian's hprof-conv)")
    _, restored, _ = stripped(name, level)
    converted = tmp_path / "converted.hprof"
    result = subprocess.run([HPROF_CONV, str(restored), str(converted)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert converted.stat().st_size > 1_000_000
    assert converted.read_bytes().startswith(b"JAVA PROFILE 1.0.2\0")


# -- the same findings ----------------------------------------------------------------------------
COMPARED = ("leaks", "library_leaks", "big_objects", "class_clusters", "histogram",
            "top_retained")


def findings(report: dict, level: str) -> dict:
    """The report's findings, without what a stripped dump cannot say: the texts of
    LeakCanary's watch keys and descriptions (Strings), and at ``arrays`` threads' names."""
    compared = COMPARED + (("threads",) if level == "strings" else ())
    out = copy.deepcopy({key: report[key] for key in compared})
    for group in out["leaks"] + out["library_leaks"]:
        group.pop("watch_keys", None)
        group.pop("watch_descriptions", None)
    out["summary"] = report["summary"]
    return out


def _same_findings(original_path: Path, stripped_path: Path, level: str) -> tuple[dict, dict]:
    settings = Settings()
    with oomlens.open_heap(original_path) as heap:
        before = build_report(heap, settings)
    with oomlens.open_heap(stripped_path) as heap:
        after = build_report(heap, settings)
    assert findings(after, level) == findings(before, level)
    return before, after


@pytest.mark.parametrize("level", ["strings", "arrays"])
def test_leakcanary_dump_gives_the_same_findings(stripped, level):
    name = "dalvik_leak_service_binder.hprof.gz"
    before, after = _same_findings(DATA / name, stripped(name, level)[0], level)
    assert len(before["leaks"]) >= 1
    keys = [k for g in before["leaks"] for k in g["watch_keys"]]
    assert "b3abfae6-2c53-42e1-b8c1-96b0558dbeae" in keys
    # the watch key is a String: it is redacted, but still there (and still a key)
    assert [k for g in after["leaks"] for k in g["watch_keys"]] == [REDACTED] * len(keys)
    # threads' names are kept at strings (the same groups: compared above), removed at arrays
    names = [n for t in after["threads"] for n in t["names"]]
    assert "Binder_1" in [n for t in before["threads"] for n in t["names"]]
    assert names and (set(names) == {REDACTED}) == (level == "arrays")


@pytest.mark.parametrize("level", ["strings", "arrays"])
def test_android_leaks_program_gives_the_same_findings(java_dumps, tmp_path, level):
    dump = java_dumps("AndroidLeaks")
    out = tmp_path / "stripped.hprof.zst"
    strip_dump(dump, out, level)
    before, _ = _same_findings(dump, out, level)
    assert len(before["leaks"]) >= 5 and before["big_objects"] and before["class_clusters"]
    assert len(before["threads"]) >= 5


# -- redacted strings --------------------------------------------------------------------------
def test_redacted_strings_read_as_none_and_show_as_redacted(open_dump, stripped):
    name = "dalvik_leak_service_binder.hprof.gz"
    original = open_dump(name)
    ref = original.instances_of("com.squareup.leakcanary.KeyedWeakReference")[0]
    key_id = ref["key"].id
    with oomlens.open_heap(stripped(name, "strings")[0]) as heap:
        key = heap.object(key_id)
        assert key.as_string() is None
        assert is_redacted(key) and is_redacted(key["value"])
        assert key["value"].length == 36  # the length stays
        assert text_or_redacted(key) == REDACTED
        # a String that still has its characters is not redacted
    assert ref["key"].as_string() == "b3abfae6-2c53-42e1-b8c1-96b0558dbeae"
    assert not is_redacted(ref["key"])


def test_analyze_and_path_print_redacted(stripped):
    name = "dalvik_leak_service_binder.hprof.gz"
    out = stripped(name, "strings")[0]
    result = run_cli("analyze", "--no-progress", out)
    assert result.returncode == 0, result.stderr
    assert f"LeakCanary: {REDACTED}" in result.stdout
    report = json.loads(run_cli("analyze", "--format", "json", out).stdout)
    leak = report["leaks"][0]["traces"][0]["object"]
    result = run_cli("path", "--no-progress", out, leak)
    assert result.returncode == 0, result.stderr
    assert "LeakyService" in result.stdout
    assert run_cli("info", out).returncode == 0


# -- the command line ----------------------------------------------------------------------------
def test_cli_strip_and_restore(tmp_path):
    src = DATA / "openjdk_jdk11_04_x64.hprof.gz"
    plain = tmp_path / "plain.hprof"
    result = run_cli("strip", "--no-compress", "--level", "arrays", src, plain)
    assert result.returncode == 0, result.stderr
    assert plain.read_bytes().startswith(b"JAVA PROFILE 1.0.2\0")
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and "13.4 MB of HPROF" in lines[0] and "11.9 MB" in lines[0]
    assert "emptied 48,038 arrays" in lines[1]
    result = run_cli("strip", "--json", src, tmp_path / "s.hprof.zst")
    doc = json.loads(result.stdout)
    assert doc["level"] == "strings" and doc["compressed"] and doc["hprof_bytes"] == 14_080_024
    assert doc["stored_bytes"] == (tmp_path / "s.hprof.zst").stat().st_size
    # 46,312 Strings, 11 of them the names of the 11 threads, which stay
    assert doc["string_values"] == 46_301 and doc["passes"] == 1
    assert doc["keep_thread_names"] and doc["thread_names"] == 11
    restored = tmp_path / "r.hprof.zst"
    result = run_cli("restore", "--compress", "--json", tmp_path / "s.hprof.zst", restored)
    doc = json.loads(result.stdout)
    assert doc["restored_bytes"] == 14_080_024 and doc["compressed"]
    assert len(plain_bytes(restored)) == 14_080_024
    assert run_cli("info", restored).returncode == 0


# -- the mark set --------------------------------------------------------------------------------
def _mark_set(ids):
    spool = MarkSpool()
    for chunk in (ids[:1], ids[1:]):  # the extent is measured across chunks
        spool.add(np.array(chunk, np.int64))
    return R.make_plan({R.F_STRIP_MARKED_ARRAYS: True}, build_mark_set(spool).plan_arrays())


@pytest.mark.parametrize("ids,kind", [
    ([0x12c00010, 0x12c00038, 0x12d01000, 0x12c00010], R.MARKS_BITSET),  # 8-aligned addresses
    ([0x12c00010, 0x12c00038, 0x70001000], R.MARKS_SORTED),  # 1.5 GB apart: 3 ids, 24 MB
    ([0x101, 0x205, 0x309], R.MARKS_BITSET),  # ART's odd ids: granularity 4
    ([1, 1 << 40, -(1 << 50), 12345], R.MARKS_SORTED),  # scattered: a bitset would be huge
    ([1 << 40, (1 << 40) - (1 << 63)], R.MARKS_BITSET),  # 2^63 apart: two bits, modulo 2^64
])
def test_mark_set_is_exact(ids, kind):
    plan = _mark_set(ids)
    assert plan.mark_meta[0] == kind
    probes = set(ids) | {i + d for i in ids for d in (-8, -4, -1, 1, 4, 8)}
    for probe in probes:
        assert R.is_marked(plan.mark_meta, plan.mark_bits, plan.mark_sorted, probe) == \
            (probe in ids), hex(probe)
    # taking ids out again (strip's kept thread names), some of them never in the set
    spool = MarkSpool()
    spool.add(np.array(ids, np.int64))
    marks = build_mark_set(spool)
    probes = np.array(sorted(probes), np.int64)
    assert marks.contains(probes).tolist() == [p in ids for p in probes.tolist()]
    gone = {ids[0], ids[-1] + 4}
    marks.discard(np.array(sorted(gone), np.int64))
    left = set(ids) - gone
    assert marks.contains(probes).tolist() == [p in left for p in probes.tolist()]
    meta, bits, ids_sorted = marks.plan_arrays()
    for probe in probes.tolist():
        assert R.is_marked(meta, bits, ids_sorted, probe) == (probe in left), hex(probe)


def test_mark_spool_spills_rows_to_a_file_and_gives_them_back_in_order():
    """The kernel's chunks: the first 2 MiB stay in memory, the rest go to a temporary file (so
    memory does not grow with the marks), and come back as they were, row by row."""
    spool = MarkSpool(columns=2)
    rng = np.random.default_rng(7)
    chunks = [rng.integers(1, 1 << 40, (n, 2)) * 8 for n in (5, 70_000, 1, 65_536, 3, 9, 2)]
    for chunk in chunks:
        spool.add(chunk)
    assert spool._file is not None and len(spool._chunks) == 3  # 5 + 70,000 + 1 rows: 1.1 MB
    back = np.concatenate(list(spool.chunks()))
    assert np.array_equal(back, np.concatenate(chunks))
    ids = back[:, 0]
    assert (spool.count, spool.low, spool.high) == (len(ids), ids.min(), ids.max())
    assert spool.or_delta & -spool.or_delta == 8  # the ids' granularity
    spool.close()


# -- unusual record orders (made by hand) -----------------------------------------------------
def _string_dump(string_class_first: bool, subclass: bool) -> bytes:
    """java.lang.String (and a subclass with one more field) whose instances may come before the
    class dumps: the survey must mark their arrays all the same."""
    b = HprofBuilder()
    subs = minimal_heap(b)
    string, sub = 0x400, 0x500
    b.load_class(string, "java/lang/String")
    b.load_class(sub, "SecretString")
    classes = [b.class_dump(string, 0x100, fields=[("hash", C.TYPE_INT),
                                                   ("value", C.TYPE_OBJECT)])]
    if subclass:
        classes.append(b.class_dump(sub, string, fields=[("extra", C.TYPE_LONG)]))
    text = "top secret".encode("latin-1")
    objects = [b.instance(0x2000, string, struct.pack(">i", 77) + b.id(0x3000)),
               b.primitive_array(0x3000, C.TYPE_BYTE, text),
               b.primitive_array(0x3100, C.TYPE_BYTE, b"not a string")]
    if subclass:
        objects += [b.instance(0x2100, sub, struct.pack(">q", 5) + struct.pack(">i", 1)
                               + b.id(0x3200)),
                    b.primitive_array(0x3200, C.TYPE_CHAR, "also secret".encode("utf-16-be"))]
    roots = [b.root(C.ROOT_STICKY_CLASS, string), b.root(C.ROOT_JNI_GLOBAL, 0x2000),
             b.root(C.ROOT_JNI_GLOBAL, 0x2100), b.root(C.ROOT_JNI_GLOBAL, 0x3100)]
    body = subs + (classes + objects if string_class_first else objects + classes) + roots
    b.heap_dump(*body).heap_dump_end()
    return b.bytes()


@pytest.mark.parametrize("string_class_first,subclass,passes", [
    (True, False, 1), (False, False, 2), (True, True, 1), (False, True, 2)])
def test_strings_are_found_whatever_the_record_order(tmp_path, string_class_first, subclass,
                                                     passes):
    src = tmp_path / "in.hprof"
    src.write_bytes(_string_dump(string_class_first, subclass))
    out = tmp_path / "out.hprof"
    result = strip_dump(src, out, "strings", form="plain")
    assert result.passes == passes
    data = out.read_bytes()
    assert b"top secret" not in data and "also secret".encode("utf-16-be") not in data
    assert b"not a string" in data
    assert struct.pack(">i", 77) + HprofBuilder().id(0x3000) not in data  # hash zeroed
    with oomlens.open_heap(out) as heap:
        assert heap.object(0x2000).as_string() is None
        assert heap.object(0x3100).as_string() == "not a string"
        assert heap.object(0x3000).length == 10


# -- damaged input and bad paths -----------------------------------------------------------------
def assert_clean_failure(result, folder: Path, *fragments):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("oomlens: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    leftovers = [p.name for p in folder.iterdir() if "partial" in p.name or p.name == "out"]
    assert leftovers == []


def _valid() -> bytes:
    b = HprofBuilder()
    b.heap_dump(*minimal_heap(b)).heap_dump_end()
    return b.bytes()


@pytest.mark.parametrize("command", ["strip", "restore"])
@pytest.mark.parametrize("data,fragment", [
    (b"this is a text file, not a heap dump\n" * 10, "not an HPROF"),
    (b"", "empty file"),
    (b"JAVA PROFILE 1.0.2\0\0\0", "truncated HPROF header"),
])
def test_not_a_dump(tmp_path, command, data, fragment):
    src = tmp_path / "in.hprof"
    src.write_bytes(data)
    assert_clean_failure(run_cli(command, src, tmp_path / "out"), tmp_path, fragment)


def _segment_length_changed(delta: int) -> bytes:
    """A valid dump whose second HEAP_DUMP_SEGMENT claims ``delta`` bytes more (or fewer)
    than it holds."""
    b = HprofBuilder()
    subs = minimal_heap(b)
    b.heap_dump(*subs)
    body = b.primitive_array(0x6000, C.TYPE_INT, b"\1\2\3\4" * 50) + subs[3] + subs[4]
    b.record(C.TAG_HEAP_DUMP_SEGMENT, body, length=len(body) + delta)
    b.heap_dump_end()
    return b.bytes()


@pytest.mark.parametrize("command", ["strip", "restore"])
@pytest.mark.parametrize("delta", [-3, 7])
def test_corrupt_segment_length(tmp_path, command, delta):
    src = tmp_path / "in.hprof"
    src.write_bytes(_segment_length_changed(delta))
    assert_clean_failure(run_cli(command, src, tmp_path / "out"), tmp_path, "corrupt heap dump")


def test_truncated_dump_is_stripped_up_to_the_cut(tmp_path):
    """A dump cut off inside a heap dump record: what is complete is stripped, with a warning;
    the output is a complete dump holding exactly what the reader reads from the cut one."""
    original = plain_bytes(DATA / "sun_jdk6_32bit.hprof.gz")
    src = tmp_path / "cut.hprof"
    src.write_bytes(original[: len(original) * 2 // 3])
    out = tmp_path / "stripped.hprof"
    result = run_cli("strip", "--level", "arrays", "--no-compress", src, out)
    assert result.returncode == 0, result.stderr
    assert "warning: truncated dump" in result.stderr
    with oomlens.open_heap(src) as cut, oomlens.open_heap(out) as heap:
        assert not heap.index.truncated and cut.index.truncated
        assert np.array_equal(cut.index.objects.ids, heap.index.objects.ids)
        assert np.array_equal(cut.index.objects.shallow, heap.index.objects.shallow)
    restored = tmp_path / "restored.hprof"
    assert run_cli("restore", out, restored).returncode == 0


def test_bad_output_paths(tmp_path):
    src = tmp_path / "in.hprof"
    src.write_bytes(_valid())
    assert_clean_failure(run_cli("strip", src, src), tmp_path, "must not be the input")
    os.link(src, tmp_path / "hardlink.hprof")
    assert_clean_failure(run_cli("strip", src, tmp_path / "hardlink.hprof"), tmp_path,
                         "must not be the input")
    assert_clean_failure(run_cli("strip", src, tmp_path / "missing" / "out"), tmp_path,
                         "cannot write")
    (tmp_path / "adir").mkdir()
    assert_clean_failure(run_cli("restore", src, tmp_path / "adir"), tmp_path, "directory")
    assert_clean_failure(run_cli("strip", tmp_path / "nope.hprof", tmp_path / "out"), tmp_path,
                         "no such file")
    assert src.read_bytes() == _valid()


# -- the C kernels --------------------------------------------------------------------------------
def test_strip_and_restore_do_not_load_numba(tmp_path):
    """strip runs on users' devices and CI hosts: loading Numba and LLVM would cost it ~0.3 s
    and ~90 MB. Neither importing the commands nor running them may load it."""
    src = tmp_path / "in.hprof"
    src.write_bytes(_string_dump(True, False))
    code = f"""
import sys
import oomlens.cli.commands.restore, oomlens.cli.commands.strip
import oomlens.hprof.restore, oomlens.hprof.strip
assert "numba" not in sys.modules, "import"
from oomlens.cli.main import main
for level in ("strings", "arrays", "all"):
    assert main(["strip", "--level", level, {str(src)!r}, {str(tmp_path / "out.zst")!r}]) == 0
    assert main(["restore", {str(tmp_path / "out.zst")!r}, {str(tmp_path / "back")!r}]) == 0
assert "numba" not in sys.modules, "run"
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr


def test_c_kernels_use_the_drivers_constants():
    """Slot numbers, return codes and flags are written twice, in _rewrite.c and in the
    drivers: they must agree."""
    assert len(_rewrite.CONSTANTS) > 80
    for name, value in _rewrite.CONSTANTS.items():
        module = R if hasattr(R, name) else S
        assert getattr(module, name) == value, name


FUZZ_BASES = [plain_bytes(DATA / name) for name in
              ("sun_jdk6_32bit.hprof.gz", "hotspot_segments_test1.hprof.gz",
               "art_ahat_test-dump.hprof.gz")]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(damaged_copies(FUZZ_BASES))
def test_mutated_dumps_strip_and_restore_cleanly(tmp_path_factory, data):
    """Damaged input: strip and restore write a dump or fail with one line, and whatever strip
    writes, restore reads (unless a damaged length made an array too big to fill)."""
    folder = tmp_path_factory.mktemp("fuzz")
    src = folder / "mutated.hprof"
    src.write_bytes(data)

    def clean(run, *args, **kwargs) -> bool:
        try:
            run(*args, **kwargs)
            return True
        except oomlens.OomlensError as exc:
            assert str(exc) and "\n" not in str(exc)
            return False

    for level in LEVELS:
        out = folder / f"{level}.hprof"
        if clean(strip_dump, src, out, level, form="plain"):
            try:
                restore_dump(out, folder / "restored.hprof")
            except oomlens.OomlensError as exc:
                assert "past 4 GiB" in str(exc)
    clean(restore_dump, src, folder / "restored.hprof")
