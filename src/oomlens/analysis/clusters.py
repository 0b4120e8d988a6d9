"""Class clusters: many instances of one class that together retain a lot.

A feed that keeps every cell it ever showed has no single big object, but its 364 ``ArticleCell``
objects retain 51 MB between them. A class is a cluster when it has more than ``min_instances``
instances whose retained size *as a set* (``class_retained.py``) exceeds ``min_bytes``. The
report says who holds them: for each instance, the first object on its path that is not an
array, a collection or another instance of the class, and the field it holds them by.

The memory of a cluster's ``byte[]`` images is the memory of the ``ArticleCell`` cluster too: a
cluster whose instances lie mostly (``FOLD_SHARE`` of their bytes) inside another cluster's
retained set is folded under it rather than reported twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from oomlens.analysis.app_code import AppPackages
from oomlens.analysis.big_objects import CONTAINER_PACKAGES, is_pass_through
from oomlens.analysis.class_retained import dominated_by
from oomlens.analysis.paths import describe_reference
from oomlens.analysis.signatures import cluster_signature
from oomlens.hprof.scan import KIND_CLASS, KIND_PRIMITIVE_ARRAY

FOLD_SHARE = 0.8
OWNER_SAMPLE = 5000  # instances whose owner is looked up, biggest first
OWNERS_SHOWN = 10


@dataclass
class ClassCluster:
    class_name: str
    class_index: int
    instances: int
    shallow_bytes: int
    retained_bytes: int
    owners: list[dict] = field(default_factory=list)
    owners_sampled: int = 0
    contains: list[ClassCluster] = field(default_factory=list)
    signature: str = ""
    folded: bool = False  # listed under a bigger cluster that holds it

    def to_json(self) -> dict:
        return {"signature": self.signature, "class": self.class_name,
                "instances": self.instances, "shallow_bytes": self.shallow_bytes,
                "retained_bytes": self.retained_bytes, "owners": self.owners,
                "owners_sampled": self.owners_sampled,
                "contains": [c.to_json() for c in self.contains]}


def _is_container_class(heap, class_index: int) -> bool:
    name = heap.index.classes.names[class_index]
    if name.endswith("[]"):
        return heap.index.classes.element_type[class_index] == 0  # object arrays only
    return name.startswith(CONTAINER_PACKAGES)


def _owner_label(heap, finder, index: int, class_index: int, app: AppPackages,
                 names: dict[tuple[int, int], str]) -> str | None:
    """``Owner.field`` for one instance: up its path past arrays, collections and instances of
    its own class (linked structures)."""
    objects = heap.index.objects
    parent = finder.parent
    child = index
    current = int(parent[index])
    while current >= 0:
        same_class = int(objects.class_index[current]) == class_index and \
            int(objects.kind[current]) != KIND_CLASS
        if not same_class and not is_pass_through(heap, current):
            key = (current, child)
            if key not in names:
                reference, kind = describe_reference(heap, current, child)
                holder = heap.class_name_of(current)
                if holder.startswith("class "):
                    holder = holder[len("class "):]
                names[key] = f"{holder}{reference}" if kind == "element" else \
                    f"{holder}.{reference}"
            return names[key]
        child, current = current, int(parent[current])
    return None


def find_clusters(heap, finder, app: AppPackages, min_instances: int = 10,
                  min_bytes: int = 20 << 20, limit: int = 20) -> list[ClassCluster]:
    objects = heap.index.objects
    not_class = objects.kind != KIND_CLASS
    n_classes = len(heap.index.classes)
    counts = np.bincount(objects.class_index[not_class], minlength=n_classes)
    shallow = np.bincount(objects.class_index[not_class], weights=objects.shallow[not_class],
                          minlength=n_classes)
    set_retained = heap.class_retained
    # Object arrays and collections pass memory through: the class of what they hold, or of
    # what holds them, is the cluster worth naming.
    through = np.array([_is_container_class(heap, k) for k in range(n_classes)], bool)
    chosen = np.nonzero((counts > min_instances) & (set_retained > min_bytes) & ~through)[0]
    clusters = {int(k): ClassCluster(heap.index.classes.names[k], int(k), int(counts[k]),
                                     int(shallow[k]), int(set_retained[k]),
                                     signature=cluster_signature(heap.index.classes.names[k]))
                for k in chosen}
    _fold(heap, clusters)
    retained = heap.dominator_tree.retained
    for k, cluster in clusters.items():
        members = heap.instance_indices_of([k], subclasses=False)
        members = members[np.argsort(-retained[members], kind="stable")][:OWNER_SAMPLE]
        names: dict[tuple[int, int], str] = {}
        owners = Counter(_owner_label(heap, finder, int(i), k, app, names)
                         for i in members.tolist())
        cluster.owners_sampled = len(members)
        cluster.owners = [{"holder": holder, "instances": n}
                          for holder, n in owners.most_common(OWNERS_SHOWN) if holder]
    top = [c for c in clusters.values() if not c.folded]
    top.sort(key=lambda c: (-c.retained_bytes, c.class_name))
    return top[:limit]


def _fold(heap, clusters: dict[int, ClassCluster]) -> None:
    """Fold each cluster lying mostly inside another cluster's retained set under it (the
    ``byte[]`` images under the cells that own them). Primitive arrays own nothing, so they
    are never the outer cluster; the bigger outer cluster is tried first."""
    objects = heap.index.objects
    begin, children = heap.dominator_children
    order = sorted(clusters, key=lambda k: (-clusters[k].retained_bytes, k))
    live = heap.dominator_tree.idom != -1  # garbage in the dump is in no retained set
    members = {k: (objects.class_index == k) & (objects.kind != KIND_CLASS) & live
               for k in order}
    primitive = {k: bool((objects.kind[members[k]] == KIND_PRIMITIVE_ARRAY).all())
                 for k in order}
    for outer in order:
        if clusters[outer].folded or primitive[outer]:
            continue
        inside = dominated_by(begin, children, members[outer], heap.object_count)
        inside &= ~members[outer]
        for inner in order:
            if inner == outer or clusters[inner].folded or clusters[inner].contains:
                continue
            total = objects.shallow[members[inner]].sum()
            if total and objects.shallow[members[inner] & inside].sum() >= FOLD_SHARE * total:
                clusters[outer].contains.append(clusters[inner])
                clusters[inner].folded = True
