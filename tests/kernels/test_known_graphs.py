"""Dominators, retained sizes, reachability and paths on graphs whose answers are known by hand.

The graphs are built by tests/java/GraphFixtures.java, which dumps its own heap. Expected sizes
follow the 64-bit HotSpot size model with compressed oops (forced by the test JVM flags):

- instance: align8(12-byte header + fields), a reference field is 4 bytes, long 8, int 4;
- object array: align8(16 + 4 * length); primitive array: align8(16 + length * element size).

Class objects' sizes are never hand-computed: where one matters it is read from the dump.

The last part checks the dominator kernel itself against a naive dataflow algorithm on random
graphs.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import oomlens
from oomlens.analysis.dominators import compute_dominators
from random_graphs import random_graphs, to_csr

HEADER = 12  # object header with a compressed class pointer
REF = 4  # compressed oop
ARRAY_HEADER = 16  # header + 4-byte length


def align8(n: int) -> int:
    return (n + 7) // 8 * 8


CHAIN_NODE = align8(HEADER + REF + 4)  # next + int value = 20 -> 24
DIAMOND_TOP = align8(HEADER + REF + REF)  # left + right = 20 -> 24
ONE_REF = align8(HEADER + REF)  # DiamondLeft/Right, CycleP/Q, FrameHeld, Item = 16 -> 16
ONE_INT = align8(HEADER + 4)  # DiamondShared, ArrayElemFirst, WeakOnly, ... = 16 -> 16
ONE_LONG = align8(HEADER + 8)  # ArrayElemSecond, LeakedPlugin = 20 -> 24
STRONG_LINK = align8(HEADER + REF + REF)  # next + target = 20 -> 24
GARBAGE = align8(HEADER + REF + 4)  # next + int value = 20 -> 24


# -- the dump ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def heap(java_dumps):
    with oomlens.open_heap(java_dumps("GraphFixtures")) as h:
        yield h


@pytest.fixture(scope="module")
def roots_class(heap):
    cls = heap.find_class("FixtureRoots")
    assert cls is not None
    return cls


@pytest.fixture(scope="module")
def statics(roots_class):
    """FixtureRoots' static fields: name -> HeapObject."""
    return roots_class.static_fields()


def the_only(heap, class_name):
    objs = heap.instances_of(class_name, subclasses=False)
    assert len(objs) == 1, f"{class_name}: {objs}"
    return objs[0]


def references(path):
    """The reference names of a path after its root step."""
    return [step.reference for step in path[1:]]


def assert_no_referent_step(heap, path):
    """No step of a path goes through the referent of a java.lang.ref.Reference."""
    for holder, step in zip(path, path[1:]):
        holder_obj = heap.object_at(holder.object_index)
        is_reference = not holder_obj.is_class and not holder_obj.is_array and any(
            c.name == "java.lang.ref.Reference" for c in holder_obj.klass.superclass_chain())
        assert not (is_reference and step.reference == "referent"), path


@pytest.mark.parametrize("class_name, size", [
    ("ChainNode", CHAIN_NODE), ("DiamondTop", DIAMOND_TOP), ("DiamondLeft", ONE_REF),
    ("DiamondRight", ONE_REF), ("DiamondShared", ONE_INT), ("CycleP", ONE_REF),
    ("CycleQ", ONE_REF), ("ArrayElemFirst", ONE_INT), ("ArrayElemSecond", ONE_LONG),
    ("WeakOnly", ONE_INT), ("SoftOnly", ONE_INT), ("WeakAndStrong", ONE_INT),
    ("StrongLink", STRONG_LINK), ("Garbage", GARBAGE), ("FrameHeld", ONE_REF),
    ("FrameChild", ONE_INT), ("LeakedPlugin", ONE_LONG), ("Item", ONE_REF),
])
def test_instance_sizes_follow_the_size_model(heap, class_name, size):
    objs = heap.instances_of(class_name, subclasses=False)
    assert objs
    assert {o.shallow_size for o in objs} == {size}
    assert heap.find_class(class_name).instance_size == size


