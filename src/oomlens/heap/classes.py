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
    ref_field_count: np.ndarray | None = None  # int64: strong reference fields per instance
    superclass_depth: np.ndarray | None = None  # int64: 0 for a class without a superclass
    ref_begin: np.ndarray | None = None  # int64 CSR over ref_offsets
    ref_offsets: np.ndarray | None = None  # int32 offsets of strong reference fields, as far
    # as the class's longest instance reaches (see derive_layouts)
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
    """A superclass chain must end: a cycle would send every walk up the hierarchy round. The
    depth of each class, found on the way, is kept (``superclass_depth``): derive_layouts works
    parents first by it."""
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
    table.superclass_depth = depth


def derive_layouts(table: ClassTable, names: NameTable, id_size: int,
                   reach: np.ndarray | None = None) -> None:
    """Per class: bytes of instance data, its strong reference fields (own and inherited: their
    number, and their offsets), and the referent offset and strength for Reference subclasses.

    ``reach[k]``: the most instance data bytes any instance of class ``k`` has (None: its full
    layout). Offsets are listed only that far, since the graph reads no further: the table then
    stays within the dump's own size whatever its superclass chains, where listing every
    inherited field of every class of a deep hierarchy (thousands of classes, one below the
    other, a few hundred KB of file) would take gigabytes and minutes. Each class is worked out
    once, from its superclass's results (parents first)."""
    n = len(table)
    begin = table.field_begin.astype(np.int64)
    end = table.field_end.astype(np.int64)
    sizes = np.zeros(256, np.int64)
    for t in C.TYPE_NAMES:
        sizes[t] = C.value_size(t, id_size)
    types = np.asarray(table.field_type, np.int64)
    cum = np.concatenate([[0], np.cumsum(sizes[types])])
    own_bytes = cum[end] - cum[begin]
    own_refs: list[np.ndarray] = [np.zeros(0, np.int64)] * n  # own reference field offsets
    own_referent = np.full(n, -1, np.int64)
    reference_bases = set(table.by_name(REFERENCE_CLASS))
    is_ref = types == C.TYPE_OBJECT
    for k in range(n):
        a, b = int(begin[k]), int(end[k])
        if b <= a or not is_ref[a:b].any():
            continue
        offsets = cum[a:b] - cum[a]
        refs = is_ref[a:b].copy()
        if k in reference_bases:
            for f in np.nonzero(refs)[0].tolist():
                if names.get(int(table.field_name[a + f])) == REFERENT_FIELD:
                    own_referent[k] = offsets[f]
                    refs[f] = False
        own_refs[k] = offsets[refs]

    sup = table.super_index.tolist()
    data_size = np.zeros(n, np.int64)
    ref_count = np.zeros(n, np.int64)
    referent = np.full(n, -1, np.int64)
    chain_kind = np.zeros(n, np.int8)
    up = np.full(n, -1, np.int64)  # the nearest superclass that declares fields
    for k in np.argsort(table.superclass_depth, kind="stable").tolist():  # parents first
        s = sup[k]
        own_kind = _REFERENCE_BASES.get(table.names[k], REF_NONE)
        if s < 0:
            data_size[k], ref_count[k] = own_bytes[k], len(own_refs[k])
            referent[k], chain_kind[k] = own_referent[k], own_kind
            continue
        data_size[k] = own_bytes[k] + data_size[s]
        ref_count[k] = len(own_refs[k]) + ref_count[s]
        # the highest Reference class's referent counts, the nearest known kind
        referent[k] = referent[s] + own_bytes[k] if referent[s] >= 0 else own_referent[k]
        chain_kind[k] = own_kind or chain_kind[s]
        up[k] = s if own_bytes[s] > 0 else up[s]
    if reach is None:
        reach = data_size
    limit = np.minimum(np.asarray(reach, np.int64), np.minimum(data_size, (1 << 31) - 1))
    per_class: list[np.ndarray] = []
    counts = np.zeros(n, np.int64)
    for k in np.nonzero((limit > 0) & (ref_count > 0))[0].tolist():
        cap = int(limit[k])
        m = k if own_bytes[k] > 0 else int(up[k])
        while m >= 0:
            base = int(data_size[k] - data_size[m])  # where m's own fields start in k's data
            if base >= cap:
                break
            offsets = own_refs[m]
            if len(offsets):
                offsets = offsets + base
                per_class.append(offsets[offsets < cap])
                counts[k] += len(per_class[-1])
            m = int(up[m])
    table.instance_data_size = data_size
    table.ref_field_count = ref_count
    referent[referent >= (1 << 31)] = -1  # past any instance's data
    table.referent_offset = referent.astype(np.int32)
    # a Reference subclass not below a known kind (e.g. a direct subclass) is weak
    kind = np.where(chain_kind == REF_NONE, REF_WEAK, chain_kind)
    table.reference_kind = np.where(referent >= 0, kind, REF_NONE).astype(np.int8)
    table.ref_begin = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=table.ref_begin[1:])
    table.ref_offsets = (np.concatenate(per_class).astype(np.int32) if per_class
                         else np.zeros(0, np.int32))
