"""Shallow sizes: how many bytes each object takes in the running VM. The one place they are defined.

An HPROF file records field *values*, not the memory an object occupies, so shallow sizes are a
model of the runtime's layout:

HotSpot (``JAVA PROFILE 1.0.1`` / ``1.0.2``)
    header = mark word (the id size: 4 or 8 bytes) + class pointer (the reference size)
    instance      = align8(header + sum of its fields' sizes, inherited ones included)
    object array  = align8(header + 4 (length) + length * reference size)
    primitive array = align8(header + 4 + length * element size)
    class object  = align8(size of a java.lang.Class instance + its static fields' sizes)
    where a reference field or element takes the reference size: 4 bytes with compressed oops,
    else the id size. Field gaps from HotSpot's field packing are not modelled (packing leaves
    few), so an instance may be counted a few bytes short of its true size.

Android (ART and Dalvik, ``1.0.3``: java.lang.Object's CLASS_DUMP names a non-zero size)
    the CLASS_DUMP instance size already is the object's size, header included
    instance      = align8(the class's instance size)
    object array  = align8(object header + 4 + length * 4), references are 32-bit in ART heaps
    primitive array = align8(align(object header + 4, element size) + length * element size)
                    (64-bit elements start 8-aligned)
    class object  = align8(size of a java.lang.Class instance + its static fields' sizes)
    PRIMITIVE_ARRAY_NODATA arrays keep their full size: the elements existed, the dump left them out.

Whether a 64-bit HotSpot used compressed oops is not written in the dump. It is read from the
object addresses instead: in a heap dump the ids are addresses, and when two objects are
adjacent the gap between them is the first one's size. The reference size that explains the
most gaps behind arrays wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oomlens.heap.classes import ClassTable
from oomlens.heap.objects import ObjectTable
from oomlens.hprof import constants as C
from oomlens.hprof.scan import KIND_INSTANCE, KIND_OBJECT_ARRAY, KIND_PRIMITIVE_ARRAY

ALIGNMENT = 8
ARRAY_LENGTH_SIZE = 4

RUNTIME_HOTSPOT = "HotSpot"
RUNTIME_ART = "ART"
RUNTIME_DALVIK = "Dalvik"


@dataclass(frozen=True)
class SizeModel:
    runtime: str
    id_size: int
    header_size: int  # bytes before an object's fields
    reference_size: int  # bytes a reference field or object array element takes in memory
    sizes_from_dump: bool  # Android: CLASS_DUMP instance sizes are object sizes
    compressed_oops_evidence: str  # how reference_size was decided

    def describe(self) -> str:
        return (f"{self.runtime}: {self.header_size}-byte object header, "
                f"{self.reference_size}-byte references ({self.compressed_oops_evidence}), "
                f"{ALIGNMENT}-byte alignment")


def align(size, alignment: int = ALIGNMENT):
    return (size + (alignment - 1)) // alignment * alignment


def _element_sizes() -> np.ndarray:
    sizes = np.zeros(256, np.int64)
    for t, s in C.PRIMITIVE_SIZES.items():
        sizes[t] = s
    return sizes


def detect_runtime(version: str, classes: ClassTable, field_name) -> str:
    """HotSpot writes 1.0.1/1.0.2; Android 1.0.3. ART's java.lang.Object declares the
    ``shadow$_klass_`` field, Dalvik's declares none."""
    if version != "1.0.3":
        return RUNTIME_HOTSPOT
    for k in classes.by_name("java.lang.Object"):
        for f in range(int(classes.field_begin[k]), int(classes.field_end[k])):
            if field_name(int(classes.field_name[f])) == "shadow$_klass_":
                return RUNTIME_ART
    return RUNTIME_DALVIK


def _object_header_from_dump(classes: ClassTable) -> int:
    """java.lang.Object's instance size when the dump records object sizes (Android), else 0."""
    for k in classes.by_name("java.lang.Object"):
        return int(classes.raw_instance_size[k])
    return 0


def _adjacent_array_gaps(objects: ObjectTable, kind: int):
    """(index, gap to the next object) for arrays of ``kind`` followed by another object."""
    idx = np.nonzero(objects.kind[:-1] == kind)[0]
    gaps = objects.ids[idx + 1] - objects.ids[idx]
    return idx, gaps


