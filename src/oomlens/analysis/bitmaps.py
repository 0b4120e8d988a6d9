"""Android bitmaps: how many, how many pixel bytes, the large ones, and the same picture decoded
several times.

Bitmaps are the usual bulk of an Android app's memory. Where their pixels live depends on the
Android version:

- 3.0 to 7.1: in the Java heap, in the byte[] ``mBuffer``; the pixel bytes are its length (which
  may exceed width*height*bytes-per-pixel when a bigger buffer was reused);
- 8.0 and later (and before 3.0): in native memory, with no ``mBuffer``; the dump has only the
  dimensions, so the pixel bytes are estimated as width*height*4 (ARGB_8888, the default
  config; RGB_565 would be half, hardware bitmaps live in graphics memory).

A recycled bitmap (``mRecycled``) has given its pixels back; its buffer, if still there, is counted
as it is in the heap.

Duplicates are bitmaps with the same dimensions and byte-identical pixels: the same image decoded
more than once, each copy but one wasted. They can only be found where the dump has the pixels.
Tools that trim dumps (LeakCanary, Android Studio's "sanitize") zero primitive arrays or leave
their contents out; such buffers, and any all-zero buffer, are not compared, and the summary says
how many there were.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from oomlens.analysis.owners import holder_classes
from oomlens.heap.heap import HeapObject
from oomlens.hprof.scan import KIND_PRIMITIVE_ARRAY
from oomlens.ids import format_id

BITMAP = "android.graphics.Bitmap"
DEFAULT_LARGE_BYTES = 1 << 20
NATIVE_BYTES_PER_PIXEL = 4  # ARGB_8888
HEAP, NATIVE, RECYCLED = "heap", "native", "recycled"
# Between a bitmap and the view or cache that keeps it: drawables and their shared states.
_BITMAP_WRAPPER = re.compile(r"^android\.graphics\.(NinePatch|drawable\.\w+(\$\w+)*)$")
_HOLDER_MAX_HOPS = 6


@dataclass
class BitmapInfo:
    id: int
    width: int
    height: int
    storage: str  # HEAP (pixels in mBuffer), NATIVE (pixels outside the heap), RECYCLED
    pixel_bytes: int  # for NATIVE, estimated as width * height * 4
    recycled: bool | None  # None: the class has no mRecycled field
    retained_bytes: int
    reachability: str  # strong, soft, weak, finalizer, phantom or unreachable
    holders: list[str] = field(default_factory=list)

    @property
    def pixel_bytes_estimated(self) -> bool:
        return self.storage == NATIVE

    def to_json(self) -> dict:
        return {"object": format_id(self.id), "width": self.width, "height": self.height,
                "storage": self.storage, "pixel_bytes": self.pixel_bytes,
                "pixel_bytes_estimated": self.pixel_bytes_estimated, "recycled": self.recycled,
                "retained_bytes": self.retained_bytes, "reachability": self.reachability,
                "holders": self.holders}


@dataclass
class DuplicateBitmaps:
    """Bitmaps with the same dimensions and identical pixels."""
    width: int
    height: int
    pixel_bytes: int  # of each copy
    ids: list[int]
    holders: dict[str, int] = field(default_factory=dict)  # holder class -> copies it holds

    @property
    def count(self) -> int:
        return len(self.ids)

    @property
    def wasted_bytes(self) -> int:
        return (self.count - 1) * self.pixel_bytes

    def to_json(self) -> dict:
        return {"width": self.width, "height": self.height, "count": self.count,
                "pixel_bytes": self.pixel_bytes, "wasted_bytes": self.wasted_bytes,
                "objects": [format_id(i) for i in self.ids], "holders": self.holders}


@dataclass
class BitmapSummary:
    count: int
    unreachable: int  # garbage the next GC frees (counted in the totals all the same)
    recycled: int
    heap_count: int
    heap_pixel_bytes: int
    native_count: int
    native_pixel_bytes_estimated: int
    large_threshold_bytes: int
    large: list[BitmapInfo]  # pixel bytes >= the threshold, biggest first
    duplicates: list[DuplicateBitmaps]  # most wasted bytes first
    pixels_compared: int  # reachable heap bitmaps whose pixels were in the dump: compared
    pixels_unavailable: int  # reachable heap bitmaps with zeroed or left-out pixels
    notes: list[str] = field(default_factory=list)

    @property
    def duplicate_wasted_bytes(self) -> int:
        return sum(d.wasted_bytes for d in self.duplicates)

    def to_json(self) -> dict:
        return {"count": self.count, "unreachable": self.unreachable, "recycled": self.recycled,
                "heap_count": self.heap_count, "heap_pixel_bytes": self.heap_pixel_bytes,
                "native_count": self.native_count,
                "native_pixel_bytes_estimated": self.native_pixel_bytes_estimated,
                "large_threshold_bytes": self.large_threshold_bytes,
                "large": [b.to_json() for b in self.large],
                "duplicates": [d.to_json() for d in self.duplicates],
                "duplicate_wasted_bytes": self.duplicate_wasted_bytes,
                "pixels_compared": self.pixels_compared,
                "pixels_unavailable": self.pixels_unavailable, "notes": self.notes}


def _int_field(obj, name: str) -> int:
    value = obj.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _pixel_buffer(bitmap):
    """The bitmap's mBuffer when it is a primitive array in the dump, else None."""
    buffer = bitmap.get("mBuffer")
    if not isinstance(buffer, HeapObject):
        return None  # null, no such field, or an id the dump does not hold
    kinds = bitmap.heap.index.objects.kind
    return buffer if kinds[buffer.index] == KIND_PRIMITIVE_ARRAY else None


