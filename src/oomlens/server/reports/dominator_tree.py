"""A report's dominator tree, kept beside it for the dashboard's explorer.

The report document lists only the 20 biggest objects, and the heap is closed once the analysis
ends; the explorer opens the tree one node at a time, days later. So the analysis writes the
tree, pruned to what a person can look through, as fixed-size rows: one node's children are one
read at a known offset, whatever the file's size and wherever the blob store keeps it (fsspec
files seek, locally or with range requests).

What is kept, at most MAX_NODES rows:
- every object that retains at least KEEP_FRACTION of the reachable heap ("big"). A dominator
  retains more than what it dominates, so these form a subtree under the virtual root;
- the TOP_CHILDREN biggest children of the virtual root and of each big object.
Each row also says how many of its node's children were left out and the bytes they retain.
When too many objects are big, the size they must reach rises until the bound holds.

Layout (little endian): MAGIC, the header's length (u32) and the header (JSON: sizes, section
offsets from the end of the header). Sections: the rows (ROW; row 0 is the virtual root; each
node's kept children are contiguous, biggest first); the class names (u64 offsets, then UTF-8
text); the kept objects' ids sorted, and the row of each (for finding a node by its id).
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from oomlens.errors import OomlensError
from oomlens.hprof.scan import KIND_CLASS
from oomlens.ids import format_id

MAGIC = b"OOMLDOM1"
KEEP_FRACTION = 0.0001  # 0.01% of the reachable heap
TOP_CHILDREN = 100
MAX_NODES = 200_000
ROOT = 0  # the row of the virtual root
ROW = np.dtype([("id", "<i8"), ("retained", "<i8"), ("shallow", "<i8"), ("more_bytes", "<i8"),
                ("more_count", "<i8"), ("first_child", "<u4"), ("child_count", "<u4"),
                ("name", "<u4")])
_LENGTH = struct.Struct("<I")


class DomTreeError(OomlensError):
    """The file is not a dominator tree this code wrote."""


def blob_key(project_id: int, report_id: str) -> str:
    return f"{project_id}/reports/{report_id}.domtree"


# -- writing, at analysis time ------------------------------------------------------------------

def write(heap, out: BinaryIO, max_nodes: int = MAX_NODES) -> dict:
    """Write ``heap``'s pruned dominator tree to ``out``; returns the header (what was kept)."""
    rows, names, reachable, threshold = _pruned(heap, max_nodes)
    text = [name.encode("utf-8", "surrogatepass") for name in names]
    offsets = np.zeros(len(text) + 1, "<u8")
    np.cumsum([len(t) for t in text], out=offsets[1:])
    by_id = np.argsort(rows["id"][1:], kind="stable")  # row 0, the root, has no id
    sections = {"rows": rows.tobytes(), "name_offsets": offsets.tobytes(),
                "names": b"".join(text), "ids": rows["id"][1:][by_id].tobytes(),
                "id_rows": (by_id + 1).astype("<u4").tobytes()}
    header = {"reachable_bytes": reachable, "threshold_bytes": threshold,
              "top_children": TOP_CHILDREN, "rows": len(rows), "names": len(names)}
    at = 0
    for name, data in sections.items():
        header[f"{name}_at"] = at
        at += _padded(len(data))
    encoded = json.dumps(header).encode()
    start = _data_start(len(encoded))
    out.write(MAGIC + _LENGTH.pack(len(encoded)) + encoded + b"\0" * (_padded(start) - start))
    for data in sections.values():
        out.write(data + b"\0" * (_padded(len(data)) - len(data)))
    return header