def test_fixture_roots_statics(statics):
    expected = {"chain": "ChainNode", "diamond": "DiamondTop", "cycle": "CycleP",
                "array": "java.lang.Object[]", "weakOnly": "java.lang.ref.WeakReference",
                "softOnly": "java.lang.ref.SoftReference",
                "weakToStrong": "java.lang.ref.WeakReference", "strongChain": "StrongLink",
                "plugin": "LeakedPlugin", "hello": "java.lang.String",
                "sigma": "java.lang.String", "empty": "java.lang.String",
                "built": "java.lang.String", "items": "Item[]"}
    for name, class_name in expected.items():
        assert statics[name] is not None, name
        assert statics[name].class_name == class_name, name


# -- (a) chain -----------------------------------------------------------------------------------

def test_chain(heap, statics, roots_class):
    a = statics["chain"]
    b = a["next"]
    c = b["next"]
    assert c["next"] is None
    assert [a["value"], b["value"], c["value"]] == [1, 2, 3]
    assert len(heap.instances_of("ChainNode")) == 3

    assert heap.immediate_dominator(c) == b
    assert heap.immediate_dominator(b) == a
    # only the static field holds A: its holder, the class object, dominates it
    assert heap.immediate_dominator(a) == roots_class.class_object

    assert heap.retained_size(c) == CHAIN_NODE == 24
    assert heap.retained_size(b) == 2 * CHAIN_NODE == 48
    assert heap.retained_size(a) == 3 * CHAIN_NODE == 72

    path = heap.path_to(c)
    assert path[-1].object_index == c.index
    assert [s.object_index for s in path[-4:]] == [roots_class.class_object.index, a.index,
                                                    b.index, c.index]
    assert references(path)[-3:] == ["chain", "next", "next"]
    assert path[0].root_kinds  # the first step is a GC root
    assert all(not s.root_kinds for s in path[1:])


# -- (b) diamond ---------------------------------------------------------------------------------

def test_diamond(heap, statics):
    d = statics["diamond"]
    left, right = d["left"], d["right"]
    s = left["shared"]
    assert right["shared"] == s
    assert (left.class_name, right.class_name, s.class_name) == (
        "DiamondLeft", "DiamondRight", "DiamondShared")

    # S is reachable through L and through R: neither dominates it, D does
    assert heap.immediate_dominator(s) == d
    assert heap.immediate_dominator(left) == d
    assert heap.immediate_dominator(right) == d

    assert heap.retained_size(left) == left.shallow_size == ONE_REF == 16
    assert heap.retained_size(right) == right.shallow_size == 16
    assert heap.retained_size(s) == ONE_INT == 16
    # D + L + R + S = 24 + 16 + 16 + 16
    assert heap.retained_size(d) == DIAMOND_TOP + ONE_REF + ONE_REF + ONE_INT == 72

    assert references(heap.path_to(s))[-3:] in (["diamond", "left", "shared"],
                                                ["diamond", "right", "shared"])


# -- (c) cycle -----------------------------------------------------------------------------------

def test_cycle(heap, statics, roots_class):
    p = statics["cycle"]
    q = p["q"]
    assert q.class_name == "CycleQ"
    assert q["p"] == p

    assert heap.immediate_dominator(q) == p
    assert heap.immediate_dominator(p) == roots_class.class_object
    assert heap.retained_size(q) == ONE_REF == 16
    assert heap.retained_size(p) == 2 * ONE_REF == 32  # P + Q
    assert references(heap.path_to(q))[-2:] == ["cycle", "q"]


# -- (d) object array ----------------------------------------------------------------------------

