"""Leak traces: the path from a GC root to a leaking object, with a verdict on every node.

As in LeakCanary, each node is *leaking*, *not leaking* or *unknown*. Rules decide some nodes
(``inspectors.py``); then everything above the last node known to be alive is not leaking
("X↓ is not leaking": it holds a live object... and lives itself), and everything below the first
leaking node after it is leaking. The references between the last live node and the first
leaking one are the *suspects*: one of them should not be there, and that is where to look.
"""

from __future__ import annotations

from dataclasses import dataclass

from oomlens.analysis.app_code import AppPackages, element_class
from oomlens.analysis.inspectors import Inspector
from oomlens.analysis.leak_paths import LeakPathFinder
from oomlens.analysis.paths import describe_reference, root_kinds_of
from oomlens.analysis.verdicts import Verdict
from oomlens.heap.objects import KIND_NAMES
from oomlens.hprof.scan import KIND_CLASS
from oomlens.ids import format_id


@dataclass
class TraceNode:
    index: int
    object_id: int
    class_name: str
    kind: str
    app: bool
    verdict: Verdict = Verdict.UNKNOWN
    reason: str = ""
    # how this node references the next one (None on the last node)
    reference: str | None = None
    reference_kind: str | None = None
    suspect: bool = False
    library_leak: str | None = None  # the known pattern's name when the reference is one

    @property
    def reference_label(self) -> str | None:
        """``Holder.field`` as signatures and owners name it (``Holder[]`` for elements)."""
        if self.reference is None:
            return None
        holder = element_class(self.class_name) if self.kind == "class" else self.class_name
        if self.reference_kind == "element":
            return f"{holder}{self.reference}"
        return f"{holder}.{self.reference}"

    def to_json(self) -> dict:
        return {"object": format_id(self.object_id), "class": self.class_name,
                "kind": self.kind, "app": self.app, "leaking": self.verdict,
                "reason": self.reason,
                "reference": None if self.reference is None else {
                    "name": self.reference, "kind": self.reference_kind,
                    "suspect": self.suspect, "library_leak": self.library_leak}}


@dataclass
class LeakTrace:
    object_index: int
    root_kinds: list[str]
    nodes: list[TraceNode]
    retained_bytes: int

    @property
    def app_references(self) -> list[str]:
        """The app's own references on the path (its classes' fields and statics)."""
        return [n.reference_label for n in self.nodes[:-1] if n.app]

    @property
    def suspect_references(self) -> list[str]:
        return [n.reference_label for n in self.nodes if n.suspect]

    def to_json(self) -> dict:
        return {"object": format_id(self.nodes[-1].object_id), "root_kinds": self.root_kinds,
                "retained_bytes": self.retained_bytes,
                "nodes": [n.to_json() for n in self.nodes]}


def short_name(class_name: str) -> str:
    return class_name.rsplit(".", 1)[-1]


def path_root_kinds(heap, first: int) -> list[str]:
    """GC root kinds of a path's first object; ``["class"]`` for a class object that is no GC
    root of its own (on a JVM, app classes hang from their class loader: paths start at the
    class, whose static field is the reference that matters; see ``leak_paths.py``)."""
    kinds = root_kinds_of(heap, first)
    if not kinds and heap.index.objects.kind[first] == KIND_CLASS:
        return ["class"]
    return kinds


def build_path_nodes(heap, chain: list[int], app: AppPackages,
                     finder: LeakPathFinder | None = None) -> list[TraceNode]:
    """Nodes along ``chain`` (root first), each with the reference it holds the next one by;
    verdicts are left unknown."""
    objects = heap.index.objects
    nodes = []
    for index in chain:
        name = heap.class_name_of(index)
        nodes.append(TraceNode(index, int(objects.ids[index]), name,
                               KIND_NAMES[int(objects.kind[index])], app.is_app(name)))
    for node, nxt in zip(nodes, nodes[1:]):
        node.reference, node.reference_kind = describe_reference(heap, node.index, nxt.index)
        if finder is not None:
            pattern = finder.library_edges.get((node.index, nxt.index))
            node.library_leak = pattern.name if pattern is not None else None
    return nodes


def build_trace(heap, chain: list[int], inspector: Inspector, finder: LeakPathFinder,
                app: AppPackages, leaking: dict[int, str]) -> LeakTrace:
    """The trace along ``chain`` (root first). ``leaking`` maps objects known to be leaking
    (the leak candidates) to their reason; it outranks the rules."""
    nodes = build_path_nodes(heap, chain, app, finder)
    for node in nodes:
        if node.index in leaking:
            node.verdict, node.reason = Verdict.LEAKING, leaking[node.index]
        else:
            verdict, node.reason = inspector.judge(node.index)
            node.verdict = Verdict(verdict)
    _propagate_verdicts(nodes)
    return LeakTrace(chain[-1], path_root_kinds(heap, chain[0]), nodes,
                     int(heap.dominator_tree.retained[chain[-1]]))


def _propagate_verdicts(nodes: list[TraceNode]) -> None:
    last_alive = max((i for i, n in enumerate(nodes) if n.verdict == Verdict.NOT_LEAKING),
                     default=-1)
    first_leaking = next((i for i, n in enumerate(nodes)
                          if i > last_alive and n.verdict == Verdict.LEAKING), len(nodes) - 1)
    for i in range(last_alive):
        if nodes[i].verdict == Verdict.UNKNOWN:
            nodes[i].verdict = Verdict.NOT_LEAKING
            nodes[i].reason = f"{short_name(nodes[i + 1].class_name)}↓ is not leaking"
    for i in range(first_leaking + 1, len(nodes)):
        if nodes[i].verdict != Verdict.LEAKING:
            nodes[i].verdict = Verdict.LEAKING
            nodes[i].reason = f"{short_name(nodes[i - 1].class_name)}↑ is leaking"
    for i in range(max(last_alive, 0), first_leaking):
        nodes[i].suspect = True