def _pruned(heap, max_nodes: int) -> tuple[np.ndarray, list[str], int, int]:
    """The kept nodes as ROW records (row 0: the virtual root), their class names, the
    reachable bytes and the threshold used."""
    begin, children = heap.dominator_children  # CSR; the virtual root is slot n
    n = heap.object_count
    objects = heap.index.objects
    reachable = int(heap.dominator_tree.retained[children[begin[n]:begin[n + 1]]].sum())
    # per object, with the virtual root appended as object n
    retained = np.append(heap.dominator_tree.retained, reachable)
    shallow = np.append(objects.shallow.astype(np.int64), 0)
    child_total = np.diff(begin)

    big, threshold = _big_objects(retained[:n], child_total, reachable, max_nodes)
    parents = np.concatenate(([n], big)).astype(np.int64)
    kept, kept_parent = _kept_children(parents, begin, children, retained, threshold)
    nodes = np.concatenate(([n], kept))  # row -> object

    rows = np.zeros(len(nodes), ROW)
    rows["id"][1:] = objects.ids[kept]
    rows["retained"] = retained[nodes]
    rows["shallow"] = shallow[nodes]
    parent_rows = np.concatenate(([ROOT], _rows_of(big, kept)))
    counts = np.bincount(kept_parent, minlength=len(parents))
    rows["child_count"][parent_rows] = counts
    rows["first_child"][parent_rows] = 1 + np.cumsum(counts) - counts
    kept_bytes = np.zeros(len(nodes), np.int64)  # what each row's kept children retain
    np.add.at(kept_bytes, parent_rows[kept_parent], retained[kept])
    rows["more_count"] = child_total[nodes] - rows["child_count"]
    rows["more_bytes"] = rows["retained"] - rows["shallow"] - kept_bytes
    return rows, _class_names(heap, kept, rows), reachable, threshold


def _big_objects(retained: np.ndarray, child_total: np.ndarray, reachable: int,
                 max_nodes: int) -> tuple[np.ndarray, int]:
    """The objects retaining at least the threshold, biggest first, and that threshold: 0.01%
    of the reachable heap, or more when the rows they bring would pass ``max_nodes`` (each
    brings itself and up to TOP_CHILDREN children)."""
    threshold = max(1, math.ceil(reachable * KEEP_FRACTION))
    candidates = np.nonzero(retained >= threshold)[0]
    order = candidates[np.argsort(-retained[candidates], kind="stable")]
    cost = np.cumsum(1 + np.minimum(child_total[order], TOP_CHILDREN))
    budget = max_nodes - 1 - min(TOP_CHILDREN, int(child_total[-1]))  # the root's own rows
    fits = int(np.searchsorted(cost, budget, side="right"))
    if fits < len(order):
        # cut above a size, never inside a run of equal ones: what is kept stays a subtree
        cut = int(retained[order[fits]])
        fits = int(np.searchsorted(-retained[order], -cut, side="left"))
        threshold = cut + 1
    return order[:fits], threshold


