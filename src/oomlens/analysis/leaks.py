"""Leak detection: objects whose lifecycle ended but that are still strongly reachable.

1. Candidates: instances a rule calls leaking (``inspectors.py``) and objects LeakCanary watched
   (``KeyedWeakReference``, old and new package) whose referent is still strongly reachable.
   In Android dumps only objects of the ``app`` heap count (zygote and image objects are the
   system's).
2. A candidate reached only through another candidate is a consequence of that one (a destroyed
   Activity holds its destroyed Views): it is dropped, as LeakCanary does, unless LeakCanary
   watched it (someone asked about that very object).
3. Candidates are grouped by class; traces are built for at most ``max_traces`` of each class,
   biggest retained size first (cheap on dumps with thousands of leaking objects), and the
   traced ones are grouped again by signature. Leaks reached only through a known platform
   reference are library leaks, reported apart.

The known references apply as the dump's Android build allows (``android_build``): one known
only on other API levels or on another manufacturer's builds is an ordinary reference here. A
limit the dump cannot be compared with (its manufacturer's text stripped, no android.os.Build)
does not exclude the pattern, and the library leak's ``applies_to`` then says which limit was
not checked (``ReferencePattern.applies_in`` says why).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from oomlens.analysis import known_leaks
from oomlens.analysis.android_build import AndroidBuild, read_android_build
from oomlens.analysis.app_code import AppPackages
from oomlens.analysis.class_retained import retained_of_groups
from oomlens.analysis.inspectors import Inspector, LeakRule
from oomlens.analysis.leak_paths import LeakPathFinder
from oomlens.analysis.signatures import leak_signature, library_leak_signature
from oomlens.analysis.traces import LeakTrace, build_trace
from oomlens.heap.strings import text_or_redacted
from oomlens.hprof.scan import KIND_INSTANCE
from oomlens.ids import format_id

WATCHER_CLASSES = ("leakcanary.KeyedWeakReference", "com.squareup.leakcanary.KeyedWeakReference")
MAX_LISTED_OBJECTS = 1000
TRACES_SHOWN = 3  # traces kept per group; every traced object counts in the group


@dataclass
class Candidate:
    index: int
    reason: str
    rule: str
    watch_key: str | None = None
    watch_description: str | None = None


@dataclass
class LeakGroup:
    signature: str
    class_name: str
    reason: str
    rule: str
    traces: list[LeakTrace]
    objects: list[int]  # traced objects with this signature
    retained_bytes: int = 0  # of the objects as a set
    library_leak: object | None = None  # known_leaks.ReferencePattern
    untraced_objects: int = 0  # more leaking objects of this class, beyond the trace budget
    watch_keys: list[str] = field(default_factory=list)
    watch_descriptions: list[str] = field(default_factory=list)
    unchecked: str = ""  # the library pattern's limits the dump's build could not be checked on

    def to_json(self, heap) -> dict:
        ids = heap.index.objects.ids
        pattern = self.library_leak
        applies_to = "" if pattern is None else pattern.applies_to
        if self.unchecked:
            applies_to = f"{applies_to}, not checked: {self.unchecked}"
        return {
            "signature": self.signature, "class": self.class_name, "reason": self.reason,
            "rule": self.rule, "instances": len(self.objects),
            "untraced_instances": self.untraced_objects,
            "retained_bytes": self.retained_bytes,
            "objects": [format_id(int(ids[i])) for i in self.objects[:MAX_LISTED_OBJECTS]],
            "watch_keys": self.watch_keys, "watch_descriptions": self.watch_descriptions,
            "library_leak": None if pattern is None else {
                "pattern": pattern.name, "class": pattern.class_name, "field": pattern.field,
                "static": pattern.static, "description": pattern.description,
                "applies_to": applies_to},
            "traces": [t.to_json() for t in self.traces],
        }


@dataclass
class LeakFindings:
    leaks: list[LeakGroup]
    library_leaks: list[LeakGroup]
    candidates: int  # leaking objects found before de-duplication
    finder: LeakPathFinder
    build: AndroidBuild  # what the dump says of its Android build
    library_patterns: list  # the known references applied to this dump (its build allows them)


def _watched_candidates(heap, reachable: np.ndarray) -> dict[int, Candidate]:
    found: dict[int, Candidate] = {}
    for class_name in WATCHER_CLASSES:
        for ref in heap.instance_indices(class_name).tolist():
            referent = heap.field_value(ref, "referent")
            if not hasattr(referent, "index") or not reachable[referent.index]:
                continue
            key = _text(heap.field_value(ref, "key"))
            description = _text(heap.field_value(ref, "description")) or \
                _text(heap.field_value(ref, "name"))
            reason = "watched by LeakCanary and still strongly reachable"
            found[referent.index] = Candidate(referent.index, reason, "LEAKCANARY_WATCHED", key,
                                              description)
    return found


def _text(value) -> str | None:
    """A LeakCanary key or description; ``<redacted>`` on a stripped dump (a watched object
    stays a candidate with a key: the key is only hidden, not gone)."""
    return text_or_redacted(value)


def _in_app_heap(heap, indices: np.ndarray) -> np.ndarray:
    if "app" not in heap.heap_names:
        return indices
    app = heap.heap_names.index("app")
    return indices[heap.index.objects.heap[indices] == app]


def find_candidates(heap, inspector: Inspector) -> dict[int, Candidate]:
    """Every strongly reachable object a rule or a LeakCanary watcher calls leaking."""
    objects = heap.index.objects
    reachable = heap.dominator_tree.idom != -1
    ruled = inspector.ruled_classes[objects.class_index] & (objects.kind == KIND_INSTANCE) \
        & reachable
    indices = _in_app_heap(heap, np.nonzero(ruled)[0])
    candidates = {i: Candidate(i, reason, rule)
                  for i, (rule, reason) in inspector.leaking_objects(indices).items()}
    for index, watched in _watched_candidates(heap, reachable).items():
        if index in candidates:
            candidates[index].watch_key = watched.watch_key
            candidates[index].watch_description = watched.watch_description
        else:
            candidates[index] = watched
    return candidates


def find_leaks(heap, rules: list[LeakRule], app: AppPackages, max_traces: int = 20,
               library_patterns=known_leaks.LIBRARY_LEAKS,
               ignored_patterns=known_leaks.IGNORED_REFERENCES) -> LeakFindings:
    inspector = Inspector(heap, rules)
    candidates = find_candidates(heap, inspector)
    build = read_android_build(heap)
    applied = [p for p in library_patterns if p.applies_in(build)]
    finder = LeakPathFinder(heap, applied, [p for p in ignored_patterns if p.applies_in(build)])
    retained = heap.dominator_tree.retained

    by_class: dict[str, list[int]] = defaultdict(list)
    for index in candidates:
        if finder.is_reachable(index):
            by_class[heap.class_name_of(index)].append(index)

    groups: dict[str, LeakGroup] = {}
    leaking_reasons = {i: c.reason for i, c in candidates.items()}
    for class_name, members in by_class.items():
        members.sort(key=lambda i: (-int(retained[i]), i))
        traced = 0
        untraced = 0
        first_group = None
        for index in members:
            chain = finder.chain(index)
            if candidates[index].watch_key is None and \
                    any(node in candidates for node in chain[:-1]):
                continue  # held through another leaking object: that one is the leak
            if traced >= max_traces:
                untraced += 1
                continue
            traced += 1
            trace = build_trace(heap, chain, inspector, finder, app, leaking_reasons)
            candidate = candidates[index]
            pattern = finder.library_pattern_on(chain)
            signature = (library_leak_signature(pattern.name, class_name) if pattern is not None
                         else leak_signature(class_name, trace.app_references
                                             or trace.suspect_references))
            group = groups.get(signature)
            if group is None:
                group = groups[signature] = LeakGroup(
                    signature, class_name, candidate.reason, candidate.rule, [], [],
                    library_leak=pattern,
                    unchecked=pattern.unchecked(build) if pattern is not None else "")
            first_group = first_group or group
            group.objects.append(index)
            if len(group.traces) < TRACES_SHOWN:
                group.traces.append(trace)
            if candidate.watch_key:
                group.watch_keys.append(candidate.watch_key)
            if candidate.watch_description and \
                    candidate.watch_description not in group.watch_descriptions:
                group.watch_descriptions.append(candidate.watch_description)
        if first_group is not None:
            first_group.untraced_objects += untraced

    sizes = retained_of_groups(heap.dominator_children,
                               [g.objects for g in groups.values()], retained)
    for group, size in zip(groups.values(), sizes):
        group.retained_bytes = int(size)
    ordered = sorted(groups.values(), key=lambda g: (-g.retained_bytes, g.class_name))
    return LeakFindings([g for g in ordered if g.library_leak is None],
                        [g for g in ordered if g.library_leak is not None],
                        len(candidates), finder, build, applied)

