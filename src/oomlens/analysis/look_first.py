"""Which report sections answer a memory problem first.

One table for both ways of learning what the problem was: an OutOfMemoryError's message (its
kind, ``oom_cause``) and the agent's threshold that fired (the capture's trigger). A thread limit
reached is read in the threads section whether the JVM threw "unable to create native thread" or
the agent saw the thread count cross its threshold, so both say the same here.
"""

from __future__ import annotations

from oomlens.analysis.oom_cause import FILE_DESCRIPTORS, THREAD_LIMIT

HEAP = ("leaks", "big_objects", "class_clusters", "bitmaps")
THREADS = ("threads",)
DESCRIPTORS = ("file_descriptors", "threads")  # every thread holds descriptors too

_BY_OOM_KIND = {THREAD_LIMIT: THREADS, FILE_DESCRIPTORS: DESCRIPTORS}
_BY_TRIGGER = {"heap-threshold": HEAP, "thread-threshold": THREADS,
               "fd-threshold": DESCRIPTORS}


def for_oom_kind(kind: str) -> list[str]:
    """Sections for an OutOfMemoryError of ``kind``: the heap's unless threads or descriptors
    ran out (every other kind, unknown ones too, is read as a full heap)."""
    return list(_BY_OOM_KIND.get(kind, HEAP))


def for_trigger(trigger: str) -> list[str]:
    """Sections for a capture's trigger; none for ``oom``, whose message (``oom_cause``) says
    which, and which the report classifies on its own."""
    return list(_BY_TRIGGER.get(trigger, ()))