def test_object_array(heap, statics):
    array = statics["array"]
    assert array.kind == "object array"
    assert array.length == 3
    first, second, third = array.elements()
    assert third is None
    assert (first.class_name, second.class_name) == ("ArrayElemFirst", "ArrayElemSecond")
    assert first["value"] == 1 and second["value"] == 2

    assert array.shallow_size == align8(ARRAY_HEADER + 3 * REF) == 32  # 16 + 12 = 28 -> 32
    assert heap.immediate_dominator(first) == array
    assert heap.immediate_dominator(second) == array
    assert heap.retained_size(first) == ONE_INT == 16
    assert heap.retained_size(second) == ONE_LONG == 24
    assert heap.retained_size(array) == 32 + ONE_INT + ONE_LONG == 72

    for j, element in enumerate((first, second)):
        path = heap.path_to(element)
        assert path[-1].object_index == element.index
        assert path[-2].object_index == array.index
        assert references(path)[-2:] == ["array", f"[{j}]"]


# -- (e) soft and weak references ----------------------------------------------------------------

@pytest.mark.parametrize("static, referent_class, level", [
    ("weakOnly", "WeakOnly", "weak"), ("softOnly", "SoftOnly", "soft")])
def test_referent_held_only_by_a_reference(heap, statics, static, referent_class, level):
    ref = statics[static]
    target = ref["referent"]
    assert target is not None and target.class_name == referent_class
    assert target == the_only(heap, referent_class)

    assert heap.reachability_of(target) == level
    assert not heap.is_strongly_reachable(target)
    assert heap.retained_size(target) == 0
    assert heap.immediate_dominator(target) is None
    assert heap.path_to(target) is None
    # the Reference object itself is strongly held; its referent is not part of what it retains
    assert heap.is_strongly_reachable(ref)
    assert heap.reachability_of(ref) == "strong"
    assert heap.retained_size(ref) == ref.shallow_size


def test_referent_also_held_by_a_strong_chain(heap, statics, roots_class):
    weak = statics["weakToStrong"]
    target = weak["referent"]
    first = statics["strongChain"]
    second = first["next"]
    third = second["next"]
    assert third["target"] == target
    assert target.class_name == "WeakAndStrong"

    assert heap.reachability_of(target) == "strong"
    assert heap.is_strongly_reachable(target)
    assert heap.immediate_dominator(target) == third
    assert heap.retained_size(target) == ONE_INT == 16
    # the chain retains its three links and the target; the WeakReference retains only itself
    assert heap.retained_size(first) == 3 * STRONG_LINK + ONE_INT == 88
    assert heap.retained_size(weak) == weak.shallow_size

    # the weak edge (class object -> WeakReference -> target) is two steps shorter than the
    # strong chain, yet the path must take the chain
    path = heap.path_to(target)
    assert [s.object_index for s in path[-5:]] == [roots_class.class_object.index, first.index,
                                                    second.index, third.index, target.index]
    assert references(path)[-4:] == ["strongChain", "next", "next", "target"]
    assert weak.index not in [s.object_index for s in path]
    assert_no_referent_step(heap, path)


def test_no_path_steps_through_a_referent(heap, statics):
    for name, obj in statics.items():
        if obj is None:
            continue
        path = heap.path_to(obj)
        assert path is not None, name
        assert_no_referent_step(heap, path)
    for class_name in ("WeakAndStrong", "ChainNode", "Item", "DiamondShared", "CycleQ"):
        for obj in heap.instances_of(class_name):
            assert_no_referent_step(heap, heap.path_to(obj))


# -- (f) garbage ---------------------------------------------------------------------------------

def test_garbage_is_unreachable(heap):
    garbage = heap.instances_of("Garbage")
    assert len(garbage) == 10
    assert sorted(g["value"] for g in garbage) == list(range(10))
    for g in garbage:
        assert heap.reachability_of(g) == "unreachable"
        assert not heap.is_strongly_reachable(g)
        assert heap.retained_size(g) == 0
        assert heap.immediate_dominator(g) is None
        assert heap.path_to(g) is None
    row = next(r for r in heap.histogram() if r["class"] == "Garbage")
    assert row["instances"] == 10
    assert row["shallow_bytes"] == 10 * GARBAGE == 240
    assert row["retained_bytes"] == 0


# -- (g) held by a local variable ----------------------------------------------------------------

