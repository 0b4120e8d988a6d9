"""Class clusters: many instances of one class that together retain a lot.

A feed that keeps every cell it ever showed has no single big object, but its 364 ``ArticleCell``
objects retain 51 MB between them. A class is a cluster when it has more than ``min_instances``
instances whose retained size *as a set* (``class_retained.py``) exceeds ``min_bytes``. The
report says who holds them: for each instance, the first object on its path that is not an
array, a collection or another instance of the class, and the field it holds them by.

The memory of a cluster's ``byte[]`` images is the memory of the ``ArticleCell`` cluster too: a
cluster whose instances lie mostly (``FOLD_SHARE`` of their bytes) inside another cluster's
retained set, or whose rest outside it would be too small to be a cluster, is folded under it
rather than reported twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from oomlens.analysis.app_code import CONTAINER_PACKAGES
from oomlens.analysis.class_retained import nested_bytes
from oomlens.analysis.paths import describe_reference
from oomlens.analysis.signatures import cluster_signature
from oomlens.hprof.scan import KIND_CLASS

FOLD_SHARE = 0.8
OWNER_SAMPLE = 5000  # instances whose owner is looked up, biggest first
_MAX_OWNER_HOPS = 64
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


def _owner_pairs(heap, finder, members: np.ndarray, class_index: int,
                 through: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, child) for each member: up its path past arrays, collections and instances of
    its own class (linked structures), all members a step at a time. Owner -1: none found."""
    objects = heap.index.objects
    parent = finder.parent
    child = members.astype(np.int64)
    current = parent[child].astype(np.int64)
    for _ in range(_MAX_OWNER_HOPS):
        live = current >= 0
        cls = np.where(live, objects.class_index[np.maximum(current, 0)], -1)
        is_class = live & (objects.kind[np.maximum(current, 0)] == KIND_CLASS)
        passing = live & ~is_class & (through[cls] | (cls == class_index))
        if not passing.any():
            break
        child = np.where(passing, current, child)
        current = np.where(passing, parent[np.maximum(current, 0)], current)
    current[current < 0] = -1
    return current, child


def _owners(heap, finder, cluster: ClassCluster, through: np.ndarray) -> list[dict]:
    """The holders of a sample of the cluster's instances, biggest first: ``Owner.field``."""
    retained = heap.dominator_tree.retained
    members = heap.instance_indices_of([cluster.class_index], subclasses=False)
    members = members[finder.parent[members] != -1]
    members = members[np.argsort(-retained[members], kind="stable")][:OWNER_SAMPLE]
    cluster.owners_sampled = len(members)
    owners, children = _owner_pairs(heap, finder, members, cluster.class_index, through)
    pairs, counts = np.unique(np.stack([owners, children]), axis=1, return_counts=True)
    labels: Counter = Counter()
    for (owner, child), n in zip(pairs.T.tolist(), counts.tolist()):
        if owner < 0:
            continue
        reference, kind = describe_reference(heap, owner, child)
        holder = heap.class_name_of(owner).removeprefix("class ")
        labels[f"{holder}{reference}" if kind == "element" else f"{holder}.{reference}"] += n
    return [{"holder": holder, "instances": n} for holder, n in labels.most_common(OWNERS_SHOWN)]


def find_clusters(heap, finder, min_instances: int = 10,
                  min_bytes: int = 20 << 20, limit: int = 20
                  ) -> tuple[list[ClassCluster], int]:
    n_classes = len(heap.index.classes)
    counts, shallow = heap.instance_totals
    set_retained = heap.class_retained
    # Object arrays and collections pass memory through: the class of what they hold, or of
    # what holds them, is the cluster worth naming.
    containers = np.array([_is_container_class(heap, k) for k in range(n_classes)], bool)
    chosen = np.nonzero((counts > min_instances) & (set_retained > min_bytes) & ~containers)[0]
    # owners are looked for above arrays of any kind and collections
    through = containers | (heap.index.classes.element_type[:n_classes] != 0)
    clusters = {int(k): ClassCluster(heap.index.classes.names[k], int(k), int(counts[k]),
                                     int(shallow[k]), int(set_retained[k]),
                                     signature=cluster_signature(heap.index.classes.names[k]))
                for k in chosen}
    _fold(heap, clusters, min_bytes)
    top = [c for c in clusters.values() if not c.folded]
    top.sort(key=lambda c: (-c.retained_bytes, c.class_name))
    for cluster in top[:limit]:  # owners only for those listed: each is a walk of the graph
        cluster.owners = _owners(heap, finder, cluster, through)
    return top[:limit], len(top)


def _fold(heap, clusters: dict[int, ClassCluster], min_bytes: int) -> None:
    """Fold each cluster lying mostly inside another cluster's retained set under it (the
    ``byte[]`` images under the cells that own them). Primitive arrays own nothing, so they
    are never the outer cluster; the bigger outer cluster is tried first. A cluster is folded
    when most of it is inside, or when what is outside would not make a cluster by itself."""
    objects = heap.index.objects
    order = sorted(clusters, key=lambda k: (-clusters[k].retained_bytes, k))
    if len(order) < 2:
        return
    slot = np.full(len(heap.index.classes), -1, np.int32)
    slot[order] = np.arange(len(order), dtype=np.int32)
    group = slot[objects.class_index]
    group[objects.kind == KIND_CLASS] = -1
    # the walk covers the dominator tree only: garbage in the dump counts nowhere
    inside, totals = nested_bytes(heap.dominator_children, group, objects.shallow, len(order))
    element = heap.index.classes.element_type
    for d, outer in enumerate(order):
        if clusters[outer].folded or element[outer] != 0:
            continue
        for c, inner in enumerate(order):
            if inner == outer or clusters[inner].folded or clusters[inner].contains:
                continue
            total, held = int(totals[c]), int(inside[c, d])
            if total and (held >= FOLD_SHARE * total or held and total - held <= min_bytes):
                clusters[outer].contains.append(clusters[inner])
                clusters[inner].folded = True
