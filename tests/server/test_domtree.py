"""The dominator tree a report keeps for the dashboard's explorer
(server/reports/dominator_tree.py), written from real dumps and checked against the heap it came
from: every kept node's sizes and class, its children biggest first, kept children plus the
summary of the rest adding up to what it retains, the size bound, and a reader that reads only
what it is asked for."""

from __future__ import annotations

import io

import numpy as np
import pytest

from oomlens.ids import format_id
from oomlens.server.reports import dominator_tree

LEAK_DUMP = "dalvik_leak_service_binder.hprof.gz"


def written(heap, max_nodes: int = dominator_tree.MAX_NODES) -> tuple[bytes, dict]:
    out = io.BytesIO()
    header = dominator_tree.write(heap, out, max_nodes)
    return out.getvalue(), header


def all_rows(data: bytes) -> np.ndarray:
    tree = dominator_tree.DomTree(io.BytesIO(data))
    return tree._read("rows", dominator_tree.ROW, 0, tree.header["rows"])


def check_against_heap(heap, data: bytes) -> dominator_tree.DomTree:
    """Every row of the file agrees with ``heap``; returns the reader."""
    tree = dominator_tree.DomTree(io.BytesIO(data))
    rows = all_rows(data)
    begin, children = heap.dominator_children
    retained = heap.dominator_tree.retained
    root_children = children[begin[heap.object_count]:begin[heap.object_count + 1]]
    assert tree.reachable_bytes == int(retained[root_children].sum()) \
        == heap.summary()["reachable_bytes"]
    assert rows[0]["retained"] == tree.reachable_bytes and rows[0]["shallow"] == 0
    parent_of = np.full(len(rows), -1)
    for row, record in enumerate(rows):
        node = tree.node(row)
        first, count = int(record["first_child"]), int(record["child_count"])
        kids = rows[first:first + count]
        assert (parent_of[first:first + count] == -1).all(), "a row with two parents"
        parent_of[first:first + count] = row
        assert (np.diff(kids["retained"]) <= 0).all(), "children not biggest first"
        assert int(kids["retained"].sum()) + node.more_bytes == \
            node.retained_bytes - node.shallow_bytes
        if row == dominator_tree.ROOT:
            real = root_children
        else:
            index = heap.object(int(record["id"])).index
            assert node.retained_bytes == int(retained[index])
            assert node.shallow_bytes == heap.object_at(index).shallow_size
            assert node.class_name == heap.class_name_of(index)
            real = children[begin[index]:begin[index + 1]]
        assert count + node.more_count == len(real)
        # the kept children are the biggest ones: none left out retains more
        if node.more_count and count:
            assert int(np.sort(retained[real])[::-1][count]) <= int(kids["retained"][-1])
    assert (parent_of[1:] >= 0).all(), "a kept row hangs from nothing"
    return tree


def test_the_kept_tree_agrees_with_the_heap_row_by_row(open_dump):
    heap = open_dump(LEAK_DUMP)
    data, header = written(heap)
    tree = check_against_heap(heap, data)
    # every object retaining at least 0.01% of the heap is kept, and the threshold is that
    threshold = max(1, -(-tree.reachable_bytes // 10_000))
    assert header["threshold_bytes"] == threshold
    kept = {int(i) for i in all_rows(data)["id"][1:]}
    big = np.nonzero(heap.dominator_tree.retained >= threshold)[0]
    assert {int(heap.index.objects.ids[i]) for i in big} <= kept
    # the root's first children are the report's top_retained
    top = [(format_id(int(heap.index.objects.ids[i])), int(heap.dominator_tree.retained[i]))
           for i in heap.top_dominators(20)]
    root = tree.node(dominator_tree.ROOT)
    assert [(c.object_id, c.retained_bytes) for c in tree.children(root, 0, 20)] == top


def test_a_node_is_found_by_its_id_and_an_unkept_object_is_not(open_dump):
    heap = open_dump(LEAK_DUMP)
    data, _ = written(heap)
    tree = dominator_tree.DomTree(io.BytesIO(data))
    rows = all_rows(data)
    for row in range(1, len(rows), 37):
        assert tree.find(int(rows[row]["id"])) == tree.node(row)
    retained = heap.dominator_tree.retained
    kept = {int(i) for i in rows["id"][1:]}
    small = next(int(i) for i in heap.index.objects.ids[np.argsort(retained)]
                 if int(i) not in kept)
    assert tree.find(small) is None


def test_the_node_bound_raises_the_threshold_and_keeps_a_consistent_tree(open_dump):
    heap = open_dump("dalvik_dialer.hprof.gz")
    unbounded, full = written(heap)
    data, header = written(heap, max_nodes=600)
    assert full["rows"] > 600 >= header["rows"] > 100
    assert header["threshold_bytes"] > full["threshold_bytes"]
    check_against_heap(heap, data)
    kept = {int(i) for i in all_rows(data)["id"][1:]}
    big = np.nonzero(heap.dominator_tree.retained >= header["threshold_bytes"])[0]
    assert {int(heap.index.objects.ids[i]) for i in big} <= kept


class CountingFile(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_reading_one_level_reads_only_that_level(open_dump):
    data, header = written(open_dump(LEAK_DUMP))
    f = CountingFile(data)
    tree = dominator_tree.DomTree(f)
    root = tree.node(dominator_tree.ROOT)
    before = f.bytes_read
    children = tree.children(root, 0, 100)
    names = sum(len(c.class_name.encode()) for c in children)
    assert len(children) == 100
    # the rows (and their first child pointer) plus two name offsets and a name per child
    assert f.bytes_read - before == 101 * dominator_tree.ROW.itemsize + 100 * 16 + names
    assert f.bytes_read < len(data) / 20


@pytest.mark.parametrize("bad", [b"", b"OOMLDOM1", b"PK\x03\x04 not a tree at all",
                                 dominator_tree.MAGIC + b"\x05\x00\x00\x00{not"])
def test_a_file_that_is_not_a_tree_is_refused(bad):
    with pytest.raises(dominator_tree.DomTreeError):
        dominator_tree.DomTree(io.BytesIO(bad))


def class_names(data: bytes) -> set[str]:
    tree = dominator_tree.DomTree(io.BytesIO(data))
    return {tree.node(row).class_name for row in range(tree.header["rows"])}


def test_class_names_are_the_retraced_ones_when_the_heap_has_a_mapping(data_dir):
    import oomlens

    dump = data_dir / "art_ahat_test-dump.hprof.gz"
    with oomlens.open_heap(dump) as plain:
        obfuscated = class_names(written(plain)[0])
    with oomlens.open_heap(dump, mapping=data_dir / "art_ahat_test-dump.map") as heap:
        assert heap.retrace["classes_renamed"] > 0
        data, _ = written(heap)
        check_against_heap(heap, data)  # every name is the one the retraced heap gives
    retraced = {n for n in class_names(data) if "DumpedStuff$" in n}
    assert retraced and not retraced & obfuscated
