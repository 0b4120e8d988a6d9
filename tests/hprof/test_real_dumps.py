"""Real dumps from real VMs: every format variant opens, and the facts other tools assert hold."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest
import zstandard

import oomlens
from conftest import ALL_DUMPS, ANDROID_DUMPS, DATA, HOTSPOT_DUMPS


@pytest.mark.parametrize("name,version,id_size,runtime", [
    ("sun_jdk6_18_x64.hprof.gz", "1.0.1", 8, "HotSpot"),
    ("sun_jdk6_32bit.hprof.gz", "1.0.1", 4, "HotSpot"),
    ("oracle_jdk8_05_x64.hprof.gz", "1.0.1", 8, "HotSpot"),  # JDK 8 writes 1.0.1 below 2 GB
    ("openjdk_jdk11_04_x64.hprof.gz", "1.0.2", 8, "HotSpot"),
    ("hotspot_segments_test1.hprof.gz", "1.0.2", 8, "HotSpot"),
    ("dalvik_dialer.hprof.gz", "1.0.3", 4, "Dalvik"),
    ("art_ahat_test-dump.hprof.gz", "1.0.3", 4, "ART"),
])
def test_header_and_runtime(open_dump, name, version, id_size, runtime):
    heap = open_dump(name)
    assert heap.header.version == version
    assert heap.id_size == id_size
    assert heap.runtime == runtime
    assert heap.index.dump_count == 1


@pytest.mark.parametrize("name", ALL_DUMPS)
def test_every_object_has_a_class_and_a_size(open_dump, name):
    heap = open_dump(name)
    objects = heap.index.objects
    assert len(objects) > 10_000
    assert (objects.class_index >= 0).all()
    assert (objects.shallow > 0).all()
    assert (objects.shallow % 8 == 0).all()  # every runtime aligns objects to 8 bytes
    assert np.all(objects.ids[1:] > objects.ids[:-1])  # sorted, no duplicates
    # no damage in these files: nothing truncated, nothing corrupt
    assert not heap.index.truncated
    assert not any("corrupt" in w or "truncated" in w for w in heap.warnings)


@pytest.mark.parametrize("name", HOTSPOT_DUMPS)
def test_hotspot_class_names_are_java_names(open_dump, name):
    heap = open_dump(name)
    names = set(heap.index.classes.names)
    assert {"java.lang.String", "java.lang.Object", "byte[]", "java.lang.Object[]"} <= names
    assert not any("/" in n or n.startswith("[") for n in names)


def test_hotspot_segments_dump_reads_every_segment(open_dump):
    heap = open_dump("hotspot_segments_test1.hprof.gz")
    # a modern JDK: Strings hold byte[] with a coder; they decode
    texts = [s.as_string() for s in heap.instances_of("java.lang.String")[:2000]]
    assert "java.lang.Object" in texts or any(t and t.startswith("java.") for t in texts)
    assert all(t is not None for t in texts)


# -- Android facts, as AOSP perflib's tests assert them ---------------------------------------

def test_dalvik_dialer_byte_arrays(open_dump):
    heap = open_dump("dalvik_dialer.hprof.gz")
    arrays = heap.instances_of("byte[]", subclasses=False)
    assert len(arrays) == 1406
    assert sum(a.length for a in arrays) == 681_489
    assert heap.object("0xB0D60401").length == 43_224
    assert heap.object("0xB0D60401").class_name == "byte[]"


def test_dalvik_dialer_array_classes(open_dump):
    heap = open_dump("dalvik_dialer.hprof.gz")
    assert len(heap.instances_of("int[][]")) == 37
    assert len(heap.instances_of("java.lang.String[]")) == 1396


def test_dalvik_dialer_superclass_chain_and_loader(open_dump):
    heap = open_dump("dalvik_dialer.hprof.gz")
    chain = [c.name for c in heap.find_class("android.app.Application").superclass_chain()]
    assert chain == ["android.app.Application", "android.content.ContextWrapper",
                     "android.content.Context", "java.lang.Object"]
    loader = heap.find_class("com.android.dialer.DialerApplication").class_loader
    assert loader.class_name == "dalvik.system.PathClassLoader"


def test_dalvik_dialer_enum_values(open_dump):
    heap = open_dump("dalvik_dialer.hprof.gz")
    values = heap.find_class("java.lang.Thread$State").static_fields()["$VALUES"]
    elements = values.elements()
    assert len(elements) == 6
    assert {e.class_name for e in elements} == {"java.lang.Thread$State"}


def test_android_heaps_are_named(open_dump):
    heap = open_dump("dalvik_dialer.hprof.gz")
    assert heap.heap_names == ["zygote", "app"]
    objects = heap.index.objects
    assert set(np.unique(objects.heap)) == {0, 1}
    app_class = heap.find_class("com.android.dialer.DialerApplication")
    assert app_class.class_object.heap_name == "app"
    assert heap.find_class("java.lang.String").class_object.heap_name == "zygote"


def test_leakcanary_watched_service_is_kept_by_a_static_field(open_dump):
    heap = open_dump("dalvik_leak_service_binder.hprof.gz")
    watches = [r for r in heap.instances_of("com.squareup.leakcanary.KeyedWeakReference")
               if r["key"].as_string() == "b3abfae6-2c53-42e1-b8c1-96b0558dbeae"]
    assert len(watches) == 1
    leaking = watches[0]["referent"]
    assert leaking.class_name == "com.example.leakcanary.LeakyService"
    assert heap.is_strongly_reachable(leaking)
    # The Binder also has a JNI global root (native code holds it), which gives the shortest
    # path of all; from the roots application code can see, LeakCanary's trace starts at a
    # static field of LeakyService.
    shortest = heap.path_to(leaking)
    assert shortest[0].root_kinds == ["jni-global"]
    assert [s.reference for s in shortest[1:]] == ["service"]
    java_path = heap.path_to(leaking, exclude_roots=("jni-global",))
    first = heap.object_at(java_path[0].object_index)
    assert first.is_class and first.as_class().name == "com.example.leakcanary.LeakyService"
    assert java_path[1].reference == "leakAllTheBinders"
    assert heap.object_at(java_path[-1].object_index) == leaking


def test_art_strings_and_obfuscated_fields(open_dump):
    heap = open_dump("art_ahat_test-dump.hprof.gz")
    # obfuscated names, per the .map: Main.stuff -> a; basicString -> d, nonAscii -> e,
    # charArray -> g
    stuff = heap.find_class("Main").static_fields()["a"]
    assert stuff.class_name == "DumpedStuff"
    assert stuff["d"].as_string() == "hello, world"
    assert stuff["e"].as_string() == "Sigma (Ʃ) is not ASCII"
    assert stuff["g"].as_string() == "char thing"


def test_art_shortest_strong_path_takes_the_long_strong_chain(open_dump):
    heap = open_dump("art_ahat_test-dump.hprof.gz")
    stuff = heap.find_class("Main").static_fields()["a"]
    chain = [stuff["z"]]  # aLongStrongPathToSamplePathObject -> z, DumpedStuff$Reference -> m
    while chain[-1].class_name == "m":
        chain.append(chain[-1]["a"])
    target = chain[-1]
    assert len(chain) == 4
    path = heap.path_to(target)
    steps = [heap.object_at(s.object_index) for s in path]
    assert steps[0].as_class().name == "Main"
    assert [s.reference for s in path[1:]] == ["a", "z", "a", "a", "a"]
    assert steps[-3:] == chain[1:]
    # no step follows a Reference.referent
    assert all(s.reference != "referent" for s in path)


def test_art_only_root_kinds_are_read(open_dump):
    heap = open_dump("art_ahat_test-dump.hprof.gz")
    kinds = heap.index.roots.counts_by_kind()
    assert {"interned-string", "debugger", "vm-internal"} <= set(kinds)


def test_art_weak_references_are_not_strong_edges(open_dump):
    heap = open_dump("art_ahat_test-dump.hprof.gz")
    g = heap.index.graph
    assert len(g.weak_source) > 0
    for s, t in zip(g.weak_source[:50], g.weak_target[:50]):
        assert t not in set(g.successors(int(s)).tolist()) or \
            heap.object_at(int(s))["referent"] != heap.object_at(int(t))


# -- input containers ------------------------------------------------------------------------

def test_compression_is_detected_by_magic_not_name(tmp_path):
    raw = gzip.decompress((DATA / "oracle_jdk8_05_x64.hprof.gz").read_bytes())
    plain = tmp_path / "dump.hprof"
    plain.write_bytes(raw)
    zst = tmp_path / "dump-misnamed.hprof"  # zstd inside, no .zst suffix
    zst.write_bytes(zstandard.ZstdCompressor(level=3).compress(raw))
    gz_no_suffix = tmp_path / "dump.bin"
    shutil.copy(DATA / "oracle_jdk8_05_x64.hprof.gz", gz_no_suffix)
    summaries = []
    for path in (plain, zst, gz_no_suffix):
        with oomlens.open_heap(path) as heap:
            summaries.append((heap.object_count, int(heap.index.objects.shallow.sum()),
                              heap.index.file.compression))
    assert [s[:2] for s in summaries] == [summaries[0][:2]] * 3
    assert [s[2] for s in summaries] == [None, "zstd", "gzip"]


@pytest.mark.parametrize("name", ANDROID_DUMPS)
def test_android_counts_match_between_kinds(open_dump, name):
    heap = open_dump(name)
    s = heap.summary()
    assert s["instances"] + s["object_arrays"] + s["primitive_arrays"] + s["class_objects"] \
        == s["objects"]
    assert s["reachable_bytes"] + s["unreachable_bytes"] == s["shallow_bytes"]
    by_level = s["by_reachability"]
    assert sum(v["objects"] for v in by_level.values()) == s["objects"]


def test_android_finalizer_reference_referents_are_not_strong(open_dump):
    """FinalizerReference extends Reference directly (not Weak/Soft/Phantom): its referent is
    still no strong edge, and it is classed as a finalizer reference."""
    from oomlens.heap.classes import REF_FINALIZER

    heap = open_dump("dalvik_dialer.hprof.gz")
    g = heap.index.graph
    finalizer_refs = heap.instances_of("java.lang.ref.FinalizerReference")
    assert len(finalizer_refs) == 255
    weak = {int(s): (int(t), int(k)) for s, t, k in zip(g.weak_source, g.weak_target,
                                                        g.weak_kind)}
    with_referent = [r for r in finalizer_refs if r["referent"] is not None]
    assert len(with_referent) == 253
    for ref in with_referent:
        target, kind = weak[ref.index]
        assert target == ref["referent"].index and kind == REF_FINALIZER
        assert target not in set(g.successors(ref.index).tolist())