def test_local_variable_is_a_java_frame_root(heap):
    held = the_only(heap, "FrameHeld")
    child = held["child"]
    assert child.class_name == "FrameChild" and child["value"] == 7

    path = heap.path_to(held)
    assert len(path) == 1
    assert path[0].object_index == held.index
    assert "java-frame" in path[0].root_kinds

    child_path = heap.path_to(child)
    assert [s.object_index for s in child_path] == [held.index, child.index]
    assert child_path[1].reference == "child"

    # held directly by a GC root: the virtual root dominates it
    assert heap.immediate_dominator(held) is None
    assert heap.is_strongly_reachable(held)
    assert heap.immediate_dominator(child) == held
    assert heap.retained_size(held) == ONE_REF + ONE_INT == 32
    assert held.index in set(heap.top_dominators().tolist())


# -- (h) class-loader leak -----------------------------------------------------------------------

def test_live_instance_keeps_its_class_and_loader_alive(heap, statics, roots_class):
    plugin = statics["plugin"]
    assert plugin == the_only(heap, "LeakedPlugin")
    assert plugin["payload"] == 1
    classes = heap.classes_named("LeakedPlugin")
    assert len(classes) == 1  # the application class loader never loaded it
    cls = classes[0]
    class_object = cls.class_object
    loader = cls.class_loader
    assert class_object is not None and loader is not None
    assert loader.class_name == "java.net.URLClassLoader"
    assert loader != heap.find_class("FixtureRoots").class_loader
    cache = class_object["cache"]
    assert cache.class_name == "int[]" and cache.length == 256
    assert cache.shallow_size == align8(ARRAY_HEADER + 256 * 4) == 1040

    # nothing but the instance holds the class (the loader's own references to its classes
    # are reachable only through the class), nothing but the class holds the loader
    assert heap.immediate_dominator(plugin) == roots_class.class_object
    assert heap.immediate_dominator(class_object) == plugin
    assert heap.immediate_dominator(loader) == class_object
    assert heap.immediate_dominator(cache) == class_object

    retained = heap.retained_size(plugin)
    assert retained >= (plugin.shallow_size + class_object.shallow_size + loader.shallow_size
                        + cache.shallow_size)
    assert heap.retained_size(class_object) == retained - ONE_LONG  # all but the 24-byte instance
    assert heap.retained_size(loader) < heap.retained_size(class_object)

    path = heap.path_to(loader)
    assert [s.object_index for s in path[-3:]] == [plugin.index, class_object.index,
                                                    loader.index]
    assert references(path)[-3:] == ["plugin", "<class>", "<classloader>"]


# -- (i) strings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("static, text", [
    ("hello", "hello, world"),
    ("sigma", "Sigma (\u01a9) is not ASCII"),
    ("empty", ""),
    ("built", "built-42"),
])
def test_strings(statics, static, text):
    s = statics[static]
    assert s.class_name == "java.lang.String"
    assert s.as_string() == text


# -- (j) histogram -------------------------------------------------------------------------------

def test_histogram_item_row(heap, statics):
    rows = {r["class"]: r for r in heap.histogram()}
    item_size = align8(HEADER + REF)  # 12 + 4 = 16
    data_size = align8(ARRAY_HEADER + 10 * 4)  # int[10]: 16 + 40 = 56
    items_array = align8(ARRAY_HEADER + 100 * REF)  # Item[100]: 16 + 400 = 416

    item = rows["Item"]
    assert item["instances"] == 100
    assert item["shallow_bytes"] == 100 * item_size == 1600
    assert item["retained_bytes"] == 100 * (item_size + data_size) == 7200

    array_row = rows["Item[]"]
    assert array_row["instances"] == 1
    assert array_row["shallow_bytes"] == items_array == 416
    assert array_row["retained_bytes"] == items_array + 7200 == 7616

    items = statics["items"]
    assert heap.retained_size(items) == 7616
    elements = items.elements()
    assert len(elements) == 100 and len({e.index for e in elements}) == 100
    for e in elements:
        assert heap.immediate_dominator(e) == items
        assert heap.retained_size(e) == item_size + data_size == 72
        assert e["data"].shallow_size == data_size
        assert heap.immediate_dominator(e["data"]) == e


