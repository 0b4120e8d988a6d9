"""Who holds an object: the first referrers above it that are not collections or arrays.

The direct referrer of a leaked thread, stream or bitmap is rarely informative: it is an
``Object[]`` inside an ``ArrayList``, a ``HashMap$Node``, a ``BufferedInputStream``. The class
worth naming is the first one above those, the application's own object (or a static field, shown
as ``class com.example.Foo``). This module walks up the reference graph from a set of targets,
passing through collections, object arrays and whatever else the caller says to look through,
and stops at the first other referrers: the holders.

The heap index stores references forward only (object -> what it references), so referrers are
found by a pass over the whole edge list. Each pass serves every object asked about at once: a
walk over thousands of targets costs one pass per hop, not one per target.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import numpy as np

from oomlens.hprof.scan import KIND_CLASS, KIND_OBJECT_ARRAY

# The JDK's collections (and their inner classes: nodes, entries, views), looked through.
COLLECTION_CLASS = re.compile(
    r"^java\.util\.(ArrayList|LinkedList|HashMap|HashSet|LinkedHashMap|LinkedHashSet|Vector|"
    r"Stack|ArrayDeque|PriorityQueue|TreeMap|TreeSet|IdentityHashMap|WeakHashMap|Hashtable|"
    r"Collections\$\w+|Arrays\$ArrayList|ImmutableCollections\$\w+|"
    r"concurrent\.(ConcurrentHashMap|ConcurrentSkipListMap|ConcurrentSkipListSet|"
    r"CopyOnWriteArrayList|CopyOnWriteArraySet|ConcurrentLinkedQueue|ConcurrentLinkedDeque|"
    r"LinkedBlockingQueue|LinkedBlockingDeque|ArrayBlockingQueue))(\$\w+)?$"
    r"|^android\.util\.(ArrayMap|ArraySet|SparseArray|LongSparseArray|LruCache)$")

DEFAULT_MAX_HOPS = 4

ClassNameTest = Callable[[str], object]  # e.g. a compiled pattern's ``match``


def _never(_name: str) -> bool:
    return False


def referrers_by_target(heap, targets: Iterable[int] | np.ndarray) -> dict[int, list[int]]:
    """For each target index, the indices of the objects holding a strong reference to it
    (a referrer appears once per reference), from the heap's reverse edge index; targets
    nothing references map to an empty list, so callers can tell "none" from "not asked"."""
    targets = np.unique(np.fromiter(targets, np.int64)).astype(np.int32)
    referrers: dict[int, list[int]] = {int(t): [] for t in targets.tolist()}
    if not len(targets):
        return referrers
    for target in referrers:
        referrers[target] = heap.referrers_of(target).tolist()
    return referrers


def holding_objects(heap, targets: Iterable[int], *, ignore: ClassNameTest = _never,
                    look_through: ClassNameTest = _never, max_hops: int = DEFAULT_MAX_HOPS,
                    referrers: dict[int, list[int]] | None = None) -> dict[int, list[int]]:
    """For each target index, the indices of its holders: the first referrers, walking up from
    the target, that are neither collections (``COLLECTION_CLASS``), object arrays, nor classes
    ``look_through`` accepts (wrappers such as buffered streams). Referrers whose class
    ``ignore`` accepts are dropped with everything above them: bookkeeping that references the
    target without owning it (a thread's ThreadGroup, a stream's cleaner). Class names are as
    ``Heap.class_name_of`` gives them (``class X`` for a class object, i.e. a static field).

    The walk stops after ``max_hops`` levels of looking through; a target held only by
    collections nobody holds within that distance has no holders. ``referrers`` is a cache of
    ``referrers_by_target`` results, extended in place (pass the same dict to several calls)."""
    referrers = {} if referrers is None else referrers
    targets = [int(t) for t in targets]
    frontier = {t: [t] for t in targets}
    seen = {t: {t} for t in targets}
    holders: dict[int, list[int]] = {t: [] for t in targets}
    kinds = heap.index.objects.kind
    for _ in range(max_hops):
        unknown = {obj for objs in frontier.values() for obj in objs if obj not in referrers}
        if unknown:
            referrers.update(referrers_by_target(heap, np.fromiter(unknown, np.int64)))
        next_frontier: dict[int, list[int]] = {}
        for target, objs in frontier.items():
            passed_through = []
            for obj in objs:
                for ref in referrers.get(obj, ()):
                    if ref in seen[target]:
                        continue
                    seen[target].add(ref)
                    name = heap.class_name_of(ref)
                    if ignore(name):
                        continue
                    if (kinds[ref] == KIND_OBJECT_ARRAY or COLLECTION_CLASS.match(name)
                            or (kinds[ref] != KIND_CLASS and look_through(name))):
                        passed_through.append(ref)
                    else:
                        holders[target].append(ref)
            if passed_through:
                next_frontier[target] = passed_through
        if not next_frontier:
            break
        frontier = next_frontier
    return holders


def holder_classes(heap, targets: Iterable[int], *, ignore: ClassNameTest = _never,
                   look_through: ClassNameTest = _never, max_hops: int = DEFAULT_MAX_HOPS,
                   referrers: dict[int, list[int]] | None = None) -> dict[int, set[str]]:
    """For each target index, the class names of its holders (see ``holding_objects``)."""
    found = holding_objects(heap, targets, ignore=ignore, look_through=look_through,
                            max_hops=max_hops, referrers=referrers)
    return {t: {heap.class_name_of(h) for h in objs} for t, objs in found.items()}