def _kept_children(parents: np.ndarray, begin: np.ndarray, children: np.ndarray,
                   retained: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """The children kept under each of ``parents`` (the root and the big objects): their
    TOP_CHILDREN biggest and any big one, grouped by parent in ``parents``' order, biggest
    first. Returns (child objects, position of their parent in ``parents``)."""
    counts = begin[parents + 1] - begin[parents]
    group_start = np.repeat(np.cumsum(counts) - counts, counts)
    parent = np.repeat(np.arange(len(parents)), counts)
    child = children[np.repeat(begin[parents], counts) + np.arange(int(counts.sum()))
                     - group_start]
    order = np.lexsort((child, -retained[child], parent))  # by parent, biggest first
    child, parent = child[order], parent[order]
    rank = np.arange(len(child)) - group_start
    keep = (rank < TOP_CHILDREN) | (retained[child] >= threshold)
    return child[keep], parent[keep]


def _rows_of(objects: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """The row of each of ``objects`` (all kept): kept[i] is on row i + 1."""
    by_object = np.argsort(kept, kind="stable")
    return 1 + by_object[np.searchsorted(kept, objects, sorter=by_object)]


def _class_names(heap, kept: np.ndarray, rows: np.ndarray) -> list[str]:
    """Fill ``rows["name"]`` and return the names: the class of each kept object as the
    report names it (retraced when the heap has a mapping), ``class X`` for class objects."""
    objects, classes = heap.index.objects, heap.index.classes
    is_class = objects.kind[kept] == KIND_CLASS
    instances = np.nonzero(~is_class)[0]
    used, which = np.unique(objects.class_index[kept[instances]], return_inverse=True)
    names = [""]  # row 0, the virtual root
    names += [classes.names[int(k)] for k in used]
    rows["name"][1 + instances] = 1 + which
    class_rows = np.nonzero(is_class)[0]
    rows["name"][1 + class_rows] = len(names) + np.arange(len(class_rows))
    names += [heap.class_name_of(int(kept[r])) for r in class_rows]
    return names


def _padded(size: int) -> int:
    return (size + 7) // 8 * 8


def _data_start(header_length: int) -> int:
    return len(MAGIC) + _LENGTH.size + header_length


# -- reading, one node at a time ----------------------------------------------------------------

@dataclass(frozen=True)
class Node:
    row: int
    object_id: str  # 0x hex; "root" for the virtual root
    class_name: str
    shallow_bytes: int
    retained_bytes: int
    child_count: int  # kept children
    more_count: int  # children left out
    more_bytes: int  # and the bytes they retain

    @property
    def has_children(self) -> bool:
        return self.child_count + self.more_count > 0


class DomTree:
    """A written tree, read from an open binary file with seek: nothing is loaded but the
    header and the rows asked for."""

    def __init__(self, f: BinaryIO):
        self.f = f
        start = f.read(len(MAGIC) + _LENGTH.size)
        if len(start) != len(MAGIC) + _LENGTH.size or start[:len(MAGIC)] != MAGIC:
            raise DomTreeError("not an oomlens dominator tree file")
        (length,) = _LENGTH.unpack(start[len(MAGIC):])
        try:
            self.header = json.loads(f.read(length))
        except ValueError:  # also UnicodeDecodeError
            raise DomTreeError("the dominator tree file's header is damaged") from None
        self._base = _padded(_data_start(length))
        self.reachable_bytes: int = self.header["reachable_bytes"]
        self.threshold_bytes: int = self.header["threshold_bytes"]

    def _read(self, section: str, dtype, first: int, count: int) -> np.ndarray:
        dtype = np.dtype(dtype)
        self.f.seek(self._base + self.header[f"{section}_at"] + first * dtype.itemsize)
        data = self.f.read(count * dtype.itemsize)
        if len(data) != count * dtype.itemsize:
            raise DomTreeError("the dominator tree file is cut short")
        return np.frombuffer(data, dtype)

    def _name(self, index: int) -> str:
        start, end = self._read("name_offsets", "<u8", index, 2)
        self.f.seek(self._base + self.header["names_at"] + int(start))
        return self.f.read(int(end - start)).decode("utf-8", "surrogatepass")

    def _node(self, row: int, record) -> Node:
        return Node(row, "root" if row == ROOT else format_id(int(record["id"])),
                    self._name(int(record["name"])), int(record["shallow"]),
                    int(record["retained"]), int(record["child_count"]),
                    int(record["more_count"]), int(record["more_bytes"]))

    def node(self, row: int) -> Node:
        return self._node(row, self._read("rows", ROW, row, 1)[0])

    def children(self, node: Node, offset: int = 0, limit: int | None = None) -> list[Node]:
        """``node``'s kept children, biggest retained size first: ``limit`` of them from the
        ``offset``-th on (all of them by default)."""
        count = max(0, node.child_count - offset)
        if limit is not None:
            count = min(count, limit)
        if not count:
            return []
        first = int(self._read("rows", ROW, node.row, 1)[0]["first_child"]) + offset
        records = self._read("rows", ROW, first, count)
        return [self._node(first + i, r) for i, r in enumerate(records)]

    def find(self, object_id: int) -> Node | None:
        """The node of the object ``object_id`` (as the dump writes it), if it was kept."""
        lo, hi = 0, self.header["rows"] - 1  # binary search of the sorted ids, read one by one
        while lo < hi:
            mid = (lo + hi) // 2
            if int(self._read("ids", "<i8", mid, 1)[0]) < object_id:
                lo = mid + 1
            else:
                hi = mid
        if lo == self.header["rows"] - 1 or int(self._read("ids", "<i8", lo, 1)[0]) != object_id:
            return None
        return self.node(int(self._read("id_rows", "<u4", lo, 1)[0]))
