"""Bitmaps: pixel bytes in the heap and (estimated) in native memory, the large ones, and
identical copies; on a JVM program with a stand-in android.graphics.Bitmap, and on real Dalvik
dumps."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import oomlens
from jvmdump import list_elements, read_facts
from oomlens.analysis.bitmaps import summarize_bitmaps
from oomlens.hprof.scan import KIND_PRIMITIVE_ARRAY, data_offset
from oomlens.ids import format_id

BITMAP = "android.graphics.Bitmap"
MIB = 1 << 20


@pytest.fixture(scope="module")
def resources(java_dumps):
    dump = java_dumps("Resources")
    with oomlens.open_heap(dump) as heap:
        yield dump, heap, read_facts(dump)


@pytest.fixture(scope="module")
def summary(resources):
    _, heap, _ = resources
    return summarize_bitmaps(heap)


@pytest.mark.jvm
def test_counts_and_pixel_bytes(resources, summary):
    _, heap, facts = resources
    assert summary.count == facts["bitmaps.count"] == len(heap.instance_indices(BITMAP))
    assert summary.recycled == facts["bitmaps.recycled"]
    assert summary.heap_pixel_bytes == facts["bitmaps.heap_bytes"]
    # the preview has no buffer: its pixels are native, estimated at 4 bytes a pixel
    assert summary.native_count == 1
    assert summary.native_pixel_bytes_estimated == facts["preview.width"] * facts[
        "preview.height"] * 4
    # every bitmap but the native one and the recycled one has its buffer in the heap
    assert summary.heap_count == summary.count - 2
    assert summary.unreachable == 0


@pytest.mark.jvm
def test_large_bitmaps_with_retained_sizes_and_holders(resources, summary):
    _, heap, facts = resources
    gallery_bytes, wallpaper_bytes = facts["gallery.buffer_bytes"], facts["wallpaper.buffer_bytes"]
    native_bytes = facts["preview.width"] * facts["preview.height"] * 4
    assert gallery_bytes >= MIB and native_bytes >= MIB > facts["icons.buffer_bytes"]
    large = summary.large
    assert [b.pixel_bytes for b in large] == ([wallpaper_bytes] + [gallery_bytes] * facts[
        "gallery.count"] + [native_bytes])
    assert [b.storage for b in large] == ["heap"] * (1 + facts["gallery.count"]) + ["native"]
    assert [b.pixel_bytes_estimated for b in large] == [False] * (1 + facts["gallery.count"]) + [
        True]
    assert large[0].holders == ["com.example.res.Wallpaper"]
    assert large[-1].holders == ["com.example.res.Wallpaper"]
    assert all(b.holders == ["com.example.res.Gallery"] for b in large[1:-1])
    assert (large[0].width, large[0].height) == (2000, 1000)
    for info in large:
        bitmap = heap.object(info.id)
        buffer = bitmap["mBuffer"]
        # each bitmap alone holds its buffer: it retains the two
        expected = bitmap.shallow_size + (buffer.shallow_size if buffer is not None else 0)
        assert info.retained_bytes == expected
        assert (info.width, info.height) == (bitmap["mWidth"], bitmap["mHeight"])


@pytest.mark.jvm
def test_large_threshold_is_inclusive(resources):
    _, heap, facts = resources
    at_gallery = summarize_bitmaps(heap, large_bytes=facts["gallery.buffer_bytes"])
    assert len(at_gallery.large) == 1 + facts["gallery.count"]  # the native one is below
    assert summarize_bitmaps(heap, large_bytes=facts["wallpaper.buffer_bytes"] + 1).large == []


@pytest.mark.jvm
def test_identical_copies_are_one_duplicate_group(resources, summary):
    _, heap, facts = resources
    gallery = heap.find_class("Resources").static_fields()["gallery"]
    copies = list_elements(gallery["images"])
    assert len(copies) == facts["gallery.count"]
    assert len(summary.duplicates) == 1
    group = summary.duplicates[0]
    assert sorted(group.ids) == sorted(c.id for c in copies)
    assert (group.width, group.height) == (facts["gallery.width"], facts["gallery.height"])
    assert group.count == facts["gallery.count"]
    assert group.pixel_bytes == facts["gallery.buffer_bytes"]
    assert group.wasted_bytes == (facts["gallery.count"] - 1) * facts["gallery.buffer_bytes"]
    assert group.wasted_bytes == 4_000_000
    assert group.holders == {"com.example.res.Gallery": facts["gallery.count"]}
    assert summary.duplicate_wasted_bytes == group.wasted_bytes
    assert summary.pixels_compared == summary.heap_count and summary.pixels_unavailable == 0


@pytest.mark.jvm
def test_json_shape(summary):
    data = json.loads(json.dumps(summary.to_json()))
    assert data["count"] == summary.count
    assert data["large"][0]["object"] == format_id(summary.large[0].id)
    assert data["large"][0]["object"].startswith("0x")
    assert data["large"][-1]["pixel_bytes_estimated"] is True
    assert data["duplicates"][0]["objects"] == [format_id(i) for i in summary.duplicates[0].ids]
    assert data["duplicates"][0]["wasted_bytes"] == summary.duplicates[0].wasted_bytes
    assert any("estimated" in note for note in data["notes"])


@pytest.fixture(scope="module")
def zeroed_dump(resources, tmp_path_factory):
    """The Resources dump with every bitmap's pixels zeroed, as a trimming tool leaves them."""
    dump, heap, _ = resources
    spans = []
    for index in heap.instance_indices(BITMAP).tolist():
        buffer = heap.object_at(index).get("mBuffer")
        if buffer is not None:
            start = int(heap.index.objects.offset[buffer.index]) + data_offset(
                KIND_PRIMITIVE_ARRAY, heap.id_size)
            spans.append((start, buffer.length))
    copy = tmp_path_factory.mktemp("trimmed") / "zeroed.hprof"
    shutil.copyfile(dump, copy)
    with open(copy, "r+b") as f:
        for start, length in spans:
            f.seek(start)
            f.write(bytes(length))
    return copy, len(spans)


