"""The analysis report as one JSON document, ``oomlens.report/1``.

``build_report`` runs every analysis on an opened heap and returns plain JSON data: the
terminal and HTML renderings, the server and ``--fail-on`` all read this document, never the
heap. The schema is ``schema/report-1.json`` (documented in docs/report-format.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from oomlens import __version__
from oomlens.analysis import bitmaps, descriptors, threads
from oomlens.analysis.app_code import AppPackages
from oomlens.analysis.big_objects import find_big_objects
from oomlens.analysis.clusters import find_clusters
from oomlens.analysis.leaks import find_leaks
from oomlens.analysis.look_first import for_oom_kind
from oomlens.analysis.oom_cause import classify_oom_message
from oomlens.analysis.trigger import capture_section
from oomlens.config import Settings
from oomlens.ids import format_id

SCHEMA = "oomlens.report/1"
TOP_RETAINED = 20
HISTOGRAM_ROWS = 50

Step = Callable[[str], None]


def _oom_cause(message: str | None) -> dict | None:
    """The classified message, when one was given. The dump itself does not say which error
    was thrown: the VMs pre-allocate OutOfMemoryError objects (HotSpot one per kind, Dalvik
    one reading "[memory exhausted]"), so the messages found in a heap prove nothing."""
    if message is None:
        return None
    cause = classify_oom_message(message)
    return {**cause.to_json(), "look_first": for_oom_kind(cause.kind)}


def _dump_section(heap) -> dict:
    s = heap.summary()
    keys = ("file", "file_bytes", "hprof_bytes", "compression", "format", "runtime", "id_size",
            "timestamp_ms", "heap_dump", "heap_dumps_in_file", "classes", "objects",
            "gc_roots", "shallow_bytes", "reachable_bytes", "reachable_objects",
            "unreachable_bytes", "by_reachability", "truncated", "warnings")
    return {k: s[k] for k in keys}


def _top_retained(heap) -> list[dict]:
    tree, objects = heap.dominator_tree, heap.index.objects
    return [{"object": format_id(int(objects.ids[i])), "class": heap.class_name_of(int(i)),
             "shallow_bytes": int(objects.shallow[i]), "retained_bytes": int(tree.retained[i])}
            for i in heap.top_dominators(TOP_RETAINED)]


def _histogram(heap) -> list[dict]:
    return [{k: r[k] for k in ("class", "instances", "shallow_bytes", "retained_bytes")}
            for r in heap.histogram(top_retained=HISTOGRAM_ROWS)]


def build_report(heap, settings: Settings, oom_message: str | None = None,
                 step: Step | None = None, retrace: dict | None = None,
                 capture: dict | None = None) -> dict:
    """Analyse ``heap`` and return the report document. ``step(name)`` is called as each
    phase starts (for progress display); ``retrace`` is what applying a mapping to the heap
    reported (``retrace.apply.apply_mapping``), None without a mapping; ``capture`` is the
    checked sidecar of the capture that took the dump (``capture.sidecar``), None without one.
    Without ``oom_message``, an ``oom`` capture's message is classified (the agent saw the
    error thrown); a threshold capture has none: no error was thrown, none is guessed."""
    step = step or (lambda name: None)
    if oom_message is None and capture is not None and capture["trigger"] == "oom":
        oom_message = capture.get("oom_message")
    app = AppPackages(settings.app_packages)
    step("dominator tree")
    heap.dominator_tree  # noqa: B018 - computed here so progress shows where time goes
    step("leaks")
    leaks = find_leaks(heap, settings.leak_rules, app, settings.max_traces,
                       library_patterns=settings.library_leaks)
    step("big objects")
    big, big_found = find_big_objects(heap, leaks.finder, app, settings.big_object_bytes,
                                      settings.max_big_objects)
    step("class clusters")
    clusters, clusters_found = find_clusters(heap, leaks.finder, settings.cluster_min_instances,
                                             settings.cluster_min_bytes,
                                             settings.max_class_clusters)
    step("bitmaps, threads, descriptors")
    bitmap_report = bitmaps.summarize_bitmaps(heap, large_bytes=settings.large_bitmap_bytes)
    thread_groups = threads.group_threads(heap)
    descriptor_report = descriptors.summarize_descriptors(heap)
    step("report")
    leak_groups = [g.to_json(heap) for g in leaks.leaks]
    return {
        "schema": SCHEMA,
        "generator": {"name": "oomlens", "version": __version__},
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "dump": _dump_section(heap),
        "settings": settings.to_json(),
        "oom_cause": _oom_cause(oom_message),
        "capture": capture_section(capture) if capture is not None else None,
        "summary": {"leaks": len(leak_groups),
                    "leaking_objects": sum(g["instances"] + g["untraced_instances"]
                                           for g in leak_groups),
                    "leaked_bytes": sum(g["retained_bytes"] for g in leak_groups),
                    "library_leaks": len(leaks.library_leaks), "big_objects": big_found,
                    "class_clusters": clusters_found},
        "leaks": leak_groups,
        "library_leaks": [g.to_json(heap) for g in leaks.library_leaks],
        "big_objects": [b.to_json(heap) for b in big],
        "class_clusters": [c.to_json() for c in clusters],
        "bitmaps": bitmap_report.to_json(),
        "threads": [t.to_json() for t in thread_groups],
        "file_descriptors": descriptor_report.to_json(),
        "top_retained": _top_retained(heap),
        "histogram": _histogram(heap),
        "retrace": retrace,
    }
