"""The Numba kernels that had no reference, against plain-Python ones on random graphs (as the
dominator kernel is checked in test_known_graphs): the graph's reverse edges, the leak-path
search that walks known library references last, and the dominator-tree walks that give each
class cluster its retained size as a set and how much of one set lives in another's."""

from __future__ import annotations

import heapq
from collections import Counter

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from oomlens.analysis.class_retained import _walk_groups, dominator_children
from oomlens.analysis.dominators import compute_dominators
from oomlens.analysis.leak_paths import FROM_ROOT, NO_PARENT, deferred_bfs
from oomlens.heap.graph import reverse_edges
from random_graphs import random_graphs, to_csr

NORMAL, DEFERRED, IGNORED = 0, 1, 2


# -- reverse edges -------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(random_graphs(), st.sampled_from([np.int64, np.int32]))
def test_reverse_edges_list_every_referrer_once_per_reference(graph, begin_dtype):
    n, edges, _, _ = graph
    begin, targets = to_csr(n, edges, begin_dtype)
    rbegin, sources = reverse_edges(begin, targets, n)
    assert rbegin.dtype == begin_dtype and len(sources) == len(edges)
    for t in range(n):
        referrers = sources[rbegin[t]:rbegin[t + 1]].tolist()
        assert Counter(referrers) == Counter(s for s, u in edges if u == t)
        assert referrers == sorted(referrers)  # in the order of the sources


# -- the leak-path search ------------------------------------------------------------------------

def cheapest_paths(n, edges, states, roots, late_roots):
    """Dijkstra on the cost the search minimises: (deferred references taken, references since
    the last one). A root costs (0, 0); a late root (a JNI global) (1, 0), as if reached by one
    deferred reference; a deferred reference starts a new count of ordinary ones. Costs only
    grow along a path, so the first time a node is settled its cost is the least."""
    best: dict[int, tuple[int, int]] = {}
    heap = [((0, 0), r) for r in roots] + [((1, 0), r) for r in late_roots]
    heapq.heapify(heap)
    out = {v: [] for v in range(n)}
    for (s, t), state in zip(edges, states, strict=True):
        out[s].append((t, state))
    while heap:
        cost, v = heapq.heappop(heap)
        if v in best:
            continue
        best[v] = cost
        deferred, hops = cost
        for w, state in out[v]:
            if state == NORMAL:
                heapq.heappush(heap, ((deferred, hops + 1), w))
            elif state == DEFERRED:
                heapq.heappush(heap, ((deferred + 1, 0), w))
    return best


def cost_of_chain(parent, v, edges, states, roots, late_roots):
    """The cost of the path the parents give to ``v``, every step checked to be a reference
    the search may take."""
    steps = []
    while parent[v] != FROM_ROOT:
        p = int(parent[v])
        kinds = {state for (s, t), state in zip(edges, states, strict=True)
                 if (s, t) == (p, v) and state != IGNORED}
        assert kinds, f"{p} -> {v} is no reference the search may take"
        steps.append(NORMAL if NORMAL in kinds else DEFERRED)
        v = p
        assert len(steps) <= len(edges), "the parents loop"
    assert v in roots or v in late_roots
    deferred, hops = (0, 0) if v in roots else (1, 0)
    for kind in reversed(steps):
        deferred, hops = (deferred, hops + 1) if kind == NORMAL else (deferred + 1, 0)
    return deferred, hops


@st.composite
def searches(draw):
    n, edges, roots, _ = draw(random_graphs())
    states = draw(st.lists(st.sampled_from([NORMAL, NORMAL, DEFERRED, IGNORED]),
                           min_size=len(edges), max_size=len(edges)))
    late = draw(st.lists(st.integers(0, n - 1), max_size=3, unique=True))
    return n, edges, states, roots, late


@settings(max_examples=400, deadline=None)
@given(searches())
# a library reference is taken only when nothing else reaches; a JNI global is a last resort
@example((3, [(0, 1), (0, 2), (2, 1)], [DEFERRED, NORMAL, NORMAL], [0], []))
@example((3, [(0, 1), (2, 1)], [DEFERRED, NORMAL], [0], [2]))
@example((2, [(0, 1)], [IGNORED], [0], []))
def test_leak_paths_take_the_fewest_library_references_then_the_fewest_steps(search):
    n, edges, states, roots, late = search
    begin, targets = to_csr(n, edges)
    order = sorted(range(len(edges)), key=lambda e: edges[e][0])  # CSR order of the states
    edge_state = np.array([states[e] for e in order], np.int8)
    parent = deferred_bfs(begin, targets, edge_state, np.array(roots, np.int32),
                          np.array(late, np.int32), n)
    best = cheapest_paths(n, edges, states, roots, late)
    assert {v for v in range(n) if parent[v] != NO_PARENT} == set(best)
    for v, cost in best.items():
        assert cost_of_chain(parent, v, edges, states, roots, late) == cost


# -- dominator-tree walks: class clusters' retained sets -----------------------------------------

def dominator_ancestors(idom, v):
    """``v`` and every object above it in the dominator tree (not the virtual root)."""
    chain = []
    while v >= 0:
        chain.append(v)
        v = int(idom[v])
    return chain


@st.composite
def grouped_graphs(draw):
    n, edges, roots, shallow = draw(random_graphs())
    n_groups = draw(st.integers(1, 4))
    group = draw(st.lists(st.integers(-1, n_groups - 1), min_size=n, max_size=n))
    return n, edges, roots, shallow, group, n_groups


@settings(max_examples=400, deadline=None)
@given(grouped_graphs())
@example((3, [(0, 1), (1, 2)], [0], [8, 16, 32], [0, 0, 1], 2))  # a chain of one class
def test_group_walk_counts_each_set_once_and_what_lives_inside_another(graph):
    n, edges, roots, shallow, group, n_groups = graph
    begin, targets = to_csr(n, edges)
    tree = compute_dominators(begin, targets, np.array(roots, np.int32),
                              np.array(shallow, np.uint32))
    cbegin, children = dominator_children(tree.idom, n)
    for v in range(n):  # the children lists are the idom relation turned around
        assert sorted(children[cbegin[v]:cbegin[v + 1]].tolist()) == \
            [w for w in range(n) if tree.idom[w] == v]
    assert sorted(children[cbegin[n]:cbegin[n + 1]].tolist()) == \
        [w for w in range(n) if tree.idom[w] == -2]
    total, sizes, inside = _walk_groups(cbegin, children, np.array(group, np.int32),
                                        tree.retained, np.array(shallow, np.int64), n,
                                        n_groups, True)
    reachable = [v for v in range(n) if tree.idom[v] != -1]
    for c in range(n_groups):
        # the set retains every object that one of its members dominates (or is)
        held = [v for v in reachable
                if any(group[a] == c for a in dominator_ancestors(tree.idom, v))]
        assert total[c] == sum(shallow[v] for v in held)
        members = [v for v in reachable if group[v] == c]
        assert sizes[c] == sum(shallow[v] for v in members)
        for d in range(n_groups):
            if d != c:
                within = [v for v in members
                          if any(group[a] == d for a in dominator_ancestors(tree.idom, v)[1:])]
                assert inside[c, d] == sum(shallow[v] for v in within)
