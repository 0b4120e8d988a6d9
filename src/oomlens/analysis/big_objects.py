"""Big objects: what retains a megabyte or more, named by the object a developer knows.

Every object retaining at least ``min_bytes`` is a candidate, but most candidates only pass
memory through: an Application holding an Activity holding a cache. The reported objects are
the *accumulation points*, candidates whose memory is not mostly (``ACCUMULATION_SHARE``) in one
dominated child, moved up to their owner: from a ``byte[]`` or a ``HashMap$Node[]`` up through
arrays and collections to the object that owns them (the Bitmap, the ImageCache), stopping below
class objects (a static field's value is the big object, the field its holder). A reported
object dominated by another reported one is folded under it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from oomlens.analysis.app_code import CONTAINER_PACKAGES, AppPackages
from oomlens.analysis.signatures import big_object_signature
from oomlens.analysis.traces import TraceNode, build_path_nodes, path_root_kinds
from oomlens.hprof.scan import KIND_CLASS, KIND_INSTANCE
from oomlens.ids import format_id

ACCUMULATION_SHARE = 0.8
DOMINATED_SHOWN = 5


@dataclass
class BigObject:
    index: int
    class_name: str
    retained_bytes: int
    shallow_bytes: int
    accumulation_point: int  # the object where the memory piles up (may be ``index`` itself)
    holder: str | None  # "Holder.field" of the nearest app object above it
    path: list[TraceNode]
    dominates: list[int]
    nested: list[BigObject] = field(default_factory=list)
    signature: str = ""

    def to_json(self, heap) -> dict:
        ids, retained = heap.index.objects.ids, heap.dominator_tree.retained

        def brief(i: int) -> dict:
            return {"object": format_id(int(ids[i])), "class": heap.class_name_of(i),
                    "retained_bytes": int(retained[i])}

        return {"signature": self.signature, "object": format_id(int(ids[self.index])),
                "class": self.class_name, "retained_bytes": self.retained_bytes,
                "shallow_bytes": self.shallow_bytes, "holder": self.holder,
                "accumulation_point": brief(self.accumulation_point),
                "root_kinds": path_root_kinds(heap, self.path[0].index),
                "path": [n.to_json() for n in self.path],
                "dominates": [brief(i) for i in self.dominates],
                "nested": [n.to_json(heap) for n in self.nested]}


def is_pass_through(heap, index: int) -> bool:
    """Arrays and collection internals: memory they hold belongs to whoever owns them."""
    objects = heap.index.objects
    kind = int(objects.kind[index])
    if kind == KIND_CLASS:
        return False
    if kind != KIND_INSTANCE:
        return True
    return heap.index.classes.names[int(objects.class_index[index])].startswith(
        CONTAINER_PACKAGES)


def _owner(heap, index: int) -> int:
    """Up the dominator tree from ``index`` while the object is an array or a collection,
    stopping below class objects and the virtual root."""
    idom = heap.dominator_tree.idom
    objects = heap.index.objects
    current = index
    while is_pass_through(heap, current):
        parent = int(idom[current])
        if parent < 0 or int(objects.kind[parent]) == KIND_CLASS:
            break
        current = parent
    return current


def _children_stats(heap, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each node: its biggest dominated child's retained size, and the retained size of
    its children that are class objects (memory held in static fields)."""
    begin, children = heap.dominator_children
    retained = heap.dominator_tree.retained
    kind = heap.index.objects.kind
    largest = np.zeros(len(nodes), np.int64)
    in_classes = np.zeros(len(nodes), np.int64)
    for j, v in enumerate(nodes.tolist()):
        kids = children[begin[v]:begin[v + 1]]
        if len(kids):
            sizes = retained[kids].astype(np.int64)
            largest[j] = sizes.max()
            in_classes[j] = sizes[kind[kids] == KIND_CLASS].sum()
    return largest, in_classes


def find_big_objects(heap, finder, app: AppPackages, min_bytes: int = 1 << 20,
                     limit: int = 50) -> tuple[list[BigObject], int]:
    """The ``limit`` biggest big objects, nested ones folded under their reported dominator,
    and how many there are in all (a report that lists 50 says of how many)."""
    tree = heap.dominator_tree
    retained = tree.retained
    # Class objects are not big objects: each static field's value is judged on its own.
    candidates = np.nonzero((retained >= min_bytes) & (tree.idom != -1)
                            & (heap.index.objects.kind != KIND_CLASS))[0]
    if "app" in heap.heap_names:  # Android: zygote and image objects are the system's
        candidates = candidates[heap.index.objects.heap[candidates] ==
                                heap.heap_names.index("app")]
    largest, in_classes = _children_stats(heap, candidates)
    sizes = retained[candidates]
    # A class loader's list of classes holds every static field of the app: not an object
    # anyone would call big, so points whose memory sits mostly in class objects are skipped.
    points = candidates[(largest < ACCUMULATION_SHARE * sizes) & (2 * in_classes < sizes)]
    owners: dict[int, int] = {}
    for point in points[np.argsort(-retained[points], kind="stable")].tolist():
        owner = _owner(heap, point)
        owners.setdefault(owner, point)
    reported = set(owners)
    objects = heap.index.objects
    begin, children = heap.dominator_children
    items: dict[int, BigObject] = {}
    for owner, point in owners.items():
        chain = finder.chain(owner) or [owner]
        path = build_path_nodes(heap, chain, app)
        kids = children[begin[owner]:begin[owner + 1]]
        kids = kids[np.argsort(-retained[kids], kind="stable")][:DOMINATED_SHOWN]
        name = heap.class_name_of(owner)
        holder = _holder_label(path)
        items[owner] = BigObject(owner, name, int(retained[owner]), int(objects.shallow[owner]),
                                 point, holder, path, [int(k) for k in kids],
                                 signature=big_object_signature(name, holder))
    top_level = []
    for owner, item in items.items():
        parent = int(tree.idom[owner])
        while parent >= 0 and parent not in reported:
            parent = int(tree.idom[parent])
        if parent >= 0:
            items[parent].nested.append(item)
        else:
            top_level.append(item)
    for item in items.values():
        item.nested.sort(key=lambda b: -b.retained_bytes)
    top_level.sort(key=lambda b: (-b.retained_bytes, b.class_name))
    return top_level[:limit], len(top_level)


def _holder_label(path: list[TraceNode]) -> str | None:
    """``Holder.field`` of the nearest app object above the big object on its path; without
    one, the nearest object that is not an array or a collection."""
    above = path[:-1]
    for node in reversed(above):
        if node.app:
            return node.reference_label
    for node in reversed(above):
        if not node.class_name.endswith("[]") and \
                not node.class_name.startswith(CONTAINER_PACKAGES):
            return node.reference_label
    return None