def detect_reference_size(objects: ObjectTable, id_size: int) -> tuple[int, str]:
    """4 (compressed oops) or the id size, decided from the gaps between adjacent objects."""
    if id_size == 4:
        return 4, "32-bit VM"
    idx, gaps = _adjacent_array_gaps(objects, KIND_OBJECT_ARRAY)
    n = objects.length[idx].astype(np.int64)
    votes = {}
    for ref in (4, 8):
        header = id_size + ref
        predicted = align(header + ARRAY_LENGTH_SIZE + n * ref)
        votes[ref] = int((gaps == predicted).sum())
    best = max(votes, key=lambda r: (votes[r], r == 4))
    if votes[best] == 0:
        return 8, "no adjacent arrays to measure; assumed uncompressed"
    compressed = "compressed oops" if best == 4 else "uncompressed oops"
    return best, f"{compressed}: {votes[best]} of {len(idx)} object arrays sized exactly by address"


def choose_size_model(version: str, id_size: int, objects: ObjectTable, classes: ClassTable,
                      field_name) -> SizeModel:
    runtime = detect_runtime(version, classes, field_name)
    dump_header = _object_header_from_dump(classes)
    if runtime != RUNTIME_HOTSPOT and dump_header > 0:
        return SizeModel(runtime, id_size, dump_header, 4, True, "Android heap references")
    ref, evidence = detect_reference_size(objects, id_size)
    return SizeModel(runtime, id_size, id_size + ref, ref, False, evidence)


def instance_sizes(model: SizeModel, classes: ClassTable) -> np.ndarray:
    """Shallow size of one instance of each class."""
    if model.sizes_from_dump:
        return align(np.maximum(classes.raw_instance_size, model.header_size))
    ref_fields = classes.ref_field_count + (classes.referent_offset >= 0)
    field_bytes = classes.instance_data_size - ref_fields * (model.id_size - model.reference_size)
    return align(model.header_size + field_bytes)


def class_object_sizes(model: SizeModel, classes: ClassTable) -> np.ndarray:
    """Shallow size of each class object: a java.lang.Class instance holding the statics."""
    per_instance = instance_sizes(model, classes)
    java_lang_class = classes.by_name("java.lang.Class")
    base = int(per_instance[java_lang_class[0]]) if java_lang_class else model.header_size
    if model.sizes_from_dump:
        base = int(classes.raw_instance_size[java_lang_class[0]]) if java_lang_class else base
    elem = _element_sizes()
    elem[C.TYPE_OBJECT] = model.reference_size
    statics = np.zeros(len(classes), np.int64)
    static_sizes = elem[classes.static_type]
    cum = np.concatenate([[0], np.cumsum(static_sizes)])
    statics[:] = cum[classes.static_end] - cum[classes.static_begin]
    return align(base + statics)


def shallow_sizes(model: SizeModel, objects: ObjectTable, classes: ClassTable) -> np.ndarray:
    """Shallow size of every object."""
    kind = objects.kind
    # Array sizes are computed in int64 (a long[] can pass 4 GiB); the result is stored in 4
    # bytes per object unless one object really is that big.
    arrays = np.nonzero(kind == KIND_OBJECT_ARRAY)[0]
    array_sizes = align(model.header_size + ARRAY_LENGTH_SIZE
                        + objects.length[arrays].astype(np.int64) * model.reference_size)
    prim = np.nonzero(kind == KIND_PRIMITIVE_ARRAY)[0]
    elem = _element_sizes()[classes.element_type[objects.class_index[prim]]]
    start = model.header_size + ARRAY_LENGTH_SIZE
    if model.sizes_from_dump:
        start = align(start, elem.clip(min=1))
    prim_sizes = align(start + objects.length[prim].astype(np.int64) * elem)
    biggest = max(array_sizes.max(initial=0), prim_sizes.max(initial=0))
    sizes = np.zeros(len(objects), np.uint32 if biggest < (1 << 32) else np.int64)
    sizes[arrays] = array_sizes
    sizes[prim] = prim_sizes
    del arrays, array_sizes, prim, prim_sizes, elem

    inst = kind == KIND_INSTANCE
    sizes[inst] = instance_sizes(model, classes)[objects.class_index[inst]]
    has_object = classes.object_index >= 0
    sizes[classes.object_index[has_object]] = class_object_sizes(model, classes)[has_object]
    return sizes
