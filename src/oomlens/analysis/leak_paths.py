"""Shortest strong paths for leak traces, with known library references walked last.

A leak trace should show the reference the app can fix. Two kinds of references are real but
rarely that reference, so the search takes them only when nothing else reaches an object:

- known framework / JDK leak references (``known_leaks.LIBRARY_LEAKS``, e.g.
  ``InputMethodManager.mNextServedView``): an object reached only through one is a *library leak*,
  reported apart from the app's own leaks;
- JNI global roots: native code (Binder, the VM's own bookkeeping) holds many framework objects;
  when a Java field holds the same object, that field is what the developer can change. The
  LeakCanary sample dump shows it: the leaking Binder is both a JNI global and the value of the
  static field ``LeakyService.leakAllTheBinders``, and the static field is the answer.

The search minimises (deferred references taken, then length): a breadth-first search from the
ordinary roots over ordinary references, then, level by level, from the targets of deferred
references (and from JNI globals) it met. References LeakCanary never follows
(``known_leaks.IGNORED_REFERENCES``) are not walked at all. Class objects count as roots here:
on Android every loaded class is a sticky-class root anyway, and on a JVM the way from the
system class loader down to a class is the same for every static field and tells nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from oomlens.analysis.fields import FieldReader
from oomlens.hprof import constants as C
from oomlens.hprof.scan import KIND_CLASS

EDGE_NORMAL = 0
EDGE_DEFERRED = 1
EDGE_IGNORED = 2

NO_PARENT = -1
FROM_ROOT = -2


@njit(cache=True)
def deferred_bfs(begin, targets, edge_state, roots, late_roots, n):
    """Parents on paths minimising (deferred edges, length): FROM_ROOT for the roots,
    NO_PARENT for objects no path reaches. Each level is a breadth-first search over ordinary
    edges; the deferred edges it meets seed the next level."""
    parent = np.full(n, -1, np.int32)
    queue = np.empty(n, np.int32)
    n_deferred = 0
    for e in range(len(edge_state)):
        if edge_state[e] == 1:
            n_deferred += 1
    pending_src = np.empty(n_deferred, np.int32)  # each deferred edge is met at most once
    pending_dst = np.empty(n_deferred, np.int32)
    tail = 0
    for r in roots:
        if parent[r] == -1:
            parent[r] = -2
            queue[tail] = r
            tail += 1
    head = 0
    level = 0
    while True:  # once at least: late roots are seeded after the first level, even an empty one
        n_pending = 0
        while head < tail:
            v = queue[head]
            head += 1
            for e in range(begin[v], begin[v + 1]):
                w = targets[e]
                if parent[w] != -1:
                    continue
                state = edge_state[e]
                if state == 0:
                    parent[w] = v
                    queue[tail] = w
                    tail += 1
                elif state == 1:
                    pending_src[n_pending] = v
                    pending_dst[n_pending] = w
                    n_pending += 1
        level += 1
        if level == 1:
            for r in late_roots:
                if parent[r] == -1:
                    parent[r] = -2
                    queue[tail] = r
                    tail += 1
        for i in range(n_pending):
            w = pending_dst[i]
            if parent[w] == -1:
                parent[w] = pending_src[i]
                queue[tail] = w
                tail += 1
        if head == tail:
            return parent


@dataclass
class MarkedEdge:
    """A reference matched by a known pattern: where it is in the edge list, and which."""

    holder: int
    target: int
    pattern: object  # known_leaks.ReferencePattern


def _edges_between(begin, targets, holder: int, target: int) -> np.ndarray:
    lo, hi = int(begin[holder]), int(begin[holder + 1])
    return lo + np.nonzero(targets[lo:hi] == target)[0]


def match_patterns(heap, patterns) -> list[MarkedEdge]:
    """The references in this dump that the patterns name: the static field of a class, or the
    instance field of every instance of a class (subclasses included), the field being the one
    that class declares or inherits (a subclass's field of the same name is not it:
    ``fields.FieldReader``). Patterns whose class the dump lacks cost nothing; the instances of
    the others are found in one pass."""
    found = []
    reader = FieldReader(heap)
    by_class: dict[int, list] = {}
    for pattern in patterns:
        class_indices = heap.index.classes.by_name(pattern.class_name)
        if not len(class_indices):
            continue
        if pattern.static:
            for cls in heap.classes_named(pattern.class_name):
                holder = cls.class_object
                value = cls.static_fields().get(pattern.field) if holder is not None else None
                if getattr(value, "index", None) is not None:
                    found.append(MarkedEdge(holder.index, value.index, pattern))
            continue
        for k in heap.class_indices_with_subclasses(class_indices).tolist():
            by_class.setdefault(k, []).append(pattern)
    if by_class:
        objects = heap.index.objects
        holders = np.nonzero(np.isin(objects.class_index, np.array(list(by_class), np.int32))
                             & (objects.kind != KIND_CLASS))[0]
        for holder in holders.tolist():
            for pattern in by_class[int(objects.class_index[holder])]:
                value = reader.value(holder, pattern.class_name, pattern.field)
                if getattr(value, "index", None) is not None:
                    found.append(MarkedEdge(holder, value.index, pattern))
    return found


class LeakPathFinder:
    """Paths for leak traces over one heap: edge states built once, parents computed once."""

    def __init__(self, heap, library_patterns, ignored_patterns):
        self.heap = heap
        g = heap.index.graph
        self.edge_state = np.zeros(g.edge_count, np.int8)
        self.library_edges: dict[tuple[int, int], object] = {}
        for mark in match_patterns(heap, library_patterns):
            self.edge_state[_edges_between(g.begin, g.targets, mark.holder, mark.target)] = \
                EDGE_DEFERRED
            self.library_edges[(mark.holder, mark.target)] = mark.pattern
        for mark in match_patterns(heap, ignored_patterns):
            self.edge_state[_edges_between(g.begin, g.targets, mark.holder, mark.target)] = \
                EDGE_IGNORED
        roots = heap.index.roots
        real = (roots.object_index >= 0) & (roots.kind != C.ROOT_UNREACHABLE)
        late = np.unique(roots.object_index[real & (roots.kind == C.ROOT_JNI_GLOBAL)])
        early = np.unique(roots.object_index[real & (roots.kind != C.ROOT_JNI_GLOBAL)])
        if not len(early) and not len(late):
            early = heap._gc_root_objects  # a dump without roots: the stand-ins
        reachable = heap.dominator_tree.idom != -1
        classes = np.nonzero((heap.index.objects.kind == KIND_CLASS) & reachable)[0]
        early = np.union1d(early, classes).astype(np.int32)
        late = np.setdiff1d(late, early).astype(np.int32)
        self.parent = deferred_bfs(g.begin, g.targets, self.edge_state, early, late,
                                               heap.object_count)

    def is_reachable(self, index: int) -> bool:
        return self.parent[index] != NO_PARENT

    def chain(self, index: int) -> list[int] | None:
        """Object indices from a root down to ``index``; None if no path."""
        if self.parent[index] == NO_PARENT:
            return None
        chain = [index]
        while self.parent[chain[-1]] != FROM_ROOT:
            chain.append(int(self.parent[chain[-1]]))
            if len(chain) > len(self.parent):
                raise RuntimeError("cycle in leak-path parents")
        chain.reverse()
        return chain

    def library_pattern_on(self, chain: list[int]):
        """The first known library reference the chain takes, or None."""
        for holder, target in zip(chain, chain[1:]):
            pattern = self.library_edges.get((holder, target))
            if pattern is not None and self.edge_state_between(holder, target) == EDGE_DEFERRED:
                return pattern
        return None

    def edge_state_between(self, holder: int, target: int) -> int:
        g = self.heap.index.graph
        edges = _edges_between(g.begin, g.targets, holder, target)
        return int(self.edge_state[edges].min()) if len(edges) else EDGE_NORMAL
