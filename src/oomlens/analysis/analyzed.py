"""A heap with its analysis: dominator tree, retained sizes, reachability and paths, computed on
first use and kept. This is what ``oomlens.open_heap`` returns.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from oomlens.analysis import reachability
from oomlens.analysis.class_retained import (dominator_children, instance_totals,
                                             retained_by_class, retained_of_set)
from oomlens.analysis.dominators import DominatorTree, compute_dominators
from oomlens.analysis.leak_paths import deferred_bfs
from oomlens.analysis.paths import PathStep, path_from_root, root_kind_code
from oomlens.heap.heap import Heap, HeapObject
from oomlens.ids import format_id
from oomlens.hprof.scan import KIND_CLASS


class AnalyzedHeap(Heap):
    """``Heap`` plus retained sizes, dominators, reachability and shortest strong paths."""

    @cached_property
    def _gc_root_objects(self) -> np.ndarray:
        """The objects below the virtual root: the GC roots, or stand-ins when the dump has
        none (see ``_pseudo_roots``). Dominators and paths both start here."""
        if self._has_real_roots or not self.object_count:
            return self.index.roots.root_objects().astype(np.int32)
        return self._pseudo_roots()

    @cached_property
    def _has_real_roots(self) -> bool:
        return len(self.index.roots.root_objects()) > 0

    def _pseudo_roots(self) -> np.ndarray:
        """HotSpot writes its GC root records after the objects, so a dump cut off while it
        was written (common after an OOM) has objects but no roots. Then the classes and the
        objects nothing references stand in for roots, and the user is told."""
        g = self.index.graph
        referenced = np.bincount(g.targets, minlength=self.object_count) > 0
        pseudo = (~referenced) | (self.index.objects.kind == KIND_CLASS)
        self.index.warnings.append(
            "the dump holds no GC roots" + (" (they were in the part cut off)"
                                           if self.index.truncated else "")
            + "; classes and objects nothing references are used as roots, so reachability "
              "and retained sizes are approximate")
        return np.nonzero(pseudo)[0].astype(np.int32)

    @cached_property
    def dominator_tree(self) -> DominatorTree:
        g = self.index.graph
        return compute_dominators(g.begin, g.targets, self._gc_root_objects,
                                  self.index.objects.shallow)

    @cached_property
    def reachability(self) -> reachability.Reachability:
        return reachability.classify(self.index.graph, self.dominator_tree.preorder,
                                     self.object_count)

    @cached_property
    def _parents_by_excluded_roots(self) -> dict[tuple[str, ...], np.ndarray]:
        return {}

    def _path_parents(self, exclude_roots: tuple[str, ...]) -> np.ndarray:
        """Shortest-path parents from the GC roots, less the excluded root kinds (cached)."""
        key = tuple(sorted(exclude_roots))
        cache = self._parents_by_excluded_roots
        if key not in cache:
            kinds = tuple(root_kind_code(name) for name in key)
            if self._has_real_roots:
                roots = self.index.roots.root_objects(kinds).astype(np.int32)
            else:
                roots = self._gc_root_objects  # the stand-ins; no root kinds to leave out
            g = self.index.graph
            every_edge_ordinary = np.zeros(g.edge_count, np.int8)
            cache[key] = deferred_bfs(g.begin, g.targets, every_edge_ordinary, roots,
                                      np.zeros(0, np.int32), self.object_count)
        return cache[key]

    @cached_property
    def dominator_children(self) -> tuple[np.ndarray, np.ndarray]:
        """The dominator tree top-down, in CSR form (the virtual root is the last slot)."""
        return dominator_children(self.dominator_tree.idom, self.object_count)

    @cached_property
    def class_retained(self) -> np.ndarray:
        """Retained bytes of each class's instances as a set, per class index."""
        return retained_by_class(self.dominator_children, self.index.objects.class_index,
                                 self.index.objects.kind, self.dominator_tree.retained,
                                 len(self.index.classes))

    @cached_property
    def instance_totals(self) -> tuple[np.ndarray, np.ndarray]:
        """(instances, shallow bytes) per class index; class objects are not counted."""
        objs = self.index.objects
        return instance_totals(objs.class_index, objs.kind, objs.shallow,
                               len(self.index.classes))

    # -- per object --------------------------------------------------------------------------
    def _index(self, obj: HeapObject | int | str) -> int:
        """The methods below take an object, its id (an int, as the dump writes it) or its id
        as hex text; never a table index (``object_at`` turns an index into an object)."""
        if isinstance(obj, HeapObject):
            return obj.index
        return self.object(obj).index

    def retained_size(self, obj: HeapObject | int | str) -> int:
        return int(self.dominator_tree.retained[self._index(obj)])

    def immediate_dominator(self, obj: HeapObject | int | str) -> HeapObject | None:
        """The object's immediate dominator; None for objects the virtual root dominates
        directly and for objects that are not strongly reachable."""
        d = int(self.dominator_tree.idom[self._index(obj)])
        return self.object_at(d) if d >= 0 else None

    def is_strongly_reachable(self, obj: HeapObject | int | str) -> bool:
        return self.dominator_tree.is_reachable(self._index(obj))

    def reachability_of(self, obj: HeapObject | int | str) -> str:
        return reachability.LEVEL_NAMES[int(self.reachability.level[self._index(obj)])]

    def path_to(self, obj: HeapObject | int | str, exclude_roots: tuple[str, ...] = ()
                ) -> list[PathStep] | None:
        """Shortest strong path from a GC root to the object (root first), or None.
        ``exclude_roots`` names root kinds not to start from (e.g. ``("jni-global",)`` for the
        path through application code when native code also holds the object)."""
        return path_from_root(self, self._path_parents(tuple(exclude_roots)), self._index(obj),
                              exclude_roots)

    # -- whole heap ----------------------------------------------------------------------------
    def top_dominators(self, limit: int | None = None) -> np.ndarray:
        """Objects the virtual root dominates directly, biggest retained size first."""
        t = self.dominator_tree
        top = np.nonzero(t.idom == -2)[0]
        order = np.argsort(-t.retained[top], kind="stable")
        top = top[order]
        return top[:limit] if limit is not None else top

    def histogram(self, top_retained: int | None = None) -> list[dict]:
        """Per class: instances, shallow bytes and retained bytes of the instances as a set;
        with ``top_retained``, only that many classes, biggest retained size first.

        Class objects are not counted as instances of java.lang.Class (as in VisualVM: that row
        holds only real java.lang.Class instances, such as the primitive type mirrors); they
        are summed apart by ``class_objects_summary``."""
        counts, shallow = self.instance_totals
        retained = self.class_retained
        chosen = np.nonzero(counts)[0]
        if top_retained is not None:
            order = np.lexsort((chosen, -retained[chosen]))[:top_retained]
            chosen = chosen[order]
        rows = []
        for k in chosen:
            rows.append({"class": self.index.classes.names[k], "class_index": int(k),
                         "class_id": format_id(int(self.index.classes.ids[k])),
                         "instances": int(counts[k]), "shallow_bytes": int(shallow[k]),
                         "retained_bytes": int(retained[k])})
        return rows

    def class_objects_summary(self) -> dict:
        """The class objects: how many, their shallow bytes (statics included) and the bytes
        they retain together."""
        objs = self.index.objects
        is_class = objs.kind == KIND_CLASS
        return {"count": int(is_class.sum()), "shallow_bytes": int(objs.shallow[is_class].sum()),
                "retained_bytes": int(retained_of_set(self.dominator_children, is_class,
                                                      self.dominator_tree.retained))}

    def summary(self) -> dict:
        """Counts and sizes for ``oomlens info``."""
        idx = self.index
        objs = idx.objects
        kinds = np.bincount(objs.kind, minlength=4)
        shallow_total = int(objs.shallow.sum())
        levels = self.reachability.summary(objs.shallow)
        strong = levels["strong"]
        heaps = {}
        for h, name in enumerate(idx.heap_names):
            mask = objs.heap == h
            heaps[name] = {"objects": int(mask.sum()), "bytes": int(objs.shallow[mask].sum())}
        return {
            "file": str(idx.file.path),
            "file_bytes": idx.file.file_size,
            "hprof_bytes": idx.file.size,
            "compression": idx.file.compression,
            "format": idx.file.header.format_name,
            "runtime": self.runtime,
            "id_size": self.id_size,
            "timestamp_ms": idx.file.header.timestamp_ms,
            "size_model": idx.size_model.describe(),
            "heap_dump": idx.dump_number + 1,
            "heap_dumps_in_file": idx.dump_count,
            "classes": len(idx.classes),
            "class_objects": int(kinds[KIND_CLASS]),
            "instances": int(kinds[1]),
            "object_arrays": int(kinds[2]),
            "primitive_arrays": int(kinds[3]),
            "objects": len(objs),
            "gc_roots": len(idx.roots.kind),
            "gc_roots_by_kind": idx.roots.counts_by_kind(),
            "gc_root_objects": len(self._gc_root_objects),
            "heaps": heaps,
            "references": idx.graph.edge_count,
            "weak_references": len(idx.graph.weak_source),
            "missing_references": idx.graph.missing_references,
            "shallow_bytes": shallow_total,
            "reachable_bytes": strong["bytes"],
            "reachable_objects": strong["objects"],
            "unreachable_bytes": shallow_total - strong["bytes"],
            "by_reachability": levels,
            "truncated": idx.truncated,
            "missing_bytes": idx.missing_bytes,
            "warnings": list(idx.warnings),
        }
