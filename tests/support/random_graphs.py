"""Random reference graphs for checking the kernels against plain-Python references."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st


def to_csr(n, edges, begin_dtype=np.int64):
    """``edges`` [(source, target)] as CSR (begin, targets), each source's edges in list order."""
    order = sorted(range(len(edges)), key=lambda e: edges[e][0])  # stable: keeps edge order
    counts = np.zeros(n + 1, np.int64)
    for s, _ in edges:
        counts[s + 1] += 1
    begin = np.cumsum(counts).astype(begin_dtype)
    targets = np.array([edges[e][1] for e in order], np.int32)
    return begin, targets


@st.composite
def random_graphs(draw, max_nodes: int = 14):
    """(n, edges, roots, shallow): self-loops, cycles, parallel edges and no roots included."""
    n = draw(st.integers(1, max_nodes))
    node = st.integers(0, n - 1)
    edges = draw(st.lists(st.tuples(node, node), max_size=3 * n + 2))
    roots = draw(st.lists(node, max_size=4, unique=True))
    shallow = draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n))
    return n, edges, roots, shallow
