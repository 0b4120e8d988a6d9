"""Build the heap index of one dump: the scan, the class and object tables, sizes, the graph.

This is the one pass over the file the engine makes up front (plus the reference extraction
that reads instance data again); everything later reads the columnar tables it leaves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from oomlens.heap import classes as cls_mod
from oomlens.heap.classes import ClassTable
from oomlens.heap.graph import Graph, build_graph
from oomlens.heap.layout import SizeModel, choose_size_model, shallow_sizes
from oomlens.heap.objects import ObjectTable, build_object_table, positions_in_sorted
from oomlens.hprof import constants as C
from oomlens.hprof.names import NameTable
from oomlens.hprof.records import Progress, index_records
from oomlens.hprof import scan as S
from oomlens.hprof.scan import KIND_CLASS, KIND_INSTANCE, KIND_OBJECT_ARRAY, KIND_PRIMITIVE_ARRAY
from oomlens.hprof.source import DumpFile

UNKNOWN_CLASS = "<unknown class>"


@dataclass
class GcRoots:
    """GC root records, in file order, with the object each one names."""

    object_id: np.ndarray  # int64
    kind: np.ndarray  # uint8 root tag
    thread_serial: np.ndarray  # int32, -1 if the kind has none
    frame: np.ndarray  # int32 frame number / stack depth, -1 if none
    object_index: np.ndarray  # int32, -1 where the id is not in the dump

    @property
    def missing(self) -> int:
        return int((self.object_index < 0).sum())

    def root_objects(self, exclude_kinds: tuple[int, ...] = ()) -> np.ndarray:
        """Distinct indices of the objects that are GC roots, optionally leaving out roots of
        some kinds. ART's ROOT_UNREACHABLE marks objects that are *not* reachable: no root."""
        real = (self.object_index >= 0) & (self.kind != C.ROOT_UNREACHABLE)
        for kind in exclude_kinds:
            real &= self.kind != kind
        return np.unique(self.object_index[real])

    def counts_by_kind(self) -> dict[str, int]:
        kinds, counts = np.unique(self.kind, return_counts=True)
        return {C.ROOT_NAMES.get(int(k), f"0x{int(k):02x}"): int(c) for k, c in zip(kinds, counts)}


@dataclass
class HeapIndex:
    file: DumpFile
    dump_number: int
    dump_count: int
    names: NameTable
    classes: ClassTable
    objects: ObjectTable
    roots: GcRoots
    graph: Graph
    size_model: SizeModel
    heap_names: list[str]
    record_counts: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    truncated: bool = False
    missing_bytes: int = 0


def _resolve_object_classes(objects: ObjectTable, classes: ClassTable, raw_class: np.ndarray
                            ) -> list[str]:
    """Set each object's class index from the raw class reference the scan found; add synthetic
    classes the dump lacks; note each primitive array class's element type. Returns warnings."""
    warnings = []
    kind = objects.kind
    class_index = np.full(len(objects), -1, np.int32)

    by_id = (kind == KIND_INSTANCE) | (kind == KIND_OBJECT_ARRAY)
    class_index[:] = classes.lookup_ids(raw_class)  # primitive arrays and classes: set below
    unknown = by_id & (class_index < 0)
    if unknown.any():
        class_index[unknown] = classes.add_synthetic(UNKNOWN_CLASS)
        warnings.append(f"{int(unknown.sum()):,} objects name a class that is not in the dump")

    prim = kind == KIND_PRIMITIVE_ARRAY
    element_types = {}
    if prim.any():
        elem = raw_class[prim]
        prim_classes = np.full(256, -1, np.int32)
        for t, name in cls_mod.PRIMITIVE_ARRAY_NAMES.items():
            if (elem == t).any():
                found = classes.by_name(name)
                prim_classes[t] = found[0] if found else classes.add_synthetic(name)
                element_types[int(prim_classes[t])] = t
        class_index[prim] = prim_classes[elem.astype(np.int64) & 0xFF]

    class_objects = kind == KIND_CLASS
    if class_objects.any():
        found = classes.by_name("java.lang.Class")
        class_index[class_objects] = found[0] if found else classes.add_synthetic(
            "java.lang.Class")
    objects.class_index = class_index
    classes.element_type = np.zeros(len(classes), np.uint8)
    for k, t in element_types.items():
        classes.element_type[k] = t
    return warnings