@pytest.mark.jvm
def test_zeroed_pixels_are_not_compared(zeroed_dump, summary):
    path, buffers = zeroed_dump
    with oomlens.open_heap(path) as heap:
        assert all(not np.any(heap.object_at(i)["mBuffer"].primitive_values())
                   for i in heap.instance_indices(BITMAP).tolist()
                   if heap.object_at(i)["mBuffer"] is not None)
        trimmed = summarize_bitmaps(heap)
    assert trimmed.duplicates == []
    assert trimmed.pixels_unavailable == buffers == summary.heap_count
    assert trimmed.pixels_compared == 0
    assert any("pixels not available" in note for note in trimmed.notes)
    # the sizes do not depend on the contents
    assert trimmed.heap_pixel_bytes == summary.heap_pixel_bytes
    assert [b.pixel_bytes for b in trimmed.large] == [b.pixel_bytes for b in summary.large]


def bitmap_facts(heap) -> tuple[int, int]:
    """Bitmap count and the sum of their buffers' lengths, read directly through the Heap API."""
    bitmaps = heap.instances_of(BITMAP)
    return len(bitmaps), sum(b["mBuffer"].length for b in bitmaps if b["mBuffer"] is not None)


def test_dalvik_dialer_bitmaps(open_dump):
    heap = open_dump("dalvik_dialer.hprof.gz")
    count, buffer_bytes = bitmap_facts(heap)
    assert (count, buffer_bytes) == (24, 235_720)
    summary = summarize_bitmaps(heap)
    assert (summary.count, summary.heap_count, summary.heap_pixel_bytes) == (24, 24, 235_720)
    assert summary.native_count == 0 and summary.recycled == 0
    assert summary.large == []  # the biggest is 44x64, 11,264 bytes
    assert summary.pixels_compared == 24 and summary.duplicates == []
    # Dalvik 4.4: 4 bytes a pixel, buffers exactly width*height*4
    for bitmap in heap.instances_of(BITMAP):
        assert bitmap["mBuffer"].length == bitmap["mWidth"] * bitmap["mHeight"] * 4
    big = summarize_bitmaps(heap, large_bytes=11_264)
    assert {(b.width, b.height) for b in big.large} == {(44, 64)}
    # the framework's preloaded nine-patches, held by Resources' static drawable cache
    assert all(b.holders == ["class android.content.res.Resources"] for b in big.large)


def test_dalvik_leak_dump_skips_unreachable_copies(open_dump):
    heap = open_dump("dalvik_leak_service_binder.hprof.gz")
    count, buffer_bytes = bitmap_facts(heap)
    assert (count, buffer_bytes) == (26, 309_448)
    summary = summarize_bitmaps(heap, large_bytes=36_864)
    assert (summary.count, summary.heap_pixel_bytes) == (26, 309_448)
    # two 96x96 bitmaps have identical pixels, but one is garbage: no waste
    icons = [b for b in summary.large if (b.width, b.height) == (96, 96)]
    assert len(icons) == 2
    assert sorted(b.reachability for b in icons) == ["strong", "unreachable"]
    first, second = (heap.object(b.id)["mBuffer"].primitive_values() for b in icons)
    assert np.array_equal(first, second)
    assert summary.unreachable == 1 and summary.duplicates == []
    # held through BitmapDrawable$BitmapState <- BitmapDrawable <- ImageView
    assert all(b.holders == ["android.widget.ImageView"] for b in icons)


def test_no_bitmaps_on_a_hotspot_dump(open_dump):
    summary = summarize_bitmaps(open_dump("oracle_jdk8_05_x64.hprof.gz"))
    assert summary.count == 0 and summary.large == [] and summary.duplicates == []
    assert summary.to_json()["heap_pixel_bytes"] == 0
