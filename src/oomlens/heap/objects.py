"""The object table: every object of one heap dump as columns, ordered by object id.

An object is addressed by its index in this table. Ordering by id makes the id -> index lookup a
search in a sorted array; a coarse bucket table over the id range narrows each search to a few
entries, so the millions of lookups the graph needs stay cheap without a hash table's memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from oomlens.hprof.scan import KIND_CLASS, KIND_INSTANCE, KIND_OBJECT_ARRAY, KIND_PRIMITIVE_ARRAY
from oomlens.hprof.records import RecordIndex

KIND_NAMES = {KIND_CLASS: "class", KIND_INSTANCE: "instance", KIND_OBJECT_ARRAY: "object array",
              KIND_PRIMITIVE_ARRAY: "primitive array"}

_IDS_PER_BUCKET = 4


@dataclass
class ObjectTable:
    ids: np.ndarray  # int64, strictly increasing
    kind: np.ndarray  # int8 KIND_*
    offset: np.ndarray  # int64: file offset of the object's sub-record tag
    class_index: np.ndarray  # int32 into the class table (set by the heap builder)
    length: np.ndarray  # uint32: instance data bytes, or array length
    heap: np.ndarray  # int8 heap index, -1 where the dump names no heaps
    duplicates: int  # objects dropped because an earlier record had the same id
    shallow: np.ndarray | None = None  # int64, set by the size model
    bucket_shift: int = 0
    bucket_start: np.ndarray | None = None  # int64, into ids

    def __len__(self) -> int:
        return len(self.ids)

    def index_of(self, object_id: int) -> int:
        """Index of the object with this id, or -1."""
        if len(self.ids) == 0:
            return -1
        return int(lookup_id(self.ids, self.bucket_start, self.bucket_shift, np.int64(object_id)))


@njit(cache=True)
def _positions(sorted_ids, query, out):
    n = sorted_ids.shape[0]
    for i in range(query.shape[0]):
        p = np.searchsorted(sorted_ids, query[i])
        out[i] = p if p < n and sorted_ids[p] == query[i] else -1


def positions_in_sorted(sorted_ids: np.ndarray, query: np.ndarray) -> np.ndarray:
    """For each id in ``query``, its position in the sorted ``sorted_ids``, or -1 (int32).
    A kernel rather than NumPy expressions: no int64 temporaries the size of ``query``."""
    out = np.empty(len(query), np.int32)
    _positions(np.ascontiguousarray(sorted_ids, np.int64), np.ascontiguousarray(query, np.int64),
               out)
    return out


def build_object_table(index: RecordIndex) -> tuple[ObjectTable, np.ndarray]:
    """The table, and per object the raw class reference the scan found (class id for
    instances and object arrays, element type for primitive arrays) for the caller to resolve
    into class indices and then drop."""
    out = index.out
    ids = out.obj_id
    order = None
    if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        order = np.argsort(ids, kind="stable")
        ids = ids[order]

    keep = None
    duplicates = 0
    if len(ids) > 1:
        dup = ids[1:] == ids[:-1]
        duplicates = int(dup.sum())
        if duplicates:
            keep = np.ones(len(ids), bool)
            keep[1:] = ~dup

    def final(a):
        if order is not None:
            a = a[order]
        return a[keep] if keep is not None else a

    table = ObjectTable(
        ids=ids[keep] if keep is not None else ids,
        kind=final(out.obj_kind),
        offset=final(out.obj_off),
        class_index=np.empty(0, np.int32),
        length=final(out.obj_len),
        heap=final(out.obj_heap),
        duplicates=duplicates,
    )
    table.bucket_shift, table.bucket_start = _buckets(table.ids)
    return table, final(out.obj_class)


def _buckets(ids: np.ndarray) -> tuple[int, np.ndarray]:
    """Bucket b holds the ids in [min + b << shift, min + (b+1) << shift)."""
    n = len(ids)
    if n == 0:
        return 0, np.zeros(2, np.int64)
    span = int(ids[-1]) - int(ids[0])  # exact: Python ints do not wrap
    wanted = max(1, n // _IDS_PER_BUCKET)
    shift = 0
    while (span >> shift) >= wanted:
        shift += 1
    buckets = (span >> shift) + 1
    # differences taken modulo 2^64 are exact for a sorted range, even across the sign bit
    rel = (ids.view(np.uint64) - np.uint64(ids[0])) >> np.uint64(shift)
    start = np.searchsorted(rel, np.arange(buckets + 1, dtype=np.uint64), side="left")
    return shift, start.astype(np.int32 if n < (1 << 31) else np.int64)


@njit(cache=True, inline="always")
def lookup_id(ids, bucket_start, shift, object_id):
    """Index of ``object_id`` in the sorted ``ids``, or -1."""
    n = ids.shape[0]
    if n == 0 or object_id < ids[0] or object_id > ids[n - 1]:
        return -1
    b = np.int64(np.uint64(object_id - ids[0]) >> np.uint64(shift))
    lo = bucket_start[b]
    hi = bucket_start[b + 1]
    while lo < hi:
        mid = (lo + hi) >> 1
        v = ids[mid]
        if v < object_id:
            lo = mid + 1
        elif v > object_id:
            hi = mid
        else:
            return mid
    return -1
