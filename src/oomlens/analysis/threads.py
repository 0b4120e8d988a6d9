"""Threads grouped by name pattern, with counts and what holds them.

When an app dies because no thread can be created, the dump still shows the threads it had:
hundreds named ``pool-7-thread-N`` point at an executor created per request; the objects that
reference the threads say whose executor it is. Names are folded into patterns by replacing each
run of digits with ``#``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from oomlens.analysis.owners import holder_classes
from oomlens.heap.strings import text_or_redacted

_DIGITS = re.compile(r"\d+")
SAMPLE_NAMES = 5
# Bookkeeping that references threads without owning them: the VM's thread groups, and the
# state of locks and latches (owner threads, wait queues of parked threads).
_BOOKKEEPING = re.compile(r"^(java\.lang\.ThreadGroup|java\.lang\.Thread\[\]|"
                          r"java\.util\.concurrent\.locks\..*)$")


def name_pattern(name: str) -> str:
    return _DIGITS.sub("#", name)


@dataclass
class ThreadGroupSummary:
    pattern: str
    count: int
    names: list[str]  # a few examples
    holders: dict[str, int] = field(default_factory=dict)  # holder class -> threads it holds

    def to_json(self) -> dict:
        return {"pattern": self.pattern, "count": self.count, "names": self.names,
                "holders": self.holders}


def thread_name(thread) -> str:
    value = thread.get("name")
    text = text_or_redacted(value)  # "<redacted>" on a stripped dump
    return text if text is not None else "<unnamed>"


def group_threads(heap) -> list[ThreadGroupSummary]:
    """Threads (java.lang.Thread and subclasses) grouped by name pattern, biggest group first."""
    threads = heap.instance_indices("java.lang.Thread")
    holders = holder_classes(heap, threads, ignore=_BOOKKEEPING.match)
    groups: dict[str, ThreadGroupSummary] = {}
    holder_counts: dict[str, Counter] = {}
    for index in threads.tolist():
        name = thread_name(heap.object_at(index))
        pattern = name_pattern(name)
        group = groups.setdefault(pattern, ThreadGroupSummary(pattern, 0, []))
        group.count += 1
        if len(group.names) < SAMPLE_NAMES:
            group.names.append(name)
        holder_counts.setdefault(pattern, Counter()).update(holders[index])
    for pattern, group in groups.items():
        group.holders = dict(holder_counts[pattern].most_common())
    return sorted(groups.values(), key=lambda g: (-g.count, g.pattern))
