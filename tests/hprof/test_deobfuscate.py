"""``oomlens deobfuscate``: a copy of an obfuscated dump with the source's names, proven on
ahat's R8 dump (oomlens and VisualVM read the real names; ids, sizes and references unchanged),
on a JVM program obfuscated by Debian's ProGuard (the same findings as the plain build's), and on
small hand-made dumps for the corners of the format."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import oomlens
from mutations import damaged_copies
from conftest import DATA
from hprof_builder import HprofBuilder, minimal_heap
from oomlens.hprof import constants as C
from oomlens.hprof.deobfuscate import read_names
from oomlens.hprof.scan import read_i4, read_id, read_u4
from oomlens.hprof.source import DumpFile
from oomlens.retrace.mapping import load_mapping
from cliutil import oomlens_cli

sys.path.insert(0, str(DATA.parent / "reference"))
from run_reference import run_visualvm_names, visualvm_available  # noqa: E402

AHAT_DUMP = DATA / "art_ahat_test-dump.hprof.gz"
AHAT_MAP = DATA / "art_ahat_test-dump.map"
# DumpedStuff's fields as tests/data/README.md states them
AHAT_STRINGS = {"basicString": "hello, world", "nonAscii": "Sigma (Ʃ) is not ASCII"}


def deobfuscate(dump, out, mapping, *extra):
    result = oomlens_cli("deobfuscate", dump, out, "--mapping", mapping, "--json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def need_visualvm():
    if not visualvm_available():
        pytest.fail("VisualVM's heap library is needed (make test installs Debian's visualvm)")


def class_and_field_names(heap) -> dict[int, tuple[str, list[str], list[str]]]:
    """Per class id: name, declared instance fields, static fields."""
    t = heap.index.classes
    out = {}
    for k in range(t.real_count):
        fields = [heap.field_name(f) for f in range(int(t.field_begin[k]), int(t.field_end[k]))]
        statics = [heap.static_field_name(s)
                   for s in range(int(t.static_begin[k]), int(t.static_end[k]))]
        out[int(t.ids[k])] = (t.names[k], fields, statics)
    return out


def stack_frames(path) -> list[tuple[str | None, str, str, str, int]]:
    """(class, method, signature, source file, line) of every STACK_FRAME record."""
    with DumpFile(path) as dump:
        names = read_names(dump)
        by_serial = {lc.serial: names.class_name(lc.class_id) for lc in names.load_classes}
        n, data, frames = dump.header.id_size, dump.data, []
        for body in map(int, names.frame_offsets):
            text = [names.strings.get(int(read_id(data, body + k * n, n))) for k in (1, 2, 3)]
            frames.append((by_serial.get(int(read_u4(data, body + 4 * n))), *text,
                           int(read_i4(data, body + 4 * n + 4))))
    return frames


# -- ahat's R8-obfuscated ART dump ----------------------------------------------------------

@pytest.fixture(scope="module")
def ahat(tmp_path_factory):
    out = tmp_path_factory.mktemp("deobfuscate") / "ahat.hprof"
    result = deobfuscate(AHAT_DUMP, out, AHAT_MAP)
    with oomlens.open_heap(AHAT_DUMP, mapping=AHAT_MAP) as mapped, \
            oomlens.open_heap(out) as rewritten:
        yield result, out, mapped, rewritten


def test_ahat_counts(ahat):
    result, out, _, _ = ahat
    assert result["classes_renamed"] == 24 and result["fields_renamed"] == 75
    assert result["obfuscated_classes_not_in_mapping"] == 0
    assert result["obfuscated_fields_not_in_mapping"] == 0
    assert result["frames_renamed"] > 0 and result["new_strings"] > 0
    assert result["hprof_bytes"] == out.stat().st_size
    text = oomlens_cli("deobfuscate", AHAT_DUMP, out.with_name("again.hprof"), "--mapping",
                       AHAT_MAP)
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("renamed 24 classes, 75 fields and ")


def test_ahat_real_names_without_a_mapping(ahat):
    _, _, _, heap = ahat
    assert heap.retrace is None
    stuff = heap.find_class("Main").static_fields()["stuff"]
    assert stuff.class_name == "DumpedStuff"
    for field, value in AHAT_STRINGS.items():
        assert stuff[field].as_string() == value
    assert "".join(map(chr, stuff["charArray"].primitive_values())) == "char thing"
    # the obfuscated inner and framework classes got their names back
    assert heap.find_class("DumpedStuff$StackSmasher").instance_count() == 20000
    assert heap.find_class("o") is None and heap.find_class("l[]") is None
    assert stuff["gcPathArray"].class_name == "DumpedStuff$ObjectTree[]"
    assert stuff["bitmapOne"].class_name == "android.graphics.Bitmap"
    assert stuff["bitmapOne"]["mWidth"] > 0
    assert heap.find_class("android.os.BinderProxy") is not None
    assert heap.find_class("SuperDumpedStuff").declared_fields()[0][0] == \
        "objectAllocatedAtObfSuperSite"


def test_ahat_same_names_and_values_as_the_mapping_gives(ahat):
    _, _, mapped, heap = ahat
    assert class_and_field_names(heap) == class_and_field_names(mapped)
    ours = heap.find_class("Main").static_fields()["stuff"]
    theirs = mapped.find_class("Main").static_fields()["stuff"]
    assert ours.id == theirs.id
    assert [(name, getattr(v, "id", v)) for name, v in ours.fields()] == \
        [(name, getattr(v, "id", v)) for name, v in theirs.fields()]


def test_ahat_objects_sizes_and_graph_unchanged(ahat):
    _, _, mapped, heap = ahat
    a, b = heap.index, mapped.index
    for column in ("ids", "kind", "class_index", "shallow", "heap"):
        assert np.array_equal(getattr(a.objects, column), getattr(b.objects, column)), column
    assert np.array_equal(a.graph.begin, b.graph.begin)
    assert np.array_equal(a.graph.targets, b.graph.targets)
    assert np.array_equal(heap.dominator_tree.retained, mapped.dominator_tree.retained)
    assert np.array_equal(a.roots.object_id, b.roots.object_id)
    assert heap.summary()["heaps"] == mapped.summary()["heaps"]


def test_ahat_stack_frames_retraced(ahat):
    _, out, _, _ = ahat
    before, after = stack_frames(AHAT_DUMP), stack_frames(out)
    assert len(before) == len(after)
    changed = {b: a for b, a in zip(before, after) if a != b}
    assert len(changed) >= 10
    obf_source = next(f[3] for f in before if f[0] == "Main")
    assert obf_source.startswith("go/retraceme ")  # R8's stand-in source file name
    # Main.main: obfuscated lines 10:11 were source lines 59:60
    assert changed[("Main", "main", "([Ljava/lang/String;)V", obf_source, 11)] == \
        ("Main", "main", "([Ljava/lang/String;)V", "Main.java", 60)
    # DumpedStuff.c is allocateObjectAtKnownSite: "8:10:...():31:31 -> c"
    frame = next(f for f in before if f[:2] == ("DumpedStuff", "c") and f[4] == 8)
    assert changed[frame][1:] == ("allocateObjectAtKnownSite", "()V", "DumpedStuff.java", 31)
    frame = next(f for f in before if f[:2] == ("SuperDumpedStuff", "a"))
    assert changed[frame][1:] == ("allocateObjectAtObfSuperSite", "()V",
                                  "SuperDumpedStuff.java", 22)
    # frames of classes the mapping does not know stay as they were
    assert all(a == b for b, a in zip(before, after) if b[0] == "java.io.PrintStream")


def test_ahat_compressed_output(ahat, tmp_path):
    _, _, mapped, _ = ahat
    out = tmp_path / "ahat.hprof.zst"
    result = deobfuscate(AHAT_DUMP, out, AHAT_MAP, "--compress")
    assert result["compressed"] and out.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"
    assert out.stat().st_size < result["hprof_bytes"] / 3
    with oomlens.open_heap(out) as heap:
        assert class_and_field_names(heap) == class_and_field_names(mapped)


# -- VisualVM reads the real names ---------------------------------------------------------

@pytest.mark.visualvm
def test_visualvm_reads_ahat_real_names(ahat, tmp_path):
    """VisualVM's heap library opens the ART dump (JAVA PROFILE 1.0.3) as it is; in the rewritten
    one it finds DumpedStuff's real fields with the values oomlens reads through the mapping."""
    need_visualvm()
    _, out, mapped, _ = ahat
    before = run_visualvm_names(_plain(tmp_path), tmp_path / "before.json", ("DumpedStuff",))
    after = run_visualvm_names(out, tmp_path / "after.json",
                               ("DumpedStuff", "DumpedStuff$StackSmasher"))
    names_before = {c["name"] for c in before["classes"]}
    names_after = {c["name"] for c in after["classes"]}
    assert "o" in names_before and "DumpedStuff$StackSmasher" not in names_before
    assert {"DumpedStuff$StackSmasher", "DumpedStuff$ObjectTree[]", "android.graphics.Bitmap",
            "android.os.BinderProxy"} <= names_after and "o" not in names_after

    stuff = mapped.find_class("Main").static_fields()["stuff"]
    expected = {}
    for name, value in stuff.fields():
        if name.startswith("shadow$"):
            continue
        expected[name] = None if value is None else (
            f"0x{value.id:x}" if hasattr(value, "id") else value)
    instance = next(i for i in after["instances"]
                    if i["class"] == "DumpedStuff" and not i.get("statics"))
    assert instance["id"] == f"0x{stuff.id:x}"
    seen = {k: v for k, v in instance["values"].items() if not k.startswith("shadow$")}
    assert list(seen) == list(expected)  # the same fields, in the same order
    for name, value in expected.items():
        if isinstance(value, bool):
            value = str(value).lower()
        assert seen[name] == (value if value is None or isinstance(value, str) else str(value))
    assert {"basicString", "nonAscii", "charArray", "gcPathArray"} <= set(seen)
    statics = next(i for i in after["instances"] if i["class"] == "DumpedStuff"
                   and i.get("statics"))
    assert "modifiedStaticField" in statics["values"]
    smasher = next(c for c in after["classes"] if c["name"] == "DumpedStuff$StackSmasher")
    assert smasher["fields"] == ["child"] and smasher["instances"] == 20000


