"""How strongly each object is reachable: strong, soft, weak, finalizer, phantom, or not at all.

The VM clears soft and weak references before it throws an OutOfMemoryError, so only strongly
reachable memory can have caused one; but a soft-reference cache or a queue of objects waiting
for finalization is still worth reporting, so nothing is dropped: every object gets the
strongest kind of path that reaches it. A path is as strong as its weakest link; an object is as
strongly reachable as its strongest path (soft > weak > finalizer > phantom).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from oomlens.heap.classes import REF_FINALIZER, REF_PHANTOM, REF_SOFT, REF_WEAK

STRONG = 0
SOFT = REF_SOFT
WEAK = REF_WEAK
FINALIZER = REF_FINALIZER
PHANTOM = REF_PHANTOM
UNREACHABLE = 5
LEVEL_NAMES = {STRONG: "strong", SOFT: "soft", WEAK: "weak", FINALIZER: "finalizer",
               PHANTOM: "phantom", UNREACHABLE: "unreachable"}


@dataclass
class Reachability:
    level: np.ndarray  # int8 per object

    def summary(self, shallow: np.ndarray) -> dict[str, dict[str, int]]:
        """Objects and shallow bytes per reachability level."""
        counts, sizes = _level_totals(self.level, shallow, UNREACHABLE + 1)
        return {LEVEL_NAMES[k]: {"objects": int(counts[k]), "bytes": int(sizes[k])}
                for k in LEVEL_NAMES}


@njit(cache=True)
def _level_totals(level, shallow, n_levels):
    """Objects and bytes per level without widening the int8 levels into a temporary."""
    counts = np.zeros(n_levels, np.int64)
    sizes = np.zeros(n_levels, np.int64)
    for i in range(len(level)):
        counts[level[i]] += 1
        sizes[level[i]] += shallow[i]
    return counts, sizes


@njit(cache=True)
def _spread(begin, targets, level, queue, head, tail, value):
    """Breadth-first along strong edges from queue[head:tail], labelling new objects."""
    while head < tail:
        v = queue[head]
        head += 1
        for e in range(begin[v], begin[v + 1]):
            w = targets[e]
            if level[w] == 5:
                level[w] = value
                queue[tail] = w
                tail += 1
    return tail


@njit(cache=True)
def _classify(begin, targets, strongly_reachable, weak_source, weak_target, weak_kind, n):
    level = np.full(n, 5, np.int8)
    for v in strongly_reachable:
        level[v] = 0
    queue = np.empty(n, np.int32)
    for strength in range(1, 5):  # soft, weak, finalizer, phantom
        changed = True
        while changed:
            changed = False
            tail = 0
            for e in range(weak_source.shape[0]):
                s = weak_source[e]
                t = weak_target[e]
                if level[s] <= strength and weak_kind[e] <= strength and level[t] == 5:
                    level[t] = strength
                    queue[tail] = t
                    tail += 1
            if tail > 0:
                changed = True
                _spread(begin, targets, level, queue, 0, tail, strength)
    return level


def classify(graph, strongly_reachable: np.ndarray, n: int) -> Reachability:
    level = _classify(graph.begin, graph.targets, strongly_reachable.astype(np.int32),
                      graph.weak_source, graph.weak_target, graph.weak_kind, n)
    return Reachability(level=level)