# -- whole-heap invariants -----------------------------------------------------------------------

def test_retained_at_least_shallow(heap):
    for i in range(heap.object_count):
        obj = heap.object_at(i)
        retained = heap.retained_size(obj)
        if heap.is_strongly_reachable(obj):
            assert retained >= obj.shallow_size, obj
        else:
            assert retained == 0, obj


def test_retained_is_shallow_plus_dominated_children(heap):
    tree = heap.dominator_tree
    shallow = heap.index.objects.shallow.astype(np.int64)
    children = tree.idom >= 0
    below = np.bincount(tree.idom[children], weights=tree.retained[children],
                        minlength=len(shallow)).astype(np.int64)
    reachable = tree.idom != -1
    assert np.array_equal(tree.retained[reachable], shallow[reachable] + below[reachable])


def test_top_dominators_retain_all_reachable_memory(heap):
    top = heap.top_dominators()
    assert len(top) > 0
    for i in top[:50]:
        assert heap.immediate_dominator(heap.object_at(int(i))) is None
    top_sum = sum(heap.retained_size(heap.object_at(int(i))) for i in top)
    reachable_sum = sum(heap.object_at(i).shallow_size for i in range(heap.object_count)
                        if heap.is_strongly_reachable(heap.object_at(i)))
    assert top_sum == reachable_sum
    assert heap.summary()["reachable_bytes"] == reachable_sum
    strong_sum = sum(heap.object_at(i).shallow_size for i in range(heap.object_count)
                     if heap.reachability_of(heap.object_at(i)) == "strong")
    assert strong_sum == reachable_sum


# -- the dominator kernel against a naive algorithm ----------------------------------------------

def naive_dominators(n, edges, roots, shallow):
    """Dominator sets by iterative dataflow from a virtual root (node ``n``):
    dom(root) = {root}; dom(v) = {v} | intersection of dom(p) over v's reachable predecessors.
    Returns (idom with -2 for the virtual root and -1 for unreachable, retained, reachable)."""
    vroot = n
    succ = {v: [] for v in range(n + 1)}
    for r in roots:
        succ[vroot].append(r)
    for s, t in edges:
        succ[s].append(t)
    reachable = {vroot}
    todo = [vroot]
    while todo:
        v = todo.pop()
        for w in succ[v]:
            if w not in reachable:
                reachable.add(w)
                todo.append(w)
    preds = {v: set() for v in reachable}
    for v in reachable:
        for w in succ[v]:
            preds[w].add(v)
    dom = {v: set(reachable) for v in reachable}
    dom[vroot] = {vroot}
    changed = True
    while changed:
        changed = False
        for v in sorted(reachable - {vroot}):
            new = set.intersection(*(dom[p] for p in preds[v])) | {v}
            if new != dom[v]:
                dom[v] = new
                changed = True
    idom = [-1] * n
    retained = [0] * n
    for v in reachable - {vroot}:
        strict = dom[v] - {v}
        # strict dominators form a chain; the immediate one is dominated by all the others
        d = max(strict, key=lambda x: len(dom[x]))
        idom[v] = -2 if d == vroot else d
        for x in dom[v] - {vroot}:
            retained[x] += shallow[v]
    return idom, retained, reachable - {vroot}


def check_against_naive(n, edges, roots, shallow, begin_dtype=np.int64):
    begin, targets = to_csr(n, edges, begin_dtype)
    tree = compute_dominators(begin, targets, np.array(roots, np.int32),
                              np.array(shallow, np.uint32))
    idom, retained, reachable = naive_dominators(n, edges, roots, shallow)
    assert tree.idom.tolist() == idom
    assert tree.retained.tolist() == retained
    assert sorted(tree.preorder.tolist()) == sorted(reachable)
    assert tree.reachable_count == len(reachable)
    for v in range(n):
        assert tree.is_reachable(v) == (v in reachable)
    # a dominator is a DFS-tree ancestor, so it comes earlier in any DFS preorder
    position = {v: k for k, v in enumerate(tree.preorder.tolist())}
    for v in reachable:
        if idom[v] >= 0:
            assert position[idom[v]] < position[v]


