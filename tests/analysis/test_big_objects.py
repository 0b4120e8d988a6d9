"""Big objects on the Resources program's dump (tests/java/Resources): pixel arrays are
reported as the Bitmap that owns them, nested ones fold under the object that holds them."""

from __future__ import annotations

import pytest

import oomlens
from oomlens.config import Settings
from oomlens.report.document import build_report

pytestmark = pytest.mark.jvm
BYTE_ARRAY_HEADER = 16
BITMAP_SHALLOW = 32  # header 12 + two ints, a reference and a boolean, 8-byte aligned


@pytest.fixture(scope="module")
def report(java_dumps):
    with oomlens.open_heap(java_dumps("Resources")) as heap:
        return build_report(heap, Settings())


def test_pixels_are_reported_as_their_bitmap(report):
    big = {b["class"]: b for b in report["big_objects"]}
    wallpaper = big["android.graphics.Bitmap"]
    assert wallpaper["retained_bytes"] == BITMAP_SHALLOW + BYTE_ARRAY_HEADER + 2000 * 1000 * 4
    assert wallpaper["accumulation_point"]["class"] == "byte[]"
    assert wallpaper["holder"] == "com.example.res.Wallpaper.background"
    assert wallpaper["dominates"][0]["class"] == "byte[]"
    assert [n["class"] for n in wallpaper["path"]][-2:] == ["com.example.res.Wallpaper",
                                                            "android.graphics.Bitmap"]


def test_nested_big_objects_fold_under_their_holder(report):
    big = {b["class"]: b for b in report["big_objects"]}
    gallery = big["com.example.res.Gallery"]
    each = BITMAP_SHALLOW + BYTE_ARRAY_HEADER + 1000 * 500 * 4
    assert [(n["class"], n["retained_bytes"]) for n in gallery["nested"]] == \
        [("android.graphics.Bitmap", each)] * 3
    assert gallery["retained_bytes"] > 3 * each
    # a class object is never the big object: its static fields' values are
    assert not any(b["class"].startswith("class ") for b in report["big_objects"])
    assert sorted(big) == ["android.graphics.Bitmap", "com.example.res.Gallery"]


def test_threshold_is_configurable(java_dumps):
    with oomlens.open_heap(java_dumps("Resources")) as heap:
        report = build_report(heap, Settings(big_object_bytes=7_000_000))
    assert [b["class"] for b in report["big_objects"]] == ["android.graphics.Bitmap"]
