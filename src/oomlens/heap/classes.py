"""The class table: every class of the dump, its name, superclass, loader and field layout.

Instance data in HPROF is the values of the class's own fields followed by its superclass's, up
to java.lang.Object. From that the table derives, per class, where the reference fields sit in an
instance's data (the graph follows them) and whether the class is a ``java.lang.ref.Reference``
whose ``referent`` must be treated as weak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oomlens.errors import HprofFormatError
from oomlens.heap.objects import positions_in_sorted
from oomlens.hprof import constants as C
from oomlens.hprof.names import NameTable, java_class_name
from oomlens.hprof.records import RecordIndex

# Strength of what a java.lang.ref.Reference subclass holds its referent with.
REF_NONE = 0  # not a Reference
REF_SOFT = 1
REF_WEAK = 2
REF_FINALIZER = 3
REF_PHANTOM = 4
REFERENCE_KIND_NAMES = {REF_SOFT: "soft", REF_WEAK: "weak", REF_FINALIZER: "finalizer",
                        REF_PHANTOM: "phantom"}

_REFERENCE_BASES = {
    "java.lang.ref.SoftReference": REF_SOFT,
    "java.lang.ref.WeakReference": REF_WEAK,
    "java.lang.ref.FinalReference": REF_FINALIZER,  # HotSpot: java.lang.ref.Finalizer
    "java.lang.ref.FinalizerReference": REF_FINALIZER,  # Android: extends Reference directly
    "java.lang.ref.PhantomReference": REF_PHANTOM,
}
REFERENCE_CLASS = "java.lang.ref.Reference"
REFERENT_FIELD = "referent"

PRIMITIVE_ARRAY_NAMES = {t: C.TYPE_NAMES[t] + "[]" for t in C.PRIMITIVE_SIZES}


@dataclass
class ClassTable:
    """Columnar class table; a class is addressed by its index. Real classes come first, sorted
    by id; classes the dump lacks but needs (a primitive array class, an unknown class) follow
    as synthetic entries with id 0."""

    ids: np.ndarray  # int64
    names: list[str]
    super_id: np.ndarray  # int64, 0 for none
    super_index: np.ndarray  # int32, -1 for none
    loader_id: np.ndarray  # int64
    raw_instance_size: np.ndarray  # int64, as the CLASS_DUMP record says
    record_offset: np.ndarray  # int64, -1 for synthetic
    static_begin: np.ndarray  # int32 ranges into the static field arrays
    static_end: np.ndarray
    field_begin: np.ndarray  # int32 ranges into the declared instance field arrays
    field_end: np.ndarray
    static_name: np.ndarray
    static_type: np.ndarray
    static_value_offset: np.ndarray
    field_name: np.ndarray
    field_type: np.ndarray
    real_count: int
    # derived
    instance_data_size: np.ndarray | None = None  # int64: bytes of field values per instance
    ref_begin: np.ndarray | None = None  # int64 CSR over ref_offsets
    ref_offsets: np.ndarray | None = None  # int32 offsets of strong reference fields
    referent_offset: np.ndarray | None = None  # int32, -1 if not a Reference subclass
    reference_kind: np.ndarray | None = None  # int8 REF_*
    object_index: np.ndarray | None = None  # int32 index of the class object, -1 if none
    element_type: np.ndarray | None = None  # uint8 basic type of primitive array classes, else 0

    def __len__(self) -> int:
        return len(self.names)

    def find_by_id(self, class_id: int) -> int:
        i = int(np.searchsorted(self.ids[: self.real_count], class_id))
        if i < self.real_count and self.ids[i] == class_id:
            return i
        return -1

    def lookup_ids(self, class_ids: np.ndarray) -> np.ndarray:
        """Class index per id, -1 where the id is no class of the dump."""
        return positions_in_sorted(self.ids[: self.real_count], class_ids)

    def superclass_chain(self, index: int) -> list[int]:
        chain = []
        while index >= 0:
            chain.append(index)
            index = int(self.super_index[index])
        return chain

    def by_name(self, name: str) -> list[int]:
        return [i for i, n in enumerate(self.names) if n == name]

    def add_synthetic(self, name: str) -> int:
        """Append a class the dump does not describe (no fields, no class object)."""
        for field_name in ("ids", "super_id", "super_index", "loader_id", "raw_instance_size",
                           "record_offset", "static_begin", "static_end", "field_begin",
                           "field_end"):
            arr = getattr(self, field_name)
            fill = -1 if field_name in ("super_index", "record_offset") else 0
            setattr(self, field_name, np.append(arr, np.array([fill], arr.dtype)))
        self.names.append(name)
        return len(self.names) - 1


def build_class_table(index: RecordIndex, names: NameTable) -> ClassTable:
    """Classes sorted by id, named through LOAD_CLASS records, superclasses resolved."""
    out = index.out
    order = np.argsort(out.cls_id, kind="stable")
    ids = out.cls_id[order]
    keep = np.ones(len(ids), bool)
    keep[1:] = ids[1:] != ids[:-1]  # a class dumped twice: the first one counts
    order = order[keep]
    ids = ids[keep]
    n = len(ids)
    starts_s, starts_f = out.cls_static_start, out.cls_field_start

    # LOAD_CLASS gives the name string of each class object id (later records win).
    lc_order = np.argsort(out.lc_class_id, kind="stable")
    lc_ids = out.lc_class_id[lc_order]
    lc_names = out.lc_name_id[lc_order]
    pos = np.searchsorted(lc_ids, ids, side="right") - 1
    class_names = []
    for k in range(n):
        p = int(pos[k])
        if p >= 0 and lc_ids[p] == ids[k]:
            class_names.append(java_class_name(names.require(int(lc_names[p]), "class")))
        else:
            class_names.append(f"<class 0x{int(ids[k]) & (2**64 - 1):x}>")

    table = ClassTable(
        ids=ids,
        names=class_names,
        super_id=out.cls_super[order],
        super_index=np.full(n, -1, np.int32),
        loader_id=out.cls_loader[order],
        raw_instance_size=out.cls_inst_size[order],
        record_offset=out.cls_off[order],
        static_begin=starts_s[order].astype(np.int32),
        static_end=starts_s[order + 1].astype(np.int32),
        field_begin=starts_f[order].astype(np.int32),
        field_end=starts_f[order + 1].astype(np.int32),
        static_name=out.st_name,
        static_type=out.st_type,
        static_value_offset=out.st_value_off,
        field_name=out.fd_name,
        field_type=out.fd_type,
        real_count=n,
    )
    table.super_index[:] = table.lookup_ids(table.super_id)
    _check_superclass_chains(table, index)
    return table


def _check_superclass_chains(table: ClassTable, index: RecordIndex) -> None:
    """A superclass chain must end: a cycle would send every walk up the hierarchy round."""
    n = len(table)
    depth = np.full(n, -1, np.int64)
    for start in range(n):
        path = []
        k = start
        while k >= 0 and depth[k] < 0:
            if len(path) > n:
                raise HprofFormatError(
                    f"corrupt heap dump: the superclass chain of {table.names[start]} is cyclic")
            depth[k] = -2  # on the current path
            path.append(k)
            k = int(table.super_index[k])
        if k >= 0 and depth[k] == -2:
            raise HprofFormatError(
                f"corrupt heap dump: the superclass chain of {table.names[start]} is cyclic")
        base = -1 if k < 0 else int(depth[k])
        for offset, member in enumerate(reversed(path)):
            depth[member] = base + 1 + offset


def derive_layouts(table: ClassTable, names: NameTable, id_size: int) -> None:
    """Per class: bytes of instance data, offsets of its strong reference fields (own and
    inherited), and the referent offset and strength for Reference subclasses."""
    n = len(table)
    data_size = np.zeros(n, np.int64)
    referent = np.full(n, -1, np.int32)
    kind = np.zeros(n, np.int8)
    per_class: list[list[int]] = [[] for _ in range(n)]
    reference_indices = set(table.by_name(REFERENCE_CLASS))
    sizes = {t: C.value_size(t, id_size) for t in C.TYPE_NAMES}
    for k in range(n):
        chain = table.superclass_chain(k)
        offset = 0
        ref_kind = REF_NONE
        for member in chain:
            ref_kind = ref_kind or _REFERENCE_BASES.get(table.names[member], REF_NONE)
            is_reference_base = member in reference_indices
            for f in range(int(table.field_begin[member]), int(table.field_end[member])):
                t = int(table.field_type[f])
                if t == C.TYPE_OBJECT:
                    if is_reference_base and names.get(int(table.field_name[f])) == REFERENT_FIELD:
                        referent[k] = offset
                    else:
                        per_class[k].append(offset)
                offset += sizes[t]
        if referent[k] >= 0:
            # a Reference subclass not below a known kind (e.g. a direct subclass) is weak
            kind[k] = ref_kind or REF_WEAK
        data_size[k] = offset
    table.instance_data_size = data_size
    table.referent_offset = referent
    table.reference_kind = kind
    counts = np.array([len(r) for r in per_class], np.int64)
    table.ref_begin = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=table.ref_begin[1:])
    table.ref_offsets = np.array([o for r in per_class for o in r], np.int32)