def _link_class_objects(objects: ObjectTable, classes: ClassTable) -> None:
    object_index = np.full(len(classes), -1, np.int32)
    pos = positions_in_sorted(objects.ids, classes.ids[: classes.real_count])
    is_class = (pos >= 0) & (objects.kind[np.maximum(pos, 0)] == KIND_CLASS)
    object_index[: classes.real_count] = np.where(is_class, pos, -1)
    classes.object_index = object_index


def _reach(objects: ObjectTable, classes: ClassTable) -> np.ndarray:
    """Per class, the most instance data bytes one of its instances has (0: no instances)."""
    return _longest_instances(objects.kind, objects.class_index, objects.length, len(classes))


@njit(cache=True)
def _longest_instances(kind, class_index, length, n_classes):
    reach = np.zeros(n_classes, np.int64)
    for i in range(kind.shape[0]):
        if kind[i] == KIND_INSTANCE and length[i] > reach[class_index[i]]:
            reach[class_index[i]] = length[i]
    return reach


def _heap_names(index, names: NameTable) -> list[str]:
    out = index.out
    return [names.get(int(n)) or f"heap-{int(t)}" for t, n in zip(out.heap_type, out.heap_name)]


def build_heap_index(path, dump_number: int = 0, progress: Progress | None = None) -> HeapIndex:
    dump = DumpFile(path, progress)
    try:
        records = index_records(dump, dump_number, progress)
        out = records.out
        names = NameTable(dump.data, out.str_id, out.str_off, out.str_len)
        classes = cls_mod.build_class_table(records, names)
        objects, raw_class = build_object_table(records)
        warnings = list(records.warnings)
        if objects.duplicates:
            warnings.append(f"{objects.duplicates:,} objects share an id with an earlier one; "
                            "the first of each was kept")
        warnings += _resolve_object_classes(objects, classes, raw_class)
        del raw_class
        _link_class_objects(objects, classes)
        cls_mod.derive_layouts(classes, names, dump.header.id_size, _reach(objects, classes))
        model = choose_size_model(dump.header.version, dump.header.id_size, objects, classes,
                                  names.get)
        objects.shallow = shallow_sizes(model, objects, classes)
        roots = GcRoots(object_id=out.root_id, kind=out.root_kind, thread_serial=out.root_thread,
                        frame=out.root_frame,
                        object_index=positions_in_sorted(objects.ids, out.root_id))
        heap_names = _heap_names(records, names)
        counts = records.counts
        record_counts = {"records": int(counts[S.N_RECORDS]),
                         "strings": int(counts[S.N_STRINGS]),
                         "load_class": int(counts[S.N_LOAD_CLASSES]),
                         "stack_frames": int(counts[S.N_STACK_FRAMES]),
                         "stack_traces": int(counts[S.N_STACK_TRACES])}
        truncated, missing_bytes = records.truncated, records.missing_bytes
        dump_count = records.dump_count
        del records, out  # the raw scan arrays are no longer needed

        def release():
            dump.release_pages(0, dump.size)

        graph = build_graph(dump.data, dump.header.id_size, objects, classes,
                            release_pages=release, progress=progress)
        if graph.missing_references:
            warnings.append(f"{graph.missing_references:,} references point to ids that are not "
                            "in the dump (ignored)")
        if roots.missing:
            warnings.append(f"{roots.missing:,} GC roots name ids that are not in the dump "
                            "(ignored)")
        return HeapIndex(file=dump, dump_number=dump_number, dump_count=dump_count, names=names,
                         classes=classes, objects=objects, roots=roots, graph=graph,
                         size_model=model, heap_names=heap_names, record_counts=record_counts,
                         warnings=warnings, truncated=truncated, missing_bytes=missing_bytes)
    except BaseException:
        dump.close()
        raise
