"""The exact dominator tree over strong references, and retained sizes.

A virtual root sits above every GC root; object ``d`` dominates ``x`` when every strong path from
the virtual root to ``x`` passes through ``d``. The retained size of ``d`` is the memory freed if
``d`` became unreachable: its own shallow size plus that of everything it dominates.

Algorithm: Semi-NCA (Georgiadis, Tarjan & Werneck's engineering of Lengauer-Tarjan): a DFS
numbers the reachable objects, semi-dominators come from the predecessors with iterative path
compression, and each immediate dominator is the nearest common ancestor of the DFS parent and
the semi-dominator on the tree built so far. All loops are Numba kernels over int32 arrays; no
recursion, so deep chains (long linked lists) cannot overflow a stack.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

VIRTUAL_ROOT = -2  # dominator of the GC roots' children of the virtual root
UNREACHABLE = -1  # not strongly reachable: no dominator


@dataclass
class DominatorTree:
    idom: np.ndarray  # int32 per object: immediate dominator index, VIRTUAL_ROOT or UNREACHABLE
    retained: np.ndarray  # int64 per object; 0 where not strongly reachable
    preorder: np.ndarray  # int32: strongly reachable objects in DFS preorder

    @property
    def reachable_count(self) -> int:
        return len(self.preorder)

    def is_reachable(self, index: int) -> bool:
        return self.idom[index] != UNREACHABLE


@njit(cache=True)
def _dfs_preorder(begin, targets, roots, n):
    """Preorder numbering from a virtual root (number 0) whose children are ``roots``.
    Returns (node of number, number of node or -1, DFS parent number per number, count)."""
    number = np.full(n, -1, np.int32)
    node = np.empty(n + 1, np.int32)
    parent = np.empty(n + 1, np.int32)
    node[0] = -1
    parent[0] = 0
    count = 1
    stack_node = np.empty(n + 1, np.int32)
    # position in the node's edge list, relative: an object has fewer than 2^31 references
    stack_edge = np.empty(n + 1, np.int32)
    for r in roots:
        if number[r] >= 0:
            continue
        number[r] = count
        node[count] = r
        parent[count] = 0
        count += 1
        top = 0
        stack_node[0] = r
        stack_edge[0] = 0
        while top >= 0:
            v = stack_node[top]
            e = begin[v] + stack_edge[top]
            end = begin[v + 1]
            while e < end and number[targets[e]] >= 0:
                e += 1
            if e == end:
                top -= 1
                continue
            stack_edge[top] = e + 1 - begin[v]
            w = targets[e]
            number[w] = count
            node[count] = w
            parent[count] = number[v]
            count += 1
            top += 1
            stack_node[top] = w
            stack_edge[top] = 0
    return node, number, parent, count


@njit(cache=True)
def _predecessors(begin, targets, node, number, count, roots):
    """Predecessor lists in DFS numbers, for the reachable part only (CSR). A counting sort done
    in one array: counts, then running starts used as fill cursors, then shifted back."""
    pbegin = np.zeros(count + 1, begin.dtype)
    for i in range(1, count):
        v = node[i]
        for e in range(begin[v], begin[v + 1]):
            pbegin[number[targets[e]] + 1] += 1
    for r in roots:
        pbegin[number[r] + 1] += 1  # from the virtual root
    for w in range(1, count + 1):
        pbegin[w] += pbegin[w - 1]
    preds = np.empty(pbegin[count], np.int32)
    # fill: pbegin[w] advances through w's slots; afterwards it points at w + 1's start
    for r in roots:
        w = number[r]
        preds[pbegin[w]] = 0
        pbegin[w] += 1
    for i in range(1, count):
        v = node[i]
        for e in range(begin[v], begin[v + 1]):
            w = number[targets[e]]
            preds[pbegin[w]] = i
            pbegin[w] += 1
    for w in range(count, 0, -1):
        pbegin[w] = pbegin[w - 1]
    pbegin[0] = 0
    return pbegin, preds


@njit(cache=True)
def _semi_nca(parent, pbegin, preds, count):
    """Immediate dominators, in DFS numbers (idom[0] = 0 for the virtual root). ``parent`` is
    overwritten with the result.

    Memory: a node's predecessor list is read only while that node is processed, and it is
    never empty (the DFS parent is in it), so once processed, the node's semi-dominator is kept
    in the list's first slot instead of in an array of its own."""
    label = np.arange(count).astype(np.int32)
    ancestor = np.full(count, -1, np.int32)  # linked (processed) nodes point up the DFS tree
    # compression paths are short once compressed; start small and grow if a long one comes
    stack = np.empty(min(count, 1 << 16) + 1, np.int32)
    for w in range(count - 1, 0, -1):
        s = w
        for e in range(pbegin[w], pbegin[w + 1]):
            v = preds[e]
            if v <= w:  # not yet processed: its label is itself, i.e. its number
                if v < s:
                    s = v
                continue
            # compress the path from v up to the last processed ancestor
            top = 0
            x = v
            while ancestor[x] > w:
                if top == stack.shape[0]:
                    bigger = np.empty(2 * stack.shape[0], np.int32)
                    bigger[:top] = stack[:top]
                    stack = bigger
                stack[top] = x
                top += 1
                x = ancestor[x]
            while top > 0:
                top -= 1
                y = stack[top]
                a = ancestor[y]
                if label[a] < label[y]:
                    label[y] = label[a]
                ancestor[y] = ancestor[a]
            if label[v] < s:
                s = label[v]
        preds[pbegin[w]] = s  # the semi-dominator of w, from now on
        label[w] = s
        ancestor[w] = parent[w]
    idom = parent  # in place: parent[w] is read only when idom[w] is set, after all idom[< w]
    idom[0] = 0
    for w in range(1, count):
        semi = preds[pbegin[w]]
        d = idom[w]
        while d > semi:
            d = idom[d]
        idom[w] = d
    return idom


@njit(cache=True)
def _to_objects(idom_num, node, shallow, n, count):
    """Map DFS-numbered dominators back to objects and accumulate retained sizes bottom-up."""
    idom = np.full(n, -1, np.int32)
    retained = np.zeros(n, np.int64)
    for i in range(1, count):
        retained[node[i]] = shallow[node[i]]
    for i in range(count - 1, 0, -1):
        d = idom_num[i]
        v = node[i]
        if d == 0:
            idom[v] = -2
        else:
            idom[v] = node[d]
            retained[node[d]] += retained[v]
    return idom, retained


def compute_dominators(begin: np.ndarray, targets: np.ndarray, roots: np.ndarray,
                       shallow: np.ndarray) -> DominatorTree:
    """Dominator tree and retained sizes of the graph (CSR) with GC roots ``roots``."""
    n = len(shallow)
    roots = np.ascontiguousarray(roots, dtype=np.int32)
    node, number, parent, count = _dfs_preorder(begin, targets, roots, n)
    pbegin, preds = _predecessors(begin, targets, node, number, count, roots)
    del number
    idom_num = _semi_nca(parent[:count], pbegin, preds, count)
    del pbegin, preds, parent
    idom, retained = _to_objects(idom_num, node, shallow, n, count)
    return DominatorTree(idom=idom, retained=retained, preorder=node[1:count])