def _plain(tmp_path):
    """ahat's dump decompressed (VisualVM reads plain files)."""
    import gzip
    import shutil

    plain = tmp_path / "ahat-obfuscated.hprof"
    with gzip.open(AHAT_DUMP) as src, open(plain, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return plain


HPROF_CONV = ("hprof-conv", "/usr/lib/android-sdk/platform-tools/hprof-conv")


def test_hprof_conv_converts_the_rewritten_android_dump(ahat, tmp_path):
    """Android Studio's way into other tools: hprof-conv turns the rewritten ART dump into a
    standard one, real names included."""
    tool = next((t for t in (shutil.which(HPROF_CONV[0]), HPROF_CONV[1])
                 if t and Path(t).exists()), None)
    if tool is None:
        pytest.fail("hprof-conv (Debian package hprof-conv) is needed (make test installs it)")
    _, out, _, _ = ahat
    converted = tmp_path / "converted.hprof"
    result = subprocess.run([tool, str(out), str(converted)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    with oomlens.open_heap(converted) as heap:
        stuff = heap.find_class("Main").static_fields()["stuff"]
        assert stuff["basicString"].as_string() == "hello, world"
        assert heap.find_class("DumpedStuff$StackSmasher").instance_count() == 20000


# -- a JVM program obfuscated by ProGuard ---------------------------------------------------

REPORT_SECTIONS = ("summary", "leaks", "library_leaks", "big_objects", "class_clusters",
                   "bitmaps", "threads", "file_descriptors")


def findings(report: dict) -> dict:
    """The findings of a report with object ids blanked. A cluster's ``contains`` keeps only the
    class names: its counts are of all byte[] of the JVM, start-up garbage included, which
    differs a little between two JVM runs."""

    def blank(x):
        if isinstance(x, dict):
            return {k: blank(v) for k, v in x.items()}
        if isinstance(x, list):
            return [blank(v) for v in x]
        if isinstance(x, str) and re.fullmatch(r"0x[0-9a-f]+", x):
            return "<id>"
        return x

    doc = {key: blank(report[key]) for key in REPORT_SECTIONS}
    for cluster in doc["class_clusters"]:
        cluster["contains"] = [c["class"] for c in cluster["contains"]]
    return doc


@pytest.fixture(scope="module")
def proguard_reports(obfuscated_android_leaks, tmp_path_factory):
    builds = obfuscated_android_leaks
    out = tmp_path_factory.mktemp("proguard-reports")
    deobfuscated = out / "deobfuscated.hprof"
    stats = deobfuscate(builds.obfuscated_dump, deobfuscated, builds.mapping)

    def analyze(dump, *extra):
        result = oomlens_cli("analyze", dump, "--format", "json", *extra)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return {"plain": analyze(builds.plain_dump),
            "obfuscated": analyze(builds.obfuscated_dump),
            "mapped": analyze(builds.obfuscated_dump, "--mapping", builds.mapping),
            "deobfuscated": analyze(deobfuscated), "stats": stats,
            "deobfuscated_dump": deobfuscated}


@pytest.mark.jvm
def test_proguard_build_is_really_obfuscated(proguard_reports):
    plain, obfuscated = proguard_reports["plain"], proguard_reports["obfuscated"]
    app = [g["class"] for g in plain["leaks"] if g["class"].startswith("com.example.")]
    assert len(app) >= 8
    obfuscated_classes = {g["class"] for g in obfuscated["leaks"]}
    assert not obfuscated_classes & set(app)
    assert findings(plain) != findings(obfuscated)
    stats = proguard_reports["stats"]
    assert stats["classes_renamed"] >= 40 and stats["fields_renamed"] >= 40
    assert stats["obfuscated_classes_not_in_mapping"] == 0
    assert stats["obfuscated_fields_not_in_mapping"] == 0


@pytest.mark.jvm
def test_proguard_mapping_gives_the_plain_builds_findings(proguard_reports):
    """analyze --mapping on the obfuscated dump == analyze on the plain build: the same leak
    classes, signatures and trace reference names, big objects with their holders, clusters."""
    plain, mapped = findings(proguard_reports["plain"]), findings(proguard_reports["mapped"])
    assert [g["class"] for g in mapped["leaks"]] == [g["class"] for g in plain["leaks"]]
    assert [g["signature"] for g in mapped["leaks"]] == [g["signature"] for g in plain["leaks"]]
    names = [[n["reference"]["name"] for n in t["nodes"] if n["reference"]]
             for g in mapped["leaks"] for t in g["traces"]]
    assert ["sLastDetail"] in names and ["sListeners", "elementData", "[0]", "fragment"] in names
    assert [(b["class"], b["holder"]) for b in mapped["big_objects"]] == \
        [(b["class"], b["holder"]) for b in plain["big_objects"]]
    assert ("com.example.app.ImageCache", "com.example.app.ImageCache.sInstance") in \
        [(b["class"], b["holder"]) for b in mapped["big_objects"]]
    assert [c["class"] for c in mapped["class_clusters"]] == ["com.example.app.ArticleCell"]
    assert mapped == plain  # and everything else in the findings too


@pytest.mark.jvm
def test_proguard_deobfuscated_dump_gives_the_same_report(proguard_reports):
    """The rewritten dump, analysed without a mapping, says what the plain build says; and
    exactly what the obfuscated dump with the mapping says, object ids included."""
    deobfuscated = proguard_reports["deobfuscated"]
    assert deobfuscated["retrace"] is None
    assert findings(deobfuscated) == findings(proguard_reports["plain"])
    skip = ("created_at", "dump", "retrace")
    assert {k: v for k, v in deobfuscated.items() if k not in skip} == \
        {k: v for k, v in proguard_reports["mapped"].items() if k not in skip}


@pytest.mark.jvm
@pytest.mark.visualvm
def test_visualvm_reads_proguard_real_names(proguard_reports, obfuscated_android_leaks,
                                            tmp_path):
    """VisualVM's heap library on the HotSpot dump of the ProGuard build, rewritten: the app's
    classes and fields under their real names, with the values oomlens reads."""
    need_visualvm()
    classes = ("com.example.app.DetailActivity", "com.example.app.AppState",
               "com.example.app.ArticleAdapter")
    seen = run_visualvm_names(proguard_reports["deobfuscated_dump"], tmp_path / "names.json",
                              classes)
    by_name = {c["name"]: c for c in seen["classes"]}
    assert not [n for n in by_name if n.startswith("com.a.")]
    plain = run_visualvm_names(obfuscated_android_leaks.plain_dump, tmp_path / "plain.json")
    plain_app = {c["name"]: (c["fields"], sorted(c["statics"])) for c in plain["classes"]
                 if c["name"].startswith("com.example.")}
    assert plain_app == {n: (c["fields"], sorted(c["statics"])) for n, c in by_name.items()
                         if n.startswith("com.example.")}
    assert by_name["com.example.app.DetailActivity"]["fields"] == ["payload"]
    assert {"sLastDetail", "sPreviousDetail", "sFrameHeld"} <= set(
        by_name["com.example.app.AppState"]["statics"])
    with oomlens.open_heap(obfuscated_android_leaks.obfuscated_dump,
                           mapping=obfuscated_android_leaks.mapping) as heap:
        detail = heap.instances_of("com.example.app.DetailActivity")[0]
        app_state = heap.find_class("com.example.app.AppState").static_fields()
        adapter = heap.instances_of("com.example.app.ArticleAdapter")[0]
        values = {(i["class"], bool(i.get("statics"))): i for i in seen["instances"]}
        vv_detail = values[("com.example.app.DetailActivity", False)]
        assert vv_detail["id"] == f"0x{detail.id:x}"
        assert vv_detail["values"]["payload"] == f"0x{detail['payload'].id:x}"
        assert vv_detail["values"]["mDestroyed"] == "true"
        statics = values[("com.example.app.AppState", True)]["values"]
        assert statics["sLastDetail"] == f"0x{app_state['sLastDetail'].id:x}"
        assert statics["sPreviousDetail"] is None
        assert values[("com.example.app.ArticleAdapter", False)]["values"]["cells"] == \
            f"0x{adapter['cells'].id:x}"


# -- the corners, on hand-made dumps --------------------------------------------------------

FEED_MAPPING = """\
com.example.Feed -> a:
    int count -> a
    com.example.Feed next -> b
    java.lang.String TITLE -> c
    10:12:void refresh(int):40:42 -> a
com.example.Other -> b:
    java.lang.String label -> a
"""


def feed_dump(b: HprofBuilder, path, dumps: int = 1, frames: bool = True) -> None:
    """A HotSpot-style dump (internal names) where class ``a``, its array ``[La;`` and the
    fields ``a`` of classes a and b share strings, as HotSpot's symbols do."""
    obj, cls, feed, other, arr, kept = 0x100, 0x200, 0x300, 0x400, 0x500, 0x600
    b.load_class(obj, "java/lang/Object", serial=1)
    b.load_class(cls, "java/lang/Class", serial=2)
    b.load_class(feed, "a", serial=3)
    b.load_class(other, "b", serial=4)
    b.load_class(arr, "[La;", serial=5)
    b.load_class(kept, "com/example/Kept", serial=6)
    if frames:
        method, sig, source = b.string("a"), b.string("(I)V"), b.string("SourceFile")
        b.record(C.TAG_STACK_FRAME, b.id(0x9000) + b.id(method) + b.id(sig) + b.id(source)
                 + struct.pack(">Ii", 3, 11))
        b.record(C.TAG_STACK_TRACE, struct.pack(">III", 1, 1, 1) + b.id(0x9000))
    for _ in range(dumps):
        b.heap_dump(
            b.class_dump(obj), b.class_dump(cls, obj),
            b.class_dump(feed, obj, fields=[("a", C.TYPE_INT), ("b", C.TYPE_OBJECT)],
                         statics=[("c", C.TYPE_OBJECT, b.id(0))]),
            b.class_dump(other, obj, fields=[("a", C.TYPE_OBJECT)]),
            b.class_dump(arr, obj),
            b.class_dump(kept, obj, fields=[("a", C.TYPE_INT)]),
            b.instance(0x1000, feed, struct.pack(">i", 7) + b.id(0x1010)),
            b.instance(0x1010, feed, struct.pack(">i", 8) + b.id(0)),
            b.instance(0x1020, other, b.id(0x1000)),
            b.instance(0x1030, kept, struct.pack(">i", 9)),
            b.object_array(0x1040, arr, [0x1000, 0x1010]),
            b.root(C.ROOT_STICKY_CLASS, feed), b.root(C.ROOT_JNI_GLOBAL, 0x1020),
            b.root(C.ROOT_JNI_GLOBAL, 0x1030), b.root(C.ROOT_JNI_GLOBAL, 0x1040),
            tag=C.TAG_HEAP_DUMP)
    path.write_bytes(b.bytes())


@pytest.fixture
def feed(tmp_path):
    mapping = tmp_path / "feed.map"
    mapping.write_text(FEED_MAPPING)
    dump = tmp_path / "feed.hprof"
    feed_dump(HprofBuilder(id_size=8), dump)
    return dump, mapping


def raw_class_names(path) -> list[str]:
    with DumpFile(path) as dump:
        names = read_names(dump)
        return [names.strings.get(lc.name_id) for lc in names.load_classes]


def test_hotspot_names_keep_the_internal_form(feed, tmp_path):
    dump, mapping = feed
    out = tmp_path / "out.hprof"
    result = deobfuscate(dump, out, mapping)
    assert (result["classes_renamed"], result["fields_renamed"]) == (3, 4)
    assert raw_class_names(out) == ["java/lang/Object", "java/lang/Class", "com/example/Feed",
                                    "com/example/Other", "[Lcom/example/Feed;",
                                    "com/example/Kept"]
    with oomlens.open_heap(out) as heap:
        feed_cls = heap.find_class("com.example.Feed")
        assert feed_cls.declared_fields() == [("count", "int"), ("next", "object")]
        assert list(feed_cls.static_fields()) == ["TITLE"]
        assert heap.find_class("com.example.Other").declared_fields() == [("label", "object")]
        # the class the mapping does not know keeps its field "a": the old string stays
        assert heap.find_class("com.example.Kept").declared_fields() == [("a", "int")]
        assert heap.object("0x1040").class_name == "com.example.Feed[]"
        first = heap.object("0x1000")
        assert first["count"] == 7 and first["next"].id == 0x1010
        assert heap.object("0x1020")["label"].id == 0x1000


def test_new_strings_have_fresh_ids_before_the_heap_dump(feed, tmp_path):
    dump, mapping = feed
    out = tmp_path / "out.hprof"
    result = deobfuscate(dump, out, mapping)
    with DumpFile(dump) as d:
        old_ids = set(read_names(d).string_ids.tolist())
        header = d.header.length
    with DumpFile(out) as d:
        names = read_names(d)
        ids = names.string_ids.tolist()
        assert len(ids) == len(set(ids)) == len(old_ids) + result["new_strings"]
        # the new STRING records come right after the header, before every other record
        p = header
        for _ in range(result["new_strings"]):
            assert d.data[p] == C.TAG_STRING
            p += C.RECORD_HEADER_SIZE + int(read_u4(d.data, p + 5))
    new_texts = {names.strings.get(i) for i in set(ids) - old_ids}
    assert new_texts == {"com/example/Feed", "com/example/Other", "[Lcom/example/Feed;",
                         "count", "next", "TITLE", "label", "refresh"}


def test_only_ids_change(feed, tmp_path):
    """Apart from the new strings, the copy differs from the input only in the patched ids
    (and the frame's line): same length, same bytes elsewhere."""
    dump, mapping = feed
    out = tmp_path / "out.hprof"
    result = deobfuscate(dump, out, mapping)
    original, copy = dump.read_bytes(), out.read_bytes()
    with DumpFile(dump) as d:
        header = d.header.length
    added = len(copy) - len(original)
    assert added > 0 and result["hprof_bytes"] == len(copy)
    rest = np.frombuffer(copy[header + added:], np.uint8)
    before = np.frombuffer(original[header:], np.uint8)
    assert len(rest) == len(before)
    differing = int((rest != before).sum())
    assert 0 < differing <= 8 * 8 + 4  # 3 class, 4 field and 1 method name ids, 1 line


def test_stack_frame_retraced(feed, tmp_path):
    dump, mapping = feed
    out = tmp_path / "out.hprof"
    assert deobfuscate(dump, out, mapping)["frames_renamed"] == 1
    assert stack_frames(dump) == [("a", "a", "(I)V", "SourceFile", 11)]
    assert stack_frames(out) == [("com.example.Feed", "refresh", "(I)V", "SourceFile", 41)]


def test_every_heap_dump_of_the_file(tmp_path):
    mapping = tmp_path / "feed.map"
    mapping.write_text(FEED_MAPPING)
    dump, out = tmp_path / "two.hprof", tmp_path / "out.hprof"
    feed_dump(HprofBuilder(id_size=4), dump, dumps=2)
    result = deobfuscate(dump, out, mapping)
    assert (result["classes_renamed"], result["fields_renamed"]) == (3, 4)
    for number in (0, 1):
        with oomlens.open_heap(out, number) as heap:
            assert heap.index.dump_count == 2
            assert heap.find_class("com.example.Feed").declared_fields()[0] == ("count", "int")


def test_android_names_keep_the_java_form(tmp_path):
    b = HprofBuilder(id_size=4, version="1.0.3")
    b.load_class(0x100, "java.lang.Object")
    b.load_class(0x200, "a.b")
    b.load_class(0x300, "a.b[]")
    b.heap_dump(b.class_dump(0x100), b.class_dump(0x200, 0x100, fields=[("a", C.TYPE_INT)]),
                b.class_dump(0x300, 0x100), b.instance(0x1000, 0x200, struct.pack(">i", 5)),
                b.object_array(0x1010, 0x300, [0x1000]), b.root(C.ROOT_STICKY_CLASS, 0x200),
                b.root(C.ROOT_JNI_GLOBAL, 0x1010), tag=C.TAG_HEAP_DUMP)
    dump, out, mapping = tmp_path / "a.hprof", tmp_path / "out.hprof", tmp_path / "m.map"
    dump.write_bytes(b.bytes())
    mapping.write_text("com.example.Feed -> a.b:\n    int count -> a\n")
    deobfuscate(dump, out, mapping)
    assert raw_class_names(out) == ["java.lang.Object", "com.example.Feed",
                                    "com.example.Feed[]"]
    with oomlens.open_heap(out) as heap:
        assert heap.object("0x1000")["count"] == 5


def test_fresh_ids_when_the_highest_id_is_taken(tmp_path):
    """4-byte ids with a string at 0xffffffff: the new strings take the lowest free ids."""
    b = HprofBuilder(id_size=4)
    b._next_string = 1
    top = 0xFFFFFFFF
    b.record(C.TAG_STRING, b.id(top) + b"padding")
    for sub in [minimal_heap(b)]:
        b.heap_dump(*sub)
    dump, out, mapping = tmp_path / "a.hprof", tmp_path / "out.hprof", tmp_path / "m.map"
    dump.write_bytes(b.bytes())
    mapping.write_text("Box -> Box:\n    int count -> value\n    Box link -> next\n")
    result = deobfuscate(dump, out, mapping)
    assert result["new_strings"] == 2
    with DumpFile(dump) as d:
        old_ids = set(read_names(d).string_ids.tolist())
    with DumpFile(out) as d:
        ids = read_names(d).string_ids.tolist()
    assert len(ids) == len(set(ids)) and top in ids
    assert all(i < 0x100 for i in set(ids) - old_ids)  # the lowest free ones
    with oomlens.open_heap(out) as heap:
        assert heap.find_class("Box").declared_fields() == [("count", "int"),
                                                            ("link", "object")]


def test_truncated_input_is_copied_with_a_warning(feed, tmp_path):
    dump, mapping = feed
    cut = tmp_path / "cut.hprof"
    cut.write_bytes(dump.read_bytes()[:-40])
    out = tmp_path / "out.hprof"
    result = oomlens_cli("deobfuscate", cut, out, "--mapping", mapping)
    assert result.returncode == 0, result.stderr
    assert "warning: the input dump is truncated" in result.stderr
    with oomlens.open_heap(out) as heap:
        assert heap.find_class("com.example.Feed") is not None
        assert heap.index.truncated


@pytest.mark.parametrize("case", ["bad mapping", "another app", "same file", "missing dump",
                                  "not a dump", "no directory"])
def test_errors_are_one_line_and_leave_no_output(feed, tmp_path, case):
    dump, mapping = feed
    out = tmp_path / "out.hprof"
    fragment = {"bad mapping": "bad.map:2: cannot read mapping line",
                "another app": "names no class of this dump",
                "same file": "must not be the input", "missing dump": "no such file",
                "not a dump": "not an HPROF heap dump",
                "no directory": "cannot write"}[case]
    if case == "bad mapping":
        mapping = tmp_path / "bad.map"
        mapping.write_text("com.example.Feed -> a:\n    what is this\n")
    elif case == "another app":
        mapping = tmp_path / "other.map"
        mapping.write_text("com.other.App -> zz.yy:\n    int count -> a\n")
    elif case == "same file":
        out = dump
    elif case == "missing dump":
        dump = tmp_path / "missing.hprof"
    elif case == "not a dump":
        dump = tmp_path / "junk.hprof"
        dump.write_bytes(b"hello, not a heap dump" * 20)
    elif case == "no directory":
        out = tmp_path / "no" / "such" / "dir.hprof"
    before = sorted(p.name for p in tmp_path.iterdir())
    original = dump.read_bytes() if dump.exists() else None
    result = oomlens_cli("deobfuscate", dump, out, "--mapping", mapping)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and fragment in result.stderr, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, no temp file
    if original is not None:
        assert dump.read_bytes() == original


def test_mapping_is_required(feed, tmp_path):
    dump, _ = feed
    result = oomlens_cli("deobfuscate", dump, tmp_path / "out.hprof")
    assert result.returncode == 2 and "--mapping" in result.stderr


def test_mapping_object_from_python(feed, tmp_path):
    from oomlens.retrace.apply import deobfuscate_dump

    dump, mapping = feed
    out = tmp_path / "out.hprof"
    result = deobfuscate_dump(dump, out, load_mapping(mapping))
    assert result["classes_renamed"] == 3 and not result["warnings"]


def _feed_bytes() -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "feed.hprof"
        feed_dump(HprofBuilder(id_size=4), path, dumps=2)
        return path.read_bytes()


FUZZ_BASE = _feed_bytes()


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(damaged_copies([FUZZ_BASE], max_patches=10))
def test_damaged_dumps_are_rewritten_or_refused_cleanly(tmp_path_factory, data):
    """Whatever the bytes, deobfuscate writes a copy that keeps every byte it does not rename,
    or says in one line why not (and writes nothing)."""
    from oomlens.retrace.apply import deobfuscate_dump

    folder = tmp_path_factory.mktemp("fuzz")
    dump, out = folder / "damaged.hprof", folder / "out.hprof"
    dump.write_bytes(data)
    try:
        result = deobfuscate_dump(dump, out, load_mapping_text(FEED_MAPPING))
    except oomlens.OomlensError as exc:
        assert str(exc) and "\n" not in str(exc)
        assert sorted(p.name for p in folder.iterdir()) == ["damaged.hprof"]
        return
    copy = out.read_bytes()
    assert result["hprof_bytes"] == len(copy) >= len(data)
    header = data.index(b"\0") + 13
    assert copy[:header] == data[:header]
    p, end = header, header + len(copy) - len(data)  # the new STRING records, then the input
    for _ in range(result["new_strings"]):
        assert copy[p] == C.TAG_STRING
        p += C.RECORD_HEADER_SIZE + int.from_bytes(copy[p + 5: p + 9], "big")
    assert p == end
    rest = np.frombuffer(copy[end:], np.uint8) != np.frombuffer(data[header:], np.uint8)
    assert int(rest.sum()) <= 4 * 20 + 4  # a few patched 4-byte ids and a line number


def load_mapping_text(text):
    from oomlens.retrace.mapping import parse_mapping

    return parse_mapping(text, "feed.map")