@settings(max_examples=400, deadline=None)
@given(random_graphs(), st.sampled_from([np.int64, np.int32]))
# the diamond, the cycle, the chain, a self-loop, two roots sharing a child, no roots
@example((4, [(0, 1), (0, 2), (1, 3), (2, 3)], [0], [24, 16, 16, 16]), np.int64)
@example((2, [(0, 1), (1, 0)], [0], [16, 16]), np.int64)
@example((3, [(0, 1), (1, 2)], [0], [24, 24, 24]), np.int64)
@example((2, [(0, 0), (0, 1), (1, 1)], [0], [5, 7]), np.int64)
@example((3, [(0, 2), (1, 2)], [0, 1], [1, 2, 4]), np.int64)
@example((3, [(0, 1), (1, 2)], [], [1, 2, 4]), np.int64)
@example((3, [(2, 0), (0, 1)], [0, 2], [1, 2, 4]), np.int64)
def test_dominator_kernel_matches_naive_dataflow(graph, begin_dtype):
    n, edges, roots, shallow = graph
    check_against_naive(n, edges, roots, shallow, begin_dtype)


def test_dominator_kernel_lengauer_tarjan_example():
    # The flow graph of Lengauer & Tarjan's paper (R=0, A..L = 1..12), as a single root.
    names = "RABCDEFGHIJKL"
    arcs = ["RA", "RB", "RC", "AD", "BA", "BD", "BE", "CF", "CG", "DL", "EH", "FI", "GI", "GJ",
            "HE", "HK", "IK", "JI", "KI", "KR", "LH"]
    edges = [(names.index(a), names.index(b)) for a, b in arcs]
    n = len(names)
    check_against_naive(n, edges, [0], [1] * n)
    begin, targets = to_csr(n, edges, np.int64)
    tree = compute_dominators(begin, targets, np.array([0], np.int32), np.ones(n, np.uint32))
    expected = {"R": -2, "A": "R", "B": "R", "C": "R", "D": "R", "E": "R", "F": "C", "G": "C",
                "H": "R", "I": "R", "J": "G", "K": "R", "L": "D"}
    got = {names[v]: (names[d] if d >= 0 else d) for v, d in enumerate(tree.idom.tolist())}
    assert got == expected
    assert tree.retained[0] == n


def test_dominator_kernel_deep_chain():
    # 200k nodes in one chain: no recursion limit; retained(k) = number of nodes from k on
    n = 200_000
    begin = np.concatenate([np.arange(n, dtype=np.int64), [n - 1]])
    targets = np.arange(1, n, dtype=np.int32)
    tree = compute_dominators(begin, targets, np.array([0], np.int32), np.ones(n, np.uint32))
    assert tree.idom[0] == -2
    assert np.array_equal(tree.idom[1:], np.arange(n - 1, dtype=np.int32))
    assert np.array_equal(tree.retained, np.arange(n, 0, -1))


def test_long_compression_path_in_the_dominator_kernel():
    """A 200,000-node chain with an edge from its tail back to its second node: processing
    node 2 compresses a path through the whole chain, longer than the kernel's first stack."""
    n = 200_000
    src = np.concatenate([np.arange(n - 1), [n - 1]])
    dst = np.concatenate([np.arange(1, n), [1]]).astype(np.int32)
    begin = np.zeros(n + 1, np.int64)
    np.add.at(begin, src + 1, 1)
    begin = np.cumsum(begin)
    shallow = np.full(n, 8, np.int64)
    tree = compute_dominators(begin, dst, np.array([0], np.int32), shallow)
    assert tree.idom[0] == -2
    assert np.array_equal(tree.idom[1:], np.arange(n - 1, dtype=np.int32))
    assert np.array_equal(tree.retained, 8 * np.arange(n, 0, -1))
