"""Bad input gets one clear line on stderr and exit status 2: never a traceback, a hang, or
memory beyond what the file size explains. A property-based test mutates real dumps."""

from __future__ import annotations

import csv
import gzip
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import oomlens
from mutations import damaged_copies
from oomlens.config import Settings
from oomlens.report.document import build_report
from conftest import DATA
from hprof_builder import HprofBuilder, minimal_heap
from oomlens.hprof import constants as C
from oomlens.retrace.mapping import load_mapping

OOMLENS = [sys.executable, "-m", "oomlens.cli.main"]


def run_cli(*args, timeout=120):
    env = dict(os.environ)
    env.pop("OOMLENS_DEBUG", None)
    return subprocess.run([*OOMLENS, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env)


def assert_clean_failure(result, *fragments):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("oomlens: error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def valid_dump(value=7) -> bytes:
    b = HprofBuilder()
    subs = minimal_heap(b, value)
    b.heap_dump(*subs).heap_dump_end()
    return b.bytes()


@pytest.fixture
def write(tmp_path):
    def w(name: str, data: bytes) -> Path:
        p = tmp_path / name
        p.write_bytes(data)
        return p
    return w


def test_builder_dump_is_valid(write):
    path = write("ok.hprof", valid_dump())
    with oomlens.open_heap(path) as heap:
        box = heap.find_class("Box")
        first = box.static_fields()["first"]
        assert first["value"] == 7 and first["next"]["value"] == 8
        assert heap.retained_size(first) == 2 * first.shallow_size


@pytest.mark.parametrize("name,data,fragment", [
    ("text.hprof", b"this is a text file, not a heap dump\n" * 10, "not an HPROF"),
    ("png.hprof", b"\x89PNG\r\n\x1a\n" + os.urandom(200), "not an HPROF"),
    ("empty.hprof", b"", "empty file"),
    ("short-header.hprof", b"JAVA PROFILE 1.0.2\0\0\0", "truncated HPROF header"),
    ("no-nul.hprof", b"JAVA PROFILE 1.0.2", "truncated HPROF header"),
    ("id3.hprof", b"JAVA PROFILE 1.0.2\0" + struct.pack(">III", 3, 0, 0) + b"\0" * 40,
     "identifier size 3"),
    ("random-after-header.hprof",
     b"JAVA PROFILE 1.0.2\0" + struct.pack(">III", 8, 0, 0) + bytes(range(256)) * 64,
     "no heap dump"),
])
def test_not_a_dump(write, name, data, fragment):
    assert_clean_failure(run_cli("info", write(name, data)), fragment)


def test_missing_file_and_directory(tmp_path):
    assert_clean_failure(run_cli("info", tmp_path / "nope.hprof"), "no such file")
    assert_clean_failure(run_cli("info", tmp_path), "directory")


def test_record_length_past_the_end_of_a_file_with_no_heap(write):
    b = HprofBuilder()
    b.record(C.TAG_HEAP_DUMP_SEGMENT, b"", length=1 << 31)
    assert_clean_failure(run_cli("info", write("past-end.hprof", b.bytes())))


_PEAK_RSS = ("import os, subprocess, sys\n"
             "child = subprocess.Popen(sys.argv[1:])\n"
             "_, status, usage = os.wait4(child.pid, 0)\n"
             "print(usage.ru_maxrss, file=sys.stderr)\n"
             "sys.exit(os.waitstatus_to_exitcode(status))\n")


def test_huge_counts_do_not_allocate(write):
    """An array claiming 2^31 elements, a class claiming 65535 fields, in a tiny file."""
    b = HprofBuilder()
    subs = minimal_heap(b)
    huge_array = b.primitive_array(0x5000, C.TYPE_LONG, b"\0" * 16, length=(1 << 31) - 1)
    b.heap_dump(*subs, huge_array)
    path = write("huge.hprof", b.bytes())
    # The command's own peak RSS, through a small intermediate process: Linux counts the RSS
    # of the process a child was forked from (here pytest, large by now) in the child's peak.
    result = subprocess.run([sys.executable, "-c", _PEAK_RSS, *OOMLENS, "info", "--json", path],
                            capture_output=True, text=True, timeout=120,
                            env={k: v for k, v in os.environ.items() if k != "OOMLENS_DEBUG"})
    stderr, _, peak_kb = result.stderr.rstrip().rpartition("\n")
    stdout = result.stdout
    # the record is complete but the array claims more than it holds: everything before it
    # is indexed, the rest of the record is reported as corrupt
    assert result.returncode == 0, stderr
    assert "corrupt heap dump" in stderr and "tag 0x23" in stderr
    assert '"instances": 2' in stdout
    assert int(peak_kb) < 600_000  # KB; 2^31 longs would be 16 GB


def test_class_with_more_fields_than_bytes(write):
    b = HprofBuilder()
    subs = minimal_heap(b)
    broken = bytearray(b.class_dump(0x700, 0x100, fields=[("a", C.TYPE_INT)]))
    broken[-(b.id_size + 1) - 2 : -(b.id_size + 1)] = struct.pack(">H", 65535)
    b.heap_dump(*subs, bytes(broken))
    result = run_cli("info", write("fields.hprof", b.bytes()))
    assert result.returncode == 0
    assert "corrupt" in result.stderr and "Traceback" not in result.stderr


def test_cyclic_superclass_chain(write):
    b = HprofBuilder()
    b.load_class(0x100, "A")
    b.load_class(0x200, "B")
    b.heap_dump(b.class_dump(0x100, super_id=0x200), b.class_dump(0x200, super_id=0x100),
                b.root(C.ROOT_STICKY_CLASS, 0x100))
    assert_clean_failure(run_cli("info", write("cycle.hprof", b.bytes())), "cyclic")


def test_unknown_subrecord_is_reported_and_the_rest_indexed(write):
    b = HprofBuilder()
    subs = minimal_heap(b)
    b.heap_dump(*subs)
    b.heap_dump(bytes([0x77]) + b"\0" * 30)  # a tag no VM writes
    b.heap_dump_end()
    result = run_cli("info", "--json", write("unknown-tag.hprof", b.bytes()))
    assert result.returncode == 0
    assert "tag 0x77" in result.stderr


def test_truncated_real_dump_indexes_what_is_complete(tmp_path):
    raw = gzip.decompress((DATA / "oracle_jdk8_05_x64.hprof.gz").read_bytes())
    cut = tmp_path / "cut.hprof"
    cut.write_bytes(raw[: len(raw) * 2 // 3])
    with oomlens.open_heap(cut) as heap:
        assert heap.index.truncated
        assert heap.index.missing_bytes > 0
        assert any("truncated" in w for w in heap.warnings)
        with oomlens.open_heap(DATA / "oracle_jdk8_05_x64.hprof.gz") as whole:
            assert 0.3 * whole.object_count < heap.object_count < whole.object_count
        assert heap.dominator_tree.reachable_count > 0
        # the cut came before the GC root records: stand-in roots, used by paths too
        assert any("no GC roots" in w for w in heap.warnings)
        top = heap.object_at(int(heap.top_dominators(1)[0]))
        assert heap.path_to(top) is not None
    result = run_cli("dominators", cut)
    assert result.returncode == 0
    assert "warning: truncated dump" in result.stderr


def test_truncated_gzip_stream(tmp_path):
    data = (DATA / "sun_jdk6_32bit.hprof.gz").read_bytes()
    cut = tmp_path / "cut.hprof.gz"
    cut.write_bytes(data[: len(data) * 9 // 10])  # the one HEAP_DUMP record comes late
    with oomlens.open_heap(cut) as heap:
        assert heap.index.truncated and heap.object_count > 1000


def test_corrupt_gzip(write):
    data = gzip.compress(valid_dump())
    broken = data[:20] + bytes(b ^ 0xFF for b in data[20:40]) + data[40:]
    result = run_cli("info", write("broken.hprof.gz", broken))
    assert result.returncode in (0, 2) and "Traceback" not in result.stderr


@pytest.mark.parametrize("layout", ["records", "segments"])
def test_several_dumps_in_one_file(write, layout):
    b = HprofBuilder(version="1.0.1" if layout == "records" else "1.0.2")
    for value in (7, 40):
        subs = minimal_heap(b, value)
        if layout == "records":  # old hprof agents: one HEAP_DUMP record per dump
            b.heap_dump(*subs, tag=C.TAG_HEAP_DUMP)
        else:  # segments up to HEAP_DUMP_END make one dump
            b.heap_dump(*subs[:3]).heap_dump(*subs[3:]).heap_dump_end()
    path = write("two.hprof", b.bytes())
    for number, value in ((0, 7), (1, 40)):
        with oomlens.open_heap(path, number) as heap:
            assert heap.index.dump_count == 2
            assert heap.find_class("Box").static_fields()["first"]["value"] == value
    out = run_cli("info", "--json", "--dump", "2", path)
    assert out.returncode == 0 and '"heap_dump": 2' in out.stdout
    assert_clean_failure(run_cli("info", "--dump", "3", path), "holds 2 heap dumps")


def test_duplicate_and_missing_ids_are_counted(write):
    b = HprofBuilder()
    subs = minimal_heap(b)
    dup = b.instance(0x1000, 0x300, struct.pack(">i", 99) + b.id(0xDEAD))
    dangling = b.instance(0x2000, 0x300, struct.pack(">i", 1) + b.id(0xBEEF))
    b.heap_dump(*subs, dup, dangling, b.root(C.ROOT_JNI_GLOBAL, 0x2000),
                b.root(C.ROOT_JNI_GLOBAL, 0x9999))
    with oomlens.open_heap(write("ids.hprof", b.bytes())) as heap:
        assert heap.index.objects.duplicates == 1
        assert heap.object("0x1000")["value"] == 7  # the first record of an id wins
        assert heap.index.graph.missing_references == 1  # 0xBEEF
        assert heap.index.roots.missing == 1  # 0x9999
        assert heap.object("0x2000")["next"].__class__.__name__ == "MissingObject"


# -- property-based: mutated real dumps --------------------------------------------------------

# Three shapes of input: 4-byte ids with one HEAP_DUMP record (JDK 6), 8-byte ids with
# HEAP_DUMP_SEGMENTs (modern HotSpot), and Android's heap-info records and extra root kinds.
FUZZ_BASES = [gzip.decompress((DATA / name).read_bytes()) for name in
              ("sun_jdk6_32bit.hprof.gz", "hotspot_segments_test1.hprof.gz",
               "art_ahat_test-dump.hprof.gz")]


def analyse_everything(path: Path) -> None:
    with oomlens.open_heap(path) as heap:
        heap.summary()
        top = heap.top_dominators(3)
        heap.histogram()
        for i in top:
            obj = heap.object_at(int(i))
            assert heap.path_to(obj) is not None  # a top dominator is strongly reachable
            obj.fields()
        # the whole report, with thresholds low enough that every finder has work to do
        json.dumps(build_report(heap, Settings(big_object_bytes=1024, cluster_min_instances=2,
                                               cluster_min_bytes=1024, large_bitmap_bytes=0)))


@settings(max_examples=90, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(damaged_copies(FUZZ_BASES))
def test_mutated_dumps_fail_cleanly_or_analyse(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "mutated.hprof"
    path.write_bytes(data)
    try:
        analyse_everything(path)
    except oomlens.OomlensError as exc:
        assert str(exc) and "\n" not in str(exc)


def test_android_subrecords_nodata_and_unreachable_root(write):
    """PRIMITIVE_ARRAY_NODATA keeps the array's size without its elements; ART's
    ROOT_UNREACHABLE marks an object that is *not* reachable, so it is no root."""
    b = HprofBuilder(id_size=4, version="1.0.3")
    subs = minimal_heap(b)
    nodata = (bytes([C.SUB_PRIMITIVE_ARRAY_NODATA]) + b.id(0x3000) + struct.pack(">I", 0)
              + struct.pack(">I", 1000) + bytes([C.TYPE_INT]))
    orphan = b.instance(0x4000, 0x300, struct.pack(">i", 5) + b.id(0))
    info = bytes([C.SUB_HEAP_DUMP_INFO]) + struct.pack(">I", ord("A")) + b.id(b.string("app"))
    b.heap_dump(info, *subs, nodata, orphan, b.root(C.ROOT_UNREACHABLE, 0x4000),
                b.root(C.ROOT_JNI_GLOBAL, 0x3000))
    with oomlens.open_heap(write("android.hprof", b.bytes())) as heap:
        array = heap.object("0x3000")
        assert array.length == 1000 and not array.has_array_data()
        assert array.primitive_values().size == 0
        assert array.shallow_size == 4016  # align8(8 + 4 + 1000 * 4): the elements existed
        assert heap.object("0x3000").heap_name == "app"
        assert heap.reachability_of("0x4000") == "unreachable"
        assert heap.index.roots.counts_by_kind()["unreachable"] == 1
        assert heap.reachability_of("0x3000") == "strong"


# -- found by the hostile-input campaign (tests/hprof/test_fuzz_campaign.py, `make fuzz`) -------------
ART_DUMP = DATA / "art_ahat_test-dump.hprof.gz"
ART_MAP = DATA / "art_ahat_test-dump.map"


def peak_run(*args, timeout=120):
    """(result, peak RSS in MB) of ``oomlens args``, measured as test_huge_counts_do_not_allocate
    does; the peak line is taken off the result's stderr."""
    result = subprocess.run([sys.executable, "-c", _PEAK_RSS, *OOMLENS, *map(str, args)],
                            capture_output=True, text=True, timeout=timeout,
                            env={k: v for k, v in os.environ.items() if k != "OOMLENS_DEBUG"})
    stderr, _, peak_kb = result.stderr.rstrip().rpartition("\n")
    result.stderr = stderr + "\n" if stderr else ""
    return result, int(peak_kb) / 1024


def test_corrupt_deflate_data_in_gzip(write):
    """zlib.error (bad deflate data: "invalid distance too far back" and the like) is no
    OSError: it escaped as an internal error."""
    import zlib

    packed = bytearray(gzip.compress(valid_dump() * 40))
    for at in range(20, len(packed) - 8):  # the first flip that breaks the deflate stream itself
        broken = bytearray(packed)
        broken[at] ^= 0x10
        try:
            gzip.decompress(bytes(broken))
        except zlib.error:
            break
        except Exception:
            continue
    else:
        pytest.fail("no flip gave bad deflate data")
    assert_clean_failure(run_cli("info", write("deflate.hprof.gz", bytes(broken))),
                         "cannot decompress gzip input")


def test_packed_frame_sizes_are_checked_before_reading(write):
    """A frame's u4 compressed size was read before it was checked: 0xFFFFFFF0 made the reader
    allocate 4 GiB for a 100-byte file (a MemoryError under a 1 GiB address-space limit)."""
    bomb = write("bomb.packed", b"\x89OOMPACK" + bytes([1, 4, 10]) + struct.pack(
        ">II", 100, 0xFFFFFFF0) + b"\0" * 72 + b"x" * 100)
    code = ("import io, resource, sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
            "from oomlens.errors import HprofFormatError\n"
            "from oomlens.hprof import pack\n"
            "try:\n"
            "    pack.unpack(open(sys.argv[1], 'rb'), io.BytesIO(), 'bomb')\n"
            "except HprofFormatError as exc:\n"
            "    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code, str(bomb)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "4,294,967,280 compressed bytes for a stream of 100" in out.stdout
    assert_clean_failure(run_cli("info", bomb), "corrupt packed heap dump")


def deep_hierarchy(depth: int, fields: list[int]) -> HprofBuilder:
    """java.lang.Object, then ``depth`` classes each extending the one before and declaring
    ``fields`` (object or int; field j of class k is named ckfj), and one instance of the last whose first own field and the last
    field of the first class (the deepest inherited one) point at two more instances."""
    b = HprofBuilder(id_size=4)
    subs = []
    b.load_class(0x100, "java/lang/Object")
    subs.append(b.class_dump(0x100))
    prev = 0x100
    for k in range(depth):
        cid = 0x10000 + 16 * k
        b.load_class(cid, f"C{k}")
        subs.append(b.class_dump(cid, prev, fields=[(f"c{k}f{j}", t)
                                                    for j, t in enumerate(fields)]))
        prev = cid
    row = b"".join(b"\0" * 4 if t == C.TYPE_OBJECT else struct.pack(">i", 7) for t in fields)
    data = bytearray(row * depth)
    data[0:4] = b.id(0x900010)  # the leaf's own first field (an object field)
    last_ref = max(i for i, t in enumerate(fields) if t == C.TYPE_OBJECT)
    at = len(data) - len(row) + sum(C.value_size(t, 4) for t in fields[:last_ref])
    data[at: at + 4] = b.id(0x900020)  # the last object field of C0, inherited from the top
    subs += [b.instance(0x900000, prev, bytes(data)),
             b.instance(0x900010, 0x100, b""), b.instance(0x900020, 0x100, b""),
             b.root(C.ROOT_JNI_GLOBAL, 0x900000)]
    return b.heap_dump(*subs).heap_dump_end()


def test_a_deep_class_hierarchy_takes_linear_time_and_memory(write):
    """Every class's inherited reference fields were listed in full: 3,000 classes one below the
    other, ten fields each, in a 530 KB file, took 33 s and 2.4 GB to index."""
    fields = [C.TYPE_OBJECT] * 10
    path = write("deep.hprof", deep_hierarchy(3000, fields).bytes())
    result, peak = peak_run("info", "--json", path)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["instances"] == 3 and info["references"] >= 2
    assert peak < 400, peak
    # the references at both ends of the instance's 30,000 fields are followed
    for target in ("0x900010", "0x900020"):
        out = run_cli("path", "--json", path, target)
        assert out.returncode == 0, out.stderr
        steps = json.loads(out.stdout)["path"]
        assert [s["object_id"] for s in steps] == ["0x900000", target]
        assert steps[1]["reference"] == ("c2999f0" if target == "0x900010" else "c0f9")


def test_a_deep_class_hierarchy_is_refused_by_strip_not_blown_up(write, tmp_path):
    """strip --level all made every class's zero runs from its superclasses' again: 3,000
    classes of alternating int and object fields took 8.5 s and 3.2 GB; now a budget of field
    runs stops it with an error, and a realistic depth is stripped as before."""
    alternating = [C.TYPE_OBJECT if j % 2 == 0 else C.TYPE_INT for j in range(10)]
    deep = write("deep.hprof", deep_hierarchy(3000, alternating).bytes())
    result, peak = peak_run("strip", deep, tmp_path / "out.hprof", "--level", "all")
    assert_clean_failure(result, "class hierarchy is too deep to strip")
    assert peak < 400, peak
    assert not (tmp_path / "out.hprof").exists()
    src = write("shallow.hprof", deep_hierarchy(50, alternating).bytes())
    out = run_cli("strip", src, tmp_path / "shallow.out", "--level", "all", "--format", "plain")
    assert out.returncode == 0, out.stderr
    with oomlens.open_heap(tmp_path / "shallow.out") as heap:
        leaf = heap.object("0x900000")
        values = dict(leaf.fields())
        assert values["c49f1"] == values["c0f9"] == 0  # ints, 7 before, zeroed
        assert values["c49f0"].id == 0x900010  # references stay
    with oomlens.open_heap(src) as heap:
        assert dict(heap.object("0x900000").fields())["c0f9"] == 7


def test_mapping_metadata_of_the_wrong_type(tmp_path):
    """A sourceFile metadata whose fileName is a list (JSON allows it) reached the rewrite's
    string table: 'unhashable type: list'."""
    text = ART_MAP.read_text().replace('"fileName":"DumpedStuff.java"', '"fileName":["x", 1]')
    text = text.replace('"version":"2.2"', '"version":{"major":2}')
    mapping = tmp_path / "typed.map"
    mapping.write_text(text)
    assert load_mapping(mapping).format_version is None
    out = run_cli("deobfuscate", ART_DUMP, tmp_path / "out.hprof", "--mapping", mapping)
    assert out.returncode == 0, out.stderr
    with oomlens.open_heap(tmp_path / "out.hprof") as heap:
        assert heap.find_class("DumpedStuff") is not None


@pytest.mark.parametrize("number", ["9" * 5000, str(1 << 31), "99999999999"])
def test_mapping_line_numbers_out_of_range(tmp_path, number):
    """5,000 digits raised int()'s ValueError (an internal error); numbers past a Java int
    cannot be written into a STACK_FRAME's i4 line."""
    text = ART_MAP.read_text().replace(":256:256 ->", f":{number}:{number} ->", 1)
    mapping = tmp_path / "numbers.map"
    mapping.write_text(text)
    out = run_cli("deobfuscate", ART_DUMP, tmp_path / "out.hprof", "--mapping", mapping)
    assert_clean_failure(out, "line number", "out of range")


def test_mapping_json_comment_nested_too_deep(tmp_path):
    """json.loads raises RecursionError, not ValueError, for 30,000 nested arrays: a comment
    that deep is a comment, not metadata."""
    deep = "[" * 30_000 + "]" * 30_000
    mapping = tmp_path / "nested.map"
    mapping.write_text('# {"a":' + deep + "}\n" + ART_MAP.read_text().replace(
        '# {"id":"sourceFile"', '# {"x":' + deep + ', "id":"sourceFile"'))
    assert len(load_mapping(mapping).classes) == len(load_mapping(ART_MAP).classes)
    out = run_cli("info", ART_DUMP, "--mapping", mapping)
    assert out.returncode == 0 and "Traceback" not in out.stderr


def test_dominator_csv_of_long_class_names_stays_small(tmp_path):
    """The CSV buffer was sized for 2^18 rows of the longest class name: with 60 KB names (a
    hostile mapping's) that was 2.5 GB of RSS for a 2.5 MB dump, ~1 GB with the 20 KB names
    here; now chunks are 32 MB."""
    lines = [ln if not (ln and not ln[0].isspace() and " -> " in ln) else
             ln.split(" -> ")[0] + "X" * 20_000 + " -> " + ln.split(" -> ")[1]
             for ln in ART_MAP.read_text().splitlines()]
    mapping = tmp_path / "long.map"
    mapping.write_text("\n".join(lines) + "\n")
    csv_path = tmp_path / "all.csv"
    result, peak = peak_run("dominators", ART_DUMP, "--mapping", mapping, "--csv", csv_path)
    assert result.returncode == 0, result.stderr
    assert peak < 400, peak
    with open(csv_path, encoding="utf-8") as f:
        header = f.readline()
        rows = sum(1 for _ in f)
    assert header.startswith("object_id,class,") and rows > 10_000
    assert csv_path.stat().st_size > 200_000_000  # every row names its class in full


def test_a_long_path_prints_in_linear_size():
    """A path of 6,500 steps (ahat's linked StackSmasher chain) was indented by its depth: 428
    MB of spaces and 10 s. Past 40 steps the indentation stops and the steps are numbered."""
    out = run_cli("path", ART_DUMP, "0x6109800")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 6502 and len(out.stdout) < 3_000_000
    assert lines[-1].lstrip().startswith("[6500] └─ .a → o 0x6109800")


def test_names_with_line_breaks_and_escapes_stay_on_their_line(write):
    """A class name is any bytes the dump holds: one with a newline made a multi-line error,
    and an escape sequence reached the terminal. Errors, warnings and tables escape them."""
    b = HprofBuilder()
    subs = minimal_heap(b)
    b.load_class(0x700, "Evil\nline2\r[bold]x\x1b]0;pwned\x07\x1b[31m")
    subs += [b.class_dump(0x700, 0x100), b.instance(0x7000, 0x700, b"")]
    path = write("evil.hprof", b.heap_dump(*subs).heap_dump_end().bytes())
    failure = run_cli("path", path, "0x7000")  # unreachable: the error names its class
    assert_clean_failure(failure, "Evil\\nline2\\r[bold]x\\x1b]0;pwned\\x07\\x1b[31m")
    table = run_cli("histogram", path)
    assert table.returncode == 0, table.stderr
    assert "\x1b" not in table.stdout and "\r" not in table.stdout
    assert any("Evil\\nline2" in line for line in table.stdout.splitlines())


def test_dominator_csv_quotes_names_with_line_breaks(write, tmp_path):
    """The CSV writer was made with an empty line terminator, so it did not quote a class name
    holding a line break: the name's second line became a row of its own."""
    b = HprofBuilder()
    subs = minimal_heap(b)
    b.load_class(0x700, "Evil\nrow,1,2,3\rx")
    subs += [b.class_dump(0x700, 0x100), b.instance(0x7000, 0x700, b""),
             b.root(C.ROOT_JNI_GLOBAL, 0x7000)]
    path = write("evil.hprof", b.heap_dump(*subs).heap_dump_end().bytes())
    out = run_cli("dominators", path, "--csv", tmp_path / "all.csv")
    assert out.returncode == 0, out.stderr
    with open(tmp_path / "all.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert {len(r) for r in rows} == {5}
    assert ["0x7000", "Evil\nrow,1,2,3\rx"] in [r[:2] for r in rows]