def _has_pixels(buffer) -> bool:
    """False when the dump has no usable pixels: contents left out, or all zero as a trimmed
    dump leaves them (or as a blank bitmap is: the two cannot be told apart)."""
    if not buffer.has_array_data():
        return False
    pixels = buffer.primitive_values()
    return bool(len(pixels)) and bool(np.any(pixels))


def _pixel_digest(buffer) -> bytes:
    return hashlib.blake2b(buffer.primitive_values().tobytes(), digest_size=16).digest()


def summarize_bitmaps(heap, large_bytes: int = DEFAULT_LARGE_BYTES) -> BitmapSummary:
    """Bitmaps (``android.graphics.Bitmap`` and subclasses) in an ``AnalyzedHeap``: counts and
    pixel bytes in the heap and (estimated) in native memory, those of at least ``large_bytes``
    pixel bytes, and groups of identical ones."""
    indices = heap.instance_indices(BITMAP).tolist()
    infos: dict[int, BitmapInfo] = {}
    buffers: dict[int, HeapObject] = {}
    for index in indices:
        bitmap = heap.object_at(index)
        width, height = _int_field(bitmap, "mWidth"), _int_field(bitmap, "mHeight")
        recycled = bitmap.get("mRecycled")
        recycled = bool(recycled) if isinstance(recycled, bool) else None
        buffer = _pixel_buffer(bitmap)
        if buffer is not None:
            storage, pixel_bytes = HEAP, buffer.length  # a byte[]
            buffers[index] = buffer
        elif recycled:
            storage, pixel_bytes = RECYCLED, 0
        else:
            storage, pixel_bytes = NATIVE, width * height * NATIVE_BYTES_PER_PIXEL
        infos[index] = BitmapInfo(bitmap.id, width, height, storage, pixel_bytes, recycled,
                                  heap.retained_size(bitmap), heap.reachability_of(bitmap))

    # Only bitmaps that share dimensions and buffer length can be identical: hash just those.
    # Garbage is no waste: unreachable copies are left out of the groups.
    same_shape: dict[tuple[int, int, int], list[int]] = {}
    for index in buffers:
        info = infos[index]
        if info.reachability != "unreachable":
            key = (info.width, info.height, info.pixel_bytes)
            same_shape.setdefault(key, []).append(index)
    compared = unavailable = 0
    identical: dict[tuple[int, int, bytes], list[int]] = {}
    for (width, height, _), members in same_shape.items():
        for index in members:
            if not _has_pixels(buffers[index]):
                unavailable += 1
                continue
            compared += 1
            if len(members) > 1:
                key = (width, height, _pixel_digest(buffers[index]))
                identical.setdefault(key, []).append(index)
    duplicate_sets = [members for members in identical.values() if len(members) > 1]

    large = [i for i in indices if infos[i].pixel_bytes >= large_bytes]
    in_duplicates = [i for members in duplicate_sets for i in members]
    holders = holder_classes(heap, large + in_duplicates, look_through=_BITMAP_WRAPPER.match,
                             max_hops=_HOLDER_MAX_HOPS)
    for index in large:
        infos[index].holders = sorted(holders[index])

    duplicates = []
    for members in duplicate_sets:
        first = infos[members[0]]
        counts = Counter(name for i in members for name in holders[i])
        duplicates.append(DuplicateBitmaps(first.width, first.height, first.pixel_bytes,
                                           [infos[i].id for i in members],
                                           dict(counts.most_common())))
    duplicates.sort(key=lambda d: (-d.wasted_bytes, d.ids[0]))

    notes = []
    if unavailable:
        notes.append(f"pixels not available for {unavailable} of {compared + unavailable} "
                     "bitmaps with heap buffers (zeroed or left out, as trimmed dumps do, or "
                     "blank): they were not compared for duplicates")
    native = [info for info in infos.values() if info.storage == NATIVE]
    if native:
        notes.append(f"{len(native)} bitmaps keep their pixels outside the Java heap: their "
                     f"pixel bytes are estimated as width*height*{NATIVE_BYTES_PER_PIXEL}")
    return BitmapSummary(
        count=len(indices),
        unreachable=sum(1 for info in infos.values() if info.reachability == "unreachable"),
        recycled=sum(1 for info in infos.values() if info.recycled),
        heap_count=len(buffers),
        heap_pixel_bytes=sum(infos[i].pixel_bytes for i in buffers),
        native_count=len(native),
        native_pixel_bytes_estimated=sum(info.pixel_bytes for info in native),
        large_threshold_bytes=large_bytes,
        large=sorted((infos[i] for i in large), key=lambda b: (-b.pixel_bytes, b.id)),
        duplicates=duplicates, pixels_compared=compared, pixels_unavailable=unavailable,
        notes=notes)
