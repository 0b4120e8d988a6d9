"""Retained size of all instances of a class taken together.

Summing the instances' retained sizes would count twice what one instance retains through
another (a linked list's nodes). The retained size of the *set* is the sum over the instances
that no other instance of the same class dominates. One walk over the dominator tree, keeping a
count per class of the ancestors currently open, finds them for every class at once.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from oomlens.hprof.scan import KIND_CLASS


@njit(cache=True)
def dominator_children(idom, n):
    """Children of each object in the dominator tree (CSR); the virtual root is slot ``n``."""
    begin = np.zeros(n + 2, np.int64)
    for v in range(n):
        d = idom[v]
        if d != -1:
            begin[(n if d == -2 else d) + 1] += 1
    for i in range(n + 1):
        begin[i + 1] += begin[i]
    children = np.empty(begin[n + 1], np.int32)
    for v in range(n):  # the starts serve as fill cursors, then shift back by one slot
        d = idom[v]
        if d != -1:
            parent = n if d == -2 else d
            children[begin[parent]] = v
            begin[parent] += 1
    for i in range(n + 1, 0, -1):
        begin[i] = begin[i - 1]
    begin[0] = 0
    return begin, children


@njit(cache=True)
def _walk_groups(begin, children, group, retained, shallow, n, n_groups, nesting):
    """One walk of the dominator tree, counting for each group how many of its objects are
    open ancestors of the current one. Returns per group (-1: no group):

    - the retained size of its objects as a set: the sum over the objects no other object of
      the same group dominates;
    - the shallow bytes of its objects;
    - with ``nesting``, ``inside[c, d]``: shallow bytes of group ``c``'s objects that an object
      of group ``d != c`` dominates (how much of one set lives in another's retained set)."""
    total = np.zeros(n_groups, np.int64)
    sizes = np.zeros(n_groups, np.int64)
    inside = np.zeros((n_groups, n_groups) if nesting else (1, 1), np.int64)
    open_count = np.zeros(n_groups, np.int32)
    stack = np.empty(n + 1, np.int32)
    cursor = np.empty(n + 1, np.int64)
    top = 0
    stack[0] = n
    cursor[0] = begin[n]
    while top >= 0:
        v = stack[top]
        e = cursor[top]
        if e < begin[v + 1]:
            cursor[top] = e + 1
            w = children[e]
            c = group[w]
            if c >= 0:
                if open_count[c] == 0:
                    total[c] += retained[w]
                sizes[c] += shallow[w]
                if nesting:
                    for d in range(n_groups):
                        if d != c and open_count[d] > 0:
                            inside[c, d] += shallow[w]
                open_count[c] += 1
            top += 1
            stack[top] = w
            cursor[top] = begin[w]
        else:
            if v != n and group[v] >= 0:
                open_count[group[v]] -= 1
            top -= 1
    return total, sizes, inside


def _retained_by_group(begin, children, group, retained, n, n_groups):
    return _walk_groups(begin, children, group, retained, retained, n, n_groups, False)[0]


def retained_by_class(children: tuple[np.ndarray, np.ndarray], class_index: np.ndarray,
                      kind: np.ndarray, retained: np.ndarray, n_classes: int) -> np.ndarray:
    """Retained bytes of each class's instances as a set (int64 per class). ``children`` is
    ``dominator_children(idom, n)``. Class objects are not instances of java.lang.Class here
    (see ``AnalyzedHeap.histogram``)."""
    group = np.where(kind == KIND_CLASS, -1, class_index).astype(np.int32)
    return _retained_by_group(*children, group, retained, len(retained), n_classes)


def retained_of_set(children: tuple[np.ndarray, np.ndarray], members: np.ndarray,
                    retained: np.ndarray) -> int:
    """Retained bytes of a set of objects (a boolean mask) taken together."""
    group = np.where(members, 0, -1).astype(np.int32)
    return int(_retained_by_group(*children, group, retained, len(retained), 1)[0])


def retained_of_groups(children: tuple[np.ndarray, np.ndarray], groups: list[list[int]],
                       retained: np.ndarray) -> np.ndarray:
    """Retained bytes of several disjoint sets of objects (lists of indices), each taken
    together, in one walk of the dominator tree."""
    if not groups:
        return np.zeros(0, np.int64)
    group = np.full(len(retained), -1, np.int32)
    for g, members in enumerate(groups):
        group[np.asarray(members, np.int64)] = g
    return _retained_by_group(*children, group, retained, len(retained), len(groups))


@njit(cache=True)
def instance_totals(class_index, kind, shallow, n_classes):
    """Instances and shallow bytes per class, class objects left out (one pass)."""
    counts = np.zeros(n_classes, np.int64)
    sizes = np.zeros(n_classes, np.int64)
    for i in range(len(class_index)):
        if kind[i] != KIND_CLASS:
            counts[class_index[i]] += 1
            sizes[class_index[i]] += shallow[i]
    return counts, sizes


def nested_bytes(children: tuple[np.ndarray, np.ndarray], group: np.ndarray,
                 shallow: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """(inside, totals) for disjoint groups of objects (``group``: group per object, -1 for
    none): ``inside[c, d]`` is the shallow bytes of group ``c`` that some object of group ``d``
    dominates; ``totals[c]`` the shallow bytes of group ``c`` in the dominator tree."""
    _, totals, inside = _walk_groups(*children, group, shallow, shallow, len(shallow), n_groups,
                                     True)
    return inside, totals
