"""Threads grouped by name pattern, with counts and what holds them.

When an app dies because no thread can be created, the dump still shows the threads it had:
hundreds named ``pool-7-thread-N`` point at an executor created per request; the objects that
reference the threads say whose executor it is. Names are folded into patterns by replacing each
run of digits with ``#``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from oomlens.hprof.scan import KIND_OBJECT_ARRAY

_DIGITS = re.compile(r"\d+")
SAMPLE_NAMES = 5
# Between a thread and its owner there are often collections: passed through.
_CONTAINER = re.compile(
    r"^java\.util\.(ArrayList|LinkedList|HashMap|HashSet|LinkedHashMap|LinkedHashSet|Vector|"
    r"ArrayDeque|TreeMap|TreeSet|IdentityHashMap|WeakHashMap|Collections\$\w+|"
    r"concurrent\.(ConcurrentHashMap|CopyOnWriteArrayList|CopyOnWriteArraySet|"
    r"ConcurrentLinkedQueue|LinkedBlockingQueue|ArrayBlockingQueue))(\$\w+)?$")
# Bookkeeping that references threads without owning them: the VM's thread groups, and the
# state of locks and latches (owner threads, wait queues of parked threads).
_BOOKKEEPING = re.compile(r"^(java\.lang\.ThreadGroup|java\.lang\.Thread\[\]|"
                          r"java\.util\.concurrent\.locks\..*)$")
_MAX_HOPS = 4


def name_pattern(name: str) -> str:
    return _DIGITS.sub("#", name)


@dataclass
class ThreadGroupSummary:
    pattern: str
    count: int
    names: list[str]  # a few examples
    holders: dict[str, int] = field(default_factory=dict)  # holder class -> threads it holds

    def to_json(self) -> dict:
        return {"pattern": self.pattern, "count": self.count, "names": self.names,
                "holders": self.holders}


def thread_name(thread) -> str:
    value = thread.get("name")
    text = value.as_string() if value is not None and hasattr(value, "as_string") else None
    return text if text is not None else "<unnamed>"


def _referrers_of(heap, targets: np.ndarray) -> dict[int, list[int]]:
    """Objects referencing each target (strong edges), from one pass over the edge list."""
    g = heap.index.graph
    hit = np.isin(g.targets, targets)
    edges = np.nonzero(hit)[0]
    sources = np.searchsorted(g.begin, edges, side="right") - 1
    referrers: dict[int, list[int]] = {}
    for src, dst in zip(sources.tolist(), g.targets[edges].tolist()):
        referrers.setdefault(dst, []).append(src)
    return referrers


def _holders(heap, thread: int, referrers: dict[int, list[int]]) -> set[str]:
    """Classes of the first owners above a thread: its referrers, looking through collections
    and object arrays (a few hops at most), ignoring the VM's thread bookkeeping."""
    found: set[str] = set()
    frontier, seen = [thread], {thread}
    for _ in range(_MAX_HOPS):
        containers = []
        for obj in frontier:
            for ref in referrers.get(obj, []):
                if ref in seen:
                    continue
                seen.add(ref)
                name = heap.class_name_of(ref)
                if _BOOKKEEPING.match(name):
                    continue
                if heap.index.objects.kind[ref] == KIND_OBJECT_ARRAY or _CONTAINER.match(name):
                    containers.append(ref)
                else:
                    found.add(name)
        if not containers:
            break
        frontier = containers
        referrers.update(_referrers_of(heap, np.array(containers, np.int32)))
    return found


def group_threads(heap) -> list[ThreadGroupSummary]:
    """Threads (java.lang.Thread and subclasses) grouped by name pattern, biggest group first."""
    threads = heap.instance_indices("java.lang.Thread")
    referrers = _referrers_of(heap, threads.astype(np.int32))
    groups: dict[str, ThreadGroupSummary] = {}
    holder_counts: dict[str, Counter] = {}
    for index in threads.tolist():
        name = thread_name(heap.object_at(index))
        pattern = name_pattern(name)
        group = groups.setdefault(pattern, ThreadGroupSummary(pattern, 0, []))
        group.count += 1
        if len(group.names) < SAMPLE_NAMES:
            group.names.append(name)
        holder_counts.setdefault(pattern, Counter()).update(_holders(heap, index, referrers))
    for pattern, group in groups.items():
        group.holders = dict(holder_counts[pattern].most_common())
    return sorted(groups.values(), key=lambda g: (-g.count, g.pattern))
